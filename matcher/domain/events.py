"""Disruptions a re-plan starts from: what happened since the plan was made.

A :class:`Disruption` (the EVENTS file of ``matcher replan``) names the first period
that may still change (``now_period``), the work to keep (``frozen``), the stability
weight, and the events. :func:`parse_disruption` validates it against the instance
and the previous plan, every problem with its path; :func:`apply_events` returns the
instance as it now stands (docs/sharing.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from matcher.domain.consistency import Issue, material_need_issues
from matcher.domain.entities import (
    Factory,
    Frozen,
    Id,
    Minutes,
    Order,
    Period,
    ResourceGroup,
    Units,
    Weight,
)
from matcher.domain.instance import Instance
from matcher.domain.validation import (
    InvalidInstanceError,
    order_issues,
    pydantic_issues,
    stake_of,
)


class FactoryUnavailable(Frozen):
    """The factory makes nothing in periods ``from_period..to_period`` (inclusive)."""

    type: Literal["factory_unavailable"]
    factory: Id
    from_period: Period
    to_period: Period


class CapacityCut(Frozen):
    """A resource group (or every group of the factory) has less time in a range of
    periods: ``available_minutes`` per period, or ``fraction`` of what it had."""

    type: Literal["capacity_cut"]
    factory: Id
    resource_group: Id | None = Field(default=None, description="None: every group.")
    from_period: Period
    to_period: Period
    available_minutes: Minutes | None = None
    fraction: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_amount(self) -> CapacityCut:
        if (self.available_minutes is None) == (self.fraction is None):
            raise ValueError("give exactly one of available_minutes and fraction")
        return self


class OrderAdded(Frozen):
    type: Literal["order_added"]
    order: Order


class OrderCancelled(Frozen):
    type: Literal["order_cancelled"]
    order: Id


class OrderChanged(Frozen):
    """New quantity and/or due period of an order (it is then re-planned whole, except
    the units already made before ``now_period``)."""

    type: Literal["order_changed"]
    order: Id
    quantity: Units | None = None
    due_period: Period | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> OrderChanged:
        if self.quantity is None and self.due_period is None:
            raise ValueError("give quantity and/or due_period")
        return self


Event = Annotated[
    FactoryUnavailable | CapacityCut | OrderAdded | OrderCancelled | OrderChanged,
    Field(discriminator="type"),
]


class FreezeRef(Frozen):
    """Work that must not move: every part of ``order``, or only its part at ``factory``."""

    order: Id
    factory: Id | None = None


class Disruption(Frozen):
    now_period: Period = Field(
        default=0,
        description="First period that may change. Work planned before it is done, and a "
        "part that started before it is frozen (kept where and when it was planned).",
    )
    stability: Weight | None = Field(
        default=None,
        description="Cents per unit moved away from its factory in the previous plan; "
        "overrides weights.stability when given.",
    )
    frozen: list[Id | FreezeRef] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    def frozen_refs(self) -> list[FreezeRef]:
        return [f if isinstance(f, FreezeRef) else FreezeRef(order=f) for f in self.frozen]


def describe(event: Event) -> str:
    """One line for the re-plan report."""
    if isinstance(event, FactoryUnavailable):
        return f"{event.factory} unavailable in periods {event.from_period}..{event.to_period}"
    if isinstance(event, CapacityCut):
        group = event.resource_group or "every group"
        amount = (
            f"{event.available_minutes} min per period"
            if event.available_minutes is not None
            else f"{event.fraction:.0%} of its time"
        )
        return (
            f"{event.factory} {group} cut to {amount} in periods "
            f"{event.from_period}..{event.to_period}"
        )
    if isinstance(event, OrderAdded):
        return f"order {event.order.id} added ({event.order.quantity} units)"
    if isinstance(event, OrderCancelled):
        return f"order {event.order} cancelled"
    changes = []
    if event.quantity is not None:
        changes.append(f"quantity {event.quantity}")
    if event.due_period is not None:
        changes.append(f"due period {event.due_period}")
    return f"order {event.order} changed: {', '.join(changes)}"


def parse_disruption(data: Any, instance: Instance) -> Disruption:
    """Validate raw JSON into a :class:`Disruption` consistent with ``instance``.

    Raises
    ------
    InvalidInstanceError
        With every violation found, each with its path (``events[2].factory``).
    """
    try:
        disruption = Disruption.model_validate(data)
    except ValidationError as err:
        raise InvalidInstanceError(pydantic_issues(err)) from None
    issues = _consistency(disruption, instance) or _stake(disruption, instance)
    if issues:
        raise InvalidInstanceError(issues)
    return disruption


def _stake(d: Disruption, instance: Instance) -> list[Issue]:
    """The instance after the events must stay within the limits on what its plans can
    cost and on material needs (orders added or grown): the issues are at the last
    event touching the order with the largest share, else at ``events``."""
    after = apply_events(instance, d)
    stake = stake_of(after)
    heavy = material_need_issues(
        after.horizon.periods, enumerate(after.materials), enumerate(after.orders)
    )
    if stake.within_limit and not heavy:
        return []
    touched = {
        e.order.id if isinstance(e, OrderAdded) else e.order: i
        for i, e in enumerate(d.events)
        if isinstance(e, OrderAdded | OrderChanged)
    }
    where, here = "events", False
    if m := re.match(r"^orders\[(\d+)\]$", stake.shares[0][0] if stake.shares else ""):
        index = touched.get(after.orders[int(m.group(1))].id)
        if index is not None:
            where, here = f"events[{index}]", True
    issues = [] if stake.within_limit else [stake.issue(where, here)]
    return issues + [Issue("events", i.message) for i in heavy]


def load_disruption(path: str | Path, instance: Instance) -> Disruption:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInstanceError([Issue("", f"file not found: {p}")]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInstanceError([Issue("", f"cannot read {p}: {exc}")]) from None
    return parse_disruption(data, instance)


def _consistency(d: Disruption, instance: Instance) -> list[Issue]:
    issues: list[Issue] = []
    horizon = instance.horizon.periods
    factories = {f.id: f for f in instance.factories}
    orders = {o.id for o in instance.orders}
    if d.now_period >= horizon:
        issues.append(Issue("now_period", f"{d.now_period} is past the horizon 0..{horizon - 1}"))
    for i, ref in enumerate(d.frozen):
        r = ref if isinstance(ref, FreezeRef) else FreezeRef(order=ref)
        path = f"frozen[{i}]"
        if r.order not in orders:
            where = path if isinstance(ref, str) else f"{path}.order"
            issues.append(Issue(where, f"unknown order {r.order}"))
        if r.factory is not None and r.factory not in factories:
            issues.append(Issue(f"{path}.factory", f"unknown factory {r.factory}"))
    added: set[str] = set()
    cancelled: set[str] = set()
    for i, e in enumerate(d.events):
        path = f"events[{i}]"
        if isinstance(e, FactoryUnavailable | CapacityCut):
            issues += _calendar_event_issues(path, e, d.now_period, factories, horizon)
        elif isinstance(e, OrderAdded):
            if e.order.id in orders or e.order.id in added:
                issues.append(Issue(f"{path}.order.id", f"order {e.order.id} already exists"))
            added.add(e.order.id)
            issues += order_issues(f"{path}.order", e.order, instance)
        else:
            if e.order not in orders | added:
                issues.append(Issue(f"{path}.order", f"unknown order {e.order}"))
            elif e.order in cancelled:
                issues.append(Issue(f"{path}.order", f"order {e.order} was cancelled earlier"))
            if isinstance(e, OrderCancelled):
                cancelled.add(e.order)
            elif e.due_period is not None and e.due_period >= horizon:
                issues.append(
                    Issue(
                        f"{path}.due_period",
                        f"{e.due_period} is past the horizon 0..{horizon - 1}",
                    )
                )
    return issues


def _calendar_event_issues(
    path: str,
    e: FactoryUnavailable | CapacityCut,
    now: int,
    factories: dict[str, Factory],
    horizon: int,
) -> list[Issue]:
    issues: list[Issue] = []
    f = factories.get(e.factory)
    if f is None:
        issues.append(Issue(f"{path}.factory", f"unknown factory {e.factory}"))
    elif (
        isinstance(e, CapacityCut)
        and e.resource_group is not None
        and e.resource_group not in {r.id for r in f.resources}
    ):
        issues.append(
            Issue(f"{path}.resource_group", f"{e.factory} has no resource group {e.resource_group}")
        )
    if e.to_period < e.from_period:
        issues.append(Issue(f"{path}.to_period", "is before from_period"))
    if e.to_period >= horizon:
        issues.append(
            Issue(f"{path}.to_period", f"{e.to_period} is past the horizon 0..{horizon - 1}")
        )
    if e.from_period < now:
        issues.append(
            Issue(
                f"{path}.from_period",
                f"{e.from_period} is before now_period {now}: the past cannot change",
            )
        )
    return issues


def apply_events(instance: Instance, d: Disruption) -> Instance:
    """The instance after the events: calendars cut, orders added, changed, cancelled."""
    factories = []
    for f in instance.factories:
        groups = []
        for r in f.resources:
            minutes = list(r.available_minutes)
            for e in d.events:
                if not isinstance(e, FactoryUnavailable | CapacityCut) or e.factory != f.id:
                    continue
                if isinstance(e, CapacityCut) and e.resource_group not in (None, r.id):
                    continue
                for t in range(e.from_period, e.to_period + 1):
                    if isinstance(e, FactoryUnavailable):
                        minutes[t] = 0
                    elif e.available_minutes is not None:
                        minutes[t] = min(minutes[t], e.available_minutes)
                    else:
                        assert e.fraction is not None
                        minutes[t] = int(minutes[t] * e.fraction)
            groups.append(_with_minutes(r, minutes))
        factories.append(f.model_copy(update={"resources": groups}))
    orders = {o.id: o for o in instance.orders}
    for e in d.events:
        if isinstance(e, OrderAdded):
            orders[e.order.id] = e.order
        elif isinstance(e, OrderCancelled):
            orders.pop(e.order, None)
        elif isinstance(e, OrderChanged) and e.order in orders:
            o = orders[e.order]
            update: dict[str, Any] = {}
            if e.quantity is not None:
                update["quantity"] = e.quantity
            if e.due_period is not None:
                update["due_period"] = e.due_period
            orders[e.order] = o.model_copy(update=update)
    # Every change was validated against the instance (parse_disruption): no re-parse.
    return instance.model_copy(update={"factories": factories, "orders": list(orders.values())})


def _with_minutes(r: ResourceGroup, minutes: list[int]) -> ResourceGroup:
    return r.model_copy(update={"available_minutes": minutes})
