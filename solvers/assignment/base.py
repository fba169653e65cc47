"""What every assignment back-end implements and returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import SolveStatus
from solvers.assignment.fairness import fairness_cost
from solvers.assignment.problem import AssignmentProblem
from solvers.registry import Registry


@dataclass
class Part:
    """The share of one order made by one candidate factory."""

    candidate: int
    quantities: dict[int, int]  # period -> units (> 0)

    @property
    def quantity(self) -> int:
        return sum(self.quantities.values())


@dataclass
class AssignmentResult:
    """A back-end's answer. Failures are statuses, never exceptions."""

    solver: str
    status: SolveStatus
    parts: list[Part] = field(default_factory=list)
    objective: float | None = None  # internal objective (incl. mandatory penalty)
    best_bound: float | None = None
    wall_time_s: float = 0.0
    time_to_first_feasible_s: float | None = None
    seed: int = 0
    workers: int = 1
    notes: list[str] = field(default_factory=list)
    # orders split by operation: (sending stage part, receiving stage part) -> units
    flows: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.best_bound is None:
            return None
        return max(0.0, self.objective - self.best_bound) / max(1.0, abs(self.objective))


class AssignmentBackend(Protocol):
    name: str
    # True when the back-end prices purchasing itself (the joint reference): the
    # pipeline then runs no feedback rounds, which would count materials twice.
    prices_purchasing: bool

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        """Whether this back-end handles every feature ``problem`` uses."""
        ...

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        """Why it cannot handle ``problem`` with ``params`` (``None``: it can)."""
        ...

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        """Solve; when ``stop`` is set, return the best plan found so far."""
        ...


BACKENDS: Registry[AssignmentBackend] = Registry(
    "assignment",
    {
        "cpsat": "solvers.assignment.cpsat:CpSatBackend",
        "greedy": "solvers.assignment.greedy:GreedyBackend",
        "mip-cbc": "solvers.assignment.mip:CbcBackend",
        "mip-highs": "solvers.assignment.mip:HighsBackend",
        "mip-scip": "solvers.assignment.mip:ScipBackend",
        "joint": "solvers.joint.backend:JointBackend",
    },
)


def available() -> list[str]:
    """The assignment back-ends' names."""
    return BACKENDS.names()


def get_backend(name: str) -> AssignmentBackend:
    """The assignment back-end registered as ``name``, imported on first use."""
    return BACKENDS.get(name)


def report_result(
    progress: ProgressCallback | None, problem: AssignmentProblem, result: AssignmentResult
) -> None:
    """Tell ``progress`` of a finished solve's plan in plan terms: without the internal
    penalty of the mandatory orders it leaves out (a bound below 0 is no bound)."""
    if progress is None or result.objective is None:
        return
    offset = problem.mandatory_penalty * len(mandatory_left_out(problem, result.parts))
    bound = None if result.best_bound is None else result.best_bound - offset
    progress(
        Progress(
            "assignment",
            result.solver,
            result.wall_time_s,
            result.objective - offset,
            bound if bound is not None and bound >= 0 else None,
        )
    )


def stage_flows(problem: AssignmentProblem, parts: list[Part]) -> dict[tuple[int, int], int]:
    """The transfers of orders split by operation made with one stage part per operation (as the
    greedy places them): each part passes everything to the next operation's."""
    by_order: dict[int, dict[int, Part]] = {}
    for p in parts:
        cand = problem.candidates[p.candidate]
        if cand.operation is not None:
            stage = by_order.setdefault(cand.order, {})
            if cand.operation in stage:
                raise ValueError("stage_flows needs one stage part per operation")
            stage[cand.operation] = p
    flows: dict[tuple[int, int], int] = {}
    for stage in by_order.values():
        for j in range(len(stage) - 1):
            flows[(stage[j].candidate, stage[j + 1].candidate)] = stage[j].quantity
    return flows


def objective_of(
    problem: AssignmentProblem,
    parts: list[Part],
    flows: dict[tuple[int, int], int] | None = None,
) -> int:
    """Internal objective of a set of parts: production/transport/credit/lateness
    weighted, plus the penalty of every order left unserved and the fairness terms
    (docs/fairness.md); with the transfers of
    orders split by operation (``flows``, by default as :func:`stage_flows` derives them)."""
    if flows is None:
        flows = stage_flows(problem, parts)
    total = sum(problem.transfer(f, g)[1] * units for (f, g), units in flows.items())
    total *= problem.weights.transport
    served: set[int] = set()
    made: dict[int, int] = {}
    for part in parts:
        cand = problem.candidates[part.candidate]
        served.add(cand.order)
        made[part.candidate] = part.quantity
        for t, q in part.quantities.items():
            total += problem.unit_cost(cand, t) * q
    for info in problem.orders:
        if info.index not in served:
            total += problem.unserved_cost(info.index)
    if problem.anchor is not None:
        orders = {problem.candidates[k].order for k in problem.anchor.previous}
        total += sum(problem.stability_cost(o, made) for o in orders)
    return total + fairness_cost(problem.fairness, problem.candidates, parts)


def anchor_unsupported(problem: AssignmentProblem) -> str | None:
    """The reason a back-end without re-plan support gives for an anchored problem."""
    if problem.anchor is None:
        return None
    return "re-plans (fixed work, stability) are modelled by the cpsat back-end only"


def by_operation_unsupported(problem: AssignmentProblem) -> str | None:
    """The reason a back-end without orders split by operation gives for a problem holding some."""
    if not problem.by_operation:
        return None
    return (
        f"{len(problem.by_operation)} order(s) are split by operation (split.by_operation); "
        "they are modelled by the cpsat back-end only"
    )


def fairness_unsupported(problem: AssignmentProblem, solver: str) -> str | None:
    """The reason a back-end that does not model fairness gives, naming the options
    ``problem`` uses (docs/fairness.md), or None when it uses none."""
    fair = problem.fairness
    if fair is None:
        return None
    opts = fair.options
    named = [
        name
        for name, on in (
            ("max_share", opts.max_share is not None),
            ("min_work", any(fair.min_work)),
            ("exploration_share", opts.exploration_share is not None),
            ("weights.load_balance", fair.load_weight > 0),
        )
        if on
    ]
    return (
        f"the fairness option(s) {', '.join(named)} are modelled by the cpsat and MIP "
        f"back-ends only; '{solver}' would solve a plan without them (docs/fairness.md)"
    )


def mandatory_left_out(problem: AssignmentProblem, parts: list[Part]) -> list[int]:
    """Mandatory orders that ``parts`` leave unserved (with or without candidates)."""
    served = {problem.candidates[p.candidate].order for p in parts}
    return [i.index for i in problem.orders if i.order.mandatory and i.index not in served]


def placeable_left_out(problem: AssignmentProblem, parts: list[Part]) -> list[int]:
    """Mandatory orders that ``parts`` leave unserved although some factory may take
    them: the ones a bound takes as left out (``fixed_unserved``)."""
    return [o for o in mandatory_left_out(problem, parts) if problem.orders[o].candidates]


def infeasible_at_once(
    problem: AssignmentProblem, params: SolveParams, solver: str, start: float
) -> AssignmentResult | None:
    """The ``INFEASIBLE`` result of a solve that hard mandatory orders doom before it
    starts (see :func:`unservable_mandatory`), or None."""
    why = unservable_mandatory(problem) if params.hard_mandatory else None
    if why is None:
        return None
    return AssignmentResult(
        solver=solver,
        status=SolveStatus.INFEASIBLE,
        wall_time_s=time.perf_counter() - start,
        seed=params.seed,
        workers=params.workers,
        notes=[why],
    )


def unservable_mandatory(problem: AssignmentProblem) -> str | None:
    """Why hard mandatory orders make ``problem`` infeasible before any solve (some have
    no candidate at all), or None."""
    hopeless = [i for i in problem.orders if i.order.mandatory and not i.candidates]
    if not hopeless:
        return None
    example = hopeless[0]
    return (
        f"{len(hopeless)} mandatory order(s) cannot be served at all, e.g. "
        f"{example.order.id}: {example.reason} {example.detail}"
    )
