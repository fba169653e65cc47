"""Running index entries (:mod:`matcher.bench.run`) with the ``gap`` family, through the API
and ``matcher bench``: index filters, per-entry failures, verification, gap, output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from matcher import bench
from matcher.bench import BenchEntry, BenchRow, RunSettings
from matcher.cli import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, main
from tests.conftest import DATA
from tests.matcher.bench.io.test_gap import MAX_PROFIT, MIN_COST, SINGLE

FAST = ["--time-limit", "1", "--workers", "1", "-q"]
SETTINGS = RunSettings(time_limit_s=1, workers=1)  # the API equivalent of FAST


def _entry(name: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "family": "gap",
        "set": "small",
        "file": "small.txt",
        "file_format": "orlib-single",
        "bks": MIN_COST,
        "bks_is_optimal": True,
        "objective": "min",
    }
    record.update(extra)
    return record


def _index(tmp_path: Path, *records: dict[str, Any]) -> Path:
    (tmp_path / "small.txt").write_text(SINGLE)
    path = tmp_path / "index.json"
    path.write_text(json.dumps(list(records)))
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture()
def small_index(tmp_path: Path) -> Path:
    return _index(
        tmp_path,
        _entry("small-min"),
        _entry("small-max", set="small-max", objective="max", bks=MAX_PROFIT),
    )


# --- a run --------------------------------------------------------------------------


def test_bench_solves_verifies_and_writes_json_lines_with_exactly_the_specified_keys(
    small_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    assert main(["bench", str(small_index), *FAST, "--json", str(out)]) == EXIT_OK
    rows = _lines(out)
    assert [list(r) for r in rows] == [list(bench.JSON_KEYS)] * 2
    assert list(bench.JSON_KEYS) == [
        "name",
        "family",
        "solver",
        "objective",
        "bks",
        "gap_pct",
        "status",
        "wall_s",
        "feasible",
    ]
    assert [(r["name"], r["objective"], r["bks"], r["gap_pct"]) for r in rows] == [
        ("small-min", MIN_COST, MIN_COST, 0.0),
        ("small-max", MAX_PROFIT, MAX_PROFIT, 0.0),
    ]
    for r in rows:
        assert (r["family"], r["solver"], r["status"], r["feasible"]) == (
            "gap",
            "cpsat",
            "OPTIMAL",
            True,
        )
        assert r["wall_s"] >= 0
    text = capsys.readouterr().out
    assert "small-min" in text and "OPTIMAL" in text
    assert "cpsat: mean gap 0.00 % over 2 of 2; optimal 2 (proved, verified), = BKS 2" in text
    assert "infeasible or failed 0" in text


def test_json_dash_writes_only_json_lines_to_stdout(
    small_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(small_index), *FAST, "--json", "-"]) == EXIT_OK
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["name"] for r in rows] == ["small-min", "small-max"]
    assert "small-min" in captured.err and "mean gap" in captured.err


def test_several_solvers_give_a_row_each_and_a_summary_per_solver(
    small_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    argv = ["bench", str(small_index), *FAST, "--solver", "cpsat", "--solver", "greedy"]
    assert main([*argv, "--json", str(out)]) == EXIT_OK
    rows = _lines(out)
    assert [(r["name"], r["solver"]) for r in rows] == [
        ("small-min", "cpsat"),
        ("small-min", "greedy"),
        ("small-max", "cpsat"),
        ("small-max", "greedy"),
    ]
    text = capsys.readouterr().out
    assert "Summary per solver" in text and "greedy" in text


def test_names_and_sets_filter_the_entries(
    small_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    assert main(["bench", str(small_index), *FAST, "--names", "small-max", "--json", str(out)]) == 0
    assert [r["name"] for r in _lines(out)] == ["small-max"]
    assert main(["bench", str(small_index), *FAST, "--sets", "small", "--json", str(out)]) == 0
    assert [r["name"] for r in _lines(out)] == ["small-min"]
    argv = ["bench", str(small_index), *FAST, "--names", "small-min,small-max", "--sets", "small"]
    assert main([*argv, "--json", str(out)]) == 0
    assert [r["name"] for r in _lines(out)] == ["small-min"]


def test_the_shipped_gap1_problems_are_solved_to_their_optimum(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    index = DATA / "gap" / "index.json"
    argv = ["bench", str(index), *FAST, "--names", "c515-1,c515-3", "--json", str(out)]
    assert main(argv) == EXIT_OK
    rows = _lines(out)
    assert [(r["name"], r["objective"], r["gap_pct"]) for r in rows] == [
        ("c515-1", 336, 0.0),
        ("c515-3", 339, 0.0),
    ]
    assert all(r["feasible"] and r["status"] == "OPTIMAL" for r in rows)


# --- failures are rows, not crashes -------------------------------------------------


def test_bad_entries_are_failed_rows_with_their_reason_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _index(
        tmp_path,
        _entry("routing", family="cvrp9"),
        _entry("missing", file="nowhere.txt"),
        _entry("no-layout", file_format=None),
        {"family": "gap"},
        _entry("fine"),
    )
    out = tmp_path / "runs.jsonl"
    assert main(["bench", str(index), *FAST, "--json", str(out)]) == EXIT_OK
    rows = _lines(out)
    assert [(r["name"], r["solver"], r["status"], r["feasible"]) for r in rows] == [
        ("routing", "-", "ERROR", False),
        ("missing", "cpsat", "ERROR", False),
        ("no-layout", "cpsat", "ERROR", False),
        ("#3", "-", "ERROR", False),
        ("fine", "cpsat", "OPTIMAL", True),
    ]
    assert rows[0]["family"] == "cvrp9" and rows[0]["bks"] == MIN_COST
    assert "cpsat: mean gap 0.00 % over 1 of 5" in capsys.readouterr().out

    records = json.loads(index.read_text())
    messages = [
        row.message for r in records for row in bench.run_entry(r, tmp_path, None, SETTINGS)
    ]
    assert messages[0] == "unknown family 'cvrp9' (known: cvrp, gap, jssp, vrptw)"
    assert messages[1].startswith("FileNotFoundError: ") and "nowhere.txt" in messages[1]
    assert messages[2:4] == [
        "gap entry without a 'file_format'",
        "index entry without a 'name' string",
    ]


def test_a_solution_the_verifier_rejects_is_counted_as_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every job weighs 2 and every agent holds 1: no job can be assigned.
    (tmp_path / "tight.txt").write_text("2 2\n1 1\n1 1\n2 2\n2 2\n1 1\n")
    record = _entry("tight", file="tight.txt", bks=2)
    (row,) = bench.run_entry(record, tmp_path, None, SETTINGS)
    assert (row.feasible, row.objective, row.gap_pct, row.failed) == (False, None, None, True)
    assert row.message == (
        "verification failed: job 0 assigned to 0 agents, not 1; job 1 assigned to 0 agents, not 1"
    )
    index = tmp_path / "index.json"
    index.write_text(json.dumps([record]))
    assert main(["bench", str(index), *FAST]) == EXIT_OK
    text = capsys.readouterr().out
    assert "infeasible or failed 1" in text and "optimal 0" in text


@pytest.mark.parametrize(
    ("optimal", "flag"),
    [(False, "new best?"), (True, "better than a proven optimum")],
)
def test_an_objective_better_than_the_bks_gives_a_negative_gap_and_a_flag(
    tmp_path: Path, optimal: bool, flag: str
) -> None:
    _index(tmp_path)
    record = _entry("claimed", bks=MIN_COST + 1, bks_is_optimal=optimal)
    (row,) = bench.run_entry(record, tmp_path, None, SETTINGS)
    assert row.gap_pct == pytest.approx(-100 / (MIN_COST + 1))
    assert row.message.startswith(flag)


def test_an_objective_below_the_lower_bound_is_flagged(tmp_path: Path) -> None:
    _index(tmp_path)
    record = _entry("bound", bks_is_optimal=False, lower_bound=MIN_COST + 1)
    (row,) = bench.run_entry(record, tmp_path, None, SETTINGS)
    assert f"below the lower bound {MIN_COST + 1}" in row.message


def test_the_table_shows_every_row_and_its_note(
    small_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _index(small_index.parent, _entry("claimed", bks=MIN_COST + 1, bks_is_optimal=False))
    assert main(["bench", str(index), *FAST]) == EXIT_OK
    text = capsys.readouterr().out
    for cell in ("claimed", "cpsat", str(MIN_COST), f"{MIN_COST + 1}", "-6.67 %", "new best?"):
        assert cell in text


@dataclass(frozen=True)
class _ExplodingCase:
    def solve(self, solver: str, settings: RunSettings) -> bench.Attempt:
        if solver == "boom":
            raise RuntimeError("solver crashed")
        return bench.Attempt("FEASIBLE", 0.5, bench.Verification(True, 12.0))  # 20 % off


class _FakeFamily:
    name = "fake"

    def solvers(self) -> list[str]:
        return ["boom", "fine"]

    def default_solver(self) -> str:
        return "fine"

    def load(self, entry: BenchEntry) -> bench.BenchCase:
        return _ExplodingCase()


def test_a_registered_family_runs_and_a_solver_that_raises_fails_its_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(bench.FAMILIES, "fake", _FakeFamily)
    record = {"name": "x", "family": "fake", "file": "x", "bks": 10}
    index = tmp_path / "index.json"
    index.write_text(json.dumps([record]))
    out = tmp_path / "runs.jsonl"
    argv = ["bench", str(index), "-q", "--solver", "boom", "--solver", "fine"]
    assert main([*argv, "--json", str(out)]) == EXIT_OK
    rows = _lines(out)
    assert [(r["solver"], r["status"], r["objective"], r["gap_pct"]) for r in rows] == [
        ("boom", "ERROR", None, None),
        ("fine", "FEASIBLE", 12.0, pytest.approx(20.0)),
    ]
    (row,) = bench.run_entry(record, tmp_path, ["boom"], SETTINGS)
    assert row.message == "RuntimeError: solver crashed"


# --- bad arguments: exit 2 ----------------------------------------------------------


def test_an_unknown_solver_exits_2_listing_the_available_ones(
    small_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(small_index), "--solver", "cplex"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "unknown solver 'cplex' for family gap (available: cpsat, greedy" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--names", "small-min,nope,zilch"], "unknown name(s) in the index: nope, zilch"),
        (["--sets", "orlib-gapz"], "unknown set(s) in the index: orlib-gapz (known: small"),
        (["--names", "small-max", "--sets", "small"], "no entry has one of those names"),
        (["--time-limit", "0"], "time_limit_s"),
        (["--json", "/nonexistent/dir/runs.jsonl"], "error: /nonexistent/dir/runs.jsonl"),
    ],
)
def test_bad_filters_and_options_exit_2(
    small_index: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["bench", str(small_index), *argv]) == EXIT_INVALID
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "invalid JSON"),
        ('{"name": "x"}', "expected a JSON list of entry objects"),
        ("[]", "the index has no entries"),
    ],
)
def test_an_unreadable_index_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "index.json"
    if content is not None:
        path.write_text(content)
    assert main(["bench", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_interrupted_run_keeps_the_finished_rows_and_exits_1(
    small_index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = bench.run_entry

    def interrupt_second(record: dict[str, Any], *args: Any) -> Iterator[BenchRow]:
        if record["name"] == "small-max":
            raise KeyboardInterrupt
        return real(record, *args)

    monkeypatch.setattr(bench, "run_entry", interrupt_second)
    out = tmp_path / "runs.jsonl"
    assert main(["bench", str(small_index), *FAST, "--json", str(out)]) == EXIT_INTERNAL
    assert [r["name"] for r in _lines(out)] == ["small-min"]
    captured = capsys.readouterr()
    assert "small-min" in captured.out and "interrupted after 1 of 2 runs" in captured.err
