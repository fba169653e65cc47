"""``matcher credit`` as a user calls it: scores, the instance written with the credit
applied, ``--explain``, ``--from-execution`` and exit code 2 on bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, EXIT_OK, credit, main
from matcher.domain.validation import load_instance
from tests.conftest import INSTANCES


def run(argv: list[str]) -> int:
    """The command through its own parser (``program.py`` registers it the same way)."""
    parser = argparse.ArgumentParser(prog="matcher")
    credit.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ValueError as exc:  # as main() does for bad parameter combinations
        print(f"error: {exc}")
        return EXIT_INVALID
    return code


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("gen")
    argv = ["generate", "--orders", "40", "--factories", "12", "--periods", "10", "--seed", "7"]
    assert main([*argv, "-o", str(d / "i.json"), "--records", str(d / "r.csv")]) == EXIT_OK
    return d / "i.json", d / "r.csv"


def test_the_instance_is_written_valid_with_the_computed_credit(
    generated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance, records = generated
    out = tmp_path / "credited.json"
    assert run(["credit", str(records), "--instance", str(instance), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    before, after = load_instance(instance), load_instance(out)
    scored = {c["factory"]: c for c in report["factories"]}
    for old, new in zip(before.factories, after.factories, strict=True):
        assert old.model_copy(update={"credit": new.credit}) == new  # nothing else changed
        if old.id in scored:
            assert new.credit.score == scored[old.id]["score"]
        else:  # no records: its declared credit stays
            assert new.credit == old.credit
    assert before.orders == after.orders


def test_factories_without_records_can_take_the_prior(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(
        '{"order":"X","factory":"F1","promised_period":0,"delivered_date":"2026-01-05",'
        '"quantity":10,"defective_quantity":0}\n'
    )
    out = tmp_path / "i.json"
    argv = ["credit", str(records), "--instance", str(INSTANCES / "tiny.json"), "-o", str(out)]
    assert run([*argv, "--prior-for-unrecorded"]) == EXIT_OK
    f1, f2 = load_instance(out).factories
    assert f2.credit.score == 83 and f2.credit.on_time_rate == 0.85  # the prior's 100 * 0.91^2
    assert f1.credit.score > f2.credit.score


def test_explain_lists_the_records_and_the_formula(
    generated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, records = generated
    assert run(["credit", str(records), "--explain", "F002"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "factory F002: score" in text and "posterior Beta(" in text
    assert "score = round(100 * " in text
    assert run(["credit", str(records), "--explain", "F002", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["credit"]["factory"] == "F002"


def test_bad_records_exit_2_with_the_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "order,factory,promised_date,delivered_date,quantity,defective_quantity\n"
        "O1,F1,2026-01-10,yesterday,10,0\n"
    )
    assert run(["credit", str(bad)]) == EXIT_INVALID
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and "bad.csv line 2, delivered_date:" in err[0]
    assert run(["credit", str(bad), "-o", "x.json"]) == EXIT_INVALID  # -o needs --instance


def test_an_execution_becomes_records_that_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    tiny = str(INSTANCES / "tiny.json")
    argv = ["solve", tiny, "-o", str(plan), "--solver", "greedy", "--workers", "1", "-q"]
    assert main(argv) == EXIT_OK
    allocations = json.loads(plan.read_text())["allocations"]
    deliveries = [
        {"order": a["order"], "factory": a["factory"], "delivered_date": "2026-01-06",
         "quantity": a["quantity"], "defective_quantity": 1}
        for a in allocations
    ]  # fmt: skip
    execution = tmp_path / "execution.json"
    execution.write_text(json.dumps({"deliveries": deliveries}))
    records = tmp_path / "records.jsonl"
    argv = ["credit", "--from-execution", tiny, str(plan), str(execution), "-o", str(records)]
    assert run(argv) == EXIT_OK
    assert run([*argv, "--append"]) == EXIT_OK
    assert len(records.read_text().splitlines()) == 2 * len(deliveries)
    capsys.readouterr()
    assert run(["credit", str(records), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["records"] == 2 * len(deliveries)
    execution.write_text(json.dumps({"deliveries": [{**deliveries[0], "factory": "F9"}]}))
    assert run(argv) == EXIT_INVALID
    assert "execution.json deliveries[0]: the plan has no part" in capsys.readouterr().err
