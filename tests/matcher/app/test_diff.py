"""``diff_plans`` on hand-made plan pairs whose moves are known."""

from __future__ import annotations

import pytest

from matcher.app.diff import diff_plans
from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Allocation, PeriodQuantity, Plan, ReasonCode, Unassigned


@pytest.fixture(scope="module")
def base(tiny: Instance) -> Plan:
    # O1: 60 at F1 (p0, p1); O2: 40 at F2 (p0); O3: 30 at F1 (p2); O4 unassigned.
    return plan(tiny, SolveParams(workers=1, seed=0, time_limit_s=5))


def _row(base: Plan, order: str) -> Allocation:
    return next(a for a in base.allocations if a.order == order)


def _at(row: Allocation, factory: str, qty: int, periods: dict[int, int]) -> Allocation:
    return row.model_copy(
        update={
            "factory": factory,
            "quantity": qty,
            "periods": [PeriodQuantity(period=p, quantity=q) for p, q in periods.items()],
        }
    )


@pytest.fixture(scope="module")
def changed(base: Plan) -> Plan:
    """O1: 20 units moved to F2; O2: unserved; O3: retimed to period 1; O4: still
    unassigned; the costs and KPIs changed."""
    o1, o3 = _row(base, "O1"), _row(base, "O3")
    allocations = [
        _at(o1, "F1", 40, {0: 40}),
        _at(o1, "F2", 20, {0: 8, 1: 12}),
        _at(o3, "F1", 30, {1: 30}),
    ]
    unassigned = [
        *base.unassigned,
        Unassigned(order="O2", reason=ReasonCode.CAPACITY_EXHAUSTED, detail="full"),
    ]
    costs = base.costs.model_copy(update={"production": base.costs.production + 500})
    kpis = base.kpis.model_copy(
        update={"orders_served": 2, "orders_unassigned": 2, "fill_rate": 0.5}
    )
    return base.model_copy(
        update={"allocations": allocations, "unassigned": unassigned, "costs": costs, "kpis": kpis}
    )


def test_a_plan_against_itself_is_unchanged(base: Plan) -> None:
    d = diff_plans(base, base)
    assert d.unchanged and d.moved == [] and d.factories == []


def test_the_moved_order_lists_where_its_units_were_and_went(base: Plan, changed: Plan) -> None:
    d = diff_plans(base, changed)
    moves = {m.order: m for m in d.moved}
    assert set(moves) == {"O1", "O3"}
    o1 = moves["O1"]
    assert o1.kind == "moved" and o1.moved_units == 20
    assert [(s.factory, s.units, s.periods) for s in o1.before] == [("F1", 60, [0, 1])]
    assert [(s.factory, s.units, s.periods) for s in o1.after] == [
        ("F1", 40, [0]),
        ("F2", 20, [0, 1]),
    ]
    assert d.moved_units == 20


def test_an_order_on_other_periods_at_the_same_factory_is_retimed(
    base: Plan, changed: Plan
) -> None:
    o3 = next(m for m in diff_plans(base, changed).moved if m.order == "O3")
    assert o3.kind == "retimed" and o3.moved_units == 0
    assert o3.before[0].periods == [2] and o3.after[0].periods == [1]


def test_served_and_unserved_orders_change_sides_with_their_reasons(
    base: Plan, changed: Plan
) -> None:
    d = diff_plans(base, changed)
    assert [(c.order, c.reason, c.factories) for c in d.newly_unserved] == [
        ("O2", ReasonCode.CAPACITY_EXHAUSTED, ["F2"])
    ]
    back = diff_plans(changed, base)
    assert [(c.order, c.reason, c.factories) for c in back.newly_served] == [
        ("O2", ReasonCode.CAPACITY_EXHAUSTED, ["F2"])
    ]
    assert d.reason_changed == []  # O4 is unassigned in both, for the same reason


def test_costs_kpis_and_factory_loads_carry_their_deltas(base: Plan, changed: Plan) -> None:
    d = diff_plans(base, changed)
    costs = {t.name: t for t in d.costs}
    assert costs["production"].delta == 500
    assert costs["production"].relative == pytest.approx(500 / base.costs.production)
    assert costs["lateness"].relative is None  # zero in A: no ratio
    kpis = {k.name: k for k in d.kpis}
    assert kpis["orders_served"].delta == -1 and kpis["fill_rate"].b == 0.5
    # F1 lost O1's 20 units; F2 gained them and lost O2's 40.
    assert [(f.factory, f.delta) for f in d.factories] == [("F1", -20), ("F2", -20)]


def test_plans_of_different_instances_are_diffed_with_a_note(base: Plan) -> None:
    other = base.model_copy(update={"instance": "other"})
    assert "different instances" in diff_plans(base, other).notes[0]
