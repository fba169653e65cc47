"""Explain against a real server over a real channel, on the hand-checked instance of
tests/explain_data.py (docs/explain.md)."""

from __future__ import annotations

import grpc
import pytest

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
