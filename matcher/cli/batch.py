"""``matcher batch`` (many instances, one checked plan each, a summary) and ``matcher
scenarios`` (what-if variants of one instance against its base plan), on local
processes or a Ray cluster (docs/batch.md).

:mod:`matcher.batch` and the executor are imported in the commands: the tasks load
OR-Tools and ``--executor ray`` loads Ray, which ``matcher --help`` should not wait for.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher.app.catalogue import solver_names
from matcher.app.executor import EXECUTORS, opened
from matcher.cli.output import EXIT_INVALID, EXIT_OK, err, out, print_issues
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance

if TYPE_CHECKING:
    from matcher.batch.batch import BatchRow, BatchSummary
    from matcher.batch.scenarios import ScenarioComparison, ScenarioRow

EXIT_FAILED = 1
"""Some instance or scenario failed (unreadable, invalid, a solver error, a worker that
died, a plan the checker rejects); the others' plans are written all the same."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``batch`` and ``scenarios``."""
    p = sub.add_parser(
        "batch",
        help="solve many instances (local processes or a Ray cluster), check every plan",
        description="Solve each INSTANCE as one task, verify its plan with the independent "
        "checker in the task, and write DIR/<instance>.plan.json and DIR/summary.json and "
        "summary.csv. A failing instance is reported with its reason and the others go on; "
        "a plan already in DIR that the checker accepts for the instance is kept. Exit "
        "code 0 when every instance is solved (or kept), 1 when any failed (docs/batch.md).",
    )
    p.add_argument("instances", nargs="+", metavar="INSTANCE")
    _common(p, "the plans and the summary")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser(
        "scenarios",
        help="what-if variants of an instance from a spec file, compared with its base plan",
        description="Solve INSTANCE and every scenario of SPEC (capacity, demand, a "
        "factory out, supplier prices, a new order: docs/batch.md) through one executor, "
        "check every plan, and compare each scenario with the base plan: cost by term, "
        "KPIs and the orders that change factory (DIR/comparison.json and .csv). A bad "
        "spec lists every problem with its path and solves nothing (exit code 2).",
    )
    p.add_argument("instance")
    p.add_argument("spec", help="the scenarios (JSON, docs/batch.md)")
    _common(p, "the plans and the comparison")
    p.set_defaults(func=_cmd_scenarios)


def _common(p: argparse.ArgumentParser, what: str) -> None:
    names = solver_names()
    p.add_argument("-o", "--output", required=True, metavar="DIR", help=f"directory for {what}")
    g = p.add_argument_group("where the tasks run")
    g.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: processes on this machine (default); ray: tasks on a Ray cluster",
    )
    g.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the cluster's address (host:port, ray://host:port); default: a local Ray "
        "started for the run with this machine's CPUs",
    )
    g.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="tasks at once (default: local, CPUs / --workers; ray: what the cluster's CPUs allow)",
    )
    g = p.add_argument_group("solve options (each task)")
    g.add_argument("--solver", default="cpsat", choices=names["assignment"])
    g.add_argument("--time-limit", type=float, default=30.0, help="seconds per solve (default 30)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--workers",
        type=int,
        default=1,
        help="solver threads per task (default 1: deterministic; tasks run side by side)",
    )
    g.add_argument(
        "--strategy",
        choices=["auto", "full", "core", "lns"],
        default="auto",
        help="cpsat strategy (default: by size)",
    )
    g.add_argument("--max-candidates", type=int, default=0, help="cheapest N factories per order")
    g.add_argument("--hard-mandatory", action="store_true", help="mandatory orders as hard rows")
    g.add_argument("--purchasing-solver", default="auto", choices=names["purchasing"])
    g.add_argument("--routing-solver", default="auto", choices=names["routing"])
    g.add_argument("--no-sharing", action="store_true", help="skip the capacity-sharing analysis")
    g.add_argument("--no-feedback", action="store_true", help="run the stages once, in sequence")
    g.add_argument(
        "--set",
        default="",
        metavar="KEY=VALUE,...",
        help="any other solve parameter, as matcher compare's configurations "
        "(e.g. 'savings_split=proportional,backups=true')",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no table")


def _params(args: argparse.Namespace) -> SolveParams:
    params = SolveParams(
        assignment_solver=args.solver,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        strategy=args.strategy,
        max_candidates=args.max_candidates,
        hard_mandatory=args.hard_mandatory,
        purchasing_solver=args.purchasing_solver,
        routing_solver=args.routing_solver,
        sharing=not args.no_sharing,
        feedback=not args.no_feedback,
    )
    if args.set:
        from matcher.app.compare import parse_config  # loads OR-Tools: only with --set

        params = parse_config(args.set, params)
    return params


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[str, bool, str], None]]:
    """A progress bar on a terminal (a line per task elsewhere, unless quiet); yields
    the callback that advances it."""
    if enabled and err.is_terminal:
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=err,
            transient=True,
        )
        task = bar.add_task("solving", total=total, last="")
        with bar:

            def advance(name: str, ok: bool, what: str) -> None:
                bar.advance(task)
                last = f"{name}: {what}"
                bar.update(task, last=last if len(last) <= 40 else last[:39] + "…")
                if not ok:
                    bar.console.print(f"[red]failed[/] {name}: {what}")

            yield advance
        return

    def line(name: str, ok: bool, what: str) -> None:
        if enabled:
            err.print(f"{name}: {what}", soft_wrap=True)

    yield line


def _cmd_batch(args: argparse.Namespace) -> int:
    from matcher.batch.batch import run_batch  # loads the checker and the task

    params = _params(args)
    with (
        opened(args.executor, args.jobs, args.ray_address) as executor,
        _progress(len(args.instances), not args.quiet) as advance,
    ):

        def on_row(row: BatchRow) -> None:
            advance(row.instance, row.ok, row.error or row.outcome)

        summary = run_batch(args.instances, args.output, params, executor, on_row)
    if not args.quiet:
        out.print(batch_table(summary))
        _reasons([(r.instance, r.outcome, r.error) for r in summary.rows])
        out.print(f"summary written to {args.output}/summary.json and summary.csv")
    return EXIT_OK if summary.ok else EXIT_FAILED


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from matcher.batch.scenarios import SpecError, load_spec, run_scenarios

    params = _params(args)
    instance = load_instance(args.instance)
    try:
        spec, variants = load_spec(args.spec, instance)
    except SpecError as exc:
        print_issues(exc.issues)
        return EXIT_INVALID
    with (
        opened(args.executor, args.jobs, args.ray_address) as executor,
        _progress(len(variants) + 1, not args.quiet) as advance,
    ):

        def on_row(row: ScenarioRow) -> None:
            advance(row.scenario, row.outcome != "failed", row.error or row.outcome)

        result = run_scenarios(instance, spec, variants, args.output, params, executor, on_row)
    if not args.quiet:
        out.print(scenario_table(result))
        _reasons([(r.scenario, r.outcome, r.error) for r in [result.base, *result.scenarios]])
        out.print(f"comparison written to {args.output}/comparison.json and comparison.csv")
    return EXIT_OK if result.ok else EXIT_FAILED


def _short(cents: float) -> str:
    """Money in a few characters (12.3 k, 7.10 M): a table of many columns stays on the
    screen; the JSON and CSV have the cents."""
    units = cents / 100
    for size, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(units) >= size:
            return f"{units / size:,.2f}{suffix}"
    return f"{units:,.2f}"


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f} %"


def batch_table(s: BatchSummary) -> Table:
    """One line per instance: solve status (or what became of it), checker, objective
    and the main cost terms, fill rate, gap and wall time (every term is in the CSV)."""
    counts = ", ".join(f"{n} {what}" for what, n in sorted(s.counts.items()))
    t = Table(title=f"batch on {s.executor}: {counts}; {s.wall_s:.1f} s")
    cols = ("instance", "status", "check", "objective", "production", "transport")
    for col in (*cols, "purchasing", "unserved", "fill", "gap", "wall s"):
        t.add_column(col, justify="left" if col in cols[:3] else "right", no_wrap=True)
    for row in s.rows:
        f = row.figures
        if f is None:
            t.add_row(row.instance, f"[bold red]{row.outcome}[/]", *["-"] * 8, f"{row.wall_s:.1f}")
            continue
        status = "kept" if row.outcome != "solved" and row.ok else f.status
        c = f.costs
        t.add_row(
            row.instance,
            status,
            "ok" if f.check_ok else f"[red]{f.violations} violations[/]",
            _short(c["objective"]),
            _short(c["production"]),
            _short(c["transport"]),
            _short(c["purchasing"]),
            _short(c["unserved"]),
            _pct(f.fill_rate),
            "-" if f.gap is None else f"{100 * f.gap:.2f} %",
            f"{row.wall_s:.1f}",
        )
    return t


def _reasons(rows: Sequence[tuple[str, str, str | None]]) -> None:
    """Why each (name, outcome, error) failed, one line each under the table rather than
    wrapped in it."""
    for name, outcome, error in rows:
        if error:
            print(f"{outcome}: {name}: {error}", file=sys.stderr)


def scenario_table(c: ScenarioComparison) -> Table:
    """One line per scenario: its changes, total cost and objective with their deltas
    against the base, fill and on-time rates, and how many orders change factory (which
    ones: the JSON and CSV)."""
    t = Table(title=f"scenarios of {c.instance} on {c.executor}; {c.wall_s:.1f} s")
    for col in ("scenario", "changes", "outcome", "objective", "total", "Δ total"):
        t.add_column(col, justify="left" if col in ("scenario", "changes", "outcome") else "right")
    for col in ("fill", "Δ fill pp", "on-time", "orders moved"):
        t.add_column(col, justify="right")
    for row in [c.base, *c.scenarios]:
        f = row.figures
        outcome = row.outcome if row.ok else f"[bold red]{row.outcome}[/]"
        if f is None:
            t.add_row(row.scenario, row.changes, outcome, *["-"] * 7)
            continue
        d = row.cost_deltas
        delta = "-"
        if d is not None:
            pct = "" if row.total_delta_pct is None else f" ({row.total_delta_pct:+.2f} %)"
            delta = ("+" if d["total"] > 0 else "") + _short(d["total"]) + pct
        moved = row.orders_changed_factory
        t.add_row(
            row.scenario,
            row.changes,
            outcome,
            _short(f.costs["objective"]),
            _short(f.costs["total"]),
            delta,
            _pct(f.fill_rate),
            "-" if row.fill_rate_delta_pp is None else f"{row.fill_rate_delta_pp:+.1f}",
            _pct(f.on_time_rate),
            "-" if d is None else str(len(moved)),
        )
    return t
