"""Transport requests derived from a plan: goods to buyers, materials to factories.

The rules (which period, which load, how a load too big for one vehicle is split,
what the carrier would charge) are written once in docs/routing.md and re-derived
independently by the checker.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.domain.entities import Location, Vehicle
from matcher.domain.geo import transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.plan import Allocation, Purchasing

WEIGHT, VOLUME = "weight_kg", "volume_m3"


@dataclass(frozen=True)
class Place:
    role: str  # factory, order (the buyer's address), supplier, depot or hub
    id: str
    location: Location


@dataclass(frozen=True)
class Load:
    """One request of docs/routing.md, before or after splitting.

    A *leg* (docs/logistics.md) has ``hub`` set: its origin (material) or destination
    (goods) is then the hub, ``beyond`` the place the line-haul serves (the order's
    delivery address or the supplier), and ``onward_per_kg`` the stage's estimate of
    the line-haul share and handling per kg beyond the hub."""

    id: str
    kind: str  # goods | material
    period: int
    origin: Place
    destination: Place
    units: int
    per_unit: dict[str, float]  # load of one unit per capacity dimension
    carrier_per_unit: int  # cents
    carrier_min: int  # cents per shipment
    order: str | None = None
    material: str | None = None
    kg_per_unit: float = 0.0  # whatever the fleet's dimensions: the line-haul's weight
    hub: str | None = None
    beyond: Place | None = None
    onward_per_kg: float = 0.0

    @property
    def load(self) -> dict[str, float]:
        return {d: self.units * x for d, x in self.per_unit.items()}

    @property
    def carrier_cents(self) -> int:
        return max(self.carrier_min, self.units * self.carrier_per_unit)

    @property
    def kg(self) -> float:
        return self.units * self.kg_per_unit

    @property
    def worth(self) -> float:
        """What carrying it saves (cents): the carrier's charge, less for a leg the
        estimated cost beyond the hub. The fleet's penalty for leaving it."""
        if self.hub is None:
            return self.carrier_cents
        return self.carrier_cents - self.onward_per_kg * self.kg


def dimensions(instance: Instance) -> tuple[str, ...]:
    """The fleet's capacity dimensions, in first-seen order."""
    return tuple(dict.fromkeys(d for v in instance.fleet.vehicles for d in v.capacity))


def plan_loads(
    instance: Instance, allocations: Sequence[Allocation], purchasing: Purchasing | None
) -> list[Load]:
    """Every goods and material load of the plan, unsplit, in a stable order."""
    dims = dimensions(instance)
    orders = {o.id: o for o in instance.orders}
    factories = {f.id: f for f in instance.factories}
    loads: list[Load] = []
    for a in allocations:
        order = orders[a.order]
        if a.operation != len(order.operations) - 1:
            continue
        per_unit = _per_unit(dims, order.unit_weight_kg, order.unit_volume_m3)
        loads.append(
            Load(
                id=f"goods:{a.order}:{a.factory}",
                kind="goods",
                period=max(pq.period for pq in a.periods),
                origin=Place("factory", a.factory, factories[a.factory].location),
                destination=Place("order", a.order, order.delivery),
                units=a.quantity,
                per_unit=per_unit,
                carrier_per_unit=a.transport_cents // a.quantity,
                carrier_min=instance.transport.carrier_min_cents,
                order=a.order,
                kg_per_unit=order.unit_weight_kg,
            )
        )
    if purchasing is not None:
        materials = {m.id: m for m in instance.materials}
        suppliers = {s.id: s for s in instance.suppliers}
        for p in purchasing.purchases:
            m, s = materials[p.material], suppliers[p.supplier]
            per_unit = _per_unit(dims, m.kg_per_unit, m.m3_per_unit)
            for d in p.deliveries:
                f = factories[d.factory]
                cents = transport_cents_per_unit(
                    s.location, f.location, instance.transport, m.kg_per_unit
                )
                loads.append(
                    Load(
                        id=f"material:{m.id}:{s.id}:{f.id}:{d.period}",
                        kind="material",
                        period=d.period,
                        origin=Place("supplier", s.id, s.location),
                        destination=Place("factory", f.id, f.location),
                        units=round(d.quantity),
                        per_unit=per_unit,
                        carrier_per_unit=cents,
                        carrier_min=instance.transport.carrier_min_cents,
                        material=m.id,
                        kg_per_unit=m.kg_per_unit,
                    )
                )
    return loads


def _per_unit(dims: Sequence[str], kg: float, m3: float) -> dict[str, float]:
    known = {WEIGHT: kg, VOLUME: m3}
    return {d: known.get(d, 0.0) for d in dims}


def most_units(vehicle: Vehicle, per_unit: dict[str, float]) -> int | None:
    """Units of a load one vehicle can carry (``None``: any number, it weighs nothing)."""
    # A dimension the vehicle does not state is one it has no room in (as the stage
    # and the checker read it).
    limits = [
        math.floor(vehicle.capacity.get(d, 0.0) / x + 1e-9) for d, x in per_unit.items() if x > 0
    ]
    return min(limits) if limits else None


def split_load(load: Load, vehicles: Sequence[Vehicle]) -> list[Load] | None:
    """The load in the fewest even parts the largest-carrying vehicle takes; ``None`` when
    no vehicle can carry one unit."""
    fits = [most_units(v, load.per_unit) for v in vehicles]
    if any(f is None for f in fits):
        return [load]
    best = max((f for f in fits if f is not None), default=0)
    if best <= 0:
        return None
    n = -(-load.units // best)
    if n <= 1:
        return [load]
    small, extra = divmod(load.units, n)
    return [
        copied(load, id=f"{load.id}#{i + 1}/{n}", units=small + (1 if i < extra else 0))
        for i in range(n)
    ]


def copied(load: Load, **changes: object) -> Load:
    """``dataclasses.replace(load, **changes)`` without re-running ``__init__`` on every
    field: a shallow copy with the changed fields set. At 50 000 orders the routing
    stage copies about 186 000 loads (94 000 legs, the 72 000 offered with their
    estimate, the parts of split loads), and ``replace`` took 1.1 s of its share (2.4 s
    with the collector's default thresholds rather than the CLI's)."""
    fields = Load.__dataclass_fields__
    out = copy.copy(load)
    for name, value in changes.items():
        if name not in fields:
            raise TypeError(f"Load has no field {name!r}")
        object.__setattr__(out, name, value)
    return out
