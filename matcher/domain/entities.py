"""The entities of a cloud-factory instance.

Every entity of DESIGN.md as a frozen pydantic v2 model. Field validation lives on
the models; cross-references (unknown ids, calendar lengths, ...) are checked in
:mod:`matcher.domain.consistency` when the :class:`~matcher.domain.instance.Instance`
is built, and :mod:`matcher.domain.validation` reports every violation with its path.

Units (stated once, used everywhere):

* money: integer **cents**;
* capacity, committed load and setup: integer **minutes**; processing time per unit:
  integer **seconds** (fast processes need sub-minute resolution);
* time on the plan: integer **periods** ``0 .. horizon.periods - 1``;
* quantities: integer **units** of the ordered product; material quantities (bill of
  materials, purchasing) are floats in the material's own unit (kg, m, pcs).

Every number is bounded (the ``MAX_*`` limits below, docs/service.md "Numeric limits")
and every float is finite, so that nothing valid overflows the engines' 64-bit
integers: each product the engines form (a quantity times a price times a weight, a
material's millionths times units, a load in grams) stays below 2^63 with room. What
grows with the number of orders is bounded once, for the whole instance, by
:func:`matcher.domain.consistency.money_at_stake`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# ----------------------------------------------------------------- numeric limits
# Chosen so that every product the engines form fits in int64 with room (the reasons
# are in docs/service.md, "Numeric limits"); each one is in the JSON Schema.
MAX_UNIT_CENTS = 10**9
"""Money per unit: unit costs and prices, lateness per unit-period."""
MAX_RATE_CENTS = 10**6
"""A vehicle's cost per km and per hour."""
MAX_CENTS = 10**12
"""Money per order, route or shipment: unserved penalties, fixed and minimum charges."""
MAX_PLAN_CENTS = 10**14
"""The most any plan of an instance may cost, unweighted (see ``money_at_stake``)."""
MAX_WEIGHT = 10**4
"""Objective weights (and the stability price): with MAX_PLAN_CENTS, 10^18 weighted."""
MAX_UNITS = 10**9
"""Product quantities: orders, lots, split parts."""
MAX_MATERIAL = 10**12
"""Material quantities: stock, MOQ, offer capacity, tier breaks."""
MAX_NEED_PERIODS = 4 * 10**12
"""A purchased material's need over all orders times (periods + 1): the assignment
counts material in millionths of a unit per period."""
MAX_PER_UNIT = 10**6
"""Per unit of product or material: bill-of-materials quantity, kg, m3."""
MIN_PER_UNIT = 1e-9
"""Smallest non-zero weight or volume per unit (loads are counted in grams and litres)."""
MAX_CAPACITY = 10**9
"""Vehicle capacity per dimension."""
MAX_MINUTES = 10**9
"""Capacity calendars: available and committed minutes per period."""
MAX_SHORT_MINUTES = 10**6
"""Durations that fit in a period or a shift: period length, setup, shifts, handling."""
MAX_SECONDS_PER_UNIT = 10**7
"""Processing time of one unit of one operation."""
MAX_PERIOD = 10_000
"""Horizon length, and so every period index and lead time."""
MAX_COUNT = 10**6
"""Machines in a group, factories per split order, candidates and suppliers kept."""
MIN_SPEED_KMH, MAX_SPEED_KMH = 1.0, 1000.0
MAX_CENTS_PER_TONNE_KM = 10**6
MAX_LIST = 100
"""Operations of an order, tiers of a price schedule."""


def _zero_or_measurable(value: float) -> float:
    if 0.0 < value < MIN_PER_UNIT:
        raise ValueError(f"must be 0 or at least {MIN_PER_UNIT:g}")
    return value


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS, description="Money in integer cents.")]
UnitCents = Annotated[
    int, Field(ge=0, le=MAX_UNIT_CENTS, description="Money per unit in integer cents.")
]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Units = Annotated[int, Field(gt=0, le=MAX_UNITS)]
Period = Annotated[int, Field(ge=0, le=MAX_PERIOD)]
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES)]
ShortMinutes = Annotated[int, Field(ge=0, le=MAX_SHORT_MINUTES)]
Weight = Annotated[int, Field(ge=0, le=MAX_WEIGHT)]
MaterialQuantity = Annotated[float, Field(ge=0.0, le=MAX_MATERIAL)]
PerUnit = Annotated[float, Field(ge=0.0, le=MAX_PER_UNIT), AfterValidator(_zero_or_measurable)]
Speed = Annotated[float, Field(ge=MIN_SPEED_KMH, le=MAX_SPEED_KMH)]


class Frozen(BaseModel):
    """Base of every domain model: immutable, no unknown fields, finite floats."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Location(Frozen):
    lat: float = Field(ge=-90.0, le=90.0, description="Latitude in degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude in degrees.")
    region: str | None = Field(default=None, description="Free-text region, e.g. 'Ningbo'.")


class Horizon(Frozen):
    """The planning horizon: ``periods`` consecutive periods of ``period_minutes``."""

    start_date: dt.date = Field(description="Calendar date of period 0.")
    periods: PosInt = Field(le=MAX_PERIOD)
    period_minutes: PosInt = Field(
        default=1440, le=MAX_SHORT_MINUTES, description="Length of one period (1440 = day)."
    )


class Process(Frozen):
    """A capability code in the platform's catalogue (``injection_molding``)."""

    id: Id
    name: str | None = None
    industry: str | None = None


class MaterialSourcing(StrEnum):
    """Where a material comes from (docs/model.md, "Materials")."""

    PURCHASED = "purchased"  # bought from the suppliers' offers: it can block production
    PROVIDED = "provided"  # brought by the buyer or the factory: never bought, never blocks


class Material(Frozen):
    id: Id
    name: str | None = None
    unit: str = Field(default="kg", description="Unit of material quantities (kg, m, pcs).")
    kg_per_unit: PerUnit = Field(
        default=1.0,
        description="Shipping weight of one unit (inbound transport); 0 or at least 1e-9.",
    )
    m3_per_unit: PerUnit = Field(
        default=0.0, description="Shipping volume of one unit; 0 or at least 1e-9."
    )
    sourcing: MaterialSourcing = Field(
        default=MaterialSourcing.PURCHASED,
        description="'purchased': production needing it waits until the suppliers' offers "
        "(or the factory's stock) can cover it; 'provided': the buyer or the factory brings "
        "it, it is never bought and never holds production back.",
    )


class ResourceGroup(Frozen):
    """A pool of interchangeable machines or workers with a capacity calendar."""

    id: Id
    machines: PosInt = Field(
        default=1, le=MAX_COUNT, description="Parallel machines (used by scheduling)."
    )
    available_minutes: list[Minutes] = Field(
        description="Minutes available in each period (length = horizon.periods)."
    )
    committed_minutes: list[Minutes] | None = Field(
        default=None,
        description="Minutes already committed to earlier work in each period; "
        "free capacity = available - committed. Absent means none.",
    )

    def free_minutes(self, period: int) -> int:
        committed = self.committed_minutes[period] if self.committed_minutes else 0
        return max(0, self.available_minutes[period] - committed)


class Capability(Frozen):
    """What a factory can do for one process, and at what cost and speed."""

    process: Id
    resource_group: Id
    unit_cost_cents: UnitCents = Field(description="Price charged per unit for this operation.")
    seconds_per_unit: NonNegInt = Field(
        le=MAX_SECONDS_PER_UNIT, description="Processing time per unit, seconds."
    )
    setup_minutes: ShortMinutes = Field(
        default=0, description="Setup incurred in every period a lot of this operation runs."
    )
    min_lot: Units = Field(default=1, description="Smallest lot accepted for one order part.")
    max_lot: Units | None = Field(default=None, description="Largest lot for one order part.")
    quality_grade: int = Field(default=3, ge=1, le=5, description="1 (basic) .. 5 (premium).")
    materials: list[Id] = Field(
        default_factory=list, description="Materials it can process; empty means any."
    )

    @model_validator(mode="after")
    def _lots_ordered(self) -> Capability:
        if self.max_lot is not None and self.max_lot < self.min_lot:
            raise ValueError(f"max_lot {self.max_lot} is below min_lot {self.min_lot}")
        return self


class Credit(Frozen):
    """A factory's track record."""

    on_time_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    quality_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    score: int = Field(default=80, ge=0, le=100)
    records: int | None = Field(
        default=None,
        ge=0,
        description="Trade records the credit was computed from (docs/credit.md); absent = "
        "a declared credit. Fairness counts a factory with fewer than "
        "fairness.new_factory_records records as new (docs/fairness.md).",
    )


class Factory(Frozen):
    id: Id
    name: str | None = None
    location: Location
    industry: str | None = None
    capabilities: list[Capability] = Field(min_length=1)
    resources: list[ResourceGroup] = Field(min_length=1)
    credit: Credit = Field(default_factory=Credit)
    max_buyer_share: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Largest share of the factory's free minutes over the horizon that one "
        "buyer's orders may use.",
    )
    stock: dict[Id, MaterialQuantity] = Field(
        default_factory=dict,
        description="Material on hand from period 0, per material id, in the material's "
        "unit: used before anything is bought.",
    )


class Operation(Frozen):
    """One processing step of an order; operations are listed in precedence order."""

    process: Id
    material: Id | None = Field(default=None, description="Material the step works on.")
    min_quality_grade: int | None = Field(default=None, ge=1, le=5)


class SplitPolicy(Frozen):
    allowed: bool = False
    min_quantity: Units = Field(default=1, description="Smallest quantity of one part.")
    max_factories: PosInt = Field(
        default=1,
        le=MAX_COUNT,
        description="Most factories per order (per operation with by_operation).",
    )
    by_operation: bool = Field(
        default=False,
        description="Each operation may run at its own factories; the lot travels between "
        "them (transfer time and cost, docs/model.md). Off: all operations of a part run at "
        "one factory in the same periods.",
    )


class Penalties(Frozen):
    late_cents_per_unit_period: UnitCents = Field(
        default=0, description="Paid per unit for each period it is produced after the due period."
    )
    unserved_cents: Cents | None = Field(
        default=None, description="Paid if the order is not served; absent = mandatory order."
    )


class Order(Frozen):
    id: Id
    buyer: Id
    operations: list[Operation] = Field(min_length=1, max_length=MAX_LIST)
    quantity: Units
    release_period: Period = 0
    due_period: Period
    delivery: Location
    unit_weight_kg: PerUnit = Field(
        default=1.0, description="Shipping weight per unit; 0 or at least 1e-9."
    )
    unit_volume_m3: PerUnit = Field(
        default=0.0, description="Shipping volume per unit; 0 or at least 1e-9."
    )
    max_unit_price_cents: Cents | None = Field(
        default=None, description="Ceiling on the summed unit cost of the operations."
    )
    min_credit_score: int | None = Field(default=None, ge=0, le=100)
    split: SplitPolicy = Field(default_factory=SplitPolicy)
    penalties: Penalties = Field(default_factory=Penalties)
    bill_of_materials: dict[Id, Annotated[float, Field(gt=0.0, le=MAX_PER_UNIT)]] = Field(
        default_factory=dict, description="Material id -> quantity per unit of product."
    )

    @property
    def mandatory(self) -> bool:
        return self.penalties.unserved_cents is None


class ScheduleType(StrEnum):
    ALL_UNITS = "all_units"
    INCREMENTAL = "incremental"


class PriceTier(Frozen):
    min_quantity: MaterialQuantity = Field(description="Quantity from which this tier applies.")
    unit_price_cents: UnitCents


class PriceSchedule(Frozen):
    type: ScheduleType = ScheduleType.ALL_UNITS
    tiers: list[PriceTier] = Field(min_length=1, max_length=MAX_LIST)


class Offer(Frozen):
    material: Id
    price: PriceSchedule
    moq: MaterialQuantity = Field(default=0.0, description="Minimum order quantity (0 or >= moq).")
    capacity: float | None = Field(
        default=None, gt=0.0, le=MAX_MATERIAL, description="Most it can supply."
    )
    lead_time_periods: Period = 0


class Supplier(Frozen):
    id: Id
    name: str | None = None
    location: Location
    offers: list[Offer] = Field(min_length=1)


class Depot(Frozen):
    id: Id
    location: Location


class Vehicle(Frozen):
    id: Id
    depot: Id
    capacity: dict[str, Annotated[float, Field(gt=0.0, le=MAX_CAPACITY)]] = Field(
        min_length=1, description="Capacity per dimension, e.g. {'weight_kg': 5000}."
    )
    fixed_cost_cents: Cents = 0
    cost_per_km_cents: int = Field(default=0, ge=0, le=MAX_RATE_CENTS)
    cost_per_hour_cents: int = Field(default=0, ge=0, le=MAX_RATE_CENTS)
    speed_kmh: Speed = 50.0
    shift_start_minute: ShortMinutes = 0
    shift_end_minute: PosInt = Field(default=1440, le=MAX_SHORT_MINUTES)
    max_duration_minutes: PosInt | None = Field(default=None, le=MAX_SHORT_MINUTES)

    @model_validator(mode="after")
    def _shift_ordered(self) -> Vehicle:
        if self.shift_end_minute <= self.shift_start_minute:
            raise ValueError("shift_end_minute must be after shift_start_minute")
        return self


class Hub(Frozen):
    """A shared warehouse or consolidation centre (docs/logistics.md).

    The fleet brings it the finished goods of the factories within its reach and takes
    their materials from it (milk runs); line-haul trucks carry the consolidated loads
    on to the buyers and bring the materials in from the suppliers.
    """

    id: Id
    location: Location
    reach_km: float = Field(
        default=60.0, gt=0.0, le=20_000.0, description="Serves factories within this road km."
    )
    handling_cents_per_kg: float = Field(
        default=0.0, ge=0.0, le=MAX_PER_UNIT, description="Cross-docking cost of a kg through it."
    )
    capacity_kg: float | None = Field(
        default=None,
        gt=0.0,
        le=MAX_CAPACITY,
        description="Kg it can handle per period, goods in and materials out together "
        "(none: no limit).",
    )
    open_minute: ShortMinutes = Field(default=0, description="Opens, minutes into a period.")
    close_minute: PosInt = Field(
        default=1440, le=MAX_SHORT_MINUTES, description="Closes, minutes into a period."
    )

    @model_validator(mode="after")
    def _hours_ordered(self) -> Hub:
        if self.close_minute <= self.open_minute:
            raise ValueError("close_minute must be after open_minute")
        return self


class Fleet(Frozen):
    """The platform's own vehicles: they run day routes (one per vehicle and period).

    Loads are matched to capacities by dimension name: ``weight_kg`` takes the orders'
    ``unit_weight_kg`` and the materials' ``kg_per_unit``, ``volume_m3`` their
    ``unit_volume_m3`` and ``m3_per_unit``; any other dimension carries nothing.
    With ``hubs``, loads of the factories near a hub can go through it
    (docs/logistics.md).
    """

    depots: list[Depot] = Field(default_factory=list)
    vehicles: list[Vehicle] = Field(default_factory=list)
    hubs: list[Hub] = Field(default_factory=list, max_length=10_000)
    service_minutes: ShortMinutes = Field(
        default=15, description="Loading or unloading time at every pickup and delivery."
    )


class LineHaul(Frozen):
    """Line-haul between a hub and a buyers' region or a supplier (docs/logistics.md): the
    loads of one lane and period travel together, by the truckload or less than a
    truckload, whichever costs less."""

    truck_capacity_kg: float = Field(default=24_000.0, gt=0.0, le=MAX_CAPACITY)
    truck_cents_per_km: int = Field(default=150, ge=0, le=MAX_RATE_CENTS)
    ltl_cents_per_tonne_km: float = Field(default=12.0, ge=0.0, le=MAX_CENTS_PER_TONNE_KM)
    ltl_min_cents: Cents = Field(default=5_000, description="Least an LTL shipment costs.")
    stop_cents: Cents = Field(
        default=5_000,
        description="A full-truck shipment's charge for each delivery address after the "
        "first (goods to a buyers' region with several addresses).",
    )


class Transport(Frozen):
    """How the assignment stage estimates shipping cost before routes exist.

    Per unit shipped from factory f to order o:
    ``floor(haversine_km(f, o) * road_factor * unit_weight_kg * cents_per_tonne_km / 1000 + 0.5)``.
    """

    road_factor: float = Field(default=1.3, ge=1.0, le=5.0)
    cents_per_tonne_km: float = Field(default=30.0, ge=0.0, le=MAX_CENTS_PER_TONNE_KM)
    carrier_min_cents: Cents = Field(
        default=0,
        description="The carrier's minimum charge per shipment. Routing only: a load the "
        "fleet does not carry costs max(this, its per-unit estimate).",
    )
    transfer_speed_kmh: Speed = Field(
        default=50.0,
        description="Average speed of a lot moving between two factories (orders split "
        "by operation): road km / this = driving time.",
    )
    transfer_handling_minutes: ShortMinutes = Field(
        default=0, description="Loading, paperwork and unloading of one inter-factory transfer."
    )
    line_haul: LineHaul | None = Field(
        default=None,
        description="Rates between hubs and buyers' regions or suppliers (none: LineHaul's "
        "defaults; used only with fleet.hubs).",
    )

    @property
    def line_haul_rates(self) -> LineHaul:
        return self.line_haul if self.line_haul is not None else LineHaul()


class ObjectiveWeights(Frozen):
    """Integer weights of the objective's terms (echoed in every plan)."""

    production: Weight = 1
    transport: Weight = 1
    lateness: Weight = 1
    unserved: Weight = 1
    credit: Weight = Field(
        default=0,
        description="Cents per unit and per credit-score point below 100 of the chosen factory.",
    )
    purchasing: Weight = 1
    load_balance: Weight = 0
    stability: Weight = 0


MAX_FAIR_WORK = 10**9
"""A minimum work per factory, in the fairness measure (units, hours or cents): with
MAX_WEIGHT and 3 600 seconds an hour, its penalty stays below 2^63."""
SHARE_RESOLUTION = 10_000
"""Engines apply a share (max_share, exploration_share) in ten-thousandths: rounded
towards the stricter side, so never looser than the rule (docs/fairness.md)."""
DEFAULT_SHORTFALL_CENTS: dict[str, int] = {"units": 100, "hours": 5000, "revenue": 1}
"""A fairness shortfall's price when none is given, per measure: a unit, an hour of
machine time, a cent of revenue short."""
WorkAmount = Annotated[float, Field(ge=0.0, le=MAX_FAIR_WORK)]
ShareMeasure = Literal["units", "hours", "revenue"]


class FairnessOptions(Frozen):
    """The platform's fairness policy for the assignment (docs/fairness.md).

    Every option is off by default. Work is counted in ``share_measure``: ``units``
    made (a unit of an order split by operation counts at the factory of its last
    operation), machine ``hours`` of processing (seconds per unit x units, setups
    excluded) or ``revenue`` (the production price paid to the factory, cents).
    """

    max_share: float | None = Field(
        default=None,
        ge=1.0 / SHARE_RESOLUTION,
        le=1.0,
        description="Hard cap: no factory gets more than this share of the platform's "
        "served work (in share_measure). Absent = no cap.",
    )
    share_measure: ShareMeasure = Field(
        default="units",
        description="What work is counted in: 'units', machine 'hours' (processing, no "
        "setups) or 'revenue' (production cents paid to the factory).",
    )
    min_work: WorkAmount | None = Field(
        default=None,
        description="Minimum work per factory, in share_measure (units, hours or cents); "
        "absent = none. min_work_by_factory overrides it per factory.",
    )
    min_work_by_factory: dict[Id, WorkAmount] = Field(
        default_factory=dict,
        description="Per-factory minimum work (overrides min_work; 0 exempts a factory).",
    )
    min_work_hard: bool = Field(
        default=False,
        description="True: the minimum is a hard constraint (the solve is infeasible if a "
        "factory cannot reach it); false: each unit short costs min_work_penalty.",
    )
    min_work_penalty: Weight | None = Field(
        default=None,
        description="Soft minimum: cents per unit of share_measure short (per unit, per "
        "hour, per cent of revenue), rounded up to whole cents per factory. Absent: "
        "100 per unit, 5000 per hour, 1 per cent of revenue.",
    )
    exploration_share: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Soft: at least this share of the served work should go to new "
        "factories (fewer than new_factory_records trade records); each unit of "
        "share_measure short costs exploration_penalty. Absent = none.",
    )
    exploration_penalty: Weight | None = Field(
        default=None,
        description="Cents per unit of share_measure that new factories get below "
        "exploration_share of the served work (rounded up to whole units, then cents). "
        "Absent: as min_work_penalty's default.",
    )
    new_factory_records: int = Field(
        default=5,
        ge=0,
        le=MAX_COUNT,
        description="A factory is new when its credit comes from fewer trade records than "
        "this (credit.records < this); a declared credit (records absent) is not new.",
    )

    @property
    def active(self) -> bool:
        """Whether any option constrains or prices the assignment."""
        return (
            self.max_share is not None
            or self.min_work is not None
            or any(v > 0 for v in self.min_work_by_factory.values())
            or self.exploration_share is not None
        )

    @property
    def shortfall_cents(self) -> int:
        """The soft minimum's price per unit of the measure short."""
        if self.min_work_penalty is not None:
            return self.min_work_penalty
        return DEFAULT_SHORTFALL_CENTS[self.share_measure]

    @property
    def exploration_cents(self) -> int:
        """The exploration shortfall's price per unit of the measure."""
        if self.exploration_penalty is not None:
            return self.exploration_penalty
        return DEFAULT_SHORTFALL_CENTS[self.share_measure]

    def min_work_of(self, factory: str) -> float:
        """The minimum work of ``factory`` (0 = none)."""
        return self.min_work_by_factory.get(factory, self.min_work or 0.0)
