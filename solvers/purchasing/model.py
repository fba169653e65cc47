"""The purchasing MILP of one material for one coalition of factories.

Materials are independent (offers, tiers, MOQ, capacity and the supplier cap are all
per material), so each gets its own model, written once as a solver-neutral
:class:`~solvers.linear.LinearModel` that CP-SAT or a MIP solver takes as it is.

Needs are grouped by factory and **lead-time bucket**: the periods in which the same
offers can deliver in time (an offer with lead time ``L`` reaches needs in periods
``>= L``). Costs do not depend on the period, so delivering at the need's period is
optimal and a bucket's periods can share one delivery variable.

Variables, per offer ``o``:

- ``x[o,b]`` units delivered for bucket ``b`` (at most its demand);
- ``e[o]`` surplus bought to reach a tier or the minimum purchase, delivered to the
  nearest factory with its last call-off (only where it can help);
- one piece per price tier ``k``: ``y[o,k]`` (the tier is the one reached) and
  ``z[o,k]`` (the quantity if so), with ``lo_k y <= z <= hi_k y`` and
  ``sum_k z = sum_b x + e``. All-units pieces are the disjoint ranges
  ``[B_k, B_{k+1} - 1]`` at ``price_k`` a unit; incremental pieces are
  ``[B_k, B_{k+1}]`` costing ``cost(B_k) + price_k (Q - B_k)``. MOQ and capacity cut
  the ranges. ``x[o,b] <= demand_b * sum_k y[o,k]`` tightens the relaxation.

Needs no plan can cover (an offer's capacity is short, or the supplier cap) are met
first: the model minimises the uncovered units, then the cost (see
:func:`shortage_floor`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from solvers.linear import LinearModel
from solvers.purchasing.problem import MaterialProblem, OfferData


@dataclass(frozen=True)
class Bucket:
    """One factory's needs that the same offers can reach in time."""

    factory: str
    periods: tuple[tuple[int, int], ...]  # (period, units), ascending
    offers: tuple[int, ...]  # offers in time for every period here

    @cached_property
    def demand(self) -> int:
        return sum(q for _, q in self.periods)


@dataclass
class Piece:
    offer: int
    tier: int
    lo: int
    hi: int
    unit: int  # cents per unit on z
    fixed: int  # cents on y


@dataclass
class MaterialModel:
    model: LinearModel
    buckets: list[Bucket]
    late: list[tuple[str, int, int]]  # (factory, period, units) no offer reaches in time
    deliver: dict[tuple[int, int], int] = field(default_factory=dict)  # (offer, bucket) -> x
    surplus: dict[int, tuple[int, str, int]] = field(default_factory=dict)  # o -> (e, f, t)
    pieces: dict[int, list[tuple[Piece, int | None, int]]] = field(default_factory=dict)
    short: dict[int, int] = field(default_factory=dict)  # bucket -> s
    opened: dict[int, list[int]] = field(default_factory=dict)  # offer -> its y variables


def buckets_of(
    mp: MaterialProblem, factories: Iterable[str]
) -> tuple[list[Bucket], list[tuple[str, int, int]]]:
    """Needs of ``factories`` grouped by the offers in time for them, and the needs no
    offer reaches in time."""
    leads = sorted({o.lead for o in mp.offers})
    buckets: list[Bucket] = []
    late: list[tuple[str, int, int]] = []
    for f in sorted(set(factories)):
        groups: dict[int, list[tuple[int, int]]] = {}
        for t, q in sorted(mp.needs.get(f, {}).items()):
            key = sum(1 for lead in leads if lead <= t)
            if key == 0:
                late.append((f, t, q))
            else:
                groups.setdefault(key, []).append((t, q))
        for key, periods in sorted(groups.items()):
            in_time = tuple(o.index for o in mp.offers if o.lead <= leads[key - 1])
            buckets.append(Bucket(f, tuple(periods), in_time))
    return buckets, late


def _upper(o: OfferData, demand: int) -> int:
    """Most worth buying from ``o``: the needs it can reach, or up to its top break or
    minimum purchase when buying more is cheaper or required; capped by capacity."""
    reach = o.minimum if o.incremental else max(o.minimum, o.breaks[-1])
    upper = max(demand, reach)
    return upper if o.capacity is None else min(upper, o.capacity)


def offer_pieces(o: OfferData, upper: int) -> list[Piece]:
    """The price pieces of ``o`` for purchases of at most ``upper`` units, as purchasing
    prices them (docs/purchasing.md, "Offers in whole units"): ``lo <= Q <= hi`` costs
    ``fixed + unit * Q``."""
    out: list[Piece] = []
    n = len(o.breaks)
    for k in range(n):
        start = o.breaks[k] if k > 0 else 0
        if o.incremental:
            hi = o.breaks[k + 1] if k + 1 < n else upper
            fixed = o.cost(start) - o.prices[k] * start
        else:
            hi = o.breaks[k + 1] - 1 if k + 1 < n else upper
            fixed = 0
        lo = max(start, o.minimum, 1)
        hi = min(hi, upper)
        if lo <= hi:
            out.append(Piece(o.index, k, lo, hi, o.prices[k], fixed))
    return out


def build_material_model(
    mp: MaterialProblem,
    factories: Iterable[str],
    max_suppliers: int | None = None,
    max_short: int | None = 0,
    shortage_objective: bool = False,
) -> MaterialModel:
    """The model for ``factories`` buying together.

    ``max_short`` caps the uncovered units (0: cover everything; None: no cap);
    ``shortage_objective`` minimises the uncovered units instead of the cost.
    """
    buckets, late = buckets_of(mp, factories)
    mm = MaterialModel(LinearModel(), buckets, late)
    m = mm.model
    reach: dict[int, list[int]] = {}
    for b, bucket in enumerate(buckets):
        for k in bucket.offers:
            reach.setdefault(k, []).append(b)
    last_need: dict[str, int] = {}
    for bucket in buckets:
        last_need[bucket.factory] = max(last_need.get(bucket.factory, -1), bucket.periods[-1][0])
    cover: dict[int, list[tuple[int, int]]] = {b: [] for b in range(len(buckets))}
    opened: list[tuple[int, int]] = []  # (1, y) per offer, for the supplier cap
    for o in mp.offers:
        if o.index in reach:
            _add_offer(mm, o, reach[o.index], last_need, cover, opened, max_suppliers)
    if max_suppliers is not None:
        m.add(opened, -math.inf, max_suppliers)
    shorts: list[tuple[int, int]] = []
    for b, bucket in enumerate(buckets):
        if max_short != 0:
            s = m.var(f"s{b}", bucket.demand, relaxed=True)
            mm.short[b] = s
            cover[b].append((1, s))
            shorts.append((1, s))
        m.add(cover[b], bucket.demand, bucket.demand, what=f"{bucket.factory} cannot be covered")
    if max_short is not None and max_short != 0 and shorts:
        m.add(shorts, -math.inf, max_short)
    if shortage_objective:
        m.cost = {s: 1 for _, s in shorts}
    return mm


def _add_offer(
    mm: MaterialModel,
    o: OfferData,
    bs: list[int],
    last_need: dict[str, int],
    cover: dict[int, list[tuple[int, int]]],
    opened: list[tuple[int, int]],
    max_suppliers: int | None,
) -> None:
    """Deliveries, surplus and price pieces of offer ``o``, reaching buckets ``bs``."""
    m, buckets = mm.model, mm.buckets
    demand = sum(buckets[b].demand for b in bs)
    upper = _upper(o, demand)
    pieces = offer_pieces(o, upper)
    if not pieces:
        return
    need_y = len(pieces) > 1 or pieces[0].lo > 1 or max_suppliers is not None
    flows: list[tuple[int, int]] = []
    for b in bs:
        bucket = buckets[b]
        x = m.var(f"x{o.index}_{b}", min(bucket.demand, upper), relaxed=True)
        mm.deliver[(o.index, b)] = x
        m.cost[x] = o.transport[bucket.factory]
        flows.append((1, x))
        cover[b].append((1, x))
    extra = max(p.lo for p in pieces) - 1  # never worth buying more surplus than this
    if extra > 0:
        dest = min(
            (f for f in last_need if last_need[f] >= o.lead),
            key=lambda f: (o.transport[f], f),
            default=None,
        )
        if dest is not None:
            e = m.var(f"e{o.index}", min(extra, upper), relaxed=True)
            m.cost[e] = o.transport[dest]
            mm.surplus[o.index] = (e, dest, last_need[dest])
            flows.append((1, e))
    chosen: list[tuple[Piece, int | None, int]] = []
    for p in pieces:
        z = m.var(f"z{o.index}_{p.tier}", p.hi, relaxed=True)
        y = m.var(f"y{o.index}_{p.tier}", 1) if need_y else None
        if p.unit:
            m.cost[z] = m.cost.get(z, 0) + p.unit
        if y is not None:
            if p.fixed:
                m.cost[y] = p.fixed
            m.add([(1, z), (-p.lo, y)], 0, math.inf)
            m.add([(1, z), (-p.hi, y)], -math.inf, 0)
        chosen.append((p, y, z))
        flows.append((-1, z))
    mm.pieces[o.index] = chosen
    m.add(flows, 0, 0)  # deliveries + surplus = the pieces' quantity
    ys = [y for _, y, _ in chosen if y is not None]
    if ys:
        mm.opened[o.index] = ys
        m.add([(1, y) for y in ys], -math.inf, 1)
        opened += [(1, y) for y in ys]
        for b in bs:
            x = mm.deliver[(o.index, b)]
            m.add([(1, x), *((-buckets[b].demand, y) for y in ys)], -math.inf, 0)


def shortage_floor(mp: MaterialProblem, buckets: Sequence[Bucket]) -> int:
    """Fewest units the offers' capacities leave uncovered (a max flow: surplus can
    always top a purchase up to its minimum, so the minimum never costs coverage)."""
    from ortools.graph.python import max_flow

    total = sum(b.demand for b in buckets)
    if total == 0:
        return 0
    flow = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    offer_node = {o.index: 2 + i for i, o in enumerate(mp.offers)}
    first_bucket = 2 + len(mp.offers)
    for o in mp.offers:
        flow.add_arc_with_capacity(
            source, offer_node[o.index], o.capacity if o.capacity is not None else total
        )
    for b, bucket in enumerate(buckets):
        node = first_bucket + b
        flow.add_arc_with_capacity(node, sink, bucket.demand)
        for k in bucket.offers:
            flow.add_arc_with_capacity(offer_node[k], node, bucket.demand)
    if flow.solve(source, sink) != flow.OPTIMAL:
        raise RuntimeError("max flow failed")  # cannot happen on a bounded network
    return total - int(flow.optimal_flow())
