"""The ``matcher.v1.Matcher`` servicer: convert, call the engine, convert back.

Unary solves and re-plans run on their own pool of worker processes, jobs on
another, so a long job never delays an interactive call. Recommend runs in the
call's thread: it is a fast heuristic, and a queue behind running solves would make
an interactive answer wait.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import NoReturn

import grpc
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from matcher.app.executor import cpus
from matcher.domain.consistency import Issue
from matcher.domain.entities import Order
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.params import MAX_SEED, SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError
from service import metrics
from service.context import request_id
from service.convert import (
    InvalidParamsError,
    disruption_from_proto,
    disruption_issues,
    explanation_to_proto,
    instance_from_proto,
    is_disruption_path,
    order_from_proto,
    params_from_proto,
    plan_from_proto,
    plan_issues,
    plan_to_proto,
    recommendations_to_proto,
)
from service.errors import (
    MAX_VIOLATIONS,
    abort,
    bad_request_status,
    clip,
    plain_status,
    retry_status,
)
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.gen.matcher.v1 import matcher_pb2_grpc as pb_grpc
from service.jobs import (
    TERMINAL,
    IdempotencyConflictError,
    JobManager,
    JobNotFoundError,
    QueueFullError,
)
from service.settings import Settings
from service.workers import (
    STOPPED_KIND,
    PoolClosedError,
    Task,
    TaskCancelledError,
    TaskFailedError,
    WorkerCrashedError,
    WorkerPool,
)

log = logging.getLogger("matcher.service")

CANCEL_WAIT_S = 5.0  # CancelJob waits this long for the job to stop and keep its plan
PROGRESS_EVERY_S = 1.0  # WatchJob sends improved incumbents at most this often
WATCH_POLL_S = 0.5
DEFAULT_TOP_K = 5  # Recommend's options when top_k is 0
EXPLAIN_SECONDS = 4.0  # Explain's re-solve time when time_limit_s is unset
MAX_EXPLAIN_SECONDS = 30.0  # an interactive call: no longer than this
MAX_PAGE_SIZE = 1000
PAGE_TOKEN = re.compile(r"[0-9]{1,18}")  # an offset this server gave out (SQLite: < 2**63)
MAX_STATE_FILTERS = 100  # entries of ListJobs' states (repeats of the 5 states are ignored)
JOB_STATES = frozenset(v.number for v in pb.JobState.DESCRIPTOR.values if v.number)
STREAM_RETRY_S = 5.0  # the retry hint of a WatchJob refused for too many streams
_REQUEST_FIELDS = re.compile(r"^(instance|previous|disruption|params|plan|order|top_k)(?=$|[.\[])")


REPLY_S_PER_ORDER = 0.0012
"""Measured in the server on 1 000 orders under a 3 s deadline (six calls, quiet
machine): from the stop to the plan back from the worker process 0.27-0.87 s (the
assignment's current step ends, purchasing and routing still run, the plan is
assembled and pickled), converting it 0.09 s. At 0.8 ms per order the call failed its
deadline in two full test runs of three; 1.2 ms leaves about 0.7 s of headroom."""
MIN_RUN_S = 0.2
"""A solve admitted under a deadline should get at least this long (or its usual
length, if shorter) to find a first plan."""


def deadline_margin(remaining: float, orders: int = 0) -> float:
    """Time kept back from the client's deadline for the reply: a share of the time
    left plus the conversion of a plan as large as the instance."""
    return min(1.0, 0.05 + 0.15 * remaining) + REPLY_S_PER_ORDER * orders


def _not_found(context: grpc.ServicerContext, job_id: str) -> NoReturn:
    abort(context, plain_status(grpc.StatusCode.NOT_FOUND, f"no job '{clip(job_id)}'"))


# ------------------------------------------------------------ request limits

_HAS_LISTS: dict[str, bool] = {}


def _has_lists(descriptor: Descriptor) -> bool:
    """Whether a message of this type can hold a list or map at any depth."""
    name = descriptor.full_name
    if name not in _HAS_LISTS:
        _HAS_LISTS[name] = False  # a type that contains itself: decided by its other fields
        _HAS_LISTS[name] = any(
            f.is_repeated or (f.message_type is not None and _has_lists(f.message_type))
            for f in descriptor.fields
        )
    return _HAS_LISTS[name]


def oversized_lists(
    message: Message, path: str, limit: int, exempt: frozenset[str] = frozenset()
) -> list[Issue]:
    """The lists and maps of ``message`` longer than ``limit`` entries (those at a path
    in ``exempt`` excepted), at most :data:`~service.errors.MAX_VIOLATIONS` of them. It
    looks at lengths only, never into an oversized list, so it costs a small part of a
    conversion and bounds what validation (one issue per bad entry) can be asked to do."""
    found: list[Issue] = []
    _walk(message, path, limit, exempt, found)
    return found


def _walk(
    message: Message, path: str, limit: int, exempt: frozenset[str], found: list[Issue]
) -> None:
    for field, value in message.ListFields():
        if len(found) >= MAX_VIOLATIONS:
            return
        where = f"{path}.{field.name}"
        kind = field.message_type
        if field.is_repeated:
            if len(value) > limit and where not in exempt:
                found.append(
                    Issue(
                        where,
                        f"{len(value)} entries; this server takes at most {limit} in one list "
                        "(setting max_list_items)",
                    )
                )
                continue
            if kind is None:
                continue
            if kind.GetOptions().map_entry:
                value_type = kind.fields_by_name["value"].message_type
                if value_type is not None and _has_lists(value_type):
                    for key, item in value.items():
                        _walk(item, f"{where}.{key}", limit, exempt, found)
            elif _has_lists(kind):
                for i, item in enumerate(value):
                    _walk(item, f"{where}[{i}]", limit, exempt, found)
        elif kind is not None and _has_lists(kind):
            _walk(value, where, limit, exempt, found)


class StreamLimitError(Exception):
    pass


def client_address(peer: str) -> str:
    """The address part of a gRPC peer (``ipv4:127.0.0.1:5555`` -> ``127.0.0.1``)."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


class StreamLimiter:
    """Counts open ``WatchJob`` streams, in all and per client address. Each holds a
    server thread for its life, so their number is what keeps threads for the rest."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self._lock = threading.Lock()
        self._by_client: Counter[str] = Counter()

    def open(self) -> int:
        with self._lock:
            return sum(self._by_client.values())

    def acquire(self, client: str) -> Callable[[], None]:
        """A slot for a stream from ``client``, or ``StreamLimitError``; the returned
        function gives it back (calling it again does nothing)."""
        with self._lock:
            total = sum(self._by_client.values())
            if total >= self.total:
                raise StreamLimitError(
                    f"{total} WatchJob streams are open on this server, the limit is "
                    f"{self.total} (setting max_streams)"
                )
            if self._by_client[client] >= self.per_client:
                raise StreamLimitError(
                    f"{self._by_client[client]} WatchJob streams are open from "
                    f"{clip(client)}, the limit per client is {self.per_client} "
                    "(setting max_streams_per_client)"
                )
            self._by_client[client] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]

        return release


def under(prefix: str, issues: Iterable[Issue]) -> list[Issue]:
    """Issues with paths in a part of the request made paths in the request
    (``events[2].factory_unavailable.factory`` -> ``disruption.events[2]...``); a path
    that already names a request field is kept."""
    return [
        i
        if _REQUEST_FIELDS.match(i.path)
        else Issue(f"{prefix}.{i.path}" if i.path else prefix, i.message)
        for i in issues
    ]


class MatcherServicer(pb_grpc.MatcherServicer):
    def __init__(self, settings: Settings, solve_pool: WorkerPool, jobs: JobManager) -> None:
        self.settings = settings
        self.solve_pool = solve_pool
        self.jobs = jobs
        self.streams = StreamLimiter(settings.max_streams, settings.max_streams_per_client)
        # Threads a unary solve may hold: one per worker, one per waiting solve.
        self._solve_threads = threading.BoundedSemaphore(
            settings.max_pending_solves + settings.solve_workers
        )
        self._stopping = threading.Event()

    def shutdown(self) -> None:
        """The server is stopping: streams end (``UNAVAILABLE``: watch again later), and
        unary solves are told to stop, so each answers with its best plan within the
        grace period; solves not started yet end ``UNAVAILABLE``."""
        self._stopping.set()
        self.solve_pool.drain("the server is shutting down")

    def _check_lists(self, message: Message, path: str, context: grpc.ServicerContext) -> None:
        exempt = frozenset({"instance.orders"})  # max_orders is their limit
        issues = oversized_lists(message, path, self.settings.max_list_items, exempt)
        if issues:
            abort(context, bad_request_status(issues))

    # ---------------------------------------------------------------- helpers

    def _instance(
        self, instance: pb.Instance, context: grpc.ServicerContext, issues: list[Issue]
    ) -> Instance | None:
        """The validated instance, or ``None`` with its problems added to ``issues``;
        an instance over the size limit aborts at once."""
        if len(instance.orders) > self.settings.max_orders:
            abort(
                context,
                plain_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{len(instance.orders)} orders; this server takes at most "
                    f"{self.settings.max_orders} (setting max_orders)",
                ),
            )
        self._check_lists(instance, "instance", context)
        try:
            return instance_from_proto(instance)
        except InvalidInstanceError as err:
            issues += under("instance", err.issues)
            return None

    def _params(self, params: pb.SolveParameters, issues: list[Issue]) -> SolveParams | None:
        """The validated parameters, or ``None`` with their problems added to ``issues``."""
        try:
            solve_params = params_from_proto(params)
        except InvalidParamsError as err:
            issues += err.issues
            return None
        if solve_params.time_limit_s > self.settings.max_time_limit_s:
            issues.append(
                Issue(
                    "params.time_limit_s",
                    f"{solve_params.time_limit_s:g}s is above this server's limit of "
                    f"{self.settings.max_time_limit_s:g}s",
                )
            )
        return solve_params

    def _unary(self, params: SolveParams, sent: pb.SolveParameters) -> SolveParams:
        """``params`` for a unary call: when the request leaves ``workers`` unset, the
        machine's cores shared among the unary solve pool's processes, so that a full
        pool does not run more solver threads than there are cores (with 2 cores and the
        default 2 processes, one each, which also makes the plan reproducible)."""
        if sent.HasField("workers"):
            return params
        share = max(1, min(64, cpus() // self.settings.solve_workers))
        return params.model_copy(update={"workers": share})

    def _parse(
        self, instance: pb.Instance, params: pb.SolveParameters, context: grpc.ServicerContext
    ) -> tuple[Instance, SolveParams]:
        """The validated request, or an abort listing every violation."""
        issues: list[Issue] = []
        domain = self._instance(instance, context, issues)
        solve_params = self._params(params, issues)
        if issues or domain is None or solve_params is None:
            abort(context, bad_request_status(issues))
        return domain, solve_params

    def _plan(
        self,
        message: pb.Plan,
        present: bool,
        field: str,
        issues: list[Issue],
        instance: Instance | None,
    ) -> Plan | None:
        """A plan from the request, or ``None`` with its problems added to ``issues``
        (its references checked against ``instance`` when that parsed)."""
        if not present:
            issues.append(Issue(field, "a plan is required"))
            return None
        plan, problems = plan_issues(message, field, instance)
        issues += problems
        return plan

    def _run(
        self,
        task: Task,
        context: grpc.ServicerContext,
        invalid: Callable[[list[Issue]], list[Issue]],
    ) -> Plan:
        """Solve ``task`` on the solve pool, told to stop before the client's deadline
        (see :func:`deadline_margin`); errors become statuses. ``invalid`` puts the
        issues of an ``InvalidInstanceError`` raised by the engine into request paths.

        Under a deadline, a solve that cannot start in time is refused at once:
        ``DEADLINE_EXCEEDED`` when the deadline leaves no time for a solve after the
        reply's share, ``RESOURCE_EXHAUSTED`` with a retry hint when the solves ahead of
        it are expected to hold the workers past it (load shedding)."""
        self._admit(task, context)
        if self.solve_pool.pending() >= self.settings.max_pending_solves or not (
            self._solve_threads.acquire(blocking=False)
        ):
            abort(
                context,
                plain_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{self.solve_pool.pending()} solves are waiting for a worker, the limit is "
                    f"{self.settings.max_pending_solves} (setting max_pending_solves); retry "
                    "later or submit a job",
                ),
            )
        try:
            return self._solve(task, context, invalid)
        finally:
            self._solve_threads.release()

    def _admit(self, task: Task, context: grpc.ServicerContext) -> None:
        """Set ``task.stop_at`` from the client's deadline, or refuse the call (see
        :meth:`_run`)."""
        remaining = context.time_remaining()
        if remaining is None or remaining >= 1e6:
            return
        orders = len(task.instance.orders)
        budget = remaining - deadline_margin(remaining, orders)
        need = min(self.solve_pool.mean_solve_s(), MIN_RUN_S)
        if budget < need:
            abort(
                context,
                plain_status(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"the deadline leaves {remaining:.2f}s, less than this server keeps for "
                    f"answering with the plan of {orders} orders "
                    f"({deadline_margin(remaining, orders):.2f}s) and a first plan ({need:.2f}s); "
                    "nothing was solved",
                ),
            )
        wait = self.solve_pool.expected_wait()
        if wait + need > budget:
            abort(
                context,
                retry_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"the solves ahead of this one are expected to hold the workers for "
                    f"{wait:.2f}s, and the deadline leaves {budget:.2f}s to solve; retry "
                    "later, with a later deadline, or submit a job",
                    max(0.1, round(wait, 1)),
                ),
            )
        task.stop_at = time.monotonic() + budget

    def _solve(
        self,
        task: Task,
        context: grpc.ServicerContext,
        invalid: Callable[[list[Issue]], list[Issue]],
    ) -> Plan:
        context.add_callback(lambda: self.solve_pool.cancel(task, "the call ended"))
        started = threading.Event()
        submitted = time.perf_counter()
        start_at = [submitted]

        def on_start() -> None:
            start_at[0] = time.perf_counter()
            metrics.SOLVES_RUNNING.inc()
            started.set()

        task.on_start = on_start
        try:
            plan = self._result(task, context, invalid)
        finally:
            if started.is_set():
                metrics.SOLVES_RUNNING.dec()
        method = "Solve" if task.disruption is None else "Replan"
        metrics.PHASE_SECONDS.labels(method, "wait").observe(start_at[0] - submitted)
        metrics.PHASE_SECONDS.labels(method, "solve").observe(time.perf_counter() - start_at[0])
        metrics.observe_plan(plan)
        return plan

    def _result(
        self,
        task: Task,
        context: grpc.ServicerContext,
        invalid: Callable[[list[Issue]], list[Issue]],
    ) -> Plan:
        try:
            plan = self.solve_pool.submit(task).result()
        except TaskCancelledError as exc:
            abort(context, plain_status(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc)))
        except TaskFailedError as exc:
            self._task_error(context, exc, invalid)
        except WorkerCrashedError as exc:
            log.error("solver crashed", extra={"error": str(exc)})
            abort(
                context,
                plain_status(
                    grpc.StatusCode.INTERNAL,
                    f"the solver process crashed ({exc}); request id {request_id()}",
                ),
            )
        except PoolClosedError as exc:
            abort(context, plain_status(grpc.StatusCode.UNAVAILABLE, str(exc)))
        return plan

    # ------------------------------------------------------------------ unary

    def Solve(self, request: pb.SolveRequest, context: grpc.ServicerContext) -> pb.SolveResponse:
        start = time.perf_counter()
        instance, params = self._parse(request.instance, request.params, context)
        params = self._unary(params, request.params)
        metrics.PHASE_SECONDS.labels("Solve", "validate").observe(time.perf_counter() - start)
        if request.params.mode == pb.SOLVE_MODE_VALIDATE_ONLY:
            return pb.SolveResponse(
                validated_only=True, elapsed_s=time.perf_counter() - start, request_id=request_id()
            )
        task = Task(id=uuid.uuid4().hex, instance=instance, params=params)
        plan = self._run(task, context, lambda issues: under("instance", issues))
        encoding = time.perf_counter()
        message = plan_to_proto(plan)
        metrics.PHASE_SECONDS.labels("Solve", "encode").observe(time.perf_counter() - encoding)
        return pb.SolveResponse(
            plan=message, elapsed_s=time.perf_counter() - start, request_id=request_id()
        )

    def Replan(self, request: pb.ReplanRequest, context: grpc.ServicerContext) -> pb.ReplanResponse:
        start = time.perf_counter()
        issues: list[Issue] = []
        instance = self._instance(request.instance, context, issues)
        previous = self._plan(
            request.previous, request.HasField("previous"), "previous", issues, instance
        )
        disruption: Disruption | None = None
        self._check_lists(request.disruption, "disruption", context)
        try:
            disruption = disruption_from_proto(request.disruption, instance)
        except InvalidInstanceError as err:
            issues += under("disruption", err.issues)
        params = self._params(request.params, issues)
        if issues or instance is None or previous is None or disruption is None or params is None:
            abort(context, bad_request_status(issues))
        params = self._unary(params, request.params)
        if request.params.mode == pb.SOLVE_MODE_VALIDATE_ONLY:
            return pb.ReplanResponse(
                validated_only=True, elapsed_s=time.perf_counter() - start, request_id=request_id()
            )
        task = Task(
            id=uuid.uuid4().hex,
            instance=instance,
            params=params,
            previous=previous,
            disruption=disruption,
        )

        def invalid(issues: list[Issue]) -> list[Issue]:  # the plan's, or the disruption's
            about_events = [i for i in issues if is_disruption_path(i.path)]
            rest = [i for i in issues if not is_disruption_path(i.path)]
            events = disruption_issues(request.disruption, about_events)
            return under("disruption", events) + under("previous", rest)

        plan = self._run(task, context, invalid)
        return pb.ReplanResponse(
            plan=plan_to_proto(plan), elapsed_s=time.perf_counter() - start, request_id=request_id()
        )

    def Recommend(
        self, request: pb.RecommendRequest, context: grpc.ServicerContext
    ) -> pb.RecommendResponse:
        start = time.perf_counter()
        issues: list[Issue] = []
        instance = self._instance(request.instance, context, issues)
        plan = self._plan(request.plan, request.HasField("plan"), "plan", issues, instance)
        order: Order | None = None
        if not request.HasField("order"):
            issues.append(Issue("order", "an order is required"))
        else:
            self._check_lists(request.order, "order", context)
            try:
                order = order_from_proto(request.order, instance)
            except InvalidInstanceError as err:
                issues += under("order", err.issues)
        if request.top_k < 0:
            issues.append(Issue("top_k", f"must be at least 1, or 0 for {DEFAULT_TOP_K}"))
        if issues or instance is None or plan is None or order is None:
            abort(context, bad_request_status(issues))
        # Imported on first use: the server process loads no engine until it must.
        from matcher.app.recommend import recommend

        try:
            result = recommend(instance, plan, order, request.top_k or DEFAULT_TOP_K)
        except InvalidInstanceError as err:
            abort(context, bad_request_status(under("order", err.issues)))
        return pb.RecommendResponse(
            recommendations=recommendations_to_proto(result),
            elapsed_s=time.perf_counter() - start,
            request_id=request_id(),
        )

    def Explain(
        self, request: pb.ExplainRequest, context: grpc.ServicerContext
    ) -> pb.ExplainResponse:
        start = time.perf_counter()
        issues: list[Issue] = []
        instance = self._instance(request.instance, context, issues)
        plan = self._plan(request.plan, request.HasField("plan"), "plan", issues, instance)
        if not request.order:
            issues.append(Issue("order", "an order id is required"))
        elif instance is not None and request.order not in {o.id for o in instance.orders}:
            issues.append(Issue("order", f"unknown order '{request.order}'"))
        seconds = EXPLAIN_SECONDS
        if request.HasField("time_limit_s"):
            seconds = request.time_limit_s
            if not 0 < seconds <= MAX_EXPLAIN_SECONDS:
                issues.append(
                    Issue("time_limit_s", f"must be in (0, {MAX_EXPLAIN_SECONDS:g}] seconds")
                )
        seed = request.seed if request.HasField("seed") else 0
        if not 0 <= seed <= MAX_SEED:
            issues.append(Issue("seed", f"must be in 0..{MAX_SEED}"))
        if issues or instance is None or plan is None:
            abort(context, bad_request_status(issues))
        # Imported on first use: the server process loads no engine until it must.
        from matcher.app.explain import explain_order

        params = SolveParams(workers=1, seed=seed)
        try:
            result = explain_order(instance, plan, request.order, params, seconds)
        except InvalidInstanceError as err:
            abort(context, bad_request_status(err.issues))
        return pb.ExplainResponse(
            explanation=explanation_to_proto(result),
            elapsed_s=time.perf_counter() - start,
            request_id=request_id(),
        )

    def _task_error(
        self,
        context: grpc.ServicerContext,
        exc: TaskFailedError,
        invalid: Callable[[list[Issue]], list[Issue]],
    ) -> None:
        if exc.kind == "ValueError":  # plan(): a back-end that cannot take this problem
            abort(context, bad_request_status([Issue("params.assignment_solver", str(exc))]))
        if exc.kind == InvalidInstanceError.__name__:  # replan(): a plan not of the instance
            abort(context, bad_request_status(invalid(exc.issues)))
        if exc.kind == STOPPED_KIND:  # the deadline came before any plan
            abort(context, plain_status(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc)))
        log.error("solve failed", extra={"error": f"{exc.kind}: {exc}"})
        abort(
            context,
            plain_status(
                grpc.StatusCode.INTERNAL,
                f"the solve failed ({exc.kind}); request id {request_id()}",
            ),
        )

    def Validate(
        self, request: pb.ValidateRequest, context: grpc.ServicerContext
    ) -> pb.ValidateResponse:
        instance, _ = self._parse(request.instance, request.params, context)
        return pb.ValidateResponse(
            valid=True,
            orders=len(instance.orders),
            factories=len(instance.factories),
            suppliers=len(instance.suppliers),
        )

    # ------------------------------------------------------------------- jobs

    def SubmitJob(self, request: pb.SubmitJobRequest, context: grpc.ServicerContext) -> pb.Job:
        instance, params = self._parse(request.instance, request.params, context)
        if request.params.mode == pb.SOLVE_MODE_VALIDATE_ONLY:
            abort(
                context,
                bad_request_status(
                    [Issue("params.mode", "VALIDATE_ONLY is for Solve and Validate, not jobs")]
                ),
            )
        digest = hashlib.sha256(
            request.instance.SerializeToString(deterministic=True)
            + request.params.SerializeToString(deterministic=True)
        ).hexdigest()
        try:
            job = self.jobs.submit(instance, params, request.idempotency_key, digest)
        except QueueFullError as exc:
            abort(context, plain_status(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)))
        except IdempotencyConflictError as exc:
            abort(context, plain_status(grpc.StatusCode.ALREADY_EXISTS, str(exc)))
        return job

    def _job(self, job_id: str, context: grpc.ServicerContext, with_plan: bool = True) -> pb.Job:
        try:
            return self.jobs.get(job_id, with_plan)
        except JobNotFoundError:
            _not_found(context, job_id)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return self._job(request.job_id, context, with_plan=not request.omit_plan)

    def GetJobReport(
        self, request: pb.GetJobReportRequest, context: grpc.ServicerContext
    ) -> pb.JobReport:
        job = self._job(request.job_id, context)
        if not job.HasField("plan"):
            state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
            abort(
                context,
                plain_status(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"job {job.job_id} is {state} and has no plan: a report needs one",
                ),
            )
        try:
            instance = self.jobs.instance(job.job_id)
        except JobNotFoundError:  # expired between the two reads
            _not_found(context, request.job_id)
        # Imported on first use: plotly stays out of the server process until asked for.
        from matcher.report.html import build_report

        html = build_report(instance, plan_from_proto(job.plan))
        return pb.JobReport(job_id=job.job_id, html=html, request_id=request_id())

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.Job:
        try:
            return self.jobs.cancel(request.job_id, CANCEL_WAIT_S)
        except JobNotFoundError:
            _not_found(context, request.job_id)

    def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.ServicerContext
    ) -> pb.ListJobsResponse:
        issues = []
        size = request.page_size or 50
        if not 0 < size <= MAX_PAGE_SIZE:
            issues.append(Issue("page_size", f"must be between 1 and {MAX_PAGE_SIZE}"))
        offset = 0
        if request.page_token:
            if PAGE_TOKEN.fullmatch(request.page_token):
                offset = int(request.page_token)
            else:
                issues.append(
                    Issue(
                        "page_token",
                        f"'{clip(request.page_token)}' is not a token this server gave out "
                        "(the next_page_token of a page, or empty for the first)",
                    )
                )
        states, bad = self._states(request.states)
        issues += bad
        if issues:
            abort(context, bad_request_status(issues))
        jobs = self.jobs.list(states, size + 1, offset)
        more = len(jobs) > size
        return pb.ListJobsResponse(
            jobs=jobs[:size], next_page_token=str(offset + size) if more else ""
        )

    @staticmethod
    def _states(values: Sequence[int]) -> tuple[set[int], list[Issue]]:
        """ListJobs' state filter without repeats, or its problems. Its length is checked
        first: a long list is refused unread (and a query never has more than one
        variable per job state)."""
        if len(values) > MAX_STATE_FILTERS:
            message = (
                f"{len(values)} entries; list each state at most once ({len(JOB_STATES)} "
                f"states, at most {MAX_STATE_FILTERS} entries), or none for every state"
            )
            return set(), [Issue("states", message)]
        states: set[int] = set()
        bad: list[Issue] = []
        for i, value in enumerate(values):
            if value in JOB_STATES:
                states.add(value)
            else:
                bad.append(Issue(f"states[{i}]", f"{value} is not a job state"))
        return states, bad

    def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        job_id = request.job_id
        job = self._job(job_id, context, with_plan=False)
        try:
            release = self.streams.acquire(client_address(context.peer()))
        except StreamLimitError as exc:
            abort(
                context,
                retry_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{exc}; retry in {STREAM_RETRY_S:g} s, or poll GetJob",
                    STREAM_RETRY_S,
                ),
            )
        metrics.STREAMS_OPEN.inc()
        context.add_callback(release)  # the call ended, however: the slot is free
        try:
            finished = yield from self._watch(job_id, job, context)
        finally:
            release()
            metrics.STREAMS_OPEN.dec()
        if not finished and self._stopping.is_set() and context.is_active():
            abort(
                context,
                plain_status(
                    grpc.StatusCode.UNAVAILABLE,
                    "the server is shutting down; the job is kept: watch it again later",
                ),
            )

    def _watch(
        self, job_id: str, job: pb.Job, context: grpc.ServicerContext
    ) -> Generator[pb.JobEvent, None, bool]:
        """The job's events; returns whether the last was ``FINISHED`` (else the call
        ended or the server is stopping)."""
        last_state = None
        last_improvements = -1
        last_progress_sent = 0.0
        seen = self.jobs.version(job_id)
        while context.is_active() and not self._stopping.is_set():
            if job.state in TERMINAL:
                yield pb.JobEvent(type=pb.JOB_EVENT_TYPE_FINISHED, job=self.jobs.get(job_id))
                return True
            improvements = job.progress.improvements
            if job.state != last_state:
                kind = (
                    pb.JOB_EVENT_TYPE_QUEUED
                    if job.state == pb.JOB_STATE_QUEUED
                    else pb.JOB_EVENT_TYPE_STARTED
                    if improvements == 0 or last_state is not None
                    else pb.JOB_EVENT_TYPE_PROGRESS
                )
                yield pb.JobEvent(type=kind, job=job)
                last_state, last_improvements = job.state, improvements
                if kind == pb.JOB_EVENT_TYPE_PROGRESS:
                    last_progress_sent = time.monotonic()
            elif improvements != last_improvements:
                wait = PROGRESS_EVERY_S - (time.monotonic() - last_progress_sent)
                if wait <= 0:
                    yield pb.JobEvent(type=pb.JOB_EVENT_TYPE_PROGRESS, job=job)
                    last_improvements, last_progress_sent = improvements, time.monotonic()
                else:  # throttled: look again when the second is up (or the job ends)
                    time.sleep(min(wait, WATCH_POLL_S))
                    job = self.jobs.get(job_id, with_plan=False)
                    continue
            seen = self.jobs.wait_change(job_id, seen, WATCH_POLL_S)
            job = self.jobs.get(job_id, with_plan=False)
        return False
