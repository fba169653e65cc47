"""The ``cvrp`` and ``vrptw`` families (:mod:`matcher.bench.routing_family`): the engine's
back-ends and plain PyVRP solve, the verifier judges, through the API and ``matcher bench``."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from matcher import bench
from matcher.bench import BenchRow, RunSettings
from matcher.cli import EXIT_INVALID, EXIT_OK, bench_table, main
from tests.conftest import DATA

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
        if solver == "pyvrp":  # the back-end's note only, not PyVRP's warning beside it
            assert "PenaltyBoundWarning" not in row.message, row.message


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
