"""Logistics figures of one plan (docs/logistics.md, "Where it stands"): what the fleet
carries, transport against all-carrier and against the door-to-door model, and at most
what lanes between two hubs could save.

    .venv/bin/python -m benchmarks.logistics_shares INSTANCE PLAN [--seconds 20] \\
        [--seed 0] [--short-km 100] [--json OUT]

- **shares**: the plan's transport requests the fleet carries: of all, of the hubs'
  legs, and of those whose origin and destination are at most ``--short-km`` road km
  apart;
- **door to door**: the plan's allocations and purchases routed by the routing stage
  on the instance with its hubs removed (the model before hubs), ``--seconds`` with one
  worker (a deterministic limit, so it may run longer in wall time);
- **hub-to-hub bound**: every goods shipment re-costed as if the legs whose delivery
  address is within another hub's reach (the nearest-hub rule) went to that hub, one
  lane and one drop per second hub, the rest staying on the region lane; the last mile
  from the second hub is free, its handling reported apart. What such lanes could
  save at most, with the routes as they are.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from matcher.domain.geo import nearest_hub, road_km
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, Routing
from matcher.domain.validation import load_instance
from solvers.routing.hubs import Bundle
from solvers.routing.stage import run_routing


def fleet_shares(instance: Instance, routing: Routing, short_km: float) -> dict[str, Any]:
    """Requests the fleet carries (not unrouted), of all, of legs, of short ones."""
    where = {f.id: f.location for f in instance.factories}
    where |= {h.id: h.location for h in instance.fleet.hubs}
    where |= {s.id: s.location for s in instance.suppliers}
    where |= {o.id: o.delivery for o in instance.orders}
    unrouted = {u.request for u in routing.unrouted}
    requests = routing.requests
    legs = [r for r in requests if r.hub is not None]
    short = [
        r
        for r in requests
        if road_km(where[r.origin], where[r.destination], instance.transport) <= short_km
    ]

    def carried(rs: list[Any]) -> int:
        return sum(r.id not in unrouted for r in rs)

    return {
        "requests": len(requests),
        "carried": carried(requests),
        "legs": len(legs),
        "legs_carried": carried(legs),
        "short": len(short),
        "short_carried": carried(short),
        "transport_cents": routing.transport_cents,
        "fleet_cents": routing.fleet_cents,
        "line_haul_cents": routing.line_haul_cents,
        "handling_cents": routing.handling_cents,
        "carrier_cents": routing.carrier_cents,
        "all_carrier_cents": routing.estimate_cents,
    }


def door_to_door(instance: Instance, plan: Plan, seconds: float, seed: int) -> Routing:
    """The plan's loads routed as if the instance had no hubs."""
    bare = instance.model_copy(update={"fleet": instance.fleet.model_copy(update={"hubs": []})})
    routed = run_routing(
        bare, plan.allocations, plan.purchasing, SolveParams(workers=1, seed=seed), seconds
    )
    assert routed is not None, "the instance has no vehicle"
    return routed[0]


def hub_to_hub_bound(instance: Instance, routing: Routing) -> dict[str, Any]:
    """The goods shipments re-costed on their own legs (``recosted``: equals the plan's
    when the rules are read alike) and with the legs whose buyer has another hub sent
    there instead (``via_second_hub``; ``second_hub_handling`` apart)."""
    transport = instance.transport
    hubs = {h.id: h for h in instance.fleet.hubs}
    orders = {o.id: o for o in instance.orders}
    requests = {r.id: r for r in routing.requests}
    planned = recosted = via = handling = 0.0
    moved = 0
    for s in routing.line_haul:
        if s.kind != "goods":
            continue
        first = hubs[s.origin]
        planned += s.cost_cents
        as_planned, stay = Bundle(), Bundle()  # every leg; the legs no other hub takes
        to_hub: dict[str, Bundle] = defaultdict(Bundle)
        for rid in s.requests:
            r = requests[rid]
            assert r.order is not None
            order = orders[r.order]
            kg, at = r.quantity * order.unit_weight_kg, order.delivery
            as_planned.add(kg, first, at, instance)
            second = nearest_hub(at, instance.fleet.hubs, transport)
            if second is not None and second.id != first.id:
                to_hub[second.id].add(kg, first, second.location, instance)
                handling += kg * second.handling_cents_per_kg
                moved += 1
            else:
                stay.add(kg, first, at, instance)
        recosted += as_planned.cost(instance).cents
        via += sum(b.cost(instance).cents for b in (stay, *to_hub.values()) if b.kg > 0)
    return {
        "goods_line_haul_cents": planned,
        "recosted_cents": recosted,
        "via_second_hub_cents": via,
        "second_hub_handling_cents": round(handling),
        "legs_moved": moved,
    }


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _money(cents: float) -> str:
    return f"{cents / 100:,.2f}"


def _describe(name: str, s: dict[str, Any], seconds: float) -> list[str]:
    t = s["transport_cents"]
    return [
        f"{name}: the fleet carries {s['carried']} of {s['requests']} loads "
        f"({_pct(s['carried'], s['requests'])}), {s['legs_carried']} of {s['legs']} legs "
        f"({_pct(s['legs_carried'], s['legs'])}), {s['short_carried']} of {s['short']} short "
        f"({_pct(s['short_carried'], s['short'])})",
        f"  transport {_money(t)} = fleet {_money(s['fleet_cents'])} "
        f"({_pct(s['fleet_cents'], t)}) + line-haul {_money(s['line_haul_cents'])} "
        f"({_pct(s['line_haul_cents'], t)}) + handling {_money(s['handling_cents'])} "
        f"({_pct(s['handling_cents'], t)}) + carrier {_money(s['carrier_cents'])} "
        f"({_pct(s['carrier_cents'], t)})",
        f"  all by carrier {_money(s['all_carrier_cents'])} (saved "
        f"{_pct(s['all_carrier_cents'] - t, s['all_carrier_cents'])}); routing {seconds:.1f} s",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("plan")
    ap.add_argument("--seconds", type=float, default=20.0, help="door-to-door routing limit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--short-km", type=float, default=100.0)
    ap.add_argument("--json", help="write the figures as one JSON object")
    args = ap.parse_args(argv)

    instance = load_instance(args.instance)
    plan = Plan.model_validate_json(Path(args.plan).read_text())
    if plan.routes is None:
        print("the plan has no routes (the instance has no vehicle)")
        return 1
    stage = next(s for s in plan.stages if s.stage == "routing")
    hubs = fleet_shares(instance, plan.routes, args.short_km)
    start = time.perf_counter()
    bare = fleet_shares(
        instance, door_to_door(instance, plan, args.seconds, args.seed), args.short_km
    )
    bare_s = time.perf_counter() - start
    bound = hub_to_hub_bound(instance, plan.routes)
    lines = _describe("plan", hubs, stage.wall_time_s)
    lines += _describe("same plan, door to door (no hubs)", bare, bare_s)
    t = hubs["transport_cents"]
    lines.append(f"hubs against door to door: {100 * (t / bare['transport_cents'] - 1):+.2f} %")
    saving = bound["recosted_cents"] - bound["via_second_hub_cents"]
    lines.append(
        f"hub-to-hub bound: goods line-haul {_money(bound['goods_line_haul_cents'])} "
        f"(re-costed {_money(bound['recosted_cents'])}), via a second hub "
        f"{_money(bound['via_second_hub_cents'])} for {bound['legs_moved']} legs: saves at most "
        f"{_money(saving)} ({100 * saving / t:+.2f} % of transport), "
        f"{100 * (saving - bound['second_hub_handling_cents']) / t:+.2f} % with the second "
        f"hub's handling {_money(bound['second_hub_handling_cents'])}"
    )
    print("\n".join(lines))
    if args.json:
        figures = {"plan": hubs, "door_to_door": bare, "hub_to_hub": bound}
        figures["routing_s"] = {"plan": stage.wall_time_s, "door_to_door": round(bare_s, 2)}
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
