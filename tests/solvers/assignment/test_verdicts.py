"""Every factory's verdict for one order (``factory_verdicts``): the compilation's own
filters, one reason per excluded factory (tests/explain_data.py)."""

from __future__ import annotations

from matcher.domain.plan import ReasonCode
from matcher.domain.validation import load_instance
from solvers.assignment.problem import build_problem, factory_verdicts
from tests.conftest import INSTANCES
from tests.explain_data import explain_instance


def test_each_excluded_factory_gets_the_reason_of_the_filter_that_removed_it() -> None:
    problem = build_problem(explain_instance())
    verdicts = {problem.instance.factories[v.factory].id: v for v in factory_verdicts(problem, 0)}
    assert verdicts["FA"].candidates and verdicts["FA"].reason is None
    expected = {
        "FB": ReasonCode.NO_CAPABLE_FACTORY,
        "FC": ReasonCode.CREDIT_BELOW_MIN,
        "FD": ReasonCode.PRICE_ABOVE_MAX,
        "FE": ReasonCode.MATERIAL_UNAVAILABLE,
        "FF": ReasonCode.NOT_WORTH_SERVING,
    }
    assert {f: v.reason for f, v in verdicts.items() if f != "FA"} == expected
    assert "credit score 50 below the order's minimum 60" in verdicts["FC"].detail
    assert "unit price 500 above the order's ceiling 300" in verdicts["FD"].detail
    assert "alloy" in verdicts["FE"].detail
    assert "does not offer cut" in verdicts["FB"].detail


def test_the_eligible_factories_are_exactly_the_orders_candidates() -> None:
    problem = build_problem(explain_instance())
    for info in problem.orders:
        verdicts = factory_verdicts(problem, info.index)
        listed = sorted(k for v in verdicts for k in v.candidates)
        assert listed == sorted(info.candidates)
        assert len(verdicts) == len(problem.instance.factories)
    y = {problem.instance.factories[v.factory].id: v for v in factory_verdicts(problem, 1)}
    assert y["FF"].candidates  # Y's penalty makes FF worth it


def test_an_order_no_factory_can_take_gives_every_capable_factory_a_reason() -> None:
    instance = load_instance(INSTANCES / "tiny.json")
    problem = build_problem(instance)
    o3 = next(i for i in problem.orders if i.order.id == "O3")  # credit at least 85
    verdicts = {
        problem.instance.factories[v.factory].id: v for v in factory_verdicts(problem, o3.index)
    }
    assert verdicts["F1"].candidates
    assert verdicts["F2"].reason == ReasonCode.CREDIT_BELOW_MIN
