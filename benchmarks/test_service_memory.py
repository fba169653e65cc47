"""Peak memory of a real ``matcher serve`` process validating one large request
(docs/service.md, "Memory"): ``Validate`` converts and checks the instance exactly as
``Solve`` does before handing it to a worker, so its peak is the server's own cost of
a request. Run: ``.venv/bin/python -m pytest -m benchmark_suite -s
benchmarks/test_service_memory.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.domain.validation import load_instance
from matcher.generate.generator import generate
from service.client import MatcherClient
from service.convert import instance_to_proto

pytestmark = pytest.mark.benchmark_suite

MATCHER = Path(sys.executable).parent / "matcher"
ROOT = Path(__file__).resolve().parent.parent

# orders -> the most the server's peak may grow, MB (measured figures in the docs)
SIZES = {60_000: 450, 100_000: 750}


def _peak_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("orders", sorted(SIZES))
def test_the_server_s_peak_memory_for_one_large_validate_stays_bounded(
    tmp_path: Path, orders: int
) -> None:
    message = instance_to_proto(generate(orders, 40, 20, seed=1))
    size_mb = message.ByteSize() / 1e6
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    process = subprocess.Popen(
        [str(MATCHER), "serve", "--port", "0", "--db", str(tmp_path / "jobs.sqlite3")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().split()[-1]
        with MatcherClient(address) as client:
            client.validate(load_instance(ROOT / "instances" / "tiny.json"), timeout=60)
            before = _peak_mb(process.pid)
            response = client.validate(message, timeout=600)
            after = _peak_mb(process.pid)
        assert response.orders == orders
        growth = after - before
        print(f"\n{orders} orders, {size_mb:.1f} MB: peak {before:.0f} -> {after:.0f} MB")
        assert growth < SIZES[orders]
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
