"""The report's plotly figures, one function per chart, from the views of
:mod:`matcher.report.views`.

Plain ``graph_objects`` only: no plotly.express (it would need a dataframe library)
and no geo traces (their base map is fetched from a CDN; the map here is longitude
against latitude, so the report opens with no network).
"""

from __future__ import annotations

import math
from collections import Counter

import plotly.graph_objects as go

from matcher.domain.plan import CostBreakdown, Plan, Purchasing
from matcher.report.views import MAX_BARS, Gantt, Heatmap, MapView

ON_TIME, LATE = "#4c78a8", "#e45756"
KIND_STYLE = {
    "factory": ("square", "#4c78a8", 11),
    "buyer (served)": ("circle", "#54a24b", 6),
    "buyer (unserved)": ("x", "#e45756", 8),
    "supplier": ("triangle-up", "#f58518", 11),
    "depot": ("diamond", "#7f7f7f", 11),
    "hub": ("star", "#b279a2", 13),
}
COST_TERMS = ("production", "transport", "lateness", "unserved", "purchasing")


def _layout(fig: go.Figure, title: str, height: int, **extra: object) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        template="plotly_white",
        **extra,
    )
    return fig


def costs_figure(costs: CostBreakdown) -> go.Figure:
    """Each cost term's share of the total, in currency units."""
    values = [getattr(costs, t) / 100 for t in COST_TERMS]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=list(COST_TERMS),
            orientation="h",
            marker_color="#4c78a8",
            text=[f"{v:,.2f}" for v in values],
            textposition="auto",
            hovertemplate="%{y}: %{x:,.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="currency units")
    return _layout(fig, "Cost by term", 320)


def gantt_figure(g: Gantt, x_title: str) -> go.Figure:
    """Horizontal bars from start to end per row; on-time and late in two colours."""
    fig = go.Figure()
    for late, name, color in ((False, "on time", ON_TIME), (True, "late", LATE)):
        bars = [b for b in g.bars if b.late == late]
        if not bars and late:
            continue
        fig.add_trace(
            go.Bar(
                name=name,
                y=[b.row for b in bars],
                base=[b.start for b in bars],
                x=[b.end - b.start for b in bars],
                orientation="h",
                marker_color=color,
                hovertext=[b.hover for b in bars],
                hoverinfo="text",
            )
        )
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(g.rows)), automargin=True)
    fig.update_xaxes(title=x_title, rangemode="tozero")
    return _layout(fig, g.title, 140 + 20 * max(1, len(g.rows)), barmode="overlay")


def heatmap_figure(h: Heatmap) -> go.Figure:
    """Utilisation per factory and period; blank where a factory has no capacity."""
    fig = go.Figure(
        go.Heatmap(
            z=h.utilisation,
            x=h.periods,
            y=h.factories,
            text=h.hover,
            hoverinfo="text",
            colorscale="YlOrRd",
            zmin=0.0,
            zmax=1.0,
            colorbar={"title": "used / free", "tickformat": ".0%"},
            xgap=1,
            ygap=1,
        )
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title="period", dtick=1 if len(h.periods) <= 40 else None)
    return _layout(fig, "Utilisation by factory and period", 160 + 14 * max(4, len(h.factories)))


def map_figure(view: MapView) -> go.Figure:
    """Places by longitude and latitude, routes as lines: no base map, no tiles."""
    fig = go.Figure()
    if view.deliveries:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for (lat0, lon0), (lat1, lon1) in view.deliveries:
            xs += [lon0, lon1, None]
            ys += [lat0, lat1, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"width": 0.7, "color": "#b0b0b0"},
                name="factory to buyer",
                hoverinfo="skip",
            )
        )
    kinds = [k for k in KIND_STYLE if any(p.kind == k for p in view.points)]
    for kind in kinds:
        pts = [p for p in view.points if p.kind == kind]
        symbol, color, size = KIND_STYLE[kind]
        fig.add_trace(
            go.Scatter(
                x=[p.lon for p in pts],
                y=[p.lat for p in pts],
                mode="markers",
                name=f"{kind} ({len(pts)})",
                marker={"symbol": symbol, "color": color, "size": size, "line": {"width": 0.5}},
                hovertext=[p.label for p in pts],
                hoverinfo="text",
            )
        )
    # Routes last: drawn over the markers, whose clusters would hide short routes.
    for i, (name, line) in enumerate(view.routes):
        fig.add_trace(
            go.Scatter(
                x=[lon for _, lon in line],
                y=[lat for lat, _ in line],
                mode="lines",
                line={"width": 2.5},
                opacity=0.6,
                name=name,
                legendgroup="routes",
                legendgrouptitle_text="routes" if i == 0 else None,
                showlegend=i < 10,
                hoverinfo="name",
            )
        )
    lats = [p.lat for p in view.points] or [0.0]
    mid = math.radians((min(lats) + max(lats)) / 2)
    fig.update_xaxes(title="longitude", showgrid=True)
    # One degree of longitude is cos(latitude) of a degree of latitude: keep distances true.
    fig.update_yaxes(title="latitude", scaleanchor="x", scaleratio=1 / max(0.1, math.cos(mid)))
    return _layout(fig, "Factories, buyers, suppliers and the fleet's routes", 620)


def purchasing_figure(pu: Purchasing) -> go.Figure:
    """Stand-alone against collective cost, and the savings by material."""
    fig = go.Figure()
    if pu.standalone_cents is not None:
        fig.add_trace(
            go.Bar(
                x=["stand-alone", "collective"],
                y=[pu.standalone_cents / 100, pu.collective_cents / 100],
                name="cost",
                marker_color=["#9d9d9d", "#4c78a8"],
                hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
            )
        )
    by_material = sorted(pu.savings_by_material_cents.items(), key=lambda kv: (-kv[1], kv[0]))
    by_material = by_material[:MAX_BARS]
    fig.add_trace(
        go.Bar(
            x=[m for m, _ in by_material],
            y=[v / 100 for _, v in by_material],
            name="saving by material",
            marker_color="#54a24b",
            hovertemplate="%{x}: %{y:,.2f} saved<extra></extra>",
        )
    )
    fig.update_yaxes(title="currency units")
    return _layout(fig, "Collective purchasing: cost and savings by material", 380)


def savings_split_figure(pu: Purchasing) -> go.Figure:
    """Each factory's share of the savings (the largest shares)."""
    shares = sorted(pu.shares, key=lambda s: (-s.saving_cents, s.factory))[:MAX_BARS]
    fig = go.Figure(
        go.Bar(
            x=[s.factory for s in shares],
            y=[s.saving_cents / 100 for s in shares],
            error_y=(
                {"type": "data", "array": [(s.ci95_cents or 0) / 100 for s in shares]}
                if any(s.ci95_cents for s in shares)
                else None
            ),
            marker_color="#54a24b",
            hovertext=[
                f"{s.factory}: saves {s.saving_cents / 100:,.2f} ({s.method}); pays "
                f"{s.charged_cents / 100:,.2f} instead of {s.standalone_cents / 100:,.2f}"
                for s in shares
            ],
            hoverinfo="text",
        )
    )
    fig.update_yaxes(title="saving, currency units")
    title = f"Savings split by factory ({pu.split_method})"
    return _layout(fig, title, 360)


def unassigned_figure(plan: Plan) -> go.Figure:
    """Unassigned orders by reason code."""
    counts = Counter(u.reason.value for u in plan.unassigned).most_common()
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in counts],
            y=[code for code, _ in counts],
            orientation="h",
            marker_color=LATE,
            hovertemplate="%{y}: %{x} orders<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="orders")
    return _layout(fig, "Unassigned orders by reason", 140 + 30 * max(2, len(counts)))
