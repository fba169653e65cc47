"""``matcher validate``, ``check``, ``generate`` and ``schema``, called in-process as a
user would call them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_CHECK_FAILED, EXIT_INVALID, EXIT_OK, main
from tests.conftest import INSTANCES


def test_validate_lists_every_error_with_its_path_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((INSTANCES / "tiny.json").read_text())
    data["orders"][0]["operations"][0]["process"] = "cnc9"
    data["orders"][2]["quantity"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["validate", str(bad)]) == EXIT_INVALID
    err = capsys.readouterr().err.splitlines()
    assert "error: orders[0].operations[0].process: unknown process 'cnc9'" in err
    assert any(line.startswith("error: orders[2].quantity:") for line in err)
    assert err[-1] == "2 error(s)"


def test_check_exits_3_on_a_tampered_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    main(["solve", str(INSTANCES / "tiny.json"), "-o", str(plan), "--workers", "1", "-q"])
    data = json.loads(plan.read_text())
    data["costs"]["transport"] += 1
    plan.write_text(json.dumps(data))
    assert main(["check", str(INSTANCES / "tiny.json"), str(plan)]) == EXIT_CHECK_FAILED
    assert "COST_MISMATCH" in capsys.readouterr().err


def test_generate_is_reproducible_and_valid(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        argv = ["generate", "--orders", "30", "--factories", "8", "--periods", "10"]
        assert main([*argv, "--seed", "5", "-o", str(path)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert main(["validate", str(a)]) == EXIT_OK


def test_schema_prints_the_instance_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == EXIT_OK
    schema = json.loads(capsys.readouterr().out)
    assert {"horizon", "factories", "orders", "suppliers", "fleet"} <= set(schema["properties"])
