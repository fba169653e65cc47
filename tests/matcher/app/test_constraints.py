"""The constraint report (docs/explain.md, "Constraint report") on the hand-checked
instance of tests/explain_data.py, variants of it with a late and an ineligible order,
and on the shipped demo."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.constraints import constraint_report, with_constraints
from matcher.app.explain import explain_plan
from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import ConstraintKind, ConstraintReport, Plan, ReasonCode
from matcher.domain.validation import load_instance, parse_instance
from tests.conftest import INSTANCES
from tests.explain_data import explain_data

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5)


def _instance(data: dict[str, Any]) -> Instance:
    return parse_instance(data)


@pytest.fixture(scope="module")
def unserved() -> tuple[Instance, Plan]:
    """Y at FA, X pushed out (FA's one period is Y's), Z eligible nowhere: it asks for a
    credit score of 95, every factory has 90 or less (FB does not even cut)."""
    data = explain_data()
    z = dict(data["orders"][0], id="Z", min_credit_score=95)
    data["orders"].append(z)
    instance = _instance(data)
    result = with_constraints(instance, plan(instance, PARAMS))
    assert {a.order: a.factory for a in result.allocations} == {"Y": "FA"}
    assert sorted(u.order for u in result.unassigned) == ["X", "Z"]
    return instance, result


@pytest.fixture(scope="module")
def late() -> tuple[Instance, Plan]:
    """FA works in periods 0 and 1, X pays 50 a unit and period late, Y 100: Y at FA on
    time (48 000), X at FA a period late (48 000 + 24 000) beats X at FF (96 000)."""
    data = explain_data()
    data["factories"][0]["resources"][0]["available_minutes"] = [480, 480, 0]
    data["orders"][0]["penalties"] = {"late_cents_per_unit_period": 50, "unserved_cents": 10**6}
    instance = _instance(data)
    result = with_constraints(instance, plan(instance, PARAMS))
    rows = {(a.order, a.factory, a.late_units) for a in result.allocations}
    assert rows == {("Y", "FA", 0), ("X", "FA", 480)}
    return instance, result


def _report(planned: tuple[Instance, Plan]) -> ConstraintReport:
    report = planned[1].constraints
    assert report is not None
    return report


def test_the_binding_row_names_its_holder_the_order_it_pushes_out_and_its_dual(
    unserved: tuple[Instance, Plan],
) -> None:
    report = _report(unserved)
    assert len(report.binding) == 1
    row = report.binding[0]
    assert (row.factory, row.resource_group, row.period) == ("FA", "g", 0)
    assert (row.used_minutes, row.free_minutes, row.full) == (480.0, 480, True)
    assert (row.holders, row.delays, row.pushes_out) == (["Y"], [], ["X"])
    # One more hour at FA serves 60 more units of X at 100 instead of its penalty's
    # 50 000 / 480 a unit: 60 x (104.17 - 100) = 250 cents.
    assert row.marginal_cents_per_hour == pytest.approx(250.0, abs=0.5)
    assert "LP dual" in report.marginal_values
    assert report.materials == []


def test_an_unserved_order_is_held_by_the_capacity_and_the_filters_of_the_others(
    unserved: tuple[Instance, Plan],
) -> None:
    x = next(o for o in _report(unserved).orders if o.order == "X")
    assert x.state == "unassigned"
    capacity = x.constraints[0]
    assert capacity.kind == ConstraintKind.CAPACITY
    assert (capacity.factories, capacity.resource_group, capacity.periods) == (["FA"], "g", [0])
    assert capacity.holders == ["Y"]
    rest = {(c.kind, c.reason, tuple(c.factories)) for c in x.constraints[1:]}
    assert rest == {
        (ConstraintKind.ELIGIBILITY, ReasonCode.NO_CAPABLE_FACTORY, ("FB",)),
        (ConstraintKind.ELIGIBILITY, ReasonCode.CREDIT_BELOW_MIN, ("FC",)),
        (ConstraintKind.ELIGIBILITY, ReasonCode.PRICE_ABOVE_MAX, ("FD",)),
        (ConstraintKind.ELIGIBILITY, ReasonCode.MATERIAL_UNAVAILABLE, ("FE",)),
        (ConstraintKind.NOT_WORTH_SERVING, ReasonCode.NOT_WORTH_SERVING, ("FF",)),
    }
    worth = next(c for c in x.constraints if c.kind == ConstraintKind.NOT_WORTH_SERVING)
    assert worth.penalty_cents == 50_000 and "96000" in worth.detail


def test_an_order_no_factory_is_eligible_for_shows_the_eligibility_reasons(
    unserved: tuple[Instance, Plan],
) -> None:
    z = next(o for o in _report(unserved).orders if o.order == "Z")
    assert z.state == "unassigned"
    assert all(c.kind == ConstraintKind.ELIGIBILITY for c in z.constraints)
    by_reason = {c.reason: c.factories for c in z.constraints}
    assert by_reason == {
        ReasonCode.NO_CAPABLE_FACTORY: ["FB"],
        ReasonCode.CREDIT_BELOW_MIN: ["FA", "FC", "FD", "FE", "FF"],
    }
    credit = next(c for c in z.constraints if c.reason == ReasonCode.CREDIT_BELOW_MIN)
    assert credit.detail.startswith("FA: credit score 90") and "(and 4 more)" in credit.detail


def test_a_late_order_is_delayed_by_the_capacity_holding_its_on_time_periods(
    late: tuple[Instance, Plan],
) -> None:
    report = _report(late)
    (x,) = report.orders
    assert (x.order, x.state, x.reason) == ("X", "late", None)
    first = x.constraints[0]
    assert first.kind == ConstraintKind.CAPACITY
    assert (first.factories, first.resource_group, first.periods, first.holders) == (
        ["FA"],
        "g",
        [0],
        ["Y"],
    )
    rows = {(r.factory, r.period): r for r in report.binding}
    assert set(rows) == {("FA", 0), ("FA", 1)}  # both of FA's periods are full
    assert (rows[("FA", 0)].holders, rows[("FA", 0)].delays) == (["Y"], ["X"])
    assert (rows[("FA", 1)].holders, rows[("FA", 1)].delays) == (["X"], [])


def test_the_checker_accepts_the_reports_and_they_survive_json(
    unserved: tuple[Instance, Plan], late: tuple[Instance, Plan]
) -> None:
    for instance, result in (unserved, late):
        assert check_plan(instance, result).ok
        assert Plan.model_validate_json(result.model_dump_json()) == result


def test_the_demo_report_names_existing_orders_reuses_explanations_and_checks() -> None:
    instance = load_instance(INSTANCES / "demo.json")
    result = plan(instance, PARAMS)
    explained = with_constraints(instance, explain_plan(instance, result, PARAMS, seconds=2))
    report = explained.constraints
    assert report is not None and report.orders and report.binding
    ids = {o.id for o in instance.orders}
    named = {o.order for o in report.orders}
    for row in report.binding:
        named |= set(row.holders) | set(row.delays) | set(row.pushes_out)
    for oc in report.orders:
        for c in oc.constraints:
            named |= set(c.holders)
    for m in report.materials:
        named |= set(m.holders) | set(m.holds_back)
    assert named <= ids
    late = {a.order for a in result.allocations if a.late_units}
    assert {o.order for o in report.orders} == {u.order for u in result.unassigned} | late
    # The blocking is the same whether read from the explanations or computed anew.
    fresh = constraint_report(instance, result)
    assert fresh.model_copy(update={"wall_time_s": 0}) == report.model_copy(
        update={"wall_time_s": 0}
    )
    assert check_plan(instance, explained).ok
