"""What it would take: the extra hours that serve every order on time, and their worth.

A relaxed solve (:mod:`solvers.sharing.unconstrained`) buys capacity beyond each
factory's free time at a high price; this compares its answer with a constrained plan
(the given one, or a plain solve) in the plan's weights (docs/explain.md, "What it
would take").
"""

from __future__ import annotations

import time
from collections import defaultdict

from matcher.app.pipeline import plan as solve_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import CapacityNeeds, ExtraCapacity, OrderApart, Plan
from matcher.domain.validation import (
    InvalidInstanceError,
    plan_instance_issues,
    plan_number_issues,
)
from solvers.sharing.unconstrained import Relaxed, solve_relaxed

WORTH_METHOD = (
    "worth_cents of all the extra capacity: the plan's objective minus the relaxed "
    "solution's without overtime, over the orders both serve or could serve (lateness and "
    "penalties saved, production and transport changed). Per row: the gain of each order it "
    "serves (the plan's share minus the relaxed one), shared out over the extra rows that "
    "order uses in proportion to its machine time there; an attribution, not a marginal "
    "value, and mandatory orders add nothing in cents"
)


def capacity_needs(
    instance: Instance,
    params: SolveParams,
    plan: Plan | None = None,
    overtime_cents_per_hour: int | None = None,
) -> CapacityNeeds:
    """The extra capacity ``instance`` needs to serve every order on time, compared with
    ``plan`` (default: a plain solve with ``params``, without capacity sharing); the
    relaxed solve has ``params.time_limit_s`` of CP-SAT.

    Raises
    ------
    InvalidInstanceError
        When ``plan`` does not belong to ``instance``.
    """
    started = time.perf_counter()
    if plan is None:
        plan = solve_plan(instance, params.model_copy(update={"sharing": False}))
        source = f"a plain solve ({plan.status}, time limit {params.time_limit_s:g} s)"
    else:
        issues = plan_number_issues(plan, "plan") or plan_instance_issues(plan, instance, "plan")
        if issues:
            raise InvalidInstanceError(issues)
        source = "the given plan"
    weighted = params.model_copy(update={"weights": plan.weights})
    relaxed = solve_relaxed(instance, weighted, params.time_limit_s, overtime_cents_per_hour)
    p = relaxed.problem
    apart = [
        OrderApart(order=p.orders[o].order.id, reason=why[0], detail=why[1])
        for o, why in sorted(relaxed.apart.items())
    ]
    gap = None
    if relaxed.objective is not None and relaxed.bound is not None and relaxed.objective:
        gap = round((relaxed.objective - relaxed.bound) / abs(relaxed.objective), 6)
    base = CapacityNeeds(
        status=relaxed.status,
        objective=relaxed.objective,
        best_bound=relaxed.bound,
        gap=gap,
        overtime_cents_per_hour=60 * relaxed.price_per_minute,
        price_basis=relaxed.price_basis,
        apart=apart,
        worth_method=WORTH_METHOD,
        plan_source=source,
    )
    notes = [f"the relaxed solve took {relaxed.wall_time_s:.2f} s"]
    if relaxed.objective is None:
        notes.append("the relaxed solve found no solution in its time limit: nothing to report")
        return base.model_copy(
            update={"notes": notes, "wall_time_s": round(time.perf_counter() - started, 3)}
        )
    return _compare(base, relaxed, plan, notes, started)


UNCONSTRAINED_SHARE = 0.5
"""``solve --unconstrained``: the relaxed solve's share of the solve's time limit."""


def with_capacity_needs(instance: Instance, plan: Plan, params: SolveParams) -> Plan:
    """``plan`` with its ``capacity_needs`` section: the relaxed solve compared with it,
    in :data:`UNCONSTRAINED_SHARE` of ``params.time_limit_s`` (one worker unless more
    were asked for, the same seed)."""
    seconds = UNCONSTRAINED_SHARE * params.time_limit_s
    needs = capacity_needs(instance, params.model_copy(update={"time_limit_s": seconds}), plan)
    return plan.model_copy(update={"capacity_needs": needs})


class _PlanShares:
    """Each order's share of the plan's objective, read from its rows."""

    def __init__(self, instance: Instance, plan: Plan) -> None:
        w = plan.weights
        score = {f.id: f.credit.score for f in instance.factories}
        last = {o.id: len(o.operations) - 1 for o in instance.orders}
        self.lateness: dict[str, int] = defaultdict(int)
        self.costs: dict[str, int] = defaultdict(int)  # production, transport, credit
        self.late: set[str] = set()
        for a in plan.allocations:
            self.costs[a.order] += w.production * a.production_cents + w.transport * (
                a.transport_cents
            )
            self.lateness[a.order] += w.lateness * a.lateness_cents
            if a.operation == last[a.order]:
                self.costs[a.order] += w.credit * (100 - score[a.factory]) * a.quantity
            if a.late_units:
                self.late.add(a.order)
        for tr in plan.transfers:
            self.costs[tr.order] += w.transport * tr.transport_cents
        self.unserved = {u.order: u for u in plan.unassigned}
        self.penalty = {
            o.id: w.unserved * (o.penalties.unserved_cents or 0) for o in instance.orders
        }


def _compare(
    base: CapacityNeeds, relaxed: Relaxed, plan: Plan, notes: list[str], started: float
) -> CapacityNeeds:
    """The relaxed answer against ``plan``: totals, per-row figures and the orders served."""
    p = relaxed.problem
    shares = _PlanShares(p.instance, plan)
    modelled = [i.index for i in p.orders if i.index not in relaxed.apart]
    ids = {i.index: i.order.id for i in p.orders}
    lateness = unserved = change = 0
    gains: dict[int, int] = {}
    mandatory: list[str] = []
    for o in modelled:
        oid = ids[o]
        after = relaxed.order_cost(o)
        before = shares.costs.get(oid, 0)
        lateness += shares.lateness.get(oid, 0)
        gain = shares.lateness.get(oid, 0) - after + before
        if oid in shares.unserved:
            unserved += shares.penalty[oid]
            gain = shares.penalty[oid] - after
            before = 0
            if p.instance.orders[o].mandatory:
                mandatory.append(oid)
                gain = 0
        change += after - before
        if oid in shares.unserved or oid in shares.late:
            gains[o] = gain
    rows = _rows(relaxed, gains, ids)
    plan_objective = sum(
        shares.costs.get(ids[o], 0)
        + shares.lateness.get(ids[o], 0)
        + (shares.penalty[ids[o]] if ids[o] in shares.unserved else 0)
        for o in modelled
    )
    unconstrained = sum(relaxed.order_cost(o) for o in modelled)
    if relaxed.status != "OPTIMAL":
        notes.append(
            "not proved optimal: fewer extra hours, or a cheaper placement, may exist (see gap)"
        )
    return base.model_copy(
        update={
            "rows": rows,
            "extra_hours": round(sum(r.extra_minutes for r in rows) / 60, 2),
            "overtime_cents": sum(r.overtime_cents for r in rows),
            "plan_objective": plan_objective,
            "unconstrained_objective": unconstrained,
            "worth_cents": plan_objective - unconstrained,
            "lateness_saved_cents": lateness,
            "unserved_saved_cents": unserved,
            "cost_change_cents": change,
            "mandatory_served": sorted(mandatory),
            "notes": notes,
            "wall_time_s": round(time.perf_counter() - started, 3),
        }
    )


def _rows(relaxed: Relaxed, gains: dict[int, int], ids: dict[int, str]) -> list[ExtraCapacity]:
    """One row per (resource, period) with overtime; each late or unserved order's gain
    shared out over its overtime rows by its machine time there."""
    p = relaxed.problem
    seconds: dict[int, dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
    for part in relaxed.parts:
        cand = p.candidates[part.candidate]
        if cand.order not in gains:
            continue
        for t, q in part.quantities.items():
            for u in cand.usage:
                if (u.resource, t) in relaxed.overtime:
                    seconds[cand.order][(u.resource, t)] += u.seconds_per_unit * q + u.setup_seconds
    worth: dict[tuple[int, int], float] = defaultdict(float)
    serves: dict[tuple[int, int], list[str]] = defaultdict(list)
    for o, by_row in seconds.items():
        total = sum(by_row.values())
        for key, sec in by_row.items():
            worth[key] += gains[o] * sec / total if total else 0.0
            serves[key].append(ids[o])
    rows = []
    for (r, t), minutes in relaxed.overtime.items():
        res = p.resources[r]
        rows.append(
            ExtraCapacity(
                factory=p.instance.factories[res.factory].id,
                resource_group=res.group,
                period=t,
                free_minutes=res.free_seconds[t] // 60,
                needed_minutes=round(relaxed.load.get((r, t), 0) / 60, 2),
                extra_minutes=minutes,
                extra_hours=round(minutes / 60, 2),
                overtime_cents=minutes * relaxed.price_per_minute,
                worth_cents=round(worth.get((r, t), 0.0)),
                serves=sorted(serves.get((r, t), [])),
            )
        )
    rows.sort(key=lambda x: (-x.extra_minutes, x.factory, x.resource_group, x.period))
    return rows
