"""``matcher batch`` and ``matcher scenarios`` called as a user calls them: exit codes,
the files written, the table and the reasons printed."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, main
from tests.conftest import INSTANCES
from tests.matcher.batch.conftest import tiny_copies

FAST = ["--time-limit", "2", "--workers", "1", "--jobs", "2"]


def test_batch_exits_1_when_an_instance_fails_and_0_once_every_plan_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (good,) = tiny_copies(tmp_path, "good")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = tmp_path / "out"
    assert main(["batch", str(good), str(bad), "-o", str(out), *FAST]) == 1
    printed = capsys.readouterr()
    assert "batch on local: 1 failed, 1 solved" in printed.out
    assert "failed: bad: invalid instance" in printed.err and "horizon: Field required" in (
        printed.err
    )
    assert (out / "good.plan.json").exists() and (out / "summary.csv").exists()
    assert main(["batch", str(good), "-o", str(out), *FAST]) == EXIT_OK
    assert "1 skipped (valid plan exists)" in capsys.readouterr().out


def test_scenarios_with_a_bad_spec_exit_2_listing_each_path_and_solve_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {"scenarios": [{"name": "s", "changes": [{"kind": "capacity", "percent": -500}]}]}
        )
    )
    out = tmp_path / "out"
    code = main(["scenarios", str(INSTANCES / "tiny.json"), str(spec), "-o", str(out)])
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert "error: scenarios[0].changes[0].capacity.percent: Input should be greater" in err
    assert not out.exists()


def test_an_unreachable_ray_address_is_a_clear_error_within_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (good,) = tiny_copies(tmp_path, "good")
    start = time.perf_counter()
    argv = ["batch", str(good), "-o", str(tmp_path / "out"), "--executor", "ray"]
    assert main([*argv, "--ray-address", f"127.0.0.1:{port}"]) == 1
    assert time.perf_counter() - start < 5
    assert f"error: no Ray cluster reachable at 127.0.0.1:{port}" in capsys.readouterr().err


def test_scenarios_on_a_ray_started_for_the_run_compare_with_the_base_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "scenarios": [
                    {
                        "name": "F2 out",
                        "changes": [
                            {"kind": "outage", "factory": "F2", "from_period": 0, "to_period": 2}
                        ],
                    }
                ]
            }
        )
    )
    out = tmp_path / "out"
    argv = ["scenarios", str(INSTANCES / "tiny.json"), str(spec), "-o", str(out), *FAST]
    assert main([*argv, "--executor", "ray"]) == EXIT_OK
    assert "scenarios of tiny on ray" in capsys.readouterr().out
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["executor"] == "ray" and saved["scenarios"][0]["outcome"] == "solved"
    assert not ray.is_initialized()  # the Ray started for the run is shut down
