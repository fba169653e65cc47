"""Tests of the checker's hubs, line-haul and hubs' use (docs/logistics.md).

A tiny instance with one hub in use and a plan whose every figure is computed by hand
below; each failing test changes one thing and expects the matching violation code and
path. The plan is written by hand: it does not come from the routing stage.

Every place is on the equator, so a distance is its longitude difference: one degree is
6371 x pi / 180 = 111.19492664 km (road factor 1.0), and the vehicle drives at exactly
that speed, so one degree takes 60 minutes.

* depot D and hub H1 at longitude 0 (H1: reach 100 km, 1 c per kg handled, 5000 kg a
  period, open 540..900); hub H2 at 1.0 (reach 100 km, unused); supplier S1 at -5;
  factories F1 at 0.5 (55.6 km from both hubs: a tie, so its hub is H1, the first
  listed) and F2 at 3.0 (no hub within reach); every order delivered at 10.0;
* V1 at D: 1500 kg and 10 m3, 10.00 fixed + 0.10 per km + 6.00 per hour, shift
  480..960; 15 minutes of service at every stop;
* transport 100 c per tonne-km, the carrier's minimum 10.00; line-haul 0.10 per truck-km
  (trucks of 24 t), ltl 12 c per tonne-km, at least 50.00;
* O1 (buyer B1): 20 units of 100 kg and 0.1 m3 at F1; O2 (B1): 5 units (same) at F1;
  O3 (B2): 3 units (same) at F2; all made in period 0 (the only one). O1 and O2 need
  1 unit of resin (10 kg, 0.02 m3) per unit: 25 units bought from S1 at 1.00, delivered
  to F1 in period 0.

Per-unit estimates (half up): O1, O2 from F1, 9.5 degrees x 100 kg x 0.1 = 10563.52 ->
10564 c; O3 from F2, 7 degrees: 7783.64 -> 7784 c; resin S1 -> F1, 5.5 degrees x 10 kg x
0.1 = 611.57 -> 612 c.

Requests: O1's 2000 kg split in two of 10 units (V1 takes 15), each 105640 c by carrier;
O2 52820 c; O3 3 x 7784 = 23352 c; the resin 25 x 612 = 15300 c. F1's loads go through
H1 as legs (``@H1`` before the split suffix), O3 door to door.

Route (period 0): V1 leaves D at 540 (H1, at the depot, opens then): picks the resin up
at H1 540..555 (250 kg), delivers it at F1 (30 min) 585..600, picks up O1#1/2 600..615
(1000 kg) and O2 615..630 (1500 kg), delivers both at H1 (30 min) 660..675 and
675..690, is back at 690. 1 degree, 150 min: 1000 + 10 x 111.1949 + 600 x 2.5 =
3611.95 -> 3612. O1#2/2 is left to the carrier (CARRIER_CHEAPER), O3 too (OUT_OF_REACH:
1200 min of driving).

Line-haul: goods H1 -> B1 (at 10.0), 1500 kg over 1111.9493 km: ftl 1 x 1111.9493 x 10 =
11119.49, ltl max(5000, 1.5 x 1111.9493 x 12 = 20015.09): ftl, 11119. Materials
S1 -> H1, 250 kg over 555.9746 km: ftl 5559.75, ltl max(5000, 1667.92) = 5000: ltl.
Hub use: H1 in period 0, 1500 kg of goods in and 250 of materials out: 1750 c handling.

Totals: fleet 3612; carrier 105640 + 23352 = 128992; line-haul 16119; handling 1750;
estimate 2 x 105640 + 52820 + 23352 + 15300 = 302752. Costs: production 28 x 100 =
2800; transport 3612 + 128992 + 16119 + 1750 = 150473; purchasing 2500; total 155773.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from matcher.check import CheckReport, check_plan
from matcher.check.logistics import Shipping, factory_hubs
from matcher.domain.entities import LineHaul
from matcher.domain.plan import CostBreakdown, Plan
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, paths, replace_fields

Data = dict[str, Any]

DEGREE_KM = 6371.0 * math.pi / 180

PART1, PART2 = "goods:O1:F1@H1#1/2", "goods:O1:F1@H1#2/2"
O2_LEG, O3_DOOR = "goods:O2:F1@H1", "goods:O3:F2"
RESIN_LEG = "material:resin:S1:F1:0@H1"


def _at(lon: float) -> Data:
    return {"lat": 0.0, "lon": lon}


def _instance_data() -> Data:
    def factory(fid: str, lon: float) -> Data:
        return {
            "id": fid,
            "location": _at(lon),
            "credit": {"score": 100},
            "capabilities": [
                {
                    "process": "make",
                    "resource_group": "line",
                    "unit_cost_cents": 100,
                    "seconds_per_unit": 60,
                }
            ],
            "resources": [{"id": "line", "available_minutes": [600]}],
        }

    def order(oid: str, buyer: str, quantity: int, resin: bool) -> Data:
        return {
            "id": oid,
            "buyer": buyer,
            "operations": [{"process": "make"}],
            "quantity": quantity,
            "due_period": 0,
            "delivery": _at(10.0),
            "unit_weight_kg": 100.0,
            "unit_volume_m3": 0.1,
            "bill_of_materials": {"resin": 1.0} if resin else {},
        }

    return {
        "name": "logistics-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": 1},
        "processes": [{"id": "make"}],
        "materials": [{"id": "resin", "kg_per_unit": 10.0, "m3_per_unit": 0.02}],
        "factories": [factory("F1", 0.5), factory("F2", 3.0)],
        "orders": [
            order("O1", "B1", 20, True),
            order("O2", "B1", 5, True),
            order("O3", "B2", 3, False),
        ],
        "suppliers": [
            {
                "id": "S1",
                "location": _at(-5.0),
                "offers": [
                    {
                        "material": "resin",
                        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 100}]},
                    }
                ],
            }
        ],
        "fleet": {
            "depots": [{"id": "D", "location": _at(0.0)}],
            "vehicles": [
                {
                    "id": "V1",
                    "depot": "D",
                    "capacity": {"weight_kg": 1500.0, "volume_m3": 10.0},
                    "fixed_cost_cents": 1000,
                    "cost_per_km_cents": 10,
                    "cost_per_hour_cents": 600,
                    "speed_kmh": DEGREE_KM,
                    "shift_start_minute": 480,
                    "shift_end_minute": 960,
                }
            ],
            "hubs": [
                {
                    "id": "H1",
                    "location": _at(0.0),
                    "reach_km": 100.0,
                    "handling_cents_per_kg": 1.0,
                    "capacity_kg": 5000.0,
                    "open_minute": 540,
                    "close_minute": 900,
                },
                {"id": "H2", "location": _at(1.0), "reach_km": 100.0},
            ],
            "service_minutes": 15,
        },
        "transport": {
            "road_factor": 1.0,
            "cents_per_tonne_km": 100.0,
            "carrier_min_cents": 1000,
            "line_haul": {
                "truck_capacity_kg": 24000.0,
                "truck_cents_per_km": 10,
                "ltl_cents_per_tonne_km": 12.0,
                "ltl_min_cents": 5000,
            },
        },
    }


def _request(
    rid: str, kind: str, ends: tuple[str, str], subject: str, units: int, carrier: int
) -> Data:
    kg, m3 = (100.0, 0.1) if kind == "goods" else (10.0, 0.02)
    return {
        "id": rid,
        "kind": kind,
        "period": 0,
        "origin": ends[0],
        "destination": ends[1],
        "order": subject if kind == "goods" else None,
        "material": subject if kind == "material" else None,
        "quantity": float(units),
        "load": {"weight_kg": units * kg, "volume_m3": units * m3},
        "carrier_cents": carrier,
        "hub": "H1" if "@H1" in rid else None,
    }


def _stop(request: str, action: str, place: str, at: int, kg: float, m3: float) -> Data:
    return {
        "request": request,
        "action": action,
        "place": place,
        "arrival_minute": at,
        "start_minute": at,
        "departure_minute": at + 15,
        "load_after": {"weight_kg": kg, "volume_m3": m3},
    }


def _routes_data() -> Data:
    return {
        "requests": [
            _request(PART1, "goods", ("F1", "H1"), "O1", 10, 105640),
            _request(PART2, "goods", ("F1", "H1"), "O1", 10, 105640),
            _request(O2_LEG, "goods", ("F1", "H1"), "O2", 5, 52820),
            _request(O3_DOOR, "goods", ("F2", "O3"), "O3", 3, 23352),
            _request(RESIN_LEG, "material", ("H1", "F1"), "resin", 25, 15300),
        ],
        "routes": [
            {
                "vehicle": "V1",
                "depot": "D",
                "period": 0,
                "start_minute": 540,
                "end_minute": 690,
                "stops": [
                    _stop(RESIN_LEG, "pickup", "H1", 540, 250.0, 0.5),
                    _stop(RESIN_LEG, "delivery", "F1", 585, 0.0, 0.0),
                    _stop(PART1, "pickup", "F1", 600, 1000.0, 1.0),
                    _stop(O2_LEG, "pickup", "F1", 615, 1500.0, 1.5),
                    _stop(PART1, "delivery", "H1", 660, 500.0, 0.5),
                    _stop(O2_LEG, "delivery", "H1", 675, 0.0, 0.0),
                ],
                "distance_km": round(DEGREE_KM, 3),
                "duration_minutes": 150.0,
                "cost_cents": 3612,
            }
        ],
        "unrouted": [
            {"request": PART2, "reason": "CARRIER_CHEAPER", "detail": "by carrier"},
            {"request": O3_DOOR, "reason": "OUT_OF_REACH", "detail": "1200 min of driving"},
        ],
        "line_haul": [
            {
                "kind": "goods",
                "origin": "H1",
                "destination": "B1",
                "period": 0,
                "requests": [PART1, O2_LEG],
                "weight_kg": 1500.0,
                "distance_km": round(10 * DEGREE_KM, 3),
                "mode": "ftl",
                "trucks": 1,
                "cost_cents": 11119,
            },
            {
                "kind": "material",
                "origin": "S1",
                "destination": "H1",
                "period": 0,
                "requests": [RESIN_LEG],
                "weight_kg": 250.0,
                "distance_km": round(5 * DEGREE_KM, 3),
                "mode": "ltl",
                "trucks": 0,
                "cost_cents": 5000,
            },
        ],
        "hub_use": [
            {
                "hub": "H1",
                "period": 0,
                "goods_kg": 1500.0,
                "material_kg": 250.0,
                "handling_cents": 1750,
            }
        ],
        "fleet_cents": 3612,
        "carrier_cents": 128992,
        "line_haul_cents": 16119,
        "handling_cents": 1750,
        "estimate_cents": 302752,
        "vehicles_used": 1,
        "distance_km": round(DEGREE_KM, 3),
        "service_minutes": 15,
    }


def _purchasing_data() -> Data:
    return {
        "purchases": [
            {
                "supplier": "S1",
                "material": "resin",
                "quantity": 25,
                "tier": 0,
                "unit_price_cents": 100,
                "cost_cents": 2500,
                "transport_cents": 15300,
                "order_period": 0,
                "deliveries": [{"factory": "F1", "period": 0, "order_period": 0, "quantity": 25}],
            }
        ],
        "collective_cents": 17800,
        "material_cents": 2500,
        "transport_cents": 15300,
        "standalone_cents": 17800,
        "savings_cents": 0,
        "savings_by_material_cents": {"resin": 0},
        "split_method": "proportional",
        "shares": [
            {
                "factory": "F1",
                "standalone_cents": 17800,
                "charged_cents": 17800,
                "saving_cents": 0,
                "method": "proportional",
            }
        ],
    }


def _row(order: str, factory: str, quantity: int, rate: int) -> Data:
    return {
        "order": order,
        "operation": 0,
        "process": "make",
        "factory": factory,
        "resource_group": "line",
        "quantity": quantity,
        "periods": [{"period": 0, "quantity": quantity}],
        "production_cents": 100 * quantity,
        "transport_cents": rate * quantity,
    }


def _plan_data() -> Data:
    def util(factory: str, used: float) -> Data:
        return {
            "factory": factory,
            "resource_group": "line",
            "period": 0,
            "used_minutes": used,
            "free_minutes": 600,
        }

    return {
        "instance": "logistics-tiny",
        "status": "FEASIBLE",
        "weights": {},
        "allocations": [
            _row("O1", "F1", 20, 10564),
            _row("O2", "F1", 5, 10564),
            _row("O3", "F2", 3, 7784),
        ],
        "unassigned": [],
        "costs": {
            "production": 2800,
            "transport": 150473,
            "purchasing": 2500,
            "total": 155773,
            "objective": 155773,
        },
        "kpis": {
            "orders": 3,
            "orders_served": 3,
            "orders_on_time": 3,
            "orders_late": 0,
            "orders_unassigned": 0,
            "fill_rate": 1.0,
            "unit_fill_rate": 1.0,
            "on_time_rate": 1.0,
            "factories_used": 2,
            "factory_utilisation": [],
            "utilisation": [util("F1", 25.0), util("F2", 3.0)],
        },
        "stages": [],
        "purchasing": _purchasing_data(),
        "routes": _routes_data(),
    }


def _check(instance: Data | None = None, plan: Data | None = None) -> CheckReport:
    return check_plan(
        parse_instance(instance if instance is not None else _instance_data()),
        Plan.model_validate(plan if plan is not None else _plan_data()),
    )


def _mutated(**changes: Any) -> Data:
    """The base plan with ``routes`` fields replaced (``__`` between keys, list indexes)."""
    plan = _plan_data()
    replace_fields(plan["routes"], changes)
    return plan


def _hub(**changes: Any) -> Data:
    """The base instance with H1's fields replaced."""
    instance = _instance_data()
    instance["fleet"]["hubs"][0].update(changes)
    return instance


def _renamed(plan: Data, old: str, new: str) -> Data:
    """``old`` renamed ``new`` in every request, stop, unrouted row and shipment."""
    routes = plan["routes"]
    for row in [*routes["requests"], *routes["unrouted"]]:
        for key in ("id", "request"):
            if row.get(key) == old:
                row[key] = new
    for stop in routes["routes"][0]["stops"]:
        if stop["request"] == old:
            stop["request"] = new
    for shipment in routes["line_haul"]:
        shipment["requests"] = [new if r == old else r for r in shipment["requests"]]
    return plan


# -- a correct plan --------------------------------------------------------------


def test_hand_computed_plan_through_a_hub_passes() -> None:
    report = _check()
    assert report.violations == []
    assert report.recomputed == CostBreakdown(
        production=2800, transport=150473, purchasing=2500, total=155773, objective=155773
    )


def test_hand_figures_follow_the_formulas() -> None:
    km = DEGREE_KM
    assert math.floor(9.5 * km * 100 * 100 / 1000 + 0.5) == 10564
    assert math.floor(7 * km * 100 * 100 / 1000 + 0.5) == 7784
    assert math.floor(5.5 * km * 10 * 100 / 1000 + 0.5) == 612
    assert math.floor(1000 + 10 * km + 600 * 2.5 + 0.5) == 3612
    rates = LineHaul(truck_cents_per_km=10)
    goods = Shipping.of(rates, 1500.0, 10 * km)
    assert (goods.mode, goods.trucks, goods.cents) == ("ftl", 1, 11119)
    material = Shipping.of(rates, 250.0, 5 * km)
    assert (material.mode, material.cents) == ("ltl", 5000)


def test_factory_hub_is_the_nearest_within_reach_ties_the_first_listed() -> None:
    instance = parse_instance(_instance_data())
    assert {f: h.id for f, h in factory_hubs(instance).items()} == {"F1": "H1"}
    data = _instance_data()
    data["fleet"]["hubs"].reverse()
    assert factory_hubs(parse_instance(data))["F1"].id == "H2"
    data["fleet"]["hubs"][0]["location"] = _at(0.6)  # H2 nearer than H1 now
    data["fleet"]["hubs"].reverse()
    assert factory_hubs(parse_instance(data))["F1"].id == "H2"


def test_ltl_when_the_modes_cost_the_same() -> None:
    # 1000 kg over 100 km: ftl 100 x 120 = 12000; ltl max(0, 1 x 100 x 120) = 12000.
    rates = LineHaul(truck_cents_per_km=120, ltl_cents_per_tonne_km=120.0, ltl_min_cents=0)
    ship = Shipping.of(rates, 1000.0, 100.0)
    assert ship.mode == "ltl"
    assert ship.trucks_in(ship.mode) == 0
    assert Shipping.of(rates, 48000.5, 100.0).trucks == 3


def test_full_trucks_and_the_remainder_by_ltl_when_that_is_cheapest() -> None:
    # Trucks of 1 000 kg at 100 c/km, ltl 200 c/t-km, at least 5 000: 1 200 kg over
    # 1 000 km at one address (1 200 t-km): ltl 240 000, ftl 2 trucks 200 000, ftl+ltl
    # 1 truck 100 000 + the remainder's 200 kg (200 t-km) 40 000 = 140 000.
    rates = LineHaul(
        truck_capacity_kg=1000.0,
        truck_cents_per_km=100,
        ltl_cents_per_tonne_km=200.0,
        ltl_min_cents=5000,
    )
    ship = Shipping.of(rates, 1200.0, 1000.0)
    assert ship.costs == {"ltl": 240_000.0, "ftl": 200_000.0, "ftl+ltl": 140_000.0}
    assert (ship.mode, ship.modes, ship.trucks_in("ftl+ltl"), ship.cents) == (
        "ftl+ltl",
        {"ftl+ltl"},
        1,
        140_000,
    )
    assert "ftl+ltl 1 truck(s)" in ship.explain(rates)
    # A whole number of trucks has no remainder, and under one truck nothing is full.
    assert "ftl+ltl" not in Shipping.of(rates, 2000.0, 1000.0).costs
    assert "ftl+ltl" not in Shipping.of(rates, 999.0, 1000.0).costs
    # A tie goes to ftl before ftl+ltl: 1 010 kg over 100 km, ltl at least 10 000: ftl 2
    # trucks 20 000; ftl+ltl 10 000 + 10 000.
    tie = Shipping.of(rates.model_copy(update={"ltl_min_cents": 10_000}), 1010.0, 100.0)
    assert tie.costs["ftl"] == tie.costs["ftl+ltl"] == 20_000.0
    assert (tie.mode, tie.modes) == ("ftl", {"ftl", "ftl+ltl"})


def test_plan_all_door_to_door_in_an_instance_with_hubs_passes() -> None:
    # Offering loads through the hub is the stage's choice: door to door stays valid.
    plan = _plan_data()
    routes = plan["routes"]
    for rid, door in (
        (PART1, "goods:O1:F1#1/2"),
        (PART2, "goods:O1:F1#2/2"),
        (O2_LEG, "goods:O2:F1"),
        (RESIN_LEG, "material:resin:S1:F1:0"),
    ):
        _renamed(plan, rid, door)
    for request in routes["requests"]:
        request["hub"] = None
        if request["kind"] == "goods":
            request["destination"] = request["order"]
        else:
            request["origin"] = "S1"
    routes["routes"] = []
    routes["unrouted"] = [
        {"request": r["id"], "reason": "OUT_OF_REACH", "detail": "far"} for r in routes["requests"]
    ]
    routes.update(
        line_haul=[],
        hub_use=[],
        fleet_cents=0,
        carrier_cents=302752,
        line_haul_cents=0,
        handling_cents=0,
        vehicles_used=0,
        distance_km=0.0,
    )
    plan["costs"].update(transport=302752, total=308052, objective=308052)
    assert _check(plan=plan).violations == []


def test_unrouted_leg_goes_by_carrier_at_its_door_to_door_price() -> None:
    # Not carried, O2's leg costs its carrier_cents and nothing on the line-haul: the
    # goods lane then carries O1#1/2 alone, 1000 kg: ftl 11119 < ltl 13343.
    plan = _plan_data()
    routes = plan["routes"]
    route = routes["routes"][0]
    route["stops"] = [
        _stop(RESIN_LEG, "pickup", "H1", 540, 250.0, 0.5),
        _stop(RESIN_LEG, "delivery", "F1", 585, 0.0, 0.0),
        _stop(PART1, "pickup", "F1", 600, 1000.0, 1.0),
        _stop(PART1, "delivery", "H1", 645, 0.0, 0.0),
    ]
    route.update(end_minute=660, duration_minutes=120.0, cost_cents=3312)  # 3311.95
    routes["unrouted"].append({"request": O2_LEG, "reason": "CARRIER_CHEAPER", "detail": ""})
    routes["line_haul"][0].update(requests=[PART1], weight_kg=1000.0)
    routes["hub_use"][0].update(goods_kg=1000.0, handling_cents=1250)
    routes.update(fleet_cents=3312, carrier_cents=128992 + 52820, handling_cents=1250)
    transport = 3312 + 128992 + 52820 + 16119 + 1250
    plan["costs"].update(transport=transport, total=transport + 5300, objective=transport + 5300)
    assert _check(plan=plan).violations == []


# -- requests through hubs ---------------------------------------------------------


def test_leg_through_another_hub_than_its_factorys_is_a_violation() -> None:
    plan = _renamed(_plan_data(), O2_LEG, "goods:O2:F1@H2")
    plan["routes"]["requests"][2].update(hub="H2", destination="H2")
    report = _check(plan=plan)
    found = [v for v in report.violations if v.code == "REQUEST_HUB"]
    assert [v.path for v in found] == ["routes.requests[2].hub"]
    assert "served by hub 'H1'" in found[0].message


def test_leg_of_a_factory_without_a_hub_is_a_violation() -> None:
    plan = _renamed(_plan_data(), O3_DOOR, "goods:O3:F2@H1")
    plan["routes"]["requests"][3].update(hub="H1", destination="H1")
    plan["routes"]["unrouted"][1]["reason"] = "CARRIER_CHEAPER"  # H1 is near enough
    report = _check(plan=plan)
    (violation,) = only(report, "REQUEST_HUB")
    assert violation.path == "routes.requests[3].hub"
    assert "no hub is within reach" in violation.message


def test_leg_through_an_unknown_hub_is_a_violation() -> None:
    plan = _renamed(_plan_data(), O3_DOOR, "goods:O3:F2@H9")
    plan["routes"]["requests"][3].update(hub="H9", destination="H9")
    report = _check(plan=plan)
    (violation,) = only(report, "REQUEST_HUB")
    assert violation.path == "routes.requests[3].hub"
    assert "unknown hub 'H9'" in violation.message


@pytest.mark.parametrize(
    ("old", "new"),
    [(PART1, "goods:O1:F1#1/2@H1"), (O2_LEG, "goods:O2:F1")],
    ids=["split-suffix-first", "no-hub-in-id"],
)
def test_leg_id_other_than_load_id_at_hub_is_a_violation(old: str, new: str) -> None:
    plan = _renamed(_plan_data(), old, new)
    index = [r["id"] for r in plan["routes"]["requests"]].index(new)
    report = _check(plan=plan)
    assert paths(report) == [f"routes.requests[{index}].id"]
    only(report, "REQUEST_LEG_ID")


def test_id_naming_a_hub_without_hub_set_is_a_violation() -> None:
    plan = _mutated(requests__2__hub=None)
    report = _check(plan=plan)
    assert "routes.requests[2].id" in paths(report)
    assert "REQUEST_LEG_ID" in report.codes()


def test_leg_with_wrong_end_is_a_violation() -> None:
    report = _check(plan=_mutated(requests__2__destination="O2"))
    assert paths(report) == ["routes.requests[2].destination"]
    only(report, "REQUEST_MISMATCH")


def test_leg_with_other_than_its_loads_carrier_price_is_a_violation() -> None:
    report = _check(plan=_mutated(requests__0__carrier_cents=105000))
    assert paths(report) == ["routes.requests[0].carrier_cents"]
    only(report, "REQUEST_CARRIER")


def test_load_listed_door_to_door_and_as_leg_is_a_violation() -> None:
    plan = _plan_data()
    plan["routes"]["requests"].append(
        _request("goods:O2:F1", "goods", ("F1", "O2"), "O2", 5, 52820)
    )
    report = _check(plan=plan)
    assert "REQUEST_DOOR_AND_LEG" in report.codes()
    assert "routes.requests[5]" in paths(report)


def test_stop_at_the_factory_instead_of_the_hub_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__0__stops__0__place="S1"))
    assert paths(report) == ["routes.routes[0].stops[0].place"]
    only(report, "STOP_PLACE")


# -- stops at hubs -------------------------------------------------------------------


def test_stop_before_the_hub_opens_is_a_violation() -> None:
    report = _check(_hub(open_minute=560))
    (violation,) = only(report, "STOP_HUB_HOURS")
    assert violation.path == "routes.routes[0].stops[0].start_minute"


def test_stop_after_the_hub_closes_is_a_violation() -> None:
    report = _check(_hub(close_minute=670))
    (violation,) = only(report, "STOP_HUB_HOURS")
    assert violation.path == "routes.routes[0].stops[5].start_minute"


def test_leg_the_hubs_hours_put_out_of_reach_is_not_carrier_cheaper() -> None:
    # H1 closes before the shift starts: no vehicle can deliver O1#2/2 there.
    instance = _hub(open_minute=0, close_minute=300)
    report = _check(instance)
    assert "routes.unrouted[0].reason" in paths(report)
    plan = _mutated(unrouted__0__reason="OUT_OF_REACH")
    assert "routes.unrouted[0].reason" not in paths(_check(instance, plan))


def _two_hub_route(leave: int) -> tuple[Data, Data]:
    """O2's leg through H2 (not F1's hub: REQUEST_HUB) on a route that must wait for H2
    to open: H1 open 540..700, H2 800..900. Leaving at 580 the route reaches H1 at
    700, its latest, and H2 (60 min on) at 775, then waits to 800: 295 min, 25 of them
    waiting; travel 3 degrees = 180 min and 6 x 15 min of service make only 270."""
    instance = _hub(close_minute=700)
    instance["fleet"]["hubs"][1].update(open_minute=800, close_minute=900)
    plan = _renamed(_plan_data(), O2_LEG, "goods:O2:F1@H2")
    plan["routes"]["requests"][2].update(hub="H2", destination="H2")
    shift = leave - 580
    route = plan["routes"]["routes"][0]
    for stop, at in zip(route["stops"], (580, 625, 640, 655, 700), strict=False):
        stop.update(arrival_minute=at + shift, start_minute=at + shift)
        stop["departure_minute"] = at + shift + 15
    route["stops"][5].update(
        place="H2", arrival_minute=775 + shift, start_minute=800, departure_minute=815
    )
    route.update(
        start_minute=leave,
        end_minute=875,
        duration_minutes=875.0 - leave,
        distance_km=round(3 * DEGREE_KM, 3),
        cost_cents=math.floor(1000 + 30 * DEGREE_KM + 10 * (875 - leave) + 0.5),
    )
    return instance, plan


def test_waiting_for_a_hub_to_open_is_not_a_violation() -> None:
    report = _check(*_two_hub_route(580))
    assert "REQUEST_HUB" in report.codes()
    assert not [v for v in report.violations if v.path.startswith("routes.routes")]


def test_waiting_more_than_a_hub_makes_a_route_is_a_violation() -> None:
    report = _check(*_two_hub_route(540))  # it could leave at 580
    (violation,) = [v for v in report.violations if v.code == "ROUTE_WAITING"]
    assert "waiting for hubs to open" in violation.message


# -- line-haul -----------------------------------------------------------------------


def test_shipment_cost_off_by_a_cent_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__0__cost_cents=11120))
    (violation,) = only(report, "LINE_HAUL_COST")
    assert violation.path == "routes.line_haul[0].cost_cents"
    assert "-> 11119" in violation.message


def test_dearer_mode_is_a_violation() -> None:
    # ltl as such is costed right (20015), but ftl is cheaper.
    plan = _mutated(
        line_haul__0__mode="ltl", line_haul__0__trucks=0, line_haul__0__cost_cents=20015
    )
    report = _check(plan=plan)
    assert paths(report) == ["routes.line_haul[0].mode"]
    only(report, "LINE_HAUL_MODE")


def test_trucks_of_an_ltl_shipment_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__1__trucks=1))
    assert paths(report) == ["routes.line_haul[1].trucks"]
    only(report, "LINE_HAUL_MODE")


def test_two_shipments_on_one_lane_and_period_are_a_violation() -> None:
    plan = _plan_data()
    shipments = plan["routes"]["line_haul"]
    shipments[0].update(requests=[PART1], weight_kg=1000.0)
    # O2 alone, 500 kg: ftl 11119 against ltl max(5000, 6671.70): ltl 6672.
    second = dict(shipments[0], requests=[O2_LEG], weight_kg=500.0)
    second.update(mode="ltl", trucks=0, cost_cents=6672)
    shipments.append(second)
    report = _check(plan=plan)
    assert paths(report) == ["routes.line_haul[2]"]
    only(report, "LINE_HAUL_DUPLICATE")


def test_uncarried_leg_in_a_shipment_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__0__requests=[PART1, O2_LEG, PART2]))
    assert paths(report) == ["routes.line_haul[0].requests[2]"]
    only(report, "LINE_HAUL_UNCARRIED")


def test_door_to_door_request_in_a_shipment_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__0__requests=[PART1, O2_LEG, O3_DOOR]))
    assert paths(report) == ["routes.line_haul[0].requests[2]"]
    only(report, "LINE_HAUL_UNKNOWN_REQUEST")


def test_carried_leg_missing_from_the_line_haul_is_a_violation() -> None:
    # O1#1/2 alone weighs 1000 kg: ftl 11119 against ltl 13343, the same cost.
    plan = _mutated(line_haul__0__requests=[PART1], line_haul__0__weight_kg=1000.0)
    report = _check(plan=plan)
    (violation,) = only(report, "LINE_HAUL_MISSING")
    assert violation.path == "routes.line_haul"
    assert O2_LEG in violation.message


def test_leg_in_two_shipments_is_a_violation() -> None:
    plan = _mutated(line_haul__1__requests=[RESIN_LEG, PART1])
    report = _check(plan=plan)
    assert paths(report) == ["routes.line_haul[1].requests[1]"]
    only(report, "LINE_HAUL_TWICE")


def test_legs_of_two_lanes_in_one_shipment_is_a_violation() -> None:
    plan = _mutated(line_haul__0__requests=[PART1, O2_LEG, RESIN_LEG])
    plan["routes"]["line_haul"].pop(1)
    report = _check(plan=plan)
    assert "routes.line_haul[0].requests[2]" in paths(report)
    assert "LINE_HAUL_LANE" in report.codes()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "material"), ("origin", "H2"), ("destination", "O1"), ("period", 1)],
)
def test_shipment_on_another_lane_than_its_legs_is_a_violation(field: str, value: Any) -> None:
    report = _check(plan=_mutated(**{f"line_haul__0__{field}": value}))
    assert paths(report) == [f"routes.line_haul[0].{field}"]
    only(report, "LINE_HAUL_LANE")


def test_wrong_shipment_weight_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__1__weight_kg=300.0))
    assert paths(report) == ["routes.line_haul[1].weight_kg"]
    only(report, "LINE_HAUL_WEIGHT")


def test_wrong_shipment_distance_is_a_violation() -> None:
    report = _check(plan=_mutated(line_haul__0__distance_km=1000.0))
    assert paths(report) == ["routes.line_haul[0].distance_km"]
    only(report, "LINE_HAUL_DISTANCE")


def _regional() -> tuple[Data, Data]:
    """The instance with every delivery in region "R" and O2's half a degree farther
    (10.5), and the plan as the rules then have it.

    O2 by carrier from F1: 10 degrees x 100 kg x 0.1 = 11119.49 -> 11119 c a unit, its
    leg 55595 c; the estimates 2 x 105640 + 55595 + 23352 + 15300 = 305527. The goods
    shipment H1 -> R carries O1#1/2 (1000 kg, 10 degrees) and O2 (500 kg, 10.5): 2 drops,
    farthest 10.5 degrees = 1167.547 km, 1 x 10 + 0.5 x 10.5 = 15.25 tonne-degrees =
    1695.723 t-km; ftl 1 truck x 1167.547 x 10 + 1 more drop x 5000 (the default
    stop_cents) = 16675.47, ltl 1695.723 x 12 = 20348.67: ftl, 16675. Line-haul 16675 +
    5000 = 21675; transport 3612 + 128992 + 21675 + 1750 = 156029; total 2800 +
    156029 + 2500 = 161329."""
    instance = _instance_data()
    for row in instance["orders"]:
        row["delivery"]["region"] = "R"
    instance["orders"][1]["delivery"]["lon"] = 10.5
    plan = _plan_data()
    plan["allocations"][1] = _row("O2", "F1", 5, 11119)
    routes = plan["routes"]
    routes["requests"][2]["carrier_cents"] = 55595
    routes["estimate_cents"] = 305527
    routes["line_haul"][0].update(
        destination="R",
        distance_km=round(10.5 * DEGREE_KM, 3),
        drops=2,
        tonne_km=round(15.25 * DEGREE_KM, 3),
        cost_cents=16675,
    )
    routes["line_haul_cents"] = 21675
    plan["costs"].update(transport=156029, total=161329, objective=161329)
    return instance, plan


def test_goods_to_one_region_share_a_shipment_that_stops_at_each_address() -> None:
    instance, plan = _regional()
    report = _check(instance, plan)
    assert report.violations == []
    assert report.recomputed.transport == 156029
    assert math.floor(10.5 * DEGREE_KM * 10 + 5000 + 0.5) == 16675
    assert 15.25 * DEGREE_KM * 12 > 16675.47


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("destination", "B1", "LINE_HAUL_LANE"),  # the buyer, not the region
        ("drops", 1, "LINE_HAUL_DROPS"),
        ("tonne_km", round(15 * DEGREE_KM, 3), "LINE_HAUL_DISTANCE"),
        ("distance_km", round(10 * DEGREE_KM, 3), "LINE_HAUL_DISTANCE"),
    ],
)
def test_wrong_regional_shipment_figures_are_violations(field: str, value: Any, code: str) -> None:
    instance, plan = _regional()
    plan["routes"]["line_haul"][0][field] = value
    report = _check(instance, plan)
    assert paths(report) == [f"routes.line_haul[0].{field}"]
    only(report, code)


def test_one_region_in_two_shipments_is_a_violation() -> None:
    instance, plan = _regional()
    shipments = plan["routes"]["line_haul"]
    alone = dict(shipments[0], requests=[O2_LEG])
    shipments[0]["requests"] = [PART1]
    shipments.append(alone)
    report = _check(instance, plan)
    assert "LINE_HAUL_DUPLICATE" in {v.code for v in report.violations}


def test_an_address_without_a_region_is_a_lane_of_its_own() -> None:
    instance, plan = _regional()
    del instance["orders"][1]["delivery"]["region"]  # O2's address: a lane to its buyer
    report = _check(instance, plan)
    assert "LINE_HAUL_LANE" in {v.code for v in report.violations}
    assert any("goods 'H1' -> 'B1' at (0, 10.5)" in v.message for v in report.violations)


# -- hubs' use -----------------------------------------------------------------------


def test_hub_over_its_capacity_is_a_violation() -> None:
    report = _check(_hub(capacity_kg=1700.0))
    (violation,) = only(report, "HUB_CAPACITY")
    assert violation.path == "routes.hub_use[0]"
    assert "1750 kg" in violation.message


def test_wrong_handling_is_a_violation() -> None:
    report = _check(plan=_mutated(hub_use__0__handling_cents=1751))
    (violation,) = only(report, "HUB_HANDLING")
    assert violation.path == "routes.hub_use[0].handling_cents"


@pytest.mark.parametrize("field", ["goods_kg", "material_kg"])
def test_wrong_kg_through_a_hub_is_a_violation(field: str) -> None:
    report = _check(plan=_mutated(**{f"hub_use__0__{field}": 10.0}))
    assert paths(report) == [f"routes.hub_use[0].{field}"]
    only(report, "HUB_USE_FIGURES")


def test_missing_hub_use_row_is_a_violation() -> None:
    report = _check(plan=_mutated(hub_use=[]))
    assert paths(report) == ["routes.hub_use"]
    only(report, "HUB_USE_MISSING")


def test_hub_use_row_without_carried_legs_is_a_violation() -> None:
    plan = _plan_data()
    plan["routes"]["hub_use"].append(dict(plan["routes"]["hub_use"][0], hub="H2", handling_cents=0))
    report = _check(plan=plan)
    assert paths(report) == ["routes.hub_use[1]"]
    only(report, "HUB_USE_UNKNOWN")


def test_two_rows_for_one_hub_and_period_are_a_violation() -> None:
    plan = _plan_data()
    plan["routes"]["hub_use"].append(dict(plan["routes"]["hub_use"][0]))
    report = _check(plan=plan)
    assert paths(report) == ["routes.hub_use[1]"]
    only(report, "HUB_USE_DUPLICATE")


# -- totals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("line_haul_cents", 16120), ("handling_cents", 1700), ("carrier_cents", 23352)],
)
def test_wrong_logistics_total_is_a_violation(field: str, value: int) -> None:
    report = _check(plan=_mutated(**{field: value}))
    assert paths(report) == [f"routes.{field}"]
    only(report, "ROUTING_TOTALS")


def test_transport_without_line_haul_and_handling_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["transport"] = 3612 + 128992
    report = _check(plan=plan)
    assert "costs.transport" in paths(report)
    assert report.recomputed.transport == 150473


# -- instances without hubs -------------------------------------------------------------


def test_legs_line_haul_and_hub_use_in_an_instance_without_hubs_are_violations() -> None:
    instance = _instance_data()
    del instance["fleet"]["hubs"]
    report = _check(instance)
    found = {(v.code, v.path) for v in report.violations}
    for i in (0, 1, 2, 4):
        assert ("REQUEST_HUB", f"routes.requests[{i}].hub") in found
    assert ("NO_HUBS", "routes.line_haul[0]") in found
    assert ("NO_HUBS", "routes.line_haul[1]") in found
    assert ("NO_HUBS", "routes.hub_use[0]") in found
    assert any("the instance has no hubs" in v.message for v in report.violations)


def test_line_haul_row_in_a_plan_without_hubs_is_a_violation() -> None:
    instance = _instance_data()
    del instance["fleet"]["hubs"]
    plan = _plan_data()
    plan["routes"]["line_haul"] = plan["routes"]["line_haul"][:1]
    plan["routes"]["line_haul"][0]["requests"] = [O3_DOOR]
    report = _check(instance, plan)
    assert ("NO_HUBS", "routes.line_haul[0]") in {(v.code, v.path) for v in report.violations}
