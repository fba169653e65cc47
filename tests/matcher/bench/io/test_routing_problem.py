"""CVRPLIB and Solomon files as the routing engine's problem
(:mod:`matcher.bench.io.routing_problem`), arc for arc what the verifier reads."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.bench.io import vrp
from matcher.bench.io.routing_problem import dimacs_distances, nint_distances, read_problem
from solvers.routing.problem import Stop
from tests.matcher.bench.io.test_vrp import OPTIMA, VRP


def test_read_cvrp_rounds_each_euclidean_arc_and_frees_the_vehicle_count() -> None:
    problem = read_problem(VRP / "A-n32-k5.vrp", "cvrp")
    assert problem.problems() == []
    assert (problem.places, len(problem.requests), problem.depots[0].place) == (32, 31, 0)
    (truck,) = problem.vehicle_types
    assert (truck.capacity, truck.count, truck.fixed_cost, truck.unit_distance_cost) == (
        (100,),
        31,
        0,
        1,
    )
    # Node 1 (82, 76) is the depot, node 2 (96, 44) customer place 1: sqrt(1220) = 34.93.
    distance = problem.profiles[0].distance
    assert distance[0, 1] == distance[1, 0] == 35
    assert (problem.profiles[0].duration == distance).all()
    first = problem.requests[0]
    assert (first.amount, first.delivery, first.required) == ((19,), Stop(1), True)


def test_read_cvrp_takes_an_explicit_lower_row_matrix() -> None:
    problem = read_problem(VRP / "E-n13-k4.vrp", "cvrp")
    distance = problem.profiles[0].distance
    # LOWER_ROW: d(1,0), d(2,0), d(2,1), d(3,0), ... = 9 14 21 23 ...
    assert [distance[1, 0], distance[2, 0], distance[2, 1], distance[3, 0]] == [9, 14, 21, 23]
    assert (distance == distance.T).all() and (np.diag(distance) == 0).all()
    assert (problem.vehicle_types[0].capacity, problem.vehicle_types[0].count) == ((6000,), 12)


def test_read_vrptw_works_in_tenths_truncated_with_the_files_fleet() -> None:
    problem = read_problem(VRP / "C101.txt", "vrptw")
    assert problem.problems() == []
    (fleet,) = problem.vehicle_types
    assert (fleet.capacity, fleet.count) == ((200,), 25)
    depot = problem.depots[0]
    assert (depot.place, depot.open, depot.close) == (0, 0, 12360)
    # Depot (40, 50), customer 1 (45, 68): sqrt(349) = 18.68 -> 18.6 -> 186 tenths.
    assert problem.profiles[0].distance[0, 1] == 186
    stop = problem.requests[0].delivery
    assert stop is not None
    assert (stop.place, stop.early, stop.late, stop.service) == (1, 9120, 9670, 900)
    assert problem.requests[0].amount == (10,)


@pytest.mark.parametrize(("file", "kind"), [(f, k) for f, k, *_ in OPTIMA])
def test_the_reader_and_the_verifier_agree_on_every_arc(file: str, kind: str) -> None:
    problem = read_problem(VRP / file, kind)
    raw = vrp.read_raw(VRP / file, kind)
    n = problem.places
    assert n == len(raw.demand)
    verifier = np.array([[raw.arc(a, b) for b in range(n)] for a in range(n)])
    assert (problem.profiles[0].distance == verifier).all()
    assert [r.amount[0] for r in problem.requests] == list(raw.demand[1:])


def test_distance_conventions_on_hand_made_points() -> None:
    points = [(0, 0), (3, 4), (1, 1), (2, 0)]
    assert nint_distances(points)[0].tolist() == [0, 5, 1, 2]  # 1.414 -> 1
    assert dimacs_distances(points)[0].tolist() == [0, 50, 14, 20]  # 1.414 -> 1.4
    raw = vrp.RawVrp("pts", "vrptw", 1, (0, 0, 0, 0), 1, coords=tuple(points))
    assert [raw.arc(0, b) for b in range(4)] == [0, 50, 14, 20]
    # TSPLIB nint rounds half up (numpy's round would give 2 here).
    half = vrp.RawVrp("half", "cvrp", 1, (0, 0), 1, coords=((0, 0), (2.5, 0)))
    assert half.arc(0, 1) == 3 == nint_distances([(0, 0), (2.5, 0)])[0, 1]
