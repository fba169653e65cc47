"""Solve one material's purchasing model for a coalition, and read the plan back.

The back-ends are those of :mod:`solvers.purchasing.backends`. Every answer is
recomputed from the offers (material cost by the price schedule, transport per unit)
rather than trusted from the solver's objective.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from matcher.domain.plan import ShortageReason, SolveStatus
from solvers.linear import Limits, LinearModel, Outcome
from solvers.purchasing.backends import get_backend
from solvers.purchasing.model import (
    Bucket,
    MaterialModel,
    buckets_of,
    build_material_model,
    shortage_floor,
)
from solvers.purchasing.problem import MaterialProblem, OfferData

Adapter = Callable[[LinearModel, Limits], Outcome]


@dataclass
class Bought:
    """A purchase from one offer: total quantity and its call-offs."""

    offer: OfferData
    quantity: int
    deliveries: list[tuple[str, int, int]]  # (factory, period, units)
    surplus: int = 0

    @classmethod
    def of(cls, offer: OfferData, calls: Iterable[tuple[str, int, int]], surplus: int) -> Bought:
        """Call-offs to the same factory and period merged; the quantity is their sum."""
        merged: dict[tuple[str, int], int] = {}
        for f, t, q in calls:
            merged[(f, t)] = merged.get((f, t), 0) + q
        deliveries = [(f, t, q) for (f, t), q in sorted(merged.items())]
        return cls(offer, sum(merged.values()), deliveries, surplus)

    @property
    def material_cents(self) -> int:
        return self.offer.cost(self.quantity)

    @property
    def transport_cents(self) -> int:
        return sum(self.offer.transport[f] * q for f, _, q in self.deliveries)


def purchases_cents(bought: Iterable[Bought]) -> int:
    """What purchases cost: materials and inbound transport."""
    return sum(b.material_cents + b.transport_cents for b in bought)


@dataclass
class Uncovered:
    factory: str
    period: int
    units: int
    reason: ShortageReason
    detail: str


@dataclass
class MaterialSolution:
    """The purchase plan of one material for one coalition."""

    material: str
    factories: tuple[str, ...]
    status: SolveStatus
    bought: list[Bought] = field(default_factory=list)
    uncovered: list[Uncovered] = field(default_factory=list)
    cost: int = 0  # material + transport of ``bought``, recomputed
    bound: float | None = None
    wall_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class ProvenAnswers:
    """Purchase plans proved optimal, by what they were solved from.

    Within one plan the same material is often solved again for the same factories and
    the same needs: in a later feedback round that moved no order needing it, or as a
    one-factory coalition of the split. A later solve then takes the proven answer.
    Only proven answers are kept, so that a reuse never depends on the time the first
    solve had. One instance per plan: the key does not describe the offers.
    """

    def __init__(self) -> None:
        self._answers: dict[tuple[object, ...], MaterialSolution] = {}
        self.reused = 0

    @staticmethod
    def key(
        mp: MaterialProblem,
        members: tuple[str, ...],
        solver: str,
        limits: Limits,
        max_suppliers: int | None,
    ) -> tuple[object, ...]:
        needs = tuple((f, tuple(sorted(mp.needs[f].items()))) for f in members)
        return (mp.material.id, needs, solver, limits.relative_gap, max_suppliers)

    def get(self, key: tuple[object, ...]) -> MaterialSolution | None:
        found = self._answers.get(key)
        if found is None:
            return None
        self.reused += 1
        return replace(
            found,
            bought=list(found.bought),
            uncovered=list(found.uncovered),
            notes=list(found.notes),
            wall_time_s=0.0,
        )

    def put(self, key: tuple[object, ...], solution: MaterialSolution) -> None:
        if solution.status == SolveStatus.OPTIMAL:
            self._answers[key] = replace(
                solution,
                bought=list(solution.bought),
                uncovered=list(solution.uncovered),
                notes=list(solution.notes),
            )


def solve_material(
    mp: MaterialProblem,
    factories: Iterable[str],
    solver: str,
    limits: Limits,
    max_suppliers: int | None = None,
    proven: ProvenAnswers | None = None,
) -> MaterialSolution:
    """Optimal purchases of ``mp`` for ``factories`` buying together: fewest uncovered
    units first, then least cost. Failures come back as statuses. With ``proven``, an
    answer already proved for the same question is reused (and a new proof kept)."""
    members = tuple(sorted(set(factories) & set(mp.needs)))
    if proven is None:
        return _solve_material(mp, members, solver, limits, max_suppliers)
    key = ProvenAnswers.key(mp, members, solver, limits, max_suppliers)
    found = proven.get(key)
    if found is not None:
        return found
    solution = _solve_material(mp, members, solver, limits, max_suppliers)
    proven.put(key, solution)
    return solution


def _solve_material(
    mp: MaterialProblem,
    members: tuple[str, ...],
    solver: str,
    limits: Limits,
    max_suppliers: int | None,
) -> MaterialSolution:
    start = time.perf_counter()
    run = get_backend(solver).solve
    out = MaterialSolution(mp.material.id, members, SolveStatus.OPTIMAL)
    buckets, late = buckets_of(mp, members)
    out.uncovered += [_late(mp, f, t, q) for f, t, q in late]
    if not buckets:
        out.bound = 0.0
        out.wall_time_s = time.perf_counter() - start
        return out
    floor, why = _floor(mp, buckets, max_suppliers, run, limits)
    if floor is None:
        return _fallback(out, mp, buckets, max_suppliers, why, start)
    mm = build_material_model(mp, members, max_suppliers, max_short=floor)
    outcome = run(mm.model, limits)
    if outcome.values is None:
        out.notes += outcome.notes
        why = f"the solve ended {outcome.status.value}"
        return _fallback(out, mp, buckets, max_suppliers, why, start)
    out.status = outcome.status
    _read(out, mp, mm, [math.floor(v + 0.5) for v in outcome.values], floor)
    out.cost = purchases_cents(out.bought)
    if outcome.objective is not None and abs(outcome.objective - out.cost) > 0.5:
        out.notes.append(f"{solver} reported {outcome.objective:.0f}; the plan costs {out.cost}")
    if out.status == SolveStatus.OPTIMAL:
        out.bound = float(out.cost)
    else:
        _greedy_if_better(out, mp, buckets, max_suppliers, len(late))
        if outcome.bound is not None:
            out.bound = min(float(out.cost), outcome.bound)
    out.wall_time_s = time.perf_counter() - start
    return out


def _greedy_if_better(
    out: MaterialSolution,
    mp: MaterialProblem,
    buckets: Sequence[Bucket],
    max_suppliers: int | None,
    n_late: int,
) -> None:
    """The greedy purchases in place of an unproved incumbent when they cover more or
    cost less. HiGHS is given no MIP start (:func:`solvers.linear.solve_mathopt`), so
    on a large material stopped by its limit the incumbent can be dearer than the
    greedy plan (50 000 orders: three of 23 materials after 30 s)."""
    bought, uncovered = greedy_purchases(mp, buckets, max_suppliers)
    cost = purchases_cents(bought)
    short = sum(u.units for u in out.uncovered[n_late:])
    if (sum(u.units for u in uncovered), cost) < (short, out.cost):
        out.notes.append(
            f"{out.material}: the greedy purchases cost {cost} against the solver's "
            f"{out.cost}: kept instead"
        )
        out.bought = bought
        out.uncovered = out.uncovered[:n_late] + uncovered
        out.cost = cost


def _late(mp: MaterialProblem, factory: str, period: int, units: int) -> Uncovered:
    if not mp.offers:
        detail = f"no supplier offers {mp.material.id}" + (
            f" ({'; '.join(mp.dropped)})" if mp.dropped else ""
        )
        return Uncovered(factory, period, units, ShortageReason.NO_SUPPLIER, detail)
    shortest = min(o.lead for o in mp.offers)
    return Uncovered(
        factory,
        period,
        units,
        ShortageReason.LEAD_TIME,
        f"needed in period {period}; the shortest lead time of {mp.material.id} is {shortest}",
    )


def _floor(
    mp: MaterialProblem,
    buckets: Sequence[Bucket],
    max_suppliers: int | None,
    run: Adapter,
    limits: Limits,
) -> tuple[int | None, str]:
    """Fewest units that must stay uncovered; with a supplier cap that binds, found by
    a first solve minimising the uncovered units."""
    floor = shortage_floor(mp, buckets)
    reaching = {o for b in buckets for o in b.offers}
    if max_suppliers is None or len(reaching) <= max_suppliers:
        return floor, ""
    members = sorted({b.factory for b in buckets})
    first = build_material_model(mp, members, max_suppliers, None, shortage_objective=True)
    outcome = run(first.model, limits)
    if outcome.objective is None:
        return None, f"the coverage solve ended {outcome.status.value}"
    return max(floor, math.floor(outcome.objective + 0.5)), ""


def _fallback(
    out: MaterialSolution,
    mp: MaterialProblem,
    buckets: Sequence[Bucket],
    max_suppliers: int | None,
    why: str,
    start: float,
) -> MaterialSolution:
    """The greedy purchases when the solver brought none: feasible, not optimal."""
    bought, uncovered = greedy_purchases(mp, buckets, max_suppliers)
    out.status = SolveStatus.FEASIBLE
    out.bought = bought
    out.uncovered += uncovered
    out.cost = purchases_cents(bought)
    out.bound = None
    out.notes.append(f"{out.material}: {why}; greedy purchases instead")
    out.wall_time_s = time.perf_counter() - start
    return out


GREEDY_PASSES = 4
"""Most passes of :func:`greedy_purchases` (first-tier prices, then the tiers the
volumes reach)."""


def greedy_purchases(
    mp: MaterialProblem, buckets: Sequence[Bucket], max_suppliers: int | None = None
) -> tuple[list[Bought], list[Uncovered]]:
    """Purchases by a few greedy passes, the best kept (fewest uncovered units, then
    cheapest). Fast and always feasible.

    The first pass ranks offers by their first tier's price plus transport. Volume
    discounts make that a poor guide when buying together, so the next ranks each
    offer by the average unit price at the volume it could reach (every need in time
    for it), and the later ones by the price at the volume the previous pass gave it,
    until the volumes repeat: the discount that buying together earns is what the
    ranking then sees."""
    reach: dict[int, int] = defaultdict(int)
    for bucket in buckets:
        for k in bucket.offers:
            reach[k] += bucket.demand
    best: tuple[tuple[int, int], list[Bought], list[Uncovered]] | None = None
    volume: dict[int, int] | None = None
    for step in range(GREEDY_PASSES):
        if step == 1:
            volume = dict(reach)
        bought, uncovered = _greedy_pass(mp, buckets, max_suppliers, volume)
        key = (
            sum(u.units for u in uncovered),
            purchases_cents(bought),
        )
        if best is None or key < best[0]:
            best = (key, bought, uncovered)
        if step == 0:
            continue
        given = {b.offer.index: b.quantity for b in bought}
        if given == volume:
            break
        volume = given
    assert best is not None
    return best[1], best[2]


def _unit_price(o: OfferData, volume: int) -> float:
    """Average cents a unit when ``volume`` units are bought from ``o`` (its minimum
    purchase included); its first tier's price when it gets none."""
    if volume <= 0:
        return float(o.prices[0])
    bought = max(volume, o.minimum)
    if o.capacity is not None:
        bought = min(bought, max(o.capacity, 1))
    return o.cost(bought) / bought


def _greedy_pass(
    mp: MaterialProblem,
    buckets: Sequence[Bucket],
    max_suppliers: int | None,
    volume: dict[int, int] | None,
) -> tuple[list[Bought], list[Uncovered]]:
    """Largest needs first, each from the offers in time, cheapest first by
    ``volume`` (offer -> units: :func:`_unit_price`; None: the first tier's price)
    plus transport, within capacity and the supplier cap; purchases below their
    minimum are topped up with surplus."""
    price = {
        o.index: float(o.prices[0]) if volume is None else _unit_price(o, volume.get(o.index, 0))
        for o in mp.offers
    }
    room = {o.index: (o.capacity if o.capacity is not None else math.inf) for o in mp.offers}
    used: dict[int, list[tuple[str, int, int]]] = {}
    uncovered: list[Uncovered] = []
    for bucket in sorted(buckets, key=lambda b: (-b.demand, b.factory, b.periods[0][0])):
        slots = [[t, q] for t, q in bucket.periods]
        offers = sorted(
            (mp.offers[i] for i in bucket.offers),
            key=lambda o: (price[o.index] + o.transport[bucket.factory], o.index),
        )
        for o in offers:
            capped = max_suppliers is not None and len(used) >= max_suppliers
            if room[o.index] <= 0 or (capped and o.index not in used):
                continue
            for slot in slots:
                take = int(min(slot[1], room[o.index]))
                if take > 0:
                    used.setdefault(o.index, []).append((bucket.factory, slot[0], take))
                    slot[1] -= take
                    room[o.index] -= take
        for t, q in slots:
            if q > 0:
                uncovered.append(
                    Uncovered(
                        bucket.factory,
                        t,
                        q,
                        ShortageReason.SUPPLIER_CAPACITY,
                        f"the offers of {mp.material.id} in time have no capacity left",
                    )
                )
    bought: list[Bought] = []
    for i, deliveries in sorted(used.items()):
        o = mp.offers[i]
        quantity = sum(q for _, _, q in deliveries)
        surplus = max(0, o.minimum - quantity)
        if surplus:  # topped up with the latest call-off
            f, t, _ = max(deliveries, key=lambda d: d[1])
            deliveries = [*deliveries, (f, t, surplus)]
        bought.append(Bought.of(o, deliveries, surplus))
    return bought, uncovered


def _read(
    out: MaterialSolution, mp: MaterialProblem, mm: MaterialModel, values: list[int], floor: int
) -> None:
    """Purchases and call-offs from the solver's values."""
    per_offer: dict[int, list[tuple[str, int, int]]] = {}
    into: dict[int, list[tuple[int, int]]] = {}  # bucket -> (offer, units), offers ascending
    for (o, b), x in sorted(mm.deliver.items()):
        if values[x] > 0:
            into.setdefault(b, []).append((o, values[x]))
    for b, bucket in enumerate(mm.buckets):
        sources = into.get(b, [])
        remaining = [[t, q] for t, q in bucket.periods]
        for o, amount in sources:
            for slot in remaining:
                if amount == 0:
                    break
                take = min(amount, slot[1])
                if take:
                    per_offer.setdefault(o, []).append((bucket.factory, slot[0], take))
                    slot[1] -= take
                    amount -= take
        for t, q in remaining:
            if q > 0:
                out.uncovered.append(
                    Uncovered(
                        bucket.factory,
                        t,
                        q,
                        ShortageReason.SUPPLIER_CAPACITY,
                        f"the offers of {mp.material.id} in time cannot supply "
                        f"{floor} of the units needed",
                    )
                )
    surplus: dict[int, int] = {}
    for o, (e, dest, period) in mm.surplus.items():
        if values[e] > 0:
            surplus[o] = values[e]
            per_offer.setdefault(o, []).append((dest, period, values[e]))
    for o in sorted(per_offer):
        out.bought.append(Bought.of(mp.offers[o], per_offer[o], surplus.get(o, 0)))
