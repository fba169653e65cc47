"""The report with hubs (docs/logistics.md): routed transport is the whole
``transport_cents``, the line-haul and the hubs' handling have their rows, and the
fleet's routes are drawn through the hubs."""

from __future__ import annotations

import html
import re

from matcher.domain.entities import Hub
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.report import build_report
from matcher.report.views import map_view
from tests.matcher.cli.test_routing_summary import hub_routing


def _with_hub(demo: Instance, demo_plan: Plan) -> tuple[Instance, Plan]:
    depot = demo.fleet.depots[0]
    hub = Hub(id="H1", location=depot.location.model_copy(update={"lat": depot.location.lat + 0.2}))
    instance = demo.model_copy(update={"fleet": demo.fleet.model_copy(update={"hubs": [hub]})})
    routing = hub_routing("H1", demo.factories[0].id, demo.orders[0].id)
    routing = routing.model_copy(
        update={"routes": [r.model_copy(update={"depot": depot.id}) for r in routing.routes]}
    )
    return instance, demo_plan.model_copy(update={"routes": routing})


def _cells(page: str) -> dict[str, str]:
    rows = re.findall(r"<tr><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", page)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


def test_the_transport_table_has_line_haul_handling_and_legs_with_their_shares(
    demo: Instance, demo_plan: Plan
) -> None:
    instance, plan = _with_hub(demo, demo_plan)
    page = build_report(instance, plan)
    cells = _cells(page)
    assert cells["legs through hubs carried / offered"] == "2 / 3"
    assert cells["line-haul shipments (ftl / ltl / ftl+ltl)"] == "2 (1 / 1 / 0)"
    assert cells["goods shipments: regions / with several drops"] == "1 / 0"
    assert cells["line-haul kg"] == "24,100"
    assert cells["fleet cost"] == "200.00 (20.0 %)"
    assert cells["line-haul cost"] == "200.00 (20.0 %)"
    assert cells["hub handling cost"] == "400.00 (40.0 %)"
    assert cells["carrier cost"] == "200.00 (20.0 %)"
    assert cells["routed transport"] == "1,000.00"
    assert '<div class="v">1,000.00</div><div class="k">routed transport</div>' in page
    assert '<div class="v">600.00</div><div class="k">line-haul + handling</div>' in page
    hub_row = re.search(r'<tr><td class="">H1</td>((?:<td class="n">[^<]*</td>){4})</tr>', page)
    assert hub_row is not None
    assert re.findall(r'<td class="n">([^<]*)</td>', hub_row.group(1)) == [
        "1",
        "100",
        "24,000",
        "0.00",
    ]


def test_without_hubs_routed_transport_is_fleet_plus_carrier(
    demo: Instance, demo_plan: Plan
) -> None:
    instance, plan = _with_hub(demo, demo_plan)
    assert plan.routes is not None
    ro = plan.routes.model_copy(
        update={
            "requests": [r.model_copy(update={"hub": None}) for r in plan.routes.requests],
            "line_haul": [],
            "hub_use": [],
            "line_haul_cents": 0,
            "handling_cents": 0,
        }
    )
    page = build_report(instance, plan.model_copy(update={"routes": ro}))
    cells = _cells(page)
    assert cells["routed transport"] == "400.00"
    assert (cells["fleet cost"], cells["carrier cost"]) == ("200.00", "200.00")
    assert "line-haul cost" not in cells and "legs through hubs carried / offered" not in cells
    assert "line-haul + handling" not in page


def test_routes_are_drawn_through_the_hubs(demo: Instance, demo_plan: Plan) -> None:
    instance, plan = _with_hub(demo, demo_plan)
    view = map_view(plan, instance)
    hub, depot = instance.fleet.hubs[0].location, instance.fleet.depots[0].location
    f = demo.factories[0].location
    ((_, line),) = view.routes
    at = [(depot.lat, depot.lon), (hub.lat, hub.lon), (f.lat, f.lon), (f.lat, f.lon)]
    assert line == [*at, (hub.lat, hub.lon), (depot.lat, depot.lon)]
    assert any(p.kind == "hub" and p.id == "H1" for p in view.points)
