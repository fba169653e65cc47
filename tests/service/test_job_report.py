"""GetJobReport: the HTML report of a job's plan, served by a real server."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from matcher.cli import main
from matcher.domain.instance import Instance
from matcher.report import build_report
from service.client import MatcherClient
from service.convert import plan_from_proto
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.server import RunningServer

LONG = 120.0  # a time limit no test waits for: the job is cancelled


def test_a_finished_job_s_report_is_the_report_of_its_instance_and_plan(
    client: MatcherClient, tiny_instance: Instance
) -> None:
    job = client.submit(tiny_instance, time_limit_s=5, workers=1)
    final = list(client.watch(job.job_id, timeout=60))[-1].job
    assert final.state == pb.JOB_STATE_SUCCEEDED

    html = client.report(job.job_id, timeout=60)

    assert html == build_report(tiny_instance, plan_from_proto(final.plan))
    assert html.startswith("<!DOCTYPE html>") and "plotly" in html


def test_a_job_without_a_plan_has_no_report_yet(client: MatcherClient, demo: Instance) -> None:
    job = client.submit(demo, time_limit_s=LONG)
    try:
        with pytest.raises(grpc.RpcError) as err:
            client.report(job.job_id, timeout=30)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "has no plan" in (err.value.details() or "")
    finally:
        client.cancel(job.job_id)


def test_an_unknown_job_has_no_report(client: MatcherClient) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.report("no-such-job", timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_remote_report_writes_the_html_file_and_prints_its_path(
    server: RunningServer,
    client: MatcherClient,
    tiny_instance: Instance,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = client.submit(tiny_instance, time_limit_s=5, workers=1)
    list(client.watch(job.job_id, timeout=60))
    out = tmp_path / "job.html"
    address = f"127.0.0.1:{server.port}"

    code = main(["remote", "report", "--address", address, job.job_id, "-o", str(out)])

    assert code == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert out.read_text(encoding="utf-8") == client.report(job.job_id, timeout=60)
