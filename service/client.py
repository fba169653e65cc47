"""A small Python client for the matcher service.

from service.client import MatcherClient
with MatcherClient("localhost:50051") as client:
    plan = client.solve(instance, time_limit_s=5)           # a domain Plan
    job = client.submit(instance, idempotency_key="batch-7")
    for event in client.watch(job.job_id): ...
    new_plan = client.replan(instance, plan, {"events": [...]}, time_limit_s=5)
    options = client.recommend(instance, plan, order, top_k=3)  # Recommendations
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

from matcher.domain.entities import Order
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.plan import OrderExplanation, Plan, Recommendations
from service.convert import (
    dict_to_message,
    disruption_to_proto,
    explanation_from_proto,
    instance_to_proto,
    order_to_proto,
    plan_from_proto,
    plan_to_proto,
    recommendations_from_proto,
)
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.gen.matcher.v1 import matcher_pb2_grpc as pb_grpc


def solve_parameters(**params: Any) -> pb.SolveParameters:
    """``SolveParameters`` from keyword arguments named as in :class:`SolveParams`."""
    return dict_to_message({k: v for k, v in params.items() if v is not None}, pb.SolveParameters())


class MatcherClient:
    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        tls_ca: Path | None = None,
        max_message_mb: int = 64,
    ) -> None:
        size = max_message_mb * 1024 * 1024
        options = [
            ("grpc.max_receive_message_length", size),
            ("grpc.max_send_message_length", size),
        ]
        if tls_ca is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=tls_ca.read_bytes())
            self.channel = grpc.secure_channel(address, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        self.stub = pb_grpc.MatcherStub(self.channel)
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )

    def __enter__(self) -> MatcherClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    @staticmethod
    def _instance(instance: Instance | pb.Instance) -> pb.Instance:
        return instance if isinstance(instance, pb.Instance) else instance_to_proto(instance)

    @staticmethod
    def _plan(plan: Plan | pb.Plan) -> pb.Plan:
        return plan if isinstance(plan, pb.Plan) else plan_to_proto(plan)

    def solve_raw(
        self,
        instance: Instance | pb.Instance,
        timeout: float | None = None,
        **params: Any,
    ) -> pb.SolveResponse:
        request = pb.SolveRequest(
            instance=self._instance(instance), params=solve_parameters(**params)
        )
        response: pb.SolveResponse = self.stub.Solve(
            request, timeout=timeout, metadata=self.metadata
        )
        return response

    def solve(
        self, instance: Instance | pb.Instance, timeout: float | None = None, **params: Any
    ) -> Plan:
        return plan_from_proto(self.solve_raw(instance, timeout, **params).plan)

    def replan_raw(
        self,
        instance: Instance | pb.Instance,
        previous: Plan | pb.Plan,
        disruption: Disruption | Mapping[str, Any] | pb.Disruption,
        timeout: float | None = None,
        **params: Any,
    ) -> pb.ReplanResponse:
        """``Replan``. ``disruption`` may be its JSON form (the EVENTS file's dict), which
        the server validates."""
        if not isinstance(disruption, pb.Disruption):
            disruption = disruption_to_proto(disruption)
        request = pb.ReplanRequest(
            instance=self._instance(instance),
            previous=self._plan(previous),
            disruption=disruption,
            params=solve_parameters(**params),
        )
        response: pb.ReplanResponse = self.stub.Replan(
            request, timeout=timeout, metadata=self.metadata
        )
        return response

    def replan(
        self,
        instance: Instance | pb.Instance,
        previous: Plan | pb.Plan,
        disruption: Disruption | Mapping[str, Any] | pb.Disruption,
        timeout: float | None = None,
        **params: Any,
    ) -> Plan:
        response = self.replan_raw(instance, previous, disruption, timeout, **params)
        return plan_from_proto(response.plan)

    def recommend_raw(
        self,
        instance: Instance | pb.Instance,
        plan: Plan | pb.Plan,
        order: Order | Mapping[str, Any] | pb.Order,
        top_k: int = 5,
        timeout: float | None = None,
    ) -> pb.RecommendResponse:
        """``Recommend``; ``order`` may be its JSON form (validated by the server)."""
        request = pb.RecommendRequest(
            instance=self._instance(instance),
            plan=self._plan(plan),
            order=order if isinstance(order, pb.Order) else order_to_proto(order),
            top_k=top_k,
        )
        response: pb.RecommendResponse = self.stub.Recommend(
            request, timeout=timeout, metadata=self.metadata
        )
        return response

    def recommend(
        self,
        instance: Instance | pb.Instance,
        plan: Plan | pb.Plan,
        order: Order | Mapping[str, Any] | pb.Order,
        top_k: int = 5,
        timeout: float | None = None,
    ) -> Recommendations:
        response = self.recommend_raw(instance, plan, order, top_k, timeout)
        return recommendations_from_proto(response.recommendations)

    def explain_raw(
        self,
        instance: Instance | pb.Instance,
        plan: Plan | pb.Plan,
        order: str,
        time_limit_s: float | None = None,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> pb.ExplainResponse:
        """``Explain``: why ``order`` is where ``plan`` puts it, factory by factory."""
        request = pb.ExplainRequest(
            instance=self._instance(instance), plan=self._plan(plan), order=order
        )
        if time_limit_s is not None:
            request.time_limit_s = time_limit_s
        if seed is not None:
            request.seed = seed
        response: pb.ExplainResponse = self.stub.Explain(
            request, timeout=timeout, metadata=self.metadata
        )
        return response

    def explain(
        self,
        instance: Instance | pb.Instance,
        plan: Plan | pb.Plan,
        order: str,
        time_limit_s: float | None = None,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> OrderExplanation:
        response = self.explain_raw(instance, plan, order, time_limit_s, seed, timeout)
        return explanation_from_proto(response.explanation)

    def validate(
        self, instance: Instance | pb.Instance, timeout: float | None = None
    ) -> pb.ValidateResponse:
        response: pb.ValidateResponse = self.stub.Validate(
            pb.ValidateRequest(instance=self._instance(instance)),
            timeout=timeout,
            metadata=self.metadata,
        )
        return response

    def submit(
        self,
        instance: Instance | pb.Instance,
        idempotency_key: str = "",
        timeout: float | None = None,
        **params: Any,
    ) -> pb.Job:
        job: pb.Job = self.stub.SubmitJob(
            pb.SubmitJobRequest(
                instance=self._instance(instance),
                params=solve_parameters(**params),
                idempotency_key=idempotency_key,
            ),
            timeout=timeout,
            metadata=self.metadata,
        )
        return job

    def get(self, job_id: str, omit_plan: bool = False, timeout: float | None = None) -> pb.Job:
        job: pb.Job = self.stub.GetJob(
            pb.GetJobRequest(job_id=job_id, omit_plan=omit_plan),
            timeout=timeout,
            metadata=self.metadata,
        )
        return job

    def report(self, job_id: str, timeout: float | None = None) -> str:
        """The job's HTML plan report (self-contained; write it to a ``.html`` file)."""
        response: pb.JobReport = self.stub.GetJobReport(
            pb.GetJobReportRequest(job_id=job_id), timeout=timeout, metadata=self.metadata
        )
        return response.html

    def cancel(self, job_id: str, timeout: float | None = None) -> pb.Job:
        job: pb.Job = self.stub.CancelJob(
            pb.CancelJobRequest(job_id=job_id), timeout=timeout, metadata=self.metadata
        )
        return job

    def watch(self, job_id: str, timeout: float | None = None) -> Iterator[pb.JobEvent]:
        events: Iterator[pb.JobEvent] = self.stub.WatchJob(
            pb.WatchJobRequest(job_id=job_id), timeout=timeout, metadata=self.metadata
        )
        return events

    def list(
        self, states: Sequence[Any] | None = None, page_size: int = 50, page_token: str = ""
    ) -> pb.ListJobsResponse:
        response: pb.ListJobsResponse = self.stub.ListJobs(
            pb.ListJobsRequest(states=states or [], page_size=page_size, page_token=page_token),
            metadata=self.metadata,
        )
        return response
