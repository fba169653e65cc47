"""``matcher compare``: two solver configurations over a set of instances, with
pass/fail thresholds on cost and KPIs; exit code 1 when any fails (a regression).

The comparison itself is :mod:`matcher.app.compare`, imported in the command: it
loads the pipeline (OR-Tools), which ``matcher --help`` should not wait for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from matcher.check import check_plan
from matcher.cli.output import EXIT_OK, err, money, out
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import load_instance

if TYPE_CHECKING:
    from matcher.app.compare import Comparison, InstanceComparison

EXIT_REGRESSION = 1
"""A threshold failed, or the checker rejected a plan (the issue's acceptance-test code)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="run two solver configurations over instances; fail on a KPI regression",
        description="Plan every INSTANCE with configuration A (the baseline) and B (the "
        "candidate), verify both plans, and judge B against A per instance with the "
        "thresholds given; exit code 1 when any fails. A configuration is key=value pairs "
        "of solve parameters: solver, time_limit, seed, workers, strategy, "
        "purchasing_solver, routing_solver, feedback, sharing, ... (docs/report.md).",
    )
    p.add_argument("instances", nargs="+", metavar="INSTANCE")
    p.add_argument("--a", default="", help="baseline configuration, e.g. 'solver=greedy'")
    p.add_argument("--b", default="", help="candidate configuration, e.g. 'solver=cpsat'")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="default 1: deterministic")
    p.add_argument(
        "--max-cost-increase",
        type=_percent,
        metavar="PCT",
        help="B's total cost may exceed A's by at most PCT percent ('1%%' or '1')",
    )
    p.add_argument(
        "--min-fill-rate-delta",
        type=_percent,
        metavar="PP",
        help="B's fill rate minus A's, in percentage points, at least PP (e.g. -0.5)",
    )
    p.add_argument(
        "--min-on-time-delta",
        type=_percent,
        metavar="PP",
        help="B's on-time rate minus A's, in percentage points, at least PP",
    )
    p.add_argument(
        "--max-late-increase", type=int, metavar="N", help="B may have at most N more late orders"
    )
    p.add_argument("--json", metavar="OUT", help="write the comparison as JSON ('-': stdout)")
    p.add_argument("-q", "--quiet", action="store_true", help="no table; the exit code only")
    p.set_defaults(func=_cmd_compare)


def _percent(text: str) -> float:
    """'1%' or '1' -> 1.0 (percent or percentage points)."""
    try:
        return float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None


def _cmd_compare(args: argparse.Namespace) -> int:
    from matcher.app.compare import Thresholds, compare, parse_config  # loads OR-Tools

    base = SolveParams(time_limit_s=args.time_limit, seed=args.seed, workers=args.workers)
    a, b = parse_config(args.a, base), parse_config(args.b, base)
    thresholds = Thresholds(
        max_cost_increase_pct=args.max_cost_increase,
        min_fill_rate_delta_pp=args.min_fill_rate_delta,
        min_on_time_delta_pp=args.min_on_time_delta,
        max_late_increase=args.max_late_increase,
    )
    instances = [(Path(path).stem, load_instance(path)) for path in args.instances]
    console = err if args.json == "-" else out

    def progress(row: InstanceComparison) -> None:
        if not args.quiet:
            verdict = "pass" if row.passed else "[bold red]FAIL[/]"
            console.print(f"{row.instance}: {verdict}")

    result = compare(instances, a, b, thresholds, violations, progress)
    if args.json == "-":
        print(result.model_dump_json(indent=1))
    elif args.json:
        Path(args.json).write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    if not args.quiet:
        console.print(
            compare_table(result, f"A: {args.a or 'defaults'}   B: {args.b or 'defaults'}")
        )
        failed = [
            f"{row.instance}: {v.check} {v.value:,.3f} (limit {v.limit:,.3f})"
            for row in result.instances
            for v in row.verdicts
            if not v.passed
        ]
        for line in failed:
            print(f"regression: {line}", file=sys.stderr)
        console.print("compare: [bold]pass[/]" if result.passed else "compare: [bold red]FAIL[/]")
    return EXIT_OK if result.passed else EXIT_REGRESSION


def violations(instance: Instance, plan: Plan) -> int:
    """What the independent checker finds wrong with ``plan``: compare's verifier."""
    return len(check_plan(instance, plan).violations)


def compare_table(c: Comparison, title: str) -> Table:
    """One line per instance: both configurations' cost and KPIs, the deltas, the verdict
    (wall times are in the JSON)."""
    t = Table(title=title)
    cols = ("instance", "total A", "total B", "cost", "fill A", "fill B", "on-time A")
    for col in (*cols, "on-time B", "late A/B", "moved", "verdict"):
        t.add_column(col, justify="left" if col in ("instance", "verdict") else "right")
    for row in c.instances:
        a, b = row.a, row.b
        cost = (
            f"{100 * (b.total_cents - a.total_cents) / abs(a.total_cents):+.2f} %"
            if a.total_cents
            else "-"
        )
        failed = [v.check for v in row.verdicts if not v.passed]
        t.add_row(
            row.instance,
            money(a.total_cents),
            money(b.total_cents),
            cost,
            f"{100 * a.fill_rate:.1f} %",
            f"{100 * b.fill_rate:.1f} %",
            f"{100 * a.on_time_rate:.1f} %",
            f"{100 * b.on_time_rate:.1f} %",
            f"{a.orders_late}/{b.orders_late}",
            str(row.orders_moved),
            "pass" if row.passed else "[bold red]FAIL[/] " + ", ".join(failed),
        )
    return t
