"""Instance validation that reports every violation with its path.

Pydantic checks each field; :func:`~matcher.domain.consistency.consistency_issues`
checks what crosses entities (unknown references, duplicate ids, calendar lengths,
...). :func:`parse_instance`
runs both and, when some entities are malformed, still cross-checks the ones that
parsed, so a user sees every problem in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.domain.consistency import (
    ConsistencyError,
    Issue,
    ParsedEntities,
    consistency_issues,
    duplicate_ids,
    order_entity_issues,
)
from matcher.domain.entities import Factory, Fleet, Horizon, Material, Order, Process, Supplier
from matcher.domain.instance import Instance


class InvalidInstanceError(Exception):
    """An instance that cannot be used; ``issues`` lists every violation."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = sorted(set(issues), key=_issue_sort_key)
        super().__init__(f"{len(self.issues)} validation error(s)")


def format_loc(loc: Iterable[int | str]) -> str:
    """``('orders', 3, 'due_period')`` -> ``orders[3].due_period``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _issue_sort_key(issue: Issue) -> tuple[Any, ...]:
    # Natural order: orders[2] before orders[10].
    keys: list[Any] = []
    for token in issue.path.replace("]", "").replace("[", ".").split("."):
        keys.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return (keys, issue.message)


def order_issues(path: str, order: Order, instance: Instance) -> list[Issue]:
    """Cross-reference violations of one order against ``instance`` (processes,
    materials, periods), with paths under ``path``: an order that arrives on its own
    (a re-plan's added order, a recommendation)."""
    return order_entity_issues(
        path,
        order,
        {p.id for p in instance.processes},
        {m.id for m in instance.materials},
        instance.horizon.periods,
    )


def pydantic_issues(err: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[Issue]:
    """One :class:`Issue` per pydantic error, paths under ``prefix``, CLI wording."""
    issues: list[Issue] = []
    for e in err.errors(include_url=False):
        ctx_error = (e.get("ctx") or {}).get("error")
        if isinstance(ctx_error, ConsistencyError):
            issues.extend(ctx_error.issues)
            continue
        loc = prefix + tuple(e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] not in ("missing", "extra_forbidden") and _short(e.get("input")):
            msg += f" (got {json.dumps(e['input'], default=str)})"
        issues.append(Issue(format_loc(loc), msg))
    return issues


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= 40


_SECTIONS: dict[str, type[BaseModel]] = {
    "processes": Process,
    "materials": Material,
    "factories": Factory,
    "orders": Order,
    "suppliers": Supplier,
}


def _lenient_parts(data: dict[str, Any]) -> ParsedEntities:
    """Parse section by section, keeping whatever is valid, for cross-checking."""
    parts = ParsedEntities()
    try:
        parts.horizon = Horizon.model_validate(data.get("horizon"))
    except ValidationError:
        parts.horizon = None
    for section, model in _SECTIONS.items():
        raw = data.get(section)
        if not isinstance(raw, list):
            continue
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        parsed: list[tuple[int, Any]] = []
        for i, item in enumerate(raw):
            try:
                parsed.append((i, adapter.validate_python(item)))
            except ValidationError:
                continue
        setattr(parts, section, parsed)
    try:
        parts.fleet = Fleet.model_validate(data.get("fleet", {}))
    except ValidationError:
        parts.fleet = None
    return parts


def _rawduplicate_ids(data: dict[str, Any]) -> list[Issue]:
    """Duplicate ids among all entities, including those that failed to parse."""
    issues: list[Issue] = []
    for section in _SECTIONS:
        raw = data.get(section)
        if isinstance(raw, list):
            ids = [(i, x["id"]) for i, x in enumerate(raw) if isinstance(x, dict) and "id" in x]
            issues += duplicate_ids(section, ((i, str(ident)) for i, ident in ids))
    return issues


def parse_instance(data: Any) -> Instance:
    """Validate raw JSON data into an :class:`Instance`.

    Raises
    ------
    InvalidInstanceError
        With every violation found, each with its path.
    """
    try:
        return Instance.model_validate(data)
    except ValidationError as err:
        issues = pydantic_issues(err)
    if isinstance(data, dict):
        cross = consistency_issues(_lenient_parts(data)) + _rawduplicate_ids(data)
        # Unknown-reference issues are trustworthy only if the referenced section
        # parsed completely; otherwise drop them to avoid false alarms.
        broken = {i.path.split("[")[0].split(".")[0] for i in issues}
        referenced = {"process": "processes", "material": "materials", "depot": "fleet"}
        for issue in cross:
            if "unknown" in issue.message:
                kind = issue.message.split()[1]
                if referenced.get(kind) in broken:
                    continue
            issues.append(issue)
    raise InvalidInstanceError(issues)


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance JSON file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInstanceError([Issue("", f"file not found: {p}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInstanceError([Issue("", f"cannot read {p}: {exc}")]) from None
    except json.JSONDecodeError as exc:
        raise InvalidInstanceError(
            [Issue("", f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None
    return parse_instance(data)


def by_operation_issues(instance: Instance, prefix: str = "orders") -> list[Issue]:
    """Re-plans and recommendations do not handle orders split by operation yet: one
    issue per such order (docs/model.md)."""
    return [
        Issue(
            f"{prefix}[{i}].split.by_operation",
            f"order {o.id} is split by operation; re-plans and recommendations do not "
            "handle such orders yet",
        )
        for i, o in enumerate(instance.orders)
        if o.split.by_operation and len(o.operations) > 1
    ]
