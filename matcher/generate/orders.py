"""Orders: industry and operations, size, buyer, delivery place, release and due
periods, weight, operations' requirements, bill of materials and commercial terms.

Sizing (see the package docstring) loads the demanded capacity to 72-92 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.domain.entities import Transport
from matcher.generate.by_operation import route_by_operation
from matcher.generate.catalogue import CITIES, IndustrySpec, Place
from matcher.generate.factories import Calendars, Cap, Factories, Stats
from matcher.generate.helpers import FloatArray, IntArray, haversine_km, jitter, nice, numbered_ids


@dataclass
class OrderPlan:
    """Per-order draws that later stages (suppliers) need."""

    dicts: list[dict[str, Any]]
    material_demand: dict[str, float]
    material_lots: dict[str, list[float]]


@dataclass
class _OrderType:
    """Operations an order may ask for, and the factories that can make them."""

    processes: tuple[str, ...]
    factories: list[int]
    capacity: list[float]  # free minutes of each factory's groups hosting these processes


def _order_types(fac: Factories, cal_free: IntArray, k: int, ind: IndustrySpec) -> list[_OrderType]:
    """Single processes and chains of industry ``k`` with the factories offering them."""
    types = [_OrderType((p.id,), [], []) for p in ind.processes]
    types += [_OrderType(c, [], []) for c in ind.chains]
    for f, procs in enumerate(fac.processes):
        if fac.industry[f] != k:
            continue
        # A factory's capacity is shared among the order types it can make, so that
        # processes appearing in many chains are not systematically overloaded.
        mine = [t for t in types if set(t.processes) <= set(procs)]
        for t in mine:
            groups = {c.group for c in fac.caps[f] if c.process in t.processes}
            t.factories.append(f)
            t.capacity.append(float(sum(cal_free[g] for g in groups)) / len(mine))
    return types


def _type_weights(
    rng: np.random.Generator, types: list[_OrderType], stats: Stats, cap: dict[str, float]
) -> tuple[FloatArray, float]:
    """Probabilities of the order types, and the mean minutes one order needs.

    Orders are sized on their slowest process, so chains load their fast processes
    lightly; iterative proportional fitting picks type probabilities that load every
    process in proportion to its capacity, with 60 % single operations. Noise then
    overloads some processes and leaves others idle.
    """
    procs = sorted({p for t in types for p in t.processes})
    col = {p: i for i, p in enumerate(procs)}
    minutes = np.zeros((len(types), len(procs)))  # per day of work at the bottleneck
    for i, t in enumerate(types):
        neck = max(t.processes, key=lambda p: stats.seconds[p])
        for p in t.processes:
            minutes[i, col[p]] = stats.nominal[neck] * stats.seconds[p] / stats.seconds[neck]
    uses = minutes > 0
    target = np.log(np.array([cap[p] for p in procs]) + 1.0)
    single = np.array([len(t.processes) == 1 for t in types])
    w = np.ones(len(types))
    for _ in range(60):
        gap = target - np.log(w @ minutes)
        w = w * np.exp((gap[None, :] * uses).sum(axis=1) / uses.sum(axis=1))
        w = np.where(single, 0.6 * w / w[single].sum(), 0.4 * w / w[~single].sum())
    w = w * rng.lognormal(0.0, 0.35, len(types))
    w = w / w.sum()
    return np.asarray(w, dtype=np.float64), float(w @ minutes.sum(axis=1))


def _draw_order_ops(
    rng: np.random.Generator,
    n: int,
    fac: Factories,
    cal: Calendars,
    stats: Stats,
    industries: list[IndustrySpec],
) -> tuple[IntArray, list[tuple[str, ...]], IntArray]:
    """Industry, processes and a reference factory of every order.

    Industries and order types get demand in proportion to their capacity, with
    noise. The reference factory (drawn by capacity) is one that can make the order,
    so that its requirements stay satisfiable; it is -1 for the ~1 % of orders that
    ask for a chain no factory offers.
    """
    free = cal.free_total
    cap: dict[str, float] = {}
    for g, procs in enumerate(fac.group_processes):
        for p in procs:
            cap[p] = cap.get(p, 0.0) + float(free[g]) / len(procs)
    all_types = [_order_types(fac, free, k, ind) for k, ind in enumerate(industries)]
    fitted = [_type_weights(rng, types, stats, cap) for types in all_types]
    ind_cap = np.array([sum(cap[p.id] for p in ind.processes) for ind in industries])
    share = (ind_cap + 1.0) / np.array([m for _, m in fitted])
    share *= rng.lognormal(0.0, 0.2, len(industries))
    order_ind = rng.choice(len(industries), n, p=share / share.sum())
    ops: list[tuple[str, ...]] = [()] * n
    ref = np.full(n, -1, dtype=np.int64)
    for k, (types, (w, _)) in enumerate(zip(all_types, fitted, strict=True)):
        idx = np.flatnonzero(order_ind == k)
        kind = rng.choice(len(types), idx.size, p=w)
        for j, t in enumerate(types):
            mine = idx[kind == j]
            if mine.size == 0:
                continue
            weight = np.array(t.capacity) + 1.0
            pick = rng.choice(weight.size, mine.size, p=weight / weight.sum())
            ref[mine] = np.array(t.factories)[pick]
            for o in mine.tolist():
                ops[o] = t.processes
    candidates = np.flatnonzero([bool(industries[k].impossible) for k in order_ind.tolist()])
    n_bad = min(round(0.01 * n), candidates.size)
    if n_bad:
        for o in rng.choice(candidates, n_bad, replace=False).tolist():
            chains = industries[int(order_ind[o])].impossible
            ops[o] = chains[int(rng.integers(0, len(chains)))]
            ref[o] = -1
    return order_ind.astype(np.int64), ops, ref


def _size_orders(
    rng: np.random.Generator,
    ops: list[tuple[str, ...]],
    fac: Factories,
    cal: Calendars,
    stats: Stats,
    periods: int,
) -> tuple[FloatArray, FloatArray]:
    """Quantities (before rounding) and days of work that load the demanded capacity to 72-92 %.

    Each order draws a size in days of one resource group at its bottleneck process;
    all sizes are then scaled by one factor found by bisection, capped per order.
    """
    n = len(ops)
    per_work = np.empty(n)  # units per day of work at the bottleneck
    minutes_per_work = np.empty(n)  # processing minutes, all operations, per day of work
    for o, t in enumerate(ops):
        neck = max(t, key=lambda p: stats.seconds[p])
        per_work[o] = stats.nominal[neck] * 60 / stats.seconds[neck]
        minutes_per_work[o] = per_work[o] * sum(stats.seconds[p] for p in t) / 60
    work = np.clip(rng.lognormal(math.log(0.9), 0.7, n), 0.2, 4.0)
    demanded = {p for t in set(ops) for p in t}
    hosts = [any(p in demanded for p in procs) for procs in fac.group_processes]
    capacity = float(cal.free_total[np.array(hosts, dtype=bool)].sum())
    target = rng.uniform(0.72, 0.92) * capacity
    cap = max(4.0, 0.4 * periods * 5 / 7)

    def load(s: float) -> float:
        return float((np.minimum(work * s, cap) * minutes_per_work).sum())

    lo, hi = 1e-6, 1e6
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if load(mid) < target else (lo, mid)
    days = np.minimum(work * lo, cap)
    return np.asarray(days * per_work, dtype=np.float64), np.asarray(days, dtype=np.float64)


@dataclass
class _Buyers:
    ids: list[str]
    industry: IntArray
    weight: FloatArray  # Zipf-like: a few buyers place most orders
    home: list[Place]
    lat: FloatArray
    lon: FloatArray


def _draw_buyers(
    rng: np.random.Generator,
    orders: int,
    order_ind: IntArray,
    clusters: list[Place],
    n_industries: int,
) -> _Buyers:
    """Buyers: one industry each, Zipf-like sizes, located in clusters or big cities."""
    n = max(n_industries, min(300, round(orders / 20)))
    share = np.bincount(order_ind, minlength=n_industries) + 0.1
    industry = np.concatenate(
        [np.arange(n_industries), rng.choice(n_industries, n - n_industries, p=share / share.sum())]
    )
    rank = rng.permutation(n) + 1
    places = [*clusters, *CITIES]
    pw = np.array([1.5 / len(clusters)] * len(clusters) + [1.0 / len(CITIES)] * len(CITIES))
    home = [places[i] for i in rng.choice(len(places), n, p=pw / pw.sum()).tolist()]
    lat, lon = jitter(rng, np.array([p.lat for p in home]), np.array([p.lon for p in home]), 15.0)
    return _Buyers(
        ids=numbered_ids("B", n),
        industry=industry.astype(np.int64),
        weight=np.asarray(1.0 / rank**1.1, dtype=np.float64),
        home=home,
        lat=np.array(lat),
        lon=np.array(lon),
    )


def draw_orders(
    rng: np.random.Generator,
    n: int,
    periods: int,
    fac: Factories,
    cal: Calendars,
    stats: Stats,
    clusters: list[Place],
    industries: list[IndustrySpec],
    by_operation: float = 0.0,
    side: np.random.Generator | None = None,
) -> OrderPlan:
    plan = OrderPlan([], {}, {})
    if n == 0:
        return plan
    order_ind, ops, ref = _draw_order_ops(rng, n, fac, cal, stats, industries)
    split_flags, route_caps = route_by_operation(
        side, by_operation, ops, ref, order_ind, industries, fac
    )
    qty_raw, days = _size_orders(rng, ops, fac, cal, stats, periods)
    qty = nice(qty_raw)
    buyers = _draw_buyers(rng, n, order_ind, clusters, len(industries))
    buyer = np.empty(n, dtype=np.int64)
    for k in range(len(industries)):
        idx = np.flatnonzero(order_ind == k)
        pool = np.flatnonzero(buyers.industry == k)
        w = buyers.weight[pool]
        buyer[idx] = rng.choice(pool, idx.size, p=w / w.sum())
    d_lat, d_lon = jitter(rng, buyers.lat[buyer], buyers.lon[buyer], 8.0)
    # Deadlines: the calendar days the work needs on one group (weekends included)
    # plus 2-10 days of slack; releases spread evenly over the horizon.
    slack = np.ceil(days * 7 / 5).astype(np.int64) + rng.integers(2, 11, n)
    slack = np.minimum(slack, periods - 1)
    release = np.floor(rng.random(n) * (periods - slack)).astype(np.int64)
    due = release + slack
    typical = np.array([sum(stats.cost[p] for p in t) for t in ops])
    weights_lo = np.array([industries[k].unit_weight_kg[0] for k in order_ind.tolist()])
    weights_hi = np.array([industries[k].unit_weight_kg[1] for k in order_ind.tolist()])
    unit_weight = np.round(np.exp(rng.uniform(np.log(weights_lo), np.log(weights_hi))), 3)
    # What serving costs per unit at the reference factory: production plus transport.
    known = ref >= 0
    f_lat = np.where(known, np.array(fac.lat)[np.maximum(ref, 0)], np.array(d_lat))
    f_lon = np.where(known, np.array(fac.lon)[np.maximum(ref, 0)], np.array(d_lon))
    km = haversine_km(f_lat, f_lon, np.array(d_lat), np.array(d_lon))
    tr = Transport()
    landed = typical + km * tr.road_factor * unit_weight * tr.cents_per_tonne_km / 1000
    terms = _commercial_terms(rng, n, qty, typical, landed, order_ind, stats)
    ids = numbered_ids("O", n)
    cols = (
        qty.tolist(),
        release.tolist(),
        due.tolist(),
        buyer.tolist(),
        unit_weight.tolist(),
    )
    uniforms = rng.random((n, _OP_UNIFORMS)).tolist()
    for o, (q, r, d, b, uw) in enumerate(zip(*cols, strict=True)):
        ind = industries[int(order_ind[o])]
        caps = route_caps.get(o)
        if caps is None and ref[o] >= 0:
            caps = {c.process: c for c in fac.caps[int(ref[o])]}
        operations, bom = _operations(uniforms[o], ind, ops[o], stats, caps)
        _price_in_materials(terms[o], bom, ind, float(landed[o]))
        order: dict[str, Any] = {
            "id": ids[o],
            "buyer": buyers.ids[b],
            "operations": operations,
            "quantity": q,
            "release_period": r,
            "due_period": d,
            "delivery": {"lat": d_lat[o], "lon": d_lon[o], "region": buyers.home[b].name},
            "unit_weight_kg": max(uw, 0.001),
            "bill_of_materials": bom,
            **terms[o],
        }
        if split_flags[o]:
            order["split"] = {**order.get("split", {}), "by_operation": True}
        plan.dicts.append(order)
        for mat, per in bom.items():
            plan.material_demand[mat] = plan.material_demand.get(mat, 0.0) + q * per
            plan.material_lots.setdefault(mat, []).append(q * per)
    return plan


def _price_in_materials(
    terms: dict[str, Any], bom: dict[str, float], ind: IndustrySpec, landed: float
) -> None:
    """Scale the unserved penalty (drawn on production plus transport) by what the
    bill of materials adds at list prices: an order's worth covers its materials too,
    else a plan that counts what materials cost leaves most orders unserved. No draw:
    the stream is unchanged."""
    penalty = terms["penalties"].get("unserved_cents")
    if penalty is None or landed <= 0:
        return
    prices = {m.id: m.price_cents for m in ind.materials}
    materials = sum(q * prices.get(mid, 0) for mid, q in bom.items())
    terms["penalties"]["unserved_cents"] = round(penalty * (landed + materials) / landed)


_GRADE_CDF = ((0.3, 2), (0.7, 3), (0.95, 4), (1.0, 5))  # a buyer's minimum quality grade
_OP_UNIFORMS = 19  # uniforms one order's operations and bill of materials consume


def _operations(
    u: list[float],
    ind: IndustrySpec,
    procs: tuple[str, ...],
    stats: Stats,
    ref: dict[str, Cap] | None,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Operations with occasional material and grade requirements, and the bill of materials.

    Requirements stay within what the reference factory ``ref`` offers (for an order
    split by operation whose chain no factory offers: one capability per process,
    of different factories), so only the deliberately impossible orders (``ref is
    None``) lack a capable factory. ``u`` holds this order's pre-drawn uniforms:
    drawing them in one array for all orders is what keeps 50 000 orders fast.
    """
    specs = {p.id: p for p in ind.processes}

    def allowed(p: str) -> tuple[str, ...]:
        cap = ref.get(p) if ref is not None else None
        return tuple(cap.materials) if cap is not None and cap.materials else specs[p].materials

    workable = [m for p in procs for m in allowed(p)]
    main = workable[int(u[0] * len(workable))] if workable else None
    operations: list[dict[str, Any]] = []
    for j, p in enumerate(procs):
        op: dict[str, Any] = {"process": p}
        if main is not None and main in allowed(p) and u[1 + j] < 0.5:
            op["material"] = main
        if u[4 + j] < 0.2:
            grade = next(g for c, g in _GRADE_CDF if u[7 + j] < c)
            best = ref[p].grade if ref is not None else stats.max_grade[p]
            op["min_quality_grade"] = min(grade, best)
        operations.append(op)
    others = [m for m in ind.materials if m.id != main]
    extra = int(u[10] * 3) + (0 if main is not None else 1)
    picked = sorted(sorted(range(len(others)), key=lambda i: u[11 + i])[:extra])
    bom_specs = [m for m in ind.materials if m.id == main] + [others[i] for i in picked]
    bom: dict[str, float] = {}
    for k, m in enumerate(bom_specs):
        lo, hi = m.per_unit
        bom[m.id] = float(f"{lo * (hi / lo) ** u[16 + k]:.3g}")
    return operations, bom


def _commercial_terms(
    rng: np.random.Generator,
    n: int,
    qty: IntArray,
    typical: FloatArray,
    landed: FloatArray,
    order_ind: IntArray,
    stats: Stats,
) -> list[dict[str, Any]]:
    """Price ceilings, credit floors, split policies and penalties.

    A few ceilings sit below any factory's price and a few credit floors above any
    factory's score, some unserved penalties below what serving costs, so every
    unassigned-reason of the model shows up.
    """
    has_max = rng.random(n) < 0.5
    too_low = rng.random(n) < 0.06
    price_factor = np.where(too_low, rng.uniform(0.45, 0.65, n), rng.uniform(1.05, 1.5, n))
    max_price = np.maximum(1, np.rint(typical * price_factor)).astype(np.int64).tolist()
    has_credit = rng.random(n) < 0.3
    unreachable = rng.random(n) < 0.04
    credit = rng.integers(55, 86, n)
    best = np.array([stats.max_score.get(k, 98) for k in order_ind.tolist()])
    credit = np.where(unreachable, np.minimum(100, best + rng.integers(1, 4, n)), credit).tolist()
    split = rng.random(n) < 0.4
    min_split = np.clip(np.rint(qty * rng.uniform(0.1, 0.3, n)), 1, qty).astype(np.int64).tolist()
    max_fac = rng.integers(2, 4, n).tolist()
    late = np.maximum(1, np.rint(typical * rng.uniform(0.01, 0.05, n))).astype(np.int64).tolist()
    optional = rng.random(n) < 0.85
    cheap = rng.random(n) < 0.06
    factor = np.where(cheap, rng.uniform(0.3, 0.9, n), rng.uniform(1.2, 3.0, n))
    unserved = np.rint(qty * landed * factor).astype(np.int64).tolist()
    out: list[dict[str, Any]] = []
    for o in range(n):
        terms: dict[str, Any] = {
            "penalties": {
                "late_cents_per_unit_period": late[o],
                **({"unserved_cents": unserved[o]} if optional[o] else {}),
            }
        }
        if has_max[o]:
            terms["max_unit_price_cents"] = max_price[o]
        if has_credit[o]:
            terms["min_credit_score"] = credit[o]
        if split[o]:
            terms["split"] = {
                "allowed": True,
                "min_quantity": min_split[o],
                "max_factories": max_fac[o],
            }
        out.append(terms)
    return out
