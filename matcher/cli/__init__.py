"""The ``matcher`` command line: solve, validate, check, generate, schema, bench, serve,
remote.

Exit codes: 0 success (a solve with unassigned orders is a success), 1 internal
error, 2 invalid input (each problem on its own line with its path), 3 the plan
checker found violations.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from matcher.check import PlanFormatError
from matcher.domain.consistency import Issue
from matcher.domain.params import Progress, SolveParams
from matcher.domain.plan import CapacitySharing, Plan, Purchasing, Recommendations, Replan, Routing
from matcher.domain.validation import InvalidInstanceError, load_instance

if TYPE_CHECKING:
    from matcher.bench import BenchRow, RunSettings, Summary
    from matcher.domain.entities import Order
    from matcher.domain.events import Disruption
    from matcher.domain.instance import Instance

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
    for term in ("production", "transport", "lateness", "unserved", "purchasing"):
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
    if plan.purchasing is not None:
        console.print(purchasing_table(plan.purchasing))
    if plan.routes is not None:
        console.print(routing_table(plan.routes))
    if plan.capacity_sharing is not None:
        for table in sharing_tables(plan.capacity_sharing):
            console.print(table)
    if plan.replan is not None:
        console.print(replan_table(plan.replan))

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


def sharing_tables(cs: CapacitySharing, top: int = 5) -> list[Table]:
    """The top capacity-sharing suggestions: where capacity pays, what is idle, transfers."""
    tables: list[Table] = []
    if cs.extra_capacity_pays:
        pays = Table(title="Where extra capacity pays most (LP duals, objective per hour)")
        for col in ("factory", "group", "period", "per extra hour"):
            pays.add_column(col, justify="right" if col == "per extra hour" else "left")
        for need in cs.extra_capacity_pays[:top]:
            pays.add_row(
                need.factory,
                need.resource_group,
                str(need.period),
                _money(need.marginal_cents_per_hour),
            )
        tables.append(pays)
    if cs.idle_to_offer:
        idle = Table(title="Idle capacity to offer")
        for col in ("factory", "group", "processes", "periods", "idle h"):
            idle.add_column(col, justify="right" if col == "idle h" else "left")
        for offer in cs.idle_to_offer[:top]:
            periods = offer.periods
            span = f"{periods[0]}..{periods[-1]}" if len(periods) > 1 else str(periods[0])
            idle.add_row(
                offer.factory,
                offer.resource_group,
                ", ".join(offer.processes),
                f"{span} ({len(periods)})",
                f"{offer.idle_hours:,.1f}",
            )
        tables.append(idle)
    if cs.transfers:
        moves = Table(title="Suggested transfers (saving re-solved)")
        for col in ("kind", "what", "from", "to", "saving"):
            moves.add_column(col, justify="right" if col == "saving" else "left")
        for tr in cs.transfers[:top]:
            what = (
                f"{tr.quantity} x {tr.order}"
                if tr.kind.value == "MOVE_WORK"
                else f"{tr.hours:g} h {tr.resource_group} p{tr.period}"
            )
            moves.add_row(
                tr.kind.value, what, tr.from_factory, tr.to_factory, _money(tr.saving_cents)
            )
        tables.append(moves)
    return tables


def replan_table(r: Replan) -> Table:
    t = Table(title="Re-plan: what changed", show_header=False)
    for line in r.events:
        t.add_row("event", line)
    t.add_row("frozen units kept", f"{r.frozen_units:,}")
    t.add_row("orders moved", f"{r.orders_moved} ({r.moved_units:,} units moved away)")
    for m in r.moves[:8]:
        t.add_row(
            "  move", f"{m.order}: {m.units} units {m.from_factory or '-'} -> {m.to_factory or '-'}"
        )
    if len(r.moves) > 8:
        t.add_row("  ...", f"{len(r.moves) - 8} more in the plan's replan.moves")
    t.add_row("total cost change", _money(r.total_delta_cents))
    t.add_row("newly late", ", ".join(r.newly_late[:8]) or "none")
    t.add_row("newly unserved", ", ".join(u.order for u in r.newly_unserved[:8]) or "none")
    for line in r.released + r.conflicts:
        t.add_row("[bold yellow]note[/]", line)
    return t


def purchasing_table(pu: Purchasing) -> Table:
    """Collective against stand-alone buying, and where the savings go."""
    table = Table(
        title=f"Collective purchasing ({len(pu.purchases)} purchases, split: {pu.split_method})",
        show_header=False,
    )
    table.add_row("collective cost", _money(pu.collective_cents))
    table.add_row(
        "  materials / inbound transport",
        f"{_money(pu.material_cents)} / {_money(pu.transport_cents)}",
    )
    if pu.standalone_cents is not None and pu.savings_cents is not None:
        table.add_row("stand-alone cost", _money(pu.standalone_cents))
        rate = pu.savings_cents / pu.standalone_cents if pu.standalone_cents else 0.0
        table.add_row(
            "[bold]savings[/]", f"[bold]{_money(pu.savings_cents)}[/] ({100 * rate:.1f} %)"
        )
    else:
        table.add_row("stand-alone cost", "not computed (stopped)")
    best = sorted(pu.savings_by_material_cents.items(), key=lambda kv: -kv[1])[:3]
    if best:
        table.add_row("  most on", ", ".join(f"{m} {_money(v)}" for m, v in best))
    top = sorted(pu.shares, key=lambda s: -s.saving_cents)[:3]
    if top:
        table.add_row(
            "  largest shares", ", ".join(f"{s.factory} {_money(s.saving_cents)}" for s in top)
        )
    if pu.core is not None:
        verdict = (
            f"coalition {', '.join(pu.core.blocking_coalition)} gains "
            f"{_money(pu.core.excess_cents)} buying {pu.core.material} alone"
            if pu.core.blocking_coalition
            else "no coalition gains by leaving"
        )
        scope = "all" if pu.core.exhaustive else "sampled"
        table.add_row("core check", f"{verdict} ({pu.core.coalitions_checked} coalitions, {scope})")
    if pu.shortages:
        reasons = Counter(s.reason.value for s in pu.shortages)
        table.add_row(
            "[bold red]needs not covered[/]",
            ", ".join(f"{n} {code}" for code, n in reasons.most_common()),
        )
    return table


def routing_table(ro: Routing) -> Table:
    """The fleet's routes against sending everything by carrier."""
    table = Table(title=f"Routing ({len(ro.requests)} loads to move)", show_header=False)
    routed = len(ro.requests) - len(ro.unrouted)
    periods = len({r.period for r in ro.routes})
    table.add_row(
        "fleet",
        f"{ro.vehicles_used} route(s) over {periods} period(s), {ro.distance_km:,.1f} km, "
        f"{routed} load(s), {_money(ro.fleet_cents)}",
    )
    table.add_row("carrier", f"{len(ro.unrouted)} load(s), {_money(ro.carrier_cents)}")
    total = ro.fleet_cents + ro.carrier_cents
    saving = ro.estimate_cents - total
    rate = saving / ro.estimate_cents if ro.estimate_cents else 0.0
    table.add_row("[bold]transport[/]", f"[bold]{_money(total)}[/]")
    table.add_row(
        "  all by carrier would be", f"{_money(ro.estimate_cents)} (saved {100 * rate:.1f} %)"
    )
    if ro.unrouted:
        reasons = Counter(u.reason.value for u in ro.unrouted)
        table.add_row(
            "  carrier because", ", ".join(f"{n} {code}" for code, n in reasons.most_common())
        )
    return table


def _params(args: argparse.Namespace) -> SolveParams:
    return SolveParams(
        assignment_solver=args.solver,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        max_candidates=args.max_candidates,
        hard_mandatory=args.hard_mandatory,
        strategy=args.strategy,
        purchasing_solver=args.purchasing_solver,
        routing_solver=args.routing_solver,
        savings_split=args.savings_split,
        shapley_permutations=args.shapley_permutations,
        max_suppliers_per_material=args.max_suppliers,
        sharing=not args.no_sharing,
        backups=args.backups,
    )


def _cmd_solve(args: argparse.Namespace) -> int:
    from matcher.app.pipeline import plan as run_plan

    instance = load_instance(args.instance)
    params = _params(args)
    with _LiveProgress(not args.quiet) as live:
        result = run_plan(instance, params, live)
    _write_plan(result, args)
    return EXIT_OK


def replan_inputs(args: argparse.Namespace) -> tuple[Instance, Plan, Disruption]:
    """The instance, previous plan and disruption of ``replan`` (local or remote)."""
    from matcher.check import load_plan
    from matcher.domain.events import load_disruption

    instance = load_instance(args.instance)
    previous = load_plan(args.plan)
    disruption = load_disruption(args.events, instance)
    if args.stability is not None:
        disruption = disruption.model_copy(update={"stability": args.stability})
    return instance, previous, disruption


def recommend_inputs(args: argparse.Namespace) -> tuple[Instance, Plan, Order]:
    """The instance, plan and new order of ``recommend`` (local or remote)."""
    from matcher.app.recommend import load_order
    from matcher.check import load_plan

    instance = load_instance(args.instance)
    return instance, load_plan(args.plan), load_order(args.order, instance)


def _cmd_replan(args: argparse.Namespace) -> int:
    from matcher.app.replan import replan

    instance, previous, disruption = replan_inputs(args)
    with _LiveProgress(not args.quiet) as live:
        result = replan(instance, previous, disruption, _params(args), live)
    _write_plan(result, args)
    return EXIT_OK


def _cmd_recommend(args: argparse.Namespace) -> int:
    from matcher.app.recommend import recommend

    instance, plan, order = recommend_inputs(args)
    result = recommend(instance, plan, order, args.top_k)
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        out.print(recommendations_table(result))
    return EXIT_OK


def _cmd_schedule(args: argparse.Namespace) -> int:
    from matcher.app.schedule import schedule_plan
    from matcher.check import check_schedule, load_plan

    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    result = schedule_plan(
        instance, plan, args.factory, args.time_limit, args.workers, args.seed, args.objective
    )
    _write_json(result, args.output)
    if not args.quiet:
        console = err if args.output == "-" else out
        t = Table(title=f"Machine schedules ({args.objective})")
        for col in ("factory", "status", "machines", "lots", "late lots", "makespan", "time"):
            t.add_column(col, justify="left" if col in ("factory", "status") else "right")
        for f in result.factories:
            t.add_row(
                f.factory,
                f.status.value,
                str(len(f.machines)),
                str(sum(len(m.lots) for m in f.machines)),
                str(f.late_lots),
                "-" if f.makespan_minute is None else f"{f.makespan_minute / 60:,.1f} h",
                f"{f.wall_time_s:.2f}s",
            )
        console.print(t)
    violations = check_schedule(instance, plan, result)
    for v in violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    return EXIT_CHECK_FAILED if violations else EXIT_OK


def recommendations_table(r: Recommendations) -> Table:
    t = Table(title=f"Factories for {r.order} ({r.wall_time_s * 1000:.0f} ms)")
    for col in ("#", "factory", "total", "cost", "done by", "late", "credit", "would move"):
        t.add_column(col, justify="left" if col in ("factory", "would move") else "right")
    for o in r.options:
        moves = "; ".join(
            f"{d.units} x {d.order} {d.from_factory}->{d.to_factory}" for d in o.displaced
        )
        t.add_row(
            str(o.rank),
            o.factory,
            _money(o.total_cents),
            _money(o.cost_cents),
            str(o.completion_period),
            str(o.late_units),
            str(o.credit_score),
            moves or "-",
        )
    if not r.options:
        t.caption = r.reason or "no capable factory can take it: " + "; ".join(
            f"{f}: {why}" for f, why in list(r.not_possible.items())[:5]
        )
    return t


def _write_json(result: BaseModel, output: str | None) -> None:
    """``result`` as JSON to ``output`` ('-': stdout, compact; None: nowhere)."""
    text = result.model_dump_json(indent=1 if output != "-" else None)
    if output == "-":
        print(text)
    elif output:
        Path(output).write_text(text + "\n", encoding="utf-8")


def _write_plan(result: Plan, args: argparse.Namespace) -> None:
    _write_json(result, args.output)
    if not args.quiet:
        summary(result, err if args.output == "-" else out)
        if args.output and args.output != "-":
            out.print(f"plan written to {args.output}")


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
    from matcher.check import check_files, check_replan_files

    if args.schedule is not None:
        return _check_schedule_file(args)
    if (args.previous is None) != (args.events is None):
        raise ValueError("--previous and --events go together (they check a re-plan)")
    if args.previous is not None:
        report = check_replan_files(args.instance, args.plan, args.previous, args.events)
    else:
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


def _check_schedule_file(args: argparse.Namespace) -> int:
    from matcher.check import check_schedule, load_plan
    from matcher.domain.schedule import Schedule

    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    try:
        schedule = Schedule.model_validate_json(Path(args.schedule).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInstanceError(
            [Issue("schedule", f"cannot read {args.schedule}: {exc}")]
        ) from None
    violations = check_schedule(instance, plan, schedule)
    for v in violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    if violations:
        print(f"{len(violations)} violation(s)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    lots = sum(len(m.lots) for f in schedule.factories for m in f.machines)
    out.print(f"schedule OK: {lots} lots on their machines, calendars, chains and the plan")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from matcher.generate import generate, instance_json

    instance = generate(
        args.orders, args.factories, args.periods, args.seed, by_operation=args.by_operation
    )
    text = instance_json(instance, indent=None if args.compact else 1)
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
    from matcher.domain.instance import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


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
    from matcher.bench import REFERENCE_FIELDS

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
    gap = "-" if s.mean_gap_pct is None else f"{s.mean_gap_pct:.2f} %"
    wall = "-" if s.median_wall_s is None else f"{s.median_wall_s:.2f} s"
    return (
        f"{s.solver}: mean gap {gap} over {s.with_gap} of {s.runs}; "
        f"optimal {s.optimal} (proved, verified), = BKS {s.equal_bks}; "
        f"infeasible or failed {s.failed}; median wall {wall}"
    )


def summary_table(summaries: Sequence[Summary]) -> Table:
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
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as ProgressBar

    from matcher.bench import record_name, run_entry

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
    from matcher import bench

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


def _parser() -> argparse.ArgumentParser:
    from solvers.assignment.base import available
    from solvers.purchasing.solve import available as purchasing_available
    from solvers.routing.base import available as routing_available

    parser = argparse.ArgumentParser(
        prog="matcher", description="Cloud-factory order matching and capacity scheduling."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve an instance and write the plan")
    p.add_argument("instance")
    _solve_options(p, available(), purchasing_available(), routing_available())
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser(
        "replan",
        help="re-plan after a disruption, moving as little as possible",
        description="Apply EVENTS (factory outages, capacity cuts, orders added, cancelled or "
        "changed; frozen work; now_period) to the plan and re-solve with a stability penalty "
        "per unit moved (docs/sharing.md).",
    )
    p.add_argument("instance")
    p.add_argument("plan", help="the previous plan (JSON)")
    p.add_argument("events", help="the disruption (JSON, docs/sharing.md)")
    p.add_argument(
        "--stability",
        type=int,
        default=None,
        help="cents per unit moved away from its factory (default: the events file's, else "
        "the weights')",
    )
    _solve_options(p, available(), purchasing_available(), routing_available())
    p.set_defaults(func=_cmd_replan)

    p = sub.add_parser(
        "schedule",
        help="machine-by-machine schedules of a plan's work (CP-SAT), checked",
        description="Schedule the plan's lots on the machines of each resource group, in "
        "their calendars (docs/scheduling.md); the schedule is verified before exit.",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--factory", help="only this factory (default: every factory with work)")
    p.add_argument("-o", "--output", help="schedule JSON path ('-' for stdout)")
    p.add_argument("--objective", choices=["tardiness", "makespan"], default="tardiness")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds in all (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=_cmd_schedule)

    p = sub.add_parser(
        "recommend",
        help="the best factories for one new order, given a plan's remaining capacity",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("order", help="the order (JSON file, or the id of an order of the instance)")
    p.add_argument("-k", "--top-k", type=int, default=5, help="how many factories (default 5)")
    p.add_argument("--json", action="store_true", help="print the recommendations as JSON")
    p.set_defaults(func=_cmd_recommend)

    p = sub.add_parser("validate", help="validate an instance; list every problem")
    p.add_argument("instance")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("check", help="verify a plan against its instance, recomputing costs")
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--previous", help="a re-plan: the plan it started from")
    p.add_argument("--events", help="a re-plan: the disruption it answered")
    p.add_argument("--schedule", help="check this machine schedule of the plan instead")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("generate", help="generate a realistic random instance")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--factories", type=int, required=True)
    p.add_argument("--periods", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="instance JSON path ('-' for stdout)")
    p.add_argument("--compact", action="store_true", help="no indentation")
    p.add_argument(
        "--by-operation",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share (0..1) of the multi-operation orders split by operation "
        "(split.by_operation: each operation may run at its own factories, docs/model.md); "
        "a quarter of them ask for a chain no single factory offers. Drawn from a separate "
        "stream of the seed: 0 (default) gives the same instance as without the option",
    )
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("schema", help="print the instance JSON Schema")
    p.set_defaults(func=_cmd_schema)

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

    from service.cli import add_remote_parser, add_serve_parser  # argparse only, no gRPC

    add_serve_parser(sub)
    add_remote_parser(sub)
    return parser


def _solve_options(
    p: argparse.ArgumentParser,
    solvers: list[str],
    purchasing_solvers: list[str],
    routing_solvers: list[str],
) -> None:
    p.add_argument("-o", "--output", help="plan JSON path ('-' for stdout)")
    p.add_argument("--solver", default="cpsat", choices=solvers)
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument(
        "--max-candidates", type=int, default=0, help="cheapest N factories per order (0 = all)"
    )
    p.add_argument("--hard-mandatory", action="store_true", help="mandatory orders as hard rows")
    p.add_argument(
        "--strategy",
        choices=["auto", "full", "core", "lns"],
        default="auto",
        help="cpsat: whole model, LP-reduced-cost core, large-neighbourhood search, or pick "
        "by size (default)",
    )
    p.add_argument("--purchasing-solver", default="auto", choices=purchasing_solvers)
    p.add_argument("--routing-solver", default="auto", choices=routing_solvers)
    p.add_argument("--savings-split", choices=["shapley", "proportional"], default="shapley")
    p.add_argument(
        "--shapley-permutations",
        type=int,
        default=200,
        help="sampled Shapley above 12 factories per material (default 200)",
    )
    p.add_argument("--max-suppliers", type=int, default=None, help="most suppliers per material")
    p.add_argument("--no-sharing", action="store_true", help="skip the capacity-sharing analysis")
    p.add_argument(
        "--backups", action="store_true", help="capacity sharing: a backup factory per order part"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (InvalidInstanceError, PlanFormatError) as exc:
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
