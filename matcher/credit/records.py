"""Trade records: the published format of completed work that credit is computed from.

One record is one delivery of (part of) an order by a factory: when it was promised,
when it was delivered, how many units and how many of them defective, and the
buyer's rating when there is one. Files are JSON lines (one object per line) or CSV
(a header row with the field names); both read to the same records, and every bad
line is reported with its line number and field (docs/credit.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from matcher.domain.consistency import Issue
from matcher.domain.entities import MAX_PERIOD, Frozen, Horizon, Id, Units
from matcher.domain.validation import pydantic_issues

FIELDS = (
    "order",
    "factory",
    "promised_date",
    "promised_period",
    "delivered_date",
    "quantity",
    "defective_quantity",
    "rating",
)
"""Every field of a record, in the order CSV files are written."""
REQUIRED = ("order", "factory", "delivered_date", "quantity", "defective_quantity")
MAX_ISSUES = 100
"""Issues reported per file: a file that is wrong on every line says so in 100 lines."""


class TradeRecord(Frozen):
    """One delivery: promised by a date (or a period of the instance's horizon)."""

    order: Id
    factory: Id
    promised_date: dt.date | None = Field(
        default=None, description="Delivery due on or before this date."
    )
    promised_period: int | None = Field(
        default=None,
        ge=0,
        le=MAX_PERIOD,
        description="Or: due by the end of this period of the instance's horizon.",
    )
    delivered_date: dt.date
    quantity: Units = Field(description="Units delivered.")
    defective_quantity: int = Field(ge=0, description="Of those, units found defective.")
    rating: float | None = Field(default=None, ge=1.0, le=5.0, description="Buyer's 1-5 rating.")

    @model_validator(mode="after")
    def _consistent(self) -> TradeRecord:
        if (self.promised_date is None) == (self.promised_period is None):
            raise ValueError("give exactly one of promised_date and promised_period")
        if self.defective_quantity > self.quantity:
            raise ValueError(
                f"defective_quantity {self.defective_quantity} exceeds quantity {self.quantity}"
            )
        return self

    @property
    def promised(self) -> dt.date:
        """The promised date (records with a period have it resolved on reading)."""
        if self.promised_date is None:
            raise ValueError(f"record of order {self.order}: its period has no date")
        return self.promised_date


class RecordsError(Exception):
    """A records or execution file that cannot be used; ``issues`` has every problem."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(f"{len(self.issues)} records error(s)")


def period_end_date(horizon: Horizon, period: int) -> dt.date:
    """The date of the last minute of ``period``: what "due by the end of it" means."""
    last_minute = (period + 1) * horizon.period_minutes - 1
    return horizon.start_date + dt.timedelta(days=last_minute // 1440)


def _is_csv(path: Path, first_char: str) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return True
    if suffix in (".jsonl", ".ndjson", ".json"):
        return False
    return first_char != "{"


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    missing = [f for f in REQUIRED if f not in header]
    unknown = [h for h in header if h not in FIELDS]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or dupes:
        problems = [f"missing column {f!r}" for f in missing]
        problems += [f"unknown column {h!r} (fields: {', '.join(FIELDS)})" for h in unknown]
        problems += [f"column {h!r} appears twice" for h in dupes]
        for p in problems:
            yield 1, Issue("line 1", p)
        return
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield line, Issue(f"line {line}", f"{len(cells)} cells, the header has {len(header)}")
            continue
        # An empty cell is an absent field (no rating, a period rather than a date).
        yield line, {h: c.strip() for h, c in zip(header, cells, strict=True) if c.strip()}


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, Issue(f"line {line}", f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            yield line, Issue(f"line {line}", "a record must be a JSON object")
            continue
        yield line, obj


def parse_records(
    rows: Iterable[tuple[int, dict[str, Any] | Issue]], horizon: Horizon | None = None
) -> list[TradeRecord]:
    """Validate raw rows (line number, fields) into records, periods resolved to dates.

    Raises
    ------
    RecordsError
        With every bad line's issues (at most :data:`MAX_ISSUES`), each naming the
        line and the field.
    """
    records: list[TradeRecord] = []
    issues: list[Issue] = []
    bad_lines: set[int] = set()
    for line, row in rows:
        if isinstance(row, Issue):
            bad_lines.add(line)
            issues.append(row)
            continue
        try:
            record = TradeRecord.model_validate(row)
        except ValidationError as err:
            bad_lines.add(line)
            issues += [
                Issue(f"line {line}" + (f", {i.path}" if i.path else ""), i.message)
                for i in pydantic_issues(err)
            ]
            continue
        if record.promised_period is not None:
            if horizon is None:
                bad_lines.add(line)
                issues.append(
                    Issue(
                        f"line {line}, promised_period",
                        "a period needs an instance (--instance): its horizon maps periods "
                        "to dates",
                    )
                )
                continue
            record = record.model_copy(
                update={
                    "promised_date": period_end_date(horizon, record.promised_period),
                    "promised_period": None,
                }
            )
        records.append(record)
    if issues:
        shown = issues[:MAX_ISSUES]
        if len(issues) > MAX_ISSUES:
            shown.append(Issue("", f"... {len(issues) - MAX_ISSUES} more issue(s) not shown"))
        shown.append(Issue("", f"{len(bad_lines)} bad line(s)"))
        raise RecordsError(shown)
    return records


def read_records(path: str | Path, horizon: Horizon | None = None) -> list[TradeRecord]:
    """Read a records file: CSV if it ends in ``.csv`` (or does not start with ``{``),
    JSON lines otherwise.

    Parameters
    ----------
    path
        The file.
    horizon
        The instance's horizon, needed only by records promised by period.

    Raises
    ------
    RecordsError
        If the file is missing or unreadable, or any line is bad.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecordsError([Issue("", f"file not found: {p}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordsError([Issue("", f"cannot read {p}: {exc}")]) from None
    first = text.lstrip()[:1]
    rows = _csv_rows(text) if _is_csv(p, first) else _jsonl_rows(text)
    return parse_records(rows, horizon)


def record_dict(record: TradeRecord) -> dict[str, Any]:
    """A record as its JSON line's object: absent fields left out, a whole rating an int."""
    d = record.model_dump(mode="json", exclude_none=True)
    if record.rating is not None and record.rating.is_integer():
        d["rating"] = int(record.rating)
    return d


def write_records(path: str | Path, records: Iterable[TradeRecord], *, append: bool = False) -> int:
    """Write records as CSV (``.csv``) or JSON lines (anything else); how many.

    ``append`` adds to an existing file (a CSV file gets its header only when new).
    """
    p = Path(path)
    is_csv = p.suffix.lower() == ".csv"
    new = not (append and p.exists() and p.stat().st_size > 0)
    n = 0
    with p.open("a" if append else "w", encoding="utf-8", newline="") as fh:
        if is_csv:
            writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="raise")
            if new:
                writer.writeheader()
            for record in records:
                writer.writerow(record_dict(record))
                n += 1
        else:
            for record in records:
                fh.write(json.dumps(record_dict(record), separators=(",", ":")) + "\n")
                n += 1
    return n
