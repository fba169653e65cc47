"""Explain against a real server over a real channel, on the hand-checked instance of
tests/explain_data.py (docs/explain.md)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from matcher.cli import main
from matcher.domain.plan import BlockingKind, Plan, ReasonCode, SolveStatus
from service.client import MatcherClient
from service.convert import plan_from_proto, plan_to_proto
from service.errors import field_violations
from service.server import RunningServer
from tests.explain_data import explain_instance


@pytest.fixture(scope="module")
def planned(server: RunningServer) -> Plan:
    with MatcherClient(f"127.0.0.1:{server.port}") as client:
        return client.solve(explain_instance(), time_limit_s=3.0, workers=1, seed=0, sharing=False)


def test_explain_names_the_holder_and_the_resolved_change(
    client: MatcherClient, planned: Plan
) -> None:
    response = client.explain_raw(explain_instance(), planned, "X", time_limit_s=2, seed=0)
    assert response.request_id
    result = client.explain(explain_instance(), planned, "X", time_limit_s=2, seed=0)
    fa = result.factories[0]
    assert fa.factory == "FA" and fa.blocking is not None
    assert fa.blocking.kind == BlockingKind.CAPACITY and fa.blocking.holders == ["Y"]
    assert fa.move is not None and fa.move.status == SolveStatus.OPTIMAL
    assert fa.move.objective_delta == 46_000
    reasons = {f.factory: f.reason for f in result.factories if not f.eligible}
    assert reasons["FC"] == ReasonCode.CREDIT_BELOW_MIN


def test_explain_reports_an_unknown_order_and_a_bad_limit_with_their_paths(
    client: MatcherClient, planned: Plan
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.explain_raw(explain_instance(), planned, "nope", time_limit_s=-1)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err.value)] == ["order", "time_limit_s"]


def test_a_plan_with_explanations_round_trips_through_proto(
    client: MatcherClient, planned: Plan
) -> None:
    result = client.explain(explain_instance(), planned, "X", time_limit_s=1, seed=0)
    explained = planned.model_copy(update={"explanations": [result]})
    assert plan_from_proto(plan_to_proto(explained)) == explained
    assert plan_from_proto(plan_to_proto(planned)).explanations is None


def test_remote_explain_prints_what_the_local_command_prints(
    server: RunningServer,
    planned: Plan,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    instance_file = tmp_path / "instance.json"
    instance_file.write_text(explain_instance().model_dump_json(exclude_none=True))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(planned.model_dump_json())
    files = [str(instance_file), str(plan_file), "X", "--json", "--time-limit", "1", "--seed", "0"]

    remote = main(["remote", "explain", "--address", f"127.0.0.1:{server.port}", *files])
    remote_out = json.loads(capsys.readouterr().out)
    local = main(["explain", *files])
    local_out = json.loads(capsys.readouterr().out)

    assert remote == local == 0
    for out in (remote_out, local_out):  # a timing, not a result
        out.pop("wall_time_s", None)
    assert remote_out == local_out
    assert remote_out["factories"][0]["move"]["objective_delta"] == 46_000
