"""A hand-checkable instance for the fairness options (docs/fairness.md), shared by the
solver, checker and CLI tests.

Three factories and the buyers at one place (transport 0), one process ``p`` at 60 s a
unit on group ``g`` with 30 free minutes in each of two periods (3 600 s over the
horizon: three 10-unit orders a period at most):

- F1: 10 cents a unit; F2: 12 cents; F3: 20 cents, credit from 1 trade record (new);
  F1 and F2 have declared credit (not new).

Four orders of 10 units, unsplittable, due in period 1, unserved penalty 1 000 000.
Without options all go to F1 (cost 400). By hand:

- ``max_share 0.5`` (units): at most 20 units a factory: F1 two, F2 two (440);
- ``min_work 10``, soft at 100 cents a unit short: every factory gets an order: F1 two,
  F2 one, F3 one (520, no penalty); at 5 cents a unit: F3 is left short (50 cents
  beats its 100 cents dearer order): F1 three, F2 one (420 + 50);
- ``exploration_share 0.25`` at 100 cents a unit: a quarter of 40 units at F3, the only
  new factory: F1 three, F3 one (500);
- ``weights.load_balance 10``: spread = ceil(highest %) - floor(lowest %); all at F1
  is 67 points (1 070 in all); F1 two, F2 one, F3 one is 34 - 16 = 18 (520 + 180 =
  700), the cheapest.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance

PLACE = {"lat": 30.0, "lon": 120.0}


def _factory(fid: str, cost: int, records: int | None = None) -> dict[str, Any]:
    credit: dict[str, Any] = {"score": 80}
    if records is not None:
        credit["records"] = records
    return {
        "id": fid,
        "location": PLACE,
        "capabilities": [
            {"process": "p", "resource_group": "g", "unit_cost_cents": cost, "seconds_per_unit": 60}
        ],
        "resources": [{"id": "g", "available_minutes": [30, 30]}],
        "credit": credit,
    }


def fairness_data(**top: Any) -> dict[str, Any]:
    """The instance as JSON data; ``top`` adds or replaces top-level fields."""
    data: dict[str, Any] = {
        "name": "fairness-options",
        "horizon": {"start_date": "2026-01-05", "periods": 2},
        "processes": [{"id": "p"}],
        "factories": [_factory("F1", 10), _factory("F2", 12), _factory("F3", 20, records=1)],
        "orders": [
            {
                "id": f"O{i}",
                "buyer": "b",
                "operations": [{"process": "p"}],
                "quantity": 10,
                "due_period": 1,
                "delivery": PLACE,
                "penalties": {"unserved_cents": 1_000_000},
            }
            for i in range(1, 5)
        ],
    }
    data.update(top)
    return data


def fairness_instance(**top: Any) -> Instance:
    return parse_instance(fairness_data(**top))
