"""``matcher bench``: solve benchmark instances, verify them, compare with the best
known, and the tables that report it.

:mod:`matcher.bench` is imported where it is used: it loads the engines (OR-Tools),
which the other commands' start-up should not pay for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar
from rich.table import Table
from rich.text import Text

from matcher.cli.output import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, err, out
from matcher.domain.params import SolveParams

if TYPE_CHECKING:
    from matcher.bench import BenchRow, RunSettings, Summary


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``bench``."""
    p = sub.add_parser(
        "bench",
        help="solve benchmark instances, verify them and compare with the best known",
        description="Solve the entries of a benchmark index, verify each solution against "
        "the raw data and report the gap to the best-known value (docs/bench.md).",
    )
    p.add_argument("index", help="index.json (file paths in it are relative to it)")
    p.add_argument("--names", action="append", help="only these entries (comma-separated)")
    p.add_argument("--sets", action="append", help="only entries of these sets (comma-separated)")
    p.add_argument(
        "--solver",
        action="append",
        help="solver to run, repeatable (default: the family's default solver)",
    )
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument("--json", metavar="OUT", help="write JSON lines as runs finish ('-': stdout)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_bench)


def _csv(values: Sequence[str] | None) -> list[str]:
    """``--names a,b --names c`` -> ``[a, b, c]``."""
    return [v.strip() for text in values or () for v in text.split(",") if v.strip()]


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} %"


def bench_table(rows: Sequence[BenchRow], title: str) -> Table:
    """One line per entry and solver, failures in red; a ``vehicles`` column (routes
    used) when any row has one (routing)."""
    from matcher.bench import REFERENCE_FIELDS  # loads the engines: only for bench tables

    vehicles = any(r.vehicles is not None for r in rows)
    caption = "BKS*: proven optimal"
    for family in sorted({r.family for r in rows if r.family in REFERENCE_FIELDS}):
        caption += f"; BKS of {family}: the index's {REFERENCE_FIELDS[family][0]}"
    table = Table(title=title, caption=caption)
    columns = ["name", "solver", "objective", "BKS", "gap %", "status", "wall s", "feasible"]
    if vehicles:
        columns.insert(3, "vehicles")
    for col in columns:
        table.add_column(col, justify="left" if col in ("name", "solver", "status") else "right")
    table.add_column("note", overflow="fold")
    for r in rows:
        bks = _num(r.bks) + ("*" if r.bks_is_optimal else "")
        cells: list[str | Text] = [Text(r.name), r.solver, _num(r.objective)]
        if vehicles:
            cells.append(_num(r.vehicles))
        cells += [
            bks,
            _pct(r.gap_pct),
            r.status,
            f"{r.wall_s:.2f}",
            "yes" if r.feasible else "[bold red]no[/]",
            Text(r.message),
        ]
        table.add_row(*cells, style="red" if r.failed else None)
    return table


def summary_line(s: Summary) -> str:
    """One solver's results in one line, for a run with a single solver."""
    gap = "-" if s.mean_gap_pct is None else f"{s.mean_gap_pct:.2f} %"
    wall = "-" if s.median_wall_s is None else f"{s.median_wall_s:.2f} s"
    return (
        f"{s.solver}: mean gap {gap} over {s.with_gap} of {s.runs}; "
        f"optimal {s.optimal} (proved, verified), = BKS {s.equal_bks}; "
        f"infeasible or failed {s.failed}; median wall {wall}"
    )


def summary_table(summaries: Sequence[Summary]) -> Table:
    """One line per solver, to compare them when a run had several."""
    table = Table(title="Summary per solver")
    for col in ("solver", "runs", "mean gap", "median wall", "optimal", "= BKS", "failed"):
        table.add_column(col, justify="left" if col == "solver" else "right")
    for s in summaries:
        table.add_row(
            s.solver,
            str(s.runs),
            _pct(s.mean_gap_pct) + (f" ({s.with_gap})" if s.with_gap != s.runs else ""),
            "-" if s.median_wall_s is None else f"{s.median_wall_s:.2f} s",
            str(s.optimal),
            str(s.equal_bks),
            str(s.failed),
        )
    return table


def _bench_runs(
    chosen: Sequence[tuple[int, dict[str, Any]]],
    base_dir: Path,
    solvers: list[str],
    settings: RunSettings,
    sink: TextIO | None,
    progress: bool,
) -> tuple[list[BenchRow], bool]:
    """Every entry with every solver, JSON lines written as they finish; interrupted?"""
    from matcher.bench import record_name, run_entry  # loads the engines: only when run

    rows: list[BenchRow] = []
    bar = ProgressBar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        redirect_stdout=False,  # JSON lines on stdout must stay there
        redirect_stderr=False,
        disable=not progress or not err.is_terminal,
    )
    try:
        with bar:
            task = bar.add_task("bench", total=len(chosen) * max(1, len(solvers)))
            for position, record in chosen:
                bar.update(task, description=record_name(record, position))
                for row in run_entry(record, base_dir, solvers or None, settings, position):
                    rows.append(row)
                    if sink is not None:
                        sink.write(json.dumps(row.to_json()) + "\n")
                        sink.flush()
                    bar.advance(task)
    except KeyboardInterrupt:
        return rows, True
    return rows, False


def _cmd_bench(args: argparse.Namespace) -> int:
    from matcher import bench  # loads the engines: only when benchmarking

    try:
        index = bench.load_index(args.index)
        chosen = bench.select(index.records, _csv(args.names), _csv(args.sets))
    except bench.BenchIndexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    solvers = list(dict.fromkeys(args.solver or ()))
    problems = bench.check_solvers([r for _, r in chosen], solvers)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    # Bad limits fail here (exit 2), not once per entry.
    SolveParams(time_limit_s=args.time_limit, seed=args.seed, workers=args.workers)
    settings = bench.RunSettings(args.time_limit, args.seed, args.workers)

    with contextlib.ExitStack() as stack:
        sink: TextIO | None = sys.stdout if args.json == "-" else None
        if args.json and args.json != "-":
            try:
                sink = stack.enter_context(open(args.json, "w", encoding="utf-8"))
            except OSError as exc:
                print(f"error: {args.json}: {exc.strerror or exc}", file=sys.stderr)
                return EXIT_INVALID
        rows, interrupted = _bench_runs(
            chosen, index.base_dir, solvers, settings, sink, progress=not args.quiet
        )
    console = err if args.json == "-" else out
    runs = len(chosen) * max(1, len(solvers))
    title = (
        f"{index.path}: time limit {args.time_limit:g} s, seed {args.seed}, workers {args.workers}"
    )
    console.print(bench_table(rows, title))
    summaries = bench.summarise_by_solver(rows)
    ran = [s.solver for s in summaries if s.solver != bench.NO_SOLVER]
    if len(ran) > 1:
        console.print(summary_table(summaries))
    else:  # one line, entries that failed before a solver was chosen included
        console.print(summary_line(bench.summarise(rows, ran[0] if ran else bench.NO_SOLVER)))
    if interrupted:
        print(f"interrupted after {len(rows)} of {runs} runs", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK
