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
  routes that carried them, or the carrier's price with its minimum charge; through a
  hub also its share of the line-haul and the handling) over what the per-unit
  estimate said; every candidate of the order has its transport estimate scaled by
  that ratio, weighted by ``weights.transport``;
- **hubs** (docs/logistics.md): a candidate factory with a hub may ship through it
  instead, at what the plan shows that path costs a kg (the hub's milk runs, its
  handling, the line-haul to the buyers' region), and a material may come in through it the
  same way; the cheaper path counts. A factory far from any hub keeps the door-to-door
  price, so the assignment does not choose it on a flat estimate.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.domain.entities import MAX_UNIT_CENTS, Hub, MaterialSourcing, Offer
from matcher.domain.geo import line_haul_cost, road_km, transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan, Purchasing, Routing
from solvers.assignment.problem import AssignmentProblem
from solvers.purchasing.problem import tier_reached, usable, whole_breaks, whole_limits
from solvers.routing.hubs import factory_hubs


def candidate_costs(problem: AssignmentProblem, plan: Plan) -> dict[int, int]:
    """Weighted cents per unit to add to each candidate part (absent: nothing)."""
    instance = problem.instance
    w = problem.weights
    hubs = HubRates(instance, plan)
    unit = material_unit_costs(instance, plan.purchasing, hubs)
    ratio = transport_ratios(instance, plan)
    extra: dict[int, int] = {}
    for k, cand in enumerate(problem.candidates):
        order = instance.orders[cand.order]
        factory = instance.factories[cand.factory].id
        cents = 0.0
        if cand.operation in (None, 0):
            for mid, per_unit in order.bill_of_materials.items():
                cents += w.purchasing * per_unit * unit.get((mid, factory), 0.0)
        if cand.transport:
            moved = cand.transport * ratio.get(order.id, 1.0)
            goods = cand.operation is None or cand.operation == len(order.operations) - 1
            through = hubs.goods_per_unit(order.id, factory) if goods else None
            if through is not None:
                moved = min(moved, through)
            cents += w.transport * (moved - cand.transport)
        if cents:
            # Per unit, never beyond what the format lets a unit cost (docs/service.md,
            # "Numeric limits"): a carrier minimum spread over a handful of units must not
            # blow the mandatory penalty past what the models can carry.
            extra[k] = max(-MAX_UNIT_CENTS, min(MAX_UNIT_CENTS, round(cents)))
    return extra


def material_unit_costs(
    instance: Instance, purchasing: Purchasing | None, hubs: HubRates | None = None
) -> dict[tuple[str, str], float]:
    """(material, factory) -> cents for one unit of a purchased material delivered
    there, at the prices the plan's purchases reached (through the factory's hub when
    ``hubs`` shows that path cheaper than door to door)."""
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
                    inbound: float = transport_cents_per_unit(
                        supplier.location,
                        factory.location,
                        instance.transport,
                        material.kg_per_unit,
                    )
                    if hubs is not None:
                        through = hubs.material_per_unit(
                            supplier.id, factory.id, material.kg_per_unit
                        )
                        if through is not None:
                            inbound = min(inbound, through)
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


def transport_ratios(instance: Instance, plan: Plan) -> dict[str, float]:
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
    for rid, cents in route_shares(routes).items():
        r = requests[rid]
        if r.kind == "goods" and r.order is not None:
            real[r.order] += cents
    for rid, cents in onward_shares(instance, routes).items():
        r = requests[rid]
        if r.kind == "goods" and r.order is not None:
            real[r.order] += cents
    for u in routes.unrouted:
        r = requests[u.request]
        if r.kind == "goods" and r.order is not None:
            real[r.order] += r.carrier_cents
    return {o: real[o] / estimate[o] for o in real if estimate.get(o)}


def route_shares(routes: Routing) -> dict[str, float]:
    """Request -> its share of the route that carried it, by carrier price."""
    requests = {r.id: r for r in routes.requests}
    out: dict[str, float] = {}
    for route in routes.routes:
        carried = sorted({s.request for s in route.stops})
        weight = sum(requests[r].carrier_cents for r in carried) or 1
        for rid in carried:
            out[rid] = route.cost_cents * requests[rid].carrier_cents / weight
    return out


def onward_shares(instance: Instance, routes: Routing) -> dict[str, float]:
    """Carried hub leg -> its share of its line-haul shipment and of its hub's handling
    in the period, by weight (docs/logistics.md)."""
    requests = {r.id: r for r in routes.requests}
    kg = request_kg(instance, routes)
    out: dict[str, float] = defaultdict(float)
    legs: dict[tuple[str, int], list[str]] = defaultdict(list)
    for s in routes.line_haul:
        total = sum(kg[rid] for rid in s.requests)
        for rid in s.requests:
            out[rid] += s.cost_cents * (kg[rid] / total if total else 1 / len(s.requests))
            hub = requests[rid].hub
            if hub is not None:
                legs[(hub, requests[rid].period)].append(rid)
    for use in routes.hub_use:
        carried = legs.get((use.hub, use.period), [])
        total = sum(kg[rid] for rid in carried)
        for rid in carried:
            out[rid] += use.handling_cents * (kg[rid] / total if total else 1 / len(carried))
    return dict(out)


def request_kg(instance: Instance, routes: Routing) -> dict[str, float]:
    """Request -> its kg (units times the order's or the material's kg a unit)."""
    per_unit = {o.id: o.unit_weight_kg for o in instance.orders}
    per_material = {m.id: m.kg_per_unit for m in instance.materials}
    out: dict[str, float] = {}
    for r in routes.requests:
        if r.order is not None:
            out[r.id] = r.quantity * per_unit.get(r.order, 0.0)
        else:
            out[r.id] = r.quantity * per_material.get(r.material or "", 0.0)
    return out


class HubRates:
    """What the plan shows a kg costs through each hub: its milk runs (the carried legs'
    route shares over their kg; a hub none of whose legs were carried: the door-to-door
    carrier rate between the factory and the hub, what a milk run beats), its handling,
    and each lane's line-haul (the lane's shipments over their kg; a goods lane the plan
    did not use: a shipment of the order's whole weight alone; a material lane: its
    less-than-truckload rate without the minimum)."""

    def __init__(self, instance: Instance, plan: Plan) -> None:
        self.instance = instance
        self.orders = {o.id: o for o in instance.orders}
        self.factories = {f.id: f for f in instance.factories}
        self.suppliers = {s.id: s for s in instance.suppliers}
        # Factory -> its hub; none when the plan was not routed (no fleet, no hub paths).
        self.hub_of = {} if plan.routes is None else factory_hubs(instance)
        self.milk: dict[str, float] = {}  # hub -> cents a kg
        self.lane: dict[tuple[str, str], float] = {}  # (origin, destination) -> cents a kg
        routes = plan.routes
        if routes is None or not self.hub_of:
            return
        requests = {r.id: r for r in routes.requests}
        weights = request_kg(instance, routes)
        cents: dict[str, float] = defaultdict(float)
        kg: dict[str, float] = defaultdict(float)
        for rid, share in route_shares(routes).items():
            r = requests[rid]
            if r.hub is not None:
                cents[r.hub] += share
                kg[r.hub] += weights[rid]
        self.milk = {h: cents[h] / kg[h] for h in cents if kg[h] > 0}
        lane_cents: dict[tuple[str, str], float] = defaultdict(float)
        lane_kg: dict[tuple[str, str], float] = defaultdict(float)
        for s in routes.line_haul:
            lane_cents[(s.origin, s.destination)] += s.cost_cents
            lane_kg[(s.origin, s.destination)] += s.weight_kg
        self.lane = {k: lane_cents[k] / lane_kg[k] for k in lane_cents if lane_kg[k] > 0}

    def _milk_per_kg(self, hub: Hub, factory: str) -> float:
        if hub.id in self.milk:
            return self.milk[hub.id]
        f = self.factories[factory]
        km = road_km(f.location, hub.location, self.instance.transport)
        return km * self.instance.transport.cents_per_tonne_km / 1000

    def _lane_per_kg(self, origin: str, destination: str, kg: float, km: float) -> float:
        if (origin, destination) in self.lane:
            return self.lane[(origin, destination)]
        if kg <= 0:
            return 0.0
        return line_haul_cost(kg, km, self.instance.transport.line_haul_rates).cents / kg

    def goods_per_unit(self, order_id: str, factory: str) -> float | None:
        """Cents a unit of the order's goods costs from ``factory`` through its hub
        (``None``: the factory has no hub)."""
        hub = self.hub_of.get(factory)
        if hub is None:
            return None
        order = self.orders[order_id]
        kg = order.unit_weight_kg
        km = road_km(hub.location, order.delivery, self.instance.transport)
        region = order.delivery.region  # the lane's destination (docs/logistics.md)
        lane = self._lane_per_kg(hub.id, region or order.buyer, order.quantity * kg, km)
        return kg * (self._milk_per_kg(hub, factory) + hub.handling_cents_per_kg + lane)

    def material_per_unit(self, supplier: str, factory: str, kg: float) -> float | None:
        """Cents a unit of material (``kg`` a unit) costs from ``supplier`` to
        ``factory`` through the factory's hub (``None``: no hub)."""
        hub = self.hub_of.get(factory)
        if hub is None or kg <= 0:
            return None
        key = (supplier, hub.id)
        if key in self.lane:
            lane = self.lane[key]
        else:  # how much would share the lane is not known here: its rate, no minimum
            km = road_km(self.suppliers[supplier].location, hub.location, self.instance.transport)
            lane = km * self.instance.transport.line_haul_rates.ltl_cents_per_tonne_km / 1000
        return kg * (self._milk_per_kg(hub, factory) + hub.handling_cents_per_kg + lane)
