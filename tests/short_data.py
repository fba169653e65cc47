"""A hand-checkable instance for "what it would take" (docs/explain.md).

One factory F at the buyers' place (transport 0), group ``g``, three periods of 480
minutes with 180 committed in period 1; ``cut`` takes 60 s a unit and 30 minutes of
setup a period, 100 cents a unit.

- M (mandatory, unsplittable): 600 units released and due in period 1. On time it
  needs 600 + 30 = 630 minutes in period 1, where 300 are free: 330 minutes short,
  5.5 hours. The plan makes 270 units in period 1 (300 - 30 setup) and 330 in
  period 2, late by one period at 100 cents: lateness 33 000.
- A: 100 units due in period 0: 130 minutes of 480, nothing to buy.
- Z: 10 units due in period 1, 1 kg of steel a unit; F holds none and steel arrives
  after a lead time of 2 periods: not on time even with unlimited capacity.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance

PLACE = {"lat": 30.0, "lon": 120.0}


def _order(oid: str, quantity: int, release: int, due: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "cut"}],
        "quantity": quantity,
        "release_period": release,
        "due_period": due,
        "delivery": PLACE,
        "penalties": {"late_cents_per_unit_period": 100},
        **extra,
    }


def short_data(committed: int = 180, with_z: bool = True) -> dict[str, Any]:
    orders = [_order("M", 600, 1, 1), _order("A", 100, 0, 0)]
    if with_z:
        orders.append(_order("Z", 10, 0, 1, bill_of_materials={"steel": 1.0}))
    return {
        "name": "short",
        "horizon": {"start_date": "2026-01-05", "periods": 3},
        "processes": [{"id": "cut"}],
        "materials": [{"id": "steel", "kg_per_unit": 1.0}],
        "factories": [
            {
                "id": "F",
                "location": PLACE,
                "capabilities": [
                    {
                        "process": "cut",
                        "resource_group": "g",
                        "unit_cost_cents": 100,
                        "seconds_per_unit": 60,
                        "setup_minutes": 30,
                    }
                ],
                "resources": [
                    {
                        "id": "g",
                        "available_minutes": [480, 480, 480],
                        "committed_minutes": [0, committed, 0],
                    }
                ],
                "credit": {"score": 90},
            }
        ],
        "orders": orders,
        "suppliers": [
            {
                "id": "S",
                "location": PLACE,
                "offers": [
                    {
                        "material": "steel",
                        "lead_time_periods": 2,
                        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 10}]},
                    }
                ],
            }
        ],
        "weights": {"credit": 0},
    }


def short_instance() -> Instance:
    return parse_instance(short_data())
