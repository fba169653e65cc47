"""Cross-entity consistency rules: unknown references, duplicate ids, calendar lengths.

Pure rules over the entities that parsed (each with its input index), so that
:class:`~matcher.domain.instance.Instance` can refuse an inconsistent instance and
:func:`~matcher.domain.validation.parse_instance` can still cross-check the entities
of an instance whose other entities are malformed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from matcher.domain.entities import Factory, Fleet, Horizon, Material, Order, Process, Supplier


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


@dataclass
class ParsedEntities:
    """The entities that parsed, each with its index in the input."""

    horizon: Horizon | None = None
    processes: list[tuple[int, Process]] = field(default_factory=list)
    materials: list[tuple[int, Material]] = field(default_factory=list)
    factories: list[tuple[int, Factory]] = field(default_factory=list)
    orders: list[tuple[int, Order]] = field(default_factory=list)
    suppliers: list[tuple[int, Supplier]] = field(default_factory=list)
    fleet: Fleet | None = None


def duplicate_ids(section: str, items: Iterable[tuple[int, str]]) -> list[Issue]:
    items = list(items)
    counts = Counter(i for _, i in items)
    return [
        Issue(f"{section}[{idx}].id", f"duplicate id '{ident}'")
        for idx, ident in items
        if counts[ident] > 1
    ]


def consistency_issues(parts: ParsedEntities) -> list[Issue]:
    """Every cross-entity violation in ``parts``."""
    issues: list[Issue] = []
    issues += duplicate_ids("processes", ((i, p.id) for i, p in parts.processes))
    issues += duplicate_ids("materials", ((i, m.id) for i, m in parts.materials))
    issues += duplicate_ids("factories", ((i, f.id) for i, f in parts.factories))
    issues += duplicate_ids("orders", ((i, o.id) for i, o in parts.orders))
    issues += duplicate_ids("suppliers", ((i, s.id) for i, s in parts.suppliers))
    process_ids = {p.id for _, p in parts.processes}
    material_ids = {m.id for _, m in parts.materials}
    periods = parts.horizon.periods if parts.horizon else None
    for i, factory in parts.factories:
        issues += _factory_issues(f"factories[{i}]", factory, process_ids, material_ids, periods)
    for i, order in parts.orders:
        issues += order_entity_issues(f"orders[{i}]", order, process_ids, material_ids, periods)
    for i, supplier in parts.suppliers:
        issues += _supplier_issues(f"suppliers[{i}]", supplier, material_ids)
    if parts.fleet is not None:
        issues += _fleet_issues(parts.fleet)
    return issues


def _factory_issues(
    path: str,
    factory: Factory,
    process_ids: set[str],
    material_ids: set[str],
    periods: int | None,
) -> list[Issue]:
    issues = duplicate_ids(
        f"{path}.resources", ((j, r.id) for j, r in enumerate(factory.resources))
    )
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
    for material in factory.stock:
        if material not in material_ids:
            issues.append(Issue(f"{path}.stock.{material}", f"unknown material '{material}'"))
    return issues


def order_entity_issues(
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
    issues = duplicate_ids("fleet.depots", ((i, d.id) for i, d in enumerate(fleet.depots)))
    issues += duplicate_ids("fleet.vehicles", ((i, v.id) for i, v in enumerate(fleet.vehicles)))
    depot_ids = {d.id for d in fleet.depots}
    for i, vehicle in enumerate(fleet.vehicles):
        if vehicle.depot not in depot_ids:
            issues.append(Issue(f"fleet.vehicles[{i}].depot", f"unknown depot '{vehicle.depot}'"))
    return issues
