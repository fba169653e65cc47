"""The checker's fairness rules (docs/fairness.md): plans solved with each option pass,
tampered ones are caught, on the hand-checked instance of ``tests/fairness_options_data.py``."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.app.replan import replan
from matcher.check import check_plan, check_replan
from matcher.domain.entities import FairnessOptions
from matcher.domain.events import parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from tests.fairness_options_data import fairness_instance
from tests.matcher.check.helpers import only

PARAMS = SolveParams(time_limit_s=10, workers=1, seed=0, sharing=False)


def _plan(instance: Instance, **params: Any) -> Plan:
    return plan(instance, PARAMS.model_copy(update=params))


def _units_at(p: Plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in p.allocations:
        out[a.factory] = out.get(a.factory, 0) + a.quantity
    return out


@pytest.mark.parametrize(
    ("fairness", "units", "penalty"),
    [
        ({"max_share": 0.5}, {"F1": 20, "F2": 20}, 0),
        ({"min_work": 10, "min_work_penalty": 5}, {"F1": 30, "F2": 10}, 50),
        ({"min_work": 10, "min_work_hard": True}, {"F1": 20, "F2": 10, "F3": 10}, 0),
        ({"exploration_share": 0.25, "exploration_penalty": 100}, {"F1": 30, "F3": 10}, 0),
        ({"max_share": 0.5, "share_measure": "hours"}, {"F1": 20, "F2": 20}, 0),
    ],
)
def test_a_plan_solved_with_the_instance_s_options_passes_the_checker(
    fairness: dict[str, Any], units: dict[str, int], penalty: int
) -> None:
    instance = fairness_instance(fairness=fairness)
    p = _plan(instance)
    assert p.fairness_options == instance.fairness
    assert _units_at(p) == units
    assert p.costs.fairness == penalty
    report = check_plan(instance, p)
    assert report.ok, report.violations
    assert report.recomputed.objective == p.costs.objective == p.costs.production + penalty
    assert not any("fairness options other" in w for w in report.warnings)


def test_the_load_balance_term_is_in_the_costs_and_the_checker_agrees() -> None:
    instance = fairness_instance(weights={"load_balance": 10})
    p = _plan(instance)
    assert _units_at(p) == {"F1": 20, "F2": 10, "F3": 10}
    assert p.costs.load_balance == 18
    assert p.costs.objective == 520 + 10 * 18
    report = check_plan(instance, p)
    assert report.ok, report.violations
    assert report.recomputed.load_balance == 18


def test_a_plan_above_the_share_cap_is_caught() -> None:
    unfair = _plan(fairness_instance())  # all 40 units at F1
    instance = fairness_instance(fairness={"max_share": 0.5})
    tampered = unfair.model_copy(update={"fairness_options": instance.fairness})
    (v,) = only(check_plan(instance, tampered), "FAIRNESS_SHARE_EXCEEDED")
    assert v.path == "fairness_options.max_share[F1]"
    assert "40 of 40 units" in v.message


def test_a_plan_below_a_hard_minimum_is_caught_per_factory() -> None:
    unfair = _plan(fairness_instance())
    instance = fairness_instance(fairness={"min_work": 10, "min_work_hard": True})
    tampered = unfair.model_copy(update={"fairness_options": instance.fairness})
    violations = only(check_plan(instance, tampered), "FAIRNESS_MIN_WORK_MISSED")
    assert [v.path for v in violations] == [
        "fairness_options.min_work[F2]",
        "fairness_options.min_work[F3]",
    ]


def test_a_soft_penalty_left_out_of_the_costs_is_a_cost_and_objective_mismatch() -> None:
    unfair = _plan(fairness_instance())
    instance = fairness_instance(fairness={"min_work": 10, "min_work_penalty": 100})
    tampered = unfair.model_copy(update={"fairness_options": instance.fairness})
    report = check_plan(instance, tampered)
    assert report.codes() == {"COST_MISMATCH", "OBJECTIVE_MISMATCH"}
    assert report.recomputed.fairness == 2 * 10 * 100  # F2 and F3 10 units short each


def test_a_solve_override_is_checked_under_the_plan_s_options_with_a_warning() -> None:
    instance = fairness_instance(fairness={"max_share": 0.5})
    p = _plan(instance, fairness=FairnessOptions())  # the override: no option on
    assert _units_at(p) == {"F1": 40}
    report = check_plan(instance, p)
    assert report.ok, report.violations
    assert any("fairness options other than the instance's" in w for w in report.warnings)


def test_hours_count_machine_seconds_and_minimums_round_up_to_a_second() -> None:
    unfair = _plan(fairness_instance())
    # 0.1 h = 360 s: F2 and F3 have none, F1 has 2 400
    options = FairnessOptions(min_work=0.1, share_measure="hours", min_work_penalty=3600)
    instance = fairness_instance(fairness=options.model_dump())
    tampered = unfair.model_copy(update={"fairness_options": options})
    report = check_plan(instance, tampered)
    assert report.recomputed.fairness == 2 * 360  # 3 600 c/h x 360 s / 3 600, twice


def test_a_replan_keeps_the_share_cap_and_its_checker_agrees() -> None:
    # F2 goes down: its two orders cannot all go to F1 (at most half the units), so
    # two go to F3, the dearest.
    instance = fairness_instance(fairness={"max_share": 0.5})
    before = _plan(instance)
    assert _units_at(before) == {"F1": 20, "F2": 20}
    events = {
        "events": [
            {"type": "factory_unavailable", "factory": "F2", "from_period": 0, "to_period": 1}
        ]
    }
    disruption = parse_disruption(events, instance)
    after = replan(instance, before, disruption, PARAMS)
    assert _units_at(after) == {"F1": 20, "F3": 20}
    report = check_replan(instance, before, disruption, after)
    assert report.ok, report.violations
