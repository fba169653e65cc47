"""The logistics figures (benchmarks/logistics_shares.py) read a plan as the stage and
the checker do: counts agree with the routes, the re-costed goods shipments equal the
plan's, the door-to-door routing has no hub in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.logistics_shares import door_to_door, fleet_shares, hub_to_hub_bound, main
from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import load_instance

DEMO = Path(__file__).parents[2] / "instances" / "demo.json"


@pytest.fixture(scope="module")
def demo_plan() -> Plan:
    return plan(load_instance(DEMO), SolveParams(workers=1, feedback=False, sharing=False))


def test_shares_count_what_the_routes_carry(demo_plan: Plan) -> None:
    routing = demo_plan.routes
    assert routing is not None
    shares = fleet_shares(load_instance(DEMO), routing, short_km=100.0)
    unrouted = {u.request for u in routing.unrouted}
    assert shares["requests"] == len(routing.requests)
    assert shares["carried"] == len(routing.requests) - len(unrouted)
    legs = [r for r in routing.requests if r.hub is not None]
    assert shares["legs"] == len(legs) > 0
    assert shares["legs_carried"] == sum(r.id not in unrouted for r in legs) > 0
    # every leg runs between a factory and its hub, within the hub's reach (<= 60 km)
    assert shares["legs"] <= shares["short"] <= shares["requests"]
    assert shares["transport_cents"] == routing.transport_cents < shares["all_carrier_cents"]


def test_door_to_door_routes_the_same_loads_without_hubs(demo_plan: Plan) -> None:
    routing = demo_plan.routes
    assert routing is not None
    bare = door_to_door(load_instance(DEMO), demo_plan, seconds=5.0, seed=0)
    assert all(r.hub is None for r in bare.requests)
    assert bare.line_haul == [] and bare.hub_use == []
    # a leg is its load with "@hub" in its id (docs/logistics.md): the same loads, split alike
    assert {r.id for r in bare.requests} == {re.sub("@[^#]*", "", r.id) for r in routing.requests}
    assert bare.estimate_cents == routing.estimate_cents  # the same loads, door to door


def test_the_bound_recosts_the_plans_goods_shipments_exactly(demo_plan: Plan) -> None:
    routing = demo_plan.routes
    assert routing is not None
    bound = hub_to_hub_bound(load_instance(DEMO), routing)
    goods = [s for s in routing.line_haul if s.kind == "goods"]
    assert goods
    assert bound["goods_line_haul_cents"] == sum(s.cost_cents for s in goods)
    assert bound["recosted_cents"] == bound["goods_line_haul_cents"]
    assert bound["legs_moved"] > 0  # some of demo's buyers are in another hub's reach
    assert bound["second_hub_handling_cents"] > 0


def test_main_writes_the_figures(demo_plan: Plan, tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(demo_plan.model_dump_json())
    out = tmp_path / "figures.json"
    argv = [str(DEMO), str(tmp_path / "plan.json"), "--seconds", "2", "--json", str(out)]
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    assert set(figures) == {"plan", "door_to_door", "hub_to_hub", "routing_s"}
    assert figures["door_to_door"]["legs"] == 0
