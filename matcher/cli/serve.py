"""``matcher serve``: run the gRPC service, its settings from flags and the
environment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from matcher.app.executor import EXECUTORS, ExecutorError
from matcher.cli.output import EXIT_INVALID
from service.settings import Settings, describe_error

_SETTINGS = (
    "host",
    "port",
    "db",
    "workers",
    "executor",
    "ray_address",
    "solve_workers",
    "max_queued_jobs",
    "token",
    "tls_cert",
    "tls_key",
    "metrics_port",
    "metrics_host",
    "job_ttl_s",
    "log_level",
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``serve``."""
    p = sub.add_parser(
        "serve",
        help="run the gRPC service",
        description="Run the gRPC service. Every setting can also be given as an environment "
        "variable MATCHER_<NAME> (MATCHER_PORT=0, MATCHER_TOKEN=...); flags win.",
    )
    p.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 50051; 0 picks a free one)")
    p.add_argument("--db", type=Path, help="SQLite job store (default matcher-jobs.sqlite3)")
    p.add_argument("--workers", type=int, help="jobs solved at the same time (default 1)")
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where the job workers run: local processes (default) or actors on Ray; "
        "unary Solve and Replan always run locally",
    )
    p.add_argument(
        "--ray-address",
        help="--executor ray: the cluster to join (host:port of its head); default: a "
        "local Ray started with the server and stopped with it",
    )
    p.add_argument("--solve-workers", type=int, help="processes for unary Solve (default 2)")
    p.add_argument("--max-queued-jobs", type=int, help="queued jobs before refusing (100)")
    p.add_argument("--token", help="require 'authorization: Bearer TOKEN' metadata")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate chain (TLS on with --tls-key)")
    p.add_argument("--tls-key", type=Path, help="PEM private key")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    p.add_argument("--metrics-host", help="interface of the metrics port (default: --host)")
    p.add_argument("--job-ttl", type=float, dest="job_ttl_s", help="keep finished jobs (s)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from service.server import serve  # loads gRPC: only when serving

    try:
        settings = Settings.load({n: getattr(args, n) for n in _SETTINGS})
    except ValidationError as exc:
        for line in describe_error(exc):
            print(line, file=sys.stderr)
        return EXIT_INVALID
    if bool(settings.tls_cert) != bool(settings.tls_key):
        print("--tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_INVALID
    try:
        return serve(settings)
    except ExecutorError as exc:  # Ray missing, the cluster unreachable or too small
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
