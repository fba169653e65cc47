"""The purchasing section (docs/purchasing.md), recomputed from first principles.

Needs from the plan's first operations and the bills of materials, after the
factories' stock (provided materials have none, and are never bought); each purchase's
call-offs, lead times, MOQ, capacity, tier, price, cost and inbound transport from the
offers; coverage, shortages, surplus, the supplier limit, the totals and the savings
split. :func:`check_purchasing` adds the recomputed costs to the checker's totals.
"""

from __future__ import annotations

import math
from collections import defaultdict

from matcher.check.codes import NEED_TOL, QTY_TOL, ViolationCode
from matcher.check.figures import (
    inbound_transport_cents,
    material_cost,
    minimum_purchase,
    tier_breaks,
    tier_reached,
    usable_offer,
    whole_units,
)
from matcher.check.state import CheckState
from matcher.domain.entities import Factory, Material, MaterialSourcing, Offer, Supplier
from matcher.domain.plan import Purchase, Purchasing, ShortageReason


def check_purchasing(checker: CheckState) -> None:
    """The purchasing section, when the stage ran (docs/purchasing.md)."""
    if checker.plan.purchasing is None:
        return
    purchasing = _PurchasingChecker(checker, checker.plan.purchasing)
    purchasing.run()
    checker.totals.purchasing = purchasing.collective
    checker.totals.material = purchasing.material


class _PurchasingChecker:
    """The purchasing section against docs/purchasing.md, recomputed from first principles.

    ``material`` and ``transport`` end as the recomputed totals (a purchase whose figure
    cannot be recomputed, say of an unknown offer, contributes the plan's own figure, so
    one mistake is reported once).
    """

    def __init__(self, checker: CheckState, section: Purchasing) -> None:
        inst = checker.inst
        self.inst = inst
        self.add = checker.add
        self.section = section
        self.periods = checker.periods
        self.factories = checker.factories
        self.suppliers = {s.id: s for s in inst.suppliers}
        self.offers = {(s.id, o.material): o for s in inst.suppliers for o in s.offers}
        # Material -> lead times of the offers that can sell at least one whole unit (an
        # offer whose capacity is below its minimum purchase is no offer at all).
        self.leads: dict[str, list[int]] = defaultdict(list)
        for s in inst.suppliers:
            for o in s.offers:
                if usable_offer(o):
                    self.leads[o.material].append(o.lead_time_periods)
        self.materials = {m.id: m for m in inst.materials}
        self.provided = {m.id for m in inst.materials if m.sourcing is MaterialSourcing.PROVIDED}
        self.needs = checker.needs
        # Per (factory, material): deliveries by period (one arriving before period 0
        # counts from period 0, one after the horizon never), their total, and the
        # shortages as (period, index into shortages, quantity).
        self.delivered: dict[tuple[str, str], list[float]] = {}
        self.delivered_total: dict[tuple[str, str], float] = defaultdict(float)
        self.short: dict[tuple[str, str], list[tuple[int, int, float]]] = defaultdict(list)
        self.overclaimed: set[tuple[str, str]] = set()
        self.rates: dict[tuple[str, str, str], int] = {}
        self.material = 0
        self.transport = 0

    @property
    def collective(self) -> int:
        return self.material + self.transport

    def run(self) -> None:
        seen: dict[tuple[str, str], int] = {}
        for i, purchase in enumerate(self.section.purchases):
            key = (purchase.supplier, purchase.material)
            if key in seen:
                self.add(
                    ViolationCode.DUPLICATE_PURCHASE,
                    f"purchasing.purchases[{i}]",
                    f"supplier '{purchase.supplier}' material '{purchase.material}' is "
                    f"already bought in purchasing.purchases[{seen[key]}]",
                )
            else:
                seen[key] = i
            self._check_purchase(i, purchase)
        self._check_shortages()
        self._check_coverage()
        self._check_surplus()
        self._check_supplier_limit()
        self._check_totals()
        self._check_shares()
        self._check_core()

    # -- one purchase ------------------------------------------------------------

    def _check_purchase(self, i: int, purchase: Purchase) -> None:
        path = f"purchasing.purchases[{i}]"
        supplier = self.suppliers.get(purchase.supplier)
        offer = self.offers.get((purchase.supplier, purchase.material))
        if supplier is None:
            self.add(
                ViolationCode.PURCHASE_UNKNOWN_OFFER,
                f"{path}.supplier",
                f"unknown supplier '{purchase.supplier}'",
            )
        elif offer is None:
            self.add(
                ViolationCode.PURCHASE_UNKNOWN_OFFER,
                f"{path}.material",
                f"supplier '{purchase.supplier}' does not offer material '{purchase.material}'",
            )
        if purchase.material in self.provided:
            self.add(
                ViolationCode.MATERIAL_PROVIDED,
                f"{path}.material",
                f"material '{purchase.material}' is provided (brought by the buyer or the "
                "factory): it is never bought",
            )
        self.transport += self._check_deliveries(path, purchase, supplier, offer)
        quantity = self._check_quantity(path, purchase)
        if offer is None or quantity is None:
            self.material += purchase.cost_cents
        else:
            self.material += self._check_schedule(path, purchase, offer, quantity)
        if not -QTY_TOL <= purchase.surplus <= purchase.quantity + QTY_TOL:
            self.add(
                ViolationCode.PURCHASE_SURPLUS,
                f"{path}.surplus",
                f"surplus {purchase.surplus:g} outside 0..{purchase.quantity:g}",
            )

    def _check_deliveries(
        self, path: str, purchase: Purchase, supplier: Supplier | None, offer: Offer | None
    ) -> int:
        """Each call-off; returns the recomputed transport.

        The plan's own figure stands in when it cannot be recomputed (an unknown offer,
        factory or a fractional delivery), so that the one mistake is reported once.
        """
        material = self.materials.get(purchase.material)
        lead = offer.lead_time_periods if offer is not None else None
        transport: int | None = 0 if offer is not None else None
        for j, d in enumerate(purchase.deliveries):
            dpath = f"{path}.deliveries[{j}]"
            factory = self.factories.get(d.factory)
            quantity = whole_units(d.quantity)
            if factory is None:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{dpath}.factory",
                    f"unknown factory '{d.factory}'",
                )
            if not 0 <= d.period < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{dpath}.period",
                    f"delivery in period {d.period}, outside the horizon 0..{self.periods - 1}",
                )
            if quantity is None or quantity <= 0:
                self.add(
                    ViolationCode.PURCHASE_QUANTITY,
                    f"{dpath}.quantity",
                    f"delivery of {d.quantity:g} is not a positive whole number of units",
                )
            if lead is not None:
                self._check_call_off(dpath, d.period, d.order_period, lead)
            if supplier is None or material is None or factory is None or quantity is None:
                transport = None
            elif transport is not None:
                transport += self._rate(supplier, factory, material) * quantity
            self._deliver(purchase.material, d.factory, d.period, d.quantity)
        if lead is not None and purchase.deliveries:
            first = min(d.period for d in purchase.deliveries) - lead
            if purchase.order_period != first:
                self.add(
                    ViolationCode.PURCHASE_LEAD_TIME,
                    f"{path}.order_period",
                    f"first call-off is in period {first} (earliest delivery - lead time "
                    f"{lead}), plan says {purchase.order_period}",
                )
        if transport is None:
            return purchase.transport_cents
        if transport != purchase.transport_cents:
            self.add(
                ViolationCode.PURCHASE_TRANSPORT,
                f"{path}.transport_cents",
                f"supplier '{purchase.supplier}' material '{purchase.material}': inbound "
                f"transport of the deliveries is {transport}, plan says "
                f"{purchase.transport_cents}",
            )
        return transport

    def _check_call_off(self, dpath: str, period: int, order_period: int, lead: int) -> None:
        expected = period - lead
        if order_period != expected:
            self.add(
                ViolationCode.PURCHASE_LEAD_TIME,
                f"{dpath}.order_period",
                f"delivery for period {period} with lead time {lead} is called off in period "
                f"{expected}, plan says {order_period}",
            )
        elif expected < 0:
            self.add(
                ViolationCode.PURCHASE_LEAD_TIME,
                f"{dpath}.order_period",
                f"delivery for period {period} with lead time {lead} would be called off in "
                f"period {expected}, before the horizon",
            )

    def _rate(self, supplier: Supplier, factory: Factory, material: Material) -> int:
        key = (supplier.id, factory.id, material.id)
        rate = self.rates.get(key)
        if rate is None:
            rate = self.rates[key] = inbound_transport_cents(self.inst, supplier, factory, material)
        return rate

    def _deliver(self, material: str, factory: str, period: int, quantity: float) -> None:
        key = (factory, material)
        self.delivered_total[key] += quantity
        if period < self.periods:
            row = self.delivered.setdefault(key, [0.0] * self.periods)
            row[max(0, period)] += quantity

    def _check_quantity(self, path: str, purchase: Purchase) -> int | None:
        """The purchase's whole quantity, or ``None`` (reported) when it is unusable."""
        quantity = whole_units(purchase.quantity)
        if quantity is None or quantity <= 0:
            self.add(
                ViolationCode.PURCHASE_QUANTITY,
                f"{path}.quantity",
                f"quantity {purchase.quantity:g} is not a positive whole number of units",
            )
            return None
        delivered = sum(d.quantity for d in purchase.deliveries)
        if abs(delivered - purchase.quantity) > QTY_TOL:
            self.add(
                ViolationCode.PURCHASE_QUANTITY,
                f"{path}.quantity",
                f"deliveries sum to {delivered:g}, purchase quantity is {purchase.quantity:g}",
            )
            return None
        return quantity

    def _check_schedule(self, path: str, purchase: Purchase, offer: Offer, quantity: int) -> int:
        """MOQ, capacity, tier, price and cost; returns the recomputed cost."""
        who = f"supplier '{purchase.supplier}' material '{purchase.material}'"
        breaks = tier_breaks(offer)
        minimum = minimum_purchase(offer)
        if quantity < minimum:
            self.add(
                ViolationCode.PURCHASE_MOQ,
                f"{path}.quantity",
                f"{who}: {quantity} units, below the minimum {minimum} (MOQ {offer.moq:g}, "
                f"first break {offer.price.tiers[0].min_quantity:g}, rounded up)",
            )
        if offer.capacity is not None and quantity > math.floor(offer.capacity + NEED_TOL):
            self.add(
                ViolationCode.PURCHASE_CAPACITY,
                f"{path}.quantity",
                f"{who}: {quantity} units, above the capacity {offer.capacity:g} "
                f"({math.floor(offer.capacity + NEED_TOL)} whole units)",
            )
        tier = tier_reached(offer, breaks, quantity)
        if tier is None:
            return purchase.cost_cents  # below the first all-units break: PURCHASE_MOQ
        kind = offer.price.type.value
        if purchase.tier != tier:
            self.add(
                ViolationCode.PURCHASE_TIER,
                f"{path}.tier",
                f"{who}: {quantity} units reach tier {tier} of the {kind} schedule with "
                f"breaks {breaks}, plan says {purchase.tier}",
            )
        price = offer.price.tiers[tier].unit_price_cents
        if purchase.unit_price_cents != price:
            self.add(
                ViolationCode.PURCHASE_PRICE,
                f"{path}.unit_price_cents",
                f"{who}: tier {tier} costs {price} per unit, plan says {purchase.unit_price_cents}",
            )
        cost = material_cost(offer, breaks, tier, quantity)
        if purchase.cost_cents != cost:
            self.add(
                ViolationCode.PURCHASE_COST,
                f"{path}.cost_cents",
                f"{who}: {quantity} units cost {cost} on the {kind} schedule, plan says "
                f"{purchase.cost_cents}",
            )
        return cost

    # -- needs against deliveries and shortages ----------------------------------

    def _check_shortages(self) -> None:
        for i, s in enumerate(self.section.shortages):
            path = f"purchasing.shortages[{i}]"
            if s.factory not in self.factories:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{path}.factory",
                    f"unknown factory '{s.factory}'",
                )
            if not 0 <= s.period < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{path}.period",
                    f"shortage in period {s.period}, outside the horizon 0..{self.periods - 1}",
                )
            quantity = whole_units(s.quantity)
            if quantity is None or quantity <= 0:
                self.add(
                    ViolationCode.SHORTAGE_QUANTITY,
                    f"{path}.quantity",
                    f"shortage of {s.quantity:g} is not a positive whole number of units",
                )
            if s.material in self.provided:
                # Reported once: it needs no purchase, so it is no shortage at all.
                self.add(
                    ViolationCode.MATERIAL_PROVIDED,
                    f"{path}.material",
                    f"material '{s.material}' is provided (brought by the buyer or the "
                    "factory): it has no needs, so no shortage",
                )
                continue
            leads = self.leads.get(s.material, [])
            if s.reason is ShortageReason.NO_SUPPLIER and leads:
                self.add(
                    ViolationCode.SHORTAGE_REASON,
                    f"{path}.reason",
                    f"{len(leads)} supplier(s) offer material '{s.material}'",
                )
            elif s.reason is ShortageReason.LEAD_TIME and leads and min(leads) <= s.period:
                self.add(
                    ViolationCode.SHORTAGE_REASON,
                    f"{path}.reason",
                    f"material '{s.material}' has an offer with lead time {min(leads)}, in time "
                    f"for period {s.period}",
                )
            self.short[(s.factory, s.material)].append((s.period, i, s.quantity))
        for (fid, mid), entries in self.short.items():
            cum = self.needs.get((fid, mid))
            total = 0.0
            for period, i, amount in sorted(entries):
                total += amount
                need = cum[min(max(period, 0), self.periods - 1)] if cum else 0
                if total > need + QTY_TOL:
                    self.overclaimed.add((fid, mid))
                    self.add(
                        ViolationCode.SHORTAGE_EXCEEDS_NEED,
                        f"purchasing.shortages[{i}].quantity",
                        f"factory '{fid}' material '{mid}': shortages up to period {period} "
                        f"total {total:g}, more than the {need} units needed by then",
                    )
                    break

    def _check_coverage(self) -> None:
        for (fid, mid), cum in self.needs.items():
            delivered = self.delivered.get((fid, mid), [0.0] * self.periods)
            short = [0.0] * self.periods
            for period, _, quantity in self.short.get((fid, mid), []):
                if period < self.periods:
                    short[max(0, period)] += quantity
            got = missing = 0.0
            for p in range(self.periods):
                got += delivered[p]
                missing += short[p]
                if got + missing + QTY_TOL < cum[p]:
                    self.add(
                        ViolationCode.MATERIAL_NOT_COVERED,
                        "purchasing.purchases",
                        f"factory '{fid}' material '{mid}': {cum[p]} units needed by period "
                        f"{p}, {got:g} delivered by then and {missing:g} reported short",
                    )
                    break

    def _check_surplus(self) -> None:
        """Per material, the stated surplus is what was delivered beyond the needs."""
        expected: dict[str, float] = defaultdict(float)
        for (fid, mid), delivered in self.delivered_total.items():
            cum = self.needs.get((fid, mid))
            # Shortages that claim more than the need are reported once, as such.
            shortages = [] if (fid, mid) in self.overclaimed else self.short.get((fid, mid), [])
            short = sum(q for _, _, q in shortages)
            expected[mid] += max(0.0, delivered - ((cum[-1] if cum else 0) - short))
        stated: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        for i, purchase in enumerate(self.section.purchases):
            if purchase.material in self.provided:
                continue  # reported once, as MATERIAL_PROVIDED
            stated[purchase.material] += purchase.surplus
            first.setdefault(purchase.material, i)
        for mid, i in first.items():
            if abs(stated[mid] - expected[mid]) > QTY_TOL:
                self.add(
                    ViolationCode.PURCHASE_SURPLUS,
                    f"purchasing.purchases[{i}].surplus",
                    f"material '{mid}': {expected[mid]:g} units delivered beyond the needs "
                    f"(net of shortages), the purchases state a surplus of {stated[mid]:g}",
                )

    def _check_supplier_limit(self) -> None:
        limit = self.section.max_suppliers_per_material
        if limit is None:
            return
        used: dict[str, list[str]] = defaultdict(list)
        for i, purchase in enumerate(self.section.purchases):
            suppliers = used[purchase.material]
            if purchase.supplier in suppliers:
                continue
            suppliers.append(purchase.supplier)
            if len(suppliers) == limit + 1:
                self.add(
                    ViolationCode.SUPPLIER_LIMIT,
                    f"purchasing.purchases[{i}]",
                    f"material '{purchase.material}' bought from {suppliers}, at most {limit} "
                    "supplier(s) allowed",
                )

    # -- reported figures --------------------------------------------------------

    def _check_totals(self) -> None:
        s = self.section
        figures = {
            "material_cents": self.material,
            "transport_cents": self.transport,
            "collective_cents": self.collective,
        }
        for name, expected in figures.items():
            stated = getattr(s, name)
            if stated != expected:
                self.add(
                    ViolationCode.PURCHASING_TOTALS,
                    f"purchasing.{name}",
                    f"recomputed {expected}, plan says {stated}",
                )
        self._check_savings()

    def _check_savings(self) -> None:
        s = self.section
        if s.standalone_cents is None:
            # The solve stopped before the stand-alone costs: no savings to state.
            if s.savings_cents is not None:
                self.add(
                    ViolationCode.SAVINGS_TOTALS,
                    "purchasing.savings_cents",
                    f"savings {s.savings_cents} stated without a stand-alone cost",
                )
            return
        savings = s.standalone_cents - self.collective
        if s.savings_cents != savings:
            self.add(
                ViolationCode.SAVINGS_TOTALS,
                "purchasing.savings_cents",
                f"standalone {s.standalone_cents} - collective {self.collective} = {savings}, "
                f"plan says {s.savings_cents}",
            )
        by_material = sum(s.savings_by_material_cents.values())
        if s.savings_cents is not None and by_material != s.savings_cents:
            self.add(
                ViolationCode.SAVINGS_TOTALS,
                "purchasing.savings_by_material_cents",
                f"savings by material sum to {by_material}, plan says {s.savings_cents} in total",
            )
        for mid in s.savings_by_material_cents:
            if mid not in self.materials:
                self.add(
                    ViolationCode.SAVINGS_TOTALS,
                    f"purchasing.savings_by_material_cents.{mid}",
                    f"unknown material '{mid}'",
                )

    def _check_shares(self) -> None:
        s = self.section
        shapley = ("shapley", "shapley-sampled")
        methods = {"proportional": ("proportional",), "shapley": shapley}
        methods["shapley-sampled"] = shapley
        methods["mixed"] = ("mixed",)  # some materials fell back to another method
        allowed = methods.get(s.split_method)
        if allowed is None:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.split_method",
                f"unknown split method '{s.split_method}' (proportional, shapley, "
                "shapley-sampled or mixed)",
            )
        if not s.shares and s.standalone_cents is None:
            return  # the solve stopped before the split
        needy = {fid for (fid, _), cum in self.needs.items() if cum[-1] > 0}
        seen: set[str] = set()
        for i, share in enumerate(s.shares):
            path = f"purchasing.shares[{i}]"
            if share.factory not in self.factories:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY,
                    f"{path}.factory",
                    f"unknown factory '{share.factory}'",
                )
            elif share.factory in seen:
                self.add(
                    ViolationCode.SAVINGS_SPLIT, path, f"factory '{share.factory}' listed twice"
                )
            elif share.factory not in needy and (share.standalone_cents or share.charged_cents):
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    path,
                    f"factory '{share.factory}' needs no material but is charged "
                    f"{share.charged_cents} with a stand-alone cost of {share.standalone_cents}",
                )
            seen.add(share.factory)
            if share.saving_cents != share.standalone_cents - share.charged_cents:
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    f"{path}.saving_cents",
                    f"standalone {share.standalone_cents} - charged {share.charged_cents} = "
                    f"{share.standalone_cents - share.charged_cents}, plan says "
                    f"{share.saving_cents}",
                )
            if allowed is not None and share.method not in allowed:
                self.add(
                    ViolationCode.SAVINGS_SPLIT,
                    f"{path}.method",
                    f"method '{share.method}' with split '{s.split_method}'",
                )
        missing = sorted(needy - seen)
        if missing:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"no line for factory/factories {missing}, which need material",
            )
        self._check_share_sums()

    def _check_share_sums(self) -> None:
        # The charges themselves are not recomputed: Shapley needs the coalitions'
        # optimal costs, and the split is made per material, from stand-alone costs per
        # factory and material that the plan does not carry (even proportional).
        s = self.section
        charged = sum(share.charged_cents for share in s.shares)
        if charged != self.collective:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"charges sum to {charged}, the collective cost is {self.collective}",
            )
        standalone = sum(share.standalone_cents for share in s.shares)
        if s.standalone_cents is not None and standalone != s.standalone_cents:
            self.add(
                ViolationCode.SAVINGS_SPLIT,
                "purchasing.shares",
                f"stand-alone costs sum to {standalone}, plan says {s.standalone_cents}",
            )

    def _check_core(self) -> None:
        core = self.section.core
        if core is None:
            return
        if core.excess_cents < 0:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.excess_cents",
                f"excess {core.excess_cents} is negative (0 when no coalition blocks)",
            )
        elif core.excess_cents > 0 and not core.blocking_coalition:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.blocking_coalition",
                f"excess {core.excess_cents} but no blocking coalition named",
            )
        if core.material is not None and core.material not in self.materials:
            self.add(
                ViolationCode.CORE_CHECK,
                "purchasing.core.material",
                f"unknown material '{core.material}'",
            )
        # A coalition leaves one material's buying group: its members are factories of
        # the split, and when the material is named, factories that need it.
        members = {share.factory for share in self.section.shares}
        if core.material is not None:
            members &= {f for (f, m), cum in self.needs.items() if m == core.material and cum[-1]}
        seen: set[str] = set()
        for k, fid in enumerate(core.blocking_coalition):
            if fid in seen:
                why = "listed twice"
            elif fid not in members:
                why = "not a factory of the split" + (
                    f" that needs '{core.material}'" if core.material is not None else ""
                )
            else:
                why = ""
            if why:
                self.add(
                    ViolationCode.CORE_CHECK,
                    f"purchasing.core.blocking_coalition[{k}]",
                    f"'{fid}' is {why}",
                )
            seen.add(fid)
