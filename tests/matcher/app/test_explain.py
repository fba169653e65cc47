"""Explanations of one order, factory by factory (docs/explain.md), on the
hand-checked instance of tests/explain_data.py and on the shipped demo."""

from __future__ import annotations

import pytest

from matcher.app.explain import explain_order, explain_plan
from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import BlockingKind, Move, OrderExplanation, Plan, ReasonCode, SolveStatus
from matcher.domain.validation import InvalidInstanceError, load_instance, parse_instance
from tests.conftest import INSTANCES
from tests.explain_data import explain_instance

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5, sharing=False)


@pytest.fixture(scope="module")
def planned() -> Plan:
    result = plan(explain_instance(), PARAMS)
    assert {a.order: a.factory for a in result.allocations} == {"Y": "FA"}
    assert [u.order for u in result.unassigned] == ["X"]
    return result


@pytest.fixture(scope="module")
def x(planned: Plan) -> OrderExplanation:
    return explain_order(explain_instance(), planned, "X", PARAMS, seconds=2)


def test_ineligible_factories_say_why(x: OrderExplanation) -> None:
    verdicts = {f.factory: f for f in x.factories}
    assert {f: v.reason for f, v in verdicts.items() if not v.eligible} == {
        "FB": ReasonCode.NO_CAPABLE_FACTORY,
        "FC": ReasonCode.CREDIT_BELOW_MIN,
        "FD": ReasonCode.PRICE_ABOVE_MAX,
        "FE": ReasonCode.MATERIAL_UNAVAILABLE,
        "FF": ReasonCode.NOT_WORTH_SERVING,
    }
    assert "lead time" in verdicts["FE"].detail or "no usable offer" in verdicts["FE"].detail
    assert x.factories[0].factory == "FA"  # eligible first


def test_a_factory_whose_capacity_another_order_holds_names_it_and_the_resolved_change(
    x: OrderExplanation,
) -> None:
    fa = x.factories[0]
    assert fa.eligible and not fa.in_plan
    assert fa.cost is not None
    assert (fa.cost.production, fa.cost.transport, fa.cost.lateness) == (48_000, 0, 0)
    assert fa.cost.placed_in == "empty"
    assert fa.blocking is not None and fa.blocking.kind == BlockingKind.CAPACITY
    assert (fa.blocking.resource, fa.blocking.periods, fa.blocking.holders) == ("g", [0], ["Y"])
    move = fa.move
    assert move is not None and move.re_solved and move.status == SolveStatus.OPTIMAL
    # X at FA 48 000 + Y at FF 96 000, against Y at FA 48 000 + X's penalty 50 000
    assert move.objective_delta == 46_000
    assert move.moved == [
        Move(order="X", from_factory=None, to_factory="FA", units=480),
        Move(order="Y", from_factory="FA", to_factory="FF", units=480),
    ]
    assert x.best_move is None  # no move lowers the objective
    assert x.state == "unassigned" and x.plan_objective == 50_000


def test_a_material_that_cannot_arrive_blocks_a_factory_that_is_otherwise_free(
    planned: Plan,
) -> None:
    """Take FE's stock away from FA too: X can only start in period 2 there, when FA has
    no time, so the factory is out for want of alloy."""
    data = explain_instance().model_dump(mode="json")
    data["factories"][0]["stock"] = {}
    instance = parse_instance(data)
    result = plan(instance, PARAMS)
    e = explain_order(instance, result, "X", PARAMS, seconds=1)
    fa = next(f for f in e.factories if f.factory == "FA")
    assert not fa.eligible and fa.reason == ReasonCode.MATERIAL_UNAVAILABLE
    assert "alloy" in fa.detail


def test_a_served_order_in_its_factory_is_not_moved(planned: Plan) -> None:
    y = explain_order(explain_instance(), planned, "Y", PARAMS, seconds=1)
    fa = next(f for f in y.factories if f.factory == "FA")
    assert fa.in_plan and fa.move is not None and not fa.move.re_solved
    ff = next(f for f in y.factories if f.factory == "FF")
    assert ff.eligible and ff.blocking is not None and ff.blocking.kind == BlockingKind.NONE
    assert ff.move is not None and ff.move.objective_delta == 96_000 - 48_000 - 0
    assert y.state == "on_time" and y.plan_factories == ["FA"]


def test_explaining_an_unknown_order_is_invalid_input(planned: Plan) -> None:
    with pytest.raises(InvalidInstanceError) as err:
        explain_order(explain_instance(), planned, "nope", PARAMS)
    assert "unknown order 'nope'" in str(err.value.issues[0])


def test_solve_explain_adds_the_unassigned_orders_to_the_plan(planned: Plan) -> None:
    instance = explain_instance()
    explained = explain_plan(instance, planned, PARAMS, seconds=1)
    assert explained.explanations is not None
    assert [e.order for e in explained.explanations] == ["X"]
    assert any("explain: 1 of 1" in n for n in explained.stages[0].notes)
    assert check_plan(instance, explained).ok
    again = Plan.model_validate_json(explained.model_dump_json())
    assert again == explained


def test_every_unassigned_order_of_the_demo_is_explained_with_a_factory() -> None:
    instance = load_instance(INSTANCES / "demo.json")
    params = SolveParams(workers=1, seed=0, time_limit_s=5)
    result = plan(instance, params)
    assert result.unassigned
    explained = explain_plan(instance, result, params, seconds=len(result.unassigned) * 0.5)
    assert explained.explanations is not None
    by_order = {e.order: e for e in explained.explanations}
    assert {u.order for u in result.unassigned} <= by_order.keys()
    for u in result.unassigned:
        e = by_order[u.order]
        assert e.factories and len(e.factories) == len(instance.factories)
        assert e.reason == u.reason
        for f in e.factories:
            assert f.eligible or f.reason is not None
            if f.eligible:
                assert f.cost is not None and f.blocking is not None and f.move is not None
