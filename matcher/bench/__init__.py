"""Solution-quality benchmarks: solve public instances, verify, compare with the BKS.

An index (``../shared/benchmarks/<family>/index.json``) lists instances with their
best-known solution value (BKS). For each entry and solver, :func:`run_entry`

1. loads the file through the entry's *family* (``gap``, ``cvrp``, ``vrptw``,
   ``jssp``),
2. solves it with the real engine, timing only the solve,
3. verifies the answer against the raw file data alone (feasibility re-checked,
   objective recomputed), so a bug in the model mapping or in a solver cannot
   report a good number, and
4. reports the gap to the BKS.

Failures never raise: an unknown family, an unreadable file or a solver that
crashes give a row with status ``ERROR`` and the message, and the run goes on.
``docs/bench.md`` is the written protocol.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from matcher.app.pipeline import plan
from matcher.bench.io import jssp, vrp
from matcher.bench.io.gap import (
    GapData,
    assignment_from_plan,
    engine_costs,
    evaluate,
    read_gap,
    to_instance,
)
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams

if TYPE_CHECKING:
    from solvers.routing.problem import RoutingProblem
    from solvers.scheduling.problem import SchedulingProblem

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


class BenchIndexError(ValueError):
    """The index cannot be read, or a filter names entries it does not have."""


# --- what a family provides ---------------------------------------------------------


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


# --- the gap family -----------------------------------------------------------------


class GapFamily:
    """Generalised assignment (OR-Library, Yagiura) through the assignment engine."""

    name = "gap"

    def solvers(self) -> list[str]:
        from solvers.assignment.base import available

        return available()

    def default_solver(self) -> str:
        return SolveParams().assignment_solver

    def load(self, entry: BenchEntry) -> BenchCase:
        if entry.file_format is None:
            raise ValueError("gap entry without a 'file_format'")
        data = read_gap(
            entry.path,
            entry.file_format,
            entry.problem_index,
            maximise=entry.sense == "max",
            name=entry.name,
        )
        return _GapCase(data, to_instance(data))


@dataclass(frozen=True)
class _GapCase:
    data: GapData
    instance: Instance

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        from solvers.assignment.base import get_backend

        params = SolveParams(
            assignment_solver=solver,
            time_limit_s=settings.time_limit_s,
            seed=settings.seed,
            workers=settings.workers,
        )
        get_backend(solver)  # imports the back-end once, outside the timed call
        start = time.perf_counter()
        result = plan(self.instance, params)
        wall = time.perf_counter() - start
        given = assignment_from_plan(self.data, result)
        check = evaluate(self.data, given)
        notes: list[str] = []
        if check.feasible:
            # Not part of the verification: a cross-check of the engine's own cost
            # accounting against the costs it was given.
            costs = engine_costs(self.data)
            expected = sum(costs[agents[0]][j] for j, agents in enumerate(given))
            if result.costs.objective != expected:
                notes.append(
                    f"engine reports cost {result.costs.objective}, its unit costs give {expected}"
                )
        return Attempt(
            status=result.stages[0].status.value,
            wall_s=wall,
            verification=Verification(check.feasible, check.objective, tuple(check.violations)),
            notes=tuple(notes),
        )


# --- the routing families -----------------------------------------------------------

PYVRP_PLAIN = "pyvrp-plain"
"""PyVRP as a library user calls it: ``pyvrp.read`` the file, ``pyvrp.solve`` with
``MaxRuntime``; the reference the default routing back-end is compared with."""

ROUTING_DEFAULT = "auto"
_PLAIN_ROUNDING = {vrp.CVRP: "round", vrp.VRPTW: "dimacs"}


class _RoutingFamily:
    """CVRP or VRPTW files through the routing engine (``solvers.routing``)."""

    name: str
    kind: str

    def solvers(self) -> list[str]:
        from solvers.routing.base import available

        return [*available(), PYVRP_PLAIN]

    def default_solver(self) -> str:
        return ROUTING_DEFAULT

    def load(self, entry: BenchEntry) -> BenchCase:
        raw = vrp.read_raw(entry.path, self.kind)  # the verifier's own reading
        problem = vrp.read_problem(entry.path, self.kind, name=entry.name)
        if problem.places != len(raw.demand):
            raise ValueError(
                f"{entry.path}: {problem.places} places read, the verifier reads {len(raw.demand)}"
            )
        return _RoutingCase(entry.path, raw, problem)


class CvrpFamily(_RoutingFamily):
    """Capacitated VRP (CVRPLIB X, A, E, P): rounded Euclidean arcs, vehicle count free."""

    name = "cvrp"
    kind = vrp.CVRP


class VrptwFamily(_RoutingFamily):
    """Solomon VRPTW under the DIMACS distance-only convention (tenths, truncated)."""

    name = "vrptw"
    kind = vrp.VRPTW


@dataclass(frozen=True)
class _RoutingCase:
    path: Path
    raw: vrp.RawVrp
    problem: RoutingProblem

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        """``settings.workers`` is not used: the routing engines run on one thread."""
        if solver == PYVRP_PLAIN:
            return self._solve_plain(settings)
        from solvers.routing.base import RoutingLimits, get_backend, solve_routing

        get_backend(solver)  # imports the back-end once, outside the timed call
        warned: list[str] = []
        with _warnings_as_notes(warned):
            start = time.perf_counter()
            limits = RoutingLimits(settings.time_limit_s, seed=settings.seed)
            result = solve_routing(self.problem, solver, limits)
            wall = time.perf_counter() - start
        routes = []
        for route in result.routes:
            stops = (self.problem.requests[v.request].delivery for v in route.visits)
            routes.append([s.place for s in stops if s is not None])
        return self._attempt(result.feasible, wall, routes, result.cost, result.notes + warned)

    def _solve_plain(self, settings: RunSettings) -> Attempt:
        import pyvrp

        from solvers.routing.pyvrp_backend import plain_solve

        rounding = _PLAIN_ROUNDING[self.raw.kind]
        if self.raw.kind == vrp.VRPTW:  # pyvrp.read takes VRPLIB files, not Solomon's
            with tempfile.TemporaryDirectory() as folder:
                converted = Path(folder) / f"{self.path.stem}.vrp"
                vrp.write_vrplib_vrptw(self.path, converted)
                data = pyvrp.read(converted, round_func=rounding)
        else:
            data = pyvrp.read(self.path, round_func=rounding)
        warned: list[str] = []
        with _warnings_as_notes(warned):
            start = time.perf_counter()
            result = plain_solve(data, settings.time_limit_s, settings.seed)
            wall = time.perf_counter() - start
        best = result.best
        routes = [
            [data.client(a.idx).location for a in route.schedule() if a.is_client()]
            for route in best.routes()
        ]
        notes = [] if best.is_feasible() else ["PyVRP found no feasible solution within the limit"]
        return self._attempt(best.is_feasible(), wall, routes, best.distance(), notes + warned)

    def _attempt(
        self,
        claimed: bool,
        wall: float,
        routes: list[list[int]],
        cost: int | None,
        notes: Sequence[str],
    ) -> Attempt:
        """Verify ``routes`` on the raw file; routing heuristics prove nothing, so the
        status is the solver's claim of feasibility only."""
        check = vrp.evaluate(self.raw, routes)
        notes = list(notes)
        if check.feasible and cost is not None and cost != check.distance:
            # Not part of the verification: the engine's cost of its own routes.
            notes.append(
                f"solver reports distance {cost}, the verifier {check.distance} "
                f"(units of 1/{self.raw.scale})"
            )
        return Attempt(
            status="FEASIBLE" if claimed else "INFEASIBLE",
            wall_s=wall,
            verification=Verification(
                check.feasible, check.objective, tuple(check.violations), check.vehicles
            ),
            notes=tuple(notes),
        )


@contextlib.contextmanager
def _warnings_as_notes(notes: list[str]) -> Iterator[None]:
    """Warnings raised inside (PyVRP's ``PenaltyBoundWarning`` when it finds nothing
    feasible) become notes of the row, once per kind, instead of lines amid the table."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for w in caught:
        if w.category not in seen:
            seen.add(w.category)
            first = " ".join(str(w.message).split()).split(". ")[0].rstrip(".")
            notes.append(f"{w.category.__name__}: {first}")


# --- the job-shop family ------------------------------------------------------------

JSSP_DEFAULT = "cpsat-schedule"
"""The scheduling engine's back-end (``solvers.scheduling.cpsat.solve_schedule``)."""

JSSP_TEXTBOOK = "cpsat-textbook"
"""Plain CP-SAT on the OR-Tools job-shop sample's model (:func:`textbook_solve`): the
reference the default is compared with."""


@dataclass(frozen=True)
class JsspAnswer:
    """What a job-shop solver returns, in the file's terms."""

    status: str
    starts: list[list[int]] | None  # per job and operation; None without a solution
    makespan: int | None = None  # as the solver computes it
    bound: float | None = None
    first_s: float | None = None
    notes: tuple[str, ...] = ()


def _cpsat_status(code: Any) -> str:
    from ortools.sat.python import cp_model

    from matcher.domain.plan import SolveStatus

    return {
        cp_model.OPTIMAL: SolveStatus.OPTIMAL,
        cp_model.FEASIBLE: SolveStatus.FEASIBLE,
        cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
        cp_model.UNKNOWN: SolveStatus.TIME_LIMIT,
    }.get(code, SolveStatus.UNKNOWN).value


def textbook_solve(data: jssp.JsspData, settings: RunSettings) -> JsspAnswer:
    """Plain CP-SAT as the OR-Tools job-shop sample builds it (``jobshop_sat.py``).

    An interval per operation with start and end in ``[0, horizon]``, the horizon
    being the sum of all durations; ``add_no_overlap`` per machine; each operation
    after its predecessor in the job; the makespan by ``add_max_equality`` over the
    jobs' last ends, minimised. No hint, no bound, no parameters beyond the run's
    workers, seed and time limit, which are applied as the scheduling back-end applies
    them: the limit counts from the call (model building included); with one worker
    it is deterministic time, wall clock only a safety net at 3x.
    """
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    horizon = data.horizon
    model = cp_model.CpModel()
    starts: list[list[cp_model.IntVar]] = []
    ends: list[list[cp_model.IntVar]] = []
    on_machine: dict[int, list[cp_model.IntervalVar]] = {}
    for j, job in enumerate(data.jobs):
        starts.append([])
        ends.append([])
        for k, (machine, duration) in enumerate(job):
            suffix = f"_{j}_{k}"
            s = model.new_int_var(0, horizon, "start" + suffix)
            e = model.new_int_var(0, horizon, "end" + suffix)
            interval = model.new_interval_var(s, duration, e, "interval" + suffix)
            starts[j].append(s)
            ends[j].append(e)
            on_machine.setdefault(machine, []).append(interval)
    for machine in range(data.n_machines):
        model.add_no_overlap(on_machine.get(machine, []))
    for j in range(data.n_jobs):
        for k in range(len(starts[j]) - 1):
            model.add(starts[j][k + 1] >= ends[j][k])
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [e[-1] for e in ends if e])
    model.minimize(makespan)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    left = max(0.05, settings.time_limit_s - (time.perf_counter() - start))
    if settings.workers == 1:
        solver.parameters.max_deterministic_time = left
        solver.parameters.max_time_in_seconds = 3 * left + 1
    else:
        solver.parameters.max_time_in_seconds = left
    first: list[float] = []

    class _First(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if not first:
                first.append(time.perf_counter() - start)

    code = solver.solve(model, _First())
    status = _cpsat_status(code)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return JsspAnswer(status, None, first_s=first[0] if first else None)
    return JsspAnswer(
        status,
        [[solver.value(s) for s in job] for job in starts],
        makespan=solver.value(makespan),
        bound=float(solver.best_objective_bound),
        first_s=first[0] if first else None,
    )


def _engine_solve(
    data: jssp.JsspData, problem: SchedulingProblem, settings: RunSettings
) -> JsspAnswer:
    """The scheduling back-end on the imported problem, its answer by job and operation,
    with notes where its placement disagrees with the file (not part of verification:
    the verifier reads machines and durations from the file)."""
    from solvers.scheduling.cpsat import solve_schedule

    result = solve_schedule(
        problem, settings.time_limit_s, workers=settings.workers, seed=settings.seed
    )
    notes = list(result.notes)
    if not result.placed:
        return JsspAnswer(result.status.value, None, notes=tuple(notes))
    starts: list[list[int]] = []
    for j, job in enumerate(problem.jobs):
        starts.append([])
        for k, o in enumerate(job.operations):
            placed = result.placed[o]
            starts[j].append(placed.start)
            machine, duration = data.jobs[j][k]
            if (placed.machine, placed.end - placed.start) != (machine, duration):
                notes.append(
                    f"job {j} operation {k} placed on machine {placed.machine} for "
                    f"{placed.end - placed.start}, the file says {machine} for {duration}"
                )
    return JsspAnswer(
        result.status.value,
        starts,
        makespan=result.makespan,
        bound=result.bound,
        first_s=result.first_s,
        notes=tuple(notes),
    )


class JsspFamily:
    """Job shop (JSPLIB: ft, la, abz, orb, swv, ta, ...): minimise the makespan with the
    scheduling engine, against plain CP-SAT on the textbook model."""

    name = "jssp"

    def solvers(self) -> list[str]:
        return [JSSP_DEFAULT, JSSP_TEXTBOOK]

    def default_solver(self) -> str:
        return JSSP_DEFAULT

    def load(self, entry: BenchEntry) -> BenchCase:
        data = jssp.read(entry.path, name=entry.name)
        for key, found in (("n_jobs", data.n_jobs), ("n_machines", data.n_machines)):
            expected = entry.record.get(key)
            if expected is not None and expected != found:
                raise ValueError(f"{entry.path}: {key} is {found}, the index says {expected}")
        return _JsspCase(data, jssp.to_problem(data))


@dataclass(frozen=True)
class _JsspCase:
    data: jssp.JsspData
    problem: SchedulingProblem

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        # Imports the back-ends once, outside the timed call.
        import ortools.sat.python.cp_model  # noqa: F401

        import solvers.scheduling.cpsat  # noqa: F401

        if solver == JSSP_DEFAULT:
            start = time.perf_counter()
            answer = _engine_solve(self.data, self.problem, settings)
        elif solver == JSSP_TEXTBOOK:
            start = time.perf_counter()
            answer = textbook_solve(self.data, settings)
        else:
            raise ValueError(
                f"unknown solver '{solver}' for family jssp "
                f"(available: {JSSP_DEFAULT}, {JSSP_TEXTBOOK})"
            )
        wall = time.perf_counter() - start
        return self._attempt(answer, wall)

    def _attempt(self, answer: JsspAnswer, wall: float) -> Attempt:
        notes = list(answer.notes)
        if answer.starts is None:
            check = Verification(False, None)
        else:
            makespan, problems = jssp.verify(self.data, answer.starts)
            check = Verification(not problems, None if problems else makespan, tuple(problems))
            if not problems and answer.makespan is not None and answer.makespan != makespan:
                # Not part of the verification: the solver's own value of its schedule.
                notes.append(f"solver reports makespan {answer.makespan}, the verifier {makespan}")
        if (
            answer.bound is not None
            and check.objective is not None
            and answer.bound > check.objective
        ):
            notes.append(f"solver bound {answer.bound:g} above its verified makespan: check")
        return Attempt(
            status=answer.status,
            wall_s=wall,
            verification=check,
            notes=tuple(notes),
            bound=answer.bound,
            first_s=answer.first_s,
        )


# --- the registry -------------------------------------------------------------------

FAMILIES: dict[str, Callable[[], BenchFamily]] = {
    "gap": GapFamily,
    "cvrp": CvrpFamily,
    "vrptw": VrptwFamily,
    "jssp": JsspFamily,
}


def families() -> list[str]:
    return sorted(FAMILIES)


def get_family(name: str) -> BenchFamily:
    try:
        return FAMILIES[name]()
    except KeyError:
        raise ValueError(f"unknown family '{name}' (known: {', '.join(families())})") from None


# --- the index ----------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    path: Path
    records: list[dict[str, Any]]

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def load_index(path: str | Path) -> Index:
    """The records of an index file (a JSON list of objects); ``BenchIndexError`` if not."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchIndexError(f"{path}: file not found") from None
    except OSError as exc:
        raise BenchIndexError(f"{path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchIndexError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BenchIndexError(f"{path}: expected a JSON list of entry objects")
    if not data:
        raise BenchIndexError(f"{path}: the index has no entries")
    return Index(path, data)


def record_name(record: Mapping[str, Any], position: int) -> str:
    name = record.get("name")
    return name if isinstance(name, str) and name else f"#{position}"


def select(
    records: Sequence[dict[str, Any]],
    names: Iterable[str] = (),
    sets: Iterable[str] = (),
) -> list[tuple[int, dict[str, Any]]]:
    """The records (with their position) having one of ``names`` and in one of ``sets``.

    An empty filter keeps every record. Raises ``BenchIndexError`` listing names or
    sets that no record has, or when the two filters together keep nothing.
    """
    names, sets = list(dict.fromkeys(names)), list(dict.fromkeys(sets))
    known_names = {record_name(r, i) for i, r in enumerate(records)}
    known_sets = {r["set"] for r in records if isinstance(r.get("set"), str)}
    unknown = [n for n in names if n not in known_names]
    if unknown:
        raise BenchIndexError(f"unknown name(s) in the index: {', '.join(unknown)}")
    unknown = [s for s in sets if s not in known_sets]
    if unknown:
        raise BenchIndexError(
            f"unknown set(s) in the index: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known_sets)) or 'none'})"
        )
    chosen = [
        (i, r)
        for i, r in enumerate(records)
        if (not names or record_name(r, i) in names) and (not sets or r.get("set") in sets)
    ]
    if not chosen:
        raise BenchIndexError("no entry has one of those names and is in one of those sets")
    return chosen


def check_solvers(records: Iterable[Mapping[str, Any]], solvers: Sequence[str]) -> list[str]:
    """Problems with ``solvers`` for the known families among ``records`` (empty: all good)."""
    problems = []
    used = {r.get("family") for r in records}
    for name in sorted(f for f in FAMILIES if f in used):
        available = get_family(name).solvers()
        for solver in solvers:
            if solver not in available:
                problems.append(
                    f"unknown solver '{solver}' for family {name} "
                    f"(available: {', '.join(available)})"
                )
    return problems


# --- running ------------------------------------------------------------------------


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


#: Families whose JSON lines carry the solver's bound and time to first solution.
BOUND_FAMILIES = frozenset({"jssp"})


def gap_pct(objective: float, bks: float, sense: Literal["min", "max"]) -> float | None:
    """Percent by which ``objective`` is worse than ``bks`` (negative: better).

    ``min``: (obj - bks) / |bks|; ``max``: (bks - obj) / |bks|. With ``bks`` 0 the
    gap is 0 when the objective is 0 too, otherwise undefined (``None``).
    """
    worse = objective - bks if sense == "min" else bks - objective
    if bks == 0:
        return 0.0 if worse == 0 else None
    return 100.0 * worse / abs(bks)


def _bound_flags(entry: BenchEntry, bound: float | None) -> list[str]:
    """A proven bound beyond the BKS (a value some solution reaches) is wrong, or the BKS is."""
    if bound is None or entry.bks is None:
        return []
    beyond = bound > entry.bks if entry.sense == "min" else bound < entry.bks
    if beyond and not math.isclose(bound, entry.bks, rel_tol=1e-9, abs_tol=1e-6):
        return [f"solver bound {bound:g} beyond the BKS {entry.bks:g}: check the solver or the BKS"]
    return []


def _flags(entry: BenchEntry, objective: float, gap: float | None, status: str) -> list[str]:
    flags = []
    if gap is not None and gap < 0:
        flags.append(
            "better than a proven optimum: check the data or the verifier"
            if entry.bks_is_optimal
            else "new best?"
        )
    if entry.sense == "min" and entry.lower_bound is not None and objective < entry.lower_bound:
        flags.append(f"below the lower bound {entry.lower_bound:g}: check")
    if status == "OPTIMAL" and entry.bks_is_optimal and gap is not None and gap > 1e-9:
        flags.append("solver claims OPTIMAL, the BKS is a better proven optimum")
    return flags


def _short(violations: Sequence[str], most: int = 3) -> str:
    text = "; ".join(violations[:most])
    if len(violations) > most:
        text += f"; and {len(violations) - most} more"
    return text


def _error_row(
    record: Mapping[str, Any], position: int, solver: str, exc: BaseException, wall: float
) -> BenchRow:
    family = record.get("family")
    bks_key, optimal_key = reference_fields(record)
    bks = record.get(bks_key)
    return BenchRow(
        name=record_name(record, position),
        family=family if isinstance(family, str) else None,
        solver=solver,
        objective=None,
        bks=bks if isinstance(bks, int | float) and not isinstance(bks, bool) else None,
        gap_pct=None,
        status=ERROR,
        wall_s=wall,
        feasible=False,
        bks_is_optimal=record.get(optimal_key) is True,
        message=f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc),
    )


def _row(entry: BenchEntry, solver: str, attempt: Attempt) -> BenchRow:
    check = attempt.verification
    objective = check.objective if check.feasible else None
    gap = None
    messages = list(attempt.notes)
    if objective is not None:
        if entry.bks is not None:
            gap = gap_pct(objective, entry.bks, entry.sense)
        messages = _flags(entry, objective, gap, attempt.status) + messages
    else:
        messages.insert(0, "verification failed: " + _short(check.violations or ("no solution",)))
    messages = _bound_flags(entry, attempt.bound) + messages
    progress = []
    if attempt.bound is not None and not (check.feasible and attempt.status == "OPTIMAL"):
        progress.append(f"bound {attempt.bound:g}")
    if attempt.first_s is not None:
        progress.append(f"first solution {attempt.first_s:.2f} s")
    if progress:
        messages.append(", ".join(progress))
    return BenchRow(
        name=entry.name,
        family=entry.family,
        solver=solver,
        objective=objective,
        bks=entry.bks,
        gap_pct=gap,
        status=attempt.status,
        wall_s=attempt.wall_s,
        feasible=check.feasible,
        bks_is_optimal=entry.bks_is_optimal,
        message="; ".join(messages),
        vehicles=check.vehicles,
        bound=attempt.bound,
        first_s=attempt.first_s,
    )


def run_entry(
    record: Mapping[str, Any],
    base_dir: Path,
    solvers: Sequence[str] | None,
    settings: RunSettings,
    position: int = 0,
) -> Iterator[BenchRow]:
    """One row per solver (``None``: the family's default solver); never raises.

    The entry is loaded once and solved by each solver in turn; an error while
    loading fails every solver's row, an error in one solve fails that row only.
    """
    names = list(solvers or [NO_SOLVER])
    try:
        entry = BenchEntry.from_record(record, base_dir)
        family = get_family(entry.family)
        names = list(solvers or [family.default_solver()])
        case = family.load(entry)
    except Exception as exc:
        for solver in names:
            yield _error_row(record, position, solver, exc, 0.0)
        return
    for solver in names:
        start = time.perf_counter()
        try:
            attempt = case.solve(solver, settings)
        except Exception as exc:
            yield _error_row(record, position, solver, exc, time.perf_counter() - start)
            continue
        yield _row(entry, solver, attempt)


# --- summaries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Aggregates over the rows of one solver (or of the whole run)."""

    solver: str
    runs: int
    with_gap: int  # feasible rows with a BKS, over which the mean gap is taken
    mean_gap_pct: float | None
    median_wall_s: float | None
    optimal: int  # solver proved OPTIMAL and the verification passed
    equal_bks: int
    failed: int  # infeasible, no solution or error


def summarise(rows: Sequence[BenchRow], solver: str = "all") -> Summary:
    gaps = [r.gap_pct for r in rows if r.feasible and r.gap_pct is not None]
    walls = [r.wall_s for r in rows if r.status != ERROR]
    return Summary(
        solver=solver,
        runs=len(rows),
        with_gap=len(gaps),
        mean_gap_pct=statistics.fmean(gaps) if gaps else None,
        median_wall_s=statistics.median(walls) if walls else None,
        optimal=sum(r.optimal for r in rows),
        equal_bks=sum(r.equals_bks for r in rows),
        failed=sum(r.failed for r in rows),
    )


def summarise_by_solver(rows: Sequence[BenchRow]) -> list[Summary]:
    """One summary per solver, in the order the solvers first appear."""
    order = list(dict.fromkeys(r.solver for r in rows))
    return [summarise([r for r in rows if r.solver == s], s) for s in order]
