"""Executed plans become trade records, so that credit follows what factories did.

An execution file says, per part of a plan (an order made at a factory), what was
delivered when and how much of it was defective. Each delivery becomes a record
promised by the end of the later of the order's due period and the part's last
planned period: a factory is not late for meeting the buyer's date, and is held to
the plan when the plan itself accepted lateness (docs/credit.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from matcher.credit.records import RecordsError, TradeRecord, period_end_date
from matcher.domain.consistency import Issue
from matcher.domain.entities import Frozen, Id, Units
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError, pydantic_issues, read_json


class ExecutedDelivery(Frozen):
    """One delivery of a plan's part."""

    order: Id
    factory: Id = Field(
        description="The factory of the part (the last operation's, for "
        "an order split by operation: the one that delivers)."
    )
    delivered_date: dt.date
    quantity: Units
    defective_quantity: int = Field(ge=0)
    rating: float | None = Field(default=None, ge=1.0, le=5.0)

    @model_validator(mode="after")
    def _defects_within(self) -> ExecutedDelivery:
        if self.defective_quantity > self.quantity:
            raise ValueError(
                f"defective_quantity {self.defective_quantity} exceeds quantity {self.quantity}"
            )
        return self


class Execution(Frozen):
    """What happened to a plan: its deliveries, in any order."""

    instance: str | None = Field(default=None, description="The plan's instance name, checked.")
    deliveries: list[ExecutedDelivery]


def parse_execution(data: Any) -> Execution:
    """Validate an execution file's JSON.

    Raises
    ------
    RecordsError
        With every problem and its path (``deliveries[3].delivered_date``).
    """
    try:
        return Execution.model_validate(data)
    except ValidationError as err:
        raise RecordsError(pydantic_issues(err)) from None


def load_execution(path: str | Path) -> Execution:
    """Read an execution JSON file (:func:`parse_execution`)."""
    try:
        data = read_json(path)
    except InvalidInstanceError as err:
        raise RecordsError(err.issues) from None
    return parse_execution(data)


def promised_periods(instance: Instance, plan: Plan) -> dict[tuple[str, str], tuple[int, int]]:
    """Per delivering part (order, factory): the promised period and the part's units.

    The delivering rows are the last operation's; the promise is the later of the
    order's due period and the part's last period with production.
    """
    orders = {o.id: o for o in instance.orders}
    last_period: dict[tuple[str, str], int] = {}
    units: dict[tuple[str, str], int] = defaultdict(int)
    for a in plan.allocations:
        order = orders.get(a.order)
        if order is None or a.operation != len(order.operations) - 1:
            continue
        key = (a.order, a.factory)
        made = [p.period for p in a.periods if p.quantity > 0]
        last_period[key] = max([last_period.get(key, 0), *made])
        units[key] += a.quantity
    return {
        key: (max(orders[key[0]].due_period, last), units[key]) for key, last in last_period.items()
    }


def execution_records(instance: Instance, plan: Plan, execution: Execution) -> list[TradeRecord]:
    """One record per delivery, promised by the end of its part's promised period.

    Raises
    ------
    RecordsError
        If the plan is of another instance, a delivery names no part of the plan, or
        a part's deliveries add up to more units than the plan gives it.
    """
    issues: list[Issue] = []
    if plan.instance != instance.name:
        issues.append(
            Issue("plan.instance", f"the plan is of {plan.instance!r}, not {instance.name!r}")
        )
    if execution.instance is not None and execution.instance != plan.instance:
        issues.append(
            Issue(
                "instance",
                f"the execution is of {execution.instance!r}, the plan of {plan.instance!r}",
            )
        )
    parts = promised_periods(instance, plan)
    delivered: dict[tuple[str, str], int] = defaultdict(int)
    records: list[TradeRecord] = []
    for i, d in enumerate(execution.deliveries):
        key = (d.order, d.factory)
        if key not in parts:
            issues.append(
                Issue(
                    f"deliveries[{i}]",
                    f"the plan has no part of order {d.order!r} delivered by factory {d.factory!r}",
                )
            )
            continue
        period, units = parts[key]
        delivered[key] += d.quantity
        if delivered[key] > units:
            issues.append(
                Issue(
                    f"deliveries[{i}].quantity",
                    f"the deliveries of order {d.order!r} by "
                    f"{d.factory!r} reach {delivered[key]} units, the plan's part has {units}",
                )
            )
            continue
        records.append(
            TradeRecord(
                order=d.order,
                factory=d.factory,
                promised_date=period_end_date(instance.horizon, period),
                delivered_date=d.delivered_date,
                quantity=d.quantity,
                defective_quantity=d.defective_quantity,
                rating=d.rating,
            )
        )
    if issues:
        raise RecordsError(issues)
    return records
