"""What each ``matcher remote`` verb does: read the inputs as the local command does,
make one call to the service, and print what the local command prints.

Imported only when a remote verb runs (it loads gRPC and the generated code), by
:func:`matcher.cli.remote._call`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from matcher.check import load_plan
from matcher.cli.explain import explanation_table
from matcher.cli.inputs import recommend_inputs, replan_inputs
from matcher.cli.output import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, err, out
from matcher.cli.tables import recommendations_table, write_plan
from matcher.domain.validation import load_instance
from service.client import MatcherClient
from service.convert import plan_from_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb


def _params(args: argparse.Namespace) -> dict[str, Any]:
    """The solve parameters given on the command line; the service defaults the rest."""
    names = (
        "assignment_solver",
        "time_limit_s",
        "seed",
        "workers",
        "strategy",
        "purchasing_solver",
        "routing_solver",
        "savings_split",
        "shapley_permutations",
        "max_suppliers_per_material",
    )
    params = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.no_sharing:  # unset keeps the service's default (on)
        params["sharing"] = False
    if args.backups:
        params["backups"] = True
    if args.no_feedback:  # unset keeps the service's default (on)
        params["feedback"] = False
    return params


def _rpc_error(exc: grpc.RpcError) -> int:
    code = exc.code()
    violations = field_violations(exc)
    if violations:
        for field, text in violations:
            print(f"{field}: {text}" if field else text, file=sys.stderr)
    else:
        print(f"{code.name}: {exc.details()}", file=sys.stderr)
    return EXIT_INVALID if code == grpc.StatusCode.INVALID_ARGUMENT else EXIT_INTERNAL


def _run(args: argparse.Namespace, body: Callable[[MatcherClient], int]) -> int:
    """``body`` with a client of the service; a failed call becomes an exit code."""
    try:
        with MatcherClient(args.address, token=args.token, tls_ca=args.tls_ca) as client:
            return body(client)
    except grpc.RpcError as exc:
        return _rpc_error(exc)


def _write_plan(args: argparse.Namespace, plan_message: pb.Plan) -> None:
    write_plan(plan_from_proto(plan_message), args)


def _show_job(job: pb.Job) -> None:
    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    line = f"job {job.job_id}: {state}"
    if job.HasField("progress"):
        p = job.progress
        if p.HasField("objective"):
            line += f", objective {p.objective:,.0f}"
        if p.HasField("gap"):
            line += f", gap {100 * p.gap:.2f}%"
        line += f", {p.elapsed_s:.1f}s"
    if job.error:
        line += f" ({job.error})"
    print(line, file=sys.stderr)


def _remote_solve(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)

    def body(client: MatcherClient) -> int:
        response = client.solve_raw(instance, timeout=args.timeout, **_params(args))
        _write_plan(args, response.plan)
        return EXIT_OK

    return _run(args, body)


def _remote_submit(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)

    def body(client: MatcherClient) -> int:
        job = client.submit(instance, args.idempotency_key, **_params(args))
        print(job.job_id)
        return _watch(client, args, job.job_id) if args.watch else EXIT_OK

    return _run(args, body)


def _watch(client: MatcherClient, args: argparse.Namespace, job_id: str) -> int:
    last: pb.Job | None = None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet,
    ) as bar:
        task = bar.add_task("queued", total=None)
        for event in client.watch(job_id):
            last = event.job
            p = last.progress
            state = pb.JobState.Name(last.state).removeprefix("JOB_STATE_").lower()
            text = state
            if p.HasField("objective"):
                text += f"  objective {p.objective:,.0f}"
            if p.HasField("gap"):
                text += f"  gap {100 * p.gap:.2f}%"
                # the bar fills as the gap closes: 100 % gap = empty, proven = full
                bar.update(task, total=100, completed=max(0.0, 100 * (1 - min(1.0, p.gap))))
            bar.update(task, description=text)
    if last is None:
        return EXIT_INTERNAL
    _show_job(last)
    if last.HasField("plan"):
        _write_plan(args, last.plan)
    return EXIT_OK if last.state != pb.JOB_STATE_FAILED else EXIT_INTERNAL


def _remote_watch(args: argparse.Namespace) -> int:
    return _run(args, lambda client: _watch(client, args, args.job_id))


def _show_and_write(args: argparse.Namespace, job: pb.Job) -> int:
    _show_job(job)
    if job.HasField("plan"):
        _write_plan(args, job.plan)
    return EXIT_OK


def _remote_get(args: argparse.Namespace) -> int:
    return _run(args, lambda client: _show_and_write(args, client.get(args.job_id)))


def _remote_cancel(args: argparse.Namespace) -> int:
    return _run(args, lambda client: _show_and_write(args, client.cancel(args.job_id)))


def _remote_explain(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    plan = load_plan(args.plan)

    def body(client: MatcherClient) -> int:
        result = client.explain(
            instance, plan, args.order, args.time_limit, args.seed, timeout=args.timeout
        )
        if args.json:
            print(result.model_dump_json(indent=1))
        else:
            out.print(explanation_table(result))
        return EXIT_OK

    return _run(args, body)


def _remote_report(args: argparse.Namespace) -> int:
    def body(client: MatcherClient) -> int:
        path = Path(args.output)
        path.write_text(client.report(args.job_id, timeout=args.timeout), encoding="utf-8")
        print(path.resolve())
        return EXIT_OK

    return _run(args, body)


def _remote_list(args: argparse.Namespace) -> int:
    def body(client: MatcherClient) -> int:
        for job in client.list(page_size=args.limit).jobs:
            _show_job(job)
        return EXIT_OK

    return _run(args, body)


def _remote_replan(args: argparse.Namespace) -> int:
    instance, previous, disruption = replan_inputs(args)

    def body(client: MatcherClient) -> int:
        response = client.replan_raw(
            instance, previous, disruption, timeout=args.timeout, **_params(args)
        )
        _write_plan(args, response.plan)
        return EXIT_OK

    return _run(args, body)


def _remote_recommend(args: argparse.Namespace) -> int:
    instance, plan, order = recommend_inputs(args)

    def body(client: MatcherClient) -> int:
        result = client.recommend(instance, plan, order, args.top_k, timeout=args.timeout)
        if args.json:
            print(result.model_dump_json(indent=1))
        else:
            out.print(recommendations_table(result))
        return EXIT_OK

    return _run(args, body)


#: ``args.verb`` -> what it does.
VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    "solve": _remote_solve,
    "submit": _remote_submit,
    "watch": _remote_watch,
    "get": _remote_get,
    "cancel": _remote_cancel,
    "report": _remote_report,
    "list": _remote_list,
    "replan": _remote_replan,
    "recommend": _remote_recommend,
    "explain": _remote_explain,
}
