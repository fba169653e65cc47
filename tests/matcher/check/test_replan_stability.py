"""The checker verifies the stability weight a re-plan states, not the events' one.

``matcher replan ... --stability N`` overrides the events file's ``stability``; the
re-plan states the weight it used (``weights.stability``, repeated in
``replan.stability_cents_per_unit``) and its objective counts it. Checked with the
events as written, such a re-plan passes with a warning naming both weights; a plan
whose report or objective does not follow its stated weight is still a violation.

The instance: two factories with one press each (480 min a period, 600 s a unit and
10 min setup: 47 units a period), F1 the cheaper; four periods; two orders that the
previous plan makes at F1. The events (``now_period`` 1) take F1 away from period 1 on
and name a stability of 1000 cents per unit; the re-plan is made with it overridden
to 0 (one worker, seed 0, 2 s), as the CLI does. The units left to make move to F2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matcher.app.pipeline import plan as solve
from matcher.app.replan import replan
from matcher.check import CheckReport, ViolationCode, check_replan, check_replan_files
from matcher.domain.events import Disruption, parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, replace_fields

Data = dict[str, Any]

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=2.0)
NAMED = 1000  # the events' stability
OVERRIDE = 0  # what ``--stability`` sets instead


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
        "resources": [{"id": "press", "available_minutes": [480] * 4}],
    }


def _order(oid: str, quantity: int, due: int) -> Data:
    return {
        "id": oid,
        "buyer": f"B{oid}",
        "operations": [{"process": "mould"}],
        "quantity": quantity,
        "due_period": due,
        "delivery": {"lat": 0.0, "lon": 0.1},
        "penalties": {"late_cents_per_unit_period": 50, "unserved_cents": 1_000_000},
    }


INSTANCE: Data = {
    "name": "replan-stability",
    "horizon": {"start_date": "2024-01-01", "periods": 4},
    "processes": [{"id": "mould"}],
    "factories": [_factory("F1", 0.0, 100), _factory("F2", 0.5, 120)],
    "orders": [_order("O1", 40, 3), _order("O2", 30, 3)],
    "weights": {"stability": 5},
}
EVENTS: Data = {
    "now_period": 1,
    "stability": NAMED,
    "events": [{"type": "factory_unavailable", "factory": "F1", "from_period": 1, "to_period": 3}],
}


@pytest.fixture(scope="module")
def instance() -> Instance:
    return parse_instance(INSTANCE)


@pytest.fixture(scope="module")
def previous(instance: Instance) -> Plan:
    return solve(instance, PARAMS)


@pytest.fixture(scope="module")
def events(instance: Instance) -> Disruption:
    """The events as written: they name a stability of 1000."""
    return parse_disruption(EVENTS, instance)


@pytest.fixture(scope="module")
def overridden(instance: Instance, previous: Plan, events: Disruption) -> Plan:
    """The re-plan ``matcher replan --stability 0`` makes: the CLI overrides the
    events' stability on the disruption before re-planning."""
    disruption = events.model_copy(update={"stability": OVERRIDE})
    return replan(instance, previous, disruption, PARAMS)


def _tamper(plan: Plan, changes: Data) -> Plan:
    data = plan.model_dump(mode="json")
    replace_fields(data, changes)
    return Plan.model_validate(data)


def _check(instance: Instance, previous: Plan, events: Disruption, plan: Plan) -> CheckReport:
    return check_replan(instance, previous, events, plan)


# -- an override is accepted -------------------------------------------------------------


def test_replan_made_with_an_overridden_stability_states_the_weight_it_used(
    overridden: Plan,
) -> None:
    assert overridden.weights.stability == OVERRIDE
    assert overridden.replan is not None
    assert overridden.replan.stability_cents_per_unit == OVERRIDE
    # Units moved to F2: the weight makes a difference to the objective.
    assert overridden.costs.moved_units > 0


def test_replan_with_an_overridden_stability_passes_with_a_warning(
    instance: Instance, previous: Plan, events: Disruption, overridden: Plan
) -> None:
    report = _check(instance, previous, events, overridden)
    assert report.violations == []
    assert report.recomputed.moved_units == overridden.costs.moved_units
    assert report.recomputed.objective == overridden.costs.objective
    (warning,) = [w for w in report.warnings if "stability" in w]
    assert f"used stability {OVERRIDE} " in warning
    assert f"events name {NAMED} " in warning


def test_replan_files_with_an_overridden_stability_pass(
    tmp_path: Path, previous: Plan, overridden: Plan
) -> None:
    """``matcher check INSTANCE NEW --previous PLAN --events EVENTS``, on the files."""
    paths = {name: tmp_path / f"{name}.json" for name in ("instance", "plan", "previous", "events")}
    paths["instance"].write_text(json.dumps(INSTANCE))
    paths["plan"].write_text(overridden.model_dump_json())
    paths["previous"].write_text(previous.model_dump_json())
    paths["events"].write_text(json.dumps(EVENTS))
    report = check_replan_files(
        paths["instance"], paths["plan"], paths["previous"], paths["events"]
    )
    assert report.ok, report.violations


def test_replan_with_the_events_stability_passes_without_a_warning(
    instance: Instance, previous: Plan, events: Disruption
) -> None:
    plan = replan(instance, previous, events, PARAMS)
    assert plan.weights.stability == NAMED
    report = _check(instance, previous, events, plan)
    assert report.violations == []
    assert not any("stability" in w for w in report.warnings)


# -- the stated weight binds ---------------------------------------------------------------


def test_report_naming_another_stability_than_the_weights_is_a_violation(
    instance: Instance, previous: Plan, events: Disruption, overridden: Plan
) -> None:
    bad = _tamper(overridden, {"replan__stability_cents_per_unit": NAMED})
    (violation,) = only(_check(instance, previous, events, bad), ViolationCode.REPLAN_FIGURES)
    assert violation.path == "replan.stability_cents_per_unit"


def test_objective_weighing_moves_otherwise_than_the_stated_weight_is_a_violation(
    instance: Instance, previous: Plan, events: Disruption, overridden: Plan
) -> None:
    # The objective counts the events' weight though the plan states the override.
    moved = overridden.costs.moved_units
    objective = overridden.costs.objective + (NAMED - OVERRIDE) * moved
    bad = _tamper(overridden, {"costs__objective": objective})
    (violation,) = only(_check(instance, previous, events, bad), ViolationCode.OBJECTIVE_MISMATCH)
    assert violation.path == "costs.objective"


def test_plan_claiming_the_events_weight_with_an_objective_that_ignores_it_is_a_violation(
    instance: Instance, previous: Plan, events: Disruption, overridden: Plan
) -> None:
    # Weights restated as the events' 1000: the objective (made with 0) no longer adds
    # up, and the report still names 0.
    bad = _tamper(overridden, {"weights__stability": NAMED})
    report = _check(instance, previous, events, bad)
    assert report.codes() == {ViolationCode.REPLAN_FIGURES, ViolationCode.OBJECTIVE_MISMATCH}
    assert sorted(v.path for v in report.violations) == [
        "costs.objective",
        "replan.stability_cents_per_unit",
    ]
    assert not any("stability" in w for w in report.warnings)
