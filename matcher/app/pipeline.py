"""``plan(instance, params) -> Plan``: run the stages in order and assemble the plan.

Stages: assignment, then purchasing (when the allocations need materials), then routing
(when the instance has a fleet); capacity sharing plugs in after them as it lands.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from matcher.app.fairness_report import (
    PRICE_OF_FAIRNESS_SHARE,
    active_options,
    fairness_report,
    price_of_fairness,
)
from matcher.app.feedback import candidate_costs
from matcher.app.heap import long_lived
from matcher.domain.consistency import fairness_issues
from matcher.domain.entities import ObjectiveWeights
from matcher.domain.instance import Instance
from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import (
    Allocation,
    CapacitySharing,
    CostBreakdown,
    FactoryUtilisation,
    Kpis,
    OperationTransfer,
    PeriodQuantity,
    Plan,
    PriceOfFairness,
    Purchasing,
    ReasonCode,
    Routing,
    SolveStatus,
    StageStats,
    Unassigned,
    Utilisation,
    least_proven,
)
from solvers.assignment.base import AssignmentBackend, AssignmentResult, get_backend
from solvers.assignment.diagnose import explain_unserved
from solvers.assignment.fairness import tally
from solvers.assignment.fairness import terms as fairness_terms
from solvers.assignment.problem import AnchorSpec, AssignmentProblem, build_problem
from solvers.purchasing.solve import ProvenAnswers
from solvers.purchasing.stage import run_purchasing
from solvers.routing.searched import SearchedDays
from solvers.routing.stage import run_routing
from solvers.sharing.analysis import analyse

ASSIGNMENT_SHARE = {0: 1.0, 1: 0.7, 2: 0.6}
"""Share of the time limit the assignment gets, by the number of later stages."""
ROUTING_SHARE = 0.15
"""Share of the time limit kept for routing when purchasing runs before it."""
MIN_STAGE_SHARE = 0.1
"""A later stage gets at least this share, even after a slow assignment."""
AFTER_S_PER_ORDER = 0.0006
AFTER_SHARE = 0.15
"""With more than one worker (a wall-clock limit), time kept back from the stages for
the work after their clock stops: the unserved orders' diagnosis, the plan's assembly
and its fairness report. 0.6 ms an order, at most 15 % of the limit: measured on a
10 000-order re-plan (30 s limit, 2 workers, a loaded machine) that work took 10-12 s
(diagnosis 4-6 s, fairness report 6 s), on a 10 000-order solve about 4 s."""
ASSEMBLY_AFTER_S_PER_ORDER = 8e-5
"""With more than one worker, what an assembled plan (:func:`assembled_plan`) keeps back
from routing for its work after it (costs, KPIs, the fairness report; the parts made
their own diagnoses) when that is more than :data:`AFTER_SHARE` of its limit, and at
most half of it: at 50 000 orders that work took 3.1 s (the fairness report's blocking
pairs 2.5 s of it), against the 2.4 s that 15 % of the assembly's 15.9 s kept."""
SHARING_SHARE = 0.1
"""Share of the time limit kept for the capacity-sharing analysis (when asked for)."""


def plan(
    instance: Instance,
    params: SolveParams | None = None,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
    anchor: AnchorSpec | None = None,
    warm: Mapping[tuple[str, str], Mapping[int, int]] | None = None,
    report: bool = True,
) -> Plan:
    """Solve ``instance`` and return the plan.

    ``warm`` ((order, factory) -> period -> units, whole orders) starts the assignment
    from a plan found elsewhere (a decomposed solve's parts: :mod:`matcher.app.decompose`).

    ``anchor`` ties the solve to a previous plan (a re-plan: :mod:`matcher.app.replan`).

    With ``params.feedback`` (the default) and suppliers or a fleet, the stages run in
    rounds: after the first, what purchasing and routing really cost is fed back into
    the assignment (:mod:`matcher.app.feedback`), which is solved again from the last
    plan; rounds go on while the plan's objective falls and time is left, and the best
    plan is returned with every round's costs in its assignment stage (docs/model.md,
    "One plan").

    ``progress`` hears of every improved incumbent; setting ``stop`` (from another
    thread) ends the solve early with the best plan found so far.

    Every plan carries its fairness report (docs/fairness-report.md), unless ``report``
    is false (a decomposed solve's parts: the assembled plan gets its own). With
    fairness options or a load-balance weight in force, the plan gets 75 % of the time
    limit and the same solve without them the other 25 %, for the price of fairness.

    Infeasible or timed-out solves come back as a plan with that status; this
    function raises only for an unknown solver name, a back-end that cannot
    handle the problem, or ``params.fairness`` naming an unknown factory
    (``ValueError``).
    """

    params = params or SolveParams()
    options = params.fairness or instance.fairness
    weights = params.weights or instance.weights
    active = active_options(options, weights.load_balance)
    own = params  # with options in force, the re-solve without them takes a share
    if active and anchor is None:
        own = params.model_copy(
            update={"time_limit_s": params.time_limit_s * (1 - PRICE_OF_FAIRNESS_SHARE)}
        )
    own = _less_after(own, instance)
    with _clock(own, stop) as clock:
        result = _plan(instance, own, progress, clock, anchor, warm)
    price, notes = None, []
    if active and anchor is not None:
        notes.append("price of fairness: not re-solved for a re-plan")
    elif active:
        price, notes = _price_of_fairness(instance, params, result, active, stop)
    if not report:
        return result
    return result.model_copy(
        update={"fairness": fairness_report(instance, result, options, price, notes)}
    )


@dataclass(frozen=True)
class Assembled:
    """An assignment and its purchasing made elsewhere (the independent parts of a
    decomposed solve, :mod:`matcher.app.decompose`), to be routed and costed as one
    plan. ``stages`` holds the assignment's and purchasing's statistics."""

    allocations: list[Allocation]
    unassigned: list[Unassigned]
    transfers: list[OperationTransfer]
    credit_units: int
    purchasing: Purchasing | None
    stages: list[StageStats]
    capacity_sharing: CapacitySharing | None


def assembled_plan(
    instance: Instance,
    params: SolveParams,
    pieces: Assembled,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
) -> Plan:
    """The plan of ``pieces``: routing over the instance's whole fleet within
    ``params.time_limit_s`` (less the time kept for the work after it,
    :data:`ASSEMBLY_AFTER_S_PER_ORDER`), then the costs, KPIs and fairness report that
    :func:`plan` gives a plan of its own."""
    own = _less_after(params, instance, ASSEMBLY_AFTER_S_PER_ORDER, (AFTER_SHARE, 0.5))
    stages = list(pieces.stages)
    routing = None
    with _clock(own, stop) as clock:
        routed = run_routing(
            instance,
            pieces.allocations,
            pieces.purchasing,
            own,
            own.time_limit_s,
            _improvements(progress),
            clock,
        )
    if routed is not None:
        routing, routing_stats = routed
        stages.append(routing_stats)
    weights = params.weights or instance.weights
    costs = _costs(
        pieces.allocations,
        pieces.unassigned,
        pieces.credit_units,
        weights,
        pieces.purchasing,
        routing,
        0,
        pieces.transfers,
    )
    n_periods = instance.horizon.periods
    free = {
        (f.id, r.id): tuple(60 * r.free_minutes(t) for t in range(n_periods))
        for f in instance.factories
        for r in f.resources
    }
    result = Plan(
        instance=instance.name,
        status=least_proven(s.status for s in stages),
        weights=weights,
        fairness_options=params.fairness or instance.fairness,
        allocations=pieces.allocations,
        unassigned=pieces.unassigned,
        costs=costs,
        kpis=_kpis(instance, free, pieces.allocations, pieces.unassigned),
        stages=stages,
        purchasing=pieces.purchasing,
        routes=routing,
        capacity_sharing=pieces.capacity_sharing,
        transfers=pieces.transfers,
    )
    report = fairness_report(instance, result, params.fairness or instance.fairness)
    return result.model_copy(update={"fairness": report})


def _less_after(
    params: SolveParams,
    instance: Instance,
    per_order: float = AFTER_S_PER_ORDER,
    shares: tuple[float, float] = (0.0, AFTER_SHARE),
) -> SolveParams:
    """``params`` with the time kept for the work after the stages' clock taken off the
    limit: ``per_order`` seconds an order, kept within ``shares`` (least, most) of the
    limit (:func:`plan`: :data:`AFTER_S_PER_ORDER`, at most :data:`AFTER_SHARE`;
    :func:`assembled_plan`: :data:`ASSEMBLY_AFTER_S_PER_ORDER`). With more than one
    worker the limit is wall-clock, and that work counts too."""
    if params.workers == 1:
        return params
    limit = params.time_limit_s
    least, most = shares
    after = min(most * limit, max(least * limit, per_order * len(instance.orders)))
    return params.model_copy(update={"time_limit_s": limit - after})


_NO_PLAN = (SolveStatus.INFEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.UNKNOWN)


def _price_of_fairness(
    instance: Instance,
    params: SolveParams,
    fair: Plan,
    active: list[str],
    stop: StopSignal | None,
) -> tuple[PriceOfFairness | None, list[str]]:
    """The same solve without the fairness options and load balance, in its share of the
    time limit (docs/fairness-report.md, "Price of fairness"); ``None`` and why when
    there is nothing to compare."""
    if fair.status in _NO_PLAN:
        return None, [f"price of fairness: the plan has no solution ({fair.status.value})"]
    if stop is not None and stop.is_set():
        return None, [f"price of fairness: not re-solved ({stop.reason})"]
    weights = params.weights or instance.weights
    seconds = params.time_limit_s * PRICE_OF_FAIRNESS_SHARE
    plain = params.model_copy(
        update={
            "fairness": None,
            "weights": weights.model_copy(update={"load_balance": 0}),
            "time_limit_s": seconds,
            "sharing": False,
            "backups": False,
        }
    )
    with _clock(plain, stop) as clock:
        unfair = _plan(instance.model_copy(update={"fairness": None}), plain, None, clock, None)
    if unfair.status in _NO_PLAN:
        return None, [f"price of fairness: the re-solve found no plan ({unfair.status.value})"]
    return price_of_fairness(instance, fair, unfair, active, seconds), []


@contextmanager
def _clock(params: SolveParams, stop: StopSignal | None) -> Iterator[StopSignal | None]:
    """With more than one worker the limit is wall-clock: a stop signal set when it runs
    out (or when ``stop`` is), so that every stage, the ones that cannot see the clock
    included (compilation, purchasing, routing, sharing), ends within it. With one
    worker the stages keep their nominal shares, and only ``stop`` cuts work short."""
    if params.workers == 1:
        yield stop
        return
    clock = StopSignal()
    timer = threading.Timer(params.time_limit_s, clock.set, ("the time limit was reached",))
    timer.daemon = True
    timer.start()
    try:
        if stop is None:
            yield clock
        else:
            with stop.hook(lambda: clock.set(stop.reason)):
                yield clock
    finally:
        timer.cancel()


def _plan(
    instance: Instance,
    params: SolveParams,
    progress: ProgressCallback | None,
    stop: StopSignal | None,
    anchor: AnchorSpec | None,
    warm: Mapping[tuple[str, str], Mapping[int, int]] | None = None,
) -> Plan:
    weights = params.weights or instance.weights
    if params.fairness is not None:
        ids = (f.id for f in instance.factories)
        if issues := fairness_issues("params.fairness", params.fairness, ids):
            raise ValueError("; ".join(str(i) for i in issues))
    backend = get_backend(params.assignment_solver)
    started = time.perf_counter()
    # A signal already set asks for the quickest plan, which needs the problem; one set
    # while it compiles (a cancel, a deadline) ends the solve without a plan.
    compile_stop = None if stop is None or stop.is_set() else stop
    # The instance and its compiled problem live to the end of the solve: the collector
    # need not walk them (matcher.app.heap.long_lived).
    with long_lived(
        lambda: build_problem(
            instance, weights, params.max_candidates, anchor, compile_stop, params.fairness
        )
    ) as problem:
        if warm:
            problem = replace(problem, warm=_warm_candidates(problem, warm))
        compile_s = time.perf_counter() - started
        if not backend.supports(problem, params):
            why = backend.unsupported_reason(problem, params)
            raise ValueError(
                f"solver '{backend.name}' does not support this problem with these parameters"
                + (f": {why}" if why else "")
            )
        later = _buys(instance) + bool(instance.fleet.vehicles)  # stages after the assignment
        fed = params.feedback and anchor is None and later > 0 and not backend.prices_purchasing
        too_big = fed and problem.size > FEEDBACK_MAX_VARIABLES
        fed = fed and not too_big
        first_s = params.time_limit_s * (ROUND_SHARES[0] if fed else 1)
        earlier = _Earlier(ProvenAnswers(), SearchedDays())  # one round's answers serve the next
        best = _round(
            problem, backend, params, first_s, started, progress, stop, anchor, None, earlier
        )
        if fed:
            best = _feedback_rounds(
                problem, backend, params, best, started, progress, stop, earlier
            )
        notes = []
        if too_big:
            notes.append(
                f"feedback: skipped, {problem.size} production variables (above "
                f"{FEEDBACK_MAX_VARIABLES}): at this size the first round needs the whole limit"
            )
        result = _annotated(best.plan, notes, {"compile_s": round(compile_s, 3)})
        if params.sharing and problem.orders and not problem.by_operation:
            sharing = _sharing(best.problem, best.result, params, started, stop)
            result = result.model_copy(update={"capacity_sharing": sharing})
        return result


def _warm_candidates(
    problem: AssignmentProblem, warm: Mapping[tuple[str, str], Mapping[int, int]]
) -> dict[int, dict[int, int]]:
    """``warm`` in the problem's candidates: each (order, factory) that is a candidate
    of an ordinary order (not split by operation); the rest is left to the greedy."""
    index: dict[tuple[str, str], int] = {}
    factories = problem.instance.factories
    for info in problem.orders:
        if info.stages is None:
            for k in info.candidates:
                index[(info.order.id, factories[problem.candidates[k].factory].id)] = k
    return {index[key]: dict(q) for key, q in warm.items() if key in index and q}


FEEDBACK_MAX_VARIABLES = 1_000_000
"""Feedback rounds only up to this many production variables. Measured at a 60 s limit,
one worker: on medium (125 932) the rounds lowered the total by 1.83 %; on 10 000
orders (7.9 million) the first round's half of the limit left it 0.17 % worse than one
sequential round with all of it, and the rounds did not win that back."""
ROUND_SHARES = (0.5, 0.2, 0.15, 0.15)
"""With feedback: each round's share of the time limit, the first (sequential) round's
first. Fixed shares rather than the time left, so that one worker and a seed give the
same rounds and the same plan however loaded the machine."""


@dataclass(frozen=True)
class _Earlier:
    """What the stages of one round keep for the next rounds of the same plan: the
    purchase plans proved optimal and the periods' routing searches."""

    purchases: ProvenAnswers
    days: SearchedDays


@dataclass
class _Round:
    """One pass of the stages: the problem it solved, the assignment and the plan."""

    problem: AssignmentProblem
    result: AssignmentResult
    plan: Plan
    wall_s: float


def _buys(instance: Instance) -> bool:
    return any(o.bill_of_materials for o in instance.orders) and bool(instance.suppliers)


def _feedback_rounds(
    problem: AssignmentProblem,
    backend: AssignmentBackend,
    params: SolveParams,
    first: _Round,
    started: float,
    progress: ProgressCallback | None,
    stop: StopSignal | None,
    earlier: _Earlier,
) -> _Round:
    """Rounds after the first, while the objective falls: the best round, its
    assignment stage stating every round's costs."""
    best, last = first, first
    history = [_round_summary(0, first, kept=True)]
    notes: list[str] = []
    for k in range(1, len(ROUND_SHARES)):
        seconds = ROUND_SHARES[k] * params.time_limit_s
        late = time.perf_counter() - started > params.time_limit_s - seconds
        if params.workers > 1 and late:  # wall-clock limits: the clock decides
            notes.append(f"feedback: no time for round {k}")
            break
        if stop is not None and stop.is_set():
            notes.append(f"feedback: {stop.reason} before round {k}")
            break
        extra = candidate_costs(problem, last.plan)
        warm = {p.candidate: dict(p.quantities) for p in last.result.parts}
        fed = problem.with_costs(extra, warm)
        # A later round's stages price with the fed-back costs, so their incumbents do
        # not compare with the first round's: a listener hears of the better plans only.
        now = time.perf_counter()
        last = _round(fed, backend, params, seconds, now, None, stop, None, last, earlier)
        gain = best.plan.costs.objective - last.plan.costs.objective
        better = gain > 0
        history.append(_round_summary(k, last, kept=better))
        if not better:
            notes.append(f"feedback: round {k} did not lower the objective; stopped")
            break
        best = last
        if progress is not None:
            elapsed = time.perf_counter() - started
            progress(Progress("feedback", backend.name, elapsed, best.plan.costs.objective, None))
        if gain < params.relative_gap * abs(best.plan.costs.objective):
            notes.append(
                f"feedback: round {k} lowered the objective by {gain:.0f}, less than the "
                f"relative gap ({params.relative_gap:g}); stopped"
            )
            break
    chosen = max(i for i, r in enumerate(history) if r["kept"])
    notes.append(
        f"feedback: {len(history) - 1} round(s) after the first; round {chosen} kept "
        f"(objective {history[0]['objective']} -> {history[chosen]['objective']})"
    )
    if chosen:
        notes.append(
            f"the assignment objective of round {chosen} includes the purchasing and transport "
            "costs fed back from the round before; the plan's costs are its own"
        )
    plan = _annotated(best.plan, notes, {"feedback_rounds": history})
    return replace(best, plan=plan)


def _annotated(plan: Plan, notes: list[str], extra: dict[str, Any]) -> Plan:
    """``plan`` with ``notes`` and ``extra`` added to its assignment stage."""
    stage = plan.stages[0]
    stage = stage.model_copy(
        update={"notes": [*stage.notes, *notes], "extra": {**stage.extra, **extra}}
    )
    return plan.model_copy(update={"stages": [stage, *plan.stages[1:]]})


def _round_summary(k: int, r: _Round, kept: bool) -> dict[str, Any]:
    c = r.plan.costs
    return {
        "round": k,
        "objective": c.objective,
        "total": c.total,
        "production": c.production,
        "transport": c.transport,
        "purchasing": c.purchasing,
        "lateness": c.lateness,
        "unserved": c.unserved,
        "served": sum(1 for _ in {a.order for a in r.plan.allocations}),
        "wall_s": round(r.wall_s, 3),
        "kept": kept,
    }


def _round(
    problem: AssignmentProblem,
    backend: AssignmentBackend,
    params: SolveParams,
    seconds: float,
    started: float,
    progress: ProgressCallback | None,
    stop: StopSignal | None,
    anchor: AnchorSpec | None,
    previous: _Round | None = None,
    earlier: _Earlier | None = None,
) -> _Round:
    """The stages once, in ``seconds`` from ``started`` less the capacity-sharing
    analysis' share when it runs after them: assignment, purchasing (when the
    allocations need materials), routing (when the instance has a fleet).

    When the allocations are ``previous``'s, purchasing and routing are not run
    again: they depend on the allocations alone, so ``previous``'s are reused."""
    instance = problem.instance
    routes = bool(instance.fleet.vehicles)
    budget = seconds * ASSIGNMENT_SHARE[_buys(instance) + routes]  # the rest: later stages
    reserve = SHARING_SHARE * seconds if params.sharing else 0.0
    if params.sharing:
        budget *= 1 - SHARING_SHARE
    solve_params = params.model_copy(update={"time_limit_s": budget})
    if params.workers > 1:  # wall-clock limits: compiling the problem counts too
        left = max(0.1, budget - (time.perf_counter() - started))
        solve_params = params.model_copy(update={"time_limit_s": left})
    result = backend.solve(problem, solve_params, _improvements(progress), stop)
    reasons = explain_unserved(problem, result.parts, result.status)

    allocations, served, credit_units = _allocations(problem, result)
    transfers = _transfers(problem, result)

    unassigned = _unassigned(problem, served, reasons)

    objective, bound, notes = _plan_terms(problem, result, served)
    if params.sharing and problem.by_operation:
        notes.append(
            "capacity sharing skipped: the analysis does not model orders split by operation"
        )
    stage = StageStats(
        stage="assignment",
        solver=result.solver,
        status=result.status,
        objective=objective,
        best_bound=bound,
        gap=_gap(objective, bound),
        wall_time_s=round(result.wall_time_s, 3),
        time_to_first_feasible_s=(
            None
            if result.time_to_first_feasible_s is None
            else round(result.time_to_first_feasible_s, 3)
        ),
        seed=result.seed,
        workers=result.workers,
        notes=notes,
        extra={
            "compile_s": 0.0,  # set by plan(): compiling happens once
            "candidates": len(problem.candidates),
            "production_variables": problem.size,
            "max_candidates": params.max_candidates,
        },
    )
    stages = [stage]
    purchasing = None
    routing = None
    nominal = budget  # one worker: the shares the stages so far were given (_used)
    same = previous is not None and allocations == previous.plan.allocations
    if previous is not None and same:
        purchasing, routing = previous.plan.purchasing, previous.plan.routes
        stages += [_reused(s) for s in previous.plan.stages[1:]]
    elif any(o.bill_of_materials for o in instance.orders):
        left = seconds - _used(params, started, nominal) - reserve
        if routes:
            left -= ROUTING_SHARE * seconds
        stage_s = max(MIN_STAGE_SHARE * seconds, left)
        nominal += stage_s
        bought = run_purchasing(
            instance,
            allocations,
            params,
            stage_s,
            _improvements(progress),
            stop,
            None if earlier is None else earlier.purchases,
        )
        if bought is not None:
            purchasing, purchasing_stats = bought
            stages.append(purchasing_stats)
    if routes and not same:
        left = seconds - _used(params, started, nominal) - reserve
        stage_s = max(MIN_STAGE_SHARE * seconds, left)
        routed = run_routing(
            instance,
            allocations,
            purchasing,
            params,
            stage_s,
            _improvements(progress),
            stop,
            None if earlier is None else earlier.days,
        )
        if routed is not None:
            routing, routing_stats = routed
            stages.append(routing_stats)
    moved = 0 if anchor is None else moved_units(anchor.previous, allocations)
    weights = problem.weights
    costs = _costs(
        allocations, unassigned, credit_units, weights, purchasing, routing, moved, transfers
    )
    if problem.fairness is not None:
        fair = fairness_terms(
            problem.fairness, tally(problem.fairness, problem.candidates, result.parts)
        )
        costs = costs.model_copy(
            update={
                "fairness": fair.penalty,
                "load_balance": fair.spread,
                "objective": costs.objective + fair.penalty + weights.load_balance * fair.spread,
            }
        )
    result_plan = Plan(
        instance=instance.name,
        status=least_proven(s.status for s in stages),
        weights=weights,
        fairness_options=params.fairness or instance.fairness,
        allocations=allocations,
        unassigned=unassigned,
        costs=costs,
        kpis=_kpis(instance, _free_seconds(problem), allocations, unassigned),
        stages=stages,
        purchasing=purchasing,
        routes=routing,
        capacity_sharing=None,
        transfers=transfers,
    )
    return _Round(problem, result, result_plan, time.perf_counter() - started)


def _reused(stage: StageStats) -> StageStats:
    """A later stage's statistics, carried over to a round with the same allocations."""
    note = "the allocations are the round before's: its answer reused, not solved again"
    return stage.model_copy(update={"notes": [*stage.notes, note], "wall_time_s": 0.0})


def _unassigned(
    problem: AssignmentProblem,
    served: set[int],
    reasons: dict[int, tuple[ReasonCode, str]],
) -> list[Unassigned]:
    """Every order the plan leaves out, with its reason (from the filters or the solve)."""
    out: list[Unassigned] = []
    for info in problem.orders:
        if info.index in served:
            continue
        if info.reason is not None:
            code, detail = info.reason, info.detail
        else:
            code, detail = reasons[info.index]
        o = info.order
        out.append(
            Unassigned(
                order=o.id,
                reason=code,
                detail=detail,
                mandatory=o.mandatory,
                penalty_cents=o.penalties.unserved_cents or 0,
            )
        )
    return out


def _transfers(problem: AssignmentProblem, result: AssignmentResult) -> list[OperationTransfer]:
    """The plan's transfers between the operations of orders split by operation."""
    out: list[OperationTransfer] = []
    last_period = {p.candidate: max(p.quantities) for p in result.parts}
    for (f, g), units in result.flows.items():
        sender, receiver = problem.candidates[f], problem.candidates[g]
        assert sender.operation is not None
        lag, rate = problem.transfer(f, g)
        ship = last_period[f]
        out.append(
            OperationTransfer(
                order=problem.orders[sender.order].order.id,
                operation=sender.operation,
                from_factory=problem.instance.factories[sender.factory].id,
                to_factory=problem.instance.factories[receiver.factory].id,
                quantity=units,
                ship_period=ship,
                arrive_period=ship + lag,
                transport_cents=rate * units,
            )
        )
    out.sort(key=lambda t: (t.order, t.operation, t.from_factory, t.to_factory))
    return out


def _allocations(
    problem: AssignmentProblem, result: AssignmentResult
) -> tuple[list[Allocation], set[int], int]:
    """The plan's allocations (one per operation of each part), the orders served and
    the credit units."""
    instance = problem.instance
    allocations: list[Allocation] = []
    served: set[int] = set()
    credit_units = 0
    for part in sorted(result.parts, key=lambda p: p.candidate):
        cand = problem.candidates[part.candidate]
        order = problem.orders[cand.order].order
        factory = instance.factories[cand.factory]
        caps = {c.process: c for c in factory.capabilities}
        served.add(cand.order)
        qty = part.quantity
        periods = [PeriodQuantity(period=t, quantity=q) for t, q in sorted(part.quantities.items())]
        late_units = sum(q for t, q in part.quantities.items() if t > order.due_period)
        lateness = sum(
            order.penalties.late_cents_per_unit_period * (t - order.due_period) * q
            for t, q in part.quantities.items()
            if t > order.due_period
        )
        credit_units += cand.credit * qty
        last = len(order.operations) - 1
        for j, op in enumerate(order.operations):
            if cand.operation is not None and j != cand.operation:
                continue  # a stage part makes one operation
            cap = caps[op.process]
            allocations.append(
                Allocation(
                    order=order.id,
                    operation=j,
                    process=op.process,
                    factory=factory.id,
                    resource_group=cap.resource_group,
                    quantity=qty,
                    periods=periods,
                    production_cents=cap.unit_cost_cents * qty,
                    transport_cents=cand.transport * qty if j == last else 0,
                    lateness_cents=lateness if j == last else 0,
                    late_units=late_units if j == last else 0,
                )
            )
    allocations.sort(key=lambda a: (a.order, a.factory, a.operation))
    return allocations, served, credit_units


def _used(params: SolveParams, started: float, nominal: float) -> float:
    """The seconds a round's stages have used before the next one: the clock's with
    wall-clock limits, else ``nominal``, the shares of the stages before it, so that
    one worker and a seed give the same plan however loaded the machine (the routing
    stage counts its share in PyVRP iterations)."""
    return time.perf_counter() - started if params.workers > 1 else nominal


def _sharing(
    problem: AssignmentProblem,
    result: AssignmentResult,
    params: SolveParams,
    started: float,
    stop: StopSignal | None,
) -> CapacitySharing:
    """The capacity-sharing analysis, in its share of the time (with more than one
    worker, also whatever the earlier stages left)."""

    seconds = SHARING_SHARE * params.time_limit_s  # one worker: the same work each time
    if params.workers > 1:
        seconds = max(seconds, params.time_limit_s - (time.perf_counter() - started))
    gap = None  # proved: a move of work cannot save more than objective - bound
    optimal = result.status is SolveStatus.OPTIMAL
    if optimal and result.objective is not None and result.best_bound is not None:
        gap = max(0.0, result.objective - result.best_bound)
    return analyse(problem, result.parts, params, seconds, stop, gap)


def _improvements(progress: ProgressCallback | None) -> ProgressCallback | None:
    """Forward only reports that improve the incumbent or the bound.

    A back-end may report from several sub-solves (the LP core's phases, a greedy
    warm start): a listener should see the best plan so far get better, never worse.
    """
    if progress is None:
        return None
    best: list[float | None] = [None, None]  # objective, bound
    lock = threading.Lock()

    def forward(p: Progress) -> None:
        with lock:
            objective, bound = best
            better = p.objective is not None and (objective is None or p.objective < objective)
            tighter = p.best_bound is not None and (bound is None or p.best_bound > bound)
            if not (better or tighter):
                return
            if better:
                best[0] = p.objective
            if tighter:
                best[1] = p.best_bound
            merged = Progress(p.stage, p.solver, p.elapsed_s, best[0], best[1])
        progress(merged)

    return forward


def _plan_terms(
    problem: AssignmentProblem, result: AssignmentResult, served: set[int]
) -> tuple[float | None, float | None, list[str]]:
    """Objective and bound in plan terms, without the internal mandatory penalty.

    For a plan leaving ``k`` mandatory orders unserved, ``bound - k * penalty`` bounds
    the cost of every plan that leaves ``k`` of them unserved; it does not prove that
    fewer is impossible, which the notes say.
    """
    notes = list(result.notes)
    k = sum(1 for i in problem.orders if i.order.mandatory and i.index not in served)
    offset = k * problem.mandatory_penalty
    objective = None if result.objective is None else result.objective - offset
    bound = None if result.best_bound is None else result.best_bound - offset
    if k and result.parts and bound is not None:
        notes.append(
            f"{k} mandatory order(s) unserved; the bound holds for plans leaving {k} unserved"
        )
        if bound < 0:
            bound = None
            notes.append("the bound does not yet prove those mandatory orders unservable")
    return objective, bound, notes


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return max(0.0, objective - bound) / max(1.0, abs(objective))


def _free_seconds(problem: AssignmentProblem) -> dict[tuple[str, str], tuple[int, ...]]:
    """Free seconds per (factory id, resource group) and period."""
    return {
        (problem.instance.factories[r.factory].id, r.group): r.free_seconds
        for r in problem.resources
    }


def _costs(
    allocations: list[Allocation],
    unassigned: list[Unassigned],
    credit_units: int,
    w: ObjectiveWeights,
    bought: Purchasing | None = None,
    routing: Routing | None = None,
    moved: int = 0,
    transfers: list[OperationTransfer] | None = None,
) -> CostBreakdown:
    """The plan's cost terms; routes replace the per-unit transport estimates of goods
    and materials (docs/routing.md). Transfers between operations are not routed: their
    estimates count either way (docs/model.md)."""
    production = sum(a.production_cents for a in allocations)
    transport = sum(a.transport_cents for a in allocations)
    purchasing = 0 if bought is None else bought.collective_cents
    if routing is not None:
        transport = routing.transport_cents
        purchasing = 0 if bought is None else bought.material_cents
    transport += sum(t.transport_cents for t in transfers or ())
    lateness = sum(a.lateness_cents for a in allocations)
    unserved = sum(u.penalty_cents for u in unassigned)
    objective = (
        w.production * production
        + w.transport * transport
        + w.lateness * lateness
        + w.unserved * unserved
        + w.credit * credit_units
        + w.purchasing * purchasing
        + w.stability * moved
    )
    return CostBreakdown(
        production=production,
        transport=transport,
        lateness=lateness,
        unserved=unserved,
        credit=credit_units,
        purchasing=purchasing,
        total=production + transport + lateness + unserved + purchasing,
        moved_units=moved,
        objective=objective,
    )


def moved_units(previous: dict[tuple[str, str], int], allocations: list[Allocation]) -> int:
    """Units of ``previous`` ((order, factory) -> units) no longer made at that factory."""
    now: dict[tuple[str, str], int] = defaultdict(int)
    for a in allocations:
        if a.operation == 0:
            now[(a.order, a.factory)] += a.quantity
    return sum(max(0, units - now.get(key, 0)) for key, units in previous.items())


def _kpis(
    instance: Instance,
    free: dict[tuple[str, str], tuple[int, ...]],
    allocations: list[Allocation],
    unassigned: list[Unassigned],
) -> Kpis:
    factories = {f.id: f for f in instance.factories}
    used: dict[tuple[str, str, int], int] = defaultdict(int)
    late_orders: set[str] = set()
    served_units: dict[str, int] = {}
    orders_at: dict[str, set[str]] = defaultdict(set)
    for a in allocations:
        cap = next(c for c in factories[a.factory].capabilities if c.process == a.process)
        for pq in a.periods:
            used[(a.factory, a.resource_group, pq.period)] += (
                cap.seconds_per_unit * pq.quantity + 60 * cap.setup_minutes
            )
        if a.late_units:
            late_orders.add(a.order)
        if a.operation == 0:
            served_units[a.order] = served_units.get(a.order, 0) + a.quantity
        orders_at[a.factory].add(a.order)
    n = len(instance.orders)
    n_served = len(served_units)
    total_units = sum(o.quantity for o in instance.orders)
    rows: list[Utilisation] = []
    per_factory: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (fid, group), seconds in free.items():
        for t, f_sec in enumerate(seconds):
            u = used.get((fid, group, t), 0)
            per_factory[fid][0] += u
            per_factory[fid][1] += f_sec
            if u or f_sec:
                rows.append(
                    Utilisation(
                        factory=fid,
                        resource_group=group,
                        period=t,
                        used_minutes=u / 60,
                        free_minutes=f_sec // 60,
                    )
                )
    factory_rows = [
        FactoryUtilisation(
            factory=fid,
            used_minutes=u / 60,
            free_minutes=f // 60,
            utilisation=u / f if f else 0.0,
            orders=len(orders_at.get(fid, ())),
        )
        for fid, (u, f) in per_factory.items()
    ]
    factory_rows.sort(key=lambda r: (-r.utilisation, r.factory))
    return Kpis(
        orders=n,
        orders_served=n_served,
        orders_on_time=n_served - len(late_orders),
        orders_late=len(late_orders),
        orders_unassigned=len(unassigned),
        fill_rate=n_served / n if n else 0.0,
        unit_fill_rate=sum(served_units.values()) / total_units if total_units else 0.0,
        on_time_rate=(n_served - len(late_orders)) / n_served if n_served else 0.0,
        factories_used=len(orders_at),
        factory_utilisation=factory_rows,
        utilisation=rows,
    )
