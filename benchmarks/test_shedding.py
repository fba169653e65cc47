"""Load shedding under many clients: OK, shed (``RESOURCE_EXHAUSTED`` with a retry hint)
and late (``DEADLINE_EXCEEDED``) counts of 30-order Solves with a 2 s deadline.

    .venv/bin/python -m pytest benchmarks/test_shedding.py -m benchmark_suite -s
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest

from matcher.generate import generate
from service.client import MatcherClient
from service.convert import instance_to_proto
from service.server import create_server
from service.settings import Settings

pytestmark = pytest.mark.benchmark_suite

CLIENTS = 50
SECONDS = 20.0
DEADLINE_S = 2.0


def test_many_clients_are_shed_early_rather_than_answered_late(tmp_path: Path) -> None:
    server = create_server(Settings.load({"port": 0, "db": tmp_path / "j.sqlite3"}, env={}))
    instance = instance_to_proto(generate(30, 10, 14, seed=3))
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    end = time.monotonic() + SECONDS

    def client() -> None:
        with MatcherClient(f"127.0.0.1:{server.port}") as c:
            while time.monotonic() < end:
                try:
                    c.solve_raw(instance, timeout=DEADLINE_S, time_limit_s=10)
                    outcome = "ok"
                except grpc.RpcError as err:
                    outcome = {
                        grpc.StatusCode.RESOURCE_EXHAUSTED: "shed",
                        grpc.StatusCode.DEADLINE_EXCEEDED: "late",
                    }.get(err.code(), err.code().name)
                    if outcome == "shed":
                        time.sleep(0.2)  # a client honouring the retry hint a little
                with lock:
                    counts[outcome] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 30)
    finally:
        server.stop(0)
    total = sum(counts.values())
    print(f"\n{CLIENTS} clients, {SECONDS:g}s, deadline {DEADLINE_S:g}s: {dict(counts)}")
    assert counts["ok"] > 0
    assert counts["late"] <= 0.1 * total, counts
