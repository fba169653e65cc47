"""Independent checker of plans.

Recomputes every constraint, cost and KPI of ``docs/model.md`` from the instance
and the plan's decisions (quantities per period; for orders split by operation, the
transfers between their operations too) alone, and, when the purchasing
stage ran, the rules of ``docs/purchasing.md`` (needs, offers, lead times, coverage,
inbound transport, totals and the savings split), and when the routing stage ran, those
of ``docs/routing.md`` (the transport requests the plan implies and their splits, each
routed once or left to the carrier for a reason the instance bears out, shifts, travel
times, loads, distances, route costs and totals), and when a capacity-sharing analysis is
attached, its rows, rankings, transfers and backups (docs/sharing.md). A re-plan is
checked against the previous plan and the events (:func:`check_replan`): the instance
after the events, work fixed before ``now_period`` or frozen, the units moved and the
report of what changed. It deliberately shares no code with
the engines in ``solvers/``: a bug in an engine must not hide behind the same bug in
its verifier. It reports every violation it finds, each with a stable code and a path
into the plan, rather than stopping at the first.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from matcher.domain.consistency import Issue
from matcher.domain.entities import (
    Capability,
    Factory,
    Location,
    Material,
    Offer,
    Order,
    ScheduleType,
    Supplier,
    Vehicle,
)
from matcher.domain.events import Disruption, OrderCancelled, load_disruption
from matcher.domain.instance import Instance
from matcher.domain.plan import (
    Allocation,
    CapacityRow,
    CapacitySharing,
    CostBreakdown,
    OperationTransfer,
    Plan,
    Purchase,
    Purchasing,
    Replan,
    Routing,
    ShortageReason,
    SolveStatus,
    Transfer,
    TransferKind,
    UnroutedReason,
    VehicleRoute,
)
from matcher.domain.validation import format_loc, load_instance

if TYPE_CHECKING:
    from matcher.domain.replanning import Setup
    from matcher.domain.schedule import Schedule

EARTH_RADIUS_KM = 6371.0
# Floats (rates, minutes) are compared with this tolerance; money and seconds are
# integers and compared exactly.
FLOAT_TOL = 1e-9
# Slack on the buyer-share limit ``s * 60 * free``, a float product: an engine that
# rounds it to an integer number of seconds must not be flagged for float noise.
SHARE_TOL = 1e-6
# Material quantities are floats holding whole units; this much float noise is let pass.
QTY_TOL = 1e-6
# docs/purchasing.md: cum[p] = ceil(sum of raw needs - 1e-9); breaks and the MOQ are
# rounded up and capacities down with the same allowance for float noise.
NEED_TOL = 1e-9
# docs/routing.md. Loads and capacities are floats: this relative slack is let pass.
LOAD_TOL = 1e-6
# How many units fit a vehicle is a floor of a float quotient: this relative slack
# keeps float noise (11700 / 2.34 = 4999.999...) from losing a unit.
FIT_TOL = 1e-9
# The engine rounds each leg to whole metres and seconds and reports times in whole
# minutes: a time is let pass within a minute (plus a second per leg summed), a
# distance within 10 m per leg and a route cost within a cent.
TIME_TOL = 1.0
LEG_TIME_TOL = 1.0 / 60
LEG_KM_TOL = 0.01
COST_TOL = 1
# docs/sharing.md: minutes, hours and marginal values of the capacity-sharing analysis
# are floats; this much absolute noise is let pass.
SHARING_TOL = 1e-6
# Idle hours offered may be stated to 4 decimals: half a unit of the last is let pass.
IDLE_HOURS_TOL = 5e-5


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
    # Orders split by operation (docs/model.md): the price ceiling of the dearest
    # combination of the factories used for each operation.
    ROUTED_PRICE_ABOVE_MAX = "ROUTED_PRICE_ABOVE_MAX"
    # Orders split by operation: one transfer between consecutive operations.
    TRANSFER_NOT_ROUTED = "TRANSFER_NOT_ROUTED"
    TRANSFER_UNKNOWN_PART = "TRANSFER_UNKNOWN_PART"
    DUPLICATE_TRANSFER = "DUPLICATE_TRANSFER"
    TRANSFER_PERIODS = "TRANSFER_PERIODS"
    TRANSFER_PRECEDENCE = "TRANSFER_PRECEDENCE"
    TRANSFER_COST_MISMATCH = "TRANSFER_COST_MISMATCH"
    # Orders split by operation: a stage part's units against the transfers.
    TRANSFER_BALANCE = "TRANSFER_BALANCE"
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
    # Purchasing (docs/purchasing.md): one purchase or delivery.
    PURCHASE_UNKNOWN_OFFER = "PURCHASE_UNKNOWN_OFFER"
    DUPLICATE_PURCHASE = "DUPLICATE_PURCHASE"
    PURCHASE_QUANTITY = "PURCHASE_QUANTITY"
    PURCHASE_MOQ = "PURCHASE_MOQ"
    PURCHASE_CAPACITY = "PURCHASE_CAPACITY"
    PURCHASE_TIER = "PURCHASE_TIER"
    PURCHASE_PRICE = "PURCHASE_PRICE"
    PURCHASE_COST = "PURCHASE_COST"
    PURCHASE_TRANSPORT = "PURCHASE_TRANSPORT"
    PURCHASE_LEAD_TIME = "PURCHASE_LEAD_TIME"
    PURCHASE_SURPLUS = "PURCHASE_SURPLUS"
    # Purchasing: needs against deliveries and shortages.
    MATERIAL_NOT_COVERED = "MATERIAL_NOT_COVERED"
    SHORTAGE_QUANTITY = "SHORTAGE_QUANTITY"
    SHORTAGE_EXCEEDS_NEED = "SHORTAGE_EXCEEDS_NEED"
    SHORTAGE_REASON = "SHORTAGE_REASON"
    SUPPLIER_LIMIT = "SUPPLIER_LIMIT"
    # Purchasing: reported figures.
    PURCHASING_TOTALS = "PURCHASING_TOTALS"
    SAVINGS_TOTALS = "SAVINGS_TOTALS"
    SAVINGS_SPLIT = "SAVINGS_SPLIT"
    CORE_CHECK = "CORE_CHECK"
    # Routing (docs/routing.md): the transport requests against those the plan implies.
    REQUEST_MISSING = "REQUEST_MISSING"
    REQUEST_UNKNOWN = "REQUEST_UNKNOWN"
    DUPLICATE_REQUEST = "DUPLICATE_REQUEST"
    REQUEST_SPLIT = "REQUEST_SPLIT"
    REQUEST_MISMATCH = "REQUEST_MISMATCH"
    REQUEST_LOAD = "REQUEST_LOAD"
    REQUEST_CARRIER = "REQUEST_CARRIER"
    # Routing: every request on exactly one route or left to the carrier, with a reason.
    REQUEST_NOT_ROUTED = "REQUEST_NOT_ROUTED"
    REQUEST_ROUTED_AND_UNROUTED = "REQUEST_ROUTED_AND_UNROUTED"
    REQUEST_ROUTED_TWICE = "REQUEST_ROUTED_TWICE"
    REQUEST_HALF_ROUTED = "REQUEST_HALF_ROUTED"
    DELIVERY_BEFORE_PICKUP = "DELIVERY_BEFORE_PICKUP"
    ROUTED_OUT_OF_REACH = "ROUTED_OUT_OF_REACH"
    STOP_UNKNOWN_REQUEST = "STOP_UNKNOWN_REQUEST"
    UNROUTED_UNKNOWN_REQUEST = "UNROUTED_UNKNOWN_REQUEST"
    DUPLICATE_UNROUTED = "DUPLICATE_UNROUTED"
    UNROUTED_REASON = "UNROUTED_REASON"
    # Routing: one route and its stops.
    ROUTE_UNKNOWN_VEHICLE = "ROUTE_UNKNOWN_VEHICLE"
    ROUTE_DEPOT = "ROUTE_DEPOT"
    DUPLICATE_ROUTE = "DUPLICATE_ROUTE"
    ROUTE_SHIFT = "ROUTE_SHIFT"
    ROUTE_MAX_DURATION = "ROUTE_MAX_DURATION"
    ROUTE_DURATION = "ROUTE_DURATION"
    ROUTE_WAITING = "ROUTE_WAITING"
    ROUTE_END = "ROUTE_END"
    ROUTE_CAPACITY = "ROUTE_CAPACITY"
    ROUTE_DISTANCE = "ROUTE_DISTANCE"
    ROUTE_COST = "ROUTE_COST"
    STOP_ACTION = "STOP_ACTION"
    STOP_PLACE = "STOP_PLACE"
    STOP_WRONG_PERIOD = "STOP_WRONG_PERIOD"
    STOP_OUTSIDE_PERIOD = "STOP_OUTSIDE_PERIOD"
    STOP_ARRIVAL = "STOP_ARRIVAL"
    STOP_START = "STOP_START"
    STOP_DEPARTURE = "STOP_DEPARTURE"
    STOP_LOAD = "STOP_LOAD"
    # Routing: reported figures.
    ROUTING_TOTALS = "ROUTING_TOTALS"
    # Capacity sharing (docs/sharing.md): the capacity rows against the plan's use.
    SHARING_ROW_UNKNOWN = "SHARING_ROW_UNKNOWN"
    SHARING_ROW_DUPLICATE = "SHARING_ROW_DUPLICATE"
    SHARING_USED_MISMATCH = "SHARING_USED_MISMATCH"
    SHARING_FREE_MISMATCH = "SHARING_FREE_MISMATCH"
    SHARING_IDLE_MISMATCH = "SHARING_IDLE_MISMATCH"
    SHARING_NEGATIVE_MARGINAL = "SHARING_NEGATIVE_MARGINAL"
    # Capacity sharing: the ranked suggestions.
    SHARING_RANKING = "SHARING_RANKING"
    SHARING_NEED_MISMATCH = "SHARING_NEED_MISMATCH"
    SHARING_OFFER_MISMATCH = "SHARING_OFFER_MISMATCH"
    SHARING_TRANSFER_INVALID = "SHARING_TRANSFER_INVALID"
    SHARING_BACKUP_INVALID = "SHARING_BACKUP_INVALID"
    # Re-plans (docs/sharing.md): the plan against the previous plan and the events.
    CANCELLED_ORDER_PLANNED = "CANCELLED_ORDER_PLANNED"
    FROZEN_WORK_MOVED = "FROZEN_WORK_MOVED"
    PRODUCTION_BEFORE_NOW = "PRODUCTION_BEFORE_NOW"
    FROZEN_CONFLICT_UNLISTED = "FROZEN_CONFLICT_UNLISTED"
    MOVED_UNITS_MISMATCH = "MOVED_UNITS_MISMATCH"
    # Re-plans: the report of what changed.
    REPLAN_MISSING = "REPLAN_MISSING"
    REPLAN_MOVES = "REPLAN_MOVES"
    REPLAN_FIGURES = "REPLAN_FIGURES"
    REPLAN_NEWLY_LATE = "REPLAN_NEWLY_LATE"
    REPLAN_NEWLY_UNSERVED = "REPLAN_NEWLY_UNSERVED"
    SCHEDULE_UNKNOWN = "SCHEDULE_UNKNOWN"
    SCHEDULE_MACHINE = "SCHEDULE_MACHINE"
    SCHEDULE_DURATION = "SCHEDULE_DURATION"
    SCHEDULE_CALENDAR = "SCHEDULE_CALENDAR"
    SCHEDULE_RELEASE = "SCHEDULE_RELEASE"
    SCHEDULE_OVERLAP = "SCHEDULE_OVERLAP"
    SCHEDULE_PRECEDENCE = "SCHEDULE_PRECEDENCE"
    SCHEDULE_COVERAGE = "SCHEDULE_COVERAGE"
    SCHEDULE_LATENESS = "SCHEDULE_LATENESS"


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


def inbound_transport_cents(
    instance: Instance, supplier: Supplier, factory: Factory, material: Material
) -> int:
    """Per-unit inbound rate of ``material`` from ``supplier`` to ``factory``.

    Half-up rounding with the material's ``kg_per_unit``, as docs/purchasing.md states.
    """
    km = haversine_km(supplier.location, factory.location)
    t = instance.transport
    return math.floor(km * t.road_factor * material.kg_per_unit * t.cents_per_tonne_km / 1000 + 0.5)


def is_routed(order: Order) -> bool:
    """Whether ``order`` is planned operation by operation (docs/model.md): split by
    operation with two or more operations; with one it is planned as usual."""
    return order.split.by_operation and len(order.operations) >= 2


def transfer_minutes(instance: Instance, a: Factory, b: Factory) -> float:
    """``m(a, b)``: handling plus road km at the transfer speed, in minutes."""
    t = instance.transport
    km = haversine_km(a.location, b.location) * t.road_factor
    return t.transfer_handling_minutes + 60 * km / t.transfer_speed_kmh


def transfer_lag(instance: Instance, a: Factory, b: Factory) -> int:
    """``lag(a, b)`` of docs/model.md: 0 at one factory, else ``1 + ceil(m / period)``.

    The quotient is rounded up with :data:`FLOAT_TOL` of slack, so float noise in a
    trip of exactly whole periods does not cost a period.
    """
    if a.id == b.id:
        return 0
    minutes = transfer_minutes(instance, a, b)
    return 1 + math.ceil(minutes / instance.horizon.period_minutes - FLOAT_TOL)


def unit_transfer_cents(instance: Instance, order: Order, a: Factory, b: Factory) -> int:
    """Per-unit transfer rate ``v(o, a, b)``: half-up rounding, 0 at one factory."""
    if a.id == b.id:
        return 0
    km = haversine_km(a.location, b.location)
    t = instance.transport
    return math.floor(km * t.road_factor * order.unit_weight_kg * t.cents_per_tonne_km / 1000 + 0.5)


def _whole(quantity: float) -> int | None:
    """The whole number ``quantity`` holds, or ``None`` if it is fractional (or not finite)."""
    if not math.isfinite(quantity):
        return None
    nearest = round(quantity)
    return int(nearest) if abs(quantity - nearest) <= QTY_TOL else None


def _breaks(offer: Offer) -> list[int]:
    """Tier breaks in whole units: rounded up."""
    return [math.ceil(t.min_quantity - NEED_TOL) for t in offer.price.tiers]


def _minimum(offer: Offer) -> int:
    """The smallest non-zero purchase: the MOQ and the first break, rounded up."""
    return max(_breaks(offer)[0], math.ceil(offer.moq - NEED_TOL))


def _usable(offer: Offer) -> bool:
    """Whether the offer can sell at least one whole unit within its MOQ and capacity."""
    return offer.capacity is None or math.floor(offer.capacity + NEED_TOL) >= max(
        1, _minimum(offer)
    )


def _tier_reached(offer: Offer, breaks: list[int], quantity: int) -> int | None:
    """The tier ``quantity`` reaches; ``None`` below an all-units schedule's first break.

    All-units: the highest tier whose break is at most ``quantity``. Incremental: the
    tier whose range holds unit ``quantity`` (tier 0 holds units ``1..B_1``, tier ``k``
    units ``B_k+1..B_{k+1}``), so an incremental purchase of exactly ``B_k`` units is
    still in tier ``k - 1``.
    """
    if offer.price.type is ScheduleType.INCREMENTAL:
        return max([0] + [k for k in range(1, len(breaks)) if breaks[k] < quantity])
    reached = [k for k, b in enumerate(breaks) if b <= quantity]
    return reached[-1] if reached else None


def _schedule_cost(offer: Offer, breaks: list[int], tier: int, quantity: int) -> int:
    """Material cost of ``quantity`` units under the offer's price schedule."""
    prices = [t.unit_price_cents for t in offer.price.tiers]
    if offer.price.type is ScheduleType.ALL_UNITS:
        return quantity * prices[tier]
    # Incremental: cumulative by tier ranges, with B_0 = 0 and no upper end to the last.
    bounds = [0, *breaks[1:]]
    cost = 0
    for k, price in enumerate(prices):
        upper = bounds[k + 1] if k + 1 < len(bounds) else quantity
        cost += price * max(0, min(quantity, upper) - bounds[k])
    return cost


def cumulative_needs(instance: Instance, plan: Plan) -> dict[tuple[str, str], list[int]]:
    """Whole-unit cumulative material needs ``cum[p]`` per (factory, material).

    From the first operation's rows of the plan (every operation of a part runs at the
    same factory in the same periods; an order split by operation gets its materials at
    its first operation's factories) times the orders' bills of materials, rounded up
    cumulatively as docs/purchasing.md states. Rows naming an unknown order or factory,
    and periods outside the horizon, are left out: they are violations of their own.
    """
    periods = instance.horizon.periods
    orders = {o.id: o for o in instance.orders}
    factories = {f.id for f in instance.factories}
    raw: dict[tuple[str, str], list[float]] = {}
    for a in plan.allocations:
        order = orders.get(a.order)
        if a.operation != 0 or order is None or a.factory not in factories:
            continue
        for pq in a.periods:
            if pq.quantity <= 0 or not 0 <= pq.period < periods:
                continue
            for material, per_unit in order.bill_of_materials.items():
                row = raw.setdefault((a.factory, material), [0.0] * periods)
                row[pq.period] += per_unit * pq.quantity
    needs: dict[tuple[str, str], list[int]] = {}
    for key, per_period in raw.items():
        running = 0.0
        cum: list[int] = []
        for x in per_period:
            running += x
            cum.append(max(0, math.ceil(running - NEED_TOL)))
        needs[key] = cum
    return needs


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
    purchasing: int = 0  # the recomputed collective cost, when the stage ran
    material: int = 0  # its materials alone (what purchasing is once routes exist)
    routed: int | None = None  # fleet + carrier, replacing transport once routes exist
    transfers: int = 0  # orders split by operation: their transfers, added to transport


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
        # Orders split by operation: stage parts by order id, operation and factory id.
        self.stages: dict[str, dict[int, dict[str, _Part]]] = {}
        self.served: dict[str, int] = {}  # order id -> first row naming it
        self.used: dict[tuple[str, str, int], int] = {}  # seconds
        self.used_ref: dict[tuple[str, str, int], tuple[int, int]] = {}  # first (row, entry)
        self.buyer_used: dict[tuple[str, str], int] = defaultdict(int)
        self.buyer_ref: dict[tuple[str, str], int] = {}  # first row
        self.order_units: dict[str, int] = defaultdict(int)
        self.order_parts: dict[str, int] = defaultdict(int)
        self.late_orders: set[str] = set()
        self.totals = _Totals()
        self.cancelled: set[str] = set()  # re-plans: orders the events cancelled
        self.moved: int | None = None  # re-plans: the units moved (None: as the plan says)

    def add(self, code: ViolationCode, path: str, message: str) -> None:
        self.violations.append(Violation(code, path, message))

    def _unknown_order(self, path: str, order_id: str) -> None:
        if order_id in self.cancelled:
            self.add(
                ViolationCode.CANCELLED_ORDER_PLANNED,
                path,
                f"order '{order_id}' was cancelled by the events",
            )
        else:
            self.add(ViolationCode.UNKNOWN_ORDER, path, f"unknown order '{order_id}'")

    # -- rows ------------------------------------------------------------------

    def check_rows(self) -> None:
        for i, a in enumerate(self.plan.allocations):
            self._check_row(i, a)

    def _check_row(self, i: int, a: Allocation) -> None:
        path = f"allocations[{i}]"
        order = self.orders.get(a.order)
        factory = self.factories.get(a.factory)
        if order is None:
            self._unknown_order(f"{path}.order", a.order)
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
        self._part_of(i, a, order, factory).rows[a.operation].append(i)
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

    def _part_of(self, i: int, a: Allocation, order: Order, factory: Factory) -> _Part:
        """The part row ``i`` belongs to: the order at the factory, or for an order split
        by operation its stage part (the operation at the factory)."""
        if is_routed(order):
            stages = self.stages.setdefault(order.id, {}).setdefault(a.operation, {})
            stage = stages.get(factory.id)
            if stage is None:
                stage = stages[factory.id] = _Part(order, factory, i)
            return stage
        key = (order.id, factory.id)
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = _Part(order, factory, i)
        return part

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
        for j in range(len(order.operations)):
            cap = self._fit(path, order, j, factory)
            if cap is not None:
                caps.append(cap)
        self._check_credit(path, order, factory)
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

    def _fit(self, path: str, order: Order, j: int, factory: Factory) -> Capability | None:
        """The capability ``factory`` would make operation ``j`` of ``order`` with, its
        material and quality grade checked; ``None`` (reported) when it has none."""
        op = order.operations[j]
        cap = self.caps[factory.id].get(op.process)
        if cap is None:
            self.add(
                ViolationCode.NO_CAPABILITY,
                path,
                f"order '{order.id}' operation {j}: factory '{factory.id}' has no "
                f"capability '{op.process}'",
            )
            return None
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
        return cap

    def _check_credit(self, path: str, order: Order, factory: Factory) -> None:
        if order.min_credit_score is not None and factory.credit.score < order.min_credit_score:
            self.add(
                ViolationCode.CREDIT_BELOW_MIN,
                path,
                f"order '{order.id}' needs credit score >= {order.min_credit_score}; "
                f"factory '{factory.id}' has {factory.credit.score}",
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

    # -- orders split by operation ----------------------------------------------

    def check_routed(self) -> None:
        """Stage parts of orders split by operation, and every transfer (docs/model.md)."""
        _RoutedChecker(self).run()

    def delivering_parts(self) -> list[_Part]:
        """The parts goods leave from for the buyer: every part, and the last operation's
        stage parts of orders split by operation (each a part of its one operation)."""
        parts = list(self.parts.values())
        for order_id, by_operation in self.stages.items():
            last = len(self.orders[order_id].operations) - 1
            parts += by_operation.get(last, {}).values()
        return parts

    # -- orders ----------------------------------------------------------------

    def check_orders(self) -> None:
        for order_id, first in self.served.items():
            order = self.orders[order_id]
            if is_routed(order):
                continue  # per operation, by check_routed
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
                self._unknown_order(f"{path}.order", u.order)
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

    # -- purchasing --------------------------------------------------------------

    def check_purchasing(self) -> None:
        """The purchasing section, when the stage ran (docs/purchasing.md)."""
        if self.plan.purchasing is None:
            return
        purchasing = _PurchasingChecker(self, self.plan.purchasing)
        purchasing.run()
        self.totals.purchasing = purchasing.collective
        self.totals.material = purchasing.material

    # -- routing -----------------------------------------------------------------

    def check_routing(self) -> None:
        """The routes section, when the stage ran (docs/routing.md)."""
        if self.plan.routes is None:
            return
        routing = _RoutingChecker(self, self.plan.routes)
        routing.run()
        self.totals.routed = routing.transport

    # -- capacity sharing ----------------------------------------------------------

    def check_sharing(self) -> None:
        """The capacity-sharing section, when the analysis ran (docs/sharing.md)."""
        if self.plan.capacity_sharing is None:
            return
        _SharingChecker(self, self.plan.capacity_sharing).run()

    # -- units moved -----------------------------------------------------------------

    def claim_moved_units(self) -> None:
        """Without the previous plan the units moved cannot be recomputed: the plan's
        figure counts in the objective as it stands, with a warning when non-zero."""
        moved = self.plan.costs.moved_units
        if moved < 0:
            self.add(
                ViolationCode.MOVED_UNITS_MISMATCH,
                "costs.moved_units",
                f"{moved} units moved: cannot be negative",
            )
        elif moved:
            self.warnings.append(
                f"costs.moved_units {moved} is unverified: checking it needs the previous "
                "plan and the events (check_replan)"
            )
        if self.plan.replan is not None:
            self.warnings.append(
                "the replan section is unverified: checking it needs the previous plan and "
                "the events (check_replan)"
            )

    # -- costs -----------------------------------------------------------------

    def recomputed(self) -> CostBreakdown:
        t = self.totals
        w = self.plan.weights
        moved = self.plan.costs.moved_units if self.moved is None else self.moved
        transport, purchasing = t.transport, t.purchasing
        if t.routed is not None:
            # docs/routing.md: the fleet's routes and the carrier replace the per-unit
            # estimates, and the materials' inbound transport moves into transport.
            transport, purchasing = t.routed, t.material
        # docs/model.md: transfers between operations are not routed; their per-unit
        # estimate adds to transport before and after routing.
        transport += t.transfers
        total = t.production + transport + t.lateness + t.unserved + purchasing
        objective = (
            w.production * t.production
            + w.transport * transport
            + w.lateness * t.lateness
            + w.unserved * t.unserved
            + w.credit * t.credit
            + w.purchasing * purchasing
            + w.stability * moved
        )
        return CostBreakdown(
            production=t.production,
            transport=transport,
            lateness=t.lateness,
            unserved=t.unserved,
            credit=t.credit,
            purchasing=purchasing,
            total=total,
            moved_units=moved,
            objective=objective,
        )

    def check_costs(self, recomputed: CostBreakdown) -> None:
        stated = self.plan.costs
        for name in ("production", "transport", "lateness", "unserved", "credit", "purchasing"):
            self._compare_cost(name, getattr(recomputed, name), getattr(stated, name))
        self._compare_cost("total", recomputed.total, stated.total)
        if stated.moved_units != recomputed.moved_units:
            self.add(
                ViolationCode.MOVED_UNITS_MISMATCH,
                "costs.moved_units",
                f"recomputed {recomputed.moved_units} units moved away from the factories of "
                f"the previous plan, plan says {stated.moved_units}",
            )
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


def _span(allocation: Allocation) -> tuple[int, int] | None:
    """(first, last) period with a positive quantity; ``None`` for a row without one."""
    periods = [pq.period for pq in allocation.periods if pq.quantity > 0]
    return (min(periods), max(periods)) if periods else None


class _RoutedChecker:
    """Orders split by operation against the last section of docs/model.md.

    Their rows are grouped into stage parts, one per (operation, factory), instead of
    parts with equal period profiles. Each stage part is checked for its own operation
    (capability, material, grade, credit floor, lot bounds, the split minimum), each
    operation for its units and number of factories, each order for the price ceiling
    of the dearest combination of factories, and each transfer against the stage parts
    it joins: units in and out, the ship and arrival periods (from the checker's own
    lag), the precedence and the cost. Costs go into the checker's totals: transport to
    the buyer, lateness and credit from the last operation's stage parts, and the
    transfers' recomputed cents.
    """

    def __init__(self, checker: _Checker) -> None:
        self.checker = checker
        self.add = checker.add
        self.inst = checker.inst
        self.allocations = checker.plan.allocations
        self.orders = checker.orders
        self.factories = checker.factories
        self.stages = checker.stages
        self.totals = checker.totals
        # Units the transfers carry out of and into each stage part (order, j, factory).
        self.out: dict[tuple[str, int, str], int] = defaultdict(int)
        self.into: dict[tuple[str, int, str], int] = defaultdict(int)
        self.listed: dict[tuple[str, int, str, str], int] = {}  # flow -> first transfer

    def run(self) -> None:
        served = [self.orders[o] for o in self.checker.served if is_routed(self.orders[o])]
        for order in served:
            self._check_order(order, self.stages.get(order.id, {}))
        for k, transfer in enumerate(self.checker.plan.transfers):
            self._check_transfer(k, transfer)
        for order in served:
            self._check_balance(order, self.stages.get(order.id, {}))

    def _head(self, stage: _Part) -> Allocation:
        """The stage part's row (the first, when it has duplicates: reported)."""
        return self.allocations[next(iter(stage.rows.values()))[0]]

    # -- stage parts -----------------------------------------------------------------

    def _check_order(self, order: Order, by_operation: dict[int, dict[str, _Part]]) -> None:
        for j, op in enumerate(order.operations):
            stages = by_operation.get(j, {})
            if not stages:
                self.add(
                    ViolationCode.MISSING_OPERATION,
                    f"allocations[{self.checker.served[order.id]}]",
                    f"order '{order.id}' (split by operation): no row for operation {j} "
                    f"('{op.process}'); a served order has every operation made in full",
                )
                continue
            self._check_operation(order, j, stages)
            for stage in stages.values():
                self._check_stage(stage, j)
        self._check_price(order, by_operation)

    def _check_operation(self, order: Order, j: int, stages: dict[str, _Part]) -> None:
        path = f"allocations[{min(s.first_row for s in stages.values())}]"
        units = sum(self._head(s).quantity for s in stages.values())
        if units != order.quantity:
            self.add(
                ViolationCode.QUANTITY_MISMATCH,
                path,
                f"order '{order.id}' operation {j}: stage parts sum to {units} units, order "
                f"quantity is {order.quantity}",
            )
        n = len(stages)
        if not order.split.allowed and n > 1:
            self.add(
                ViolationCode.SPLIT_NOT_ALLOWED,
                path,
                f"order '{order.id}' may not be split but runs operation {j} at {n} "
                f"factories {sorted(stages)}",
            )
        elif order.split.allowed and n > order.split.max_factories:
            self.add(
                ViolationCode.TOO_MANY_FACTORIES,
                path,
                f"order '{order.id}' runs operation {j} at {n} factories {sorted(stages)}, "
                f"at most {order.split.max_factories} allowed",
            )

    def _check_stage(self, stage: _Part, j: int) -> None:
        order, factory = stage.order, stage.factory
        path = f"allocations[{stage.first_row}]"
        rows = stage.rows[j]
        for extra in rows[1:]:
            self.add(
                ViolationCode.DUPLICATE_OPERATION,
                f"allocations[{extra}]",
                f"order '{order.id}' operation {j} at '{factory.id}' has more than one row "
                f"(first at {path})",
            )
        quantity = self.allocations[rows[0]].quantity
        cap = self.checker._fit(path, order, j, factory)
        self.checker._check_credit(path, order, factory)
        if cap is not None and (
            quantity < cap.min_lot or (cap.max_lot is not None and quantity > cap.max_lot)
        ):
            self.add(
                ViolationCode.LOT_SIZE_VIOLATED,
                path,
                f"order '{order.id}' operation {j} at '{factory.id}': stage part of {quantity} "
                f"units outside the lot bounds {cap.min_lot}.."
                f"{cap.max_lot if cap.max_lot is not None else 'inf'}",
            )
        if order.split.allowed and quantity < order.split.min_quantity:
            self.add(
                ViolationCode.SPLIT_BELOW_MIN_QUANTITY,
                path,
                f"order '{order.id}' operation {j} at '{factory.id}': stage part of {quantity} "
                f"units is below the minimum split quantity {order.split.min_quantity}",
            )
        self._stage_costs(stage, j)

    def _stage_costs(self, stage: _Part, j: int) -> None:
        """Transport to the buyer, lateness and credit: the last operation's stage parts
        only; the rows' stated figures (production is charged row by row)."""
        order, factory = stage.order, stage.factory
        rows = stage.rows[j]
        if j < len(order.operations) - 1:
            for i in rows:
                why = "only the last operation's rows carry it"
                self.checker._row_figures(i, self.allocations[i], (0, 0, 0), why)
            return
        rate = unit_transport_cents(self.inst, order, factory)
        head = self.allocations[rows[0]]
        lateness, late_units = _late(head, order)
        self.totals.transport += rate * head.quantity
        self.totals.lateness += lateness
        self.totals.credit += (100 - factory.credit.score) * head.quantity
        if late_units > 0:
            self.checker.late_orders.add(order.id)
        for i in rows:
            a = self.allocations[i]
            cents, units = _late(a, order)
            why = f"last operation: {rate} per unit x {a.quantity}"
            self.checker._row_figures(i, a, (rate * a.quantity, cents, units), why)

    def _check_price(self, order: Order, by_operation: dict[int, dict[str, _Part]]) -> None:
        """The ceiling binds the dearest factory used for each operation, summed."""
        ceiling = order.max_unit_price_cents
        if ceiling is None:
            return
        dearest: list[tuple[int, str]] = []
        for j, op in enumerate(order.operations):
            costs = [
                (cap.unit_cost_cents, fid)
                for fid in by_operation.get(j, {})
                if (cap := self.checker.caps[fid].get(op.process)) is not None
            ]
            if not costs:
                return  # undefined without a capability (reported)
            dearest.append(max(costs))
        price = sum(cents for cents, _ in dearest)
        if price > ceiling:
            route = " + ".join(
                f"operation {j} at '{fid}' {cents}" for j, (cents, fid) in enumerate(dearest)
            )
            self.add(
                ViolationCode.ROUTED_PRICE_ABOVE_MAX,
                f"allocations[{self.checker.served[order.id]}]",
                f"order '{order.id}' pays at most {ceiling} per unit; the dearest combination "
                f"of its factories costs {price} ({route})",
            )

    # -- transfers -------------------------------------------------------------------

    def _stage(self, order: Order, j: int, factory: str) -> _Part | None:
        return self.stages.get(order.id, {}).get(j, {}).get(factory)

    def _check_transfer(self, k: int, tr: OperationTransfer) -> None:
        path = f"transfers[{k}]"
        order = self.orders.get(tr.order)
        if order is None:
            self.checker._unknown_order(f"{path}.order", tr.order)
        ends = []
        for side, fid in (("from_factory", tr.from_factory), ("to_factory", tr.to_factory)):
            factory = self.factories.get(fid)
            if factory is None:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY, f"{path}.{side}", f"unknown factory '{fid}'"
                )
            else:
                ends.append(factory)
        if order is None or len(ends) != 2:
            return
        sender, receiver = ends
        self._check_cost(path, tr, order, sender, receiver)
        if not is_routed(order):
            self.add(
                ViolationCode.TRANSFER_NOT_ROUTED,
                f"{path}.order",
                f"order '{order.id}' "
                + (
                    "has one operation: it is planned as usual"
                    if order.split.by_operation
                    else "is not split by operation: its operations run together at a factory"
                )
                + "; only an order split by operation has transfers",
            )
            return
        if not 0 <= tr.operation < len(order.operations) - 1:
            self.add(
                ViolationCode.OPERATION_OUT_OF_RANGE,
                f"{path}.operation",
                f"order '{order.id}' has {len(order.operations)} operations: a transfer is "
                f"sent by operation 0..{len(order.operations) - 2}, not {tr.operation}",
            )
            return
        self._check_flow(k, tr, order, sender, receiver)

    def _check_cost(
        self, path: str, tr: OperationTransfer, order: Order, sender: Factory, receiver: Factory
    ) -> None:
        rate = unit_transfer_cents(self.inst, order, sender, receiver)
        cents = rate * tr.quantity
        self.totals.transfers += cents
        if tr.transport_cents != cents:
            self.add(
                ViolationCode.TRANSFER_COST_MISMATCH,
                f"{path}.transport_cents",
                f"order '{order.id}' from '{sender.id}' to '{receiver.id}': {rate} per unit x "
                f"{tr.quantity} = {cents}, transfer says {tr.transport_cents}",
            )

    def _check_flow(
        self, k: int, tr: OperationTransfer, order: Order, sender: Factory, receiver: Factory
    ) -> None:
        path = f"transfers[{k}]"
        j = tr.operation
        flow = (order.id, j, sender.id, receiver.id)
        if flow in self.listed:
            self.add(
                ViolationCode.DUPLICATE_TRANSFER,
                path,
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}' is "
                f"already listed at transfers[{self.listed[flow]}]",
            )
        self.listed.setdefault(flow, k)
        if tr.quantity <= 0:
            self.add(
                ViolationCode.NON_POSITIVE_QUANTITY,
                f"{path}.quantity",
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}': "
                f"quantity {tr.quantity} is not positive",
            )
        ends = {}
        for side, step, factory in (("from", j, sender), ("to", j + 1, receiver)):
            stage = self._stage(order, step, factory.id)
            if stage is None:
                self.add(
                    ViolationCode.TRANSFER_UNKNOWN_PART,
                    f"{path}.{side}_factory",
                    f"order '{order.id}' has no row for operation {step} at '{factory.id}'",
                )
                continue
            ends[side] = self._head(stage)
            flows = self.out if side == "from" else self.into
            flows[(order.id, step, factory.id)] += tr.quantity
        if "from" in ends:
            self._check_timing(path, tr, order, (sender, receiver), ends)

    def _check_timing(
        self,
        path: str,
        tr: OperationTransfer,
        order: Order,
        factories: tuple[Factory, Factory],
        ends: dict[str, Allocation],
    ) -> None:
        """Ship and arrival periods from the sender's row and the lag; the receiver may
        not start before the lot arrives (recomputed, so a wrong stated arrival is
        reported once)."""
        sender, receiver = factories
        span = _span(ends["from"])
        if span is None:
            return  # a row without production: reported with the row
        j, last = tr.operation, span[1]
        if tr.ship_period != last:
            self.add(
                ViolationCode.TRANSFER_PERIODS,
                f"{path}.ship_period",
                f"order '{order.id}' operation {j} at '{sender.id}' last produces in period "
                f"{last}, transfer says {tr.ship_period}",
            )
        lag = transfer_lag(self.inst, sender, receiver)
        why = self._lag_why(sender, receiver)
        arrive = last + lag
        if tr.arrive_period != arrive:
            self.add(
                ViolationCode.TRANSFER_PERIODS,
                f"{path}.arrive_period",
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}': "
                f"period {last} + lag {lag} ({why}) = {arrive}, transfer says "
                f"{tr.arrive_period}",
            )
        start = _span(ends["to"]) if "to" in ends and tr.quantity > 0 else None
        if start is not None and start[0] < arrive:
            self.add(
                ViolationCode.TRANSFER_PRECEDENCE,
                path,
                f"order '{order.id}' operation {j + 1} at '{receiver.id}' starts in period "
                f"{start[0]}, before the lot from operation {j} at '{sender.id}' arrives in "
                f"period {arrive} (last period {last} + lag {lag}: {why})",
            )

    def _lag_why(self, sender: Factory, receiver: Factory) -> str:
        if sender.id == receiver.id:
            return "one factory"
        t = self.inst.transport
        km = haversine_km(sender.location, receiver.location) * t.road_factor
        minutes = transfer_minutes(self.inst, sender, receiver)
        return (
            f"{t.transfer_handling_minutes} min handling + {km:.2f} road km at "
            f"{t.transfer_speed_kmh:g} km/h = {minutes:.1f} min, periods of "
            f"{self.inst.horizon.period_minutes} min"
        )

    def _check_balance(self, order: Order, by_operation: dict[int, dict[str, _Part]]) -> None:
        """Every unit of a stage part leaves for the next operation and arrives from the
        previous one (not checked next to an operation with no row: reported once)."""
        last = len(order.operations) - 1
        for j, stages in by_operation.items():
            for fid, stage in stages.items():
                quantity = self._head(stage).quantity
                sides = (
                    ("from", "to", j + 1, self.out, j < last),
                    ("into", "from", j - 1, self.into, j > 0),
                )
                for word, towards, other, flows, applies in sides:
                    carried = flows.get((order.id, j, fid), 0)
                    if not applies or other not in by_operation or carried == quantity:
                        continue
                    self.add(
                        ViolationCode.TRANSFER_BALANCE,
                        f"allocations[{stage.first_row}].quantity",
                        f"order '{order.id}' operation {j} at '{fid}' makes {quantity} units; "
                        f"transfers {word} it {towards} operation {other} carry {carried}",
                    )


class _PurchasingChecker:
    """The purchasing section against docs/purchasing.md, recomputed from first principles.

    ``material`` and ``transport`` end as the recomputed totals (a purchase whose figure
    cannot be recomputed, say of an unknown offer, contributes the plan's own figure, so
    one mistake is reported once).
    """

    def __init__(self, checker: _Checker, section: Purchasing) -> None:
        inst = checker.inst
        self.inst = inst
        self.add = checker.add
        self.section = section
        self.periods = checker.periods
        self.factories = checker.factories
        self.suppliers = {s.id: s for s in inst.suppliers}
        self.offers = {(s.id, o.material): o for s in inst.suppliers for o in s.offers}
        # Material -> lead times of the offers that can sell at least one whole unit (an
        # offer whose capacity is below its minimum purchase is no offer at all).
        self.leads: dict[str, list[int]] = defaultdict(list)
        for s in inst.suppliers:
            for o in s.offers:
                if _usable(o):
                    self.leads[o.material].append(o.lead_time_periods)
        self.materials = {m.id: m for m in inst.materials}
        self.needs = cumulative_needs(inst, checker.plan)
        # Per (factory, material): deliveries by period (one arriving before period 0
        # counts from period 0, one after the horizon never), their total, and the
        # shortages as (period, index into shortages, quantity).
        self.delivered: dict[tuple[str, str], list[float]] = {}
        self.delivered_total: dict[tuple[str, str], float] = defaultdict(float)
        self.short: dict[tuple[str, str], list[tuple[int, int, float]]] = defaultdict(list)
        self.overclaimed: set[tuple[str, str]] = set()
        self.rates: dict[tuple[str, str, str], int] = {}
        self.material = 0
        self.transport = 0

    @property
    def collective(self) -> int:
        return self.material + self.transport

    def run(self) -> None:
        seen: dict[tuple[str, str], int] = {}
        for i, purchase in enumerate(self.section.purchases):
            key = (purchase.supplier, purchase.material)
            if key in seen:
                self.add(
                    ViolationCode.DUPLICATE_PURCHASE,
                    f"purchasing.purchases[{i}]",
                    f"supplier '{purchase.supplier}' material '{purchase.material}' is "
                    f"already bought in purchasing.purchases[{seen[key]}]",
                )
            else:
                seen[key] = i
            self._check_purchase(i, purchase)
        self._check_shortages()
        self._check_coverage()
        self._check_surplus()
        self._check_supplier_limit()
        self._check_totals()
        self._check_shares()
        self._check_core()

    # -- one purchase ------------------------------------------------------------

    def _check_purchase(self, i: int, purchase: Purchase) -> None:
        path = f"purchasing.purchases[{i}]"
        supplier = self.suppliers.get(purchase.supplier)
        offer = self.offers.get((purchase.supplier, purchase.material))
        if supplier is None:
            self.add(
                ViolationCode.PURCHASE_UNKNOWN_OFFER,
                f"{path}.supplier",
                f"unknown supplier '{purchase.supplier}'",
            )
        elif offer is None:
            self.add(
                ViolationCode.PURCHASE_UNKNOWN_OFFER,
                f"{path}.material",
                f"supplier '{purchase.supplier}' does not offer material '{purchase.material}'",
            )
        self.transport += self._check_deliveries(path, purchase, supplier, offer)
        quantity = self._check_quantity(path, purchase)
        if offer is None or quantity is None:
            self.material += purchase.cost_cents
        else:
            self.material += self._check_schedule(path, purchase, offer, quantity)
        if not -QTY_TOL <= purchase.surplus <= purchase.quantity + QTY_TOL:
            self.add(
                ViolationCode.PURCHASE_SURPLUS,
                f"{path}.surplus",
                f"surplus {purchase.surplus:g} outside 0..{purchase.quantity:g}",
            )

    def _check_deliveries(
        self, path: str, purchase: Purchase, supplier: Supplier | None, offer: Offer | None
    ) -> int:
        """Each call-off; returns the recomputed transport.

        The plan's own figure stands in when it cannot be recomputed (an unknown offer,
        factory or a fractional delivery), so that the one mistake is reported once.
        """
        material = self.materials.get(purchase.material)
        lead = offer.lead_time_periods if offer is not None else None
        transport: int | None = 0 if offer is not None else None
        for j, d in enumerate(purchase.deliveries):
            dpath = f"{path}.deliveries[{j}]"
            factory = self.factories.get(d.factory)
            quantity = _whole(d.quantity)
            if factory is None:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{dpath}.factory",
                    f"unknown factory '{d.factory}'",
                )
            if not 0 <= d.period < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{dpath}.period",
                    f"delivery in period {d.period}, outside the horizon 0..{self.periods - 1}",
                )
            if quantity is None or quantity <= 0:
                self.add(
                    ViolationCode.PURCHASE_QUANTITY,
                    f"{dpath}.quantity",
                    f"delivery of {d.quantity:g} is not a positive whole number of units",
                )
            if lead is not None:
                self._check_call_off(dpath, d.period, d.order_period, lead)
            if supplier is None or material is None or factory is None or quantity is None:
                transport = None
            elif transport is not None:
                transport += self._rate(supplier, factory, material) * quantity
            self._deliver(purchase.material, d.factory, d.period, d.quantity)
        if lead is not None and purchase.deliveries:
            first = min(d.period for d in purchase.deliveries) - lead
            if purchase.order_period != first:
                self.add(
                    ViolationCode.PURCHASE_LEAD_TIME,
                    f"{path}.order_period",
                    f"first call-off is in period {first} (earliest delivery - lead time "
                    f"{lead}), plan says {purchase.order_period}",
                )
        if transport is None:
            return purchase.transport_cents
        if transport != purchase.transport_cents:
            self.add(
                ViolationCode.PURCHASE_TRANSPORT,
                f"{path}.transport_cents",
                f"supplier '{purchase.supplier}' material '{purchase.material}': inbound "
                f"transport of the deliveries is {transport}, plan says "
                f"{purchase.transport_cents}",
            )
        return transport

    def _check_call_off(self, dpath: str, period: int, order_period: int, lead: int) -> None:
        expected = period - lead
        if order_period != expected:
            self.add(
                ViolationCode.PURCHASE_LEAD_TIME,
                f"{dpath}.order_period",
                f"delivery for period {period} with lead time {lead} is called off in period "
                f"{expected}, plan says {order_period}",
            )
        elif expected < 0:
            self.add(
                ViolationCode.PURCHASE_LEAD_TIME,
                f"{dpath}.order_period",
                f"delivery for period {period} with lead time {lead} would be called off in "
                f"period {expected}, before the horizon",
            )

    def _rate(self, supplier: Supplier, factory: Factory, material: Material) -> int:
        key = (supplier.id, factory.id, material.id)
        rate = self.rates.get(key)
        if rate is None:
            rate = self.rates[key] = inbound_transport_cents(self.inst, supplier, factory, material)
        return rate

    def _deliver(self, material: str, factory: str, period: int, quantity: float) -> None:
        key = (factory, material)
        self.delivered_total[key] += quantity
        if period < self.periods:
            row = self.delivered.setdefault(key, [0.0] * self.periods)
            row[max(0, period)] += quantity

    def _check_quantity(self, path: str, purchase: Purchase) -> int | None:
        """The purchase's whole quantity, or ``None`` (reported) when it is unusable."""
        quantity = _whole(purchase.quantity)
        if quantity is None or quantity <= 0:
            self.add(
                ViolationCode.PURCHASE_QUANTITY,
                f"{path}.quantity",
                f"quantity {purchase.quantity:g} is not a positive whole number of units",
            )
            return None
        delivered = sum(d.quantity for d in purchase.deliveries)
        if abs(delivered - purchase.quantity) > QTY_TOL:
            self.add(
                ViolationCode.PURCHASE_QUANTITY,
                f"{path}.quantity",
                f"deliveries sum to {delivered:g}, purchase quantity is {purchase.quantity:g}",
            )
            return None
        return quantity

    def _check_schedule(self, path: str, purchase: Purchase, offer: Offer, quantity: int) -> int:
        """MOQ, capacity, tier, price and cost; returns the recomputed cost."""
        who = f"supplier '{purchase.supplier}' material '{purchase.material}'"
        breaks = _breaks(offer)
        minimum = _minimum(offer)
        if quantity < minimum:
            self.add(
                ViolationCode.PURCHASE_MOQ,
                f"{path}.quantity",
                f"{who}: {quantity} units, below the minimum {minimum} (MOQ {offer.moq:g}, "
                f"first break {offer.price.tiers[0].min_quantity:g}, rounded up)",
            )
        if offer.capacity is not None and quantity > math.floor(offer.capacity + NEED_TOL):
            self.add(
                ViolationCode.PURCHASE_CAPACITY,
                f"{path}.quantity",
                f"{who}: {quantity} units, above the capacity {offer.capacity:g} "
                f"({math.floor(offer.capacity + NEED_TOL)} whole units)",
            )
        tier = _tier_reached(offer, breaks, quantity)
        if tier is None:
            return purchase.cost_cents  # below the first all-units break: PURCHASE_MOQ
        kind = offer.price.type.value
        if purchase.tier != tier:
            self.add(
                ViolationCode.PURCHASE_TIER,
                f"{path}.tier",
                f"{who}: {quantity} units reach tier {tier} of the {kind} schedule with "
                f"breaks {breaks}, plan says {purchase.tier}",
            )
        price = offer.price.tiers[tier].unit_price_cents
        if purchase.unit_price_cents != price:
            self.add(
                ViolationCode.PURCHASE_PRICE,
                f"{path}.unit_price_cents",
                f"{who}: tier {tier} costs {price} per unit, plan says {purchase.unit_price_cents}",
            )
        cost = _schedule_cost(offer, breaks, tier, quantity)
        if purchase.cost_cents != cost:
            self.add(
                ViolationCode.PURCHASE_COST,
                f"{path}.cost_cents",
                f"{who}: {quantity} units cost {cost} on the {kind} schedule, plan says "
                f"{purchase.cost_cents}",
            )
        return cost

    # -- needs against deliveries and shortages ----------------------------------

    def _check_shortages(self) -> None:
        for i, s in enumerate(self.section.shortages):
            path = f"purchasing.shortages[{i}]"
            if s.factory not in self.factories:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{path}.factory",
                    f"unknown factory '{s.factory}'",
                )
            if not 0 <= s.period < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{path}.period",
                    f"shortage in period {s.period}, outside the horizon 0..{self.periods - 1}",
                )
            quantity = _whole(s.quantity)
            if quantity is None or quantity <= 0:
                self.add(
                    ViolationCode.SHORTAGE_QUANTITY,
                    f"{path}.quantity",
                    f"shortage of {s.quantity:g} is not a positive whole number of units",
                )
            leads = self.leads.get(s.material, [])
            if s.reason is ShortageReason.NO_SUPPLIER and leads:
                self.add(
                    ViolationCode.SHORTAGE_REASON,
                    f"{path}.reason",
                    f"{len(leads)} supplier(s) offer material '{s.material}'",
                )
            elif s.reason is ShortageReason.LEAD_TIME and leads and min(leads) <= s.period:
                self.add(
                    ViolationCode.SHORTAGE_REASON,
                    f"{path}.reason",
                    f"material '{s.material}' has an offer with lead time {min(leads)}, in time "
                    f"for period {s.period}",
                )
            self.short[(s.factory, s.material)].append((s.period, i, s.quantity))
        for (fid, mid), entries in self.short.items():
            cum = self.needs.get((fid, mid))
            total = 0.0
            for period, i, amount in sorted(entries):
                total += amount
                need = cum[min(max(period, 0), self.periods - 1)] if cum else 0
                if total > need + QTY_TOL:
                    self.overclaimed.add((fid, mid))
                    self.add(
                        ViolationCode.SHORTAGE_EXCEEDS_NEED,
                        f"purchasing.shortages[{i}].quantity",
                        f"factory '{fid}' material '{mid}': shortages up to period {period} "
                        f"total {total:g}, more than the {need} units needed by then",
                    )
                    break

    def _check_coverage(self) -> None:
        for (fid, mid), cum in self.needs.items():
            delivered = self.delivered.get((fid, mid), [0.0] * self.periods)
            short = [0.0] * self.periods
            for period, _, quantity in self.short.get((fid, mid), []):
                if period < self.periods:
                    short[max(0, period)] += quantity
            got = missing = 0.0
            for p in range(self.periods):
                got += delivered[p]
                missing += short[p]
                if got + missing + QTY_TOL < cum[p]:
                    self.add(
                        ViolationCode.MATERIAL_NOT_COVERED,
                        "purchasing.purchases",
                        f"factory '{fid}' material '{mid}': {cum[p]} units needed by period "
                        f"{p}, {got:g} delivered by then and {missing:g} reported short",
                    )
                    break

    def _check_surplus(self) -> None:
        """Per material, the stated surplus is what was delivered beyond the needs."""
        expected: dict[str, float] = defaultdict(float)
        for (fid, mid), delivered in self.delivered_total.items():
            cum = self.needs.get((fid, mid))
            # Shortages that claim more than the need are reported once, as such.
            shortages = [] if (fid, mid) in self.overclaimed else self.short.get((fid, mid), [])
            short = sum(q for _, _, q in shortages)
            expected[mid] += max(0.0, delivered - ((cum[-1] if cum else 0) - short))
        stated: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        for i, purchase in enumerate(self.section.purchases):
            stated[purchase.material] += purchase.surplus
            first.setdefault(purchase.material, i)
        for mid, i in first.items():
            if abs(stated[mid] - expected[mid]) > QTY_TOL:
                self.add(
                    ViolationCode.PURCHASE_SURPLUS,
                    f"purchasing.purchases[{i}].surplus",
                    f"material '{mid}': {expected[mid]:g} units delivered beyond the needs "
                    f"(net of shortages), the purchases state a surplus of {stated[mid]:g}",
                )

    def _check_supplier_limit(self) -> None:
        limit = self.section.max_suppliers_per_material
        if limit is None:
            return
        used: dict[str, list[str]] = defaultdict(list)
        for i, purchase in enumerate(self.section.purchases):
            suppliers = used[purchase.material]
            if purchase.supplier in suppliers:
                continue
            suppliers.append(purchase.supplier)
            if len(suppliers) == limit + 1:
                self.add(
                    ViolationCode.SUPPLIER_LIMIT,
                    f"purchasing.purchases[{i}]",
                    f"material '{purchase.material}' bought from {suppliers}, at most {limit} "
                    "supplier(s) allowed",
                )

    # -- reported figures --------------------------------------------------------

    def _check_totals(self) -> None:
        s = self.section
        figures = {
            "material_cents": self.material,
            "transport_cents": self.transport,
            "collective_cents": self.collective,
        }
        for name, expected in figures.items():
            stated = getattr(s, name)
            if stated != expected:
                self.add(
                    ViolationCode.PURCHASING_TOTALS,
                    f"purchasing.{name}",
                    f"recomputed {expected}, plan says {stated}",
                )
        self._check_savings()

    def _check_savings(self) -> None:
        s = self.section
        if s.standalone_cents is None:
            # The solve stopped before the stand-alone costs: no savings to state.
            if s.savings_cents is not None:
                self.add(
                    ViolationCode.SAVINGS_TOTALS,
                    "purchasing.savings_cents",
                    f"savings {s.savings_cents} stated without a stand-alone cost",
                )
            return
        savings = s.standalone_cents - self.collective
        if s.savings_cents != savings:
            self.add(
                ViolationCode.SAVINGS_TOTALS,
                "purchasing.savings_cents",
                f"standalone {s.standalone_cents} - collective {self.collective} = {savings}, "
                f"plan says {s.savings_cents}",
            )
        by_material = sum(s.savings_by_material_cents.values())
        if s.savings_cents is not None and by_material != s.savings_cents:
            self.add(
                ViolationCode.SAVINGS_TOTALS,
                "purchasing.savings_by_material_cents",
                f"savings by material sum to {by_material}, plan says {s.savings_cents} in total",
            )
        for mid in s.savings_by_material_cents:
            if mid not in self.materials:
                self.add(
                    ViolationCode.SAVINGS_TOTALS,
                    f"purchasing.savings_by_material_cents.{mid}",
                    f"unknown material '{mid}'",
                )

    def _check_shares(self) -> None:
        s = self.section
        shapley = ("shapley", "shapley-sampled")
        methods = {"proportional": ("proportional",), "shapley": shapley}
        methods["shapley-sampled"] = shapley
        methods["mixed"] = ("mixed",)  # some materials fell back to another method
        allowed = methods.get(s.split_method)
        if allowed is None:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.split_method",
                f"unknown split method '{s.split_method}' (proportional, shapley, "
                "shapley-sampled or mixed)",
            )
        if not s.shares and s.standalone_cents is None:
            return  # the solve stopped before the split
        needy = {fid for (fid, _), cum in self.needs.items() if cum[-1] > 0}
        seen: set[str] = set()
        for i, share in enumerate(s.shares):
            path = f"purchasing.shares[{i}]"
            if share.factory not in self.factories:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{path}.factory",
                    f"unknown factory '{share.factory}'",
                )
            elif share.factory in seen:
                self.add(
                    ViolationCode.SAVINGS_SPLIT, path, f"factory '{share.factory}' listed twice"
                )
            elif share.factory not in needy and (share.standalone_cents or share.charged_cents):
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    path,
                    f"factory '{share.factory}' needs no material but is charged "
                    f"{share.charged_cents} with a stand-alone cost of {share.standalone_cents}",
                )
            seen.add(share.factory)
            if share.saving_cents != share.standalone_cents - share.charged_cents:
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    f"{path}.saving_cents",
                    f"standalone {share.standalone_cents} - charged {share.charged_cents} = "
                    f"{share.standalone_cents - share.charged_cents}, plan says "
                    f"{share.saving_cents}",
                )
            if allowed is not None and share.method not in allowed:
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    f"{path}.method",
                    f"method '{share.method}' with split '{s.split_method}'",
                )
        missing = sorted(needy - seen)
        if missing:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"no line for factory/factories {missing}, which need material",
            )
        self._check_share_sums()

    def _check_share_sums(self) -> None:
        # The charges themselves are not recomputed: Shapley needs the coalitions'
        # optimal costs, and the split is made per material, from stand-alone costs per
        # factory and material that the plan does not carry (even proportional).
        s = self.section
        charged = sum(share.charged_cents for share in s.shares)
        if charged != self.collective:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"charges sum to {charged}, the collective cost is {self.collective}",
            )
        standalone = sum(share.standalone_cents for share in s.shares)
        if s.standalone_cents is not None and standalone != s.standalone_cents:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"stand-alone costs sum to {standalone}, plan says {s.standalone_cents}",
            )

    def _check_core(self) -> None:
        core = self.section.core
        if core is None:
            return
        if core.excess_cents < 0:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.excess_cents",
                f"excess {core.excess_cents} is negative (0 when no coalition blocks)",
            )
        elif core.excess_cents > 0 and not core.blocking_coalition:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.blocking_coalition",
                f"excess {core.excess_cents} but no blocking coalition named",
            )
        if core.material is not None and core.material not in self.materials:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.material",
                f"unknown material '{core.material}'",
            )
        # A coalition leaves one material's buying group: its members are factories of
        # the split, and when the material is named, factories that need it.
        members = {share.factory for share in self.section.shares}
        if core.material is not None:
            members &= {f for (f, m), cum in self.needs.items() if m == core.material and cum[-1]}
        seen: set[str] = set()
        for k, fid in enumerate(core.blocking_coalition):
            if fid in seen:
                why = "listed twice"
            elif fid not in members:
                why = "not a factory of the split" + (
                    f" that needs '{core.material}'" if core.material is not None else ""
                )
            else:
                why = ""
            if why:
                self.add(
                    ViolationCode.CORE_CHECK,
                    f"purchasing.core.blocking_coalition[{k}]",
                    f"'{fid}' is {why}",
                )
            seen.add(fid)


PICKUP, DELIVERY = "pickup", "delivery"


@dataclass(frozen=True)
class _Load:
    """One transport request of docs/routing.md: as the checker derives it from the
    plan, or (for a request that does not follow from the plan) as the plan states it."""

    id: str
    kind: str
    period: int
    origin: str
    destination: str
    origin_at: Location
    destination_at: Location
    units: float
    per_unit: dict[str, float]
    carrier_cents: int
    order: str | None = None
    material: str | None = None

    @property
    def load(self) -> dict[str, float]:
        return {d: self.units * x for d, x in self.per_unit.items()}


def _per_unit(dims: Sequence[str], kg: float, m3: float) -> dict[str, float]:
    """Load of one unit per capacity dimension; any other dimension carries nothing."""
    known = {"weight_kg": kg, "volume_m3": m3}
    return {d: known.get(d, 0.0) for d in dims}


def _close(stated: float, expected: float) -> bool:
    return abs(stated - expected) <= LOAD_TOL * max(1.0, abs(expected))


def _fmt_load(load: dict[str, float]) -> str:
    return "{" + ", ".join(f"{d}: {x:g}" for d, x in sorted(load.items())) + "}"


class _RoutingChecker:
    """The routes section against docs/routing.md, recomputed from first principles.

    The requests are re-derived from the plan's allocations and purchases; times,
    loads, distances and costs from the instance's places and vehicles. ``fleet`` and
    ``carrier`` end as the recomputed transport: the routes' costs (a route's stated
    cost stands when it is within :data:`COST_TOL` of the recomputed one, rounding
    aside; otherwise the recomputed one counts, so one mistake is reported once) and
    the carrier price of every request the fleet does not carry.
    """

    def __init__(self, checker: _Checker, section: Routing) -> None:
        inst = checker.inst
        self.inst = inst
        self.add = checker.add
        self.plan = checker.plan
        self.section = section
        self.periods = checker.periods
        self.period_minutes = inst.horizon.period_minutes
        self.factories = checker.factories
        self.orders = checker.orders
        self.suppliers = {s.id: s for s in inst.suppliers}
        self.materials = {m.id: m for m in inst.materials}
        self.vehicles = {v.id: v for v in inst.fleet.vehicles}
        self.depots = {d.id: d.location for d in inst.fleet.depots}
        self.service = inst.fleet.service_minutes
        self.minimum = inst.transport.carrier_min_cents
        self.road_factor = inst.transport.road_factor
        # The capacity dimensions: those the vehicles list (a vehicle without one has no
        # room in it); loads in any other are nothing anyone limits, so not compared.
        listed = dict.fromkeys(d for v in inst.fleet.vehicles for d in v.capacity)
        self.dims = tuple(listed) or ("weight_kg", "volume_m3")
        self.km_cache: dict[tuple[float, float, float, float], float] = {}
        self.fits_cache: dict[tuple[tuple[str, float], ...], int | None] = {}
        self.expected = self._expected(checker.delivering_parts())
        # Requests by id as they count: the expected ones, except that a request split
        # otherwise than the rules say counts as the plan states its parts.
        self.loads: dict[str, _Load] = dict(self.expected)
        self.extra: dict[str, _Load] = {}  # requests that do not follow from the plan
        self.stated: dict[str, int] = {}  # id -> first index into routes.requests
        self.visits: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.fleet = 0
        self.carrier = 0
        self.km = 0.0

    @property
    def transport(self) -> int:
        return self.fleet + self.carrier

    def run(self) -> None:
        self._check_requests()
        seen: dict[tuple[str, int], int] = {}
        for i, route in enumerate(self.section.routes):
            self._check_route(i, route, seen)
        self._check_coverage()
        self._check_totals()

    # -- geometry ------------------------------------------------------------------

    def _km(self, a: Location, b: Location) -> float:
        """Road km: haversine x road factor (the engine rounds to whole metres)."""
        key = (a.lat, a.lon, b.lat, b.lon)
        km = self.km_cache.get(key)
        if km is None:
            km = self.km_cache[key] = haversine_km(a, b) * self.road_factor
        return km

    @staticmethod
    def _minutes(km: float, vehicle: Vehicle) -> float:
        return km / vehicle.speed_kmh * 60

    def _slack(self, vehicle: Vehicle, load: _Load) -> float:
        """Minutes to spare when ``vehicle`` alone goes depot -> pickup -> delivery ->
        depot in its shift (negative: it cannot), the delivery starting in the period."""
        depot = self.depots[vehicle.depot]
        to_pickup = self._minutes(self._km(depot, load.origin_at), vehicle)
        across = self._minutes(self._km(load.origin_at, load.destination_at), vehicle)
        back = self._minutes(self._km(load.destination_at, depot), vehicle)
        limit = vehicle.shift_end_minute - vehicle.shift_start_minute
        if vehicle.max_duration_minutes is not None:
            limit = min(limit, vehicle.max_duration_minutes)
        need = to_pickup + across + back + 2 * self.service
        delivered = vehicle.shift_start_minute + to_pickup + self.service + across
        return min(limit - need, self.period_minutes - delivered)

    # -- capacity ------------------------------------------------------------------

    def _most_units(self, per_unit: dict[str, float]) -> int | None:
        """The most units any single vehicle can carry: ``None`` when a unit weighs and
        fills nothing that a vehicle limits, 0 when no vehicle takes one (or none exist).

        A dimension a vehicle does not list is one it has no room in.
        """
        key = tuple(sorted(per_unit.items()))
        if key in self.fits_cache:
            return self.fits_cache[key]
        best: int | None = 0
        for v in self.inst.fleet.vehicles:
            limits = [
                math.floor(v.capacity.get(d, 0.0) / x * (1 + FIT_TOL))
                for d, x in per_unit.items()
                if x > 0
            ]
            if not limits:
                best = None
                break
            best = max(best or 0, min(limits))
        self.fits_cache[key] = best
        return best

    @staticmethod
    def _over(vehicle: Vehicle, load: dict[str, float]) -> dict[str, float]:
        """The dimensions in which ``load`` exceeds the vehicle's capacity."""
        return {
            d: x
            for d, x in load.items()
            if x > vehicle.capacity.get(d, 0.0) * (1 + LOAD_TOL) + LOAD_TOL
        }

    # -- the requests the plan implies ---------------------------------------------

    def _expected(self, parts: Iterable[_Part]) -> dict[str, _Load]:
        loads: list[tuple[_Load, int]] = []  # unsplit, with the per-unit estimate
        allocations = self.plan.allocations
        for part in parts:
            # The part's quantities are on its last operation's row (or the latest
            # present, when it is missing: reported as MISSING_OPERATION).
            head = allocations[part.rows[max(part.rows)][0]]
            periods = [
                pq.period
                for pq in head.periods
                if pq.quantity > 0 and 0 <= pq.period < self.periods
            ]
            if head.quantity <= 0 or not periods:
                continue  # reported with the row
            order, factory = part.order, part.factory
            load = _Load(
                id=f"goods:{order.id}:{factory.id}",
                kind="goods",
                period=max(periods),
                origin=factory.id,
                destination=order.id,
                origin_at=factory.location,
                destination_at=order.delivery,
                units=head.quantity,
                per_unit=_per_unit(self.dims, order.unit_weight_kg, order.unit_volume_m3),
                carrier_cents=0,
                order=order.id,
            )
            loads.append((load, unit_transport_cents(self.inst, order, factory)))
        loads += self._material_loads()
        expected: dict[str, _Load] = {}
        for load, rate in loads:
            for part_load in self._split(load, rate):
                expected[part_load.id] = part_load
        return expected

    def _material_loads(self) -> list[tuple[_Load, int]]:
        if self.plan.purchasing is None:
            return []
        loads: dict[str, tuple[_Load, int]] = {}
        for purchase in self.plan.purchasing.purchases:
            supplier = self.suppliers.get(purchase.supplier)
            material = self.materials.get(purchase.material)
            if supplier is None or material is None:
                continue  # reported as PURCHASE_UNKNOWN_OFFER
            for d in purchase.deliveries:
                factory = self.factories.get(d.factory)
                units = _whole(d.quantity)
                if factory is None or units is None or units <= 0:
                    continue  # reported with the delivery
                if not 0 <= d.period < self.periods:
                    continue
                rid = f"material:{material.id}:{supplier.id}:{factory.id}:{d.period}"
                if rid in loads:
                    # Two call-offs for one factory and period: one load, one id.
                    units += int(loads[rid][0].units)
                load = _Load(
                    id=rid,
                    kind="material",
                    period=d.period,
                    origin=supplier.id,
                    destination=factory.id,
                    origin_at=supplier.location,
                    destination_at=factory.location,
                    units=units,
                    per_unit=_per_unit(self.dims, material.kg_per_unit, material.m3_per_unit),
                    carrier_cents=0,
                    material=material.id,
                )
                loads[rid] = (load, inbound_transport_cents(self.inst, supplier, factory, material))
        return list(loads.values())

    def _carrier(self, units: int, rate: int) -> int:
        return max(self.minimum, units * rate)

    def _split(self, load: _Load, rate: int) -> list[_Load]:
        """The fewest parts the largest-carrying vehicle takes, as even as possible."""
        units = int(load.units)
        most = self._most_units(load.per_unit)
        n = -(-units // most) if most else 1  # no split when it weighs nothing or is too heavy
        if n <= 1:
            return [replace(load, carrier_cents=self._carrier(units, rate))]
        small, extra = divmod(units, n)
        parts = []
        for i in range(n):
            q = small + (1 if i < extra else 0)
            parts.append(
                replace(
                    load, id=f"{load.id}#{i + 1}/{n}", units=q, carrier_cents=self._carrier(q, rate)
                )
            )
        return parts

    def _resolve(self, i: int) -> _Load | None:
        """A stated request that does not follow from the plan, as stated (``None`` when
        its places are unknown)."""
        r = self.section.requests[i]
        ends: tuple[Location, Location] | None = None
        if r.kind == "goods":
            factory, order = self.factories.get(r.origin), self.orders.get(r.destination)
            if factory is not None and order is not None:
                ends = (factory.location, order.delivery)
        elif r.kind == "material":
            supplier, factory = self.suppliers.get(r.origin), self.factories.get(r.destination)
            if supplier is not None and factory is not None:
                ends = (supplier.location, factory.location)
        if ends is None or not r.quantity > 0:
            return None
        return _Load(
            id=r.id,
            kind=r.kind,
            period=r.period,
            origin=r.origin,
            destination=r.destination,
            origin_at=ends[0],
            destination_at=ends[1],
            units=r.quantity,
            per_unit={d: r.load.get(d, 0.0) / r.quantity for d in self.dims},
            carrier_cents=r.carrier_cents,
            order=r.order,
            material=r.material,
        )

    def _lookup(self, rid: str) -> _Load | None:
        """The request as it counts; a part the plan split otherwise is still known."""
        return self.loads.get(rid) or self.extra.get(rid) or self.expected.get(rid)

    def _known(self, rid: str) -> bool:
        return rid in self.stated or rid in self.expected

    # -- the requests as stated ------------------------------------------------------

    def _check_requests(self) -> None:
        requests = self.section.requests
        expected_parts: dict[str, list[str]] = defaultdict(list)
        for rid in self.expected:
            expected_parts[rid.split("#")[0]].append(rid)
        stated_parts: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            if r.id in self.stated:
                self.add(
                    ViolationCode.DUPLICATE_REQUEST,
                    f"routes.requests[{i}]",
                    f"request '{r.id}' is already listed at routes.requests[{self.stated[r.id]}]",
                )
                continue
            self.stated[r.id] = i
            stated_parts[r.id.split("#")[0]].append(i)
        for base, ids in expected_parts.items():
            indexes = stated_parts.get(base, [])
            if not indexes:
                parts = f" ({len(ids)} parts)" if len(ids) > 1 else ""
                self.add(
                    ViolationCode.REQUEST_MISSING,
                    "routes.requests",
                    f"request '{base}'{parts} follows from the plan but is not listed",
                )
                continue
            names = [requests[i].id for i in indexes]
            if sorted(names) == sorted(ids):
                for i in indexes:
                    self._compare(i, self.expected[requests[i].id])
                continue
            units = sum(int(self.expected[rid].units) for rid in ids)
            self.add(
                ViolationCode.REQUEST_SPLIT,
                f"routes.requests[{indexes[0]}]",
                f"request '{base}' of {units} units: expected {sorted(ids)}, plan lists "
                f"{sorted(names)}",
            )
            # Count the parts as the plan states them, so the mistake is reported once.
            for rid in ids:
                del self.loads[rid]
            for i in indexes:
                resolved = self._resolve(i)
                if resolved is not None:
                    self.loads[resolved.id] = resolved
        for base, indexes in stated_parts.items():
            if base in expected_parts:
                continue
            for i in indexes:
                self.add(
                    ViolationCode.REQUEST_UNKNOWN,
                    f"routes.requests[{i}]",
                    f"request '{requests[i].id}' does not follow from the plan's allocations "
                    "and purchases",
                )
                resolved = self._resolve(i)
                if resolved is not None:
                    self.extra[resolved.id] = resolved

    def _compare(self, i: int, expected: _Load) -> None:
        r = self.section.requests[i]
        path = f"routes.requests[{i}]"
        fields: dict[str, str | int | None] = {
            "kind": expected.kind,
            "period": expected.period,
            "origin": expected.origin,
            "destination": expected.destination,
            "order": expected.order,
            "material": expected.material,
        }
        for name, value in fields.items():
            stated = getattr(r, name)
            if stated != value:
                self.add(
                    ViolationCode.REQUEST_MISMATCH,
                    f"{path}.{name}",
                    f"request '{r.id}': expected {value!r}, plan says {stated!r}",
                )
        if abs(r.quantity - expected.units) > QTY_TOL:
            split = "#" in r.id
            self.add(
                ViolationCode.REQUEST_SPLIT if split else ViolationCode.REQUEST_MISMATCH,
                f"{path}.quantity",
                f"request '{r.id}': {expected.units:g} units"
                + (" (the first q mod n parts get ceil(q / n))" if split else "")
                + f", plan says {r.quantity:g}",
            )
            return  # its load and price follow from the quantity
        want = expected.load
        for d in self.dims:
            if not _close(r.load.get(d, 0.0), want.get(d, 0.0)):
                self.add(
                    ViolationCode.REQUEST_LOAD,
                    f"{path}.load.{d}",
                    f"request '{r.id}': {expected.units:g} units load {want.get(d, 0.0):g} "
                    f"{d}, plan says {r.load.get(d, 0.0):g}",
                )
        if r.carrier_cents != expected.carrier_cents:
            self.add(
                ViolationCode.REQUEST_CARRIER,
                f"{path}.carrier_cents",
                f"request '{r.id}': the carrier charges {expected.carrier_cents} (max of the "
                f"minimum {self.minimum} and units x the per-unit estimate), plan says "
                f"{r.carrier_cents}",
            )

    # -- one route -------------------------------------------------------------------

    def _check_route(self, i: int, r: VehicleRoute, seen: dict[tuple[str, int], int]) -> None:
        path = f"routes.routes[{i}]"
        vehicle = self.vehicles.get(r.vehicle)
        if vehicle is None:
            self.add(
                ViolationCode.ROUTE_UNKNOWN_VEHICLE,
                f"{path}.vehicle",
                f"unknown vehicle '{r.vehicle}'",
            )
        elif r.depot != vehicle.depot:
            self.add(
                ViolationCode.ROUTE_DEPOT,
                f"{path}.depot",
                f"vehicle '{r.vehicle}' is based at '{vehicle.depot}', route says '{r.depot}'",
            )
        if not 0 <= r.period < self.periods:
            self.add(
                ViolationCode.PERIOD_OUTSIDE_HORIZON,
                f"{path}.period",
                f"route in period {r.period}, outside the horizon 0..{self.periods - 1}",
            )
        key = (r.vehicle, r.period)
        if key in seen:
            self.add(
                ViolationCode.DUPLICATE_ROUTE,
                path,
                f"vehicle '{r.vehicle}' already runs routes.routes[{seen[key]}] in period "
                f"{r.period}",
            )
        else:
            seen[key] = i
        found = self._check_stops(i, r)
        places = [p for p in found if p is not None]
        if vehicle is None or len(places) < len(found):
            # Nothing to recompute the route with: its own figures stand in.
            self.fleet += r.cost_cents
            self.km += r.distance_km
            return
        self._check_loads(path, r, vehicle)
        depot = self.depots[vehicle.depot]
        legs = [self._km(a, b) for a, b in itertools.pairwise([depot, *places, depot])]
        self._check_times(path, r, vehicle, legs)
        self._check_cost(path, r, vehicle, legs)

    def _check_stops(self, i: int, r: VehicleRoute) -> list[Location | None]:
        """Each stop's request, action, place and period; the stops' locations."""
        places: list[Location | None] = []
        for j, stop in enumerate(r.stops):
            spath = f"routes.routes[{i}].stops[{j}]"
            self.visits[stop.request].append((i, j, stop.action))
            load = self._lookup(stop.request)
            if stop.action not in (PICKUP, DELIVERY):
                self.add(
                    ViolationCode.STOP_ACTION,
                    f"{spath}.action",
                    f"action '{stop.action}' (pickup or delivery)",
                )
                places.append(None)
                continue
            if load is None:
                places.append(None)  # unknown: STOP_UNKNOWN_REQUEST or REQUEST_UNKNOWN
                continue
            pickup = stop.action == PICKUP
            place = load.origin if pickup else load.destination
            if stop.place != place:
                self.add(
                    ViolationCode.STOP_PLACE,
                    f"{spath}.place",
                    f"request '{load.id}' {stop.action} is at '{place}', stop says '{stop.place}'",
                )
            if load.period != r.period:
                self.add(
                    ViolationCode.STOP_WRONG_PERIOD,
                    f"{spath}.request",
                    f"request '{load.id}' moves in period {load.period}, the route runs in "
                    f"period {r.period}",
                )
            places.append(load.origin_at if pickup else load.destination_at)
        return places

    def _check_loads(self, path: str, r: VehicleRoute, vehicle: Vehicle) -> None:
        """``load_after`` against the requests as stated; the capacity against the true
        loads (empty when leaving the depot)."""
        stated: dict[str, float] = defaultdict(float)
        true: dict[str, float] = defaultdict(float)
        overloaded = False
        for j, stop in enumerate(r.stops):
            spath = f"{path}.stops[{j}]"
            truth = self._lookup(stop.request)
            index = self.stated.get(stop.request)
            claimed = self.section.requests[index].load if index is not None else None
            if claimed is None and truth is not None:
                claimed = truth.load
            sign = 1.0 if stop.action == PICKUP else -1.0
            for d, x in (claimed or {}).items():
                stated[d] += sign * x
            for d, x in (truth.load if truth is not None else {}).items():
                true[d] += sign * x
            for d in self.dims:
                if not _close(stop.load_after.get(d, 0.0), stated.get(d, 0.0)):
                    self.add(
                        ViolationCode.STOP_LOAD,
                        f"{spath}.load_after.{d}",
                        f"after {stop.action} of '{stop.request}' the vehicle carries "
                        f"{stated.get(d, 0.0):g} {d}, stop says {stop.load_after.get(d, 0.0):g}",
                    )
            over = self._over(vehicle, true)
            if over and not overloaded:
                overloaded = True  # reported at the first stop over the capacity
                self.add(
                    ViolationCode.ROUTE_CAPACITY,
                    f"{spath}.load_after",
                    f"vehicle '{vehicle.id}' carries {_fmt_load(over)} after this stop, over "
                    f"its capacity {_fmt_load(vehicle.capacity)}",
                )

    def _check_times(self, path: str, r: VehicleRoute, vehicle: Vehicle, legs: list[float]) -> None:
        start = r.period * self.period_minutes
        shift = (start + vehicle.shift_start_minute, start + vehicle.shift_end_minute)
        who = f"vehicle '{vehicle.id}' in period {r.period}"
        if r.start_minute < shift[0]:
            self.add(
                ViolationCode.ROUTE_SHIFT,
                f"{path}.start_minute",
                f"{who} leaves at minute {r.start_minute}, before its shift starts at {shift[0]}",
            )
        if r.end_minute > shift[1]:
            self.add(
                ViolationCode.ROUTE_SHIFT,
                f"{path}.end_minute",
                f"{who} is back at minute {r.end_minute}, after its shift ends at {shift[1]}",
            )
        span = r.end_minute - r.start_minute
        if abs(r.duration_minutes - span) > TIME_TOL:
            self.add(
                ViolationCode.ROUTE_DURATION,
                f"{path}.duration_minutes",
                f"{who} runs from {r.start_minute} to {r.end_minute} ({span} min), route says "
                f"{r.duration_minutes:g} min",
            )
        longest = vehicle.max_duration_minutes
        if longest is not None and r.duration_minutes > longest + FLOAT_TOL:
            self.add(
                ViolationCode.ROUTE_MAX_DURATION,
                f"{path}.duration_minutes",
                f"{who} runs {r.duration_minutes:g} min, at most {longest} allowed",
            )
        clock = float(r.start_minute)
        travel = 0.0
        tol = TIME_TOL + LEG_TIME_TOL
        for j, stop in enumerate(r.stops):
            spath = f"{path}.stops[{j}]"
            leg = self._minutes(legs[j], vehicle)
            travel += leg
            if abs(stop.arrival_minute - (clock + leg)) > tol:
                self.add(
                    ViolationCode.STOP_ARRIVAL,
                    f"{spath}.arrival_minute",
                    f"leaves the previous place at {clock:g}, {legs[j]:.3f} km at "
                    f"{vehicle.speed_kmh:g} km/h away: arrives at {clock + leg:.2f}, stop says "
                    f"{stop.arrival_minute}",
                )
            if stop.start_minute < stop.arrival_minute:
                self.add(
                    ViolationCode.STOP_START,
                    f"{spath}.start_minute",
                    f"service starts at {stop.start_minute}, before the arrival at "
                    f"{stop.arrival_minute}",
                )
            if stop.departure_minute != stop.start_minute + self.service:
                self.add(
                    ViolationCode.STOP_DEPARTURE,
                    f"{spath}.departure_minute",
                    f"service from {stop.start_minute} takes {self.service} min: leaves at "
                    f"{stop.start_minute + self.service}, stop says {stop.departure_minute}",
                )
            if not start <= stop.start_minute <= start + self.period_minutes:
                self.add(
                    ViolationCode.STOP_OUTSIDE_PERIOD,
                    f"{spath}.start_minute",
                    f"service at minute {stop.start_minute}, outside period {r.period} "
                    f"({start}..{start + self.period_minutes})",
                )
            clock = float(stop.departure_minute)
        leg = self._minutes(legs[-1], vehicle)
        travel += leg
        if abs(r.end_minute - (clock + leg)) > tol:
            self.add(
                ViolationCode.ROUTE_END,
                f"{path}.end_minute",
                f"leaves the last place at {clock:g}, {legs[-1]:.3f} km from the depot: back "
                f"at {clock + leg:.2f}, route says {r.end_minute}",
            )
        # No stop has a window inside the period: leaving as late as it can, a vehicle
        # never waits, so the least duration is the travel plus the service.
        least = travel + self.service * len(r.stops)
        if r.duration_minutes > least + TIME_TOL + LEG_TIME_TOL * len(legs):
            self.add(
                ViolationCode.ROUTE_WAITING,
                f"{path}.duration_minutes",
                f"{r.duration_minutes:g} min, but its stops need only {least:.2f} (travel "
                f"{travel:.2f} + {len(r.stops)} x {self.service} min service): it should leave "
                "later instead of waiting",
            )

    def _check_cost(self, path: str, r: VehicleRoute, vehicle: Vehicle, legs: list[float]) -> None:
        km = sum(legs)
        distance = r.distance_km
        if abs(distance - km) > LEG_KM_TOL * len(legs):
            self.add(
                ViolationCode.ROUTE_DISTANCE,
                f"{path}.distance_km",
                f"{len(legs)} legs of {km:.3f} km in all, route says {distance:g}",
            )
            distance = km
        span = r.end_minute - r.start_minute
        minutes = r.duration_minutes if abs(r.duration_minutes - span) <= TIME_TOL else span
        exact = (
            vehicle.fixed_cost_cents
            + vehicle.cost_per_km_cents * distance
            + vehicle.cost_per_hour_cents * minutes / 60
        )
        cost = math.floor(exact + 0.5)
        if abs(r.cost_cents - cost) > COST_TOL:
            self.add(
                ViolationCode.ROUTE_COST,
                f"{path}.cost_cents",
                f"vehicle '{vehicle.id}': {vehicle.fixed_cost_cents} + "
                f"{vehicle.cost_per_km_cents} x {distance:.3f} km + "
                f"{vehicle.cost_per_hour_cents} x {minutes / 60:.4f} h = {exact:.2f} -> {cost}, "
                f"route says {r.cost_cents}",
            )
            self.fleet += cost
        else:
            self.fleet += r.cost_cents
        self.km += distance

    # -- every request routed once or left to the carrier ------------------------------

    def _check_coverage(self) -> None:
        routed: set[str] = set()
        for rid, visits in self.visits.items():
            if not self._known(rid):
                for i, j, _ in visits:
                    self.add(
                        ViolationCode.STOP_UNKNOWN_REQUEST,
                        f"routes.routes[{i}].stops[{j}].request",
                        f"unknown request '{rid}'",
                    )
                continue
            routed.add(rid)
            self._check_visits(rid, visits)
        listed: dict[str, int] = {}
        for k, u in enumerate(self.section.unrouted):
            path = f"routes.unrouted[{k}]"
            if not self._known(u.request):
                self.add(
                    ViolationCode.UNROUTED_UNKNOWN_REQUEST,
                    f"{path}.request",
                    f"unknown request '{u.request}'",
                )
                continue
            if u.request in listed:
                self.add(
                    ViolationCode.DUPLICATE_UNROUTED,
                    path,
                    f"request '{u.request}' is already listed at routes.unrouted"
                    f"[{listed[u.request]}]",
                )
                continue
            listed[u.request] = k
            if u.request in routed:
                i, j, _ = self.visits[u.request][0]
                self.add(
                    ViolationCode.REQUEST_ROUTED_AND_UNROUTED,
                    path,
                    f"request '{u.request}' is left to the carrier but is on "
                    f"routes.routes[{i}].stops[{j}]",
                )
            load = self._lookup(u.request)
            if load is not None:
                self._check_reason(f"{path}.reason", u.reason, load)
        for rid, i in self.stated.items():
            if rid not in routed and rid not in listed:
                self.add(
                    ViolationCode.REQUEST_NOT_ROUTED,
                    f"routes.requests[{i}]",
                    f"request '{rid}' is on no route and not in routes.unrouted",
                )
        # What the fleet does not carry goes by carrier, listed or not.
        self.carrier = sum(
            load.carrier_cents for rid, load in self.loads.items() if rid not in routed
        )

    def _check_visits(self, rid: str, visits: list[tuple[int, int, str]]) -> None:
        """Exactly one pickup and one delivery, on one route, the pickup first."""
        ends = {
            action: [(i, j) for i, j, a in visits if a == action] for action in (PICKUP, DELIVERY)
        }
        for action, found in ends.items():
            for i, j in found[1:]:
                a, b = found[0]
                self.add(
                    ViolationCode.REQUEST_ROUTED_TWICE,
                    f"routes.routes[{i}].stops[{j}]",
                    f"request '{rid}' {action} again (first at routes.routes[{a}].stops[{b}])",
                )
        pickups, deliveries = ends[PICKUP], ends[DELIVERY]
        if not pickups or not deliveries:
            i, j, action = visits[0]
            missing = DELIVERY if pickups else PICKUP
            self.add(
                ViolationCode.REQUEST_HALF_ROUTED,
                f"routes.routes[{i}].stops[{j}]",
                f"request '{rid}' has a {action} stop but no {missing} stop",
            )
            return
        (pi, pj), (di, dj) = pickups[0], deliveries[0]
        if pi != di:
            self.add(
                ViolationCode.REQUEST_HALF_ROUTED,
                f"routes.routes[{di}].stops[{dj}]",
                f"request '{rid}' is picked up on routes.routes[{pi}] and delivered on "
                f"routes.routes[{di}]: one vehicle must do both",
            )
        elif dj < pj:
            self.add(
                ViolationCode.DELIVERY_BEFORE_PICKUP,
                f"routes.routes[{di}].stops[{dj}]",
                f"request '{rid}' is delivered at stop {dj}, before its pickup at stop {pj}",
            )
        else:
            self._check_routed_reach(rid, pi, pj)

    def _check_routed_reach(self, rid: str, i: int, j: int) -> None:
        vehicle = self.vehicles.get(self.section.routes[i].vehicle)
        load = self._lookup(rid)
        if vehicle is None or load is None:
            return
        slack = self._slack(vehicle, load)
        if slack < -(TIME_TOL + 3 * LEG_TIME_TOL):
            self.add(
                ViolationCode.ROUTED_OUT_OF_REACH,
                f"routes.routes[{i}].stops[{j}]",
                f"vehicle '{vehicle.id}' alone cannot go from its depot to '{load.origin}', "
                f"on to '{load.destination}' and back within its shift and maximum duration "
                f"in period {load.period}: {-slack:.1f} min short",
            )

    def _check_reason(self, path: str, reason: UnroutedReason, load: _Load) -> None:
        """The reason is the one the instance implies (OUT_OF_REACH against
        CARRIER_CHEAPER only beyond the time tolerance: rounding decides in between)."""
        fleet = self.inst.fleet.vehicles
        most = self._most_units(load.per_unit)
        allowed: set[UnroutedReason]
        if not fleet:  # the stage does not run without vehicles: no reason fits
            allowed, why = set(), "the instance has no vehicle, so it has no routes section"
        elif most == 0:
            allowed = {UnroutedReason.TOO_HEAVY}
            why = f"no vehicle can carry one unit of {_fmt_load(load.per_unit)}"
        else:
            slack, best = max(
                ((self._slack(v, load), v.id) for v in fleet if not self._over(v, load.load)),
                default=(-math.inf, ""),
            )
            tol = TIME_TOL + 3 * LEG_TIME_TOL
            if slack >= tol:
                allowed = {UnroutedReason.CARRIER_CHEAPER}
                why = (
                    f"vehicle '{best}' can carry it and go from its depot to '{load.origin}', "
                    f"on to '{load.destination}' and back with {slack:.1f} min to spare"
                )
            elif slack < -tol:
                allowed = {UnroutedReason.OUT_OF_REACH}
                why = "no vehicle able to carry it can make the trip alone within its shift"
            else:
                allowed = {UnroutedReason.OUT_OF_REACH, UnroutedReason.CARRIER_CHEAPER}
                why = "it is within rounding of the shift"
        if reason not in allowed:
            self.add(
                ViolationCode.UNROUTED_REASON,
                path,
                f"request '{load.id}' is {reason.value}, but {why}",
            )

    # -- reported figures ------------------------------------------------------------

    def _check_totals(self) -> None:
        s = self.section
        figures = {
            "fleet_cents": self.fleet,
            "carrier_cents": self.carrier,
            "estimate_cents": sum(load.carrier_cents for load in self.loads.values()),
            "vehicles_used": len(s.routes),
            "service_minutes": self.service,
        }
        for name, expected in figures.items():
            stated = getattr(s, name)
            if stated != expected:
                self.add(
                    ViolationCode.ROUTING_TOTALS,
                    f"routes.{name}",
                    f"recomputed {expected}, plan says {stated}",
                )
        if abs(s.distance_km - self.km) > LEG_KM_TOL * max(1, len(s.routes)):
            self.add(
                ViolationCode.ROUTING_TOTALS,
                "routes.distance_km",
                f"routes cover {self.km:.3f} km, plan says {s.distance_km:g}",
            )


Key = tuple[str, str]  # (order id, factory id)


def _processes_on(factory: Factory, group: str) -> list[str]:
    """The processes ``factory`` runs on resource group ``group``, sorted."""
    return sorted({c.process for c in factory.capabilities if c.resource_group == group})


def _capable(factory: Factory, order: Order) -> bool:
    """Whether ``factory`` has a capability for every process of ``order``."""
    processes = {c.process for c in factory.capabilities}
    return all(op.process in processes for op in order.operations)


def _part_units(plan: Plan) -> dict[Key, int]:
    """Units per (order, factory): operation 0 rows (every operation has the same)."""
    units: dict[Key, int] = defaultdict(int)
    for a in plan.allocations:
        if a.operation == 0:
            units[(a.order, a.factory)] += a.quantity
    return units


class _SharingChecker:
    """The capacity-sharing section against docs/sharing.md.

    Each capacity row's use is recomputed from the plan's allocations (the seconds the
    capacity check charges: processing plus setup in every period a part runs), its
    free time from the instance; the ranked suggestions are checked against those rows,
    the plan's parts and the factories' capabilities. The marginal values themselves
    (LP duals) are only checked for sign and consistency: the checker solves no LP.
    """

    def __init__(self, checker: _Checker, section: CapacitySharing) -> None:
        self.add = checker.add
        self.section = section
        self.periods = checker.periods
        self.free = checker.free
        self.used = checker.used
        self.factories = checker.factories
        self.orders = checker.orders
        self.units = _part_units(checker.plan)
        self.rows: dict[tuple[str, str, int], CapacityRow] = {}

    def run(self) -> None:
        for i, row in enumerate(self.section.capacity):
            self._check_row(i, row)
        self._check_needs()
        self._check_offers()
        self._check_transfers()
        self._check_backups()

    def _check_row(self, i: int, row: CapacityRow) -> None:
        path = f"capacity_sharing.capacity[{i}]"
        key = (row.factory, row.resource_group, row.period)
        where = f"factory '{row.factory}' resource '{row.resource_group}' period {row.period}"
        free = self.free.get((row.factory, row.resource_group))
        if free is None or not 0 <= row.period < self.periods:
            self.add(ViolationCode.SHARING_ROW_UNKNOWN, path, f"{where} does not exist")
            return
        if key in self.rows:
            self.add(ViolationCode.SHARING_ROW_DUPLICATE, path, f"{where} listed twice")
            return
        self.rows[key] = row
        used = self.used.get(key, 0) / 60
        if not abs(row.used_minutes - used) <= SHARING_TOL:
            self.add(
                ViolationCode.SHARING_USED_MISMATCH,
                f"{path}.used_minutes",
                f"{where}: the plan uses {used:g} min (incl. setup), row says {row.used_minutes:g}",
            )
        if row.free_minutes != free[row.period]:
            self.add(
                ViolationCode.SHARING_FREE_MISMATCH,
                f"{path}.free_minutes",
                f"{where}: free {free[row.period]} min, row says {row.free_minutes}",
            )
        idle = row.free_minutes - row.used_minutes
        if not abs(row.idle_minutes - idle) <= SHARING_TOL:
            self.add(
                ViolationCode.SHARING_IDLE_MISMATCH,
                f"{path}.idle_minutes",
                f"{where}: free {row.free_minutes} - used {row.used_minutes:g} = {idle:g} min, "
                f"row says {row.idle_minutes:g}",
            )
        marginal = row.marginal_cents_per_hour
        if not (math.isfinite(marginal) and marginal >= 0):
            self.add(
                ViolationCode.SHARING_NEGATIVE_MARGINAL,
                f"{path}.marginal_cents_per_hour",
                f"{where}: marginal value {marginal:g} cents per hour; it is at least 0",
            )

    def _check_ranking(self, name: str, values: Sequence[float], what: str) -> None:
        """``values`` must not increase along the list."""
        for k in range(1, len(values)):
            if values[k] > values[k - 1] + SHARING_TOL:
                self.add(
                    ViolationCode.SHARING_RANKING,
                    f"capacity_sharing.{name}[{k}]",
                    f"ranked by {what}, highest first: {values[k]:g} after {values[k - 1]:g}",
                )

    def _check_processes(
        self, code: ViolationCode, path: str, factory: Factory, group: str, stated: list[str]
    ) -> None:
        expected = _processes_on(factory, group)
        if sorted(set(stated)) != expected:
            self.add(
                code,
                f"{path}.processes",
                f"factory '{factory.id}' runs {expected} on '{group}', entry says {stated}",
            )

    def _check_needs(self) -> None:
        needs = self.section.extra_capacity_pays
        values = [n.marginal_cents_per_hour for n in needs]
        self._check_ranking("extra_capacity_pays", values, "marginal value")
        for k, n in enumerate(needs):
            path = f"capacity_sharing.extra_capacity_pays[{k}]"
            where = f"factory '{n.factory}' resource '{n.resource_group}' period {n.period}"
            row = self.rows.get((n.factory, n.resource_group, n.period))
            if row is None:
                self.add(ViolationCode.SHARING_NEED_MISMATCH, path, f"{where} has no capacity row")
                continue
            stated, expected = n.marginal_cents_per_hour, row.marginal_cents_per_hour
            if not abs(stated - expected) <= SHARING_TOL * max(1.0, abs(expected)):
                self.add(
                    ViolationCode.SHARING_NEED_MISMATCH,
                    f"{path}.marginal_cents_per_hour",
                    f"{where}: its capacity row says {expected:g} cents per hour, entry "
                    f"says {stated:g}",
                )
            factory = self.factories[n.factory]
            self._check_processes(
                ViolationCode.SHARING_NEED_MISMATCH, path, factory, n.resource_group, n.processes
            )

    def _check_offers(self) -> None:
        """Each offer's idle hours against the idle time the plan leaves (free minutes
        of the instance minus the plan's use), not against the rows as stated: a wrong
        row is reported once, by the row checks."""
        offers = self.section.idle_to_offer
        self._check_ranking("idle_to_offer", [o.idle_hours for o in offers], "idle hours")
        for k, o in enumerate(offers):
            path = f"capacity_sharing.idle_to_offer[{k}]"
            where = f"factory '{o.factory}' resource '{o.resource_group}'"
            free = self.free.get((o.factory, o.resource_group))
            if free is None:
                self.add(ViolationCode.SHARING_OFFER_MISMATCH, path, f"{where} does not exist")
                continue
            if o.periods != sorted(set(o.periods)):
                self.add(
                    ViolationCode.SHARING_OFFER_MISMATCH,
                    f"{path}.periods",
                    f"{where}: periods {o.periods} are not strictly ascending",
                )
            idle = 0.0
            complete = True
            for t in o.periods:
                if not 0 <= t < self.periods:
                    complete = False
                    self.add(
                        ViolationCode.SHARING_OFFER_MISMATCH,
                        f"{path}.periods",
                        f"{where}: period {t} is outside the horizon 0..{self.periods - 1}",
                    )
                    continue
                minutes = free[t] - self.used.get((o.factory, o.resource_group, t), 0) / 60
                if not minutes > SHARING_TOL:
                    self.add(
                        ViolationCode.SHARING_OFFER_MISMATCH,
                        f"{path}.periods",
                        f"{where}: period {t} has no idle time ({minutes:g} min)",
                    )
                idle += minutes
            hours = idle / 60
            tol = IDLE_HOURS_TOL + SHARING_TOL * max(1, len(o.periods))
            if complete and not abs(o.idle_hours - hours) <= tol:
                self.add(
                    ViolationCode.SHARING_OFFER_MISMATCH,
                    f"{path}.idle_hours",
                    f"{where}: the plan leaves {hours:.6f} idle h in periods {o.periods}, "
                    f"entry says {o.idle_hours}",
                )
            self._check_processes(
                ViolationCode.SHARING_OFFER_MISMATCH,
                path,
                self.factories[o.factory],
                o.resource_group,
                o.processes,
            )

    def _check_transfers(self) -> None:
        transfers = self.section.transfers
        self._check_ranking("transfers", [t.saving_cents for t in transfers], "saving")
        for k, tr in enumerate(transfers):
            problems: list[str] = []
            if tr.saving_cents <= 0:
                problems.append(f"saving {tr.saving_cents} cents: only savings > 0 are listed")
            for side in (tr.from_factory, tr.to_factory):
                if side not in self.factories:
                    problems.append(f"unknown factory '{side}'")
            if tr.from_factory == tr.to_factory:
                problems.append(f"moves from '{tr.from_factory}' to itself")
            elif tr.kind is TransferKind.MOVE_WORK:
                problems += self._move_problems(tr)
            else:
                problems += self._lend_problems(tr)
            for problem in problems:
                self.add(
                    ViolationCode.SHARING_TRANSFER_INVALID,
                    f"capacity_sharing.transfers[{k}]",
                    f"{tr.kind.value}: {problem}",
                )

    def _move_problems(self, tr: Transfer) -> list[str]:
        if tr.order is None:
            return ["names no order"]
        order = self.orders.get(tr.order)
        if order is None:
            return [f"unknown order '{tr.order}'"]
        problems: list[str] = []
        units = self.units.get((order.id, tr.from_factory), 0)
        if tr.quantity <= 0:
            problems.append(f"quantity {tr.quantity} is not positive")
        elif units < tr.quantity:
            problems.append(
                f"moves {tr.quantity} units of order '{order.id}' from '{tr.from_factory}', "
                f"which makes {units} of it"
            )
        to = self.factories.get(tr.to_factory)
        if to is not None and not _capable(to, order):
            problems.append(f"factory '{to.id}' lacks a process of order '{order.id}'")
        return problems

    def _lend_problems(self, tr: Transfer) -> list[str]:
        problems: list[str] = []
        if not tr.hours > 0:
            problems.append(f"lends {tr.hours:g} hours")
        if tr.period is not None and not 0 <= tr.period < self.periods:
            problems.append(f"period {tr.period} is outside the horizon 0..{self.periods - 1}")
        groups = {g for f in (tr.from_factory, tr.to_factory) for (fid, g) in self.free if fid == f}
        if tr.resource_group is None or tr.resource_group not in groups:
            problems.append(
                f"resource group {tr.resource_group!r} is not a group of '{tr.from_factory}' "
                f"or '{tr.to_factory}'"
            )
        return problems

    def _check_backups(self) -> None:
        for k, b in enumerate(self.section.backups or []):
            problems: list[str] = []
            units = self.units.get((b.order, b.primary_factory))
            if units is None:
                problems.append(f"order '{b.order}' has no part at '{b.primary_factory}'")
            elif b.quantity != units:
                problems.append(
                    f"order '{b.order}' makes {units} units at '{b.primary_factory}', backup "
                    f"says {b.quantity}"
                )
            order = self.orders.get(b.order)
            backup = b.backup_factory
            if backup is None or order is None:
                pass
            elif backup == b.primary_factory:
                problems.append(f"the backup of a part at '{backup}' is '{backup}' itself")
            elif backup not in self.factories:
                problems.append(f"unknown backup factory '{backup}'")
            elif not _capable(self.factories[backup], order):
                problems.append(f"backup factory '{backup}' lacks a process of order '{order.id}'")
            for problem in problems:
                self.add(
                    ViolationCode.SHARING_BACKUP_INVALID,
                    f"capacity_sharing.backups[{k}]",
                    problem,
                )


@dataclass(frozen=True)
class _Previous:
    """What a re-plan is checked against: the instance before the events, the previous
    plan, the disruption and the starting point derived from them."""

    instance: Instance
    plan: Plan
    disruption: Disruption
    setup: Setup


def _late_orders(orders: dict[str, Order], plan: Plan) -> set[str]:
    """Orders of ``plan`` with a unit made after their due period (in ``orders``)."""
    late: set[str] = set()
    for a in plan.allocations:
        order = orders.get(a.order)
        if a.operation != 0 or order is None:
            continue
        if any(pq.period > order.due_period and pq.quantity > 0 for pq in a.periods):
            late.add(order.id)
    return late


class _ReplanChecker:
    """A re-plan against the previous plan and the events (docs/sharing.md).

    The plan is otherwise checked as any plan, against the instance after the events.
    Here: the fixed work (done before ``now_period``, or frozen) is made where and when
    it was, nothing else is made before ``now_period``, the units moved are recomputed
    from the previous plan's parts, and the ``replan`` report is reconciled with both
    plans. Parts are read from operation 0 rows (every operation has the same periods;
    a row that differs is reported by the part checks).
    """

    def __init__(self, checker: _Checker, previous: _Previous) -> None:
        self.add = checker.add
        self.warnings = checker.warnings
        self.plan = checker.plan
        self.inst = checker.inst
        self.served = checker.served
        self.previous = previous
        self.now = previous.disruption.now_period
        self.fixed = previous.setup.fixed
        self.made: dict[Key, dict[int, int]] = defaultdict(dict)
        self.ref: dict[tuple[str, str, int], tuple[int, int]] = {}  # first (row, entry)
        self.first: dict[Key, int] = {}  # first row of each part
        for i, a in enumerate(self.plan.allocations):
            if a.operation != 0:
                continue
            key = (a.order, a.factory)
            self.first.setdefault(key, i)
            slices = self.made[key]
            for k, pq in enumerate(a.periods):
                slices[pq.period] = slices.get(pq.period, 0) + pq.quantity
                self.ref.setdefault((a.order, a.factory, pq.period), (i, k))
        self.after = _part_units(self.plan)
        self.before = _part_units(previous.plan)

    def run(self) -> int:
        """Check; return the units moved, recomputed."""
        self._check_fixed()
        self._check_before_now()
        moved = sum(
            max(0, units - self.after.get(key, 0))
            for key, units in self.previous.setup.kept.items()
        )
        report = self.plan.replan
        if report is None:
            self.add(
                ViolationCode.REPLAN_MISSING,
                "replan",
                "a re-plan must say what changed: the plan has no replan section",
            )
        else:
            self._check_figures(report, moved)
            self._check_moves(report)
            self._check_newly(report)
        return moved

    # -- fixed work --------------------------------------------------------------------

    def _check_fixed(self) -> None:
        report = self.plan.replan
        for key, slices in sorted(self.fixed.items()):
            order, factory = key
            made = self.made.get(key, {})
            for t, q in sorted(slices.items()):
                got = made.get(t, 0)
                if got >= q:
                    continue  # more before now_period: PRODUCTION_BEFORE_NOW
                if order in self.served:
                    self.add(
                        ViolationCode.FROZEN_WORK_MOVED,
                        f"allocations[{self.first[key]}]" if key in self.first else "allocations",
                        f"order '{order}' at '{factory}' period {t}: {q} unit(s) are fixed "
                        f"(made before now_period {self.now} or frozen), the plan makes {got}",
                    )
                    continue
                self.warnings.append(
                    f"frozen work lost: order '{order}' is unserved, so its {q} fixed unit(s) "
                    f"at '{factory}' in period {t} are not made"
                )
                if report is not None and not _conflict_listed(report.conflicts, key, t):
                    self.add(
                        ViolationCode.FROZEN_CONFLICT_UNLISTED,
                        "replan.conflicts",
                        f"order '{order}' is unserved and loses its fixed units at '{factory}' "
                        f"in period {t}, but replan.conflicts does not say so",
                    )

    def _check_before_now(self) -> None:
        for key, slices in self.made.items():
            fixed = self.fixed.get(key, {})
            for t, q in sorted(slices.items()):
                if t >= self.now or q <= fixed.get(t, 0):
                    continue
                order, factory = key
                i, k = self.ref[(order, factory, t)]
                self.add(
                    ViolationCode.PRODUCTION_BEFORE_NOW,
                    f"allocations[{i}].periods[{k}]",
                    f"order '{order}' at '{factory}': {q} unit(s) in period {t}, before "
                    f"now_period {self.now}; the previous plan made {fixed.get(t, 0)} there",
                )

    # -- the report ----------------------------------------------------------------------

    def _check_figures(self, report: Replan, moved: int) -> None:
        disruption = self.previous.disruption
        weight = self.plan.weights.stability
        if disruption.stability is not None and weight != disruption.stability:
            self.add(
                ViolationCode.REPLAN_FIGURES,
                "weights.stability",
                f"the events set stability to {disruption.stability} cents per unit, the plan "
                f"weighs {weight}",
            )
        previous_total = self.previous.plan.costs.total
        figures = {
            "now_period": self.now,
            "stability_cents_per_unit": weight,
            "frozen_units": sum(sum(s.values()) for s in self.fixed.values()),
            "orders_moved": len({o for o, _ in self._expected_moves()[0]}),
            "moved_units": moved,
            "previous_total_cents": previous_total,
            "total_delta_cents": self.plan.costs.total - previous_total,
        }
        for name, expected in figures.items():
            stated = getattr(report, name)
            if stated != expected:
                self.add(
                    ViolationCode.REPLAN_FIGURES,
                    f"replan.{name}",
                    f"recomputed {expected}, report says {stated}",
                )

    def _expected_moves(self) -> tuple[dict[Key, int], dict[Key, int]]:
        """Units leaving and arriving per (order, factory), for orders of the instance
        after the events (a cancelled order's units are not moved: they go)."""
        orders = {o.id for o in self.inst.orders}
        leaving: dict[Key, int] = {}
        arriving: dict[Key, int] = {}
        for key in set(self.before) | set(self.after):
            if key[0] not in orders:
                continue
            delta = self.after.get(key, 0) - self.before.get(key, 0)
            if delta < 0:
                leaving[key] = -delta
            elif delta > 0:
                arriving[key] = delta
        return leaving, arriving

    def _check_moves(self, report: Replan) -> None:
        orders = {o.id for o in self.inst.orders}
        leaving: dict[Key, int] = defaultdict(int)
        arriving: dict[Key, int] = defaultdict(int)
        for k, m in enumerate(report.moves):
            path = f"replan.moves[{k}]"
            problem = None
            if m.order not in orders:
                problem = f"order '{m.order}' is not in the instance after the events"
            elif m.units <= 0:
                problem = f"moves {m.units} units"
            elif m.from_factory == m.to_factory:
                problem = f"moves from {m.from_factory!r} to {m.to_factory!r}"
            if problem is not None:
                self.add(ViolationCode.REPLAN_MOVES, path, problem)
                continue
            if m.from_factory is not None:
                leaving[(m.order, m.from_factory)] += m.units
            if m.to_factory is not None:
                arriving[(m.order, m.to_factory)] += m.units
        out, into = self._expected_moves()
        for key in sorted(set(out) | set(into) | set(leaving) | set(arriving)):
            order, factory = key
            was, now = self.before.get(key, 0), self.after.get(key, 0)
            for what, expected, stated in (
                ("take", out.get(key, 0), leaving.get(key, 0)),
                ("bring", into.get(key, 0), arriving.get(key, 0)),
            ):
                if stated != expected:
                    self.add(
                        ViolationCode.REPLAN_MOVES,
                        "replan.moves",
                        f"order '{order}' at '{factory}': the moves {what} {stated} unit(s) "
                        f"{'away' if what == 'take' else 'there'}, the plans differ by "
                        f"{expected} (previous {was}, now {now})",
                    )

    def _check_newly(self, report: Replan) -> None:
        before = _late_orders({o.id: o for o in self.previous.instance.orders}, self.previous.plan)
        after = _late_orders({o.id: o for o in self.inst.orders}, self.plan)
        expected = sorted(after - before)
        if sorted(report.newly_late) != expected:
            self.add(
                ViolationCode.REPLAN_NEWLY_LATE,
                "replan.newly_late",
                f"orders late now and on time before: {expected}, report says "
                f"{sorted(report.newly_late)}",
            )
        # Unserved now and not before: served before, or added by the events.
        unserved_before = {u.order for u in self.previous.plan.unassigned}
        unserved = sorted(
            o.id
            for o in self.inst.orders
            if o.id not in self.served and o.id not in unserved_before
        )
        stated = sorted(u.order for u in report.newly_unserved)
        if stated != unserved:
            self.add(
                ViolationCode.REPLAN_NEWLY_UNSERVED,
                "replan.newly_unserved",
                f"orders unserved now and not before (served or added): {unserved}, report "
                f"says {stated}",
            )
        listed = {u.order: u for u in self.plan.unassigned}
        for k, u in enumerate(report.newly_unserved):
            if u.order in listed and u != listed[u.order]:
                self.add(
                    ViolationCode.REPLAN_NEWLY_UNSERVED,
                    f"replan.newly_unserved[{k}]",
                    f"order '{u.order}' differs from its entry in unassigned",
                )


def _conflict_listed(conflicts: Sequence[str], key: Key, period: int) -> bool:
    """Whether a line of ``conflicts`` names the part and the period
    (``"O1 at F2: frozen units in period 3 not kept ..."``)."""
    order, factory = key
    mention = re.compile(rf"\bperiod {period}\b")
    return any(
        line.startswith(f"{order} at {factory}:") and mention.search(line) for line in conflicts
    )


def _fmt(a: Allocation) -> str:
    return "{" + ", ".join(f"{pq.period}: {pq.quantity}" for pq in a.periods) + "}"


_NO_SOLUTION = (SolveStatus.INFEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.UNKNOWN)


def check_plan(instance: Instance, plan: Plan) -> CheckReport:
    """Verify ``plan`` against ``instance`` under the rules of docs/model.md.

    When the plan has a purchasing section it is verified under docs/purchasing.md
    too, and ``costs.purchasing`` is the collective cost recomputed from it. When it
    has a routes section, that is verified under docs/routing.md, and then
    ``costs.transport`` is the fleet's route costs plus the carrier's price of every
    load the fleet does not carry, and ``costs.purchasing`` the materials alone.
    Orders split by operation are checked stage part by stage part, with their
    transfers (``plan.transfers``), whose per-unit estimates ``costs.transport`` adds
    with or without routes.

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

    Notes
    -----
    A capacity-sharing section is verified too (docs/sharing.md). Without the previous
    plan, ``costs.moved_units`` cannot be recomputed: it enters the objective
    (``weights.stability`` per unit) as the plan states it, with a warning when it is
    not zero; :func:`check_replan` verifies it.
    """
    return _check(instance, plan, None)


def check_replan(
    instance: Instance, previous: Plan, disruption: Disruption, plan: Plan
) -> CheckReport:
    """Verify the re-plan ``plan`` of ``previous`` after ``disruption`` (docs/sharing.md).

    The plan is checked as by :func:`check_plan` against the instance after the events
    (with the split policy of orders whose frozen work the events released relaxed, as
    :func:`matcher.domain.replanning.prepare` derives it; that data preparation is shared on
    purpose, the rest is verified from the plans alone). On top of that:

    - the fixed work (made before ``now_period``, or frozen) is made, at least, at the
      same factory in the same periods, and nothing else before ``now_period``; an
      unserved order that loses fixed work is a warning, and must be listed in
      ``replan.conflicts``;
    - an order the events cancel appears nowhere, an order they add appears;
    - ``costs.moved_units`` is recomputed: the units of each previous part (at most the
      order's new quantity) no longer made at its factory; the objective counts
      ``weights.stability`` per unit;
    - the ``replan`` report: its moves reconcile the previous and the new units per
      order and factory, and its figures and lists agree with both plans.

    Parameters
    ----------
    instance
        The instance ``previous`` was made for, before the events.
    previous
        The plan before the events.
    disruption
        The events, ``now_period`` and the frozen work.
    plan
        The re-plan to verify.

    Returns
    -------
    CheckReport
        As :func:`check_plan`, ``recomputed.moved_units`` included.

    Raises
    ------
    matcher.domain.validation.InvalidInstanceError
        When ``previous`` does not belong to ``instance`` or the events contradict the
        work already done (as :func:`matcher.domain.replanning.prepare`).
    """
    from matcher.domain.replanning import prepare

    setup = prepare(instance, previous, disruption)
    return _check(setup.instance, plan, _Previous(instance, previous, disruption, setup))


def _check(instance: Instance, plan: Plan, previous: _Previous | None) -> CheckReport:
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
    if previous is not None:
        known = {o.id for o in instance.orders}
        checker.cancelled = {
            e.order
            for e in previous.disruption.events
            if isinstance(e, OrderCancelled) and e.order not in known
        }
    checker.check_rows()
    checker.check_parts()
    checker.check_routed()
    checker.check_orders()
    checker.check_coverage()
    checker.check_capacity()
    checker.check_purchasing()
    checker.check_routing()
    checker.check_sharing()
    if previous is None:
        checker.claim_moved_units()
    else:
        checker.moved = _ReplanChecker(checker, previous).run()
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
    matcher.domain.validation.InvalidInstanceError
        If the instance file is not a valid instance.
    PlanFormatError
        If the plan file is not a valid plan.
    """
    instance = load_instance(instance_path)
    return check_plan(instance, load_plan(plan_path))


def check_replan_files(
    instance_path: str | Path,
    plan_path: str | Path,
    previous_path: str | Path,
    events_path: str | Path,
) -> CheckReport:
    """Load a re-plan, the plan before it, its instance and its events, and check it.

    Raises
    ------
    matcher.domain.validation.InvalidInstanceError
        If the instance or the events file is not valid (or they contradict the
        previous plan).
    PlanFormatError
        If either plan file is not a valid plan.
    """
    instance = load_instance(instance_path)
    plan = load_plan(plan_path)
    previous = load_plan(previous_path)
    disruption = load_disruption(events_path, instance)
    return check_replan(instance, previous, disruption, plan)


# --- machine schedules (matcher schedule) -------------------------------------------


def check_schedule(instance: Instance, plan: Plan, schedule: Schedule) -> list[Violation]:  # noqa: C901
    """Verify machine schedules against the instance's calendars and the plan, from
    the data alone: every lot's duration, machine and working window, no overlap on a
    machine, operations of a lot in order, release at its period, the plan's units all
    scheduled, and the stated lateness (docs/scheduling.md).

    A lot chains every operation of its order, except for an order split by operation:
    each of its stage parts has lots of its own operation alone (``stage`` below is that
    operation; ``None`` for a whole chain)."""
    out: list[Violation] = []
    factories = {f.id: f for f in instance.factories}
    orders = {o.id: o for o in instance.orders}
    length = instance.horizon.period_minutes
    end_of_horizon = instance.horizon.periods * length
    planned: dict[tuple[str, str, int, int | None], int] = {}
    for a in plan.allocations:
        routed = a.order in orders and is_routed(orders[a.order])
        if a.operation == 0 or routed:
            for pq in a.periods:
                planned[(a.order, a.factory, pq.period, a.operation if routed else None)] = (
                    pq.quantity
                )
    for fi, fs in enumerate(schedule.factories):
        f = factories.get(fs.factory)
        if f is None:
            out.append(_v("SCHEDULE_UNKNOWN", f"factories[{fi}].factory", "unknown factory"))
            continue
        caps = {c.process: c for c in f.capabilities}
        wins: dict[str, list[tuple[int, int]]] = {}
        names: dict[str, str] = {}
        for r in f.resources:
            wins[r.id] = []
            for p in range(instance.horizon.periods):
                shift = min(length, r.available_minutes[p] // r.machines)
                taken = (r.committed_minutes[p] if r.committed_minutes else 0) // r.machines
                if shift > taken:
                    wins[r.id].append((p * length + taken, p * length + shift))
            for k in range(r.machines):
                names[f"{r.id}#{k + 1}"] = r.id
        chains: dict[tuple[str, int, int, int | None], dict[int, tuple[int, int, int]]] = {}
        for mi, ms in enumerate(fs.machines):
            path = f"factories[{fi}].machines[{mi}]"
            group = names.get(ms.machine)
            if group is None:
                out.append(_v("SCHEDULE_UNKNOWN", f"{path}.machine", f"no machine {ms.machine}"))
                continue
            previous_end = -1
            for li, lot in enumerate(sorted(ms.lots, key=lambda x: x.start_minute)):
                lpath = f"{path}.lots[{li}]"
                order = orders.get(lot.order)
                if order is None or not 0 <= lot.operation < len(order.operations):
                    out.append(
                        _v("SCHEDULE_UNKNOWN", lpath, f"unknown order or operation {lot.order}")
                    )
                    continue
                cap = caps.get(order.operations[lot.operation].process)
                if cap is None or cap.resource_group != group:
                    out.append(_v("SCHEDULE_MACHINE", lpath, f"{ms.machine} cannot run it"))
                    continue
                need = math.ceil(cap.seconds_per_unit * lot.quantity / 60) + cap.setup_minutes
                if lot.end_minute - lot.start_minute != need:
                    out.append(
                        _v(
                            "SCHEDULE_DURATION",
                            lpath,
                            f"lasts {lot.end_minute - lot.start_minute} min, needs {need}",
                        )
                    )
                inside = lot.start_minute >= end_of_horizon or any(
                    a <= lot.start_minute and lot.end_minute <= b for a, b in wins[group]
                )
                if not inside:
                    out.append(
                        _v(
                            "SCHEDULE_CALENDAR",
                            lpath,
                            f"[{lot.start_minute}, {lot.end_minute}) is outside every "
                            f"working window of {ms.machine}",
                        )
                    )
                if lot.start_minute < lot.period * length:
                    out.append(
                        _v("SCHEDULE_RELEASE", lpath, f"starts before its period {lot.period}")
                    )
                if lot.start_minute < previous_end:
                    out.append(
                        _v(
                            "SCHEDULE_OVERLAP",
                            lpath,
                            f"starts at {lot.start_minute}, before the previous lot "
                            f"ends ({previous_end})",
                        )
                    )
                previous_end = max(previous_end, lot.end_minute)
                stage = lot.operation if is_routed(order) else None
                key = (lot.order, lot.period, lot.chunk, stage)
                chains.setdefault(key, {})[lot.operation] = (
                    lot.start_minute,
                    lot.end_minute,
                    lot.quantity,
                )
                if lot.operation == len(order.operations) - 1:
                    late = max(0, lot.end_minute - (lot.period + 1) * length)
                    if lot.late_minutes != late:
                        out.append(
                            _v(
                                "SCHEDULE_LATENESS",
                                f"{lpath}.late_minutes",
                                f"is {lot.late_minutes}, the lot ends {late} min late",
                            )
                        )
        made: dict[tuple[str, int, int | None], int] = {}
        for (oid, period, chunk, stage), ops in chains.items():
            n_ops = len(orders[oid].operations)
            chain = list(range(n_ops)) if stage is None else [stage]
            if sorted(ops) != chain:
                out.append(
                    _v(
                        "SCHEDULE_PRECEDENCE",
                        f"factories[{fi}]",
                        f"{oid} period {period} chunk {chunk}: operations {sorted(ops)} of {n_ops}",
                    )
                )
                continue
            for k in chain[:-1]:
                if ops[k + 1][0] < ops[k][1]:
                    out.append(
                        _v(
                            "SCHEDULE_PRECEDENCE",
                            f"factories[{fi}]",
                            f"{oid} period {period} chunk {chunk}: operation {k + 1} "
                            f"starts before {k} ends",
                        )
                    )
            made[(oid, period, stage)] = made.get((oid, period, stage), 0) + ops[chain[0]][2]
        for (oid, fid, period, stage), qty in planned.items():
            done = made.get((oid, period, stage), 0)
            if fid == fs.factory and done != qty:
                what = "" if stage is None else f" operation {stage}"
                out.append(
                    _v(
                        "SCHEDULE_COVERAGE",
                        f"factories[{fi}]",
                        f"{oid}{what} period {period}: {done} of the plan's {qty} units scheduled",
                    )
                )
    return out


def _v(code: str, path: str, message: str) -> Violation:
    return Violation(ViolationCode(code).value, path, message)
