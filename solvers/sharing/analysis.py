"""The capacity-sharing analysis of an assignment (docs/sharing.md).

Per factory, resource group and period: free, used and idle time, and the marginal
value of one more hour, read from the dual prices of the capacity rows of the
assignment's LP relaxation (GLOP; Lagrangian multipliers when the LP is too big or not
solved in its time). Factories are overloaded when orders they are
the cheapest for end late, unserved or elsewhere while they have no room, and
under-used below a utilisation threshold. Transfers are found and valued by
re-solving the orders they touch with CP-SAT (:mod:`solvers.sharing.resolve`):
lending a lender's idle hours to a binding group, and moving work where a re-solve
of an overloaded factory's orders finds a cheaper plan.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from matcher.domain.params import SolveParams, StopSignal
from matcher.domain.plan import (
    Backup,
    CapacityNeed,
    CapacityOffer,
    CapacityRow,
    CapacitySharing,
    FactoryLoad,
    LoadStatus,
    Transfer,
    TransferKind,
)
from solvers.assignment.base import Part, objective_of, placeable_left_out
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.greedy import Capacity, cheapest_single_part, cost
from solvers.assignment.problem import AssignmentProblem, Candidate, units_fitting
from solvers.assignment.relaxation import solve_relaxation
from solvers.sharing.resolve import Resolved, by_order, order_cost, resolve

UNDER_USED_BELOW = 0.5
"""A factory using less than this share of its free time is under-used."""
TOP = 20
"""Entries kept in each ranked list."""
MIN_IDLE_MINUTES = 60
"""Idle time below an hour in a period is not worth offering."""
LEND_TRIES = 12
"""Binding groups (highest marginal value first, each group once before its other
periods) for which a lender is sought, while the clock allows."""
MOVE_TRIES = 8
"""Overloaded factories (most hurt orders first) whose orders are re-solved for better
moves, while the clock allows."""
LEND_ORDERS = 24
"""Hurt orders a lend re-solves: those that gain most per second of the borrowed group."""
MOVE_HURT = 18
"""Hurt orders a move re-solves: those that gain most per unit at the overloaded factory."""
THERE_ORDERS = 12
"""Orders placed where the hours are needed that a re-solve may move out of the way."""
RESOLVE_S_PER_ORDER = 0.02
RESOLVE_MIN_S = 0.05
RESOLVE_MAX_S = 1.0
"""CP-SAT time of one re-solve: 20 ms per order re-solved, between 0.05 s and 1 s.
Neighbourhoods are small and chosen: at 10 000 orders one of 120 orders (the former
size) found nothing in 1 s while one of 30 found a saving and proved it in 0.4 s."""
TRY_SHARE_OF_LEFT = 0.35
"""A re-solve runs at most this share of what the clock leaves the tries."""
TRIES_DETERMINISTIC_SHARE = 0.2
"""With one worker, the tries' CP-SAT deterministic time as a share of the stage's
seconds (on small neighbourhoods deterministic time runs 2 to 3 times slower than the
clock, measured at 10 000 orders: the tries then take most of the rest of the share)."""

LP_MAX_VARIABLES = 300_000
"""Above this many production variables (the priced LP then takes minutes and
gigabytes: 177 s and 5 GB at 10 000 orders, measured), Lagrangian multipliers are the
marginal values."""

METHOD = (
    "LP dual prices (GLOP) of the capacity rows of the assignment's LP relaxation: "
    "objective cents saved by one more hour, integrality relaxed and setups amortised "
    "over a period's largest lot; 0 where the LP leaves the capacity slack"
)
LAGRANGE_CANDIDATES = 3
"""Candidates per order (cheapest first, besides the plan's) in the Lagrangian pricing."""
LP_SHARE = 0.4
"""The LP's share of the stage's seconds."""
LAGRANGE_SHARE = 0.25
"""With more than one worker, the Lagrangian ascent's share of the stage's seconds."""
LAGRANGE_STEPS = 500
"""With one worker, the Lagrangian ascent's steps (the same values every time)."""
LAGRANGE_STEPS_LARGE = 200
"""... above :data:`LAGRANGE_FEWER_ABOVE` production variables. Measured at 10 000
orders (8.3 million): 500 steps took 2.2 s, 40 % of the share, leaving the tries too
little; 200 steps take 1 to 2 s and find 16 of the 20 highest values 500 find, with
values that correlate with them at 0.99."""
LAGRANGE_FEWER_ABOVE = 1_000_000
LAGRANGE_METHOD = (
    "Lagrangian multipliers of the capacity rows (subgradient ascent, the multipliers of "
    "the best bound found; setups, lots and part counts relaxed): objective cents per "
    "hour, an estimate of the LP's dual prices"
)


@dataclass
class _State:
    problem: AssignmentProblem
    parts: list[Part]
    used: list[list[int]] = field(default_factory=list)  # resource -> period -> seconds
    plan: dict[int, list[Part]] = field(default_factory=dict)
    idle_now: list[list[int]] = field(default_factory=list)  # resource -> period -> seconds

    def __post_init__(self) -> None:
        p = self.problem
        self.used = [[0] * p.periods for _ in p.resources]
        for part in self.parts:
            cand = p.candidates[part.candidate]
            for t, q in part.quantities.items():
                for u in cand.usage:
                    self.used[u.resource][t] += u.seconds_per_unit * q + u.setup_seconds
        self.plan = by_order(p, self.parts)
        self.idle_now = [
            [max(0, self.idle(r, t)) for t in range(p.periods)] for r in range(len(p.resources))
        ]

    def idle(self, r: int, t: int) -> int:
        return self.problem.resources[r].free_seconds[t] - self.used[r][t]


def analyse(
    problem: AssignmentProblem,
    parts: list[Part],
    params: SolveParams,
    seconds: float,
    stop: StopSignal | None = None,
    proved_gap: float | None = None,
) -> CapacitySharing:
    """The capacity-sharing section of the plan made of ``parts``.

    ``proved_gap``: when the assignment is proved optimal within the requested relative
    gap, its objective minus its bound (internal cents). A move of work re-solves the
    plan's own problem, so it cannot save more than that: the moves are not searched."""

    start = time.perf_counter()
    state = _State(problem, parts)
    notes: list[str] = []
    values, method = _values(state, params, seconds, stop, notes)
    rows = _rows(state, values)
    processes = _processes(problem)
    overloaded, under_used = _loads(state)
    needs = [
        CapacityNeed(
            factory=r.factory,
            resource_group=r.resource_group,
            period=r.period,
            marginal_cents_per_hour=r.marginal_cents_per_hour,
            processes=processes[(r.factory, r.resource_group)],
        )
        for r in sorted(rows, key=need_rank)
        if r.marginal_cents_per_hour > 0
    ][:TOP]
    offers = _offers(state, processes)
    deadline = start + seconds
    transfers = _tries(
        state,
        needs,
        overloaded,
        processes,
        params,
        seconds,
        deadline,
        stop,
        proved_gap is None,
        notes,
    )
    if proved_gap is not None and overloaded:
        notes.append(
            f"moves of work not searched: the assignment is proved within the requested "
            f"gap, so no move can save more than {proved_gap / 100:,.2f}"
        )
    transfers.sort(key=transfer_rank)
    backups = _backups(state) if params.backups else None
    return CapacitySharing(
        method=method,
        capacity=rows,
        overloaded=overloaded,
        under_used=under_used,
        extra_capacity_pays=needs,
        idle_to_offer=offers,
        transfers=transfers,
        backups=backups,
        wall_time_s=round(time.perf_counter() - start, 3),
        notes=notes,
    )


# How the analysis ranks what it finds; a decomposed solve's merge ranks the same way.


def need_rank(r: CapacityRow | CapacityNeed) -> tuple[float, str, int]:
    """Where extra capacity pays: highest marginal value first."""
    return (-r.marginal_cents_per_hour, r.factory, r.period)


def overloaded_rank(x: FactoryLoad) -> tuple[int, str]:
    """Overloaded factories: most hurt orders first."""
    return (-len(x.orders), x.factory)


def under_used_rank(x: FactoryLoad) -> tuple[float, str]:
    """Under-used factories: least used first."""
    return (x.utilisation, x.factory)


def offer_rank(o: CapacityOffer) -> tuple[float, str, str]:
    """Idle capacity to offer: most idle hours first."""
    return (-o.idle_hours, o.factory, o.resource_group)


def transfer_rank(tr: Transfer) -> tuple[int, int, str, str]:
    """Transfers: those serving the most mandatory orders, then the largest saving."""
    return (-len(tr.serves_mandatory), -tr.saving_cents, tr.kind.value, tr.from_factory)


def _values(
    state: _State,
    params: SolveParams,
    seconds: float,
    stop: StopSignal | None,
    notes: list[str],
) -> tuple[dict[tuple[int, int], float], str]:
    """Per (resource, period), the objective saved by one more second, and the method;
    in :data:`LP_SHARE` of the stage's ``seconds`` (the LP) or :data:`LAGRANGE_SHARE`
    (the Lagrangian multipliers: the tries need the rest)."""

    problem = state.problem
    if _stopped(stop):  # a deadline or a cancel: the plan matters, not its prices
        notes.append(f"{stop.reason if stop else ''}: no marginal values, no transfers")
        return {}, METHOD
    # Mandatory orders the plan cannot serve stay out of the pricing: their internal
    # penalty is no money (it would make the LP price capacity at it, or infeasible, and
    # every Lagrangian step overshoot).
    stuck = placeable_left_out(problem, state.parts)
    if stuck:
        notes.append(
            f"{len(stuck)} mandatory order(s) the plan cannot serve are left out of the "
            "pricing (capacity that would let one be served is worth more than any price)"
        )
    size = problem.size  # a pass over every candidate: once
    over = f"over each order's {LAGRANGE_CANDIDATES} cheapest candidates and those the plan uses"
    if size > LP_MAX_VARIABLES:
        notes.append(
            f"{size} production variables: Lagrangian multipliers instead of the "
            f"LP's duals (above {LP_MAX_VARIABLES}), {over}"
        )
        return _multipliers(state, params, seconds, stuck, size), LAGRANGE_METHOD
    relax = solve_relaxation(problem, True, LP_SHARE * seconds, stop, priced=True, leave_out=stuck)
    timed_out = "NOT_SOLVED" in relax.note  # the soft LP would run out of time too
    if relax.bound is None and not (params.hard_mandatory or timed_out or _stopped(stop)):
        notes.append(
            relax.note + "; the soft LP is used: values include the penalty of an unserved "
            "mandatory order"
        )
        relax = solve_relaxation(
            problem, False, LP_SHARE * seconds, stop, priced=True, leave_out=stuck
        )
    if relax.bound is not None:
        return relax.capacity_values, METHOD
    if _stopped(stop):
        notes.append(f"no marginal values: {relax.note}")
        return {}, METHOD
    notes.append(f"{relax.note}: Lagrangian multipliers instead of the LP's duals, {over}")
    return _multipliers(state, params, seconds, stuck, size), LAGRANGE_METHOD


def _multipliers(
    state: _State, params: SolveParams, seconds: float, stuck: list[int], size: int
) -> dict[tuple[int, int], float]:
    """The Lagrangian multipliers of the capacity rows per (resource, period): above
    :data:`LP_MAX_VARIABLES`, and when the LP is not solved in its time (measured on
    medium with the machine loaded: GLOP ran out of its 1.2 s, leaving no values and so
    no binding group to lend to)."""
    problem = state.problem
    offered = {
        info.index: sorted(
            set(info.candidates[:LAGRANGE_CANDIDATES])
            | {part.candidate for part in state.plan.get(info.index, [])}
        )
        for info in problem.orders
        if info.candidates
    }
    # uncapped: the caps would hold what one order alone fills, and price it at 0
    relaxation = LagrangianBound(problem, offered, capped=False)
    incumbent = float(objective_of(problem, state.parts))
    if params.workers == 1:  # a fixed number of steps: the same values every time
        steps = LAGRANGE_STEPS if size <= LAGRANGE_FEWER_ABOVE else LAGRANGE_STEPS_LARGE
        relaxation.compute(incumbent, stuck, iterations=steps, time_limit_s=1e9)
    else:
        limit = LAGRANGE_SHARE * seconds
        relaxation.compute(incumbent, stuck, iterations=5000, time_limit_s=limit)
    lam = relaxation.multipliers
    return {
        (int(r), int(t)): float(lam[r, t]) for r, t in zip(*np.nonzero(lam > 1e-9), strict=True)
    }


def _rows(state: _State, values: dict[tuple[int, int], float]) -> list[CapacityRow]:
    p = state.problem
    rows: list[CapacityRow] = []
    for r, res in enumerate(p.resources):
        fid = p.instance.factories[res.factory].id
        for t in range(p.periods):
            free, used = res.free_seconds[t], state.used[r][t]
            if not (free or used):
                continue
            rows.append(
                CapacityRow(
                    factory=fid,
                    resource_group=res.group,
                    period=t,
                    free_minutes=free // 60,
                    used_minutes=used / 60,
                    idle_minutes=free // 60 - used / 60,
                    marginal_cents_per_hour=round(3600 * values.get((r, t), 0.0), 2),
                )
            )
    return rows


def _processes(problem: AssignmentProblem) -> dict[tuple[str, str], list[str]]:
    """Processes each (factory, resource group) runs."""
    out: dict[tuple[str, str], set[str]] = {
        (problem.instance.factories[r.factory].id, r.group): set() for r in problem.resources
    }
    for f in problem.instance.factories:
        for c in f.capabilities:
            out.setdefault((f.id, c.resource_group), set()).add(c.process)
    return {k: sorted(v) for k, v in out.items()}


def _hurt(state: _State, order: int) -> bool:
    """Unserved, late, or partly made at a dearer factory than its cheapest."""
    p = state.problem
    info = p.orders[order]
    parts = state.plan.get(order, [])
    if not parts:
        return True
    cheapest = p.candidates[info.candidates[0]].base
    for part in parts:
        cand = p.candidates[part.candidate]
        if cand.base > cheapest or any(t > info.order.due_period for t in part.quantities):
            return True
    return False


def _full(state: _State, cand: Candidate) -> bool:
    """No room for one more unit of ``cand`` in any on-time period of its window."""
    due = state.problem.orders[cand.order].order.due_period
    window = [t for t in cand.periods if t <= due] or list(cand.periods)
    return all(units_fitting(state.idle_now, cand, t, 1) == 0 for t in window)


def _loads(state: _State) -> tuple[list[FactoryLoad], list[FactoryLoad]]:
    p = state.problem
    hurt_at: dict[int, list[str]] = defaultdict(list)
    for info in p.orders:
        if info.candidates and _hurt(state, info.index):
            cand = p.candidates[info.candidates[0]]
            if _full(state, cand):
                hurt_at[cand.factory].append(info.order.id)
    used: dict[int, int] = defaultdict(int)
    free: dict[int, int] = defaultdict(int)
    for r, res in enumerate(p.resources):
        used[res.factory] += sum(state.used[r])
        free[res.factory] += sum(res.free_seconds)
    overloaded: list[FactoryLoad] = []
    under: list[FactoryLoad] = []
    for fi, f in enumerate(p.instance.factories):
        share = used[fi] / free[fi] if free[fi] else 0.0
        common = {
            "factory": f.id,
            "utilisation": round(share, 4),
            "used_minutes": used[fi] / 60,
            "free_minutes": free[fi] // 60,
        }
        if hurt_at.get(fi):
            orders = sorted(hurt_at[fi])
            overloaded.append(
                FactoryLoad(
                    status=LoadStatus.OVERLOADED,
                    orders=orders,
                    detail=f"cheapest capable factory of {len(orders)} order(s) that end late, "
                    "unserved or elsewhere, with no room left in their on-time periods",
                    **common,
                )
            )
        elif free[fi] and share < UNDER_USED_BELOW:
            under.append(
                FactoryLoad(
                    status=LoadStatus.UNDER_USED,
                    detail=f"uses {100 * share:.0f} % of its free time "
                    f"(threshold {100 * UNDER_USED_BELOW:.0f} %)",
                    **common,
                )
            )
    overloaded.sort(key=overloaded_rank)
    under.sort(key=under_used_rank)
    return overloaded, under


def _offers(state: _State, processes: dict[tuple[str, str], list[str]]) -> list[CapacityOffer]:
    p = state.problem
    offers: list[CapacityOffer] = []
    for r, res in enumerate(p.resources):
        fid = p.instance.factories[res.factory].id
        idle = {t: res.free_seconds[t] // 60 - state.used[r][t] / 60 for t in range(p.periods)}
        periods = [t for t, m in idle.items() if m >= MIN_IDLE_MINUTES]
        if periods:
            offers.append(
                CapacityOffer(
                    factory=fid,
                    resource_group=res.group,
                    processes=processes[(fid, res.group)],
                    periods=periods,
                    idle_hours=round(sum(idle[t] for t in periods) / 60, 4),
                )
            )
    offers.sort(key=offer_rank)
    return offers[:TOP]


class _Clock:
    """When the tries stop and how long each may run. With more than one worker, the
    stage's wall-clock deadline. With one, a budget of CP-SAT deterministic time that
    each re-solve's own deterministic time is charged to, so that the same seed gives
    the same tries and transfers however loaded the machine; a try that proves its
    answer early leaves the rest to the next ones."""

    def __init__(self, params: SolveParams, seconds: float, deadline: float) -> None:
        self.one_worker = params.workers == 1
        self.deadline = deadline
        self.budget = TRIES_DETERMINISTIC_SHARE * seconds
        self.spent = 0.0

    def left(self) -> float:
        if self.one_worker:
            return self.budget - self.spent
        return self.deadline - time.perf_counter()

    def out(self) -> bool:
        """Too little left for a re-solve to find anything (building it takes time too)."""
        return self.left() < 2 * RESOLVE_MIN_S

    def limit(self, orders: int) -> float:
        """One re-solve's time: by its size (``RESOLVE_*``), at most a share of what is
        left (:data:`TRY_SHARE_OF_LEFT`), so that the next tries get a chance."""
        size = min(RESOLVE_MAX_S, max(RESOLVE_MIN_S, RESOLVE_S_PER_ORDER * orders))
        return max(RESOLVE_MIN_S, min(size, TRY_SHARE_OF_LEFT * self.left()))

    def charge(self, res: Resolved) -> None:
        self.spent += res.deterministic_time


@dataclass
class _Tries:
    """What every try shares: the plan's capacity (taken once, each try copies it and
    gives back its orders' parts), candidates by resource, the clock, the outcomes."""

    state: _State
    params: SolveParams
    clock: _Clock
    stop: StopSignal | None
    taken: Capacity
    per_unit: dict[int, float] = field(default_factory=dict)  # order -> its cost per unit
    order_index: dict[str, int] = field(default_factory=dict)
    factory_index: dict[str, int] = field(default_factory=dict)
    on_resource: dict[int, list[int]] = field(default_factory=dict)  # r -> hurt orders' cands
    moves_seen: set[tuple[str, str, str, int]] = field(default_factory=set)

    def residual(self, orders: list[int]) -> Capacity:
        cap = self.taken.copy()
        p = self.state.problem
        for o in orders:
            for part in self.state.plan.get(o, []):
                cap.give_back(p.candidates[part.candidate], part.quantities)
        return cap

    def resolve(self, orders: list[int], cap: Capacity) -> Resolved:
        seconds = self.clock.limit(len(orders))
        p, plan = self.state.problem, self.state.plan
        wall = not self.clock.one_worker
        res = resolve(p, plan, orders, cap, self.params, seconds, wall_clock=wall)
        self.clock.charge(res)
        return res

    def cost_per_unit(self, order: int) -> float:
        """What a unit of ``order`` costs in the plan (its penalty per unit if unserved)."""
        got = self.per_unit.get(order)
        if got is None:
            p = self.state.problem
            made = order_cost(p, order, self.state.plan.get(order, []))
            got = self.per_unit[order] = made / max(1, p.orders[order].order.quantity)
        return got


def _tries(
    state: _State,
    needs: list[CapacityNeed],
    overloaded: list[FactoryLoad],
    processes: dict[tuple[str, str], list[str]],
    params: SolveParams,
    seconds: float,
    deadline: float,
    stop: StopSignal | None,
    moves: bool,
    notes: list[str],
) -> list[Transfer]:
    """Lending and moving tries taken in turn, most promising first, while the clock
    allows (:class:`_Clock`): in turn, so that neither kind takes the whole share;
    ``notes`` says how each kind ended."""
    p = state.problem
    taken = Capacity(p)
    for part in state.parts:
        taken.take(p.candidates[part.candidate], part.quantities)
    ctx = _Tries(state, params, _Clock(params, seconds, deadline), stop, taken)
    ctx.order_index = {info.order.id: info.index for info in p.orders}
    ctx.factory_index = {f.id: i for i, f in enumerate(p.instance.factories)}
    lends = _lend_order(needs)
    _index_users(ctx, needs)
    loads = overloaded[:MOVE_TRIES] if moves else []
    out: list[Transfer] = []
    lent: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    index = {(p.instance.factories[r.factory].id, r.group): i for i, r in enumerate(p.resources)}
    i = j = 0
    while i < len(lends) or j < len(loads):
        if ctx.clock.out() or _stopped(stop):
            if i < len(lends):
                lent["stopped (time or a stop) before the rest"] += 1
            if j < len(loads):
                moved["stopped (time or a stop) before the rest"] += 1
            break
        if i < len(lends) and (i <= j or j >= len(loads)):
            why, found = _lend(ctx, lends[i], index, processes)
            lent[why] += 1
            i += 1
        else:
            why, found = _move(ctx, loads[j])
            moved[why] += 1
            j += 1
        out += found
    if lent:
        notes.append(f"lending idle hours: {i} binding group(s) tried: " + _tally(lent))
    if moved:
        notes.append(
            f"moving work: the orders around {j} of {len(loads)} overloaded factory(ies) "
            "re-solved: " + _tally(moved)
        )
    return out


def _lend_order(needs: list[CapacityNeed]) -> list[CapacityNeed]:
    """The binding groups to try, most valuable first, but every (factory, group) once
    before any of them again in another period (a group's periods share their orders,
    so a second period mostly re-solves the same neighbourhood), at most
    :data:`LEND_TRIES`."""
    seen: set[tuple[str, str]] = set()
    first: list[CapacityNeed] = []
    again: list[CapacityNeed] = []
    for need in needs:
        key = (need.factory, need.resource_group)
        (again if key in seen else first).append(need)
        seen.add(key)
    return (first + again)[:LEND_TRIES]


def _index_users(ctx: _Tries, needs: list[CapacityNeed]) -> None:
    """Per resource of the groups to try: the candidates of hurt orders that use it.
    One vectorised pass over the candidates' factories finds those at the groups'
    factories (at 50 000 orders 46 000 orders are hurt and a Python pass over their 5.3
    million candidates took 1.1 s of a 6 s share); only those are looked at."""
    p = ctx.state.problem
    wanted = {(n.factory, n.resource_group) for n in needs}
    resources = {
        r
        for r, res in enumerate(p.resources)
        if (p.instance.factories[res.factory].id, res.group) in wanted
    }
    ctx.on_resource = {r: [] for r in resources}
    if not resources:
        return
    hurt = np.zeros(len(p.orders), dtype=np.bool_)
    for info in p.orders:
        if info.candidates and info.stages is None and _hurt(ctx.state, info.index):
            hurt[info.index] = True
    n = len(p.candidates)
    factory_of = np.fromiter(map(attrgetter("factory"), p.candidates), np.int64, n)
    order_of = np.fromiter(map(attrgetter("order"), p.candidates), np.int64, n)
    factories = sorted({p.resources[r].factory for r in resources})
    near = np.flatnonzero(np.isin(factory_of, factories) & hurt[order_of])
    for k in near.tolist():  # any order: a lend ranks its orders by gain
        for u in p.candidates[k].usage:
            if u.resource in resources:
                ctx.on_resource[u.resource].append(k)


def _seconds_on(cand: Candidate, resource: int) -> int:
    return sum(u.seconds_per_unit for u in cand.usage if u.resource == resource)


def _lend_neighbourhood(ctx: _Tries, r_to: int, t: int) -> list[int]:
    """The orders a lend re-solves: the hurt orders that gain most per second of the
    borrower's group by a unit made there in ``t`` (up to :data:`LEND_ORDERS`), then
    the orders making something there in ``t``, those cheapest to move elsewhere first
    (up to :data:`THERE_ORDERS`): they may give way to them."""
    p = ctx.state.problem
    gains: dict[int, float] = {}
    for k in ctx.on_resource.get(r_to, []):
        cand = p.candidates[k]
        if not cand.first <= t <= cand.last:
            continue
        gain = ctx.cost_per_unit(cand.order) - p.unit_cost(cand, t)
        if gain > 0:
            rate = gain / max(1, _seconds_on(cand, r_to))
            gains[cand.order] = max(rate, gains.get(cand.order, 0.0))
    hurt = sorted(gains, key=lambda o: (-gains[o], o))[:LEND_ORDERS]
    there = [
        o
        for o, parts in ctx.state.plan.items()
        if any(t in x.quantities and _seconds_on(p.candidates[x.candidate], r_to) for x in parts)
    ]
    there.sort(key=lambda o: (_regret(ctx, o, p.resources[r_to].factory), o))
    return list(dict.fromkeys([*hurt, *there[:THERE_ORDERS]]))


def _regret(ctx: _Tries, order: int, factory: int) -> float:
    """What a unit of ``order`` would cost more at its cheapest candidate elsewhere than
    ``factory`` (infinite without one): the orders cheapest to move away first."""
    p = ctx.state.problem
    for k in p.orders[order].candidates:  # cheapest first
        cand = p.candidates[k]
        if cand.factory != factory:
            return cand.base - ctx.cost_per_unit(order)
    return math.inf


def _lend(
    ctx: _Tries,
    need: CapacityNeed,
    index: dict[tuple[str, str], int],
    processes: dict[tuple[str, str], list[str]],
) -> tuple[str, list[Transfer]]:
    """Borrow a compatible lender's idle hours in the need's period for its group and
    re-solve the orders that could use them: how the try ended, and its transfers.
    Only the hours the answer uses are stated; an answer that needs none of them is a
    move of work found on the way (MOVE_WORK transfers)."""
    state = ctx.state
    p = state.problem
    r_to = index[(need.factory, need.resource_group)]
    t = need.period
    wanted = set(need.processes)
    lenders = [
        (state.idle(r, t), r)
        for (fid, group), r in index.items()
        if fid != need.factory
        and state.idle(r, t) >= 60 * MIN_IDLE_MINUTES
        and wanted & set(processes[(fid, group)])
    ]
    if not lenders:
        return (
            f"without a lender (another factory's group with {MIN_IDLE_MINUTES} min idle "
            "in that period and one of its processes)",
            [],
        )
    idle, r_from = max(lenders, key=lambda x: (x[0], -x[1]))
    own = p.resources[r_to].free_seconds[t]
    hours = min(idle // 3600, max(1, own // 3600))
    orders = _lend_neighbourhood(ctx, r_to, t)
    if not orders:
        return "with no order that could use the hours", []
    cap = ctx.residual(orders)
    had = cap.free[r_to][t]
    cap.free[r_to][t] += 3600 * hours
    cap.free[r_from][t] -= 3600 * hours
    res = ctx.resolve(orders, cap)
    if not _worth_listing(res):
        return _no_saving(res), []
    used = sum(
        u.seconds_per_unit * x.quantities[t] + u.setup_seconds
        for x in res.parts
        if t in x.quantities
        for u in p.candidates[x.candidate].usage
        if u.resource == r_to
    )
    if used <= had:  # feasible without the hours (the lender's cut only tightens)
        found = _move_transfers(ctx, res, orders, " (found valuing a lend of idle hours)")
        if not found:
            return "re-solved, a saving found without the hours nor a new move (no transfer)", []
        return "re-solved, a saving found without the hours (moves of work)", found
    needed = -(-(used - had) // 3600)
    lender = p.resources[r_from]
    transfer = Transfer(
        kind=TransferKind.LEND_CAPACITY,
        from_factory=p.instance.factories[lender.factory].id,
        to_factory=need.factory,
        resource_group=need.resource_group,
        period=t,
        hours=float(needed),
        saving_cents=res.saving,
        serves_mandatory=_ids(p, res.serves_mandatory),
        detail=f"{needed} idle h of {lender.group} ({hours} offered); {len(orders)} orders "
        f"re-solved ({'optimal' if res.optimal else 'best found'})" + _serving(p, res),
    )
    return "re-solved, a saving found", [transfer]


def _move_neighbourhood(ctx: _Tries, load: FactoryLoad) -> list[int]:
    """The orders a move re-solves: the factory's hurt orders that would gain most per
    unit there (up to :data:`MOVE_HURT`), then the orders it makes in their periods,
    those cheapest to move elsewhere first (up to :data:`THERE_ORDERS`)."""
    p = ctx.state.problem
    fi = ctx.factory_index[load.factory]
    hurt = [ctx.order_index[o] for o in load.orders]
    gain = {o: ctx.cost_per_unit(o) - p.candidates[p.orders[o].candidates[0]].base for o in hurt}
    hurt.sort(key=lambda o: (-gain[o], o))
    hurt = hurt[:MOVE_HURT]
    periods = {t for o in hurt for t in p.candidates[p.orders[o].candidates[0]].periods}
    there = [
        o
        for o, parts in ctx.state.plan.items()
        if o not in gain
        and any(
            p.candidates[x.candidate].factory == fi and periods & x.quantities.keys() for x in parts
        )
    ]
    there.sort(key=lambda o: (_regret(ctx, o, fi), o))
    return [*hurt, *there[:THERE_ORDERS]]


def _move(ctx: _Tries, load: FactoryLoad) -> tuple[str, list[Transfer]]:
    """Re-solve the orders around an overloaded factory with no change of capacity: how
    the try ended, and a MOVE_WORK transfer per order part a cheaper answer moves."""
    orders = _move_neighbourhood(ctx, load)
    res = ctx.resolve(orders, ctx.residual(orders))
    if not _worth_listing(res):
        return _no_saving(res), []
    found = _move_transfers(ctx, res, orders, "")
    if not found:  # work moved between periods only, or moves listed before
        return "re-solved, a saving found with no new move between factories (no transfer)", []
    return "re-solved, a saving found", found


def _move_transfers(ctx: _Tries, res: Resolved, orders: list[int], why: str) -> list[Transfer]:
    """One MOVE_WORK transfer per order part the answer moves, each stating the joint
    saving; a move an earlier try listed is not listed again."""
    p = ctx.state.problem
    moves = _diff(p, ctx.state.plan, res.parts, orders)
    out: list[Transfer] = []
    for order, src, dst, units in moves:
        if (order, src, dst, units) in ctx.moves_seen:
            continue
        ctx.moves_seen.add((order, src, dst, units))
        out.append(
            Transfer(
                kind=TransferKind.MOVE_WORK,
                from_factory=src,
                to_factory=dst,
                order=order,
                quantity=units,
                saving_cents=res.saving,
                serves_mandatory=_ids(p, res.serves_mandatory),
                detail=f"one of {len(moves)} move(s) of a joint re-solve of "
                f"{len(orders)} orders saving {res.saving} in total" + why + _serving(p, res),
            )
        )
    return out


def _no_saving(res: Resolved) -> str:
    return "re-solved, proved no cheaper" if res.optimal else "re-solved, nothing cheaper found"


def _tally(ended: Counter[str]) -> str:
    return ", ".join(f"{n} {why}" for why, n in ended.most_common())


def _worth_listing(res: Resolved) -> bool:
    """Better for the solver, and either cheaper in the plan's terms or serving a
    mandatory order the plan leaves out (which may cost more than it saves)."""
    return res.improves and (res.saving > 0 or bool(res.serves_mandatory))


def _ids(p: AssignmentProblem, orders: list[int]) -> list[str]:
    return [p.orders[o].order.id for o in orders]


def _serving(p: AssignmentProblem, res: Resolved) -> str:
    if not res.serves_mandatory:
        return ""
    return f"; serves mandatory order(s) {', '.join(_ids(p, res.serves_mandatory))}"


def _diff(
    p: AssignmentProblem, plan: dict[int, list[Part]], new: list[Part], orders: list[int]
) -> list[tuple[str, str, str, int]]:
    after = by_order(p, new)
    moves: list[tuple[str, str, str, int]] = []
    for o in orders:
        was: dict[str, int] = defaultdict(int)
        now: dict[str, int] = defaultdict(int)
        for part in plan.get(o, []):
            was[p.instance.factories[p.candidates[part.candidate].factory].id] += part.quantity
        for part in after.get(o, []):
            now[p.instance.factories[p.candidates[part.candidate].factory].id] += part.quantity
        out = {f: was[f] - now[f] for f in was if was[f] > now[f]}
        into = {f: now[f] - was[f] for f in now if now[f] > was[f]}
        for src in sorted(out):
            for dst in sorted(into):
                units = min(out[src], into[dst])
                if units > 0:
                    moves.append((p.orders[o].order.id, src, dst, units))
                    out[src] -= units
                    into[dst] -= units
    return moves


def _backups(state: _State) -> list[Backup]:
    """Per part: the cheapest other eligible factory that can take it in the capacity
    the rest of the plan leaves (greedy placement, on-time periods first)."""

    p = state.problem
    cap = Capacity(p)
    for part in state.parts:
        cap.take(p.candidates[part.candidate], part.quantities)
    out: list[Backup] = []
    for part in sorted(state.parts, key=lambda x: x.candidate):
        cand = p.candidates[part.candidate]
        info = p.orders[cand.order]
        cap.give_back(cand, part.quantities)
        now_cost = cost(p, cand, part.quantities)
        holding = {p.candidates[x.candidate].factory for x in state.plan.get(cand.order, [])}
        among = [k for k in info.candidates if p.candidates[k].factory not in holding]
        best = cheapest_single_part(p, cap, cand.order, among, part.quantity)
        cap.take(cand, part.quantities)
        primary = p.instance.factories[cand.factory].id
        if best is None:
            out.append(
                Backup(
                    order=info.order.id,
                    primary_factory=primary,
                    quantity=part.quantity,
                    backup_factory=None,
                    detail="no other eligible factory has room for this part",
                )
            )
            continue
        c, found = best
        other, quantities = p.candidates[found.candidate], found.quantities
        out.append(
            Backup(
                order=info.order.id,
                primary_factory=primary,
                quantity=part.quantity,
                backup_factory=p.instance.factories[other.factory].id,
                extra_cents=c - now_cost,
                completion_period=max(quantities),
                detail="greedy placement in the capacity the rest of the plan leaves",
            )
        )
    return out


def _stopped(stop: StopSignal | None) -> bool:
    return stop is not None and stop.is_set()
