"""Jobs on Ray (``executor="ray"``): a real server on port 0 whose job workers are actors
on a local Ray this module starts (2 CPUs, no dashboard). A job succeeds with a checked
plan and streams its progress, a cancel keeps the best plan so far, a killed Ray worker
fails its job and is replaced, a shutdown re-queues the running job for the next start."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.check import check_plan
from matcher.domain.instance import Instance
from service.client import MatcherClient
from service.convert import plan_from_proto
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.ray_workers import RayWorkerPool
from service.server import RunningServer
from tests.service.conftest import start
from tests.service.ray_cli import cli_cluster
from tests.service.test_server import LONG, wait_for_state

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

if os.environ.get("MATCHER_RAY_TESTS") != "isolated":
    pytest.skip(
        "run in a process of their own by tests/service/test_ray_isolated.py",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray for this module (2 CPUs, started by Ray's CLI: tests/service/ray_cli.py),
    joined by this process and stopped after it; the servers use it as it is."""
    with cli_cluster(2) as address:
        ray.init(address=address, log_to_driver=False, logging_level="error")
        try:
            yield
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def ray_server(
    local_ray: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start(tmp_path_factory.mktemp("ray"), executor="ray", workers=1, solve_workers=1)
    try:
        yield running
    finally:
        running.stop(0)


@pytest.fixture()
def client(ray_server: RunningServer) -> Iterator[MatcherClient]:
    with MatcherClient(f"127.0.0.1:{ray_server.port}") as c:
        yield c


def test_the_job_pool_is_ray_actors_and_unary_solves_stay_local(
    ray_server: RunningServer,
) -> None:
    assert isinstance(ray_server.jobs.pool, RayWorkerPool)
    actor_pids = ray_server.jobs.pool.pids()
    assert len(actor_pids) == 1
    assert not set(actor_pids) & set(ray_server.solve_pool.pids())
    assert os.getpid() not in {_parent(pid) for pid in actor_pids}  # Ray's raylet owns them


def _parent(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[1])


def test_a_job_on_ray_succeeds_with_a_checked_plan_and_streams_its_progress(
    client: MatcherClient, demo: Instance
) -> None:
    job = client.submit(demo, time_limit_s=3, workers=1)
    events = list(client.watch(job.job_id, timeout=60))
    progress = [e for e in events if e.type == pb.JOB_EVENT_TYPE_PROGRESS]
    assert progress, [e.type for e in events]
    assert len(progress) <= 3 / 1.0 + 2  # throttled to about one a second, as locally
    final = events[-1].job
    assert events[-1].type == pb.JOB_EVENT_TYPE_FINISHED
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    assert final.attempts == 1 and final.progress.improvements >= len(progress)
    assert check_plan(demo, plan_from_proto(client.get(job.job_id).plan)).ok


def test_cancelling_a_job_on_ray_keeps_its_best_plan(client: MatcherClient, demo: Instance) -> None:
    job = client.submit(demo, time_limit_s=LONG, workers=1)
    for event in client.watch(job.job_id, timeout=60):
        if event.job.progress.HasField("objective"):
            break
    began = time.monotonic()
    cancelled = client.cancel(job.job_id)
    assert cancelled.state == pb.JOB_STATE_CANCELLED, cancelled.error
    assert time.monotonic() - began < 5
    assert cancelled.plan.status == pb.SOLVE_STATUS_FEASIBLE
    assert check_plan(demo, plan_from_proto(cancelled.plan)).ok


def test_a_killed_ray_worker_fails_its_job_and_the_next_job_runs(
    ray_server: RunningServer, client: MatcherClient, demo: Instance, tiny_instance: Instance
) -> None:
    job = client.submit(demo, time_limit_s=LONG, workers=1)
    wait_for_state(client, job.job_id, {pb.JOB_STATE_RUNNING}, 60)
    pid = ray_server.jobs.pool.running_pid(job.job_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    failed = wait_for_state(client, job.job_id, {pb.JOB_STATE_FAILED}, 30)
    assert failed.state == pb.JOB_STATE_FAILED
    assert f"the Ray worker process {pid} on " in failed.error
    assert "died while solving (ActorDiedError" in failed.error
    after = client.submit(tiny_instance, time_limit_s=2, workers=1)  # a new actor takes it
    done = wait_for_state(client, after.job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error
    assert ray_server.jobs.pool.pids() and pid not in ray_server.jobs.pool.pids()


def test_a_shutdown_requeues_the_running_job_and_the_next_start_finishes_it(
    local_ray: None, tmp_path: Path, demo: Instance
) -> None:
    first = start(tmp_path, executor="ray", workers=1, solve_workers=1)
    try:
        with MatcherClient(f"127.0.0.1:{first.port}") as client:
            job = client.submit(demo, time_limit_s=2, workers=1)
            wait_for_state(client, job.job_id, {pb.JOB_STATE_RUNNING}, 60)
        actor_pids = first.jobs.pool.pids()
    finally:
        first.stop(0)
    assert ray.is_initialized()  # a Ray the server did not start is left running
    gone_by = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in actor_pids) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{p}").exists() for p in actor_pids), "the actor outlived it"
    second = start(tmp_path, executor="ray", workers=1, solve_workers=1)
    try:
        with MatcherClient(f"127.0.0.1:{second.port}") as client:
            requeued = client.get(job.job_id, omit_plan=True)
            assert "re-queued: the server shut down" in requeued.error
            final = wait_for_state(client, job.job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
            assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
            assert final.attempts == 2
    finally:
        second.stop(0)
