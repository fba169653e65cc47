"""``matcher explain``, ``matcher constraints`` and ``matcher solve --explain``, called
in-process as a user would call them, on the hand-checked instance of tests/explain_data.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, main
from tests.explain_data import explain_data


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("explain")
    instance, plan = folder / "instance.json", folder / "plan.json"
    instance.write_text(json.dumps(explain_data()))
    argv = ["solve", str(instance), "-o", str(plan), "--workers", "1", "--time-limit", "5"]
    assert main([*argv, "-q", "--no-sharing", "--explain"]) == EXIT_OK
    return instance, plan


def test_solve_explain_writes_the_unassigned_orders_explanations(
    files: tuple[Path, Path],
) -> None:
    data = json.loads(files[1].read_text())
    assert [e["order"] for e in data["explanations"]] == ["X"]
    assert [o["order"] for o in data["constraints"]["orders"]] == ["X"]
    assert main(["check", str(files[0]), str(files[1])]) == EXIT_OK


def test_explain_prints_every_factory_with_its_verdict(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["explain", str(files[0]), str(files[1]), "X", "--time-limit", "1"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("X: unassigned", "FA", "capacity g", "held by Y", "+460.00", "CREDIT_BELOW_MIN"):
        assert text in out


def test_explain_json_is_the_explanation(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["explain", str(files[0]), str(files[1]), "X", "--json", "--time-limit", "1"]
    assert main(argv) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    fa = data["factories"][0]
    assert fa["factory"] == "FA" and fa["move"]["objective_delta"] == 46_000


def test_explaining_an_unknown_order_is_invalid_input(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(files[0]), str(files[1]), "nope"]) == EXIT_INVALID
    assert "unknown order 'nope'" in capsys.readouterr().err


def test_constraints_prints_the_binding_row_and_what_holds_the_unserved_order(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["constraints", str(files[0]), str(files[1])]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("Binding capacity", "FA", "capacity FA g p0, held by Y", "CREDIT_BELOW_MIN: FC"):
        assert text in out
    assert main(["constraints", str(files[0]), str(files[1]), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert [(r["factory"], r["pushes_out"]) for r in data["binding"]] == [("FA", ["X"])]
    assert data["binding"][0]["marginal_cents_per_hour"] is None  # solved with --no-sharing
