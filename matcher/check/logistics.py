"""Hubs, line-haul and the hubs' use (docs/logistics.md), recomputed from first principles.

The routes section (:mod:`~matcher.check.routing`) re-derives the transport requests,
the legs through hubs among them, and which of them the fleet carries; this module
holds what the rules of docs/logistics.md add on top: which hub serves a factory, the
lanes (goods to a buyers' region), the line-haul shipments (one per lane and period,
their weight, farthest distance, drops, tonne-km, mode, trucks and cost) and the hubs'
use per period (kg in and out, handling, capacity). The line-haul and handling totals
it returns are the rules' own: what the carried legs cost grouped as the rules group
them, whatever the plan's shipments say.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matcher.check.codes import FIT_TOL, FLOAT_TOL, LEG_KM_TOL, LOAD_TOL, ViolationCode
from matcher.check.figures import haversine_km
from matcher.domain.entities import Hub, LineHaul, Location
from matcher.domain.instance import Instance
from matcher.domain.plan import LineHaulShipment, Routing

FTL, LTL, MIXED = "ftl", "ltl", "ftl+ltl"

AddViolation = Callable[[ViolationCode, str, str], None]
RoadKm = Callable[[Location, Location], float]


def road_km(instance: Instance, a: Location, b: Location) -> float:
    """docs/routing.md's road distance: haversine km x ``transport.road_factor``."""
    return haversine_km(a, b) * instance.transport.road_factor


def factory_hubs(instance: Instance) -> dict[str, Hub]:
    """Each factory's hub: the nearest hub within its ``reach_km`` by road (ties: the
    first in ``fleet.hubs``). Factories without one are left out."""
    hubs: dict[str, Hub] = {}
    for factory in instance.factories:
        best: tuple[float, Hub] | None = None
        for hub in instance.fleet.hubs:
            km = road_km(instance, factory.location, hub.location)
            if km <= hub.reach_km and (best is None or km < best[0]):
                best = (km, hub)
        if best is not None:
            hubs[factory.id] = best[1]
    return hubs


def no_hub_reason(instance: Instance, factory_at: Location) -> str:
    """Why a factory has no hub: the nearest hub and its reach, or no hubs at all."""
    if not instance.fleet.hubs:
        return "the instance has no hubs"
    km, hub = min(
        ((road_km(instance, factory_at, h.location), h) for h in instance.fleet.hubs),
        key=lambda x: x[0],
    )
    return (
        f"no hub is within reach (the nearest, '{hub.id}', is {km:.3f} road km away, its "
        f"reach_km {hub.reach_km:g})"
    )


LaneKey = tuple[str, str, str, int, float | None, float | None]


@dataclass(frozen=True)
class Lane:
    """Where a line-haul shipment goes, and in which period: goods from a hub to a
    buyers' region (the delivery location's ``region``; a delivery location without one
    is a lane of its own, to the order's buyer), materials from a supplier to a hub."""

    kind: str
    origin: str
    destination: str
    period: int
    address: Location | None = None  # goods to a delivery location without a region

    @property
    def key(self) -> LaneKey:
        at = self.address
        lat, lon = (None, None) if at is None else (at.lat, at.lon)
        return (self.kind, self.origin, self.destination, self.period, lat, lon)

    def __str__(self) -> str:
        at = self.address
        where = "" if at is None else f" at ({at.lat:g}, {at.lon:g})"
        return f"{self.kind} '{self.origin}' -> '{self.destination}'{where} in period {self.period}"


@dataclass(frozen=True)
class Leg:
    """A request through a hub, as the routes section counts it."""

    id: str
    kind: str
    hub: Hub
    period: int
    kg: float  # units x the order's unit_weight_kg or the material's kg_per_unit
    lane: Lane
    far: Location  # the line-haul's other end: the delivery address or the supplier
    km: float  # road km between the hub and ``far``


@dataclass(frozen=True)
class Shipping:
    """The line-haul of some legs: their kg, the farthest leg's km, their tonne-km (each
    leg's tonnes over its own km), the distinct delivery addresses; each mode's exact
    cost (ltl; ftl; ftl+ltl, full trucks and the remainder less than a truckload, only
    when the weight is over a truck's and not a whole number of trucks) and which mode
    the rules pick (the cheapest, the first of ltl, ftl, ftl+ltl on a tie; any within
    float noise of the cheapest is allowed)."""

    kg: float
    km: float
    tonne_km: float
    drops: int
    trucks: int  # ftl's
    full: int  # ftl+ltl's full trucks
    costs: dict[str, float]  # mode -> exact cost, in the rules' order of preference

    @classmethod
    def of(
        cls,
        rates: LineHaul,
        kg: float,
        km: float,
        *,
        tonne_km: float | None = None,
        drops: int = 1,
    ) -> Shipping:
        """``kg`` over ``km`` (the farthest leg); ``tonne_km`` defaults to all of it
        over ``km``, as for one address."""
        if tonne_km is None:
            tonne_km = kg / 1000 * km
        cap = rates.truck_capacity_kg
        stops = (drops - 1) * rates.stop_cents
        trucks = max(1, math.ceil(kg / cap - FIT_TOL))
        costs = {
            LTL: max(float(rates.ltl_min_cents), tonne_km * rates.ltl_cents_per_tonne_km),
            FTL: trucks * km * rates.truck_cents_per_km + stops,
        }
        full = math.floor(kg / cap + FIT_TOL)
        rest = kg - full * cap
        if full >= 1 and rest > FIT_TOL * cap:
            remainder = rest / kg * tonne_km * rates.ltl_cents_per_tonne_km
            costs[MIXED] = (
                full * km * rates.truck_cents_per_km
                + stops
                + max(float(rates.ltl_min_cents), remainder)
            )
        return cls(kg, km, tonne_km, drops, trucks, full, costs)

    @property
    def mode(self) -> str:
        return min(self.costs, key=lambda m: self.costs[m])  # the first on a tie

    @property
    def modes(self) -> set[str]:
        """The modes the rules allow: the cheapest, any other within noise of it."""
        best = self.costs[self.mode]
        return {m for m, c in self.costs.items() if c - best <= FLOAT_TOL * max(1.0, best)}

    def trucks_in(self, mode: str) -> int:
        return {FTL: self.trucks, MIXED: self.full}.get(mode, 0)

    def cents_in(self, mode: str) -> int:
        return math.floor(self.costs[mode] + 0.5)

    @property
    def cents(self) -> int:
        return self.cents_in(self.mode)

    def explain(self, rates: LineHaul) -> str:
        stops = f" + {self.drops - 1} more drop(s) x {rates.stop_cents}" if self.drops > 1 else ""
        text = (
            f"{self.kg:g} kg, farthest {self.km:.3f} km, {self.tonne_km:.3f} t-km: ltl "
            f"max({rates.ltl_min_cents}, {self.tonne_km:.3f} t-km x "
            f"{rates.ltl_cents_per_tonne_km:g} c/t-km) = {self.costs[LTL]:.2f}, ftl "
            f"{self.trucks} truck(s) x {rates.truck_cents_per_km} c/km{stops} = "
            f"{self.costs[FTL]:.2f}"
        )
        if MIXED in self.costs:
            text += (
                f", ftl+ltl {self.full} truck(s){stops} and the remainder's share of the "
                f"tonne-km by ltl = {self.costs[MIXED]:.2f}"
            )
        return text


def _close(stated: float, expected: float) -> bool:
    return abs(stated - expected) <= LOAD_TOL * max(1.0, abs(expected))


def check_logistics(
    add: AddViolation,
    instance: Instance,
    section: Routing,
    legs: dict[str, Leg],
    carried: set[str],
) -> tuple[int, int]:
    """The line-haul shipments and the hubs' use against the carried ``legs``; returns
    the recomputed (line-haul, handling) cents."""
    if not instance.fleet.hubs:
        for k in range(len(section.line_haul)):
            add(
                ViolationCode.NO_HUBS,
                f"routes.line_haul[{k}]",
                "the instance has no hubs: nothing goes by line-haul",
            )
        for k in range(len(section.hub_use)):
            add(
                ViolationCode.NO_HUBS,
                f"routes.hub_use[{k}]",
                "the instance has no hubs: no hub is used",
            )
        return 0, 0
    on = {rid: leg for rid, leg in legs.items() if rid in carried}
    line_haul = _LineHaulChecker(add, instance, legs, on).run(section.line_haul)
    handling = _check_hub_use(add, instance, section, on)
    return line_haul, handling


class _LineHaulChecker:
    def __init__(
        self, add: AddViolation, instance: Instance, legs: dict[str, Leg], on: dict[str, Leg]
    ) -> None:
        self.add = add
        self.inst = instance
        self.rates = instance.transport.line_haul_rates
        self.legs = legs
        self.on = on

    def _shipping(self, legs: Sequence[Leg]) -> Shipping:
        """One shipment of ``legs`` (one lane and period): the farthest leg's km, each
        leg's tonnes over its own km, the distinct addresses."""
        return Shipping.of(
            self.rates,
            sum(leg.kg for leg in legs),
            max(leg.km for leg in legs),
            tonne_km=sum(leg.kg / 1000 * leg.km for leg in legs),
            drops=len({(leg.far.lat, leg.far.lon) for leg in legs}),
        )

    def run(self, shipments: Sequence[LineHaulShipment]) -> int:
        assigned: dict[str, int] = {}
        lanes: dict[LaneKey, int] = {}
        for k, s in enumerate(shipments):
            self._check_shipment(k, s, assigned, lanes)
        by_lane: dict[LaneKey, list[Leg]] = defaultdict(list)
        for rid, leg in self.on.items():
            by_lane[leg.lane.key].append(leg)
            if rid not in assigned:
                self.add(
                    ViolationCode.LINE_HAUL_MISSING,
                    "routes.line_haul",
                    f"leg '{rid}' is carried by the fleet but in no line-haul shipment (its "
                    f"lane: {leg.lane})",
                )
        # The rules' cost: one shipment per lane and period of every carried leg.
        return sum(self._shipping(group).cents for group in by_lane.values())

    def _check_shipment(
        self,
        k: int,
        s: LineHaulShipment,
        assigned: dict[str, int],
        lanes: dict[LaneKey, int],
    ) -> None:
        path = f"routes.line_haul[{k}]"
        here: list[tuple[int, Leg]] = []
        for j, rid in enumerate(s.requests):
            rpath = f"{path}.requests[{j}]"
            leg = self.legs.get(rid)
            if leg is None:
                self.add(
                    ViolationCode.LINE_HAUL_UNKNOWN_REQUEST,
                    rpath,
                    f"'{rid}' is no request through a hub (a leg): only legs go by line-haul",
                )
                continue
            if rid in assigned:
                self.add(
                    ViolationCode.LINE_HAUL_TWICE,
                    rpath,
                    f"leg '{rid}' is already in routes.line_haul[{assigned[rid]}]",
                )
                continue
            assigned[rid] = k
            if rid not in self.on:
                self.add(
                    ViolationCode.LINE_HAUL_UNCARRIED,
                    rpath,
                    f"leg '{rid}' is on no route: it goes door to door by carrier at its "
                    "carrier_cents, not by line-haul",
                )
                continue
            here.append((j, leg))
        if not here:
            self.add(
                ViolationCode.LINE_HAUL_EMPTY,
                f"{path}.requests",
                "the shipment carries no leg the fleet carries",
            )
            return
        lane = here[0][1].lane
        for j, leg in here[1:]:
            if leg.lane.key != lane.key:
                self.add(
                    ViolationCode.LINE_HAUL_LANE,
                    f"{path}.requests[{j}]",
                    f"leg '{leg.id}' is on lane {leg.lane}, the shipment's first leg "
                    f"'{here[0][1].id}' on lane {lane}",
                )
        stated: dict[str, str | int] = {
            "kind": lane.kind,
            "origin": lane.origin,
            "destination": lane.destination,
            "period": lane.period,
        }
        for name, value in stated.items():
            if getattr(s, name) != value:
                self.add(
                    ViolationCode.LINE_HAUL_LANE,
                    f"{path}.{name}",
                    f"its legs are on lane {lane}: expected {value!r}, plan says "
                    f"{getattr(s, name)!r}",
                )
        if lane.key in lanes:
            self.add(
                ViolationCode.LINE_HAUL_DUPLICATE,
                path,
                f"lane {lane} already has routes.line_haul[{lanes[lane.key]}]: one shipment "
                "per lane and period",
            )
        else:
            lanes[lane.key] = k
        self._check_figures(path, s, self._shipping([g for _, g in here if g.lane.key == lane.key]))

    def _check_figures(self, path: str, s: LineHaulShipment, ship: Shipping) -> None:
        if not _close(s.weight_kg, ship.kg):
            self.add(
                ViolationCode.LINE_HAUL_WEIGHT,
                f"{path}.weight_kg",
                f"its legs weigh {ship.kg:g} kg (units x unit_weight_kg or kg_per_unit), "
                f"plan says {s.weight_kg:g}",
            )
        if abs(s.distance_km - ship.km) > LEG_KM_TOL:
            self.add(
                ViolationCode.LINE_HAUL_DISTANCE,
                f"{path}.distance_km",
                f"its farthest leg is {ship.km:.3f} road km from the hub, plan says "
                f"{s.distance_km:g}",
            )
        if s.tonne_km is not None and abs(s.tonne_km - ship.tonne_km) > LEG_KM_TOL * max(
            1.0, ship.kg / 1000
        ):
            self.add(
                ViolationCode.LINE_HAUL_DISTANCE,
                f"{path}.tonne_km",
                f"its legs' tonnes times their own road km come to {ship.tonne_km:.3f}, plan "
                f"says {s.tonne_km:g}",
            )
        if s.drops != ship.drops:
            self.add(
                ViolationCode.LINE_HAUL_DROPS,
                f"{path}.drops",
                f"its legs go to {ship.drops} distinct address(es), plan says {s.drops}",
            )
        if s.mode not in ship.modes:
            self.add(
                ViolationCode.LINE_HAUL_MODE,
                f"{path}.mode",
                f"{ship.explain(self.rates)}: {ship.mode} (the cheapest; ltl, then ftl on a "
                f"tie), plan says {s.mode!r}",
            )
        # Trucks and cost as the stated mode has them, so a wrong mode is reported once.
        mode = s.mode if s.mode in ship.costs else ship.mode
        if s.trucks != ship.trucks_in(mode):
            self.add(
                ViolationCode.LINE_HAUL_MODE,
                f"{path}.trucks",
                f"{mode} of {ship.kg:g} kg takes {ship.trucks_in(mode)} truck(s) (max(1, ceil"
                f"(kg / {self.rates.truck_capacity_kg:g})) for ftl, the full ones for "
                f"ftl+ltl, 0 for ltl), plan says {s.trucks}",
            )
        if s.cost_cents != ship.cents_in(mode):
            self.add(
                ViolationCode.LINE_HAUL_COST,
                f"{path}.cost_cents",
                f"{ship.explain(self.rates)}: {mode} -> {ship.cents_in(mode)}, plan says "
                f"{s.cost_cents}",
            )


def _check_hub_use(
    add: AddViolation, instance: Instance, section: Routing, on: dict[str, Leg]
) -> int:
    """One row per hub and period with a carried leg; returns the recomputed handling."""
    hubs = {h.id: h for h in instance.fleet.hubs}
    use: dict[tuple[str, int], list[float]] = {}
    for leg in on.values():
        sums = use.setdefault((leg.hub.id, leg.period), [0.0, 0.0])
        sums[0 if leg.kind == "goods" else 1] += leg.kg
    rows: dict[tuple[str, int], int] = {}
    for k, u in enumerate(section.hub_use):
        path = f"routes.hub_use[{k}]"
        key = (u.hub, u.period)
        if u.hub not in hubs:
            add(ViolationCode.HUB_USE_UNKNOWN, f"{path}.hub", f"unknown hub '{u.hub}'")
            continue
        if key in rows:
            add(
                ViolationCode.HUB_USE_DUPLICATE,
                path,
                f"hub '{u.hub}' in period {u.period} is already routes.hub_use[{rows[key]}]",
            )
            continue
        rows[key] = k
        if key not in use:
            add(
                ViolationCode.HUB_USE_UNKNOWN,
                path,
                f"hub '{u.hub}' handles no leg the fleet carries in period {u.period}",
            )
            continue
        goods, material = use[key]
        for name, kg, what in (
            ("goods_kg", goods, "goods legs in"),
            ("material_kg", material, "material legs out"),
        ):
            if not _close(getattr(u, name), kg):
                add(
                    ViolationCode.HUB_USE_FIGURES,
                    f"{path}.{name}",
                    f"the carried {what} weigh {kg:g} kg, plan says {getattr(u, name):g}",
                )
        hub = hubs[u.hub]
        cents = _handling(hub, goods + material)
        if u.handling_cents != cents:
            add(
                ViolationCode.HUB_HANDLING,
                f"{path}.handling_cents",
                f"{goods + material:g} kg x {hub.handling_cents_per_kg:g} c/kg -> {cents}, plan "
                f"says {u.handling_cents}",
            )
    total = 0
    for (hid, period), (goods, material) in sorted(use.items()):
        hub = hubs[hid]
        total += _handling(hub, goods + material)
        where = f"routes.hub_use[{rows[(hid, period)]}]" if (hid, period) in rows else None
        if where is None:
            add(
                ViolationCode.HUB_USE_MISSING,
                "routes.hub_use",
                f"hub '{hid}' handles {goods:g} kg of goods and {material:g} kg of materials "
                f"the fleet carries in period {period}, but has no row",
            )
        cap = hub.capacity_kg
        if cap is not None and goods + material > cap * (1 + LOAD_TOL) + LOAD_TOL:
            add(
                ViolationCode.HUB_CAPACITY,
                where or "routes.hub_use",
                f"hub '{hid}' handles {goods + material:g} kg in period {period}, over its "
                f"capacity_kg {cap:g}",
            )
    return total


def _handling(hub: Hub, kg: float) -> int:
    return math.floor(kg * hub.handling_cents_per_kg + 0.5)
