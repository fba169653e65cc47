"""The routing back-ends' registry and the one entry point, :func:`solve_routing`.

A back-end returns only which vehicle type serves which visits in which order
(:class:`Sequences`); :func:`solve_routing` turns those into timed, costed routes with
:mod:`solvers.routing.evaluate`, so every back-end's answer is measured the same way
and a back-end's claim of feasibility is re-checked before anyone sees it.

Back-ends: ``pyvrp`` (PyVRP's iterated local search), ``ortools-routing`` (OR-Tools
routing with guided local search) and ``auto``, the default, which picks per problem
(see :mod:`solvers.routing.auto`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from matcher.domain.params import StopSignal
from solvers.registry import Registry
from solvers.routing.evaluate import build_route, check_coverage, total_cost
from solvers.routing.problem import Action, Route, RoutingProblem, RoutingResult

ImprovementCallback = Callable[[float, int], None]
"""Called with (seconds since the start, cost) when a back-end improves its best."""


@dataclass(frozen=True)
class RoutingLimits:
    seconds: float
    seed: int = 0
    stop: StopSignal | None = None
    on_improvement: ImprovementCallback | None = None
    started: float = field(default_factory=time.perf_counter)
    give_up_s: float | None = None  # stop when still nothing feasible after this long
    max_iterations: int | None = None  # PyVRP: stop after this many (deterministic)
    patience: int | None = None  # PyVRP: stop after this many without improvement

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def stopped(self) -> bool:
        return self.left() <= 0 or (self.stop is not None and self.stop.is_set())


@dataclass
class Sequences:
    """A back-end's raw answer: per used vehicle, its type and visits in order."""

    solver: str
    routes: list[tuple[int, list[tuple[int, Action]]]] = field(default_factory=list)
    unserved: list[int] = field(default_factory=list)
    found: bool = False  # some solution at all (even if the engine calls it infeasible)
    time_to_first_feasible_s: float | None = None
    iterations: int | None = None
    converged: bool = False  # stopped on no improvement: a longer limit changes nothing
    setup_s: float | None = None  # before the search proper, which no limit interrupts
    notes: list[str] = field(default_factory=list)


class RoutingBackend(Protocol):
    name: str

    def supports(self, problem: RoutingProblem) -> bool:
        """Whether this back-end can solve ``problem`` exactly."""
        ...

    def unsupported_reason(self, problem: RoutingProblem) -> str | None:
        """Why this back-end cannot solve ``problem`` exactly (``None``: it can)."""
        ...

    def solve(self, problem: RoutingProblem, limits: RoutingLimits) -> Sequences:
        """Best visit orders found within the limits; never raises for a hard problem."""
        ...


BACKENDS: Registry[RoutingBackend] = Registry(
    "routing",
    {
        "auto": "solvers.routing.auto:AutoBackend",
        "ortools-routing": "solvers.routing.ortools_backend:OrToolsBackend",
        "pyvrp": "solvers.routing.pyvrp_backend:PyVrpBackend",
    },
)


def available() -> list[str]:
    """The routing back-ends' names."""
    return BACKENDS.names()


def get_backend(name: str) -> RoutingBackend:
    """The routing back-end registered as ``name``, imported on first use."""
    return BACKENDS.get(name)


def solve_routing(problem: RoutingProblem, solver: str, limits: RoutingLimits) -> RoutingResult:
    """Solve with the named back-end and evaluate its routes.

    Raises ``ValueError`` for an unknown solver, inconsistent data, or a back-end that
    cannot represent the problem; anything else is a status in the result.
    """
    problems = problem.problems()
    if problems:
        raise ValueError("; ".join(problems))
    backend = get_backend(solver)
    why = backend.unsupported_reason(problem)
    if why is not None:
        raise ValueError(f"routing solver '{solver}' cannot solve this problem: {why}")
    if not problem.requests:
        return RoutingResult(solver=backend.name, feasible=True, cost=0, seed=limits.seed)
    raw = backend.solve(problem, limits)
    return evaluate_sequences(problem, raw, limits)


def evaluate_sequences(
    problem: RoutingProblem, raw: Sequences, limits: RoutingLimits
) -> RoutingResult:
    """Timed and costed routes from visit orders; infeasible if any rule is broken.

    Two repairs keep an answer's optional requests honest, whichever back-end found it:
    a route that breaks a rule while serving only optional requests is dropped (its
    requests go unserved, which is always allowed), and so is a route that costs more
    than the penalties of the requests it serves (leaving them unserved is cheaper).
    """
    routes: list[Route] = []
    violations: list[str] = []
    unserved = list(raw.unserved)
    dropped_broken = dropped_dear = 0
    for vehicle_type, visits in raw.routes:
        if not visits:
            continue
        route, broken = build_route(problem, vehicle_type, visits)
        served = sorted({v.request for v in route.visits})
        optional = not any(problem.requests[k].required for k in served)
        if optional and broken:
            dropped_broken += 1
            unserved += served
            continue
        if optional and route.cost > sum(problem.requests[k].penalty for k in served):
            dropped_dear += 1
            unserved += served
            continue
        routes.append(route)
        violations += [f"route {len(routes) - 1}: {v}" for v in broken]
    violations += check_coverage(problem, routes, unserved)
    feasible = raw.found and not violations
    notes = list(raw.notes)
    if raw.found and violations:
        notes.append(
            f"{len(violations)} violation(s) in the best solution found, e.g. {violations[0]}"
        )
    return RoutingResult(
        solver=raw.solver,
        feasible=feasible,
        routes=routes,
        unserved=sorted(set(unserved)),
        cost=total_cost(problem, routes, unserved) if raw.found else None,
        wall_time_s=time.perf_counter() - limits.started,
        time_to_first_feasible_s=raw.time_to_first_feasible_s,
        iterations=raw.iterations,
        converged=raw.converged,
        setup_s=raw.setup_s,
        seed=limits.seed,
        notes=notes,
        dropped_broken=dropped_broken,
        dropped_dear=dropped_dear,
    )
