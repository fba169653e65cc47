"""Hand-checkable instances for capacity sharing, re-plans and recommendations.

One process (``press``), one period unless said, no transport cost (every factory
and buyer at the same place), 1 hour per unit: costs and capacities read directly.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance

HERE = {"lat": 30.0, "lon": 120.0}


def factory(
    fid: str, unit_cost: int, hours: list[int], score: int = 80, setup_minutes: int = 0
) -> dict[str, Any]:
    return {
        "id": fid,
        "location": HERE,
        "capabilities": [
            {
                "process": "press",
                "resource_group": "press",
                "unit_cost_cents": unit_cost,
                "seconds_per_unit": 3600,
                "setup_minutes": setup_minutes,
            }
        ],
        "resources": [{"id": "press", "available_minutes": [60 * h for h in hours]}],
        "credit": {"score": score},
    }


def order(
    oid: str,
    quantity: int,
    due: int = 0,
    *,
    penalty: int | None = None,
    split: int = 1,
    min_credit: int | None = None,
    late: int = 0,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": oid,
        "buyer": "B1",
        "operations": [{"process": "press"}],
        "quantity": quantity,
        "due_period": due,
        "delivery": HERE,
        "penalties": {"late_cents_per_unit_period": late}
        | ({} if penalty is None else {"unserved_cents": penalty}),
    }
    if split > 1:
        data["split"] = {"allowed": True, "max_factories": split}
    if min_credit is not None:
        data["min_credit_score"] = min_credit
    return data


def instance(
    factories: list[dict[str, Any]], orders: list[dict[str, Any]], periods: int = 1
) -> Instance:
    return parse_instance(
        {
            "name": "sharing",
            "horizon": {"start_date": "2026-01-05", "periods": periods},
            "processes": [{"id": "press"}],
            "factories": factories,
            "orders": orders,
            "transport": {"cents_per_tonne_km": 0.0},
        }
    )
