"""The purchasing stage: collective purchases, stand-alone costs, the savings split.

Runs after assignment on the needs its allocations imply. The time budget is spent in
three phases, each handing what it leaves to the next: the collective solve of every
material (up to 70 % of the budget), each factory's stand-alone solves (up to 90 %),
then the Shapley value and the core check on what remains.

The Shapley value needs coalition solves, exponentially many when exact and ``2n`` per
sampled permutation pair for ``n`` factories. Whether it is exact, sampled or replaced
by the proportional split is decided from an estimate of those solves' cost against the
split's nominal share of the time limit (not the clock, so that one worker and one seed
give the same plan); the notes say which and why.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from matcher.domain.instance import Instance
from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import (
    Allocation,
    CoreCheck,
    Delivery,
    Purchase,
    Purchasing,
    SavingsShare,
    Shortage,
    SolveStatus,
    StageStats,
    least_proven,
)
from solvers.linear import Limits
from solvers.purchasing import split
from solvers.purchasing.backends import get_backend
from solvers.purchasing.model import buckets_of
from solvers.purchasing.problem import (
    MaterialProblem,
    PurchasingProblem,
    build_purchasing_problem,
    material_needs,
)
from solvers.purchasing.solve import (
    MaterialSolution,
    ProvenAnswers,
    greedy_purchases,
    purchases_cents,
    solve_material,
)

COLLECTIVE_SHARE = 0.7
STANDALONE_SHARE = 0.9
MIN_SOLVE_S = 0.05
SOLVE_S_PER_FACTORY = 0.004
"""Estimated seconds of a coalition solve per member (measured: 3.5 ms for one factory
with CP-SAT, about 0.15 s for 40 with HiGHS), to budget the Shapley value."""


@dataclass
class _Split:
    """One material's savings split."""

    charged: dict[str, int]
    method: str
    ci95: dict[str, float] | None = None
    permutations: int = 0
    core: split.CoreCheckResult | None = None
    coalitions: int = 0
    notes: list[str] = field(default_factory=list)


def run_purchasing(
    instance: Instance,
    allocations: Sequence[Allocation],
    params: SolveParams,
    seconds: float,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
    proven: ProvenAnswers | None = None,
) -> tuple[Purchasing, StageStats] | None:
    """Purchase the materials ``allocations`` need; None when they need none.

    ``proven``: answers proved earlier in the same plan (another feedback round), taken
    instead of solving the same material for the same needs again."""
    start = time.perf_counter()
    needs = material_needs(instance, allocations)
    if not needs:
        return None
    problem = build_purchasing_problem(instance, needs)
    reused_before = 0 if proven is None else proven.reused
    get_backend(params.purchasing_solver)  # an unknown name fails before any work
    deadline = start + seconds
    until = start + COLLECTIVE_SHARE * seconds
    collective = solve_collective(problem, params, until, stop, proven)
    collective_s = time.perf_counter() - start
    objective = sum(s.cost for s in collective.values())
    bounds = [s.bound for s in collective.values()]
    bound = None if any(b is None for b in bounds) else sum(b for b in bounds if b is not None)
    status = least_proven(s.status for s in collective.values())
    if progress is not None:
        progress(Progress("purchasing", params.purchasing_solver, collective_s, objective, bound))
    notes: list[str] = [n for m in problem.materials for n in m.dropped]
    standalone: dict[str, dict[str, MaterialSolution]] = {}
    splits: dict[str, _Split] = {}
    if stop is not None and stop.is_set():
        notes.append("stopped before the stand-alone costs: savings not computed")
    else:
        standalone = _standalone(problem, params, stop, proven, start, seconds)
        splits = _splits(problem, params, collective, standalone, deadline, stop, proven)
    standalone_s = time.perf_counter() - start - collective_s
    purchasing = _assemble(problem, params, collective, standalone, splits, notes)
    gap = None if bound is None else max(0.0, objective - bound) / max(1.0, abs(objective))
    stats = StageStats(
        stage="purchasing",
        solver=params.purchasing_solver,
        status=status,
        objective=float(objective),
        best_bound=bound,
        gap=gap,
        wall_time_s=round(time.perf_counter() - start, 3),
        seed=params.seed,
        workers=1 if params.purchasing_solver != "cpsat" else params.workers,
        notes=[_summary(params, collective), *(n for s in collective.values() for n in s.notes)],
        extra={
            "materials": len(problem.materials),
            "factories": len(problem.factories),
            "offers": sum(len(m.offers) for m in problem.materials),
            "delivery_variables": problem.size,
            "collective_s": round(collective_s, 3),
            "standalone_and_split_s": round(standalone_s, 3),
            "coalitions_solved": sum(s.coalitions for s in splits.values()),
            "proven_answers_reused": 0 if proven is None else proven.reused - reused_before,
            "materials_not_optimal": sorted(
                m for m, s in collective.items() if s.status != SolveStatus.OPTIMAL
            ),
        },
    )
    return purchasing, stats


def _quality(s: MaterialSolution) -> tuple[int, int, int]:
    """Fewer uncovered units, then lower cost, then proven."""
    return (sum(u.units for u in s.uncovered), s.cost, s.status != SolveStatus.OPTIMAL)


def _summary(params: SolveParams, collective: dict[str, MaterialSolution]) -> str:
    proven = sum(1 for s in collective.values() if s.status == SolveStatus.OPTIMAL)
    return (
        f"{params.purchasing_solver} on one model per material: {proven} of "
        f"{len(collective)} materials proven optimal"
    )


def _limits(
    params: SolveParams, seconds: float, stop: StopSignal | None, workers: int, exact: bool
) -> Limits:
    return Limits(
        time.perf_counter() + max(MIN_SOLVE_S, seconds),
        0.0 if exact else params.relative_gap,
        params.seed,
        workers,
        stop,
    )


def _solve(
    mp: MaterialProblem,
    factories: Sequence[str],
    params: SolveParams,
    seconds: float,
    stop: StopSignal | None,
    workers: int,
    exact: bool = False,
    proven: ProvenAnswers | None = None,
) -> MaterialSolution:
    """``exact``: no relative gap (stand-alone and coalition costs are compared to the
    cent)."""
    return solve_material(
        mp,
        factories,
        params.purchasing_solver,
        _limits(params, seconds, stop, workers, exact),
        params.max_suppliers_per_material,
        proven,
    )


def solve_collective(
    problem: PurchasingProblem,
    params: SolveParams,
    until: float,
    stop: StopSignal | None,
    proven: ProvenAnswers | None = None,
) -> dict[str, MaterialSolution]:
    """Every material for all its factories; time shared in proportion to size."""
    sizes = [1 + len(m.offers) * len(m.needs) for m in problem.materials]
    left = sum(sizes)
    out: dict[str, MaterialSolution] = {}
    for mp, size in zip(problem.materials, sizes, strict=True):
        share = (until - time.perf_counter()) * size / left
        out[mp.material.id] = _solve(
            mp, mp.factories, params, share, stop, params.workers, proven=proven
        )
        left -= size
    # What the easy materials left over goes to the ones not yet proven optimal.
    retry = [m for m in problem.materials if out[m.material.id].status != SolveStatus.OPTIMAL]
    for k, mp in enumerate(retry):
        share = (until - time.perf_counter()) / (len(retry) - k)
        if share < 2 * MIN_SOLVE_S or (stop is not None and stop.is_set()):
            break
        again = _solve(mp, mp.factories, params, share, stop, params.workers)
        first = out[mp.material.id]
        bounds = [x.bound for x in (first, again) if x.bound is not None]
        better = min((first, again), key=_quality)
        better.bound = max(bounds) if bounds else None
        better.wall_time_s = first.wall_time_s + again.wall_time_s
        out[mp.material.id] = better
    return out


def _standalone(
    problem: PurchasingProblem,
    params: SolveParams,
    stop: StopSignal | None,
    proven: ProvenAnswers | None,
    start: float,
    seconds: float,
) -> dict[str, dict[str, MaterialSolution]]:
    """Each factory buying each of its materials alone: material -> factory -> plan.

    How many are solved exactly is decided from the nominal time (the stand-alone share
    at :data:`SOLVE_S_PER_FACTORY` a solve), not from the clock, so that a seed and one
    worker give the same savings however loaded the machine: the first that fit are
    solved (one-factory models prove optimal in milliseconds), the rest get the greedy
    purchases, an upper bound on the stand-alone cost (so the saving shown may be too
    high; the notes count these). That is with one worker; with more (a wall-clock
    limit) the stage's clock decides instead: solves go on until
    :data:`STANDALONE_SHARE` of the stage's ``seconds`` (whatever the collective solves
    left of it), so that a platform-size plan does not overrun (at 50 000 orders the
    nominal count meant 2 500 solves, twice the stage's time).
    """
    jobs = [(mp, f) for mp in problem.materials for f in mp.factories]
    clock = params.workers > 1
    nominal = params.time_limit_s * (STANDALONE_SHARE - COLLECTIVE_SHARE)
    exact = len(jobs) if clock else int(nominal // SOLVE_S_PER_FACTORY)
    share = max(MIN_SOLVE_S, nominal / max(1, min(exact, len(jobs))))
    until = start + STANDALONE_SHARE * seconds if clock else math.inf
    out: dict[str, dict[str, MaterialSolution]] = defaultdict(dict)
    for k, (mp, f) in enumerate(jobs):
        late = k >= exact or (stop is not None and stop.is_set()) or time.perf_counter() > until
        if late:
            out[mp.material.id][f] = _greedy_alone(mp, f, params.max_suppliers_per_material)
            continue
        if clock:  # the time left, shared by the solves left
            share = max(MIN_SOLVE_S, (until - time.perf_counter()) / (len(jobs) - k))
        out[mp.material.id][f] = _solve(mp, [f], params, share, stop, 1, True, proven)
    return dict(out)


def _greedy_alone(mp: MaterialProblem, factory: str, max_suppliers: int | None) -> MaterialSolution:
    buckets, _ = buckets_of(mp, [factory])
    bought, _ = greedy_purchases(mp, buckets, max_suppliers)
    cost = purchases_cents(bought)
    return MaterialSolution(mp.material.id, (factory,), SolveStatus.FEASIBLE, bought, cost=cost)


def _splits(
    problem: PurchasingProblem,
    params: SolveParams,
    collective: dict[str, MaterialSolution],
    standalone: dict[str, dict[str, MaterialSolution]],
    deadline: float,
    stop: StopSignal | None,
    proven: ProvenAnswers | None = None,
) -> dict[str, _Split]:
    """Per material: charges summing to its collective cost, and the core check."""
    out: dict[str, _Split] = {}
    weights = [len(m.needs) ** 2 for m in problem.materials]
    total, left = sum(weights), sum(weights)
    for mp, weight in zip(problem.materials, weights, strict=True):
        until = time.perf_counter() + (deadline - time.perf_counter()) * weight / left
        left -= weight
        # Exact or sampled is decided on the nominal budget, not on the clock, so that
        # one worker and one seed give the same plan.
        nominal = params.time_limit_s * (1 - STANDALONE_SHARE) * weight / total
        out[mp.material.id] = _split_material(
            mp,
            params,
            collective[mp.material.id],
            standalone[mp.material.id],
            until,
            nominal,
            stop,
            proven,
        )
    return out


def _split_material(
    mp: MaterialProblem,
    params: SolveParams,
    together: MaterialSolution,
    alone: dict[str, MaterialSolution],
    until: float,
    nominal: float,
    stop: StopSignal | None,
    proven: ProvenAnswers | None = None,
) -> _Split:
    players = mp.factories
    total = together.cost

    def proportional(notes: list[str]) -> _Split:
        charges = split.proportional({f: float(alone[f].cost) for f in players}, float(total))
        return _Split(split.integer_split(charges, total), "proportional", notes=notes)

    if len(players) == 1 or params.savings_split == "proportional":
        return proportional([])
    unproven = [0]

    def cost(coalition: frozenset[str]) -> float:
        seconds = max(MIN_SOLVE_S, min(1.0, until - time.perf_counter()))
        solution = _solve(mp, sorted(coalition), params, seconds, stop, 1, True, proven)
        if solution.status != SolveStatus.OPTIMAL:
            unproven[0] += 1
        return float(solution.cost)

    known = {frozenset(players): float(total)}
    known.update({frozenset([f]): float(alone[f].cost) for f in players})
    costs = split.CoalitionCosts(cost, known)
    should_stop = stop.is_set if stop is not None else None
    n = len(players)
    exact_cost = SOLVE_S_PER_FACTORY * n * 2 ** (n - 1)  # every coalition once
    pair_cost = SOLVE_S_PER_FACTORY * n * (n + 1)  # both permutations' prefixes
    exact_max = split.MAX_EXACT_PLAYERS if exact_cost <= nominal else 0
    if exact_max < n and pair_cost > nominal:
        return proportional(
            [
                f"{mp.material.id}: {n} factories, too many for Shapley sampling within the "
                f"time limit (one permutation pair ~{pair_cost:.0f}s); proportional split instead"
            ]
        )
    result = split.shapley(
        players,
        costs,
        permutations=params.shapley_permutations,
        seed=params.seed,
        exact_max=exact_max,
        deadline=until,
        should_stop=should_stop,
    )
    charged = split.integer_split(result.charges, total)
    core = split.core_check(
        players, costs, {f: float(c) for f, c in charged.items()}, deadline=until
    )
    notes: list[str] = []
    if unproven[0]:
        notes.append(
            f"{mp.material.id}: {unproven[0]} coalition solve(s) not proven optimal; "
            "their costs are upper bounds"
        )
    if not result.exact and result.permutations < params.shapley_permutations:
        notes.append(
            f"{mp.material.id}: {result.permutations} of {params.shapley_permutations} "
            "Shapley permutations fitted in the time limit"
        )
    return _Split(
        charged,
        "shapley" if result.exact else "shapley-sampled",
        result.ci95,
        result.permutations,
        core,
        costs.evaluated,
        notes,
    )


def _assemble(
    problem: PurchasingProblem,
    params: SolveParams,
    collective: dict[str, MaterialSolution],
    standalone: dict[str, dict[str, MaterialSolution]],
    splits: dict[str, _Split],
    notes: list[str],
) -> Purchasing:
    purchases: list[Purchase] = []
    shortages: list[Shortage] = []
    for mid, sol in sorted(collective.items()):
        for b in sol.bought:
            lead = b.offer.lead
            purchases.append(
                Purchase(
                    supplier=b.offer.supplier,
                    material=mid,
                    quantity=float(b.quantity),
                    tier=b.offer.tier(b.quantity),
                    unit_price_cents=b.offer.prices[b.offer.tier(b.quantity)],
                    cost_cents=b.material_cents,
                    transport_cents=b.transport_cents,
                    order_period=min(t for _, t, _ in b.deliveries) - lead,
                    surplus=float(b.surplus),
                    deliveries=[
                        Delivery(factory=f, period=t, order_period=t - lead, quantity=float(q))
                        for f, t, q in b.deliveries
                    ],
                )
            )
        for u in sol.uncovered:
            shortages.append(
                Shortage(
                    factory=u.factory,
                    material=mid,
                    period=u.period,
                    quantity=float(u.units),
                    reason=u.reason,
                    detail=u.detail,
                )
            )
    purchases.sort(key=lambda p: (p.material, p.supplier))
    shortages.sort(key=lambda s: (s.material, s.factory, s.period))
    material = sum(p.cost_cents for p in purchases)
    transport = sum(p.transport_cents for p in purchases)
    collective_cents = material + transport
    by_material: dict[str, int] = {}
    alone_by_factory: dict[str, int] = defaultdict(int)
    charged_by_factory: dict[str, int] = defaultdict(int)
    ci2: dict[str, float] = defaultdict(float)
    sampled = False
    for mid, per in standalone.items():
        by_material[mid] = sum(s.cost for s in per.values()) - collective[mid].cost
        for f, s in per.items():
            alone_by_factory[f] += s.cost
        for f, c in splits[mid].charged.items():
            charged_by_factory[f] += c
        half_widths = splits[mid].ci95
        if half_widths:
            sampled = True
            for f, h in half_widths.items():
                ci2[f] += h * h
        notes.extend(splits[mid].notes)
    methods = {s.method for s in splits.values() if len(s.charged) > 1} or {
        "shapley" if params.savings_split == "shapley" else "proportional"
    }
    method = split_name(methods)
    shares = [
        SavingsShare(
            factory=f,
            standalone_cents=alone_by_factory[f],
            charged_cents=charged_by_factory[f],
            saving_cents=alone_by_factory[f] - charged_by_factory[f],
            method=method,
            ci95_cents=round(math.sqrt(ci2[f]), 1) if sampled and math.isfinite(ci2[f]) else None,
        )
        for f in sorted(alone_by_factory)
    ]
    standalone_cents = sum(alone_by_factory.values()) if standalone else None
    estimated = sorted(
        {
            f
            for per in standalone.values()
            for f, x in per.items()
            if x.status != SolveStatus.OPTIMAL
        }
    )
    if estimated:
        notes.append(
            f"{len(estimated)} factories' stand-alone costs are not proven optimal (the time "
            f"limit came first; upper bounds, so their savings may be overstated): "
            + ", ".join(estimated[:10])
            + (" ..." if len(estimated) > 10 else "")
        )
    if shortages:
        notes.append(
            f"{len(shortages)} need(s) not covered; costs and savings are for the covered needs"
        )
    return Purchasing(
        purchases=purchases,
        shortages=shortages,
        collective_cents=collective_cents,
        material_cents=material,
        transport_cents=transport,
        standalone_cents=standalone_cents,
        savings_cents=None if standalone_cents is None else standalone_cents - collective_cents,
        savings_by_material_cents=by_material,
        max_suppliers_per_material=params.max_suppliers_per_material,
        split_method=method,
        shares=shares,
        permutations=min(
            (s.permutations for s in splits.values() if s.method == "shapley-sampled"),
            default=None,
        ),
        core=_core(splits),
        notes=notes,
    )


def split_name(methods: set[str]) -> str:
    """The name of a savings split made of per-material splits by ``methods``: the one
    method, ``shapley-sampled`` when exact and sampled Shapley mix, else ``mixed`` (the
    notes say which material fell back to which)."""
    if len(methods) == 1:
        return next(iter(methods))
    if methods == {"shapley", "shapley-sampled"}:
        return "shapley-sampled"
    return "mixed"


def _core(splits: dict[str, _Split]) -> CoreCheck | None:
    checks = [(m, s.core) for m, s in sorted(splits.items()) if s.core is not None]
    if not checks:
        return None
    material, worst = max(checks, key=lambda mc: mc[1].excess)
    return CoreCheck(
        material=material if worst.excess > 0 else None,
        coalitions_checked=sum(c.checked for _, c in checks),
        exhaustive=all(c.exhaustive for _, c in checks),
        blocking_coalition=sorted(worst.coalition) if worst.excess > 0 else [],
        excess_cents=math.floor(worst.excess + 0.5) if worst.excess > 0 else 0,
    )
