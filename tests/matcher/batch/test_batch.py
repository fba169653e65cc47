"""A batch on the local executor: one checked plan per instance and a summary; a failing
instance (bad JSON, invalid, missing, a killed worker) is a row with its reason and the
others finish; a re-run keeps the plans the checker still accepts."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.app.executor import LocalExecutor
from matcher.batch.batch import CHECK_FAILED, CSV_COLUMNS, FAILED, SKIPPED, SOLVED, run_batch
from tests.matcher.batch import probes
from tests.matcher.batch.conftest import FAST, tiny_copies


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    with LocalExecutor(jobs=2) as executor:
        yield executor


def test_a_batch_writes_a_checked_plan_per_instance_and_the_summary(
    local: LocalExecutor, tmp_path: Path
) -> None:
    paths = tiny_copies(tmp_path, "alpha", "beta")
    out = tmp_path / "out"
    summary = run_batch(paths, out, FAST, local)
    assert [(r.instance, r.outcome) for r in summary.rows] == [("alpha", SOLVED), ("beta", SOLVED)]
    row = summary.rows[0]
    assert row.figures is not None and row.figures.check_ok and row.figures.violations == 0
    assert row.figures.status == "OPTIMAL" and row.figures.costs["objective"] == 31560
    assert row.figures.fill_rate == 0.75 and row.figures.gap == 0.0
    assert json.loads((out / "alpha.plan.json").read_text())["instance"] == "alpha"
    with (out / "summary.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(CSV_COLUMNS)
    assert [(r["instance"], r["check_ok"], r["cost_total"]) for r in table] == [
        ("alpha", "True", "31560"),
        ("beta", "True", "31560"),
    ]
    saved = json.loads((out / "summary.json").read_text())
    assert saved["counts"] == {SOLVED: 2} and saved["executor"] == "local"


def test_failing_instances_are_rows_with_their_reasons_and_the_others_finish(
    local: LocalExecutor, tmp_path: Path
) -> None:
    (good,) = tiny_copies(tmp_path, "good")
    broken = tmp_path / "broken.json"
    broken.write_text('{"horizon": ')
    invalid = tmp_path / "invalid.json"
    data = json.loads(good.read_text())
    data["orders"][1]["due_period"] = -1
    invalid.write_text(json.dumps(data))
    summary = run_batch(
        [broken, good, invalid, tmp_path / "missing.json"], tmp_path / "out", FAST, local
    )
    rows = {r.instance: r for r in summary.rows}
    assert rows["good"].outcome == SOLVED
    assert rows["broken"].outcome == FAILED and rows["broken"].error is not None
    assert rows["broken"].error.startswith("invalid JSON at line 1 column 13")
    assert rows["invalid"].error is not None
    assert "orders[1].due_period: Input should be greater than or equal to 0" in (
        rows["invalid"].error
    )
    assert rows["missing"].error is not None and "file not found" in rows["missing"].error
    assert not summary.ok and summary.counts == {SOLVED: 1, FAILED: 3}
    assert sorted(p.name for p in (tmp_path / "out").glob("*.plan.json")) == ["good.plan.json"]


def test_a_killed_worker_fails_its_instance_and_the_batch_goes_on(
    local: LocalExecutor, tmp_path: Path
) -> None:
    paths = tiny_copies(tmp_path, "before", probes.DOOMED, "after")
    summary = run_batch(paths, tmp_path / "out", FAST, local, task=probes.solve_unless_doomed)
    rows = {r.instance: r for r in summary.rows}
    assert rows[probes.DOOMED].outcome == FAILED
    assert rows[probes.DOOMED].error == (
        "the worker process was killed by SIGKILL while running the task"
    )
    assert rows["before"].outcome == rows["after"].outcome == SOLVED


def test_a_rerun_keeps_valid_plans_and_solves_the_rest_again(
    local: LocalExecutor, tmp_path: Path
) -> None:
    paths = tiny_copies(tmp_path, "kept", "tampered", "renamed")
    out = tmp_path / "out"
    run_batch(paths, out, FAST, local)
    plan = json.loads((out / "tampered.plan.json").read_text())
    plan["costs"]["production"] += 1  # the checker recomputes it
    (out / "tampered.plan.json").write_text(json.dumps(plan))
    data = json.loads(paths[2].read_text())
    paths[2].write_text(json.dumps({**data, "name": "another"}))
    summary = run_batch(paths, out, FAST, local)
    rows = {r.instance: r for r in summary.rows}
    assert rows["kept"].outcome == SKIPPED == "skipped (valid plan exists)"
    assert rows["kept"].figures is not None and rows["kept"].figures.check_ok
    assert rows["tampered"].outcome == SOLVED
    assert rows["tampered"].note == "the plan there has 1 violation(s): solved again"
    assert rows["renamed"].outcome == SOLVED
    assert rows["renamed"].note == "the plan there is of instance 'renamed': solved again"
    assert summary.ok and CHECK_FAILED not in summary.counts


def test_two_instances_with_the_same_file_name_are_refused(
    local: LocalExecutor, tmp_path: Path
) -> None:
    (a,) = tiny_copies(tmp_path, "same")
    (tmp_path / "sub").mkdir()
    (b,) = tiny_copies(tmp_path / "sub", "same")
    with pytest.raises(ValueError, match="same file name would write the same plan: same"):
        run_batch([a, b], tmp_path / "out", FAST, local)
