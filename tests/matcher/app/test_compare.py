"""Configurations parsed from ``key=value`` text, verdicts of B against A, and a real
comparison of two configurations on the tiny instance."""

from __future__ import annotations

import pytest

from matcher.app.compare import Outcome, Thresholds, compare, judge, parse_config
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan

BASE = SolveParams(workers=1, seed=0, time_limit_s=5)


def _violations(instance: Instance, plan: Plan) -> int:
    return len(check_plan(instance, plan).violations)


def _outcome(total: int, fill: float, on_time: float = 1.0, late: int = 0) -> Outcome:
    return Outcome(
        status="OPTIMAL",
        total_cents=total,
        objective_cents=total,
        fill_rate=fill,
        on_time_rate=on_time,
        orders_late=late,
        orders_unassigned=0,
        wall_time_s=0.0,
        violations=0,
    )


def test_a_configuration_overrides_the_base_with_typed_values() -> None:
    p = parse_config("solver=greedy, time_limit=2.5,feedback=false", BASE)
    assert (p.assignment_solver, p.time_limit_s, p.feedback, p.workers) == ("greedy", 2.5, False, 1)
    assert parse_config("", BASE) == BASE


@pytest.mark.parametrize(
    ("spec", "message"),
    [("solver", "not key=value"), ("colour=red", "unknown key"), ("workers=many", "workers")],
)
def test_a_bad_configuration_is_a_value_error_naming_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_config(spec, BASE)


def test_b_passes_within_the_thresholds_and_fails_beyond_them() -> None:
    a = _outcome(10_000, 0.80, late=1)
    t = Thresholds(
        max_cost_increase_pct=1.0,
        min_fill_rate_delta_pp=-0.5,
        min_on_time_delta_pp=0.0,
        max_late_increase=0,
    )
    ok = judge(a, _outcome(10_100, 0.795, late=1), t)  # +1 %, -0.5 pp: on the limits
    assert all(v.passed for v in ok) and len(ok) == 6
    bad = {v.check: v for v in judge(a, _outcome(10_101, 0.79, on_time=0.9, late=2), t)}
    assert not bad["cost increase %"].passed and bad["cost increase %"].value == pytest.approx(1.01)
    assert not bad["fill rate delta pp"].passed
    assert not bad["on-time delta pp"].passed and not bad["late orders increase"].passed


def test_a_plan_the_checker_rejects_fails_whatever_the_thresholds() -> None:
    broken = _outcome(1, 1.0).model_copy(update={"violations": 2})
    verdicts = judge(_outcome(10, 1.0), broken, Thresholds())
    assert [v.check for v in verdicts if not v.passed] == ["B valid"]


def test_comparing_two_configurations_on_an_instance_runs_and_judges_both(tiny: Instance) -> None:
    a = parse_config("solver=greedy", BASE)
    b = parse_config("solver=cpsat", BASE)
    seen: list[str] = []
    result = compare(
        [("tiny", tiny)],
        a,
        b,
        Thresholds(max_cost_increase_pct=0.0),
        _violations,
        lambda r: seen.append(r.instance),
    )
    assert seen == ["tiny"] and result.passed
    row = result.instances[0]
    assert row.a.violations == 0 and row.b.violations == 0
    assert row.b.total_cents == 31560 and row.b.total_cents <= row.a.total_cents
    assert result.config_a["assignment_solver"] == "greedy" and result.config_b["workers"] == 1


def test_a_comparison_fails_when_the_verifier_rejects_a_plan(tiny: Instance) -> None:
    result = compare([("tiny", tiny)], BASE, BASE, Thresholds(), lambda i, p: 1)
    assert not result.passed
    failed = [v.check for v in result.instances[0].verdicts if not v.passed]
    assert failed == ["A valid", "B valid"]
