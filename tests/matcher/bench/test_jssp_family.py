"""The ``jssp`` family (:mod:`matcher.bench.jssp_family`): the scheduling back-end and
the textbook CP-SAT reference, verification of their answers, rows and JSON lines."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from matcher import bench
from matcher.bench import JSSP_DEFAULT, JSSP_TEXTBOOK, RunSettings
from matcher.bench.io import jssp
from matcher.cli import EXIT_INVALID, EXIT_OK, main
from matcher.domain.plan import SolveStatus
from solvers.scheduling import cpsat
from solvers.scheduling.cpsat import Placed, ScheduleResult
from tests.conftest import DATA

JSSP = DATA / "jssp"
SETTINGS = RunSettings(time_limit_s=2, seed=0, workers=1)
RECORDS: list[dict[str, Any]] = json.loads((JSSP / "index.json").read_text())
FT06 = next(r for r in RECORDS if r["name"] == "ft06")


def test_the_family_is_registered_with_the_engine_as_default_and_the_textbook_model() -> None:
    family = bench.get_family("jssp")
    assert family.solvers() == [JSSP_DEFAULT, JSSP_TEXTBOOK] == ["cpsat-schedule", "cpsat-textbook"]
    assert family.default_solver() == "cpsat-schedule"
    assert bench.check_solvers([FT06], ["cpsat"]) == [
        "unknown solver 'cpsat' for family jssp (available: cpsat-schedule, cpsat-textbook)"
    ]


@pytest.mark.parametrize("solver", [JSSP_DEFAULT, JSSP_TEXTBOOK])
def test_both_solvers_prove_the_ft06_optimum_55_and_it_is_verified(solver: str) -> None:
    (row,) = bench.run_entry(FT06, JSSP, [solver], SETTINGS)
    assert (row.name, row.family, row.solver) == ("ft06", "jssp", solver)
    assert (row.status, row.feasible, row.objective, row.gap_pct) == ("OPTIMAL", True, 55, 0.0)
    assert row.optimal and row.equals_bks and row.bks_is_optimal
    assert row.bound == 55
    assert row.first_s is not None and 0 <= row.first_s <= row.wall_s
    assert "solver reports" not in row.message and "placed on machine" not in row.message


def test_the_textbook_model_returns_a_schedule_by_job_and_operation() -> None:
    data = jssp.read(JSSP / "ft06.txt")
    answer = bench.textbook_solve(data, SETTINGS)
    assert answer.status == "OPTIMAL" and answer.starts is not None
    assert jssp.verify(data, answer.starts) == (55, [])
    assert (answer.makespan, answer.bound) == (55, 55)


def _patch_engine(
    monkeypatch: pytest.MonkeyPatch, change: Any, **result: Any
) -> list[ScheduleResult]:
    """Run the real back-end, then hand the bench ``change(result)`` instead."""
    real = cpsat.solve_schedule
    seen: list[ScheduleResult] = []

    def fake(*args: Any, **kwargs: Any) -> ScheduleResult:
        seen.append(real(*args, **kwargs))
        return dataclasses.replace(change(seen[-1]), **result)

    monkeypatch.setattr(cpsat, "solve_schedule", fake)
    return seen


def test_an_answer_the_verifier_rejects_is_a_failed_row(monkeypatch: pytest.MonkeyPatch) -> None:
    def all_at_zero(r: ScheduleResult) -> ScheduleResult:
        return dataclasses.replace(
            r, placed=[Placed(p.operation, p.machine, 0, p.end - p.start) for p in r.placed]
        )

    _patch_engine(monkeypatch, all_at_zero)
    (row,) = bench.run_entry(FT06, JSSP, None, SETTINGS)
    assert (row.solver, row.status, row.feasible, row.objective, row.gap_pct) == (
        "cpsat-schedule",
        "OPTIMAL",  # the solver's claim; the row fails all the same
        False,
        None,
        None,
    )
    assert row.failed and not row.optimal
    assert row.message.startswith("verification failed: job 0 operation 1 starts at 0, before")
    assert "more" in row.message  # the first three violations, then a count


def test_no_solution_is_a_failed_row(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_engine(
        monkeypatch,
        lambda r: r,
        status=SolveStatus.TIME_LIMIT,
        placed=[],
        bound=None,
        makespan=None,
    )
    (row,) = bench.run_entry(FT06, JSSP, None, SETTINGS)
    assert (row.status, row.feasible, row.objective, row.bound) == ("TIME_LIMIT", False, None, None)
    assert row.message.startswith("verification failed: no solution")
    assert row.to_json()["bound"] is None and "first_s" in row.to_json()


def test_a_wrong_claim_of_the_solver_becomes_a_note_and_a_bound_beyond_the_bks_a_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _patch_engine(monkeypatch, lambda r: r, makespan=54, bound=56.0)
    (row,) = bench.run_entry(FT06, JSSP, None, SETTINGS)
    assert (row.feasible, row.objective) == (True, 55)  # the verifier's makespan
    assert "solver bound 56 beyond the BKS 55: check the solver or the BKS" in row.message
    assert "solver reports makespan 54, the verifier 55" in row.message
    assert "solver bound 56 above its verified makespan: check" in row.message


def test_a_placement_that_disagrees_with_the_file_becomes_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def moved(r: ScheduleResult) -> ScheduleResult:
        placed = list(r.placed)
        placed[0] = dataclasses.replace(placed[0], machine=5)  # ft06 job 0 starts on M2
        return dataclasses.replace(r, placed=placed)

    _patch_engine(monkeypatch, moved)
    (row,) = bench.run_entry(FT06, JSSP, None, SETTINGS)
    assert row.feasible  # judged on the file's machines
    assert "job 0 operation 0 placed on machine 5 for 1, the file says 2 for 1" in row.message


def test_entry_errors_are_rows(tmp_path: Path) -> None:
    shutil.copy(JSSP / "ft06.txt", tmp_path / "ft06.txt")
    (tmp_path / "bad.txt").write_text("2 2\n0 3 1 2\n")
    records = [
        {**FT06, "name": "wrong-size", "n_jobs": 7},
        {**FT06, "name": "bad", "file": "bad.txt"},
        {**FT06, "name": "missing", "file": "nowhere.txt"},
    ]
    rows = [row for r in records for row in bench.run_entry(r, tmp_path, None, SETTINGS)]
    assert [(r.name, r.solver, r.status, r.feasible, r.bks) for r in rows] == [
        ("wrong-size", "cpsat-schedule", "ERROR", False, 55),
        ("bad", "cpsat-schedule", "ERROR", False, 55),
        ("missing", "cpsat-schedule", "ERROR", False, 55),
    ]
    assert rows[0].message.endswith("ft06.txt: n_jobs is 6, the index says 7")
    assert "bad.txt: the header announces 2 jobs, the file has 1 job lines" in rows[1].message
    assert rows[2].message.startswith("FileNotFoundError: ")
    assert all("bound" not in r.to_json() for r in rows)


def test_bench_runs_both_solvers_end_to_end_with_bound_and_first_solution_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    argv = ["bench", str(JSSP / "index.json"), "--time-limit", "2", "--workers", "1", "-q"]
    argv += ["--solver", JSSP_DEFAULT, "--solver", JSSP_TEXTBOOK, "--json", str(out)]
    assert main(argv) == EXIT_OK
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [list(r) for r in rows] == [[*bench.JSON_KEYS, "bound", "first_s"]] * 4
    assert [(r["name"], r["solver"], r["objective"], r["bound"], r["status"]) for r in rows] == [
        ("ft06", "cpsat-schedule", 55, 55, "OPTIMAL"),
        ("ft06", "cpsat-textbook", 55, 55, "OPTIMAL"),
        ("la01", "cpsat-schedule", 666, 666, "OPTIMAL"),
        ("la01", "cpsat-textbook", 666, 666, "OPTIMAL"),
    ]
    assert all(r["feasible"] and r["gap_pct"] == 0 and r["first_s"] >= 0 for r in rows)
    text = capsys.readouterr().out
    assert "cpsat-schedule" in text and "cpsat-textbook" in text and "Summary per solver" in text


def test_an_unknown_solver_for_jssp_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", str(JSSP / "index.json"), "--solver", "greedy"]) == EXIT_INVALID
    assert "unknown solver 'greedy' for family jssp" in capsys.readouterr().err
