"""Independent checker of assignment plans.

Recomputes every constraint, cost and KPI of ``docs/model.md`` from the instance
and the plan's decisions (quantities per period) alone. It deliberately shares no
code with the engines in ``solvers/``: a bug in an engine must not hide behind the
same bug in its verifier. It reports every violation it finds, each with a stable
code and a path into the plan, rather than stopping at the first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from matcher.models import Capability, Factory, Instance, Location, Order
from matcher.result import Allocation, CostBreakdown, Plan, SolveStatus
from matcher.validation import Issue, format_loc, load_instance

EARTH_RADIUS_KM = 6371.0
# Floats (rates, minutes) are compared with this tolerance; money and seconds are
# integers and compared exactly.
FLOAT_TOL = 1e-9
# Slack on the buyer-share limit ``s * 60 * free``, a float product: an engine that
# rounds it to an integer number of seconds must not be flagged for float noise.
SHARE_TOL = 1e-6


class ViolationCode(StrEnum):
    """What is wrong with a plan. Stable: tools may switch on these."""

    # One allocation row.
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    UNKNOWN_FACTORY = "UNKNOWN_FACTORY"
    OPERATION_OUT_OF_RANGE = "OPERATION_OUT_OF_RANGE"
    PROCESS_MISMATCH = "PROCESS_MISMATCH"
    RESOURCE_GROUP_MISMATCH = "RESOURCE_GROUP_MISMATCH"
    NON_POSITIVE_QUANTITY = "NON_POSITIVE_QUANTITY"
    PERIODS_NOT_ASCENDING = "PERIODS_NOT_ASCENDING"
    DUPLICATE_PERIOD = "DUPLICATE_PERIOD"
    PERIOD_SUM_MISMATCH = "PERIOD_SUM_MISMATCH"
    PERIOD_OUTSIDE_HORIZON = "PERIOD_OUTSIDE_HORIZON"
    BEFORE_RELEASE = "BEFORE_RELEASE"
    # One part (the rows of one order at one factory).
    MISSING_OPERATION = "MISSING_OPERATION"
    DUPLICATE_OPERATION = "DUPLICATE_OPERATION"
    OPERATION_PERIODS_DIFFER = "OPERATION_PERIODS_DIFFER"
    NO_CAPABILITY = "NO_CAPABILITY"
    MATERIAL_NOT_SUPPORTED = "MATERIAL_NOT_SUPPORTED"
    QUALITY_BELOW_MIN = "QUALITY_BELOW_MIN"
    CREDIT_BELOW_MIN = "CREDIT_BELOW_MIN"
    PRICE_ABOVE_MAX = "PRICE_ABOVE_MAX"
    LOT_SIZE_VIOLATED = "LOT_SIZE_VIOLATED"
    SPLIT_BELOW_MIN_QUANTITY = "SPLIT_BELOW_MIN_QUANTITY"
    # One order.
    QUANTITY_MISMATCH = "QUANTITY_MISMATCH"
    SPLIT_NOT_ALLOWED = "SPLIT_NOT_ALLOWED"
    TOO_MANY_FACTORIES = "TOO_MANY_FACTORIES"
    ORDER_MISSING = "ORDER_MISSING"
    SERVED_AND_UNASSIGNED = "SERVED_AND_UNASSIGNED"
    DUPLICATE_UNASSIGNED = "DUPLICATE_UNASSIGNED"
    PENALTY_MISMATCH = "PENALTY_MISMATCH"
    MANDATORY_FLAG_MISMATCH = "MANDATORY_FLAG_MISMATCH"
    # Shared resources.
    CAPACITY_EXCEEDED = "CAPACITY_EXCEEDED"
    BUYER_SHARE_EXCEEDED = "BUYER_SHARE_EXCEEDED"
    # Money.
    ROW_COST_MISMATCH = "ROW_COST_MISMATCH"
    LATE_UNITS_MISMATCH = "LATE_UNITS_MISMATCH"
    COST_MISMATCH = "COST_MISMATCH"
    OBJECTIVE_MISMATCH = "OBJECTIVE_MISMATCH"
    # Reported figures.
    KPI_MISMATCH = "KPI_MISMATCH"
    UTILISATION_MISMATCH = "UTILISATION_MISMATCH"
    UTILISATION_MISSING = "UTILISATION_MISSING"


@dataclass(frozen=True)
class Violation:
    """One problem: a stable ``code``, where in the plan, and the numbers."""

    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} at {self.path}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    """Everything the checker found, plus the costs it recomputed itself."""

    violations: list[Violation]
    warnings: list[str]
    recomputed: CostBreakdown

    @property
    def ok(self) -> bool:
        return not self.violations

    def codes(self) -> set[str]:
        """The distinct violation codes, handy for callers that switch on them."""
        return {v.code for v in self.violations}


class PlanFormatError(Exception):
    """A plan file that cannot be read as a :class:`Plan`; ``issues`` has every problem."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(
            f"{len(self.issues)} plan format error(s): " + "; ".join(str(i) for i in self.issues)
        )


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance on a sphere of radius 6371.0 km (docs/model.md)."""
    lat1 = math.radians(a.lat)
    lat2 = math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon) - math.radians(a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def unit_transport_cents(instance: Instance, order: Order, factory: Factory) -> int:
    """Per-unit shipping rate ``u(o, f)``: half-up rounding, as docs/model.md states."""
    km = haversine_km(factory.location, order.delivery)
    t = instance.transport
    return math.floor(km * t.road_factor * order.unit_weight_kg * t.cents_per_tonne_km / 1000 + 0.5)


@dataclass
class _Part:
    """The rows of one order at one factory, by operation index."""

    order: Order
    factory: Factory
    first_row: int
    rows: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _Totals:
    production: int = 0
    transport: int = 0
    lateness: int = 0
    unserved: int = 0
    credit: int = 0


def _late(allocation: Allocation, order: Order) -> tuple[int, int]:
    """(lateness cents, late units) of one row's periods."""
    cents = units = 0
    rate = order.penalties.late_cents_per_unit_period
    for pq in allocation.periods:
        if pq.period > order.due_period:
            units += pq.quantity
            cents += rate * (pq.period - order.due_period) * pq.quantity
    return cents, units


def _rate(numerator: int | float, denominator: int | float) -> float:
    # A rate over an empty population (no orders, nothing served) is defined as 0.0.
    return numerator / denominator if denominator else 0.0


class _Checker:
    """One pass over a plan; each ``_check_*`` method covers one section of the model."""

    def __init__(self, instance: Instance, plan: Plan) -> None:
        self.inst = instance
        self.plan = plan
        self.periods = instance.horizon.periods
        self.orders = {o.id: o for o in instance.orders}
        self.factories = {f.id: f for f in instance.factories}
        self.caps: dict[str, dict[str, Capability]] = {
            f.id: {c.process: c for c in f.capabilities} for f in instance.factories
        }
        self.free: dict[tuple[str, str], list[int]] = {
            (f.id, r.id): [r.free_minutes(t) for t in range(self.periods)]
            for f in instance.factories
            for r in f.resources
        }
        self.factory_free: dict[str, int] = defaultdict(int)
        for (fid, _), minutes in self.free.items():
            self.factory_free[fid] += sum(minutes)
        self.violations: list[Violation] = []
        self.warnings: list[str] = []
        self.parts: dict[tuple[str, str], _Part] = {}
        self.served: dict[str, int] = {}  # order id -> first row naming it
        self.used: dict[tuple[str, str, int], int] = {}  # seconds
        self.used_ref: dict[tuple[str, str, int], tuple[int, int]] = {}  # first (row, entry)
        self.buyer_used: dict[tuple[str, str], int] = defaultdict(int)
        self.buyer_ref: dict[tuple[str, str], int] = {}  # first row
        self.order_units: dict[str, int] = defaultdict(int)
        self.order_parts: dict[str, int] = defaultdict(int)
        self.late_orders: set[str] = set()
        self.totals = _Totals()

    def add(self, code: ViolationCode, path: str, message: str) -> None:
        self.violations.append(Violation(code, path, message))

    # -- rows ------------------------------------------------------------------

    def check_rows(self) -> None:
        for i, a in enumerate(self.plan.allocations):
            self._check_row(i, a)

    def _check_row(self, i: int, a: Allocation) -> None:
        path = f"allocations[{i}]"
        order = self.orders.get(a.order)
        factory = self.factories.get(a.factory)
        if order is None:
            self.add(ViolationCode.UNKNOWN_ORDER, f"{path}.order", f"unknown order '{a.order}'")
        else:
            self.served.setdefault(order.id, i)
        if factory is None:
            self.add(
                ViolationCode.UNKNOWN_FACTORY, f"{path}.factory", f"unknown factory '{a.factory}'"
            )
        if a.quantity <= 0:
            self.add(
                ViolationCode.NON_POSITIVE_QUANTITY,
                f"{path}.quantity",
                f"order '{a.order}' at '{a.factory}': quantity {a.quantity} is not positive",
            )
        self._check_periods(path, a, order)
        if order is None:
            return
        if not 0 <= a.operation < len(order.operations):
            self.add(
                ViolationCode.OPERATION_OUT_OF_RANGE,
                f"{path}.operation",
                f"order '{order.id}' has {len(order.operations)} operation(s), "
                f"row names operation {a.operation}",
            )
            return
        process = order.operations[a.operation].process
        if a.process != process:
            self.add(
                ViolationCode.PROCESS_MISMATCH,
                f"{path}.process",
                f"order '{order.id}' operation {a.operation} is '{process}', "
                f"row says '{a.process}'",
            )
        if factory is None:
            return
        key = (order.id, factory.id)
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = _Part(order, factory, i)
        part.rows[a.operation].append(i)
        cap = self.caps[factory.id].get(process)
        if cap is None:
            return  # reported once per part as NO_CAPABILITY
        if a.resource_group != cap.resource_group:
            self.add(
                ViolationCode.RESOURCE_GROUP_MISMATCH,
                f"{path}.resource_group",
                f"factory '{factory.id}' runs '{process}' on '{cap.resource_group}', "
                f"row says '{a.resource_group}'",
            )
        self._charge(i, a, order, factory, cap)

    def _check_periods(self, path: str, a: Allocation, order: Order | None) -> None:
        # Fast path for the common, valid row: strictly ascending positive entries
        # inside release .. T-1. Only a row failing it pays for the detailed pass.
        previous = (order.release_period if order is not None else 0) - 1
        total = 0
        for pq in a.periods:
            if pq.period <= previous or pq.quantity <= 0:
                break
            previous = pq.period
            total += pq.quantity
        else:
            if previous < self.periods:
                if total != a.quantity:
                    self._period_sum_mismatch(path, a, total)
                return
        self._check_periods_in_detail(path, a, order)

    def _check_periods_in_detail(self, path: str, a: Allocation, order: Order | None) -> None:
        seen: set[int] = set()
        previous: int | None = None
        total = 0
        for k, pq in enumerate(a.periods):
            ppath = f"{path}.periods[{k}]"
            t = pq.period
            if t in seen:
                self.add(ViolationCode.DUPLICATE_PERIOD, ppath, f"period {t} listed twice")
            elif previous is not None and t < previous:
                self.add(ViolationCode.PERIODS_NOT_ASCENDING, ppath, f"period {t} after {previous}")
            seen.add(t)
            previous = t
            if pq.quantity <= 0:
                self.add(
                    ViolationCode.NON_POSITIVE_QUANTITY,
                    f"{ppath}.quantity",
                    f"order '{a.order}' period {t}: quantity {pq.quantity} is not positive",
                )
            total += pq.quantity
            if not 0 <= t < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{ppath}.period",
                    f"order '{a.order}' at '{a.factory}': period {t} is outside the horizon "
                    f"0..{self.periods - 1}",
                )
            elif order is not None and t < order.release_period:
                self.add(
                    ViolationCode.BEFORE_RELEASE,
                    f"{ppath}.period",
                    f"order '{order.id}' at '{a.factory}': production in period {t}, "
                    f"before its release period {order.release_period}",
                )
        if total != a.quantity:
            self._period_sum_mismatch(path, a, total)

    def _period_sum_mismatch(self, path: str, a: Allocation, total: int) -> None:
        self.add(
            ViolationCode.PERIOD_SUM_MISMATCH,
            f"{path}.periods",
            f"order '{a.order}' at '{a.factory}': periods sum to {total}, "
            f"row quantity is {a.quantity}",
        )

    def _charge(
        self, i: int, a: Allocation, order: Order, factory: Factory, cap: Capability
    ) -> None:
        """Production cost of the row and its load on the factory's resource."""
        production = cap.unit_cost_cents * a.quantity
        self.totals.production += production
        if a.production_cents != production:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"allocations[{i}].production_cents",
                f"order '{order.id}' operation {a.operation} at '{factory.id}': "
                f"{cap.unit_cost_cents} x {a.quantity} = {production}, row says "
                f"{a.production_cents}",
            )
        setup = 60 * cap.setup_minutes
        rate = cap.seconds_per_unit
        fid, rid, horizon = factory.id, cap.resource_group, self.periods
        used, used_ref = self.used, self.used_ref
        row_seconds = 0
        for k, pq in enumerate(a.periods):
            t, q = pq.period, pq.quantity
            if q <= 0 or not 0 <= t < horizon:
                continue
            seconds = rate * q + setup
            key = (fid, rid, t)
            if key in used:
                used[key] += seconds
            else:
                used[key] = seconds
                used_ref[key] = (i, k)
            row_seconds += seconds
        buyer_key = (fid, order.buyer)
        self.buyer_used[buyer_key] += row_seconds
        self.buyer_ref.setdefault(buyer_key, i)

    # -- parts -----------------------------------------------------------------

    def check_parts(self) -> None:
        for part in self.parts.values():
            self._check_part(part)

    def _check_part(self, part: _Part) -> None:
        order, factory = part.order, part.factory
        allocations = self.plan.allocations
        last = len(order.operations) - 1
        for j in range(last + 1):
            rows = part.rows.get(j, [])
            if not rows:
                self.add(
                    ViolationCode.MISSING_OPERATION,
                    f"allocations[{part.first_row}]",
                    f"order '{order.id}' at '{factory.id}': no row for operation {j} "
                    f"('{order.operations[j].process}')",
                )
            for extra in rows[1:]:
                self.add(
                    ViolationCode.DUPLICATE_OPERATION,
                    f"allocations[{extra}]",
                    f"order '{order.id}' at '{factory.id}': operation {j} has more than one row",
                )
        # The last operation's row carries the part's quantities (and its transport
        # and lateness); when it is missing, the latest operation present stands in.
        canonical = part.rows[max(part.rows)][0]
        head = allocations[canonical]
        profile = [(pq.period, pq.quantity) for pq in head.periods]
        for rows in part.rows.values():
            for i in rows:
                if i == canonical:
                    continue
                other = [(pq.period, pq.quantity) for pq in allocations[i].periods]
                if other != profile:
                    self.add(
                        ViolationCode.OPERATION_PERIODS_DIFFER,
                        f"allocations[{i}].periods",
                        f"order '{order.id}' at '{factory.id}': operation "
                        f"{allocations[i].operation} runs {_fmt(allocations[i])}, operation "
                        f"{head.operation} runs {_fmt(head)}",
                    )
        quantity = head.quantity
        self._check_eligibility(part, quantity)
        self.order_units[order.id] += quantity
        self.order_parts[order.id] += 1
        self._part_costs(part, canonical, quantity)

    def _check_eligibility(self, part: _Part, quantity: int) -> None:
        order, factory = part.order, part.factory
        path = f"allocations[{part.first_row}]"
        caps: list[Capability] = []
        for j, op in enumerate(order.operations):
            cap = self.caps[factory.id].get(op.process)
            if cap is None:
                self.add(
                    ViolationCode.NO_CAPABILITY,
                    path,
                    f"order '{order.id}' operation {j}: factory '{factory.id}' has no "
                    f"capability '{op.process}'",
                )
                continue
            caps.append(cap)
            if op.material is not None and cap.materials and op.material not in cap.materials:
                self.add(
                    ViolationCode.MATERIAL_NOT_SUPPORTED,
                    path,
                    f"order '{order.id}' operation {j} needs material '{op.material}'; "
                    f"factory '{factory.id}' '{op.process}' handles {cap.materials}",
                )
            if op.min_quality_grade is not None and cap.quality_grade < op.min_quality_grade:
                self.add(
                    ViolationCode.QUALITY_BELOW_MIN,
                    path,
                    f"order '{order.id}' operation {j} needs quality grade "
                    f">= {op.min_quality_grade}; factory '{factory.id}' '{op.process}' has "
                    f"{cap.quality_grade}",
                )
        if order.min_credit_score is not None and factory.credit.score < order.min_credit_score:
            self.add(
                ViolationCode.CREDIT_BELOW_MIN,
                path,
                f"order '{order.id}' needs credit score >= {order.min_credit_score}; "
                f"factory '{factory.id}' has {factory.credit.score}",
            )
        if len(caps) != len(order.operations):
            return  # price and lot bounds are undefined without every capability
        price = sum(c.unit_cost_cents for c in caps)
        if order.max_unit_price_cents is not None and price > order.max_unit_price_cents:
            self.add(
                ViolationCode.PRICE_ABOVE_MAX,
                path,
                f"order '{order.id}' pays at most {order.max_unit_price_cents} per unit; "
                f"factory '{factory.id}' charges {price}",
            )
        lo = max(c.min_lot for c in caps)
        max_lots = [c.max_lot for c in caps if c.max_lot is not None]
        hi = min(max_lots) if max_lots else None
        if quantity < lo or (hi is not None and quantity > hi):
            self.add(
                ViolationCode.LOT_SIZE_VIOLATED,
                path,
                f"order '{order.id}' at '{factory.id}': part of {quantity} units outside the "
                f"lot bounds {lo}..{hi if hi is not None else 'inf'}",
            )
        # For an unsplittable order the part is the whole order (checked by
        # QUANTITY_MISMATCH), so split.min_quantity only binds split orders.
        if order.split.allowed and quantity < order.split.min_quantity:
            self.add(
                ViolationCode.SPLIT_BELOW_MIN_QUANTITY,
                path,
                f"order '{order.id}' at '{factory.id}': part of {quantity} units is below "
                f"the minimum split quantity {order.split.min_quantity}",
            )

    def _part_costs(self, part: _Part, canonical: int, quantity: int) -> None:
        """Transport, lateness and credit of the part; the rows' stated figures."""
        order, factory = part.order, part.factory
        allocations = self.plan.allocations
        rate = unit_transport_cents(self.inst, order, factory)
        lateness, late_units = _late(allocations[canonical], order)
        self.totals.transport += rate * quantity
        self.totals.lateness += lateness
        self.totals.credit += (100 - factory.credit.score) * quantity
        if late_units > 0:
            self.late_orders.add(order.id)
        last = len(order.operations) - 1
        for j, rows in part.rows.items():
            for i in rows:
                a = allocations[i]
                if j == last:
                    cents, units = _late(a, order)
                    expected = (rate * a.quantity, cents, units)
                    why = f"last operation: {rate} per unit x {a.quantity}"
                else:
                    expected = (0, 0, 0)
                    why = "only the last operation's row carries it"
                self._row_figures(i, a, expected, why)

    def _row_figures(self, i: int, a: Allocation, expected: tuple[int, int, int], why: str) -> None:
        transport, lateness, late_units = expected
        path = f"allocations[{i}]"
        who = f"order '{a.order}' operation {a.operation} at '{a.factory}'"
        if a.transport_cents != transport:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"{path}.transport_cents",
                f"{who}: expected {transport} ({why}), row says {a.transport_cents}",
            )
        if a.lateness_cents != lateness:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"{path}.lateness_cents",
                f"{who}: expected {lateness}, row says {a.lateness_cents}",
            )
        if a.late_units != late_units:
            self.add(
                ViolationCode.LATE_UNITS_MISMATCH,
                f"{path}.late_units",
                f"{who}: expected {late_units}, row says {a.late_units}",
            )

    # -- orders ----------------------------------------------------------------

    def check_orders(self) -> None:
        for order_id, first in self.served.items():
            order = self.orders[order_id]
            path = f"allocations[{first}]"
            units = self.order_units.get(order_id, 0)
            if units != order.quantity:
                self.add(
                    ViolationCode.QUANTITY_MISMATCH,
                    path,
                    f"order '{order_id}': parts sum to {units} units, order quantity is "
                    f"{order.quantity}",
                )
            parts = self.order_parts.get(order_id, 0)
            if not order.split.allowed and parts > 1:
                self.add(
                    ViolationCode.SPLIT_NOT_ALLOWED,
                    path,
                    f"order '{order_id}' may not be split but runs at {parts} factories",
                )
            elif order.split.allowed and parts > order.split.max_factories:
                self.add(
                    ViolationCode.TOO_MANY_FACTORIES,
                    path,
                    f"order '{order_id}' runs at {parts} factories, at most "
                    f"{order.split.max_factories} allowed",
                )

    def check_coverage(self) -> None:
        listed: set[str] = set()
        for i, u in enumerate(self.plan.unassigned):
            path = f"unassigned[{i}]"
            order = self.orders.get(u.order)
            if order is None:
                self.add(ViolationCode.UNKNOWN_ORDER, f"{path}.order", f"unknown order '{u.order}'")
                continue
            if u.order in listed:
                self.add(
                    ViolationCode.DUPLICATE_UNASSIGNED, path, f"order '{u.order}' listed twice"
                )
                continue
            listed.add(u.order)
            if u.order in self.served:
                self.add(
                    ViolationCode.SERVED_AND_UNASSIGNED,
                    path,
                    f"order '{u.order}' is unassigned but has allocations "
                    f"(allocations[{self.served[u.order]}])",
                )
            elif order.mandatory:
                self.warnings.append(
                    f"mandatory order '{u.order}' is unassigned ({u.reason.value}: {u.detail})"
                )
            penalty = order.penalties.unserved_cents or 0
            if u.penalty_cents != penalty:
                self.add(
                    ViolationCode.PENALTY_MISMATCH,
                    f"{path}.penalty_cents",
                    f"order '{u.order}': unserved penalty is {penalty}, "
                    f"plan says {u.penalty_cents}",
                )
            if u.mandatory != order.mandatory:
                self.add(
                    ViolationCode.MANDATORY_FLAG_MISMATCH,
                    f"{path}.mandatory",
                    f"order '{u.order}' is {'' if order.mandatory else 'not '}mandatory, plan "
                    f"says mandatory={u.mandatory}",
                )
        for order in self.inst.orders:
            if order.id not in self.served and order.id not in listed:
                self.add(
                    ViolationCode.ORDER_MISSING,
                    "unassigned",
                    f"order '{order.id}' is neither allocated nor unassigned",
                )
            if order.id not in self.served:
                # Charged on every order not served, listed or not: the cost of the
                # decisions, whatever the plan forgot to say.
                self.totals.unserved += order.penalties.unserved_cents or 0

    # -- capacity --------------------------------------------------------------

    def check_capacity(self) -> None:
        for (fid, rid, t), seconds in self.used.items():
            limit = 60 * self.free[(fid, rid)][t]
            if seconds > limit:
                self.add(
                    ViolationCode.CAPACITY_EXCEEDED,
                    "allocations[{}].periods[{}]".format(*self.used_ref[(fid, rid, t)]),
                    f"factory '{fid}' resource '{rid}' period {t}: {seconds} s used "
                    f"(incl. setup), {limit} s free",
                )
        for (fid, buyer), seconds in self.buyer_used.items():
            share = self.factories[fid].max_buyer_share
            if share is None:
                continue
            total_free = self.factory_free[fid]
            share_limit = share * 60 * total_free
            if seconds > share_limit + SHARE_TOL:
                self.add(
                    ViolationCode.BUYER_SHARE_EXCEEDED,
                    f"allocations[{self.buyer_ref[(fid, buyer)]}]",
                    f"factory '{fid}': buyer '{buyer}' uses {seconds} s, more than "
                    f"{share:g} of {60 * total_free} s free ({share_limit:.1f} s)",
                )

    # -- costs -----------------------------------------------------------------

    def recomputed(self) -> CostBreakdown:
        t = self.totals
        w = self.plan.weights
        # Purchasing is another stage's result; the checker cannot recompute it, so it
        # takes the plan's figure when that stage ran and 0 otherwise.
        purchasing = self.plan.costs.purchasing if self.plan.purchasing is not None else 0
        total = t.production + t.transport + t.lateness + t.unserved
        objective = (
            w.production * t.production
            + w.transport * t.transport
            + w.lateness * t.lateness
            + w.unserved * t.unserved
            + w.credit * t.credit
            + w.purchasing * purchasing
        )
        return CostBreakdown(
            production=t.production,
            transport=t.transport,
            lateness=t.lateness,
            unserved=t.unserved,
            credit=t.credit,
            purchasing=purchasing,
            total=total,
            objective=objective,
        )

    def check_costs(self, recomputed: CostBreakdown) -> None:
        stated = self.plan.costs
        if self.plan.purchasing is not None:
            self.warnings.append("purchasing cost taken from the plan, not recomputed")
        for name in ("production", "transport", "lateness", "unserved", "credit", "purchasing"):
            self._compare_cost(name, getattr(recomputed, name), getattr(stated, name))
        self._compare_cost("total", recomputed.total, stated.total)
        if stated.objective != recomputed.objective:
            self.add(
                ViolationCode.OBJECTIVE_MISMATCH,
                "costs.objective",
                f"recomputed {recomputed.objective} with weights "
                f"{self.plan.weights.model_dump()}, plan says {stated.objective}",
            )

    def _compare_cost(self, name: str, expected: int, stated: int) -> None:
        if expected != stated:
            self.add(
                ViolationCode.COST_MISMATCH,
                f"costs.{name}",
                f"recomputed {name} {expected}, plan says {stated}",
            )

    # -- KPIs ------------------------------------------------------------------

    def check_kpis(self) -> None:
        kpis = self.plan.kpis
        n_orders = len(self.inst.orders)
        served = len(self.served)
        on_time = served - len(self.late_orders)
        ordered_units = sum(o.quantity for o in self.inst.orders)
        served_units = sum(self.orders[o].quantity for o in self.served)
        factories_used = {a.factory for a in self.plan.allocations if a.factory in self.factories}
        counts = {
            "orders": n_orders,
            "orders_served": served,
            "orders_on_time": on_time,
            "orders_late": served - on_time,
            "orders_unassigned": n_orders - served,
            "factories_used": len(factories_used),
        }
        for name, expected in counts.items():
            stated = getattr(kpis, name)
            if stated != expected:
                self.add(
                    ViolationCode.KPI_MISMATCH, f"kpis.{name}", f"expected {expected}, got {stated}"
                )
        rates = {
            "fill_rate": _rate(served, n_orders),
            "unit_fill_rate": _rate(served_units, ordered_units),
            "on_time_rate": _rate(on_time, served),
        }
        for name, value in rates.items():
            stated_rate = getattr(kpis, name)
            if not math.isclose(stated_rate, value, rel_tol=0.0, abs_tol=FLOAT_TOL):
                self.add(
                    ViolationCode.KPI_MISMATCH,
                    f"kpis.{name}",
                    f"expected {value}, got {stated_rate}",
                )
        self._check_utilisation()

    def _check_utilisation(self) -> None:
        listed: set[tuple[str, str, int]] = set()
        for i, row in enumerate(self.plan.kpis.utilisation):
            path = f"kpis.utilisation[{i}]"
            key = (row.factory, row.resource_group, row.period)
            where = f"factory '{row.factory}' resource '{row.resource_group}' period {row.period}"
            free = self.free.get((row.factory, row.resource_group))
            if free is None or not 0 <= row.period < self.periods:
                self.add(ViolationCode.UTILISATION_MISMATCH, path, f"{where} does not exist")
                continue
            if key in listed:
                self.add(ViolationCode.UTILISATION_MISMATCH, path, f"{where} listed twice")
                continue
            listed.add(key)
            used = self.used.get(key, 0) / 60
            if not math.isclose(row.used_minutes, used, rel_tol=FLOAT_TOL, abs_tol=FLOAT_TOL):
                self.add(
                    ViolationCode.UTILISATION_MISMATCH,
                    f"{path}.used_minutes",
                    f"{where}: used {used} min, row says {row.used_minutes}",
                )
            if row.free_minutes != free[row.period]:
                self.add(
                    ViolationCode.UTILISATION_MISMATCH,
                    f"{path}.free_minutes",
                    f"{where}: free {free[row.period]} min, row says {row.free_minutes}",
                )
        for key, seconds in self.used.items():
            if seconds > 0 and key not in listed:
                fid, rid, t = key
                self.add(
                    ViolationCode.UTILISATION_MISSING,
                    "kpis.utilisation",
                    f"factory '{fid}' resource '{rid}' period {t} uses {seconds / 60} min "
                    "but has no row",
                )


def _fmt(a: Allocation) -> str:
    return "{" + ", ".join(f"{pq.period}: {pq.quantity}" for pq in a.periods) + "}"


_NO_SOLUTION = (SolveStatus.INFEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.UNKNOWN)


def check_plan(instance: Instance, plan: Plan) -> CheckReport:
    """Verify ``plan`` against ``instance`` under the rules of docs/model.md.

    Parameters
    ----------
    instance
        The validated instance the plan claims to solve.
    plan
        The plan to verify; its weights are the ones the objective is recomputed with.

    Returns
    -------
    CheckReport
        Every violation found (empty when the plan is valid), warnings that do not
        make a plan invalid (an unserved mandatory order), and the costs recomputed
        from the instance and the plan's quantities alone.
    """
    if plan.status in _NO_SOLUTION and not plan.allocations and not plan.unassigned:
        # A failed solve returns an empty plan by design; nothing in it to verify.
        return CheckReport(
            violations=[],
            warnings=[f"plan has status {plan.status.value} and no solution; nothing checked"],
            recomputed=CostBreakdown(),
        )
    checker = _Checker(instance, plan)
    if plan.instance != instance.name:
        checker.warnings.append(
            f"plan is for instance '{plan.instance}', checked against '{instance.name}'"
        )
    checker.check_rows()
    checker.check_parts()
    checker.check_orders()
    checker.check_coverage()
    checker.check_capacity()
    recomputed = checker.recomputed()
    checker.check_costs(recomputed)
    checker.check_kpis()
    return CheckReport(
        violations=checker.violations, warnings=checker.warnings, recomputed=recomputed
    )


def load_plan(path: str | Path) -> Plan:
    """Read a plan JSON file.

    Raises
    ------
    PlanFormatError
        If the file is missing, not JSON, or not a valid plan; every issue has a path.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFormatError([Issue("", f"file not found: {p}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFormatError([Issue("", f"cannot read {p}: {exc}")]) from None
    try:
        return Plan.model_validate_json(text)
    except ValidationError as err:
        # Invalid JSON arrives here too, as one error without a location.
        issues = [
            Issue(format_loc(e["loc"]), e["msg"] if e["loc"] else f"{p}: {e['msg']}")
            for e in err.errors(include_url=False)
        ]
        raise PlanFormatError(issues) from None


def check_files(instance_path: str | Path, plan_path: str | Path) -> CheckReport:
    """Load an instance and a plan from JSON files and check one against the other.

    Raises
    ------
    matcher.validation.InvalidInstanceError
        If the instance file is not a valid instance.
    PlanFormatError
        If the plan file is not a valid plan.
    """
    instance = load_instance(instance_path)
    return check_plan(instance, load_plan(plan_path))
