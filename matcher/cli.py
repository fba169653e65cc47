"""The ``matcher`` command line: solve, validate, check, generate, schema.

Exit codes: 0 success (a solve with unassigned orders is a success), 1 internal
error, 2 invalid input (each problem on its own line with its path), 3 the plan
checker found violations.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from matcher.params import Progress, SolveParams
from matcher.result import Plan
from matcher.validation import InvalidInstanceError, Issue, load_instance

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_CHECK_FAILED = 0, 1, 2, 3

# Wide enough for the summary tables when output is piped (rich defaults to 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 120)


def _money(cents: float) -> str:
    return f"{cents / 100:,.2f}"


def _print_issues(issues: Sequence[Issue]) -> None:
    for issue in issues:
        # Plain print: one problem per line, easy to grep, no wrapping.
        print(f"error: {issue}", file=sys.stderr)
    print(f"{len(issues)} error(s)", file=sys.stderr)


class _LiveProgress:
    """A live line (incumbent, bound, gap, elapsed) shown once a solve passes 1 s."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and err.is_terminal
        self.latest: Progress | None = None
        self.start = time.perf_counter()
        self.live: Live | None = None
        self.lock = threading.Lock()
        self.timer = threading.Timer(1.0, self._show)

    def __enter__(self) -> _LiveProgress:
        if self.enabled:
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        with self.lock:
            if self.live is not None:
                self.live.stop()
                self.live = None

    def _show(self) -> None:
        with self.lock:
            self.live = Live(self._render(), console=err, refresh_per_second=4, transient=True)
            self.live.start()
            self.live.get_renderable = self._render  # type: ignore[method-assign]

    def _render(self) -> Text:
        elapsed = time.perf_counter() - self.start
        p = self.latest
        if p is None:
            return Text(f"solving... {elapsed:5.1f}s  (no incumbent yet)")
        gap = f"{100 * p.gap:.2f}%" if p.gap is not None else "-"
        bound = _money(p.best_bound) if p.best_bound is not None else "-"
        obj = _money(p.objective) if p.objective is not None else "-"
        return Text(
            f"solving [{p.solver}] {elapsed:5.1f}s  incumbent {obj}  bound {bound}  gap {gap}"
        )

    def __call__(self, progress: Progress) -> None:
        self.latest = progress


def summary(plan: Plan, console: Console) -> None:
    """Readable end-of-solve summary: service, costs, busiest factories, solver."""
    k = plan.kpis
    head = Table(title=f"Plan for {plan.instance}: {plan.status}", show_header=False)
    head.add_row("orders", str(k.orders))
    head.add_row("served", f"{k.orders_served} ({100 * k.fill_rate:.1f} %)")
    head.add_row("  on time", f"{k.orders_on_time} ({100 * k.on_time_rate:.1f} % of served)")
    head.add_row("  late", str(k.orders_late))
    reasons = Counter(u.reason.value for u in plan.unassigned)
    head.add_row("unassigned", str(k.orders_unassigned))
    for code, n in reasons.most_common():
        head.add_row(f"  {code}", str(n))
    mandatory = sum(1 for u in plan.unassigned if u.mandatory)
    if mandatory:
        head.add_row("  [bold red]mandatory unserved[/]", str(mandatory))
    head.add_row("factories used", str(k.factories_used))
    console.print(head)

    c = plan.costs
    costs = Table(title="Cost (currency units)")
    costs.add_column("term")
    costs.add_column("amount", justify="right")
    for term in ("production", "transport", "lateness", "unserved"):
        costs.add_row(term, _money(getattr(c, term)))
    costs.add_row("[bold]total[/]", f"[bold]{_money(c.total)}[/]")
    costs.add_row("objective (weighted)", _money(c.objective))
    console.print(costs)

    busy = Table(title="Busiest factories")
    for col in ("factory", "orders", "used h", "free h", "utilisation"):
        busy.add_column(col, justify="right" if col != "factory" else "left")
    for row in plan.kpis.factory_utilisation[:8]:
        busy.add_row(
            row.factory,
            str(row.orders),
            f"{row.used_minutes / 60:,.1f}",
            f"{row.free_minutes / 60:,.1f}",
            f"{100 * row.utilisation:.1f} %",
        )
    console.print(busy)

    stats = Table(title="Solver")
    for col in ("stage", "solver", "status", "objective", "bound", "gap", "first feas.", "time"):
        stats.add_column(col)
    for s in plan.stages:
        stats.add_row(
            s.stage,
            s.solver,
            s.status.value,
            _money(s.objective) if s.objective is not None else "-",
            _money(s.best_bound) if s.best_bound is not None else "-",
            f"{100 * s.gap:.3f} %" if s.gap is not None else "-",
            f"{s.time_to_first_feasible_s:.2f}s" if s.time_to_first_feasible_s is not None else "-",
            f"{s.wall_time_s:.2f}s",
        )
    console.print(stats)


def _cmd_solve(args: argparse.Namespace) -> int:
    from matcher.pipeline import plan as run_plan

    instance = load_instance(args.instance)
    params = SolveParams(
        assignment_solver=args.solver,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        max_candidates=args.max_candidates,
        hard_mandatory=args.hard_mandatory,
        strategy=args.strategy,
    )
    with _LiveProgress(not args.quiet) as live:
        result = run_plan(instance, params, live)
    text = result.model_dump_json(indent=1 if args.output != "-" else None)
    if args.output == "-":
        print(text)
    elif args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    if not args.quiet:
        summary(result, err if args.output == "-" else out)
        if args.output and args.output != "-":
            out.print(f"plan written to {args.output}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    n_caps = sum(len(f.capabilities) for f in instance.factories)
    out.print(
        f"{args.instance}: valid — {len(instance.orders)} orders, "
        f"{len(instance.factories)} factories ({n_caps} capabilities), "
        f"{len(instance.suppliers)} suppliers, {len(instance.fleet.vehicles)} vehicles, "
        f"{instance.horizon.periods} periods"
    )
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from matcher.check import check_files

    report = check_files(args.instance, args.plan)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for v in report.violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    if not report.ok:
        print(f"{len(report.violations)} violation(s)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    c = report.recomputed
    out.print(
        f"plan OK: feasible, costs recomputed (total {_money(c.total)}, "
        f"objective {_money(c.objective)})"
    )
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from matcher.generate import generate

    instance = generate(args.orders, args.factories, args.periods, args.seed)
    text = instance.model_dump_json(exclude_none=True, indent=None if args.compact else 1)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        out.print(
            f"wrote {args.output}: {len(instance.orders)} orders, "
            f"{len(instance.factories)} factories, {instance.horizon.periods} periods"
        )
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from matcher.models import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    from solvers.assignment.base import available

    parser = argparse.ArgumentParser(
        prog="matcher", description="Cloud-factory order matching and capacity scheduling."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve an instance and write the plan")
    p.add_argument("instance")
    p.add_argument("-o", "--output", help="plan JSON path ('-' for stdout)")
    p.add_argument("--solver", default="cpsat", choices=available())
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument(
        "--max-candidates", type=int, default=0, help="cheapest N factories per order (0 = all)"
    )
    p.add_argument("--hard-mandatory", action="store_true", help="mandatory orders as hard rows")
    p.add_argument(
        "--strategy",
        choices=["auto", "full", "lns"],
        default="auto",
        help="cpsat: whole model, large-neighbourhood search, or pick by size (default)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("validate", help="validate an instance; list every problem")
    p.add_argument("instance")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("check", help="verify a plan against its instance, recomputing costs")
    p.add_argument("instance")
    p.add_argument("plan")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("generate", help="generate a realistic random instance")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--factories", type=int, required=True)
    p.add_argument("--periods", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="instance JSON path ('-' for stdout)")
    p.add_argument("--compact", action="store_true", help="no indentation")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("schema", help="print the instance JSON Schema")
    p.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except InvalidInstanceError as exc:
        _print_issues(exc.issues)
        return EXIT_INVALID
    except ValueError as exc:  # bad parameter combinations
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:
        if args.debug:
            raise
        logging.getLogger("matcher").error("internal error: %s: %s", type(exc).__name__, exc)
        print("internal error (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
