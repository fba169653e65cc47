"""``load_plan`` reads the plan format and, as the same plan, the proto3 JSON of a
``matcher.v1.Plan`` (camelCase or proto field names, prefixed enums, int64 as
strings, zeros and empty lists left out)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from matcher.app.pipeline import plan as solve
from matcher.check import PlanFormatError, check_plan, load_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Move, Plan, Replan
from matcher.domain.validation import load_instance
from service.convert import plan_to_proto

INSTANCES = Path(__file__).resolve().parents[3] / "instances"


@pytest.fixture(scope="module", params=["tiny.json", "demo.json"])
def solved(request: pytest.FixtureRequest) -> tuple[str, Plan]:
    instance = load_instance(INSTANCES / request.param)
    params = SolveParams(time_limit_s=5, seed=1, workers=1, backups=True)
    return request.param, solve(instance, params)


@pytest.mark.parametrize("preserving_proto_field_name", [False, True])
def test_a_plan_written_as_proto3_json_reads_back_as_the_same_plan_and_checks_clean(
    solved: tuple[str, Plan], tmp_path: Path, preserving_proto_field_name: bool
) -> None:
    name, plan = solved
    path = tmp_path / "plan.json"
    path.write_text(
        json_format.MessageToJson(
            plan_to_proto(plan), preserving_proto_field_name=preserving_proto_field_name
        )
    )
    assert load_plan(path) == plan
    assert check_plan(load_instance(INSTANCES / name), load_plan(path)).violations == []


def test_a_re_plan_move_with_no_previous_factory_reads_back_as_none(
    solved: tuple[str, Plan], tmp_path: Path
) -> None:
    _, plan = solved
    replan = Replan(
        now_period=0,
        stability_cents_per_unit=0,
        events=["order_added X"],
        frozen_units=0,
        moves=[Move(order="X", from_factory=None, to_factory="F1", units=3)],
        previous_total_cents=0,
        total_delta_cents=0,
    )
    replanned = plan.model_copy(update={"replan": replan})
    path = tmp_path / "plan.json"
    path.write_text(json_format.MessageToJson(plan_to_proto(replanned)))
    move = json.loads(path.read_text())["replan"]["moves"][0]
    assert "fromFactory" not in move  # proto3 JSON leaves it out
    assert load_plan(path) == replanned


def test_a_plan_in_the_plan_format_reads_as_before(
    solved: tuple[str, Plan], tmp_path: Path
) -> None:
    _, plan = solved
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json())
    assert load_plan(path) == plan


def test_a_proto3_json_plan_with_an_unknown_enum_value_names_the_field(
    solved: tuple[str, Plan], tmp_path: Path
) -> None:
    _, plan = solved
    data = json.loads(json_format.MessageToJson(plan_to_proto(plan)))
    data["status"] = "SOLVE_STATUS_SPLENDID"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFormatError) as err:
        load_plan(path)
    assert [i.path for i in err.value.issues] == ["status"]


def test_a_file_that_is_not_json_is_still_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("{not json")
    with pytest.raises(PlanFormatError) as err:
        load_plan(path)
    assert len(err.value.issues) == 1 and str(path) in err.value.issues[0].message
