"""The records format: CSV and JSON lines read alike, bad lines named, periods dated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from matcher.credit import RecordsError, TradeRecord, period_end_date, read_records, write_records
from matcher.domain.entities import Horizon

RECORDS = [
    TradeRecord(
        order="O1",
        factory="F1",
        promised_date=dt.date(2026, 1, 10),
        delivered_date=dt.date(2026, 1, 9),
        quantity=120,
        defective_quantity=3,
        rating=4,
    ),
    TradeRecord(
        order="O2",
        factory="F2",
        promised_date=dt.date(2026, 1, 10),
        delivered_date=dt.date(2026, 1, 12),
        quantity=5,
        defective_quantity=0,
        rating=3.5,
    ),
    TradeRecord(
        order="O3",
        factory="F1",
        promised_date=dt.date(2026, 2, 1),
        delivered_date=dt.date(2026, 2, 1),
        quantity=1,
        defective_quantity=1,
    ),
]


def test_csv_and_json_lines_read_to_the_same_records(tmp_path: Path) -> None:
    for name in ("r.csv", "r.jsonl"):
        write_records(tmp_path / name, RECORDS)
    assert read_records(tmp_path / "r.csv") == read_records(tmp_path / "r.jsonl") == RECORDS


def test_appending_to_a_csv_file_writes_its_header_once(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_records(path, RECORDS[:1], append=True)
    write_records(path, RECORDS[1:], append=True)
    assert path.read_text().count("order,factory") == 1
    assert read_records(path) == RECORDS


def test_a_hand_written_csv_with_its_own_column_order_and_blank_cells(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "factory,order,quantity,defective_quantity,delivered_date,promised_date,rating\n"
        "F1,O1,120,3,2026-01-09,2026-01-10,4\n"
        "\n"
        "F2,O2,5,0,2026-01-12,2026-01-10,3.5\n"
        "F1,O3,1,1,2026-02-01,2026-02-01,\n"
    )
    assert read_records(path) == RECORDS


def test_every_bad_line_is_reported_with_its_number_and_field(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "order,factory,promised_date,delivered_date,quantity,defective_quantity\n"
        "O1,F1,2026-01-10,2026-01-09,10,0\n"
        "O2,F1,2026-01-10,2026-13-09,10,0\n"
        "O3,F1,2026-01-10,2026-01-09,10,11\n"
        "O4,F1,,2026-01-09,10,0\n"
        "O5,F1,2026-01-10,2026-01-09,ten,0\n"
    )
    with pytest.raises(RecordsError) as exc:
        read_records(path)
    lines = [str(i) for i in exc.value.issues]
    assert lines[0].startswith("line 3, delivered_date: Input should be a valid date")
    assert lines[1] == "line 4: defective_quantity 11 exceeds quantity 10"
    assert lines[2] == "line 5: give exactly one of promised_date and promised_period"
    assert lines[3].startswith("line 6, quantity:")
    assert lines[-1] == "4 bad line(s)"


def test_bad_json_lines_and_a_bad_csv_header_are_reported(tmp_path: Path) -> None:
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"order": "O1"}\n[1]\n{oops\n')
    with pytest.raises(RecordsError) as exc:
        read_records(jsonl)
    text = [str(i) for i in exc.value.issues]
    assert "line 1, factory: Field required" in text
    assert "line 2: a record must be a JSON object" in text
    assert any(t.startswith("line 3: invalid JSON") for t in text)
    csv = tmp_path / "r.csv"
    csv.write_text("order,factory,when\n")
    with pytest.raises(RecordsError) as exc:
        read_records(csv)
    assert "line 1: missing column 'delivered_date'" in [str(i) for i in exc.value.issues]
    assert any("unknown column 'when'" in str(i) for i in exc.value.issues)


def test_a_missing_file_is_an_issue_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="1 records error"):
        read_records(tmp_path / "nothing.jsonl")


def test_a_promised_period_is_the_date_its_period_ends(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"order":"O1","factory":"F1","promised_period":2,"delivered_date":"2026-01-07",'
        '"quantity":1,"defective_quantity":0}\n'
    )
    with pytest.raises(RecordsError) as exc:
        read_records(path)
    assert "needs an instance" in str(exc.value.issues[0])
    days = Horizon(start_date=dt.date(2026, 1, 5), periods=10)
    assert read_records(path, days)[0].promised_date == dt.date(2026, 1, 7)
    shifts = Horizon(start_date=dt.date(2026, 1, 5), periods=10, period_minutes=480)
    assert period_end_date(shifts, 2) == dt.date(2026, 1, 5)  # the third 8-hour shift
    assert period_end_date(shifts, 3) == dt.date(2026, 1, 6)
