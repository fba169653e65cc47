"""``matcher serve`` as a real process: SIGKILL and restart lose no job; SIGTERM is clean;
the ``matcher remote`` verbs drive it from files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.check import check_files
from matcher.cli import main as matcher_main
from matcher.domain.instance import Instance
from service.client import MatcherClient
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import INSTANCES
from tests.service.test_server import wait_for_state

MATCHER = Path(sys.executable).parent / "matcher"


class Served:
    def __init__(self, db: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
        self.process = subprocess.Popen(
            [
                str(MATCHER),
                "serve",
                "--port",
                "0",
                "--db",
                str(db),
                "--log-level",
                "WARNING",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # its worker processes die with the group on SIGKILL
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), line
        self.address = line.split()[-1]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.close()

    def close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.close()
        return code


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path / "jobs.sqlite3")
    yield s
    if s.process.poll() is None:
        s.kill()


def test_jobs_survive_a_server_kill(
    tmp_path: Path, tiny_instance: Instance, demo: Instance
) -> None:
    db = tmp_path / "jobs.sqlite3"
    first = Served(db)
    try:
        with MatcherClient(first.address) as client:
            done = client.submit(tiny_instance, time_limit_s=5)
            wait_for_state(client, done.job_id, {pb.JOB_STATE_SUCCEEDED}, 60)
            finished_plan = client.get(done.job_id).plan
            running = client.submit(demo, time_limit_s=3)
            assert wait_for_state(client, running.job_id, {pb.JOB_STATE_RUNNING}, 60).state == (
                pb.JOB_STATE_RUNNING
            )
    finally:
        first.kill()
    second = Served(db)
    try:
        with MatcherClient(second.address) as client:
            assert client.get(done.job_id).plan == finished_plan  # finished: readable as it was
            requeued = client.get(running.job_id, omit_plan=True)
            assert requeued.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)
            assert "re-queued" in requeued.error
            final = wait_for_state(client, running.job_id, {pb.JOB_STATE_SUCCEEDED}, 90)
            assert final.state == pb.JOB_STATE_SUCCEEDED
            assert final.attempts == 2
    finally:
        second.kill()


def test_sigterm_shuts_down_cleanly_and_requeues_the_running_job(
    served: Served, demo: Instance, tmp_path: Path
) -> None:
    with MatcherClient(served.address) as client:
        job = client.submit(demo, time_limit_s=120)
        wait_for_state(client, job.job_id, {pb.JOB_STATE_RUNNING}, 60)
    assert served.terminate() == 0
    again = Served(tmp_path / "jobs.sqlite3")
    try:
        with MatcherClient(again.address) as client:
            job = client.get(job.job_id, omit_plan=True)
            assert job.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)
            assert "shut down" in job.error
            client.cancel(job.job_id)
    finally:
        again.kill()


def test_remote_verbs_solve_submit_get_from_files(served: Served, tmp_path: Path) -> None:
    instance = str(INSTANCES / "tiny.json")
    plan_path = tmp_path / "plan.json"
    base = ["--address", served.address, "-q"]
    assert (
        matcher_main(
            ["remote", "solve", *base, instance, "-o", str(plan_path), "--time-limit", "5"]
        )
        == 0
    )
    assert check_files(instance, plan_path).ok
    job_plan = tmp_path / "job.json"
    assert (
        matcher_main(
            [
                "remote",
                "submit",
                *base,
                instance,
                "--watch",
                "-o",
                str(job_plan),
                "--time-limit",
                "5",
            ]
        )
        == 0
    )
    assert check_files(instance, job_plan).ok
    assert matcher_main(["remote", "get", *base, "nope"]) == 1  # NOT_FOUND


def test_remote_solve_of_an_invalid_file_exits_2(served: Served, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"horizon": {}}')
    assert matcher_main(["remote", "solve", "--address", served.address, str(bad)]) == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a cert")
def test_tls(tmp_path: Path, tiny_instance: Instance) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    tls = Served(tmp_path / "jobs.sqlite3", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        with MatcherClient(tls.address, tls_ca=cert) as client:
            assert client.validate(tiny_instance).valid
    finally:
        tls.kill()


def test_remote_solve_passes_the_purchasing_options(served: Served, tmp_path: Path) -> None:
    instance = str(INSTANCES / "purchasing.json")
    plan_path = tmp_path / "plan.json"
    argv = ["remote", "solve", "--address", served.address, "-q", instance, "-o", str(plan_path)]
    assert matcher_main([*argv, "--savings-split", "proportional", "--time-limit", "5"]) == 0
    assert check_files(instance, plan_path).ok
    plan = json.loads(plan_path.read_text())
    assert plan["purchasing"]["split_method"] == "proportional"
    assert plan["stages"][1]["stage"] == "purchasing"
