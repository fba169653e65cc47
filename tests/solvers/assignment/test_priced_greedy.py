"""The greedy with the scarce materials priced (solvers/assignment/greedy.py
``placement_priority``, cpsat ``_priced_warm_start``): a material whose supply binds is
a knapsack over the whole platform, and by value per second alone the greedy gives it
to the order worth most per second, not per unit of the material.

Two factories with room for everything (10 units a period each, 8 periods); ``steel``
from one offer of 20 units at lead time 0. Order A: 10 units using 2 steel each (all
20), worth 999 000 cents net; orders B1 and B2: 10 units using 0.5 steel each (5
each), worth 899 000 net. Per second A comes first and takes all the steel; per unit
of steel B1 and B2 are worth 179 800 and A 49 950, so the best plan serves B1 and B2
(at any steel price above 6 667 cents they outrank A). The best price, A's 49 950,
is reached in 20 to 40 iterations of ascent here (a target far above the optimum and
one price: the steps bounce), not in the 10 that generated instances need.
"""

from __future__ import annotations

from typing import Any

import pytest

import solvers.assignment.cpsat as cpsat
from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.validation import parse_instance
from solvers.assignment.base import objective_of
from solvers.assignment.bound import scarce_material_prices
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import AssignmentProblem, build_problem

PLACE = {"lat": 30.0, "lon": 121.0}


def _factory(fid: str) -> dict[str, Any]:
    return {
        "id": fid,
        "location": PLACE,
        "capabilities": [
            {
                "process": "cut",
                "resource_group": "g",
                "unit_cost_cents": 100,
                "seconds_per_unit": 2880,
            }
        ],
        "resources": [{"id": "g", "available_minutes": [480] * 8}],
    }


def _order(oid: str, steel_per_unit: float, penalty: int) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "cut"}],
        "quantity": 10,
        "due_period": 7,
        "delivery": PLACE,
        "penalties": {"late_cents_per_unit_period": 1000, "unserved_cents": penalty},
        "bill_of_materials": {"steel": steel_per_unit},
    }


def _instance() -> Instance:
    offer = {
        "material": "steel",
        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 10}]},
        "lead_time_periods": 0,
        "capacity": 20,
    }
    return parse_instance(
        {
            "name": "scarce steel",
            "horizon": {"start_date": "2026-01-05", "periods": 8},
            "processes": [{"id": "cut"}],
            "materials": [{"id": "steel", "unit": "kg"}],
            "factories": [_factory("F1"), _factory("F2")],
            "orders": [
                _order("A", 2.0, 1_000_000),
                _order("B1", 0.5, 900_000),
                _order("B2", 0.5, 900_000),
            ],
            "suppliers": [{"id": "S", "location": PLACE, "offers": [offer]}],
            "transport": {"cents_per_tonne_km": 0.0},
        }
    )


def _served(problem: AssignmentProblem, parts: list[Any]) -> set[str]:
    return {problem.orders[problem.candidates[p.candidate].order].order.id for p in parts}


def test_by_value_per_second_the_greedy_gives_the_steel_to_the_wrong_order() -> None:
    problem = build_problem(_instance())
    assert _served(problem, greedy_parts(problem)) == {"A"}


def test_at_the_scarce_materials_prices_the_greedy_serves_what_the_steel_is_worth_most_to() -> None:
    problem = build_problem(_instance())
    plain = greedy_parts(problem)
    prices = scarce_material_prices(problem, objective_of(problem, plain), iterations=40)
    assert prices.max() > 6_667  # steel, in its periods; the padding row is 0
    priced = greedy_parts(problem, material_prices=prices)
    assert _served(problem, priced) == {"B1", "B2"}
    assert objective_of(problem, priced) == objective_of(problem, plain) - 799_000


def test_the_search_starts_from_the_cheaper_priced_greedy_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpsat, "PRICING_ITERATIONS", 40)
    params = SolveParams(workers=1, strategy="lns", feedback=False, sharing=False)
    made = plan(_instance(), params)
    assert {a.order for a in made.allocations} == {"B1", "B2"}
    assert any(
        "scarce materials priced" in n and "cheaper and starts" in n for n in made.stages[0].notes
    )
