"""Model build and full-solve cost of generated instances from 1k to 50k orders.

Per size: ``build_problem`` timed by pytest-benchmark in this process, then one
``plan()`` at the session's time limit in a fresh subprocess
(:mod:`benchmarks.solve_once`), whose peak RSS is the memory figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.harness import ROOT, InstanceFiles, SolveSettings, others_busy_pct
from benchmarks.report import Measurements
from benchmarks.sizes import INSTANCE_SEED, Size
from matcher.domain.validation import load_instance
from solvers.assignment.problem import AssignmentProblem, build_problem

pytestmark = pytest.mark.benchmark_suite


def _describe(size: Size) -> dict[str, Any]:
    return {
        "size": size.label,
        "orders": size.orders,
        "factories": size.factories,
        "periods": size.periods,
        "instance_seed": INSTANCE_SEED,
    }


@pytest.mark.benchmark(group="build_problem")
def test_build_problem(
    benchmark: BenchmarkFixture,
    size: Size,
    instance_files: InstanceFiles,
    scale_results: Measurements,
) -> None:
    path = instance_files.path(size)
    instance = load_instance(path)  # not timed, as generation
    rounds: list[float] = []

    def build() -> AssignmentProblem:
        start = time.perf_counter()
        problem = build_problem(instance)
        rounds.append(time.perf_counter() - start)
        return problem

    problem = benchmark.pedantic(build, rounds=size.build_rounds, iterations=1)
    info = _describe(size) | {
        "candidates": len(problem.candidates),
        "production_variables": problem.size,
        "build_rounds": len(rounds),
        "build_s": [round(s, 4) for s in rounds],
        "build_min_s": round(min(rounds), 4),
        "generate_s": instance_files.generate_s.get(size.label),
    }
    benchmark.extra_info.update(info)
    scale_results.setdefault(size.label, {}).update(info)
    assert problem.size > 0


@pytest.mark.benchmark(group="plan, fresh process")
def test_solve(
    benchmark: BenchmarkFixture,
    size: Size,
    instance_files: InstanceFiles,
    solve_settings: SolveSettings,
    scale_results: Measurements,
) -> None:
    path = instance_files.path(size)
    limit = solve_settings.time_limit_s
    command = [
        sys.executable,
        "-m",
        "benchmarks.solve_once",
        str(path),
        f"--time-limit={limit}",
        f"--workers={solve_settings.workers}",
        f"--seed={solve_settings.seed}",
    ]
    timeout = 20 * limit + 600  # compilation and diagnosis are outside the solver's limit
    info = (
        _describe(size)
        | solve_settings.info()
        | {"load_avg_1m": round(os.getloadavg()[0], 2), "others_busy_pct": others_busy_pct()}
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

    start = time.perf_counter()
    try:
        done = benchmark.pedantic(run, rounds=1, iterations=1)
    except subprocess.TimeoutExpired:
        done = None
    info["process_wall_s"] = round(time.perf_counter() - start, 3)
    info["solved"] = True
    error = _failure(done, timeout)
    if error is None and done is not None:
        info |= json.loads(done.stdout.strip().splitlines()[-1])
    else:
        info["error"] = error
    benchmark.extra_info.update(info)
    scale_results.setdefault(size.label, {}).update(info)
    if error is not None:
        stderr = "" if done is None else done.stderr[-3000:]
        pytest.fail(f"{size.label}: {error}\n{stderr}")


def _failure(done: subprocess.CompletedProcess[str] | None, timeout: float) -> str | None:
    """Why the solve process gave no figures, or ``None``."""
    if done is None:
        return f"timed out after {timeout:.0f} s"
    if done.returncode < 0:
        hint = " (out of memory?)" if done.returncode == -9 else ""
        return f"killed by signal {-done.returncode}{hint}"
    if done.returncode != 0:
        return f"exit code {done.returncode}"
    if not done.stdout.strip():
        return "no output"
    return None
