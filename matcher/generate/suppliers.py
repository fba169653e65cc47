"""Material suppliers in the clusters and their quantity-discount offers, sized on the
platform's typical lots; :func:`tiered_offer` is shared with the purchasing cases
(:mod:`matcher.generate.purchasing`). Lead times, capacities and which offers stay
are settled afterwards by :mod:`matcher.generate.materials`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matcher.generate.catalogue import IndustrySpec, MaterialSpec, Place
from matcher.generate.helpers import jitter, nice, numbered_ids
from matcher.generate.orders import OrderPlan


def draw_suppliers(
    rng: np.random.Generator,
    factories: int,
    clusters: list[Place],
    industries: list[IndustrySpec],
    orders: OrderPlan,
) -> list[dict[str, Any]]:
    """Material suppliers in the clusters, each covering one or two industries."""
    n = max(5, factories // 10)
    size = np.array([c.size for c in clusters])
    where = rng.choice(len(clusters), n, p=size / size.sum())
    offered: list[list[str]] = []
    for _ in range(n):
        focus = rng.choice(
            len(industries), min(len(industries), int(rng.integers(1, 3))), replace=False
        )
        pool = [m.id for k in sorted(focus.tolist()) for m in industries[k].materials]
        count = min(len(pool), int(rng.integers(2, 9)))
        offered.append(
            [pool[i] for i in sorted(rng.choice(len(pool), count, replace=False).tolist())]
        )
    for mat in (m.id for ind in industries for m in ind.materials):
        if not any(mat in offers for offers in offered):
            offered[int(np.argmin([len(o) for o in offered]))].append(mat)
    n_offering = {
        m: sum(m in o for o in offered) for ind in industries for m in (x.id for x in ind.materials)
    }
    specs = {m.id: m for ind in industries for m in ind.materials}
    lat, lon = jitter(
        rng,
        np.array([clusters[c].lat for c in where]),
        np.array([clusters[c].lon for c in where]),
        15.0,
    )
    ids = numbered_ids("S", n)
    return [
        {
            "id": ids[s],
            "name": f"{clusters[int(where[s])].name} Materials {ids[s][1:]}",
            "location": {"lat": lat[s], "lon": lon[s], "region": clusters[int(where[s])].name},
            "offers": [draw_offer(rng, specs[m], orders, n_offering[m]) for m in offered[s]],
        }
        for s in range(n)
    ]


def draw_offer(
    rng: np.random.Generator, spec: MaterialSpec, orders: OrderPlan, n_offering: int
) -> dict[str, Any]:
    """Quantity-discount schedule sized on the platform's typical lots of this material.

    Its lead time and capacity are provisional: :mod:`matcher.generate.materials`
    sets them from its own stream (they are still drawn here so that the main
    stream, and the fleet drawn after the suppliers, stay as they were).
    """
    lots = orders.material_lots.get(spec.id)
    lot = float(np.median(lots)) if lots else 100.0
    tiers = int(rng.integers(2, 7))
    first = lot * rng.uniform(0.5, 2.0)
    breaks = [0.0]
    ratio = rng.uniform(2.0, 5.0)
    for k in range(1, tiers):
        value = float(nice(np.array([first * ratio ** (k - 1)]))[0])
        breaks.append(max(value, breaks[-1] + 1.0))
    price = spec.price_cents * rng.uniform(0.85, 1.2)
    discount = rng.uniform(0.05, 0.30)
    prices = [max(1, round(price * (1 - discount * k / (tiers - 1)))) for k in range(tiers)]
    moq = (
        0.0 if rng.random() < 0.6 else float(nice(np.array([breaks[1] * rng.uniform(0.2, 1.0)]))[0])
    )
    offer = tiered_offer(rng, spec.id, breaks, prices, moq)
    if rng.random() < 0.5:
        demand = orders.material_demand.get(spec.id, lot)
        offer["capacity"] = max(moq, 1.0, round(demand / n_offering * rng.uniform(0.3, 1.5), 1))
    return offer


def tiered_offer(
    rng: np.random.Generator,
    material: str,
    breaks: Sequence[float],
    prices: Sequence[int],
    moq: float,
) -> dict[str, Any]:
    """An offer with the given tiers: schedule type (half all-units) and lead time
    (0-5 periods, mostly short) drawn."""
    return {
        "material": material,
        "price": {
            "type": "all_units" if rng.random() < 0.5 else "incremental",
            "tiers": [
                {"min_quantity": b, "unit_price_cents": p}
                for b, p in zip(breaks, prices, strict=True)
            ],
        },
        "moq": moq,
        "lead_time_periods": int(rng.choice(6, p=[0.2, 0.25, 0.2, 0.15, 0.1, 0.1])),
    }
