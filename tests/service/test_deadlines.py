"""Deadlines, load shedding and cancels at scale, against a real server on port 0."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_status import rpc_status

from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams, StopSignal
from matcher.generate import generate
from service.client import MatcherClient
from service.convert import instance_to_proto
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.server import RunningServer
from solvers.assignment.problem import CompileStoppedError, build_problem
from tests.service.conftest import start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(tmp_path_factory.mktemp("deadlines"), solve_workers=1)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def thousand() -> pb.Instance:
    return instance_to_proto(generate(1000, 100, 28, seed=1))


def test_a_two_second_deadline_on_a_thousand_orders_returns_a_plan_in_time(
    busy_server: RunningServer, thousand: pb.Instance
) -> None:
    with MatcherClient(f"127.0.0.1:{busy_server.port}") as client:
        client.solve_raw(generate(20, 5, 7, seed=1), timeout=30, time_limit_s=1)  # warm
        started = time.perf_counter()
        reply = client.solve_raw(thousand, timeout=3.0, time_limit_s=60)
        assert time.perf_counter() - started < 3.0
    assert reply.plan.allocations
    assert [s.stage for s in reply.plan.stages][:1] == ["assignment"]


def test_a_deadline_too_short_for_any_plan_is_refused_at_once(
    busy_server: RunningServer, thousand: pb.Instance
) -> None:
    with MatcherClient(f"127.0.0.1:{busy_server.port}") as client:
        started = time.perf_counter()
        with pytest.raises(grpc.RpcError) as err:
            client.solve_raw(thousand, timeout=0.5, time_limit_s=60)
        assert time.perf_counter() - started < 0.5
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_a_solve_that_cannot_start_before_its_deadline_is_shed_with_a_retry_hint(
    busy_server: RunningServer, thousand: pb.Instance
) -> None:
    address = f"127.0.0.1:{busy_server.port}"
    long_call = threading.Thread(
        target=lambda: _quietly(address, thousand, timeout=6.0), daemon=True
    )
    long_call.start()
    time.sleep(1.5)  # the one worker is busy with it
    small = instance_to_proto(generate(30, 10, 14, seed=3))
    with MatcherClient(address) as client, pytest.raises(grpc.RpcError) as err:
        client.solve_raw(small, timeout=1.0, time_limit_s=60)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(err.value)
    assert status is not None and status.details, "a retry hint"
    long_call.join(timeout=10)


def _quietly(address: str, instance: pb.Instance, timeout: float) -> None:
    with MatcherClient(address) as client, contextlib.suppress(grpc.RpcError):
        client.solve_raw(instance, timeout=timeout, time_limit_s=60)


def test_the_worker_is_free_soon_after_a_deadline_stops_its_solve(
    busy_server: RunningServer, thousand: pb.Instance
) -> None:
    address = f"127.0.0.1:{busy_server.port}"
    _quietly(address, thousand, timeout=2.0)
    small = instance_to_proto(generate(30, 10, 14, seed=3))
    time.sleep(0.5)
    with MatcherClient(address) as client:
        reply = client.solve_raw(small, timeout=5.0, time_limit_s=1)
    assert reply.plan.allocations


def test_a_job_of_three_thousand_orders_is_cancelled_within_about_a_second(
    server: RunningServer,
) -> None:
    instance = instance_to_proto(generate(3000, 200, 28, seed=2))
    with MatcherClient(f"127.0.0.1:{server.port}") as client:
        job = client.stub.SubmitJob(
            pb.SubmitJobRequest(instance=instance, params=pb.SolveParameters(time_limit_s=120)),
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while client.stub.GetJob(pb.GetJobRequest(job_id=job.job_id, omit_plan=True)).state != (
            pb.JOB_STATE_RUNNING
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # inside compilation or the first plan
        started = time.perf_counter()
        ended = client.stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), timeout=30)
        latency = time.perf_counter() - started
    assert ended.state == pb.JOB_STATE_CANCELLED
    assert latency < 2.0


def test_compilation_stops_between_orders_when_told_to() -> None:
    stop = StopSignal()
    stop.set("cancelled")
    with pytest.raises(CompileStoppedError):
        build_problem(generate(50, 10, 7, seed=1), stop=stop)


def test_a_wall_clock_limit_bounds_every_stage_of_a_thousand_orders() -> None:
    instance = generate(1000, 100, 28, seed=1)
    started = time.perf_counter()
    result = plan(instance, SolveParams(time_limit_s=1.0, workers=2))
    assert time.perf_counter() - started < 2.5  # was 4 s: routing and sharing overran
    assert result.allocations
