"""``matcher bench`` for routing: the CVRPLIB and Solomon readers, the independent route
verifier, and the ``cvrp`` and ``vrptw`` families end to end."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import vrplib
from rich.console import Console

from matcher import bench
from matcher.bench import BenchRow, RunSettings
from matcher.bench.io import vrp
from matcher.cli import EXIT_INVALID, EXIT_OK, bench_table, main
from solvers.routing.problem import Stop
from tests.conftest import DATA, ROOT

VRP = DATA / "vrp"
SETTINGS = RunSettings(time_limit_s=1, seed=0, workers=1)

# Records as in ../shared/benchmarks/{cvrp,vrptw}/index.json, files next to the data.
A32: dict[str, Any] = {
    "name": "A-n32-k5",
    "family": "cvrp",
    "set": "A",
    "file": "A-n32-k5.vrp",
    "bks": 784,
    "bks_is_optimal": True,
    "objective": "min",
}
E13: dict[str, Any] = {**A32, "name": "E-n13-k4", "set": "E", "file": "E-n13-k4.vrp", "bks": 247}
C101: dict[str, Any] = {
    "name": "C101",
    "family": "vrptw",
    "file": "C101.txt",
    "max_vehicles": 25,
    "vehicle_capacity": 200,
    "bks": 828.94,  # hierarchical (vehicles first, unrounded): not what the family minimises
    "bks_vehicles": 10,
    "bks_is_optimal": False,
    "objective": "min",
    "distance_only_best": 827.3,
    "distance_only_vehicles": 10,
    "distance_only_is_optimal": True,
}
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


# --- the readers --------------------------------------------------------------------


def test_read_cvrp_rounds_each_euclidean_arc_and_frees_the_vehicle_count() -> None:
    problem = vrp.read_problem(VRP / "A-n32-k5.vrp", "cvrp")
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
    problem = vrp.read_problem(VRP / "E-n13-k4.vrp", "cvrp")
    distance = problem.profiles[0].distance
    # LOWER_ROW: d(1,0), d(2,0), d(2,1), d(3,0), ... = 9 14 21 23 ...
    assert [distance[1, 0], distance[2, 0], distance[2, 1], distance[3, 0]] == [9, 14, 21, 23]
    assert (distance == distance.T).all() and (np.diag(distance) == 0).all()
    assert (problem.vehicle_types[0].capacity, problem.vehicle_types[0].count) == ((6000,), 12)


def test_read_vrptw_works_in_tenths_truncated_with_the_files_fleet() -> None:
    problem = vrp.read_problem(VRP / "C101.txt", "vrptw")
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
    problem = vrp.read_problem(VRP / file, kind)
    raw = vrp.read_raw(VRP / file, kind)
    n = problem.places
    assert n == len(raw.demand)
    verifier = np.array([[raw.arc(a, b) for b in range(n)] for a in range(n)])
    assert (problem.profiles[0].distance == verifier).all()
    assert [r.amount[0] for r in problem.requests] == list(raw.demand[1:])


def test_distance_conventions_on_hand_made_points() -> None:
    points = [(0, 0), (3, 4), (1, 1), (2, 0)]
    assert vrp.nint_distances(points)[0].tolist() == [0, 5, 1, 2]  # 1.414 -> 1
    assert vrp.dimacs_distances(points)[0].tolist() == [0, 50, 14, 20]  # 1.414 -> 1.4
    raw = vrp.RawVrp("pts", "vrptw", 1, (0, 0, 0, 0), 1, coords=tuple(points))
    assert [raw.arc(0, b) for b in range(4)] == [0, 50, 14, 20]
    # TSPLIB nint rounds half up (numpy's round would give 2 here).
    half = vrp.RawVrp("half", "cvrp", 1, (0, 0), 1, coords=((0, 0), (2.5, 0)))
    assert half.arc(0, 1) == 3 == vrp.nint_distances([(0, 0), (2.5, 0)])[0, 1]


def test_the_verifier_imports_neither_the_engine_nor_vrplib() -> None:
    code = (
        "import sys\n"
        "from matcher.bench.io import vrp\n"
        "raw = vrp.read_raw(sys.argv[1], 'vrptw')\n"
        "assert vrp.evaluate(raw, [[c] for c in range(1, 26)]).violations\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'solvers', 'vrplib', 'pyvrp', 'ortools'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(VRP / "C101.txt")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == "[]"


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


# --- the families -------------------------------------------------------------------


def test_the_routing_families_offer_the_engine_and_plain_pyvrp() -> None:
    for name in ("cvrp", "vrptw"):
        family = bench.get_family(name)
        assert family.solvers() == ["auto", "ortools-routing", "pyvrp", "pyvrp-plain"]
        assert family.default_solver() == "auto"


def test_vrptw_rows_are_compared_with_the_distance_only_optimum() -> None:
    entry = bench.BenchEntry.from_record(C101, VRP)
    assert (entry.bks, entry.bks_is_optimal) == (827.3, True)
    assert bench.BenchEntry.from_record(A32, VRP).bks == 784


@pytest.mark.parametrize(
    ("record", "solver"),
    [(A32, s) for s in ("auto", "ortools-routing", "pyvrp", "pyvrp-plain")]
    + [(C101, s) for s in ("auto", "ortools-routing", "pyvrp", "pyvrp-plain")]
    + [(E13, "auto")],
)
def test_a_short_solve_gives_a_verified_row_near_the_best_known(
    record: dict[str, Any], solver: str
) -> None:
    (row,) = bench.run_entry(record, VRP, [solver], SETTINGS)
    assert (row.solver, row.status, row.feasible) == (solver, "FEASIBLE", True), row.message
    assert row.bks == (827.3 if record["family"] == "vrptw" else record["bks"])
    assert row.gap_pct is not None and 0 <= row.gap_pct <= 10
    assert row.objective is not None and row.vehicles is not None
    assert 1 <= row.vehicles <= 25
    assert row.wall_s < 5 * SETTINGS.time_limit_s
    assert "solver reports distance" not in row.message  # engine and verifier agree


def test_an_answer_the_verifier_rejects_is_a_failed_row_with_the_solvers_warning(
    tmp_path: Path,
) -> None:
    # The only customer weighs more than the vehicle carries.
    (tmp_path / "heavy.vrp").write_text(
        "NAME : heavy\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 5\n"
        "NODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 9\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    record = {**A32, "name": "heavy", "file": "heavy.vrp", "bks": 10}
    settings = RunSettings(time_limit_s=0.2)
    for solver in ("pyvrp", "pyvrp-plain"):
        (row,) = bench.run_entry(record, tmp_path, [solver], settings)
        assert (row.status, row.feasible, row.objective, row.gap_pct, row.vehicles) == (
            "INFEASIBLE",
            False,
            None,
            None,
            1,
        )
        assert row.message.startswith(
            "verification failed: route 0 carries 9, over the capacity 5"
        ), row.message
        warned = {  # our back-end turns PyVRP's warning into a note; plain PyVRP warns
            "pyvrp": "PyVRP's penalties reached their bound",
            "pyvrp-plain": "PenaltyBoundWarning: A penalty parameter has reached its maximum value",
        }[solver]
        assert warned in row.message


def _index(tmp_path: Path, *records: dict[str, Any]) -> Path:
    for r in records:
        shutil.copy(VRP / r["file"], tmp_path / r["file"])
    path = tmp_path / "index.json"
    path.write_text(json.dumps(list(records)))
    return path


def test_bench_runs_both_families_end_to_end_with_a_vehicles_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _index(tmp_path, A32, C101)
    out = tmp_path / "runs.jsonl"
    argv = ["bench", str(index), "--time-limit", "0.5", "--workers", "1", "-q"]
    assert main([*argv, "--json", str(out)]) == EXIT_OK
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [list(r) for r in rows] == [[*bench.JSON_KEYS, "vehicles"]] * 2
    assert [(r["name"], r["family"], r["solver"], r["bks"], r["status"]) for r in rows] == [
        ("A-n32-k5", "cvrp", "auto", 784, "FEASIBLE"),
        ("C101", "vrptw", "auto", 827.3, "FEASIBLE"),
    ]
    assert all(r["feasible"] and r["gap_pct"] >= 0 and r["vehicles"] >= 5 for r in rows)
    text = capsys.readouterr().out
    assert "vehicles" in text and "auto: mean gap" in text


def test_routing_errors_are_rows_and_an_unknown_solver_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _index(tmp_path, C101)
    assert main(["bench", str(index), "--solver", "lkh"]) == EXIT_INVALID
    assert (
        "unknown solver 'lkh' for family vrptw "
        "(available: auto, ortools-routing, pyvrp, pyvrp-plain)" in capsys.readouterr().err
    )
    (tmp_path / "garbage.txt").write_text("C9\nnothing to see\n")
    missing = {**C101, "name": "missing", "file": "nowhere.txt"}
    garbage = {**C101, "name": "garbage", "file": "garbage.txt"}
    rows = [row for r in (missing, garbage) for row in bench.run_entry(r, tmp_path, None, SETTINGS)]
    assert [(r.name, r.solver, r.status, r.bks, r.vehicles) for r in rows] == [
        ("missing", "auto", "ERROR", 827.3, None),
        ("garbage", "auto", "ERROR", 827.3, None),
    ]
    assert "nowhere.txt" in rows[0].message
    assert "vehicles" not in rows[0].to_json()


def _render(rows: list[BenchRow]) -> str:
    console = Console(width=200, record=True)
    console.print(bench_table(rows, "t"))
    return console.export_text()


def test_the_vehicles_column_appears_only_when_a_row_has_vehicles() -> None:
    row = BenchRow("x", "gap", "cpsat", 10, 10, 0.0, "OPTIMAL", 0.1, True)
    assert "vehicles" not in _render([row])
    routed = dataclasses.replace(row, family="cvrp", solver="auto", vehicles=7)
    text = _render([row, routed])
    assert "vehicles" in text and " 7 " in text
    assert "distance_only_best" not in text
    vrptw = dataclasses.replace(routed, family="vrptw")
    assert "BKS of vrptw: the index's distance_only_best" in _render([vrptw])
