"""Tests of the checker's routes section (docs/routing.md, matcher/check/routing.py).

A tiny instance with a plan whose every figure is computed by hand below; each failing
test changes one thing and expects the matching violation code and path.

Every place is on the equator, so a leg is its longitude difference: one degree is
6371 x pi / 180 = 111.19492664 km (road factor 1.0), and both vehicles drive at exactly
that speed, so one degree takes 60 minutes.

* depot D at longitude 0; supplier S1 at -0.5; factories F1 at 0.5 and F2 at 1.0;
  order O1 delivered at 1.5, order O2 at 9.0;
* V1: 1500 kg and 10 m3, 20.00 fixed + 0.10 per km + 6.00 per hour; V2: 2000 kg and
  10 m3, 30.00 + 0.12 per km + 7.00 per hour; both at D, shift 480..960 (8:00-16:00);
  15 minutes of service at every stop;
* transport 100 c per tonne-km, the carrier's minimum 10.00 per shipment;
* O1: 25 units of 100 kg and 0.1 m3 made at F1 in period 0; O2: 5 units (same) made at
  F2 in period 1; both need 1 unit of resin (10 kg, 0.02 m3) per unit, bought from S1
  at 1.00 per unit (one tier, lead time 0), delivered 25 to F1 in period 0 and 5 to F2
  in period 1.

Per-unit estimates (half up): O1 from F1, 1 degree x 100 kg x 0.1 = 1111.95 -> 1112 c;
O2 from F2, 8 degrees: 8895.59 -> 8896 c; resin S1 -> F1, 1 degree x 10 kg x 0.1 =
111.19 -> 111 c; S1 -> F2, 1.5 degrees: 166.79 -> 167 c.

Requests:

* O1's 2500 kg do not fit one vehicle; the most units one takes is V2's 2000 / 100 =
  20, so n = ceil(25 / 20) = 2 parts: #1/2 of ceil(25 / 2) = 13 units (25 mod 2 = 1
  part gets the larger share), #2/2 of 12; carrier 13 x 1112 = 14456 and 12 x 1112 =
  13344; loads 1300 kg 1.3 m3 and 1200 kg 1.2 m3;
* goods:O2:F2, period 1, 5 units: 500 kg 0.5 m3, carrier 5 x 8896 = 44480;
* material:resin:S1:F1:0, 25 units: 250 kg 0.5 m3, carrier 25 x 111 = 2775;
* material:resin:S1:F2:1, 5 units: 50 kg 0.1 m3, carrier max(1000, 5 x 167 = 835) = 1000.

Routes (period 0, times in minutes from the horizon start):

* V1 leaves at 480: S1 (30 min away) pickup resin 510..525, on board 250 kg; F1 (60 min)
  delivers it 585..600, then picks up O1#1/2 600..615 (1300 kg); O1 (60 min) 675..690;
  back at D (90 min) at 780. 4 degrees = 444.7797 km, 300 min: 2000 + 10 x 444.7797 +
  600 x 5 = 9447.80 -> 9448.
* V2 leaves at 480: F1 (30 min) pickup O1#2/2 510..525 (1200 kg); O1 (60 min)
  585..600; back at D (90 min) at 690. 3 degrees = 333.5848 km, 210 min: 3000 + 12 x
  333.5848 + 700 x 3.5 = 9453.02 -> 9453.

Unrouted: goods:O2:F2 is OUT_OF_REACH (depot -> F2 60 + O2 480 + back 540 minutes plus
service, 1110 > the 480-minute shift); the resin for F2 is CARRIER_CHEAPER (a vehicle
could do it alone in 30 + 90 + 60 + 30 = 210 minutes).

Totals: fleet 9448 + 9453 = 18901; carrier 44480 + 1000 = 45480; estimate 14456 +
13344 + 44480 + 2775 + 1000 = 76055; 2 vehicles; 7 degrees = 778.3645 km.

Costs: production 100 x 30 = 3000; transport (routes) 18901 + 45480 = 64381;
purchasing (materials only) 30 x 100 = 3000; total = objective = 70381. Without the
routes section: transport 25 x 1112 + 5 x 8896 = 72280, purchasing 3000 + 2775 + 835 =
6610, total 81890.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from matcher.check import CheckReport, check_plan
from matcher.domain.plan import CostBreakdown, Plan
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, paths, replace_fields

Data = dict[str, Any]

DEGREE_KM = 6371.0 * math.pi / 180
INSTANCES = Path(__file__).resolve().parents[3] / "instances"


def _at(lon: float) -> Data:
    return {"lat": 0.0, "lon": lon}


def _vehicle(vid: str, kg: float, fixed: int, per_km: int, per_hour: int) -> Data:
    return {
        "id": vid,
        "depot": "D",
        "capacity": {"weight_kg": kg, "volume_m3": 10.0},
        "fixed_cost_cents": fixed,
        "cost_per_km_cents": per_km,
        "cost_per_hour_cents": per_hour,
        "speed_kmh": DEGREE_KM,
        "shift_start_minute": 480,
        "shift_end_minute": 960,
    }


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
            "resources": [{"id": "line", "available_minutes": [600, 600]}],
        }

    def order(oid: str, quantity: int, lon: float) -> Data:
        return {
            "id": oid,
            "buyer": "B1",
            "operations": [{"process": "make"}],
            "quantity": quantity,
            "due_period": 1,
            "delivery": _at(lon),
            "unit_weight_kg": 100.0,
            "unit_volume_m3": 0.1,
            "bill_of_materials": {"resin": 1.0},
        }

    return {
        "name": "routing-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": 2},
        "processes": [{"id": "make"}],
        "materials": [{"id": "resin", "kg_per_unit": 10.0, "m3_per_unit": 0.02}],
        "factories": [factory("F1", 0.5), factory("F2", 1.0)],
        "orders": [order("O1", 25, 1.5), order("O2", 5, 9.0)],
        "suppliers": [
            {
                "id": "S1",
                "location": _at(-0.5),
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
                _vehicle("V1", 1500.0, 2000, 10, 600),
                _vehicle("V2", 2000.0, 3000, 12, 700),
            ],
            "service_minutes": 15,
        },
        "transport": {"road_factor": 1.0, "cents_per_tonne_km": 100.0, "carrier_min_cents": 1000},
    }


def _request(
    rid: str, kind: str, period: int, origin: str, destination: str, units: int, carrier: int
) -> Data:
    kg, m3 = (100.0, 0.1) if kind == "goods" else (10.0, 0.02)
    return {
        "id": rid,
        "kind": kind,
        "period": period,
        "origin": origin,
        "destination": destination,
        "order": destination if kind == "goods" else None,
        "material": "resin" if kind == "material" else None,
        "quantity": float(units),
        "load": {"weight_kg": units * kg, "volume_m3": units * m3},
        "carrier_cents": carrier,
    }


PART1, PART2 = "goods:O1:F1#1/2", "goods:O1:F1#2/2"
FAR = "goods:O2:F2"
RESIN_F1, RESIN_F2 = "material:resin:S1:F1:0", "material:resin:S1:F2:1"


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
            _request(PART1, "goods", 0, "F1", "O1", 13, 14456),
            _request(PART2, "goods", 0, "F1", "O1", 12, 13344),
            _request(FAR, "goods", 1, "F2", "O2", 5, 44480),
            _request(RESIN_F1, "material", 0, "S1", "F1", 25, 2775),
            _request(RESIN_F2, "material", 1, "S1", "F2", 5, 1000),
        ],
        "routes": [
            {
                "vehicle": "V1",
                "depot": "D",
                "period": 0,
                "start_minute": 480,
                "end_minute": 780,
                "stops": [
                    _stop(RESIN_F1, "pickup", "S1", 510, 250.0, 0.5),
                    _stop(RESIN_F1, "delivery", "F1", 585, 0.0, 0.0),
                    _stop(PART1, "pickup", "F1", 600, 1300.0, 1.3),
                    _stop(PART1, "delivery", "O1", 675, 0.0, 0.0),
                ],
                "distance_km": round(4 * DEGREE_KM, 3),
                "duration_minutes": 300.0,
                "cost_cents": 9448,
            },
            {
                "vehicle": "V2",
                "depot": "D",
                "period": 0,
                "start_minute": 480,
                "end_minute": 690,
                "stops": [
                    _stop(PART2, "pickup", "F1", 510, 1200.0, 1.2),
                    _stop(PART2, "delivery", "O1", 585, 0.0, 0.0),
                ],
                "distance_km": round(3 * DEGREE_KM, 3),
                "duration_minutes": 210.0,
                "cost_cents": 9453,
            },
        ],
        "unrouted": [
            {"request": FAR, "reason": "OUT_OF_REACH", "detail": "1110 min for a 480-min shift"},
            {"request": RESIN_F2, "reason": "CARRIER_CHEAPER", "detail": "10.00 by carrier"},
        ],
        "fleet_cents": 18901,
        "carrier_cents": 45480,
        "estimate_cents": 76055,
        "vehicles_used": 2,
        "distance_km": round(7 * DEGREE_KM, 3),
        "service_minutes": 15,
    }


def _purchasing_data() -> Data:
    def delivery(factory: str, period: int, quantity: int) -> Data:
        return {"factory": factory, "period": period, "order_period": period, "quantity": quantity}

    return {
        "purchases": [
            {
                "supplier": "S1",
                "material": "resin",
                "quantity": 30,
                "tier": 0,
                "unit_price_cents": 100,
                "cost_cents": 3000,
                "transport_cents": 2775 + 835,
                "order_period": 0,
                "deliveries": [delivery("F1", 0, 25), delivery("F2", 1, 5)],
            }
        ],
        "collective_cents": 6610,
        "material_cents": 3000,
        "transport_cents": 3610,
        "standalone_cents": 6610,
        "savings_cents": 0,
        "savings_by_material_cents": {"resin": 0},
        "split_method": "proportional",
        "shares": [
            {
                "factory": fid,
                "standalone_cents": cents,
                "charged_cents": cents,
                "saving_cents": 0,
                "method": "proportional",
            }
            for fid, cents in (("F1", 5275), ("F2", 1335))
        ],
    }


def _row(order: str, factory: str, period: int, quantity: int, rate: int) -> Data:
    return {
        "order": order,
        "operation": 0,
        "process": "make",
        "factory": factory,
        "resource_group": "line",
        "quantity": quantity,
        "periods": [{"period": period, "quantity": quantity}],
        "production_cents": 100 * quantity,
        "transport_cents": rate * quantity,
    }


def _util(factory: str, period: int, used: float) -> Data:
    return {
        "factory": factory,
        "resource_group": "line",
        "period": period,
        "used_minutes": used,
        "free_minutes": 600,
    }


def _plan_data() -> Data:
    return {
        "instance": "routing-tiny",
        "status": "FEASIBLE",
        "weights": {},
        "allocations": [_row("O1", "F1", 0, 25, 1112), _row("O2", "F2", 1, 5, 8896)],
        "unassigned": [],
        "costs": {
            "production": 3000,
            "transport": 64381,
            "purchasing": 3000,
            "total": 70381,
            "objective": 70381,
        },
        "kpis": {
            "orders": 2,
            "orders_served": 2,
            "orders_on_time": 2,
            "orders_late": 0,
            "orders_unassigned": 0,
            "fill_rate": 1.0,
            "unit_fill_rate": 1.0,
            "on_time_rate": 1.0,
            "factories_used": 2,
            "factory_utilisation": [],
            "utilisation": [_util("F1", 0, 25.0), _util("F2", 1, 5.0)],
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


_only, _paths = only, paths


def _mutated(**changes: Any) -> Data:
    """The base plan with ``routes`` fields replaced (``__`` between keys, list indexes)."""
    plan = _plan_data()
    replace_fields(plan["routes"], changes)
    return plan


def _charge(plan: Data, cents: int) -> Data:
    """Add ``cents`` to the fleet's cost and every total that includes it."""
    plan["routes"]["fleet_cents"] += cents
    for term in ("transport", "total", "objective"):
        plan["costs"][term] += cents
    return plan


# -- a correct plan --------------------------------------------------------------


def test_hand_computed_routes_pass_with_routes_replacing_the_estimates() -> None:
    report = _check()
    assert report.violations == []
    assert report.warnings == []
    assert report.recomputed == CostBreakdown(
        production=3000, transport=64381, purchasing=3000, total=70381, objective=70381
    )


def test_hand_figures_follow_the_formulas() -> None:
    km = DEGREE_KM
    assert math.floor(km * 100 * 100 / 1000 + 0.5) == 1112
    assert math.floor(8 * km * 100 * 100 / 1000 + 0.5) == 8896
    assert math.floor(km * 10 * 100 / 1000 + 0.5) == 111
    assert math.floor(1.5 * km * 10 * 100 / 1000 + 0.5) == 167
    assert math.floor(2000 + 10 * 4 * km + 600 * 5 + 0.5) == 9448
    assert math.floor(3000 + 12 * 3 * km + 700 * 3.5 + 0.5) == 9453


def test_plan_without_routes_checks_as_before_with_per_unit_transport() -> None:
    plan = _plan_data()
    plan["routes"] = None
    plan["costs"].update(transport=72280, purchasing=6610, total=81890, objective=81890)
    report = _check(plan=plan)
    assert report.violations == []
    assert report.recomputed.transport == 72280
    assert report.recomputed.purchasing == 6610


def test_route_cost_within_a_cent_of_the_formula_passes() -> None:
    # 9447.80 rounds to 9448; an engine rounding km and time first may say 9447.
    plan = _charge(_mutated(routes__0__cost_cents=9447), -1)
    report = _check(plan=plan)
    assert report.violations == []
    assert report.recomputed.transport == 64380


def test_arrival_within_a_minute_of_the_travel_time_passes() -> None:
    assert _check(plan=_mutated(routes__0__stops__3__arrival_minute=674)).violations == []


def test_routes_without_any_vehicle_give_no_reason_that_fits() -> None:
    # The stage does not run without vehicles (plan.routes is None); a routes section
    # claiming reasons anyway is contradicted by the instance.
    instance = _instance_data()
    instance["fleet"] = {"depots": [], "vehicles": []}
    report = _check(instance, _plan_data())
    assert "UNROUTED_REASON" in {v.code for v in report.violations}


def test_unrouted_unknown_request_is_a_violation() -> None:
    plan = _plan_data()
    plan["routes"]["unrouted"].append(
        {"request": "goods:O9:F1", "reason": "CARRIER_CHEAPER", "detail": ""}
    )
    report = _check(plan=plan)
    assert _paths(report) == ["routes.unrouted[2].request"]
    _only(report, "UNROUTED_UNKNOWN_REQUEST")


def test_delivery_before_pickup_is_a_violation() -> None:
    # V2 reversed: D -> O1 (90 min) delivers at 570, F1 (60 min) picks up at 645, D at
    # 690: the same distance, duration and cost.
    plan = _mutated(
        routes__1__stops=[
            _stop(PART2, "delivery", "O1", 570, -1200.0, -1.2),
            _stop(PART2, "pickup", "F1", 645, 0.0, 0.0),
        ]
    )
    report = _check(plan=plan)
    assert _paths(report) == ["routes.routes[1].stops[0]"]
    _only(report, "DELIVERY_BEFORE_PICKUP")


def test_request_picked_up_twice_is_a_violation() -> None:
    plan = _plan_data()
    stops = plan["routes"]["routes"][1]["stops"]
    stops += [
        _stop(PART2, "pickup", "F1", 660, 1200.0, 1.2),
        _stop(PART2, "delivery", "O1", 735, 0.0, 0.0),
    ]
    report = _check(plan=plan)
    assert "routes.routes[1].stops[2]" in _paths(report)
    assert "REQUEST_ROUTED_TWICE" in report.codes()


def test_request_delivered_by_another_vehicle_is_a_violation() -> None:
    plan = _plan_data()
    routes = plan["routes"]["routes"]
    delivery = routes[1]["stops"].pop()
    routes[0]["stops"].append(delivery)
    report = _check(plan=plan)
    assert "REQUEST_HALF_ROUTED" in report.codes()


def test_stop_for_an_unknown_request_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__stops__1__request="goods:O9:F1"))
    assert "routes.routes[1].stops[1].request" in _paths(report)
    assert {"STOP_UNKNOWN_REQUEST", "REQUEST_HALF_ROUTED"} <= report.codes()


# -- unrouted reasons ------------------------------------------------------------


def test_out_of_reach_claimed_for_a_reachable_request_is_a_violation() -> None:
    report = _check(plan=_mutated(unrouted__1__reason="OUT_OF_REACH"))
    (violation,) = _only(report, "UNROUTED_REASON")
    assert violation.path == "routes.unrouted[1].reason"
    assert "with 270.0 min to spare" in violation.message  # 480 - 210


@pytest.mark.parametrize(
    ("index", "reason"),
    [(0, "CARRIER_CHEAPER"), (0, "TOO_HEAVY"), (1, "TOO_HEAVY")],
)
def test_reason_the_instance_contradicts_is_a_violation(index: int, reason: str) -> None:
    report = _check(plan=_mutated(**{f"unrouted__{index}__reason": reason}))
    assert _paths(report) == [f"routes.unrouted[{index}].reason"]
    _only(report, "UNROUTED_REASON")


def test_request_on_a_route_its_vehicle_cannot_make_in_time_is_a_violation() -> None:
    instance = _instance_data()
    instance["fleet"]["vehicles"][1]["max_duration_minutes"] = 200  # V2's trip takes 210
    report = _check(instance)
    assert sorted(_paths(report)) == [
        "routes.routes[1].duration_minutes",
        "routes.routes[1].stops[0]",
    ]
    assert report.codes() == {"ROUTE_MAX_DURATION", "ROUTED_OUT_OF_REACH"}


# -- one route -----------------------------------------------------------------------


def test_wrong_arrival_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__0__stops__1__arrival_minute=580))  # 525 + 60
    assert _paths(report) == ["routes.routes[0].stops[1].arrival_minute"]
    _only(report, "STOP_ARRIVAL")


def test_service_before_arrival_is_a_violation() -> None:
    plan = _mutated(
        routes__1__stops__1__start_minute=584, routes__1__stops__1__departure_minute=599
    )
    report = _check(plan=plan)
    assert _paths(report) == ["routes.routes[1].stops[1].start_minute"]
    _only(report, "STOP_START")


def test_departure_other_than_start_plus_service_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__stops__0__departure_minute=526))
    assert _paths(report) == ["routes.routes[1].stops[0].departure_minute"]
    _only(report, "STOP_DEPARTURE")


def test_waiting_the_stops_do_not_need_is_a_violation() -> None:
    # V2 waits 10 minutes at F1: back at 700 after 220 minutes, costing
    # 3000 + 12 x 333.5848 + 700 x 220 / 60 = 9569.68 -> 9570 (117 more).
    plan = _mutated(
        routes__1__stops__0__start_minute=520,
        routes__1__stops__0__departure_minute=535,
        routes__1__stops__1__arrival_minute=595,
        routes__1__stops__1__start_minute=595,
        routes__1__stops__1__departure_minute=610,
        routes__1__end_minute=700,
        routes__1__duration_minutes=220.0,
        routes__1__cost_cents=9570,
    )
    report = _check(plan=_charge(plan, 117))
    assert _paths(report) == ["routes.routes[1].duration_minutes"]
    _only(report, "ROUTE_WAITING")


def test_overloaded_vehicle_is_a_violation() -> None:
    # V1 picks up O1's 1300 kg at F1 before unloading the 250 kg of resin: 1550 > 1500.
    plan = _plan_data()
    stops = plan["routes"]["routes"][0]["stops"]
    stops[1], stops[2] = (
        _stop(PART1, "pickup", "F1", 585, 1550.0, 1.8),
        _stop(RESIN_F1, "delivery", "F1", 600, 1300.0, 1.3),
    )
    report = _check(plan=plan)
    (violation,) = _only(report, "ROUTE_CAPACITY")
    assert violation.path == "routes.routes[0].stops[1].load_after"
    assert "weight_kg: 1550" in violation.message


def test_volume_no_vehicle_limits_is_not_compared() -> None:
    instance = _instance_data()
    for vehicle in instance["fleet"]["vehicles"]:
        del vehicle["capacity"]["volume_m3"]
    plan = _mutated(requests__3__load__volume_m3=99.0)
    assert _check(instance, plan).violations == []


def test_vehicle_without_a_dimension_another_lists_has_no_room_in_it() -> None:
    instance = _instance_data()
    del instance["fleet"]["vehicles"][0]["capacity"]["volume_m3"]  # V1 carries 0.5 m3 of resin
    report = _check(instance)
    assert _paths(report) == ["routes.routes[0].stops[0].load_after"]
    _only(report, "ROUTE_CAPACITY")


def test_return_later_than_the_last_leg_takes_is_a_violation() -> None:
    # V2 idles 10 minutes after its last stop: back at 700, 220 minutes, 9570 cents.
    plan = _mutated(
        routes__1__end_minute=700, routes__1__duration_minutes=220.0, routes__1__cost_cents=9570
    )
    report = _check(plan=_charge(plan, 117))
    assert sorted(_paths(report)) == [
        "routes.routes[1].duration_minutes",
        "routes.routes[1].end_minute",
    ]
    assert report.codes() == {"ROUTE_END", "ROUTE_WAITING"}


def test_wrong_load_after_a_stop_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__0__stops__0__load_after={"weight_kg": 250.0}))
    assert _paths(report) == ["routes.routes[0].stops[0].load_after.volume_m3"]
    _only(report, "STOP_LOAD")


def test_route_past_the_shift_end_is_a_violation() -> None:
    instance = _instance_data()
    instance["fleet"]["vehicles"][0]["shift_end_minute"] = 700  # V1 is back at 780
    report = _check(instance)
    assert _paths(report) == ["routes.routes[0].end_minute"]
    _only(report, "ROUTE_SHIFT")


def test_route_before_the_shift_start_is_a_violation() -> None:
    instance = _instance_data()
    instance["fleet"]["vehicles"][1]["shift_start_minute"] = 490
    report = _check(instance)
    assert _paths(report) == ["routes.routes[1].start_minute"]
    _only(report, "ROUTE_SHIFT")


def test_route_in_another_period_than_its_requests_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__period=1))
    assert "routes.routes[1].stops[0].request" in _paths(report)
    assert "STOP_WRONG_PERIOD" in report.codes()


def test_duration_other_than_end_minus_start_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__duration_minutes=205.0))
    assert _paths(report) == ["routes.routes[1].duration_minutes"]
    _only(report, "ROUTE_DURATION")


def test_wrong_distance_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__distance_km=340.0))
    assert _paths(report) == ["routes.routes[1].distance_km"]
    _only(report, "ROUTE_DISTANCE")


def test_wrong_route_cost_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__0__cost_cents=9450))
    (violation,) = _only(report, "ROUTE_COST")
    assert violation.path == "routes.routes[0].cost_cents"
    assert "-> 9448" in violation.message


def test_stop_at_the_wrong_place_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__stops__1__place="O2"))
    assert _paths(report) == ["routes.routes[1].stops[1].place"]
    _only(report, "STOP_PLACE")


def test_unknown_vehicle_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__vehicle="V9"))
    assert _paths(report) == ["routes.routes[1].vehicle"]
    _only(report, "ROUTE_UNKNOWN_VEHICLE")


def test_route_from_another_depot_is_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__depot="D9"))
    assert _paths(report) == ["routes.routes[1].depot"]
    _only(report, "ROUTE_DEPOT")


def test_two_routes_of_one_vehicle_in_a_period_are_a_violation() -> None:
    report = _check(plan=_mutated(routes__1__vehicle="V1"))
    assert "routes.routes[1]" in _paths(report)
    assert "DUPLICATE_ROUTE" in report.codes()  # and V1's prices: ROUTE_COST


# -- reported figures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fleet_cents", 18900),
        ("carrier_cents", 44480),
        ("estimate_cents", 75055),
        ("vehicles_used", 3),
        ("distance_km", 780.0),
        ("service_minutes", 10),
    ],
)
def test_wrong_routing_total_is_a_violation(field: str, value: float) -> None:
    report = _check(plan=_mutated(**{field: value}))
    assert _paths(report) == [f"routes.{field}"]
    _only(report, "ROUTING_TOTALS")


def test_transport_other_than_fleet_plus_carrier_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["transport"] = 64380
    report = _check(plan=plan)
    assert _paths(report) == ["costs.transport"]
    _only(report, "COST_MISMATCH")


def test_purchasing_with_inbound_transport_once_routes_exist_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["purchasing"] = 6610  # the collective cost: transport counted twice
    report = _check(plan=plan)
    assert _paths(report) == ["costs.purchasing"]
    _only(report, "COST_MISMATCH")


def test_per_unit_estimates_kept_once_routes_exist_are_a_violation() -> None:
    plan = _plan_data()
    plan["costs"].update(transport=72280, purchasing=6610, total=81890, objective=81890)
    report = _check(plan=plan)
    assert sorted(_paths(report)) == [
        "costs.objective",
        "costs.purchasing",
        "costs.total",
        "costs.transport",
    ]


# -- a real plan -------------------------------------------------------------------


def _demo(cheap_fleet: bool) -> Data:
    data: Data = json.loads((INSTANCES / "demo.json").read_text())
    if cheap_fleet:
        # A dear carrier and nearly free vehicles: the fleet then runs many routes.
        data["transport"]["carrier_min_cents"] = 200_000
        for vehicle in data["fleet"]["vehicles"]:
            vehicle["fixed_cost_cents"] = 1000
    return data


@pytest.mark.slow
@pytest.mark.parametrize("cheap_fleet", [False, True], ids=["demo", "demo-cheap-fleet"])
def test_solved_demo_plan_with_routes_passes_the_checker(cheap_fleet: bool) -> None:
    from matcher.app.pipeline import plan as solve
    from matcher.domain.params import SolveParams

    instance = parse_instance(_demo(cheap_fleet))
    result = solve(instance, SolveParams(time_limit_s=2, workers=1, seed=1))
    if result.routes is None:
        pytest.skip("the routing stage does not fill plan.routes yet")
    report = check_plan(instance, result)
    assert report.violations == []
    assert result.routes.requests
