"""The routes section (docs/routing.md), recomputed from first principles.

The transport requests are re-derived from the plan's allocations and purchases, and
each is checked to be carried once by the fleet or left to the carrier for a reason
the instance bears out; every route's shift, travel times, loads, distance and cost
from the instance's places and vehicles. With hubs (docs/logistics.md) a load may be
listed as a leg through its factory's hub instead: its id, hub and ends are checked
here, the stops at hubs against the hubs' hours, and the line-haul and the hubs' use
of the carried legs by :mod:`~matcher.check.logistics`. :func:`check_routing` sets the
transport the routes, the carrier, the line-haul and the handling cost, which replaces
the per-unit estimates in the totals.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from matcher.check.codes import (
    COST_TOL,
    FIT_TOL,
    FLOAT_TOL,
    LEG_KM_TOL,
    LEG_TIME_TOL,
    LOAD_TOL,
    QTY_TOL,
    TIME_TOL,
    ViolationCode,
)
from matcher.check.figures import (
    haversine_km,
    inbound_transport_cents,
    unit_transport_cents,
    whole_units,
)
from matcher.check.logistics import Lane, Leg, check_logistics, factory_hubs, no_hub_reason
from matcher.check.state import CheckState, PlanPart
from matcher.domain.entities import Hub, Location, Vehicle
from matcher.domain.plan import RouteStop, Routing, UnroutedReason, VehicleRoute


def check_routing(checker: CheckState) -> None:
    """The routes section, when the stage ran (docs/routing.md)."""
    if checker.plan.routes is None:
        return
    routing = _RoutingChecker(checker, checker.plan.routes)
    routing.run()
    checker.totals.routed = routing.transport


PICKUP, DELIVERY = "pickup", "delivery"
_HUB_HOURS = ", the stop at the hub within the hub's hours"


@dataclass(frozen=True)
class _Load:
    """One transport request of docs/routing.md: as the checker derives it from the
    plan, or (for a request that does not follow from the plan) as the plan states it."""

    id: str
    kind: str
    period: int
    origin: str
    destination: str
    origin_at: Location
    destination_at: Location
    units: float
    per_unit: dict[str, float]
    carrier_cents: int
    order: str | None = None
    material: str | None = None
    supplier: str | None = None  # materials: where the line-haul of a leg starts
    hub: str | None = None  # a leg through this hub (docs/logistics.md)

    @property
    def load(self) -> dict[str, float]:
        return {d: self.units * x for d, x in self.per_unit.items()}


def _per_unit(dims: Sequence[str], kg: float, m3: float) -> dict[str, float]:
    """Load of one unit per capacity dimension; any other dimension carries nothing."""
    known = {"weight_kg": kg, "volume_m3": m3}
    return {d: known.get(d, 0.0) for d in dims}


def _close(stated: float, expected: float) -> bool:
    return abs(stated - expected) <= LOAD_TOL * max(1.0, abs(expected))


def _fmt_load(load: dict[str, float]) -> str:
    return "{" + ", ".join(f"{d}: {x:g}" for d, x in sorted(load.items())) + "}"


class _RoutingChecker:
    """The routes section against docs/routing.md, recomputed from first principles.

    The requests are re-derived from the plan's allocations and purchases; times,
    loads, distances and costs from the instance's places and vehicles. ``fleet`` and
    ``carrier`` end as the recomputed transport: the routes' costs (a route's stated
    cost stands when it is within :data:`COST_TOL` of the recomputed one, rounding
    aside; otherwise the recomputed one counts, so one mistake is reported once) and
    the carrier price of every request the fleet does not carry.
    """

    def __init__(self, checker: CheckState, section: Routing) -> None:
        inst = checker.inst
        self.inst = inst
        self.add = checker.add
        self.plan = checker.plan
        self.section = section
        self.periods = checker.periods
        self.period_minutes = inst.horizon.period_minutes
        self.factories = checker.factories
        self.orders = checker.orders
        self.suppliers = {s.id: s for s in inst.suppliers}
        self.materials = {m.id: m for m in inst.materials}
        self.vehicles = {v.id: v for v in inst.fleet.vehicles}
        self.depots = {d.id: d.location for d in inst.fleet.depots}
        self.service = inst.fleet.service_minutes
        self.minimum = inst.transport.carrier_min_cents
        self.road_factor = inst.transport.road_factor
        # The capacity dimensions: those the vehicles list (a vehicle without one has no
        # room in it); loads in any other are nothing anyone limits, so not compared.
        listed = dict.fromkeys(d for v in inst.fleet.vehicles for d in v.capacity)
        self.dims = tuple(listed) or ("weight_kg", "volume_m3")
        self.km_cache: dict[tuple[float, float, float, float], float] = {}
        # Vehicles that differ in capacity and costs alone reach the same places in the
        # same time: one reach test per such class (at 50 000 orders, 100 000 unrouted
        # loads against every vehicle made this check the checker's slowest part).
        self.reach_classes: dict[tuple[object, ...], list[Vehicle]] = defaultdict(list)
        for v in inst.fleet.vehicles:
            key = (
                v.depot,
                v.speed_kmh,
                v.shift_start_minute,
                v.shift_end_minute,
                v.max_duration_minutes,
            )
            self.reach_classes[key].append(v)
        self.fits_cache: dict[tuple[tuple[str, float], ...], int | None] = {}
        self.hubs = {h.id: h for h in inst.fleet.hubs}
        self.factory_hub = factory_hubs(inst) if self.hubs else {}
        self.expected = self._expected(checker.delivering_parts())
        # Requests by id as they count: the expected ones (through a hub when the plan
        # lists a load as a leg), except that a request split otherwise than the rules
        # say counts as the plan states its parts.
        self.loads: dict[str, _Load] = dict(self.expected)
        # Ids a stop may name without the plan listing them (reported as missing): the
        # expected requests, the legs instead when the plan lists a load as legs.
        self.unlisted: set[str] = set(self.expected)
        self.expected_legs: dict[str, _Load] = {}
        self.extra: dict[str, _Load] = {}  # requests that do not follow from the plan
        # Legs through an unknown hub (reported): no places, their load's carrier price.
        self.ghosts: dict[str, int] = {}
        self.stated: dict[str, int] = {}  # id -> first index into routes.requests
        self.visits: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.routed: set[str] = set()
        self.fleet = 0
        self.carrier = 0
        self.line_haul = 0
        self.handling = 0
        self.km = 0.0

    @property
    def transport(self) -> int:
        return self.fleet + self.carrier + self.line_haul + self.handling

    def run(self) -> None:
        self._check_requests()
        seen: dict[tuple[str, int], int] = {}
        for i, route in enumerate(self.section.routes):
            self._check_route(i, route, seen)
        self._check_coverage()
        self.line_haul, self.handling = check_logistics(
            self.add, self.inst, self.section, self._legs(), self.routed
        )
        self._check_totals()

    # -- geometry ------------------------------------------------------------------

    def _km(self, a: Location, b: Location) -> float:
        """Road km: haversine x road factor (the engine rounds to whole metres)."""
        key = (a.lat, a.lon, b.lat, b.lon)
        km = self.km_cache.get(key)
        if km is None:
            km = self.km_cache[key] = haversine_km(a, b) * self.road_factor
        return km

    @staticmethod
    def _minutes(km: float, vehicle: Vehicle) -> float:
        return km / vehicle.speed_kmh * 60

    def _slack(self, vehicle: Vehicle, load: _Load) -> float:
        """Minutes to spare when ``vehicle`` alone goes depot -> pickup -> delivery ->
        depot in its shift (negative: it cannot), the delivery starting in the period."""
        depot = self.depots[vehicle.depot]
        to_pickup = self._minutes(self._km(depot, load.origin_at), vehicle)
        across = self._minutes(self._km(load.origin_at, load.destination_at), vehicle)
        back = self._minutes(self._km(load.destination_at, depot), vehicle)
        limit = vehicle.shift_end_minute - vehicle.shift_start_minute
        if vehicle.max_duration_minutes is not None:
            limit = min(limit, vehicle.max_duration_minutes)
        need = to_pickup + across + back + 2 * self.service
        hub = self.hubs.get(load.hub) if load.hub is not None else None
        if hub is None:
            delivered = vehicle.shift_start_minute + to_pickup + self.service + across
            return min(limit - need, self.period_minutes - delivered)
        # A leg: its stop at the hub starts within the hub's hours. Leaving as late as
        # it can without waiting, the vehicle starts both stops as early as it can.
        period = (0, self.period_minutes)
        hours = (hub.open_minute, hub.close_minute)
        pick, drop = (hours, period) if load.kind == "material" else (period, hours)
        leave = max(
            vehicle.shift_start_minute,
            pick[0] - to_pickup,
            drop[0] - self.service - across - to_pickup,
        )
        picked = leave + to_pickup
        delivered = picked + self.service + across
        return min(
            limit - need,
            vehicle.shift_end_minute - (delivered + self.service + back),
            min(pick[1], self.period_minutes) - picked,
            min(drop[1], self.period_minutes) - delivered,
        )

    # -- capacity ------------------------------------------------------------------

    def _most_units(self, per_unit: dict[str, float]) -> int | None:
        """The most units any single vehicle can carry: ``None`` when a unit weighs and
        fills nothing that a vehicle limits, 0 when no vehicle takes one (or none exist).

        A dimension a vehicle does not list is one it has no room in.
        """
        key = tuple(sorted(per_unit.items()))
        if key in self.fits_cache:
            return self.fits_cache[key]
        best: int | None = 0
        for v in self.inst.fleet.vehicles:
            limits = [
                math.floor(v.capacity.get(d, 0.0) / x * (1 + FIT_TOL))
                for d, x in per_unit.items()
                if x > 0
            ]
            if not limits:
                best = None
                break
            best = max(best or 0, min(limits))
        self.fits_cache[key] = best
        return best

    @staticmethod
    def _over(vehicle: Vehicle, load: dict[str, float]) -> dict[str, float]:
        """The dimensions in which ``load`` exceeds the vehicle's capacity."""
        return {
            d: x
            for d, x in load.items()
            if x > vehicle.capacity.get(d, 0.0) * (1 + LOAD_TOL) + LOAD_TOL
        }

    # -- the requests the plan implies ---------------------------------------------

    def _expected(self, parts: Iterable[PlanPart]) -> dict[str, _Load]:
        loads: list[tuple[_Load, int]] = []  # unsplit, with the per-unit estimate
        allocations = self.plan.allocations
        for part in parts:
            # The part's quantities are on its last operation's row (or the latest
            # present, when it is missing: reported as MISSING_OPERATION).
            head = allocations[part.rows[max(part.rows)][0]]
            periods = [
                pq.period
                for pq in head.periods
                if pq.quantity > 0 and 0 <= pq.period < self.periods
            ]
            if head.quantity <= 0 or not periods:
                continue  # reported with the row
            order, factory = part.order, part.factory
            load = _Load(
                id=f"goods:{order.id}:{factory.id}",
                kind="goods",
                period=max(periods),
                origin=factory.id,
                destination=order.id,
                origin_at=factory.location,
                destination_at=order.delivery,
                units=head.quantity,
                per_unit=_per_unit(self.dims, order.unit_weight_kg, order.unit_volume_m3),
                carrier_cents=0,
                order=order.id,
            )
            loads.append((load, unit_transport_cents(self.inst, order, factory)))
        loads += self._material_loads()
        expected: dict[str, _Load] = {}
        for load, rate in loads:
            for part_load in self._split(load, rate):
                expected[part_load.id] = part_load
        return expected

    def _material_loads(self) -> list[tuple[_Load, int]]:
        if self.plan.purchasing is None:
            return []
        loads: dict[str, tuple[_Load, int]] = {}
        for purchase in self.plan.purchasing.purchases:
            supplier = self.suppliers.get(purchase.supplier)
            material = self.materials.get(purchase.material)
            if supplier is None or material is None:
                continue  # reported as PURCHASE_UNKNOWN_OFFER
            for d in purchase.deliveries:
                factory = self.factories.get(d.factory)
                units = whole_units(d.quantity)
                if factory is None or units is None or units <= 0:
                    continue  # reported with the delivery
                if not 0 <= d.period < self.periods:
                    continue
                rid = f"material:{material.id}:{supplier.id}:{factory.id}:{d.period}"
                if rid in loads:
                    # Two call-offs for one factory and period: one load, one id.
                    units += int(loads[rid][0].units)
                load = _Load(
                    id=rid,
                    kind="material",
                    period=d.period,
                    origin=supplier.id,
                    destination=factory.id,
                    origin_at=supplier.location,
                    destination_at=factory.location,
                    units=units,
                    per_unit=_per_unit(self.dims, material.kg_per_unit, material.m3_per_unit),
                    carrier_cents=0,
                    material=material.id,
                    supplier=supplier.id,
                )
                loads[rid] = (load, inbound_transport_cents(self.inst, supplier, factory, material))
        return list(loads.values())

    def _carrier(self, units: int, rate: int) -> int:
        return max(self.minimum, units * rate)

    def _split(self, load: _Load, rate: int) -> list[_Load]:
        """The fewest parts the largest-carrying vehicle takes, as even as possible."""
        units = int(load.units)
        most = self._most_units(load.per_unit)
        n = -(-units // most) if most else 1  # no split when it weighs nothing or is too heavy
        if n <= 1:
            return [replace(load, carrier_cents=self._carrier(units, rate))]
        small, extra = divmod(units, n)
        parts = []
        for i in range(n):
            q = small + (1 if i < extra else 0)
            parts.append(
                replace(
                    load, id=f"{load.id}#{i + 1}/{n}", units=q, carrier_cents=self._carrier(q, rate)
                )
            )
        return parts

    def _resolve(self, i: int, template: _Load | None = None) -> _Load | None:
        """A stated request that does not follow from the plan, as stated (``None`` when
        its places are unknown); ``template``, its load's expected part, names the
        supplier a material leg's line-haul starts from."""
        r = self.section.requests[i]
        hub = self.hubs.get(r.hub) if r.hub is not None else None
        if r.hub is not None and hub is None:
            return None
        ends: tuple[Location, Location] | None = None
        if r.kind == "goods":
            factory = self.factories.get(r.origin)
            order = self.orders.get(r.destination if hub is None else r.order or "")
            if factory is not None and order is not None:
                ends = (factory.location, order.delivery if hub is None else hub.location)
        elif r.kind == "material":
            factory = self.factories.get(r.destination)
            supplier = self.suppliers.get(r.origin)
            start = hub.location if hub is not None else None
            if start is None and supplier is not None:
                start = supplier.location
            if factory is not None and start is not None:
                ends = (start, factory.location)
        if ends is None or not r.quantity > 0:
            return None
        return _Load(
            id=r.id,
            kind=r.kind,
            period=r.period,
            origin=r.origin,
            destination=r.destination,
            origin_at=ends[0],
            destination_at=ends[1],
            units=r.quantity,
            per_unit={d: r.load.get(d, 0.0) / r.quantity for d in self.dims},
            carrier_cents=r.carrier_cents,
            order=r.order,
            material=r.material,
            supplier=template.supplier if template is not None else None,
            hub=r.hub,
        )

    def _lookup(self, rid: str) -> _Load | None:
        """The request as it counts; a part the plan split otherwise is still known."""
        return (
            self.loads.get(rid)
            or self.extra.get(rid)
            or self.expected_legs.get(rid)
            or self.expected.get(rid)
        )

    def _known(self, rid: str) -> bool:
        return rid in self.stated or rid in self.unlisted

    # -- legs through hubs (docs/logistics.md) ----------------------------------------

    @staticmethod
    def _leg(load: _Load, hub: Hub) -> _Load:
        """``load`` (door to door, maybe a split part) as a leg through ``hub``."""
        base, split, part = load.id.partition("#")
        rid = f"{base}@{hub.id}{split}{part}"
        if load.kind == "goods":
            return replace(
                load, id=rid, destination=hub.id, destination_at=hub.location, hub=hub.id
            )
        return replace(load, id=rid, origin=hub.id, origin_at=hub.location, hub=hub.id)

    def _canonical(self, i: int) -> tuple[str, str]:
        """(the load's id before any hub and split suffix, the request's id as the rules
        name it from its ``hub``): ``<load id>@<hub>#i/n``. A stated id otherwise is a
        violation."""
        r = self.section.requests[i]
        head, split, part = r.id.partition("#")
        part = part.partition("@")[0]
        base, _, via = head.partition("@")
        name = base + (f"@{r.hub}" if r.hub is not None else "") + split + part
        if name != r.id:
            why = (
                f"a leg through hub '{r.hub}' is named '{name}' (the load's id, "
                "'@<hub>', then any split suffix)"
                if r.hub is not None
                else f"its id names hub '{via}' but its hub is not set"
            )
            self.add(ViolationCode.REQUEST_LEG_ID, f"routes.requests[{i}].id", f"'{r.id}': {why}")
        return base, name

    def _check_hub(self, i: int, factory_id: str) -> Hub | None:
        """A leg's hub: it exists and is its factory's hub; ``None`` when unknown."""
        r = self.section.requests[i]
        path = f"routes.requests[{i}].hub"
        hub = self.hubs.get(r.hub or "")
        if hub is None:
            why = "the instance has no hubs" if not self.hubs else f"unknown hub '{r.hub}'"
            self.add(ViolationCode.REQUEST_HUB, path, f"request '{r.id}': {why}")
            return None
        own = self.factory_hub.get(factory_id)
        if own is None or own.id != hub.id:
            factory = self.factories[factory_id]
            why = (
                f"is served by hub '{own.id}', the nearest within reach"
                if own is not None
                else f"has no hub: {no_hub_reason(self.inst, factory.location)}"
            )
            self.add(
                ViolationCode.REQUEST_HUB,
                path,
                f"request '{r.id}' goes through hub '{hub.id}', but factory '{factory_id}' {why}",
            )
        return hub

    def _lane(self, load: _Load, hub: Hub) -> tuple[Lane, Location] | None:
        """The load's lane beyond ``hub`` and the line-haul's other end there."""
        if load.kind == "goods":
            order = self.orders.get(load.order or "")
            if order is None:
                return None
            at = order.delivery
            if at.region is not None:
                return Lane("goods", hub.id, at.region, load.period), at
            return Lane("goods", hub.id, order.buyer, load.period, at), at
        supplier = self.suppliers.get(load.supplier or "")
        if supplier is None:
            return None
        return Lane("material", supplier.id, hub.id, load.period), supplier.location

    def _kg(self, load: _Load) -> float | None:
        """Its line-haul weight: units x the order's unit_weight_kg or the material's
        kg_per_unit, whatever the fleet's capacity dimensions."""
        if load.kind == "goods":
            order = self.orders.get(load.order or "")
            return None if order is None else load.units * order.unit_weight_kg
        material = self.materials.get(load.material or "")
        return None if material is None else load.units * material.kg_per_unit

    def _legs(self) -> dict[str, Leg]:
        """The legs as they count (through known hubs, on a known lane)."""
        legs: dict[str, Leg] = {}
        for load in itertools.chain(self.loads.values(), self.extra.values()):
            hub = self.hubs.get(load.hub) if load.hub is not None else None
            if hub is None:
                continue
            lane, kg = self._lane(load, hub), self._kg(load)
            if lane is not None and kg is not None:
                on, far = lane
                km = self._km(hub.location, far)
                legs[load.id] = Leg(load.id, load.kind, hub, load.period, kg, on, far, km)
        return legs

    # -- the requests as stated ------------------------------------------------------

    def _check_requests(self) -> None:
        requests = self.section.requests
        expected_parts: dict[str, list[str]] = defaultdict(list)
        for rid in self.expected:
            expected_parts[rid.split("#")[0]].append(rid)
        stated_parts: dict[str, list[int]] = defaultdict(list)
        names: dict[int, str] = {}  # index -> the id the rules give it
        for i, r in enumerate(requests):
            if r.id in self.stated:
                self.add(
                    ViolationCode.DUPLICATE_REQUEST,
                    f"routes.requests[{i}]",
                    f"request '{r.id}' is already listed at routes.requests[{self.stated[r.id]}]",
                )
                continue
            self.stated[r.id] = i
            base, names[i] = self._canonical(i)
            stated_parts[base].append(i)
        for base, ids in expected_parts.items():
            indexes = stated_parts.get(base, [])
            if not indexes:
                parts = f" ({len(ids)} parts)" if len(ids) > 1 else ""
                self.add(
                    ViolationCode.REQUEST_MISSING,
                    "routes.requests",
                    f"request '{base}'{parts} follows from the plan but is not listed",
                )
                continue
            ids = self._choose_way(base, ids, indexes)
            if not ids:
                continue
            stated = [names[i] for i in indexes]
            if sorted(stated) == sorted(ids):
                for i in indexes:
                    expected = self.loads[names[i]]
                    self._compare(i, expected)
                    rid = requests[i].id
                    if rid != names[i]:  # REQUEST_LEG_ID: the stops name it as stated
                        del self.loads[names[i]]
                        self.loads[rid] = replace(expected, id=rid)
                continue
            units = sum(int(self.loads[rid].units) for rid in ids)
            self.add(
                ViolationCode.REQUEST_SPLIT,
                f"routes.requests[{indexes[0]}]",
                f"request '{base}' of {units} units: expected {sorted(ids)}, plan lists "
                f"{sorted(stated)}",
            )
            self._count_as_stated(ids, indexes)
        for base, indexes in stated_parts.items():
            if base in expected_parts:
                continue
            for i in indexes:
                self.add(
                    ViolationCode.REQUEST_UNKNOWN,
                    f"routes.requests[{i}]",
                    f"request '{requests[i].id}' does not follow from the plan's allocations "
                    "and purchases",
                )
                resolved = self._resolve(i)
                if resolved is not None:
                    self.extra[resolved.id] = resolved

    def _choose_way(self, base: str, ids: list[str], indexes: list[int]) -> list[str]:
        """The ids of the load ``base`` the way the plan lists it: door to door (``ids``)
        or as legs through a hub (those replace it in ``loads``). Empty when it cannot
        be compared part by part: listed both ways, or through an unknown hub."""
        requests = self.section.requests
        first = requests[indexes[0]]
        for i in indexes[1:]:
            if requests[i].hub != first.hub:
                ways = [
                    f"through hub '{h}'" if h is not None else "door to door"
                    for h in (first.hub, requests[i].hub)
                ]
                self.add(
                    ViolationCode.REQUEST_DOOR_AND_LEG,
                    f"routes.requests[{i}]",
                    f"load '{base}' is listed {ways[0]} (routes.requests[{indexes[0]}]) and "
                    f"{ways[1]}: a load goes one way",
                )
                self._count_as_stated(ids, indexes)
                return []
        if first.hub is None:
            return ids
        door = self.expected[ids[0]]
        factory = door.origin if door.kind == "goods" else door.destination
        found = [self._check_hub(i, factory) for i in indexes]  # each index reported
        hub = found[0]
        for rid in ids:
            del self.loads[rid]
            self.unlisted.discard(rid)
        if hub is None:  # no places: its load's carrier price, nothing else to compare
            parts = {rid.partition("#")[2]: self.expected[rid] for rid in ids}
            for i in indexes:
                r = requests[i]
                load = parts.get(r.id.partition("#")[2].partition("@")[0])
                self.ghosts[r.id] = load.carrier_cents if load is not None else r.carrier_cents
            return []
        legs = {leg.id: leg for leg in (self._leg(self.expected[rid], hub) for rid in ids)}
        self.loads.update(legs)
        self.expected_legs.update(legs)
        self.unlisted.update(legs)
        return list(legs)

    def _count_as_stated(self, ids: list[str], indexes: list[int]) -> None:
        """Count a load's parts as the plan states them, so a mistake is reported once."""
        template = self.expected.get(ids[0]) if ids else None
        for rid in ids:
            self.loads.pop(rid, None)
        for i in indexes:
            resolved = self._resolve(i, template)
            if resolved is not None:
                self.loads[resolved.id] = resolved

    def _compare(self, i: int, expected: _Load) -> None:
        r = self.section.requests[i]
        path = f"routes.requests[{i}]"
        fields: dict[str, str | int | None] = {
            "hub": expected.hub,
            "kind": expected.kind,
            "period": expected.period,
            "origin": expected.origin,
            "destination": expected.destination,
            "order": expected.order,
            "material": expected.material,
        }
        for name, value in fields.items():
            stated = getattr(r, name)
            if stated != value:
                self.add(
                    ViolationCode.REQUEST_MISMATCH,
                    f"{path}.{name}",
                    f"request '{r.id}': expected {value!r}, plan says {stated!r}",
                )
        if abs(r.quantity - expected.units) > QTY_TOL:
            split = "#" in r.id
            self.add(
                ViolationCode.REQUEST_SPLIT if split else ViolationCode.REQUEST_MISMATCH,
                f"{path}.quantity",
                f"request '{r.id}': {expected.units:g} units"
                + (" (the first q mod n parts get ceil(q / n))" if split else "")
                + f", plan says {r.quantity:g}",
            )
            return  # its load and price follow from the quantity
        want = expected.load
        for d in self.dims:
            if not _close(r.load.get(d, 0.0), want.get(d, 0.0)):
                self.add(
                    ViolationCode.REQUEST_LOAD,
                    f"{path}.load.{d}",
                    f"request '{r.id}': {expected.units:g} units load {want.get(d, 0.0):g} "
                    f"{d}, plan says {r.load.get(d, 0.0):g}",
                )
        if r.carrier_cents != expected.carrier_cents:
            self.add(
                ViolationCode.REQUEST_CARRIER,
                f"{path}.carrier_cents",
                f"request '{r.id}': the carrier charges {expected.carrier_cents} (max of the "
                f"minimum {self.minimum} and units x the per-unit estimate), plan says "
                f"{r.carrier_cents}",
            )

    # -- one route -------------------------------------------------------------------

    def _check_route(self, i: int, r: VehicleRoute, seen: dict[tuple[str, int], int]) -> None:
        path = f"routes.routes[{i}]"
        vehicle = self.vehicles.get(r.vehicle)
        if vehicle is None:
            self.add(
                ViolationCode.ROUTE_UNKNOWN_VEHICLE,
                f"{path}.vehicle",
                f"unknown vehicle '{r.vehicle}'",
            )
        elif r.depot != vehicle.depot:
            self.add(
                ViolationCode.ROUTE_DEPOT,
                f"{path}.depot",
                f"vehicle '{r.vehicle}' is based at '{vehicle.depot}', route says '{r.depot}'",
            )
        if not 0 <= r.period < self.periods:
            self.add(
                ViolationCode.PERIOD_OUTSIDE_HORIZON,
                f"{path}.period",
                f"route in period {r.period}, outside the horizon 0..{self.periods - 1}",
            )
        key = (r.vehicle, r.period)
        if key in seen:
            self.add(
                ViolationCode.DUPLICATE_ROUTE,
                path,
                f"vehicle '{r.vehicle}' already runs routes.routes[{seen[key]}] in period "
                f"{r.period}",
            )
        else:
            seen[key] = i
        found = self._check_stops(i, r)
        places = [p for p in found if p is not None]
        if vehicle is None or len(places) < len(found):
            # Nothing to recompute the route with: its own figures stand in.
            self.fleet += r.cost_cents
            self.km += r.distance_km
            return
        self._check_loads(path, r, vehicle)
        depot = self.depots[vehicle.depot]
        legs = [self._km(a, b) for a, b in itertools.pairwise([depot, *places, depot])]
        self._check_times(path, r, vehicle, legs, [self._hub_at(stop) for stop in r.stops])
        self._check_cost(path, r, vehicle, legs)

    def _check_stops(self, i: int, r: VehicleRoute) -> list[Location | None]:
        """Each stop's request, action, place and period; the stops' locations."""
        places: list[Location | None] = []
        for j, stop in enumerate(r.stops):
            spath = f"routes.routes[{i}].stops[{j}]"
            self.visits[stop.request].append((i, j, stop.action))
            load = self._lookup(stop.request)
            if stop.action not in (PICKUP, DELIVERY):
                self.add(
                    ViolationCode.STOP_ACTION,
                    f"{spath}.action",
                    f"action '{stop.action}' (pickup or delivery)",
                )
                places.append(None)
                continue
            if load is None:
                places.append(None)  # unknown: STOP_UNKNOWN_REQUEST or REQUEST_UNKNOWN
                continue
            pickup = stop.action == PICKUP
            place = load.origin if pickup else load.destination
            if stop.place != place:
                self.add(
                    ViolationCode.STOP_PLACE,
                    f"{spath}.place",
                    f"request '{load.id}' {stop.action} is at '{place}', stop says '{stop.place}'",
                )
            if load.period != r.period:
                self.add(
                    ViolationCode.STOP_WRONG_PERIOD,
                    f"{spath}.request",
                    f"request '{load.id}' moves in period {load.period}, the route runs in "
                    f"period {r.period}",
                )
            places.append(load.origin_at if pickup else load.destination_at)
        return places

    def _check_loads(self, path: str, r: VehicleRoute, vehicle: Vehicle) -> None:
        """``load_after`` against the requests as stated; the capacity against the true
        loads (empty when leaving the depot)."""
        stated: dict[str, float] = defaultdict(float)
        true: dict[str, float] = defaultdict(float)
        overloaded = False
        for j, stop in enumerate(r.stops):
            spath = f"{path}.stops[{j}]"
            truth = self._lookup(stop.request)
            index = self.stated.get(stop.request)
            claimed = self.section.requests[index].load if index is not None else None
            if claimed is None and truth is not None:
                claimed = truth.load
            sign = 1.0 if stop.action == PICKUP else -1.0
            for d, x in (claimed or {}).items():
                stated[d] += sign * x
            for d, x in (truth.load if truth is not None else {}).items():
                true[d] += sign * x
            for d in self.dims:
                if not _close(stop.load_after.get(d, 0.0), stated.get(d, 0.0)):
                    self.add(
                        ViolationCode.STOP_LOAD,
                        f"{spath}.load_after.{d}",
                        f"after {stop.action} of '{stop.request}' the vehicle carries "
                        f"{stated.get(d, 0.0):g} {d}, stop says {stop.load_after.get(d, 0.0):g}",
                    )
            over = self._over(vehicle, true)
            if over and not overloaded:
                overloaded = True  # reported at the first stop over the capacity
                self.add(
                    ViolationCode.ROUTE_CAPACITY,
                    f"{spath}.load_after",
                    f"vehicle '{vehicle.id}' carries {_fmt_load(over)} after this stop, over "
                    f"its capacity {_fmt_load(vehicle.capacity)}",
                )

    def _hub_at(self, stop: RouteStop) -> Hub | None:
        """The hub the stop is at: a goods leg's delivery, a material leg's pickup."""
        load = self._lookup(stop.request)
        if load is None or load.hub is None:
            return None
        at_hub = DELIVERY if load.kind == "goods" else PICKUP
        return self.hubs.get(load.hub) if stop.action == at_hub else None

    def _least_duration(
        self, r: VehicleRoute, vehicle: Vehicle, legs: list[float], hubs: list[Hub | None]
    ) -> float:
        """The least duration the route's order of stops allows, the stops at hubs within
        the hubs' hours: leaving as late as it can, waiting only where an opening hour
        makes it (the latest start of each stop backwards, then the schedule forwards)."""
        start = r.period * self.period_minutes
        windows = [
            (start + h.open_minute, start + h.close_minute)
            if h is not None
            else (start, start + self.period_minutes)
            for h in hubs
        ]
        travel = [self._minutes(km, vehicle) for km in legs]
        latest = start + vehicle.shift_end_minute - travel[-1] - self.service
        for j in reversed(range(len(windows))):
            latest = min(latest, windows[j][1])
            if j > 0:
                latest -= self.service + travel[j]
        leave = latest - travel[0]
        clock = leave
        for j, (opens, _) in enumerate(windows):
            clock = max(clock + travel[j], opens) + self.service
        return clock + travel[-1] - leave

    def _check_times(
        self,
        path: str,
        r: VehicleRoute,
        vehicle: Vehicle,
        legs: list[float],
        hubs: list[Hub | None],
    ) -> None:
        start = r.period * self.period_minutes
        shift = (start + vehicle.shift_start_minute, start + vehicle.shift_end_minute)
        who = f"vehicle '{vehicle.id}' in period {r.period}"
        if r.start_minute < shift[0]:
            self.add(
                ViolationCode.ROUTE_SHIFT,
                f"{path}.start_minute",
                f"{who} leaves at minute {r.start_minute}, before its shift starts at {shift[0]}",
            )
        if r.end_minute > shift[1]:
            self.add(
                ViolationCode.ROUTE_SHIFT,
                f"{path}.end_minute",
                f"{who} is back at minute {r.end_minute}, after its shift ends at {shift[1]}",
            )
        span = r.end_minute - r.start_minute
        if abs(r.duration_minutes - span) > TIME_TOL:
            self.add(
                ViolationCode.ROUTE_DURATION,
                f"{path}.duration_minutes",
                f"{who} runs from {r.start_minute} to {r.end_minute} ({span} min), route says "
                f"{r.duration_minutes:g} min",
            )
        longest = vehicle.max_duration_minutes
        if longest is not None and r.duration_minutes > longest + FLOAT_TOL:
            self.add(
                ViolationCode.ROUTE_MAX_DURATION,
                f"{path}.duration_minutes",
                f"{who} runs {r.duration_minutes:g} min, at most {longest} allowed",
            )
        clock = float(r.start_minute)
        travel = 0.0
        tol = TIME_TOL + LEG_TIME_TOL
        for j, stop in enumerate(r.stops):
            spath = f"{path}.stops[{j}]"
            leg = self._minutes(legs[j], vehicle)
            travel += leg
            if abs(stop.arrival_minute - (clock + leg)) > tol:
                self.add(
                    ViolationCode.STOP_ARRIVAL,
                    f"{spath}.arrival_minute",
                    f"leaves the previous place at {clock:g}, {legs[j]:.3f} km at "
                    f"{vehicle.speed_kmh:g} km/h away: arrives at {clock + leg:.2f}, stop says "
                    f"{stop.arrival_minute}",
                )
            if stop.start_minute < stop.arrival_minute:
                self.add(
                    ViolationCode.STOP_START,
                    f"{spath}.start_minute",
                    f"service starts at {stop.start_minute}, before the arrival at "
                    f"{stop.arrival_minute}",
                )
            if stop.departure_minute != stop.start_minute + self.service:
                self.add(
                    ViolationCode.STOP_DEPARTURE,
                    f"{spath}.departure_minute",
                    f"service from {stop.start_minute} takes {self.service} min: leaves at "
                    f"{stop.start_minute + self.service}, stop says {stop.departure_minute}",
                )
            if not start <= stop.start_minute <= start + self.period_minutes:
                self.add(
                    ViolationCode.STOP_OUTSIDE_PERIOD,
                    f"{spath}.start_minute",
                    f"service at minute {stop.start_minute}, outside period {r.period} "
                    f"({start}..{start + self.period_minutes})",
                )
            hub = hubs[j]
            if hub is not None and not (
                start + hub.open_minute <= stop.start_minute <= start + hub.close_minute
            ):
                self.add(
                    ViolationCode.STOP_HUB_HOURS,
                    f"{spath}.start_minute",
                    f"service at minute {stop.start_minute} at hub '{hub.id}', outside its "
                    f"hours in period {r.period} ({start + hub.open_minute}.."
                    f"{start + hub.close_minute})",
                )
            clock = float(stop.departure_minute)
        leg = self._minutes(legs[-1], vehicle)
        travel += leg
        if abs(r.end_minute - (clock + leg)) > tol:
            self.add(
                ViolationCode.ROUTE_END,
                f"{path}.end_minute",
                f"leaves the last place at {clock:g}, {legs[-1]:.3f} km from the depot: back "
                f"at {clock + leg:.2f}, route says {r.end_minute}",
            )
        # No stop but at a hub has a window inside the period: leaving as late as it
        # can, a vehicle never waits, so the least duration is the travel plus the
        # service; a hub's opening hour may make it wait.
        least = travel + self.service * len(r.stops)
        waiting = ""
        if any(h is not None for h in hubs):
            least_here = self._least_duration(r, vehicle, legs, hubs)
            if least_here > least:
                waiting = f" + {least_here - least:.2f} waiting for hubs to open"
                least = least_here
        if r.duration_minutes > least + TIME_TOL + LEG_TIME_TOL * len(legs):
            self.add(
                ViolationCode.ROUTE_WAITING,
                f"{path}.duration_minutes",
                f"{r.duration_minutes:g} min, but its stops need only {least:.2f} (travel "
                f"{travel:.2f} + {len(r.stops)} x {self.service} min service{waiting}): it "
                "should leave later instead of waiting",
            )

    def _check_cost(self, path: str, r: VehicleRoute, vehicle: Vehicle, legs: list[float]) -> None:
        km = sum(legs)
        distance = r.distance_km
        if abs(distance - km) > LEG_KM_TOL * len(legs):
            self.add(
                ViolationCode.ROUTE_DISTANCE,
                f"{path}.distance_km",
                f"{len(legs)} legs of {km:.3f} km in all, route says {distance:g}",
            )
            distance = km
        span = r.end_minute - r.start_minute
        minutes = r.duration_minutes if abs(r.duration_minutes - span) <= TIME_TOL else span
        exact = (
            vehicle.fixed_cost_cents
            + vehicle.cost_per_km_cents * distance
            + vehicle.cost_per_hour_cents * minutes / 60
        )
        cost = math.floor(exact + 0.5)
        if abs(r.cost_cents - cost) > COST_TOL:
            self.add(
                ViolationCode.ROUTE_COST,
                f"{path}.cost_cents",
                f"vehicle '{vehicle.id}': {vehicle.fixed_cost_cents} + "
                f"{vehicle.cost_per_km_cents} x {distance:.3f} km + "
                f"{vehicle.cost_per_hour_cents} x {minutes / 60:.4f} h = {exact:.2f} -> {cost}, "
                f"route says {r.cost_cents}",
            )
            self.fleet += cost
        else:
            self.fleet += r.cost_cents
        self.km += distance

    # -- every request routed once or left to the carrier ------------------------------

    def _check_coverage(self) -> None:
        routed: set[str] = set()
        for rid, visits in self.visits.items():
            if not self._known(rid):
                for i, j, _ in visits:
                    self.add(
                        ViolationCode.STOP_UNKNOWN_REQUEST,
                        f"routes.routes[{i}].stops[{j}].request",
                        f"unknown request '{rid}'",
                    )
                continue
            routed.add(rid)
            self._check_visits(rid, visits)
        listed: dict[str, int] = {}
        for k, u in enumerate(self.section.unrouted):
            path = f"routes.unrouted[{k}]"
            if not self._known(u.request):
                self.add(
                    ViolationCode.UNROUTED_UNKNOWN_REQUEST,
                    f"{path}.request",
                    f"unknown request '{u.request}'",
                )
                continue
            if u.request in listed:
                self.add(
                    ViolationCode.DUPLICATE_UNROUTED,
                    path,
                    f"request '{u.request}' is already listed at routes.unrouted"
                    f"[{listed[u.request]}]",
                )
                continue
            listed[u.request] = k
            if u.request in routed:
                i, j, _ = self.visits[u.request][0]
                self.add(
                    ViolationCode.REQUEST_ROUTED_AND_UNROUTED,
                    path,
                    f"request '{u.request}' is left to the carrier but is on "
                    f"routes.routes[{i}].stops[{j}]",
                )
            load = self._lookup(u.request)
            if load is not None:
                self._check_reason(f"{path}.reason", u.reason, load)
        for rid, i in self.stated.items():
            if rid not in routed and rid not in listed:
                self.add(
                    ViolationCode.REQUEST_NOT_ROUTED,
                    f"routes.requests[{i}]",
                    f"request '{rid}' is on no route and not in routes.unrouted",
                )
        # What the fleet does not carry goes by carrier, listed or not: legs included,
        # door to door at their load's price (docs/logistics.md).
        self.routed = routed
        self.carrier = sum(
            load.carrier_cents for rid, load in self.loads.items() if rid not in routed
        ) + sum(cents for rid, cents in self.ghosts.items() if rid not in routed)

    def _check_visits(self, rid: str, visits: list[tuple[int, int, str]]) -> None:
        """Exactly one pickup and one delivery, on one route, the pickup first."""
        ends = {
            action: [(i, j) for i, j, a in visits if a == action] for action in (PICKUP, DELIVERY)
        }
        for action, found in ends.items():
            for i, j in found[1:]:
                a, b = found[0]
                self.add(
                    ViolationCode.REQUEST_ROUTED_TWICE,
                    f"routes.routes[{i}].stops[{j}]",
                    f"request '{rid}' {action} again (first at routes.routes[{a}].stops[{b}])",
                )
        pickups, deliveries = ends[PICKUP], ends[DELIVERY]
        if not pickups or not deliveries:
            i, j, action = visits[0]
            missing = DELIVERY if pickups else PICKUP
            self.add(
                ViolationCode.REQUEST_HALF_ROUTED,
                f"routes.routes[{i}].stops[{j}]",
                f"request '{rid}' has a {action} stop but no {missing} stop",
            )
            return
        (pi, pj), (di, dj) = pickups[0], deliveries[0]
        if pi != di:
            self.add(
                ViolationCode.REQUEST_HALF_ROUTED,
                f"routes.routes[{di}].stops[{dj}]",
                f"request '{rid}' is picked up on routes.routes[{pi}] and delivered on "
                f"routes.routes[{di}]: one vehicle must do both",
            )
        elif dj < pj:
            self.add(
                ViolationCode.DELIVERY_BEFORE_PICKUP,
                f"routes.routes[{di}].stops[{dj}]",
                f"request '{rid}' is delivered at stop {dj}, before its pickup at stop {pj}",
            )
        else:
            self._check_routed_reach(rid, pi, pj)

    def _check_routed_reach(self, rid: str, i: int, j: int) -> None:
        vehicle = self.vehicles.get(self.section.routes[i].vehicle)
        load = self._lookup(rid)
        if vehicle is None or load is None:
            return
        slack = self._slack(vehicle, load)
        if slack < -(TIME_TOL + 3 * LEG_TIME_TOL):
            self.add(
                ViolationCode.ROUTED_OUT_OF_REACH,
                f"routes.routes[{i}].stops[{j}]",
                f"vehicle '{vehicle.id}' alone cannot go from its depot to '{load.origin}', "
                f"on to '{load.destination}' and back within its shift and maximum duration"
                f"{_HUB_HOURS if load.hub is not None else ''} in period {load.period}: "
                f"{-slack:.1f} min short",
            )

    def _check_reason(self, path: str, reason: UnroutedReason, load: _Load) -> None:
        """The reason is the one the instance implies (OUT_OF_REACH against
        CARRIER_CHEAPER or NOT_SEARCHED only beyond the time tolerance: rounding decides
        in between). Whether a period was searched is the solve's history, not the
        instance's: NOT_SEARCHED is accepted wherever CARRIER_CHEAPER is."""
        fleet = self.inst.fleet.vehicles
        most = self._most_units(load.per_unit)
        allowed: set[UnroutedReason]
        if not fleet:  # the stage does not run without vehicles: no reason fits
            allowed, why = set(), "the instance has no vehicle, so it has no routes section"
        elif most == 0:
            allowed = {UnroutedReason.TOO_HEAVY}
            why = f"no vehicle can carry one unit of {_fmt_load(load.per_unit)}"
        else:
            tol = TIME_TOL + 3 * LEG_TIME_TOL
            priced_out = reason in (UnroutedReason.CARRIER_CHEAPER, UnroutedReason.NOT_SEARCHED)
            slack, best = -math.inf, ""
            for vehicles in self.reach_classes.values():
                here = self._slack(vehicles[0], load)  # it reads only what the class shares
                if here < slack:
                    continue
                able = [v.id for v in vehicles if not self._over(v, load.load)]
                if able:
                    slack, best = max((slack, best), (here, max(able)))
                    if priced_out and slack >= tol:
                        return  # a vehicle reaches it: the stated reason fits

            if slack >= tol:  # reachable: priced out, or its period never searched
                allowed = {UnroutedReason.CARRIER_CHEAPER, UnroutedReason.NOT_SEARCHED}
                why = (
                    f"vehicle '{best}' can carry it and go from its depot to '{load.origin}', "
                    f"on to '{load.destination}' and back with {slack:.1f} min to spare"
                )
            elif slack < -tol:
                allowed = {UnroutedReason.OUT_OF_REACH}
                why = "no vehicle able to carry it can make the trip alone within its shift" + (
                    _HUB_HOURS if load.hub is not None else ""
                )
            else:
                allowed = {
                    UnroutedReason.OUT_OF_REACH,
                    UnroutedReason.CARRIER_CHEAPER,
                    UnroutedReason.NOT_SEARCHED,
                }
                why = "it is within rounding of the shift"
        if reason not in allowed:
            self.add(
                ViolationCode.UNROUTED_REASON,
                path,
                f"request '{load.id}' is {reason.value}, but {why}",
            )

    # -- reported figures ------------------------------------------------------------

    def _check_totals(self) -> None:
        s = self.section
        figures = {
            "fleet_cents": self.fleet,
            "carrier_cents": self.carrier,
            "line_haul_cents": self.line_haul,
            "handling_cents": self.handling,
            "estimate_cents": sum(load.carrier_cents for load in self.loads.values())
            + sum(self.ghosts.values()),
            "vehicles_used": len(s.routes),
            "service_minutes": self.service,
        }
        for name, expected in figures.items():
            stated = getattr(s, name)
            if stated != expected:
                self.add(
                    ViolationCode.ROUTING_TOTALS,
                    f"routes.{name}",
                    f"recomputed {expected}, plan says {stated}",
                )
        if abs(s.distance_km - self.km) > LEG_KM_TOL * max(1, len(s.routes)):
            self.add(
                ViolationCode.ROUTING_TOTALS,
                "routes.distance_km",
                f"routes cover {self.km:.3f} km, plan says {s.distance_km:g}",
            )
