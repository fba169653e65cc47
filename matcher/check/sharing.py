"""The capacity-sharing section (docs/sharing.md).

Each capacity row's use is recomputed from the plan, its free time from the
instance; the ranked needs, idle offers, transfers and backups are checked against
those rows, the plan's parts and the factories' capabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matcher.check.codes import IDLE_HOURS_TOL, SHARING_TOL, ViolationCode
from matcher.check.figures import part_units
from matcher.check.state import CheckState
from matcher.domain.entities import Factory, Order
from matcher.domain.plan import CapacityRow, CapacitySharing, Transfer, TransferKind


def check_sharing(checker: CheckState) -> None:
    """The capacity-sharing section, when the analysis ran (docs/sharing.md)."""
    if checker.plan.capacity_sharing is None:
        return
    _SharingChecker(checker, checker.plan.capacity_sharing).run()


def _processes_on(factory: Factory, group: str) -> list[str]:
    """The processes ``factory`` runs on resource group ``group``, sorted."""
    return sorted({c.process for c in factory.capabilities if c.resource_group == group})


def _capable(factory: Factory, order: Order) -> bool:
    """Whether ``factory`` has a capability for every process of ``order``."""
    processes = {c.process for c in factory.capabilities}
    return all(op.process in processes for op in order.operations)


class _SharingChecker:
    """The capacity-sharing section against docs/sharing.md.

    Each capacity row's use is recomputed from the plan's allocations (the seconds the
    capacity check charges: processing plus setup in every period a part runs), its
    free time from the instance; the ranked suggestions are checked against those rows,
    the plan's parts and the factories' capabilities. The marginal values themselves
    (LP duals) are only checked for sign and consistency: the checker solves no LP.
    """

    def __init__(self, checker: CheckState, section: CapacitySharing) -> None:
        self.add = checker.add
        self.section = section
        self.periods = checker.periods
        self.free = checker.free
        self.used = checker.used
        self.factories = checker.factories
        self.orders = checker.orders
        self.units = part_units(checker.plan)
        self.rows: dict[tuple[str, str, int], CapacityRow] = {}

    def run(self) -> None:
        for i, row in enumerate(self.section.capacity):
            self._check_row(i, row)
        self._check_needs()
        self._check_offers()
        self._check_transfers()
        self._check_backups()

    def _check_row(self, i: int, row: CapacityRow) -> None:
        path = f"capacity_sharing.capacity[{i}]"
        key = (row.factory, row.resource_group, row.period)
        where = f"factory '{row.factory}' resource '{row.resource_group}' period {row.period}"
        free = self.free.get((row.factory, row.resource_group))
        if free is None or not 0 <= row.period < self.periods:
            self.add(ViolationCode.SHARING_ROW_UNKNOWN, path, f"{where} does not exist")
            return
        if key in self.rows:
            self.add(ViolationCode.SHARING_ROW_DUPLICATE, path, f"{where} listed twice")
            return
        self.rows[key] = row
        used = self.used.get(key, 0) / 60
        if not abs(row.used_minutes - used) <= SHARING_TOL:
            self.add(
                ViolationCode.SHARING_USED_MISMATCH,
                f"{path}.used_minutes",
                f"{where}: the plan uses {used:g} min (incl. setup), row says {row.used_minutes:g}",
            )
        if row.free_minutes != free[row.period]:
            self.add(
                ViolationCode.SHARING_FREE_MISMATCH,
                f"{path}.free_minutes",
                f"{where}: free {free[row.period]} min, row says {row.free_minutes}",
            )
        idle = row.free_minutes - row.used_minutes
        if not abs(row.idle_minutes - idle) <= SHARING_TOL:
            self.add(
                ViolationCode.SHARING_IDLE_MISMATCH,
                f"{path}.idle_minutes",
                f"{where}: free {row.free_minutes} - used {row.used_minutes:g} = {idle:g} min, "
                f"row says {row.idle_minutes:g}",
            )
        marginal = row.marginal_cents_per_hour
        if not (math.isfinite(marginal) and marginal >= 0):
            self.add(
                ViolationCode.SHARING_NEGATIVE_MARGINAL,
                f"{path}.marginal_cents_per_hour",
                f"{where}: marginal value {marginal:g} cents per hour; it is at least 0",
            )

    def _check_ranking(self, name: str, values: Sequence[float], what: str) -> None:
        """``values`` must not increase along the list."""
        for k in range(1, len(values)):
            if values[k] > values[k - 1] + SHARING_TOL:
                self.add(
                    ViolationCode.SHARING_RANKING,
                    f"capacity_sharing.{name}[{k}]",
                    f"ranked by {what}, highest first: {values[k]:g} after {values[k - 1]:g}",
                )

    def _check_processes(
        self, code: ViolationCode, path: str, factory: Factory, group: str, stated: list[str]
    ) -> None:
        expected = _processes_on(factory, group)
        if sorted(set(stated)) != expected:
            self.add(
                code,
                f"{path}.processes",
                f"factory '{factory.id}' runs {expected} on '{group}', entry says {stated}",
            )

    def _check_needs(self) -> None:
        needs = self.section.extra_capacity_pays
        values = [n.marginal_cents_per_hour for n in needs]
        self._check_ranking("extra_capacity_pays", values, "marginal value")
        for k, n in enumerate(needs):
            path = f"capacity_sharing.extra_capacity_pays[{k}]"
            where = f"factory '{n.factory}' resource '{n.resource_group}' period {n.period}"
            row = self.rows.get((n.factory, n.resource_group, n.period))
            if row is None:
                self.add(ViolationCode.SHARING_NEED_MISMATCH, path, f"{where} has no capacity row")
                continue
            stated, expected = n.marginal_cents_per_hour, row.marginal_cents_per_hour
            if not abs(stated - expected) <= SHARING_TOL * max(1.0, abs(expected)):
                self.add(
                    ViolationCode.SHARING_NEED_MISMATCH,
                    f"{path}.marginal_cents_per_hour",
                    f"{where}: its capacity row says {expected:g} cents per hour, entry "
                    f"says {stated:g}",
                )
            factory = self.factories[n.factory]
            self._check_processes(
                ViolationCode.SHARING_NEED_MISMATCH, path, factory, n.resource_group, n.processes
            )

    def _check_offers(self) -> None:
        """Each offer's idle hours against the idle time the plan leaves (free minutes
        of the instance minus the plan's use), not against the rows as stated: a wrong
        row is reported once, by the row checks."""
        offers = self.section.idle_to_offer
        self._check_ranking("idle_to_offer", [o.idle_hours for o in offers], "idle hours")
        for k, o in enumerate(offers):
            path = f"capacity_sharing.idle_to_offer[{k}]"
            where = f"factory '{o.factory}' resource '{o.resource_group}'"
            free = self.free.get((o.factory, o.resource_group))
            if free is None:
                self.add(ViolationCode.SHARING_OFFER_MISMATCH, path, f"{where} does not exist")
                continue
            if o.periods != sorted(set(o.periods)):
                self.add(
                    ViolationCode.SHARING_OFFER_MISMATCH,
                    f"{path}.periods",
                    f"{where}: periods {o.periods} are not strictly ascending",
                )
            idle = 0.0
            complete = True
            for t in o.periods:
                if not 0 <= t < self.periods:
                    complete = False
                    self.add(
                        ViolationCode.SHARING_OFFER_MISMATCH,
                        f"{path}.periods",
                        f"{where}: period {t} is outside the horizon 0..{self.periods - 1}",
                    )
                    continue
                minutes = free[t] - self.used.get((o.factory, o.resource_group, t), 0) / 60
                if not minutes > SHARING_TOL:
                    self.add(
                        ViolationCode.SHARING_OFFER_MISMATCH,
                        f"{path}.periods",
                        f"{where}: period {t} has no idle time ({minutes:g} min)",
                    )
                idle += minutes
            hours = idle / 60
            tol = IDLE_HOURS_TOL + SHARING_TOL * max(1, len(o.periods))
            if complete and not abs(o.idle_hours - hours) <= tol:
                self.add(
                    ViolationCode.SHARING_OFFER_MISMATCH,
                    f"{path}.idle_hours",
                    f"{where}: the plan leaves {hours:.6f} idle h in periods {o.periods}, "
                    f"entry says {o.idle_hours}",
                )
            self._check_processes(
                ViolationCode.SHARING_OFFER_MISMATCH,
                path,
                self.factories[o.factory],
                o.resource_group,
                o.processes,
            )

    def _check_transfers(self) -> None:
        transfers = self.section.transfers
        # docs/sharing.md: those serving mandatory orders first (most first), then by saving
        for k in range(1, len(transfers)):
            a, b = transfers[k - 1], transfers[k]
            if len(b.serves_mandatory) > len(a.serves_mandatory):
                why = (
                    f"serves {len(b.serves_mandatory)} mandatory order(s), after one "
                    f"serving {len(a.serves_mandatory)}"
                )
            elif len(b.serves_mandatory) == len(a.serves_mandatory) and (
                b.saving_cents > a.saving_cents + SHARING_TOL
            ):
                why = f"ranked by saving, highest first: {b.saving_cents} after {a.saving_cents}"
            else:
                continue
            self.add(ViolationCode.SHARING_RANKING, f"capacity_sharing.transfers[{k}]", why)
        made = {order for order, _ in self.units}
        for k, tr in enumerate(transfers):
            problems: list[str] = []
            if tr.saving_cents <= 0 and not tr.serves_mandatory:
                problems.append(
                    f"saving {tr.saving_cents} cents: only savings > 0, or transfers serving "
                    "a mandatory order, are listed"
                )
            for name in tr.serves_mandatory:
                order = self.orders.get(name)
                if order is None:
                    problems.append(f"serves unknown order '{name}'")
                elif order.penalties.unserved_cents is not None:
                    problems.append(f"order '{name}' it serves is not mandatory")
                elif name in made:
                    problems.append(f"order '{name}' it serves is already served by the plan")
            for side in (tr.from_factory, tr.to_factory):
                if side not in self.factories:
                    problems.append(f"unknown factory '{side}'")
            if tr.from_factory == tr.to_factory:
                problems.append(f"moves from '{tr.from_factory}' to itself")
            elif tr.kind is TransferKind.MOVE_WORK:
                problems += self._move_problems(tr)
            else:
                problems += self._lend_problems(tr)
            for problem in problems:
                self.add(
                    ViolationCode.SHARING_TRANSFER_INVALID,
                    f"capacity_sharing.transfers[{k}]",
                    f"{tr.kind.value}: {problem}",
                )

    def _move_problems(self, tr: Transfer) -> list[str]:
        if tr.order is None:
            return ["names no order"]
        order = self.orders.get(tr.order)
        if order is None:
            return [f"unknown order '{tr.order}'"]
        problems: list[str] = []
        units = self.units.get((order.id, tr.from_factory), 0)
        if tr.quantity <= 0:
            problems.append(f"quantity {tr.quantity} is not positive")
        elif units < tr.quantity:
            problems.append(
                f"moves {tr.quantity} units of order '{order.id}' from '{tr.from_factory}', "
                f"which makes {units} of it"
            )
        to = self.factories.get(tr.to_factory)
        if to is not None and not _capable(to, order):
            problems.append(f"factory '{to.id}' lacks a process of order '{order.id}'")
        return problems

    def _lend_problems(self, tr: Transfer) -> list[str]:
        problems: list[str] = []
        if not tr.hours > 0:
            problems.append(f"lends {tr.hours:g} hours")
        if tr.period is not None and not 0 <= tr.period < self.periods:
            problems.append(f"period {tr.period} is outside the horizon 0..{self.periods - 1}")
        groups = {g for f in (tr.from_factory, tr.to_factory) for (fid, g) in self.free if fid == f}
        if tr.resource_group is None or tr.resource_group not in groups:
            problems.append(
                f"resource group {tr.resource_group!r} is not a group of '{tr.from_factory}' "
                f"or '{tr.to_factory}'"
            )
        return problems

    def _check_backups(self) -> None:
        for k, b in enumerate(self.section.backups or []):
            problems: list[str] = []
            units = self.units.get((b.order, b.primary_factory))
            if units is None:
                problems.append(f"order '{b.order}' has no part at '{b.primary_factory}'")
            elif b.quantity != units:
                problems.append(
                    f"order '{b.order}' makes {units} units at '{b.primary_factory}', backup "
                    f"says {b.quantity}"
                )
            order = self.orders.get(b.order)
            backup = b.backup_factory
            if backup is None or order is None:
                pass
            elif backup == b.primary_factory:
                problems.append(f"the backup of a part at '{backup}' is '{backup}' itself")
            elif backup not in self.factories:
                problems.append(f"unknown backup factory '{backup}'")
            elif not _capable(self.factories[backup], order):
                problems.append(f"backup factory '{backup}' lacks a process of order '{order.id}'")
            for problem in problems:
                self.add(
                    ViolationCode.SHARING_BACKUP_INVALID,
                    f"capacity_sharing.backups[{k}]",
                    problem,
                )
