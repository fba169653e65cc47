"""What the checker reports: stable violation codes, the report, and its tolerances.

The codes are a contract (tools switch on them); the tolerances say how much float
noise a recomputed figure may differ by before a difference counts as a violation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from matcher.domain.consistency import Issue
from matcher.domain.plan import CostBreakdown

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
# docs/fairness-report.md: shares, Gini coefficients, hours and utilisation figures are
# floats the checker recomputes by other formulas (the Gini pairwise rather than by rank):
# they must agree within this relative tolerance (absolute below 1).
FAIRNESS_TOL = 1e-6


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
    # An unassigned order's reason that the instance contradicts (MATERIAL_UNAVAILABLE
    # for an order without a purchased material).
    UNASSIGNED_REASON = "UNASSIGNED_REASON"
    # Materials (docs/model.md): a purchased material's cumulative need by a period,
    # after stock, above what the usable offers can deliver by then.
    MATERIAL_NOT_IN_TIME = "MATERIAL_NOT_IN_TIME"
    # Orders split by operation (docs/model.md): the price ceiling of the dearest
    # combination of the factories used for each operation.
    BY_OPERATION_PRICE_ABOVE_MAX = "BY_OPERATION_PRICE_ABOVE_MAX"
    # Orders split by operation: one transfer between consecutive operations.
    TRANSFER_NOT_SPLIT_BY_OPERATION = "TRANSFER_NOT_SPLIT_BY_OPERATION"
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
    # Fairness (docs/fairness.md): a factory above the share cap, below a hard minimum.
    FAIRNESS_SHARE_EXCEEDED = "FAIRNESS_SHARE_EXCEEDED"
    FAIRNESS_MIN_WORK_MISSED = "FAIRNESS_MIN_WORK_MISSED"
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
    # Purchasing: a provided material bought or reported short (it is never bought).
    MATERIAL_PROVIDED = "MATERIAL_PROVIDED"
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
    # Logistics (docs/logistics.md): requests through hubs (legs).
    REQUEST_HUB = "REQUEST_HUB"
    REQUEST_LEG_ID = "REQUEST_LEG_ID"
    REQUEST_DOOR_AND_LEG = "REQUEST_DOOR_AND_LEG"
    STOP_HUB_HOURS = "STOP_HUB_HOURS"
    # Logistics: line-haul shipments (one per lane and period of the carried legs).
    LINE_HAUL_UNKNOWN_REQUEST = "LINE_HAUL_UNKNOWN_REQUEST"
    LINE_HAUL_UNCARRIED = "LINE_HAUL_UNCARRIED"
    LINE_HAUL_TWICE = "LINE_HAUL_TWICE"
    LINE_HAUL_MISSING = "LINE_HAUL_MISSING"
    LINE_HAUL_EMPTY = "LINE_HAUL_EMPTY"
    LINE_HAUL_LANE = "LINE_HAUL_LANE"
    LINE_HAUL_DUPLICATE = "LINE_HAUL_DUPLICATE"
    LINE_HAUL_WEIGHT = "LINE_HAUL_WEIGHT"
    LINE_HAUL_DISTANCE = "LINE_HAUL_DISTANCE"
    LINE_HAUL_DROPS = "LINE_HAUL_DROPS"
    LINE_HAUL_MODE = "LINE_HAUL_MODE"
    LINE_HAUL_COST = "LINE_HAUL_COST"
    # Logistics: the hubs' use per period.
    HUB_USE_UNKNOWN = "HUB_USE_UNKNOWN"
    HUB_USE_DUPLICATE = "HUB_USE_DUPLICATE"
    HUB_USE_MISSING = "HUB_USE_MISSING"
    HUB_USE_FIGURES = "HUB_USE_FIGURES"
    HUB_HANDLING = "HUB_HANDLING"
    HUB_CAPACITY = "HUB_CAPACITY"
    # Logistics: line-haul or hub use in an instance without hubs.
    NO_HUBS = "NO_HUBS"
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
    # The constraint report (docs/explain.md): its figures against the plan's use.
    CONSTRAINTS_ROW_UNKNOWN = "CONSTRAINTS_ROW_UNKNOWN"
    CONSTRAINTS_FIGURES = "CONSTRAINTS_FIGURES"
    CONSTRAINTS_HOLDER = "CONSTRAINTS_HOLDER"
    CONSTRAINTS_ORDER = "CONSTRAINTS_ORDER"
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
    # The fairness report (docs/fairness-report.md): its factory rows, figures, blocking
    # pairs and the plan's side of the price of fairness.
    FAIRNESS_FACTORY_ROWS = "FAIRNESS_FACTORY_ROWS"
    FAIRNESS_FIGURES = "FAIRNESS_FIGURES"
    FAIRNESS_BLOCKING_COUNT = "FAIRNESS_BLOCKING_COUNT"
    FAIRNESS_BLOCKING_PAIR = "FAIRNESS_BLOCKING_PAIR"
    FAIRNESS_PRICE = "FAIRNESS_PRICE"


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
