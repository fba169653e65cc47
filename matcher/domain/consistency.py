"""Cross-entity consistency rules: unknown references, duplicate ids, calendar lengths,
and the limits on what grows with the instance (what its plans can cost, material needs).

Pure rules over the entities that parsed (each with its input index), so that
:class:`~matcher.domain.instance.Instance` can refuse an inconsistent instance and
:func:`~matcher.domain.validation.parse_instance` can still cross-check the entities
of an instance whose other entities are malformed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from matcher.domain.entities import (
    MAX_NEED_PERIODS,
    MAX_PLAN_CENTS,
    Factory,
    FairnessOptions,
    Fleet,
    Horizon,
    Location,
    Material,
    MaterialSourcing,
    Order,
    Process,
    Supplier,
    Transport,
    Vehicle,
)
from matcher.domain.geo import EARTH_RADIUS_KM


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
    fairness: FairnessOptions | None = None


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
    if parts.fairness is not None:
        issues += fairness_issues("fairness", parts.fairness, [f.id for _, f in parts.factories])
    return issues


def fairness_issues(
    path: str, fairness: FairnessOptions, factory_ids: Iterable[str]
) -> list[Issue]:
    """Fairness options that name a factory the instance does not have (``path``:
    ``fairness`` for the instance's, ``params.fairness`` for a solve's override)."""
    known = set(factory_ids)
    return [
        Issue(f"{path}.min_work_by_factory.{fid}", f"unknown factory '{fid}'")
        for fid in fairness.min_work_by_factory
        if fid not in known
    ]


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
    issues += duplicate_ids("fleet.hubs", ((i, h.id) for i, h in enumerate(fleet.hubs)))
    if fleet.hubs and not fleet.vehicles:
        issues.append(Issue("fleet.hubs", "hubs need vehicles: the fleet's milk runs feed them"))
    return issues


# ------------------------------------------------------------------ money at stake

CREDIT_POINTS = 100
"""Most credit-score points below 100 a unit can be charged for."""


@dataclass(frozen=True)
class Stake:
    """What the plans of an instance can cost at most, unweighted, and where it comes from."""

    total: int
    shares: list[tuple[str, int]]  # (path, cents), the largest first

    @property
    def within_limit(self) -> bool:
        return self.total <= MAX_PLAN_CENTS

    def issue(self, path: str | None = None, here: bool = False) -> Issue:
        """The excess as an issue at the largest share, or at ``path`` (which holds the
        largest share if ``here``, else the message names it)."""
        where, most = self.shares[0] if self.shares else ("", 0)
        at = "here" if path in (None, where) or here else f"at {where or 'the instance'}"
        return Issue(
            where if path is None else path,
            f"the plans of this instance could cost up to {self.total:.3g} cents, above the "
            f'limit of {MAX_PLAN_CENTS:.0e} (docs/service.md, "Numeric limits"); the '
            f"largest share ({most:.3g} cents) is {at}: lower quantities, prices or penalties",
        )


def money_at_stake(
    periods: int,
    materials: Iterable[tuple[int, Material]],
    factories: Iterable[Factory],
    orders: Iterable[tuple[int, Order]],
    suppliers: Iterable[Supplier],
    fleet: Fleet,
    transport: Transport,
) -> Stake:
    """An upper bound, in unweighted cents (units and credit points counted as a cent
    each), on everything any plan of the instance can cost and on every figure the
    engines form from it:

    - each order: its quantity times its dearest unit (the dearest factory of each
      operation; transport over the longest distance between any two places, for the
      delivery and each transfer; lateness over the whole horizon; a credit point per
      point below 100; a moved unit), plus its penalty;
    - each purchased material: its need at its dearest price, every offer's minimum
      purchase or top tier at that offer's dearest price, and the inbound transport
      of all of it;
    - with a fleet: the carrier's minimum charge for every shipment (each part of a
      goods or material load split to fit a vehicle), and every vehicle's longest
      route in every period;
    - with hubs: the line-haul and handling of every shipment going through one (a
      lane's shipment costs at most its less-than-truckload charge, the minimum plus
      the rate over the longest distance, and holds at least one shipment), and each
      hub-period's handling rounding.

    Weighted (every weight is at most ``MAX_WEIGHT``), it stays below 10^18 while this
    stays below ``MAX_PLAN_CENTS``.
    """
    factories = list(factories)
    orders = list(orders)
    suppliers = list(suppliers)
    dearest: dict[str, int] = {}
    for f in factories:
        for c in f.capabilities:
            dearest[c.process] = max(dearest.get(c.process, 0), c.unit_cost_cents)
    places = [f.location for f in factories] + [o.delivery for _, o in orders]
    places += [s.location for s in suppliers] + [d.location for d in fleet.depots]
    places += [h.location for h in fleet.hubs]
    km = span_km(places) * transport.road_factor

    def rate(kg: float) -> int:  # at least transport_cents_per_unit over any distance
        return math.ceil(km * kg * transport.cents_per_tonne_km / 1000) + 1

    carry = VehicleUnits(fleet)

    def shipments(units: int, loads: int, kg: float, m3: float) -> int:
        """Parts of ``loads`` loads holding ``units`` in all, split to fit a vehicle."""
        most = carry(kg, m3)
        return min(units, loads) + (units // most if most else 0)

    shares: list[tuple[str, int]] = []
    shipped = 0  # shipments
    kg = 0.0  # everything shipped
    need: dict[str, float] = {}
    for i, o in orders:
        per_unit = sum(dearest.get(op.process, 0) for op in o.operations)
        per_unit += rate(o.unit_weight_kg) * len(o.operations)
        per_unit += o.penalties.late_cents_per_unit_period * periods + CREDIT_POINTS + 1
        penalty = o.penalties.unserved_cents or 0
        shares.append((f"orders[{i}]", o.quantity * per_unit + penalty))
        parts = o.split.max_factories if o.split.allowed else 1  # a re-plan may add one
        shipped += shipments(o.quantity, parts + 1, o.unit_weight_kg, o.unit_volume_m3)
        kg += o.quantity * o.unit_weight_kg
        for mid, q in o.bill_of_materials.items():
            need[mid] = need.get(mid, 0.0) + q * o.quantity
    for k, m in materials:
        if m.sourcing == MaterialSourcing.PROVIDED or m.id not in need:
            continue
        mine = [offer for s in suppliers for offer in s.offers if offer.material == m.id]
        if not mine:
            continue
        prices = [max(t.unit_price_cents for t in offer.price.tiers) for offer in mine]
        extra = [math.ceil(max(offer.moq, offer.price.tiers[-1].min_quantity)) for offer in mine]
        wanted = math.ceil(need[m.id]) + 1
        bought = wanted + sum(extra)
        cost = wanted * max(prices) + sum(e * p for e, p in zip(extra, prices, strict=True))
        shares.append((f"materials[{k}]", cost + bought * rate(m.kg_per_unit)))
        calls = len(mine) * (len(factories) * periods + 1)  # per offer, factory and period
        shipped += shipments(bought, calls, m.kg_per_unit, m.m3_per_unit)
        kg += bought * m.kg_per_unit
    if fleet.vehicles:
        shares.append(("transport.carrier_min_cents", transport.carrier_min_cents * shipped))
        for i, v in enumerate(fleet.vehicles):
            shares.append((f"fleet.vehicles[{i}]", periods * longest_route_cents(v)))
    if fleet.vehicles and fleet.hubs:
        lh = transport.line_haul_rates
        handling = max(h.handling_cents_per_kg for h in fleet.hubs)
        per_kg = km * lh.ltl_cents_per_tonne_km / 1000 + handling
        hub_periods = len(fleet.hubs) * periods
        cost = shipped * (lh.ltl_min_cents + 1) + math.ceil(kg * per_kg) + hub_periods
        shares.append(("fleet.hubs", cost))
    shares.sort(key=lambda share: -share[1])
    return Stake(sum(c for _, c in shares), shares)


def material_need_issues(
    periods: int, materials: Iterable[tuple[int, Material]], orders: Iterable[tuple[int, Order]]
) -> list[Issue]:
    """Purchased materials whose need over all orders, times ``periods + 1``, is above
    ``MAX_NEED_PERIODS`` (the assignment states a material's use in millionths of a
    unit in every period it may be made in)."""
    need: dict[str, float] = {}
    for _, o in orders:
        for mid, q in o.bill_of_materials.items():
            need[mid] = need.get(mid, 0.0) + q * o.quantity
    issues: list[Issue] = []
    for k, m in materials:
        total = math.ceil(need.get(m.id, 0.0)) * (periods + 1)
        if m.sourcing != MaterialSourcing.PROVIDED and total > MAX_NEED_PERIODS:
            issues.append(
                Issue(
                    f"materials[{k}]",
                    f"the orders need up to {need[m.id]:.3g} units of {m.id}; times the "
                    f"{periods} periods plus one that is {total:.3g}, above the limit of "
                    f'{MAX_NEED_PERIODS:.0e} (docs/service.md, "Numeric limits")',
                )
            )
    return issues


class VehicleUnits:
    """Most units of ``kg`` and ``m3`` each the best vehicle of a fleet carries (0: none
    can carry one; None: some vehicle carries any number), as the routing rules split
    loads: a vehicle lacking a dimension the fleet has carries none of it."""

    def __init__(self, fleet: Fleet) -> None:
        dims = {d for v in fleet.vehicles for d in v.capacity}
        self.dims = [d for d in ("weight_kg", "volume_m3") if d in dims]
        self.capacities = sorted(
            {tuple(v.capacity.get(d, 0.0) for d in self.dims) for v in fleet.vehicles}
        )
        self.largest = [
            max((c[i] for c in self.capacities), default=0.0) for i in range(len(self.dims))
        ]
        self.known: dict[tuple[float, float], int | None] = {}

    def __call__(self, kg: float, m3: float) -> int | None:
        key = (kg, m3)
        if key not in self.known:
            per_unit = dict(zip(("weight_kg", "volume_m3"), key, strict=True))
            loads = [(i, per_unit[d]) for i, d in enumerate(self.dims) if per_unit[d] > 0]
            if not loads or not self.capacities:
                self.known[key] = None
            elif len(loads) == 1:  # the largest capacity in that dimension decides
                i, x = loads[0]
                self.known[key] = math.floor(self.largest[i] / x + 1e-9)
            else:
                self.known[key] = max(
                    min(math.floor(cap[i] / x + 1e-9) for i, x in loads) for cap in self.capacities
                )
        return self.known[key]


def span_km(places: Sequence[Location]) -> float:
    """At least the great-circle distance between any two of ``places``: along a
    meridian across their latitudes, then along a parallel across their longitudes
    (the shorter way round)."""
    if not places:
        return 0.0
    lats = [p.lat for p in places]
    lons = [p.lon for p in places]
    dphi = math.radians(max(lats) - min(lats))
    dlmb = min(math.radians(max(lons) - min(lons)), math.pi)
    return EARTH_RADIUS_KM * min(math.pi, dphi + dlmb) + 1e-6


def longest_route_cents(v: Vehicle) -> int:
    """At least the cost of any route of ``v``: its whole shift (or maximum duration)
    driving at its speed."""
    minutes = v.shift_end_minute - v.shift_start_minute
    if v.max_duration_minutes is not None:
        minutes = min(minutes, v.max_duration_minutes)
    hours = minutes / 60
    driving = math.ceil(v.cost_per_km_cents * v.speed_kmh * hours)
    return v.fixed_cost_cents + driving + math.ceil(v.cost_per_hour_cents * hours) + 1
