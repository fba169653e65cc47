"""The commands that explain plans without solving: ``diff`` two plans and ``report`` a
plan as one HTML file."""

from __future__ import annotations

import argparse

from rich.table import Table

from matcher.app.diff import PlanDiff, Share, diff_plans
from matcher.check import load_plan
from matcher.cli.inputs import load_schedule
from matcher.cli.output import EXIT_OK, money, out
from matcher.domain.validation import load_instance
from matcher.report import write_report

SHOW = 20
"""Orders listed per table of ``diff``; ``--json`` has them all."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``diff`` and ``report``, in that order."""
    p = sub.add_parser(
        "diff",
        help="what changed between two plans: orders moved, served, cost by term, KPIs",
        description="Plan B against plan A, row by row (docs/report.md).",
    )
    p.add_argument("plan_a", help="the baseline plan (JSON)")
    p.add_argument("plan_b", help="the plan compared with it (JSON)")
    p.add_argument("--json", action="store_true", help="print the whole diff as JSON")
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser(
        "report",
        help="one self-contained HTML report of a plan (charts, map, tables)",
        description="KPI cards, cost by term, Gantt charts per factory, a utilisation "
        "heat-map, a map with the fleet's routes, purchasing savings, capacity-sharing "
        "suggestions, unassigned and late orders (docs/report.md). Opens with no network.",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--schedule", help="its machine schedule (matcher schedule): machine Gantts")
    p.add_argument("-o", "--output", default="report.html", help="HTML path (default report.html)")
    p.set_defaults(func=_cmd_report)


def _cmd_diff(args: argparse.Namespace) -> int:
    d = diff_plans(load_plan(args.plan_a), load_plan(args.plan_b))
    if args.json:
        print(d.model_dump_json(indent=1))
        return EXIT_OK
    for table in diff_tables(d):
        out.print(table)
    for note in d.notes:
        out.print(f"[bold yellow]note[/]: {note}")
    if d.unchanged:
        out.print("the plans are the same")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    schedule = None if args.schedule is None else load_schedule(args.schedule)
    path = write_report(args.output, instance, plan, schedule)
    print(path.resolve())
    return EXIT_OK


def diff_tables(d: PlanDiff) -> list[Table]:
    """Costs and KPIs side by side, then the orders that changed."""
    return [*_figure_tables(d), *_order_tables(d)]


def _figure_tables(d: PlanDiff) -> list[Table]:
    costs = Table(title=f"Cost by term: A ({d.status_a}) -> B ({d.status_b})")
    for col in ("term", "A", "B", "delta", "delta %"):
        costs.add_column(col, justify="left" if col == "term" else "right")
    for t in d.costs:
        counted = t.name in ("credit", "moved_units")
        fmt = _count if counted else money
        costs.add_row(t.name, fmt(t.a), fmt(t.b), _signed(fmt(t.delta), t.delta), _pct(t.relative))
    kpis = Table(title="KPIs")
    for col in ("kpi", "A", "B", "delta"):
        kpis.add_column(col, justify="left" if col == "kpi" else "right")
    for k in d.kpis:
        if k.name.endswith("_rate"):
            kpis.add_row(
                k.name, f"{100 * k.a:.1f} %", f"{100 * k.b:.1f} %", f"{100 * k.delta:+.1f} pp"
            )
        else:
            kpis.add_row(k.name, _count(k.a), _count(k.b), f"{k.delta:+,.0f}")
    tables = [costs, kpis]
    if d.factories:
        f = Table(title="Units by factory (changed only)")
        for col in ("factory", "A", "B", "delta"):
            f.add_column(col, justify="left" if col == "factory" else "right")
        for r in d.factories[:SHOW]:
            f.add_row(r.factory, f"{r.a:,}", f"{r.b:,}", f"{r.delta:+,}")
        _more(f, len(d.factories))
        tables.append(f)
    return tables


def _order_tables(d: PlanDiff) -> list[Table]:
    tables = []
    if d.moved:
        moved = Table(
            title=f"Orders moved ({len(d.moved)}, {d.moved_units:,} units left their factory)"
        )
        for col in ("order", "kind", "units moved", "A: op factory units periods", "B"):
            moved.add_column(col, justify="right" if col == "units moved" else "left")
        for m in d.moved[:SHOW]:
            moved.add_row(
                m.order,
                m.kind,
                f"{m.moved_units:,}",
                "\n".join(_share(s) for s in m.before),
                "\n".join(_share(s) for s in m.after),
            )
        _more(moved, len(d.moved))
        tables.append(moved)
    for title, rows in (
        ("Newly served (reason: why A left it out)", d.newly_served),
        ("Newly unserved (reason: why B leaves it out)", d.newly_unserved),
        ("Unserved in both, another reason in B", d.reason_changed),
    ):
        if not rows:
            continue
        t = Table(title=f"{title}: {len(rows)}")
        for col in ("order", "reason", "factories", "detail"):
            t.add_column(col)
        for r in rows[:SHOW]:
            reason = (r.reason.value if r.reason else "-") + (" (mandatory)" if r.mandatory else "")
            t.add_row(r.order, reason, ", ".join(r.factories) or "-", r.detail)
        _more(t, len(rows))
        tables.append(t)
    if d.newly_late or d.no_longer_late:
        late = Table(title="Lateness", show_header=False)
        late.add_row("newly late", _ids(d.newly_late))
        late.add_row("no longer late", _ids(d.no_longer_late))
        tables.append(late)
    return tables


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _share(s: Share) -> str:
    if not s.periods:
        return f"op{s.operation} {s.factory} {s.units:,}"
    span = f"{s.periods[0]}..{s.periods[-1]}" if len(s.periods) > 1 else str(s.periods[0])
    return f"op{s.operation} {s.factory} {s.units:,} p{span}"


def _more(table: Table, n: int) -> None:
    if n > SHOW:
        table.caption = f"{n - SHOW} more: --json lists them all"


def _ids(ids: list[str]) -> str:
    text = ", ".join(ids[:SHOW])
    return text + (f" and {len(ids) - SHOW} more" if len(ids) > SHOW else "") if ids else "none"


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else text


def _pct(relative: float | None) -> str:
    return "-" if relative is None else f"{100 * relative:+.2f} %"
