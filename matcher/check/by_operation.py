"""Orders split by operation: stage parts, transfers and their costs (docs/model.md).

An order split by operation (``split.by_operation`` with two or more operations) runs
each operation at factories of its own, its lots carried between consecutive
operations by transfers; :func:`check_by_operation` checks its rows and the plan's
transfers instead of the part checks of :mod:`matcher.check.assignment`.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.check.assignment import Checker
from matcher.check.codes import ViolationCode
from matcher.check.figures import (
    haversine_km,
    is_split_by_operation,
    late_figures,
    transfer_lag,
    transfer_minutes,
    unit_transfer_cents,
    unit_transport_cents,
)
from matcher.check.state import PlanPart
from matcher.domain.entities import Factory, Order
from matcher.domain.plan import Allocation, OperationTransfer


def check_by_operation(checker: Checker) -> None:
    """Stage parts of orders split by operation, and every transfer (docs/model.md)."""
    _ByOperationChecker(checker).run()


def _span(allocation: Allocation) -> tuple[int, int] | None:
    """(first, last) period with a positive quantity; ``None`` for a row without one."""
    periods = [pq.period for pq in allocation.periods if pq.quantity > 0]
    return (min(periods), max(periods)) if periods else None


class _ByOperationChecker:
    """Orders split by operation against the last section of docs/model.md.

    Their rows are grouped into stage parts, one per (operation, factory), instead of
    parts with equal period profiles. Each stage part is checked for its own operation
    (capability, material, grade, credit floor, lot bounds, the split minimum), each
    operation for its units and number of factories, each order for the price ceiling
    of the dearest combination of factories, and each transfer against the stage parts
    it joins: units in and out, the ship and arrival periods (from the checker's own
    lag), the precedence and the cost. Costs go into the checker's totals: transport to
    the buyer, lateness and credit from the last operation's stage parts, and the
    transfers' recomputed cents.
    """

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.add = checker.add
        self.inst = checker.inst
        self.allocations = checker.plan.allocations
        self.orders = checker.orders
        self.factories = checker.factories
        self.stages = checker.stages
        self.totals = checker.totals
        # Units the transfers carry out of and into each stage part (order, j, factory).
        self.out: dict[tuple[str, int, str], int] = defaultdict(int)
        self.into: dict[tuple[str, int, str], int] = defaultdict(int)
        self.listed: dict[tuple[str, int, str, str], int] = {}  # flow -> first transfer

    def run(self) -> None:
        served = [
            self.orders[o] for o in self.checker.served if is_split_by_operation(self.orders[o])
        ]
        for order in served:
            self._check_order(order, self.stages.get(order.id, {}))
        for k, transfer in enumerate(self.checker.plan.transfers):
            self._check_transfer(k, transfer)
        for order in served:
            self._check_balance(order, self.stages.get(order.id, {}))

    def _head(self, stage: PlanPart) -> Allocation:
        """The stage part's row (the first, when it has duplicates: reported)."""
        return self.allocations[next(iter(stage.rows.values()))[0]]

    # -- stage parts -----------------------------------------------------------------

    def _check_order(self, order: Order, by_operation: dict[int, dict[str, PlanPart]]) -> None:
        for j, op in enumerate(order.operations):
            stages = by_operation.get(j, {})
            if not stages:
                self.add(
                    ViolationCode.MISSING_OPERATION,
                    f"allocations[{self.checker.served[order.id]}]",
                    f"order '{order.id}' (split by operation): no row for operation {j} "
                    f"('{op.process}'); a served order has every operation made in full",
                )
                continue
            self._check_operation(order, j, stages)
            for stage in stages.values():
                self._check_stage(stage, j)
        self._check_price(order, by_operation)

    def _check_operation(self, order: Order, j: int, stages: dict[str, PlanPart]) -> None:
        path = f"allocations[{min(s.first_row for s in stages.values())}]"
        units = sum(self._head(s).quantity for s in stages.values())
        if units != order.quantity:
            self.add(
                ViolationCode.QUANTITY_MISMATCH,
                path,
                f"order '{order.id}' operation {j}: stage parts sum to {units} units, order "
                f"quantity is {order.quantity}",
            )
        n = len(stages)
        if not order.split.allowed and n > 1:
            self.add(
                ViolationCode.SPLIT_NOT_ALLOWED,
                path,
                f"order '{order.id}' may not be split but runs operation {j} at {n} "
                f"factories {sorted(stages)}",
            )
        elif order.split.allowed and n > order.split.max_factories:
            self.add(
                ViolationCode.TOO_MANY_FACTORIES,
                path,
                f"order '{order.id}' runs operation {j} at {n} factories {sorted(stages)}, "
                f"at most {order.split.max_factories} allowed",
            )

    def _check_stage(self, stage: PlanPart, j: int) -> None:
        order, factory = stage.order, stage.factory
        path = f"allocations[{stage.first_row}]"
        rows = stage.rows[j]
        for extra in rows[1:]:
            self.add(
                ViolationCode.DUPLICATE_OPERATION,
                f"allocations[{extra}]",
                f"order '{order.id}' operation {j} at '{factory.id}' has more than one row "
                f"(first at {path})",
            )
        quantity = self.allocations[rows[0]].quantity
        cap = self.checker.fit(path, order, j, factory)
        self.checker.check_credit(path, order, factory)
        if cap is not None and (
            quantity < cap.min_lot or (cap.max_lot is not None and quantity > cap.max_lot)
        ):
            self.add(
                ViolationCode.LOT_SIZE_VIOLATED,
                path,
                f"order '{order.id}' operation {j} at '{factory.id}': stage part of {quantity} "
                f"units outside the lot bounds {cap.min_lot}.."
                f"{cap.max_lot if cap.max_lot is not None else 'inf'}",
            )
        if order.split.allowed and quantity < order.split.min_quantity:
            self.add(
                ViolationCode.SPLIT_BELOW_MIN_QUANTITY,
                path,
                f"order '{order.id}' operation {j} at '{factory.id}': stage part of {quantity} "
                f"units is below the minimum split quantity {order.split.min_quantity}",
            )
        self._stage_costs(stage, j)

    def _stage_costs(self, stage: PlanPart, j: int) -> None:
        """Transport to the buyer, lateness and credit: the last operation's stage parts
        only; the rows' stated figures (production is charged row by row)."""
        order, factory = stage.order, stage.factory
        rows = stage.rows[j]
        if j < len(order.operations) - 1:
            for i in rows:
                why = "only the last operation's rows carry it"
                self.checker.row_figures(i, self.allocations[i], (0, 0, 0), why)
            return
        rate = unit_transport_cents(self.inst, order, factory)
        head = self.allocations[rows[0]]
        lateness, late_units = late_figures(head, order)
        self.totals.transport += rate * head.quantity
        self.totals.lateness += lateness
        self.totals.credit += (100 - factory.credit.score) * head.quantity
        if late_units > 0:
            self.checker.late_orders.add(order.id)
        for i in rows:
            a = self.allocations[i]
            cents, units = late_figures(a, order)
            why = f"last operation: {rate} per unit x {a.quantity}"
            self.checker.row_figures(i, a, (rate * a.quantity, cents, units), why)

    def _check_price(self, order: Order, by_operation: dict[int, dict[str, PlanPart]]) -> None:
        """The ceiling binds the dearest factory used for each operation, summed."""
        ceiling = order.max_unit_price_cents
        if ceiling is None:
            return
        dearest: list[tuple[int, str]] = []
        for j, op in enumerate(order.operations):
            costs = [
                (cap.unit_cost_cents, fid)
                for fid in by_operation.get(j, {})
                if (cap := self.checker.caps[fid].get(op.process)) is not None
            ]
            if not costs:
                return  # undefined without a capability (reported)
            dearest.append(max(costs))
        price = sum(cents for cents, _ in dearest)
        if price > ceiling:
            combination = " + ".join(
                f"operation {j} at '{fid}' {cents}" for j, (cents, fid) in enumerate(dearest)
            )
            self.add(
                ViolationCode.BY_OPERATION_PRICE_ABOVE_MAX,
                f"allocations[{self.checker.served[order.id]}]",
                f"order '{order.id}' pays at most {ceiling} per unit; the dearest combination "
                f"of its factories costs {price} ({combination})",
            )

    # -- transfers -------------------------------------------------------------------

    def _stage(self, order: Order, j: int, factory: str) -> PlanPart | None:
        return self.stages.get(order.id, {}).get(j, {}).get(factory)

    def _check_transfer(self, k: int, tr: OperationTransfer) -> None:
        path = f"transfers[{k}]"
        order = self.orders.get(tr.order)
        if order is None:
            self.checker.unknown_order(f"{path}.order", tr.order)
        ends = []
        for side, fid in (("from_factory", tr.from_factory), ("to_factory", tr.to_factory)):
            factory = self.factories.get(fid)
            if factory is None:
                self.add(
                    ViolationCode.UNKNOWN_FACTORY, f"{path}.{side}", f"unknown factory '{fid}'"
                )
            else:
                ends.append(factory)
        if order is None or len(ends) != 2:
            return
        sender, receiver = ends
        self._check_cost(path, tr, order, sender, receiver)
        if not is_split_by_operation(order):
            self.add(
                ViolationCode.TRANSFER_NOT_SPLIT_BY_OPERATION,
                f"{path}.order",
                f"order '{order.id}' "
                + (
                    "has one operation: it is planned as usual"
                    if order.split.by_operation
                    else "is not split by operation: its operations run together at a factory"
                )
                + "; only an order split by operation has transfers",
            )
            return
        if not 0 <= tr.operation < len(order.operations) - 1:
            self.add(
                ViolationCode.OPERATION_OUT_OF_RANGE,
                f"{path}.operation",
                f"order '{order.id}' has {len(order.operations)} operations: a transfer is "
                f"sent by operation 0..{len(order.operations) - 2}, not {tr.operation}",
            )
            return
        self._check_flow(k, tr, order, sender, receiver)

    def _check_cost(
        self, path: str, tr: OperationTransfer, order: Order, sender: Factory, receiver: Factory
    ) -> None:
        rate = unit_transfer_cents(self.inst, order, sender, receiver)
        cents = rate * tr.quantity
        self.totals.transfers += cents
        if tr.transport_cents != cents:
            self.add(
                ViolationCode.TRANSFER_COST_MISMATCH,
                f"{path}.transport_cents",
                f"order '{order.id}' from '{sender.id}' to '{receiver.id}': {rate} per unit x "
                f"{tr.quantity} = {cents}, transfer says {tr.transport_cents}",
            )

    def _check_flow(
        self, k: int, tr: OperationTransfer, order: Order, sender: Factory, receiver: Factory
    ) -> None:
        path = f"transfers[{k}]"
        j = tr.operation
        flow = (order.id, j, sender.id, receiver.id)
        if flow in self.listed:
            self.add(
                ViolationCode.DUPLICATE_TRANSFER,
                path,
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}' is "
                f"already listed at transfers[{self.listed[flow]}]",
            )
        self.listed.setdefault(flow, k)
        if tr.quantity <= 0:
            self.add(
                ViolationCode.NON_POSITIVE_QUANTITY,
                f"{path}.quantity",
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}': "
                f"quantity {tr.quantity} is not positive",
            )
        ends = {}
        for side, step, factory in (("from", j, sender), ("to", j + 1, receiver)):
            stage = self._stage(order, step, factory.id)
            if stage is None:
                self.add(
                    ViolationCode.TRANSFER_UNKNOWN_PART,
                    f"{path}.{side}_factory",
                    f"order '{order.id}' has no row for operation {step} at '{factory.id}'",
                )
                continue
            ends[side] = self._head(stage)
            flows = self.out if side == "from" else self.into
            flows[(order.id, step, factory.id)] += tr.quantity
        if "from" in ends:
            self._check_timing(path, tr, order, (sender, receiver), ends)

    def _check_timing(
        self,
        path: str,
        tr: OperationTransfer,
        order: Order,
        factories: tuple[Factory, Factory],
        ends: dict[str, Allocation],
    ) -> None:
        """Ship and arrival periods from the sender's row and the lag; the receiver may
        not start before the lot arrives (recomputed, so a wrong stated arrival is
        reported once)."""
        sender, receiver = factories
        span = _span(ends["from"])
        if span is None:
            return  # a row without production: reported with the row
        j, last = tr.operation, span[1]
        if tr.ship_period != last:
            self.add(
                ViolationCode.TRANSFER_PERIODS,
                f"{path}.ship_period",
                f"order '{order.id}' operation {j} at '{sender.id}' last produces in period "
                f"{last}, transfer says {tr.ship_period}",
            )
        lag = transfer_lag(self.inst, sender, receiver)
        why = self._lag_why(sender, receiver)
        arrive = last + lag
        if tr.arrive_period != arrive:
            self.add(
                ViolationCode.TRANSFER_PERIODS,
                f"{path}.arrive_period",
                f"order '{order.id}' operation {j} from '{sender.id}' to '{receiver.id}': "
                f"period {last} + lag {lag} ({why}) = {arrive}, transfer says "
                f"{tr.arrive_period}",
            )
        start = _span(ends["to"]) if "to" in ends and tr.quantity > 0 else None
        if start is not None and start[0] < arrive:
            self.add(
                ViolationCode.TRANSFER_PRECEDENCE,
                path,
                f"order '{order.id}' operation {j + 1} at '{receiver.id}' starts in period "
                f"{start[0]}, before the lot from operation {j} at '{sender.id}' arrives in "
                f"period {arrive} (last period {last} + lag {lag}: {why})",
            )

    def _lag_why(self, sender: Factory, receiver: Factory) -> str:
        if sender.id == receiver.id:
            return "one factory"
        t = self.inst.transport
        km = haversine_km(sender.location, receiver.location) * t.road_factor
        minutes = transfer_minutes(self.inst, sender, receiver)
        return (
            f"{t.transfer_handling_minutes} min handling + {km:.2f} road km at "
            f"{t.transfer_speed_kmh:g} km/h = {minutes:.1f} min, periods of "
            f"{self.inst.horizon.period_minutes} min"
        )

    def _check_balance(self, order: Order, by_operation: dict[int, dict[str, PlanPart]]) -> None:
        """Every unit of a stage part leaves for the next operation and arrives from the
        previous one (not checked next to an operation with no row: reported once)."""
        last = len(order.operations) - 1
        for j, stages in by_operation.items():
            for fid, stage in stages.items():
                quantity = self._head(stage).quantity
                sides = (
                    ("from", "to", j + 1, self.out, j < last),
                    ("into", "from", j - 1, self.into, j > 0),
                )
                for word, towards, other, flows, applies in sides:
                    carried = flows.get((order.id, j, fid), 0)
                    if not applies or other not in by_operation or carried == quantity:
                        continue
                    self.add(
                        ViolationCode.TRANSFER_BALANCE,
                        f"allocations[{stage.first_row}].quantity",
                        f"order '{order.id}' operation {j} at '{fid}' makes {quantity} units; "
                        f"transfers {word} it {towards} operation {other} carry {carried}",
                    )
