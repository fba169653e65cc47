"""Re-plan after a disruption, moving as little as possible (docs/sharing.md).

The previous plan becomes an anchor for the assignment model: work done before
``now_period`` and frozen parts stay where and when they were (unless an event takes
their factory's time away: they are then *released*, and the report says so); every
other unit may move, at ``stability`` cents per unit moved away from its factory;
the previous plan, where it still fits, is the warm start. The later stages then run
as in any solve, and the plan's ``replan`` section says what changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from matcher.events import CapacityCut, Disruption, FactoryUnavailable, OrderChanged, apply_events
from matcher.events import describe as describe_event
from matcher.models import Instance
from matcher.params import ProgressCallback, SolveParams, StopSignal
from matcher.pipeline import plan as solve_plan
from matcher.result import Move, Plan, Replan
from matcher.validation import InvalidInstanceError, Issue, routed_issues

Key = tuple[str, str]  # (order id, factory id)


def replan(
    instance: Instance,
    previous: Plan,
    disruption: Disruption,
    params: SolveParams | None = None,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
) -> Plan:
    """The plan after ``disruption``, as close to ``previous`` as the weights make worth.

    Raises
    ------
    InvalidInstanceError
        When ``previous`` does not belong to ``instance``, or an event contradicts the
        work already done (a quantity cut below the units made before ``now_period``).
    """
    from solvers.assignment.problem import AnchorSpec

    if issues := routed_issues(instance):
        raise InvalidInstanceError(issues)
    params = params or SolveParams()
    weights = params.weights or instance.weights
    stability = weights.stability if disruption.stability is None else disruption.stability
    weights = weights.model_copy(update={"stability": stability})
    params = params.model_copy(update={"weights": weights})
    setup = prepare(instance, previous, disruption)
    quantity = {o.id: o.quantity for o in setup.instance.orders}
    touched = {e.order for e in disruption.events if isinstance(e, OrderChanged)}
    initial = {  # the warm start; the greedy drops what no longer fits
        key: slices
        for key, slices in setup.parts.items()
        if key[0] in quantity and key[0] not in touched
    }
    spec = AnchorSpec(disruption.now_period, setup.fixed, setup.kept, initial, stability)
    new = solve_plan(setup.instance, params, progress, stop, anchor=spec)
    report = _report(previous, new, disruption, setup)
    return new.model_copy(update={"replan": report})


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


def _factories_of(plan: Plan) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for a in plan.allocations:
        if a.operation == 0:
            out[a.order][a.factory] = out[a.order].get(a.factory, 0) + a.quantity
    return out


def _report(previous: Plan, new: Plan, d: Disruption, setup: Setup) -> Replan:
    fixed = setup.fixed
    remaining = {o.id for o in setup.instance.orders}  # cancelled orders are not
    before, after = _factories_of(previous), _factories_of(new)
    moves: list[Move] = []
    for order in sorted(set(before) | set(after)):
        if order not in remaining:
            continue  # cancelled
        was, now = before.get(order, {}), after.get(order, {})
        out = {f: was[f] - now.get(f, 0) for f in was if was[f] > now.get(f, 0)}
        into = {f: now[f] - was.get(f, 0) for f in now if now[f] > was.get(f, 0)}
        for f_out in sorted(out):
            for f_in in sorted(into):
                units = min(out[f_out], into[f_in])
                if units:
                    moves.append(
                        Move(order=order, from_factory=f_out, to_factory=f_in, units=units)
                    )
                    out[f_out] -= units
                    into[f_in] -= units
            if out[f_out]:
                moves.append(
                    Move(order=order, from_factory=f_out, to_factory=None, units=out[f_out])
                )
        for f_in in sorted(into):
            if into[f_in]:
                moves.append(
                    Move(order=order, from_factory=None, to_factory=f_in, units=into[f_in])
                )
    made = {
        (a.order, a.factory, pq.period): pq.quantity
        for a in new.allocations
        if a.operation == 0
        for pq in a.periods
    }
    conflicts = [
        f"{order} at {factory}: frozen units in period {t} not kept "
        f"({made.get((order, factory, t), 0)} of {q}); "
        + ("the order is unserved" if order not in after else "the re-plan could not hold them")
        for (order, factory), slices in sorted(fixed.items())
        for t, q in sorted(slices.items())
        if made.get((order, factory, t), 0) < q
    ]
    late_before = {a.order for a in previous.allocations if a.late_units}
    late_after = {a.order for a in new.allocations if a.late_units}
    unserved_before = {u.order for u in previous.unassigned}
    return Replan(
        now_period=d.now_period,
        stability_cents_per_unit=new.weights.stability,
        events=[describe_event(e) for e in d.events],
        frozen_units=sum(sum(s.values()) for s in fixed.values()),
        released=setup.released,
        moves=moves,
        orders_moved=len({m.order for m in moves if m.from_factory is not None}),
        moved_units=new.costs.moved_units,
        previous_total_cents=previous.costs.total,
        total_delta_cents=new.costs.total - previous.costs.total,
        newly_late=sorted(late_after - late_before),
        newly_unserved=[u for u in new.unassigned if u.order not in unserved_before],
        conflicts=conflicts,
    )
