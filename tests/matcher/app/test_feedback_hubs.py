"""Feedback rounds see the hubs (docs/model.md, "One plan: feedback rounds";
docs/logistics.md): a factory near a hub ships through it, so the assignment must not
price it with the same flat door-to-door estimate as a factory far from any hub.

Two factories near Ningbo make the same product: F1 (1 000 cents a unit) is 13 road km
from hub H, F2 (900 cents a unit) is 100 km away, beyond the hub's 60 km reach. The
buyer is in Beijing, about as far from both, so the per-unit transport estimate hardly
tells them apart and the first round picks F2. Its 200 kg then go door to door at the
carrier's minimum of 1 000.00, while through the hub they would cost a van's short
loop, the handling (2 cents a kg) and a less-than-truckload line-haul to Beijing,
well under a tenth of that. Fed back, that makes F1 the cheaper factory.
"""

from __future__ import annotations

from typing import Any

from matcher.app.feedback import HubRates, candidate_costs
from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.entities import Location
from matcher.domain.geo import line_haul_cost, road_km
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.validation import parse_instance
from solvers.assignment.problem import build_problem

HUB = {"lat": 29.95, "lon": 121.60}
F1_AT = {"lat": 29.87, "lon": 121.54}
F2_AT = {"lat": 30.00, "lon": 120.58}
BEIJING = {"lat": 39.90, "lon": 116.41}


def _at(point: dict[str, float]) -> Location:
    return Location(lat=point["lat"], lon=point["lon"])


def _factory(fid: str, at: dict[str, float], cost: int) -> dict[str, Any]:
    return {
        "id": fid,
        "location": at,
        "capabilities": [
            {
                "process": "cut",
                "resource_group": "g",
                "unit_cost_cents": cost,
                "seconds_per_unit": 60,
            }
        ],
        "resources": [{"id": "g", "available_minutes": [480] * 3}],
    }


def _instance() -> Instance:
    return parse_instance(
        {
            "name": "feedback-hubs",
            "horizon": {"start_date": "2026-01-05", "periods": 3},
            "processes": [{"id": "cut"}],
            "factories": [_factory("F1", F1_AT, 1000), _factory("F2", F2_AT, 900)],
            "orders": [
                {
                    "id": "A",
                    "buyer": "B",
                    "operations": [{"process": "cut"}],
                    "quantity": 20,
                    "due_period": 2,
                    "delivery": BEIJING,
                    "unit_weight_kg": 10.0,
                    "penalties": {"late_cents_per_unit_period": 10, "unserved_cents": 10**7},
                }
            ],
            "fleet": {
                "depots": [{"id": "D", "location": HUB}],
                "vehicles": [
                    {
                        "id": "van",
                        "depot": "D",
                        "capacity": {"weight_kg": 1000.0},
                        "fixed_cost_cents": 2000,
                        "cost_per_km_cents": 100,
                        "shift_start_minute": 360,
                        "shift_end_minute": 1080,
                    }
                ],
                "hubs": [{"id": "H", "location": HUB, "handling_cents_per_kg": 2.0}],
            },
            "transport": {
                "carrier_min_cents": 100_000,
                "line_haul": {"ltl_cents_per_tonne_km": 20.0, "ltl_min_cents": 5000},
            },
        }
    )


def _params(feedback: bool) -> SolveParams:
    return SolveParams(time_limit_s=4, workers=1, seed=0, sharing=False, feedback=feedback)


def test_without_feedback_the_flat_estimate_picks_the_factory_far_from_the_hub() -> None:
    instance = _instance()
    first = plan(instance, _params(feedback=False))
    assert {a.factory for a in first.allocations} == {"F2"}
    assert first.routes is not None
    assert first.routes.carrier_cents == 100_000  # door to door at the minimum
    assert not first.routes.line_haul


def test_the_candidate_near_the_hub_is_priced_at_the_hub_path() -> None:
    instance = _instance()
    first = plan(instance, _params(feedback=False))
    rates = HubRates(instance, first)
    through = rates.goods_per_unit("A", "F1")
    assert rates.goods_per_unit("A", "F2") is None  # beyond every hub's reach
    assert through is not None
    # 10 kg a unit x (the carrier's rate a kg F1 -> hub, no leg carried yet, + 2 cents
    # handling + the lane's line-haul of the order's 200 kg alone, over its kg)
    t = instance.transport
    milk = road_km(_at(F1_AT), _at(HUB), t) * t.cents_per_tonne_km / 1000
    lane = line_haul_cost(200.0, road_km(_at(HUB), _at(BEIJING), t), t.line_haul_rates)
    assert lane.mode == "ltl" and lane.cents > 5000  # above the minimum
    assert through == 10 * (milk + 2.0 + lane.cents / 200)
    problem = build_problem(instance)
    extra = candidate_costs(problem, first)
    by_factory = {
        instance.factories[c.factory].id: extra.get(k, 0) for k, c in enumerate(problem.candidates)
    }
    per_unit = {instance.factories[c.factory].id: c.transport for c in problem.candidates}
    # F2's estimate scales by what its goods really cost (the carrier's minimum);
    # F1's becomes the hub path, far below it
    assert per_unit["F2"] + by_factory["F2"] == round(100_000 / 20)
    assert per_unit["F1"] + by_factory["F1"] == round(through)


def test_feedback_moves_the_order_next_to_the_hub_and_ships_it_through_it() -> None:
    instance = _instance()
    first = plan(instance, _params(feedback=False))
    fed = plan(instance, _params(feedback=True))
    assert {a.factory for a in fed.allocations} == {"F1"}
    assert check_plan(instance, fed).ok
    assert fed.routes is not None
    assert [s.requests for s in fed.routes.line_haul] == [["goods:A:F1@H"]]
    assert fed.routes.carrier_cents == 0
    assert fed.costs.objective < first.costs.objective
    rounds = fed.stages[0].extra["feedback_rounds"]
    assert [r["kept"] for r in rounds][:2] == [True, True]
