"""Instance validation that reports every violation with its path.

Pydantic checks each field; :func:`consistency_issues` checks what crosses entities
(unknown references, duplicate ids, calendar lengths, ...). :func:`parse_instance`
runs both and, when some entities are malformed, still cross-checks the ones that
parsed, so a user sees every problem in one pass.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.models import (
    Factory,
    Fleet,
    Horizon,
    Instance,
    Material,
    Order,
    Process,
    Supplier,
)


@dataclass(frozen=True, order=True)
class Issue:
    """One violation: where (``orders[3].due_period``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConsistencyError(ValueError):
    """Raised inside model validation; carries every consistency issue."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues))


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


@dataclass
class Parts:
    """The entities that parsed, each with its index in the input."""

    horizon: Horizon | None = None
    processes: list[tuple[int, Process]] = field(default_factory=list)
    materials: list[tuple[int, Material]] = field(default_factory=list)
    factories: list[tuple[int, Factory]] = field(default_factory=list)
    orders: list[tuple[int, Order]] = field(default_factory=list)
    suppliers: list[tuple[int, Supplier]] = field(default_factory=list)
    fleet: Fleet | None = None

    @classmethod
    def of(cls, instance: Instance) -> Parts:
        return cls(
            horizon=instance.horizon,
            processes=list(enumerate(instance.processes)),
            materials=list(enumerate(instance.materials)),
            factories=list(enumerate(instance.factories)),
            orders=list(enumerate(instance.orders)),
            suppliers=list(enumerate(instance.suppliers)),
            fleet=instance.fleet,
        )


def _duplicates(section: str, items: Iterable[tuple[int, str]]) -> list[Issue]:
    items = list(items)
    counts = Counter(i for _, i in items)
    return [
        Issue(f"{section}[{idx}].id", f"duplicate id '{ident}'")
        for idx, ident in items
        if counts[ident] > 1
    ]


def consistency_issues(parts: Parts) -> list[Issue]:
    """Every cross-entity violation in ``parts``."""
    issues: list[Issue] = []
    issues += _duplicates("processes", ((i, p.id) for i, p in parts.processes))
    issues += _duplicates("materials", ((i, m.id) for i, m in parts.materials))
    issues += _duplicates("factories", ((i, f.id) for i, f in parts.factories))
    issues += _duplicates("orders", ((i, o.id) for i, o in parts.orders))
    issues += _duplicates("suppliers", ((i, s.id) for i, s in parts.suppliers))
    process_ids = {p.id for _, p in parts.processes}
    material_ids = {m.id for _, m in parts.materials}
    periods = parts.horizon.periods if parts.horizon else None
    for i, factory in parts.factories:
        issues += _factory_issues(f"factories[{i}]", factory, process_ids, material_ids, periods)
    for i, order in parts.orders:
        issues += _order_issues(f"orders[{i}]", order, process_ids, material_ids, periods)
    for i, supplier in parts.suppliers:
        issues += _supplier_issues(f"suppliers[{i}]", supplier, material_ids)
    if parts.fleet is not None:
        issues += _fleet_issues(parts.fleet)
    return issues


def order_issues(path: str, order: Order, instance: Instance) -> list[Issue]:
    """Cross-reference violations of one order against ``instance`` (processes,
    materials, periods), with paths under ``path``: an order that arrives on its own
    (a re-plan's added order, a recommendation)."""
    return _order_issues(
        path,
        order,
        {p.id for p in instance.processes},
        {m.id for m in instance.materials},
        instance.horizon.periods,
    )


def _factory_issues(
    path: str,
    factory: Factory,
    process_ids: set[str],
    material_ids: set[str],
    periods: int | None,
) -> list[Issue]:
    issues = _duplicates(f"{path}.resources", ((j, r.id) for j, r in enumerate(factory.resources)))
    resource_ids = {r.id for r in factory.resources}
    seen_process: set[str] = set()
    for j, cap in enumerate(factory.capabilities):
        cpath = f"{path}.capabilities[{j}]"
        if cap.process not in process_ids:
            issues.append(Issue(f"{cpath}.process", f"unknown process '{cap.process}'"))
        if cap.process in seen_process:
            issues.append(Issue(f"{cpath}.process", f"duplicate capability '{cap.process}'"))
        seen_process.add(cap.process)
        if cap.resource_group not in resource_ids:
            issues.append(
                Issue(f"{cpath}.resource_group", f"unknown resource group '{cap.resource_group}'")
            )
        for k, mat in enumerate(cap.materials):
            if mat not in material_ids:
                issues.append(Issue(f"{cpath}.materials[{k}]", f"unknown material '{mat}'"))
    if periods is not None:
        for j, res in enumerate(factory.resources):
            rpath = f"{path}.resources[{j}]"
            if len(res.available_minutes) != periods:
                issues.append(
                    Issue(
                        f"{rpath}.available_minutes",
                        f"calendar has {len(res.available_minutes)} periods, horizon has {periods}",
                    )
                )
            if res.committed_minutes is not None and len(res.committed_minutes) != periods:
                issues.append(
                    Issue(
                        f"{rpath}.committed_minutes",
                        f"calendar has {len(res.committed_minutes)} periods, horizon has {periods}",
                    )
                )
    return issues


def _order_issues(
    path: str,
    order: Order,
    process_ids: set[str],
    material_ids: set[str],
    periods: int | None,
) -> list[Issue]:
    issues: list[Issue] = []
    for j, op in enumerate(order.operations):
        opath = f"{path}.operations[{j}]"
        if op.process not in process_ids:
            issues.append(Issue(f"{opath}.process", f"unknown process '{op.process}'"))
        if op.material is not None and op.material not in material_ids:
            issues.append(Issue(f"{opath}.material", f"unknown material '{op.material}'"))
    if order.release_period > order.due_period:
        issues.append(
            Issue(
                f"{path}.release_period",
                f"release period {order.release_period} is after due period {order.due_period}",
            )
        )
    if periods is not None:
        if order.release_period >= periods:
            issues.append(
                Issue(
                    f"{path}.release_period",
                    f"release period {order.release_period} is outside the horizon "
                    f"(0..{periods - 1})",
                )
            )
        if order.due_period >= periods:
            issues.append(
                Issue(
                    f"{path}.due_period",
                    f"due period {order.due_period} is outside the horizon (0..{periods - 1})",
                )
            )
    if order.split.min_quantity > order.quantity:
        issues.append(
            Issue(
                f"{path}.split.min_quantity",
                f"minimum split quantity {order.split.min_quantity} exceeds the order "
                f"quantity {order.quantity}",
            )
        )
    if order.split.max_factories > 1 and not order.split.allowed:
        issues.append(
            Issue(f"{path}.split.max_factories", "max_factories > 1 needs split.allowed = true")
        )
    for mat in order.bill_of_materials:
        if mat not in material_ids:
            issues.append(Issue(f"{path}.bill_of_materials.{mat}", f"unknown material '{mat}'"))
    return issues


def _supplier_issues(path: str, supplier: Supplier, material_ids: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for j, offer in enumerate(supplier.offers):
        opath = f"{path}.offers[{j}]"
        if offer.material not in material_ids:
            issues.append(Issue(f"{opath}.material", f"unknown material '{offer.material}'"))
        if offer.material in seen:
            issues.append(Issue(f"{opath}.material", f"duplicate offer for '{offer.material}'"))
        seen.add(offer.material)
        breaks = [t.min_quantity for t in offer.price.tiers]
        for k in range(1, len(breaks)):
            if breaks[k] <= breaks[k - 1]:
                issues.append(
                    Issue(
                        f"{opath}.price.tiers[{k}].min_quantity",
                        f"tier breaks must increase: {breaks[k]:g} after {breaks[k - 1]:g}",
                    )
                )
        if breaks[0] > max(offer.moq, 0.0):
            issues.append(
                Issue(
                    f"{opath}.price.tiers[0].min_quantity",
                    f"first tier starts at {breaks[0]:g}, above the MOQ {offer.moq:g}: "
                    "smaller purchases would have no price",
                )
            )
        if offer.capacity is not None and offer.capacity < offer.moq:
            issues.append(
                Issue(
                    f"{opath}.capacity",
                    f"capacity {offer.capacity:g} is below the MOQ {offer.moq:g}",
                )
            )
    return issues


def _fleet_issues(fleet: Fleet) -> list[Issue]:
    issues = _duplicates("fleet.depots", ((i, d.id) for i, d in enumerate(fleet.depots)))
    issues += _duplicates("fleet.vehicles", ((i, v.id) for i, v in enumerate(fleet.vehicles)))
    depot_ids = {d.id for d in fleet.depots}
    for i, vehicle in enumerate(fleet.vehicles):
        if vehicle.depot not in depot_ids:
            issues.append(Issue(f"fleet.vehicles[{i}].depot", f"unknown depot '{vehicle.depot}'"))
    return issues


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


def _lenient_parts(data: dict[str, Any]) -> Parts:
    """Parse section by section, keeping whatever is valid, for cross-checking."""
    parts = Parts()
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


def _raw_duplicates(data: dict[str, Any]) -> list[Issue]:
    """Duplicate ids among all entities, including those that failed to parse."""
    issues: list[Issue] = []
    for section in _SECTIONS:
        raw = data.get(section)
        if isinstance(raw, list):
            ids = [(i, x["id"]) for i, x in enumerate(raw) if isinstance(x, dict) and "id" in x]
            issues += _duplicates(section, ((i, str(ident)) for i, ident in ids))
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
        cross = consistency_issues(_lenient_parts(data)) + _raw_duplicates(data)
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


def routed_issues(instance: Instance, prefix: str = "orders") -> list[Issue]:
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
