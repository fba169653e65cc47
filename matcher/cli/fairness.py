"""``matcher fairness INSTANCE PLAN``: the fairness report of a plan on file, recomputed
from its rows (docs/fairness-report.md). The price of fairness needs a re-solve and is
kept as the plan states it (a plan made without options has none)."""

from __future__ import annotations

import argparse

from rich.table import Table

from matcher.app.fairness_report import fairness_report
from matcher.check import load_plan
from matcher.cli.output import EXIT_OK, money, out
from matcher.cli.tables import fairness_table
from matcher.domain.plan import FairnessReport
from matcher.domain.validation import load_instance


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``fairness``."""
    p = sub.add_parser(
        "fairness",
        help="how work and revenue spread over the factories, and the blocking pairs",
        description="The fairness report of PLAN, recomputed from its rows: per factory units, "
        "machine hours, revenue and shares; Gini, top-10 %, small and new factories' shares; "
        "utilisation spread; blocking pairs (docs/fairness-report.md). The price of fairness "
        "is the plan's own (it needs a re-solve, which only a solve makes).",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_fairness)


def _cmd_fairness(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    stated = plan.fairness
    price = None if stated is None else stated.price_of_fairness
    notes = [] if stated is None else [n for n in stated.notes if n.startswith("price of")]
    report = fairness_report(instance, plan, price=price, notes=notes)
    if args.json:
        print(report.model_dump_json(indent=1))
        return EXIT_OK
    out.print(fairness_table(report))
    out.print(factories_table(report))
    if report.blocking_listed:
        out.print(blocking_table(report))
    return EXIT_OK


def factories_table(report: FairnessReport) -> Table:
    """Every factory's work, revenue, shares and load, most revenue first."""
    t = Table(title=f"Work per factory ({len(report.factories)})")
    cols = ("factory", "units", "hours", "revenue", "share u/h/r %", "util.", "small", "new")
    for col in cols:
        t.add_column(col, justify="left" if col == "factory" else "right")
    for f in sorted(report.factories, key=lambda f: (-f.revenue_cents, f.factory)):
        t.add_row(
            f.factory,
            f"{f.units:,}",
            f"{f.hours:,.1f}",
            money(f.revenue_cents),
            f"{100 * f.units_share:.1f} / {100 * f.hours_share:.1f} / {100 * f.revenue_share:.1f}",
            "-" if f.utilisation is None else f"{100 * f.utilisation:.1f} %",
            "yes" if f.small else "",
            "yes" if f.new else "",
        )
    t.caption = (
        f"small: declared capacity at most {report.small_capacity_minutes:,} min over the "
        f"horizon (lowest quartile); new: fewer than {report.new_factory_records} trade records"
    )
    return t


def blocking_table(report: FairnessReport) -> Table:
    """The listed blocking pairs: largest saving first, then unserved orders'."""
    t = Table(
        title=f"Blocking pairs ({report.blocking_pairs}; first {len(report.blocking_listed)})"
    )
    for col in ("order", "factory", "pays now", "would pay there", "saving"):
        t.add_column(col, justify="left" if col in ("order", "factory") else "right")
    for p in report.blocking_listed:
        t.add_row(
            p.order,
            p.factory,
            "unserved" if p.price_now_cents is None else money(p.price_now_cents),
            money(p.price_cents),
            "-" if p.saving_cents is None else money(p.saving_cents),
        )
    t.caption = (
        "the factory is eligible, has free capacity to make the whole order by its due date, "
        "and the order would pay less there (production + transport estimate) or is unserved"
    )
    return t
