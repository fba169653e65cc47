"""Collective purchasing as rows of the assignment model (docs/joint.md).

Per purchased material ``m`` that some candidate's order needs, on top of the
assignment model of :mod:`solvers.assignment.mip` (production ``x[k,t]``):

- ``N[f,p]``, integer: whole units factory ``f`` must have bought by checkpoint ``p``,
  ``scale * N >= sum_k B_k * x[k,t<=p] - S_f``, with ``B_k`` the order's bill of
  materials and ``S_f`` the factory's stock in ``1/scale`` units of the material
  (``scale = 10**d``, the fewest decimals that hold every such figure exactly), so
  that ``N`` is the cumulative need rounded up after stock, as purchasing rounds it.
  Checkpoints: the period before each lead time and the last period; between two of
  them the same offers are in time and the need only grows, so the last period of
  each run is the one that binds.
- ``d[o,f]``: units offer ``o`` delivers to ``f``, all in period ``lead(o)`` (prices do
  not depend on the period, so the earliest delivery loses nothing), covering the
  needs cumulatively: ``sum_{lead(o) <= p} d[o,f] >= N[f,p]``. What a factory receives
  beyond its needs is surplus; purchasing delivers an offer's surplus only to a
  factory that needs the material in a period the offer reaches, so
  ``d[o,f] <= M * (N[f,T-1] - N[f,lead(o)-1])`` (``M``: the most ``f`` can need plus
  the surplus worth buying), with ``N[f,T-1]`` held to the exact
  need from above too (through a binary where the factory holds stock): no
  phantom need opens a destination.
- per offer, the price pieces of :mod:`solvers.purchasing.model`: a binary per tier
  reached and its quantity; all-units pieces are disjoint ranges at one price,
  incremental ones carry the cost of the breaks below; MOQ and capacity cut them.

The purchasing stage's optimum for the same allocations then costs exactly what this
part of the model does (docs/joint.md gives the argument).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from matcher.domain.entities import MaterialSourcing
from solvers.assignment.base import Part
from solvers.assignment.problem import AssignmentProblem
from solvers.linear import LinearModel
from solvers.purchasing.model import Piece, offer_pieces
from solvers.purchasing.problem import NEED_TOLERANCE, OfferData, build_purchasing_problem
from solvers.purchasing.solve import Bought

MAX_DECIMALS = 6
"""Beyond a millionth, bills of materials are rounded up and stock down (never looser
than the rule, docs/model.md), and the model is exact no more."""


def decimal_scale(values: Iterable[float]) -> tuple[int, bool]:
    """The smallest ``10**d`` (``d <= MAX_DECIMALS``) that makes every value an integer,
    and whether there is one."""
    values = list(values)
    for d in range(MAX_DECIMALS + 1):
        scale = 10**d
        if all(abs(v * scale - round(v * scale)) <= 1e-9 * max(1.0, v * scale) for v in values):
            return scale, True
    return 10**MAX_DECIMALS, False


def _scaled(value: float, scale: int, exact: bool, up: bool) -> int:
    if exact:
        return round(value * scale)
    return math.ceil(value * scale - 1e-6) if up else math.floor(value * scale + 1e-6)


@dataclass
class OfferVars:
    offer: OfferData
    upper: int  # most worth buying
    pieces: list[tuple[Piece, int | None, int]]  # (piece, "reached" binary, quantity)
    deliver: dict[int, int] = field(default_factory=dict)  # factory index -> d


@dataclass
class MaterialVars:
    material: str
    scale: int
    exact: bool  # False: a figure has more than MAX_DECIMALS decimals
    checkpoints: tuple[int, ...]
    need: dict[tuple[int, int], int]  # (factory index, checkpoint) -> N
    offers: list[OfferVars]
    dropped: list[str]  # offers that cannot be used, and why


@dataclass
class JointPurchasing:
    """The purchasing part of a joint model: its variables and size."""

    materials: list[MaterialVars] = field(default_factory=list)
    worst: int = 0  # most the weighted purchasing part can cost in any plan
    variables: int = 0
    binaries: int = 0

    def describe(self) -> str:
        offers = sum(len(m.offers) for m in self.materials)
        return (
            f"purchasing: {len(self.materials)} materials, {offers} offers, "
            f"{self.variables} variables of which {self.binaries} binary"
        )


def material_users(problem: AssignmentProblem) -> dict[str, dict[int, list[tuple[int, float]]]]:
    """Purchased material id -> factory -> [(candidate, bill-of-materials quantity)]."""
    provided = {m.id for m in problem.instance.materials if m.sourcing == MaterialSourcing.PROVIDED}
    users: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for k, cand in enumerate(problem.candidates):
        order = problem.orders[cand.order].order
        for mid, per_unit in sorted(order.bill_of_materials.items()):
            if per_unit > 0 and mid not in provided:
                users[mid][cand.factory].append((k, per_unit))
    return {m: dict(by_factory) for m, by_factory in sorted(users.items())}


def add_purchasing(
    model: LinearModel,
    problem: AssignmentProblem,
    make: Mapping[int, Mapping[int, int]],
    max_suppliers: int | None,
) -> JointPurchasing:
    """Add every purchased material's purchasing to ``model``, whose production
    variables are ``make[candidate][period]``; the cost is weighted by
    ``weights.purchasing``."""
    out = JointPurchasing()
    before = len(model.upper)
    integral_before = len(model.upper) - len(model.relaxed)
    for mid, users in material_users(problem).items():
        out.materials.append(_add_material(model, problem, make, mid, users, max_suppliers, out))
    out.variables = len(model.upper) - before
    out.binaries = len(model.upper) - len(model.relaxed) - integral_before
    return out


def _add_material(
    model: LinearModel,
    problem: AssignmentProblem,
    make: Mapping[int, Mapping[int, int]],
    mid: str,
    users: dict[int, list[tuple[int, float]]],
    max_suppliers: int | None,
    out: JointPurchasing,
) -> MaterialVars:
    instance = problem.instance
    factories = instance.factories
    last = problem.periods - 1
    stock = {f: factories[f].stock.get(mid, 0.0) for f in users}
    scale, exact = decimal_scale(
        [q for uses in users.values() for _, q in uses] + [s for s in stock.values() if s > 0]
    )
    mp = build_purchasing_problem(instance, {mid: {factories[f].id: {} for f in users}})
    (material,) = mp.materials
    offers = [o for o in material.offers if o.lead <= last]
    late = [
        f"{o.supplier}'s offer of {mid} cannot deliver within the horizon (lead time {o.lead})"
        for o in material.offers
        if o.lead > last
    ]
    leads = sorted({o.lead for o in offers})
    checkpoints = tuple(sorted({lead - 1 for lead in leads if lead >= 1} | {last}))
    mv = MaterialVars(mid, scale, exact, checkpoints, {}, [], material.dropped + late)
    most: dict[int, int] = {}  # factory -> largest possible need by the last period
    tag = len(out.materials)
    for f in sorted(users):
        on_hand = _scaled(stock[f], scale, exact, up=False)
        uses = [
            (_scaled(q, scale, exact, up=True), t, x)
            for k, q in users[f]
            for t, x in sorted(make.get(k, {}).items())
        ]
        for p in checkpoints:
            terms = [(b, x) for b, t, x in uses if t <= p]
            top = sum(b * model.upper[x] for b, x in terms)
            bound = max(0, -(-(top - on_hand) // scale))
            if bound == 0:
                continue  # never needs anything by p
            n = model.var(f"n{tag}_{f}_{p}", bound)
            mv.need[(f, p)] = n
            model.add([(scale, n), *((-b, x) for b, x in terms)], -on_hand, math.inf)
            if p == last:
                most[f] = bound
                _exact_from_above(model, n, bound, terms, scale, on_hand, f"w{tag}_{f}")
    total = sum(most.values())
    weight = problem.weights.purchasing
    ids = [f.id for f in factories]
    opened: list[tuple[int, int]] = []
    for o in offers:
        ov = _add_offer(model, mv, o, total, most, ids, weight, max_suppliers is not None)
        if ov is None:
            continue
        mv.offers.append(ov)
        opened += [(1, y) for _, y, _ in ov.pieces if y is not None]
        top_price = max(o.prices)
        top_transport = max(o.transport[factories[f].id] for f in ov.deliver)
        out.worst += weight * ov.upper * (top_price + top_transport)
    if max_suppliers is not None and len(opened) > max_suppliers:
        model.add(opened, -math.inf, max_suppliers)
    for (f, p), n in mv.need.items():
        cover = [(1, ov.deliver[f]) for ov in mv.offers if ov.offer.lead <= p and f in ov.deliver]
        model.add([*cover, (-1, n)], 0, math.inf, f"{factories[f].id} cannot get {mid} by {p}")
    return mv


def _exact_from_above(
    model: LinearModel,
    n: int,
    bound: int,
    terms: Sequence[tuple[int, int]],
    scale: int,
    on_hand: int,
    name: str,
) -> None:
    """``N = max(0, ceil((use - stock) / scale))`` exactly: also from above."""
    use = [(-b, x) for b, x in terms]
    if on_hand == 0:
        model.add([(scale, n), *use], -math.inf, scale - 1)
        return
    w = model.var(name, 1)  # 1: the use exceeds the stock
    model.add([(1, n), (-bound, w)], -math.inf, 0)
    model.add([(scale, n), *use, (on_hand, w)], -math.inf, scale - 1)


def _add_offer(
    model: LinearModel,
    mv: MaterialVars,
    o: OfferData,
    total: int,
    most: Mapping[int, int],
    ids: Sequence[str],
    weight: int,
    capped: bool,
) -> OfferVars | None:
    """Pieces and deliveries of offer ``o``; None when it can serve nobody."""
    receivers = sorted(most)
    reach = o.minimum if o.incremental else max(o.minimum, o.breaks[-1])
    upper = max(total, reach)
    if o.capacity is not None:
        upper = min(upper, o.capacity)
    pieces = offer_pieces(o, upper)
    if not pieces or not receivers:
        return None
    tag = f"{mv.material}_{o.index}"
    need_y = len(pieces) > 1 or pieces[0].lo > 1 or capped
    chosen: list[tuple[Piece, int | None, int]] = []
    flow: list[tuple[int, int]] = []
    for p in pieces:
        z = model.var(f"q{tag}_{p.tier}", p.hi, relaxed=True)
        model.cost[z] = weight * p.unit
        y = model.var(f"y{tag}_{p.tier}", 1) if need_y else None
        if y is not None:
            if p.fixed:
                model.cost[y] = weight * p.fixed
            model.add([(1, z), (-p.lo, y)], 0, math.inf)
            model.add([(1, z), (-p.hi, y)], -math.inf, 0)
        chosen.append((p, y, z))
        flow.append((-1, z))
    ys = [(1, y) for _, y, _ in chosen if y is not None]
    if len(ys) > 1:
        model.add(ys, -math.inf, 1)
    ov = OfferVars(o, upper, chosen)
    extra = max(0, max(p.lo for p in pieces) - 1)  # never worth more surplus than this
    last = mv.checkpoints[-1]
    for f in receivers:
        d = model.var(f"d{tag}_{f}", upper, relaxed=True)
        ov.deliver[f] = d
        model.cost[d] = weight * o.transport[ids[f]]
        flow.append((1, d))
        # Only to a factory that needs the material once the offer can deliver; never
        # more than it can need and the surplus worth buying.
        cap = min(upper, most[f] + extra)
        opens = [(-cap, mv.need[(f, last)])]
        if o.lead >= 1 and (f, o.lead - 1) in mv.need:
            opens.append((cap, mv.need[(f, o.lead - 1)]))
        model.add([(1, d), *opens], -math.inf, 0)
        if ys:
            model.add([(1, d), *((-cap, y) for _, y in ys)], -math.inf, 0)
    model.add(flow, 0, 0)  # deliveries = the quantity bought
    return ov


def read_purchases(
    jp: JointPurchasing, problem: AssignmentProblem, values: Sequence[float]
) -> list[Bought]:
    """The purchases of a solution, every quantity rounded to the nearest integer."""
    ids = [f.id for f in problem.instance.factories]
    out: list[Bought] = []
    for mv in jp.materials:
        for ov in mv.offers:
            calls = [
                (ids[f], ov.offer.lead, q)
                for f, d in sorted(ov.deliver.items())
                if (q := math.floor(values[d] + 0.5)) > 0
            ]
            if calls:
                out.append(Bought.of(ov.offer, calls, 0))
    return out


def whole_needs(
    problem: AssignmentProblem, parts: Iterable[Part], materials: Iterable[str]
) -> dict[tuple[str, int], list[int]]:
    """(material, factory) -> whole units bought by each period, from the parts alone:
    the cumulative use less stock, rounded up, as the purchasing stage computes it."""
    wanted = set(materials)
    raw: dict[tuple[str, int], list[float]] = {}
    for part in parts:
        cand = problem.candidates[part.candidate]
        bom = problem.orders[cand.order].order.bill_of_materials
        for mid in wanted & bom.keys():
            row = raw.setdefault((mid, cand.factory), [0.0] * problem.periods)
            for t, q in part.quantities.items():
                row[t] += bom[mid] * q
    out: dict[tuple[str, int], list[int]] = {}
    for (mid, f), row in raw.items():
        on_hand = problem.instance.factories[f].stock.get(mid, 0.0)
        cum, whole = 0.0, []
        for used in row:
            cum += used
            whole.append(max(0, math.ceil(cum - on_hand - NEED_TOLERANCE)))
        out[(mid, f)] = whole
    return out


def purchase_violation(
    problem: AssignmentProblem,
    parts: Sequence[Part],
    jp: JointPurchasing,
    bought: Sequence[Bought],
    max_suppliers: int | None,
) -> str | None:
    """The first rule of docs/purchasing.md that ``bought`` breaks for ``parts``, or
    None: needs covered cumulatively in time, surplus only where purchasing puts it,
    whole-unit minimum and capacity, the supplier cap. Guards against solver
    tolerances that survive the rounding."""
    index = {f.id: i for i, f in enumerate(problem.instance.factories)}
    needs = whole_needs(problem, parts, (mv.material for mv in jp.materials))
    last = problem.periods - 1
    arrived: dict[tuple[str, int], list[int]] = {}
    used: dict[str, int] = defaultdict(int)
    for b in bought:
        o, mid = b.offer, b.offer.offer.material
        used[mid] += 1
        if b.quantity < max(1, o.minimum) or (o.capacity is not None and b.quantity > o.capacity):
            return f"{o.supplier} sells {b.quantity} of {mid}, outside its minimum and capacity"
        for fid, period, q in b.deliveries:
            f = index[fid]
            need = needs.get((mid, f), [0] * problem.periods)
            if need[last] <= (need[period - 1] if period >= 1 else 0):
                return f"{fid} needs no {mid} once {o.supplier} can deliver (period {period})"
            row = arrived.setdefault((mid, f), [0] * problem.periods)
            row[period] += q
    for (mid, f), need in needs.items():
        row = arrived.get((mid, f), [0] * problem.periods)
        total = 0
        for t in range(problem.periods):
            total += row[t]
            if total < need[t]:
                fid = problem.instance.factories[f].id
                return f"{fid} has {total} of the {need[t]} {mid} it needs by period {t}"
    if max_suppliers is not None and any(n > max_suppliers for n in used.values()):
        return f"more than {max_suppliers} suppliers of one material"
    return None
