"""Seeded purchasing cases: factories' material needs and suppliers' tiered offers.

The purchasing stage on its own, at the sizes the platform meets (hundreds of
factories, tens of materials and suppliers), without solving an assignment first:
the needs are drawn directly, per factory and period. Offers follow the main
generator's realism: 2-6 tiers (or a fixed count), 5-30 % total discount, an MOQ on
about 40 % of offers, a capacity on half of them sized so that it sometimes binds,
lead times 0-5 periods, all-units and incremental schedules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from matcher.domain.instance import Instance
from matcher.generate.suppliers import tiered_offer

Needs = dict[str, dict[str, dict[int, int]]]  # material -> factory -> period -> units

_CLUSTERS = (  # (name, lat, lon): manufacturing clusters of the Pearl and Yangtze deltas
    ("Dongguan", 23.02, 113.75),
    ("Shenzhen", 22.54, 114.06),
    ("Suzhou", 31.30, 120.62),
    ("Ningbo", 29.87, 121.54),
    ("Foshan", 23.02, 113.12),
)


def purchasing_case(
    factories: int,
    materials: int,
    suppliers: int,
    seed: int,
    *,
    tiers: int | None = None,
    periods: int = 20,
    materials_per_factory: tuple[int, int] = (3, 10),
) -> tuple[Instance, Needs]:
    """A valid instance (factories, materials, suppliers) and the factories' needs.

    Parameters
    ----------
    tiers
        Price tiers of every offer; None draws 2-6 per offer.
    materials_per_factory
        Range of how many materials one factory needs.
    """
    if min(factories, materials, suppliers) < 1:
        raise ValueError("factories, materials and suppliers must be >= 1")
    rng = np.random.default_rng(seed)
    where = rng.integers(0, len(_CLUSTERS), factories + suppliers)
    lat = np.array([_CLUSTERS[c][1] for c in where]) + rng.normal(0, 0.25, where.size)
    lon = np.array([_CLUSTERS[c][2] for c in where]) + rng.normal(0, 0.25, where.size)
    base_price = np.round(np.exp(rng.uniform(np.log(80), np.log(5000), materials)))
    mat_ids = [f"M{m + 1:03d}" for m in range(materials)]
    fac_ids = [f"F{f + 1:04d}" for f in range(factories)]

    needs: Needs = {}
    lo, hi = materials_per_factory
    for f in range(factories):
        count = min(materials, int(rng.integers(lo, hi + 1)))
        scale = float(np.exp(rng.uniform(np.log(20), np.log(2000))))
        for m in rng.choice(materials, count, replace=False):
            first = int(rng.integers(2, max(3, periods // 2)))
            per: dict[int, int] = {}
            for t in range(first, periods):
                if rng.random() < 0.35:
                    per[t] = max(1, round(scale * rng.uniform(0.2, 1.0)))
            if per:
                needs.setdefault(mat_ids[m], {})[fac_ids[f]] = per
    demand = {m: sum(sum(p.values()) for p in fs.values()) for m, fs in needs.items()}

    offered = [
        sorted(rng.choice(materials, max(1, int(materials * rng.uniform(0.2, 0.6))), replace=False))
        for _ in range(suppliers)
    ]
    for m in range(materials):  # every material has at least two offers
        holders = [s for s in range(suppliers) if m in offered[s]]
        for s in rng.choice(suppliers, max(0, min(2, suppliers) - len(holders)), replace=False):
            if m not in offered[s]:
                offered[s] = sorted([*offered[s], m])
    n_offers = {m: sum(m in o for o in offered) for m in range(materials)}
    supplier_dicts: list[dict[str, Any]] = []
    for s in range(suppliers):
        k = factories + s
        offers = []
        for m in offered[s]:
            total = demand.get(mat_ids[m], 100)
            offers.append(
                _offer(rng, mat_ids[m], float(base_price[m]), total, n_offers[m], tiers, factories)
            )
        supplier_dicts.append(
            {
                "id": f"S{s + 1:03d}",
                "location": {"lat": float(lat[k]), "lon": float(lon[k])},
                "offers": offers,
            }
        )
    data: dict[str, Any] = {
        "name": f"purchasing-f{factories}-m{materials}-s{suppliers}-seed{seed}",
        "horizon": {"start_date": dt.date(2026, 1, 5), "periods": periods},
        "processes": [{"id": "assembly"}],
        "materials": [{"id": mid, "unit": "kg", "kg_per_unit": 1.0} for mid in mat_ids],
        "factories": [
            {
                "id": fac_ids[f],
                "location": {"lat": float(lat[f]), "lon": float(lon[f])},
                "capabilities": [
                    {
                        "process": "assembly",
                        "resource_group": "line",
                        "unit_cost_cents": 100,
                        "seconds_per_unit": 60,
                    }
                ],
                "resources": [{"id": "line", "available_minutes": [480] * periods}],
            }
            for f in range(factories)
        ],
        "suppliers": supplier_dicts,
    }
    return Instance.model_validate(data), needs


def _offer(
    rng: np.random.Generator,
    material: str,
    price: float,
    demand: int,
    n_offers: int,
    tiers: int | None,
    factories: int,
) -> dict[str, Any]:
    """Breaks grow geometrically from a typical factory's purchase to the platform's."""
    count = tiers if tiers is not None else int(rng.integers(2, 7))
    typical = max(10.0, demand / max(1, factories) * rng.uniform(2.0, 8.0))
    breaks = [0.0]
    ratio = rng.uniform(2.0, 4.0)
    for k in range(1, count):
        breaks.append(max(breaks[-1] + 1.0, float(round(typical * ratio ** (k - 1), -1))))
    unit = price * rng.uniform(0.85, 1.2)
    discount = rng.uniform(0.05, 0.30)
    prices = [max(1, round(unit * (1 - discount * k / max(1, count - 1)))) for k in range(count)]
    moq = 0.0 if rng.random() < 0.6 else float(round(breaks[1] * rng.uniform(0.2, 1.0)))
    offer = tiered_offer(rng, material, breaks, prices, moq)
    if rng.random() < 0.5:
        share = demand / max(1, n_offers)
        offer["capacity"] = max(moq, 1.0, float(round(share * rng.uniform(0.5, 2.5))))
    return offer
