"""``matcher remote ...``: the parser of the verbs that call a running service.

Building this parser loads nothing of gRPC: the ``matcher`` command builds it on every
run, and gRPC and the generated code load only when a remote verb runs
(:mod:`matcher.cli.remote_verbs`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``remote`` and its verbs; ``args.verb`` picks what :func:`_call` runs."""
    p = sub.add_parser(
        "remote",
        help="call a running service (solve, submit, watch, replan, recommend, explain, ...)",
    )
    p.set_defaults(func=_call)
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
        q.add_argument(
            "--no-feedback", action="store_true", help="run the stages once, in sequence"
        )

    q = verbs.add_parser("solve", help="unary Solve; prints the summary, writes the plan")
    common(q)
    solve_options(q)
    q.add_argument("--timeout", type=float, help="call deadline, seconds (the solve stops in time)")

    q = verbs.add_parser("submit", help="submit a durable job; prints its id")
    common(q)
    solve_options(q)
    q.add_argument("--idempotency-key", default="")
    q.add_argument("--watch", action="store_true", help="then watch it to the end")

    for verb, text in (
        ("watch", "follow a job with a live progress bar until it ends"),
        ("get", "show a job (and write its plan)"),
        ("cancel", "cancel a job; it keeps the best plan found so far"),
    ):
        q = verbs.add_parser(verb, help=text)
        common(q)
        q.add_argument("job_id")

    q = verbs.add_parser(
        "explain",
        help="unary Explain: why one order is where the plan puts it, factory by factory",
        description="Send INSTANCE, PLAN and the id of one of its orders to the service; "
        "prints the explanation as 'matcher explain' does (docs/explain.md).",
    )
    connection(q)
    q.add_argument("instance")
    q.add_argument("plan")
    q.add_argument("order", help="the id of an order of the instance")
    q.add_argument("--json", action="store_true", help="print the explanation as JSON")
    q.add_argument(
        "--time-limit", type=float, help="seconds of re-solves (default: the server's, 4)"
    )
    q.add_argument("--seed", type=int)
    q.add_argument("--timeout", type=float, help="call deadline, seconds")

    q = verbs.add_parser(
        "report",
        help="a job's HTML plan report (self-contained; docs/report.md)",
        description="Fetch the HTML report of a job that has a plan; write it, print its path.",
    )
    connection(q)
    q.add_argument("job_id")
    q.add_argument("-o", "--output", default="report.html", help="HTML path (default report.html)")
    q.add_argument("--timeout", type=float, help="call deadline, seconds")

    q = verbs.add_parser("list", help="list jobs, newest first")
    common(q)
    q.add_argument("--limit", type=int, default=50)

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


def _call(args: argparse.Namespace) -> int:
    from matcher.cli.remote_verbs import VERBS  # loads gRPC: only when a remote verb runs

    return VERBS[args.verb](args)
