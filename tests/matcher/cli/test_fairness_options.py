"""``matcher solve`` with fairness options (docs/fairness.md), called in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, main
from tests.fairness_options_data import fairness_data


@pytest.fixture()
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "fair.json"
    path.write_text(json.dumps(fairness_data()))
    return path


def _solve(instance: Path, tmp_path: Path, *options: str) -> tuple[int, Path]:
    plan = tmp_path / "plan.json"
    argv = ["solve", str(instance), "-o", str(plan), "--workers", "1", "--no-sharing"]
    return main([*argv, *options]), plan


def test_solve_applies_the_options_given_echoes_them_and_the_plan_checks(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, plan = _solve(instance, tmp_path, "--max-share", "0.5", "--load-balance", "1")
    assert code == EXIT_OK
    data = json.loads(plan.read_text())
    assert data["fairness_options"]["max_share"] == 0.5
    assert data["weights"]["load_balance"] == 1
    assert {a["factory"] for a in data["allocations"]} == {"F1", "F2"}
    assert "fairness: units; max share 0.5; load balance 1 c/point" in capsys.readouterr().out
    assert main(["check", str(instance), str(plan)]) == EXIT_OK


def test_a_minimum_for_one_factory_and_a_hard_minimum_reach_the_solve(
    instance: Path, tmp_path: Path
) -> None:
    code, plan = _solve(instance, tmp_path, "--min-work-for", "F3=10", "--min-work-hard")
    assert code == EXIT_OK
    data = json.loads(plan.read_text())
    assert data["fairness_options"]["min_work_by_factory"] == {"F3": 10.0}
    assert sorted(a["factory"] for a in data["allocations"]) == ["F1", "F1", "F1", "F3"]


def test_invalid_options_are_input_errors_with_their_paths(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _solve(instance, tmp_path, "--max-share", "1.5", "--min-work-for", "F1=x")
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert "params.fairness.max_share" in err
    assert "params.fairness.min_work_by_factory.F1" in err
    code, _ = _solve(instance, tmp_path, "--min-work-for", "F9=1")
    assert code == EXIT_INVALID
    assert "params.fairness.min_work_by_factory.F9: unknown factory 'F9'" in capsys.readouterr().err


def test_a_solver_that_cannot_honour_an_option_says_so(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _solve(instance, tmp_path, "--solver", "greedy", "--exploration-share", "0.2")
    assert code == EXIT_INVALID
    assert "exploration_share" in capsys.readouterr().err
