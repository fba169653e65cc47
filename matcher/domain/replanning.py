"""A re-plan's starting point: the instance after the events and the work to keep.

Pure preparation shared by the re-plan (:mod:`matcher.app.replan`) and the
independent checker, so that both derive the same re-planned instance from the
previous plan and the events (rules in docs/sharing.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from matcher.domain.consistency import Issue
from matcher.domain.events import (
    CapacityCut,
    Disruption,
    FactoryUnavailable,
    OrderChanged,
    apply_events,
)
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError

Key = tuple[str, str]  # (order id, factory id)


@dataclass
class Setup:
    """A re-plan's starting point, derived from the instance, the plan and the events."""

    instance: Instance  # after the events (and with released orders' split relaxed)
    parts: dict[Key, dict[int, int]]  # the previous plan's parts
    fixed: dict[Key, dict[int, int]]  # work that must stay
    released: list[str]  # frozen work the events forced out, one line each
    kept: dict[Key, int]  # units per previous part the stability term counts
    relaxed: set[str] = field(default_factory=set)  # orders now allowed one more factory


def prepare(instance: Instance, previous: Plan, disruption: Disruption) -> Setup:
    """The instance to re-plan, the work to keep and the units stability counts.

    An order that keeps fixed work at a factory the events then deprive of time (a
    released frozen slice) could not be finished under its split policy: it may use
    one more factory (min part 1). The checker derives the same instance.

    Raises
    ------
    InvalidInstanceError
        As :func:`replan`.
    """
    parts = previous_parts(instance, previous)
    _check_done_work(disruption, parts)
    new_instance = apply_events(instance, disruption)
    fixed, released, hit = frozen_work(new_instance, disruption, parts)
    relaxed = {order for order in hit if any(key[0] == order for key in fixed)}
    if relaxed:
        orders = []
        for o in new_instance.orders:
            if o.id in relaxed:
                n = sum(1 for key in parts if key[0] == o.id)
                split = o.split.model_copy(
                    update={
                        "allowed": True,
                        "min_quantity": 1,
                        "max_factories": max(o.split.max_factories, n + 1),
                    }
                )
                o = o.model_copy(update={"split": split})
                released.append(f"{o.id} may use {n + 1} factories to finish its released work")
            orders.append(o)
        new_instance = new_instance.model_copy(update={"orders": orders})
    quantity = {o.id: o.quantity for o in new_instance.orders}
    kept = {
        key: min(sum(slices.values()), quantity[key[0]])
        for key, slices in parts.items()
        if key[0] in quantity
    }
    return Setup(new_instance, parts, fixed, released, kept, relaxed)


def previous_parts(instance: Instance, previous: Plan) -> dict[Key, dict[int, int]]:
    """The previous plan's parts: (order, factory) -> period -> units (operation 0 holds
    the part's periods; every operation has the same)."""
    orders = {o.id for o in instance.orders}
    factories = {f.id for f in instance.factories}
    issues: list[Issue] = []
    parts: dict[Key, dict[int, int]] = {}
    for i, a in enumerate(previous.allocations):
        if a.order not in orders:
            issues.append(Issue(f"previous.allocations[{i}].order", f"unknown order {a.order}"))
        if a.factory not in factories:
            issues.append(
                Issue(f"previous.allocations[{i}].factory", f"unknown factory {a.factory}")
            )
        for j, pq in enumerate(a.periods):
            if not 0 <= pq.period < instance.horizon.periods:
                issues.append(
                    Issue(f"previous.allocations[{i}].periods[{j}].period", "outside the horizon")
                )
        if a.operation == 0:
            slices = parts.setdefault((a.order, a.factory), {})
            for pq in a.periods:
                slices[pq.period] = slices.get(pq.period, 0) + pq.quantity
    if issues:
        raise InvalidInstanceError(issues)
    return parts


def _check_done_work(d: Disruption, parts: dict[Key, dict[int, int]]) -> None:
    done: dict[str, int] = defaultdict(int)
    for (order, _), slices in parts.items():
        done[order] += sum(q for t, q in slices.items() if t < d.now_period)
    issues = [
        Issue(
            f"events[{i}].quantity",
            f"{e.quantity} is below the {done[e.order]} units of {e.order} made before "
            f"now_period {d.now_period}",
        )
        for i, e in enumerate(d.events)
        if isinstance(e, OrderChanged) and e.quantity is not None and e.quantity < done[e.order]
    ]
    if issues:
        raise InvalidInstanceError(issues)


def frozen_work(
    new_instance: Instance, d: Disruption, parts: dict[Key, dict[int, int]]
) -> tuple[dict[Key, dict[int, int]], list[str], set[str]]:
    """The work that must stay, the frozen work the events release (one line each),
    and the orders that lost frozen work to a calendar event.

    Done work (before ``now_period``) always stays. A part that started before it, or
    that ``frozen`` names, stays whole, unless its order changed (then only the done
    units stay) or an event leaves its factory too little time in a period where it
    runs (then that period's frozen slices are released). Cancelled orders go.
    """
    now = d.now_period
    orders = {o.id for o in new_instance.orders}
    changed = {e.order for e in d.events if isinstance(e, OrderChanged)}
    named = {(r.order, r.factory) for r in d.frozen_refs()}
    fixed: dict[Key, dict[int, int]] = {}
    released: list[str] = []
    for key, slices in sorted(parts.items()):
        order, factory = key
        if order not in orders:
            continue
        started = any(t < now for t in slices)
        frozen = started or (order, None) in named or key in named
        if frozen and order in changed:
            dropped = sum(q for t, q in slices.items() if t >= now)
            if dropped:
                released.append(
                    f"{order} at {factory}: {dropped} frozen units re-planned (order changed)"
                )
            frozen = False
        keep = dict(slices) if frozen else {t: q for t, q in slices.items() if t < now}
        if keep:
            fixed[key] = keep
    lines, hit = _release_overloaded(new_instance, d, fixed)
    return fixed, released + lines, hit


def _release_overloaded(
    new_instance: Instance, d: Disruption, fixed: dict[Key, dict[int, int]]
) -> tuple[list[str], set[str]]:
    """Drop fixed slices (from ``now`` on) where the events left less time than they need."""
    hit: set[tuple[str, int]] = set()
    for e in d.events:
        if isinstance(e, FactoryUnavailable | CapacityCut):
            hit.update((e.factory, t) for t in range(e.from_period, e.to_period + 1))
    if not hit:
        return [], set()
    orders = {o.id: o for o in new_instance.orders}
    factories = {f.id: f for f in new_instance.factories}
    load: dict[tuple[str, str, int], int] = defaultdict(int)  # seconds
    for (order, factory), slices in fixed.items():
        caps = {c.process: c for c in factories[factory].capabilities}
        for op in orders[order].operations:
            cap = caps.get(op.process)
            if cap is None:
                continue
            for t, q in slices.items():
                if (factory, t) in hit:
                    seconds = cap.seconds_per_unit * q + 60 * cap.setup_minutes
                    load[(factory, cap.resource_group, t)] += seconds
    short: set[tuple[str, int]] = set()
    for (factory, group, t), seconds in load.items():
        res = next(r for r in factories[factory].resources if r.id == group)
        if seconds > 60 * res.free_minutes(t):
            short.add((factory, t))
    released: list[str] = []
    orders_hit: set[str] = set()
    for key in sorted(fixed):
        order, factory = key
        slices = fixed[key]
        lost = {t: q for t, q in slices.items() if (factory, t) in short}
        if lost:
            orders_hit.add(order)
            for t in lost:
                del slices[t]
            periods = ", ".join(str(t) for t in sorted(lost))
            released.append(
                f"{order} at {factory}: {sum(lost.values())} frozen units in period(s) {periods} "
                "released (the events leave too little time there)"
            )
        if not slices:
            del fixed[key]
    return released, orders_hit
