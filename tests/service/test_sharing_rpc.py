"""Replan and Recommend against a real server (worker processes) over a real channel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from matcher.cli import main as matcher_main
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from service.client import MatcherClient
from service.convert import plan_from_proto, plan_to_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.server import RunningServer
from tests.service.conftest import INSTANCES, tiny_json

FAST = {"time_limit_s": 2.0, "workers": 1, "seed": 0}


@pytest.fixture(scope="module")
def tiny_plan(server: RunningServer, tiny_instance: Instance) -> Plan:
    with MatcherClient(f"127.0.0.1:{server.port}") as client:
        return client.solve(tiny_instance, **FAST)


@pytest.fixture(scope="module")
def demo_plan(server: RunningServer, demo: Instance) -> Plan:
    with MatcherClient(f"127.0.0.1:{server.port}") as client:
        return client.solve(demo, time_limit_s=1.0, workers=1, seed=0, sharing=False)


def busiest_factory(plan: Plan) -> str:
    units: dict[str, int] = {}
    for a in plan.allocations:
        if a.operation == 0:
            units[a.factory] = units.get(a.factory, 0) + a.quantity
    return max(units, key=lambda f: units[f])


def new_order(order_id: str = "O9") -> dict[str, Any]:
    order: dict[str, Any] = dict(tiny_json()["orders"][2], id=order_id)
    return order


# ---------------------------------------------------------------------- Replan


def test_replan_moves_work_off_an_unavailable_factory(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    down = busiest_factory(tiny_plan)
    disruption = {
        "events": [
            {"type": "factory_unavailable", "factory": down, "from_period": 1, "to_period": 2}
        ]
    }
    response = client.replan_raw(tiny_instance, tiny_plan, disruption, **FAST)
    assert response.HasField("plan") and response.plan.HasField("replan")
    replanned = plan_from_proto(response.plan)
    assert replanned.replan is not None
    assert len(replanned.replan.events) == 1 and down in replanned.replan.events[0]
    at_down = [
        (a.order, p.period)
        for a in replanned.allocations
        if a.factory == down
        for p in a.periods
        if p.period in (1, 2) and p.quantity > 0
    ]
    assert at_down == []
    assert response.request_id and response.elapsed_s > 0


def test_replan_reports_every_invalid_disruption_field_with_its_path(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    disruption = {
        "frozen": ["O404"],
        "events": [
            {"type": "factory_unavailable", "factory": "F9", "from_period": 1, "to_period": 2},
            {"type": "order_cancelled", "order": "O1"},
        ],
    }
    with pytest.raises(grpc.RpcError) as err:
        client.replan_raw(tiny_instance, tiny_plan, disruption, **FAST)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == [
        ("disruption.events[0].factory_unavailable.factory", "unknown factory F9"),
        ("disruption.frozen[0].order", "unknown order O404"),
    ]
    assert "Traceback" not in (err.value.details() or "")


def test_replan_lists_problems_of_every_part_of_the_request_at_once(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    instance = tiny_json()
    instance["orders"][1]["due_period"] = -1
    previous = plan_to_proto(tiny_plan)
    previous.ClearField("status")
    disruption = pb.Disruption()
    disruption.events.add()  # no event type set
    request = pb.ReplanRequest(
        instance=client._instance(tiny_instance),
        previous=previous,
        disruption=disruption,
        params=pb.SolveParameters(assignment_solver="nope"),
    )
    request.instance.orders[1].due_period = -1
    with pytest.raises(grpc.RpcError) as err:
        client.stub.Replan(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [f for f, _ in field_violations(err.value)]
    assert fields == [
        "instance.orders[1].due_period",
        "previous.status",
        "disruption.events[0]",
        "params.assignment_solver",
    ]
    with pytest.raises(grpc.RpcError) as err:
        client.stub.Replan(pb.ReplanRequest(instance=client._instance(tiny_instance)))
    assert field_violations(err.value) == [("previous", "a plan is required")]


def test_replan_of_a_plan_that_is_not_of_the_instance_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    previous = plan_to_proto(tiny_plan)
    previous.allocations[0].factory = "F77"
    with pytest.raises(grpc.RpcError) as err:
        client.replan_raw(tiny_instance, previous, {}, **FAST)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == [
        ("previous.allocations[0].factory", "unknown factory F77")
    ]


def test_replan_engine_errors_about_the_disruption_carry_its_message_path(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    made = {
        a.order: sum(p.quantity for p in a.periods if p.period == 0)
        for a in tiny_plan.allocations
        if a.operation == 0
    }
    order = max(made, key=lambda o: made[o])
    assert made[order] > 1  # work done in period 0 that a quantity cut cannot undo
    disruption = {
        "now_period": 1,
        "events": [{"type": "order_changed", "order": order, "quantity": 1}],
    }
    with pytest.raises(grpc.RpcError) as err:  # found by replan() in the worker
        client.replan_raw(tiny_instance, tiny_plan, disruption, **FAST)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [f for f, _ in field_violations(err.value)]
    assert fields == ["disruption.events[0].order_changed.quantity"]


def test_replan_validate_only_mode_answers_without_a_plan(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    response = client.replan_raw(tiny_instance, tiny_plan, {}, mode="VALIDATE_ONLY")
    assert response.validated_only and not response.HasField("plan")


# ------------------------------------------------------------------- Recommend


def test_recommend_ranks_factories_by_total_cost(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    response = client.recommend_raw(tiny_instance, tiny_plan, new_order(), top_k=3)
    result = response.recommendations
    assert result.order == "O9"
    assert 0 < len(result.options) <= 3
    totals = [o.total_cents for o in result.options]
    assert totals == sorted(totals)
    assert [o.rank for o in result.options] == list(range(1, len(totals) + 1))
    assert response.request_id


def test_recommend_answers_within_a_second_on_the_demo(
    client: MatcherClient, demo: Instance, demo_plan: Plan
) -> None:
    order = demo.orders[0].model_copy(update={"id": "NEW-1"})
    response = client.recommend_raw(demo, demo_plan, order, timeout=10)
    assert response.elapsed_s < 1.0
    assert len(response.recommendations.options) <= 5  # top_k 0: the default, 5
    recommendations = client.recommend(demo, demo_plan, order, top_k=2)
    assert len(recommendations.options) <= 2


def test_recommend_reports_an_invalid_order_with_its_path(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    order = new_order()
    order["operations"] = [{"process": "cnc9"}]
    with pytest.raises(grpc.RpcError) as err:
        client.recommend_raw(tiny_instance, tiny_plan, order, top_k=-1)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [f for f, _ in field_violations(err.value)]
    assert fields == ["order.operations[0].process", "top_k"]


# ------------------------------------------------------------ matcher remote


def test_remote_replan_and_recommend_from_files(
    server: RunningServer, tiny_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = ["--address", f"127.0.0.1:{server.port}"]
    instance = str(INSTANCES / "tiny.json")
    previous = tmp_path / "plan.json"
    previous.write_text(tiny_plan.model_dump_json())
    events = tmp_path / "events.json"
    down = busiest_factory(tiny_plan)
    events.write_text(
        json.dumps(
            {
                "events": [
                    {
                        "type": "factory_unavailable",
                        "factory": down,
                        "from_period": 2,
                        "to_period": 2,
                    }
                ]
            }
        )
    )
    out = tmp_path / "replanned.json"
    fast = ["--time-limit", "2", "--workers", "1", "--seed", "0", "--stability", "5", "-q"]
    argv = ["remote", "replan", *address, instance, str(previous), str(events), "-o", str(out)]
    assert matcher_main([*argv, *fast]) == 0
    replanned = Plan.model_validate_json(out.read_text())
    assert replanned.replan is not None and replanned.replan.stability_cents_per_unit == 5

    order = tmp_path / "order.json"
    order.write_text(json.dumps(new_order()))
    capsys.readouterr()
    argv = ["remote", "recommend", *address, instance, str(previous), str(order)]
    assert matcher_main([*argv, "--top-k", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["order"] == "O9" and len(shown["options"]) <= 2

    events.write_text(json.dumps({"events": [{"type": "order_cancelled", "order": "O404"}]}))
    argv = ["remote", "replan", *address, instance, str(previous), str(events), "-q"]
    assert matcher_main(argv) == 2  # checked before sending, with the CLI's paths
    assert "events[0].order: unknown order O404" in capsys.readouterr().err
