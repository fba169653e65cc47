"""``matcher solve`` (and what every solving command shares: input errors, solver
choices), called in-process as a user would call it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, main
from tests.conftest import INSTANCES


def test_solve_writes_a_plan_that_the_checker_accepts(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert main(["solve", str(INSTANCES / "tiny.json"), "-o", str(plan), "--workers", "1"]) == 0
    data = json.loads(plan.read_text())
    assert data["status"] == "OPTIMAL" and data["costs"]["objective"] == 31560
    assert main(["check", str(INSTANCES / "tiny.json"), str(plan)]) == EXIT_OK


def test_solve_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["solve", str(INSTANCES / "tiny.json"), "-o", str(tmp_path / "p.json"), "--workers", "1"])
    out = capsys.readouterr().out
    for text in ("Plan for tiny: OPTIMAL", "NO_CAPABLE_FACTORY", "production", "F1", "cpsat"):
        assert text in out


def test_the_same_seed_and_one_worker_give_the_same_plan_file(tmp_path: Path) -> None:
    plans = []
    for name in ("a.json", "b.json"):
        path = tmp_path / name
        argv = ["solve", str(INSTANCES / "demo.json"), "-o", str(path), "-q"]
        assert main([*argv, "--workers", "1", "--seed", "3", "--time-limit", "2"]) == 0
        plan = json.loads(path.read_text())
        for stage in plan["stages"]:  # timings aside
            for key in ("wall_time_s", "time_to_first_feasible_s", "notes", "extra"):
                stage.pop(key)
        plan["capacity_sharing"].pop("wall_time_s")
        plan["fairness"].pop("wall_time_s")
        plans.append(plan)
    assert plans[0] == plans[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "file not found"), ("{not json", "invalid JSON at line 1")],
)
def test_unreadable_instances_are_invalid_input_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "instance.json"
    if content is not None:
        path.write_text(content)
    assert main(["solve", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unknown_solver_is_rejected_by_the_parser() -> None:
    with pytest.raises(SystemExit) as info:
        main(["solve", str(INSTANCES / "tiny.json"), "--solver", "nope"])
    assert info.value.code == 2


def test_with_two_workers_the_limit_counts_from_the_command_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matcher.app.pipeline as pipeline

    limits = []
    real = pipeline.plan

    def recording(instance: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        limits.append(params.time_limit_s)
        return real(instance, params, *args, **kwargs)

    monkeypatch.setattr(pipeline, "plan", recording)
    for workers in ("1", "2"):
        argv = ["solve", str(INSTANCES / "tiny.json"), "-o", str(tmp_path / "p.json"), "-q"]
        assert main([*argv, "--workers", workers, "--time-limit", "5"]) == EXIT_OK
    # one worker: the nominal, deterministic limit; two: less what loading took
    assert limits[0] == 5.0
    assert 2.5 <= limits[1] < 5.0


def test_loading_and_writing_come_off_the_limit_but_never_more_than_half() -> None:
    from matcher.cli.solve import WRITE_S_PER_ORDER, _counted_from
    from matcher.domain.params import SolveParams

    params = SolveParams(time_limit_s=60.0, workers=2)
    ten_s_ago = time.perf_counter() - 10.0
    left = _counted_from(params, ten_s_ago, 50_000).time_limit_s
    assert (
        60.0 - 10.5 - 50_000 * WRITE_S_PER_ORDER <= left <= 60.0 - 10.0 - 50_000 * WRITE_S_PER_ORDER
    )
    assert _counted_from(params, time.perf_counter() - 100.0, 10).time_limit_s == 30.0
    one = params.model_copy(update={"workers": 1})
    assert _counted_from(one, ten_s_ago, 50_000) is one


def test_replan_counts_its_limit_from_the_command_start_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matcher.app.replan as replanning

    tiny, previous, events = INSTANCES / "tiny.json", tmp_path / "p.json", tmp_path / "e.json"
    assert main(["solve", str(tiny), "-o", str(previous), "-q", "--workers", "1"]) == EXIT_OK
    events.write_text('{"events": []}')
    limits = []
    real = replanning.replan

    def recording(instance: Any, plan: Any, disruption: Any, params: Any, *rest: Any) -> Any:
        limits.append(params.time_limit_s)
        return real(instance, plan, disruption, params, *rest)

    monkeypatch.setattr(replanning, "replan", recording)
    for workers in ("1", "2"):
        argv = ["replan", str(tiny), str(previous), str(events), "-o", str(tmp_path / "n.json")]
        assert main([*argv, "-q", "--workers", workers, "--time-limit", "5"]) == EXIT_OK
    assert limits[0] == 5.0
    assert 2.5 <= limits[1] < 5.0
