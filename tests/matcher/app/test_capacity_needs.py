"""What it would take (docs/explain.md): figures hand-computed in tests/short_data.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.app.capacity_needs import capacity_needs
from matcher.check import check_plan, load_plan
from matcher.cli import main
from matcher.domain.params import SolveParams
from matcher.domain.plan import ReasonCode, SolveStatus
from matcher.domain.validation import load_instance, parse_instance
from service.convert import plan_from_proto, plan_to_proto
from tests.short_data import short_data, short_instance

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=3, sharing=False)
DEMO = Path(__file__).parents[3] / "instances" / "demo.json"


def test_a_factory_short_by_five_and_a_half_hours_is_asked_for_them_setup_included() -> None:
    needs = capacity_needs(short_instance(), PARAMS)
    assert needs.status == SolveStatus.OPTIMAL
    assert [(r.factory, r.resource_group, r.period) for r in needs.rows] == [("F", "g", 1)]
    row = needs.rows[0]
    assert (row.free_minutes, row.needed_minutes, row.extra_minutes) == (300, 630.0, 330)
    assert row.extra_hours == needs.extra_hours == 5.5
    assert row.serves == ["M"]
    # the plan makes 330 of M's units a period late at 100 cents: that is what it is worth
    assert needs.lateness_saved_cents == needs.worth_cents == row.worth_cents == 33_000
    assert needs.cost_change_cents == 0
    # 10 x (100 cents a unit over 60 s a unit) a minute
    assert needs.overtime_cents_per_hour == 60 * 1_000
    assert row.overtime_cents == 330 * 1_000


def test_an_order_its_materials_cannot_reach_in_time_is_listed_apart_with_the_reason() -> None:
    needs = capacity_needs(short_instance(), PARAMS)
    assert [(a.order, a.reason) for a in needs.apart] == [("Z", ReasonCode.MATERIAL_UNAVAILABLE)]
    assert "steel" in needs.apart[0].detail and "period 2" in needs.apart[0].detail


def test_with_ample_capacity_nothing_is_bought() -> None:
    data = short_data(committed=0, with_z=False)
    data["orders"][0]["quantity"] = 450  # 450 + 30 setup minutes of 480
    needs = capacity_needs(parse_instance(data), PARAMS)
    assert needs.status == SolveStatus.OPTIMAL
    assert needs.rows == [] and needs.extra_hours == 0 and needs.overtime_cents == 0
    assert needs.worth_cents == 0 and needs.apart == []


def test_a_stated_price_is_used() -> None:
    needs = capacity_needs(short_instance(), PARAMS, overtime_cents_per_hour=120_000)
    assert needs.overtime_cents_per_hour == 120_000 and needs.price_basis == "stated"
    assert needs.rows[0].extra_minutes == 330


def test_the_command_prints_the_needs_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short_data()))
    assert main(["capacity-needs", str(path), "--json", "--time-limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["extra_hours"] == 5.5 and out["rows"][0]["serves"] == ["M"]


@pytest.mark.slow
def test_the_demo_runs_end_to_end_and_names_only_rows_that_exist() -> None:
    instance = load_instance(DEMO)
    needs = capacity_needs(instance, SolveParams(workers=1, seed=0, time_limit_s=4))
    assert needs.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert needs.rows and needs.gap is not None
    groups = {(f.id, r.id) for f in instance.factories for r in f.resources}
    orders = {o.id for o in instance.orders}
    for row in needs.rows:
        assert (row.factory, row.resource_group) in groups
        assert 0 <= row.period < instance.horizon.periods
        assert row.extra_minutes > 0 and set(row.serves) <= orders
    assert {a.order for a in needs.apart} <= orders


def test_solve_unconstrained_adds_the_section_to_the_plan_and_it_crosses_the_wire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short_data()))
    out = tmp_path / "plan.json"
    args = ["solve", str(path), "--unconstrained", "--time-limit", "4", "--workers", "1"]
    assert main([*args, "-o", str(out)]) == 0
    assert "What it would take: 5.50 extra hours" in capsys.readouterr().out
    plan = load_plan(out)
    assert plan.capacity_needs is not None
    assert plan.capacity_needs.plan_source == "the given plan"
    assert [(r.factory, r.extra_minutes) for r in plan.capacity_needs.rows] == [("F", 330)]
    assert check_plan(short_instance(), plan).ok
    assert plan_from_proto(plan_to_proto(plan)) == plan
