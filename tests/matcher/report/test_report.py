"""The report's content: every section in the HTML, plotly.js inlined once, nothing
fetched, and what each chart shows (views) on hand-made and solved plans."""

from __future__ import annotations

import re

from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, RouteStop, Routing, VehicleRoute
from matcher.domain.schedule import Schedule
from matcher.report import build_report
from matcher.report.views import (
    MAX_GANTT_ROWS,
    allocation_gantts,
    capped_note,
    late_orders,
    map_view,
    utilisation_heatmap,
)

SECTIONS = (
    "kpis",
    "costs",
    "production",
    "machines",
    "utilisation",
    "map",
    "purchasing",
    "sharing",
    "unserved",
    "solver",
)


def test_the_report_has_every_section_and_chart_and_plotly_js_once(
    demo: Instance, demo_plan: Plan, demo_schedule: Schedule
) -> None:
    page = build_report(demo, demo_plan, demo_schedule)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    charts = re.findall(r'data-chart="([^"]+)"', page)
    expected = int(re.search(r'name="matcher-charts" content="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert len(charts) == expected == len(set(charts))
    for name in ("costs", "gantt-0", "schedule-0", "heatmap", "map", "purchasing", "unassigned"):
        assert name in charts
    # plotly.js inlined once (its licence banner), and no script or link from the network.
    assert page.count("plotly.js v") == 1
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', page)
    for u in demo_plan.unassigned:
        assert u.order in page and u.reason.value in page


def test_a_plan_without_schedule_purchasing_or_routes_says_so(tiny: Instance) -> None:
    p = plan(tiny, SolveParams(workers=1, time_limit_s=5))
    page = build_report(tiny, p)
    assert '<section id="machines">' not in page
    assert "No purchasing" in page and "No routing" in page


def test_gantt_bars_mark_the_periods_after_the_due_date_late(
    demo_plan: Plan, demo: Instance
) -> None:
    charts, _ = allocation_gantts(demo_plan, demo)
    due = {o.id: o.due_period for o in demo.orders}
    for g in charts:
        assert len(g.rows) <= MAX_GANTT_ROWS
        for b in g.bars:
            order = b.row.split()[0]
            assert b.late == (b.start > due[order])  # late bars start after the due period
            assert b.end > b.start


def test_the_heatmap_covers_every_factory_and_period(demo: Instance, demo_plan: Plan) -> None:
    heat = utilisation_heatmap(demo_plan, demo)
    assert sorted(heat.factories) == sorted(f.id for f in demo.factories) and heat.note is None
    assert all(len(row) == demo.horizon.periods for row in heat.utilisation)
    values = [v for row in heat.utilisation for v in row if v is not None]
    assert values and all(0.0 <= v <= 1.0 + 1e-9 for v in values)


def test_routes_are_drawn_from_depot_through_their_stops_and_back(
    demo: Instance, demo_plan: Plan
) -> None:
    depot = demo.fleet.depots[0]
    factory, order = demo.factories[0], demo.orders[0]
    stops = [
        RouteStop(
            request="r",
            action=action,
            place=place,
            arrival_minute=0,
            start_minute=0,
            departure_minute=0,
            load_after={},
        )
        for action, place in (("pickup", factory.id), ("delivery", order.id))
    ]
    route = VehicleRoute(
        vehicle=demo.fleet.vehicles[0].id,
        depot=depot.id,
        period=1,
        start_minute=0,
        end_minute=60,
        stops=stops,
        distance_km=12.0,
        duration_minutes=60,
        cost_cents=100,
    )
    routing = Routing(routes=[route], service_minutes=15)
    view = map_view(demo_plan.model_copy(update={"routes": routing}), demo)
    ((_, line),) = view.routes
    d, f, o = depot.location, factory.location, order.delivery
    assert line == [(d.lat, d.lon), (f.lat, f.lon), (o.lat, o.lon), (d.lat, d.lon)]
    kinds = {p.kind for p in view.points}
    assert {"factory", "supplier", "depot"} <= kinds and "buyer (served)" in kinds
    served = {a.order for a in demo_plan.allocations}
    assert len(view.deliveries) >= len(served)


def test_late_orders_are_the_served_orders_with_late_units(demo: Instance, demo_plan: Plan) -> None:
    rows = late_orders(demo_plan, demo)
    late = {a.order for a in demo_plan.allocations if a.late_units > 0}
    assert {r.order for r in rows} == late
    assert all(r.last_period > r.due_period for r in rows)


def test_a_cap_is_stated_only_when_something_is_left_out() -> None:
    assert capped_note(5, 5, "rows", "x") is None
    assert capped_note(12, 100, "factories", "the busiest") == (
        "Showing 12 of 100 factories (the busiest)."
    )
