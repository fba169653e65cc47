"""Prometheus metrics (served on ``--metrics-port`` when set).

The exporter is guarded like the gRPC port: with a token set, ``/metrics`` answers
``401`` unless the request carries ``Authorization: Bearer TOKEN``; with TLS set it
is served over HTTPS with the same certificate. It binds ``metrics_host`` (unset:
the gRPC host), which can keep it on a private interface.
"""

from __future__ import annotations

import hmac
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app

from matcher.domain.plan import Plan

REQUESTS = Counter("matcher_requests_total", "RPCs served", ["method", "code"])
LATENCY = Histogram(
    "matcher_request_seconds",
    "RPC latency",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_LENGTH = Gauge("matcher_jobs_queued", "Jobs waiting for a worker")
SOLVES_RUNNING = Gauge("matcher_solves_running", "Unary solves and re-plans on a worker now")
STREAMS_OPEN = Gauge("matcher_watch_streams", "WatchJob streams open")
SOLVE_SECONDS = Histogram(
    "matcher_solve_seconds",
    "Wall time of each stage of a plan",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
PHASE_SECONDS = Histogram(
    "matcher_phase_seconds",
    "Server time of a call by phase: decode (request bytes to proto, every method), "
    "validate (request to domain, every check), wait (for a solve worker), solve (on the "
    "worker, plan hand-off included), encode (plan to proto), serialize (reply proto to "
    "bytes, every method)",
    ["method", "phase"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300),
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


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes are not logged


Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _guarded(app: Wsgi, token: str) -> Wsgi:
    expected = f"Bearer {token}"

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", ""), expected):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"missing or wrong bearer token\n"]
        return app(environ, start_response)

    return guarded


class MetricsServer:
    """The ``/metrics`` exporter on its own thread."""

    def __init__(
        self, port: int, host: str, token: str | None, tls: tuple[Path, Path] | None
    ) -> None:
        app: Wsgi = make_wsgi_app()
        if token:
            app = _guarded(app, token)
        self._httpd = make_server(host, port, app, _Server, handler_class=_QuietHandler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile=str(tls[0]), keyfile=str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = int(self._httpd.server_port)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def serve(
    port: int, host: str, token: str | None = None, tls: tuple[Path, Path] | None = None
) -> MetricsServer:
    """Start the exporter (``port`` 0 picks a free one: see ``.port``)."""
    return MetricsServer(port, host, token, tls)
