"""The independent route verifier (:mod:`matcher.bench.io.vrp`): its own reading of
CVRPLIB and Solomon files, the published optima reproduced, broken answers caught."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import vrplib

from matcher.bench.io import vrp
from tests.conftest import DATA
from tests.matcher.bench.io.imports import outside_the_standard_library

VRP = DATA / "vrp"

# (instance file, kind, solution file, optimum, routes of the optimum)
OPTIMA = [
    ("A-n32-k5.vrp", "cvrp", "A-n32-k5.sol", 784, 5),
    ("E-n13-k4.vrp", "cvrp", "E-n13-k4.sol", 247, 4),
    ("C101.txt", "vrptw", "C101.sol", 827.3, 10),
]


def _routes(solution: str) -> list[list[int]]:
    routes: list[list[int]] = vrplib.read_solution(str(VRP / solution))["routes"]
    return routes


@pytest.fixture(scope="session")
def a32() -> vrp.RawVrp:
    return vrp.read_raw(VRP / "A-n32-k5.vrp", "cvrp")


@pytest.fixture(scope="session")
def c101() -> vrp.RawVrp:
    return vrp.read_raw(VRP / "C101.txt", "vrptw")


def test_the_verifier_imports_only_the_standard_library() -> None:
    assert outside_the_standard_library(vrp) == []


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "NAME : x\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : GEO\nCAPACITY : 5\n"
            "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 1\n"
            "DEPOT_SECTION\n1\n-1\nEOF\n",
            "cvrp",
            "edge weights GEO",
        ),
        (
            "NAME : x\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 5\n"
            "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 1\n"
            "DEPOT_SECTION\n2\n-1\nEOF\n",
            "cvrp",
            "only node 1 as the single depot",
        ),
        (
            "NAME : x\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 5\n"
            "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 1\n3 1\n"
            "DEPOT_SECTION\n1\n-1\nEOF\n",
            "cvrp",
            "coordinates: 6 numbers, expected 9",
        ),
        (
            "C1\nVEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\nCUST NO. XCOORD.\n"
            "0 0 0 0 0 100 0\n2 1 1 1 0 100 1\n",
            "vrptw",
            "not numbered 0..1",
        ),
        ("C1\nCUSTOMER\nCUST NO. XCOORD.\n0 0 0 0 0 100 0\n", "vrptw", "no VEHICLE NUMBER"),
    ],
)
def test_the_verifier_refuses_files_it_cannot_read(
    tmp_path: Path, text: str, kind: str, message: str
) -> None:
    path = tmp_path / "bad.vrp"
    path.write_text(text)
    with pytest.raises(vrp.VrpFormatError, match=message):
        vrp.read_raw(path, kind)


# --- the verifier on the published optima -------------------------------------------


@pytest.mark.parametrize(("file", "kind", "solution", "optimum", "routes"), OPTIMA)
def test_the_verifier_reproduces_each_bundled_solution_exactly(
    file: str, kind: str, solution: str, optimum: float, routes: int
) -> None:
    check = vrp.evaluate(vrp.read_raw(VRP / file, kind), _routes(solution))
    assert check.violations == []
    assert check.objective == optimum == vrplib.read_solution(str(VRP / solution))["cost"]
    assert check.vehicles == routes


def test_empty_routes_are_ignored(a32: vrp.RawVrp) -> None:
    check = vrp.evaluate(a32, [[], *_routes("A-n32-k5.sol"), []])
    assert (check.feasible, check.objective, check.vehicles) == (True, 784, 5)


# --- the verifier catches broken answers --------------------------------------------


def test_a_customer_served_twice_is_caught(a32: vrp.RawVrp) -> None:
    routes = _routes("A-n32-k5.sol")
    routes[1].append(routes[0][0])
    check = vrp.evaluate(a32, routes)
    assert check.violations == [f"customer {routes[0][0]} visited 2 times, not once"]
    assert (check.feasible, check.objective) == (False, None)


def test_a_customer_left_out_is_caught(a32: vrp.RawVrp) -> None:
    routes = _routes("A-n32-k5.sol")
    left_out = routes[2].pop()
    assert vrp.evaluate(a32, routes).violations == [
        f"customer {left_out} visited 0 times, not once"
    ]


def test_a_route_over_the_capacity_is_caught(a32: vrp.RawVrp) -> None:
    routes = _routes("A-n32-k5.sol")
    merged = [routes[0] + routes[1], *routes[2:]]
    load = sum(a32.demand[c] for c in merged[0])
    assert vrp.evaluate(a32, merged).violations == [
        f"route 0 carries {load}, over the capacity 100"
    ]


def test_a_stop_that_is_not_a_customer_is_caught(a32: vrp.RawVrp) -> None:
    routes = _routes("A-n32-k5.sol")
    routes[0].insert(0, 0)
    assert vrp.evaluate(a32, routes).violations[0] == "route 0 visits 0, not a customer (1..31)"


def test_a_missed_time_window_is_caught(c101: vrp.RawVrp) -> None:
    routes = _routes("C101.sol")
    first = routes[0]  # 5 3 7 ... 75; customer 5 is due at 67
    routes[0] = [*first[1:], first[0]]
    assert vrp.evaluate(c101, routes).violations == [
        "route 0 starts serving customer 5 at 1103.0, after its due time 67"
    ]


def test_a_late_return_to_the_depot_is_caught(c101: vrp.RawVrp) -> None:
    early_close = dataclasses.replace(c101, due=(1200, *c101.due[1:]))
    assert vrp.evaluate(early_close, _routes("C101.sol")).violations == [
        "route 4 is back at the depot at 1234.6, after its due time 1200"
    ]


def test_more_routes_than_vehicles_are_caught(c101: vrp.RawVrp) -> None:
    routes = _routes("C101.sol")
    singles = [[c] for c in routes[0] + routes[1]]  # 20 one-customer routes, each on time
    check = vrp.evaluate(c101, singles + routes[2:])
    assert check.violations == ["28 routes, at most 25 allowed"]
    assert check.vehicles == 28
