"""A hand-checkable instance for the fairness report (docs/fairness-report.md), shared by
the application and checker tests.

Three factories and the buyers at one place (transport 0), one process ``p`` at 60 s a
unit on group ``g``, two periods:

- A: 10 cents a unit, 600 minutes a period (1 200 over the horizon), credit score 50;
- B: 20 cents a unit, 300 minutes a period (600), score 100;
- C: 30 cents a unit, 60 minutes a period (120: the small one), score 100, credit from
  2 trade records (new: fewer than 5).

Orders, all due in period 1: O1 100 units, O2 50 units, O3 10 units with an unserved
penalty of 50 cents, below its cheapest price (100 at A), so a cost-minimising plan
leaves it out. With ``weights.credit = 1`` B's and C's full score outweighs A's price:
O1 and O2 go to B, and A, cheaper with room to spare, forms a blocking pair with each.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.instance import Instance
from matcher.domain.plan import (
    Allocation,
    CostBreakdown,
    Kpis,
    PeriodQuantity,
    Plan,
    ReasonCode,
    SolveStatus,
    Unassigned,
)
from matcher.domain.validation import parse_instance

PLACE = {"lat": 30.0, "lon": 120.0}
COST = {"A": 10, "B": 20, "C": 30}


def _factory(fid: str, minutes: int, score: int, records: int | None = None) -> dict[str, Any]:
    credit: dict[str, Any] = {"score": score}
    if records is not None:
        credit["records"] = records
    return {
        "id": fid,
        "location": PLACE,
        "capabilities": [
            {
                "process": "p",
                "resource_group": "g",
                "unit_cost_cents": COST[fid],
                "seconds_per_unit": 60,
            }
        ],
        "resources": [{"id": "g", "available_minutes": [minutes, minutes]}],
        "credit": credit,
    }


def _order(oid: str, quantity: int, unserved: int) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "p"}],
        "quantity": quantity,
        "due_period": 1,
        "delivery": PLACE,
        "penalties": {"unserved_cents": unserved},
    }


def fairness_instance(credit_weight: int = 1, **extra: Any) -> Instance:
    """The instance above; ``extra`` adds top-level fields (``fairness``)."""
    data: dict[str, Any] = {
        "name": "fairness-report",
        "horizon": {"start_date": "2026-01-05", "periods": 2},
        "processes": [{"id": "p"}],
        "factories": [
            _factory("A", 600, 50),
            _factory("B", 300, 100),
            _factory("C", 60, 100, records=2),
        ],
        "orders": [_order("O1", 100, 10**6), _order("O2", 50, 10**6), _order("O3", 10, 50)],
        "transport": {"cents_per_tonne_km": 0.0},
        "weights": {"credit": credit_weight},
        **extra,
    }
    return parse_instance(data)


def hand_plan(instance: Instance, placements: dict[str, dict[int, tuple[str, int]]]) -> Plan:
    """A plan of ``placements`` (order -> period -> (factory, units)), one part per order
    and factory; the other orders unassigned. Costs and KPIs are left empty: the
    fairness report reads the rows alone."""
    rows: list[Allocation] = []
    for oid, periods in placements.items():
        by_factory: dict[str, list[PeriodQuantity]] = {}
        for t, (fid, units) in sorted(periods.items()):
            by_factory.setdefault(fid, []).append(PeriodQuantity(period=t, quantity=units))
        for fid, pqs in by_factory.items():
            quantity = sum(pq.quantity for pq in pqs)
            rows.append(
                Allocation(
                    order=oid,
                    operation=0,
                    process="p",
                    factory=fid,
                    resource_group="g",
                    quantity=quantity,
                    periods=pqs,
                    production_cents=COST[fid] * quantity,
                )
            )
    unassigned = [
        Unassigned(order=o.id, reason=ReasonCode.NOT_WORTH_SERVING, detail="")
        for o in instance.orders
        if o.id not in placements
    ]
    kpis = Kpis(
        orders=len(instance.orders),
        orders_served=len(placements),
        orders_on_time=len(placements),
        orders_late=0,
        orders_unassigned=len(unassigned),
        fill_rate=0.0,
        unit_fill_rate=0.0,
        on_time_rate=0.0,
        factories_used=0,
        factory_utilisation=[],
        utilisation=[],
    )
    return Plan(
        instance=instance.name,
        status=SolveStatus.FEASIBLE,
        weights=instance.weights,
        allocations=rows,
        unassigned=unassigned,
        costs=CostBreakdown(),
        kpis=kpis,
        stages=[],
    )
