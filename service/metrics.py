"""Prometheus metrics (served on ``--metrics-port`` when set)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from matcher.domain.plan import Plan

REQUESTS = Counter("matcher_requests_total", "RPCs served", ["method", "code"])
LATENCY = Histogram(
    "matcher_request_seconds",
    "RPC latency",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_LENGTH = Gauge("matcher_jobs_queued", "Jobs waiting for a worker")
SOLVE_SECONDS = Histogram(
    "matcher_solve_seconds",
    "Wall time of the assignment stage",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
GAP = Histogram(
    "matcher_solve_gap",
    "Relative gap proved by the assignment stage",
    buckets=(0.0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 1.0),
)


def observe_plan(plan: Plan) -> None:
    for stage in plan.stages:
        SOLVE_SECONDS.observe(stage.wall_time_s)
        if stage.gap is not None:
            GAP.observe(stage.gap)


def serve(port: int, host: str) -> int:
    """Start the HTTP exporter; returns the bound port."""
    server, _ = start_http_server(port, addr=host)
    return int(server.server_port)
