"""The fairness report (docs/fairness-report.md), every figure re-derived.

From the instance and the plan's rows alone, by the formulas the document states
(written here again, not taken from the application's code): each factory's units,
machine hours, revenue, shares, size and load; the Gini coefficients (by the pairwise
mean absolute difference, in its prefix-sum form), the top-10 %, small and new shares;
the utilisation spread; the blocking pairs, counted and each listed one judged by the
stability notion; and the price of fairness as far as the plan bears it out (its own
cost and Gini, and the arithmetic; the re-solve without the options is not repeated).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.check.codes import FAIRNESS_TOL, NEED_TOL, SHARE_TOL, ViolationCode
from matcher.check.figures import is_split_by_operation, unit_transport_cents, usable_offer
from matcher.check.state import CheckState
from matcher.domain.entities import (
    Capability,
    Factory,
    FairnessOptions,
    MaterialSourcing,
    Order,
)
from matcher.domain.plan import BlockingPair, FairnessReport, WorkDistribution

LISTED = 50
"""The report lists the first 50 blocking pairs in its ranking."""


def check_fairness_report(checker: CheckState) -> None:
    """The plan's fairness report, when it has one."""
    report = checker.plan.fairness
    if report is None:
        return
    work = _Work.of(checker)
    _check_factories(checker, report, work)
    for name, dist in (
        ("units", report.units),
        ("hours", report.hours),
        ("revenue", report.revenue),
    ):
        _check_distribution(checker, name, dist, work)
    _check_utilisation(checker, report, work)
    _check_blocking(checker, report)
    _check_price(checker, report)


def _close(stated: float, actual: float) -> bool:
    return abs(stated - actual) <= FAIRNESS_TOL * max(1.0, abs(actual))


def _threshold(checker: CheckState) -> int:
    """The new-factory threshold in force: the plan's fairness options', else the
    default's."""
    return (checker.plan.fairness_options or FairnessOptions()).new_factory_records


@dataclass
class _Work:
    """Per factory id: the work of each measure, size, free and used time."""

    ids: list[str]
    measures: dict[str, dict[str, float]]
    capacity: dict[str, int]
    free: dict[str, int]
    used_seconds: dict[str, int]
    small: set[str]
    small_max: int
    new: set[str]
    top: int

    @classmethod
    def of(cls, checker: CheckState) -> _Work:
        ids = sorted(checker.factories)
        units: dict[str, float] = dict.fromkeys(ids, 0)
        seconds: dict[str, float] = dict.fromkeys(ids, 0)
        revenue: dict[str, float] = dict.fromkeys(ids, 0)
        for a in checker.plan.allocations:
            order = checker.orders.get(a.order)
            cap = checker.caps.get(a.factory, {}).get(a.process)
            if order is None or cap is None:
                continue
            # Units: each unit once, where its last operation is made.
            if a.operation == len(order.operations) - 1:
                units[a.factory] += a.quantity
            seconds[a.factory] += cap.seconds_per_unit * a.quantity
            revenue[a.factory] += cap.unit_cost_cents * a.quantity
        capacity = {
            f.id: sum(sum(r.available_minutes) for r in f.resources) for f in checker.inst.factories
        }
        free: dict[str, int] = dict.fromkeys(ids, 0)
        for (fid, _), minutes in checker.free.items():
            free[fid] += sum(minutes)
        used: dict[str, int] = dict.fromkeys(ids, 0)
        for (fid, _, _), s in checker.used.items():
            used[fid] += s
        ranked = sorted(capacity.values())
        small_max = ranked[math.ceil(len(ranked) / 4) - 1] if ranked else 0
        threshold = _threshold(checker)
        new = {
            f.id
            for f in checker.inst.factories
            if f.credit.records is not None and f.credit.records < threshold
        }
        return cls(
            ids=ids,
            measures={"units": units, "hours": seconds, "revenue": revenue},
            capacity=capacity,
            free=free,
            used_seconds=used,
            small={fid for fid, c in capacity.items() if c <= small_max},
            small_max=small_max,
            new=new,
            top=math.ceil(len(ids) / 10),
        )


def _figure(checker: CheckState, path: str, stated: float, actual: float, what: str) -> None:
    if not _close(stated, actual):
        checker.add(
            ViolationCode.FAIRNESS_FIGURES, path, f"{what} is {actual:.10g}, report says {stated}"
        )


def _check_factories(checker: CheckState, report: FairnessReport, work: _Work) -> None:
    """One row per factory, by id, each figure as the rows and the instance make it."""
    listed = [r.factory for r in report.factories]
    if listed != work.ids:
        checker.add(
            ViolationCode.FAIRNESS_FACTORY_ROWS,
            "fairness.factories",
            f"must list every factory of the instance once, by id ({len(work.ids)}); "
            f"lists {len(listed)}",
        )
        return
    totals = {m: sum(v.values()) for m, v in work.measures.items()}
    for i, row in enumerate(report.factories):
        path = f"fairness.factories[{i}]"
        fid = row.factory
        units, seconds, revenue = (work.measures[m][fid] for m in ("units", "hours", "revenue"))
        ints = (
            ("units", row.units, units),
            ("revenue_cents", row.revenue_cents, revenue),
            ("capacity_minutes", row.capacity_minutes, work.capacity[fid]),
            ("free_minutes", row.free_minutes, work.free[fid]),
        )
        for name, stated, actual in ints:
            if stated != actual:
                checker.add(
                    ViolationCode.FAIRNESS_FIGURES,
                    f"{path}.{name}",
                    f"factory '{fid}': {name} is {actual:g}, report says {stated}",
                )
        free_s = 60 * work.free[fid]
        used = work.used_seconds[fid]
        floats = (
            ("hours", row.hours, seconds / 3600),
            ("units_share", row.units_share, _ratio(units, totals["units"])),
            ("hours_share", row.hours_share, _ratio(seconds, totals["hours"])),
            ("revenue_share", row.revenue_share, _ratio(revenue, totals["revenue"])),
            ("used_minutes", row.used_minutes, used / 60),
        )
        for name, stated_f, actual_f in floats:
            _figure(checker, f"{path}.{name}", stated_f, actual_f, f"factory '{fid}': {name}")
        if (row.utilisation is None) != (free_s == 0) or (
            row.utilisation is not None and not _close(row.utilisation, used / free_s)
        ):
            rate = "None (no free capacity)" if free_s == 0 else f"{used / free_s:.10g}"
            checker.add(
                ViolationCode.FAIRNESS_FIGURES,
                f"{path}.utilisation",
                f"factory '{fid}': utilisation is {rate}, report says {row.utilisation}",
            )
        for name, flag, actual_b in (
            ("small", row.small, fid in work.small),
            ("new", row.new, fid in work.new),
        ):
            if flag != actual_b:
                checker.add(
                    ViolationCode.FAIRNESS_FIGURES,
                    f"{path}.{name}",
                    f"factory '{fid}': {name} is {actual_b}, report says {flag}",
                )
    counts = (
        ("top_count", report.top_count, work.top),
        ("small_capacity_minutes", report.small_capacity_minutes, work.small_max),
        ("small_factories", report.small_factories, len(work.small)),
        ("new_factory_records", report.new_factory_records, _threshold(checker)),
        ("new_factories", report.new_factories, len(work.new)),
    )
    for name, stated_i, actual_i in counts:
        if stated_i != actual_i:
            checker.add(
                ViolationCode.FAIRNESS_FIGURES,
                f"fairness.{name}",
                f"{name} is {actual_i}, report says {stated_i}",
            )


def _ratio(x: float, total: float) -> float:
    return x / total if total else 0.0


def _gini(values: list[float]) -> float:
    """``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``: with the values sorted, the pairwise
    sum is twice ``sum_j (j x_j - sum_{i<j} x_i)`` (``j`` from 0)."""
    n = len(values)
    total = sum(values)
    if n < 2 or total <= 0:
        return 0.0
    below = 0.0
    pairwise = 0.0
    for j, x in enumerate(sorted(values)):
        pairwise += j * x - below
        below += x
    return pairwise / (n * total)


def _check_distribution(
    checker: CheckState, name: str, dist: WorkDistribution, work: _Work
) -> None:
    path = f"fairness.{name}"
    by_factory = work.measures[name]
    values = [by_factory[fid] for fid in work.ids]
    total = sum(values)
    if dist.measure != name:
        checker.add(
            ViolationCode.FAIRNESS_FIGURES, f"{path}.measure", f"must be '{name}': {dist.measure}"
        )
    ranked = sorted(values, reverse=True)
    scale = 1 / 3600 if name == "hours" else 1.0
    figures = (
        ("total", dist.total, total * scale),
        ("gini", dist.gini, _gini(values)),
        ("max_share", dist.max_share, _ratio(ranked[0], total) if ranked else 0.0),
        ("top_share", dist.top_share, _ratio(sum(ranked[: work.top]), total)),
        ("small_share", dist.small_share, _ratio(sum(by_factory[f] for f in work.small), total)),
        ("new_share", dist.new_share, _ratio(sum(by_factory[f] for f in work.new), total)),
    )
    for figure, stated, actual in figures:
        _figure(checker, f"{path}.{figure}", stated, actual, f"{name} {figure}")


def _check_utilisation(checker: CheckState, report: FairnessReport, work: _Work) -> None:
    rates = [work.used_seconds[f] / (60 * work.free[f]) for f in work.ids if work.free[f]]
    if report.utilisation_factories != len(rates):
        checker.add(
            ViolationCode.FAIRNESS_FIGURES,
            "fairness.utilisation_factories",
            f"{len(rates)} factories have free capacity, report says "
            f"{report.utilisation_factories}",
        )
    spread = max(rates) - min(rates) if rates else 0.0
    mean = sum(rates) / len(rates) if rates else 0.0
    std = math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates)) if rates else 0.0
    _figure(checker, "fairness.utilisation_spread", report.utilisation_spread, spread, "max - min")
    _figure(checker, "fairness.utilisation_std", report.utilisation_std, std, "the deviation")


# ---------------------------------------------------------------- blocking pairs


def _whole_order_caps(
    checker: CheckState, order: Order, factory: Factory
) -> list[Capability] | None:
    """docs/model.md, "Eligibility", for the whole quantity as one part."""
    chosen: list[Capability] = []
    for op in order.operations:
        cap = checker.caps[factory.id].get(op.process)
        if (
            cap is None
            or (op.material and cap.materials and op.material not in cap.materials)
            or (op.min_quality_grade and cap.quality_grade < op.min_quality_grade)
        ):
            return None
        chosen.append(cap)
    if order.min_credit_score is not None and factory.credit.score < order.min_credit_score:
        return None
    ceiling = order.max_unit_price_cents
    if ceiling is not None and sum(c.unit_cost_cents for c in chosen) > ceiling:
        return None
    if any(
        order.quantity < c.min_lot or (c.max_lot is not None and order.quantity > c.max_lot)
        for c in chosen
    ):
        return None
    return chosen


def _setups_needed(
    order: Order,
    caps: list[Capability],
    left: dict[str, list[int]],
    first: int,
    last: int,
) -> int | None:
    """The fewest periods ``first .. last`` in which the seconds ``left`` per group hold
    the whole order; ``None``: even all of them do not.

    Per period the capacity rule allows ``floor((left - setup) / seconds)`` units on each
    group the order uses; periods with the most room are taken first."""
    seconds: dict[str, int] = defaultdict(int)
    setups: dict[str, int] = defaultdict(int)
    for c in caps:
        seconds[c.resource_group] += c.seconds_per_unit
        setups[c.resource_group] += 60 * c.setup_minutes
    room: list[int] = []
    for t in range(first, last + 1):
        fit = order.quantity
        for group, per_unit in seconds.items():
            spare = left[group][t] - setups[group]
            if spare < 0:
                fit = 0
            elif per_unit > 0:
                fit = min(fit, spare // per_unit)
        room.append(fit)
    room.sort(reverse=True)
    held = 0
    for k, fit in enumerate(room):
        held += fit
        if held >= order.quantity:
            return k + 1
    return None


def _left(checker: CheckState, factory: Factory) -> dict[str, list[int]]:
    """Seconds the plan leaves free per group and period at the factory."""
    return {
        r.id: [
            60 * free - checker.used.get((factory.id, r.id, t), 0)
            for t, free in enumerate(checker.free[(factory.id, r.id)])
        ]
        for r in factory.resources
    }


def _arrival(
    checker: CheckState, order: Order, factory: Factory, lead: dict[str, int | None]
) -> int | None:
    """First period all the order's purchased materials can be at the factory: its stock
    if that covers the whole order, else the shortest lead time of a usable offer
    (``lead``, per purchased material; ``None``: no usable offer)."""
    start = 0
    for mid, per_unit in order.bill_of_materials.items():
        if mid not in lead or factory.stock.get(mid, 0.0) + NEED_TOL >= per_unit * order.quantity:
            continue
        shortest = lead[mid]
        if shortest is None:
            return None
        start = max(start, shortest)
    return start


def _leads(checker: CheckState) -> dict[str, int | None]:
    """Per purchased material, the shortest lead time of its usable offers."""
    out: dict[str, int | None] = {}
    for m in checker.inst.materials:
        if m.sourcing is MaterialSourcing.PURCHASED:
            times = [
                offer.lead_time_periods
                for supplier in checker.inst.suppliers
                for offer in supplier.offers
                if offer.material == m.id and usable_offer(offer)
            ]
            out[m.id] = min(times) if times else None
    return out


def _buyer_seconds(checker: CheckState) -> dict[tuple[str, str], int]:
    """Processing plus setup seconds per (factory, buyer), from the plan's rows."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for a in checker.plan.allocations:
        order = checker.orders.get(a.order)
        cap = checker.caps.get(a.factory, {}).get(a.process)
        if order is None or cap is None:
            continue
        busy = sum(1 for pq in a.periods if pq.quantity > 0)
        out[(a.factory, order.buyer)] += (
            cap.seconds_per_unit * a.quantity + 60 * cap.setup_minutes * busy
        )
    return out


def _paid_now(checker: CheckState) -> dict[str, int]:
    """Per served order: its production plus per-unit transport estimate, from the
    instance's prices and the plan's quantities."""
    paid: dict[str, int] = defaultdict(int)
    for a in checker.plan.allocations:
        order = checker.orders.get(a.order)
        factory = checker.factories.get(a.factory)
        cap = checker.caps.get(a.factory, {}).get(a.process)
        if order is None or factory is None or cap is None:
            continue
        paid[a.order] += cap.unit_cost_cents * a.quantity
        if a.operation == len(order.operations) - 1 and not is_split_by_operation(order):
            paid[a.order] += unit_transport_cents(checker.inst, order, factory) * a.quantity
    return paid


def _share_allows(
    checker: CheckState,
    order: Order,
    factory: Factory,
    caps: list[Capability],
    setups: int,
    buyer: dict[tuple[str, str], int],
    free: dict[str, int] | None = None,
) -> bool:
    """The factory's buyer-share limit (docs/model.md) with the order made in ``setups``
    periods on top of the buyer's seconds there (``buyer``); ``free``: free minutes per
    factory (:func:`_free_minutes`), if known."""
    share = factory.max_buyer_share
    if share is None:
        return True
    need = sum(c.seconds_per_unit * order.quantity + 60 * c.setup_minutes * setups for c in caps)
    minutes = (free or _free_minutes(checker)).get(factory.id, 0)
    return buyer[(factory.id, order.buyer)] + need <= share * 60 * minutes + SHARE_TOL


def _free_minutes(checker: CheckState) -> dict[str, int]:
    """Per factory: its free minutes over all groups and periods."""
    out: dict[str, int] = defaultdict(int)
    for (fid, _), minutes in checker.free.items():
        out[fid] += sum(minutes)
    return out


class _Room:
    """The seconds the plan leaves free per factory, group and period (:func:`_left`),
    with their running sums (negative as 0), computed once per factory as needed."""

    def __init__(self, checker: CheckState) -> None:
        self.checker = checker
        self.left: dict[str, dict[str, list[int]]] = {}
        self.sums: dict[str, dict[str, list[int]]] = {}

    def of(self, factory: Factory) -> dict[str, list[int]]:
        if factory.id not in self.left:
            left = self.left[factory.id] = _left(self.checker, factory)
            sums: dict[str, list[int]] = {}
            for group, seconds in left.items():
                run = [0]
                for x in seconds:
                    run.append(run[-1] + max(0, x))
                sums[group] = run
            self.sums[factory.id] = sums
        return self.left[factory.id]

    def too_little(self, order: Order, factory: Factory, first: int, last: int) -> bool:
        """A necessary test of the capacity rule: some group the order's processes use at
        the factory has, in periods ``first .. last`` all together, fewer free seconds
        than the order's processing seconds on it, so no choice of periods and setups
        holds the order (:func:`_setups_needed` would say ``None``)."""
        self.of(factory)
        caps = self.checker.caps[factory.id]
        need: dict[str, int] = defaultdict(int)
        for op in order.operations:
            cap = caps[op.process]
            need[cap.resource_group] += cap.seconds_per_unit * order.quantity
        sums = self.sums[factory.id]
        return first > last or any(
            sums[g][last + 1] - sums[g][first] < seconds for g, seconds in need.items()
        )


@dataclass(frozen=True)
class _Context:
    """What every (order, factory) test of the blocking pairs reads."""

    paid: dict[str, int]
    buyer: dict[tuple[str, str], int]
    lead: dict[str, int | None]
    room: _Room
    free: dict[str, int]


def _pair(
    checker: CheckState, ctx: _Context, order: Order, factory: Factory, now: int | None
) -> BlockingPair | None:
    """(order, factory) as a blocking pair, or ``None``; the cheapest tests first."""
    offer = checker.caps[factory.id]
    if now is not None:  # no cheaper even before transport
        unit = sum(offer[op.process].unit_cost_cents for op in order.operations)
        if unit * order.quantity >= now:
            return None
    last = min(order.due_period, checker.periods - 1)
    # No room in the widest window the order could use (its materials may start it later)
    if ctx.room.too_little(order, factory, order.release_period, last):
        return None
    caps = _whole_order_caps(checker, order, factory)
    if caps is None:
        return None
    unit = sum(c.unit_cost_cents for c in caps)
    price = (unit + unit_transport_cents(checker.inst, order, factory)) * order.quantity
    if now is not None and price >= now:
        return None
    arrive = _arrival(checker, order, factory, ctx.lead)
    if arrive is None:
        return None
    first = max(order.release_period, arrive)
    setups = _setups_needed(order, caps, ctx.room.of(factory), first, last)
    if setups is None or not _share_allows(
        checker, order, factory, caps, setups, ctx.buyer, ctx.free
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


def _pairs(checker: CheckState) -> list[BlockingPair]:
    """Every blocking pair, in the report's ranking.

    The orders that run the same processes are sieved together against the factories
    offering them all (:class:`_Sieve`); the exact test :func:`_pair` judges the rest."""
    ctx = _Context(
        _paid_now(checker),
        _buyer_seconds(checker),
        _leads(checker),
        _Room(checker),
        _free_minutes(checker),
    )
    at: dict[str, set[str]] = defaultdict(set)
    for a in checker.plan.allocations:
        at[a.order].add(a.factory)
    offering: dict[str, set[str]] = defaultdict(set)  # process -> factories offering it
    for fid, caps_at in checker.caps.items():
        for process in caps_at:
            offering[process].add(fid)
    alike: dict[tuple[str, ...], list[Order]] = defaultdict(list)
    for order in checker.inst.orders:
        if not is_split_by_operation(order):
            alike[tuple(op.process for op in order.operations)].append(order)
    sieve = _Sieve(checker)
    out: list[BlockingPair] = []
    for processes, orders in alike.items():
        able = sorted(set.intersection(*(offering[p] for p in processes)))
        if not able:
            continue
        nows = [ctx.paid.get(o.id) if o.id in at else None for o in orders]
        for i, fid in sieve.survivors(processes, orders, nows, able):
            if fid in at[orders[i].id]:
                continue
            pair = _pair(checker, ctx, orders[i], checker.factories[fid], nows[i])
            if pair is not None:
                out.append(pair)
    served = sorted(
        (p for p in out if not p.unserved),
        key=lambda p: (-(p.saving_cents or 0), p.order, p.factory),
    )
    unserved = sorted(
        (p for p in out if p.unserved), key=lambda p: (p.price_cents, p.order, p.factory)
    )
    return served + unserved


_Mask = npt.NDArray[np.bool_]
_Num = npt.NDArray[np.float64]
_Idx = npt.NDArray[np.intp]

BATCH_CELLS = 1 << 20
"""(order, factory) cells the sieve holds at once."""
FLOAT_SLACK = 1e-9
"""The sieve compares in floats: it rejects a pair only with this relative margin (and a
unit or a cent more), far beyond float64's rounding, so it never rejects a real pair."""


class _Sieve:
    """Conditions every blocking pair meets, tested with numpy over all orders of one
    process sequence and all factories offering it: whole-order eligibility (grade,
    materials, credit, price ceiling, lots), room for the order's processing in its
    widest window on every group, and, for a served order, a price below what it pays
    now with a transport rate rounded down. Only the pairs it passes reach :func:`_pair`;
    a pair it rejects fails that test too, so the list is the same."""

    def __init__(self, checker: CheckState) -> None:
        self.checker = checker
        self.t = checker.periods
        keys = sorted(checker.free)
        self.row = {key: i for i, key in enumerate(keys)}
        seconds = 60 * np.array([checker.free[k] for k in keys], dtype=np.float64)
        seconds = seconds.reshape(len(keys), self.t)
        for (fid, group, period), used in checker.used.items():
            if (fid, group) in self.row and 0 <= period < self.t:
                seconds[self.row[(fid, group)], period] -= used
        # Free seconds of periods 0 .. t-1 (negative as 0), per group: a window in one
        # subtraction. Whole numbers below 2^53 stay exact in float64.
        self.prefix: _Num = np.zeros((len(keys), self.t + 1))
        self.prefix[:, 1:] = np.cumsum(np.maximum(seconds, 0.0), axis=1)
        factories = checker.inst.factories
        self.position = {f.id: i for i, f in enumerate(factories)}
        self.xyz: _Num = _unit_vectors(
            [f.location.lat for f in factories], [f.location.lon for f in factories]
        )
        self.credit: _Num = np.array([f.credit.score for f in factories], dtype=np.float64)

    def survivors(
        self,
        processes: tuple[str, ...],
        orders: list[Order],
        nows: list[int | None],
        able: list[str],
    ) -> Iterator[tuple[int, str]]:
        """(index in ``orders``, factory id) of each pair that passes the sieve."""
        per_batch = max(1, BATCH_CELLS // len(able))
        for start in range(0, len(orders), per_batch):
            stop = min(len(orders), start + per_batch)
            passed = self._passed(processes, orders[start:stop], nows[start:stop], able)
            for i, j in zip(*np.nonzero(passed), strict=True):
                yield start + int(i), able[j]

    def _passed(
        self,
        processes: tuple[str, ...],
        orders: list[Order],
        nows: list[int | None],
        able: list[str],
    ) -> _Mask:
        caps = self.checker.caps
        offered = [[caps[fid][p] for fid in able] for p in processes]  # [op][factory]

        def per_order(values: Sequence[float]) -> _Num:
            return np.array(values, dtype=np.float64)[:, np.newaxis]

        def per_factory(values: Sequence[float]) -> _Num:
            return np.array(values, dtype=np.float64)[np.newaxis, :]

        qty = per_order([o.quantity for o in orders])
        ok: _Mask = np.ones((len(orders), len(able)), dtype=np.bool_)
        for k, column in enumerate(offered):
            least = [o.operations[k].min_quality_grade or 0 for o in orders]
            ok &= per_factory([c.quality_grade for c in column]) >= per_order(least)
            wanted = [o.operations[k].material for o in orders]
            for material in {m for m in wanted if m is not None}:
                asks = np.array([m == material for m in wanted])[:, np.newaxis]
                refuses = np.array(
                    [bool(c.materials) and material not in c.materials for c in column]
                )[np.newaxis, :]
                ok &= ~(asks & refuses)
        least_score = [-1 if o.min_credit_score is None else o.min_credit_score for o in orders]
        ok &= self.credit[[self.position[fid] for fid in able]][np.newaxis, :] >= per_order(
            least_score
        )
        unit_cents = [
            sum(column[j].unit_cost_cents for column in offered) for j in range(len(able))
        ]
        unit = per_factory(unit_cents)
        ceiling = [
            math.inf if o.max_unit_price_cents is None else o.max_unit_price_cents for o in orders
        ]
        ok &= unit <= per_order(ceiling)
        for column in offered:
            ok &= per_factory([c.min_lot for c in column]) <= qty
            top = [math.inf if c.max_lot is None else c.max_lot for c in column]
            ok &= qty <= per_factory(top)
        # Room: per group the order's processes use at the factory, their seconds.
        first = np.array([o.release_period for o in orders], dtype=np.intp)[:, np.newaxis]
        end = np.array([min(o.due_period, self.t - 1) + 1 for o in orders], dtype=np.intp)
        end = end[:, np.newaxis]
        ok &= first < end
        first = np.minimum(first, end)
        for group_rows, per_unit in self._groups(able, offered):
            window = (
                self.prefix[group_rows[np.newaxis, :], end]
                - self.prefix[group_rows[np.newaxis, :], first]
            )
            need = qty * per_unit[np.newaxis, :]
            ok &= need <= window * (1 + FLOAT_SLACK) + 1
        # Price: production plus transport rounded down, against what it pays now.
        if any(n is not None for n in nows):
            served = np.array([n is not None for n in nows])[:, np.newaxis]
            paying = per_order([0.0 if n is None else float(n) for n in nows])
            rate = self._rate_floor(orders, able)
            ok &= ~served | ((unit + rate) * qty < paying * (1 + FLOAT_SLACK) + 1)
        return ok

    def _groups(self, able: list[str], offered: list[list[Capability]]) -> list[tuple[_Idx, _Num]]:
        """Per operation: each factory's row for the group it runs on, and the seconds
        per unit of all the order's operations on that group there."""
        out: list[tuple[_Idx, _Num]] = []
        for column in offered:
            rows = np.array(
                [self.row[(fid, c.resource_group)] for fid, c in zip(able, column, strict=True)],
                dtype=np.intp,
            )
            seconds = [
                sum(
                    other[j].seconds_per_unit
                    for other in offered
                    if other[j].resource_group == column[j].resource_group
                )
                for j in range(len(able))
            ]
            out.append((rows, np.array(seconds, dtype=np.float64)))
        return out

    def _rate_floor(self, orders: list[Order], able: list[str]) -> _Num:
        """Per (order, factory): at most ``u(o, f)``, the per-unit transport estimate of
        docs/model.md. The haversine term ``sin^2(d / 2)`` as a quarter of the squared
        chord between the points on the unit sphere, less the margin."""
        t = self.checker.inst.transport
        here = self.xyz[[self.position[fid] for fid in able]]  # (factories, 3)
        there = _unit_vectors(
            [o.delivery.lat for o in orders], [o.delivery.lon for o in orders]
        )  # (orders, 3)
        chord2 = np.zeros((len(orders), len(able)))
        for axis in range(3):
            chord2 += (there[:, axis][:, np.newaxis] - here[:, axis][np.newaxis, :]) ** 2
        half = np.sqrt(np.clip(chord2 / 4, 0.0, 1.0))
        km = 2 * 6371.0 * np.arcsin(half)
        kg = np.array([o.unit_weight_kg for o in orders], dtype=np.float64)[:, np.newaxis]
        cents = km * t.road_factor * kg * t.cents_per_tonne_km / 1000
        return np.maximum(np.floor(cents * (1 - FLOAT_SLACK) + 0.5) - 1, 0.0)


def _unit_vectors(lats: list[float], lons: list[float]) -> _Num:
    """Points on the unit sphere, one row (x, y, z) per latitude and longitude."""
    lat = np.radians(np.array(lats, dtype=np.float64))
    lon = np.radians(np.array(lons, dtype=np.float64))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def _check_blocking(checker: CheckState, report: FairnessReport) -> None:
    pairs = _pairs(checker)
    counts = (
        ("blocking_pairs", report.blocking_pairs, len(pairs)),
        ("blocking_unserved", report.blocking_unserved, sum(1 for p in pairs if p.unserved)),
        ("blocking_orders", report.blocking_orders, len({p.order for p in pairs})),
    )
    for name, stated, actual in counts:
        if stated != actual:
            checker.add(
                ViolationCode.FAIRNESS_BLOCKING_COUNT,
                f"fairness.{name}",
                f"{name} is {actual}, report says {stated}",
            )
    valid = {(p.order, p.factory): p for p in pairs}
    expected = pairs[:LISTED]
    for i, listed in enumerate(report.blocking_listed):
        path = f"fairness.blocking_listed[{i}]"
        actual_pair = valid.get((listed.order, listed.factory))
        if actual_pair is None:
            checker.add(
                ViolationCode.FAIRNESS_BLOCKING_PAIR,
                path,
                f"order '{listed.order}' and factory '{listed.factory}' are not a blocking pair",
            )
        elif actual_pair != listed:
            checker.add(
                ViolationCode.FAIRNESS_BLOCKING_PAIR,
                path,
                f"order '{listed.order}' and factory '{listed.factory}': figures are "
                f"{actual_pair.model_dump()}, report says {listed.model_dump()}",
            )
        elif i >= len(expected) or expected[i] != listed:
            checker.add(
                ViolationCode.FAIRNESS_BLOCKING_PAIR,
                path,
                f"out of the ranking: place {i} holds "
                + (
                    f"order '{expected[i].order}' at '{expected[i].factory}'"
                    if i < len(expected)
                    else f"nothing (only {len(expected)} are due)"
                ),
            )
    if len(report.blocking_listed) < len(expected):
        checker.add(
            ViolationCode.FAIRNESS_BLOCKING_PAIR,
            "fairness.blocking_listed",
            f"lists {len(report.blocking_listed)} pair(s); the first {len(expected)} are due",
        )


def _check_price(checker: CheckState, report: FairnessReport) -> None:
    """What the plan bears out of the price of fairness: its own side and the sums."""
    price = report.price_of_fairness
    if price is None:
        return
    path = "fairness.price_of_fairness"
    served = len({a.order for a in checker.plan.allocations})
    total = checker.plan.costs.total  # itself checked against the recomputed costs
    difference = total - price.cost_without_cents
    exact = (
        ("cost_with_cents", price.cost_with_cents, total),
        ("difference_cents", price.difference_cents, difference),
        ("served_with", price.served_with, served),
    )
    for name, stated, actual in exact:
        if stated != actual:
            checker.add(
                ViolationCode.FAIRNESS_PRICE, f"{path}.{name}", f"is {actual}, report says {stated}"
            )
    without = price.cost_without_cents
    pct = None if without == 0 else 100 * difference / without
    if (pct is None) != (price.percentage is None) or (
        pct is not None and price.percentage is not None and not _close(price.percentage, pct)
    ):
        checker.add(
            ViolationCode.FAIRNESS_PRICE,
            f"{path}.percentage",
            f"100 x difference / cost_without is {pct}, report says {price.percentage}",
        )
    for name, stated_f, actual_f in (
        ("gini_units_with", price.gini_units_with, report.units.gini),
        ("gini_revenue_with", price.gini_revenue_with, report.revenue.gini),
    ):
        if not _close(stated_f, actual_f):
            checker.add(
                ViolationCode.FAIRNESS_PRICE,
                f"{path}.{name}",
                f"the plan's Gini is {actual_f:.10g}, report says {stated_f}",
            )
