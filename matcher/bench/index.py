"""A benchmark index (``../shared/benchmarks/<family>/index.json``): reading it and
choosing entries by name and set."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BenchIndexError(ValueError):
    """The index cannot be read, or a filter names entries it does not have."""


@dataclass(frozen=True)
class Index:
    path: Path
    records: list[dict[str, Any]]

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def load_index(path: str | Path) -> Index:
    """The records of an index file (a JSON list of objects); ``BenchIndexError`` if not."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchIndexError(f"{path}: file not found") from None
    except OSError as exc:
        raise BenchIndexError(f"{path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchIndexError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BenchIndexError(f"{path}: expected a JSON list of entry objects")
    if not data:
        raise BenchIndexError(f"{path}: the index has no entries")
    return Index(path, data)


def record_name(record: Mapping[str, Any], position: int) -> str:
    name = record.get("name")
    return name if isinstance(name, str) and name else f"#{position}"


def select(
    records: Sequence[dict[str, Any]],
    names: Iterable[str] = (),
    sets: Iterable[str] = (),
) -> list[tuple[int, dict[str, Any]]]:
    """The records (with their position) having one of ``names`` and in one of ``sets``.

    An empty filter keeps every record. Raises ``BenchIndexError`` listing names or
    sets that no record has, or when the two filters together keep nothing.
    """
    names, sets = list(dict.fromkeys(names)), list(dict.fromkeys(sets))
    known_names = {record_name(r, i) for i, r in enumerate(records)}
    known_sets = {r["set"] for r in records if isinstance(r.get("set"), str)}
    unknown = [n for n in names if n not in known_names]
    if unknown:
        raise BenchIndexError(f"unknown name(s) in the index: {', '.join(unknown)}")
    unknown = [s for s in sets if s not in known_sets]
    if unknown:
        raise BenchIndexError(
            f"unknown set(s) in the index: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known_sets)) or 'none'})"
        )
    chosen = [
        (i, r)
        for i, r in enumerate(records)
        if (not names or record_name(r, i) in names) and (not sets or r.get("set") in sets)
    ]
    if not chosen:
        raise BenchIndexError("no entry has one of those names and is in one of those sets")
    return chosen
