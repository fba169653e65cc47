"""What it would take: the extra capacity that serves every order on time (docs/explain.md).

A relaxed solve lets every capacity row (factory, resource group, period) be exceeded
by overtime bought at a high stated price; these are its answer, compared with a
constrained plan. Money in weighted objective cents, as the plan's ``objective``.
"""

from __future__ import annotations

from pydantic import Field

from matcher.domain.plan import ReasonCode, Result, SolveStatus


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
