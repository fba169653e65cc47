"""Great-circle distances between domain locations."""

from __future__ import annotations

import math

from matcher.domain.entities import Location, Transport

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
