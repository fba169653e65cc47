"""What the harness and a problem family exchange: the entry, the run's settings, the
attempt and its verification, and the two protocols a family implements.

The harness (:mod:`matcher.bench.run`) knows nothing of a family but these, so a new
family is a module implementing :class:`BenchFamily` and one line in
:mod:`matcher.bench.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class RunSettings:
    """What every solve of a run shares."""

    time_limit_s: float = 10.0
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True)
class Verification:
    """The answer as checked against the raw instance data, by code the solver does not use."""

    feasible: bool
    objective: float | None  # recomputed from the raw data; None unless feasible
    violations: tuple[str, ...] = ()
    vehicles: int | None = None  # routing: the routes the answer uses


@dataclass(frozen=True)
class Attempt:
    """One solve of one case: the solver's own status and time, and the verification.

    ``bound`` and ``first_s`` (the solver's proven bound on the objective, and the
    seconds to its first solution) are set by families whose solvers report them.
    """

    status: str
    wall_s: float
    verification: Verification
    notes: tuple[str, ...] = ()
    bound: float | None = None
    first_s: float | None = None


class BenchCase(Protocol):
    """A loaded instance, ready to be solved by any of its family's solvers."""

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        """Solve, time the solver call only, and verify against the raw data."""
        ...


class BenchFamily(Protocol):
    """A problem family: how its files are read, solved and verified."""

    name: str

    def solvers(self) -> list[str]:
        """The solver names this family accepts."""
        ...

    def default_solver(self) -> str: ...

    def load(self, entry: BenchEntry) -> BenchCase:
        """Read the entry's file(s); raise ``ValueError``/``OSError`` if they are unusable."""
        ...


@dataclass(frozen=True)
class BenchEntry:
    """One index record, with the fields every family shares.

    ``record`` keeps the whole record for family-specific fields (a solution file,
    a second reference value); ``base_dir`` is the index's folder, against which
    every file name in the record is resolved.
    """

    name: str
    family: str
    file: str
    base_dir: Path
    bks: float | None = None
    sense: Literal["min", "max"] = "min"
    bks_is_optimal: bool = False
    lower_bound: float | None = None
    file_format: str | None = None
    problem_index: int = 0
    set: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.base_dir / self.file

    @classmethod
    def from_record(cls, record: Mapping[str, Any], base_dir: Path) -> BenchEntry:
        """Parse one record; ``ValueError`` names the first field that is wrong."""
        for key in ("name", "family", "file"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise ValueError(f"index entry without a '{key}' string")
        sense = record.get("objective", "min")
        if sense not in ("min", "max"):
            raise ValueError(f"objective is {sense!r}, expected 'min' or 'max'")
        problem_index = record.get("problem_index", 0)
        if not isinstance(problem_index, int) or isinstance(problem_index, bool):
            raise ValueError(f"problem_index is {problem_index!r}, expected an integer")
        bks_key, optimal_key = reference_fields(record)
        return cls(
            name=record["name"],
            family=record["family"],
            file=record["file"],
            base_dir=base_dir,
            bks=_number(record, bks_key),
            sense=sense,
            bks_is_optimal=bool(record.get(optimal_key, False)),
            lower_bound=_number(record, "lower_bound"),
            file_format=record.get("file_format"),
            problem_index=problem_index,
            set=record.get("set"),
            record=record,
        )


#: Per family, the record fields (value, proven optimal?) its rows are compared with,
#: when not ``bks`` and ``bks_is_optimal``. VRPTW's ``bks`` is the hierarchical
#: literature value (fewest vehicles first, unrounded distances); the families here
#: minimise distance alone under the DIMACS convention, whose optimum is
#: ``distance_only_best``.
REFERENCE_FIELDS: dict[str, tuple[str, str]] = {
    "vrptw": ("distance_only_best", "distance_only_is_optimal"),
}


def reference_fields(record: Mapping[str, Any]) -> tuple[str, str]:
    """The keys of the reference value and of its optimality flag for ``record``."""
    family = record.get("family")
    if isinstance(family, str) and family in REFERENCE_FIELDS:
        return REFERENCE_FIELDS[family]
    return "bks", "bks_is_optimal"


def _number(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} is {value!r}, expected a number")
    return value
