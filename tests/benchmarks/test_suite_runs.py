"""The benchmark suite (``benchmarks/``, marker ``benchmark_suite``) is not part of the
test run, and a benchmark that breaks stays broken until someone runs it: the
recommendation benchmark failed unnoticed from 0866b0b to d063f33. This runs its quick
benchmarks once, untimed (``--benchmark-disable``), on the smallest size with a short
limit, and renders the scale report: that they run, not how fast (the figures live in
the benchmarks themselves)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_pytest


def test_the_scale_and_recommendation_benchmarks_run_and_write_the_report(
    tmp_path: Path,
) -> None:
    report = tmp_path / "scale.md"
    done = run_pytest(
        "benchmarks/test_scale.py",
        "benchmarks/test_recommend.py",
        "-m",
        "benchmark_suite",
        "--benchmark-disable",
        "--bench-sizes=1k",
        "--bench-time-limit=3",
        f"--scale-report={report}",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout, done.stdout[-3000:]
    page = report.read_text()
    assert "| size | orders |" in page and "\n| 1k | 1 000 | 100 | 28 |" in page
