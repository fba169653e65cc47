"""The state one check shares among its sections.

:class:`CheckState` is built once per plan: the instance's lookups, what the core pass
(:class:`matcher.check.assignment.Checker`) records of the plan's parts and use, the
recomputed totals every section adds to, and the violations and warnings found so far.
The section checkers (by operation, purchasing, routing, sharing, re-plan) take the
checker and read and add to this state; nothing else is shared between them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from matcher.check.codes import Violation, ViolationCode
from matcher.check.figures import cumulative_needs
from matcher.domain.entities import Capability, Factory, Order
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan


@dataclass
class PlanPart:
    """The rows of one order at one factory, by operation index."""

    order: Order
    factory: Factory
    first_row: int
    rows: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Totals:
    """The costs recomputed so far, in cents; sections add to them as they go."""

    production: int = 0
    transport: int = 0
    lateness: int = 0
    unserved: int = 0
    credit: int = 0
    purchasing: int = 0  # the recomputed collective cost, when the stage ran
    material: int = 0  # its materials alone (what purchasing is once routes exist)
    routed: int | None = None  # fleet + carrier, replacing transport once routes exist
    transfers: int = 0  # orders split by operation: their transfers, added to transport
    fairness: int = 0  # soft fairness penalties (docs/fairness.md), in the objective only
    load_balance: int = 0  # utilisation spread in points, when weights.load_balance > 0


class CheckState:
    """The lookups, records, totals and findings of one check (see the module)."""

    def __init__(self, instance: Instance, plan: Plan) -> None:
        self.inst = instance
        self.plan = plan
        self.periods = instance.horizon.periods
        self.orders = {o.id: o for o in instance.orders}
        self.factories = {f.id: f for f in instance.factories}
        self.caps: dict[str, dict[str, Capability]] = {
            f.id: {c.process: c for c in f.capabilities} for f in instance.factories
        }
        self.free: dict[tuple[str, str], list[int]] = {
            (f.id, r.id): [r.free_minutes(t) for t in range(self.periods)]
            for f in instance.factories
            for r in f.resources
        }
        self.violations: list[Violation] = []
        self.warnings: list[str] = []
        self.parts: dict[tuple[str, str], PlanPart] = {}
        # Orders split by operation: stage parts by order id, operation and factory id.
        self.stages: dict[str, dict[int, dict[str, PlanPart]]] = {}
        self.served: dict[str, int] = {}  # order id -> first row naming it
        self.used: dict[tuple[str, str, int], int] = {}  # seconds per (factory, group, period)
        self.late_orders: set[str] = set()
        self.totals = Totals()
        self.cancelled: set[str] = set()  # re-plans: orders the events cancelled
        self.moved: int | None = None  # re-plans: the units moved (None: as the plan says)

    @cached_property
    def needs(self) -> dict[tuple[str, str], list[int]]:
        """Whole-unit cumulative material needs per (factory, material), after stock
        (:func:`~matcher.check.figures.cumulative_needs`): the material rule and the
        purchasing section both read them."""
        return cumulative_needs(self.inst, self.plan)

    def add(self, code: ViolationCode, path: str, message: str) -> None:
        self.violations.append(Violation(code, path, message))

    def unknown_order(self, path: str, order_id: str) -> None:
        """A row names an order the instance lacks: cancelled by the events, or unknown."""
        if order_id in self.cancelled:
            self.add(
                ViolationCode.CANCELLED_ORDER_PLANNED,
                path,
                f"order '{order_id}' was cancelled by the events",
            )
        else:
            self.add(ViolationCode.UNKNOWN_ORDER, path, f"unknown order '{order_id}'")

    def delivering_parts(self) -> list[PlanPart]:
        """The parts goods leave from for the buyer: every part, and the last operation's
        stage parts of orders split by operation (each a part of its one operation)."""
        parts = list(self.parts.values())
        for order_id, by_operation in self.stages.items():
            last = len(self.orders[order_id].operations) - 1
            parts += by_operation.get(last, {}).values()
        return parts
