"""A hand-checkable instance for explanations (docs/explain.md), shared by the solver
and application tests.

Six factories at one place (transport 0), one period of capacity each (480 minutes,
60 s a unit: 480 units), three periods. Orders X and Y: ``cut``, 480 units due in
period 0, credit at least 60, at most 300 cents a unit, 1 kg of alloy a unit. Alloy
comes from one supplier with a lead time of 2 periods; FA, FC, FD and FF hold 1 000 kg
of it, FE none.

- FA: 100 cents a unit: the cheapest, and room for one order only;
- FB: no ``cut`` (NO_CAPABLE_FACTORY);
- FC: credit score 50 (CREDIT_BELOW_MIN);
- FD: 500 cents a unit (PRICE_ABOVE_MAX);
- FE: no alloy in stock, and none can arrive before period 2, when FE has no time
  (MATERIAL_UNAVAILABLE);
- FF: 200 cents a unit: 96 000 for X, not below X's penalty 50 000 (NOT_WORTH_SERVING
  for X; Y, whose penalty is 1 000 000, may go there).

Optimal plan: Y at FA (48 000), X unserved (50 000): 98 000, against X at FA and Y at
FF, 48 000 + 96 000 = 144 000. Moving X to FA frees Y to FF: +46 000.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance

PLACE = {"lat": 30.0, "lon": 120.0}


def _factory(
    fid: str, cost: int | None, credit: int = 90, stock: bool = True, process: str = "cut"
) -> dict[str, Any]:
    return {
        "id": fid,
        "location": PLACE,
        "capabilities": [
            {
                "process": process,
                "resource_group": "g",
                "unit_cost_cents": cost or 100,
                "seconds_per_unit": 60,
            }
        ],
        "resources": [{"id": "g", "available_minutes": [480, 0, 0]}],
        "credit": {"score": credit},
        "stock": {"alloy": 1000.0} if stock else {},
    }


def _order(oid: str, unserved: int) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "cut"}],
        "quantity": 480,
        "due_period": 0,
        "delivery": PLACE,
        "min_credit_score": 60,
        "max_unit_price_cents": 300,
        "penalties": {"late_cents_per_unit_period": 100, "unserved_cents": unserved},
        "bill_of_materials": {"alloy": 1.0},
    }


def explain_data() -> dict[str, Any]:
    return {
        "name": "explain",
        "horizon": {"start_date": "2026-01-05", "periods": 3},
        "processes": [{"id": "cut"}, {"id": "weld"}],
        "materials": [{"id": "alloy", "kg_per_unit": 1.0}],
        "factories": [
            _factory("FA", 100),
            _factory("FB", 100, process="weld"),
            _factory("FC", 100, credit=50),
            _factory("FD", 500),
            _factory("FE", 100, stock=False),
            _factory("FF", 200),
        ],
        "orders": [_order("X", 50_000), _order("Y", 1_000_000)],
        "suppliers": [
            {
                "id": "S",
                "location": PLACE,
                "offers": [
                    {
                        "material": "alloy",
                        "lead_time_periods": 2,
                        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 10}]},
                    }
                ],
            }
        ],
        "weights": {"credit": 0},
    }


def explain_instance() -> Instance:
    return parse_instance(explain_data())
