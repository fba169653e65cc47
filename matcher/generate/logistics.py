"""The platform's own fleet (one depot per cluster, vans and trucks) and the carriers'
minimum charge per shipment."""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.generate.catalogue import VEHICLE_TYPES, Place

CARRIER_MIN_CENTS = 15000


def draw_fleet(rng: np.random.Generator, clusters: list[Place]) -> dict[str, Any]:
    """One depot per cluster with a mix of vans and trucks."""
    depots: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    for c in clusters:
        depot = f"D-{c.name.lower()}"
        depots.append({"id": depot, "location": {"lat": c.lat, "lon": c.lon, "region": c.name}})
        for v in range(int(rng.integers(2, 7))):
            kind, wkg, vol, fixed, per_km, per_hour = VEHICLE_TYPES[
                int(rng.choice(len(VEHICLE_TYPES), p=[0.4, 0.4, 0.2]))
            ]
            start = int(rng.choice([360, 420, 480]))
            vehicles.append(
                {
                    "id": f"{depot}-{kind}{v + 1}",
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
            )
    return {"depots": depots, "vehicles": vehicles}
