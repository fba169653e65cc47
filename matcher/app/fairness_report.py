"""The fairness report of a plan: how work and revenue spread over the factories, the
blocking pairs, and the price of fairness (docs/fairness-report.md).

Computed from the instance and the finished plan's rows alone, so that the pipeline can
attach it to every plan, ``matcher fairness`` can recompute it for a plan on file, and
the checker (:mod:`matcher.check.fairness_report`) can re-derive every figure.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.domain.entities import (
    Capability,
    Factory,
    FairnessOptions,
    MaterialSourcing,
    Offer,
    Order,
)
from matcher.domain.geo import EARTH_RADIUS_KM, transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.plan import (
    BlockingPair,
    FactoryFairness,
    FairnessReport,
    Plan,
    PriceOfFairness,
    WorkDistribution,
)

TOP_SHARE_TENTHS = 1
"""The "top 10 %": ceil(n / 10) factories, in integer arithmetic (no float ceil)."""
LISTED_PAIRS = 50
"""Blocking pairs listed in the report; all are counted."""


def gini(values: Sequence[float]) -> float:
    """Gini coefficient ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; 0 for fewer than
    two values or a zero total. By the sorted form ``2 sum_i i x_(i) / (n sum x) -
    (n + 1) / n`` (``i`` from 1, ascending): n log n instead of n^2."""
    n = len(values)
    total = sum(values)
    if n < 2 or total <= 0:
        return 0.0
    weighted = sum(i * x for i, x in enumerate(sorted(values), start=1))
    return max(0.0, 2 * weighted / (n * total) - (n + 1) / n)


def top_count(n: int) -> int:
    """ceil(10 % of ``n``) factories (at least one when there is any)."""
    return (n * TOP_SHARE_TENTHS + 9) // 10


def small_threshold(capacities: Sequence[int]) -> int:
    """The nearest-rank lower quartile: the ``ceil(n / 4)``-th smallest capacity (0 when
    there is no factory). Small factories are those at most this."""
    if not capacities:
        return 0
    return sorted(capacities)[(len(capacities) + 3) // 4 - 1]


def is_new(factory: Factory, records: int) -> bool:
    """New: a credit computed from fewer than ``records`` trade records (a declared
    credit, ``records`` absent, is not new), as the fairness options count it."""
    return factory.credit.records is not None and factory.credit.records < records


@dataclass
class _Use:
    """What the plan's rows give each factory, and the machine time they take."""

    units: dict[str, int]
    seconds: dict[str, int]  # processing only: the hours measure
    revenue: dict[str, int]
    used: dict[tuple[str, str, int], int]  # processing + setup seconds
    paid: dict[str, int]  # order -> production + transport estimate of its rows
    at: dict[str, set[str]]  # order -> factories making (part of) it
    buyer: dict[tuple[str, str], int]  # (factory, buyer) -> processing + setup seconds


def _use(instance: Instance, plan: Plan) -> _Use:
    orders = {o.id: o for o in instance.orders}
    caps = {f.id: {c.process: c for c in f.capabilities} for f in instance.factories}
    d = defaultdict
    use = _Use(d(int), d(int), d(int), d(int), {}, {}, d(int))
    for a in plan.allocations:
        order = orders.get(a.order)
        cap = caps.get(a.factory, {}).get(a.process)
        if order is None or cap is None:
            continue  # the checker reports the row; it carries no work anyone can price
        use.paid[a.order] = use.paid.get(a.order, 0) + a.production_cents + a.transport_cents
        use.at.setdefault(a.order, set()).add(a.factory)
        if a.operation == len(order.operations) - 1:
            use.units[a.factory] += a.quantity  # one unit counted once: its last operation
        use.seconds[a.factory] += cap.seconds_per_unit * a.quantity
        use.revenue[a.factory] += cap.unit_cost_cents * a.quantity
        for pq in a.periods:
            if pq.quantity > 0:
                seconds = cap.seconds_per_unit * pq.quantity + 60 * cap.setup_minutes
                use.used[(a.factory, cap.resource_group, pq.period)] += seconds
                use.buyer[(a.factory, order.buyer)] += seconds
    return use


def fairness_report(
    instance: Instance,
    plan: Plan,
    options: FairnessOptions | None = None,
    price: PriceOfFairness | None = None,
    notes: Sequence[str] = (),
) -> FairnessReport:
    """The fairness report of ``plan`` (docs/fairness-report.md).

    Parameters
    ----------
    instance
        The instance the plan solves.
    plan
        The plan as written: its rows are the work; its stated production and transport
        cents are what each order pays now.
    options
        The fairness options in force (their ``new_factory_records`` tells new
        factories); default: the plan's echo, else the defaults.
    price
        The price of fairness, when the caller re-solved without the options.
    notes
        What the caller has to say (why no price of fairness, for instance).

    Returns
    -------
    FairnessReport
        Linear in the plan's rows and the factories, plus the (order, capable factory)
        pairs that pass the price test for the blocking pairs.
    """
    started = time.perf_counter()
    options = options or plan.fairness_options or FairnessOptions()
    use = _use(instance, plan)
    factories = sorted(instance.factories, key=lambda f: f.id)
    capacity = {
        f.id: sum(sum(r.available_minutes) for r in f.resources) for f in instance.factories
    }
    free = {f.id: free_minutes(f) for f in instance.factories}
    small_max = small_threshold(list(capacity.values()))
    small = {f.id for f in factories if capacity[f.id] <= small_max}
    new = {f.id for f in factories if is_new(f, options.new_factory_records)}
    top = top_count(len(factories))

    used: dict[str, int] = defaultdict(int)
    for (fid, _, _), seconds in use.used.items():
        used[fid] += seconds
    totals = {
        "units": sum(use.units.values()),
        "hours": sum(use.seconds.values()),
        "revenue": sum(use.revenue.values()),
    }
    rows = [
        FactoryFairness(
            factory=f.id,
            units=use.units[f.id],
            hours=use.seconds[f.id] / 3600,
            revenue_cents=use.revenue[f.id],
            units_share=_share(use.units[f.id], totals["units"]),
            hours_share=_share(use.seconds[f.id], totals["hours"]),
            revenue_share=_share(use.revenue[f.id], totals["revenue"]),
            capacity_minutes=capacity[f.id],
            free_minutes=free[f.id],
            used_minutes=used[f.id] / 60,
            utilisation=used[f.id] / (60 * free[f.id]) if free[f.id] else None,
            small=f.id in small,
            new=f.id in new,
        )
        for f in factories
    ]
    rates = [r.utilisation for r in rows if r.utilisation is not None]
    mean = sum(rates) / len(rates) if rates else 0.0
    pairs = blocking_pairs(instance, plan, use)
    return FairnessReport(
        factories=rows,
        units=_distribution("units", use.units, factories, top, small, new),
        hours=_distribution("hours", use.seconds, factories, top, small, new, 1 / 3600),
        revenue=_distribution("revenue", use.revenue, factories, top, small, new),
        top_count=top,
        small_capacity_minutes=small_max,
        small_factories=len(small),
        new_factory_records=options.new_factory_records,
        new_factories=len(new),
        utilisation_factories=len(rates),
        utilisation_spread=max(rates) - min(rates) if rates else 0.0,
        utilisation_std=math.sqrt(sum((x - mean) ** 2 for x in rates) / len(rates))
        if rates
        else 0.0,
        blocking_pairs=len(pairs),
        blocking_unserved=sum(1 for p in pairs if p.unserved),
        blocking_orders=len({p.order for p in pairs}),
        blocking_listed=pairs[:LISTED_PAIRS],
        price_of_fairness=price,
        notes=list(notes),
        wall_time_s=round(time.perf_counter() - started, 4),
    )


def _share(x: float, total: float) -> float:
    return x / total if total else 0.0


def _distribution(
    measure: str,
    work: dict[str, int],
    factories: list[Factory],
    top: int,
    small: set[str],
    new: set[str],
    scale: float = 1.0,
) -> WorkDistribution:
    values = [work[f.id] for f in factories]
    total = sum(values)
    ranked = sorted(values, reverse=True)
    return WorkDistribution(
        measure=measure,
        total=total * scale,
        gini=gini(values),
        max_share=_share(ranked[0], total) if ranked else 0.0,
        top_share=_share(sum(ranked[:top]), total),
        small_share=_share(sum(work[f] for f in small), total),
        new_share=_share(sum(work[f] for f in new), total),
    )


# ---------------------------------------------------------------- blocking pairs


def eligible_caps(
    order: Order, factory: Factory, caps: dict[str, Capability] | None = None
) -> list[Capability] | None:
    """The factory's capability for each operation when it may make the whole order as
    one part (docs/model.md, "Eligibility", the lot bounds taken for the whole
    quantity); ``None`` when it may not. ``caps``: the factory's by process, if known."""
    caps = caps if caps is not None else {c.process: c for c in factory.capabilities}
    chosen: list[Capability] = []
    for op in order.operations:
        cap = caps.get(op.process)
        if cap is None:
            return None
        if op.material is not None and cap.materials and op.material not in cap.materials:
            return None
        if op.min_quality_grade is not None and cap.quality_grade < op.min_quality_grade:
            return None
        chosen.append(cap)
    if order.min_credit_score is not None and factory.credit.score < order.min_credit_score:
        return None
    unit = sum(c.unit_cost_cents for c in chosen)
    if order.max_unit_price_cents is not None and unit > order.max_unit_price_cents:
        return None
    lo = max(c.min_lot for c in chosen)
    his = [c.max_lot for c in chosen if c.max_lot is not None]
    if not lo <= order.quantity <= min([order.quantity, *his]):
        return None
    return chosen


def fit_per_period(
    order: Order,
    caps: list[Capability],
    left: dict[str, list[int]],
    first: int,
    last: int,
) -> list[int]:
    """Units of ``order`` that fit in each period ``first .. last`` (each at most its
    quantity) at a factory with ``left`` seconds per group and period.

    Periods are independent under the capacity rule (docs/model.md): in period ``t`` at
    most ``m_t = min_r floor((R_r(t) - S_r) / s_r)`` units fit, with ``R_r`` the seconds
    left on group ``r``, ``s_r`` and ``S_r`` the order's processing seconds per unit and
    setup seconds on it; any ``1 .. m_t`` fits, so ``sum_t m_t`` is what fits in time.
    """
    need: dict[str, list[int]] = {}
    for c in caps:
        per = need.setdefault(c.resource_group, [0, 0])
        per[0] += c.seconds_per_unit
        per[1] += 60 * c.setup_minutes
    out = [order.quantity] * max(0, last - first + 1)
    for group, (per_unit, setup) in need.items():
        room = left[group]
        for i in range(len(out)):
            r = room[first + i] - setup
            if r < 0:
                out[i] = 0
            elif per_unit and r // per_unit < out[i]:
                out[i] = r // per_unit
    return out


def seconds_left(instance: Instance, use: _Use) -> dict[str, dict[str, list[int]]]:
    """Per factory and group: the seconds the plan leaves free in each period."""
    periods = range(instance.horizon.periods)
    return {
        f.id: {
            r.id: [60 * r.free_minutes(t) - use.used.get((f.id, r.id, t), 0) for t in periods]
            for r in f.resources
        }
        for f in instance.factories
    }


def running_sums(left: dict[str, list[int]]) -> dict[str, list[int]]:
    """Per group, the running sums of the free seconds ``left`` (negative as 0): a
    window's free seconds in one subtraction."""
    out: dict[str, list[int]] = {}
    for group, seconds in left.items():
        run = [0]
        for x in seconds:
            run.append(run[-1] + max(0, x))
        out[group] = run
    return out


def too_little_room(
    order: Order, offer: dict[str, Capability], sums: dict[str, list[int]], first: int, last: int
) -> bool:
    """A necessary test of the capacity rule: some group the order's processes use at the
    factory (``offer``: its capabilities by process) has, in ``first .. last`` all
    together, fewer free seconds than the order's processing on it, so no choice of
    periods holds it (:func:`fit_per_period` and :func:`fewest_periods` would say so,
    slower)."""
    need: dict[str, int] = defaultdict(int)
    for op in order.operations:
        cap = offer[op.process]
        need[cap.resource_group] += cap.seconds_per_unit * order.quantity
    return first > last or any(
        sums[g][last + 1] - sums[g][first] < seconds for g, seconds in need.items()
    )


def fewest_periods(fits: list[int], quantity: int) -> int | None:
    """The fewest periods whose fits hold ``quantity`` (largest first): the fewest
    setups a placement needs; ``None`` when all of them together do not."""
    held = 0
    for k, m in enumerate(sorted(fits, reverse=True), start=1):
        held += m
        if held >= quantity:
            return k
    return None


NEED_TOL = 1e-9
"""Float noise let pass on a material quantity (docs/model.md, "Materials")."""
SHARE_TOL = 1e-6
"""Slack on a buyer-share limit, a float product (as the checker allows)."""


def usable(offer: Offer) -> bool:
    """An offer that can sell a whole unit within its MOQ, first break and capacity."""
    if offer.capacity is None:
        return True
    least = max(1, math.ceil(max(offer.moq, offer.price.tiers[0].min_quantity) - NEED_TOL))
    return math.floor(offer.capacity + NEED_TOL) >= least


def shortest_leads(instance: Instance) -> dict[str, int | None]:
    """Per purchased material: the shortest lead time of its usable offers (``None``:
    it has none)."""
    leads: dict[str, int | None] = {
        m.id: None for m in instance.materials if m.sourcing is MaterialSourcing.PURCHASED
    }
    for supplier in instance.suppliers:
        for offer in supplier.offers:
            if offer.material in leads and usable(offer):
                known = leads[offer.material]
                lead = offer.lead_time_periods
                leads[offer.material] = lead if known is None else min(lead, known)
    return leads


def material_start(order: Order, factory: Factory, leads: dict[str, int | None]) -> int | None:
    """The first period the order's purchased materials can all be at ``factory``: 0 for
    one its stock covers for the whole order, else the shortest lead time of a usable
    offer; ``None`` when some material can never arrive. Suppliers' capacity shared
    with the plan's other orders is not considered (docs/fairness-report.md)."""
    start = 0
    for mid, per_unit in order.bill_of_materials.items():
        if mid not in leads or factory.stock.get(mid, 0.0) >= per_unit * order.quantity - NEED_TOL:
            continue  # provided, or in stock
        lead = leads[mid]
        if lead is None:
            return None
        start = max(start, lead)
    return start


def blocking_pairs(instance: Instance, plan: Plan, use: _Use | None = None) -> list[BlockingPair]:
    """Every blocking pair of ``plan``, largest saving first, then the unserved orders'
    (docs/fairness-report.md, "Blocking pairs").

    A pair (order ``o``, factory ``f``): ``f`` makes no part of ``o``; may make all of it
    (eligibility and lot bounds); has the free machine time to make it from the time its
    materials can arrive to its due date, within its buyer-share limit; and ``o`` pays
    less there than now (production plus transport estimate), or is unserved. Orders
    split by operation are left out.

    The orders of one process sequence meet all factories offering it at once in
    :class:`_Screen`; only the pairs it lets through get the exact tests.
    """
    use = use or _use(instance, plan)
    pairing = _Pairing(instance, use)
    screen = _Screen(instance, pairing)
    by_processes: dict[tuple[str, ...], list[Order]] = defaultdict(list)
    for order in instance.orders:
        if order.split.by_operation and len(order.operations) >= 2:
            continue
        by_processes[tuple(op.process for op in order.operations)].append(order)
    pairs: list[BlockingPair] = []
    for processes, orders in by_processes.items():
        for order, factory in screen.candidates(processes, orders):
            if (
                factory.id not in use.at.get(order.id, ())
                and (pair := pairing.pair(order, factory)) is not None
            ):
                pairs.append(pair)
    pairs.sort(key=pair_rank)  # a total order: the order pairs are found in is lost
    return pairs


class _Pairing:
    """One (order, factory) test of :func:`blocking_pairs`, with what every test reads:
    the prices paid now, the materials' lead times, the free seconds per factory and
    group (and their running sums, made once per factory when first needed)."""

    def __init__(self, instance: Instance, use: _Use) -> None:
        self.instance = instance
        self.use = use
        self.last_period = instance.horizon.periods - 1
        self.leads = shortest_leads(instance)
        self.caps_of = {f.id: {c.process: c for c in f.capabilities} for f in instance.factories}
        self.left = seconds_left(instance, use)
        self.sums: dict[str, dict[str, list[int]]] = {}
        self.free: dict[str, int] = {}  # factory -> :func:`free_minutes`, once needed

    def _free(self, factory: Factory) -> int:
        if factory.id not in self.free:
            self.free[factory.id] = free_minutes(factory)
        return self.free[factory.id]

    def pair(self, order: Order, factory: Factory) -> BlockingPair | None:
        """The pair, or ``None``; the cheapest tests first."""
        now = self.use.paid.get(order.id)
        offer = self.caps_of[factory.id]
        if any(op.process not in offer for op in order.operations):
            return None
        if now is not None:  # dearer even before transport?
            unit = sum(offer[op.process].unit_cost_cents for op in order.operations)
            if unit * order.quantity >= now:
                return None
        last = min(order.due_period, self.last_period)
        if factory.id not in self.sums:
            self.sums[factory.id] = running_sums(self.left[factory.id])
        # No room in the widest window the order could use: none in any narrower one.
        if too_little_room(order, offer, self.sums[factory.id], order.release_period, last):
            return None
        caps = eligible_caps(order, factory, offer)
        if caps is None:
            return None
        production = sum(c.unit_cost_cents for c in caps) * order.quantity
        rate = transport_cents_per_unit(
            factory.location, order.delivery, self.instance.transport, order.unit_weight_kg
        )
        price = production + rate * order.quantity
        if now is not None and price >= now:
            return None
        arrive = material_start(order, factory, self.leads)
        if arrive is None:
            return None
        window = (max(order.release_period, arrive), last)
        fits = fit_per_period(order, caps, self.left[factory.id], *window)
        setups = fewest_periods(fits, order.quantity)
        if setups is None:
            return None
        if factory.max_buyer_share is not None and not _within_share(
            order, factory, factory.max_buyer_share, caps, setups, self.use, self._free(factory)
        ):
            return None
        return BlockingPair(
            order=order.id,
            factory=factory.id,
            unserved=now is None,
            price_now_cents=now,
            price_cents=price,
            saving_cents=None if now is None else now - price,
            setups=setups,
        )


def free_minutes(factory: Factory) -> int:
    """The factory's free minutes over its groups and periods (``available - committed``)."""
    return sum(
        r.free_minutes(t) for r in factory.resources for t in range(len(r.available_minutes))
    )


_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Flags = npt.NDArray[np.bool_]

SAFE_INT = 2**62
"""Bound on the screen's int64 products: a test whose product could pass it is skipped
(the exact test decides), so no overflow can drop a pair."""
SCREEN_CELLS = 2**20
"""(order, factory) cells screened at once: bounds the arrays' memory."""
RATE_SLACK = 1e-9
"""The screen's transport rate (numpy's trigonometry, not ``math``'s) is shrunk by this
share before rounding and by a cent after, so it never exceeds the exact rate."""


@dataclass
class _Offers:
    """What the factories offering every process of one sequence charge and need, one
    entry per factory (``index``, into the instance's factories)."""

    index: _Ints
    unit: _Ints  # unit cost of all the operations together
    rows: list[_Ints]  # per operation: its group's row in the running sums
    per_unit: list[_Ints]  # per operation: processing seconds per unit on that group, all ops
    grade: list[_Ints]  # per operation: the capability's quality grade
    lot_min: _Ints  # the largest min_lot of the capabilities
    lot_max: _Ints  # the smallest max_lot (SAFE_INT: none)


class _Screen:
    """Necessary tests of :meth:`_Pairing.pair`, over all orders of one process sequence
    and all factories offering it at once (numpy): eligibility (grades, materials,
    credit, price ceiling, lot bounds), the room in the widest window, and the price with
    a transport rate never above the exact one. A pair failing one cannot block; the
    others get the exact tests, so the list is the same as testing every pair exactly."""

    def __init__(self, instance: Instance, pairing: _Pairing) -> None:
        self.instance = instance
        self.pairing = pairing
        self.factories = instance.factories
        self.periods = instance.horizon.periods
        rows: dict[tuple[str, str], int] = {}
        sums: list[list[int]] = []
        for f in self.factories:
            for group, run in running_sums(pairing.left[f.id]).items():
                rows[(f.id, group)] = len(sums)
                sums.append(run)
        self.rows = rows
        self.sums: _Ints = np.array(sums, dtype=np.int64).reshape(len(sums), self.periods + 1)
        self.phi: _Floats = np.radians(np.array([f.location.lat for f in self.factories]))
        self.lon: _Floats = np.array([f.location.lon for f in self.factories], dtype=np.float64)
        self.score: _Ints = np.array([f.credit.score for f in self.factories], dtype=np.int64)
        self.offers: dict[tuple[str, ...], _Offers | None] = {}
        self.material_ok: dict[tuple[str, str], _Flags] = {}

    def _offers(self, processes: tuple[str, ...]) -> _Offers | None:
        """The factories offering every process of the sequence; ``None``: none does."""
        if processes in self.offers:
            return self.offers[processes]
        caps_of = self.pairing.caps_of
        able = [
            i for i, f in enumerate(self.factories) if all(p in caps_of[f.id] for p in processes)
        ]
        if not able:
            self.offers[processes] = None
            return None
        chosen = [[caps_of[self.factories[i].id][p] for p in processes] for i in able]
        rows = [
            [self.rows[(self.factories[i].id, c.resource_group)] for c in caps]
            for i, caps in zip(able, chosen, strict=True)
        ]
        per_unit = [
            [
                sum(c.seconds_per_unit for c, r in zip(caps, rs, strict=True) if r == row)
                for row in rs
            ]
            for caps, rs in zip(chosen, rows, strict=True)
        ]

        def column(values: list[list[int]], k: int) -> _Ints:
            return np.array([v[k] for v in values], dtype=np.int64)

        ops = range(len(processes))
        offers = _Offers(
            index=np.array(able, dtype=np.int64),
            unit=np.array(
                [sum(c.unit_cost_cents for c in caps) for caps in chosen], dtype=np.int64
            ),
            rows=[column(rows, k) for k in ops],
            per_unit=[column(per_unit, k) for k in ops],
            grade=[column([[c.quality_grade for c in caps] for caps in chosen], k) for k in ops],
            lot_min=np.array([max(c.min_lot for c in caps) for caps in chosen], dtype=np.int64),
            lot_max=np.array(
                [
                    min([SAFE_INT] + [c.max_lot for c in caps if c.max_lot is not None])
                    for caps in chosen
                ],
                dtype=np.int64,
            ),
        )
        self.offers[processes] = offers
        return offers

    def _takes(self, process: str, material: str, index: _Ints) -> _Flags:
        """Whether each factory's capability for ``process`` takes ``material`` (an empty
        list takes any)."""
        key = (process, material)
        if key not in self.material_ok:
            caps_of = self.pairing.caps_of
            self.material_ok[key] = np.array(
                [
                    process in caps_of[f.id]
                    and (
                        not caps_of[f.id][process].materials
                        or material in caps_of[f.id][process].materials
                    )
                    for f in self.factories
                ],
                dtype=np.bool_,
            )
        return self.material_ok[key][index]

    def candidates(
        self, processes: tuple[str, ...], orders: list[Order]
    ) -> Iterator[tuple[Order, Factory]]:
        """The (order, factory) pairs of these orders (all of the process sequence) that
        pass the screen, factories offering the sequence only."""
        offers = self._offers(processes)
        if offers is None:
            return
        last_period = self.periods - 1
        # An empty widest window holds nothing (too_little_room).
        orders = [o for o in orders if o.release_period <= min(o.due_period, last_period)]
        step = max(1, SCREEN_CELLS // len(offers.index))
        for start in range(0, len(orders), step):
            chunk = orders[start : start + step]
            keep = self._keep(processes, chunk, offers)
            for o, c in zip(*np.nonzero(keep), strict=True):
                yield chunk[o], self.factories[offers.index[c]]

    def _keep(self, processes: tuple[str, ...], orders: list[Order], offers: _Offers) -> _Flags:
        """Per (order, factory): passes every screening test."""
        paid = self.pairing.use.paid
        quantity = np.array([o.quantity for o in orders], dtype=np.int64)[:, None]
        most = int(quantity.max())
        unit = offers.unit[None, :]
        keep: _Flags = np.ones((len(orders), len(offers.index)), dtype=np.bool_)
        # Eligibility: quality grade, credit, price ceiling, lot bounds, materials.
        for k, process in enumerate(processes):
            grades = [o.operations[k].min_quality_grade or 0 for o in orders]
            if any(grades):
                keep &= offers.grade[k][None, :] >= np.array(grades, dtype=np.int64)[:, None]
            wanted = [o.operations[k].material for o in orders]
            for material in {m for m in wanted if m is not None}:
                rows = np.array([m == material for m in wanted])
                takes = self._takes(process, material, offers.index)
                keep[rows] &= takes[None, :]
        scores = [-1 if o.min_credit_score is None else o.min_credit_score for o in orders]
        keep &= self.score[offers.index][None, :] >= np.array(scores, dtype=np.int64)[:, None]
        ceilings = [
            SAFE_INT if o.max_unit_price_cents is None else o.max_unit_price_cents for o in orders
        ]
        keep &= unit <= np.array(ceilings, dtype=np.int64)[:, None]
        keep &= (offers.lot_min[None, :] <= quantity) & (quantity <= offers.lot_max[None, :])
        # Room in the widest window, group by group (too_little_room).
        first = np.array([o.release_period for o in orders], dtype=np.int64)[:, None]
        last = np.array([min(o.due_period, self.periods - 1) for o in orders], dtype=np.int64)
        last = last[:, None] + 1
        for rows, per_unit in zip(offers.rows, offers.per_unit, strict=True):
            if int(per_unit.max()) * most < SAFE_INT:
                room = self.sums[rows[None, :], last] - self.sums[rows[None, :], first]
                keep &= room >= quantity * per_unit[None, :]
        # The price: production plus a transport rate at most the exact one.
        now = [paid.get(o.id) for o in orders]
        served = np.array([x is not None for x in now])
        if served.any():
            rate = self._rate_below(orders, offers.index)
            if (int(offers.unit.max()) + int(rate.max())) * most < SAFE_INT:
                paying = np.array(
                    [SAFE_INT if x is None else max(-SAFE_INT, min(SAFE_INT, x)) for x in now],
                    dtype=np.int64,
                )[:, None]
                keep &= ~served[:, None] | ((unit + rate) * quantity < paying)
        return keep

    def _rate_below(self, orders: list[Order], index: _Ints) -> _Ints:
        """Per (order, factory): a per-unit transport rate at most the exact
        ``transport_cents_per_unit`` (the haversine in numpy, shrunk by RATE_SLACK and a
        cent)."""
        transport = self.instance.transport
        phi1 = self.phi[index][None, :]
        phi2 = np.radians(np.array([o.delivery.lat for o in orders]))[:, None]
        lon = np.array([o.delivery.lon for o in orders])[:, None]
        dlmb = np.radians(lon - self.lon[index][None, :])
        h = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        kg = np.array([o.unit_weight_kg for o in orders])[:, None]
        cents = km * transport.road_factor * kg * transport.cents_per_tonne_km / 1000
        below = np.floor(np.minimum(cents * (1 - RATE_SLACK), float(SAFE_INT)) + 0.5) - 1
        return np.maximum(below, 0).astype(np.int64)


def _within_share(
    order: Order,
    factory: Factory,
    share: float,
    caps: list[Capability],
    setups: int,
    use: _Use,
    free: int,
) -> bool:
    """The buyer-share limit ``share`` (docs/model.md) with the order made in ``setups``
    periods; ``free``: the factory's :func:`free_minutes`."""
    seconds = sum(c.seconds_per_unit * order.quantity + 60 * c.setup_minutes * setups for c in caps)
    return use.buyer[(factory.id, order.buyer)] + seconds <= share * 60 * free + SHARE_TOL


def pair_rank(p: BlockingPair) -> tuple[int, int, str, str]:
    """Served orders' pairs by saving, largest first; then unserved orders' pairs by
    their price there, cheapest first; ties by order and factory id."""
    if p.saving_cents is None:
        return (1, p.price_cents, p.order, p.factory)
    return (0, -p.saving_cents, p.order, p.factory)


# ---------------------------------------------------------------- price of fairness

PRICE_OF_FAIRNESS_SHARE = 0.25
"""With fairness options in force, the re-solve without them gets this share of the time
limit and the plan itself the rest: the whole solve stays within its limit."""


_UNIT = {"units": "unit", "hours": "hour", "revenue": "cent of revenue"}


def active_options(options: FairnessOptions | None, load_balance: int) -> list[str]:
    """The fairness options in force, one line each; empty when none is."""
    lines: list[str] = []
    if options is not None:
        measure = options.share_measure
        if options.max_share is not None:
            lines.append(f"max_share {options.max_share:g} of the served {measure}")
        per_factory = sum(1 for v in options.min_work_by_factory.values() if v > 0)
        if options.min_work is not None or per_factory:
            how = (
                "hard"
                if options.min_work_hard
                else f"soft, {options.shortfall_cents} cents per {_UNIT[measure]} short"
            )
            lines.append(
                f"min_work {options.min_work or 0:g} {measure} per factory"
                + (f" ({per_factory} set per factory)" if per_factory else "")
                + f" ({how})"
            )
        if options.exploration_share is not None:
            lines.append(
                f"exploration_share {options.exploration_share:g} of the served {measure} to "
                f"new factories (fewer than {options.new_factory_records} records)"
            )
    if load_balance > 0:
        lines.append(f"load_balance weight {load_balance}")
    return lines


def _ginis(instance: Instance, plan: Plan) -> tuple[float, float]:
    """Gini of units and of revenue over all factories."""
    use = _use(instance, plan)
    ids = [f.id for f in instance.factories]
    return gini([use.units[f] for f in ids]), gini([use.revenue[f] for f in ids])


def price_of_fairness(
    instance: Instance,
    fair: Plan,
    unfair: Plan,
    options: list[str],
    time_limit_s: float,
) -> PriceOfFairness:
    """The plan ``fair`` (made with the ``options``) against ``unfair``, the same solve
    re-run without them in ``time_limit_s``: cost (``costs.total``), Gini and orders
    served, with and without. ``unfair`` must be a plan (a solve that found one)."""
    with_units, with_revenue = _ginis(instance, fair)
    without_units, without_revenue = _ginis(instance, unfair)
    without = unfair.costs.total
    difference = fair.costs.total - without
    notes = [
        f"re-solved without the options in {time_limit_s:g} s "
        f"({PRICE_OF_FAIRNESS_SHARE:.0%} of the time limit; the plan had the rest)"
    ]
    if difference < 0:
        notes.append(
            "negative: the re-solve, with less time, found a dearer plan than the one with "
            "the options; the options cost at most 0 here"
        )
    return PriceOfFairness(
        options=options,
        time_limit_s=time_limit_s,
        status=unfair.status,
        cost_with_cents=fair.costs.total,
        cost_without_cents=without,
        difference_cents=difference,
        percentage=100 * difference / without if without else None,
        gini_units_with=with_units,
        gini_units_without=without_units,
        gini_revenue_with=with_revenue,
        gini_revenue_without=without_revenue,
        served_with=len({a.order for a in fair.allocations}),
        served_without=len({a.order for a in unfair.allocations}),
        notes=notes,
    )
