"""Scenario specs: every problem with its path and nothing solved; each kind of change
applied to a variant; a sweep compared with the base plan."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from matcher.app.executor import LocalExecutor
from matcher.batch.scenarios import (
    COMPARISON_COLUMNS,
    ScenarioSpec,
    SpecError,
    load_spec,
    run_scenarios,
    variant,
)
from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance
from tests.conftest import INSTANCES
from tests.matcher.batch.conftest import FAST


def _spec(tmp_path: Path, scenarios: list[dict[str, Any]]) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"scenarios": scenarios}))
    return path


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "NEW",
        "buyer": "B9",
        "operations": [{"process": "sewing"}],
        "quantity": 20,
        "due_period": 2,
        "delivery": {"lat": 31.2, "lon": 121.5},
        "penalties": {"unserved_cents": 100000},
    }
    return {**order, **changes}


def _paths(exc: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [issue.path for issue in exc.value.issues]


def test_a_spec_with_bad_fields_reports_every_problem_with_its_path(
    tiny: Instance, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        [
            {"name": "a", "changes": [{"kind": "capacity", "percent": "lots"}]},
            {"name": "b", "changes": [{"kind": "strike", "factory": "F1"}]},
            {"name": "c", "changes": [{"kind": "outage", "factory": "F1", "from_period": 2}]},
            {"name": "d", "changes": [{"kind": "demand", "factor": 2, "colour": "red"}]},
        ],
    )
    with pytest.raises(SpecError) as exc:
        load_spec(spec, tiny)
    assert _paths(exc) == [
        "scenarios[0].changes[0].capacity.percent",
        "scenarios[1].changes[0]",
        "scenarios[2].changes[0].outage.to_period",
        "scenarios[3].changes[0].demand.colour",
    ]
    assert "does not match any of the expected tags" in exc.value.issues[1].message


def test_a_spec_naming_what_the_instance_lacks_reports_each_reference(
    tiny: Instance, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        [
            {"name": "x", "changes": [{"kind": "capacity", "factory": "F9", "percent": 10}]},
            {
                "name": "X",
                "changes": [{"kind": "capacity", "resource_group": "oven", "percent": 5}],
            },
            {"name": "base", "changes": [{"kind": "demand", "buyer": "B7", "factor": 2}]},
            {
                "name": "y",
                "changes": [
                    {"kind": "outage", "factory": "F1", "from_period": 1, "to_period": 3},
                    {"kind": "supplier_prices", "supplier": "S1", "factor": 1.1},
                    {"kind": "demand", "process": "knitting", "factor": 1.1},
                ],
            },
        ],
    )
    with pytest.raises(SpecError) as exc:
        load_spec(spec, tiny)
    issues = {i.path: i.message for i in exc.value.issues}
    assert issues == {
        "scenarios[0].changes[0].factory": "unknown factory 'F9'",
        "scenarios[1].name": "'X' names the same file as scenarios[0]",
        "scenarios[1].changes[0].resource_group": "no resource group 'oven'",
        "scenarios[2].name": "'base' names the same file as the base plan",
        "scenarios[2].changes[0].buyer": "no order of buyer 'B7'",
        "scenarios[3].changes[0].to_period": "3 is beyond the horizon 0..2",
        "scenarios[3].changes[1].supplier": "unknown supplier 'S1'",
        "scenarios[3].changes[2].process": "unknown process 'knitting'",
    }


def test_a_new_order_that_is_invalid_is_reported_at_its_place_in_the_spec(
    tiny: Instance, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        [
            {"name": "bad due", "changes": [{"kind": "new_order", "order": _order(due_period=-1)}]},
            {
                "name": "bad process",
                "changes": [
                    {
                        "kind": "new_order",
                        "order": _order(id="O1", operations=[{"process": "weaving"}]),
                    }
                ],
            },
        ],
    )
    with pytest.raises(SpecError) as exc:
        load_spec(spec, tiny)
    issues = {i.path: i.message for i in exc.value.issues}
    assert issues["scenarios[0].changes[0].order.due_period"].startswith(
        "Input should be greater than or equal to 0"
    )
    assert "scenarios[1].changes[0].order.operations[0].process" in issues
    assert any(path.startswith("scenarios[1]") and "O1" in m for path, m in issues.items())


def test_a_missing_or_malformed_spec_file_is_a_spec_error(tiny: Instance, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="1 problem"):
        load_spec(tmp_path / "none.json", tiny)
    (tmp_path / "bad.json").write_text("[1, 2")
    with pytest.raises(SpecError) as exc:
        load_spec(tmp_path / "bad.json", tiny)
    assert "invalid JSON" in exc.value.issues[0].message


@pytest.fixture(scope="module")
def demo() -> Instance:
    return load_instance(INSTANCES / "demo.json")


def _scenario(*changes: dict[str, Any]) -> Any:
    return ScenarioSpec.model_validate({"scenarios": [{"name": "s", "changes": list(changes)}]})


def test_each_kind_of_change_makes_the_variant_it_says(demo: Instance) -> None:
    def build(*changes: dict[str, Any]) -> Instance:
        return variant(demo, _scenario(*changes).scenarios[0], "scenarios[0]")

    f5 = next(f for f in demo.factories if f.id == "F005")
    more = build({"kind": "capacity", "factory": "F005", "resource_group": "line2", "percent": 50})
    g = {r.id: r for f in more.factories if f.id == "F005" for r in f.resources}
    before = {r.id: r for r in f5.resources}
    assert g["line2"].available_minutes == [
        round(m * 1.5) for m in before["line2"].available_minutes
    ]
    assert g["line1"] == before["line1"] and more.name == f"{demo.name}+s"

    out = build({"kind": "outage", "factory": "F003", "from_period": 2, "to_period": 4})
    f3 = next(f for f in out.factories if f.id == "F003")
    assert all(r.available_minutes[2:5] == [0, 0, 0] for r in f3.resources)
    assert all(r.available_minutes[5] > 0 for r in f3.resources if r.available_minutes[5])

    up = build({"kind": "demand", "buyer": "B002", "factor": 1.5})
    for old, new in zip(demo.orders, up.orders, strict=True):
        expected = max(1, round(old.quantity * 1.5)) if old.buyer == "B002" else old.quantity
        assert new.quantity == expected

    down = build({"kind": "demand", "factor": 0.01})
    assert all(o.split.min_quantity <= o.quantity for o in down.orders)

    dear = build({"kind": "supplier_prices", "supplier": "S004", "material": "abs", "factor": 2})
    offers = {(s.id, o.material): o for s in dear.suppliers for o in s.offers}
    was = {(s.id, o.material): o for s in demo.suppliers for o in s.offers}
    assert [t.unit_price_cents for t in offers["S004", "abs"].price.tiers] == [
        round(2 * t.unit_price_cents) for t in was["S004", "abs"].price.tiers
    ]
    assert offers["S004", "pp"] == was["S004", "pp"]

    added = build({"kind": "new_order", "order": _order(buyer="B001")})
    assert [o.id for o in added.orders][-1] == "NEW" and len(added.orders) == 51


def test_the_shipped_demo_spec_is_valid_for_the_demo(demo: Instance) -> None:
    spec, variants = load_spec(INSTANCES / "scenarios" / "demo.json", demo)
    assert len(spec.scenarios) == len(variants) == 10


def test_a_sweep_compares_each_scenario_with_the_base_plan(tiny: Instance, tmp_path: Path) -> None:
    spec_path = _spec(
        tmp_path,
        [
            {
                "name": "F1 out",
                "changes": [{"kind": "outage", "factory": "F1", "from_period": 0, "to_period": 2}],
            },
            {"name": "B1 doubles", "changes": [{"kind": "demand", "buyer": "B1", "factor": 2}]},
        ],
    )
    spec, variants = load_spec(spec_path, tiny)
    out = tmp_path / "out"
    with LocalExecutor(jobs=2) as local:
        result = run_scenarios(tiny, spec, variants, out, FAST, local)
    assert result.ok and result.base.scenario == "base" and result.base.cost_deltas is None
    f1_out, doubled = result.scenarios
    base_served = {
        a["order"]
        for a in json.loads((out / "base.plan.json").read_text())["allocations"]
        if a["factory"] == "F1"
    }
    assert f1_out.changes == "F1 out 0-2" and f1_out.figures is not None
    assert f1_out.figures.check_ok
    moved_or_dropped = set(f1_out.orders_changed_factory) | set(f1_out.newly_unserved)
    assert moved_or_dropped == base_served
    assert f1_out.cost_deltas is not None and result.base.figures is not None
    assert f1_out.cost_deltas["total"] == (
        f1_out.figures.costs["total"] - result.base.figures.costs["total"]
    )
    assert doubled.changes == "demand x2 (B1)" and doubled.figures is not None
    assert sorted(p.name for p in out.glob("*.plan.json")) == [
        "b1-doubles.plan.json",
        "base.plan.json",
        "f1-out.plan.json",
    ]
    with (out / "comparison.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COMPARISON_COLUMNS)
    assert [r["scenario"] for r in rows] == ["base", "F1 out", "B1 doubles"]
    assert rows[1]["orders_changed_factory"] == str(len(f1_out.orders_changed_factory))
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["scenarios"][0]["orders_changed_factory"] == f1_out.orders_changed_factory
