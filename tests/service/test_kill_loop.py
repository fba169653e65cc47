"""A kill loop (issue "reliability"): ``matcher serve`` is SIGKILLed mid-run three times
and restarted on the same database; every submitted job is kept exactly once and ends
with a plan, and no worker process outlives the server it belonged to.

Only the server's own pid is killed (not its process group), so the worker processes
must notice on their own that their parent is gone (their pipe closes) and exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matcher.domain.instance import Instance
from service.client import MatcherClient
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.test_server import wait_for_state

MATCHER = Path(sys.executable).parent / "matcher"
ROUNDS = 3
ORPHAN_GRACE_S = 20.0  # time the killed server's children get to exit
TERMINAL: set[int] = {
    pb.JOB_STATE_SUCCEEDED,
    pb.JOB_STATE_FAILED,
    pb.JOB_STATE_CANCELLED,
}

Proc = tuple[int, str]  # pid and start time: a pid reused later is another process


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()  # state, ppid, pgrp, ... starttime (20th)


def descendants(root: int) -> set[Proc]:
    """Every live process below ``root`` (children, their children, ...)."""
    children: dict[int, list[Proc]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    out: set[Proc] = set()
    todo = [root]
    while todo:
        for proc in children.get(todo.pop(), []):
            if proc not in out:
                out.add(proc)
                todo.append(proc[0])
    return out


def alive(proc: Proc) -> bool:
    fields = _stat(proc[0])
    return fields is not None and fields[19] == proc[1] and fields[0] not in ("Z", "X")


class Server:
    """``matcher serve`` on port 0 in its own session, on ``db``."""

    def __init__(self, db: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
        env["MATCHER_MAX_ATTEMPTS"] = str(ROUNDS + 2)  # a job killed every round still runs
        self.process = subprocess.Popen(
            [
                *(str(MATCHER), "serve", "--port", "0", "--db", str(db)),
                *("--workers", "2", "--log-level", "WARNING"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), line
        self.address = line.split()[-1]

    def kill_server_only(self) -> set[Proc]:
        """SIGKILL the server process alone; return the children it had."""
        children = descendants(self.process.pid)
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.close()
        return children

    def close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()

    def cleanup(self) -> None:
        """Whatever happened, leave nothing of this server's group running."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=30)
        self.close()


def _wait_gone(procs: set[Proc], within: float) -> set[Proc]:
    end = time.monotonic() + within
    while (left := {p for p in procs if alive(p)}) and time.monotonic() < end:
        time.sleep(0.1)
    return left


def _wait_running(client: MatcherClient, jobs: list[str], within: float) -> bool:
    """Wait until one of ``jobs`` (re-queued ones included) is running."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if any(client.get(j, omit_plan=True).state == pb.JOB_STATE_RUNNING for j in jobs):
            return True
        time.sleep(0.05)
    return False


def _all_jobs(client: MatcherClient) -> list[pb.Job]:
    jobs: list[pb.Job] = []
    token = ""
    while True:
        page = client.list(page_size=1000, page_token=token)
        jobs += page.jobs
        if not page.next_page_token:
            return jobs
        token = page.next_page_token


@pytest.mark.slow
def test_kill_loop_keeps_every_job_once_and_leaves_no_orphans(
    tmp_path: Path, tiny_instance: Instance, demo: Instance
) -> None:
    db = tmp_path / "jobs.sqlite3"
    submitted: list[str] = []
    killed_children: set[Proc] = set()
    started = time.monotonic()
    for round_ in range(ROUNDS):
        server = Server(db)
        try:
            with MatcherClient(server.address) as client:
                submitted.append(client.submit(tiny_instance, time_limit_s=1, workers=1).job_id)
                submitted.append(client.submit(demo, time_limit_s=4, workers=1).job_id)
                assert _wait_running(client, submitted, 60), "no job started"
                time.sleep(0.3 * round_)  # kill at a different point of the run each round
            children = server.kill_server_only()
            assert children, "the server had no worker processes"
            killed_children |= children
            left = _wait_gone(children, ORPHAN_GRACE_S)
            assert not left, f"round {round_}: orphans of the killed server: {sorted(left)}"
        finally:
            server.cleanup()
    assert time.monotonic() - started < 120

    last = Server(db)
    try:
        with MatcherClient(last.address) as client:
            listed = [job.job_id for job in _all_jobs(client)]
            assert sorted(listed) == sorted(submitted)  # every job, each exactly once
            for job_id in submitted:
                job = wait_for_state(client, job_id, TERMINAL, 90)
                assert job.state == pb.JOB_STATE_SUCCEEDED, (job_id, job.state, job.error)
                full = client.get(job_id)
                assert full.HasField("plan") and full.plan.allocations, job_id
                assert 1 <= full.attempts <= ROUNDS + 1
            requeued = [client.get(j, omit_plan=True).attempts > 1 for j in submitted]
            assert any(requeued), "no job was running when the server was killed"
        children = last.kill_server_only()
        assert not _wait_gone(children, ORPHAN_GRACE_S), "orphans of the last server"
    finally:
        last.cleanup()
    assert not {p for p in killed_children if alive(p)}
