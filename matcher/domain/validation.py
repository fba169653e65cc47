"""Instance validation that reports every violation with its path.

Pydantic checks each field (bounded and finite: the numeric limits of
:mod:`matcher.domain.entities`); :func:`~matcher.domain.consistency.consistency_issues`
checks what crosses entities (unknown references, duplicate ids, calendar lengths,
...). :func:`parse_instance` runs both, then the limits on what grows with the whole
instance (:func:`stake_issues`), and, when some entities are malformed, still
cross-checks the ones that parsed, so a user sees every problem in one pass.

A plan a caller sends back (a re-plan's previous plan, a recommendation's plan) is
checked by :func:`plan_number_issues` (finite, within the limits) and
:func:`plan_instance_issues` (it names only what its instance holds).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.domain.consistency import (
    ConsistencyError,
    Issue,
    ParsedEntities,
    Stake,
    consistency_issues,
    duplicate_ids,
    material_need_issues,
    money_at_stake,
    order_entity_issues,
)
from matcher.domain.entities import (
    MAX_LIST,
    MAX_PERIOD,
    MAX_PLAN_CENTS,
    MAX_UNITS,
    MAX_WEIGHT,
    Factory,
    FairnessOptions,
    Fleet,
    Horizon,
    Material,
    Order,
    Process,
    Supplier,
    Transport,
)
from matcher.domain.instance import Instance
from matcher.domain.plan import Allocation, Plan

MAX_PLAN_FIGURE = MAX_PLAN_CENTS * MAX_WEIGHT
"""Largest cost figure a plan can state (its weighted objective): 10^18."""


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
    raw_fairness = data.get("fairness")
    if raw_fairness is not None:
        try:
            parts.fairness = FairnessOptions.model_validate(raw_fairness)
        except ValidationError:
            parts.fairness = None
    return parts


def stake_of(instance: Instance) -> Stake:
    """What the plans of ``instance`` can cost at most (see
    :func:`~matcher.domain.consistency.money_at_stake`)."""
    return money_at_stake(
        instance.horizon.periods,
        enumerate(instance.materials),
        instance.factories,
        enumerate(instance.orders),
        instance.suppliers,
        instance.fleet,
        instance.transport,
    )


def stake_issues(instance: Instance, path: str | None = None) -> list[Issue]:
    """The instance's plans could cost more than ``MAX_PLAN_CENTS``: one issue, at the
    largest share or at ``path``."""
    stake = stake_of(instance)
    issues = [] if stake.within_limit else [stake.issue(path)]
    heavy = material_need_issues(
        instance.horizon.periods, enumerate(instance.materials), enumerate(instance.orders)
    )
    return issues + [i if path is None else Issue(path, i.message) for i in heavy]


def _lenient_stake(data: dict[str, Any], parts: ParsedEntities) -> list[Issue]:
    """:func:`stake_issues` of the entities that parsed: lower bounds, so an excess is
    certain."""
    if parts.horizon is None:
        return []
    periods = parts.horizon.periods
    issues = material_need_issues(periods, parts.materials, parts.orders)
    try:
        transport = Transport.model_validate(data.get("transport", {}))
    except ValidationError:
        return issues
    stake = money_at_stake(
        periods,
        parts.materials,
        (f for _, f in parts.factories),
        parts.orders,
        (s for _, s in parts.suppliers),
        parts.fleet or Fleet(),
        transport,
    )
    return issues if stake.within_limit else [stake.issue(), *issues]


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
        instance = Instance.model_validate(data)
    except ValidationError as err:
        issues = pydantic_issues(err)
    else:
        if stake := stake_issues(instance):
            raise InvalidInstanceError(stake)
        return instance
    if isinstance(data, dict):
        parts = _lenient_parts(data)
        cross = consistency_issues(parts) + _rawduplicate_ids(data) + _lenient_stake(data, parts)
        # Unknown-reference issues are trustworthy only if the referenced section
        # parsed completely; otherwise drop them to avoid false alarms.
        broken = {i.path.split("[")[0].split(".")[0] for i in issues}
        referenced = {
            "process": "processes",
            "material": "materials",
            "depot": "fleet",
            "factory": "factories",
        }
        for issue in cross:
            if "unknown" in issue.message:
                kind = issue.message.split()[1]
                if referenced.get(kind) in broken:
                    continue
            issues.append(issue)
    raise InvalidInstanceError(issues)


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance JSON file."""
    return parse_instance(read_json(path))


def read_json(path: str | Path) -> Any:
    """The JSON value in the file at ``path``; a missing, unreadable or malformed file
    is an :class:`InvalidInstanceError` saying which (and where, for bad JSON)."""
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
    return data


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


def plan_number_issues(plan: Plan, prefix: str = "plan") -> list[Issue]:
    """Numbers a plan sent by a caller may not hold, paths under ``prefix``: a float that
    is not finite, a period or quantity beyond the instance limits, a cost figure
    below 0 or above :data:`MAX_PLAN_FIGURE` (re-plans subtract it from the new one)."""
    issues: list[Issue] = []

    def walk(value: Any, loc: tuple[int | str, ...]) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            issues.append(Issue(format_loc(loc), f"must be a finite number (got {value})"))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, str(key)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*loc, i))

    def bounded(loc: tuple[int | str, ...], value: int, top: int) -> None:
        if not 0 <= value <= top:
            issues.append(Issue(format_loc(loc), f"must be between 0 and {top:.0e} (got {value})"))

    walk(plan.model_dump(), (prefix,))
    for name, value in plan.costs.model_dump().items():
        bounded((prefix, "costs", name), value, MAX_PLAN_FIGURE)
    for i, a in enumerate(plan.allocations):
        loc = (prefix, "allocations", i)
        bounded((*loc, "operation"), a.operation, MAX_LIST - 1)
        bounded((*loc, "quantity"), a.quantity, MAX_UNITS)
        for j, pq in enumerate(a.periods):
            bounded((*loc, "periods", j, "period"), pq.period, MAX_PERIOD - 1)
            bounded((*loc, "periods", j, "quantity"), pq.quantity, MAX_UNITS)
    return issues


def plan_instance_issues(plan: Plan, instance: Instance, prefix: str = "plan") -> list[Issue]:
    """References of ``plan`` that ``instance`` does not hold, paths under ``prefix``:
    an allocation's order, operation, process, factory or resource group (the group the
    factory runs that process on), a period outside the horizon, more units than the
    order has; an unassigned order that does not exist."""
    orders = {o.id: o for o in instance.orders}
    factories = {f.id: f for f in instance.factories}
    processes = {p.id for p in instance.processes}
    periods = instance.horizon.periods
    issues: list[Issue] = []
    for i, a in enumerate(plan.allocations):
        path = f"{prefix}.allocations[{i}]"
        order = orders.get(a.order)
        factory = factories.get(a.factory)
        process_ok = a.process in processes
        if order is None:
            issues.append(Issue(f"{path}.order", f"unknown order {a.order}"))
        elif not 0 <= a.operation < len(order.operations):
            issues.append(
                Issue(
                    f"{path}.operation",
                    f"order {a.order} has operations 0..{len(order.operations) - 1}",
                )
            )
        elif process_ok and order.operations[a.operation].process != a.process:
            process_ok = False
            issues.append(
                Issue(
                    f"{path}.process",
                    f"operation {a.operation} of order {a.order} is "
                    f"{order.operations[a.operation].process}, not {a.process}",
                )
            )
        if a.process not in processes:
            issues.append(Issue(f"{path}.process", f"unknown process {a.process}"))
        if factory is None:
            issues.append(Issue(f"{path}.factory", f"unknown factory {a.factory}"))
        else:
            issues += _group_issues(path, a.process if process_ok else None, a, factory)
        if order is not None and a.quantity > order.quantity:
            issues.append(
                Issue(
                    f"{path}.quantity",
                    f"{a.quantity} is more than the {order.quantity} units of order {a.order}",
                )
            )
        for j, pq in enumerate(a.periods):
            if not 0 <= pq.period < periods:
                issues.append(
                    Issue(
                        f"{path}.periods[{j}].period",
                        f"{pq.period} is outside the horizon 0..{periods - 1}",
                    )
                )
            if order is not None and pq.quantity > order.quantity:
                issues.append(
                    Issue(
                        f"{path}.periods[{j}].quantity",
                        f"{pq.quantity} is more than the {order.quantity} units of order {a.order}",
                    )
                )
    for i, u in enumerate(plan.unassigned):
        if u.order not in orders:
            issues.append(Issue(f"{prefix}.unassigned[{i}].order", f"unknown order {u.order}"))
    return issues


def _group_issues(path: str, process: str | None, a: Allocation, factory: Factory) -> list[Issue]:
    """The allocation's resource group at ``factory``: one the factory has, and the one
    it runs ``process`` on (when the process itself is right)."""
    group = a.resource_group
    if group not in {r.id for r in factory.resources}:
        return [
            Issue(f"{path}.resource_group", f"factory {factory.id} has no resource group {group}")
        ]
    if process is None:
        return []
    cap = next((c for c in factory.capabilities if c.process == process), None)
    if cap is None:
        return [Issue(f"{path}.factory", f"factory {factory.id} does not offer {process}")]
    if cap.resource_group != group:
        return [
            Issue(
                f"{path}.resource_group",
                f"factory {factory.id} runs {process} on {cap.resource_group}, not {group}",
            )
        ]
    return []
