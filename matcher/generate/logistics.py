"""The platform's own fleet (one depot per cluster, vans and trucks), the carriers'
minimum charge per shipment, and the hubs and line-haul rates (docs/logistics.md).

Hubs and line-haul come from their own stream of the seed (:func:`hubs_stream`), drawn
after everything else, so an instance made without them is the same in every other
respect but the fleet and one more: with hubs, depots get the vehicles their milk runs
need (:func:`draw_milk_run_vehicles`, and a van where they have none:
:func:`draw_hub_vans`), and the few factories scattered beyond :data:`HUB_ROAD_KM` of
their cluster's hub are moved into it (:func:`gather_factories`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matcher.domain.entities import Transport
from matcher.generate.catalogue import VEHICLE_TYPES, Place
from matcher.generate.helpers import haversine_km, nice

CARRIER_MIN_CENTS = 15000

_HUBS_STREAM = 4  # spawn key (1: orders split by operation, 2: materials, 3: records)
_MIN_REACH_KM = 40.0  # a hub reaches at least this far, and the factories nearest to it
_REACH_MARGIN_KM = 5.0
_HANDLING_CENTS_PER_KG = (0.5, 2.0)  # cross-docking a kg: unloading, sorting, loading
_CAPACITY_OVER_MEAN = (1.2, 2.5)  # a hub's kg a period over the mean its factories ship
_MIN_CAPACITY_KG = 5000.0
_FLEET_LOADS = 2.0  # a hub is sized for at most this many full loads of its depot's fleet
_LTL_SHARE = (0.5, 0.65)  # line-haul LTL per tonne-km over the door-to-door carrier's
_LTL_OVER_FULL_LOAD = (1.3, 1.5)  # LTL per tonne over a full truck's
_LTL_MIN_CENTS = (3000.0, 6000.0)
_OPEN_MINUTES = (300, 360, 420)  # 05:00, 06:00, 07:00
_CLOSE_MINUTES = (1260, 1320, 1380)  # 21:00, 22:00, 23:00

HUB_ROAD_KM = (5.0, 60.0)
"""With hubs, every factory is this many road km from its cluster's hub (at the
cluster's centre): near enough for a daily milk run, and not at the hub's door. The
factories are scattered about 20 km per axis around the centre, which leaves about
one in eleven outside (1.3 road km a km: 7 % beyond 60, 2 % within 5)."""
_FOLD_MARGIN_KM = 0.1  # folded a little inside HUB_ROAD_KM: locations are rounded to 1e-4


def draw_fleet(rng: np.random.Generator, clusters: list[Place]) -> dict[str, Any]:
    """One depot per cluster with a mix of vans and trucks."""
    depots: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    for c in clusters:
        depot = f"D-{c.name.lower()}"
        depots.append({"id": depot, "location": {"lat": c.lat, "lon": c.lon, "region": c.name}})
        for v in range(int(rng.integers(2, 7))):
            vehicles.append(_vehicle(rng, depot, v + 1)[1])
    return {"depots": depots, "vehicles": vehicles}


def _vehicle(
    rng: np.random.Generator, depot: str, number: int, kind: int | None = None
) -> tuple[str, dict[str, Any]]:
    """A van, truck or heavy truck of ``depot`` (40/40/20 %, or the ``kind``-th of
    ``VEHICLE_TYPES`` without a draw), its terms drawn around its type's: the kind and
    the vehicle."""
    if kind is None:
        kind = int(rng.choice(len(VEHICLE_TYPES), p=[0.4, 0.4, 0.2]))
    name, wkg, vol, fixed, per_km, per_hour = VEHICLE_TYPES[kind]
    start = int(rng.choice([360, 420, 480]))
    return name, {
        "id": _vehicle_id(depot, name, number),
        "depot": depot,
        "capacity": {
            "weight_kg": float(int(rng.integers(wkg[0], wkg[1] + 1)) // 100 * 100),
            "volume_m3": float(rng.integers(vol[0], vol[1] + 1)),
        },
        "fixed_cost_cents": round(fixed * rng.uniform(0.85, 1.15)),
        "cost_per_km_cents": round(per_km * rng.uniform(0.85, 1.15)),
        "cost_per_hour_cents": round(per_hour * rng.uniform(0.85, 1.15)),
        "speed_kmh": float(rng.choice([45.0, 50.0, 55.0, 60.0])),
        "shift_start_minute": start,
        "shift_end_minute": start + 600,
    }


def _vehicle_id(depot: str, kind: str, number: int) -> str:
    return f"{depot}-{kind}{number}"


FACTORIES_PER_VEHICLE = 10
"""With hubs, a depot has at least one vehicle for every this many factories its hub
serves: a milk run calls at about ten factories in its ten-hour shift (factories 5-60
km from the hub and from one another, some twenty minutes a stop). ``draw_fleet``'s
two to six vehicles a depot, drawn whatever the cluster's size, left the hubs of a
10 000-order instance (50-120 factories each) with a fleet that could call at a
quarter of their factories' legs (docs/logistics.md)."""


def gather_factories(clusters: list[Place], data: dict[str, Any]) -> None:
    """Move each factory of ``data`` that is outside :data:`HUB_ROAD_KM` of its nearest
    cluster centre (where that cluster's hub will be) along its bearing from that
    centre, to the road distance folded back into the range: 68 km becomes 52, 4 km
    becomes 6. No draw is made, and the factories within the range stay where they are.
    The clusters' centres are more than 65 road km apart (the nearest two, Dongguan and
    Shenzhen, 81), so the moved factory's nearest hub is then within the range too.

    Only locations change: what was drawn from them before (an order's landed cost at
    its reference factory, in its price) is left as drawn, a difference of a few km."""
    lo, hi = HUB_ROAD_KM[0] + _FOLD_MARGIN_KM, HUB_ROAD_KM[1] - _FOLD_MARGIN_KM
    to_centres, nearest = _nearest_hub(clusters, data)
    for f, factory in enumerate(data["factories"]):
        h = int(nearest[f])
        km = float(to_centres[f, h])
        if HUB_ROAD_KM[0] <= km <= HUB_ROAD_KM[1]:
            continue
        target = km
        while not lo <= target <= hi:  # reflected at the range's ends
            target = 2 * lo - target if target < lo else 2 * hi - target
        centre, where = clusters[h], factory["location"]
        d_lat, d_lon = where["lat"] - centre.lat, where["lon"] - centre.lon
        if km == 0.0:  # at the centre itself (rounded there): no bearing, so due east
            d_lat, d_lon = 0.0, 1e-4
            km = _road_factor(data) * float(
                haversine_km(
                    np.array(centre.lat),
                    np.array(centre.lon),
                    np.array(centre.lat),
                    np.array(centre.lon + d_lon),
                )
            )
        scale = target / km
        where["lat"] = round(float(centre.lat + d_lat * scale), 4)
        where["lon"] = round(float(centre.lon + d_lon * scale), 4)


def draw_milk_run_vehicles(
    rng: np.random.Generator, clusters: list[Place], data: dict[str, Any]
) -> None:
    """Add to each depot of ``data["fleet"]`` the vehicles its hub's factories need
    (:data:`FACTORIES_PER_VEHICLE`), numbered on from its others: one model drawn per
    depot and bought as a batch (identical vehicles, which the routing stage takes as
    one vehicle type). Nothing is drawn for a depot that has enough, so small
    instances are unchanged."""
    _, served = _nearest_hub(clusters, data)
    counts = np.bincount(served, minlength=len(clusters))
    vehicles: list[dict[str, Any]] = data["fleet"]["vehicles"]
    for h, c in enumerate(clusters):
        depot = f"D-{c.name.lower()}"
        have = sum(1 for v in vehicles if v["depot"] == depot)
        need = math.ceil(int(counts[h]) / FACTORIES_PER_VEHICLE)
        if need <= have:
            continue
        kind, model = _vehicle(rng, depot, have + 1)
        for number in range(have + 1, need + 1):
            vehicles.append({**model, "id": _vehicle_id(depot, kind, number)})


def draw_hub_vans(rng: np.random.Generator, clusters: list[Place], data: dict[str, Any]) -> None:
    """Give a van to each hub's depot that has none (its own stream, drawn last, so
    nothing drawn before changes; the hubs' capacities were sized on the fleet before).

    A hub's milk runs call at small factories for loads of a few hundred kg to a few
    tonnes (docs/logistics.md); a depot of heavy trucks alone pays a heavy truck's day
    for them (demo.json's Ningbo depot had two, at 683 and 917 a day, against its vans'
    176-213 elsewhere), so the platform's hub keeps at least one light van."""
    vehicles: list[dict[str, Any]] = data["fleet"]["vehicles"]
    van = next(k for k, t in enumerate(VEHICLE_TYPES) if t[0] == "van")
    for c in clusters:
        depot = f"D-{c.name.lower()}"
        mine = [v for v in vehicles if v["depot"] == depot]
        if any(v["id"].startswith(f"{depot}-van") for v in mine):
            continue
        vehicles.append(_vehicle(rng, depot, len(mine) + 1, van)[1])


def vans_stream(seed: int) -> np.random.Generator:
    """The hubs' vans' own stream of ``seed`` (a child of the hubs' stream); creating
    it draws nothing."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_HUBS_STREAM, 1)))


def _nearest_hub(
    clusters: list[Place], data: dict[str, Any]
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Road km from every factory to every cluster's hub (at its depot), and each
    factory's nearest (argmin: the first on a tie), which docs/logistics.md's rule
    (the nearest within reach) makes its hub once every hub reaches its own."""
    road_factor = _road_factor(data)
    factories: list[dict[str, Any]] = data["factories"]
    f_lat = np.array([f["location"]["lat"] for f in factories], dtype=np.float64)
    f_lon = np.array([f["location"]["lon"] for f in factories], dtype=np.float64)
    h_lat = np.array([c.lat for c in clusters], dtype=np.float64)
    h_lon = np.array([c.lon for c in clusters], dtype=np.float64)
    km = road_factor * haversine_km(
        f_lat[:, None], f_lon[:, None], h_lat[None, :], h_lon[None, :]
    )  # factories x hubs
    return km, np.argmin(km, axis=1)


def _road_factor(data: dict[str, Any]) -> float:
    return float(data["transport"].get("road_factor", Transport().road_factor))


def hubs_stream(seed: int) -> np.random.Generator:
    """The hubs' and line-haul's own stream of ``seed``; creating it draws nothing."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_HUBS_STREAM,)))


def draw_line_haul(rng: np.random.Generator, transport: dict[str, Any]) -> dict[str, Any]:
    """Line-haul rates (``transport.line_haul``), in cents (fen) of a yuan, set against
    the instance's door-to-door carrier (``transport``: its ``cents_per_tonne_km``).

    Plausibility (orders of magnitude of Chinese road freight in 2023-2025, from
    general knowledge of market quotes, not from one published tariff):

    - The instance's carrier charges 0.30 yuan a tonne-km door to door with a minimum
      of 150.00 (``CARRIER_MIN_CENTS``): the low end of Chinese LTL, whose
      dedicated-line rates are about 0.2-0.5 yuan a tonne-km between cities before
      collection and delivery.
    - Line-haul LTL runs between a hub and a city, with no collection at the door and
      loads consolidated: ``_LTL_SHARE`` (50-65 %) of the carrier's rate, 15-19.5 fen
      a tonne-km, with a minimum ticket of 30-60 yuan (dedicated lines charge some tens
      of yuan at least).
    - Less than a truckload costs 30-50 % more per tonne than a full truck
      ("Freight charges for road transport", yhs555.com: "the latter is generally
      30-50 % higher than the former"), so a full 30 t semi-trailer (13-17.5 m, about
      30 t of payload under GB 1589-2016's 49 t gross for six axles) costs 10-15 fen
      a tonne-km, 3.0-4.5 yuan a km one way: the low end of the 3-6 yuan a km such
      trucks are hired for (diesel at about 7 yuan a litre and 30-35 l/100 km is
      2.1-2.5 yuan a km), as the carrier's rate is.

    A full truck then wins over LTL from about 20-23 t on a lane and period.
    """
    carrier = float(transport.get("cents_per_tonne_km", Transport().cents_per_tonne_km))
    capacity_kg = 30_000.0
    ltl = carrier * float(rng.uniform(*_LTL_SHARE))
    full_load = ltl / float(rng.uniform(*_LTL_OVER_FULL_LOAD))  # cents a tonne-km
    return {
        "truck_capacity_kg": capacity_kg,
        "truck_cents_per_km": round(full_load * capacity_kg / 1000.0 / 10.0) * 10,
        "ltl_cents_per_tonne_km": round(ltl, 1),
        "ltl_min_cents": round(float(rng.uniform(*_LTL_MIN_CENTS)) / 500.0) * 500,
    }


def draw_hubs(
    rng: np.random.Generator, clusters: list[Place], data: dict[str, Any]
) -> list[dict[str, Any]]:
    """One hub per cluster, at its depot, from ``data`` (the instance's other sections).

    Its reach covers the factories nearer to it than to any other hub (road km,
    docs/logistics.md), those of its cluster but a few near another. Its capacity
    per period is ``_CAPACITY_OVER_MEAN`` times the kg its factories ship and receive in
    a working period on average, estimated before any assignment (each industry's goods
    and purchased materials spread over the industry's factories by free minutes), but
    at most ``_FLEET_LOADS`` full loads of its depot's vehicles: a hub is built for
    what the milk runs bring, and with many factories a cluster's few vehicles bring
    only part of what they ship. The flow is lumpy (an order's goods leave in one
    period), so the capacity binds on busy periods and not on others.
    """
    km, served = _nearest_hub(clusters, data)
    reach = [
        max(
            _MIN_REACH_KM,
            5.0 * math.ceil((float(km[served == h, h].max(initial=0.0)) + _REACH_MARGIN_KM) / 5.0),
        )
        for h in range(len(clusters))
    ]
    per_period = _kg_per_working_period(data, served, len(clusters))
    fleet_kg = {depot["id"]: 0.0 for depot in data["fleet"]["depots"]}
    for vehicle in data["fleet"]["vehicles"]:
        fleet_kg[vehicle["depot"]] += float(vehicle["capacity"].get("weight_kg", 0.0))
    hubs: list[dict[str, Any]] = []
    for h, c in enumerate(clusters):
        # What its factories ship, but no more than its depot's milk runs can bring.
        basis = min(per_period[h], _FLEET_LOADS * fleet_kg[f"D-{c.name.lower()}"])
        capacity = max(_MIN_CAPACITY_KG, basis * float(rng.uniform(*_CAPACITY_OVER_MEAN)))
        hubs.append(
            {
                "id": f"H-{c.name.lower()}",
                "location": {"lat": c.lat, "lon": c.lon, "region": c.name},
                "reach_km": reach[h],
                "handling_cents_per_kg": round(float(rng.uniform(*_HANDLING_CENTS_PER_KG)), 2),
                "capacity_kg": float(nice(np.array([capacity]))[0]),
                "open_minute": int(rng.choice(_OPEN_MINUTES)),
                "close_minute": int(rng.choice(_CLOSE_MINUTES)),
            }
        )
    return hubs


def _kg_per_working_period(
    data: dict[str, Any], served: np.ndarray[Any, np.dtype[np.int64]], n_hubs: int
) -> list[float]:
    """Per hub: the kg of goods out and purchased materials in of the factories it
    serves, over the periods in which any of them works."""
    industry_of = {p["id"]: p["industry"] for p in data["processes"]}
    purchased = {m["id"]: m.get("sourcing", "purchased") == "purchased" for m in data["materials"]}
    kg_per_unit = {m["id"]: float(m.get("kg_per_unit", 1.0)) for m in data["materials"]}
    industry_kg: dict[str, float] = {}
    for order in data["orders"]:
        kg = order["quantity"] * order["unit_weight_kg"]
        kg += sum(
            order["quantity"] * per * kg_per_unit[m]
            for m, per in order["bill_of_materials"].items()
            if purchased[m]
        )
        ind = industry_of[order["operations"][0]["process"]]
        industry_kg[ind] = industry_kg.get(ind, 0.0) + kg
    free: list[float] = []
    works: list[np.ndarray[Any, np.dtype[np.bool_]]] = []
    for f in data["factories"]:
        available = np.array([r["available_minutes"] for r in f["resources"]], dtype=np.float64)
        committed = np.array([r["committed_minutes"] for r in f["resources"]], dtype=np.float64)
        free.append(float(np.maximum(available - committed, 0.0).sum()))
        works.append(available.sum(axis=0) > 0)
    industry_free: dict[str, float] = {}
    for f, minutes in zip(data["factories"], free, strict=True):
        industry_free[f["industry"]] = industry_free.get(f["industry"], 0.0) + minutes
    flow = [0.0] * n_hubs
    working = [np.zeros(len(works[0]) if works else 0, dtype=bool) for _ in range(n_hubs)]
    for f, (factory, minutes) in enumerate(zip(data["factories"], free, strict=True)):
        h = int(served[f])
        total = industry_free[factory["industry"]]
        if total > 0:
            flow[h] += industry_kg.get(factory["industry"], 0.0) * minutes / total
        working[h] |= works[f]
    return [flow[h] / max(1, int(working[h].sum())) for h in range(n_hubs)]
