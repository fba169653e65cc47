"""The core pass over a plan: rows, parts, orders, capacity, costs and KPIs.

:class:`Checker` covers docs/model.md for orders planned as usual (each part the
rows of one order at one factory, every operation in the same periods): each row's
order, factory, operation and periods; each part's eligibility, lot bounds and
figures; each order's quantity and split; capacity and buyer shares; then the costs,
the objective and the KPIs from the totals every section has added to. While it goes
it records what the section checkers read (:mod:`matcher.check.state`).
"""

from __future__ import annotations

import math
from collections import defaultdict

from matcher.check.codes import FLOAT_TOL, SHARE_TOL, ViolationCode
from matcher.check.figures import is_split_by_operation, late_figures, unit_transport_cents
from matcher.check.state import CheckState, PlanPart
from matcher.domain.entities import Capability, Factory, Order
from matcher.domain.instance import Instance
from matcher.domain.plan import Allocation, CostBreakdown, Plan


def _rate(numerator: int | float, denominator: int | float) -> float:
    # A rate over an empty population (no orders, nothing served) is defined as 0.0.
    return numerator / denominator if denominator else 0.0


class Checker(CheckState):
    """One pass over a plan; each ``check_*`` method covers one section of the model.

    The shared state is :class:`~matcher.check.state.CheckState`; what only this pass
    needs (capacity references, buyer shares, units and parts per order) is kept here.
    """

    def __init__(self, instance: Instance, plan: Plan) -> None:
        super().__init__(instance, plan)
        self.factory_free: dict[str, int] = defaultdict(int)
        for (fid, _), minutes in self.free.items():
            self.factory_free[fid] += sum(minutes)
        self.used_ref: dict[tuple[str, str, int], tuple[int, int]] = {}  # first (row, entry)
        self.buyer_used: dict[tuple[str, str], int] = defaultdict(int)
        self.buyer_ref: dict[tuple[str, str], int] = {}  # first row
        self.order_units: dict[str, int] = defaultdict(int)
        self.order_parts: dict[str, int] = defaultdict(int)

    # -- rows ------------------------------------------------------------------

    def check_rows(self) -> None:
        for i, a in enumerate(self.plan.allocations):
            self._check_row(i, a)

    def _check_row(self, i: int, a: Allocation) -> None:
        path = f"allocations[{i}]"
        order = self.orders.get(a.order)
        factory = self.factories.get(a.factory)
        if order is None:
            self.unknown_order(f"{path}.order", a.order)
        else:
            self.served.setdefault(order.id, i)
        if factory is None:
            self.add(
                ViolationCode.UNKNOWN_FACTORY, f"{path}.factory", f"unknown factory '{a.factory}'"
            )
        if a.quantity <= 0:
            self.add(
                ViolationCode.NON_POSITIVE_QUANTITY,
                f"{path}.quantity",
                f"order '{a.order}' at '{a.factory}': quantity {a.quantity} is not positive",
            )
        self._check_periods(path, a, order)
        if order is None:
            return
        if not 0 <= a.operation < len(order.operations):
            self.add(
                ViolationCode.OPERATION_OUT_OF_RANGE,
                f"{path}.operation",
                f"order '{order.id}' has {len(order.operations)} operation(s), "
                f"row names operation {a.operation}",
            )
            return
        process = order.operations[a.operation].process
        if a.process != process:
            self.add(
                ViolationCode.PROCESS_MISMATCH,
                f"{path}.process",
                f"order '{order.id}' operation {a.operation} is '{process}', "
                f"row says '{a.process}'",
            )
        if factory is None:
            return
        self._part_of(i, a, order, factory).rows[a.operation].append(i)
        cap = self.caps[factory.id].get(process)
        if cap is None:
            return  # reported once per part as NO_CAPABILITY
        if a.resource_group != cap.resource_group:
            self.add(
                ViolationCode.RESOURCE_GROUP_MISMATCH,
                f"{path}.resource_group",
                f"factory '{factory.id}' runs '{process}' on '{cap.resource_group}', "
                f"row says '{a.resource_group}'",
            )
        self._charge(i, a, order, factory, cap)

    def _part_of(self, i: int, a: Allocation, order: Order, factory: Factory) -> PlanPart:
        """The part row ``i`` belongs to: the order at the factory, or for an order split
        by operation its stage part (the operation at the factory)."""
        if is_split_by_operation(order):
            stages = self.stages.setdefault(order.id, {}).setdefault(a.operation, {})
            stage = stages.get(factory.id)
            if stage is None:
                stage = stages[factory.id] = PlanPart(order, factory, i)
            return stage
        key = (order.id, factory.id)
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = PlanPart(order, factory, i)
        return part

    def _check_periods(self, path: str, a: Allocation, order: Order | None) -> None:
        # Fast path for the common, valid row: strictly ascending positive entries
        # inside release .. T-1. Only a row failing it pays for the detailed pass.
        previous = (order.release_period if order is not None else 0) - 1
        total = 0
        for pq in a.periods:
            if pq.period <= previous or pq.quantity <= 0:
                break
            previous = pq.period
            total += pq.quantity
        else:
            if previous < self.periods:
                if total != a.quantity:
                    self._period_sum_mismatch(path, a, total)
                return
        self._check_periods_in_detail(path, a, order)

    def _check_periods_in_detail(self, path: str, a: Allocation, order: Order | None) -> None:
        seen: set[int] = set()
        previous: int | None = None
        total = 0
        for k, pq in enumerate(a.periods):
            ppath = f"{path}.periods[{k}]"
            t = pq.period
            if t in seen:
                self.add(ViolationCode.DUPLICATE_PERIOD, ppath, f"period {t} listed twice")
            elif previous is not None and t < previous:
                self.add(ViolationCode.PERIODS_NOT_ASCENDING, ppath, f"period {t} after {previous}")
            seen.add(t)
            previous = t
            if pq.quantity <= 0:
                self.add(
                    ViolationCode.NON_POSITIVE_QUANTITY,
                    f"{ppath}.quantity",
                    f"order '{a.order}' period {t}: quantity {pq.quantity} is not positive",
                )
            total += pq.quantity
            if not 0 <= t < self.periods:
                self.add(
                    ViolationCode.PERIOD_OUTSIDE_HORIZON,
                    f"{ppath}.period",
                    f"order '{a.order}' at '{a.factory}': period {t} is outside the horizon "
                    f"0..{self.periods - 1}",
                )
            elif order is not None and t < order.release_period:
                self.add(
                    ViolationCode.BEFORE_RELEASE,
                    f"{ppath}.period",
                    f"order '{order.id}' at '{a.factory}': production in period {t}, "
                    f"before its release period {order.release_period}",
                )
        if total != a.quantity:
            self._period_sum_mismatch(path, a, total)

    def _period_sum_mismatch(self, path: str, a: Allocation, total: int) -> None:
        self.add(
            ViolationCode.PERIOD_SUM_MISMATCH,
            f"{path}.periods",
            f"order '{a.order}' at '{a.factory}': periods sum to {total}, "
            f"row quantity is {a.quantity}",
        )

    def _charge(
        self, i: int, a: Allocation, order: Order, factory: Factory, cap: Capability
    ) -> None:
        """Production cost of the row and its load on the factory's resource."""
        production = cap.unit_cost_cents * a.quantity
        self.totals.production += production
        if a.production_cents != production:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"allocations[{i}].production_cents",
                f"order '{order.id}' operation {a.operation} at '{factory.id}': "
                f"{cap.unit_cost_cents} x {a.quantity} = {production}, row says "
                f"{a.production_cents}",
            )
        setup = 60 * cap.setup_minutes
        rate = cap.seconds_per_unit
        fid, rid, horizon = factory.id, cap.resource_group, self.periods
        used, used_ref = self.used, self.used_ref
        row_seconds = 0
        for k, pq in enumerate(a.periods):
            t, q = pq.period, pq.quantity
            if q <= 0 or not 0 <= t < horizon:
                continue
            seconds = rate * q + setup
            key = (fid, rid, t)
            if key in used:
                used[key] += seconds
            else:
                used[key] = seconds
                used_ref[key] = (i, k)
            row_seconds += seconds
        buyer_key = (fid, order.buyer)
        self.buyer_used[buyer_key] += row_seconds
        self.buyer_ref.setdefault(buyer_key, i)

    # -- parts -----------------------------------------------------------------

    def check_parts(self) -> None:
        for part in self.parts.values():
            self._check_part(part)

    def _check_part(self, part: PlanPart) -> None:
        order, factory = part.order, part.factory
        allocations = self.plan.allocations
        last = len(order.operations) - 1
        for j in range(last + 1):
            rows = part.rows.get(j, [])
            if not rows:
                self.add(
                    ViolationCode.MISSING_OPERATION,
                    f"allocations[{part.first_row}]",
                    f"order '{order.id}' at '{factory.id}': no row for operation {j} "
                    f"('{order.operations[j].process}')",
                )
            for extra in rows[1:]:
                self.add(
                    ViolationCode.DUPLICATE_OPERATION,
                    f"allocations[{extra}]",
                    f"order '{order.id}' at '{factory.id}': operation {j} has more than one row",
                )
        # The last operation's row carries the part's quantities (and its transport
        # and lateness); when it is missing, the latest operation present stands in.
        canonical = part.rows[max(part.rows)][0]
        head = allocations[canonical]
        profile = [(pq.period, pq.quantity) for pq in head.periods]
        for rows in part.rows.values():
            for i in rows:
                if i == canonical:
                    continue
                other = [(pq.period, pq.quantity) for pq in allocations[i].periods]
                if other != profile:
                    self.add(
                        ViolationCode.OPERATION_PERIODS_DIFFER,
                        f"allocations[{i}].periods",
                        f"order '{order.id}' at '{factory.id}': operation "
                        f"{allocations[i].operation} runs {_fmt(allocations[i])}, operation "
                        f"{head.operation} runs {_fmt(head)}",
                    )
        quantity = head.quantity
        self._check_eligibility(part, quantity)
        self.order_units[order.id] += quantity
        self.order_parts[order.id] += 1
        self._part_costs(part, canonical, quantity)

    def _check_eligibility(self, part: PlanPart, quantity: int) -> None:
        order, factory = part.order, part.factory
        path = f"allocations[{part.first_row}]"
        caps: list[Capability] = []
        for j in range(len(order.operations)):
            cap = self.fit(path, order, j, factory)
            if cap is not None:
                caps.append(cap)
        self.check_credit(path, order, factory)
        if len(caps) != len(order.operations):
            return  # price and lot bounds are undefined without every capability
        price = sum(c.unit_cost_cents for c in caps)
        if order.max_unit_price_cents is not None and price > order.max_unit_price_cents:
            self.add(
                ViolationCode.PRICE_ABOVE_MAX,
                path,
                f"order '{order.id}' pays at most {order.max_unit_price_cents} per unit; "
                f"factory '{factory.id}' charges {price}",
            )
        lo = max(c.min_lot for c in caps)
        max_lots = [c.max_lot for c in caps if c.max_lot is not None]
        hi = min(max_lots) if max_lots else None
        if quantity < lo or (hi is not None and quantity > hi):
            self.add(
                ViolationCode.LOT_SIZE_VIOLATED,
                path,
                f"order '{order.id}' at '{factory.id}': part of {quantity} units outside the "
                f"lot bounds {lo}..{hi if hi is not None else 'inf'}",
            )
        # For an unsplittable order the part is the whole order (checked by
        # QUANTITY_MISMATCH), so split.min_quantity only binds split orders.
        if order.split.allowed and quantity < order.split.min_quantity:
            self.add(
                ViolationCode.SPLIT_BELOW_MIN_QUANTITY,
                path,
                f"order '{order.id}' at '{factory.id}': part of {quantity} units is below "
                f"the minimum split quantity {order.split.min_quantity}",
            )

    def fit(self, path: str, order: Order, j: int, factory: Factory) -> Capability | None:
        """The capability ``factory`` would make operation ``j`` of ``order`` with, its
        material and quality grade checked; ``None`` (reported) when it has none."""
        op = order.operations[j]
        cap = self.caps[factory.id].get(op.process)
        if cap is None:
            self.add(
                ViolationCode.NO_CAPABILITY,
                path,
                f"order '{order.id}' operation {j}: factory '{factory.id}' has no "
                f"capability '{op.process}'",
            )
            return None
        if op.material is not None and cap.materials and op.material not in cap.materials:
            self.add(
                ViolationCode.MATERIAL_NOT_SUPPORTED,
                path,
                f"order '{order.id}' operation {j} needs material '{op.material}'; "
                f"factory '{factory.id}' '{op.process}' handles {cap.materials}",
            )
        if op.min_quality_grade is not None and cap.quality_grade < op.min_quality_grade:
            self.add(
                ViolationCode.QUALITY_BELOW_MIN,
                path,
                f"order '{order.id}' operation {j} needs quality grade "
                f">= {op.min_quality_grade}; factory '{factory.id}' '{op.process}' has "
                f"{cap.quality_grade}",
            )
        return cap

    def check_credit(self, path: str, order: Order, factory: Factory) -> None:
        """The order's credit floor against the factory's score (parts and stage parts)."""
        if order.min_credit_score is not None and factory.credit.score < order.min_credit_score:
            self.add(
                ViolationCode.CREDIT_BELOW_MIN,
                path,
                f"order '{order.id}' needs credit score >= {order.min_credit_score}; "
                f"factory '{factory.id}' has {factory.credit.score}",
            )

    def _part_costs(self, part: PlanPart, canonical: int, quantity: int) -> None:
        """Transport, lateness and credit of the part; the rows' stated figures."""
        order, factory = part.order, part.factory
        allocations = self.plan.allocations
        rate = unit_transport_cents(self.inst, order, factory)
        lateness, late_units = late_figures(allocations[canonical], order)
        self.totals.transport += rate * quantity
        self.totals.lateness += lateness
        self.totals.credit += (100 - factory.credit.score) * quantity
        if late_units > 0:
            self.late_orders.add(order.id)
        last = len(order.operations) - 1
        for j, rows in part.rows.items():
            for i in rows:
                a = allocations[i]
                if j == last:
                    cents, units = late_figures(a, order)
                    expected = (rate * a.quantity, cents, units)
                    why = f"last operation: {rate} per unit x {a.quantity}"
                else:
                    expected = (0, 0, 0)
                    why = "only the last operation's row carries it"
                self.row_figures(i, a, expected, why)

    def row_figures(self, i: int, a: Allocation, expected: tuple[int, int, int], why: str) -> None:
        """Row ``i``'s stated (transport, lateness, late units) against ``expected``;
        ``why`` says where the expected transport comes from."""
        transport, lateness, late_units = expected
        path = f"allocations[{i}]"
        who = f"order '{a.order}' operation {a.operation} at '{a.factory}'"
        if a.transport_cents != transport:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"{path}.transport_cents",
                f"{who}: expected {transport} ({why}), row says {a.transport_cents}",
            )
        if a.lateness_cents != lateness:
            self.add(
                ViolationCode.ROW_COST_MISMATCH,
                f"{path}.lateness_cents",
                f"{who}: expected {lateness}, row says {a.lateness_cents}",
            )
        if a.late_units != late_units:
            self.add(
                ViolationCode.LATE_UNITS_MISMATCH,
                f"{path}.late_units",
                f"{who}: expected {late_units}, row says {a.late_units}",
            )

    # -- orders ----------------------------------------------------------------

    def check_orders(self) -> None:
        for order_id, first in self.served.items():
            order = self.orders[order_id]
            if is_split_by_operation(order):
                continue  # per operation, by check_by_operation
            path = f"allocations[{first}]"
            units = self.order_units.get(order_id, 0)
            if units != order.quantity:
                self.add(
                    ViolationCode.QUANTITY_MISMATCH,
                    path,
                    f"order '{order_id}': parts sum to {units} units, order quantity is "
                    f"{order.quantity}",
                )
            parts = self.order_parts.get(order_id, 0)
            if not order.split.allowed and parts > 1:
                self.add(
                    ViolationCode.SPLIT_NOT_ALLOWED,
                    path,
                    f"order '{order_id}' may not be split but runs at {parts} factories",
                )
            elif order.split.allowed and parts > order.split.max_factories:
                self.add(
                    ViolationCode.TOO_MANY_FACTORIES,
                    path,
                    f"order '{order_id}' runs at {parts} factories, at most "
                    f"{order.split.max_factories} allowed",
                )

    def check_coverage(self) -> None:
        listed: set[str] = set()
        for i, u in enumerate(self.plan.unassigned):
            path = f"unassigned[{i}]"
            order = self.orders.get(u.order)
            if order is None:
                self.unknown_order(f"{path}.order", u.order)
                continue
            if u.order in listed:
                self.add(
                    ViolationCode.DUPLICATE_UNASSIGNED, path, f"order '{u.order}' listed twice"
                )
                continue
            listed.add(u.order)
            if u.order in self.served:
                self.add(
                    ViolationCode.SERVED_AND_UNASSIGNED,
                    path,
                    f"order '{u.order}' is unassigned but has allocations "
                    f"(allocations[{self.served[u.order]}])",
                )
            elif order.mandatory:
                self.warnings.append(
                    f"mandatory order '{u.order}' is unassigned ({u.reason.value}: {u.detail})"
                )
            penalty = order.penalties.unserved_cents or 0
            if u.penalty_cents != penalty:
                self.add(
                    ViolationCode.PENALTY_MISMATCH,
                    f"{path}.penalty_cents",
                    f"order '{u.order}': unserved penalty is {penalty}, "
                    f"plan says {u.penalty_cents}",
                )
            if u.mandatory != order.mandatory:
                self.add(
                    ViolationCode.MANDATORY_FLAG_MISMATCH,
                    f"{path}.mandatory",
                    f"order '{u.order}' is {'' if order.mandatory else 'not '}mandatory, plan "
                    f"says mandatory={u.mandatory}",
                )
        for order in self.inst.orders:
            if order.id not in self.served and order.id not in listed:
                self.add(
                    ViolationCode.ORDER_MISSING,
                    "unassigned",
                    f"order '{order.id}' is neither allocated nor unassigned",
                )
            if order.id not in self.served:
                # Charged on every order not served, listed or not: the cost of the
                # decisions, whatever the plan forgot to say.
                self.totals.unserved += order.penalties.unserved_cents or 0

    # -- capacity --------------------------------------------------------------

    def check_capacity(self) -> None:
        for (fid, rid, t), seconds in self.used.items():
            limit = 60 * self.free[(fid, rid)][t]
            if seconds > limit:
                self.add(
                    ViolationCode.CAPACITY_EXCEEDED,
                    "allocations[{}].periods[{}]".format(*self.used_ref[(fid, rid, t)]),
                    f"factory '{fid}' resource '{rid}' period {t}: {seconds} s used "
                    f"(incl. setup), {limit} s free",
                )
        for (fid, buyer), seconds in self.buyer_used.items():
            share = self.factories[fid].max_buyer_share
            if share is None:
                continue
            total_free = self.factory_free[fid]
            share_limit = share * 60 * total_free
            if seconds > share_limit + SHARE_TOL:
                self.add(
                    ViolationCode.BUYER_SHARE_EXCEEDED,
                    f"allocations[{self.buyer_ref[(fid, buyer)]}]",
                    f"factory '{fid}': buyer '{buyer}' uses {seconds} s, more than "
                    f"{share:g} of {60 * total_free} s free ({share_limit:.1f} s)",
                )

    # -- units moved -----------------------------------------------------------------

    def claim_moved_units(self) -> None:
        """Without the previous plan the units moved cannot be recomputed: the plan's
        figure counts in the objective as it stands, with a warning when non-zero."""
        moved = self.plan.costs.moved_units
        if moved < 0:
            self.add(
                ViolationCode.MOVED_UNITS_MISMATCH,
                "costs.moved_units",
                f"{moved} units moved: cannot be negative",
            )
        elif moved:
            self.warnings.append(
                f"costs.moved_units {moved} is unverified: checking it needs the previous "
                "plan and the events (check_replan)"
            )
        if self.plan.replan is not None:
            self.warnings.append(
                "the replan section is unverified: checking it needs the previous plan and "
                "the events (check_replan)"
            )

    # -- costs -----------------------------------------------------------------

    def recomputed(self) -> CostBreakdown:
        t = self.totals
        w = self.plan.weights
        moved = self.plan.costs.moved_units if self.moved is None else self.moved
        transport, purchasing = t.transport, t.purchasing
        if t.routed is not None:
            # docs/routing.md: the fleet's routes and the carrier replace the per-unit
            # estimates, and the materials' inbound transport moves into transport.
            transport, purchasing = t.routed, t.material
        # docs/model.md: transfers between operations are not routed; their per-unit
        # estimate adds to transport before and after routing.
        transport += t.transfers
        total = t.production + transport + t.lateness + t.unserved + purchasing
        objective = (
            w.production * t.production
            + w.transport * transport
            + w.lateness * t.lateness
            + w.unserved * t.unserved
            + w.credit * t.credit
            + w.purchasing * purchasing
            + w.stability * moved
            # docs/fairness.md: soft fairness penalties and the utilisation spread
            + t.fairness
            + w.load_balance * t.load_balance
        )
        return CostBreakdown(
            production=t.production,
            transport=transport,
            lateness=t.lateness,
            unserved=t.unserved,
            credit=t.credit,
            purchasing=purchasing,
            total=total,
            moved_units=moved,
            fairness=t.fairness,
            load_balance=t.load_balance,
            objective=objective,
        )

    def check_costs(self, recomputed: CostBreakdown) -> None:
        stated = self.plan.costs
        names = ("production", "transport", "lateness", "unserved", "credit", "purchasing")
        for name in (*names, "fairness", "load_balance"):
            self._compare_cost(name, getattr(recomputed, name), getattr(stated, name))
        self._compare_cost("total", recomputed.total, stated.total)
        if stated.moved_units != recomputed.moved_units:
            self.add(
                ViolationCode.MOVED_UNITS_MISMATCH,
                "costs.moved_units",
                f"recomputed {recomputed.moved_units} units moved away from the factories of "
                f"the previous plan, plan says {stated.moved_units}",
            )
        if stated.objective != recomputed.objective:
            self.add(
                ViolationCode.OBJECTIVE_MISMATCH,
                "costs.objective",
                f"recomputed {recomputed.objective} with weights "
                f"{self.plan.weights.model_dump()}, plan says {stated.objective}",
            )

    def _compare_cost(self, name: str, expected: int, stated: int) -> None:
        if expected != stated:
            self.add(
                ViolationCode.COST_MISMATCH,
                f"costs.{name}",
                f"recomputed {name} {expected}, plan says {stated}",
            )

    # -- KPIs ------------------------------------------------------------------

    def check_kpis(self) -> None:
        kpis = self.plan.kpis
        n_orders = len(self.inst.orders)
        served = len(self.served)
        on_time = served - len(self.late_orders)
        ordered_units = sum(o.quantity for o in self.inst.orders)
        served_units = sum(self.orders[o].quantity for o in self.served)
        factories_used = {a.factory for a in self.plan.allocations if a.factory in self.factories}
        counts = {
            "orders": n_orders,
            "orders_served": served,
            "orders_on_time": on_time,
            "orders_late": served - on_time,
            "orders_unassigned": n_orders - served,
            "factories_used": len(factories_used),
        }
        for name, expected in counts.items():
            stated = getattr(kpis, name)
            if stated != expected:
                self.add(
                    ViolationCode.KPI_MISMATCH, f"kpis.{name}", f"expected {expected}, got {stated}"
                )
        rates = {
            "fill_rate": _rate(served, n_orders),
            "unit_fill_rate": _rate(served_units, ordered_units),
            "on_time_rate": _rate(on_time, served),
        }
        for name, value in rates.items():
            stated_rate = getattr(kpis, name)
            if not math.isclose(stated_rate, value, rel_tol=0.0, abs_tol=FLOAT_TOL):
                self.add(
                    ViolationCode.KPI_MISMATCH,
                    f"kpis.{name}",
                    f"expected {value}, got {stated_rate}",
                )
        self._check_utilisation()

    def _check_utilisation(self) -> None:
        listed: set[tuple[str, str, int]] = set()
        for i, row in enumerate(self.plan.kpis.utilisation):
            path = f"kpis.utilisation[{i}]"
            key = (row.factory, row.resource_group, row.period)
            where = f"factory '{row.factory}' resource '{row.resource_group}' period {row.period}"
            free = self.free.get((row.factory, row.resource_group))
            if free is None or not 0 <= row.period < self.periods:
                self.add(ViolationCode.UTILISATION_MISMATCH, path, f"{where} does not exist")
                continue
            if key in listed:
                self.add(ViolationCode.UTILISATION_MISMATCH, path, f"{where} listed twice")
                continue
            listed.add(key)
            used = self.used.get(key, 0) / 60
            if not math.isclose(row.used_minutes, used, rel_tol=FLOAT_TOL, abs_tol=FLOAT_TOL):
                self.add(
                    ViolationCode.UTILISATION_MISMATCH,
                    f"{path}.used_minutes",
                    f"{where}: used {used} min, row says {row.used_minutes}",
                )
            if row.free_minutes != free[row.period]:
                self.add(
                    ViolationCode.UTILISATION_MISMATCH,
                    f"{path}.free_minutes",
                    f"{where}: free {free[row.period]} min, row says {row.free_minutes}",
                )
        for key, seconds in self.used.items():
            if seconds > 0 and key not in listed:
                fid, rid, t = key
                self.add(
                    ViolationCode.UTILISATION_MISSING,
                    "kpis.utilisation",
                    f"factory '{fid}' resource '{rid}' period {t} uses {seconds / 60} min "
                    "but has no row",
                )


def _fmt(a: Allocation) -> str:
    return "{" + ", ".join(f"{pq.period}: {pq.quantity}" for pq in a.periods) + "}"
