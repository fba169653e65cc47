"""Options, sizes and shared state of the scale benchmarks.

Instances are generated once per session into a temporary directory (never timed);
every benchmark stores its figures in ``extra_info`` and in a session-wide table, which
``--scale-report PATH`` renders into ``docs/scale.md`` when the session ends.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from benchmarks.harness import InstanceFiles, SolveSettings, commit, machine
from benchmarks.report import Measurements, write_page
from benchmarks.sizes import (
    DEFAULT_TIME_LIMIT_S,
    DEFAULT_WORKERS,
    SOLVE_SEED,
    select,
)

_RESULTS = pytest.StashKey[Measurements]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scale benchmarks (benchmarks/)")
    group.addoption(
        "--bench-sizes",
        default=os.environ.get("BENCH_SIZES", "all"),
        help="comma-separated size labels to run, e.g. 1k,5k (env BENCH_SIZES; default all)",
    )
    group.addoption(
        "--bench-time-limit",
        type=float,
        default=float(os.environ.get("BENCH_TIME_LIMIT", DEFAULT_TIME_LIMIT_S)),
        help=f"wall-clock limit of each solve in seconds (env BENCH_TIME_LIMIT; "
        f"default {DEFAULT_TIME_LIMIT_S:g})",
    )
    group.addoption(
        "--bench-workers",
        type=int,
        default=int(os.environ.get("BENCH_WORKERS", DEFAULT_WORKERS)),
        help=f"CP-SAT workers of each solve (env BENCH_WORKERS; default {DEFAULT_WORKERS})",
    )
    group.addoption(
        "--scale-report",
        metavar="PATH",
        type=Path,
        default=None,
        help="write the protocol and results table (docs/scale.md) here at the end",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        select(config.getoption("bench_sizes"))
    except ValueError as exc:
        raise pytest.UsageError(f"--bench-sizes: {exc}") from None
    config.stash[_RESULTS] = {}
    json_path = config.getoption("benchmark_json", None)
    if json_path is not None:  # pytest-benchmark opens it without creating folders
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "size" in metafunc.fixturenames:
        sizes = select(metafunc.config.getoption("bench_sizes"))  # checked in pytest_configure
        metafunc.parametrize("size", sizes, ids=[s.label for s in sizes])


def pytest_sessionfinish(session: pytest.Session) -> None:
    path: Path | None = session.config.getoption("scale_report")
    results = session.config.stash.get(_RESULTS, {})
    if path is None or not results:
        return
    target = path if path.is_absolute() else session.config.invocation_params.dir / path
    write_page(target, results)


@pytest.fixture(scope="session")
def instance_files(tmp_path_factory: pytest.TempPathFactory) -> InstanceFiles:
    return InstanceFiles(tmp_path_factory.mktemp("instances"))


@pytest.fixture(scope="session")
def solve_settings(pytestconfig: pytest.Config) -> SolveSettings:
    return SolveSettings(
        time_limit_s=pytestconfig.getoption("bench_time_limit"),
        workers=pytestconfig.getoption("bench_workers"),
        seed=SOLVE_SEED,
        commit=commit(),
        started=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        machine=machine(),
    )


@pytest.fixture(scope="session")
def scale_results(pytestconfig: pytest.Config) -> Measurements:
    """Size label -> figures so far; ``--scale-report`` renders it at the end."""
    return pytestconfig.stash[_RESULTS]
