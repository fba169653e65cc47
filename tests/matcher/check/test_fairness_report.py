"""The checker on the fairness report (docs/fairness-report.md): every figure is
re-derived from the instance and the plan's rows, so each one tampered once is caught
with its code and path."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.entities import FairnessOptions
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from tests.fairness_report_data import fairness_instance
from tests.matcher.check.helpers import only, paths, replace_fields

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=4, sharing=False)


@pytest.fixture(scope="module")
def reported() -> Plan:
    """O1 and O2 at B for its credit, O3 unserved: five blocking pairs."""
    instance = fairness_instance()
    result = plan(instance, PARAMS)
    assert result.fairness is not None and result.fairness.blocking_pairs == 5
    assert check_plan(instance, result).ok
    return result


@pytest.fixture(scope="module")
def priced() -> Plan:
    """A cap of 70 % of the served units: a price of fairness, re-solved."""
    instance = fairness_instance(credit_weight=0)
    params = PARAMS.model_copy(update={"fairness": FairnessOptions(max_share=0.7)})
    result = plan(instance, params)
    assert result.fairness is not None and result.fairness.price_of_fairness is not None
    assert check_plan(instance, result).ok
    return result


def _tampered(result: Plan, changes: dict[str, Any]) -> Plan:
    data = result.model_dump(mode="json")
    replace_fields(data["fairness"], changes)
    return Plan.model_validate(data)


def _where(report: Any, code: str) -> list[str]:
    """The paths of the report's violations, all of which have ``code``."""
    only(report, code)
    return paths(report)


def _check(result: Plan, credit_weight: int = 1) -> Any:
    return check_plan(fairness_instance(credit_weight=credit_weight), result)


FIGURES = [
    "factories__0__units",
    "factories__0__revenue_cents",
    "factories__0__capacity_minutes",
    "factories__0__free_minutes",
    "factories__1__hours",
    "factories__1__units_share",
    "factories__1__hours_share",
    "factories__1__revenue_share",
    "factories__1__used_minutes",
    "factories__1__utilisation",
    "units__total",
    "units__gini",
    "units__max_share",
    "units__top_share",
    "hours__gini",
    "revenue__gini",
    "revenue__top_share",
    "units__small_share",
    "revenue__new_share",
    "top_count",
    "small_capacity_minutes",
    "small_factories",
    "new_factory_records",
    "new_factories",
    "utilisation_factories",
    "utilisation_spread",
    "utilisation_std",
]


def _bumped(value: Any) -> Any:
    return value + 7 if isinstance(value, int) else value + 0.01


@pytest.mark.parametrize("field", FIGURES)
def test_each_figure_tampered_once_is_a_violation_at_its_path(reported: Plan, field: str) -> None:
    data = reported.model_dump(mode="json")["fairness"]
    node: Any = data
    for key in field.split("__"):
        node = node[int(key)] if isinstance(node, list) else node[key]
    report = _check(_tampered(reported, {field: _bumped(node)}))
    only(report, "FAIRNESS_FIGURES")
    assert paths(report) == [
        "fairness." + field.replace("__", ".").replace(".0.", "[0].").replace(".1.", "[1].")
    ]


@pytest.mark.parametrize(("field", "value"), [("small", True), ("new", True)])
def test_a_wrong_small_or_new_flag_is_caught(reported: Plan, field: str, value: bool) -> None:
    report = _check(_tampered(reported, {f"factories__0__{field}": value}))  # A: neither
    only(report, "FAIRNESS_FIGURES")
    assert paths(report) == [f"fairness.factories[0].{field}"]


def test_a_utilisation_left_out_for_a_factory_with_free_time_is_caught(reported: Plan) -> None:
    report = _check(_tampered(reported, {"factories__0__utilisation": None}))
    assert _where(report, "FAIRNESS_FIGURES") == ["fairness.factories[0].utilisation"]


def test_a_missing_factory_row_is_caught(reported: Plan) -> None:
    data = reported.model_dump(mode="json")
    del data["fairness"]["factories"][2]
    report = _check(Plan.model_validate(data))
    assert _where(report, "FAIRNESS_FACTORY_ROWS") == ["fairness.factories"]


@pytest.mark.parametrize("field", ["blocking_pairs", "blocking_unserved", "blocking_orders"])
def test_a_wrong_blocking_count_is_caught(reported: Plan, field: str) -> None:
    value = getattr(reported.fairness, field)
    report = _check(_tampered(reported, {field: value - 1}))
    assert _where(report, "FAIRNESS_BLOCKING_COUNT") == [f"fairness.{field}"]


@pytest.mark.parametrize(
    "changes",
    [
        {"blocking_listed__0__factory": "C"},  # O1 would pay more at C: no pair
        {"blocking_listed__0__saving_cents": 999},
        {"blocking_listed__0__price_cents": 1001},
        {"blocking_listed__0__setups": 2},
        {"blocking_listed__2__unserved": False},
    ],
)
def test_a_listed_pair_that_is_not_one_or_misstated_is_caught(
    reported: Plan, changes: dict[str, Any]
) -> None:
    report = _check(_tampered(reported, changes))
    index = next(iter(changes)).split("__")[1]
    assert _where(report, "FAIRNESS_BLOCKING_PAIR") == [f"fairness.blocking_listed[{index}]"]


def test_pairs_out_of_the_ranking_or_left_out_are_caught(reported: Plan) -> None:
    data = reported.model_dump(mode="json")
    listed = data["fairness"]["blocking_listed"]
    listed[0], listed[1] = listed[1], listed[0]
    report = _check(Plan.model_validate(data))
    assert _where(report, "FAIRNESS_BLOCKING_PAIR") == [
        "fairness.blocking_listed[0]",
        "fairness.blocking_listed[1]",
    ]
    data = reported.model_dump(mode="json")
    data["fairness"]["blocking_listed"].pop()
    report = _check(Plan.model_validate(data))
    assert _where(report, "FAIRNESS_BLOCKING_PAIR") == ["fairness.blocking_listed"]


@pytest.mark.parametrize(
    "field",
    [
        "cost_with_cents",
        "difference_cents",
        "percentage",
        "gini_units_with",
        "gini_revenue_with",
        "served_with",
    ],
)
def test_the_price_of_fairness_is_checked_as_far_as_the_plan_bears_it_out(
    priced: Plan, field: str
) -> None:
    assert priced.fairness is not None and priced.fairness.price_of_fairness is not None
    value = getattr(priced.fairness.price_of_fairness, field)
    report = _check(_tampered(priced, {f"price_of_fairness__{field}": _bumped(value)}), 0)
    assert _where(report, "FAIRNESS_PRICE") == [f"fairness.price_of_fairness.{field}"]


def test_a_plan_without_the_report_is_still_checked_as_before(reported: Plan) -> None:
    assert _check(reported.model_copy(update={"fairness": None})).ok
