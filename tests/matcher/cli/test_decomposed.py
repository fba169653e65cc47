"""``matcher solve --executor``: the decomposed solve from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.app import pipeline
from matcher.check import check_plan, load_plan
from matcher.cli import main
from matcher.domain.validation import load_instance
from solvers.assignment.problem import CompileStoppedError
from tests.conftest import INSTANCES


def test_solve_with_the_local_executor_writes_a_checked_plan_of_parts(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    demo = str(INSTANCES / "demo.json")
    args = ["solve", demo, "--executor", "local", "--jobs", "2", "--time-limit", "5"]
    assert main([*args, "--workers", "1", "-q", "-o", str(out)]) == 0
    result = load_plan(out)
    assert check_plan(load_instance(demo), result).ok
    assert "5 independent parts" in result.stages[0].notes[0]


def test_a_ray_address_without_the_ray_executor_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = str(INSTANCES / "demo.json")
    args = ["solve", demo, "--executor", "local", "--ray-address", "127.0.0.1:1"]
    assert main([*args, "-q", "-o", str(tmp_path / "plan.json")]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


def test_a_limit_shorter_than_compiling_is_said_plainly_not_as_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whether a real limit lands inside the compilation is a race (a signal set before
    # it starts asks for the quickest plan instead): the pipeline's own error is raised.
    def stopped(*args: object, **kwargs: object) -> None:
        raise CompileStoppedError("the time limit was reached while the problem compiled")

    monkeypatch.setattr(pipeline, "plan", stopped)
    demo = str(INSTANCES / "demo.json")
    assert main(["solve", demo, "-q", "-o", str(tmp_path / "plan.json")]) == 1
    err = capsys.readouterr().err
    assert "while the problem compiled: raise --time-limit" in err
    assert "internal error" not in err
