"""The routing stage on small domain instances: requests, reasons, costs, determinism."""

from __future__ import annotations

import re
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.entities import Location, Vehicle
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams, StopSignal
from matcher.domain.plan import Plan, Routing, UnroutedReason
from matcher.domain.validation import parse_instance
from solvers.routing.requests import Load, Place, split_load
from solvers.routing.stage import route_cents, run_routing

NINGBO = {"lat": 29.87, "lon": 121.55}
BEIJING = {"lat": 39.90, "lon": 116.41}
FACTORY = Place("factory", "F1", Location(**NINGBO))


def vehicle(vid: str, kg: float, **extra: Any) -> Vehicle:
    return Vehicle(id=vid, depot="D", capacity={"weight_kg": kg}, **extra)


def test_a_load_is_split_into_the_fewest_even_parts_the_largest_vehicle_takes() -> None:
    place = FACTORY
    load = Load("goods:O:F", "goods", 0, place, place, 12_001, {"weight_kg": 1.0}, 3, 0)
    parts = split_load(load, [vehicle("small", 3000), vehicle("big", 5000)])
    assert parts is not None
    assert [(p.id, p.units) for p in parts] == [
        ("goods:O:F#1/3", 4001),
        ("goods:O:F#2/3", 4000),
        ("goods:O:F#3/3", 4000),
    ]
    assert [p.carrier_cents for p in parts] == [12_003, 12_000, 12_000]
    heavy = Load("goods:O:F", "goods", 0, place, place, 2, {"weight_kg": 6000.0}, 3, 0)
    assert split_load(heavy, [vehicle("small", 3000), vehicle("big", 5000)]) is None
    weightless = Load("goods:O:F", "goods", 0, place, place, 10**6, {"weight_kg": 0.0}, 3, 0)
    assert split_load(weightless, [vehicle("small", 3000)]) == [weightless]


def test_route_cost_is_exact_and_rounded_half_up() -> None:
    v = vehicle("v", 1000, fixed_cost_cents=100, cost_per_km_cents=333, cost_per_hour_cents=1000)
    # 1.5 km and 90 s: 100 + 333 * 1.5 + 1000 * 0.025 = 100 + 499.5 + 25 = 624.5 -> 625
    assert route_cents(v, 1500, 90) == 625


@pytest.fixture()
def fleet_data(tiny_data: dict[str, Any]) -> dict[str, Any]:
    """tiny.json with a van in Ningbo, a carrier minimum that makes the van pay, an order
    to Beijing (out of a day's reach), one of 4-tonne units (too heavy for the van), and
    its fabric bought from a Ningbo mill (material loads to route too)."""
    data = tiny_data
    data["materials"][0]["sourcing"] = "purchased"
    data["suppliers"] = [
        {
            "id": "S1",
            "location": NINGBO,
            "offers": [
                {
                    "material": "cotton_fabric",
                    "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 900}]},
                }
            ],
        }
    ]
    data["fleet"] = {
        "depots": [{"id": "D", "location": NINGBO}],
        "vehicles": [
            {
                "id": "van1",
                "depot": "D",
                "capacity": {"weight_kg": 3000.0, "volume_m3": 10.0},
                "fixed_cost_cents": 5000,
                "cost_per_km_cents": 200,
                "cost_per_hour_cents": 3000,
                "speed_kmh": 50.0,
                "shift_start_minute": 480,
                "shift_end_minute": 1080,
            }
        ],
        "service_minutes": 10,
    }
    data["transport"]["carrier_min_cents"] = 100_000
    data["orders"][2]["delivery"] = BEIJING
    data["orders"][0]["unit_weight_kg"] = 4000.0
    data["orders"][0]["penalties"].pop("unserved_cents")  # mandatory: served however dear
    return data


def solve(data: dict[str, Any]) -> tuple[Instance, Plan]:
    """Solve and verify with the independent checker."""
    instance = parse_instance(data)
    # One round: these tests are about the routing stage, not the feedback rounds.
    result = plan(instance, SolveParams(time_limit_s=3.0, workers=1, seed=3, feedback=False))
    report = check_plan(instance, result)
    assert report.ok, [str(v) for v in report.violations]
    return instance, result


def test_the_stage_routes_what_pays_and_says_why_the_rest_goes_by_carrier(
    fleet_data: dict[str, Any],
) -> None:
    _, result = solve(fleet_data)
    routing = result.routes
    assert routing is not None
    reasons = {u.request.split("#")[0]: u.reason for u in routing.unrouted}
    served = {a.order: a.factory for a in result.allocations}
    assert reasons.get(f"goods:O3:{served['O3']}") is UnroutedReason.OUT_OF_REACH
    assert reasons.get(f"goods:O1:{served['O1']}") is UnroutedReason.TOO_HEAVY
    assert routing.routes, "the van pays at a 1 000.00 carrier minimum"
    on_routes = {s.request for r in routing.routes for s in r.stops}
    assert on_routes.isdisjoint({u.request for u in routing.unrouted})
    assert on_routes | {u.request for u in routing.unrouted} == {r.id for r in routing.requests}
    for r in routing.routes:
        assert r.vehicle == "van1"
        actions = [(s.request, s.action) for s in r.stops]
        for request in {s.request for s in r.stops}:
            assert actions.index((request, "pickup")) < actions.index((request, "delivery"))
        assert r.start_minute >= r.period * 1440 + 480
        assert r.end_minute <= r.period * 1440 + 1080
    # The fleet never costs more than the carrier would for the same loads.
    carried = {u.request for u in routing.unrouted}
    routed_carrier = sum(r.carrier_cents for r in routing.requests if r.id not in carried)
    assert routing.fleet_cents <= routed_carrier
    assert routing.carrier_cents == sum(
        r.carrier_cents for r in routing.requests if r.id in carried
    )
    assert result.costs.transport == routing.fleet_cents + routing.carrier_cents
    assert result.purchasing is not None
    assert result.costs.purchasing == result.purchasing.material_cents
    stats = {s.stage: s for s in result.stages}["routing"]
    assert stats.objective == routing.fleet_cents + routing.carrier_cents


def test_one_worker_and_one_seed_give_the_same_routes(fleet_data: dict[str, Any]) -> None:
    _, a = solve(fleet_data)
    _, b = solve(fleet_data)
    assert a.routes == b.routes


def test_without_vehicles_the_estimates_stand(tiny: Instance) -> None:
    result = plan(tiny, SolveParams(time_limit_s=2.0, workers=1))
    assert result.routes is None
    assert result.costs.transport == sum(a.transport_cents for a in result.allocations)
    # tiny.json's buyer provides the fabric: nothing to buy either
    assert [s.stage for s in result.stages] == ["assignment"]


def test_progress_reports_the_transport_cost_falling_as_periods_are_routed(
    fleet_data: dict[str, Any],
) -> None:
    from matcher.domain.params import Progress

    heard: list[Progress] = []
    instance = parse_instance(fleet_data)
    params = SolveParams(time_limit_s=3.0, workers=1, seed=3, feedback=False)
    result = plan(instance, params, heard.append)
    routing = [p.objective for p in heard if p.stage == "routing" and p.objective is not None]
    assert routing, "the routing stage reports"
    assert routing == sorted(routing, reverse=True)
    assert result.routes is not None
    assert routing[-1] == result.routes.fleet_cents + result.routes.carrier_cents


def _routing_of(data: dict[str, Any]) -> Routing:
    _, result = solve(data)
    assert result.routes is not None
    return result.routes


@pytest.mark.parametrize("fixed_cents", [0, 5_000, 60_000, 150_000, 1_000_000])
@pytest.mark.parametrize("carrier_min_cents", [0, 100_000])
@pytest.mark.parametrize("capacity_kg", [3000.0, 400.0, 120.0])
def test_a_period_skipped_as_unable_to_pay_is_one_where_the_search_keeps_no_route(
    fleet_data: dict[str, Any],
    fixed_cents: int,
    carrier_min_cents: int,
    capacity_kg: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bounds behind the skip are valid: with it switched off, the search finds no
    route there that costs less than the carrier (so the skip changes nothing). A
    small van makes the load-distance bound the one that decides."""
    from solvers.routing import stage

    fleet_data["fleet"]["vehicles"][0]["fixed_cost_cents"] = fixed_cents
    fleet_data["fleet"]["vehicles"][0]["capacity"]["weight_kg"] = capacity_kg
    fleet_data["transport"]["carrier_min_cents"] = carrier_min_cents
    skipping = _routing_of(fleet_data)
    monkeypatch.setattr(stage._Day, "cannot_pay", lambda self: False)
    searching = _routing_of(fleet_data)
    skipped = [n for n in skipping.notes if n.startswith("no VRP solved")]
    if skipped:
        listed = re.search(r"period\(s\) ([\d, ]+):", skipped[0])
        assert listed is not None
        periods = {int(p) for p in listed.group(1).split(",")}
        assert not [r for r in searching.routes if r.period in periods]
        assert not [r for r in skipping.routes if r.period in periods]
    assert skipping.fleet_cents + skipping.carrier_cents == (
        searching.fleet_cents + searching.carrier_cents
    )


def test_no_vrp_is_solved_where_no_route_can_beat_the_carrier(
    fleet_data: dict[str, Any],
) -> None:
    fleet_data["fleet"]["vehicles"][0]["fixed_cost_cents"] = 1_000_000  # 10 000.00 a day
    fleet_data["transport"]["carrier_min_cents"] = 0
    routing = _routing_of(fleet_data)
    assert not routing.routes
    assert any(n.startswith("no VRP solved in period(s)") for n in routing.notes)
    cheaper = [u for u in routing.unrouted if u.reason is UnroutedReason.CARRIER_CHEAPER]
    assert cheaper and all("no vehicle route" in u.detail for u in cheaper)


@pytest.mark.parametrize("how", ["stopped", "share spent"])
def test_periods_reached_with_no_time_left_are_not_searched_and_say_so(
    fleet_data: dict[str, Any], how: str
) -> None:
    instance, result = solve(fleet_data)
    stop = None
    if how == "stopped":
        stop = StopSignal()
        stop.set("a cancel")
    params = SolveParams(workers=1 if how == "stopped" else 2, seed=3)
    routed = run_routing(instance, result.allocations, result.purchasing, params, 0.0, None, stop)
    assert routed is not None
    routing, _ = routed
    assert routing.routes == []
    reasons = {u.reason for u in routing.unrouted}
    assert UnroutedReason.NOT_SEARCHED in reasons
    assert UnroutedReason.CARRIER_CHEAPER not in reasons  # nothing was priced out
    assert UnroutedReason.OUT_OF_REACH in reasons  # still told apart
    assert any("the time ran out first" in n for n in routing.notes)
    assert routing.carrier_cents == routing.estimate_cents


def test_the_checker_accepts_not_searched_where_a_vehicle_could_go_and_nowhere_else(
    fleet_data: dict[str, Any],
) -> None:
    fleet_data["transport"]["carrier_min_cents"] = 0  # the van no longer pays
    instance, result = solve(fleet_data)
    assert result.routes is not None
    unrouted = result.routes.unrouted
    for reason in (UnroutedReason.CARRIER_CHEAPER, UnroutedReason.OUT_OF_REACH):
        k = next(i for i, u in enumerate(unrouted) if u.reason is reason)
        changed = [*unrouted]
        changed[k] = unrouted[k].model_copy(update={"reason": UnroutedReason.NOT_SEARCHED})
        tampered = result.model_copy(
            update={"routes": result.routes.model_copy(update={"unrouted": changed})}
        )
        report = check_plan(instance, tampered)
        if reason is UnroutedReason.CARRIER_CHEAPER:
            assert report.ok, [str(v) for v in report.violations]
        else:
            assert [v.code.value for v in report.violations] == ["UNROUTED_REASON"]


def test_the_route_bound_never_rules_out_a_set_of_loads_that_pays() -> None:
    """``_no_route_pays`` against every set of up to 9 loads, on random data: when it
    says no route pays, no set ``S`` with farthest loop ``l`` has
    ``sum(worth) - fixed - per_m * max(l, sum(m)) >= 0``; and it is not vacuous."""
    from itertools import combinations

    import numpy as np

    from solvers.routing.stage import _no_route_pays

    rng = np.random.default_rng(7)
    proved = 0
    for _ in range(300):
        n = int(rng.integers(1, 10))
        loops = np.sort(rng.uniform(1_000, 100_000, n))
        worth = rng.uniform(-5_000, 40_000, n)
        measure = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 60_000, n))
        fixed, per_m = float(rng.uniform(0, 60_000)), float(rng.uniform(0.1, 1.0))
        best = max(
            worth[list(s)].sum() - fixed - per_m * max(loops[max(s)], measure[list(s)].sum())
            for k in range(1, n + 1)
            for s in combinations(range(n), k)
        )
        if _no_route_pays(loops, worth, measure, fixed, per_m):
            proved += 1
            assert best < 0
    assert proved > 30
