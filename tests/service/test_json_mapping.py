"""The JSON instance format is proto3 JSON of ``matcher.v1.Instance``: an integrator
with an instance file and any gRPC tool can send it as it is, and a plan the server
answers, printed as proto3 JSON, is read back by ``matcher check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from matcher.check import check_files, load_plan
from matcher.domain.validation import load_instance
from matcher.generate.generator import generate, instance_json
from service.client import MatcherClient
from service.convert import instance_from_proto, instance_to_proto
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import INSTANCES

FILES = sorted(p.name for p in INSTANCES.glob("*.json"))


@pytest.mark.parametrize("name", FILES)
def test_every_shipped_instance_file_parses_as_proto3_json_to_the_same_instance(
    name: str,
) -> None:
    message = json_format.Parse((INSTANCES / name).read_text(), pb.Instance())
    assert instance_from_proto(message) == load_instance(INSTANCES / name)


def test_a_generated_instance_file_parses_as_proto3_json_to_the_same_instance(
    tmp_path: Path,
) -> None:
    instance = generate(40, 6, 8, seed=3, by_operation=0.3)
    path = tmp_path / "generated.json"
    path.write_text(instance_json(instance))
    message = json_format.Parse(path.read_text(), pb.Instance())
    assert instance_from_proto(message) == load_instance(path)


def test_the_lower_case_enum_spellings_are_aliases_and_proto3_json_prints_the_prefixed_names() -> (
    None
):
    text = json.dumps({"type": "incremental", "tiers": []})
    schedule = json_format.Parse(text, pb.PriceSchedule())
    assert schedule.type == pb.SCHEDULE_TYPE_INCREMENTAL
    assert json_format.MessageToDict(schedule)["type"] == "SCHEDULE_TYPE_INCREMENTAL"
    material = json_format.Parse('{"id": "m", "sourcing": "provided"}', pb.Material())
    assert material.sourcing == pb.MATERIAL_SOURCING_PROVIDED
    printed = json_format.MessageToJson(instance_to_proto(load_instance(INSTANCES / "demo.json")))
    assert '"all_units"' not in printed and '"provided"' not in printed


@pytest.mark.parametrize("name", ["tiny.json", "demo.json"])
def test_an_instance_file_sent_as_proto3_json_is_solved_and_its_plan_as_proto3_json_checks_clean(
    client: MatcherClient, tmp_path: Path, name: str
) -> None:
    # What `grpcurl -d @ ... matcher.v1.Matcher/Solve` does with the file in "instance".
    text = (
        '{"instance": '
        + (INSTANCES / name).read_text()
        + ', "params": {"timeLimitS": 5, "seed": "1", "workers": 1}}'
    )
    request = json_format.Parse(text, pb.SolveRequest())
    response = client.stub.Solve(request, timeout=60)
    assert response.plan.status in (pb.SOLVE_STATUS_OPTIMAL, pb.SOLVE_STATUS_FEASIBLE)
    for options in ({}, {"preserving_proto_field_name": True}):
        path = tmp_path / "plan.json"
        path.write_text(json_format.MessageToJson(response.plan, **options))  # type: ignore[arg-type]
        report = check_files(INSTANCES / name, path)
        assert report.violations == []
        assert load_plan(path).allocations
