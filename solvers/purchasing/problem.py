"""The purchasing problem in whole units: needs per factory and period, offers.

Everything the models and the plan need, computed once from the instance and the
allocations, with the conventions of ``docs/purchasing.md``: whole units, breaks and
MOQ rounded up, capacity down, needs rounded up cumulatively, inbound transport per
unit rounded half up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from matcher.domain.entities import Material, MaterialSourcing, Offer
from matcher.domain.geo import transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.plan import Allocation

NEED_TOLERANCE = 1e-9
"""Raw needs are sums of floats: ``ceil(x - tol)`` keeps 3.0000000001 at 3."""


@dataclass(frozen=True)
class OfferData:
    """One supplier's offer of one material, in whole units."""

    index: int  # position in MaterialProblem.offers
    supplier: str
    offer: Offer
    breaks: tuple[int, ...]  # ceil of each tier's min_quantity
    prices: tuple[int, ...]
    incremental: bool
    minimum: int  # a purchase is 0 or >= this: ceil(max(moq, first break))
    capacity: int | None  # floor of the capacity
    lead: int
    transport: Mapping[str, int]  # factory id -> cents per unit delivered there

    @property
    def usable(self) -> bool:
        return usable(self.minimum, self.capacity)

    def cost(self, quantity: int) -> int:
        """Material cost of buying ``quantity`` units (0 for 0)."""
        return offer_cost(self.breaks, self.prices, self.incremental, quantity)

    def tier(self, quantity: int) -> int:
        return tier_reached(self.breaks, self.incremental, quantity)


def whole_breaks(offer: Offer) -> tuple[int, ...]:
    """The tier breaks in whole units, rounded up."""
    return tuple(math.ceil(tier.min_quantity - NEED_TOLERANCE) for tier in offer.price.tiers)


def whole_limits(offer: Offer) -> tuple[int, int | None]:
    """The minimum purchase (MOQ and first break, rounded up) and the capacity (rounded
    down; None: unlimited) in whole units."""
    minimum = max(whole_breaks(offer)[0], math.ceil(offer.moq - NEED_TOLERANCE))
    capacity = None if offer.capacity is None else math.floor(offer.capacity + NEED_TOLERANCE)
    return minimum, capacity


def usable(minimum: int, capacity: int | None) -> bool:
    """Whether an offer can be bought from at all: its capacity reaches its minimum."""
    return capacity is None or capacity >= max(1, minimum)


def tier_reached(breaks: tuple[int, ...], incremental: bool, quantity: int) -> int:
    """All-units: the highest tier whose break is reached; incremental: the tier of the
    last unit bought."""
    if incremental:
        return max([0] + [k for k in range(1, len(breaks)) if breaks[k] < quantity])
    return max([0] + [k for k in range(1, len(breaks)) if breaks[k] <= quantity])


def offer_cost(
    breaks: tuple[int, ...], prices: tuple[int, ...], incremental: bool, quantity: int
) -> int:
    if quantity <= 0:
        return 0
    if not incremental:
        return quantity * prices[tier_reached(breaks, False, quantity)]
    bounds = [0, *breaks[1:], quantity]
    return sum(p * max(0, min(quantity, bounds[k + 1]) - bounds[k]) for k, p in enumerate(prices))


@dataclass
class MaterialProblem:
    """Every offer and every factory's needs of one material."""

    material: Material
    offers: list[OfferData]
    needs: dict[str, dict[int, int]]  # factory id -> period -> whole units (> 0)
    dropped: list[str] = field(default_factory=list)  # why an offer cannot be used

    @property
    def factories(self) -> list[str]:
        return sorted(self.needs)

    def demand(self, factories: Iterable[str] | None = None) -> int:
        keys = self.needs if factories is None else factories
        return sum(sum(self.needs[f].values()) for f in keys if f in self.needs)


@dataclass
class PurchasingProblem:
    materials: list[MaterialProblem]

    @property
    def factories(self) -> list[str]:
        return sorted({f for m in self.materials for f in m.needs})

    @property
    def size(self) -> int:
        """Delivery variables of the collective models, a measure of work."""
        return sum(len(m.offers) * len(m.needs) for m in self.materials)


def material_needs(
    instance: Instance, allocations: Iterable[Allocation]
) -> dict[str, dict[str, dict[int, int]]]:
    """Whole units needed: material id -> factory id -> period -> units.

    A part needs its order's bill of materials times its quantity in each period it
    is made (the first operation's allocation carries the part's periods), less the
    factory's stock of the material; provided materials are never needed.
    """
    orders = {o.id: o for o in instance.orders}
    provided = {m.id for m in instance.materials if m.sourcing == MaterialSourcing.PROVIDED}
    stock = {(m, f.id): q for f in instance.factories for m, q in f.stock.items()}
    raw: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for a in allocations:
        if a.operation != 0:
            continue
        bom = orders[a.order].bill_of_materials
        for mat, per_unit in bom.items():
            if mat in provided:
                continue
            for pq in a.periods:
                raw[(mat, a.factory)][pq.period] += per_unit * pq.quantity
    needs: dict[str, dict[str, dict[int, int]]] = defaultdict(dict)
    for (mat, fac), by_period in raw.items():
        cum_raw, cum_whole = 0.0, 0
        on_hand = stock.get((mat, fac), 0.0)
        per: dict[int, int] = {}
        for t in sorted(by_period):
            cum_raw += by_period[t]
            whole = math.ceil(cum_raw - on_hand - NEED_TOLERANCE)
            if whole > cum_whole:
                per[t] = whole - cum_whole
                cum_whole = whole
        if per:
            needs[mat][fac] = per
    return dict(needs)


def build_purchasing_problem(
    instance: Instance, needs: Mapping[str, Mapping[str, Mapping[int, int]]]
) -> PurchasingProblem:
    """Offers in whole units and the needs, per material needed."""
    materials = {m.id: m for m in instance.materials}
    factories = {f.id: f for f in instance.factories}
    t = instance.transport
    out: list[MaterialProblem] = []
    for mat_id in sorted(needs):
        material = materials[mat_id]
        offers: list[OfferData] = []
        dropped: list[str] = []
        for supplier in instance.suppliers:
            for offer in supplier.offers:
                if offer.material != mat_id:
                    continue
                breaks = whole_breaks(offer)
                minimum, capacity = whole_limits(offer)
                data = OfferData(
                    index=len(offers),
                    supplier=supplier.id,
                    offer=offer,
                    breaks=breaks,
                    prices=tuple(tier.unit_price_cents for tier in offer.price.tiers),
                    incremental=offer.price.type == "incremental",
                    minimum=minimum,
                    capacity=capacity,
                    lead=offer.lead_time_periods,
                    transport={
                        f: transport_cents_per_unit(
                            supplier.location, factories[f].location, t, material.kg_per_unit
                        )
                        for f in needs[mat_id]
                    },
                )
                if data.usable:
                    offers.append(data)
                else:
                    dropped.append(
                        f"{supplier.id}'s offer of {mat_id} cannot be used: its capacity "
                        f"{offer.capacity:g} in whole units is below its minimum purchase "
                        f"{data.minimum}"
                    )
        out.append(
            MaterialProblem(
                material,
                offers,
                {f: dict(per) for f, per in needs[mat_id].items()},
                dropped,
            )
        )
    return PurchasingProblem(out)
