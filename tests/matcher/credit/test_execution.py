"""An executed plan's deliveries become records, promised by their part's period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from matcher.app.pipeline import plan as solve
from matcher.credit import (
    RecordsError,
    execution_records,
    parse_execution,
    read_records,
    write_records,
)
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan


@pytest.fixture(scope="module")
def tiny_plan(tiny: Instance) -> Plan:
    # Greedy on tiny: O1 at F1 in periods 0-2 (due 1), O2 at F1 in 0 (due 0), O3 at F1
    # in 2 (due 2); O4 unassigned.
    return solve(tiny, SolveParams(assignment_solver="greedy", workers=1))


def test_deliveries_become_records_promised_by_the_later_of_due_and_planned(
    tiny: Instance, tiny_plan: Plan, tmp_path: Path
) -> None:
    execution = parse_execution(
        {
            "instance": "tiny",
            "deliveries": [
                {"order": "O1", "factory": "F1", "delivered_date": "2026-01-07",
                 "quantity": 60, "defective_quantity": 1, "rating": 5},
                {"order": "O2", "factory": "F1", "delivered_date": "2026-01-06",
                 "quantity": 25, "defective_quantity": 0},
                {"order": "O2", "factory": "F1", "delivered_date": "2026-01-05",
                 "quantity": 15, "defective_quantity": 2},
            ],
        }
    )  # fmt: skip
    records = execution_records(tiny, tiny_plan, execution)
    # O1 is due in period 1 but planned until period 2: held to period 2 (2026-01-07).
    assert [(r.order, r.promised_date) for r in records] == [
        ("O1", dt.date(2026, 1, 7)),
        ("O2", dt.date(2026, 1, 5)),
        ("O2", dt.date(2026, 1, 5)),
    ]
    assert [r.delivered_date <= r.promised for r in records] == [True, False, True]
    path = tmp_path / "records.jsonl"
    write_records(path, records)
    assert read_records(path) == records


def test_deliveries_the_plan_does_not_have_are_refused_with_their_paths(
    tiny: Instance, tiny_plan: Plan
) -> None:
    execution = parse_execution(
        {
            "deliveries": [
                {"order": "O1", "factory": "F2", "delivered_date": "2026-01-07",
                 "quantity": 60, "defective_quantity": 0},
                {"order": "O4", "factory": "F1", "delivered_date": "2026-01-07",
                 "quantity": 1, "defective_quantity": 0},
                {"order": "O3", "factory": "F1", "delivered_date": "2026-01-07",
                 "quantity": 31, "defective_quantity": 0},
            ],
        }
    )  # fmt: skip
    with pytest.raises(RecordsError) as exc:
        execution_records(tiny, tiny_plan, execution)
    paths = [i.path for i in exc.value.issues]
    assert paths == ["deliveries[0]", "deliveries[1]", "deliveries[2].quantity"]


def test_a_malformed_execution_names_every_field() -> None:
    with pytest.raises(RecordsError) as exc:
        parse_execution({"deliveries": [{"order": "O1", "quantity": 0}]})
    paths = {i.path for i in exc.value.issues}
    assert {"deliveries[0].factory", "deliveries[0].quantity"} <= paths
