"""Every RPC against a real server (worker processes, SQLite) over a real channel."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from matcher.domain.validation import InvalidInstanceError, parse_instance
from service.client import MatcherClient
from service.context import JsonFormatter, reset_request_id, set_request_id
from service.convert import instance_to_proto, plan_from_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.server import RunningServer
from tests.service.conftest import start, tiny_json

LONG = 120.0  # a time limit no test waits for: these solves are stopped or cancelled


def wait_for_state(client: MatcherClient, job_id: str, states: set[int], within: float) -> pb.Job:
    end = time.monotonic() + within
    while True:
        job = client.get(job_id, omit_plan=True)
        if job.state in states or time.monotonic() > end:
            return job
        time.sleep(0.05)


def test_solve_returns_the_same_plan_as_the_library(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    response = client.solve_raw(tiny_instance, time_limit_s=10, workers=1)
    local = plan(tiny_instance, SolveParams(time_limit_s=10, workers=1))
    remote = plan_from_proto(response.plan)
    assert remote.status == SolveStatus.OPTIMAL
    assert remote.costs == local.costs
    assert remote.allocations == local.allocations
    assert check_plan(tiny_instance, remote).ok
    assert response.request_id and response.elapsed_s > 0


def test_a_solve_without_workers_shares_the_cores_among_the_solve_processes(
    server: RunningServer, client: MatcherClient, tiny_instance: Instance
) -> None:
    from matcher.app.executor import cpus

    share = max(1, cpus() // server.settings.solve_workers)
    unset = client.solve(tiny_instance, time_limit_s=10)
    assert {s.workers for s in unset.stages if s.stage == "assignment"} == {share}
    chosen = client.solve(tiny_instance, time_limit_s=10, workers=3)
    assert {s.workers for s in chosen.stages if s.stage == "assignment"} == {3}


def test_validate_only_mode_answers_without_a_plan(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    request = pb.SolveRequest(
        instance=instance_to_proto(tiny_instance),
        params=pb.SolveParameters(mode=pb.SOLVE_MODE_VALIDATE_ONLY),
    )
    response = client.stub.Solve(request)
    assert response.validated_only and not response.HasField("plan")


def test_validate_counts_a_valid_instance(client: MatcherClient, demo: Instance) -> None:
    response = client.validate(demo)
    assert (response.valid, response.orders, response.factories) == (True, 50, 12)


def test_invalid_input_lists_every_violation_with_the_cli_messages(client: MatcherClient) -> None:
    data = tiny_json()
    data["orders"][1]["due_period"] = -1
    data["orders"][2]["operations"][0]["process"] = "cnc9"
    data["factories"][0]["credit"]["score"] = 101
    with pytest.raises(InvalidInstanceError) as cli:
        parse_instance(data)
    message = instance_to_proto(parse_instance(tiny_json()))
    message.orders[1].due_period = -1
    message.orders[2].operations[0].process = "cnc9"
    message.factories[0].credit.score = 101
    expected = [(f"instance.{i.path}", i.message) for i in cli.value.issues]
    assert len(expected) == 3
    for call in (
        lambda: client.stub.Validate(pb.ValidateRequest(instance=message)),
        lambda: client.stub.Solve(pb.SolveRequest(instance=message)),
        lambda: client.stub.SubmitJob(pb.SubmitJobRequest(instance=message)),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(err.value) == expected
        assert "Traceback" not in (err.value.details() or "")


def test_bad_parameters_are_field_violations(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.solve_raw(tiny_instance, assignment_solver="nope", routing_solver="hgs")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [f for f, _ in field_violations(err.value)]
    assert fields == ["params.assignment_solver", "params.routing_solver"]


def test_an_infeasible_problem_is_a_plan_not_an_error(client: MatcherClient) -> None:
    data = tiny_json()
    for order in data["orders"]:
        order["penalties"].pop("unserved_cents", None)  # every order mandatory
        order["quantity"] = 10_000
    response = client.solve_raw(parse_instance(data), time_limit_s=5, hard_mandatory=True)
    assert response.plan.status == pb.SOLVE_STATUS_INFEASIBLE
    assert response.plan.stages[0].notes  # says why


def test_solve_stops_before_the_client_deadline_with_the_best_plan(
    client: MatcherClient, demo: Instance
) -> None:
    start_time = time.monotonic()
    response = client.solve_raw(demo, timeout=2.0, time_limit_s=LONG)
    assert time.monotonic() - start_time < 2.0
    assert response.plan.status in (pb.SOLVE_STATUS_FEASIBLE, pb.SOLVE_STATUS_OPTIMAL)
    assert check_plan(demo, plan_from_proto(response.plan)).ok


def test_job_is_watched_from_queue_to_plan(client: MatcherClient, tiny_instance: Instance) -> None:
    job = client.submit(tiny_instance, time_limit_s=5, workers=1)
    assert job.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED)
    events = list(client.watch(job.job_id, timeout=60))
    assert events[-1].type == pb.JOB_EVENT_TYPE_FINISHED
    assert [e for e in events if e.type == pb.JOB_EVENT_TYPE_FINISHED] == events[-1:]
    final = events[-1].job
    assert final.state == pb.JOB_STATE_SUCCEEDED
    assert final.plan.status == pb.SOLVE_STATUS_OPTIMAL
    assert final.attempts == 1
    assert final.created_at.seconds > 0 and final.finished_at.seconds > 0
    got = client.get(job.job_id)
    assert got.plan == final.plan


def test_watch_streams_improving_incumbents_about_once_a_second(
    client: MatcherClient, demo: Instance
) -> None:
    job = client.submit(demo, time_limit_s=4)
    events = list(client.watch(job.job_id, timeout=60))
    progress = [e for e in events if e.type == pb.JOB_EVENT_TYPE_PROGRESS]
    assert progress, [e.type for e in events]
    by_stage: dict[str, list[float]] = {}
    for e in progress:  # each stage has its own objective
        by_stage.setdefault(e.job.progress.stage, []).append(e.job.progress.objective)
    for objectives in by_stage.values():
        assert objectives == sorted(objectives, reverse=True)  # incumbents only improve
    assert len(progress) <= 4 / 1.0 + 2  # throttled to about one a second
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED


def test_idempotency_key_returns_the_same_job_or_conflicts(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    first = client.submit(tiny_instance, idempotency_key="order-batch-1", time_limit_s=2)
    again = client.submit(tiny_instance, idempotency_key="order-batch-1", time_limit_s=2)
    assert again.job_id == first.job_id
    with pytest.raises(grpc.RpcError) as err:
        client.submit(tiny_instance, idempotency_key="order-batch-1", time_limit_s=3)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_unknown_job_is_not_found(client: MatcherClient) -> None:
    for call in (client.get, client.cancel, lambda j: list(client.watch(j))):
        with pytest.raises(grpc.RpcError) as err:
            call("no-such-job")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_cancel_stops_a_running_job_and_keeps_its_best_plan(
    client: MatcherClient, demo: Instance
) -> None:
    job = client.submit(demo, time_limit_s=LONG)
    for event in client.watch(job.job_id, timeout=60):
        if event.job.progress.HasField("objective"):
            break  # an incumbent exists
    cancelled = client.cancel(job.job_id)
    assert cancelled.state == pb.JOB_STATE_CANCELLED, cancelled.error
    assert cancelled.cancel_requested
    assert cancelled.plan.status == pb.SOLVE_STATUS_FEASIBLE
    assert check_plan(demo, plan_from_proto(cancelled.plan)).ok


def test_list_jobs_filters_by_state_and_pages(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    ids = [client.submit(tiny_instance, time_limit_s=2).job_id for _ in range(3)]
    for job_id in ids:
        wait_for_state(client, job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
    seen: list[str] = []
    token = ""
    while True:
        page = client.list(states=[pb.JOB_STATE_SUCCEEDED], page_size=2, page_token=token)
        assert len(page.jobs) <= 2
        assert all(not j.HasField("plan") for j in page.jobs)
        seen += [j.job_id for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen))


def test_a_crashing_solver_fails_its_job_and_the_server_carries_on(
    server: RunningServer, client: MatcherClient, demo: Instance, tiny_instance: Instance
) -> None:
    import os
    import signal

    job = client.submit(demo, time_limit_s=LONG)
    wait_for_state(client, job.job_id, {pb.JOB_STATE_RUNNING}, 60)
    pid = server.jobs.pool.running_pid(job.job_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    failed = wait_for_state(client, job.job_id, {pb.JOB_STATE_FAILED}, 30)
    assert failed.state == pb.JOB_STATE_FAILED
    assert "SIGKILL" in failed.error
    after = client.submit(tiny_instance, time_limit_s=2)  # a fresh worker takes it
    done = wait_for_state(client, after.job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
    assert done.state == pb.JOB_STATE_SUCCEEDED


def test_concurrent_clients_all_get_their_plan(
    server: RunningServer, tiny_instance: Instance
) -> None:
    def call(_: int) -> int:
        with MatcherClient(f"127.0.0.1:{server.port}") as c:
            return c.solve_raw(tiny_instance, time_limit_s=10, workers=1).plan.costs.objective

    with ThreadPoolExecutor(8) as pool:
        objectives = list(pool.map(call, range(16)))
    assert len(set(objectives)) == 1


def test_health_and_reflection_are_registered(server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "matcher.v1.Matcher"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        reply = next(stub.ServerReflectionInfo(iter([request])))
        names = {s.name for s in reply.list_services_response.service}
        assert "matcher.v1.Matcher" in names


# ------------------------------------------------------------- configured servers


def test_token_authentication(tmp_path: Path, tiny_instance: Instance) -> None:
    running = start(tmp_path, token="s3cret", solve_workers=1)
    try:
        address = f"127.0.0.1:{running.port}"
        with MatcherClient(address) as anonymous, pytest.raises(grpc.RpcError) as err:
            anonymous.validate(tiny_instance)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with MatcherClient(address, token="wrong") as wrong, pytest.raises(grpc.RpcError) as err:
            wrong.validate(tiny_instance)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with MatcherClient(address, token="s3cret") as good:
            assert good.validate(tiny_instance).valid
        with grpc.insecure_channel(address) as channel:  # health stays open
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        running.stop(0)


def test_limits_refuse_with_resource_exhausted(
    tmp_path: Path, demo: Instance, tiny_instance: Instance
) -> None:
    running = start(tmp_path, max_orders=10, max_queued_jobs=1, solve_workers=1)
    try:
        with MatcherClient(f"127.0.0.1:{running.port}") as client:
            with pytest.raises(grpc.RpcError) as err:
                client.solve_raw(demo)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_orders" in (err.value.details() or "")
            running_job = client.submit(tiny_instance, time_limit_s=LONG, workers=1)
            wait_for_state(client, running_job.job_id, {pb.JOB_STATE_RUNNING}, 60)
            queued = client.submit(tiny_instance, time_limit_s=1)
            with pytest.raises(grpc.RpcError) as err:
                client.submit(tiny_instance, time_limit_s=1)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert client.cancel(queued.job_id).state == pb.JOB_STATE_CANCELLED
            client.cancel(running_job.job_id)
    finally:
        running.stop(0)


def test_metrics_are_exported(tmp_path: Path, tiny_instance: Instance) -> None:
    running = start(tmp_path, metrics_port=0, solve_workers=1)
    try:
        with MatcherClient(f"127.0.0.1:{running.port}") as client:
            client.solve_raw(tiny_instance, time_limit_s=5)
        url = f"http://127.0.0.1:{running.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            text = reply.read().decode()
        assert 'matcher_requests_total{code="OK",method="Solve"}' in text
        assert "matcher_solve_seconds_count" in text
        assert "matcher_jobs_queued" in text
        for phase in ("decode", "validate", "wait", "solve", "encode", "serialize"):
            assert f'matcher_phase_seconds_count{{method="Solve",phase="{phase}"}}' in text
    finally:
        running.stop(0)


def test_structured_log_lines_carry_the_request_id() -> None:
    token = set_request_id("abc123")
    try:
        record = logging.LogRecord(
            "matcher.service", logging.ERROR, __file__, 1, "boom", None, None
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        reset_request_id(token)
    assert (line["request_id"], line["message"], line["level"]) == ("abc123", "boom", "ERROR")


def test_cancelling_a_queued_job_ends_it_at_once(
    client: MatcherClient, demo: Instance, tiny_instance: Instance
) -> None:
    busy = client.submit(demo, time_limit_s=LONG)  # the one job worker is taken
    wait_for_state(client, busy.job_id, {pb.JOB_STATE_RUNNING}, 60)
    waiting = client.submit(tiny_instance, time_limit_s=5)
    assert client.get(waiting.job_id).state == pb.JOB_STATE_QUEUED
    cancelled = client.cancel(waiting.job_id)
    assert cancelled.state == pb.JOB_STATE_CANCELLED
    assert not cancelled.HasField("plan") and "before it started" in cancelled.error
    assert client.get(busy.job_id).state == pb.JOB_STATE_RUNNING
    assert client.cancel(busy.job_id).state == pb.JOB_STATE_CANCELLED
