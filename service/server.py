"""Server assembly: interceptors, health, reflection, worker pools, job manager.

``create_server(settings)`` returns a started :class:`RunningServer` (tests bind
port 0 and read ``.port``); ``serve(settings)`` runs one until SIGTERM or SIGINT.
"""

from __future__ import annotations

import hmac
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn

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
from service.ray_workers import RayWorkerPool
from service.servicer import MatcherServicer
from service.settings import Settings
from service.workers import WorkerPool

log = logging.getLogger("matcher.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Matcher"].full_name
OPEN_METHODS = ("/grpc.health.v1.Health/",)  # answered without a token (reflection is not)
RESERVED_THREADS = 32  # server threads no solve and no stream can take: health and the rest
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # a client's x-request-id that is echoed


def rpc_threads(settings: Settings) -> int:
    """Server threads: one per unary solve that may run or wait, one per stream, and
    :data:`RESERVED_THREADS` for every other call (so health always has one)."""
    return (
        settings.max_pending_solves
        + settings.solve_workers
        + settings.max_streams
        + RESERVED_THREADS
    )


class _Interceptor(grpc.ServerInterceptor):
    """Request ids, bearer-token check, metrics, and no traceback ever to a client.
    Every method is wrapped, whatever its kind (reflection is a bidirectional stream),
    so the token guards all of them but health."""

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
        given = metadata.get(REQUEST_ID_HEADER, "")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
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

        def fail(context: grpc.ServicerContext, exc: Exception) -> NoReturn:
            if context.code() not in (None, grpc.StatusCode.OK):
                raise exc  # an abort: its status is already set
            log.exception("internal error", extra={"method": method})
            context.abort(grpc.StatusCode.INTERNAL, f"internal error; request id {rid}")
            raise exc  # abort raised; not reached

        def record(context: grpc.ServicerContext, start: float) -> None:
            code = context.code() or grpc.StatusCode.OK
            metrics.REQUESTS.labels(name, code.name).inc()
            metrics.LATENCY.labels(name).observe(time.perf_counter() - start)

        def answer(behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                token, start = set_request_id(rid), time.perf_counter()
                try:
                    enter(context)
                    return behaviour(request, context)
                except Exception as exc:
                    fail(context, exc)
                finally:
                    record(context, start)
                    reset_request_id(token)

            return run

        def stream(behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                token, start = set_request_id(rid), time.perf_counter()
                try:
                    enter(context)
                    yield from behaviour(request, context)
                except Exception as exc:
                    fail(context, exc)
                finally:
                    record(context, start)
                    reset_request_id(token)

            return run

        kinds = (
            (handler.unary_unary, grpc.unary_unary_rpc_method_handler, answer),
            (handler.unary_stream, grpc.unary_stream_rpc_method_handler, stream),
            (handler.stream_unary, grpc.stream_unary_rpc_method_handler, answer),
            (handler.stream_stream, grpc.stream_stream_rpc_method_handler, stream),
        )
        for behaviour, make, wrap in kinds:
            if behaviour is not None:
                return make(
                    wrap(behaviour),
                    _timed(handler.request_deserializer, name, "decode"),
                    _timed(handler.response_serializer, name, "serialize"),
                )
        return handler


def _timed(
    convert: Callable[[Any], Any] | None, method: str, phase: str
) -> Callable[[Any], Any] | None:
    """``convert`` (bytes to message, or back) timed into ``matcher_phase_seconds``: the
    parts of a call's server time that happen outside its handler."""
    if convert is None:
        return None

    def run(value: Any) -> Any:
        start = time.perf_counter()
        try:
            return convert(value)
        finally:
            metrics.PHASE_SECONDS.labels(method, phase).observe(time.perf_counter() - start)

    return run


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
    metrics_server: metrics.MetricsServer | None = None

    @property
    def metrics_port(self) -> int | None:
        return None if self.metrics_server is None else self.metrics_server.port

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls; tell running unary solves to stop, so each answers with its
        best plan, and end the WatchJob streams (``UNAVAILABLE``); give running calls
        ``grace`` seconds; then stop the workers (running jobs are re-queued for the
        next start)."""
        self.health.enter_graceful_shutdown()
        metrics.QUEUE_LENGTH.set_function(lambda: 0.0)  # the store is about to close
        stopped = self.server.stop(self.settings.grace_s if grace is None else grace)
        self.servicer.shutdown()
        stopped.wait()
        if self.metrics_server is not None:
            self.metrics_server.close()
        self.jobs.close()
        self.solve_pool.close()
        self.store.close()


def job_pool(settings: Settings) -> WorkerPool | RayWorkerPool:
    """The pool that runs durable jobs: local processes, or actors on Ray (joined, or
    started, here: in the caller's thread, which a local Ray's processes are tied to,
    and before any worker process is spawned, so that an unreachable cluster is an
    error within seconds that leaves nothing behind).

    Raises
    ------
    matcher.app.executor.ExecutorError
        Ray is not installed, the cluster cannot be reached, or it is too small.
    """
    if settings.executor == "ray":
        pool = RayWorkerPool(settings.workers, settings.ray_address)
        pool.connect()
        return pool
    return WorkerPool(settings.workers, "job")


def _start_pools(solve_pool: WorkerPool, jobs_pool: WorkerPool | RayWorkerPool) -> None:
    """Start both pools side by side (each worker imports the engine); a Ray pool
    whose actors cannot start stops everything and raises."""
    failures: list[Exception] = []

    def start_jobs() -> None:
        try:
            jobs_pool.start()
        except Exception as exc:  # re-raised in the caller's thread
            failures.append(exc)

    starters = [threading.Thread(target=solve_pool.start), threading.Thread(target=start_jobs)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    if failures:
        solve_pool.close()
        jobs_pool.close()
        raise failures[0]


def create_server(settings: Settings) -> RunningServer:
    """Start a server as ``settings`` say; its port is known on return (port 0 allowed).

    Raises
    ------
    matcher.app.executor.ExecutorError
        ``executor="ray"`` and Ray cannot be used (see :func:`job_pool`).
    """
    jobs_pool = job_pool(settings)
    solve_pool = WorkerPool(settings.solve_workers, "solve")
    _start_pools(solve_pool, jobs_pool)
    store = JobStore(settings.db)
    jobs = JobManager(
        store,
        jobs_pool,
        max_queued=settings.max_queued_jobs,
        ttl_s=settings.job_ttl_s,
        max_attempts=settings.max_attempts,
    )
    size = settings.max_message_mb * 1024 * 1024
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=rpc_threads(settings), thread_name_prefix="rpc"),
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
    metrics_server = None
    if settings.metrics_port is not None:
        tls = None
        if settings.tls_cert and settings.tls_key:
            tls = (settings.tls_cert, settings.tls_key)
        metrics_server = metrics.serve(
            settings.metrics_port, settings.metrics_host or settings.host, settings.token, tls
        )
    log.info(
        "serving", extra={"address": f"{settings.host}:{port}", "tls": bool(settings.tls_cert)}
    )
    return RunningServer(
        server, port, settings, servicer, solve_pool, jobs, store, health_servicer, metrics_server
    )


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; prints the bound address first (scripts read it)."""
    configure_logging(settings.log_level)
    running = create_server(settings)
    print(f"listening on {running.address}", flush=True)
    if running.metrics_server is not None:
        print(f"metrics on {running.metrics_server.url}", flush=True)
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
