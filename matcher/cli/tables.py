"""The rich tables of a plan (summary, purchasing, routing, capacity sharing, re-plan,
constraint report),
of recommendations and of machine schedules, and the end-of-solve output that shows
them: shared by the local commands and their ``remote`` twins, so both print the same.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from matcher.cli.output import err, money, out, write_json
from matcher.domain.plan import (
    CapacityNeeds,
    CapacitySharing,
    ConstraintKind,
    ConstraintReport,
    FairnessReport,
    Plan,
    Purchasing,
    Recommendations,
    Replan,
    ResponsibleConstraint,
    Routing,
)
from matcher.domain.schedule import Schedule


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
        costs.add_row(term, money(getattr(c, term)))
    costs.add_row("[bold]total[/]", f"[bold]{money(c.total)}[/]")
    costs.add_row("objective (weighted)", money(c.objective))
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
    _sections(plan, console)

    stats = Table(title="Solver")
    for col in ("stage", "solver", "status", "objective", "bound", "gap", "first feas.", "time"):
        stats.add_column(col)
    for s in plan.stages:
        stats.add_row(
            s.stage,
            s.solver,
            s.status.value,
            money(s.objective) if s.objective is not None else "-",
            money(s.best_bound) if s.best_bound is not None else "-",
            f"{100 * s.gap:.3f} %" if s.gap is not None else "-",
            f"{s.time_to_first_feasible_s:.2f}s" if s.time_to_first_feasible_s is not None else "-",
            f"{s.wall_time_s:.2f}s",
        )
    console.print(stats)


def _sections(plan: Plan, console: Console) -> None:
    """The tables of the plan's optional sections, those it has."""
    if plan.purchasing is not None:
        console.print(purchasing_table(plan.purchasing))
    if plan.routes is not None:
        console.print(routing_table(plan.routes))
    if plan.capacity_sharing is not None:
        for table in sharing_tables(plan.capacity_sharing):
            console.print(table)
    if plan.replan is not None:
        console.print(replan_table(plan.replan))
    if plan.constraints is not None:
        for table in constraint_tables(plan.constraints, top=5):
            console.print(table)
    if plan.fairness is not None:
        console.print(fairness_table(plan.fairness))
    if plan.capacity_needs is not None:
        console.print(capacity_needs_table(plan.capacity_needs, top=10))
    rounds = plan.stages[0].extra.get("feedback_rounds") if plan.stages else None
    if rounds:
        console.print(feedback_table(rounds))


def capacity_needs_table(c: CapacityNeeds, top: int | None = None) -> Table:
    """One row per factory, resource group and period that needs extra hours (the
    ``top`` with the most, when given)."""
    gap = "" if c.gap is None else f", gap {100 * c.gap:.2f} %"
    t = Table(
        title=f"What it would take: {c.extra_hours:,.2f} extra hours ({c.status}{gap}), "
        f"worth {money(c.worth_cents)} against {c.plan_source}"
    )
    for col in ("factory", "group", "period", "free h", "needed h", "extra h", "worth", "serves"):
        t.add_column(col, justify="left" if col in ("factory", "group", "serves") else "right")
    for r in c.rows[:top]:
        t.add_row(
            r.factory,
            r.resource_group,
            str(r.period),
            f"{r.free_minutes / 60:,.1f}",
            f"{r.needed_minutes / 60:,.1f}",
            f"{r.extra_hours:,.2f}",
            money(r.worth_cents),
            ", ".join(r.serves[:6]) + (f" +{len(r.serves) - 6}" if len(r.serves) > 6 else ""),
        )
    more = len(c.rows) - len(c.rows[:top])
    lines = [f"{more} more row(s) in the plan's capacity_needs"] if more else []
    lines += [
        f"overtime priced at {money(c.overtime_cents_per_hour)} an hour ({c.price_basis})",
        f"lateness saved {money(c.lateness_saved_cents)}, penalties saved "
        f"{money(c.unserved_saved_cents)}, cost change {money(c.cost_change_cents)}",
    ]
    if c.mandatory_served:
        lines.append(f"mandatory orders it serves: {', '.join(c.mandatory_served)}")
    lines += [f"not on time even so: {a.order} ({a.reason}): {a.detail}" for a in c.apart]
    t.caption = "\n".join(lines + c.notes)
    return t


def fairness_table(report: FairnessReport) -> Table:
    """The fairness report in short: concentration of work and revenue, small and new
    factories' shares, load spread, blocking pairs and the price of fairness."""
    t = Table(title="Fairness (docs/fairness-report.md)", show_header=False)
    u, h, r = report.units, report.hours, report.revenue
    t.add_row("Gini units / hours / revenue", f"{u.gini:.3f} / {h.gini:.3f} / {r.gini:.3f}")
    t.add_row(
        f"top 10 % ({report.top_count}) share units / revenue",
        f"{100 * u.top_share:.1f} % / {100 * r.top_share:.1f} %",
    )
    t.add_row(
        f"small factories ({report.small_factories}) units / revenue",
        f"{100 * u.small_share:.1f} % / {100 * r.small_share:.1f} %",
    )
    t.add_row(
        f"new factories ({report.new_factories}) units / revenue",
        f"{100 * u.new_share:.1f} % / {100 * r.new_share:.1f} %",
    )
    t.add_row(
        "utilisation spread (max - min) / std",
        f"{100 * report.utilisation_spread:.1f} pts / {100 * report.utilisation_std:.1f} pts",
    )
    t.add_row(
        "blocking pairs",
        f"{report.blocking_pairs} ({report.blocking_unserved} with an unserved order; "
        f"{report.blocking_orders} orders)",
    )
    price = report.price_of_fairness
    if price is not None:
        pct = "-" if price.percentage is None else f"{price.percentage:+.2f} %"
        t.add_row(
            "price of fairness",
            f"{money(price.difference_cents)} ({pct}): {money(price.cost_with_cents)} with, "
            f"{money(price.cost_without_cents)} without",
        )
        t.add_row(
            "  Gini units with / without",
            f"{price.gini_units_with:.3f} / {price.gini_units_without:.3f}",
        )
        t.add_row("  options", "; ".join(price.options))
    for note in report.notes:
        t.add_row("[bold yellow]note[/]", note)
    return t


def feedback_table(rounds: list[dict[str, Any]]) -> Table:
    """Every feedback round's plan by cost term; the kept one marked."""
    table = Table(title="Feedback rounds (purchasing and transport costs fed back)")
    terms = ("production", "transport", "purchasing", "lateness", "unserved", "total")
    for col in ("round", "served", *terms, "time", "kept"):
        table.add_column(col, justify="right")
    best = max((r["round"] for r in rounds if r["kept"]), default=0)
    for r in rounds:
        mark = "[bold]best[/]" if r["round"] == best else ("yes" if r["kept"] else "no")
        table.add_row(
            str(r["round"]),
            str(r["served"]),
            *(money(r[t]) for t in terms),
            f"{r['wall_s']:.2f}s",
            mark,
        )
    return table


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
                money(need.marginal_cents_per_hour),
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
            if tr.serves_mandatory:
                what += f"; serves mandatory {', '.join(tr.serves_mandatory)}"
            moves.add_row(
                tr.kind.value, what, tr.from_factory, tr.to_factory, money(tr.saving_cents)
            )
        tables.append(moves)
    return tables


def constraint_tables(report: ConstraintReport, top: int | None = None) -> list[Table]:
    """The constraint report: binding capacity (the ``top`` first, default all), binding
    materials, and what holds each late or unserved order."""
    tables: list[Table] = []
    rows = report.binding if top is None else report.binding[:top]
    if rows:
        t = Table(title="Binding capacity: whom it delays or pushes out")
        for col in ("factory", "group", "period", "used / free min", "per extra hour"):
            t.add_column(col, justify="left" if col in ("factory", "group") else "right")
        for col in ("holders", "delays", "pushes out"):
            t.add_column(col)
        for r in rows:
            t.add_row(
                r.factory,
                r.resource_group,
                str(r.period),
                f"{r.used_minutes:,.0f} / {r.free_minutes:,}" + ("" if r.full else "*"),
                "-" if r.marginal_cents_per_hour is None else money(r.marginal_cents_per_hour),
                _names(r.holders),
                _names(r.delays),
                _names(r.pushes_out),
            )
        more = len(report.binding) - len(rows)
        t.caption = "\n".join(
            (
                ["* named by an order, though one more unit still fits in that period"]
                if not all(r.full for r in rows)
                else []
            )
            + ([f"{more} more binding row(s): matcher constraints INSTANCE PLAN"] if more else [])
            + [f"marginal values: {report.marginal_values}"]
        )
        tables.append(t)
    if report.materials:
        t = Table(title="Binding materials")
        for col in ("material", "holds back", "used most by", "why"):
            t.add_column(col)
        for m in report.materials:
            t.add_row(m.material, _names(m.holds_back), _names(m.holders), m.detail)
        tables.append(t)
    if report.orders and top is None:
        t = Table(title="What holds each late or unserved order")
        for col in ("order", "state", "constraints responsible"):
            t.add_column(col)
        for oc in report.orders:
            state = oc.state + (f" ({oc.reason})" if oc.reason else "")
            t.add_row(oc.order, state, "\n".join(_constraint(c) for c in oc.constraints) or "-")
        if report.notes:
            t.caption = "\n".join(report.notes)
        tables.append(t)
    return tables


def _names(names: list[str], most: int = 5) -> str:
    if not names:
        return "-"
    return ", ".join(names[:most]) + (f" +{len(names) - most}" if len(names) > most else "")


def _constraint(c: ResponsibleConstraint) -> str:
    """One responsible constraint on one line."""
    where = _names(c.factories, 4)
    if c.kind == ConstraintKind.CAPACITY and c.resource_group:
        periods = ",".join(str(t) for t in c.periods)
        text = f"capacity {where} {c.resource_group} p{periods}"
    elif c.kind == ConstraintKind.MATERIAL:
        text = f"material {c.material or '?'} at {where}"
    elif c.kind == ConstraintKind.ELIGIBILITY:
        return f"{c.reason}: {where}"
    elif c.kind == ConstraintKind.NOT_WORTH_SERVING and c.cost_cents is not None:
        return (
            f"not worth serving at {where}: {money(c.cost_cents)} vs {money(c.penalty_cents or 0)}"
        )
    elif c.kind == ConstraintKind.NOT_WORTH_SERVING:
        return f"not worth serving at {where} (penalty {money(c.penalty_cents or 0)})"
    else:
        return f"{c.kind.lower()} {where}: {c.detail}"
    return text + (f", held by {_names(c.holders, 3)}" if c.holders else "")


def replan_table(r: Replan) -> Table:
    """What a re-plan changed: events, units kept and moved, cost, new lateness."""
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
    t.add_row("total cost change", money(r.total_delta_cents))
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
    table.add_row("collective cost", money(pu.collective_cents))
    table.add_row(
        "  materials / inbound transport",
        f"{money(pu.material_cents)} / {money(pu.transport_cents)}",
    )
    if pu.standalone_cents is not None and pu.savings_cents is not None:
        table.add_row("stand-alone cost", money(pu.standalone_cents))
        rate = pu.savings_cents / pu.standalone_cents if pu.standalone_cents else 0.0
        table.add_row(
            "[bold]savings[/]", f"[bold]{money(pu.savings_cents)}[/] ({100 * rate:.1f} %)"
        )
    else:
        table.add_row("stand-alone cost", "not computed (stopped)")
    best = sorted(pu.savings_by_material_cents.items(), key=lambda kv: -kv[1])[:3]
    if best:
        table.add_row("  most on", ", ".join(f"{m} {money(v)}" for m, v in best))
    top = sorted(pu.shares, key=lambda s: -s.saving_cents)[:3]
    if top:
        table.add_row(
            "  largest shares", ", ".join(f"{s.factory} {money(s.saving_cents)}" for s in top)
        )
    if pu.core is not None:
        verdict = (
            f"coalition {', '.join(pu.core.blocking_coalition)} gains "
            f"{money(pu.core.excess_cents)} buying {pu.core.material} alone"
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
    """The fleet's routes against sending everything by carrier; with hubs
    (docs/logistics.md), also the line-haul and the legs carried through them, and each
    way's share of the transport cost."""
    table = Table(title=f"Routing ({len(ro.requests)} loads to move)", show_header=False)
    routed = len(ro.requests) - len(ro.unrouted)
    periods = len({r.period for r in ro.routes})
    total = ro.transport_cents
    legs = [r for r in ro.requests if r.hub is not None]
    hubs = bool(legs or ro.line_haul or ro.hub_use or ro.line_haul_cents or ro.handling_cents)

    def share(cents: int) -> str:
        # Without hubs the lines read as they always have: fleet + carrier is the total.
        return f" ({100 * cents / total:.1f} %)" if hubs and total else ""

    table.add_row(
        "fleet",
        f"{ro.vehicles_used} route(s) over {periods} period(s), {ro.distance_km:,.1f} km, "
        f"{routed} load(s), {money(ro.fleet_cents)}{share(ro.fleet_cents)}",
    )
    if hubs:
        modes = Counter(s.mode for s in ro.line_haul)
        kg = sum(s.weight_kg for s in ro.line_haul)
        onward = ro.line_haul_cents + ro.handling_cents
        regions, drops = ro.goods_lanes
        table.add_row(
            "line-haul",
            f"{len(ro.line_haul)} shipment(s) ({modes['ftl']} ftl, {modes['ltl']} ltl, "
            f"{modes['ftl+ltl']} ftl+ltl; goods to "
            f"{regions} region(s), {drops} with several drops), {kg:,.0f} kg, "
            f"{money(ro.line_haul_cents)} + handling {money(ro.handling_cents)}{share(onward)}",
        )
    table.add_row(
        "carrier", f"{len(ro.unrouted)} load(s), {money(ro.carrier_cents)}{share(ro.carrier_cents)}"
    )
    if hubs:
        unrouted = {u.request for u in ro.unrouted}
        carried = [r for r in legs if r.id not in unrouted]
        kinds = Counter(r.kind for r in carried)
        used = len({u.hub for u in ro.hub_use})
        rest = len(legs) - len(carried)
        table.add_row(
            "through hubs",
            f"{len(carried)} / {len(legs)} leg(s) carried ({kinds['goods']} goods, "
            f"{kinds['material']} material), {used} hub(s) used"
            + (f"; {rest} by carrier" if rest else ""),
        )
    saving = ro.estimate_cents - total
    rate = saving / ro.estimate_cents if ro.estimate_cents else 0.0
    table.add_row("[bold]transport[/]", f"[bold]{money(total)}[/]")
    table.add_row(
        "  all by carrier would be", f"{money(ro.estimate_cents)} (saved {100 * rate:.1f} %)"
    )
    if ro.unrouted:
        reasons = Counter(u.reason.value for u in ro.unrouted)
        table.add_row(
            "  carrier because", ", ".join(f"{n} {code}" for code, n in reasons.most_common())
        )
    return table


def recommendations_table(r: Recommendations) -> Table:
    """The ranked factories for a new order, or why none can take it."""
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
            money(o.total_cents),
            money(o.cost_cents),
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


def schedule_table(result: Schedule, objective: str) -> Table:
    """One line per factory of a machine schedule: status, size, lateness, makespan."""
    t = Table(title=f"Machine schedules ({objective})")
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
    return t


def write_plan(plan: Plan, args: argparse.Namespace) -> None:
    """The plan to ``args.output`` and, unless ``args.quiet``, its summary (on stderr
    when the plan itself goes to stdout)."""
    write_json(plan, args.output)
    if not args.quiet:
        summary(plan, err if args.output == "-" else out)
        if args.output and args.output != "-":
            out.print(f"plan written to {args.output}")
