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

from matcher.app.pipeline import plan as solve_plan
from matcher.domain.events import (
    Disruption,
    OrderChanged,
)
from matcher.domain.events import describe as describe_event
from matcher.domain.instance import Instance
from matcher.domain.params import ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import Move, Plan, Replan
from matcher.domain.replanning import Setup, prepare
from matcher.domain.validation import (
    InvalidInstanceError,
    by_operation_issues,
    plan_instance_issues,
    plan_number_issues,
)
from solvers.assignment.problem import AnchorSpec


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
    if issues := by_operation_issues(instance):
        raise InvalidInstanceError(issues)
    checked = plan_number_issues(previous, "previous")
    if issues := checked or plan_instance_issues(previous, instance, "previous"):
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
