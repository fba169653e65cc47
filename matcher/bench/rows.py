"""One result line of ``bench``: an entry solved by one solver, as printed and written
as a JSON line, and the gap to the best-known value it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

ERROR = "ERROR"  # the status of a row whose entry or solve raised
NO_SOLVER = "-"  # the solver of a row whose entry failed before a solver was chosen

#: The keys of one JSON line, in order; routing rows add ``vehicles``, job-shop rows
#: ``bound`` and ``first_s`` (:meth:`BenchRow.to_json`).
JSON_KEYS = (
    "name",
    "family",
    "solver",
    "objective",
    "bks",
    "gap_pct",
    "status",
    "wall_s",
    "feasible",
)

#: Families whose JSON lines carry the solver's bound and time to first solution.
BOUND_FAMILIES = frozenset({"jssp"})


@dataclass(frozen=True)
class BenchRow:
    """One entry solved by one solver: what ``bench`` prints and writes."""

    name: str
    family: str | None
    solver: str
    objective: float | None
    bks: float | None
    gap_pct: float | None
    status: str
    wall_s: float
    feasible: bool
    bks_is_optimal: bool = False
    message: str = ""  # error text, verification failures and flags
    vehicles: int | None = None  # routing: routes used, as counted by the verifier
    bound: float | None = None  # job shop: the solver's proven bound on the objective
    first_s: float | None = None  # job shop: seconds from the call to the first solution

    @property
    def failed(self) -> bool:
        """Infeasible, no solution, or an error."""
        return not self.feasible

    @property
    def optimal(self) -> bool:
        """The solver proved optimality and the verification passed."""
        return self.feasible and self.status == "OPTIMAL"

    @property
    def equals_bks(self) -> bool:
        return (
            self.feasible
            and self.objective is not None
            and self.bks is not None
            and math.isclose(self.objective, self.bks, rel_tol=1e-9, abs_tol=1e-9)
        )

    def to_json(self) -> dict[str, Any]:
        """The keys of :data:`JSON_KEYS`, then ``vehicles`` when the row has it, then
        ``bound`` and ``first_s`` (``null`` when unknown) on the rows of the families
        in :data:`BOUND_FAMILIES` that ran a solver."""
        line = {
            "name": self.name,
            "family": self.family,
            "solver": self.solver,
            "objective": self.objective,
            "bks": self.bks,
            "gap_pct": None if self.gap_pct is None else round(self.gap_pct, 6),
            "status": self.status,
            "wall_s": round(self.wall_s, 3),
            "feasible": self.feasible,
        }
        if self.vehicles is not None:
            line["vehicles"] = self.vehicles
        if self.family in BOUND_FAMILIES and self.status != ERROR:
            line["bound"] = self.bound
            line["first_s"] = None if self.first_s is None else round(self.first_s, 3)
        return line


def gap_pct(objective: float, bks: float, sense: Literal["min", "max"]) -> float | None:
    """Percent by which ``objective`` is worse than ``bks`` (negative: better).

    ``min``: (obj - bks) / |bks|; ``max``: (bks - obj) / |bks|. With ``bks`` 0 the
    gap is 0 when the objective is 0 too, otherwise undefined (``None``).
    """
    worse = objective - bks if sense == "min" else bks - objective
    if bks == 0:
        return 0.0 if worse == 0 else None
    return 100.0 * worse / abs(bks)
