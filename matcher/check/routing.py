"""The routes section (docs/routing.md), recomputed from first principles.

The transport requests are re-derived from the plan's allocations and purchases, and
each is checked to be carried once by the fleet or left to the carrier for a reason
the instance bears out; every route's shift, travel times, loads, distance and cost
from the instance's places and vehicles. :func:`check_routing` sets the transport the
routes and the carrier cost, which replaces the per-unit estimates in the totals.
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
from matcher.check.state import CheckState, PlanPart
from matcher.domain.entities import Location, Vehicle
from matcher.domain.plan import Routing, UnroutedReason, VehicleRoute


def check_routing(checker: CheckState) -> None:
    """The routes section, when the stage ran (docs/routing.md)."""
    if checker.plan.routes is None:
        return
    routing = _RoutingChecker(checker, checker.plan.routes)
    routing.run()
    checker.totals.routed = routing.transport


PICKUP, DELIVERY = "pickup", "delivery"


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
        self.expected = self._expected(checker.delivering_parts())
        # Requests by id as they count: the expected ones, except that a request split
        # otherwise than the rules say counts as the plan states its parts.
        self.loads: dict[str, _Load] = dict(self.expected)
        self.extra: dict[str, _Load] = {}  # requests that do not follow from the plan
        self.stated: dict[str, int] = {}  # id -> first index into routes.requests
        self.visits: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.fleet = 0
        self.carrier = 0
        self.km = 0.0

    @property
    def transport(self) -> int:
        return self.fleet + self.carrier

    def run(self) -> None:
        self._check_requests()
        seen: dict[tuple[str, int], int] = {}
        for i, route in enumerate(self.section.routes):
            self._check_route(i, route, seen)
        self._check_coverage()
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
        delivered = vehicle.shift_start_minute + to_pickup + self.service + across
        return min(limit - need, self.period_minutes - delivered)

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

    def _resolve(self, i: int) -> _Load | None:
        """A stated request that does not follow from the plan, as stated (``None`` when
        its places are unknown)."""
        r = self.section.requests[i]
        ends: tuple[Location, Location] | None = None
        if r.kind == "goods":
            factory, order = self.factories.get(r.origin), self.orders.get(r.destination)
            if factory is not None and order is not None:
                ends = (factory.location, order.delivery)
        elif r.kind == "material":
            supplier, factory = self.suppliers.get(r.origin), self.factories.get(r.destination)
            if supplier is not None and factory is not None:
                ends = (supplier.location, factory.location)
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
        )

    def _lookup(self, rid: str) -> _Load | None:
        """The request as it counts; a part the plan split otherwise is still known."""
        return self.loads.get(rid) or self.extra.get(rid) or self.expected.get(rid)

    def _known(self, rid: str) -> bool:
        return rid in self.stated or rid in self.expected

    # -- the requests as stated ------------------------------------------------------

    def _check_requests(self) -> None:
        requests = self.section.requests
        expected_parts: dict[str, list[str]] = defaultdict(list)
        for rid in self.expected:
            expected_parts[rid.split("#")[0]].append(rid)
        stated_parts: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            if r.id in self.stated:
                self.add(
                    ViolationCode.DUPLICATE_REQUEST,
                    f"routes.requests[{i}]",
                    f"request '{r.id}' is already listed at routes.requests[{self.stated[r.id]}]",
                )
                continue
            self.stated[r.id] = i
            stated_parts[r.id.split("#")[0]].append(i)
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
            names = [requests[i].id for i in indexes]
            if sorted(names) == sorted(ids):
                for i in indexes:
                    self._compare(i, self.expected[requests[i].id])
                continue
            units = sum(int(self.expected[rid].units) for rid in ids)
            self.add(
                ViolationCode.REQUEST_SPLIT,
                f"routes.requests[{indexes[0]}]",
                f"request '{base}' of {units} units: expected {sorted(ids)}, plan lists "
                f"{sorted(names)}",
            )
            # Count the parts as the plan states them, so the mistake is reported once.
            for rid in ids:
                del self.loads[rid]
            for i in indexes:
                resolved = self._resolve(i)
                if resolved is not None:
                    self.loads[resolved.id] = resolved
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

    def _compare(self, i: int, expected: _Load) -> None:
        r = self.section.requests[i]
        path = f"routes.requests[{i}]"
        fields: dict[str, str | int | None] = {
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
        self._check_times(path, r, vehicle, legs)
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

    def _check_times(self, path: str, r: VehicleRoute, vehicle: Vehicle, legs: list[float]) -> None:
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
        # No stop has a window inside the period: leaving as late as it can, a vehicle
        # never waits, so the least duration is the travel plus the service.
        least = travel + self.service * len(r.stops)
        if r.duration_minutes > least + TIME_TOL + LEG_TIME_TOL * len(legs):
            self.add(
                ViolationCode.ROUTE_WAITING,
                f"{path}.duration_minutes",
                f"{r.duration_minutes:g} min, but its stops need only {least:.2f} (travel "
                f"{travel:.2f} + {len(r.stops)} x {self.service} min service): it should leave "
                "later instead of waiting",
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
        # What the fleet does not carry goes by carrier, listed or not.
        self.carrier = sum(
            load.carrier_cents for rid, load in self.loads.items() if rid not in routed
        )

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
                f"on to '{load.destination}' and back within its shift and maximum duration "
                f"in period {load.period}: {-slack:.1f} min short",
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
                why = "no vehicle able to carry it can make the trip alone within its shift"
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
            "estimate_cents": sum(load.carrier_cents for load in self.loads.values()),
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
