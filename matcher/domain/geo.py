"""Great-circle distances between domain locations, and the distance rules built on them
that several stages share (docs/routing.md, docs/logistics.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.domain.entities import Hub, LineHaul, Location, Transport

EARTH_RADIUS_KM = 6371.0


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance in km on a sphere of radius :data:`EARTH_RADIUS_KM`."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def transport_cents_per_unit(a: Location, b: Location, transport: Transport, kg: float) -> int:
    """Cents to carry one unit of ``kg`` from ``a`` to ``b``, rounded half up: the rule
    of both the product transport estimate and inbound material transport."""
    km = haversine_km(a, b)
    return math.floor(km * transport.road_factor * kg * transport.cents_per_tonne_km / 1000 + 0.5)


def transfer_minutes(a: Location, b: Location, transport: Transport) -> float:
    """Minutes a lot takes from factory ``a`` to factory ``b``: handling plus road km at
    the transfer speed (0 when they are the same place and there is no handling)."""
    km = haversine_km(a, b) * transport.road_factor
    return transport.transfer_handling_minutes + 60.0 * km / transport.transfer_speed_kmh


def transfer_lag_periods(minutes: float, period_minutes: int) -> int:
    """Periods between a lot's last period at one factory and the first period the next
    factory may work on it: the lot is complete at the end of its last period and must
    arrive by the start of the next one it is worked in (docs/model.md)."""
    return 1 + math.ceil(minutes / period_minutes - 1e-9)


def road_km(a: Location, b: Location, transport: Transport) -> float:
    """Road km: haversine km times ``transport.road_factor`` (docs/routing.md)."""
    return haversine_km(a, b) * transport.road_factor


def nearest_hub(place: Location, hubs: Sequence[Hub], transport: Transport) -> Hub | None:
    """A factory's hub: the nearest hub whose road distance is within its ``reach_km``,
    the first listed on a tie; ``None`` when none reaches (docs/logistics.md)."""
    best: tuple[float, Hub] | None = None
    for hub in hubs:
        km = road_km(place, hub.location, transport)
        if km <= hub.reach_km and (best is None or km < best[0]):
            best = (km, hub)
    return None if best is None else best[1]


@dataclass(frozen=True)
class LineHaulCost:
    mode: str  # ltl | ftl | ftl+ltl
    trucks: int  # full trucks: 0 for ltl
    cents: int


def line_haul_cost(
    weight_kg: float,
    km: float,
    rates: LineHaul,
    *,
    tonne_km: float | None = None,
    drops: int = 1,
) -> LineHaulCost:
    """One lane's consolidated shipment (docs/logistics.md): the cheapest of less than
    a truckload, full trucks, and full trucks with the remainder less than a truckload;
    the first of them on a tie; rounded half up.

    ``km`` is the lane's distance (goods: to the farthest of its ``drops`` delivery
    addresses); ``tonne_km`` what its legs weigh times their own distances (default:
    all of ``weight_kg`` over ``km``). Trucks pay ``stop_cents`` for each drop after
    the first; a remainder pays its share of the weight's tonne-km."""
    if tonne_km is None:
        tonne_km = weight_kg / 1000 * km
    capacity = rates.truck_capacity_kg
    per_truck = km * rates.truck_cents_per_km
    stops = (drops - 1) * rates.stop_cents
    trucks = max(1, math.ceil(weight_kg / capacity - 1e-9))
    options = [
        ("ltl", 0, max(float(rates.ltl_min_cents), tonne_km * rates.ltl_cents_per_tonne_km)),
        ("ftl", trucks, trucks * per_truck + stops),
    ]
    full = math.floor(weight_kg / capacity + 1e-9)
    rest = weight_kg - full * capacity
    if full >= 1 and rest > 1e-9 * capacity:
        share = rest / weight_kg * tonne_km * rates.ltl_cents_per_tonne_km
        options.append(
            ("ftl+ltl", full, full * per_truck + stops + max(float(rates.ltl_min_cents), share))
        )
    mode, count, cents = min(options, key=lambda o: o[2])  # the first on a tie
    return LineHaulCost(mode, count, math.floor(cents + 0.5))
