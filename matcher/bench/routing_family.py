"""The ``cvrp`` and ``vrptw`` families: CVRPLIB and Solomon files solved by the routing
engine, or by PyVRP called as a library user calls it (``pyvrp-plain``), the
reference the engine's default is compared with.

The engine's problem comes from :mod:`matcher.bench.io.routing_problem`; every answer
is verified by :mod:`matcher.bench.io.vrp`, which reads the file with its own code.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from matcher.bench.family import Attempt, BenchCase, BenchEntry, RunSettings, Verification
from matcher.bench.io import vrp
from matcher.bench.io.routing_problem import read_problem, write_vrplib_vrptw
from solvers.routing.base import RoutingLimits, available, get_backend, solve_routing
from solvers.routing.problem import RoutingProblem

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
        return [*available(), PYVRP_PLAIN]

    def default_solver(self) -> str:
        return ROUTING_DEFAULT

    def load(self, entry: BenchEntry) -> BenchCase:
        raw = vrp.read_raw(entry.path, self.kind)  # the verifier's own reading
        problem = read_problem(entry.path, self.kind, name=entry.name)
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
        get_backend(solver)  # imports the back-end once, outside the timed call
        warned: list[str] = []
        with _warnings_as_notes(warned, noted_by_backend=True):
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
        # Imported here: PyVRP stays out of the start-up of runs that do not ask for it.
        import pyvrp

        from solvers.routing.pyvrp_backend import plain_solve

        rounding = _PLAIN_ROUNDING[self.raw.kind]
        if self.raw.kind == vrp.VRPTW:  # pyvrp.read takes VRPLIB files, not Solomon's
            with tempfile.TemporaryDirectory() as folder:
                converted = Path(folder) / f"{self.path.stem}.vrp"
                write_vrplib_vrptw(self.path, converted)
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
def _warnings_as_notes(notes: list[str], noted_by_backend: bool = False) -> Iterator[None]:
    """Warnings raised inside (PyVRP's ``PenaltyBoundWarning`` when it finds nothing
    feasible) become notes of the row, once per kind, instead of lines amid the table.
    With ``noted_by_backend`` that warning is left out: our PyVRP back-end says the same
    in a note of its own (it reads the penalties rather than catching the warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    # Not imported: PyVRP stays out of runs that do not use it, and then warned nothing.
    exceptions = sys.modules.get("pyvrp.exceptions")
    noted = getattr(exceptions, "PenaltyBoundWarning", None) if noted_by_backend else None
    seen = set()
    for w in caught:
        if noted is not None and issubclass(w.category, noted):
            continue
        if w.category not in seen:
            seen.add(w.category)
            first = " ".join(str(w.message).split()).split(". ")[0].rstrip(".")
            notes.append(f"{w.category.__name__}: {first}")
