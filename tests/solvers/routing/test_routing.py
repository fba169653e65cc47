"""Routing back-ends on hand-checked cases, the route evaluator, and the repairs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pyvrp.search import NeighbourhoodParams, compute_neighbours

from solvers.routing.base import RoutingLimits, Sequences, evaluate_sequences, solve_routing
from solvers.routing.evaluate import build_route
from solvers.routing.problem import (
    Action,
    Depot,
    Profile,
    Request,
    RoutingProblem,
    RoutingResult,
    Stop,
    VehicleType,
)
from solvers.routing.pyvrp_backend import (
    SMALL_NEIGHBOURS,
    SMALL_REQUESTS,
    neighbours,
    to_problem_data,
)

BACKENDS = ["auto", "pyvrp", "ortools-routing"]
SECONDS = 1.0


def line(n: int) -> Profile:
    """Places 0..n-1 on a line, one unit apart: distance = duration = |i - j|."""
    pos = np.arange(n)
    d = np.abs(pos[:, None] - pos[None, :]).astype(np.int64)
    return Profile(d, d)


def solve(problem: RoutingProblem, solver: str) -> tuple[int, list[list[tuple[int, str]]]]:
    result = solve_routing(problem, solver, RoutingLimits(SECONDS, seed=1))
    assert result.feasible, result.notes
    assert result.cost is not None
    routes = sorted([(v.request, v.action.value) for v in r.visits] for r in result.routes)
    return result.cost, routes


@pytest.mark.parametrize("solver", BACKENDS)
def test_capacity_forces_two_routes(solver: str) -> None:
    # Depot at 0, customers at places 1, 2, 3 with demands 6, 6, 3, capacity 10: the
    # two 6s cannot share a vehicle, so two routes. Splits: {1}{2,3} = 2 + 6 = 8;
    # {2}{1,3} = 4 + 6 = 10; {1,3}{2} the same. Optimum 8: [0] and [1, 2].
    problem = RoutingProblem(
        places=4,
        profiles=[line(4)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(10,), start_depot=0, end_depot=0, count=3)],
        requests=[
            Request((6,), delivery=Stop(1)),
            Request((6,), delivery=Stop(2)),
            Request((3,), delivery=Stop(3)),
        ],
    )
    cost, routes = solve(problem, solver)
    assert cost == 8
    assert len(routes) == 2
    assert sorted(sorted(k for k, _ in r) for r in routes) == [[0], [1, 2]]


@pytest.mark.parametrize("solver", BACKENDS)
def test_a_window_forces_the_order(solver: str) -> None:
    # Without windows 0->1->2->0 and 0->2->1->0 both cost 4. Place 2 must be served by
    # time 2 and place 1 not before 3: only 0 -> 2 -> 1 -> 0 works.
    problem = RoutingProblem(
        places=3,
        profiles=[line(3)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(10,), start_depot=0, end_depot=0, count=1)],
        requests=[
            Request((1,), delivery=Stop(1, early=3)),
            Request((1,), delivery=Stop(2, late=2)),
        ],
    )
    cost, routes = solve(problem, solver)
    assert cost == 4
    assert routes == [[(1, "delivery"), (0, "delivery")]]


@pytest.mark.parametrize("solver", ["auto", "pyvrp", "ortools-routing"])
def test_pickup_precedes_delivery(solver: str) -> None:
    # A shipment from place 3 to place 1: the vehicle goes out to 3 first (0->3->1->0,
    # cost 3 + 2 + 1 = 6), never 1 before 3 although 1 is nearer.
    problem = RoutingProblem(
        places=4,
        profiles=[line(4)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(5,), start_depot=0, end_depot=0, count=1)],
        requests=[Request((5,), pickup=Stop(3), delivery=Stop(1))],
    )
    cost, routes = solve(problem, solver)
    assert cost == 6
    assert routes == [[(0, "pickup"), (0, "delivery")]]


def random_problem(seed: int, n: int = 8) -> RoutingProblem:
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 100, size=(n + 1, 2))
    d = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
    d = d.astype(np.int64)
    return RoutingProblem(
        places=n + 1,
        profiles=[Profile(d, d)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(20,), start_depot=0, end_depot=0, count=n)],
        requests=[
            Request((int(q),), delivery=Stop(i + 1)) for i, q in enumerate(rng.integers(1, 10, n))
        ],
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_back_ends_agree_on_small_cvrps(seed: int) -> None:
    """Eight customers: both engines reach the same (optimal) cost within a second."""
    costs = {s: solve(random_problem(seed), s)[0] for s in ("pyvrp", "ortools-routing")}
    assert costs["pyvrp"] == costs["ortools-routing"], costs


def test_the_route_leaves_as_late_as_it_can() -> None:
    # One delivery at place 2 opening at 10: leaving at 0 would wait 8; the route
    # leaves at 8, serves at 10, is back at 12: duration 4, not 12.
    problem = RoutingProblem(
        places=3,
        profiles=[line(3)],
        depots=[Depot(0)],
        vehicle_types=[
            VehicleType(capacity=(1,), start_depot=0, end_depot=0, unit_duration_cost=1)
        ],
        requests=[Request((1,), delivery=Stop(2, early=10, service=0))],
    )
    route, broken = build_route(problem, 0, [(0, Action.DELIVERY)])
    assert broken == []
    assert (route.start, route.visits[0].start, route.end, route.duration) == (8, 10, 12, 4)
    assert route.cost == 4 + 4  # distance 4 + duration 4


def test_the_evaluator_names_what_a_route_breaks() -> None:
    problem = RoutingProblem(
        places=4,
        profiles=[line(4)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(5,), start_depot=0, end_depot=0, shift_end=5)],
        requests=[
            Request((3,), pickup=Stop(3), delivery=Stop(1)),
            Request((4,), delivery=Stop(2, late=1)),
        ],
    )
    order = [(0, Action.DELIVERY), (1, Action.DELIVERY), (0, Action.PICKUP)]
    _, broken = build_route(problem, 0, order)
    text = " | ".join(broken)
    assert "delivered before it is picked up" in text
    assert "starts at 2, after 1" in text
    assert "after 5" in text  # back at the depot too late
    assert "over the capacity" not in text
    _, broken = build_route(problem, 0, [(0, Action.PICKUP), (1, Action.DELIVERY)])
    assert any("carries [7]" in b for b in broken)


def test_an_optional_request_not_worth_its_penalty_is_left_and_a_dear_route_dropped() -> None:
    # Serving place 3 alone costs 6 in distance + 10 fixed: more than its penalty 12.
    problem = RoutingProblem(
        places=4,
        profiles=[line(4)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(5,), start_depot=0, end_depot=0, fixed_cost=10)],
        requests=[Request((1,), delivery=Stop(3), required=False, penalty=12)],
    )
    for solver in BACKENDS:
        result = solve_routing(problem, solver, RoutingLimits(0.5, seed=1))
        assert (result.feasible, result.routes, result.unserved, result.cost) == (True, [], [0], 12)
    # An engine answer that routes it anyway is repaired: the route is dropped.
    raw = Sequences("test", routes=[(0, [(0, Action.DELIVERY)])], found=True)
    repaired = evaluate_sequences(problem, raw, RoutingLimits(1.0))
    assert (repaired.routes, repaired.unserved, repaired.cost, repaired.dropped_dear) == (
        [],
        [0],
        12,
        1,
    )


def too_heavy() -> RoutingProblem:
    """One required delivery heavier than any vehicle carries: no feasible answer."""
    return RoutingProblem(
        places=2,
        profiles=[line(2)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(1,), start_depot=0, end_depot=0)],
        requests=[Request((2,), delivery=Stop(1))],
    )


def test_a_required_request_left_unserved_is_infeasible_and_said() -> None:
    result = solve_routing(too_heavy(), "auto", RoutingLimits(0.5, seed=1))
    assert not result.feasible
    assert any(
        "required request 0 is unserved" in n or "over the capacity" in n for n in result.notes
    )


def test_inconsistent_data_and_unknown_solvers_are_value_errors() -> None:
    bad = RoutingProblem(
        places=2,
        profiles=[line(3)],
        depots=[Depot(5)],
        vehicle_types=[VehicleType(capacity=(1, 2), start_depot=0, end_depot=0)],
        requests=[Request((1,))],
    )
    with pytest.raises(ValueError) as err:
        solve_routing(bad, "auto", RoutingLimits(1.0))
    for part in ("profiles[0]", "depots[0]", "vehicle_types[0].capacity", "requests[0]"):
        assert part in str(err.value)
    with pytest.raises(ValueError, match="unknown routing solver"):
        solve_routing(random_problem(0), "nope", RoutingLimits(1.0))


def test_ortools_declines_depot_deliveries_mixed_with_pickups() -> None:
    problem = RoutingProblem(
        places=3,
        profiles=[line(3)],
        depots=[Depot(0)],
        vehicle_types=[VehicleType(capacity=(5,), start_depot=0, end_depot=0)],
        requests=[Request((1,), delivery=Stop(1)), Request((1,), pickup=Stop(2))],
    )
    with pytest.raises(ValueError, match="mixed with pickups"):
        solve_routing(problem, "ortools-routing", RoutingLimits(0.5))
    cost, routes = solve(problem, "auto")  # PyVRP models it: 0 -> 1 -> 2 -> 0
    assert (cost, routes) == (4, [[(0, "delivery"), (1, "pickup")]])


def test_pyvrp_stops_after_its_patience_without_improvement() -> None:
    """A small CVRP is solved long before 20 000 iterations: with a patience of 100
    the search stops about 100 iterations after its last improvement, at the cost the
    long run reaches."""
    problem = random_problem(0)
    patient = solve_routing(
        problem, "pyvrp", RoutingLimits(60.0, seed=1, max_iterations=20_000, patience=100)
    )
    long = solve_routing(problem, "pyvrp", RoutingLimits(60.0, seed=1, max_iterations=20_000))
    assert patient.iterations is not None and long.iterations is not None
    assert patient.iterations < 2_000 < long.iterations
    assert patient.cost == long.cost


def test_the_neighbourhood_is_pyvrps_own_with_one_vehicle_type_and_20_on_small_problems() -> None:
    large = random_problem(3, n=SMALL_REQUESTS + 10)
    data, _ = to_problem_data(large)
    assert neighbours(data) == compute_neighbours(data)
    assert all(len(near) == 50 for near in neighbours(data).values())  # PyVRP's default
    one = random_problem(3, n=30)
    data, _ = to_problem_data(one)
    small = NeighbourhoodParams(num_neighbours=SMALL_NEIGHBOURS)
    assert neighbours(data) == compute_neighbours(data, small)
    several = replace(
        one,
        vehicle_types=[
            replace(one.vehicle_types[0], unit_distance_cost=c, count=3) for c in (1, 2, 3)
        ],
    )
    data, _ = to_problem_data(several)
    found = neighbours(data)
    assert found.keys() == compute_neighbours(data).keys()
    assert all(len(found[a]) == SMALL_NEIGHBOURS for a in found)


def test_penalties_at_their_bound_are_a_note_of_each_search_in_threads_at_once() -> None:
    """PyVRP warns when a penalty reaches its bound; the back-end reports it as a note
    of that search without catching warnings, which would swap process-wide state under
    the routing stage's other searches running in threads at once."""
    import threading
    import warnings

    infeasible = too_heavy()
    fine = random_problem(5, n=12)
    shown, filters = warnings.showwarning, list(warnings.filters)
    results: dict[str, RoutingResult] = {}

    def run(name: str, problem: RoutingProblem) -> None:
        results[name] = solve_routing(problem, "pyvrp", RoutingLimits(0.5, seed=1))

    threads = [
        threading.Thread(target=run, args=(name, problem))
        for name, problem in (("a", infeasible), ("b", infeasible), ("c", fine))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    note = "PyVRP's penalties reached their bound (it struggled for feasibility)"
    assert note in results["a"].notes and note in results["b"].notes
    assert note not in results["c"].notes and results["c"].feasible
    assert warnings.showwarning is shown and warnings.filters == filters
