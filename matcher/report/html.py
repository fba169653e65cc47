"""The report as one self-contained HTML file: plotly.js embedded once, then every
section's cards, charts and tables (docs/report.md).

Nothing is fetched when the file opens: no CDN, no map tiles, no fonts. Every chart
sits in a ``<div class="chart" data-chart="NAME">`` so a test (or a person) can count
them; every cap on what a chart or table shows is stated next to it.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from matcher.domain.instance import Instance
from matcher.domain.plan import CapacitySharing, HubUse, Plan, Routing
from matcher.domain.schedule import Schedule
from matcher.report import figures
from matcher.report.views import (
    MAX_TABLE_ROWS,
    allocation_gantts,
    capped_note,
    late_orders,
    map_view,
    money,
    schedule_gantts,
    utilisation_heatmap,
)

_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #1f2d3d; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
nav { padding: 8px 24px; background: #fff; border-bottom: 1px solid #ddd; font-size: 14px; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
main { padding: 8px 24px 40px; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px;
          margin: 16px 0; padding: 12px 16px; }
section h2 { margin: 4px 0 8px; font-size: 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #e1e4e8; border-radius: 6px; padding: 8px 14px; min-width: 140px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { font-size: 12px; color: #666; }
.note { color: #8a5a00; font-size: 13px; margin: 4px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin: 8px 0; }
.muted { color: #777; }
"""


@dataclass
class Section:
    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)


@dataclass
class _Charts:
    """Numbers the chart divs and embeds plotly.js before the first one only."""

    names: list[str] = field(default_factory=list)

    def div(self, name: str, fig: go.Figure) -> str:
        self.names.append(name)
        body = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{len(self.names)}-{name}",
            config=_CONFIG,
        )
        return f'<div class="chart" data-chart="{html.escape(name)}">{body}</div>'


def build_report(instance: Instance, plan: Plan, schedule: Schedule | None = None) -> str:
    """The whole report as one HTML document.

    Parameters
    ----------
    instance
        The instance the plan solves (coordinates, due dates, calendars).
    plan
        The plan to report.
    schedule
        Its machine schedule (``matcher schedule``), for the machine-by-machine charts.

    Returns
    -------
    str
        A self-contained HTML document; plotly.js is inlined once in its head.
    """
    charts = _Charts()
    sections = [
        _kpis(plan),
        _costs(plan, charts),
        _production(plan, instance, charts),
    ]
    if schedule is not None:
        sections.append(_machines(schedule, instance, charts))
    sections += [
        _utilisation(plan, instance, charts),
        _map(plan, instance, charts),
        _purchasing(plan, charts),
        _sharing(plan.capacity_sharing),
        _unserved(plan, instance, charts),
        _solver(plan),
    ]
    h = instance.horizon
    title = f"Plan report: {plan.instance}"
    subtitle = (
        f"status {plan.status.value}; {len(instance.orders)} orders, "
        f"{len(instance.factories)} factories, {h.periods} periods of {h.period_minutes} min "
        f"from {h.start_date.isoformat()}"
    )
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>\n'
        + "\n".join(s.parts)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<meta name="matcher-charts" content="{len(charts.names)}">\n'
        f"<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        "</head><body>\n"
        f"<header><h1>{html.escape(title)}</h1><div>{html.escape(subtitle)}</div></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main></body></html>\n"
    )


def write_report(
    path: str | Path, instance: Instance, plan: Plan, schedule: Schedule | None = None
) -> Path:
    """Write :func:`build_report` to ``path``; the path written."""
    p = Path(path)
    p.write_text(build_report(instance, plan, schedule), encoding="utf-8")
    return p


def _note(text: str | None) -> str:
    return f'<p class="note">{html.escape(text)}</p>' if text else ""


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()
) -> str:
    """An HTML table of at most MAX_TABLE_ROWS rows, and a note when more were left out."""
    nums = set(numeric)
    all_rows = list(rows)
    shown = all_rows[:MAX_TABLE_ROWS]
    head = "".join(
        f'<th class="{"n" if i in nums else ""}">{html.escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if i in nums else ""}">{html.escape(str(c))}</td>'
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in shown
    )
    note = capped_note(len(shown), len(all_rows), "rows", "the first in the order shown")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + _note(note)


def _kpis(plan: Plan) -> Section:
    k, c = plan.kpis, plan.costs
    cards = [
        ("orders", f"{k.orders:,}"),
        ("served", f"{k.orders_served:,} ({100 * k.fill_rate:.1f} %)"),
        ("units served", f"{100 * k.unit_fill_rate:.1f} %"),
        ("on time", f"{k.orders_on_time:,} ({100 * k.on_time_rate:.1f} % of served)"),
        ("late", f"{k.orders_late:,}"),
        ("unassigned", f"{k.orders_unassigned:,}"),
        ("mandatory unserved", f"{sum(1 for u in plan.unassigned if u.mandatory):,}"),
        ("factories used", f"{k.factories_used:,}"),
        ("total cost", money(c.total)),
        ("objective", money(c.objective)),
    ]
    pu = plan.purchasing
    if pu is not None and pu.savings_cents is not None:
        cards.append(("purchasing savings", money(pu.savings_cents)))
    if plan.routes is not None:
        ro = plan.routes
        cards.append(("routed transport", money(ro.transport_cents)))
        if _has_hubs(ro):
            cards.append(("line-haul + handling", money(ro.line_haul_cents + ro.handling_cents)))
    s = Section("kpis", "Key figures")
    s.add(
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{html.escape(v)}</div>'
            f'<div class="k">{html.escape(key)}</div></div>'
            for key, v in cards
        )
        + "</div>"
    )
    return s


def _costs(plan: Plan, charts: _Charts) -> Section:
    c = plan.costs
    s = Section("costs", "Cost by term")
    s.add(charts.div("costs", figures.costs_figure(c)))
    rows = [
        (t, money(getattr(c, t)))
        for t in ("production", "transport", "lateness", "unserved", "purchasing", "total")
    ]
    rows += [("credit (units x points, unweighted)", f"{c.credit:,}")]
    if c.moved_units:
        rows.append(("moved units (re-plan)", f"{c.moved_units:,}"))
    rows.append(("objective (weighted)", money(c.objective)))
    s.add(_table(("term", "amount"), rows, numeric=(1,)))
    return s


def _production(plan: Plan, instance: Instance, charts: _Charts) -> Section:
    s = Section("production", "Production by factory and period")
    gantts, note = allocation_gantts(plan, instance)
    s.add(_note(note))
    if not gantts:
        s.add('<p class="muted">No production: the plan serves no order.</p>')
    for i, g in enumerate(gantts):
        s.add(_note(g.note), charts.div(f"gantt-{i}", figures.gantt_figure(g, "period")))
    return s


def _machines(schedule: Schedule, instance: Instance, charts: _Charts) -> Section:
    s = Section("machines", "Machine schedules")
    gantts, note = schedule_gantts(schedule, instance)
    s.add(_note(note))
    if not gantts:
        s.add('<p class="muted">The schedule has no lots.</p>')
    for i, g in enumerate(gantts):
        fig = figures.gantt_figure(g, "period (fractions: time of day)")
        s.add(_note(g.note), charts.div(f"schedule-{i}", fig))
    return s


def _utilisation(plan: Plan, instance: Instance, charts: _Charts) -> Section:
    s = Section("utilisation", "Utilisation")
    heat = utilisation_heatmap(plan, instance)
    s.add(_note(heat.note), charts.div("heatmap", figures.heatmap_figure(heat)))
    return s


def _map(plan: Plan, instance: Instance, charts: _Charts) -> Section:
    s = Section("map", "Map")
    view = map_view(plan, instance)
    s.add(
        '<p class="muted">Longitude against latitude, distances kept true at the mid '
        "latitude; no base map. Grey lines: each factory to the buyers it delivers to.</p>",
        *(_note(n) for n in view.notes),
        charts.div("map", figures.map_figure(view)),
    )
    ro = plan.routes
    if ro is None:
        s.add('<p class="muted">No routing: the instance has no fleet.</p>')
    else:
        s.add(_table(("transport", "value"), _transport_rows(ro), numeric=(1,)))
        if ro.hub_use:
            s.add(
                _table(
                    ("hub", "periods", "goods kg", "material kg", "handling"),
                    _hub_rows(ro),
                    numeric=(1, 2, 3, 4),
                )
            )
    return s


def _has_hubs(ro: Routing) -> bool:
    """Whether the routing went through hubs (docs/logistics.md): legs, shipments or costs."""
    return bool(
        ro.line_haul
        or ro.hub_use
        or ro.line_haul_cents
        or ro.handling_cents
        or any(r.hub is not None for r in ro.requests)
    )


def _transport_rows(ro: Routing) -> list[tuple[str, str]]:
    """The transport table: fleet against carrier and, with hubs, the line-haul, the
    hubs' handling and the legs carried through them."""
    routed = len(ro.requests) - len(ro.unrouted)
    rows = [
        ("fleet routes (vehicle-days)", f"{ro.vehicles_used:,}"),
        ("fleet distance km", f"{ro.distance_km:,.1f}"),
        ("loads by fleet / by carrier", f"{routed:,} / {len(ro.unrouted):,}"),
    ]
    hubs = _has_hubs(ro)
    if hubs:
        legs = [r for r in ro.requests if r.hub is not None]
        unrouted = {u.request for u in ro.unrouted}
        carried = sum(1 for r in legs if r.id not in unrouted)
        modes = Counter(x.mode for x in ro.line_haul)
        regions, drops = ro.goods_lanes
        rows += [
            ("legs through hubs carried / offered", f"{carried:,} / {len(legs):,}"),
            (
                "line-haul shipments (ftl / ltl / ftl+ltl)",
                f"{len(ro.line_haul):,} ({modes['ftl']:,} / {modes['ltl']:,} / "
                f"{modes['ftl+ltl']:,})",
            ),
            (
                "goods shipments: regions / with several drops",
                f"{regions:,} / {drops:,}",
            ),
            ("line-haul kg", f"{sum(x.weight_kg for x in ro.line_haul):,.0f}"),
        ]
    total = ro.transport_cents

    def cost(cents: int) -> str:
        return money(cents) + (f" ({100 * cents / total:.1f} %)" if hubs and total else "")

    rows += [("fleet cost", cost(ro.fleet_cents))]
    if hubs:
        rows += [
            ("line-haul cost", cost(ro.line_haul_cents)),
            ("hub handling cost", cost(ro.handling_cents)),
        ]
    rows += [
        ("carrier cost", cost(ro.carrier_cents)),
        ("routed transport", money(total)),
        ("all by carrier would be", money(ro.estimate_cents)),
    ]
    return rows


def _hub_rows(ro: Routing) -> list[tuple[str, str, str, str, str]]:
    """Per hub, over the periods it was used in: goods in, materials out, handling."""
    by_hub: dict[str, list[HubUse]] = {}
    for use in ro.hub_use:
        by_hub.setdefault(use.hub, []).append(use)
    return [
        (
            hub,
            f"{len(uses):,}",
            f"{sum(u.goods_kg for u in uses):,.0f}",
            f"{sum(u.material_kg for u in uses):,.0f}",
            money(sum(u.handling_cents for u in uses)),
        )
        for hub, uses in sorted(
            by_hub.items(), key=lambda kv: -sum(u.goods_kg + u.material_kg for u in kv[1])
        )
    ]


def _purchasing(plan: Plan, charts: _Charts) -> Section:
    s = Section("purchasing", "Purchasing savings")
    pu = plan.purchasing
    if pu is None:
        s.add('<p class="muted">No purchasing: no order has a bill of materials.</p>')
        return s
    s.add(charts.div("purchasing", figures.purchasing_figure(pu)))
    if pu.shares:
        s.add(charts.div("savings-split", figures.savings_split_figure(pu)))
    rows: list[tuple[str, str]] = [
        ("collective cost", money(pu.collective_cents)),
        (
            "materials / inbound transport",
            f"{money(pu.material_cents)} / {money(pu.transport_cents)}",
        ),
        (
            "stand-alone cost",
            "not computed (stopped)" if pu.standalone_cents is None else money(pu.standalone_cents),
        ),
        ("savings", "-" if pu.savings_cents is None else money(pu.savings_cents)),
        ("split", pu.split_method),
        ("purchases / shortages", f"{len(pu.purchases):,} / {len(pu.shortages):,}"),
    ]
    if pu.core is not None:
        rows.append(
            (
                "core check",
                f"coalition {', '.join(pu.core.blocking_coalition)} gains "
                f"{money(pu.core.excess_cents)} buying {pu.core.material} alone"
                if pu.core.blocking_coalition
                else f"no coalition gains by leaving ({pu.core.coalitions_checked:,} checked)",
            )
        )
    s.add(_table(("purchasing", "value"), rows))
    shares = sorted(pu.shares, key=lambda x: (-x.saving_cents, x.factory))
    s.add(
        _table(
            ("factory", "stand-alone", "charged", "saving", "method"),
            (
                (
                    x.factory,
                    money(x.standalone_cents),
                    money(x.charged_cents),
                    money(x.saving_cents),
                    x.method,
                )
                for x in shares
            ),
            numeric=(1, 2, 3),
        )
    )
    s.add(*(_note(n) for n in pu.notes))
    return s


def _sharing(cs: CapacitySharing | None) -> Section:
    s = Section("sharing", "Capacity sharing")
    if cs is None:
        s.add('<p class="muted">No capacity-sharing analysis in this plan.</p>')
        return s
    s.add(f'<p class="muted">{html.escape(cs.method)}</p>')
    s.add("<h3>Where extra capacity pays most</h3>")
    s.add(
        _table(
            ("factory", "group", "period", "per extra hour", "processes"),
            (
                (
                    n.factory,
                    n.resource_group,
                    n.period,
                    money(n.marginal_cents_per_hour),
                    ", ".join(n.processes),
                )
                for n in cs.extra_capacity_pays
            ),
            numeric=(2, 3),
        )
    )
    s.add("<h3>Idle capacity to offer</h3>")
    s.add(
        _table(
            ("factory", "group", "processes", "periods", "idle h"),
            (
                (
                    o.factory,
                    o.resource_group,
                    ", ".join(o.processes),
                    _span(o.periods),
                    f"{o.idle_hours:,.1f}",
                )
                for o in cs.idle_to_offer
            ),
            numeric=(4,),
        )
    )
    s.add("<h3>Suggested transfers (saving re-solved)</h3>")
    s.add(
        _table(
            ("kind", "what", "from", "to", "saving", "detail"),
            (
                (
                    t.kind.value,
                    f"{t.quantity:,} x {t.order}"
                    if t.order is not None
                    else f"{t.hours:g} h {t.resource_group} p{t.period}",
                    t.from_factory,
                    t.to_factory,
                    money(t.saving_cents),
                    t.detail,
                )
                for t in cs.transfers
            ),
            numeric=(4,),
        )
    )
    s.add("<h3>Overloaded and under-used factories</h3>")
    s.add(
        _table(
            ("factory", "status", "utilisation", "orders", "detail"),
            (
                (
                    f.factory,
                    f.status.value,
                    f"{100 * f.utilisation:.1f} %",
                    ", ".join(f.orders[:8]),
                    f.detail,
                )
                for f in [*cs.overloaded, *cs.under_used]
            ),
            numeric=(2,),
        )
    )
    s.add(*(_note(n) for n in cs.notes))
    return s


def _span(periods: list[int]) -> str:
    if not periods:
        return "-"
    return f"{periods[0]}..{periods[-1]} ({len(periods)})" if len(periods) > 1 else str(periods[0])


def _unserved(plan: Plan, instance: Instance, charts: _Charts) -> Section:
    s = Section("unserved", "Unassigned and late orders")
    if plan.unassigned:
        s.add(charts.div("unassigned", figures.unassigned_figure(plan)))
    s.add(f"<h3>Unassigned orders ({len(plan.unassigned):,})</h3>")
    rows = sorted(plan.unassigned, key=lambda u: (not u.mandatory, u.reason.value, u.order))
    s.add(
        _table(
            ("order", "reason", "mandatory", "penalty", "detail"),
            (
                (
                    u.order,
                    u.reason.value,
                    "yes" if u.mandatory else "",
                    money(u.penalty_cents),
                    u.detail,
                )
                for u in rows
            ),
            numeric=(3,),
        )
    )
    late = late_orders(plan, instance)
    s.add(f"<h3>Late orders ({len(late):,})</h3>")
    s.add(
        _table(
            ("order", "factories", "late units", "lateness cost", "due period", "last period"),
            (
                (
                    r.order,
                    r.factories,
                    f"{r.late_units:,}",
                    money(r.lateness_cents),
                    r.due_period,
                    r.last_period,
                )
                for r in late
            ),
            numeric=(2, 3, 4, 5),
        )
    )
    return s


def _solver(plan: Plan) -> Section:
    s = Section("solver", "Solver")
    s.add(
        _table(
            ("stage", "solver", "status", "objective", "bound", "gap", "time"),
            (
                (
                    st.stage,
                    st.solver,
                    st.status.value,
                    "-" if st.objective is None else money(st.objective),
                    "-" if st.best_bound is None else money(st.best_bound),
                    "-" if st.gap is None else f"{100 * st.gap:.3f} %",
                    f"{st.wall_time_s:.2f} s",
                )
                for st in plan.stages
            ),
            numeric=(3, 4, 5, 6),
        )
    )
    return s
