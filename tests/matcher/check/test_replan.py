"""Tests of the checker on re-plans (``check_replan``) and capacity-sharing sections.

The instance: three factories with one press each (480 min a period, 600 s a unit and
10 min setup: 47 units a period), F1 the cheapest, and a paint shop F4 that can make
none of the orders; six periods. The previous plan and the re-plans are solved for
real (one worker, seed 0, 2 s) and must pass the checker; each failing test then
changes one thing and expects the matching violation code.

The main disruption (``now_period`` 2, O2 frozen): F1 is down in period 2, O3 is
cancelled and O4 added. O1 was made in periods 0 and 1 (done work, fixed); O2's part
at F1 is frozen; O5 ran at F1 in period 2 and has to move.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matcher.app.pipeline import plan as solve
from matcher.app.replan import replan
from matcher.check import (
    CheckReport,
    ViolationCode,
    check_plan,
    check_replan,
    check_replan_files,
)
from matcher.domain.events import Disruption, parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.replanning import prepare
from matcher.domain.validation import InvalidInstanceError, parse_instance
from tests.matcher.check.helpers import only, replace_fields

Data = dict[str, Any]

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=2.0, backups=True)
# Collateral of a tampered allocation: the utilisation rows (and, when left in, the
# capacity-sharing rows) no longer match the plan's use.
USE = {ViolationCode.UTILISATION_MISMATCH, ViolationCode.UTILISATION_MISSING}


def _factory(fid: str, lat: float, cost: int) -> Data:
    return {
        "id": fid,
        "location": {"lat": lat, "lon": 0.0},
        "capabilities": [
            {
                "process": "mould",
                "resource_group": "press",
                "unit_cost_cents": cost,
                "seconds_per_unit": 600,
                "setup_minutes": 10,
            }
        ],
        "resources": [{"id": "press", "available_minutes": [480] * 6}],
    }


def _order(oid: str, quantity: int, due: int, release: int = 0, **extra: Any) -> Data:
    return {
        "id": oid,
        "buyer": f"B{oid}",
        "operations": [{"process": "mould"}],
        "quantity": quantity,
        "release_period": release,
        "due_period": due,
        "delivery": {"lat": 0.0, "lon": 0.1},
        "penalties": {"late_cents_per_unit_period": 50},
        **extra,
    }


def _instance_data() -> Data:
    paint = {
        "id": "F4",
        "location": {"lat": 0.2, "lon": 0.0},
        "capabilities": [
            {
                "process": "paint",
                "resource_group": "booth",
                "unit_cost_cents": 10,
                "seconds_per_unit": 60,
            }
        ],
        "resources": [{"id": "booth", "available_minutes": [480] * 6}],
    }
    return {
        "name": "replan-small",
        "horizon": {"start_date": "2024-01-01", "periods": 6},
        "processes": [{"id": "mould"}, {"id": "paint"}],
        "factories": [
            _factory("F1", 0.0, 100),
            _factory("F2", 0.5, 120),
            _factory("F3", 1.0, 140),
            paint,
        ],
        "orders": [
            _order("O1", 60, 1),
            _order("O2", 40, 4, split={"allowed": True, "max_factories": 2}),
            _order(
                "O3", 30, 5, penalties={"late_cents_per_unit_period": 50, "unserved_cents": 100000}
            ),
            _order("O5", 30, 2),
        ],
        "weights": {"stability": 5},
    }


MAIN = {
    "now_period": 2,
    "frozen": ["O2"],
    "events": [
        {"type": "factory_unavailable", "factory": "F1", "from_period": 2, "to_period": 2},
        {"type": "order_cancelled", "order": "O3"},
        {
            "type": "order_added",
            "order": _order("O4", 20, 5, release=2, penalties={"unserved_cents": 50000}),
        },
    ],
}
# O1 grows and is due later (only its done units stay), and an order too big for the
# horizon arrives: it is unassigned.
CHANGED = {
    "now_period": 1,
    "events": [
        {"type": "order_changed", "order": "O1", "quantity": 80, "due_period": 2},
        {
            "type": "order_added",
            "order": _order("O6", 900, 4, release=2, penalties={"unserved_cents": 50}),
        },
    ],
}
# Every press all but gone from period 1 on: O1 cannot be finished, its done units are
# lost (a conflict), and its slice in period 1 (frozen: it had started) is released.
BLACKOUT = {
    "now_period": 1,
    "events": [
        {"type": "factory_unavailable", "factory": "F1", "from_period": 1, "to_period": 5},
        {"type": "factory_unavailable", "factory": "F2", "from_period": 1, "to_period": 5},
        {
            "type": "capacity_cut",
            "factory": "F3",
            "from_period": 1,
            "to_period": 5,
            "available_minutes": 100,
        },
    ],
}


@pytest.fixture(scope="module")
def instance() -> Instance:
    return parse_instance(_instance_data())


@pytest.fixture(scope="module")
def previous(instance: Instance) -> Plan:
    return solve(instance, PARAMS)


def _replan(instance: Instance, previous: Plan, data: Data) -> tuple[Disruption, Plan]:
    disruption = parse_disruption(data, instance)
    return disruption, replan(instance, previous, disruption, PARAMS)


@pytest.fixture(scope="module")
def main(instance: Instance, previous: Plan) -> tuple[Disruption, Plan]:
    return _replan(instance, previous, MAIN)


@pytest.fixture(scope="module")
def changed(instance: Instance, previous: Plan) -> tuple[Disruption, Plan]:
    return _replan(instance, previous, CHANGED)


@pytest.fixture(scope="module")
def blackout(instance: Instance, previous: Plan) -> tuple[Disruption, Plan]:
    return _replan(instance, previous, BLACKOUT)


def _parts(plan: Plan) -> dict[tuple[str, str], dict[int, int]]:
    return {
        (a.order, a.factory): {pq.period: pq.quantity for pq in a.periods}
        for a in plan.allocations
        if a.operation == 0
    }


def _row(plan: Plan, order: str, factory: str) -> int:
    """Index of the (single-operation) row of ``order`` at ``factory``."""
    (i,) = [k for k, a in enumerate(plan.allocations) if (a.order, a.factory) == (order, factory)]
    return i


def _tamper(plan: Plan, changes: Data, sharing: bool = True) -> Plan:
    data = plan.model_dump(mode="json")
    replace_fields(data, changes)
    if not sharing:
        data["capacity_sharing"] = None
    return Plan.model_validate(data)


def _periods(slices: dict[int, int]) -> list[Data]:
    return [{"period": t, "quantity": q} for t, q in sorted(slices.items())]


def _check(instance: Instance, previous: Plan, replanned: tuple[Disruption, Plan]) -> CheckReport:
    disruption, plan = replanned
    return check_replan(instance, previous, disruption, plan)


# -- real solves pass -------------------------------------------------------------------


def test_previous_plan_passes_the_checker(instance: Instance, previous: Plan) -> None:
    report = check_plan(instance, previous)
    assert report.violations == []
    assert previous.capacity_sharing is not None
    assert previous.capacity_sharing.backups


def test_main_replan_passes_the_checker(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    setup = prepare(instance, previous, disruption)
    # What the tampering below relies on: O1 done, O2 frozen, O5 moved, O4 added.
    assert setup.fixed[("O1", "F1")] == {0: 13, 1: 47}
    assert set(setup.fixed) == {("O1", "F1"), ("O2", "F1")}
    parts = _parts(plan)
    assert parts[("O1", "F1")] == {0: 13, 1: 47}
    assert ("O5", "F1") not in parts
    assert any(order == "O4" for order, _ in parts)
    assert plan.costs.moved_units > 0
    assert plan.capacity_sharing is not None
    report = _check(instance, previous, main)
    assert report.violations == []
    assert report.recomputed.moved_units == plan.costs.moved_units
    assert report.recomputed.objective == plan.costs.objective


def test_replan_whose_order_loses_done_work_passes_with_a_warning(
    instance: Instance, previous: Plan, blackout: tuple[Disruption, Plan]
) -> None:
    _, plan = blackout
    assert "O1" in {u.order for u in plan.unassigned}
    # The sharing rows are checked against the calendars after the events.
    assert plan.capacity_sharing is not None
    assert any((r.factory, r.free_minutes) == ("F3", 100) for r in plan.capacity_sharing.capacity)
    report = _check(instance, previous, blackout)
    assert report.violations == []
    assert any(w.startswith("frozen work lost: order 'O1'") for w in report.warnings)


def test_replan_with_an_unassigned_added_order_passes_the_checker(
    instance: Instance, previous: Plan, changed: tuple[Disruption, Plan]
) -> None:
    report = _check(instance, previous, changed)
    assert report.violations == [], report.violations


def test_an_added_order_left_unserved_must_be_reported_as_newly_unserved(
    instance: Instance, previous: Plan, changed: tuple[Disruption, Plan]
) -> None:
    disruption, plan = changed
    assert "O6" in {u.order for u in plan.unassigned}
    assert plan.replan is not None
    assert "O6" in {u.order for u in plan.replan.newly_unserved}
    hidden = _tamper(plan, {"replan__newly_unserved": []})
    codes = {v.code for v in check_replan(instance, previous, disruption, hidden).violations}
    assert codes == {ViolationCode.REPLAN_NEWLY_UNSERVED}


def test_replan_files_are_checked(
    tmp_path: Path, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    _, plan = main
    paths = {name: tmp_path / f"{name}.json" for name in ("instance", "plan", "previous", "events")}
    paths["instance"].write_text(json.dumps(_instance_data()))
    paths["plan"].write_text(plan.model_dump_json())
    paths["previous"].write_text(previous.model_dump_json())
    paths["events"].write_text(json.dumps(MAIN))
    report = check_replan_files(
        paths["instance"], paths["plan"], paths["previous"], paths["events"]
    )
    assert report.ok, report.violations


def test_replan_raises_when_the_previous_plan_is_not_of_the_instance(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    alien = _tamper(previous, {"allocations__0__factory": "F9"})
    with pytest.raises(InvalidInstanceError):
        check_replan(instance, alien, disruption, plan)


# -- fixed work and the past ----------------------------------------------------------------


def test_done_work_shifted_between_past_periods_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    i = _row(plan, "O1", "F1")
    bad = _tamper(plan, {f"allocations__{i}__periods": _periods({0: 14, 1: 46})}, sharing=False)
    report = check_replan(instance, previous, disruption, bad)
    assert report.codes() - USE == {
        ViolationCode.PRODUCTION_BEFORE_NOW,
        ViolationCode.FROZEN_WORK_MOVED,
    }
    (early,) = [v for v in report.violations if v.code == ViolationCode.PRODUCTION_BEFORE_NOW]
    assert early.path == f"allocations[{i}].periods[0]"
    (moved,) = [v for v in report.violations if v.code == ViolationCode.FROZEN_WORK_MOVED]
    assert "period 1: 47 unit(s) are fixed" in moved.message


def test_new_production_before_now_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    ((factory, slices),) = [(f, s) for (o, f), s in _parts(plan).items() if o == "O5"]
    assert slices == {2: 30}
    i = _row(plan, "O5", factory)
    bad = _tamper(plan, {f"allocations__{i}__periods": _periods({1: 30})}, sharing=False)
    report = check_replan(instance, previous, disruption, bad)
    assert report.codes() - USE == {ViolationCode.PRODUCTION_BEFORE_NOW}
    (early,) = [v for v in report.violations if v.code == ViolationCode.PRODUCTION_BEFORE_NOW]
    assert early.path == f"allocations[{i}].periods[0]"
    assert "30 unit(s) in period 1, before now_period 2" in early.message


def test_frozen_slice_moved_to_another_period_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    setup = prepare(instance, previous, disruption)
    ((t, units),) = setup.fixed[("O2", "F1")].items()
    # Another on-time period at F1 from now_period on, with nothing else made there.
    busy = {p for (o, f), s in _parts(plan).items() if f == "F1" and o != "O2" for p in s}
    free = [p for p in range(3, 5) if p != t and p not in busy]
    assert free, "the re-plan left no on-time period at F1 to move O2 into"
    i = _row(plan, "O2", "F1")
    bad = _tamper(plan, {f"allocations__{i}__periods": _periods({free[0]: units})}, sharing=False)
    report = check_replan(instance, previous, disruption, bad)
    assert report.codes() - USE == {ViolationCode.FROZEN_WORK_MOVED}
    (moved,) = [v for v in report.violations if v.code == ViolationCode.FROZEN_WORK_MOVED]
    assert moved.path == f"allocations[{i}]"
    assert f"'O2' at 'F1' period {t}: {units} unit(s) are fixed" in moved.message


def test_frozen_work_lost_without_a_conflict_listed_is_reported(
    instance: Instance, previous: Plan, blackout: tuple[Disruption, Plan]
) -> None:
    disruption, plan = blackout
    bad = _tamper(plan, {"replan__conflicts": []})
    violations = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.FROZEN_CONFLICT_UNLISTED
    )
    assert "'O1'" in violations[0].message


def test_cancelled_order_listed_as_unassigned_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    data = plan.model_dump(mode="json")
    data["unassigned"].append(
        {"order": "O3", "reason": "NOT_WORTH_SERVING", "detail": "", "penalty_cents": 100000}
    )
    bad = Plan.model_validate(data)
    violations = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.CANCELLED_ORDER_PLANNED
    )
    assert violations[0].path == f"unassigned[{len(plan.unassigned)}].order"


def test_added_order_missing_from_the_plan_is_reported(
    instance: Instance, previous: Plan, changed: tuple[Disruption, Plan]
) -> None:
    disruption, plan = changed
    data = plan.model_dump(mode="json")
    data["unassigned"] = [u for u in data["unassigned"] if u["order"] != "O6"]
    bad = Plan.model_validate(data)
    violations = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.ORDER_MISSING
    )
    assert "'O6'" in violations[0].message


# -- units moved and the objective -------------------------------------------------------------


def test_wrong_moved_units_are_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    bad = _tamper(plan, {"costs__moved_units": plan.costs.moved_units + 1})
    report = check_replan(instance, previous, disruption, bad)
    (violation,) = only(report, ViolationCode.MOVED_UNITS_MISMATCH)
    assert violation.path == "costs.moved_units"
    assert report.recomputed.moved_units == plan.costs.moved_units


def test_objective_without_the_stability_term_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    term = plan.weights.stability * plan.costs.moved_units
    assert term > 0
    bad = _tamper(plan, {"costs__objective": plan.costs.objective - term})
    only(check_replan(instance, previous, disruption, bad), ViolationCode.OBJECTIVE_MISMATCH)


def test_plain_check_counts_claimed_moved_units_with_a_warning(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    after = prepare(instance, previous, disruption).instance
    report = check_plan(after, plan)
    assert report.violations == []
    assert report.recomputed.moved_units == plan.costs.moved_units
    assert report.recomputed.objective == plan.costs.objective
    assert any("moved_units" in w and "unverified" in w for w in report.warnings)
    # Without the stability term the objective does not add up.
    bad = _tamper(plan, {"costs__objective": plan.costs.objective - 5 * plan.costs.moved_units})
    only(check_plan(after, bad), ViolationCode.OBJECTIVE_MISMATCH)


def test_plain_check_does_not_warn_without_moved_units(instance: Instance, previous: Plan) -> None:
    report = check_plan(instance, previous)
    assert not any("moved_units" in w for w in report.warnings)


# -- the replan report ---------------------------------------------------------------------------


def test_missing_replan_section_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    bad = plan.model_copy(update={"replan": None})
    only(check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_MISSING)


def _moves_of(plan: Plan, order: str) -> list[int]:
    assert plan.replan is not None
    return [k for k, m in enumerate(plan.replan.moves) if m.order == order]


def test_move_report_that_does_not_reconcile_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    (k,) = _moves_of(plan, "O5")
    assert plan.replan is not None
    units = plan.replan.moves[k].units
    bad = _tamper(plan, {f"replan__moves__{k}__units": units - 1})
    violations = only(check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_MOVES)
    assert all("'O5'" in v.message for v in violations)


def test_move_report_missing_an_added_order_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    assert plan.replan is not None
    moves = [m.model_dump(mode="json") for m in plan.replan.moves if m.order != "O4"]
    bad = _tamper(plan, {"replan__moves": moves})
    violations = only(check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_MOVES)
    assert "'O4'" in violations[0].message


def test_move_of_a_cancelled_order_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    assert plan.replan is not None
    moves = [m.model_dump(mode="json") for m in plan.replan.moves]
    moves.append({"order": "O3", "from_factory": "F1", "to_factory": None, "units": 30})
    bad = _tamper(plan, {"replan__moves": moves})
    (violation,) = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_MOVES
    )
    assert violation.path == f"replan.moves[{len(moves) - 1}]"


@pytest.mark.parametrize(
    "name",
    ["total_delta_cents", "previous_total_cents", "orders_moved", "frozen_units", "moved_units"],
)
def test_wrong_replan_figure_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan], name: str
) -> None:
    disruption, plan = main
    assert plan.replan is not None
    bad = _tamper(plan, {f"replan__{name}": getattr(plan.replan, name) + 1})
    (violation,) = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_FIGURES
    )
    assert violation.path == f"replan.{name}"


def test_wrong_newly_late_is_reported(
    instance: Instance, previous: Plan, main: tuple[Disruption, Plan]
) -> None:
    disruption, plan = main
    bad = _tamper(plan, {"replan__newly_late": ["O1"]})
    only(check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_NEWLY_LATE)


def test_newly_late_order_left_out_is_reported(
    instance: Instance, previous: Plan, changed: tuple[Disruption, Plan]
) -> None:
    disruption, plan = changed
    assert plan.replan is not None
    assert plan.replan.newly_late == ["O1"]  # due earlier now, made in period 3
    bad = _tamper(plan, {"replan__newly_late": []})
    only(check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_NEWLY_LATE)


def test_newly_unserved_order_left_out_is_reported(
    instance: Instance, previous: Plan, blackout: tuple[Disruption, Plan]
) -> None:
    disruption, plan = blackout
    bad = _tamper(plan, {"replan__newly_unserved": []})
    violations = only(
        check_replan(instance, previous, disruption, bad), ViolationCode.REPLAN_NEWLY_UNSERVED
    )
    assert "'O1'" in violations[0].message


# -- capacity sharing -------------------------------------------------------------------------


def _sharing(plan: Plan) -> Data:
    data = plan.model_dump(mode="json")
    assert data["capacity_sharing"] is not None
    return data


def _row_index(data: Data, busy: bool) -> int:
    """A capacity row the plan uses (``busy``) or leaves idle, not named by a need."""
    needs = {
        (n["factory"], n["resource_group"], n["period"])
        for n in data["capacity_sharing"]["extra_capacity_pays"]
    }
    for i, row in enumerate(data["capacity_sharing"]["capacity"]):
        key = (row["factory"], row["resource_group"], row["period"])
        if key not in needs and (row["used_minutes"] > 0) == busy:
            return i
    raise AssertionError("no such row")


def _check_sharing(instance: Instance, data: Data) -> CheckReport:
    return check_plan(instance, Plan.model_validate(data))


def test_sharing_row_with_wrong_idle_is_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    i = _row_index(data, busy=True)
    data["capacity_sharing"]["capacity"][i]["idle_minutes"] += 5
    (violation,) = only(_check_sharing(instance, data), ViolationCode.SHARING_IDLE_MISMATCH)
    assert violation.path == f"capacity_sharing.capacity[{i}].idle_minutes"


def test_sharing_row_with_wrong_use_is_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    i = _row_index(data, busy=True)
    row = data["capacity_sharing"]["capacity"][i]
    row["used_minutes"] -= 10
    row["idle_minutes"] += 10
    only(_check_sharing(instance, data), ViolationCode.SHARING_USED_MISMATCH)


def test_sharing_row_with_wrong_free_time_is_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    row = data["capacity_sharing"]["capacity"][_row_index(data, busy=False)]
    row["free_minutes"] += 60
    row["idle_minutes"] += 60
    only(_check_sharing(instance, data), ViolationCode.SHARING_FREE_MISMATCH)


def test_sharing_row_with_negative_marginal_value_is_reported(
    instance: Instance, previous: Plan
) -> None:
    data = _sharing(previous)
    data["capacity_sharing"]["capacity"][_row_index(data, busy=False)][
        "marginal_cents_per_hour"
    ] = -1.0
    only(_check_sharing(instance, data), ViolationCode.SHARING_NEGATIVE_MARGINAL)


def test_sharing_row_of_an_unknown_group_or_listed_twice_is_reported(
    instance: Instance, previous: Plan
) -> None:
    data = _sharing(previous)
    rows = data["capacity_sharing"]["capacity"]
    rows.append({**rows[0], "resource_group": "lathe"})
    rows.append(dict(rows[0]))
    report = _check_sharing(instance, data)
    assert report.codes() == {
        ViolationCode.SHARING_ROW_UNKNOWN,
        ViolationCode.SHARING_ROW_DUPLICATE,
    }


def test_needs_out_of_order_or_unmatched_are_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    section = data["capacity_sharing"]
    rows = section["capacity"]
    for row, value in zip(rows[:2], (10.0, 20.0), strict=True):
        row["marginal_cents_per_hour"] = value
    section["extra_capacity_pays"] = [
        {
            "factory": row["factory"],
            "resource_group": row["resource_group"],
            "period": row["period"],
            "marginal_cents_per_hour": row["marginal_cents_per_hour"],
            "processes": ["mould"],
        }
        for row in rows[:2]
    ]
    (violation,) = only(_check_sharing(instance, data), ViolationCode.SHARING_RANKING)
    assert violation.path == "capacity_sharing.extra_capacity_pays[1]"
    section["extra_capacity_pays"].reverse()
    section["extra_capacity_pays"][0]["marginal_cents_per_hour"] = 25.0
    section["extra_capacity_pays"][1]["processes"] = ["paint"]
    violations = only(_check_sharing(instance, data), ViolationCode.SHARING_NEED_MISMATCH)
    assert [v.path for v in violations] == [
        "capacity_sharing.extra_capacity_pays[0].marginal_cents_per_hour",
        "capacity_sharing.extra_capacity_pays[1].processes",
    ]


def test_idle_offer_with_wrong_hours_is_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    offers = data["capacity_sharing"]["idle_to_offer"]
    assert offers
    offers[-1]["idle_hours"] -= 1.0
    (violation,) = only(_check_sharing(instance, data), ViolationCode.SHARING_OFFER_MISMATCH)
    assert violation.path == f"capacity_sharing.idle_to_offer[{len(offers) - 1}].idle_hours"


def test_idle_offers_out_of_order_are_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    offers = data["capacity_sharing"]["idle_to_offer"]
    distinct = sorted({o["idle_hours"] for o in offers})
    if len(distinct) < 2:
        pytest.skip("the offers all have the same idle hours")
    offers.reverse()
    assert _check_sharing(instance, data).codes() == {ViolationCode.SHARING_RANKING}


def _transfer(**fields: Any) -> Data:
    base: Data = {
        "kind": "MOVE_WORK",
        "from_factory": "F1",
        "to_factory": "F2",
        "order": "O1",
        "quantity": 1,
        "saving_cents": 100,
    }
    return {**base, **fields}


def test_valid_transfers_pass(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    assert _parts(previous)[("O1", "F1")]
    data["capacity_sharing"]["transfers"] = [
        _transfer(saving_cents=200),
        _transfer(
            kind="LEND_CAPACITY",
            order=None,
            quantity=0,
            resource_group="press",
            period=3,
            hours=2.0,
        ),
    ]
    assert _check_sharing(instance, data).violations == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"saving_cents": 0}, "only savings > 0"),
        ({"to_factory": "F9"}, "unknown factory 'F9'"),
        ({"order": "O9"}, "unknown order 'O9'"),
        ({"quantity": 61}, "which makes 60 of it"),
        ({"from_factory": "F2", "to_factory": "F1"}, "which makes 0 of it"),
        ({"to_factory": "F4"}, "lacks a process"),
        ({"kind": "LEND_CAPACITY", "resource_group": "lathe", "hours": 1.0}, "resource group"),
        ({"serves_mandatory": ["O9"]}, "serves unknown order 'O9'"),
        ({"serves_mandatory": ["O3"]}, "order 'O3' it serves is not mandatory"),
        ({"serves_mandatory": ["O1"]}, "order 'O1' it serves is already served by the plan"),
    ],
)
def test_invalid_transfer_is_reported(
    instance: Instance, previous: Plan, fields: Data, message: str
) -> None:
    data = _sharing(previous)
    data["capacity_sharing"]["transfers"] = [_transfer(**fields)]
    violations = only(_check_sharing(instance, data), ViolationCode.SHARING_TRANSFER_INVALID)
    assert any(message in v.message for v in violations), violations


def test_transfers_out_of_order_are_reported(instance: Instance, previous: Plan) -> None:
    data = _sharing(previous)
    data["capacity_sharing"]["transfers"] = [
        _transfer(saving_cents=100),
        _transfer(saving_cents=300),
    ]
    (violation,) = only(_check_sharing(instance, data), ViolationCode.SHARING_RANKING)
    assert violation.path == "capacity_sharing.transfers[1]"


def test_a_transfer_serving_a_mandatory_order_must_come_first(
    instance: Instance, previous: Plan
) -> None:
    data = _sharing(previous)
    data["capacity_sharing"]["transfers"] = [
        _transfer(saving_cents=300),
        _transfer(saving_cents=-50, serves_mandatory=["O1"]),  # O1 is served: reported too
    ]
    report = _check_sharing(instance, data)
    (violation,) = [v for v in report.violations if v.code is ViolationCode.SHARING_RANKING]
    assert violation.path == "capacity_sharing.transfers[1]"
    assert "serves 1 mandatory order(s), after one serving 0" in violation.message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"primary_factory": "F3"}, "has no part at 'F3'"),
        ({"quantity": 1}, "backup says 1"),
        ({"backup_factory": "F4"}, "lacks a process"),
        ({"backup_factory": "F9"}, "unknown backup factory"),
        ({"backup_factory": "F1"}, "itself"),
    ],
)
def test_invalid_backup_is_reported(
    instance: Instance, previous: Plan, fields: Data, message: str
) -> None:
    data = _sharing(previous)
    backups = data["capacity_sharing"]["backups"]
    (k,) = [k for k, b in enumerate(backups) if (b["order"], b["primary_factory"]) == ("O1", "F1")]
    backups[k].update(fields)
    (violation,) = only(_check_sharing(instance, data), ViolationCode.SHARING_BACKUP_INVALID)
    assert violation.path == f"capacity_sharing.backups[{k}]"
    assert message in violation.message
