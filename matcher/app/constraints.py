"""The constraint report of a plan (docs/explain.md, "Constraint report").

Which factory, resource group and period binds, what an extra hour there is worth
(the capacity-sharing LP dual, when the plan has that section), the orders made
there, and the late and unserved orders it is responsible for; which purchased
materials hold orders back; and, per late or unserved order, the constraints
responsible. The blocking comes from the explanation machinery
(:func:`matcher.app.explain.blocking_explanations`, or the plan's own explanations
when ``solve --explain`` made them), so the report and ``matcher explain`` agree.
"""

from __future__ import annotations

import time
from collections import defaultdict

from matcher.app.explain import blocking_explanations
from matcher.domain.instance import Instance
from matcher.domain.plan import (
    BindingCapacity,
    BindingMaterial,
    BlockingKind,
    ConstraintKind,
    ConstraintReport,
    FactoryVerdict,
    OrderConstraints,
    OrderExplanation,
    Plan,
    ReasonCode,
    ResponsibleConstraint,
)
from matcher.domain.validation import (
    InvalidInstanceError,
    plan_instance_issues,
    plan_number_issues,
)

MAX_ORDERS = 1_000
"""Late and unserved orders reported, unassigned first (the rest are named in a note)."""
MAX_FACTORIES = 5
"""Eligible factories whose blocking an order reports at most, the plan's and cheapest first."""
MAX_HOLDERS = 10
"""Orders named as holders of one binding row, most time first."""

Row = tuple[str, str, int]  # factory, resource group, period


def constraint_report(instance: Instance, plan: Plan) -> ConstraintReport:
    """The constraint report of ``plan``: bounded by :data:`MAX_ORDERS` blocking
    analyses (no re-solves), reusing the plan's explanations where it has them.

    Raises
    ------
    InvalidInstanceError
        When ``plan`` does not belong to ``instance``.
    """
    started = time.perf_counter()
    if issues := plan_number_issues(plan, "plan") or plan_instance_issues(plan, instance, "plan"):
        raise InvalidInstanceError(issues)
    notes: list[str] = []
    unassigned = [u.order for u in plan.unassigned]
    late = sorted({a.order for a in plan.allocations if a.late_units} - set(unassigned))
    split = {o.id for o in instance.orders if o.split.by_operation and len(o.operations) > 1}
    targets = [o for o in unassigned + late if o not in split]
    if skipped := [o for o in unassigned + late if o in split]:
        notes.append(f"orders split by operation are not analysed yet: {', '.join(skipped)}")
    if len(targets) > MAX_ORDERS:
        notes.append(
            f"{len(targets) - MAX_ORDERS} late or unserved order(s) past the first "
            f"{MAX_ORDERS} are not analysed"
        )
        targets = targets[:MAX_ORDERS]
    known = {e.order: e for e in plan.explanations or []}
    missing = [o for o in targets if o not in known]
    known.update({e.order: e for e in blocking_explanations(instance, plan, missing)})
    penalties = {
        o.id: None
        if o.penalties.unserved_cents is None
        else plan.weights.unserved * o.penalties.unserved_cents
        for o in instance.orders
    }
    orders = [_order_constraints(known[o], penalties[o]) for o in targets]
    if plan.capacity_sharing is None:
        method = "none: the plan has no capacity-sharing section (solved with --no-sharing)"
    else:
        method = plan.capacity_sharing.method
    return ConstraintReport(
        marginal_values=method,
        binding=_binding(instance, plan, orders),
        materials=_materials(orders),
        orders=orders,
        notes=notes,
        wall_time_s=round(time.perf_counter() - started, 3),
    )


def with_constraints(instance: Instance, plan: Plan) -> Plan:
    """``plan`` with its constraint report (``plan.constraints``)."""
    return plan.model_copy(update={"constraints": constraint_report(instance, plan)})


def _order_constraints(e: OrderExplanation, penalty: int | None) -> OrderConstraints:
    """What holds ``e``'s order back: the blocking of its eligible factories (the plan's
    first, then cheapest first), and for an unserved order the filters that rule the
    other factories out, one entry per reason."""
    unserved = e.state == "unassigned"
    eligible = sorted((f for f in e.factories if f.eligible), key=lambda f: not f.in_plan)
    found: list[ResponsibleConstraint] = []
    for f in eligible:
        c = _responsible(f, unserved, penalty)
        if c is not None and len(found) < MAX_FACTORIES:
            found.append(c)
    if unserved:
        by_reason: dict[ReasonCode, list[FactoryVerdict]] = defaultdict(list)
        for f in e.factories:
            if not f.eligible and f.reason is not None:
                by_reason[f.reason].append(f)
        for reason, factories in by_reason.items():
            first = factories[0]
            kind = (
                ConstraintKind.NOT_WORTH_SERVING
                if reason == ReasonCode.NOT_WORTH_SERVING
                else ConstraintKind.ELIGIBILITY
            )
            found.append(
                ResponsibleConstraint(
                    kind=kind,
                    factories=[f.factory for f in factories],
                    reason=reason,
                    penalty_cents=penalty if kind == ConstraintKind.NOT_WORTH_SERVING else None,
                    detail=f"{first.factory}: {first.detail}"
                    + (f" (and {len(factories) - 1} more)" if len(factories) > 1 else ""),
                )
            )
    return OrderConstraints(order=e.order, state=e.state, reason=e.reason, constraints=found)


def _responsible(
    f: FactoryVerdict, unserved: bool, penalty: int | None
) -> ResponsibleConstraint | None:
    """The constraint one eligible factory's blocking stands for, if any."""
    b = f.blocking
    if b is None:
        return None
    if b.kind == BlockingKind.CAPACITY:
        return ResponsibleConstraint(
            kind=ConstraintKind.CAPACITY,
            factories=[f.factory],
            resource_group=b.resource,
            periods=b.periods,
            holders=b.holders,
            detail=b.detail,
        )
    if b.kind == BlockingKind.MATERIAL:
        return ResponsibleConstraint(
            kind=ConstraintKind.MATERIAL,
            factories=[f.factory],
            material=b.material,
            holders=b.holders,
            detail=b.detail,
        )
    cost = f.cost
    if not unserved and f.in_plan and cost is not None and cost.late_units:
        return ResponsibleConstraint(
            kind=ConstraintKind.WINDOW, factories=[f.factory], detail=b.detail
        )
    if unserved and cost is not None and penalty is not None and cost.objective >= penalty:
        return ResponsibleConstraint(
            kind=ConstraintKind.NOT_WORTH_SERVING,
            factories=[f.factory],
            cost_cents=cost.objective,
            penalty_cents=penalty,
            detail=f"it fits as the plan stands, but costs {cost.objective} against its "
            f"penalty {penalty}",
        )
    return None


def _use(instance: Instance, plan: Plan) -> dict[Row, dict[str, int]]:
    """Seconds each order's rows take per (factory, group, period): processing plus the
    setup of every period a row runs in (docs/model.md, "Capacity")."""
    caps = {(f.id, c.process): c for f in instance.factories for c in f.capabilities}
    use: dict[Row, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in plan.allocations:
        c = caps.get((a.factory, a.process))
        if c is None:
            continue
        for pq in a.periods:
            if pq.quantity > 0:
                seconds = c.seconds_per_unit * pq.quantity + 60 * c.setup_minutes
                use[(a.factory, a.resource_group, pq.period)][a.order] += seconds
    return use


def _binding(
    instance: Instance, plan: Plan, orders: list[OrderConstraints]
) -> list[BindingCapacity]:
    """Rows with no room for one more unit of any process on the group, and rows an
    order's responsible capacity names; whom each delays or pushes out."""
    periods = instance.horizon.periods
    free = {
        (f.id, r.id): [r.free_minutes(t) for t in range(periods)]
        for f in instance.factories
        for r in f.resources
    }
    one: dict[tuple[str, str], int] = {}
    for f in instance.factories:
        for c in f.capabilities:
            need = c.seconds_per_unit + 60 * c.setup_minutes
            key = (f.id, c.resource_group)
            one[key] = min(one.get(key, need), need)
    use = _use(instance, plan)
    full = {
        row
        for row, by_order in use.items()
        if (row[0], row[1]) in one
        and 60 * free[(row[0], row[1])][row[2]] - sum(by_order.values()) < one[(row[0], row[1])]
    }
    affected: dict[Row, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for oc in orders:
        side = "pushes_out" if oc.state == "unassigned" else "delays"
        for rc in oc.constraints:
            if rc.kind != ConstraintKind.CAPACITY or rc.resource_group is None:
                continue
            for t in rc.periods:
                row = (rc.factories[0], rc.resource_group, t)
                if (
                    (row[0], row[1]) in free
                    and 0 <= t < periods
                    and oc.order not in (affected[row][side])
                ):
                    affected[row][side].append(oc.order)
    marginal: dict[Row, float] = {}
    if plan.capacity_sharing is not None:
        marginal = {
            (r.factory, r.resource_group, r.period): r.marginal_cents_per_hour
            for r in plan.capacity_sharing.capacity
        }
    rows: list[BindingCapacity] = []
    for row in full | affected.keys():
        by_order = use.get(row, {})
        holders = sorted(by_order, key=lambda o: (-by_order[o], o))[:MAX_HOLDERS]
        rows.append(
            BindingCapacity(
                factory=row[0],
                resource_group=row[1],
                period=row[2],
                used_minutes=sum(by_order.values()) / 60,
                free_minutes=free[(row[0], row[1])][row[2]],
                full=row in full,
                marginal_cents_per_hour=None
                if plan.capacity_sharing is None
                else marginal.get(row, 0.0),
                holders=holders,
                delays=affected.get(row, {}).get("delays", []),
                pushes_out=affected.get(row, {}).get("pushes_out", []),
            )
        )
    rows.sort(
        key=lambda r: (
            -(r.marginal_cents_per_hour or 0.0),
            -(len(r.delays) + len(r.pushes_out)),
            r.factory,
            r.resource_group,
            r.period,
        )
    )
    return rows


def _materials(orders: list[OrderConstraints]) -> list[BindingMaterial]:
    """Materials the orders' responsible constraints name, with their holders."""
    found: dict[str, BindingMaterial] = {}
    for oc in orders:
        for c in oc.constraints:
            if c.kind != ConstraintKind.MATERIAL or c.material is None:
                continue
            m = found.get(c.material) or BindingMaterial(material=c.material, detail=c.detail)
            holders = m.holders + [h for h in c.holders if h not in m.holders]
            held = m.holds_back + ([oc.order] if oc.order not in m.holds_back else [])
            found[c.material] = m.model_copy(update={"holders": holders, "holds_back": held})
    return sorted(found.values(), key=lambda m: (-len(m.holds_back), m.material))
