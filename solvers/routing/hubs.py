"""Hubs, legs and line-haul (docs/logistics.md): which loads the routing stage offers
through a hub, and what the carried legs cost beyond it.

The rules (a factory's hub, the lanes, the line-haul's modes and rounding, the hubs'
handling) are written once in docs/logistics.md and re-derived by the checker. The
choice of the loads offered through a hub is the stage's own (its last section): per
hub and period, a load goes there when its estimated onward cost (handling plus its
weight's share of its lane's shipment, costed as if every load that could use the lane
in the period did) is below its carrier charge; a hub's ``capacity_kg`` takes the
largest savings per kg first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from matcher.domain.entities import Hub, Location
from matcher.domain.geo import LineHaulCost, line_haul_cost, nearest_hub, road_km
from matcher.domain.instance import Instance
from matcher.domain.plan import HubUse, LineHaulShipment
from solvers.routing.requests import Load, Place, copied

LaneKey = tuple[str, str, str, float | None, float | None]
"""(kind, origin id, destination id, and for goods to an address without a region that
address's lat and lon): the goods of every buyer delivered in one region share a lane."""


def factory_hubs(instance: Instance) -> dict[str, Hub]:
    """Each factory's hub: the nearest within its reach (ties: the first listed)."""
    hubs, transport = instance.fleet.hubs, instance.transport
    out: dict[str, Hub] = {}
    if not hubs:
        return out
    for f in instance.factories:
        hub = nearest_hub(f.location, hubs, transport)
        if hub is not None:
            out[f.id] = hub
    return out


@dataclass(frozen=True)
class Lane:
    kind: str  # goods | material
    origin: str  # hub (goods) or supplier (material)
    destination: str  # buyers' region, or the buyer for an address without one (goods); hub
    address: Location | None  # goods to an address without a region: that address
    hub: Hub

    @property
    def key(self) -> LaneKey:
        at = self.address
        return (
            self.kind,
            self.origin,
            self.destination,
            None if at is None else at.lat,
            None if at is None else at.lon,
        )


def _far(load: Load) -> Location:
    """Where a load's line-haul runs beyond the hub: the order's delivery address
    (goods) or the supplier (material)."""
    if load.kind == "goods":
        return (load.beyond or load.destination).location
    return (load.beyond or load.origin).location


def _lane(load: Load, hub: Hub, buyer_of: dict[str, str]) -> Lane:
    """The lane a load (or its leg) would take beyond ``hub``."""
    if load.kind == "goods":
        far = _far(load)
        if far.region is not None:
            return Lane("goods", hub.id, far.region, None, hub)
        assert load.order is not None
        return Lane("goods", hub.id, buyer_of[load.order], far, hub)
    origin = load.beyond or load.origin
    return Lane("material", origin.id, hub.id, None, hub)


@dataclass
class Bundle:
    """What one lane carries in one period: kg, tonne-km, the farthest km, the drops."""

    kg: float = 0.0
    tonne_km: float = 0.0
    km: float = 0.0
    addresses: set[tuple[float, float]] = field(default_factory=set)

    def add(self, kg: float, hub: Hub, far: Location, instance: Instance) -> None:
        km = road_km(hub.location, far, instance.transport)
        self.kg += kg
        self.tonne_km += kg / 1000 * km
        self.km = max(self.km, km)
        self.addresses.add((far.lat, far.lon))

    def cost(self, instance: Instance) -> LineHaulCost:
        return line_haul_cost(
            self.kg,
            self.km,
            instance.transport.line_haul_rates,
            tonne_km=self.tonne_km,
            drops=len(self.addresses),
        )


def as_leg(load: Load, hub: Hub, onward_per_kg: float = 0.0) -> Load:
    """``load`` through ``hub``: goods delivered there, materials picked up there."""
    at = Place("hub", hub.id, hub.location)
    goods = load.kind == "goods"
    return copied(
        load,
        id=f"{load.id}@{hub.id}",
        hub=hub.id,
        onward_per_kg=onward_per_kg,
        origin=load.origin if goods else at,
        destination=at if goods else load.destination,
        beyond=load.destination if goods else load.origin,
    )


@dataclass
class Choice:
    """The stage's loads with the legs in place of the loads offered through hubs."""

    loads: list[Load]
    offered: int = 0
    estimate_per_kg: dict[tuple[LaneKey, int], float] = field(default_factory=dict)
    """Per lane and period, the estimated shipment cost per kg (every candidate on it)."""


Carriable = Callable[[list[Load]], set[str]]
"""Given candidate legs (unsplit), the ids of those the fleet could carry at all (every
part of the split leg fits some vehicle and is within a day route's reach)."""


def choose(instance: Instance, loads: Sequence[Load], carriable: Carriable) -> Choice:
    """docs/logistics.md "The stage's choice": which loads to offer through their hub.

    Candidates are the loads of factories with a hub whose leg the fleet could carry
    (``carriable``) and that weigh something. Per lane and period the shipment is
    costed on every candidate; a candidate's onward cost is its handling plus its
    weight's share of that; it is offered when that is below its carrier charge and,
    where a hub's ``capacity_kg`` cannot take every such load in a period, by the
    largest saving per kg first while it fits."""
    hubs = factory_hubs(instance)
    if not hubs:
        return Choice(list(loads))
    buyer_of = {o.id: o.buyer for o in instance.orders}
    candidates: dict[int, Lane] = {}
    for k, load in enumerate(loads):
        factory = load.origin if load.kind == "goods" else load.destination
        hub = hubs.get(factory.id)
        if hub is not None and load.kg > 0:
            candidates[k] = _lane(load, hub, buyer_of)
    legs = {k: as_leg(loads[k], lane.hub) for k, lane in candidates.items()}
    able = carriable(list(legs.values()))
    candidates = {k: lane for k, lane in candidates.items() if legs[k].id in able}

    bundles: dict[tuple[LaneKey, int], Bundle] = defaultdict(Bundle)
    for k, lane in candidates.items():
        load = loads[k]
        bundles[(lane.key, load.period)].add(load.kg, lane.hub, _far(load), instance)
    per_kg = {key: b.cost(instance).cents / b.kg for key, b in bundles.items()}

    # (hub, period) -> [(saving per kg, k, onward per kg)]
    offers: dict[tuple[str, int], list[tuple[float, int, float]]] = defaultdict(list)
    for k, lane in candidates.items():
        load = loads[k]
        onward = lane.hub.handling_cents_per_kg + per_kg[(lane.key, load.period)]
        if onward * load.kg < load.carrier_cents:
            saving = (load.carrier_cents - onward * load.kg) / load.kg
            offers[(lane.hub.id, load.period)].append((saving, k, onward))
    by_id = {h.id: h for h in instance.fleet.hubs}
    chosen: dict[int, float] = {}
    for (hub_id, _), found in offers.items():
        cap = by_id[hub_id].capacity_kg
        used = 0.0
        for _, k, onward in sorted(found, key=lambda o: (-o[0], o[1])):
            if cap is not None and used + loads[k].kg > cap:
                continue  # a lighter load further down may still fit
            used += loads[k].kg
            chosen[k] = onward
    out = [
        copied(legs[k], onward_per_kg=chosen[k]) if k in chosen else load
        for k, load in enumerate(loads)
    ]
    return Choice(out, len(chosen), per_kg)


@dataclass
class Beyond:
    """What the carried legs cost beyond the hubs, and the stage's notes on it."""

    line_haul: list[LineHaulShipment]
    hub_use: list[HubUse]
    notes: list[str]

    @property
    def line_haul_cents(self) -> int:
        return sum(s.cost_cents for s in self.line_haul)

    @property
    def handling_cents(self) -> int:
        return sum(u.handling_cents for u in self.hub_use)


def settle(
    instance: Instance, requests: Sequence[Load], unrouted: set[str], choice: Choice
) -> Beyond:
    """The line-haul shipments (one per lane and period) and the hubs' use for the legs
    the fleet carries; a leg left unrouted goes door to door by carrier and pays
    neither."""
    by_id = {h.id: h for h in instance.fleet.hubs}
    buyer_of = {o.id: o.buyer for o in instance.orders}
    lanes: dict[tuple[LaneKey, int], tuple[Lane, list[Load], Bundle]] = {}
    use: dict[tuple[str, int], list[float]] = {}
    carried = 0
    for r in requests:
        if r.hub is None or r.id in unrouted:
            continue
        carried += 1
        hub = by_id[r.hub]
        lane = _lane(r, hub, buyer_of)
        _, legs, bundle = lanes.setdefault((lane.key, r.period), (lane, [], Bundle()))
        legs.append(r)
        bundle.add(r.kg, hub, _far(r), instance)
        kg = use.setdefault((hub.id, r.period), [0.0, 0.0])
        kg[0 if r.kind == "goods" else 1] += r.kg
    shipments = []
    dearer = 0
    for (key, period), (lane, legs, bundle) in lanes.items():
        cost = bundle.cost(instance)
        estimate = choice.estimate_per_kg.get((key, period))
        if estimate is not None and cost.cents > estimate * bundle.kg * (1 + 1e-9) + 1e-9:
            dearer += 1
        shipments.append(
            LineHaulShipment(
                kind=lane.kind,
                origin=lane.origin,
                destination=lane.destination,
                period=period,
                requests=sorted(r.id for r in legs),
                weight_kg=bundle.kg,
                distance_km=bundle.km,
                drops=len(bundle.addresses),
                tonne_km=bundle.tonne_km,
                mode=cost.mode,
                trucks=cost.trucks,
                cost_cents=cost.cents,
            )
        )
    shipments.sort(key=lambda s: (s.period, s.kind, s.origin, s.destination, s.requests))
    hub_use = [
        HubUse(
            hub=hub_id,
            period=period,
            goods_kg=goods,
            material_kg=material,
            handling_cents=math.floor(
                (goods + material) * by_id[hub_id].handling_cents_per_kg + 0.5
            ),
        )
        for (hub_id, period), (goods, material) in sorted(use.items())
    ]
    notes = []
    if instance.fleet.hubs:
        notes.append(
            f"hubs: {choice.offered} load(s) offered through a hub, {carried} leg(s) carried "
            f"by the fleet (the others door to door by carrier), {len(shipments)} line-haul "
            f"shipment(s); {dearer} lane-period(s) cost more per kg than estimated (the "
            "estimate counts every load that could use the lane; fewer went on it)"
        )
    return Beyond(shipments, hub_use, notes)
