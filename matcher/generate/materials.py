"""Where materials come from, and when they can arrive (docs/model.md, "Materials").

Production waits for its purchased materials, so lead times, supplier capacities and
stock decide which orders can be made when. These draws make materials bind
sometimes while most orders stay servable, as on a real platform:

* **provided**: a *consigned* catalogue material (zippers and other trims, colour
  masterbatch, chips, upholstery fabric: what buyers often bring themselves) is
  ``sourcing: provided`` with probability 0.4. Its offers are dropped: it is never
  bought and never holds production back.
* **common** materials (yarn, steel sheet, resin, ...) are offered by at least two
  suppliers (an offer is added where the supplier draws left fewer) with short lead
  times, 0-3 periods (probabilities 0.3, 0.35, 0.25, 0.1). 40 % of their offers are
  capped, each at ``U(0.3, 1.5)`` times its share of the material's demand, but
  never all of them: the market for a common material is deep.
* **speciality** materials (reactive dye, polycarbonate, stainless steel, flex PCBs,
  chips not brought by the buyer, oak board) have a single supplier (the other
  offers are dropped, unless that would leave a supplier with nothing) and, with
  even odds, either a **long lead time** (5-10 periods, at most half the horizon;
  no cap) or a **tight capacity** (lead time 1-3, capacity ``U(0.6, 0.95)`` times
  the demand left after stock, so some orders needing it go unserved).
* **stock**: a factory holds stock with probability 0.35, of one or two purchased
  materials of its own industry that its capabilities can work (speciality ones
  three times as likely: a plant keeps a buffer of what is slow to get), each a few
  days' use: ``U(2, 5)`` days at 60 % of its bottleneck process's weekday output
  times the material's typical bill-of-materials quantity (the geometric mean of
  the catalogue's range), to two significant digits. Stock depends on the factories
  only, never on the orders.

All of it comes from a third stream of the seed (:func:`materials_stream`), after
the main stream has drawn everything else, so orders, factories, tiers, prices and
the fleet are those the generator drew before these draws existed. The suppliers'
own lead-time and capacity draws (main stream) are still made and then replaced
here. Every per-material and per-factory draw is made whether it is used or not, so
that the share of orders split by operation moves only the demand-sized quantities.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matcher.generate.catalogue import IndustrySpec, MaterialSpec
from matcher.generate.factories import Calendars, Factories
from matcher.generate.helpers import nice
from matcher.generate.orders import OrderPlan
from matcher.generate.suppliers import draw_offer

_MATERIALS_STREAM = 2  # spawn key of the materials' own stream (1: orders split by operation)
_PROVIDED_SHARE = 0.4  # of the consigned materials: brought by the buyer
_COMMON_LEADS = (0.3, 0.35, 0.25, 0.1)  # P(lead time 0, 1, 2, 3) of a common material's offer
_COMMON_CAPPED = 0.4
_MIN_COMMON_OFFERS = 2
_LONG_LEAD = (5, 10)  # periods, inclusive: a speciality material's single offer
_TIGHT = (0.6, 0.95)  # a tight capacity over the demand left after stock
_STOCK_SHARE = 0.35
_STOCK_DAYS = (2.0, 5.0)
_STOCK_LOAD = 0.6  # share of the bottleneck's weekday output a factory typically runs
_SPECIALITY_STOCK_WEIGHT = 3.0


def materials_stream(seed: int) -> np.random.Generator:
    """The materials' own stream of ``seed``; creating it draws nothing."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_MATERIALS_STREAM,)))


def draw_material_terms(
    rng: np.random.Generator,
    periods: int,
    industries: list[IndustrySpec],
    fac: Factories,
    cal: Calendars,
    orders: OrderPlan,
    data: dict[str, Any],
) -> None:
    """Sourcing, stock, and the offers' lead times and capacities, set in ``data``
    (the instance's ``materials``, ``factories`` and ``suppliers`` sections) in place.

    ``rng`` is the materials' stream, never the main one.
    """
    specs = [m for ind in industries for m in ind.materials]
    n = len(specs)
    # Per-material draws, all made up front: their number depends on the catalogue only.
    provided_u = rng.random(n)
    long_u = rng.random(n)
    long_lead = rng.integers(_LONG_LEAD[0], _LONG_LEAD[1] + 1, n)
    short_lead = rng.integers(1, 4, n)
    tight = rng.uniform(*_TIGHT, n)
    keeper_u = rng.random(n)
    provided = {
        m.id for m, u in zip(specs, provided_u, strict=True) if m.consigned and u < _PROVIDED_SHARE
    }
    for material in data["materials"]:
        if material["id"] in provided:
            material["sourcing"] = "provided"
    stock = _draw_stock(rng, industries, fac, cal, provided)
    for f, on_hand in enumerate(stock):
        if on_hand:
            data["factories"][f]["stock"] = on_hand
    suppliers: list[dict[str, Any]] = data["suppliers"]
    cap_lead = periods // 2
    for i, spec in enumerate(specs):
        if spec.id in provided:
            _drop_offers(suppliers, spec.id, keep=None)
        elif spec.speciality:
            holders = _holders(suppliers, spec.id)
            keep = holders[int(keeper_u[i] * len(holders))]
            kept = _drop_offers(suppliers, spec.id, keep=keep)
            demand = orders.material_demand.get(spec.id, 0.0)
            stocked = sum(s.get(spec.id, 0.0) for s in stock)
            for offer in kept:
                offer.pop("capacity", None)
                if long_u[i] < 0.5:
                    offer["lead_time_periods"] = min(int(long_lead[i]), cap_lead)
                else:
                    offer["lead_time_periods"] = min(int(short_lead[i]), cap_lead)
                    share = tight[i] * max(0.0, demand - stocked) / len(kept)
                    offer["capacity"] = max(offer["moq"], 1.0, round(share, 1))
        else:
            _common_terms(rng, suppliers, spec, orders, industries)


def _holders(suppliers: list[dict[str, Any]], material: str) -> list[int]:
    return [
        s
        for s, sup in enumerate(suppliers)
        if any(o["material"] == material for o in sup["offers"])
    ]


def _drop_offers(
    suppliers: list[dict[str, Any]], material: str, keep: int | None
) -> list[dict[str, Any]]:
    """Drop the offers of ``material`` except supplier ``keep``'s and any supplier's
    last one; return those kept."""
    kept: list[dict[str, Any]] = []
    for s, sup in enumerate(suppliers):
        mine = [o for o in sup["offers"] if o["material"] == material]
        if not mine:
            continue
        if s == keep or len(sup["offers"]) == len(mine):
            kept.extend(mine)
        else:
            sup["offers"] = [o for o in sup["offers"] if o["material"] != material]
    return kept


def _common_terms(
    rng: np.random.Generator,
    suppliers: list[dict[str, Any]],
    spec: MaterialSpec,
    orders: OrderPlan,
    industries: list[IndustrySpec],
) -> None:
    """At least two offers, short lead times, some capped but never all."""
    holders = _holders(suppliers, spec.id)
    missing = _MIN_COMMON_OFFERS - len(holders)
    if missing > 0:
        # Prefer suppliers already serving the material's industry.
        industry = next(
            set(m.id for m in ind.materials) for ind in industries if spec in ind.materials
        )
        others = [s for s in range(len(suppliers)) if s not in holders]
        near = [s for s in others if any(o["material"] in industry for o in suppliers[s]["offers"])]
        pool = near if len(near) >= missing else others
        for s in sorted(rng.choice(pool, min(missing, len(pool)), replace=False).tolist()):
            suppliers[s]["offers"].append(draw_offer(rng, spec, orders, _MIN_COMMON_OFFERS))
        holders = _holders(suppliers, spec.id)
    offers = [o for s in holders for o in suppliers[s]["offers"] if o["material"] == spec.id]
    leads = rng.choice(len(_COMMON_LEADS), len(offers), p=_COMMON_LEADS)
    capped = rng.random(len(offers)) < _COMMON_CAPPED
    factor = rng.uniform(0.3, 1.5, len(offers))
    if capped.all():
        capped[int(np.argmin(leads))] = False
    demand = orders.material_demand.get(spec.id, 0.0)
    for k, offer in enumerate(offers):
        offer["lead_time_periods"] = int(leads[k])
        offer.pop("capacity", None)
        if capped[k]:
            share = demand / len(offers) * factor[k]
            offer["capacity"] = max(offer["moq"], 1.0, round(share, 1))


def _draw_stock(
    rng: np.random.Generator,
    industries: list[IndustrySpec],
    fac: Factories,
    cal: Calendars,
    provided: set[str],
) -> list[dict[str, float]]:
    """Per factory: material id -> quantity on hand (empty for most factories)."""
    n = len(fac.industry)
    holds = rng.random(n) < _STOCK_SHARE
    count = rng.integers(1, 3, n)
    days = rng.uniform(*_STOCK_DAYS, (n, 2))
    picks = rng.random((n, 2))
    out: list[dict[str, float]] = []
    for f in range(n):
        ind = industries[fac.industry[f]]
        candidates = [
            m for m in ind.materials if m.id not in provided and _workable(m, f, fac, ind)
        ]
        if not holds[f] or not candidates:
            out.append({})
            continue
        output = min(cal.nominal[c.group] * 60 / c.seconds for c in fac.caps[f])
        held: dict[str, float] = {}
        for k in range(min(int(count[f]), len(candidates))):
            weight = np.array(
                [_SPECIALITY_STOCK_WEIGHT if m.speciality else 1.0 for m in candidates]
            )
            cum = np.cumsum(weight / weight.sum())
            m = candidates.pop(min(int(np.searchsorted(cum, picks[f, k])), len(candidates) - 1))
            use = _STOCK_LOAD * output * math.sqrt(m.per_unit[0] * m.per_unit[1]) * days[f, k]
            held[m.id] = float(nice(np.array([use]))[0])
        out.append(dict(sorted(held.items())))
    return out


def _workable(m: MaterialSpec, f: int, fac: Factories, ind: IndustrySpec) -> bool:
    """Whether factory ``f`` works ``m``: none of its capabilities is restricted to
    other materials of ``m``'s kind (a loom set up for polyester keeps no cotton yarn)."""
    restricted = {p.id: p.materials for p in ind.processes}
    return all(
        not c.materials or m.id not in restricted[c.process] or m.id in c.materials
        for c in fac.caps[f]
    )
