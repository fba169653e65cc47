"""The plan: what the optimiser decided, what it cost, and what each stage proved.

Money is in integer cents, time in periods, quantities in units (see
:mod:`matcher.models`). Sections of later stages (purchasing, routes, capacity
sharing) are ``None`` until those stages run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matcher.models import ObjectiveWeights


class SolveStatus(StrEnum):
    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    TIME_LIMIT = "TIME_LIMIT"  # stopped by the limit without any solution
    UNKNOWN = "UNKNOWN"


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


class Unassigned(Result):
    order: str
    reason: ReasonCode
    detail: str
    mandatory: bool = False
    penalty_cents: int = 0


class CostBreakdown(Result):
    """Raw cost terms in cents; ``objective`` is their weighted sum."""

    production: int = 0
    transport: int = 0
    lateness: int = 0
    unserved: int = 0
    credit: int = Field(default=0, description="Units x credit points below 100 (unweighted).")
    purchasing: int = 0
    total: int = Field(default=0, description="production + transport + lateness + unserved.")
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


class Plan(Result):
    schema_version: str = "1"
    instance: str
    status: SolveStatus
    weights: ObjectiveWeights
    allocations: list[Allocation]
    unassigned: list[Unassigned]
    costs: CostBreakdown
    kpis: Kpis
    stages: list[StageStats]
    purchasing: dict[str, Any] | None = None
    routes: dict[str, Any] | None = None
    capacity_sharing: dict[str, Any] | None = None
