"""A re-plan against the previous plan and the events (docs/sharing.md).

The re-plan is checked as any plan against the instance after the events (by the
other sections); here, what only the previous plan and the events can tell: the fixed
work kept, nothing new before ``now_period``, the units moved, and the ``replan``
report reconciled with both plans.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.check.codes import ViolationCode
from matcher.check.figures import Key, part_units
from matcher.check.state import CheckState
from matcher.domain.entities import Order
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan, Replan
from matcher.domain.replanning import Setup


def check_against_previous(checker: CheckState, previous: Previous) -> int:
    """Check the re-plan ``checker`` holds against ``previous``; return the units moved,
    recomputed (what ``costs.moved_units`` must be)."""
    return _ReplanChecker(checker, previous).run()


@dataclass(frozen=True)
class Previous:
    """What a re-plan is checked against: the instance before the events, the previous
    plan, the disruption and the starting point derived from them."""

    instance: Instance
    plan: Plan
    disruption: Disruption
    setup: Setup


def _late_orders(orders: dict[str, Order], plan: Plan) -> set[str]:
    """Orders of ``plan`` with a unit made after their due period (in ``orders``)."""
    late: set[str] = set()
    for a in plan.allocations:
        order = orders.get(a.order)
        if a.operation != 0 or order is None:
            continue
        if any(pq.period > order.due_period and pq.quantity > 0 for pq in a.periods):
            late.add(order.id)
    return late


class _ReplanChecker:
    """A re-plan against the previous plan and the events (docs/sharing.md).

    The plan is otherwise checked as any plan, against the instance after the events.
    Here: the fixed work (done before ``now_period``, or frozen) is made where and when
    it was, nothing else is made before ``now_period``, the units moved are recomputed
    from the previous plan's parts, and the ``replan`` report is reconciled with both
    plans. Parts are read from operation 0 rows (every operation has the same periods;
    a row that differs is reported by the part checks).
    """

    def __init__(self, checker: CheckState, previous: Previous) -> None:
        self.add = checker.add
        self.warnings = checker.warnings
        self.plan = checker.plan
        self.inst = checker.inst
        self.served = checker.served
        self.previous = previous
        self.now = previous.disruption.now_period
        self.fixed = previous.setup.fixed
        self.made: dict[Key, dict[int, int]] = defaultdict(dict)
        self.ref: dict[tuple[str, str, int], tuple[int, int]] = {}  # first (row, entry)
        self.first: dict[Key, int] = {}  # first row of each part
        for i, a in enumerate(self.plan.allocations):
            if a.operation != 0:
                continue
            key = (a.order, a.factory)
            self.first.setdefault(key, i)
            slices = self.made[key]
            for k, pq in enumerate(a.periods):
                slices[pq.period] = slices.get(pq.period, 0) + pq.quantity
                self.ref.setdefault((a.order, a.factory, pq.period), (i, k))
        self.after = part_units(self.plan)
        self.before = part_units(previous.plan)

    def run(self) -> int:
        """Check; return the units moved, recomputed."""
        self._check_fixed()
        self._check_before_now()
        moved = sum(
            max(0, units - self.after.get(key, 0))
            for key, units in self.previous.setup.kept.items()
        )
        report = self.plan.replan
        if report is None:
            self.add(
                ViolationCode.REPLAN_MISSING,
                "replan",
                "a re-plan must say what changed: the plan has no replan section",
            )
        else:
            self._check_figures(report, moved)
            self._check_moves(report)
            self._check_newly(report)
        return moved

    # -- fixed work --------------------------------------------------------------------

    def _check_fixed(self) -> None:
        report = self.plan.replan
        for key, slices in sorted(self.fixed.items()):
            order, factory = key
            made = self.made.get(key, {})
            for t, q in sorted(slices.items()):
                got = made.get(t, 0)
                if got >= q:
                    continue  # more before now_period: PRODUCTION_BEFORE_NOW
                if order in self.served:
                    self.add(
                        ViolationCode.FROZEN_WORK_MOVED,
                        f"allocations[{self.first[key]}]" if key in self.first else "allocations",
                        f"order '{order}' at '{factory}' period {t}: {q} unit(s) are fixed "
                        f"(made before now_period {self.now} or frozen), the plan makes {got}",
                    )
                    continue
                self.warnings.append(
                    f"frozen work lost: order '{order}' is unserved, so its {q} fixed unit(s) "
                    f"at '{factory}' in period {t} are not made"
                )
                if report is not None and not _conflict_listed(report.conflicts, key, t):
                    self.add(
                        ViolationCode.FROZEN_CONFLICT_UNLISTED,
                        "replan.conflicts",
                        f"order '{order}' is unserved and loses its fixed units at '{factory}' "
                        f"in period {t}, but replan.conflicts does not say so",
                    )

    def _check_before_now(self) -> None:
        for key, slices in self.made.items():
            fixed = self.fixed.get(key, {})
            for t, q in sorted(slices.items()):
                if t >= self.now or q <= fixed.get(t, 0):
                    continue
                order, factory = key
                i, k = self.ref[(order, factory, t)]
                self.add(
                    ViolationCode.PRODUCTION_BEFORE_NOW,
                    f"allocations[{i}].periods[{k}]",
                    f"order '{order}' at '{factory}': {q} unit(s) in period {t}, before "
                    f"now_period {self.now}; the previous plan made {fixed.get(t, 0)} there",
                )

    # -- the report ----------------------------------------------------------------------

    def _check_figures(self, report: Replan, moved: int) -> None:
        """The report's figures against both plans and the events.

        The stability weight is the one the plan states (``weights.stability``, which
        the objective is recomputed with): the report must name that one. Events that
        name another are no violation, since a caller may override them (``matcher
        replan --stability``); a warning says which was used.
        """
        named = self.previous.disruption.stability
        weight = self.plan.weights.stability
        if named is not None and weight != named:
            self.warnings.append(
                f"the plan used stability {weight} cents per unit where the events name "
                f"{named} (an override); checked with the plan's {weight}"
            )
        previous_total = self.previous.plan.costs.total
        figures = {
            "now_period": self.now,
            "stability_cents_per_unit": weight,
            "frozen_units": sum(sum(s.values()) for s in self.fixed.values()),
            "orders_moved": len({o for o, _ in self._expected_moves()[0]}),
            "moved_units": moved,
            "previous_total_cents": previous_total,
            "total_delta_cents": self.plan.costs.total - previous_total,
        }
        for name, expected in figures.items():
            stated = getattr(report, name)
            if stated != expected:
                self.add(
                    ViolationCode.REPLAN_FIGURES,
                    f"replan.{name}",
                    f"recomputed {expected}, report says {stated}",
                )

    def _expected_moves(self) -> tuple[dict[Key, int], dict[Key, int]]:
        """Units leaving and arriving per (order, factory), for orders of the instance
        after the events (a cancelled order's units are not moved: they go)."""
        orders = {o.id for o in self.inst.orders}
        leaving: dict[Key, int] = {}
        arriving: dict[Key, int] = {}
        for key in set(self.before) | set(self.after):
            if key[0] not in orders:
                continue
            delta = self.after.get(key, 0) - self.before.get(key, 0)
            if delta < 0:
                leaving[key] = -delta
            elif delta > 0:
                arriving[key] = delta
        return leaving, arriving

    def _check_moves(self, report: Replan) -> None:
        orders = {o.id for o in self.inst.orders}
        leaving: dict[Key, int] = defaultdict(int)
        arriving: dict[Key, int] = defaultdict(int)
        for k, m in enumerate(report.moves):
            path = f"replan.moves[{k}]"
            problem = None
            if m.order not in orders:
                problem = f"order '{m.order}' is not in the instance after the events"
            elif m.units <= 0:
                problem = f"moves {m.units} units"
            elif m.from_factory == m.to_factory:
                problem = f"moves from {m.from_factory!r} to {m.to_factory!r}"
            if problem is not None:
                self.add(ViolationCode.REPLAN_MOVES, path, problem)
                continue
            if m.from_factory is not None:
                leaving[(m.order, m.from_factory)] += m.units
            if m.to_factory is not None:
                arriving[(m.order, m.to_factory)] += m.units
        out, into = self._expected_moves()
        for key in sorted(set(out) | set(into) | set(leaving) | set(arriving)):
            order, factory = key
            was, now = self.before.get(key, 0), self.after.get(key, 0)
            for what, expected, stated in (
                ("take", out.get(key, 0), leaving.get(key, 0)),
                ("bring", into.get(key, 0), arriving.get(key, 0)),
            ):
                if stated != expected:
                    self.add(
                        ViolationCode.REPLAN_MOVES,
                        "replan.moves",
                        f"order '{order}' at '{factory}': the moves {what} {stated} unit(s) "
                        f"{'away' if what == 'take' else 'there'}, the plans differ by "
                        f"{expected} (previous {was}, now {now})",
                    )

    def _check_newly(self, report: Replan) -> None:
        before = _late_orders({o.id: o for o in self.previous.instance.orders}, self.previous.plan)
        after = _late_orders({o.id: o for o in self.inst.orders}, self.plan)
        expected = sorted(after - before)
        if sorted(report.newly_late) != expected:
            self.add(
                ViolationCode.REPLAN_NEWLY_LATE,
                "replan.newly_late",
                f"orders late now and on time before: {expected}, report says "
                f"{sorted(report.newly_late)}",
            )
        # Unserved now and not before: served before, or added by the events.
        unserved_before = {u.order for u in self.previous.plan.unassigned}
        unserved = sorted(
            o.id
            for o in self.inst.orders
            if o.id not in self.served and o.id not in unserved_before
        )
        stated = sorted(u.order for u in report.newly_unserved)
        if stated != unserved:
            self.add(
                ViolationCode.REPLAN_NEWLY_UNSERVED,
                "replan.newly_unserved",
                f"orders unserved now and not before (served or added): {unserved}, report "
                f"says {stated}",
            )
        listed = {u.order: u for u in self.plan.unassigned}
        for k, u in enumerate(report.newly_unserved):
            if u.order in listed and u != listed[u.order]:
                self.add(
                    ViolationCode.REPLAN_NEWLY_UNSERVED,
                    f"replan.newly_unserved[{k}]",
                    f"order '{u.order}' differs from its entry in unassigned",
                )


def _conflict_listed(conflicts: Sequence[str], key: Key, period: int) -> bool:
    """Whether a line of ``conflicts`` names the part and the period
    (``"O1 at F2: frozen units in period 3 not kept ..."``)."""
    order, factory = key
    mention = re.compile(rf"\bperiod {period}\b")
    return any(
        line.startswith(f"{order} at {factory}:") and mention.search(line) for line in conflicts
    )
