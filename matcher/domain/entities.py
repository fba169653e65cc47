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
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
Cents = Annotated[int, Field(ge=0, description="Money in integer cents.")]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]


class Frozen(BaseModel):
    """Base of every domain model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Location(Frozen):
    lat: float = Field(ge=-90.0, le=90.0, description="Latitude in degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude in degrees.")
    region: str | None = Field(default=None, description="Free-text region, e.g. 'Ningbo'.")


class Horizon(Frozen):
    """The planning horizon: ``periods`` consecutive periods of ``period_minutes``."""

    start_date: dt.date = Field(description="Calendar date of period 0.")
    periods: PosInt = Field(le=10_000)
    period_minutes: PosInt = Field(default=1440, description="Length of one period (1440 = day).")


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
    kg_per_unit: float = Field(
        default=1.0, ge=0.0, description="Shipping weight of one unit (inbound transport)."
    )
    m3_per_unit: float = Field(default=0.0, ge=0.0, description="Shipping volume of one unit.")
    sourcing: MaterialSourcing = Field(
        default=MaterialSourcing.PURCHASED,
        description="'purchased': production needing it waits until the suppliers' offers "
        "(or the factory's stock) can cover it; 'provided': the buyer or the factory brings "
        "it, it is never bought and never holds production back.",
    )


class ResourceGroup(Frozen):
    """A pool of interchangeable machines or workers with a capacity calendar."""

    id: Id
    machines: PosInt = Field(default=1, description="Parallel machines (used by scheduling).")
    available_minutes: list[NonNegInt] = Field(
        description="Minutes available in each period (length = horizon.periods)."
    )
    committed_minutes: list[NonNegInt] | None = Field(
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
    unit_cost_cents: Cents = Field(description="Price charged per unit for this operation.")
    seconds_per_unit: NonNegInt = Field(description="Processing time per unit, seconds.")
    setup_minutes: NonNegInt = Field(
        default=0, description="Setup incurred in every period a lot of this operation runs."
    )
    min_lot: PosInt = Field(default=1, description="Smallest lot accepted for one order part.")
    max_lot: PosInt | None = Field(default=None, description="Largest lot for one order part.")
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
    stock: dict[Id, Annotated[float, Field(ge=0.0, le=1e12)]] = Field(
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
    min_quantity: PosInt = Field(default=1, description="Smallest quantity of one part.")
    max_factories: PosInt = Field(
        default=1, description="Most factories per order (per operation with by_operation)."
    )
    by_operation: bool = Field(
        default=False,
        description="Each operation may run at its own factories; the lot travels between "
        "them (transfer time and cost, docs/model.md). Off: all operations of a part run at "
        "one factory in the same periods.",
    )


class Penalties(Frozen):
    late_cents_per_unit_period: Cents = Field(
        default=0, description="Paid per unit for each period it is produced after the due period."
    )
    unserved_cents: Cents | None = Field(
        default=None, description="Paid if the order is not served; absent = mandatory order."
    )


class Order(Frozen):
    id: Id
    buyer: Id
    operations: list[Operation] = Field(min_length=1)
    quantity: PosInt
    release_period: NonNegInt = 0
    due_period: NonNegInt
    delivery: Location
    unit_weight_kg: float = Field(default=1.0, ge=0.0, description="Shipping weight per unit.")
    unit_volume_m3: float = Field(default=0.0, ge=0.0, description="Shipping volume per unit.")
    max_unit_price_cents: Cents | None = Field(
        default=None, description="Ceiling on the summed unit cost of the operations."
    )
    min_credit_score: int | None = Field(default=None, ge=0, le=100)
    split: SplitPolicy = Field(default_factory=SplitPolicy)
    penalties: Penalties = Field(default_factory=Penalties)
    bill_of_materials: dict[Id, Annotated[float, Field(gt=0.0)]] = Field(
        default_factory=dict, description="Material id -> quantity per unit of product."
    )

    @property
    def mandatory(self) -> bool:
        return self.penalties.unserved_cents is None


class ScheduleType(StrEnum):
    ALL_UNITS = "all_units"
    INCREMENTAL = "incremental"


class PriceTier(Frozen):
    min_quantity: float = Field(ge=0.0, description="Quantity from which this tier applies.")
    unit_price_cents: Cents


class PriceSchedule(Frozen):
    type: ScheduleType = ScheduleType.ALL_UNITS
    tiers: list[PriceTier] = Field(min_length=1)


class Offer(Frozen):
    material: Id
    price: PriceSchedule
    moq: float = Field(default=0.0, ge=0.0, description="Minimum order quantity (0 or >= moq).")
    capacity: float | None = Field(default=None, gt=0.0, description="Most it can supply.")
    lead_time_periods: NonNegInt = 0


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
    capacity: dict[str, Annotated[float, Field(gt=0.0)]] = Field(
        min_length=1, description="Capacity per dimension, e.g. {'weight_kg': 5000}."
    )
    fixed_cost_cents: Cents = 0
    cost_per_km_cents: Cents = 0
    cost_per_hour_cents: Cents = 0
    speed_kmh: float = Field(default=50.0, gt=0.0)
    shift_start_minute: NonNegInt = 0
    shift_end_minute: PosInt = 1440
    max_duration_minutes: PosInt | None = None

    @model_validator(mode="after")
    def _shift_ordered(self) -> Vehicle:
        if self.shift_end_minute <= self.shift_start_minute:
            raise ValueError("shift_end_minute must be after shift_start_minute")
        return self


class Fleet(Frozen):
    """The platform's own vehicles: they run day routes (one per vehicle and period).

    Loads are matched to capacities by dimension name: ``weight_kg`` takes the orders'
    ``unit_weight_kg`` and the materials' ``kg_per_unit``, ``volume_m3`` their
    ``unit_volume_m3`` and ``m3_per_unit``; any other dimension carries nothing.
    """

    depots: list[Depot] = Field(default_factory=list)
    vehicles: list[Vehicle] = Field(default_factory=list)
    service_minutes: NonNegInt = Field(
        default=15, description="Loading or unloading time at every pickup and delivery."
    )


class Transport(Frozen):
    """How the assignment stage estimates shipping cost before routes exist.

    Per unit shipped from factory f to order o:
    ``floor(haversine_km(f, o) * road_factor * unit_weight_kg * cents_per_tonne_km / 1000 + 0.5)``.
    """

    road_factor: float = Field(default=1.3, ge=1.0, le=5.0)
    cents_per_tonne_km: float = Field(default=30.0, ge=0.0)
    carrier_min_cents: Cents = Field(
        default=0,
        description="The carrier's minimum charge per shipment. Routing only: a load the "
        "fleet does not carry costs max(this, its per-unit estimate).",
    )
    transfer_speed_kmh: float = Field(
        default=50.0,
        gt=0.0,
        description="Average speed of a lot moving between two factories (orders split "
        "by operation): road km / this = driving time.",
    )
    transfer_handling_minutes: NonNegInt = Field(
        default=0, description="Loading, paperwork and unloading of one inter-factory transfer."
    )


class ObjectiveWeights(Frozen):
    """Integer weights of the objective's terms (echoed in every plan)."""

    production: NonNegInt = 1
    transport: NonNegInt = 1
    lateness: NonNegInt = 1
    unserved: NonNegInt = 1
    credit: NonNegInt = Field(
        default=0,
        description="Cents per unit and per credit-score point below 100 of the chosen factory.",
    )
    purchasing: NonNegInt = 1
    load_balance: NonNegInt = 0
    stability: NonNegInt = 0
