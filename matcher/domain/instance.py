"""The instance: horizon, catalogue, factories, orders, suppliers, fleet, transport, weights,
fairness.

Cross-references are checked when an ``Instance`` is built (the rules live in
:mod:`matcher.domain.consistency`), so an ``Instance`` in memory is always consistent.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from matcher.domain.consistency import ConsistencyError, ParsedEntities, consistency_issues
from matcher.domain.entities import (
    Factory,
    FairnessOptions,
    Fleet,
    Frozen,
    Horizon,
    Material,
    ObjectiveWeights,
    Order,
    Process,
    Supplier,
    Transport,
)


class Instance(Frozen):
    """A complete problem: horizon, catalogue, factories, orders, suppliers, fleet.

    Construct it through :func:`matcher.domain.validation.parse_instance` (or
    ``Instance.model_validate``): cross-references are checked here too, so an
    ``Instance`` in memory is always consistent.
    """

    schema_version: str = "1"
    name: str = "instance"
    horizon: Horizon
    processes: list[Process] = Field(min_length=1)
    materials: list[Material] = Field(default_factory=list)
    factories: list[Factory] = Field(min_length=1)
    orders: list[Order] = Field(default_factory=list)
    suppliers: list[Supplier] = Field(default_factory=list)
    fleet: Fleet = Field(default_factory=Fleet)
    transport: Transport = Field(default_factory=Transport)
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    fairness: FairnessOptions | None = Field(
        default=None,
        description="The platform's fairness policy for the assignment (docs/fairness.md); "
        "absent = none. A solve's params.fairness overrides it.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Instance:
        issues = consistency_issues(parts_of(self))
        if issues:
            raise ConsistencyError(issues)
        return self


def json_schema() -> dict[str, Any]:
    """JSON Schema of the instance format (what ``matcher schema`` prints)."""
    return Instance.model_json_schema()


def parts_of(instance: Instance) -> ParsedEntities:
    """Every entity of ``instance`` with its index, for the consistency rules."""
    return ParsedEntities(
        horizon=instance.horizon,
        processes=list(enumerate(instance.processes)),
        materials=list(enumerate(instance.materials)),
        factories=list(enumerate(instance.factories)),
        orders=list(enumerate(instance.orders)),
        suppliers=list(enumerate(instance.suppliers)),
        fleet=instance.fleet,
        fairness=instance.fairness,
    )
