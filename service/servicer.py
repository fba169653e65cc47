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
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import NoReturn

import grpc

from matcher.domain.consistency import Issue
from matcher.domain.entities import Order
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError
from service import metrics
from service.context import request_id
from service.convert import (
    InvalidParamsError,
    disruption_from_proto,
    disruption_issues,
    instance_from_proto,
    is_disruption_path,
    order_from_proto,
    params_from_proto,
    plan_issues,
    plan_to_proto,
    recommendations_to_proto,
)
from service.errors import abort, bad_request_status, plain_status
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
_REQUEST_FIELDS = re.compile(r"^(instance|previous|disruption|params|plan|order|top_k)(?=$|[.\[])")


def deadline_margin(remaining: float) -> float:
    """Time kept back from the client's deadline for conversion and the reply."""
    return min(1.0, 0.05 + 0.15 * remaining)


def _not_found(context: grpc.ServicerContext, job_id: str) -> NoReturn:
    abort(context, plain_status(grpc.StatusCode.NOT_FOUND, f"no job '{job_id}'"))


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
        self, message: pb.Plan, present: bool, field: str, issues: list[Issue]
    ) -> Plan | None:
        """A plan from the request, or ``None`` with its problems added to ``issues``."""
        if not present:
            issues.append(Issue(field, "a plan is required"))
            return None
        plan, problems = plan_issues(message, field)
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
        issues of an ``InvalidInstanceError`` raised by the engine into request paths."""
        if self.solve_pool.pending() >= self.settings.max_pending_solves:
            abort(
                context,
                plain_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{self.solve_pool.pending()} solves are waiting for a worker; retry later "
                    "or submit a job",
                ),
            )
        remaining = context.time_remaining()
        if remaining is not None and remaining < 1e6:
            task.stop_at = time.monotonic() + remaining - deadline_margin(remaining)
        context.add_callback(lambda: self.solve_pool.cancel(task, "the call ended"))
        future = self.solve_pool.submit(task)
        try:
            plan = future.result()
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
        metrics.observe_plan(plan)
        return plan

    # ------------------------------------------------------------------ unary

    def Solve(self, request: pb.SolveRequest, context: grpc.ServicerContext) -> pb.SolveResponse:
        start = time.perf_counter()
        instance, params = self._parse(request.instance, request.params, context)
        if request.params.mode == pb.SOLVE_MODE_VALIDATE_ONLY:
            return pb.SolveResponse(
                validated_only=True, elapsed_s=time.perf_counter() - start, request_id=request_id()
            )
        task = Task(id=uuid.uuid4().hex, instance=instance, params=params)
        plan = self._run(task, context, lambda issues: under("instance", issues))
        return pb.SolveResponse(
            plan=plan_to_proto(plan), elapsed_s=time.perf_counter() - start, request_id=request_id()
        )

    def Replan(self, request: pb.ReplanRequest, context: grpc.ServicerContext) -> pb.ReplanResponse:
        start = time.perf_counter()
        issues: list[Issue] = []
        instance = self._instance(request.instance, context, issues)
        previous = self._plan(request.previous, request.HasField("previous"), "previous", issues)
        disruption: Disruption | None = None
        try:
            disruption = disruption_from_proto(request.disruption, instance)
        except InvalidInstanceError as err:
            issues += under("disruption", err.issues)
        params = self._params(request.params, issues)
        if issues or instance is None or previous is None or disruption is None or params is None:
            abort(context, bad_request_status(issues))
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
        plan = self._plan(request.plan, request.HasField("plan"), "plan", issues)
        order: Order | None = None
        if not request.HasField("order"):
            issues.append(Issue("order", "an order is required"))
        else:
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
        if not 0 < size <= 1000:
            issues.append(Issue("page_size", "must be between 1 and 1000"))
        try:
            offset = int(request.page_token or "0")
            if offset < 0:
                raise ValueError
        except ValueError:
            issues.append(Issue("page_token", "not a token this server gave out"))
            offset = 0
        if issues:
            abort(context, bad_request_status(issues))
        jobs = self.jobs.list(set(request.states), size + 1, offset)
        more = len(jobs) > size
        return pb.ListJobsResponse(
            jobs=jobs[:size], next_page_token=str(offset + size) if more else ""
        )

    def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        job_id = request.job_id
        job = self._job(job_id, context, with_plan=False)
        last_state = None
        last_improvements = -1
        last_progress_sent = 0.0
        seen = self.jobs.version(job_id)
        while context.is_active():
            if job.state in TERMINAL:
                yield pb.JobEvent(type=pb.JOB_EVENT_TYPE_FINISHED, job=self.jobs.get(job_id))
                return
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
