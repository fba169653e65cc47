"""Greedy assignment: fast, always feasible, and CP-SAT's warm start.

Orders are placed one at a time (mandatory first, by due period; then the optional
ones by what they save per second of capacity, :func:`placement_priority`) on the
candidate that serves them cheapest in the capacity still free; on-time periods
are filled just in time (backwards from the due period), late ones forwards.
An order whose cheapest placement costs more than its unserved penalty is left
out. A splittable order that no single factory can take is spread over the
cheapest candidates, up to its factory limit.
"""

from __future__ import annotations

import time
from itertools import accumulate

from matcher.domain.entities import SHARE_RESOLUTION
from matcher.domain.params import ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    anchor_unsupported,
    fairness_unsupported,
    objective_of,
    stage_flows,
)
from solvers.assignment.fairness import leaving_cost, tally, within_caps
from solvers.assignment.materials import SCALE, MaterialPrices, MaterialState
from solvers.assignment.problem import AssignmentProblem, Candidate, OrderInfo, units_fitting

_BIG = 1 << 62


class Capacity:
    """What is left: free seconds per resource and period, per (factory, buyer) cap,
    and the materials that can still arrive (docs/model.md, "Materials")."""

    def __init__(self, problem: AssignmentProblem, window_sums: bool = False) -> None:
        """``window_sums``: keep running sums of each resource's free seconds, for the
        quick test :meth:`may_fit`; ``free`` must then change through :meth:`take` only
        (which drops a resource's sums when its time changes)."""
        self.problem = problem
        self.free = [list(r.free_seconds) for r in problem.resources]
        self.buyer = dict(problem.buyer_caps)
        # None: materials ignored (a diagnosis asking what capacity alone allows)
        self.materials: MaterialState | None = MaterialState(problem.materials)
        # per resource: running sums of max(0, free), made when first asked for
        self.sums: list[list[int] | None] | None = [None] * len(self.free) if window_sums else None

    def copy(self) -> Capacity:
        other = Capacity.__new__(Capacity)
        other.problem = self.problem
        other.free = [row[:] for row in self.free]
        other.buyer = dict(self.buyer)
        other.materials = self.materials.copy() if self.materials is not None else None
        other.sums = None if self.sums is None else self.sums[:]  # rows are never changed
        return other

    def without_materials(self) -> Capacity:
        """A copy that ignores materials."""
        other = self.copy()
        other.materials = None
        return other

    def units_fitting(self, cand: Candidate, t: int) -> int:
        """Most units of ``cand`` that fit in period ``t`` (setup included) with the
        materials that can still arrive by then."""
        units = units_fitting(self.free, cand, t, _BIG)
        if units and cand.materials and self.materials is not None:
            units = self.materials.room(cand.factory, cand.materials, t, units)
        return units

    def fits(self, cand: Candidate, quantities: dict[int, int]) -> bool:
        """Whether ``quantities`` of ``cand`` fit as they are (nothing is taken)."""
        if not self.fits_buyer(cand, quantities):
            return False
        placed: dict[int, int] = {}
        ok = True
        for t, q in sorted(quantities.items()):
            if self.units_fitting(cand, t) < q:
                ok = False
                break
            self.take(cand, {t: q})
            placed[t] = q
        self.give_back(cand, placed)
        return ok

    def seconds(self, cand: Candidate, quantities: dict[int, int]) -> int:
        return sum(
            u.seconds_per_unit * q + u.setup_seconds
            for q in quantities.values()
            for u in cand.usage
        )

    def fits_buyer(self, cand: Candidate, quantities: dict[int, int]) -> bool:
        key = (cand.factory, self.problem.orders[cand.order].order.buyer)
        cap = self.buyer.get(key)
        return cap is None or self.seconds(cand, quantities) <= cap

    def may_fit(self, cand: Candidate, need: int) -> bool:
        """False when ``need`` units of ``cand`` cannot fit in its periods: some resource
        has fewer free seconds in the whole window than the units and one setup take
        (tested when the sums are kept), or a material cannot cover them by the last
        period (every unit made by then counts at the checkpoints from there on). A
        necessary test, at the cost of a lookup per resource and one material check
        instead of one per period tried."""
        sums = self.sums
        if sums is not None:
            for u in cand.usage:
                row = sums[u.resource]
                if row is None:
                    free = self.free[u.resource]
                    row = sums[u.resource] = [0, *accumulate([x if x > 0 else 0 for x in free])]
                need_s = u.seconds_per_unit * need + u.setup_seconds
                if row[cand.last + 1] - row[cand.first] < need_s:
                    return False
        if cand.materials and self.materials is not None:
            room = self.materials.room(cand.factory, cand.materials, cand.last, need)
            return room >= need
        return True

    def take(self, cand: Candidate, quantities: dict[int, int], sign: int = 1) -> None:
        for u in cand.usage:
            row = self.free[u.resource]
            for t, q in quantities.items():
                row[t] -= sign * (u.seconds_per_unit * q + u.setup_seconds)
            if self.sums is not None:
                self.sums[u.resource] = None
        key = (cand.factory, self.problem.orders[cand.order].order.buyer)
        if key in self.buyer:
            self.buyer[key] -= sign * self.seconds(cand, quantities)
        if cand.materials and self.materials is not None:
            self.materials.take(cand.factory, cand.materials, quantities, sign)

    def give_back(self, cand: Candidate, quantities: dict[int, int]) -> None:
        self.take(cand, quantities, sign=-1)


def period_preference(problem: AssignmentProblem, cand: Candidate) -> list[int]:
    """On-time periods latest first (just in time), then late periods earliest first."""
    due = problem.orders[cand.order].order.due_period
    on_time = list(range(min(due, cand.last), cand.first - 1, -1))
    late = list(range(max(due + 1, cand.first), cand.last + 1))
    return on_time + late


def fill(
    problem: AssignmentProblem, cap: Capacity, cand: Candidate, need: int
) -> dict[int, int] | None:
    """Spread ``need`` units of ``cand`` over its periods, or None if it does not fit."""
    return _fill_in(cap, cand, need, period_preference(problem, cand))


def most_that_fits(problem: AssignmentProblem, cap: Capacity, cand: Candidate, limit: int) -> int:
    total = 0
    for t in range(cand.first, cand.last + 1):
        total += cap.units_fitting(cand, t)
        if total >= limit:
            return limit
    return total


def cost(problem: AssignmentProblem, cand: Candidate, quantities: dict[int, int]) -> int:
    return sum(problem.unit_cost(cand, t) * q for t, q in quantities.items())


def cheapest_single_part(
    problem: AssignmentProblem,
    cap: Capacity,
    order: int,
    among: list[int] | None = None,
    quantity: int | None = None,
) -> tuple[int, Part] | None:
    """Cost and part of the cheapest way to make all of ``order`` (or ``quantity`` of
    it: one part) at one factory in ``cap`` (nothing is taken), or None if no single
    factory can. ``among``: a subset of the order's candidates, cheapest first
    (default: all)."""
    info = problem.orders[order]
    qty = info.order.quantity if quantity is None else quantity
    best: tuple[int, Part] | None = None
    for k in info.candidates if among is None else among:
        cand = problem.candidates[k]
        if best is not None and qty * cand.base >= best[0]:
            break  # candidates are sorted by base cost; none further can win
        if cand.lo > qty or cand.hi < qty or not cap.may_fit(cand, qty):
            continue  # one part must make it all
        quantities = fill(problem, cap, cand, qty)
        if quantities is not None:
            c = cost(problem, cand, quantities)
            if best is None or c < best[0]:
                best = (c, Part(k, quantities))
    return best


def place_order(
    problem: AssignmentProblem, cap: Capacity, order: int, among: list[int] | None = None
) -> list[Part] | None:
    """The cheapest placement of ``order`` in ``cap``, taken from it; or None (nothing
    taken). ``among`` as in :func:`cheapest_single_part`."""
    info = problem.orders[order]
    best = cheapest_single_part(problem, cap, order, among)
    if best is not None:
        if best[0] > problem.unserved_cost(order):
            return None
        cap.take(problem.candidates[best[1].candidate], best[1].quantities)
        return [best[1]]
    if info.max_parts > 1:
        return _place_split(problem, cap, order, among)
    return None


def split_placement(problem: AssignmentProblem, cap: Capacity, order: int) -> list[Part] | None:
    """The split placement :func:`place_order` falls back on when no single factory can
    make ``order`` (None: none, or the order may not be split); nothing is taken."""
    if problem.orders[order].max_parts <= 1:
        return None
    parts = _place_split(problem, cap, order, None)
    for p in parts or ():
        cap.give_back(problem.candidates[p.candidate], p.quantities)
    return parts


def place_by_operation(problem: AssignmentProblem, cap: Capacity, order: int) -> list[Part] | None:
    """A placement of an order split by operation in ``cap``, taken from it; or None.

    Operation by operation, the cheapest stage part that makes the whole quantity
    from the earliest period the previous one's transfer allows (early operations
    as soon as possible, the last one just in time). One stage part per operation:
    a feasible start, not a search."""
    info = problem.orders[order]
    assert info.stages is not None
    qty = info.order.quantity
    last = len(info.stages) - 1
    placed: list[Part] = []
    total = 0
    for j, stage in enumerate(info.stages):
        best: tuple[int, int, Part] | None = None  # cost, finish, part
        for k in stage:
            cand = problem.candidates[k]
            if not cand.lo <= qty <= cand.hi:
                continue
            start, moving = cand.first, 0
            if placed:
                sender = placed[-1]
                lag, rate = problem.transfer(sender.candidate, k)
                start = max(start, max(sender.quantities) + lag)
                moving = problem.weights.transport * rate * qty
            order_of = [t for t in period_preference(problem, cand) if t >= start]
            if j < last:
                order_of.sort()
            quantities = _fill_in(cap, cand, qty, order_of)
            if quantities is None:
                continue
            c = cost(problem, cand, quantities) + moving
            finish = max(quantities)
            if best is None or (c, finish) < (best[0], best[1]):
                best = (c, finish, Part(k, quantities))
        if best is None:
            break
        cap.take(problem.candidates[best[2].candidate], best[2].quantities)
        placed.append(best[2])
        total += best[0]
    if len(placed) == len(info.stages) and total <= problem.unserved_cost(order):
        return placed
    for p in placed:  # no route, or not worth its penalty: give the capacity back
        cap.give_back(problem.candidates[p.candidate], p.quantities)
    return None


def _fill_in(
    cap: Capacity, cand: Candidate, need: int, periods: list[int]
) -> dict[int, int] | None:
    """``need`` units of ``cand`` in ``periods`` (in that order of preference), or None.
    Materials are cumulative, so each period's units are held while the next are
    sized, then given back: nothing is taken. Only the materials are held: a period's
    seconds bound that period alone, and holding them would void ``cap``'s window
    sums (:meth:`Capacity.may_fit`) at every try."""
    out: dict[int, int] = {}
    left = need
    materials = cap.materials if cand.materials else None
    for t in periods:  # cap.units_fitting, capped at ``left`` (the hottest loop)
        q = units_fitting(cap.free, cand, t, left)
        if q and materials is not None:
            q = materials.room(cand.factory, cand.materials, t, q)
        if q > 0:
            out[t] = q
            left -= q
            if materials is not None:
                materials.take(cand.factory, cand.materials, {t: q}, 1)
            if left == 0:
                break
    if materials is not None:
        materials.take(cand.factory, cand.materials, out, -1)
    if left or not cap.fits_buyer(cand, out):
        return None
    return out


def _place_split(
    problem: AssignmentProblem, cap: Capacity, order: int, among: list[int] | None
) -> list[Part] | None:
    info = problem.orders[order]
    left = info.order.quantity
    chosen: list[tuple[int, int]] = []  # (candidate index, units)
    for k in info.candidates if among is None else among:
        if len(chosen) == info.max_parts or left == 0:
            break
        cand = problem.candidates[k]
        q = min(cand.hi, most_that_fits(problem, cap, cand, left))
        if 0 < left - q < cand.lo:  # keep room for a valid last part
            q = left - cand.lo
        if q >= cand.lo:
            chosen.append((k, q))
            left -= q
    if left:
        return None
    # Taken from ``cap`` part by part and given back if the placement fails: take and
    # give_back are exact inverses, and copying every table per trial costs far more
    # at platform size (thousands of resources and material rows).
    parts: list[Part] = []
    for k, q in chosen:
        cand = problem.candidates[k]
        quantities = fill(problem, cap, cand, q)
        if quantities is None:
            break
        cap.take(cand, quantities)
        parts.append(Part(k, quantities))
    else:
        total = sum(cost(problem, problem.candidates[p.candidate], p.quantities) for p in parts)
        if total <= problem.unserved_cost(order):
            return parts
    for p in parts:
        cap.give_back(problem.candidates[p.candidate], p.quantities)
    return None


def greedy_parts(
    problem: AssignmentProblem,
    offered: dict[int, list[int]] | None = None,
    initial: dict[int, dict[int, int]] | None = None,
    stop: StopSignal | None = None,
    material_prices: MaterialPrices | None = None,
) -> list[Part]:
    """Greedy placement of every order, in priority order; with ``offered``, each
    order only on those of its candidates (a core: much faster on wide problems).
    ``stop``, checked between orders, ends the placement with the orders placed so far
    (tens of thousands of orders take seconds: a cancel must not wait for them).
    ``material_prices`` charge the optional orders' value for the scarce materials they
    use (:func:`placement_priority`).

    ``initial`` (candidate -> period -> units, whole orders) is placed first as it
    is, where it fits: a re-plan's previous plan. Orders holding fixed work that it
    does not place are left for CP-SAT (greedy knows no fixed units)."""
    cap = Capacity(problem, window_sums=True)
    parts: list[Part] = []
    done: set[int] = set()
    by_order: dict[int, list[Part]] = {}
    for k, quantities in sorted((initial or {}).items()):
        by_order.setdefault(problem.candidates[k].order, []).append(Part(k, dict(quantities)))
    for order, previous in sorted(by_order.items()):
        if sum(p.quantity for p in previous) != problem.orders[order].order.quantity:
            continue
        taken: list[Part] = []
        for part in previous:
            cand = problem.candidates[part.candidate]
            if not cap.fits(cand, part.quantities):
                break
            cap.take(cand, part.quantities)
            taken.append(part)
        if len(taken) == len(previous):
            parts.extend(previous)
            done.add(order)
        else:
            for part in taken:
                cap.give_back(problem.candidates[part.candidate], part.quantities)
    forced = problem.anchor.forced if problem.anchor else set()
    sequence = sorted(
        (
            info
            for info in problem.orders
            if info.candidates and info.index not in done and info.index not in forced
        ),
        key=lambda i: placement_priority(problem, i, material_prices),
    )
    for info in sequence:
        if stop is not None and stop.is_set():
            break
        if info.stages is not None:
            stage_parts = place_by_operation(problem, cap, info.index)
            if stage_parts:
                parts.extend(stage_parts)
            continue
        among = None
        if offered is not None:
            among = sorted(offered.get(info.index, []), key=lambda k: problem.candidates[k].base)
        placed = place_order(problem, cap, info.index, among)
        if placed:
            parts.extend(placed)
    return parts


class GreedyBackend:
    name = "greedy"
    prices_purchasing = False

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        if params.hard_mandatory:
            return "hard mandatory orders need an exact solver"
        return fairness_unsupported(problem, self.name) or anchor_unsupported(problem)

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        start = time.perf_counter()
        parts = greedy_parts(problem, stop=stop)
        wall = time.perf_counter() - start
        notes = ["greedy heuristic: no bound is proved"]
        if stop is not None and stop.is_set():
            placed = len({problem.candidates[p.candidate].order for p in parts})
            notes.append(f"{stop.reason}: placement stopped after {placed} order(s)")
        return AssignmentResult(
            solver=self.name,
            status=SolveStatus.FEASIBLE,
            parts=parts,
            objective=objective_of(problem, parts),
            best_bound=None,
            wall_time_s=wall,
            time_to_first_feasible_s=wall,
            seed=params.seed,
            workers=1,
            notes=notes,
            flows=stage_flows(problem, parts),
        )


def placement_priority(
    problem: AssignmentProblem, info: OrderInfo, material_prices: MaterialPrices | None = None
) -> tuple[bool, int, float, float, int]:
    """The order in which the greedy places orders: mandatory orders first, by due
    period, then the dearest to leave unserved per unit; then the optional ones by
    what serving them saves per second of capacity (:func:`_net_value_per_second`),
    less what their scarce materials cost at ``material_prices``.

    Capacity is what optional orders compete for, so they are a knapsack: placed by
    due period (as mandatory ones still are), early orders of little worth took the
    hours that later, dearer ones needed. Measured on generated instances of 50 to
    10 000 orders, the greedy plan's objective fell 2.5-32 % (docs/scale.md).

    A material whose supply binds is a second knapsack, over the whole platform: by
    value per second alone the greedy hands it to whoever comes first, and orders
    worth more per unit of it go unserved (``MATERIAL_UNAVAILABLE``). Priced at the
    Lagrangian bound's material multipliers (:meth:`LagrangianBound.material_prices`),
    an order's value is what it saves less what its material would be worth to the
    others (docs/scale.md, "Scarce materials")."""
    o = info.order
    if o.mandatory:
        return (
            False,
            o.due_period,
            -problem.unserved_cost(info.index) / o.quantity,
            0.0,
            info.index,
        )
    value = _net_value_per_second(problem, info, material_prices)
    return (True, 0, 0.0, -value, info.index)


def _net_value_per_second(
    problem: AssignmentProblem, info: OrderInfo, material_prices: MaterialPrices | None = None
) -> float:
    """What serving the order at its cheapest candidate saves against leaving it
    unserved (its penalty less that candidate's on-time cost and, with prices, its
    materials at their price in its due period, within the candidate's window), per
    second of work it puts on that candidate's resources (setups left out)."""
    cheapest = problem.candidates[info.candidates[0]]
    quantity = info.order.quantity
    seconds = max(1, sum(u.seconds_per_unit for u in cheapest.usage)) * quantity
    value = float(problem.unserved_cost(info.index) - cheapest.base * quantity)
    if material_prices is not None and cheapest.materials:
        t = min(max(info.order.due_period, cheapest.first), cheapest.last)
        per_unit = sum(float(material_prices[m, t]) * use for m, use in cheapest.materials)
        value -= per_unit / SCALE * quantity
    return value / seconds


def capped_greedy_parts(
    problem: AssignmentProblem,
    offered: dict[int, list[int]] | None = None,
    initial: dict[int, dict[int, int]] | None = None,
) -> list[Part]:
    """The greedy plan made to keep the fairness share cap (docs/fairness.md).

    The greedy knows no cap, and placing orders one by one under it cannot start (the
    first order is all the work). So each factory gets a budget, the cap's share of the
    work the plain greedy serves, and orders are placed in the greedy's order, cheapest
    first where the budget has room. What is then served may be less than the budget
    assumed; the budget follows it down (the cap's share of what was served) until the
    plan keeps the cap, a fixed point every factory's budget respects. The cheapest of
    that plan and the plain greedy's, whole orders taken out until the cap holds
    (:func:`~solvers.assignment.fairness.within_caps`), is returned."""
    fair = problem.fairness
    plain = greedy_parts(problem, offered, initial)
    if fair is None or fair.cap is None:
        return plain
    best = within_caps(fair, problem.candidates, plain, leaving_cost(problem))
    best_cost = objective_of(problem, best)
    budget = fair.cap * sum(tally(fair, problem.candidates, plain).work) // SHARE_RESOLUTION
    for _ in range(BUDGET_ROUNDS):
        parts = _within_budget(problem, offered, budget)
        work = tally(fair, problem.candidates, parts).work
        served = sum(work)
        if served == 0:
            break
        if all(SHARE_RESOLUTION * w <= fair.cap * served for w in work):
            if (cost_now := objective_of(problem, parts)) < best_cost:
                best, best_cost = parts, cost_now
            break
        budget = fair.cap * served // SHARE_RESOLUTION
    return best


BUDGET_ROUNDS = 12
"""Most greedy passes :func:`capped_greedy_parts` makes while its budget falls."""


def _within_budget(
    problem: AssignmentProblem, offered: dict[int, list[int]] | None, budget: int
) -> list[Part]:
    """The greedy's placement with no factory's work above ``budget`` (base units of
    the fairness measure)."""
    fair = problem.fairness
    assert fair is not None
    cap = Capacity(problem, window_sums=True)
    work = [0] * len(fair.free)
    parts: list[Part] = []
    sequence = sorted(
        (i for i in problem.orders if i.candidates and i.stages is None),
        key=lambda i: placement_priority(problem, i),
    )
    for info in sequence:
        qty = info.order.quantity
        pool = offered.get(info.index, info.candidates) if offered else info.candidates
        among = sorted(
            (k for k in pool if work[problem.candidates[k].factory] + fair.coef[k] * qty <= budget),
            key=lambda k: problem.candidates[k].base,
        )
        placed = place_order(problem, cap, info.index, among) if among else None
        for p in placed or ():
            work[problem.candidates[p.candidate].factory] += fair.coef[p.candidate] * p.quantity
            parts.append(p)
    return parts
