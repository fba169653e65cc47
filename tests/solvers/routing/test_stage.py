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
    assert any("not enough of the stage's time was left" in n for n in routing.notes)
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


def _varied_day(fleet_data: dict[str, Any], seed: int) -> tuple[Any, list[Load]]:
    """A period (1) of 300 random loads around Ningbo, some through a hub open
    11:00-15:00, for a fleet of two depots, three speeds, shifts, maximum durations and
    capacities in two dimensions: loads within and beyond reach for every reason."""
    import numpy as np

    from solvers.routing import stage
    from solvers.routing.requests import dimensions

    fleet_data["fleet"]["depots"].append({"id": "D2", "location": {"lat": 30.3, "lon": 120.2}})
    fleet_data["fleet"]["hubs"] = [
        {
            "id": "H1",
            "location": {"lat": 29.95, "lon": 121.2},
            "open_minute": 660,
            "close_minute": 900,
        }
    ]
    van = fleet_data["fleet"]["vehicles"][0]
    fleet_data["fleet"]["vehicles"] += [
        van | {"id": "slow", "depot": "D2", "speed_kmh": 30.0, "max_duration_minutes": 200},
        van
        | {"id": "fast", "speed_kmh": 80.0, "shift_start_minute": 600, "max_duration_minutes": 150},
        van | {"id": "big", "depot": "D2", "capacity": {"weight_kg": 9000.0}, "speed_kmh": 60.0},
        van | {"id": "late", "shift_start_minute": 900, "shift_end_minute": 1400},
    ]
    instance = parse_instance(fleet_data)
    hub = instance.fleet.hubs[0]
    rng = np.random.default_rng(seed)
    loads = []
    for k in range(300):
        ends = [
            Place("factory", f"F{k}", Location(lat=29.87, lon=121.55)),
            Place("order", f"O{k}", Location(lat=29.87, lon=121.55)),
        ]
        ends = [
            Place(
                p.role, p.id, Location(lat=rng.uniform(28.5, 31.5), lon=rng.uniform(119.5, 122.5))
            )
            for p in ends
        ]
        if k % 3 == 0:  # a leg: to the hub (goods) or from it (material)
            ends[k % 2] = Place("hub", hub.id, hub.location)
        weight = float(rng.choice([0.0, 1.0, 25.0, 400.0]))
        volume = float(rng.choice([0.0, 0.01, 0.5]))
        per_unit = {"weight_kg": weight, "volume_m3": volume}
        loads.append(
            Load(
                f"goods:O{k}",
                "goods",
                1,
                ends[0],
                ends[1],
                int(rng.integers(1, 30)),
                per_unit,
                100,
                0,
            )
        )
    types = stage._vehicle_types(instance.fleet.vehicles)
    return stage._Day(instance, 1, loads, types, dimensions(instance)), loads


def _reachable_one_by_one(day: Any, loads: list[Load]) -> list[bool]:
    """The reach rule as the stage applied it before, load by load on the full matrices."""
    import numpy as np

    from solvers.routing import stage
    from solvers.routing.requests import most_units

    fleet = day.instance.fleet
    depots = [Place("depot", d.id, d.location) for d in fleet.depots]
    places = list(dict.fromkeys([*depots, *(p for r in loads for p in (r.origin, r.destination))]))
    index = {(p.role, p.id): i for i, p in enumerate(places)}
    lat = np.array([p.location.lat for p in places])
    lon = np.array([p.location.lon for p in places])
    metres = stage._metres(lat, lon, day.instance.transport.road_factor)
    out = []
    for r in loads:
        a, b = index[(r.origin.role, r.origin.id)], index[(r.destination.role, r.destination.id)]
        (open_a, close_a), (open_b, close_b) = day._window(r.origin), day._window(r.destination)
        s, ok = day.service, False
        for t in day.types:
            v = t.first
            fits = most_units(v, r.per_unit)
            if fits is not None and fits < r.units:
                continue
            dur = np.rint(metres * 3.6 / v.speed_kmh).astype(np.int64)
            depot = index[("depot", v.depot)]
            shift_start, shift_end = day._shift(v)
            to_a, across, home = int(dur[depot, a]), int(dur[a, b]), int(dur[b, depot])
            t_pick = max(shift_start + to_a, open_a)
            t_drop = max(t_pick + s + across, open_b)
            if t_pick > close_a or t_drop > close_b or t_drop + s + home > shift_end:
                continue
            if v.max_duration_minutes is not None:
                trip = to_a + s + across + s + home
                leave = min(close_a - to_a, close_b - s - across - to_a, shift_end - trip)
                t_pick = max(leave + to_a, open_a)
                t_drop = max(t_pick + s + across, open_b)
                if t_drop + s + home - leave > 60 * v.max_duration_minutes:
                    continue
            ok = True
            break
        out.append(ok)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reach_over_the_loop_s_three_legs_is_the_rule_on_the_full_matrices(
    fleet_data: dict[str, Any], seed: int
) -> None:
    day, loads = _varied_day(fleet_data, seed)
    expected = _reachable_one_by_one(day, loads)
    assert [r.id for r in day.reachable] == [
        r.id for r, ok in zip(loads, expected, strict=True) if ok
    ]
    assert [r.id for r in day.unreachable] == [
        r.id for r, ok in zip(loads, expected, strict=True) if not ok
    ]
    assert 30 < len(day.reachable) < 270  # both sides well represented
    legs = [r for r in loads if "hub" in (r.origin.role, r.destination.role)]
    assert {r in day.reachable for r in legs} == {True, False}


def test_the_pairs_metres_are_the_matrix_metres() -> None:
    import numpy as np

    from solvers.routing import stage

    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 33, 130):
        locations = [
            Location(lat=rng.uniform(-60, 70), lon=rng.uniform(-180, 180)) for _ in range(n)
        ]
        lat = np.array([x.lat for x in locations])
        lon = np.array([x.lon for x in locations])
        matrix = stage._metres(lat, lon, 1.3)
        i, j = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
        pairs = stage._haversine_metres(
            stage._points([locations[k] for k in i]), stage._points([locations[k] for k in j]), 1.3
        )
        assert (pairs == matrix[i, j]).all()
        one = stage._points(locations[:1])  # a depot against every place, both ways
        assert (stage._haversine_metres(one, stage._points(locations), 1.3) == matrix[0]).all()
        assert (stage._haversine_metres(stage._points(locations), one, 1.3) == matrix[:, 0]).all()


def test_the_matrices_are_built_on_use_over_the_depots_and_the_reachable_loads(
    fleet_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reach, the loads out of it and the hub choice's reach (``_carriable``) need no
    matrix; when built, they cover the depots and the reachable loads' places alone, in
    the order of every load's places, with the metres of the matrix over all of them."""
    import numpy as np

    from solvers.routing import stage

    metres = stage._metres

    def forbidden(*_: Any) -> Any:
        raise AssertionError("a matrix was built")

    monkeypatch.setattr(stage, "_metres", forbidden)
    day, loads = _varied_day(fleet_data, 0)
    assert day.out_of_reach() and day.not_searched("stopped")
    split = stage._splitter(day.instance.fleet.vehicles)
    reach = stage._carriable(day.instance, loads, day.types, day.dims, split)
    monkeypatch.setattr(stage, "_metres", metres)
    parts = {r.id: split_load(r, day.instance.fleet.vehicles) or [] for r in loads}
    every_part = [p for ps in parts.values() for p in ps]
    within = _reachable_one_by_one(day, every_part)
    ok = {p.id for p, fine in zip(every_part, within, strict=True) if fine}
    assert reach == {r for r, ps in parts.items() if ps and all(p.id in ok for p in ps)}
    assert 0 < len(reach) < len(loads)

    depots = [Place("depot", d.id, d.location) for d in day.instance.fleet.depots]
    every = list(dict.fromkeys([*depots, *(p for r in loads for p in (r.origin, r.destination))]))
    used = {*depots, *(p for r in day.reachable for p in (r.origin, r.destination))}
    assert day.places == [p for p in every if p in used]
    assert len(day.places) < len(every)
    lat = np.array([p.location.lat for p in every])
    lon = np.array([p.location.lon for p in every])
    full = metres(lat, lon, day.instance.transport.road_factor)
    kept = np.array([every.index(p) for p in day.places])
    assert (day.profiles[0].distance == full[np.ix_(kept, kept)]).all()
    assert len(day.profiles) == 4  # one per speed: 30, 50, 60, 80 km/h
    assert not day.problem().problems()


def test_a_stopped_stage_builds_no_matrix(
    fleet_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from solvers.routing import stage

    instance, result = solve(fleet_data)
    monkeypatch.setattr(stage, "_metres", lambda *_: pytest.fail("a matrix was built"))
    stop = StopSignal()
    stop.set("a cancel")
    params = SolveParams(workers=1, seed=3)
    routed = run_routing(instance, result.allocations, result.purchasing, params, 5.0, None, stop)
    assert routed is not None
    assert UnroutedReason.NOT_SEARCHED in {u.reason for u in routed[0].unrouted}


def test_splitting_against_the_best_carrier_of_each_kind_is_splitting_against_the_fleet() -> None:
    import numpy as np

    from solvers.routing.stage import _splitter

    rng = np.random.default_rng(11)
    fleet = [
        Vehicle(id=f"v{k}", depot="D", capacity=capacity)
        for k, capacity in enumerate(
            [{"weight_kg": 3000.0}, {"weight_kg": 800.0, "volume_m3": 12.0}, {"volume_m3": 30.0}]
        )
    ]
    kinds = [
        {"weight_kg": w, "volume_m3": m}
        for w in (0.0, 0.5, 7.0, 900.0, 4000.0)
        for m in (0.0, 0.02, 1.5, 40.0)
    ]
    for vehicles in (fleet, fleet[:1], fleet[1:], fleet[::-1], []):
        split = _splitter(vehicles)
        for k in range(300):
            per_unit = dict(kinds[int(rng.integers(len(kinds)))])
            load = Load(
                f"goods:O{k}:F",
                "goods",
                0,
                FACTORY,
                FACTORY,
                int(rng.integers(1, 5000)),
                per_unit,
                3,
                0,
            )
            assert split(load) == split_load(load, vehicles)


def test_with_wall_clock_limits_a_period_whose_set_up_would_not_fit_is_not_searched() -> None:
    import time

    from solvers.routing.problem import RoutingResult
    from solvers.routing.stage import _Clock

    clock = _Clock(SolveParams(workers=2), time.perf_counter(), seconds=3.0, reserve=1.0)
    assert 1.9 < clock.left() <= 2.0  # the reserve is kept for the work after the periods
    assert clock.no_time(100_000, None) == ""  # nothing measured yet: no prediction
    clock.searched(1_000, RoutingResult(solver="pyvrp", feasible=True, setup_s=0.5))
    # Smaller periods in proportion to their loads, larger ones to their square (PyVRP's
    # neighbourhood weighs every pair of loads).
    assert clock.setup_need(500) == pytest.approx(0.25)
    assert clock.setup_need(1_500) == pytest.approx(1.125)
    assert clock.no_time(1_500, None) == ""  # 1.1 s of set-up fits in the 2 s left
    why = clock.no_time(2_500, None)  # 3.1 s does not (in proportion: 1.25 s)
    assert why.startswith("setting up its search would take about 3.12s")
    # The largest period set up so far is the reference; a smaller one does not replace it.
    clock.searched(200, RoutingResult(solver="pyvrp", feasible=True, setup_s=0.5))
    assert clock.setup_need(1_500) == pytest.approx(1.125)
    clock.searched(2_000, RoutingResult(solver="pyvrp", feasible=True, setup_s=1.2))
    assert clock.setup_need(3_000) == pytest.approx(2.7)
    stop = StopSignal()
    stop.set("a cancel")
    assert "a cancel" in clock.no_time(10, stop)
    nominal = _Clock(SolveParams(workers=1), time.perf_counter(), seconds=3.0, reserve=1.0)
    nominal.searched(1_000, RoutingResult(solver="pyvrp", feasible=True, setup_s=0.5))
    assert nominal.left() > 2.9  # one worker: nominal shares, nothing predicted
    assert nominal.no_time(100_000, None) == ""


def test_pyvrp_reports_the_time_before_its_search_proper(fleet_data: dict[str, Any]) -> None:
    from solvers.routing import stage

    instance, result = solve(fleet_data)
    seen: list[tuple[float | None, float]] = []
    search = stage._Day.solve

    def solve_day(day: Any, params: SolveParams, limits: Any) -> Any:
        found = search(day, params, limits)
        seen.append((found.setup_s, found.wall_time_s))
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stage._Day, "solve", solve_day)
        run_routing(instance, result.allocations, result.purchasing, SolveParams(workers=1), 2.0)
    assert seen
    for setup, wall in seen:
        assert setup is not None and 0 < setup <= wall
