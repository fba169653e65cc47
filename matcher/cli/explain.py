"""``matcher explain INSTANCE PLAN ORDER``: why one order is where the plan puts it,
factory by factory; ``matcher constraints INSTANCE PLAN``: what binds in the plan and
whom it delays or pushes out; ``matcher capacity-needs INSTANCE [PLAN]``: the extra
hours that would serve every order on time (docs/explain.md).

The application modules are imported when the command runs: they load OR-Tools, which
``matcher --help`` should not wait for.
"""

from __future__ import annotations

import argparse

from rich.table import Table

from matcher.check import load_plan
from matcher.cli.output import EXIT_OK, money, out
from matcher.cli.tables import capacity_needs_table, constraint_tables
from matcher.domain.params import SolveParams
from matcher.domain.plan import BlockingKind, FactoryVerdict, OrderExplanation
from matcher.domain.validation import load_instance


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``explain`` and ``constraints``, in that order."""
    p = sub.add_parser(
        "explain",
        help="why one order is where the plan puts it (or unserved), factory by factory",
        description="For every factory: why an ineligible one is out; for an eligible one, "
        "the cost of making the whole order there by term, what blocks it (resource, periods "
        "and the orders holding them, or the material) and the objective change of moving "
        "the order there, re-solved exactly (docs/explain.md).",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("order", help="the id of an order of the instance")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON")
    p.add_argument(
        "--time-limit",
        type=float,
        default=4.0,
        help="seconds of re-solves in all (deterministic time; default 4)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser(
        "constraints",
        help="what binds in a plan, whom it delays or pushes out, and what holds each late "
        "or unserved order",
        description="The constraint report (docs/explain.md): binding factory, resource and "
        "period with its marginal value and the orders it delays or pushes out, binding "
        "materials, and per late or unserved order the constraints responsible. No "
        "re-solves; the plan's own explanations are reused.",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_constraints)

    p = sub.add_parser(
        "capacity-needs",
        help="what it would take: the extra hours per factory, resource and period that serve "
        "every order on time, and what they are worth",
        description="A relaxed solve in which capacity can be bought at a high stated price "
        "(docs/explain.md, 'What it would take'), compared with PLAN (default: a plain solve).",
    )
    p.add_argument("instance")
    p.add_argument("plan", nargs="?", help="the constrained plan (default: solve the instance)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--time-limit", type=float, default=20.0, help="seconds of the relaxed solve (default 20)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="1 (default): reproducible")
    p.add_argument(
        "--overtime-cents-per-hour",
        type=int,
        default=None,
        help="the price of an extra hour (default: derived from the instance and stated)",
    )
    p.set_defaults(func=_cmd_capacity_needs)


def _cmd_explain(args: argparse.Namespace) -> int:
    from matcher.app.explain import explain_order  # loads OR-Tools: only when explaining

    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    params = SolveParams(workers=1, seed=args.seed)
    result = explain_order(instance, plan, args.order, params, args.time_limit)
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        out.print(explanation_table(result))
    return EXIT_OK


def _cmd_constraints(args: argparse.Namespace) -> int:
    from matcher.app.constraints import constraint_report  # loads OR-Tools: only here

    instance = load_instance(args.instance)
    report = constraint_report(instance, load_plan(args.plan))
    if args.json:
        print(report.model_dump_json(indent=1))
    else:
        tables = constraint_tables(report)
        for table in tables:
            out.print(table)
        if not tables:
            out.print("nothing binds: no late or unserved order and no full capacity")
    return EXIT_OK


def _cmd_capacity_needs(args: argparse.Namespace) -> int:
    from matcher.app.capacity_needs import capacity_needs  # loads OR-Tools: only here

    instance = load_instance(args.instance)
    plan = load_plan(args.plan) if args.plan else None
    params = SolveParams(workers=args.workers, seed=args.seed, time_limit_s=args.time_limit)
    result = capacity_needs(instance, params, plan, args.overtime_cents_per_hour)
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        out.print(capacity_needs_table(result))
    return EXIT_OK


def explanation_table(e: OrderExplanation) -> Table:
    """One row per factory: eligible ones first, cheapest first, then the others."""
    where = ", ".join(e.plan_factories) or "nowhere"
    head = f"{e.order}: {e.state}" + (f" ({e.reason})" if e.reason else "") + f", made at {where}"
    t = Table(title=f"{head}; its share of the objective {money(e.plan_objective)}")
    for col in ("factory", "verdict", "cost", "by term", "in the way", "move (re-solved)"):
        t.add_column(col, justify="right" if col in ("cost", "move (re-solved)") else "left")
    for f in e.factories:
        if not f.eligible:
            t.add_row(f.factory, str(f.reason), "", "", f.detail, "")
            continue
        c = f.cost
        t.add_row(
            f.factory,
            "in the plan" if f.in_plan else "eligible",
            "" if c is None else money(c.objective) + ("" if c.placed_in == "free" else "*"),
            "" if c is None else _terms(f),
            _blocking(f),
            _move(f),
        )
    notes = ["* not placed in the capacity the plan leaves: priced on the empty factory", *e.notes]
    if e.best_move:
        notes.insert(0, f"best move: {e.best_move}")
    if e.detail:
        notes.insert(0, f"plan: {e.detail}")
    t.caption = "\n".join(notes)
    return t


def _terms(f: FactoryVerdict) -> str:
    c = f.cost
    assert c is not None
    text = f"prod {money(c.production)}, transp {money(c.transport)}"
    if c.lateness:
        text += f", late {money(c.lateness)} ({c.late_units} u)"
    if c.credit:
        text += f", credit {c.credit}"
    return text


def _blocking(f: FactoryVerdict) -> str:
    b = f.blocking
    if b is None or b.kind == BlockingKind.NONE:
        return "-" if b is None else b.detail
    where = f"{b.resource} in periods {_periods(b.periods)}" if b.resource else b.material or ""
    holders = ", ".join(b.holders[:5]) + (f" +{len(b.holders) - 5}" if len(b.holders) > 5 else "")
    return (
        f"{b.kind.lower()} {where}" + (f", held by {holders}" if holders else "") + f": {b.detail}"
    )


def _periods(periods: list[int]) -> str:
    if not periods:
        return "-"
    if periods == list(range(periods[0], periods[-1] + 1)) and len(periods) > 2:
        return f"{periods[0]}..{periods[-1]}"
    return ",".join(str(t) for t in periods)


def _move(f: FactoryVerdict) -> str:
    m = f.move
    if m is None or not m.re_solved:
        return "-" if m is None else m.detail
    if m.objective_delta is None:
        return f"{m.status}: {m.detail}"
    sign = "+" if m.objective_delta > 0 else ""
    proved = "" if m.status == "OPTIMAL" else f" ({m.status}, not proved)"
    return f"{sign}{money(m.objective_delta)}{proved}"
