"""The plan: what the optimiser decided, what it cost, and what each stage proved.

Money is in integer cents, time in periods, quantities in units (see
:mod:`matcher.domain.entities`). Sections of later stages (purchasing, routes, capacity
sharing) are ``None`` until those stages run.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matcher.domain.entities import FairnessOptions, ObjectiveWeights


class SolveStatus(StrEnum):
    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    TIME_LIMIT = "TIME_LIMIT"  # stopped by the limit without any solution
    UNKNOWN = "UNKNOWN"


_LEAST_PROVEN_FIRST = (
    SolveStatus.INFEASIBLE,
    SolveStatus.UNKNOWN,
    SolveStatus.TIME_LIMIT,
    SolveStatus.FEASIBLE,
    SolveStatus.OPTIMAL,
)


def least_proven(statuses: Iterable[SolveStatus]) -> SolveStatus:
    """The status of a whole made of parts (stages, materials): its weakest part's."""
    return min(statuses, key=_LEAST_PROVEN_FIRST.index)


class ReasonCode(StrEnum):
    """Why an order is not served. Stable: clients may switch on these."""

    NO_CAPABLE_FACTORY = "NO_CAPABLE_FACTORY"
    CREDIT_BELOW_MIN = "CREDIT_BELOW_MIN"
    PRICE_ABOVE_MAX = "PRICE_ABOVE_MAX"
    LOT_SIZE_INFEASIBLE = "LOT_SIZE_INFEASIBLE"
    DUE_DATE_INFEASIBLE = "DUE_DATE_INFEASIBLE"
    CAPACITY_EXHAUSTED = "CAPACITY_EXHAUSTED"
    NOT_WORTH_SERVING = "NOT_WORTH_SERVING"
    SOLVER_LIMIT = "SOLVER_LIMIT"
    MATERIAL_UNAVAILABLE = "MATERIAL_UNAVAILABLE"


class Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PeriodQuantity(Result):
    period: int
    quantity: int


class Allocation(Result):
    """One operation of one order part at one factory.

    A part (the share of an order made by one factory) yields one allocation per
    operation of the order, all with the same per-period quantities: in the
    period-level model the operations of a unit run in sequence inside its period.
    Transport and lateness are charged on the last operation only.
    """

    order: str
    operation: int = Field(description="Index into order.operations.")
    process: str
    factory: str
    resource_group: str
    quantity: int
    periods: list[PeriodQuantity]
    production_cents: int
    transport_cents: int = 0
    lateness_cents: int = 0
    late_units: int = 0


class OperationTransfer(Result):
    """Units of an order split by operation moving from one operation's factory to the
    next operation's (docs/model.md): listed for every such flow, also when both
    operations run at the same factory (then no time and no cost)."""

    order: str
    operation: int = Field(description="The sending operation; the receiver is the next one.")
    from_factory: str
    to_factory: str
    quantity: int
    ship_period: int = Field(description="Last period of the sending operation at from_factory.")
    arrive_period: int = Field(
        description="First period to_factory may work on the units: ship_period + the lag."
    )
    transport_cents: int = Field(description="Per-unit transfer rate x quantity.")


class Unassigned(Result):
    order: str
    reason: ReasonCode
    detail: str
    mandatory: bool = False
    penalty_cents: int = 0


class CostBreakdown(Result):
    """Raw cost terms in cents; ``objective`` is their weighted sum."""

    production: int = 0
    transport: int = Field(
        default=0,
        description="Per-unit estimates of product transport; once routes exist, the "
        "fleet's route costs plus the carrier estimate of every unrouted load. Both plus "
        "the inter-factory transfers of orders split by operation.",
    )
    lateness: int = 0
    unserved: int = 0
    credit: int = Field(default=0, description="Units x credit points below 100 (unweighted).")
    purchasing: int = Field(
        default=0,
        description="Materials and their inbound transport; once routes exist, materials "
        "only (their transport is then in transport).",
    )
    total: int = Field(
        default=0, description="production + transport + lateness + unserved + purchasing."
    )
    moved_units: int = Field(
        default=0,
        description="Re-plans: units no longer made at the factory the previous plan gave "
        "them (unweighted; the objective adds weights.stability cents per unit).",
    )
    fairness: int = Field(
        default=0,
        description="Soft fairness penalties in cents: minimum work and exploration "
        "shortfalls (docs/fairness.md); in objective, not in total.",
    )
    load_balance: int = Field(
        default=0,
        description="Utilisation spread in whole percentage points (docs/fairness.md; "
        "unweighted: the objective adds weights.load_balance cents per point).",
    )
    objective: int = Field(default=0, description="Weighted sum of all terms.")


class Utilisation(Result):
    factory: str
    resource_group: str
    period: int
    used_minutes: float
    free_minutes: int


class FactoryUtilisation(Result):
    factory: str
    used_minutes: float
    free_minutes: int
    utilisation: float
    orders: int


class Kpis(Result):
    orders: int
    orders_served: int
    orders_on_time: int
    orders_late: int
    orders_unassigned: int
    fill_rate: float = Field(description="Served orders / all orders.")
    unit_fill_rate: float = Field(description="Served units / ordered units.")
    on_time_rate: float = Field(description="Orders with no late unit / served orders.")
    factories_used: int
    factory_utilisation: list[FactoryUtilisation]
    utilisation: list[Utilisation] = Field(
        description="Per factory, resource group and period with any free or used time."
    )


class StageStats(Result):
    """What one stage's solver found and proved."""

    stage: str
    solver: str
    status: SolveStatus
    objective: float | None = None
    best_bound: float | None = None
    gap: float | None = Field(default=None, description="(objective - bound) / |objective|.")
    wall_time_s: float = 0.0
    time_to_first_feasible_s: float | None = None
    seed: int = 0
    workers: int = 1
    notes: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class ShortageReason(StrEnum):
    """Why a factory's material need is not covered. Stable, like :class:`ReasonCode`."""

    NO_SUPPLIER = "NO_SUPPLIER"  # no supplier offers the material
    LEAD_TIME = "LEAD_TIME"  # every offer's lead time is longer than the time left
    SUPPLIER_CAPACITY = "SUPPLIER_CAPACITY"  # the suppliers in time cannot supply enough
    SOLVER_LIMIT = "SOLVER_LIMIT"  # the solve ended before finding a purchase plan


class Delivery(Result):
    """One call-off of a purchase: material that must reach ``factory`` by ``period``."""

    factory: str
    period: int = Field(description="The period the factory needs it by (it arrives by then).")
    order_period: int = Field(description="When to call it off: period - the lead time.")
    quantity: float = Field(description="Whole units of the material.")


class Purchase(Result):
    """What is bought from one supplier of one material over the horizon.

    The tier is reached by the total ``quantity`` (a framework contract with call-offs),
    so buying more than the needs can be cheaper; the surplus is delivered with the
    factory's last call-off and stated in ``surplus``.
    """

    supplier: str
    material: str
    quantity: float
    tier: int = Field(description="Index into the offer's price tiers reached by quantity.")
    unit_price_cents: int = Field(
        description="Price of the tier reached: every unit's price (all-units) or the "
        "marginal price (incremental)."
    )
    cost_cents: int = Field(description="Material cost by the offer's price schedule.")
    transport_cents: int = Field(description="Inbound transport of the deliveries.")
    order_period: int = Field(description="First call-off: earliest delivery - lead time.")
    surplus: float = Field(default=0.0, description="Bought beyond the needs to reach a tier.")
    deliveries: list[Delivery] = Field(default_factory=list)


class Shortage(Result):
    """A material need the purchase plan does not cover, and why."""

    factory: str
    material: str
    period: int
    quantity: float
    reason: ShortageReason
    detail: str


class SavingsShare(Result):
    """One factory's line of the savings split."""

    factory: str
    standalone_cents: int = Field(description="Its optimal cost buying its needs alone.")
    charged_cents: int = Field(description="Its share of the collective cost.")
    saving_cents: int = Field(description="standalone - charged.")
    method: str = Field(
        description="proportional, shapley, shapley-sampled, or mixed when a material fell "
        "back to proportional (the notes say which)."
    )
    ci95_cents: float | None = Field(
        default=None, description="Sampled Shapley: 95 % half-width of the saving."
    )


class CoreCheck(Result):
    """Is any coalition of factories better off buying a material alone than with its
    charges? Checked per material (a coalition can leave one material's buying group);
    the worst coalition over all materials is reported."""

    material: str | None = Field(default=None, description="Material of the blocking coalition.")
    coalitions_checked: int
    exhaustive: bool = Field(description="True when every coalition was checked.")
    blocking_coalition: list[str] = Field(
        default_factory=list, description="The most unhappy coalition found; empty if none."
    )
    excess_cents: int = Field(
        default=0, description="How much that coalition would gain by leaving (> 0 blocks)."
    )


class Purchasing(Result):
    """The purchasing stage: collective buying, its savings and their fair split.

    Costs are material plus inbound transport, in cents. ``standalone_cents`` is what
    the factories would pay each buying alone, optimally, from the same offers (each
    seeing a supplier's whole capacity).
    """

    purchases: list[Purchase] = Field(default_factory=list)
    shortages: list[Shortage] = Field(default_factory=list)
    collective_cents: int
    material_cents: int
    transport_cents: int
    standalone_cents: int | None = Field(
        default=None, description="None when the solve was stopped before computing it."
    )
    savings_cents: int | None = None
    savings_by_material_cents: dict[str, int] = Field(default_factory=dict)
    max_suppliers_per_material: int | None = None
    split_method: str
    shares: list[SavingsShare] = Field(default_factory=list)
    permutations: int | None = Field(
        default=None, description="Sampled Shapley: permutations drawn (seeded)."
    )
    core: CoreCheck | None = None
    notes: list[str] = Field(default_factory=list)


class UnroutedReason(StrEnum):
    """Why a transport request is left to the carrier. Stable, like :class:`ReasonCode`."""

    TOO_HEAVY = "TOO_HEAVY"  # no vehicle can carry even one unit of it
    OUT_OF_REACH = "OUT_OF_REACH"  # no vehicle can make the trip within its shift
    CARRIER_CHEAPER = "CARRIER_CHEAPER"  # the routes found would cost more than the carrier
    NOT_SEARCHED = "NOT_SEARCHED"  # the stage's time ran out before its period was searched


class TransportRequest(Result):
    """A load to move in one period: finished goods from a factory to the buyer, or a
    material call-off from the supplier to a factory. Loads over a vehicle's capacity
    are split into several requests (``part``)."""

    id: str
    kind: str = Field(description="goods or material.")
    period: int
    origin: str = Field(description="Factory (goods) or supplier (material) id.")
    destination: str = Field(description="Order id (goods: the buyer's address) or factory id.")
    order: str | None = None
    material: str | None = None
    quantity: float = Field(description="Units of the product or of the material.")
    load: dict[str, float] = Field(description="Per capacity dimension (weight_kg, volume_m3).")
    carrier_cents: int = Field(description="The per-unit transport estimate for this load.")
    hub: str | None = Field(
        default=None,
        description="Offered to the fleet as a leg through this hub (docs/logistics.md): "
        "origin or destination is then the hub; carried, the load goes on by line-haul; "
        "not carried, door to door by carrier at carrier_cents.",
    )


class RouteStop(Result):
    request: str
    action: str = Field(description="pickup or delivery.")
    place: str = Field(description="Factory, supplier or order id (the buyer's address).")
    arrival_minute: int = Field(description="Minutes from the start of the horizon.")
    start_minute: int = Field(description="Service starts (after any wait).")
    departure_minute: int
    load_after: dict[str, float]


class VehicleRoute(Result):
    vehicle: str
    depot: str
    period: int
    start_minute: int = Field(description="Leaves the depot, minutes from the horizon start.")
    end_minute: int = Field(description="Back at the depot.")
    stops: list[RouteStop]
    distance_km: float
    duration_minutes: float
    cost_cents: int = Field(description="fixed + per km + per hour, rounded half up.")


class Unrouted(Result):
    request: str
    reason: UnroutedReason
    detail: str


class LineHaulShipment(Result):
    """The loads of one lane and period, consolidated (docs/logistics.md): goods from a hub
    to a buyers' region, or materials from a supplier to a hub."""

    kind: str = Field(description="goods or material.")
    origin: str = Field(description="Hub (goods) or supplier (material) id.")
    destination: str = Field(
        description="The delivery addresses' region (goods; an address without one: the "
        "order's buyer id) or hub id (material)."
    )
    period: int
    requests: list[str] = Field(description="The legs (transport request ids) it carries on.")
    weight_kg: float
    distance_km: float = Field(
        description="Road km from the hub to its farthest delivery address (goods) or "
        "from the supplier to the hub (material)."
    )
    drops: int = Field(default=1, description="Distinct delivery addresses (material: 1).")
    tonne_km: float | None = Field(
        default=None,
        description="Its legs' tonnes times each leg's own road km (what LTL is charged on).",
    )
    mode: str = Field(
        description="ltl (less than a truckload), ftl (by the truckload) or ftl+ltl (full "
        "trucks, the remainder less than a truckload)."
    )
    trucks: int = Field(description="Trucks for ftl, the full ones for ftl+ltl; 0 for ltl.")
    cost_cents: int


class HubUse(Result):
    """What one hub handles in one period: goods in from the factories, materials out to them."""

    hub: str
    period: int
    goods_kg: float
    material_kg: float
    handling_cents: int


class Routing(Result):
    """The routing stage: the fleet's routes per period, what goes by carrier and, with
    hubs, what goes through them and on by line-haul.

    ``transport_cents`` (fleet + carrier + line-haul + handling) replaces the per-unit
    transport estimates in the plan's costs; ``estimate_cents`` is what those estimates
    came to, for comparison.
    """

    requests: list[TransportRequest] = Field(default_factory=list)
    routes: list[VehicleRoute] = Field(default_factory=list)
    unrouted: list[Unrouted] = Field(default_factory=list)
    line_haul: list[LineHaulShipment] = Field(default_factory=list)
    hub_use: list[HubUse] = Field(default_factory=list)
    fleet_cents: int = 0
    carrier_cents: int = 0
    line_haul_cents: int = 0
    handling_cents: int = 0
    estimate_cents: int = 0
    vehicles_used: int = Field(default=0, description="Vehicle-days: routes in all periods.")
    distance_km: float = 0.0
    service_minutes: int = Field(description="Loading or unloading time at every stop.")
    notes: list[str] = Field(default_factory=list)

    @property
    def transport_cents(self) -> int:
        """What moving the plan's loads costs: the plan's ``costs.transport``."""
        return self.fleet_cents + self.carrier_cents + self.line_haul_cents + self.handling_cents

    @property
    def goods_lanes(self) -> tuple[int, int]:
        """The goods line-haul at a glance: the destinations its shipments serve (buyers'
        regions, or buyers without one) and the shipments with several drops."""
        goods = [s for s in self.line_haul if s.kind == "goods"]
        return len({s.destination for s in goods}), sum(1 for s in goods if s.drops > 1)


class CapacityRow(Result):
    """One factory's resource group in one period: its capacity, use and worth."""

    factory: str
    resource_group: str
    period: int
    free_minutes: int = Field(description="Capacity the plan could use (available - committed).")
    used_minutes: float
    idle_minutes: float = Field(description="free - used.")
    marginal_cents_per_hour: float = Field(
        description="Objective saved by one more hour here (the LP dual, >= 0); 0 where the "
        "LP leaves capacity slack."
    )


class LoadStatus(StrEnum):
    OVERLOADED = "OVERLOADED"  # orders it is cheapest for are late, unserved or displaced
    UNDER_USED = "UNDER_USED"  # uses less than the threshold of its free capacity


class FactoryLoad(Result):
    factory: str
    status: LoadStatus
    utilisation: float = Field(description="Used / free minutes over the horizon.")
    used_minutes: float
    free_minutes: int
    orders: list[str] = Field(
        default_factory=list,
        description="Overloaded: orders for which it is the cheapest capable factory and "
        "that are late, unserved or made elsewhere at a higher cost.",
    )
    detail: str = ""


class CapacityNeed(Result):
    """Where extra capacity pays: a binding factory-resource-period and its value."""

    factory: str
    resource_group: str
    period: int
    marginal_cents_per_hour: float
    processes: list[str] = Field(description="Processes the factory runs on this group.")


class CapacityOffer(Result):
    """Idle capacity a factory could offer the platform."""

    factory: str
    resource_group: str
    processes: list[str]
    periods: list[int] = Field(description="Periods with idle time, ascending.")
    idle_hours: float = Field(description="Idle hours summed over those periods.")


class TransferKind(StrEnum):
    MOVE_WORK = "MOVE_WORK"  # move units of an order from one factory to another
    LEND_CAPACITY = "LEND_CAPACITY"  # idle hours of one factory lent to another's group


class Transfer(Result):
    """A capacity-sharing suggestion, valued by re-solving the orders it affects."""

    kind: TransferKind
    from_factory: str = Field(
        description="MOVE_WORK: where the units are now; LEND_CAPACITY: the lender."
    )
    to_factory: str = Field(description="MOVE_WORK: where they go; LEND_CAPACITY: the borrower.")
    order: str | None = Field(default=None, description="MOVE_WORK: the order moved.")
    quantity: int = Field(default=0, description="MOVE_WORK: units moved.")
    resource_group: str | None = Field(default=None, description="LEND_CAPACITY: the group.")
    period: int | None = Field(default=None, description="LEND_CAPACITY: the period.")
    hours: float = Field(default=0.0, description="LEND_CAPACITY: hours lent.")
    saving_cents: int = Field(
        description="Objective of the plan minus that of the re-solve with the transfer "
        "(orders outside the re-solved neighbourhood stay as planned), in the plan's cost "
        "terms: a mandatory order served counts its production, not the solver's "
        "internal penalty, so serving one can make this negative."
    )
    serves_mandatory: list[str] = Field(
        default_factory=list,
        description="Mandatory orders the plan leaves unserved that the re-solve with the "
        "transfer serves; such transfers are listed first, whatever their saving.",
    )
    detail: str = ""


class Backup(Result):
    """The spare plan for one order part if its factory fails."""

    order: str
    primary_factory: str
    quantity: int
    backup_factory: str | None = Field(description="None: no capable factory has room.")
    extra_cents: int | None = Field(
        default=None, description="Objective cost of the backup minus that of the part now."
    )
    completion_period: int | None = None
    detail: str = ""


class CapacitySharing(Result):
    """The capacity-sharing analysis of a plan (docs/sharing.md)."""

    method: str = Field(description="How marginal values were computed.")
    capacity: list[CapacityRow] = Field(default_factory=list)
    overloaded: list[FactoryLoad] = Field(default_factory=list)
    under_used: list[FactoryLoad] = Field(default_factory=list)
    extra_capacity_pays: list[CapacityNeed] = Field(
        default_factory=list, description="Ranked: highest marginal value first."
    )
    idle_to_offer: list[CapacityOffer] = Field(
        default_factory=list, description="Ranked: most idle hours first."
    )
    transfers: list[Transfer] = Field(
        default_factory=list, description="Ranked: largest saving first; savings > 0 only."
    )
    backups: list[Backup] | None = Field(
        default=None, description="Backup factory per order part (when asked for)."
    )
    wall_time_s: float = 0.0
    notes: list[str] = Field(default_factory=list)


class Move(Result):
    """Units of one order that left a factory (or arrived at one) in a re-plan."""

    order: str
    from_factory: str | None = Field(description="None: units newly placed (an added order).")
    to_factory: str | None = Field(description="None: the units are no longer made.")
    units: int


class Replan(Result):
    """What a re-plan changed against the previous plan."""

    now_period: int
    stability_cents_per_unit: int
    events: list[str] = Field(description="The events applied, one line each.")
    frozen_units: int = Field(description="Units kept exactly as planned (frozen or done).")
    released: list[str] = Field(
        default_factory=list, description="Frozen work the events forced to move, and why."
    )
    moves: list[Move] = Field(default_factory=list)
    orders_moved: int = 0
    moved_units: int = 0
    previous_total_cents: int
    total_delta_cents: int = Field(description="costs.total of this plan minus the previous.")
    newly_late: list[str] = Field(
        default_factory=list, description="Late now and not before (on time or added)."
    )
    newly_unserved: list[Unassigned] = Field(
        default_factory=list,
        description="Unserved now and not before: served in the previous plan, or added.",
    )
    conflicts: list[str] = Field(
        default_factory=list, description="Frozen work the re-plan could not keep, and why."
    )


class CostTerms(Result):
    """One order's cost at one factory, by term (raw cents; credit in units x points)."""

    production: int = 0
    transport: int = 0
    lateness: int = 0
    credit: int = 0
    objective: int = Field(default=0, description="The weighted sum, in the plan's weights.")
    late_units: int = 0
    periods: list[PeriodQuantity] = Field(
        default_factory=list, description="The placement priced: just in time, whole order."
    )
    placed_in: str = Field(
        default="free",
        description="free: in the capacity the rest of the plan leaves; empty: only on the "
        "empty factory (the plan's other orders are in the way); none: not even there "
        "(then lateness is unknown and left 0).",
    )


class BlockingKind(StrEnum):
    NONE = "NONE"  # the order fits there as the plan stands
    CAPACITY = "CAPACITY"  # machine time is taken (by other orders, or too little at all)
    MATERIAL = "MATERIAL"  # a purchased material cannot arrive in time for it


class Blocking(Result):
    """What keeps an order from being made at one factory as the plan stands."""

    kind: BlockingKind
    resource: str | None = Field(default=None, description="The binding resource group.")
    periods: list[int] = Field(
        default_factory=list, description="Periods of the order's window that resource is full in."
    )
    holders: list[str] = Field(
        default_factory=list,
        description="Orders holding that capacity (or using that material), most first.",
    )
    material: str | None = None
    detail: str = ""


class MoveResult(Result):
    """The objective change of making the order at one factory, found by re-solving."""

    objective_delta: int | None = Field(
        default=None,
        description="Objective of the re-solved orders (this one, fixed to the factory, and "
        "the holders) minus their objective in the plan; None: no solution found.",
    )
    re_solved: bool = Field(description="False: not re-solved (then no delta).")
    status: SolveStatus | None = Field(
        default=None,
        description="The re-solve's status: OPTIMAL proves the delta; FEASIBLE means the "
        "time limit came first (the delta is an upper bound); INFEASIBLE: it cannot be made "
        "there even with the holders moved; TIME_LIMIT: no solution in time.",
    )
    orders: list[str] = Field(default_factory=list, description="The orders re-solved.")
    moved: list[Move] = Field(
        default_factory=list, description="How the re-solve moves the holders (and the order)."
    )
    detail: str = ""


class FactoryVerdict(Result):
    """One factory for one order: why it is out, or what it costs and what blocks it."""

    factory: str
    eligible: bool
    in_plan: bool = Field(default=False, description="The plan makes (part of) the order here.")
    reason: ReasonCode | None = Field(default=None, description="Why it is not eligible.")
    detail: str = ""
    cost: CostTerms | None = None
    blocking: Blocking | None = None
    move: MoveResult | None = None


class OrderExplanation(Result):
    """Why an order is where the plan puts it (or unserved), factory by factory."""

    order: str
    state: str = Field(description="unassigned, late, on_time.")
    reason: ReasonCode | None = Field(default=None, description="The plan's reason if unserved.")
    detail: str = ""
    plan_factories: list[str] = Field(default_factory=list)
    plan_objective: int = Field(
        description="The order's share of the plan's objective (its unserved penalty when "
        "unserved; 0 for an unserved mandatory order)."
    )
    factories: list[FactoryVerdict] = Field(
        description="Eligible first, cheapest first; then the others, by factory id."
    )
    best_move: str | None = Field(
        default=None, description="The factory whose re-solved move lowers the objective most."
    )
    notes: list[str] = Field(default_factory=list)
    wall_time_s: float = 0.0


class ConstraintKind(StrEnum):
    """What keeps a late or unserved order from a better place. Stable."""

    CAPACITY = "CAPACITY"  # machine time other orders hold (or too little at all)
    MATERIAL = "MATERIAL"  # a purchased material cannot arrive in time for it
    WINDOW = "WINDOW"  # even the empty factory cannot make it on time
    ELIGIBILITY = "ELIGIBILITY"  # factories out by a filter of the compilation
    NOT_WORTH_SERVING = "NOT_WORTH_SERVING"  # serving it costs at least its penalty


class ResponsibleConstraint(Result):
    """One constraint responsible for an order being late or unserved."""

    kind: ConstraintKind
    factories: list[str] = Field(
        default_factory=list,
        description="The factory (one; ELIGIBILITY: every factory out for that reason).",
    )
    resource_group: str | None = Field(default=None, description="CAPACITY: the binding group.")
    periods: list[int] = Field(
        default_factory=list, description="CAPACITY: the periods other orders hold it in."
    )
    material: str | None = Field(default=None, description="MATERIAL: the binding material.")
    reason: ReasonCode | None = Field(default=None, description="ELIGIBILITY: the filter.")
    holders: list[str] = Field(
        default_factory=list,
        description="Orders holding that capacity (or using that material), most first.",
    )
    cost_cents: int | None = Field(
        default=None,
        description="NOT_WORTH_SERVING: the objective of its cheapest placement there.",
    )
    penalty_cents: int | None = Field(
        default=None, description="NOT_WORTH_SERVING: its weighted unserved penalty."
    )
    detail: str = ""


class OrderConstraints(Result):
    """A late or unserved order and the constraints responsible."""

    order: str
    state: str = Field(description="late or unassigned.")
    reason: ReasonCode | None = Field(default=None, description="The plan's reason if unserved.")
    constraints: list[ResponsibleConstraint] = Field(default_factory=list)


class BindingCapacity(Result):
    """A factory's resource group in one period that binds, and whom it affects."""

    factory: str
    resource_group: str
    period: int
    used_minutes: float = Field(description="Processing plus setup of the plan's rows there.")
    free_minutes: int = Field(description="Capacity the plan could use (available - committed).")
    full: bool = Field(
        description="True: not one more unit of any process on the group fits; False: "
        "named by an order whose window as a whole lacks room, though a unit still fits."
    )
    marginal_cents_per_hour: float | None = Field(
        default=None,
        description="The capacity-sharing LP dual per extra hour; None: the plan has no "
        "capacity-sharing section.",
    )
    holders: list[str] = Field(
        default_factory=list, description="Orders made there in that period, most time first."
    )
    delays: list[str] = Field(
        default_factory=list, description="Late orders whose responsible capacity it is."
    )
    pushes_out: list[str] = Field(
        default_factory=list, description="Unserved orders whose responsible capacity it is."
    )


class BindingMaterial(Result):
    """A purchased material whose supply in time holds orders back."""

    material: str
    holders: list[str] = Field(
        default_factory=list, description="Orders of the plan using the most of it, most first."
    )
    holds_back: list[str] = Field(
        default_factory=list, description="Late or unserved orders it is responsible for."
    )
    detail: str = ""


# ---------------------------------------------------- what it would take
# (docs/explain.md: a relaxed solve in which capacity can be bought)


class ExtraCapacity(Result):
    """One factory, resource group and period that needs time beyond its free capacity."""

    factory: str
    resource_group: str
    period: int
    free_minutes: int = Field(description="Capacity the plan could use (available - committed).")
    needed_minutes: float = Field(
        description="Processing plus setup of the relaxed solution's parts there."
    )
    extra_minutes: int = Field(description="Whole minutes bought beyond the free capacity.")
    extra_hours: float
    overtime_cents: int = Field(description="extra_minutes at the stated overtime price.")
    worth_cents: int = Field(
        description="The gain of the orders it serves, shared out by their machine time on "
        "the extra rows (CapacityNeeds.worth_method)."
    )
    serves: list[str] = Field(
        default_factory=list,
        description="Orders made here in the relaxed solution that the plan leaves late or "
        "unserved.",
    )


class OrderApart(Result):
    """An order even unlimited capacity does not serve on time, and why."""

    order: str
    reason: ReasonCode
    detail: str


class CapacityNeeds(Result):
    """The relaxed solve's extra capacity, what it costs and what it is worth."""

    status: SolveStatus = Field(description="The relaxed CP-SAT solve's status.")
    objective: int | None = Field(
        default=None, description="The relaxed objective, overtime included."
    )
    best_bound: int | None = None
    gap: float | None = Field(default=None, description="(objective - bound) / |objective|.")
    overtime_cents_per_hour: int
    price_basis: str = Field(description="Where the overtime price comes from.")
    rows: list[ExtraCapacity] = Field(default_factory=list, description="Most extra minutes first.")
    extra_hours: float = 0.0
    overtime_cents: int = 0
    plan_objective: int = Field(
        default=0,
        description="The constrained plan's share of the objective for the orders modelled "
        "(an unserved mandatory order counts 0, as in plan.costs).",
    )
    unconstrained_objective: int = Field(
        default=0, description="The relaxed solution's objective for them, without overtime."
    )
    worth_cents: int = Field(
        default=0,
        description="plan_objective - unconstrained_objective: what all the extra capacity "
        "is worth.",
    )
    lateness_saved_cents: int = 0
    unserved_saved_cents: int = Field(
        default=0, description="Penalties of the plan's unserved orders the relaxed solve serves."
    )
    cost_change_cents: int = Field(
        default=0,
        description="Production, transport and credit of the relaxed solution minus the "
        "plan's, for the orders modelled.",
    )
    mandatory_served: list[str] = Field(
        default_factory=list,
        description="Mandatory orders the plan leaves unserved and the relaxed solve serves "
        "(their value is not in cents).",
    )
    apart: list[OrderApart] = Field(
        default_factory=list,
        description="Orders not served on time even with unlimited capacity, with the reason.",
    )
    worth_method: str = ""
    plan_source: str = Field(description="The constrained plan compared with.")
    notes: list[str] = Field(default_factory=list)
    wall_time_s: float = 0.0


class ConstraintReport(Result):
    """What binds in a plan and whom it delays or pushes out (docs/explain.md)."""

    marginal_values: str = Field(description="Where the marginal values come from.")
    binding: list[BindingCapacity] = Field(
        default_factory=list,
        description="Highest marginal value first, then most orders affected.",
    )
    materials: list[BindingMaterial] = Field(default_factory=list)
    orders: list[OrderConstraints] = Field(
        default_factory=list, description="Unassigned orders, then late ones, as in the plan."
    )
    notes: list[str] = Field(default_factory=list)
    wall_time_s: float = 0.0


class FactoryFairness(Result):
    """One factory's work, revenue and load in a plan (docs/fairness-report.md)."""

    factory: str
    units: int = Field(description="Units made (order split by operation: its last operation's).")
    hours: float = Field(description="Machine hours of processing (no setups).")
    revenue_cents: int = Field(description="Production price the plan pays the factory.")
    units_share: float
    hours_share: float
    revenue_share: float
    capacity_minutes: int = Field(
        description="Declared available minutes over the horizon, all groups: its size."
    )
    free_minutes: int = Field(description="Available - committed minutes over the horizon.")
    used_minutes: float = Field(description="Processing plus setup minutes the plan uses.")
    utilisation: float | None = Field(description="used / free; None when free is 0.")
    small: bool = Field(description="capacity_minutes in the instance's lowest quartile.")
    new: bool = Field(description="credit.records below the new-factory threshold.")


class WorkDistribution(Result):
    """How one measure of work (units, hours, revenue) spreads over all factories."""

    measure: str = Field(description="units, hours or revenue (cents).")
    total: float
    gini: float = Field(
        description="Over all factories, zeros included: sum_i sum_j |x_i - x_j| / (2 n^2 mean)."
    )
    max_share: float = Field(description="The largest factory's share.")
    top_share: float = Field(description="Share of the top_count largest factories.")
    small_share: float = Field(description="Share of the small factories.")
    new_share: float = Field(description="Share of the new factories.")


class BlockingPair(Result):
    """An order and a factory that would both prefer each other to the plan."""

    order: str
    factory: str
    unserved: bool = Field(description="The order is not served by the plan.")
    price_now_cents: int | None = Field(
        description="Production + transport estimate the order pays now; None: unserved."
    )
    price_cents: int = Field(description="(sum of unit costs + transport per unit) x quantity.")
    saving_cents: int | None = Field(description="price_now - price; None: unserved.")
    setups: int = Field(
        description="The fewest periods the factory's free capacity can make the whole "
        "order in by its due date (each pays its setups)."
    )


class PriceOfFairness(Result):
    """The plan's cost with the fairness options against a re-solve without them."""

    options: list[str] = Field(description="The options that were active, one line each.")
    time_limit_s: float = Field(description="Time limit of the re-solve without them.")
    status: SolveStatus = Field(description="Status of the re-solve without them.")
    cost_with_cents: int = Field(description="costs.total of the plan.")
    cost_without_cents: int = Field(description="costs.total of the re-solve.")
    difference_cents: int = Field(description="cost_with - cost_without.")
    percentage: float | None = Field(
        description="100 x difference / cost_without; None when cost_without is 0."
    )
    gini_units_with: float
    gini_units_without: float
    gini_revenue_with: float
    gini_revenue_without: float
    served_with: int = Field(description="Orders served by the plan.")
    served_without: int = Field(description="Orders served by the re-solve.")
    notes: list[str] = Field(default_factory=list)


class FairnessReport(Result):
    """How work and revenue spread over the factories, who would rather trade with whom,
    and what the fairness options cost (docs/fairness-report.md)."""

    factories: list[FactoryFairness] = Field(description="Every factory, by id.")
    units: WorkDistribution
    hours: WorkDistribution
    revenue: WorkDistribution
    top_count: int = Field(description="ceil(10 % of the factories): the 'top 10 %'.")
    small_capacity_minutes: int = Field(
        description="Small: capacity_minutes at most this (nearest-rank lower quartile)."
    )
    small_factories: int
    new_factory_records: int = Field(description="New: credit.records below this.")
    new_factories: int
    utilisation_factories: int = Field(description="Factories with free capacity.")
    utilisation_spread: float = Field(description="max - min utilisation over them.")
    utilisation_std: float = Field(description="Population standard deviation over them.")
    blocking_pairs: int = Field(description="All blocking pairs (docs/fairness-report.md).")
    blocking_unserved: int = Field(description="Of those, pairs whose order is unserved.")
    blocking_orders: int = Field(description="Distinct orders in a blocking pair.")
    blocking_listed: list[BlockingPair] = Field(
        default_factory=list,
        description="The first 50: largest saving first, then unserved orders' pairs.",
    )
    price_of_fairness: PriceOfFairness | None = Field(
        default=None, description="With fairness options or a load-balance weight: re-solved."
    )
    notes: list[str] = Field(default_factory=list)
    wall_time_s: float = 0.0


class Plan(Result):
    schema_version: str = "1"
    instance: str
    status: SolveStatus
    weights: ObjectiveWeights
    fairness_options: FairnessOptions | None = Field(
        default=None,
        description="The fairness options in effect (the solve's override, else the "
        "instance's; docs/fairness.md); absent = none.",
    )
    allocations: list[Allocation]
    unassigned: list[Unassigned]
    costs: CostBreakdown
    kpis: Kpis
    stages: list[StageStats]
    purchasing: Purchasing | None = None
    routes: Routing | None = None
    capacity_sharing: CapacitySharing | None = None
    replan: Replan | None = None
    transfers: list[OperationTransfer] = Field(
        default_factory=list,
        description="Inter-operation flows of orders split by operation (docs/model.md).",
    )
    explanations: list[OrderExplanation] | None = Field(
        default=None,
        description="With solve --explain: why each unassigned or late order is where it is "
        "(docs/explain.md).",
    )
    constraints: ConstraintReport | None = Field(
        default=None,
        description="With solve --explain: the binding capacity and materials, whom they "
        "delay or push out, and what holds each late or unserved order (docs/explain.md).",
    )
    fairness: FairnessReport | None = Field(
        default=None,
        description="How work and revenue spread over the factories, blocking pairs and the "
        "price of fairness (docs/fairness-report.md).",
    )
    capacity_needs: CapacityNeeds | None = Field(
        default=None,
        description="With solve --unconstrained: the extra hours per factory, resource group "
        "and period that would serve every order on time, and their worth (docs/explain.md).",
    )


class Displacement(Result):
    """An order part that would have to move to make room for a recommended order."""

    order: str
    from_factory: str
    to_factory: str
    units: int
    extra_cents: int = Field(description="Objective cost of the move.")


class Recommendation(Result):
    """One factory that could take a new order, given the plan's remaining capacity."""

    rank: int
    factory: str
    cost_cents: int = Field(description="Objective cost of the order there (weighted terms).")
    production_cents: int
    transport_cents: int
    lateness_cents: int
    completion_period: int = Field(description="Earliest period by which it can be finished.")
    late_units: int
    credit_score: int
    periods: list[PeriodQuantity] = Field(description="The placement behind cost_cents.")
    displaced: list[Displacement] = Field(
        default_factory=list, description="What would have to move (empty: it fits as is)."
    )
    total_cents: int = Field(description="cost_cents plus the extra cost of the moves.")


class Recommendations(Result):
    order: str
    options: list[Recommendation] = Field(description="Best first (total_cents).")
    not_possible: dict[str, str] = Field(
        default_factory=dict, description="Capable factories that cannot take it, and why."
    )
    reason: str | None = Field(default=None, description="Why no factory is eligible at all.")
    wall_time_s: float = 0.0
