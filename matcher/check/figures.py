"""Figures the checker recomputes on its own from the instance and the plan.

Distances, per-unit transport and transfer rates, transfer lags, offer tiers and
material costs, cumulative material needs, lateness: each by the formula the docs
state (docs/model.md, docs/purchasing.md), never by calling an engine's code.
"""

from __future__ import annotations

import math
from collections import defaultdict

from matcher.check.codes import FLOAT_TOL, NEED_TOL, QTY_TOL
from matcher.domain.entities import (
    Factory,
    Location,
    Material,
    MaterialSourcing,
    Offer,
    Order,
    ScheduleType,
    Supplier,
)
from matcher.domain.instance import Instance
from matcher.domain.plan import Allocation, Plan

EARTH_RADIUS_KM = 6371.0


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance on a sphere of radius 6371.0 km (docs/model.md)."""
    lat1 = math.radians(a.lat)
    lat2 = math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon) - math.radians(a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def unit_transport_cents(instance: Instance, order: Order, factory: Factory) -> int:
    """Per-unit shipping rate ``u(o, f)``: half-up rounding, as docs/model.md states."""
    km = haversine_km(factory.location, order.delivery)
    t = instance.transport
    return math.floor(km * t.road_factor * order.unit_weight_kg * t.cents_per_tonne_km / 1000 + 0.5)


def inbound_transport_cents(
    instance: Instance, supplier: Supplier, factory: Factory, material: Material
) -> int:
    """Per-unit inbound rate of ``material`` from ``supplier`` to ``factory``.

    Half-up rounding with the material's ``kg_per_unit``, as docs/purchasing.md states.
    """
    km = haversine_km(supplier.location, factory.location)
    t = instance.transport
    return math.floor(km * t.road_factor * material.kg_per_unit * t.cents_per_tonne_km / 1000 + 0.5)


def is_split_by_operation(order: Order) -> bool:
    """Whether ``order`` is planned operation by operation (docs/model.md): split by
    operation with two or more operations; with one it is planned as usual."""
    return order.split.by_operation and len(order.operations) >= 2


def transfer_minutes(instance: Instance, a: Factory, b: Factory) -> float:
    """``m(a, b)``: handling plus road km at the transfer speed, in minutes."""
    t = instance.transport
    km = haversine_km(a.location, b.location) * t.road_factor
    return t.transfer_handling_minutes + 60 * km / t.transfer_speed_kmh


def transfer_lag(instance: Instance, a: Factory, b: Factory) -> int:
    """``lag(a, b)`` of docs/model.md: 0 at one factory, else ``1 + ceil(m / period)``.

    The quotient is rounded up with :data:`FLOAT_TOL` of slack, so float noise in a
    trip of exactly whole periods does not cost a period.
    """
    if a.id == b.id:
        return 0
    minutes = transfer_minutes(instance, a, b)
    return 1 + math.ceil(minutes / instance.horizon.period_minutes - FLOAT_TOL)


def unit_transfer_cents(instance: Instance, order: Order, a: Factory, b: Factory) -> int:
    """Per-unit transfer rate ``v(o, a, b)``: half-up rounding, 0 at one factory."""
    if a.id == b.id:
        return 0
    km = haversine_km(a.location, b.location)
    t = instance.transport
    return math.floor(km * t.road_factor * order.unit_weight_kg * t.cents_per_tonne_km / 1000 + 0.5)


def whole_units(quantity: float) -> int | None:
    """The whole number ``quantity`` holds, or ``None`` if it is fractional (or not finite)."""
    if not math.isfinite(quantity):
        return None
    nearest = round(quantity)
    return int(nearest) if abs(quantity - nearest) <= QTY_TOL else None


def tier_breaks(offer: Offer) -> list[int]:
    """Tier breaks in whole units: rounded up."""
    return [math.ceil(t.min_quantity - NEED_TOL) for t in offer.price.tiers]


def minimum_purchase(offer: Offer) -> int:
    """The smallest non-zero purchase: the MOQ and the first break, rounded up."""
    return max(tier_breaks(offer)[0], math.ceil(offer.moq - NEED_TOL))


def usable_offer(offer: Offer) -> bool:
    """Whether the offer can sell at least one whole unit within its MOQ and capacity."""
    return offer.capacity is None or math.floor(offer.capacity + NEED_TOL) >= max(
        1, minimum_purchase(offer)
    )


def tier_reached(offer: Offer, breaks: list[int], quantity: int) -> int | None:
    """The tier ``quantity`` reaches; ``None`` below an all-units schedule's first break.

    All-units: the highest tier whose break is at most ``quantity``. Incremental: the
    tier whose range holds unit ``quantity`` (tier 0 holds units ``1..B_1``, tier ``k``
    units ``B_k+1..B_{k+1}``), so an incremental purchase of exactly ``B_k`` units is
    still in tier ``k - 1``.
    """
    if offer.price.type is ScheduleType.INCREMENTAL:
        return max([0] + [k for k in range(1, len(breaks)) if breaks[k] < quantity])
    reached = [k for k, b in enumerate(breaks) if b <= quantity]
    return reached[-1] if reached else None


def material_cost(offer: Offer, breaks: list[int], tier: int, quantity: int) -> int:
    """Material cost of ``quantity`` units under the offer's price schedule."""
    prices = [t.unit_price_cents for t in offer.price.tiers]
    if offer.price.type is ScheduleType.ALL_UNITS:
        return quantity * prices[tier]
    # Incremental: cumulative by tier ranges, with B_0 = 0 and no upper end to the last.
    bounds = [0, *breaks[1:]]
    cost = 0
    for k, price in enumerate(prices):
        upper = bounds[k + 1] if k + 1 < len(bounds) else quantity
        cost += price * max(0, min(quantity, upper) - bounds[k])
    return cost


def cumulative_needs(instance: Instance, plan: Plan) -> dict[tuple[str, str], list[int]]:
    """Whole-unit cumulative material needs ``cum[p]`` per (factory, material).

    From the first operation's rows of the plan (every operation of a part runs at the
    same factory in the same periods; an order split by operation gets its materials at
    its first operation's factories) times the orders' bills of materials, with the
    factory's stock taken off and rounded up cumulatively, as docs/purchasing.md states:
    ``cum[p] = max(0, ceil(raw[<= p] - stock - 1e-9))``. Provided materials are never
    bought, so they have no needs. Rows naming an unknown order or factory, and periods
    outside the horizon, are left out: they are violations of their own.
    """
    periods = instance.horizon.periods
    orders = {o.id: o for o in instance.orders}
    stock = {f.id: f.stock for f in instance.factories}
    purchased = {m.id for m in instance.materials if m.sourcing is MaterialSourcing.PURCHASED}
    raw: dict[tuple[str, str], list[float]] = {}
    for a in plan.allocations:
        order = orders.get(a.order)
        if a.operation != 0 or order is None or a.factory not in stock:
            continue
        for pq in a.periods:
            if pq.quantity <= 0 or not 0 <= pq.period < periods:
                continue
            for material, per_unit in order.bill_of_materials.items():
                if material not in purchased:
                    continue
                row = raw.setdefault((a.factory, material), [0.0] * periods)
                row[pq.period] += per_unit * pq.quantity
    needs: dict[tuple[str, str], list[int]] = {}
    for (fid, material), per_period in raw.items():
        on_hand = stock[fid].get(material, 0.0)
        running = 0.0
        cum: list[int] = []
        for x in per_period:
            running += x
            cum.append(max(0, math.ceil(running - on_hand - NEED_TOL)))
        needs[(fid, material)] = cum
    return needs


def late_figures(allocation: Allocation, order: Order) -> tuple[int, int]:
    """(lateness cents, late units) of one row's periods."""
    cents = units = 0
    rate = order.penalties.late_cents_per_unit_period
    for pq in allocation.periods:
        if pq.period > order.due_period:
            units += pq.quantity
            cents += rate * (pq.period - order.due_period) * pq.quantity
    return cents, units


Key = tuple[str, str]  # (order id, factory id)


def part_units(plan: Plan) -> dict[Key, int]:
    """Units per (order, factory): operation 0 rows (every operation has the same)."""
    units: dict[Key, int] = defaultdict(int)
    for a in plan.allocations:
        if a.operation == 0:
            units[(a.order, a.factory)] += a.quantity
    return units
