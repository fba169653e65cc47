"""``matcher serve --executor ray`` as a real process: it starts its own local Ray, runs a
job on it and stops that Ray on SIGTERM; an unreachable ``--ray-address`` is an error
within seconds (exit 2), never a hang; a server joined to a (simulated two-node) cluster
runs its jobs there and leaves the cluster running when it stops."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.check import check_plan
from matcher.domain.instance import Instance
from service.client import MatcherClient
from service.convert import plan_from_proto
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import start
from tests.service.ray_cli import cli_cluster
from tests.service.test_kill_loop import alive, descendants
from tests.service.test_process import MATCHER, Served
from tests.service.test_server import wait_for_state

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

if os.environ.get("MATCHER_RAY_TESTS") != "isolated":
    pytest.skip(
        "run in a process of their own by tests/service/test_ray_isolated.py",
        allow_module_level=True,
    )


def test_serve_on_an_unreachable_ray_address_exits_2_within_seconds(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    began = time.monotonic()
    done = subprocess.run(
        [
            *(str(MATCHER), "serve", "--port", "0", "--db", str(tmp_path / "jobs.sqlite3")),
            *("--executor", "ray", "--ray-address", "127.0.0.1:1"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "no Ray cluster reachable at 127.0.0.1:1" in done.stderr
    assert not done.stdout  # never listened
    assert time.monotonic() - began < 10


def test_a_ray_address_without_executor_ray_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env["MATCHER_RAY_ADDRESS"] = "127.0.0.1:6379"
    done = subprocess.run(
        [str(MATCHER), "serve", "--port", "0", "--db", str(tmp_path / "jobs.sqlite3")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--ray-address / MATCHER_RAY_ADDRESS" in done.stderr
    assert "needs --executor ray" in done.stderr


def test_serve_starts_its_own_ray_runs_a_job_and_stops_that_ray(
    tmp_path: Path, tiny_instance: Instance
) -> None:
    served = Served(tmp_path / "jobs.sqlite3", "--executor", "ray", "--workers", "1")
    try:
        with MatcherClient(served.address) as client:
            job = client.submit(tiny_instance, time_limit_s=2, workers=1)
            final = wait_for_state(client, job.job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
            assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
            assert check_plan(tiny_instance, plan_from_proto(client.get(job.job_id).plan)).ok
        children = descendants(served.process.pid)
        assert any("raylet" in _name(pid) for pid, _ in children), "no Ray was started"
        assert served.terminate() == 0
    finally:
        if served.process.poll() is None:
            served.kill()
    end = time.monotonic() + 20
    while (left := {p for p in children if alive(p)}) and time.monotonic() < end:
        time.sleep(0.1)
    assert not left, f"Ray processes outlived the server: {sorted(left)}"


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@pytest.fixture()
def two_nodes() -> Iterator[str]:
    """A two-node cluster on this machine (one CPU each, started by Ray's CLI:
    tests/service/ray_cli.py), stopped after the test; its address."""
    with cli_cluster(1, 1) as address:
        try:
            yield address
        finally:
            if ray.is_initialized():
                ray.shutdown()


def test_a_server_joined_to_a_cluster_runs_its_jobs_there_and_leaves_it_running(
    two_nodes: str, tmp_path: Path, tiny_instance: Instance
) -> None:
    server = start(tmp_path, executor="ray", ray_address=two_nodes, workers=2, solve_workers=1)
    try:
        assert len(server.jobs.pool.pids()) == 2  # one actor per node: one CPU each
        with MatcherClient(f"127.0.0.1:{server.port}") as client:
            ids = [client.submit(tiny_instance, time_limit_s=2, workers=1).job_id for _ in "ab"]
            for job_id in ids:
                job = wait_for_state(client, job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
                assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    finally:
        server.stop(0)
    assert not ray.is_initialized()  # the server left the cluster ...
    ray.init(address=two_nodes, log_to_driver=False, logging_level="error")
    assert sum(1 for node in ray.nodes() if node["Alive"]) == 2  # ... which still runs
