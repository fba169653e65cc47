"""The greedy's placement order (solvers/assignment/greedy.py ``placement_priority``): mandatory
orders first, by due period; optional ones by what serving them saves per second of
capacity, so that an early order of little worth does not take the hours a later,
dearer one needs.

One factory, one machine group making one unit an hour, 8 hours a period, 4 periods:
32 units in all. Every order is 24 units (24 hours), so only one fits; none may split.
"""

from __future__ import annotations

from typing import Any

from matcher.domain.validation import parse_instance
from solvers.assignment.base import objective_of
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import build_problem


def _order(oid: str, due: int, unserved: int | None) -> dict[str, Any]:
    penalties: dict[str, Any] = {"late_cents_per_unit_period": 10}
    if unserved is not None:
        penalties["unserved_cents"] = unserved
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "p"}],
        "quantity": 24,
        "due_period": due,
        "delivery": {"lat": 30.0, "lon": 120.0},
        "penalties": penalties,
    }


def _served(orders: list[dict[str, Any]]) -> tuple[set[str], int]:
    instance = parse_instance(
        {
            "name": "greedy-order",
            "horizon": {"start_date": "2026-01-05", "periods": 4},
            "processes": [{"id": "p"}],
            "factories": [
                {
                    "id": "F",
                    "location": {"lat": 30.0, "lon": 120.0},
                    "capabilities": [
                        {
                            "process": "p",
                            "resource_group": "g",
                            "unit_cost_cents": 100,
                            "seconds_per_unit": 3600,
                        }
                    ],
                    "resources": [{"id": "g", "available_minutes": [480] * 4}],
                    "credit": {"score": 90},
                }
            ],
            "orders": orders,
        }
    )
    problem = build_problem(instance)
    parts = greedy_parts(problem)
    served = {problem.orders[problem.candidates[p.candidate].order].order.id for p in parts}
    return served, objective_of(problem, parts)


def test_an_early_order_of_little_worth_leaves_the_hours_to_a_dearer_one() -> None:
    cheap_early = _order("early", due=1, unserved=100_000)
    dear_late = _order("late", due=3, unserved=1_000_000)
    served, objective = _served([cheap_early, dear_late])
    # By due period "early" would come first and take 24 of the 32 hours, leaving
    # "late" (1 000 000 unserved) out; by worth per hour "late" goes first.
    assert served == {"late"}
    served_early_instead = 24 * 100 + 1_000_000
    assert objective < served_early_instead


def test_a_mandatory_order_is_placed_before_any_optional_one() -> None:
    mandatory = _order("must", due=3, unserved=None)
    dear = _order("dear", due=0, unserved=5_000_000)
    served, _ = _served([dear, mandatory])
    assert served == {"must"}
