"""``matcher diff``, ``matcher report`` and ``matcher compare``, called in-process as a
user would call them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, main
from tests.conftest import INSTANCES

TINY = str(INSTANCES / "tiny.json")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny instance solved by cpsat (optimal) and greedy."""
    d = tmp_path_factory.mktemp("plans")
    a, b = d / "cpsat.json", d / "greedy.json"
    assert main(["solve", TINY, "-o", str(a), "-q", "--workers", "1"]) == EXIT_OK
    assert main(["solve", TINY, "-o", str(b), "-q", "--workers", "1", "--solver", "greedy"]) == 0
    return a, b


def test_diff_of_a_plan_with_itself_says_they_are_the_same(
    plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(plans[0]), str(plans[0])]) == EXIT_OK
    out = capsys.readouterr().out
    assert "the plans are the same" in out and "Cost by term" in out and "fill_rate" in out


def test_diff_json_lists_costs_kpis_and_moves(
    plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(plans[0]), str(plans[1]), "--json"]) == EXIT_OK
    d = json.loads(capsys.readouterr().out)
    assert {t["name"] for t in d["costs"]} >= {"production", "transport", "total", "objective"}
    total = next(t for t in d["costs"] if t["name"] == "total")
    assert total["a"] == 31560 and total["delta"] == total["b"] - total["a"]
    assert {"moved", "newly_served", "newly_unserved", "kpis", "factories"} <= d.keys()


def test_report_writes_one_html_file_and_prints_its_path(
    plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "r.html"
    assert main(["report", TINY, str(plans[0]), "-o", str(target)]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(target.resolve())
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'data-chart="costs"' in page


def test_report_with_an_unreadable_schedule_is_invalid_input(
    plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("{}")
    argv = ["report", TINY, str(plans[0]), "--schedule", str(bad), "-o", str(tmp_path / "r.html")]
    assert main(argv) == EXIT_INVALID
    assert "cannot read" in capsys.readouterr().err


def test_compare_passes_when_b_keeps_the_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp.json"
    argv = ["compare", TINY, "--a", "solver=greedy", "--b", "solver=cpsat", "--time-limit", "5"]
    assert (
        main([*argv, "--max-cost-increase", "0%", "--min-fill-rate-delta", "0", "--json", str(out)])
        == 0
    )
    assert "compare: pass" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["passed"] and result["instances"][0]["b"]["total_cents"] == 31560


def test_compare_exits_1_on_a_regression_and_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    # The same configuration cannot be 1 % cheaper than itself: a failed threshold.
    argv = ["compare", TINY, "--a", "solver=greedy", "--b", "solver=greedy"]
    assert main([*argv, "--max-cost-increase", "-1"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "regression: " in captured.err
    assert "cost increase %" in captured.err


def test_compare_with_an_unknown_parameter_is_invalid_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compare", TINY, "--b", "colour=red"]) == EXIT_INVALID
    assert "unknown key 'colour'" in capsys.readouterr().err
