"""``matcher serve`` and ``matcher remote ...``: the service from the command line.

Only argparse is imported at module level: the ``matcher`` command builds these
parsers on every run, and gRPC is loaded only when a service command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

    from service.client import MatcherClient
    from service.gen.matcher.v1 import matcher_pb2 as pb

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2


def add_serve_parser(sub: Any) -> None:
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
    p.add_argument("--solve-workers", type=int, help="processes for unary Solve (default 2)")
    p.add_argument("--max-queued-jobs", type=int, help="queued jobs before refusing (100)")
    p.add_argument("--token", help="require 'authorization: Bearer TOKEN' metadata")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate chain (TLS on with --tls-key)")
    p.add_argument("--tls-key", type=Path, help="PEM private key")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    p.add_argument("--job-ttl", type=float, dest="job_ttl_s", help="keep finished jobs (s)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.server import serve
    from service.settings import Settings, describe_error

    names = [
        "host",
        "port",
        "db",
        "workers",
        "solve_workers",
        "max_queued_jobs",
        "token",
        "tls_cert",
        "tls_key",
        "metrics_port",
        "job_ttl_s",
        "log_level",
    ]
    try:
        settings = Settings.load({n: getattr(args, n) for n in names})
    except ValidationError as exc:
        for line in describe_error(exc):
            print(line, file=sys.stderr)
        return EXIT_INVALID
    if bool(settings.tls_cert) != bool(settings.tls_key):
        print("--tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_INVALID
    return serve(settings)


def add_remote_parser(sub: Any) -> None:
    p = sub.add_parser(
        "remote", help="call a running service (solve, submit, watch, replan, recommend, ...)"
    )
    verbs = p.add_subparsers(dest="verb", required=True)

    def connection(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--address",
            default=os.environ.get("MATCHER_ADDRESS", "127.0.0.1:50051"),
            help="host:port (default $MATCHER_ADDRESS or 127.0.0.1:50051)",
        )
        q.add_argument("--token", default=os.environ.get("MATCHER_TOKEN"), help="bearer token")
        q.add_argument("--tls-ca", type=Path, help="PEM root certificate: connect with TLS")

    def common(q: argparse.ArgumentParser) -> None:
        connection(q)
        q.add_argument("-o", "--output", help="write the plan JSON here ('-' for stdout)")
        q.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")

    def solve_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("instance")
        q.add_argument("--solver", dest="assignment_solver")
        q.add_argument("--time-limit", type=float, dest="time_limit_s")
        q.add_argument("--seed", type=int)
        q.add_argument("--workers", type=int)
        q.add_argument("--strategy", choices=["auto", "full", "core", "lns"])
        q.add_argument("--purchasing-solver", dest="purchasing_solver")
        q.add_argument("--routing-solver", dest="routing_solver")
        q.add_argument("--savings-split", choices=["shapley", "proportional"])
        q.add_argument("--shapley-permutations", type=int)
        q.add_argument("--max-suppliers", type=int, dest="max_suppliers_per_material")
        q.add_argument(
            "--no-sharing", action="store_true", help="skip the capacity-sharing analysis"
        )
        q.add_argument("--backups", action="store_true", help="a backup factory per order part")

    q = verbs.add_parser("solve", help="unary Solve; prints the summary, writes the plan")
    common(q)
    solve_options(q)
    q.add_argument("--timeout", type=float, help="call deadline, seconds (the solve stops in time)")
    q.set_defaults(func=_remote_solve)

    q = verbs.add_parser("submit", help="submit a durable job; prints its id")
    common(q)
    solve_options(q)
    q.add_argument("--idempotency-key", default="")
    q.add_argument("--watch", action="store_true", help="then watch it to the end")
    q.set_defaults(func=_remote_submit)

    for verb, func, text in (
        ("watch", "_remote_watch", "follow a job with a live progress bar until it ends"),
        ("get", "_remote_get", "show a job (and write its plan)"),
        ("cancel", "_remote_cancel", "cancel a job; it keeps the best plan found so far"),
    ):
        q = verbs.add_parser(verb, help=text)
        common(q)
        q.add_argument("job_id")
        q.set_defaults(func=globals()[func])

    q = verbs.add_parser("list", help="list jobs, newest first")
    common(q)
    q.add_argument("--limit", type=int, default=50)
    q.set_defaults(func=_remote_list)

    q = verbs.add_parser(
        "replan",
        help="unary Replan: re-plan after a disruption, moving as little as possible",
        description="Send INSTANCE, the previous PLAN and EVENTS (the disruption JSON, as for "
        "'matcher replan') to the service; prints the summary, writes the new plan.",
    )
    common(q)
    solve_options(q)
    q.add_argument("plan", help="the previous plan (JSON)")
    q.add_argument("events", help="the disruption (JSON, docs/sharing.md)")
    q.add_argument(
        "--stability",
        type=int,
        help="cents per unit moved away from its factory (default: the events file's, else "
        "the weights')",
    )
    q.add_argument("--timeout", type=float, help="call deadline, seconds (the solve stops in time)")
    q.set_defaults(func=_remote_replan)

    q = verbs.add_parser(
        "recommend",
        help="unary Recommend: the best factories for one new order, given a plan",
    )
    connection(q)
    q.add_argument("instance")
    q.add_argument("plan")
    q.add_argument("order", help="the order (JSON file, or the id of an order of the instance)")
    q.add_argument("-k", "--top-k", type=int, default=5, help="how many factories (default 5)")
    q.add_argument("--json", action="store_true", help="print the recommendations as JSON")
    q.add_argument("--timeout", type=float, help="call deadline, seconds")
    q.set_defaults(func=_remote_recommend)


# ----------------------------------------------------------------------- verbs


def _client(args: argparse.Namespace) -> MatcherClient:
    from service.client import MatcherClient

    return MatcherClient(args.address, token=args.token, tls_ca=args.tls_ca)


def _params(args: argparse.Namespace) -> dict[str, Any]:
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
    return params


def _rpc_error(exc: grpc.RpcError) -> int:
    import grpc

    from service.errors import field_violations

    code = exc.code()
    violations = field_violations(exc)
    if violations:
        for field, text in violations:
            print(f"{field}: {text}" if field else text, file=sys.stderr)
    else:
        print(f"{code.name}: {exc.details()}", file=sys.stderr)
    return EXIT_INVALID if code == grpc.StatusCode.INVALID_ARGUMENT else EXIT_INTERNAL


def _run(args: argparse.Namespace, body: Any) -> int:
    import grpc

    try:
        with _client(args) as client:
            code: int = body(client)
            return code
    except grpc.RpcError as exc:
        return _rpc_error(exc)


def _write_plan(args: argparse.Namespace, plan_message: pb.Plan) -> None:
    from matcher.cli import err, out, summary
    from service.convert import plan_from_proto

    plan = plan_from_proto(plan_message)
    if args.output == "-":
        print(plan.model_dump_json())
    elif args.output:
        Path(args.output).write_text(plan.model_dump_json(indent=1) + "\n", encoding="utf-8")
    if not args.quiet:
        summary(plan, err if args.output == "-" else out)
        if args.output and args.output != "-":
            out.print(f"plan written to {args.output}")


def _show_job(job: pb.Job) -> None:
    from service.gen.matcher.v1 import matcher_pb2 as pb

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
    from matcher.domain.validation import load_instance

    instance = load_instance(args.instance)

    def body(client: MatcherClient) -> int:
        response = client.solve_raw(instance, timeout=args.timeout, **_params(args))
        _write_plan(args, response.plan)
        return EXIT_OK

    return _run(args, body)


def _remote_submit(args: argparse.Namespace) -> int:
    from matcher.domain.validation import load_instance

    instance = load_instance(args.instance)

    def body(client: MatcherClient) -> int:
        job = client.submit(instance, args.idempotency_key, **_params(args))
        print(job.job_id)
        return _watch(client, args, job.job_id) if args.watch else EXIT_OK

    return _run(args, body)


def _watch(client: MatcherClient, args: argparse.Namespace, job_id: str) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from matcher.cli import err
    from service.gen.matcher.v1 import matcher_pb2 as pb

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


def _remote_list(args: argparse.Namespace) -> int:
    def body(client: MatcherClient) -> int:
        for job in client.list(page_size=args.limit).jobs:
            _show_job(job)
        return EXIT_OK

    return _run(args, body)


def _remote_replan(args: argparse.Namespace) -> int:
    from matcher.cli import replan_inputs

    instance, previous, disruption = replan_inputs(args)

    def body(client: MatcherClient) -> int:
        response = client.replan_raw(
            instance, previous, disruption, timeout=args.timeout, **_params(args)
        )
        _write_plan(args, response.plan)
        return EXIT_OK

    return _run(args, body)


def _remote_recommend(args: argparse.Namespace) -> int:
    from matcher.cli import out, recommend_inputs, recommendations_table

    instance, plan, order = recommend_inputs(args)

    def body(client: MatcherClient) -> int:
        result = client.recommend(instance, plan, order, args.top_k, timeout=args.timeout)
        if args.json:
            print(result.model_dump_json(indent=1))
        else:
            out.print(recommendations_table(result))
        return EXIT_OK

    return _run(args, body)
