"""The capacity-sharing analysis of an assignment (docs/sharing.md).

Per factory, resource group and period: free, used and idle time, and the marginal
value of one more hour, read from the dual prices of the capacity rows of the
assignment's LP relaxation (GLOP). Factories are overloaded when orders they are
the cheapest for end late, unserved or elsewhere while they have no room, and
under-used below a utilisation threshold. Transfers are found and valued by
re-solving the orders they touch with CP-SAT (:mod:`solvers.sharing.resolve`):
lending a lender's idle hours to a binding group, and moving work where a re-solve
of an overloaded factory's orders finds a cheaper plan.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

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
from solvers.assignment.base import Part, mandatory_left_out, objective_of
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.greedy import Capacity, cheapest_single_part, cost
from solvers.assignment.problem import AssignmentProblem, Candidate, units_fitting
from solvers.assignment.relaxation import solve_relaxation
from solvers.sharing.resolve import Resolved, by_order, residual, resolve

UNDER_USED_BELOW = 0.5
"""A factory using less than this share of its free time is under-used."""
TOP = 20
"""Entries kept in each ranked list."""
MIN_IDLE_MINUTES = 60
"""Idle time below an hour in a period is not worth offering."""
LEND_TRIES = 5
"""Binding groups (highest marginal value first) for which a lender is sought."""
MOVE_TRIES = 3
"""Overloaded factories whose orders are re-solved for better moves."""
NEIGHBOURHOOD = 120
"""Most orders in one re-solve."""
RESOLVE_S_PER_ORDER = 0.02
RESOLVE_MIN_S = 0.1
RESOLVE_MAX_S = 2.0
"""CP-SAT time of one re-solve: 20 ms per order re-solved, between 0.1 s and 2 s
(deterministic time with one worker, so that the same seed gives the same transfers;
the loops are then bounded by their counts only). A 6-order neighbourhood finds its
best answer in under 0.1 s and may take seconds to prove it; one of 120 orders needs
seconds to find one (0.5 s found none on medium or at 10 000 orders)."""

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
    values, method = _values(state, params, 0.4 * seconds, stop, notes)
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
        for r in sorted(rows, key=lambda r: (-r.marginal_cents_per_hour, r.factory, r.period))
        if r.marginal_cents_per_hour > 0
    ][:TOP]
    offers = _offers(state, processes)
    deadline = start + seconds
    transfers = _lend(state, needs, processes, params, seconds, deadline, stop, notes)
    if proved_gap is None:
        transfers += _moves(state, overloaded, params, seconds, deadline, stop, notes)
    elif overloaded:
        notes.append(
            f"moves of work not searched: the assignment is proved within the requested "
            f"gap, so no move can save more than {proved_gap / 100:,.2f}"
        )
    transfers.sort(
        key=lambda tr: (-len(tr.serves_mandatory), -tr.saving_cents, tr.kind.value, tr.from_factory)
    )
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


def _values(
    state: _State,
    params: SolveParams,
    seconds: float,
    stop: StopSignal | None,
    notes: list[str],
) -> tuple[dict[tuple[int, int], float], str]:
    """Per (resource, period), the objective saved by one more second, and the method."""

    problem = state.problem
    if _stopped(stop):  # a deadline or a cancel: the plan matters, not its prices
        notes.append(f"{stop.reason if stop else ''}: no marginal values, no transfers")
        return {}, METHOD
    # Mandatory orders the plan cannot serve stay out of the pricing: their internal
    # penalty is no money (it would make the LP price capacity at it, or infeasible, and
    # every Lagrangian step overshoot).
    stuck = [o for o in mandatory_left_out(problem, state.parts) if problem.orders[o].candidates]
    if stuck:
        notes.append(
            f"{len(stuck)} mandatory order(s) the plan cannot serve are left out of the "
            "pricing (capacity that would let one be served is worth more than any price)"
        )
    if problem.size > LP_MAX_VARIABLES:
        offered = {
            info.index: sorted(
                set(info.candidates[:LAGRANGE_CANDIDATES])
                | {part.candidate for part in state.plan.get(info.index, [])}
            )
            for info in problem.orders
            if info.candidates
        }
        relaxation = LagrangianBound(problem, offered)
        incumbent = float(objective_of(problem, state.parts))
        if params.workers == 1:  # a fixed number of steps: the same values every time
            relaxation.compute(incumbent, stuck, iterations=500, time_limit_s=1e9)
        else:
            relaxation.compute(incumbent, stuck, iterations=5000, time_limit_s=seconds)
        lam = relaxation.multipliers
        notes.append(
            f"{problem.size} production variables: Lagrangian multipliers instead of the "
            f"LP's duals (above {LP_MAX_VARIABLES}), over each order's "
            f"{LAGRANGE_CANDIDATES} cheapest candidates and those the plan uses"
        )
        values = {
            (int(r), int(t)): float(lam[r, t]) for r, t in zip(*np.nonzero(lam > 1e-9), strict=True)
        }
        return values, LAGRANGE_METHOD
    relax = solve_relaxation(problem, True, seconds, stop, priced=True, leave_out=stuck)
    if relax.bound is None and not params.hard_mandatory and not _stopped(stop):
        notes.append(
            relax.note + "; the soft LP is used: values include the penalty of an unserved "
            "mandatory order"
        )
        relax = solve_relaxation(problem, False, seconds, stop, priced=True, leave_out=stuck)
    if relax.bound is None:
        notes.append(f"no marginal values: {relax.note}")
        return {}, METHOD
    return relax.capacity_values, METHOD


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
    overloaded.sort(key=lambda x: (-len(x.orders), x.factory))
    under.sort(key=lambda x: (x.utilisation, x.factory))
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
    offers.sort(key=lambda o: (-o.idle_hours, o.factory, o.resource_group))
    return offers[:TOP]


def _users(state: _State, resource: int, period: int | None) -> list[int]:
    """Orders with a candidate on ``resource`` (in ``period``), the hurt ones that could
    use it leading those placed there (:func:`_neighbourhood`): placed orders first
    would crowd out, at platform size, the very orders lent hours serve."""
    p = state.problem
    there: list[int] = []
    could: list[int] = []
    for info in p.orders:
        for k in info.candidates:
            cand = p.candidates[k]
            if any(u.resource == resource for u in cand.usage) and (
                period is None or cand.first <= period <= cand.last
            ):
                at = any(part.candidate == k for part in state.plan.get(info.index, []))
                (there if at else could).append(info.index)
                break
    return _neighbourhood([o for o in could if _hurt(state, o)], there)


def _neighbourhood(hurt: list[int], there: list[int]) -> list[int]:
    """The orders of one re-solve: the ``hurt`` ones first (up to half of it), then
    those ``there``, then the rest of the hurt, each once, at most
    :data:`NEIGHBOURHOOD`."""
    return list(dict.fromkeys([*hurt[: NEIGHBOURHOOD // 2], *there, *hurt]))[:NEIGHBOURHOOD]


def _lend(
    state: _State,
    needs: list[CapacityNeed],
    processes: dict[tuple[str, str], list[str]],
    params: SolveParams,
    seconds: float,
    deadline: float,
    stop: StopSignal | None,
    notes: list[str],
) -> list[Transfer]:
    """For the most valuable binding groups, borrow a compatible lender's idle hours in
    the same period and re-solve the orders that could use them; ``notes`` says how the
    tries ended."""
    p = state.problem
    index = {(p.instance.factories[r.factory].id, r.group): i for i, r in enumerate(p.resources)}
    out: list[Transfer] = []
    tried: set[tuple[str, str, int]] = set()
    ended: Counter[str] = Counter()
    for need in needs:
        if len(tried) >= LEND_TRIES:
            break
        if _late(deadline, params) or _stopped(stop):
            ended["stopped (time or a stop) before the rest"] += 1
            break
        key = (need.factory, need.resource_group, need.period)
        if key in tried:
            continue
        tried.add(key)
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
            ended[
                f"without a lender (another factory's group with {MIN_IDLE_MINUTES} min idle "
                "in that period and one of its processes)"
            ] += 1
            continue
        idle, r_from = max(lenders, key=lambda x: (x[0], -x[1]))
        own = p.resources[r_to].free_seconds[t]
        hours = min(idle // 3600, max(1, own // 3600))
        orders = _users(state, r_to, t)
        if not orders:
            ended["with no order that could use the hours"] += 1
            continue
        cap = residual(p, state.parts, set(orders))
        cap.free[r_to][t] += 3600 * hours
        cap.free[r_from][t] -= 3600 * hours
        res = resolve(
            p, state.plan, orders, cap, params, _step(seconds, deadline, params, len(orders))
        )
        ended["re-solved, a saving found" if _worth_listing(res) else _no_saving(res)] += 1
        if _worth_listing(res):
            lender = p.resources[r_from]
            out.append(
                Transfer(
                    kind=TransferKind.LEND_CAPACITY,
                    from_factory=p.instance.factories[lender.factory].id,
                    to_factory=need.factory,
                    resource_group=need.resource_group,
                    period=t,
                    hours=float(hours),
                    saving_cents=res.saving,
                    serves_mandatory=_ids(p, res.serves_mandatory),
                    detail=f"{hours} idle h of {lender.group}; {len(orders)} orders re-solved "
                    f"({'optimal' if res.optimal else 'best found'})" + _serving(p, res),
                )
            )
    if ended:
        notes.append(f"lending idle hours: {len(tried)} binding group(s) tried: " + _tally(ended))
    return out


def _no_saving(res: Resolved) -> str:
    return "re-solved, proved no cheaper" if res.optimal else "re-solved, nothing cheaper found"


def _tally(ended: Counter[str]) -> str:
    return ", ".join(f"{n} {why}" for why, n in ended.most_common())


def _moves(
    state: _State,
    overloaded: list[FactoryLoad],
    params: SolveParams,
    seconds: float,
    deadline: float,
    stop: StopSignal | None,
    notes: list[str],
) -> list[Transfer]:
    """Re-solve the orders around each overloaded factory; a cheaper answer becomes
    MOVE_WORK transfers (the joint saving stated on each); ``notes`` says how the
    re-solves ended."""
    p = state.problem
    fidx = {f.id: i for i, f in enumerate(p.instance.factories)}
    oidx = {info.order.id: info.index for info in p.orders}
    out: list[Transfer] = []
    ended: Counter[str] = Counter()
    for load in overloaded[:MOVE_TRIES]:
        if _late(deadline, params) or _stopped(stop):
            ended["stopped (time or a stop) before the rest"] += 1
            break
        fi = fidx[load.factory]
        hurt = [oidx[o] for o in load.orders]
        there = [
            o
            for o, ps in state.plan.items()
            if any(p.candidates[x.candidate].factory == fi for x in ps)
        ]
        orders = sorted(_neighbourhood(hurt, sorted(there)))
        cap = residual(p, state.parts, set(orders))
        res = resolve(
            p, state.plan, orders, cap, params, _step(seconds, deadline, params, len(orders))
        )
        if not _worth_listing(res):
            ended[_no_saving(res)] += 1
            continue
        ended["re-solved, a saving found"] += 1
        moves = _diff(p, state.plan, res.parts, orders)
        for order, src, dst, units in moves:
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
                    f"{len(orders)} orders saving {res.saving} in total" + _serving(p, res),
                )
            )
    if ended:
        notes.append(
            f"moving work: the orders around {min(len(overloaded), MOVE_TRIES)} overloaded "
            "factory(ies) re-solved: " + _tally(ended)
        )
    return out


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


def _late(deadline: float, params: SolveParams) -> bool:
    """Past the stage's deadline (ignored with one worker: the counts bound the work)."""
    return params.workers > 1 and time.perf_counter() > deadline


def _step(seconds: float, deadline: float, params: SolveParams, orders: int) -> float:
    """CP-SAT time of one re-solve of ``orders`` orders: by its size (``RESOLVE_*``),
    with one worker at most a fixed share of the stage's ``seconds`` (deterministic
    time, the same every run), else at most half of what the clock leaves (so that a
    second re-solve gets a chance)."""
    size = min(RESOLVE_MAX_S, max(RESOLVE_MIN_S, RESOLVE_S_PER_ORDER * orders))
    if params.workers == 1:
        return max(0.01, min(size, 0.6 * seconds / (LEND_TRIES + MOVE_TRIES)))
    return min(size, max(0.05, (deadline - time.perf_counter()) / 2))


def _stopped(stop: StopSignal | None) -> bool:
    return stop is not None and stop.is_set()
