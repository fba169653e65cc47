"""Server assembly: interceptors, health, reflection, worker pools, job manager.

``create_server(settings)`` returns a started :class:`RunningServer` (tests bind
port 0 and read ``.port``); ``serve(settings)`` runs one until SIGTERM or SIGINT.
"""

from __future__ import annotations

import hmac
import logging
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service import metrics
from service.context import (
    REQUEST_ID_HEADER,
    configure_logging,
    reset_request_id,
    set_request_id,
)
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.gen.matcher.v1 import matcher_pb2_grpc as pb_grpc
from service.jobs import JobManager, JobStore
from service.servicer import MatcherServicer
from service.settings import Settings
from service.workers import WorkerPool

log = logging.getLogger("matcher.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Matcher"].full_name
OPEN_METHODS = ("/grpc.health.v1.Health/",)  # answered without a token


class _Interceptor(grpc.ServerInterceptor):
    """Request ids, bearer-token check, metrics, and no traceback ever to a client."""

    def __init__(self, token: str | None) -> None:
        self.expected = f"Bearer {token}" if token else None

    def intercept_service(
        self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        rid = metadata.get(REQUEST_ID_HEADER) or uuid.uuid4().hex[:16]
        allowed = (
            self.expected is None
            or method.startswith(OPEN_METHODS)
            or hmac.compare_digest(metadata.get("authorization", ""), self.expected)
        )
        name = method.rsplit("/", 1)[-1]

        def enter(context: grpc.ServicerContext) -> None:
            context.send_initial_metadata(((REQUEST_ID_HEADER, rid),))
            if not allowed:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

        def fail(context: grpc.ServicerContext, exc: Exception) -> None:
            if context.code() not in (None, grpc.StatusCode.OK):
                raise exc  # an abort: its status is already set
            log.exception("internal error", extra={"method": method})
            context.abort(grpc.StatusCode.INTERNAL, f"internal error; request id {rid}")

        def record(context: grpc.ServicerContext, start: float) -> None:
            code = context.code() or grpc.StatusCode.OK
            metrics.REQUESTS.labels(name, code.name).inc()
            metrics.LATENCY.labels(name).observe(time.perf_counter() - start)

        if handler.unary_unary is not None:
            behaviour = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                token, start = set_request_id(rid), time.perf_counter()
                try:
                    enter(context)
                    return behaviour(request, context)
                except Exception as exc:
                    fail(context, exc)
                finally:
                    record(context, start)
                    reset_request_id(token)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream is not None:
            stream_behaviour = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                token, start = set_request_id(rid), time.perf_counter()
                try:
                    enter(context)
                    yield from stream_behaviour(request, context)
                except Exception as exc:
                    fail(context, exc)
                finally:
                    record(context, start)
                    reset_request_id(token)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler  # stream-request methods (reflection): passed through unwrapped


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    settings: Settings
    servicer: MatcherServicer
    solve_pool: WorkerPool
    jobs: JobManager
    store: JobStore
    health: health.HealthServicer
    metrics_port: int | None = None

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let running ones finish within ``grace``, then stop the
        workers (running jobs are re-queued for the next start)."""
        self.health.enter_graceful_shutdown()
        metrics.QUEUE_LENGTH.set_function(lambda: 0.0)  # the store is about to close
        self.server.stop(self.settings.grace_s if grace is None else grace).wait()
        self.jobs.close()
        self.solve_pool.close()
        self.store.close()


def create_server(settings: Settings) -> RunningServer:
    """Start a server as ``settings`` say; its port is known on return (port 0 allowed)."""
    solve_pool = WorkerPool(settings.solve_workers, "solve")
    job_pool = WorkerPool(settings.workers, "job")
    starters = [threading.Thread(target=p.start) for p in (solve_pool, job_pool)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    store = JobStore(settings.db)
    jobs = JobManager(
        store,
        job_pool,
        max_queued=settings.max_queued_jobs,
        ttl_s=settings.job_ttl_s,
        max_attempts=settings.max_attempts,
    )
    size = settings.max_message_mb * 1024 * 1024
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=settings.max_pending_solves + 32, thread_name_prefix="rpc"
        ),
        interceptors=[_Interceptor(settings.token)],
        options=[
            ("grpc.max_receive_message_length", size),
            ("grpc.max_send_message_length", size),
        ],
    )
    servicer = MatcherServicer(settings, solve_pool, jobs)
    pb_grpc.add_MatcherServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert and settings.tls_key:
        credentials = grpc.ssl_server_credentials(
            [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
        )
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind {address}")
    jobs.start()
    metrics.QUEUE_LENGTH.set_function(jobs.queued)  # counted when scraped, never stale
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    metrics_port = None
    if settings.metrics_port is not None:
        metrics_port = metrics.serve(settings.metrics_port, settings.host)
    log.info(
        "serving", extra={"address": f"{settings.host}:{port}", "tls": bool(settings.tls_cert)}
    )
    return RunningServer(
        server, port, settings, servicer, solve_pool, jobs, store, health_servicer, metrics_port
    )


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; prints the bound address first (scripts read it)."""
    configure_logging(settings.log_level)
    running = create_server(settings)
    print(f"listening on {running.address}", flush=True)
    if running.metrics_port is not None:
        print(f"metrics on http://{settings.host}:{running.metrics_port}/metrics", flush=True)
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    done.wait()
    running.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0
