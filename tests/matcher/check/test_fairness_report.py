"""The checker on the fairness report (docs/fairness-report.md): every figure is
re-derived from the instance and the plan's rows, so each one tampered once is caught
with its code and path."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.fairness_report import fairness_report as report_of
from matcher.app.pipeline import plan
from matcher.check import check_plan, fairness_report
from matcher.check.fairness_report import (
    FLOAT_SLACK,
    _buyer_seconds,
    _Context,
    _free_minutes,
    _leads,
    _paid_now,
    _pair,
    _pairs,
    _Room,
    _Sieve,
)
from matcher.check.figures import unit_transport_cents
from matcher.check.state import CheckState
from matcher.domain.entities import FairnessOptions
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Allocation, BlockingPair, PeriodQuantity, Plan
from matcher.domain.validation import parse_instance
from matcher.generate.generator import generate
from tests.fairness_report_data import fairness_instance, hand_plan
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


# ------------------------------------------------ the sieve before the exact test


def _dear_rows(instance: Instance) -> Plan:
    """Two orders in three at the dearest factory able to make them, all in the due
    period (capacity overrun on purpose), the rest unserved: rows and their production
    and transport cents only."""
    caps = {f.id: {c.process: c for c in f.capabilities} for f in instance.factories}
    rows: list[Allocation] = []
    for i, order in enumerate(instance.orders):
        able = [
            f
            for f in instance.factories
            if {op.process for op in order.operations} <= set(caps[f.id])
        ]
        if i % 3 == 0 or not able:
            continue
        dearest = max(
            able,
            key=lambda f: (
                sum(caps[f.id][op.process].unit_cost_cents for op in order.operations),
                f.id,
            ),
        )
        period = min(order.due_period, instance.horizon.periods - 1)
        for k, op in enumerate(order.operations):
            cap = caps[dearest.id][op.process]
            rows.append(
                Allocation(
                    order=order.id,
                    operation=k,
                    process=op.process,
                    factory=dearest.id,
                    resource_group=cap.resource_group,
                    quantity=order.quantity,
                    periods=[PeriodQuantity(period=period, quantity=order.quantity)],
                    production_cents=cap.unit_cost_cents * order.quantity,
                    transport_cents=unit_transport_cents(instance, order, dearest) * order.quantity
                    if k == len(order.operations) - 1
                    else 0,
                )
            )
    served = {a.order for a in rows}
    empty = hand_plan(instance, {})
    return empty.model_copy(
        update={
            "allocations": rows,
            "unassigned": [u for u in empty.unassigned if u.order not in served],
        }
    )


@pytest.mark.parametrize("seed", [5, 9])
def test_the_sieve_keeps_every_pair_the_exact_test_finds(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generate(240, 30, 10, seed=seed).model_dump(mode="json")
    for i, f in enumerate(data["factories"]):
        for c in f["capabilities"]:
            c["unit_cost_cents"] = c["unit_cost_cents"] * (1 + i % 5) // 5
        for r in f["resources"]:
            r["available_minutes"] = [m // (1 + i % 2) for m in r["available_minutes"]]
    instance = parse_instance(data)
    placed = _dear_rows(instance)
    seen: list[tuple[CheckState, list[BlockingPair]]] = []

    def spy(checker: CheckState) -> list[BlockingPair]:
        seen.append((checker, _pairs(checker)))
        return seen[-1][1]

    monkeypatch.setattr(fairness_report, "_pairs", spy)
    report = report_of(instance, placed)
    checked = check_plan(instance, placed.model_copy(update={"fairness": report}))
    assert not {c for c in checked.codes() if c.startswith("FAIRNESS")}, checked.violations
    checker, sieved = seen[0]
    ctx = _Context(
        _paid_now(checker),
        _buyer_seconds(checker),
        _leads(checker),
        _Room(checker),
        _free_minutes(checker),
    )
    at: dict[str, set[str]] = {}
    for a in placed.allocations:
        at.setdefault(a.order, set()).add(a.factory)
    every = [
        pair
        for order in instance.orders
        for factory in instance.factories
        if factory.id not in at.get(order.id, set())
        and {op.process for op in order.operations} <= set(checker.caps[factory.id])
        and (
            pair := _pair(
                checker, ctx, order, factory, ctx.paid.get(order.id) if order.id in at else None
            )
        )
        is not None
    ]
    assert sorted(sieved, key=_rank) == sorted(every, key=_rank)
    assert sum(1 for p in sieved if not p.unserved) > 20 and any(p.unserved for p in sieved)


def _rank(p: BlockingPair) -> tuple[str, str]:
    return (p.order, p.factory)


def test_the_sieves_transport_rate_is_never_above_u() -> None:
    # One spot, a hair apart, the date line, the poles, antipodes; light to very heavy
    # units, cheap to very dear tonne-km (past the stake limit: models alone).
    spots = [(30.0, 120.0), (30.0, 120.0 + 1e-9), (30.000001, 120.0), (0.0, 0.0), (0.0, 180.0)]
    spots += [(45.5, 179.999999), (45.5, -179.999999), (90.0, 0.0), (-90.0, 37.0)]
    spots += [(-33.8688, 151.2093), (51.5072, -0.1276), (40.7128, -74.006), (1.3521, 103.8198)]
    data = fairness_instance().model_dump(mode="json")
    template = data["factories"][0]
    data["factories"] = [
        {**template, "id": f"F{i}", "location": {"lat": lat, "lon": lon}}
        for i, (lat, lon) in enumerate(spots)
    ]
    data["orders"] = [
        {
            **data["orders"][0],
            "id": f"O{i}",
            "delivery": {"lat": lat, "lon": lon},
            "unit_weight_kg": kg,
        }
        for i, ((lat, lon), kg) in enumerate(
            (s, kg) for s in spots for kg in (0.001, 1.0, 37.7, 10**6)
        )
    ]
    for transport in (
        {"cents_per_tonne_km": 30.0},
        {"road_factor": 5.0, "cents_per_tonne_km": 10**6},
    ):
        data["transport"] = transport
        instance = Instance.model_validate(data)
        able = [f.id for f in instance.factories]
        floor = _Sieve(CheckState(instance, hand_plan(instance, {})))._rate_floor(
            instance.orders, able
        )
        for i, order in enumerate(instance.orders):
            for j, factory in enumerate(instance.factories):
                u = unit_transport_cents(instance, order, factory)
                assert u - 2 - u * FLOAT_SLACK <= floor[i, j] <= u
