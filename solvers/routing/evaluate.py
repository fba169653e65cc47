"""Route arithmetic shared by the back-ends: times, loads, distance, duration and cost.

Both engines return only the order of the visits; this module turns an order into a
:class:`Route` with one definition of time and cost, so that the two back-ends'
answers are comparable and a wrong claim of feasibility from either is caught.

Times: the vehicle leaves its start depot as late as it can without reaching the end
depot later than the earliest possible arrival, so the route's duration (waiting
included) is the least this order of visits allows, which is what both engines
minimise when duration has a cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from solvers.routing.problem import Action, Route, RoutingProblem, Stop, Visit


def stop_of(problem: RoutingProblem, request: int, action: Action) -> Stop:
    r = problem.requests[request]
    stop = r.pickup if action is Action.PICKUP else r.delivery
    if stop is None:
        raise ValueError(f"request {request} has no {action.value} stop")
    return stop


def build_route(
    problem: RoutingProblem, vehicle_type: int, order: Sequence[tuple[int, Action]]
) -> tuple[Route, list[str]]:
    """The route serving ``order`` on a vehicle of ``vehicle_type``, and its violations."""
    v = problem.vehicle_types[vehicle_type]
    prof = problem.profiles[v.profile]
    dist, dur = prof.distance, prof.duration
    start_place = problem.depots[v.start_depot].place
    end_place = problem.depots[v.end_depot].place
    stops = [stop_of(problem, k, a) for k, a in order]
    places = [start_place, *(s.place for s in stops), end_place]
    violations: list[str] = []

    # Forward: earliest service starts from the opening of the shift.
    depot_open = max(v.shift_start, problem.depots[v.start_depot].open)
    t = depot_open
    earliest: list[int] = []
    for i, s in enumerate(stops):
        t = max(t + int(dur[places[i], places[i + 1]]), s.early)
        if t > s.late:
            k, a = order[i]
            violations.append(f"request {k} {a.value} starts at {t}, after {s.late}")
        earliest.append(t)
        t += s.service
    end = t + int(dur[places[-2], places[-1]])
    close = min(v.shift_end, problem.depots[v.end_depot].close)
    if end > close:
        violations.append(f"reaches the end depot at {end}, after {close}")

    # Backward: the latest departure that still reaches the end depot at ``end``.
    latest = end
    for i in range(len(stops) - 1, -1, -1):
        leg = int(dur[places[i + 1], places[i + 2]])
        latest = min(stops[i].late, latest - leg - stops[i].service)
    start = max(depot_open, latest - int(dur[places[0], places[1]])) if stops else depot_open
    if not stops:
        end = start
    # Re-run forward from the chosen departure so the reported times are consistent.
    t, starts = start, []
    for i, s in enumerate(stops):
        t = max(t + int(dur[places[i], places[i + 1]]), s.early)
        starts.append(t)
        t += s.service
    if stops:
        end = t + int(dur[places[-2], places[-1]])
    duration = end - start
    if v.max_duration is not None and duration > v.max_duration:
        violations.append(f"lasts {duration}, over the maximum {v.max_duration}")

    distance = sum(int(dist[a, b]) for a, b in itertools.pairwise(places))
    violations += _load_violations(problem, vehicle_type, order)
    cost = v.fixed_cost + v.unit_distance_cost * distance + v.unit_duration_cost * duration
    visits = [Visit(k, a, s) for (k, a), s in zip(order, starts, strict=True)]
    route = Route(vehicle_type, visits, start, end, distance, duration, cost)
    return route, violations


def _load_violations(
    problem: RoutingProblem, vehicle_type: int, order: Sequence[tuple[int, Action]]
) -> list[str]:
    """Capacity on every leg (deliveries from the depot are on board from the start),
    and pickup before delivery for shipments."""
    cap = problem.vehicle_types[vehicle_type].capacity
    load = [0] * len(cap)
    for k, a in order:
        r = problem.requests[k]
        if r.pickup is None and a is Action.DELIVERY:
            load = [x + y for x, y in zip(load, r.amount, strict=True)]
    found = []
    if any(x > c for x, c in zip(load, cap, strict=True)):
        found.append(f"leaves the depot with {load}, over the capacity {list(cap)}")
    picked: set[int] = set()
    for k, a in order:
        r = problem.requests[k]
        sign = 1 if a is Action.PICKUP else -1
        if a is Action.PICKUP:
            picked.add(k)
        elif r.pickup is not None and k not in picked:
            found.append(f"request {k} is delivered before it is picked up")
        load = [x + sign * y for x, y in zip(load, r.amount, strict=True)]
        if any(x > c for x, c in zip(load, cap, strict=True)):
            found.append(f"carries {load} after request {k} {a.value}, over {list(cap)}")
    return found


def check_coverage(
    problem: RoutingProblem, routes: Sequence[Route], unserved: Sequence[int]
) -> list[str]:
    """Every request served exactly once (both ends, on one vehicle) or listed unserved;
    no more vehicles of a type than it has; required requests all served."""
    seen: dict[tuple[int, Action], int] = {}
    found = []
    for n, route in enumerate(routes):
        for visit in route.visits:
            key = (visit.request, visit.action)
            if key in seen:
                found.append(f"request {visit.request} {visit.action.value} visited twice")
            seen[key] = n
    for k, r in enumerate(problem.requests):
        ends = [a for a, s in ((Action.PICKUP, r.pickup), (Action.DELIVERY, r.delivery)) if s]
        on = {seen.get((k, a)) for a in ends}
        if None in on:
            if len(on) > 1:
                found.append(f"request {k} is only half served")
            elif k not in unserved:
                found.append(f"request {k} is neither routed nor listed unserved")
            elif r.required:
                found.append(f"required request {k} is unserved")
        elif len(on) > 1:
            found.append(f"request {k} is picked up and delivered by different vehicles")
    used: dict[int, int] = {}
    for route in routes:
        used[route.vehicle_type] = used.get(route.vehicle_type, 0) + 1
    for t, n in used.items():
        have = problem.vehicle_types[t].count
        if n > have:
            found.append(f"{n} routes of vehicle type {t}, which has {have}")
    return found


def total_cost(problem: RoutingProblem, routes: Sequence[Route], unserved: Sequence[int]) -> int:
    return sum(r.cost for r in routes) + sum(problem.requests[k].penalty for k in unserved)
