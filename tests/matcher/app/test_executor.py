"""The local executor (spawned worker processes) and the executor's errors: a task that
raises or whose worker dies is a failure with its reason and the others finish; an
unreachable Ray cluster is an error within seconds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.app.executor import (
    Call,
    ExecutorError,
    LocalExecutor,
    RayExecutor,
    TaskError,
    failure_text,
    make_executor,
    probe_address,
)
from tests.matcher.batch import probes

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    with LocalExecutor(jobs=2) as executor:
        yield executor


def _calls(*xs: int) -> list[Call]:
    return [Call(f"t{x}", (x,)) for x in xs]


def test_the_local_executor_yields_every_result_with_its_key(local: LocalExecutor) -> None:
    outcomes = list(local.run(probes.square, _calls(1, 2, 3, 4, 5)))
    assert sorted((o.key, o.value) for o in outcomes) == [
        ("t1", 1),
        ("t2", 4),
        ("t3", 9),
        ("t4", 16),
        ("t5", 25),
    ]
    assert all(o.ok and o.error is None and o.wall_s >= 0 for o in outcomes)


def test_results_come_as_they_complete_not_in_submission_order(local: LocalExecutor) -> None:
    calls = [Call("slow", (1, 1.0)), Call("fast", (2, 0.0))]
    assert [o.key for o in local.run(probes.pause_then_square, calls)] == ["fast", "slow"]


def test_a_task_that_raises_is_a_failure_with_its_reason_and_the_others_finish(
    local: LocalExecutor,
) -> None:
    outcomes = {o.key: o for o in local.run(probes.fail, _calls(7))}
    assert outcomes["t7"].error == "ValueError: no good: 7" and not outcomes["t7"].ok
    assert {o.value for o in local.run(probes.square, _calls(3))} == {9}


def test_a_task_error_reads_as_its_message_alone() -> None:
    assert failure_text(TaskError("bad input 1\nsecond line")) == "bad input 1 second line"
    assert failure_text(KeyError("k")) == "KeyError: 'k'"


def test_a_worker_that_dies_fails_only_its_task_and_is_replaced(local: LocalExecutor) -> None:
    dead = list(local.run(probes.exit_abruptly, _calls(1)))
    assert [o.error for o in dead] == [
        "the worker process exited with code 3 while running the task"
    ]
    assert sorted(o.value for o in local.run(probes.square, _calls(1, 2, 3))) == [1, 4, 9]


def test_make_executor_refuses_a_ray_address_without_ray_and_jobs_below_one() -> None:
    with pytest.raises(ValueError, match="--ray-address needs --executor ray"):
        make_executor("local", ray_address="127.0.0.1:6379")
    with pytest.raises(ValueError, match="at least 1"):
        make_executor("local", jobs=0)
    assert make_executor("local", jobs=3).slots == 3


def test_tasks_of_several_cpus_run_fewer_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a decomposed solve plans its waves by: a two-worker part takes two CPUs, so a
    2-CPU machine runs one at a time (it planned two and the parts overran their shares);
    ``--jobs`` is taken as given."""
    import matcher.app.executor as executor

    monkeypatch.setattr(executor, "cpus", lambda: 2)
    local = LocalExecutor()
    assert (local.slots, local.at_once(1), local.at_once(2), local.at_once(4)) == (2, 2, 1, 1)
    assert LocalExecutor(jobs=3).at_once(2) == 3
    ray = RayExecutor()  # not connected: this machine's CPUs
    assert (ray.at_once(1), ray.at_once(2)) == (2, 1)
    assert RayExecutor(jobs=1).at_once(1) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_an_address_that_refuses_connections_is_an_error_at_once() -> None:
    start = time.perf_counter()
    with pytest.raises(ExecutorError, match=r"no Ray cluster reachable at 127\.0\.0\.1:\d+"):
        probe_address(f"127.0.0.1:{_free_port()}")
    assert time.perf_counter() - start < 3


def test_an_address_that_is_not_host_and_port_is_an_error() -> None:
    with pytest.raises(ExecutorError, match="is not host:port"):
        probe_address("my-cluster")


def test_an_unreachable_cluster_address_is_an_error_within_seconds() -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    start = time.perf_counter()
    with pytest.raises(ExecutorError, match="no Ray cluster reachable"):
        RayExecutor(f"127.0.0.1:{_free_port()}").connect()
    assert time.perf_counter() - start < 3


def test_an_address_that_answers_but_is_no_ray_is_an_error_within_the_join_bound() -> None:
    # In a subprocess: Ray's abandoned handshake keeps retrying in its thread, which must
    # not outlive the test (the process exits with it).
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    code = (
        "import socket, time\n"
        "from matcher.app.executor import ExecutorError, RayExecutor\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(4)\n"
        "start = time.perf_counter()\n"
        "try:\n"
        "    RayExecutor('127.0.0.1:%d' % srv.getsockname()[1], init_timeout_s=2).connect()\n"
        "except ExecutorError as exc:\n"
        "    print(exc, round(time.perf_counter() - start, 1))\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "could not join the Ray cluster at 127.0.0.1:" in done.stdout, done.stderr
    assert "within 2 s" in done.stdout
    assert time.perf_counter() - start < 20
