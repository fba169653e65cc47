"""The routing summary of ``matcher solve``: fleet against carrier, and with hubs
(docs/logistics.md) the line-haul, the hubs' handling and the legs carried through
them, each way with its share of the transport cost."""

from __future__ import annotations

from rich.console import Console

from matcher.cli.tables import routing_table
from matcher.domain.plan import (
    HubUse,
    LineHaulShipment,
    RouteStop,
    Routing,
    TransportRequest,
    Unrouted,
    UnroutedReason,
    VehicleRoute,
)


def _request(rid: str, kind: str, hub: str | None) -> TransportRequest:
    return TransportRequest(
        id=rid,
        kind=kind,
        period=0,
        origin="F1" if kind == "goods" else (hub or "S1"),
        destination=(hub or "O1") if kind == "goods" else "F1",
        quantity=10.0,
        load={"weight_kg": 100.0},
        carrier_cents=10_000,
        hub=hub,
    )


def hub_routing(hub: str = "H1", factory: str = "F1", order: str = "O1") -> Routing:
    """A routing through one hub: two legs carried (goods in, material out), one leg and
    one door-to-door load by carrier; one ftl and one ltl shipment."""
    goods = _request(f"goods:{order}:{factory}@{hub}", "goods", hub)
    material = _request(f"material:m:S1:{factory}@{hub}", "material", hub)
    uncarried = _request(f"goods:O9:{factory}@{hub}", "goods", hub)
    door = _request(f"goods:O8:{factory}", "goods", None)
    stops = [
        RouteStop(
            request=r,
            action=action,
            place=place,
            arrival_minute=0,
            start_minute=0,
            departure_minute=0,
            load_after={},
        )
        for r, action, place in (
            (material.id, "pickup", hub),
            (material.id, "delivery", factory),
            (goods.id, "pickup", factory),
            (goods.id, "delivery", hub),
        )
    ]
    return Routing(
        requests=[goods, material, uncarried, door],
        routes=[
            VehicleRoute(
                vehicle="V1",
                depot="D1",
                period=0,
                start_minute=0,
                end_minute=300,
                stops=stops,
                distance_km=50.0,
                duration_minutes=300.0,
                cost_cents=20_000,
            )
        ],
        unrouted=[
            Unrouted(request=uncarried.id, reason=UnroutedReason.CARRIER_CHEAPER, detail=""),
            Unrouted(request=door.id, reason=UnroutedReason.OUT_OF_REACH, detail=""),
        ],
        line_haul=[
            LineHaulShipment(
                kind="goods",
                origin=hub,
                destination="B1",
                period=0,
                requests=[goods.id],
                weight_kg=100.0,
                distance_km=500.0,
                mode="ltl",
                trucks=0,
                cost_cents=5_000,
            ),
            LineHaulShipment(
                kind="material",
                origin="S1",
                destination=hub,
                period=0,
                requests=[material.id],
                weight_kg=24_000.0,
                distance_km=100.0,
                mode="ftl",
                trucks=1,
                cost_cents=15_000,
            ),
        ],
        hub_use=[HubUse(hub=hub, period=0, goods_kg=100.0, material_kg=24_000.0, handling_cents=0)],
        fleet_cents=20_000,
        carrier_cents=20_000,
        line_haul_cents=20_000,
        handling_cents=40_000,
        estimate_cents=200_000,
        vehicles_used=1,
        distance_km=50.0,
        service_minutes=15,
    )


def _lines(routing: Routing) -> dict[str, str]:
    console = Console(width=200, record=True)
    console.print(routing_table(routing))
    rows = {}
    for line in console.export_text().splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


def test_with_hubs_each_way_shows_its_cents_and_share_of_transport() -> None:
    rows = _lines(hub_routing())  # transport: 200.00 + 200.00 + 200.00 + 400.00
    assert rows["fleet"] == "1 route(s) over 1 period(s), 50.0 km, 2 load(s), 200.00 (20.0 %)"
    assert rows["line-haul"] == (
        "2 shipment(s) (1 ftl, 1 ltl, 0 ftl+ltl; goods to 1 region(s), 0 with several drops), "
        "24,100 kg, 200.00 + handling 400.00 (60.0 %)"
    )
    assert rows["carrier"] == "2 load(s), 200.00 (20.0 %)"
    assert rows["through hubs"] == (
        "2 / 3 leg(s) carried (1 goods, 1 material), 1 hub(s) used; 1 by carrier"
    )
    assert rows["transport"] == "1,000.00"
    assert rows["all by carrier would be"] == "2,000.00 (saved 50.0 %)"


def test_without_hubs_the_summary_reads_as_before() -> None:
    routing = hub_routing()
    plain = routing.model_copy(
        update={
            "requests": [r.model_copy(update={"hub": None}) for r in routing.requests],
            "line_haul": [],
            "hub_use": [],
            "line_haul_cents": 0,
            "handling_cents": 0,
        }
    )
    rows = _lines(plain)
    assert list(rows) == [
        "fleet",
        "carrier",
        "transport",
        "all by carrier would be",
        "carrier because",
    ]
    assert rows["fleet"] == "1 route(s) over 1 period(s), 50.0 km, 2 load(s), 200.00"
    assert rows["carrier"] == "2 load(s), 200.00"
    assert rows["transport"] == "400.00"
