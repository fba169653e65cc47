"""``matcher fairness`` and the fairness table of ``matcher solve``, called in-process as
a user would, on the hand-checked instance of tests/fairness_report_data.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_OK, main
from tests.fairness_report_data import fairness_instance


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fairness")
    instance, plan = folder / "instance.json", folder / "plan.json"
    instance.write_text(fairness_instance().model_dump_json())
    argv = ["solve", str(instance), "-o", str(plan), "--workers", "1", "--time-limit", "4"]
    assert main([*argv, "-q", "--no-sharing"]) == EXIT_OK
    return instance, plan


def test_solve_prints_the_fairness_table(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["solve", str(files[0]), "-o", "/dev/null", "--workers", "1", "--time-limit", "4"]
    capsys.readouterr()
    assert main([*argv, "--no-sharing"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Fairness" in out and "Gini units / hours / revenue" in out
    assert "blocking pairs" in out and "5 (3 with an unserved order; 3 orders)" in out


def test_fairness_json_is_the_report_the_plan_carries(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["fairness", str(files[0]), str(files[1]), "--json"]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads(files[1].read_text())["fairness"]
    for report in (printed, stored):
        del report["wall_time_s"]
    assert printed == stored


def test_fairness_prints_the_factories_and_the_blocking_pairs(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["fairness", str(files[0]), str(files[1])]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("Work per factory (3)", "Blocking pairs (5; first 5)", "unserved", "10.00"):
        assert text in out
