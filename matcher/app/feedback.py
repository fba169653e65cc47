"""What purchasing and routing really cost, fed back into the assignment.

The assignment prices a part by production, an estimate of transport per unit,
lateness and credit; it does not see what the materials cost where it places the
part, nor what moving the goods really costs once loads are consolidated or charged
the carrier's minimum. After a round of the pipeline, this module turns the plan's
purchasing and routing sections into an extra cost per unit for every candidate
part, so that the next round's assignment can choose with them (docs/model.md,
"One plan: feedback rounds"):

- **materials**: per material and factory, the cheapest way the plan's own purchases
  show to get one unit there: per offer, the unit price of the tier the plan reached
  with it (an offer the plan did not use: the tier the material's whole purchased
  quantity would reach there), plus the inbound transport from that supplier to the
  factory; times the order's bill of materials, weighted by ``weights.purchasing``;
- **transport**: per order, what its goods really cost to move (its share of the
  routes that carried them, or the carrier's price with its minimum charge) over what
  the per-unit estimate said; every candidate of the order has its transport estimate
  scaled by that ratio, weighted by ``weights.transport``.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.domain.entities import MAX_UNIT_CENTS, MaterialSourcing, Offer
from matcher.domain.geo import transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan, Purchasing, Routing
from solvers.assignment.problem import AssignmentProblem
from solvers.purchasing.problem import tier_reached, usable, whole_breaks, whole_limits


def candidate_costs(problem: AssignmentProblem, plan: Plan) -> dict[int, int]:
    """Weighted cents per unit to add to each candidate part (absent: nothing)."""
    instance = problem.instance
    w = problem.weights
    unit = material_unit_costs(instance, plan.purchasing)
    ratio = transport_ratios(plan)
    extra: dict[int, int] = {}
    for k, cand in enumerate(problem.candidates):
        order = instance.orders[cand.order]
        factory = instance.factories[cand.factory].id
        cents = 0.0
        if cand.operation in (None, 0):
            for mid, per_unit in order.bill_of_materials.items():
                cents += w.purchasing * per_unit * unit.get((mid, factory), 0.0)
        if order.id in ratio and cand.transport:
            cents += w.transport * (ratio[order.id] - 1.0) * cand.transport
        if cents:
            # Per unit, never beyond what the format lets a unit cost (docs/service.md,
            # "Numeric limits"): a carrier minimum spread over a handful of units must not
            # blow the mandatory penalty past what the models can carry.
            extra[k] = max(-MAX_UNIT_CENTS, min(MAX_UNIT_CENTS, round(cents)))
    return extra


def material_unit_costs(
    instance: Instance, purchasing: Purchasing | None
) -> dict[tuple[str, str], float]:
    """(material, factory) -> cents for one unit of a purchased material delivered
    there, at the prices the plan's purchases reached."""
    if purchasing is None:
        return {}
    bought: dict[tuple[str, str], int] = {}  # (supplier, material) -> whole units
    for p in purchasing.purchases:
        bought[(p.supplier, p.material)] = round(p.quantity)
    total: dict[str, int] = defaultdict(int)
    for (_, mid), q in bought.items():
        total[mid] += q
    out: dict[tuple[str, str], float] = {}
    for material in instance.materials:
        if material.sourcing == MaterialSourcing.PROVIDED or not total.get(material.id):
            continue
        for supplier in instance.suppliers:
            for offer in supplier.offers:
                if offer.material != material.id:
                    continue
                price = _unit_price(offer, bought.get((supplier.id, material.id)), total)
                if price is None:
                    continue
                for factory in instance.factories:
                    inbound = transport_cents_per_unit(
                        supplier.location,
                        factory.location,
                        instance.transport,
                        material.kg_per_unit,
                    )
                    key = (material.id, factory.id)
                    out[key] = min(out.get(key, float("inf")), price + inbound)
    return out


def _unit_price(offer: Offer, quantity: int | None, total: dict[str, int]) -> float | None:
    """The marginal price of a unit from ``offer``: its tier at the quantity the plan
    bought there (or, unused, the material's whole purchased quantity); None when the
    offer cannot be used."""
    minimum, capacity = whole_limits(offer)
    if not usable(minimum, capacity):
        return None
    q = quantity if quantity else total[offer.material]
    q = max(q, minimum)
    if capacity is not None:
        q = min(q, capacity)
    prices = tuple(t.unit_price_cents for t in offer.price.tiers)
    incremental = offer.price.type == "incremental"
    return float(prices[tier_reached(whole_breaks(offer), incremental, q)])


def transport_ratios(plan: Plan) -> dict[str, float]:
    """Order -> what its goods really cost to move over the per-unit estimate (only
    orders whose goods the routing stage moved)."""
    routes: Routing | None = plan.routes
    if routes is None:
        return {}
    estimate: dict[str, int] = defaultdict(int)
    for a in plan.allocations:
        estimate[a.order] += a.transport_cents
    requests = {r.id: r for r in routes.requests}
    real: dict[str, float] = defaultdict(float)
    for route in routes.routes:
        carried = sorted({s.request for s in route.stops})
        weight = sum(requests[r].carrier_cents for r in carried) or 1
        for rid in carried:
            r = requests[rid]
            if r.kind == "goods" and r.order is not None:
                real[r.order] += route.cost_cents * r.carrier_cents / weight
    for u in routes.unrouted:
        r = requests[u.request]
        if r.kind == "goods" and r.order is not None:
            real[r.order] += r.carrier_cents
    return {o: real[o] / estimate[o] for o in real if estimate.get(o)}
