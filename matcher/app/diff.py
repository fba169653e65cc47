"""What changed between two plans of one instance: orders moved and where, orders newly
served or unserved, cost by term and KPIs side by side (``matcher diff``).

Plans are compared as they are written, row by row; nothing is re-solved or
re-checked, so the diff of two plans from different instances is still computed (and
says so in ``notes``). Needs the domain only, so the CLI can diff without loading an
engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import Field

from matcher.domain.plan import Plan, ReasonCode, Result, Unassigned

COST_TERMS = (
    "production",
    "transport",
    "lateness",
    "unserved",
    "purchasing",
    "credit",
    "moved_units",
    "total",
    "objective",
)
"""The cost terms compared, in the order a table shows them."""

KPI_FIELDS = (
    "orders",
    "orders_served",
    "orders_on_time",
    "orders_late",
    "orders_unassigned",
    "fill_rate",
    "unit_fill_rate",
    "on_time_rate",
    "factories_used",
)


class Share(Result):
    """Where one operation of an order is made in one plan: a factory, its units and
    the periods it works them."""

    operation: int
    factory: str
    units: int
    periods: list[int] = Field(description="Periods with positive quantity, ascending.")


class OrderMove(Result):
    """An order served by both plans whose factories or periods differ."""

    order: str
    kind: str = Field(
        description="moved: some units are made at another factory; retimed: same "
        "factories and units, other periods."
    )
    moved_units: int = Field(
        description="Units no longer made at the factory plan A gave them (every "
        "operation counted, as a re-plan counts them)."
    )
    before: list[Share]
    after: list[Share]


class ServiceChange(Result):
    """An order served by one plan and not by the other."""

    order: str
    reason: ReasonCode | None = Field(
        description="Why the plan that does not serve it leaves it out."
    )
    detail: str = ""
    mandatory: bool = False
    factories: list[str] = Field(
        default_factory=list, description="Where the plan that serves it makes it."
    )


class TermDelta(Result):
    name: str
    a: float
    b: float
    delta: float
    relative: float | None = Field(description="delta / |a|; None when a is 0.")


class FactoryDelta(Result):
    """Units a factory makes (all operations) in each plan."""

    factory: str
    a: int
    b: int
    delta: int


class PlanDiff(Result):
    """Plan B against plan A (``matcher diff A B``)."""

    instance_a: str
    instance_b: str
    status_a: str
    status_b: str
    moved: list[OrderMove] = Field(default_factory=list)
    newly_served: list[ServiceChange] = Field(default_factory=list)
    newly_unserved: list[ServiceChange] = Field(default_factory=list)
    reason_changed: list[ServiceChange] = Field(
        default_factory=list,
        description="Unserved in both, for another reason in B (B's reason and detail).",
    )
    newly_late: list[str] = Field(default_factory=list)
    no_longer_late: list[str] = Field(default_factory=list)
    costs: list[TermDelta]
    kpis: list[TermDelta]
    factories: list[FactoryDelta] = Field(
        default_factory=list, description="Factories whose units changed, largest change first."
    )
    moved_units: int = Field(default=0, description="Sum of the moved orders' moved_units.")
    notes: list[str] = Field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """No order moved, changed service or lateness, and every cost term is equal."""
        return not (
            self.moved
            or self.newly_served
            or self.newly_unserved
            or self.reason_changed
            or self.newly_late
            or self.no_longer_late
            or any(t.delta for t in self.costs)
        )


def diff_plans(a: Plan, b: Plan) -> PlanDiff:
    """Plan ``b`` against plan ``a``: every order whose placement or service changed,
    the cost terms and KPIs with their deltas, and the factories whose load changed.

    Parameters
    ----------
    a, b
        Two plans, normally of the same instance (a baseline and a candidate, or a plan
        and its re-plan).

    Returns
    -------
    PlanDiff
        Orders listed by id; ``moved`` holds orders served by both plans whose
        (operation, factory, units) or periods differ.
    """
    shares_a, shares_b = _shares(a), _shares(b)
    unserved_a = {u.order: u for u in a.unassigned}
    unserved_b = {u.order: u for u in b.unassigned}
    moved: list[OrderMove] = []
    for order in sorted(shares_a.keys() & shares_b.keys()):
        before, after = shares_a[order], shares_b[order]
        if before == after:
            continue
        units_a, units_b = _units(before), _units(after)
        lost = sum(max(0, n - units_b.get(key, 0)) for key, n in units_a.items())
        kind = "moved" if units_a != units_b else "retimed"
        moved.append(
            OrderMove(order=order, kind=kind, moved_units=lost, before=before, after=after)
        )

    newly_served = _service_changes(shares_b.keys() - shares_a.keys(), unserved_a, shares_b, "A")
    newly_unserved = _service_changes(shares_a.keys() - shares_b.keys(), unserved_b, shares_a, "B")
    reason_changed = [
        ServiceChange(
            order=o,
            reason=unserved_b[o].reason,
            detail=f"was {unserved_a[o].reason.value}: {unserved_b[o].detail}",
            mandatory=unserved_b[o].mandatory,
        )
        for o in sorted(unserved_a.keys() & unserved_b.keys())
        if unserved_a[o].reason != unserved_b[o].reason
    ]
    late_a, late_b = _late_orders(a), _late_orders(b)
    served_both = shares_a.keys() & shares_b.keys()
    notes = []
    if a.instance != b.instance:
        notes.append(f"the plans are of different instances: {a.instance} and {b.instance}")
    if a.weights != b.weights:
        notes.append("the plans' weights differ: their objectives are not comparable")
    return PlanDiff(
        instance_a=a.instance,
        instance_b=b.instance,
        status_a=a.status.value,
        status_b=b.status.value,
        moved=moved,
        newly_served=newly_served,
        newly_unserved=newly_unserved,
        reason_changed=reason_changed,
        newly_late=sorted((late_b - late_a) & served_both),
        no_longer_late=sorted((late_a - late_b) & served_both),
        costs=[_delta(t, getattr(a.costs, t), getattr(b.costs, t)) for t in COST_TERMS],
        kpis=[_delta(k, getattr(a.kpis, k), getattr(b.kpis, k)) for k in KPI_FIELDS],
        factories=_factory_deltas(a, b),
        moved_units=sum(m.moved_units for m in moved),
        notes=notes,
    )


def _shares(plan: Plan) -> dict[str, list[Share]]:
    """Each served order's shares, sorted, so that equal placements compare equal."""
    out: dict[str, list[Share]] = defaultdict(list)
    for row in plan.allocations:
        periods = sorted(p.period for p in row.periods if p.quantity > 0)
        out[row.order].append(
            Share(operation=row.operation, factory=row.factory, units=row.quantity, periods=periods)
        )
    for shares in out.values():
        shares.sort(key=lambda s: (s.operation, s.factory, s.periods))
    return dict(out)


def _units(shares: Iterable[Share]) -> dict[tuple[int, str], int]:
    units: dict[tuple[int, str], int] = defaultdict(int)
    for s in shares:
        units[(s.operation, s.factory)] += s.units
    return dict(units)


def _service_changes(
    orders: Iterable[str],
    unserved: dict[str, Unassigned],
    shares: dict[str, list[Share]],
    other: str,
) -> list[ServiceChange]:
    """Orders served in one plan and not in the other (``other``), with why the other
    left them out and where the one makes them."""
    return [
        ServiceChange(
            order=o,
            reason=unserved[o].reason if o in unserved else None,
            detail=unserved[o].detail if o in unserved else f"not in plan {other}",
            mandatory=unserved[o].mandatory if o in unserved else False,
            factories=_factories(shares[o]),
        )
        for o in sorted(orders)
    ]


def _factories(shares: Iterable[Share]) -> list[str]:
    return sorted({s.factory for s in shares})


def _late_orders(plan: Plan) -> set[str]:
    return {row.order for row in plan.allocations if row.late_units > 0}


def _delta(name: str, a: float, b: float) -> TermDelta:
    return TermDelta(name=name, a=a, b=b, delta=b - a, relative=(b - a) / abs(a) if a else None)


def _factory_deltas(a: Plan, b: Plan) -> list[FactoryDelta]:
    units_a: dict[str, int] = defaultdict(int)
    units_b: dict[str, int] = defaultdict(int)
    for row in a.allocations:
        units_a[row.factory] += row.quantity
    for row in b.allocations:
        units_b[row.factory] += row.quantity
    rows = [
        FactoryDelta(factory=f, a=units_a[f], b=units_b[f], delta=units_b[f] - units_a[f])
        for f in units_a.keys() | units_b.keys()
        if units_a[f] != units_b[f]
    ]
    return sorted(rows, key=lambda r: (-abs(r.delta), r.factory))
