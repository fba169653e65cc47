"""Tests of the independent plan checker (docs/model.md, matcher/check/assignment.py).

The base case is a tiny instance with a plan whose every figure is computed by hand
below; each failing test changes one thing and expects the matching violation code.

Hand computation of the base plan (weights: all 1, credit 2):

* O1 (2 operations, 50 units, due 1) at F1: periods {0: 30, 2: 20}.
  mould 100 c/unit -> 5000; assemble 50 c/unit -> 2500; 20 units one period late at
  5 c -> lateness 100; transport 43 c/unit (see the haversine test) -> 2150;
  credit (100 - 90) x 50 = 500.
  F1 press: period 0 = 30 x 60 s + 10 min setup = 2400 s = 40 min; period 2 = 1800 s.
  F1 bench: period 0 = 30 x 30 s = 900 s; period 2 = 600 s.
* O2 (1 operation, 10 units, released 1, due 3, mandatory) at F2: period {3: 10},
  on time (made in its due period).
  mould 120 c/unit -> 1200; transport 4 c/unit -> 40; credit (100 - 70) x 10 = 300.
  F2 press: period 3 = 10 x 90 s + 5 min setup = 1200 s = 20 min.
* O3 unassigned, penalty 777.

production 8700, transport 2190, lateness 100, unserved 777, credit 800,
total 11767, objective 11767 + 2 x 800 = 13367.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from matcher.check import (
    CheckReport,
    PlanFormatError,
    Violation,
    check_files,
    check_plan,
    unit_transport_cents,
)
from matcher.domain.instance import Instance
from matcher.domain.plan import CostBreakdown, Plan
from matcher.domain.validation import parse_instance

Data = dict[str, Any]


def _instance_data() -> Data:
    return {
        "name": "check-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": 4},
        "processes": [{"id": "mould"}, {"id": "assemble"}],
        "materials": [{"id": "abs"}, {"id": "pp"}],
        "factories": [
            {
                "id": "F1",
                "location": {"lat": 0.0, "lon": 0.0},
                "credit": {"score": 90},
                "capabilities": [
                    {
                        "process": "mould",
                        "resource_group": "press",
                        "unit_cost_cents": 100,
                        "seconds_per_unit": 60,
                        "setup_minutes": 10,
                        "quality_grade": 4,
                        "materials": ["abs"],
                    },
                    {
                        "process": "assemble",
                        "resource_group": "bench",
                        "unit_cost_cents": 50,
                        "seconds_per_unit": 30,
                    },
                ],
                "resources": [
                    {"id": "press", "available_minutes": [60, 60, 60, 60]},
                    {"id": "bench", "available_minutes": [60, 60, 60, 60]},
                ],
            },
            {
                "id": "F2",
                "location": {"lat": 1.0, "lon": 0.0},
                "credit": {"score": 70},
                "capabilities": [
                    {
                        "process": "mould",
                        "resource_group": "press",
                        "unit_cost_cents": 120,
                        "seconds_per_unit": 90,
                        "setup_minutes": 5,
                        "quality_grade": 3,
                        "materials": ["abs"],
                    }
                ],
                "resources": [{"id": "press", "available_minutes": [60, 60, 60, 60]}],
            },
        ],
        "orders": [
            {
                "id": "O1",
                "buyer": "B1",
                "operations": [{"process": "mould", "material": "abs"}, {"process": "assemble"}],
                "quantity": 50,
                "release_period": 0,
                "due_period": 1,
                "delivery": {"lat": 0.0, "lon": 1.0},
                "unit_weight_kg": 10.0,
                "penalties": {"late_cents_per_unit_period": 5, "unserved_cents": 100000},
            },
            {
                "id": "O2",
                "buyer": "B2",
                "operations": [{"process": "mould"}],
                "quantity": 10,
                "release_period": 1,
                "due_period": 3,
                "delivery": {"lat": 0.0, "lon": 0.0},
            },
            {
                "id": "O3",
                "buyer": "B1",
                "operations": [{"process": "assemble"}],
                "quantity": 5,
                "due_period": 3,
                "delivery": {"lat": 0.0, "lon": 0.0},
                "penalties": {"unserved_cents": 777},
            },
        ],
        "transport": {"road_factor": 1.3, "cents_per_tonne_km": 30.0},
        "weights": {"credit": 2},
    }


def _row(
    order: str,
    operation: int,
    process: str,
    factory: str,
    resource_group: str,
    periods: dict[int, int],
    production: int,
    transport: int = 0,
    lateness: int = 0,
    late_units: int = 0,
) -> Data:
    return {
        "order": order,
        "operation": operation,
        "process": process,
        "factory": factory,
        "resource_group": resource_group,
        "quantity": sum(periods.values()),
        "periods": [{"period": t, "quantity": q} for t, q in periods.items()],
        "production_cents": production,
        "transport_cents": transport,
        "lateness_cents": lateness,
        "late_units": late_units,
    }


def _util(factory: str, resource: str, period: int, used: float, free: int = 60) -> Data:
    return {
        "factory": factory,
        "resource_group": resource,
        "period": period,
        "used_minutes": used,
        "free_minutes": free,
    }


def _plan_data() -> Data:
    return {
        "instance": "check-tiny",
        "status": "OPTIMAL",
        "weights": {"credit": 2},
        "allocations": [
            _row("O1", 0, "mould", "F1", "press", {0: 30, 2: 20}, 5000),
            _row("O1", 1, "assemble", "F1", "bench", {0: 30, 2: 20}, 2500, 2150, 100, 20),
            _row("O2", 0, "mould", "F2", "press", {3: 10}, 1200, 40),
        ],
        "unassigned": [
            {
                "order": "O3",
                "reason": "NOT_WORTH_SERVING",
                "detail": "penalty below cost",
                "penalty_cents": 777,
            }
        ],
        "costs": {
            "production": 8700,
            "transport": 2190,
            "lateness": 100,
            "unserved": 777,
            "credit": 800,
            "total": 11767,
            "objective": 13367,
        },
        "kpis": {
            "orders": 3,
            "orders_served": 2,
            "orders_on_time": 1,
            "orders_late": 1,
            "orders_unassigned": 1,
            "fill_rate": 2 / 3,
            "unit_fill_rate": 60 / 65,
            "on_time_rate": 0.5,
            "factories_used": 2,
            "factory_utilisation": [],
            "utilisation": [
                _util("F1", "press", 0, 40.0),
                _util("F1", "press", 2, 30.0),
                _util("F1", "bench", 0, 15.0),
                _util("F1", "bench", 2, 10.0),
                _util("F2", "press", 3, 20.0),
            ],
        },
        "stages": [],
    }


def _check(instance: Data | None = None, plan: Data | None = None) -> CheckReport:
    return check_plan(
        parse_instance(instance if instance is not None else _instance_data()),
        Plan.model_validate(plan if plan is not None else _plan_data()),
    )


def _codes(report: CheckReport) -> set[str]:
    return {v.code for v in report.violations}


# -- a correct plan --------------------------------------------------------------


def test_hand_computed_plan_passes_with_exact_recomputed_costs() -> None:
    report = _check()
    assert report.violations == []
    assert report.ok
    assert report.warnings == []
    assert report.recomputed == CostBreakdown(
        production=8700,
        transport=2190,
        lateness=100,
        unserved=777,
        credit=800,
        purchasing=0,
        total=11767,
        objective=13367,
    )


def test_transport_rate_follows_the_haversine_formula() -> None:
    # F1 (0, 0) to O1's delivery (0, 1): one degree of longitude on the equator.
    phi1, phi2 = math.radians(0.0), math.radians(0.0)
    dphi, dlambda = phi2 - phi1, math.radians(1.0) - math.radians(0.0)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    km = 2 * 6371.0 * math.asin(math.sqrt(h))
    assert km == pytest.approx(6371.0 * math.pi / 180)  # 111.195 km
    # 111.195 km x 1.3 road x 10 kg x 30 c/(t km) / 1000 = 43.37 c -> 43 c per unit.
    assert math.floor(km * 1.3 * 10.0 * 30.0 / 1000 + 0.5) == 43
    instance = parse_instance(_instance_data())
    o1, o2 = instance.orders[0], instance.orders[1]
    f1, f2 = instance.factories
    assert unit_transport_cents(instance, o1, f1) == 43
    # F2 (1, 0) to O2's delivery (0, 0): one degree of latitude, 1 kg -> 4.34 -> 4.
    assert unit_transport_cents(instance, o2, f2) == 4


def test_split_order_within_its_policy_passes() -> None:
    instance, plan = _split_o2()
    instance["orders"][1]["split"] = {"allowed": True, "max_factories": 2}
    report = _check(instance, plan)
    assert report.violations == []
    assert report.recomputed.objective == 13111


def test_capacity_used_exactly_to_the_limit_passes() -> None:
    instance = _instance_data()
    instance["factories"][0]["resources"][0]["committed_minutes"] = [20, 0, 0, 0]
    plan = _plan_data()
    plan["kpis"]["utilisation"][0]["free_minutes"] = 40
    assert _check(instance, plan).violations == []


def test_buyer_share_below_the_limit_passes() -> None:
    # B1 uses 5700 s of F1's 28800 free seconds: 19.8 %.
    instance = _instance_data()
    instance["factories"][0]["max_buyer_share"] = 0.2
    assert _check(instance).violations == []


def test_buyer_share_used_exactly_passes() -> None:
    # B2 uses 1200 s at F2, which has 100 free minutes: 0.2 x 60 x 100 = 1200 s.
    instance = _instance_data()
    instance["factories"][1]["resources"][0]["available_minutes"] = [10, 10, 20, 60]
    instance["factories"][1]["max_buyer_share"] = 0.2
    assert _check(instance).violations == []
    instance["factories"][1]["max_buyer_share"] = 0.19
    assert _codes(_check(instance)) == {"BUYER_SHARE_EXCEEDED"}


def test_mandatory_order_unassigned_is_a_warning_not_a_violation() -> None:
    plan = _plan_data()
    del plan["allocations"][2]
    plan["unassigned"].append(
        {
            "order": "O2",
            "reason": "CAPACITY_EXHAUSTED",
            "detail": "F2 press full",
            "mandatory": True,
            "penalty_cents": 0,
        }
    )
    plan["costs"] = {
        "production": 7500,
        "transport": 2150,
        "lateness": 100,
        "unserved": 777,
        "credit": 500,
        "total": 10527,
        "objective": 11527,
    }
    plan["kpis"].update(
        orders_served=1,
        orders_on_time=0,
        orders_late=1,
        orders_unassigned=2,
        fill_rate=1 / 3,
        unit_fill_rate=50 / 65,
        on_time_rate=0.0,
        factories_used=1,
    )
    del plan["kpis"]["utilisation"][4]
    report = _check(plan=plan)
    assert report.ok, report.violations
    assert len(report.warnings) == 1
    assert "mandatory order 'O2'" in report.warnings[0]


def test_empty_plan_of_a_failed_solve_is_not_checked() -> None:
    plan = _plan_data()
    plan.update(status="INFEASIBLE", allocations=[], unassigned=[])
    report = _check(plan=plan)
    assert report.ok
    assert "INFEASIBLE" in report.warnings[0]


# -- capacity and buyer share ------------------------------------------------------


def test_capacity_exceeded_only_because_of_setup_is_a_violation() -> None:
    # 39 free minutes = 2340 s: the 1800 s of moulding fit, plus 600 s of setup do not.
    instance = _instance_data()
    instance["factories"][0]["resources"][0]["committed_minutes"] = [21, 0, 0, 0]
    plan = _plan_data()
    plan["kpis"]["utilisation"][0]["free_minutes"] = 39
    report = _check(instance, plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("CAPACITY_EXCEEDED", "allocations[0].periods[0]")
    ]
    assert "2400 s used" in report.violations[0].message
    assert "2340 s free" in report.violations[0].message


def test_capacity_exceeded_by_processing_is_a_violation() -> None:
    instance = _instance_data()
    instance["factories"][1]["resources"][0]["available_minutes"] = [60, 60, 60, 10]
    plan = _plan_data()
    plan["kpis"]["utilisation"][4]["free_minutes"] = 10
    assert _codes(_check(instance, plan)) == {"CAPACITY_EXCEEDED"}


def test_buyer_share_exceeded_is_a_violation() -> None:
    instance = _instance_data()
    instance["factories"][0]["max_buyer_share"] = 0.19  # limit 5472 s < 5700 s
    report = _check(instance)
    assert _codes(report) == {"BUYER_SHARE_EXCEEDED"}
    assert "'B1'" in report.violations[0].message


# -- eligibility -------------------------------------------------------------------


def test_factory_without_the_capability_is_a_violation() -> None:
    # O3 needs 'assemble', which F2 cannot do.
    plan = _plan_data()
    plan["allocations"].append(_row("O3", 0, "assemble", "F2", "press", {1: 5}, 0))
    plan["unassigned"] = []
    report = _check(plan=plan)
    assert "NO_CAPABILITY" in _codes(report)
    [violation] = [v for v in report.violations if v.code == "NO_CAPABILITY"]
    assert violation.path == "allocations[3]"
    assert "'F2'" in violation.message
    assert "'assemble'" in violation.message


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("min_credit_score", 75, "CREDIT_BELOW_MIN"),
        ("max_unit_price_cents", 119, "PRICE_ABOVE_MAX"),
        ("min_quality_grade", 4, "QUALITY_BELOW_MIN"),
        ("material", "pp", "MATERIAL_NOT_SUPPORTED"),
    ],
)
def test_ineligible_factory_is_a_violation(field: str, value: object, code: str) -> None:
    instance = _instance_data()
    o2 = instance["orders"][1]
    target = o2["operations"][0] if field in ("min_quality_grade", "material") else o2
    target[field] = value
    report = _check(instance)
    assert [(v.code, v.path) for v in report.violations] == [(code, "allocations[2]")]


def test_price_equal_to_the_ceiling_is_eligible() -> None:
    instance = _instance_data()
    instance["orders"][1]["max_unit_price_cents"] = 120
    instance["orders"][1]["min_credit_score"] = 70
    assert _check(instance).violations == []


@pytest.mark.parametrize(("bound", "value"), [("max_lot", 8), ("min_lot", 11)])
def test_part_outside_the_lot_bounds_is_a_violation(bound: str, value: int) -> None:
    instance = _instance_data()
    instance["factories"][1]["capabilities"][0][bound] = value
    assert _codes(_check(instance)) == {"LOT_SIZE_VIOLATED"}


# -- quantities and splits ---------------------------------------------------------


def _split_o2() -> tuple[Data, Data]:
    """O2 made as 6 units at F2 and 4 at F1, all in period 1; costs by hand.

    production 5000 + 2500 + 6 x 120 + 4 x 100 = 8620; transport 2150 + 6 x 4 + 0
    = 2174; credit 500 + 6 x 30 + 4 x 10 = 720; total 8620 + 2174 + 100 + 777 =
    11671; objective 11671 + 2 x 720 = 13111. F2 press period 1: 6 x 90 + 300 = 840 s;
    F1 press period 1: 4 x 60 + 600 = 840 s.
    """
    plan = _plan_data()
    plan["allocations"][2] = _row("O2", 0, "mould", "F2", "press", {1: 6}, 720, 24)
    plan["allocations"].append(_row("O2", 0, "mould", "F1", "press", {1: 4}, 400, 0))
    plan["costs"].update(production=8620, transport=2174, credit=720, total=11671, objective=13111)
    plan["kpis"]["utilisation"][4].update(period=1, used_minutes=14.0)
    plan["kpis"]["utilisation"].append(_util("F1", "press", 1, 14.0))
    return _instance_data(), plan


def test_order_quantity_not_matched_by_its_parts_is_a_violation() -> None:
    instance = _instance_data()
    instance["orders"][1]["quantity"] = 12
    report = _check(instance)
    [violation] = [v for v in report.violations if v.code == "QUANTITY_MISMATCH"]
    assert violation.path == "allocations[2]"
    assert "10" in violation.message and "12" in violation.message


def test_split_of_an_unsplittable_order_is_a_violation() -> None:
    instance, plan = _split_o2()
    assert _codes(_check(instance, plan)) == {"SPLIT_NOT_ALLOWED"}


def test_more_parts_than_max_factories_is_a_violation() -> None:
    instance, plan = _split_o2()
    instance["orders"][1]["split"] = {"allowed": True, "max_factories": 1}
    assert _codes(_check(instance, plan)) == {"TOO_MANY_FACTORIES"}


def test_part_below_the_minimum_split_quantity_is_a_violation() -> None:
    instance, plan = _split_o2()
    instance["orders"][1]["split"] = {"allowed": True, "max_factories": 2, "min_quantity": 5}
    report = _check(instance, plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("SPLIT_BELOW_MIN_QUANTITY", "allocations[3]")
    ]


# -- periods -----------------------------------------------------------------------


def test_production_before_release_is_a_violation() -> None:
    plan = _plan_data()
    plan["allocations"][2]["periods"][0]["period"] = 0
    plan["kpis"]["utilisation"][4]["period"] = 0
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("BEFORE_RELEASE", "allocations[2].periods[0].period")
    ]


def test_production_beyond_the_horizon_is_a_violation() -> None:
    plan = _plan_data()
    plan["allocations"][2]["periods"][0]["period"] = 4
    report = _check(plan=plan)
    assert ("PERIOD_OUTSIDE_HORIZON", "allocations[2].periods[0].period") in {
        (v.code, v.path) for v in report.violations
    }


# -- rows --------------------------------------------------------------------------


def _set(row: int, **changes: object) -> Data:
    plan = _plan_data()
    plan["allocations"][row].update(changes)
    return plan


@pytest.mark.parametrize(
    ("plan", "code", "path"),
    [
        (_set(2, order="O9"), "UNKNOWN_ORDER", "allocations[2].order"),
        (_set(2, factory="F9"), "UNKNOWN_FACTORY", "allocations[2].factory"),
        (_set(2, operation=1), "OPERATION_OUT_OF_RANGE", "allocations[2].operation"),
        (_set(2, process="assemble"), "PROCESS_MISMATCH", "allocations[2].process"),
        (
            _set(2, resource_group="bench"),
            "RESOURCE_GROUP_MISMATCH",
            "allocations[2].resource_group",
        ),
        (_set(2, quantity=0, periods=[]), "NON_POSITIVE_QUANTITY", "allocations[2].quantity"),
        (
            _set(2, periods=[{"period": 1, "quantity": 12}, {"period": 2, "quantity": -2}]),
            "NON_POSITIVE_QUANTITY",
            "allocations[2].periods[1].quantity",
        ),
        (
            _set(2, periods=[{"period": 2, "quantity": 5}, {"period": 1, "quantity": 5}]),
            "PERIODS_NOT_ASCENDING",
            "allocations[2].periods[1]",
        ),
        (
            _set(2, periods=[{"period": 1, "quantity": 5}, {"period": 1, "quantity": 5}]),
            "DUPLICATE_PERIOD",
            "allocations[2].periods[1]",
        ),
        (_set(2, quantity=11), "PERIOD_SUM_MISMATCH", "allocations[2].periods"),
        (_set(0, production_cents=4999), "ROW_COST_MISMATCH", "allocations[0].production_cents"),
        (_set(1, transport_cents=0), "ROW_COST_MISMATCH", "allocations[1].transport_cents"),
        (_set(0, transport_cents=2150), "ROW_COST_MISMATCH", "allocations[0].transport_cents"),
        (_set(1, lateness_cents=99), "ROW_COST_MISMATCH", "allocations[1].lateness_cents"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_malformed_allocation_row_is_a_violation(plan: Data, code: str, path: str) -> None:
    report = _check(plan=plan)
    assert (code, path) in {(v.code, v.path) for v in report.violations}


def test_wrong_late_units_on_the_last_operation_is_a_violation() -> None:
    report = _check(plan=_set(1, late_units=19))
    assert report.violations == [
        Violation(
            "LATE_UNITS_MISMATCH",
            "allocations[1].late_units",
            "order 'O1' operation 1 at 'F1': expected 20, row says 19",
        )
    ]


def test_late_units_on_an_earlier_operation_is_a_violation() -> None:
    report = _check(plan=_set(0, late_units=20))
    assert [(v.code, v.path) for v in report.violations] == [
        ("LATE_UNITS_MISMATCH", "allocations[0].late_units")
    ]


def test_part_missing_an_operation_is_a_violation() -> None:
    plan = _plan_data()
    del plan["allocations"][0]
    report = _check(plan=plan)
    assert ("MISSING_OPERATION", "allocations[0]") in {(v.code, v.path) for v in report.violations}


def test_part_with_two_rows_for_one_operation_is_a_violation() -> None:
    plan = _plan_data()
    plan["allocations"].append(copy.deepcopy(plan["allocations"][0]))
    report = _check(plan=plan)
    assert ("DUPLICATE_OPERATION", "allocations[3]") in {
        (v.code, v.path) for v in report.violations
    }


def test_operations_of_a_part_in_different_periods_is_a_violation() -> None:
    plan = _set(0, periods=[{"period": 0, "quantity": 20}, {"period": 1, "quantity": 30}])
    report = _check(plan=plan)
    assert ("OPERATION_PERIODS_DIFFER", "allocations[0].periods") in {
        (v.code, v.path) for v in report.violations
    }


# -- served or unassigned ----------------------------------------------------------


def _unassigned(order: str, penalty: int = 0, mandatory: bool = False) -> Data:
    return {
        "order": order,
        "reason": "CAPACITY_EXHAUSTED",
        "detail": "",
        "penalty_cents": penalty,
        "mandatory": mandatory,
    }


def test_order_both_served_and_unassigned_is_a_violation() -> None:
    plan = _plan_data()
    plan["unassigned"].append(_unassigned("O2", mandatory=True))
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("SERVED_AND_UNASSIGNED", "unassigned[1]")
    ]
    assert report.warnings == []


def test_order_neither_served_nor_unassigned_is_a_violation() -> None:
    plan = _plan_data()
    plan["unassigned"] = []
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [("ORDER_MISSING", "unassigned")]
    assert "'O3'" in report.violations[0].message


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (_unassigned("O9"), "UNKNOWN_ORDER"),
        (_unassigned("O3", penalty=777), "DUPLICATE_UNASSIGNED"),
    ],
)
def test_bad_extra_unassigned_entry_is_a_violation(entry: Data, code: str) -> None:
    plan = _plan_data()
    plan["unassigned"].append(entry)
    assert _codes(_check(plan=plan)) == {code}


@pytest.mark.parametrize(
    ("changes", "code", "path"),
    [
        ({"penalty_cents": 700}, "PENALTY_MISMATCH", "unassigned[0].penalty_cents"),
        ({"mandatory": True}, "MANDATORY_FLAG_MISMATCH", "unassigned[0].mandatory"),
    ],
)
def test_wrong_unassigned_details_are_violations(changes: Data, code: str, path: str) -> None:
    plan = _plan_data()
    plan["unassigned"][0].update(changes)
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [(code, path)]


# -- costs and KPIs ----------------------------------------------------------------


@pytest.mark.parametrize("term", ["production", "transport", "lateness", "unserved", "credit"])
def test_wrong_cost_term_is_a_violation(term: str) -> None:
    plan = _plan_data()
    plan["costs"][term] += 1
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [("COST_MISMATCH", f"costs.{term}")]


def test_wrong_total_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["total"] = 11768
    assert [(v.code, v.path) for v in _check(plan=plan).violations] == [
        ("COST_MISMATCH", "costs.total")
    ]


def test_wrong_objective_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["objective"] = 11767  # credit weighted 0 instead of 2
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("OBJECTIVE_MISMATCH", "costs.objective")
    ]
    assert "13367" in report.violations[0].message


def test_objective_uses_the_weights_echoed_in_the_plan() -> None:
    plan = _plan_data()
    plan["weights"] = {"credit": 0, "transport": 3}
    plan["costs"]["objective"] = 11767 + 2 * 2190
    assert _check(plan=plan).violations == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("orders", 4),
        ("orders_served", 3),
        ("orders_on_time", 2),
        ("orders_late", 0),
        ("orders_unassigned", 0),
        ("fill_rate", 0.66),
        ("unit_fill_rate", 1.0),
        ("on_time_rate", 1.0),
        ("factories_used", 1),
    ],
)
def test_wrong_kpi_is_a_violation(name: str, value: float) -> None:
    plan = _plan_data()
    plan["kpis"][name] = value
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [("KPI_MISMATCH", f"kpis.{name}")]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"used_minutes": 39.5}, "kpis.utilisation[0].used_minutes"),
        ({"free_minutes": 59}, "kpis.utilisation[0].free_minutes"),
        ({"factory": "F9"}, "kpis.utilisation[0]"),
    ],
)
def test_wrong_utilisation_row_is_a_violation(changes: Data, path: str) -> None:
    plan = _plan_data()
    plan["kpis"]["utilisation"][0].update(changes)
    report = _check(plan=plan)
    assert ("UTILISATION_MISMATCH", path) in {(v.code, v.path) for v in report.violations}


def test_utilisation_row_missing_for_a_used_resource_is_a_violation() -> None:
    plan = _plan_data()
    del plan["kpis"]["utilisation"][4]
    report = _check(plan=plan)
    assert [(v.code, v.path) for v in report.violations] == [
        ("UTILISATION_MISSING", "kpis.utilisation")
    ]


def test_idle_utilisation_rows_may_be_listed() -> None:
    plan = _plan_data()
    plan["kpis"]["utilisation"].append(_util("F2", "press", 1, 0.0))
    assert _check(plan=plan).violations == []


def test_every_violation_is_reported_not_only_the_first() -> None:
    instance = _instance_data()
    instance["orders"][1]["min_credit_score"] = 75
    plan = _plan_data()
    plan["allocations"][0]["production_cents"] = 1
    plan["unassigned"] = []
    plan["costs"]["objective"] = 0
    plan["kpis"]["orders"] = 0
    assert _codes(_check(instance, plan)) == {
        "CREDIT_BELOW_MIN",
        "ROW_COST_MISMATCH",
        "ORDER_MISSING",
        "OBJECTIVE_MISMATCH",
        "KPI_MISMATCH",
    }


# -- files -------------------------------------------------------------------------


def _write(tmp_path: Path, instance: Data, plan: Data | str) -> tuple[Path, Path]:
    instance_path = tmp_path / "instance.json"
    plan_path = tmp_path / "plan.json"
    instance_path.write_text(json.dumps(instance), encoding="utf-8")
    plan_path.write_text(plan if isinstance(plan, str) else json.dumps(plan), encoding="utf-8")
    return instance_path, plan_path


def test_check_files_checks_a_plan_on_disk(tmp_path: Path) -> None:
    report = check_files(*_write(tmp_path, _instance_data(), _plan_data()))
    assert report.ok
    assert report.recomputed.objective == 13367


def test_malformed_plan_file_raises_with_every_issue_and_its_path(tmp_path: Path) -> None:
    plan = _plan_data()
    plan["allocations"][1]["quantity"] = "fifty"
    del plan["costs"]
    with pytest.raises(PlanFormatError) as info:
        check_files(*_write(tmp_path, _instance_data(), plan))
    paths = {issue.path for issue in info.value.issues}
    assert paths == {"allocations[1].quantity", "costs"}


def test_plan_file_that_is_not_json_raises_plan_format_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFormatError, match="Invalid JSON"):
        check_files(*_write(tmp_path, _instance_data(), "{not json"))


def test_missing_plan_file_raises_plan_format_error(tmp_path: Path) -> None:
    instance_path, _ = _write(tmp_path, _instance_data(), "{}")
    with pytest.raises(PlanFormatError, match="file not found"):
        check_files(instance_path, tmp_path / "absent.json")


# -- scale -------------------------------------------------------------------------


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2) - math.radians(lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _random_case(
    n_orders: int, n_factories: int, periods: int, seed: int, active: int = 3
) -> tuple[Data, Data]:
    """A random instance and a valid plan for it, every figure built from scratch.

    Each order runs at one random factory in ``active`` random periods; capacity is
    ample, so the plan is valid by construction.
    """
    rng = random.Random(seed)
    processes = [f"p{k}" for k in range(8)]
    factories: list[Any] = []
    for f in range(n_factories):
        caps = [
            {
                "process": p,
                "resource_group": f"r{k % 2}",
                "unit_cost_cents": rng.randint(50, 500),
                "seconds_per_unit": rng.randint(1, 30),
                "setup_minutes": rng.randint(0, 30),
            }
            for k, p in enumerate(processes)
        ]
        factories.append(
            {
                "id": f"F{f}",
                "location": {"lat": rng.uniform(20, 40), "lon": rng.uniform(100, 120)},
                "credit": {"score": rng.randint(50, 100)},
                "capabilities": caps,
                "resources": [
                    {"id": f"r{k}", "available_minutes": [100_000] * periods} for k in range(2)
                ],
            }
        )
    orders: list[Any] = []
    rows: list[Data] = []
    cost = dict.fromkeys(("production", "transport", "lateness", "credit"), 0)
    used: dict[tuple[str, str, int], int] = defaultdict(int)
    late_orders = 0
    for o in range(n_orders):
        ops = rng.sample(processes, rng.randint(1, 5))
        due = rng.randrange(periods)
        qty_by_t = {t: rng.randint(1, 20) for t in sorted(rng.sample(range(periods), active))}
        order: Any = {
            "id": f"O{o}",
            "buyer": f"B{o % 50}",
            "operations": [{"process": p} for p in ops],
            "quantity": sum(qty_by_t.values()),
            "due_period": due,
            "delivery": {"lat": rng.uniform(20, 40), "lon": rng.uniform(100, 120)},
            "unit_weight_kg": rng.uniform(0.1, 5.0),
            "penalties": {"late_cents_per_unit_period": rng.randint(0, 50)},
        }
        orders.append(order)
        fac: Any = factories[rng.randrange(n_factories)]
        caps_by_p = {c["process"]: c for c in fac["capabilities"]}
        q = order["quantity"]
        km = _haversine_km(
            fac["location"]["lat"],
            fac["location"]["lon"],
            order["delivery"]["lat"],
            order["delivery"]["lon"],
        )
        rate = math.floor(km * 1.3 * order["unit_weight_kg"] * 30.0 / 1000 + 0.5)
        late_units = sum(v for t, v in qty_by_t.items() if t > due)
        lateness = sum(
            order["penalties"]["late_cents_per_unit_period"] * (t - due) * v
            for t, v in qty_by_t.items()
            if t > due
        )
        late_orders += late_units > 0
        for j, p in enumerate(ops):
            cap = caps_by_p[p]
            last = j == len(ops) - 1
            rows.append(
                _row(
                    order["id"],
                    j,
                    p,
                    fac["id"],
                    cap["resource_group"],
                    qty_by_t,
                    cap["unit_cost_cents"] * q,
                    rate * q if last else 0,
                    lateness if last else 0,
                    late_units if last else 0,
                )
            )
            cost["production"] += cap["unit_cost_cents"] * q
            for t, v in qty_by_t.items():
                used[(fac["id"], cap["resource_group"], t)] += (
                    cap["seconds_per_unit"] * v + 60 * cap["setup_minutes"]
                )
        cost["transport"] += rate * q
        cost["lateness"] += lateness
        cost["credit"] += (100 - fac["credit"]["score"]) * q
    total = cost["production"] + cost["transport"] + cost["lateness"]
    instance = {
        "name": "check-random",
        "horizon": {"start_date": "2024-01-01", "periods": periods},
        "processes": [{"id": p} for p in processes],
        "factories": factories,
        "orders": orders,
    }
    plan = {
        "instance": "check-random",
        "status": "FEASIBLE",
        "weights": {"credit": 1},
        "allocations": rows,
        "unassigned": [],
        "costs": {**cost, "unserved": 0, "total": total, "objective": total + cost["credit"]},
        "kpis": {
            "orders": n_orders,
            "orders_served": n_orders,
            "orders_on_time": n_orders - late_orders,
            "orders_late": late_orders,
            "orders_unassigned": 0,
            "fill_rate": 1.0,
            "unit_fill_rate": 1.0,
            "on_time_rate": (n_orders - late_orders) / n_orders,
            "factories_used": len({r["factory"] for r in rows}),
            "factory_utilisation": [],
            "utilisation": [_util(f, r, t, s / 60, 100_000) for (f, r, t), s in used.items()],
        },
        "stages": [],
    }
    return instance, plan


def test_random_valid_plan_passes() -> None:
    instance, plan = _random_case(n_orders=300, n_factories=20, periods=10, seed=1)
    report = _check(instance, plan)
    assert report.violations == []
    assert report.recomputed.objective == plan["costs"]["objective"]


@pytest.mark.benchmark_suite
def test_large_plan_checks_in_a_few_seconds() -> None:
    instance_data, plan_data = _random_case(n_orders=10_000, n_factories=500, periods=28, seed=2)
    instance: Instance = parse_instance(instance_data)
    plan = Plan.model_validate(plan_data)
    assert len(plan.allocations) >= 25_000
    start = time.perf_counter()
    report = check_plan(instance, plan)
    elapsed = time.perf_counter() - start
    assert report.violations == []
    assert elapsed < 5.0, f"check took {elapsed:.2f} s"
