"""Hubs, legs and line-haul in the routing stage (docs/logistics.md), on a hand-built
instance: a hub at Ningbo with a van based there, factory F1 within its reach and F2
(Shaoxing) beyond it, buyers in Beijing and Guangzhou, a supplier in Guangzhou.

The stage is run directly on hand-made allocations and purchases, so every load, its
carrier charge and the line-haul can be worked out by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from matcher.domain.entities import Hub, LineHaul, Location
from matcher.domain.geo import LineHaulCost, line_haul_cost, road_km
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import (
    Allocation,
    Delivery,
    PeriodQuantity,
    Purchase,
    Purchasing,
    Routing,
    UnroutedReason,
)
from matcher.domain.validation import parse_instance
from solvers.routing.hubs import factory_hubs
from solvers.routing.requests import Load, Place
from solvers.routing.stage import _Day, _vehicle_types, run_routing

HUB = {"lat": 29.95, "lon": 121.60}  # ~13 road km from F1 (Ningbo)
BEIJING = {"lat": 39.90, "lon": 116.41}
GUANGZHOU = {"lat": 23.13, "lon": 113.26}
RATES = {
    "truck_capacity_kg": 1000.0,
    "truck_cents_per_km": 100,
    "ltl_cents_per_tonne_km": 200.0,
    "ltl_min_cents": 5000,
}
HANDLING = 2.0  # cents per kg
CARRIER_MIN = 100_000


def order(oid: str, buyer: str, units: int, delivery: dict[str, float]) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": buyer,
        "operations": [{"process": "sewing"}],
        "quantity": units,
        "due_period": 2,
        "delivery": delivery,
        "unit_weight_kg": 10.0,
    }


@pytest.fixture()
def hub_data(tiny_data: dict[str, Any]) -> dict[str, Any]:
    data = tiny_data
    data["orders"] = [
        order("O1", "B1", 60, BEIJING),  # 600 kg, at F1
        order("O2", "B1", 40, BEIJING),  # 400 kg, at F1: the same lane as O1
        order("O3", "B2", 10, GUANGZHOU),  # 100 kg, at F1
        order("O4", "B1", 20, BEIJING),  # at F2, beyond the hub's reach
    ]
    data["materials"][0]["sourcing"] = "purchased"
    data["materials"][0]["kg_per_unit"] = 1.0
    data["suppliers"] = [
        {
            "id": "S1",
            "location": GUANGZHOU,
            "offers": [
                {
                    "material": "cotton_fabric",
                    "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 900}]},
                }
            ],
        }
    ]
    data["fleet"] = {
        "depots": [{"id": "D", "location": HUB}],
        "vehicles": [
            {
                "id": "van1",
                "depot": "D",
                "capacity": {"weight_kg": 3000.0},
                "fixed_cost_cents": 5000,
                "cost_per_km_cents": 200,
                "cost_per_hour_cents": 3000,
                "speed_kmh": 50.0,
                "shift_start_minute": 480,
                "shift_end_minute": 1080,
            }
        ],
        "hubs": [{"id": "H1", "location": HUB, "handling_cents_per_kg": HANDLING}],
        "service_minutes": 10,
    }
    data["transport"]["carrier_min_cents"] = CARRIER_MIN
    data["transport"]["line_haul"] = dict(RATES)
    return data


def allocation(oid: str, factory: str, units: int, transport_cents: int) -> Allocation:
    return Allocation(
        order=oid,
        operation=0,
        process="sewing",
        factory=factory,
        resource_group="line",
        quantity=units,
        periods=[PeriodQuantity(period=0, quantity=units)],
        production_cents=0,
        transport_cents=transport_cents,
    )


ALLOCATIONS = [
    allocation("O1", "F1", 60, 60 * 3000),  # carrier 180 000
    allocation("O2", "F1", 40, 40 * 2000),  # 80 000: the minimum, 100 000
    allocation("O3", "F1", 10, 10 * 3000),  # 30 000: the minimum, 100 000
    allocation("O4", "F2", 20, 20 * 3000),
]

PURCHASING = Purchasing(
    purchases=[
        Purchase(
            supplier="S1",
            material="cotton_fabric",
            quantity=200,
            tier=0,
            unit_price_cents=900,
            cost_cents=180_000,
            transport_cents=0,
            order_period=0,
            deliveries=[Delivery(factory="F1", period=0, order_period=0, quantity=200)],
        )
    ],
    collective_cents=180_000,
    material_cents=180_000,
    transport_cents=0,
    split_method="proportional",
)


def route(
    data: dict[str, Any], purchasing: Purchasing | None = None, seed: int = 0
) -> tuple[Instance, Routing]:
    instance = parse_instance(data)
    params = SolveParams(workers=1, seed=seed)
    routed = run_routing(instance, ALLOCATIONS, purchasing, params, 2.0)
    assert routed is not None
    return instance, routed[0]


def km(a: dict[str, float], b: dict[str, float], data: dict[str, Any]) -> float:
    return road_km(Location(**a), Location(**b), parse_instance(data).transport)


def test_a_factory_s_hub_is_the_nearest_within_reach_ties_to_the_first(
    hub_data: dict[str, Any],
) -> None:
    near = {"id": "near", "location": HUB}
    twin = {"id": "twin", "location": HUB}
    far = {"id": "far", "location": {"lat": 29.87, "lon": 121.80}, "reach_km": 200.0}
    hub_data["fleet"]["hubs"] = [far, twin, near]
    hubs = factory_hubs(parse_instance(hub_data))
    assert hubs["F1"].id == "twin"  # nearer than 'far'; tied with 'near', listed first
    assert hubs["F2"].id == "far"  # ~120 road km: beyond the others' 60, within its 200
    hub_data["fleet"]["hubs"] = [twin, near]
    assert "F2" not in factory_hubs(parse_instance(hub_data))


def test_a_shipment_costs_the_cheaper_mode_rounded_half_up() -> None:
    rates = LineHaul(**RATES)
    # 1 000 kg over 1 000.5 km: ftl 1 x 1000.5 x 100 = 100 050 < ltl 1 t x 1000.5 x 200
    assert line_haul_cost(1000.0, 1000.5, rates) == LineHaulCost("ftl", 1, 100_050)
    # 2 001 kg: 3 trucks (ceil 2.001); ltl 2.001 x 10 x 200 = 4 002 -> the minimum 5 000
    assert line_haul_cost(2001.0, 10.0, rates) == LineHaulCost("ftl", 3, 3000)
    # 100 kg over 100 km: ftl 10 000; ltl 0.1 x 100 x 200 = 2 000 -> the minimum 5 000
    assert line_haul_cost(100.0, 100.0, rates) == LineHaulCost("ltl", 0, 5000)
    # 500 kg over 1 000 km: ltl 0.5 x 1000 x 200 = 100 000 = ftl: ltl on a tie
    assert line_haul_cost(500.0, 1000.0, rates) == LineHaulCost("ltl", 0, 100_000)
    # half a cent rounds up: 1 truck x 2.5 km x 1 cent = 2.5 -> 3
    cheap = LineHaul(truck_cents_per_km=1, ltl_min_cents=10, ltl_cents_per_tonne_km=1000.0)
    assert line_haul_cost(1000.0, 2.5, cheap) == LineHaulCost("ftl", 1, 3)


def test_a_shipment_to_several_addresses_pays_tonne_km_and_a_stop_per_extra_drop() -> None:
    rates = LineHaul(**RATES, stop_cents=700)
    # 2 000 kg, farthest 1 000 km, 1 600 t-km, 3 drops: ftl 2 trucks x 1000 x 100 + 2 x
    # 700 = 201 400 against ltl 1600 x 200 = 320 000 (two whole trucks: no remainder)
    assert line_haul_cost(2000.0, 1000.0, rates, tonne_km=1600.0, drops=3) == LineHaulCost(
        "ftl", 2, 201_400
    )
    # 300 kg: 1 truck, 100 000 + 1 400 against ltl 0.3 x ~900 km = 270 t-km x 200 = 54 000
    assert line_haul_cost(300.0, 1000.0, rates, tonne_km=270.0, drops=3) == LineHaulCost(
        "ltl", 0, 54_000
    )
    # 1 200 kg, 1 000 t-km, 3 drops: ftl 2 trucks 201 400; ltl 200 000; one full truck
    # with the remainder's 200 kg (1/6 of the tonne-km) by ltl: 100 000 + 1 400 +
    # max(5 000, 166.67 x 200 = 33 333.33) = 134 733.33
    assert line_haul_cost(1200.0, 1000.0, rates, tonne_km=1000.0, drops=3) == LineHaulCost(
        "ftl+ltl", 1, 134_733
    )
    # A small remainder pays the less-than-truckload minimum: 1 010 kg over 10 km, one
    # drop: ftl 2 x 1 000 = 2 000; ltl max(5 000, 10.1 x 200 = 2 020) = 5 000; ftl+ltl
    # 1 000 + max(5 000, 0.1 x 200 = 20) = 6 000: ftl
    assert line_haul_cost(1010.0, 10.0, rates) == LineHaulCost("ftl", 2, 2_000)
    # One address: tonne-km defaults to all the weight over the distance.
    assert line_haul_cost(300.0, 1000.0, rates) == line_haul_cost(
        300.0, 1000.0, rates, tonne_km=300.0, drops=1
    )


def test_goods_to_one_region_go_on_one_shipment_whatever_their_buyer(
    hub_data: dict[str, Any],
) -> None:
    """O1, O2 (B1) and O3 (B2, moved to another Beijing address) are delivered in the
    region Beijing: one goods shipment H1 -> Beijing with two drops."""
    other = {"lat": 39.99, "lon": 116.31, "region": "Beijing"}
    for row in hub_data["orders"]:
        row["delivery"] = dict(row["delivery"], region="Beijing")
    hub_data["orders"][2]["delivery"] = other
    # Trucks of 2 000 kg, so that the 1 100 kg fill one (with two of 1 000 kg, the
    # lane's estimate for O2 would be above its carrier charge).
    hub_data["transport"]["line_haul"].update(stop_cents=700, truck_capacity_kg=2000.0)
    _, routing = route(hub_data, PURCHASING)
    (goods,) = [s for s in routing.line_haul if s.kind == "goods"]
    assert (goods.origin, goods.destination) == ("H1", "Beijing")
    assert goods.requests == ["goods:O1:F1@H1", "goods:O2:F1@H1", "goods:O3:F1@H1"]
    near, far = sorted([km(HUB, BEIJING, hub_data), km(HUB, other, hub_data)])
    assert far > near
    assert (goods.weight_kg, goods.drops) == (1100.0, 2)
    assert goods.distance_km == pytest.approx(far)
    tonne_km = 1.0 * km(HUB, BEIJING, hub_data) + 0.1 * km(HUB, other, hub_data)
    assert goods.tonne_km == pytest.approx(tonne_km)
    # 1 100 kg: one truck over the farthest km, plus one stop, against ltl.
    ftl, ltl = far * 100 + 700, tonne_km * 200
    assert (goods.mode, goods.trucks) == ("ftl", 1) and ftl < ltl
    assert goods.cost_cents == math.floor(ftl + 0.5)


def test_loads_near_a_hub_go_through_it_and_on_by_line_haul(hub_data: dict[str, Any]) -> None:
    _, routing = route(hub_data, PURCHASING)
    requests = {r.id: r for r in routing.requests}
    legs = {
        "goods:O1:F1@H1",
        "goods:O2:F1@H1",
        "goods:O3:F1@H1",
        "material:cotton_fabric:S1:F1:0@H1",
    }
    assert legs | {"goods:O4:F2"} == set(requests)  # F2 is beyond the hub's reach
    assert requests["goods:O4:F2"].hub is None
    for leg in legs:
        assert requests[leg].hub == "H1"
    assert requests["goods:O1:F1@H1"].destination == "H1"
    assert requests["material:cotton_fabric:S1:F1:0@H1"].origin == "H1"
    assert requests["goods:O1:F1@H1"].carrier_cents == 180_000  # the door-to-door charge

    # The van carries every leg (it saves far more than the route costs).
    on_routes = {s.request for r in routing.routes for s in r.stops}
    assert on_routes == legs
    assert [u.request for u in routing.unrouted] == ["goods:O4:F2"]
    assert routing.unrouted[0].reason is UnroutedReason.OUT_OF_REACH
    assert routing.carrier_cents == requests["goods:O4:F2"].carrier_cents
    hub_stops = [s for r in routing.routes for s in r.stops if s.place == "H1"]
    assert {(s.request, s.action) for s in hub_stops} == {
        ("goods:O1:F1@H1", "delivery"),
        ("goods:O2:F1@H1", "delivery"),
        ("goods:O3:F1@H1", "delivery"),
        ("material:cotton_fabric:S1:F1:0@H1", "pickup"),
    }

    # Line-haul by hand: Beijing lane 1 000 kg -> 1 truck (ftl 100/km against ltl
    # 1 t x 200/t-km); Guangzhou lane 100 kg -> ltl; the material 200 kg -> ltl.
    to_beijing, to_guangzhou = km(HUB, BEIJING, hub_data), km(HUB, GUANGZHOU, hub_data)
    expected = [
        ("goods", "H1", "B1", ["goods:O1:F1@H1", "goods:O2:F1@H1"], 1000.0, to_beijing, "ftl", 1),
        ("goods", "H1", "B2", ["goods:O3:F1@H1"], 100.0, to_guangzhou, "ltl", 0),
        (
            "material",
            "S1",
            "H1",
            ["material:cotton_fabric:S1:F1:0@H1"],
            200.0,
            to_guangzhou,
            "ltl",
            0,
        ),
    ]
    got = [
        (s.kind, s.origin, s.destination, s.requests, s.weight_kg, s.distance_km, s.mode, s.trucks)
        for s in routing.line_haul
    ]
    assert got == expected
    costs = [s.cost_cents for s in routing.line_haul]
    assert costs == [
        math.floor(to_beijing * 100 + 0.5),
        math.floor(0.1 * to_guangzhou * 200 + 0.5),
        math.floor(0.2 * to_guangzhou * 200 + 0.5),
    ]
    assert routing.line_haul_cents == sum(costs)

    # The hub handles 1 100 kg of goods in and 200 kg of material out, at 2 cents a kg.
    assert [(u.hub, u.period, u.goods_kg, u.material_kg) for u in routing.hub_use] == [
        ("H1", 0, 1100.0, 200.0)
    ]
    assert routing.handling_cents == routing.hub_use[0].handling_cents == 2600
    assert routing.transport_cents == (
        routing.fleet_cents + routing.carrier_cents + sum(costs) + 2600
    )
    assert any("4 load(s) offered through a hub, 4 leg(s) carried" in n for n in routing.notes)
    assert any("0 lane-period(s) cost more per kg than estimated" in n for n in routing.notes)


def test_the_same_seed_gives_the_same_plan_through_a_hub(hub_data: dict[str, Any]) -> None:
    assert route(hub_data, PURCHASING)[1] == route(hub_data, PURCHASING)[1]


def test_the_stop_at_the_hub_starts_within_its_hours(hub_data: dict[str, Any]) -> None:
    """Open 14:00 to 16:00 (the van's shift 08:00 to 18:00; unconstrained, its first
    stop at the hub is at 08:00): every stop at the hub starts within the hours, the
    stops at the factory within the period."""
    hub_data["fleet"]["hubs"][0] |= {"open_minute": 840, "close_minute": 960}
    _, routing = route(hub_data, PURCHASING)
    stops = [s for r in routing.routes for s in r.stops]
    at_hub = [s for s in stops if s.place == "H1"]
    assert len(at_hub) == 4  # every leg carried
    assert all(840 <= s.start_minute <= 960 for s in at_hub)
    assert all(0 <= s.start_minute <= 1440 for s in stops if s.place == "F1")


def test_a_leg_the_fleet_cannot_reach_is_not_offered(hub_data: dict[str, Any]) -> None:
    """The hub closes before the van's shift starts: no leg could be carried, so every
    load stays door to door (offering it would only take the hub's capacity)."""
    hub_data["fleet"]["hubs"][0] |= {"open_minute": 0, "close_minute": 60}
    _, routing = route(hub_data, PURCHASING)
    assert all(r.hub is None for r in routing.requests)
    assert not routing.line_haul and not routing.hub_use
    assert any("0 load(s) offered through a hub" in n for n in routing.notes)


def test_a_tight_capacity_takes_the_largest_savings_per_kg_first(
    hub_data: dict[str, Any],
) -> None:
    """Savings per kg (estimates on every candidate: the Beijing lane 1 000 kg by one
    truck, ~156 a kg): O3 ~700, O1 ~140, O2 ~90. At 600 kg: O3 (100 kg), not O1 (600
    would make 700), then O2 (400, 500 in all)."""
    hub_data["fleet"]["hubs"][0]["capacity_kg"] = 600.0
    _, routing = route(hub_data)
    legs = sorted(r.id for r in routing.requests if r.hub is not None)
    assert legs == ["goods:O2:F1@H1", "goods:O3:F1@H1"]
    assert "goods:O1:F1" in {r.id for r in routing.requests}
    assert [(u.goods_kg, u.material_kg) for u in routing.hub_use] == [(500.0, 0.0)]
    # O2 alone on the Beijing lane: ltl 0.4 t x km x 200, dearer a kg than the estimate
    (beijing,) = [s for s in routing.line_haul if s.destination == "B1"]
    assert (beijing.mode, beijing.weight_kg) == ("ltl", 400.0)
    assert beijing.cost_cents == math.floor(0.4 * km(HUB, BEIJING, hub_data) * 200 + 0.5)
    assert any("1 lane-period(s) cost more per kg than estimated" in n for n in routing.notes)


@pytest.mark.parametrize("search", [False, True])
def test_a_leg_whose_route_costs_more_than_its_saving_goes_door_to_door(
    hub_data: dict[str, Any], search: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day of the van costs 2 500.00: less than the carrier's 3 800.00 for the three
    goods loads, more than the ~1 928.00 the hub saves on them. The legs are offered
    but not carried (with or without the no-VRP bound): door to door by carrier at
    their carrier_cents, no line-haul, no handling."""
    from solvers.routing import stage

    if search:
        monkeypatch.setattr(stage._Day, "cannot_pay", lambda self: False)
    hub_data["fleet"]["vehicles"][0]["fixed_cost_cents"] = 250_000
    _, routing = route(hub_data)
    legs = [r for r in routing.requests if r.hub is not None]
    assert len(legs) == 3
    assert not routing.routes
    reasons = {u.request: u.reason for u in routing.unrouted}
    for leg in legs:
        assert reasons[leg.id] is UnroutedReason.CARRIER_CHEAPER
    assert routing.carrier_cents == sum(r.carrier_cents for r in routing.requests)
    assert routing.carrier_cents == 180_000 + 100_000 + 100_000 + 100_000  # O4 by carrier too
    assert not routing.line_haul and not routing.hub_use
    assert routing.line_haul_cents == routing.handling_cents == 0
    assert routing.transport_cents == routing.carrier_cents


def test_without_hubs_the_requests_are_door_to_door(hub_data: dict[str, Any]) -> None:
    hub_data["fleet"]["hubs"] = []
    _, routing = route(hub_data, PURCHASING)
    assert [r.id for r in routing.requests] == [
        "goods:O1:F1",
        "goods:O2:F1",
        "goods:O3:F1",
        "goods:O4:F2",
        "material:cotton_fabric:S1:F1:0",
    ]
    assert all(r.hub is None for r in routing.requests)
    assert {r.destination for r in routing.requests if r.kind == "goods"} == {
        "O1",
        "O2",
        "O3",
        "O4",
    }
    assert not routing.line_haul and not routing.hub_use
    assert not any(n.startswith("hubs:") for n in routing.notes)
    assert routing.transport_cents == routing.fleet_cents + routing.carrier_cents


def _day(instance: Instance, loads: list[Load]) -> _Day:
    types = _vehicle_types(instance.fleet.vehicles)
    return _Day(instance, 0, loads, types, ("weight_kg",))


def leg(instance: Instance, units: int = 10) -> Load:
    f1 = next(f for f in instance.factories if f.id == "F1")
    hub = instance.fleet.hubs[0]
    return Load(
        id="goods:O1:F1@H1",
        kind="goods",
        period=0,
        origin=Place("factory", "F1", f1.location),
        destination=Place("hub", "H1", hub.location),
        units=units,
        per_unit={"weight_kg": 10.0},
        carrier_per_unit=3000,
        carrier_min=0,
        order="O1",
        kg_per_unit=10.0,
        hub="H1",
        onward_per_kg=100.0,
    )


def test_a_leg_s_worth_is_its_saving_and_is_the_fleet_s_penalty(
    hub_data: dict[str, Any],
) -> None:
    instance = parse_instance(hub_data)
    day = _day(instance, [leg(instance)])
    (request,) = day.problem().requests
    # carrier 10 x 3000 = 30 000, onward 100 kg x 100 = 10 000: saving 20 000 cents
    assert request.penalty == 20_000 * 100
    assert request.delivery is not None and request.pickup is not None
    assert (request.delivery.early, request.delivery.late) == (0, 1440 * 60)


def test_a_leg_is_out_of_reach_when_the_hub_is_closed_whenever_the_van_could_come(
    hub_data: dict[str, Any],
) -> None:
    hub_data["fleet"]["hubs"][0] |= {"open_minute": 0, "close_minute": 400}
    instance = parse_instance(hub_data)
    day = _day(instance, [leg(instance)])
    assert not day.reachable
    assert [u.reason for u in day.out_of_reach()] == [UnroutedReason.OUT_OF_REACH]


def test_waiting_for_the_hub_to_open_does_not_count_against_the_maximum_duration(
    hub_data: dict[str, Any],
) -> None:
    """The hub opens at 15:00, the van's shift at 08:00 and it may work 2 hours: it
    leaves late enough not to wait, so the leg is within reach."""
    hub_data["fleet"]["vehicles"][0]["max_duration_minutes"] = 120
    hub_data["fleet"]["hubs"][0] |= {"open_minute": 900, "close_minute": 960}
    instance = parse_instance(hub_data)
    day = _day(instance, [leg(instance)])
    assert day.reachable
    hub_data["fleet"]["vehicles"][0]["shift_end_minute"] = 905  # back by 15:05: too early
    instance = parse_instance(hub_data)
    assert not _day(instance, [leg(instance)]).reachable


def test_hub_and_line_haul_defaults(hub_data: dict[str, Any]) -> None:
    del hub_data["transport"]["line_haul"]
    instance = parse_instance(hub_data)
    assert instance.transport.line_haul_rates == LineHaul()
    assert isinstance(instance.fleet.hubs[0], Hub)
    _, routing = route(hub_data, PURCHASING)
    # 1 000 kg to Beijing at the default rates: ltl 1 t x km x 12 against a 24 t truck
    (beijing,) = [s for s in routing.line_haul if s.destination == "B1"]
    assert beijing.mode == "ltl"
    assert beijing.cost_cents == math.floor(max(5000, 1.0 * km(HUB, BEIJING, hub_data) * 12) + 0.5)


def test_a_leg_is_split_like_any_load_its_suffix_after_the_hub(hub_data: dict[str, Any]) -> None:
    hub_data["fleet"]["vehicles"][0]["capacity"]["weight_kg"] = 500.0  # O1's 600 kg: 2 parts
    _, routing = route(hub_data)
    ids = [r.id for r in routing.requests]
    assert "goods:O1:F1@H1#1/2" in ids and "goods:O1:F1@H1#2/2" in ids
    parts = [r for r in routing.requests if r.id.startswith("goods:O1:F1@H1#")]
    assert [(r.quantity, r.hub, r.destination) for r in parts] == [(30.0, "H1", "H1")] * 2
    carried = {s.request for r in routing.routes for s in r.stops}
    (beijing,) = [s for s in routing.line_haul if s.destination == "B1"]
    assert set(beijing.requests) == carried & {r.id for r in routing.requests if r.order != "O3"}
    assert beijing.weight_kg == sum(
        r.load["weight_kg"] for r in routing.requests if r.id in beijing.requests
    )
