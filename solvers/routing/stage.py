"""The routing stage: the fleet's day routes for the plan's goods and materials.

One vehicle routing problem per period (a vehicle runs one route per period, inside its
shift), solved in period order with a share of the time limit proportional to the
period's requests; with more than one worker, as many periods at once as there are
workers (:class:`_Searches`). Every reachable request is optional with its carrier
estimate as the penalty, so the routes minimise fleet cost plus what the carrier is
paid; the rules are in docs/routing.md. With hubs (docs/logistics.md, :mod:`solvers.routing.hubs`)
some loads are offered as legs to or from a hub instead, their penalty the saving the
hub path brings; the carried legs then go on by line-haul.

Internal units: metres, seconds, grams (weight) or litres (volume), and 1/100 cent.
The engines need integer costs per metre and per second; in 1/100 cent those are the
cost per km / 10 and per hour / 36, rounded (within 0.5 % for the generator's
vehicles). Units that fine keep PyVRP's penalties for lateness and overload in the
range it is tuned for (with 1/36 000 cent, which would be exact, it could not find
feasible routes). Reported costs are recomputed exactly from metres and seconds, and
a route that then costs more than the carrier for its loads is dropped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from matcher.domain.entities import Location, Vehicle
from matcher.domain.geo import EARTH_RADIUS_KM
from matcher.domain.instance import Instance
from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import (
    Allocation,
    Purchasing,
    RouteStop,
    Routing,
    SolveStatus,
    StageStats,
    TransportRequest,
    Unrouted,
    UnroutedReason,
    VehicleRoute,
)
from solvers.routing.base import RoutingLimits, solve_routing
from solvers.routing.hubs import choose, settle
from solvers.routing.problem import (
    Action,
    Depot,
    Profile,
    Request,
    Route,
    RoutingProblem,
    RoutingResult,
    Stop,
    VehicleType,
)
from solvers.routing.requests import (
    Load,
    Place,
    dimensions,
    most_units,
    plan_loads,
    split_load,
)
from solvers.routing.searched import SearchedDays

SCALE = 100
"""Internal cost units per cent."""
AMOUNT_SCALE = 1000
"""Integer load units per capacity unit (grams per kg, litres per m3)."""
MIN_PERIOD_S = 0.05
ITERATIONS_PER_SECOND = 1000
"""With one worker, a period's budget is counted in PyVRP iterations (this many per
second of its share), so that the same seed gives the same routes; the wall clock,
at three times the share, is then only a safety net."""
DETERMINISTIC_WALL_FACTOR = 3.0
SETTLE_S_PER_REQUEST = 1e-5
"""With wall-clock limits, the seconds per request the stage keeps back from its share for
its work after the periods (the hubs' line-haul, the records of every request): 0.73 s
for the 100 711 requests of 50 000 orders, measured."""
PATIENCE_PER_REQUEST = 5
MIN_PATIENCE = 100
"""A period's search stops after ``max(MIN_PATIENCE, PATIENCE_PER_REQUEST x its
requests)`` PyVRP iterations without a better solution: a time limit is a cap, not a
duration, and a small day converges in fewer iterations than a large one. Measured
with hubs (docs/routing.md, "Stopping on no improvement"): from 20 and 200 to 5 and 100
the routing of demo's plan took 2.1 s -> 0.55 s and of the 30-order load instance's
2.8 s -> 0.7 s, for at most 0.04 % more transport (within what another seed changes);
medium's is decided by its time budget either way."""


@dataclass
class _Type:
    """Identical vehicles (same depot, capacity, costs, speed and shift)."""

    vehicles: list[Vehicle] = field(default_factory=list)

    @property
    def first(self) -> Vehicle:
        return self.vehicles[0]


def run_routing(
    instance: Instance,
    allocations: Sequence[Allocation],
    purchasing: Purchasing | None,
    params: SolveParams,
    seconds: float,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
    searched: SearchedDays | None = None,
) -> tuple[Routing, StageStats] | None:
    """Route the plan's loads; ``None`` when the instance has no vehicle (the per-unit
    estimates then stand). With ``searched``, a period searched before in the same
    plan with the same loads is not searched again when a new search cannot do better
    (:mod:`solvers.routing.searched`)."""
    if not instance.fleet.vehicles:
        return None
    start = time.perf_counter()
    fleet = instance.fleet
    dims = dimensions(instance)
    types = _vehicle_types(fleet.vehicles)
    split = _splitter(fleet.vehicles)
    choice = choose(
        instance,
        plan_loads(instance, allocations, purchasing),
        lambda legs: _carriable(instance, legs, types, dims, split),
    )
    requests: list[Load] = []
    unrouted: list[Unrouted] = []
    for load in choice.loads:
        parts = split(load)
        if parts is None:
            requests.append(load)
            unrouted.append(
                Unrouted(
                    request=load.id,
                    reason=UnroutedReason.TOO_HEAVY,
                    detail="no vehicle can carry one unit: "
                    + ", ".join(f"{d} {x:g}" for d, x in load.per_unit.items() if x),
                )
            )
        else:
            requests += parts
    too_heavy = {u.request for u in unrouted}
    by_period: dict[int, list[Load]] = {}
    for r in requests:
        if r.id not in too_heavy:
            by_period.setdefault(r.period, []).append(r)

    unpaid: list[int] = []  # periods where no route can pay (no VRP solved)
    unsearched: list[int] = []  # periods reached with no time left (no VRP solved)
    total = sum(map(len, by_period.values()))
    done = 0
    clock = _Clock(params, start, seconds, SETTLE_S_PER_REQUEST * len(requests))
    tally = _Tally(sum(r.carrier_cents for r in requests), start, progress)
    searches = _Searches(params, stop, searched, clock, tally)
    try:
        for period in sorted(by_period):
            loads = by_period[period]
            day = _Day(instance, period, loads, types, dims)
            unrouted += day.out_of_reach()
            before, done = done, done + len(loads)
            if not day.reachable:
                continue
            searches.wait_for_lane()
            if no_time := clock.no_time(len(day.reachable), stop):
                unrouted += day.not_searched(no_time)
                unsearched.append(period)
            elif day.cannot_pay():
                unrouted += day.all_to_carrier()
                unpaid.append(period)
            else:
                searches.start(day, clock.share(len(loads), before, total))
        searches.wait_for_all()
    finally:
        searches.close()
    routes, searched_unrouted = tally.routes_and_unrouted()
    unrouted += searched_unrouted

    carried = {u.request for u in unrouted}
    beyond = settle(instance, requests, carried, choice)
    notes = tally.notes(unpaid, unsearched) + beyond.notes
    carrier = sum(r.carrier_cents for r in requests if r.id in carried)
    fleet_cents = sum(r.cost_cents for r in routes)
    routing = Routing(
        requests=[_request(r) for r in requests],
        routes=routes,
        unrouted=sorted(unrouted, key=lambda u: u.request),
        line_haul=beyond.line_haul,
        hub_use=beyond.hub_use,
        fleet_cents=fleet_cents,
        carrier_cents=carrier,
        line_haul_cents=beyond.line_haul_cents,
        handling_cents=beyond.handling_cents,
        estimate_cents=tally.estimate,
        vehicles_used=len(routes),
        distance_km=round(sum(r.distance_km for r in routes), 3),
        service_minutes=fleet.service_minutes,
        notes=notes,
    )
    solver = "/".join(sorted(tally.solvers)) or params.routing_solver
    stats = StageStats(
        stage="routing",
        solver=solver,
        status=SolveStatus.FEASIBLE if tally.feasible else SolveStatus.UNKNOWN,
        objective=float(routing.transport_cents),
        wall_time_s=round(time.perf_counter() - start, 3),
        seed=params.seed,
        workers=searches.lanes,
        notes=["a heuristic: no bound is computed"],
        extra={
            "periods": len(by_period),
            "requests": len(requests),
            "routed": len(requests) - len(carried),
            "estimate_cents": routing.estimate_cents,
        },
    )
    return routing, stats


class _Searches:
    """The periods' searches: one after another with one worker, so that the routes
    depend on the seed alone; with more, up to ``params.workers`` periods at once, each
    in a thread of its own (PyVRP releases the GIL while it searches: eight periods of
    a 50-order instance, 300 iterations each, took 0.46 s one after another and 0.24 s
    two at a time). Each period is its own problem with its own limit, and its answer
    is :meth:`_Tally.add`-ed in the calling thread, where the stage's bookkeeping
    lives. With ``searched``, a period searched before in the same plan with the same
    loads is taken again when a new search cannot do better
    (:mod:`solvers.routing.searched`)."""

    def __init__(
        self,
        params: SolveParams,
        stop: StopSignal | None,
        searched: SearchedDays | None,
        clock: _Clock,
        tally: _Tally,
    ) -> None:
        self.params, self.stop, self.searched = params, stop, searched
        self.clock, self.tally = clock, tally
        self.lanes = params.workers
        self._pool = ThreadPoolExecutor(self.lanes) if self.lanes > 1 else None
        self._running: dict[Future[RoutingResult], tuple[_Day, Hashable, RoutingLimits]] = {}

    def start(self, day: _Day, seconds: float) -> None:
        """Search ``day`` (reachable loads only) within ``seconds``: at once with one
        worker or when an earlier search is taken again, else in a free lane."""
        limits = day.limits(self.params, seconds, self.stop)
        key = None
        if self.searched is not None:
            key = day.key(self.params)
            found = self.searched.get(key, limits)
            if found is not None:
                self._finish(day, found, again=True)
                return
        if self._pool is None:
            self._done(day, key, limits, day.solve(self.params, limits))
            return
        future = self._pool.submit(day.solve, self.params, limits)
        self._running[future] = (day, key, limits)

    def wait_for_lane(self) -> None:
        """Return once a lane is free (at once with one worker)."""
        while len(self._running) >= self.lanes:
            self._collect()

    def wait_for_all(self) -> None:
        while self._running:
            self._collect()

    def close(self) -> None:
        """Wait for any search still running (each stops on its own limit) and free the
        threads; after an error, the searches' answers are not used."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _collect(self) -> None:
        finished, _ = wait(self._running, return_when=FIRST_COMPLETED)
        for future in sorted(finished, key=lambda f: self._running[f][0].period):
            day, key, limits = self._running.pop(future)
            self._done(day, key, limits, future.result())

    def _done(self, day: _Day, key: Hashable, limits: RoutingLimits, result: RoutingResult) -> None:
        if self.searched is not None:
            self.searched.put(key, limits, result)
        self._finish(day, result, again=False)

    def _finish(self, day: _Day, result: RoutingResult, again: bool) -> None:
        self.clock.searched(len(day.reachable), result)
        self.tally.add(day, result, again)


@dataclass
class _Searched:
    """A period's search and the routes it gave."""

    result: RoutingResult
    again: bool  # the search of an earlier round taken again
    routes: list[VehicleRoute]
    unrouted: list[Unrouted]


@dataclass
class _Tally:
    """The searched periods' answers, in whatever order their searches end, and the
    stage's figures over them in period order (so that the routes and notes do not
    depend on which search ended first)."""

    estimate: int  # every request by carrier
    start: float
    progress: ProgressCallback | None
    saved: float = 0.0  # what the loads routed so far save (their worth) less their routes
    periods: dict[int, _Searched] = field(default_factory=dict)

    def add(self, day: _Day, result: RoutingResult, again: bool) -> None:
        routes, unrouted = day.assemble(result)
        self.periods[day.period] = _Searched(result, again, routes, unrouted)
        self.saved += day.worth_of(routes) - sum(r.cost_cents for r in routes)
        if self.progress is not None:  # transport cost so far, the other periods by carrier
            elapsed = time.perf_counter() - self.start
            cost = self.estimate - round(self.saved)
            self.progress(Progress("routing", result.solver, elapsed, cost, None))

    def _in_order(self) -> list[tuple[int, _Searched]]:
        return sorted(self.periods.items())

    def routes_and_unrouted(self) -> tuple[list[VehicleRoute], list[Unrouted]]:
        routes = [r for _, s in self._in_order() for r in s.routes]
        return routes, [u for _, s in self._in_order() for u in s.unrouted]

    @property
    def solvers(self) -> set[str]:
        return {s.result.solver for s in self.periods.values()}

    @property
    def feasible(self) -> bool:
        return all(s.result.feasible for s in self.periods.values())

    def notes(self, unpaid: list[int], unsearched: list[int]) -> list[str]:
        """The stage's notes: the back-ends' (with their periods), the periods where no
        VRP was solved and why, the routes dropped, the searches taken again."""
        notes_at: dict[str, list[int]] = {}
        for period, s in self._in_order():
            for note in s.result.notes:
                notes_at.setdefault(note, []).append(period)
        notes = [f"{n} (periods {', '.join(map(str, ps))})" for n, ps in notes_at.items()]
        if unpaid:
            notes.append(
                f"no VRP solved in period(s) {', '.join(map(str, unpaid))}: no vehicle route "
                "there can cost less than the carrier's charges for the loads it could take"
            )
        if unsearched:
            notes.append(
                f"no VRP solved in period(s) {', '.join(map(str, unsearched))}: not enough "
                "of the stage's time was left to search them (their reachable loads are "
                "NOT_SEARCHED, by carrier)"
            )
        broken = sum(s.result.dropped_broken for s in self.periods.values())
        dear = sum(s.result.dropped_dear for s in self.periods.values())
        if broken:
            notes.append(f"{broken} route(s) breaking a rule dropped, their loads to the carrier")
        if dear:
            notes.append(f"{dear} route(s) costing more than the carrier dropped")
        reused = [period for period, s in self._in_order() if s.again]
        if reused:
            notes.append(
                f"period(s) {', '.join(map(str, reused))}: the search of an earlier round "
                "taken again (the same loads; a new search could not do better)"
            )
        return notes


@dataclass
class _Clock:
    """With wall-clock limits (more than one worker), what is left of the stage's share
    for searching periods, and whether a period's search still fits in it.

    The stage keeps back ``reserve`` seconds for its work after the periods (the
    line-haul, the records of every request; :data:`SETTLE_S_PER_REQUEST`). Before its
    search proper, a period's search builds its problem and PyVRP's neighbourhood and
    runs a first local search, which no limit interrupts, against the few hundredths of
    a second a share of 7 s gives each of 28 periods at 50 000 orders. That set-up grows
    faster than the loads (PyVRP's neighbourhood weighs every pair): at 50 000 orders,
    with two periods at once, 420 reachable loads took 0.23 s, 865 0.70 s, 1 376 1.0 s,
    1 619 2.1 s and 1 930 3.4 s. The largest period set up so far predicts the next
    one's: in proportion to its loads when it is smaller, to their square when larger
    (:meth:`setup_need`). A period that would not fit is not searched (its loads
    NOT_SEARCHED), and a smaller one after it may still be. With one worker the shares
    are nominal and none of this applies."""

    params: SolveParams
    start: float
    seconds: float
    reserve: float
    setup_s: float = 0.0  # the set-up of the largest period searched so far
    setup_loads: int = 0  # and its reachable loads

    def left(self) -> float:
        reserve = self.reserve if self.params.workers > 1 else 0.0
        return self.seconds - reserve - (time.perf_counter() - self.start)

    def share(self, loads: int, done: int, total: int) -> float:
        """The seconds for a period of ``loads`` of the stage's ``total``, ``done`` of
        them in periods started before it. With one worker, its nominal share of the
        stage's seconds. With wall-clock limits, its share of what is left over the
        loads still to come, times the lanes searching at once (:class:`_Searches`),
        but never more than what is left."""
        if self.params.workers == 1:
            return max(MIN_PERIOD_S, self.seconds * loads / max(1, total))
        left = self.left()
        lanes = self.params.workers
        return max(MIN_PERIOD_S, min(left, lanes * left * loads / max(1, total - done)))

    def no_time(self, reachable: int, stop: StopSignal | None) -> str:
        """Why a period of ``reachable`` loads is not searched ('' when it is): the
        solve was stopped, the share is spent, or the period's search would not fit."""
        left = self.left()
        if why := _no_time(self.params, left, stop):
            return why
        if self.params.workers == 1 or not self.setup_loads:
            return ""
        need = self.setup_need(reachable)
        if need <= left:
            return ""
        return (
            f"setting up its search would take about {need:.2f}s (as the periods searched "
            f"before did per load), more than the {max(0.0, left):.2f}s left of the routing "
            "stage's share"
        )

    def searched(self, reachable: int, result: RoutingResult) -> None:
        if result.setup_s is not None and reachable >= self.setup_loads:
            self.setup_s, self.setup_loads = result.setup_s, reachable

    def setup_need(self, reachable: int) -> float:
        """The seconds setting up the search of a period of ``reachable`` loads is
        expected to take, from the largest period set up so far (class docstring)."""
        ratio = reachable / self.setup_loads
        return self.setup_s * max(ratio, ratio * ratio)


def _no_time(params: SolveParams, left: float, stop: StopSignal | None) -> str:
    """Why a period cannot be searched any more ('' while it can): the solve was
    stopped (its limit, a deadline, a cancel), or with wall-clock limits (more than one
    worker) the stage's share is spent. Building a period's search (PyVRP's
    neighbourhood, about a second for a thousand loads) costs more than the
    :data:`MIN_PERIOD_S` a late period would still get, so such periods are skipped;
    with one worker the shares are nominal and every period is searched."""
    if stop is not None and stop.is_set():
        return f"the solve was stopped before this period was searched ({stop.reason})"
    if params.workers > 1 and left <= 0:
        return "the routing stage's share of the time limit ran out before this period"
    return ""


def _carriable(
    instance: Instance,
    legs: list[Load],
    types: list[_Type],
    dims: tuple[str, ...],
    split: Callable[[Load], list[Load] | None],
) -> set[str]:
    """The ids of the ``legs`` (unsplit) the fleet could carry at all: split as any load,
    every part fits some vehicle and is within a day route's reach in its period (the
    hub's hours included). The others are not worth offering through a hub: they would
    go by carrier anyway, and take the hub's capacity and the lanes' estimates."""
    parts: dict[int, list[Load]] = {}
    leg_of: dict[str, str] = {}  # part id -> leg id
    out: set[str] = set()
    for leg in legs:
        pieces = split(leg)
        if pieces is not None:
            out.add(leg.id)
            parts.setdefault(leg.period, []).extend(pieces)
            leg_of.update((part.id, leg.id) for part in pieces)
    for period, loads in parts.items():
        day = _Day(instance, period, loads, types, dims)
        out -= {leg_of[r.id] for r in day.unreachable}
    return out


def _splitter(vehicles: Sequence[Vehicle]) -> Callable[[Load], list[Load] | None]:
    """:func:`split_load` over ``vehicles``, each load weighed against one vehicle: the
    one that carries the most units of a load of its kind (its load per unit), found
    once per kind. The split reads the fleet only through that most (whether a load
    weighs nothing is the same for every vehicle), so the parts are the same; at 50 000
    orders, weighing 93 000 loads against 26 vehicles took over a second a pass, twice."""
    carrier: dict[tuple[tuple[str, float], ...], list[Vehicle]] = {}
    # Vehicles of one capacity carry as many units of any load: one of each is weighed
    # (the first, as before). Loads' kinds are nearly all different (their orders' kg
    # per unit), so the weighing, not the cache, is what costs: 152 vehicles, 31
    # capacities at 50 000 orders.
    capacities: dict[tuple[tuple[str, float], ...], Vehicle] = {}
    for v in vehicles:
        capacities.setdefault(tuple(sorted(v.capacity.items())), v)
    distinct = list(capacities.values())

    def split(load: Load) -> list[Load] | None:
        kind = tuple(load.per_unit.items())
        if kind not in carrier:
            fits = [most_units(v, load.per_unit) or 0 for v in distinct]
            carrier[kind] = [distinct[fits.index(max(fits))]] if distinct else []
        return split_load(load, carrier[kind])

    return split


def _vehicle_types(vehicles: Sequence[Vehicle]) -> list[_Type]:
    groups: dict[tuple[object, ...], _Type] = {}
    for v in vehicles:
        key = (
            v.depot,
            tuple(sorted(v.capacity.items())),
            v.fixed_cost_cents,
            v.cost_per_km_cents,
            v.cost_per_hour_cents,
            v.speed_kmh,
            v.shift_start_minute,
            v.shift_end_minute,
            v.max_duration_minutes,
        )
        groups.setdefault(key, _Type()).vehicles.append(v)
    return list(groups.values())


def _request(r: Load) -> TransportRequest:
    return TransportRequest(
        id=r.id,
        kind=r.kind,
        period=r.period,
        origin=r.origin.id,
        destination=r.destination.id,
        order=r.order,
        material=r.material,
        quantity=float(r.units),
        load=r.load,
        carrier_cents=r.carrier_cents,
        hub=r.hub,
    )


def _metres(lat: np.ndarray, lon: np.ndarray, road_factor: float) -> np.ndarray:
    """Whole metres between every pair of points: haversine x road factor, rounded."""
    phi, lmb = np.radians(lat), np.radians(lon)
    cos = np.cos(phi)
    return _haversine_metres(
        (phi[:, None], lmb[:, None], cos[:, None]),
        (phi[None, :], lmb[None, :], cos[None, :]),
        road_factor,
    )


_Points = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Latitudes and longitudes in radians and the latitudes' cosines."""


def _points(locations: Sequence[Location]) -> _Points:
    phi = np.radians(np.array([x.lat for x in locations], dtype=np.float64))
    lmb = np.radians(np.array([x.lon for x in locations], dtype=np.float64))
    return phi, lmb, np.cos(phi)


def _haversine_metres(frm: _Points, to: _Points, road_factor: float) -> np.ndarray:
    """Whole metres from ``frm`` to ``to``, element by element (broadcasting): the one
    formula of :func:`_metres`' matrices and of the pairs :meth:`_Day._reach` needs,
    so that both give the same metres."""
    (phi1, lmb1, cos1), (phi2, lmb2, cos2) = frm, to
    h = np.sin((phi1 - phi2) / 2) ** 2 + cos1 * cos2 * np.sin((lmb1 - lmb2) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return np.rint(km * road_factor * 1000).astype(np.int64)


def _seconds(metres: np.ndarray, speed_kmh: float) -> np.ndarray:
    """Whole seconds to drive ``metres`` at ``speed_kmh`` (the profiles' durations)."""
    return np.rint(metres * 3.6 / speed_kmh).astype(np.int64)


class _Day:
    """One period's routing problem and the translation of its answer.

    Which loads are within reach is decided on the three legs of each load's loop
    alone (:meth:`_reach`). The matrices (:attr:`profiles`) are built only when the
    period is priced or searched, and over the depots and the reachable loads' places
    only, as nothing later reads another place. At 50 000 orders, with the time out
    before routing, building the days took about 10 s for matrices nobody read (now
    under a second), and the hub choice (:func:`_carriable`) built them only to learn
    the reach."""

    def __init__(
        self,
        instance: Instance,
        period: int,
        loads: list[Load],
        types: list[_Type],
        dims: tuple[str, ...],
    ) -> None:
        self.instance, self.period, self.types, self.dims = instance, period, types, dims
        fleet = instance.fleet
        self.day_start = period * instance.horizon.period_minutes * 60
        self.day_end = self.day_start + instance.horizon.period_minutes * 60
        self.service = fleet.service_minutes * 60
        self.speeds = sorted({t.first.speed_kmh for t in types})
        self.profile_of = {s: k for k, s in enumerate(self.speeds)}
        self.depot_index = {d.id: k for k, d in enumerate(fleet.depots)}
        self.hubs = {h.id: h for h in fleet.hubs}
        self.loads = loads
        reach = self._reach(loads)
        self.reachable = [r for r, ok in zip(loads, reach, strict=True) if ok]
        self.unreachable = [r for r, ok in zip(loads, reach, strict=True) if not ok]
        self._problem: RoutingProblem | None = None

    @cached_property
    def places(self) -> list[Place]:
        """The depots and the reachable loads' places, in the order of every load's
        places (so that their numbers keep the order they had over all of them)."""
        depots = [Place("depot", d.id, d.location) for d in self.instance.fleet.depots]
        used = {*depots, *(p for r in self.reachable for p in (r.origin, r.destination))}
        ends = (p for r in self.loads for p in (r.origin, r.destination))
        return [p for p in dict.fromkeys([*depots, *ends]) if p in used]

    @cached_property
    def index(self) -> dict[tuple[str, str], int]:
        return {(p.role, p.id): i for i, p in enumerate(self.places)}

    @cached_property
    def profiles(self) -> list[Profile]:
        """Distances and durations between :attr:`places`, one profile per speed."""
        lat = np.array([p.location.lat for p in self.places])
        lon = np.array([p.location.lon for p in self.places])
        metres = _metres(lat, lon, self.instance.transport.road_factor)
        return [Profile(metres, _seconds(metres, s)) for s in self.speeds]

    def _place(self, p: Place) -> int:
        return self.index[(p.role, p.id)]

    def _shift(self, v: Vehicle) -> tuple[int, int]:
        return (
            self.day_start + 60 * v.shift_start_minute,
            self.day_start + 60 * v.shift_end_minute,
        )

    def _window(self, p: Place) -> tuple[int, int]:
        """When service may start at ``p``: within the period, or at a hub within its
        hours in the period (docs/logistics.md)."""
        if p.role == "hub":
            hub = self.hubs[p.id]
            return self.day_start + 60 * hub.open_minute, self.day_start + 60 * hub.close_minute
        return self.day_start, self.day_end

    def _reach(self, loads: Sequence[Load]) -> np.ndarray:
        """Per load, whether some vehicle that can carry it can go depot -> pickup ->
        delivery -> depot alone within its shift (and maximum duration) in this period,
        each stop's service starting within its window (waiting allowed).

        Over the loads at once, per vehicle type, with only the three legs' metres and
        seconds, the matrices' own (:func:`_haversine_metres`, :func:`_seconds`)."""
        n = len(loads)
        reach = np.zeros(n, dtype=bool)
        if not n:
            return reach
        road_factor = self.instance.transport.road_factor
        pickups = _points([r.origin.location for r in loads])
        drops = _points([r.destination.location for r in loads])
        across_m = _haversine_metres(pickups, drops, road_factor)
        windows = np.array(
            [(*self._window(r.origin), *self._window(r.destination)) for r in loads],
            dtype=np.int64,
        )
        open_a, close_a, open_b, close_b = windows.T
        keys = list(dict.fromkeys(d for r in loads for d in r.per_unit))
        per_unit = np.array(
            [[r.per_unit.get(d, 0.0) for d in keys] for r in loads], dtype=np.float64
        ).reshape(n, len(keys))
        units = np.array([r.units for r in loads], dtype=np.int64)
        depots = {d.id: d.location for d in self.instance.fleet.depots}
        legs: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # depot -> (to pickup, home) metres
        fit: dict[tuple[float, ...], np.ndarray] = {}
        s = self.service
        for t in self.types:
            v = t.first
            capacity = tuple(v.capacity.get(d, 0.0) for d in keys)
            if capacity not in fit:  # most_units(v, r.per_unit) is None or >= r.units
                with np.errstate(divide="ignore", invalid="ignore"):
                    most = np.floor(np.array(capacity) / per_unit + 1e-9)
                fit[capacity] = np.all(~(per_unit > 0) | (most >= units[:, None]), axis=1)
            if v.depot not in legs:
                depot = _points([depots[v.depot]])
                legs[v.depot] = (
                    _haversine_metres(depot, pickups, road_factor),
                    _haversine_metres(drops, depot, road_factor),
                )
            to_a, home = (_seconds(m, v.speed_kmh) for m in legs[v.depot])
            across = _seconds(across_m, v.speed_kmh)
            shift_start, shift_end = self._shift(v)
            t_pick = np.maximum(shift_start + to_a, open_a)
            t_drop = np.maximum(t_pick + s + across, open_b)
            back = t_drop + s + home
            ok = fit[capacity] & (t_pick <= close_a) & (t_drop <= close_b) & (back <= shift_end)
            if v.max_duration_minutes is not None:
                # Leaving as late as the windows and the shift allow: the least duration.
                trip = to_a + s + across + s + home
                leave = np.minimum(
                    np.minimum(close_a - to_a, close_b - s - across - to_a), shift_end - trip
                )
                t_pick = np.maximum(leave + to_a, open_a)
                t_drop = np.maximum(t_pick + s + across, open_b)
                ok &= t_drop + s + home - leave <= 60 * v.max_duration_minutes
            reach |= ok
        return reach

    def cannot_pay(self) -> bool:
        """No route of any vehicle type can cost less than the carrier's charges for
        the loads it would take, so no VRP needs solving (its routes would all be
        dropped as dearer than the carrier, docs/routing.md "When no VRP is solved").

        Lower bounds on the length ``L`` of a route carrying the loads ``S``: it goes
        depot -> pickup -> delivery -> depot for each of them (triangle inequality),
        so ``L >= loop(r)`` for the farthest; and ``L >= sum(m(r))`` over ``S`` for
        each of these measures ``m``: the load's distance times its share of the
        capacity in one dimension (never more than the capacity on board); and, for
        loads over half the capacity in a dimension, the load's distance plus the
        drive from its delivery to the nearest pickup of another such load or to the
        depot (two such loads are never on board together, so the route carries
        them one after the other and those stretches do not overlap: a truck's
        repeated trips on one lane, the parts of a load split to fit it). The route
        also stops twice per load (service time). With ``L >= max(loop, sum(m))``
        and the time it implies priced at the vehicle's rates, a route pays only if
        its loads' carrier charges cover the fixed cost plus the bound; over every
        farthest load and every set of loads within it, :func:`_no_route_pays`
        bounds the best set from above.
        """
        if not self.reachable:
            return True
        slack = 2.0 * len(self.reachable) + 3  # metres: rounding, half a metre per leg
        for t in self.types:
            v = t.first
            metres = self.profiles[self.profile_of[v.speed_kmh]].distance
            depot = self.depot_index[v.depot]
            per_s = v.cost_per_hour_cents / 3600
            per_m = v.cost_per_km_cents / 1000 + per_s * 3.6 / v.speed_kmh  # time driving
            fitting = [
                r
                for r in self.reachable
                if (fits := most_units(v, r.per_unit)) is None or fits >= r.units
            ]
            items = []  # (loop metres, worth, service cost, metres by the other bounds)
            for r, serial in zip(fitting, self._serial_metres(fitting, v, depot), strict=True):
                a, b = self._place(r.origin), self._place(r.destination)
                loop = float(metres[depot, a] + metres[a, b] + metres[b, depot])
                carried = {
                    d: x * float(metres[a, b]) / v.capacity[d]
                    for d, x in r.load.items()
                    if x > 0 and v.capacity.get(d, 0.0) > 0
                }
                items.append((loop, r.worth, per_s * 2 * self.service, carried | serial))
            items.sort(key=lambda item: item[0])
            fixed = v.fixed_cost_cents - (per_m + per_s) * slack - 1  # - 1: cent rounding
            loops = np.array([item[0] for item in items])
            worth = np.array([item[1] - item[2] for item in items])  # worth less service
            measures = ["", *self.dims, *(f"serial:{d}" for d in self.dims)]
            if not any(
                _no_route_pays(
                    loops, worth, np.array([item[3].get(m, 0.0) for item in items]), fixed, per_m
                )
                for m in measures
            ):
                return False
        return True

    def _serial_metres(self, loads: list[Load], v: Vehicle, depot: int) -> list[dict[str, float]]:
        """Per load, ``{"serial:d": dist(r) + onward(r)}`` for each dimension ``d`` in
        which it takes over half of ``v``'s capacity (:meth:`cannot_pay`'s third bound):
        ``onward`` is the distance from its delivery to the nearest pickup of another
        such load, or to the depot if that is nearer."""
        metres = self.profiles[self.profile_of[v.speed_kmh]].distance
        out: list[dict[str, float]] = [{} for _ in loads]
        for d in self.dims:
            cap = v.capacity.get(d, 0.0)
            big = [k for k, r in enumerate(loads) if cap > 0 and r.load.get(d, 0.0) > cap / 2]
            pickups = [self._place(loads[k].origin) for k in big]
            for i, k in enumerate(big):
                a, b = self._place(loads[k].origin), self._place(loads[k].destination)
                onward = float(metres[b, depot])
                for j, q in enumerate(pickups):
                    if j != i:
                        onward = min(onward, float(metres[b, q]))
                out[k][f"serial:{d}"] = float(metres[a, b]) + onward
        return out

    def out_of_reach(self) -> list[Unrouted]:
        return [
            Unrouted(
                request=r.id,
                reason=UnroutedReason.OUT_OF_REACH,
                detail=f"no vehicle able to carry it can go from its depot to "
                f"{r.origin.id}, on to {r.destination.id} and back within its shift "
                f"in period {r.period}"
                + ("" if r.hub is None else f", the stop at hub {r.hub} within its hours"),
            )
            for r in self.unreachable
        ]

    def problem(self) -> RoutingProblem:
        """The period's routing problem over its reachable loads (made once: the search
        and its key in :mod:`solvers.routing.searched` both read it)."""
        if self._problem is None:
            self._problem = self._build_problem()
        return self._problem

    def _build_problem(self) -> RoutingProblem:
        vehicle_types = []
        for t in self.types:
            v = t.first
            shift_start, shift_end = self._shift(v)
            depot = self.depot_index[v.depot]
            vehicle_types.append(
                VehicleType(
                    capacity=tuple(
                        math.floor(v.capacity.get(d, 0.0) * AMOUNT_SCALE + 1e-6) for d in self.dims
                    ),
                    start_depot=depot,
                    end_depot=depot,
                    count=len(t.vehicles),
                    fixed_cost=v.fixed_cost_cents * SCALE,
                    unit_distance_cost=_per_unit_cost(v.cost_per_km_cents, 1000),
                    unit_duration_cost=_per_unit_cost(v.cost_per_hour_cents, 3600),
                    shift_start=shift_start,
                    shift_end=shift_end,
                    max_duration=None
                    if v.max_duration_minutes is None
                    else 60 * v.max_duration_minutes,
                    profile=self.profile_of[v.speed_kmh],
                    name=v.id,
                )
            )
        requests = [
            Request(
                amount=tuple(
                    math.ceil(r.per_unit.get(d, 0.0) * r.units * AMOUNT_SCALE - 1e-6)
                    for d in self.dims
                ),
                pickup=self._stop(r.origin),
                delivery=self._stop(r.destination),
                required=False,
                penalty=round(r.worth * SCALE),
                name=r.id,
            )
            for r in self.reachable
        ]
        return RoutingProblem(
            places=len(self.places),
            profiles=self.profiles,
            depots=[Depot(k) for k in range(len(self.instance.fleet.depots))],
            vehicle_types=vehicle_types,
            requests=requests,
            dimensions=self.dims,
            name=f"period {self.period}",
        )

    def _stop(self, p: Place) -> Stop:
        return Stop(self._place(p), *self._window(p), self.service)

    def limits(self, params: SolveParams, seconds: float, stop: StopSignal | None) -> RoutingLimits:
        """The period's search limits for a share of ``seconds``."""
        patience = max(MIN_PATIENCE, PATIENCE_PER_REQUEST * len(self.reachable))
        if params.workers > 1:
            return RoutingLimits(seconds, seed=params.seed, stop=stop, patience=patience)
        return RoutingLimits(
            DETERMINISTIC_WALL_FACTOR * seconds,
            seed=params.seed,
            stop=stop,
            max_iterations=max(1, round(ITERATIONS_PER_SECOND * seconds)),
            patience=patience,
        )

    def key(self, params: SolveParams) -> tuple[object, ...]:
        """Everything the period's search reads (:mod:`solvers.routing.searched`): the
        places its matrices are built from, the problem, the loads' worth that
        :meth:`assemble` compares routes with, the back-end and the seed."""
        worth = tuple(r.worth for r in self.reachable)
        return (params.routing_solver, params.seed, tuple(self.places), self.problem().key(), worth)

    def solve(self, params: SolveParams, limits: RoutingLimits) -> RoutingResult:
        return solve_routing(self.problem(), params.routing_solver, limits)

    def assemble(self, result: RoutingResult) -> tuple[list[VehicleRoute], list[Unrouted]]:
        """Domain routes (vehicle ids in type order) and the requests left to the carrier."""
        next_vehicle = [0] * len(self.types)
        routes = []
        unserved = list(result.unserved)
        for route in result.routes:
            t = self.types[route.vehicle_type]
            v = t.vehicles[next_vehicle[route.vehicle_type]]
            served = sorted({visit.request for visit in route.visits})
            worth = sum(self.reachable[k].worth for k in served)
            if route_cents(v, route.distance, route.duration) > worth:
                unserved += served  # dearer than the carrier (or a hub's saving), exactly
                continue
            next_vehicle[route.vehicle_type] += 1
            routes.append(self._route(v, route))
        unrouted = [
            Unrouted(
                request=self.reachable[k].id,
                reason=UnroutedReason.CARRIER_CHEAPER,
                detail=_dearer(self.reachable[k]),
            )
            for k in sorted(unserved)
        ]
        return routes, unrouted

    def not_searched(self, why: str) -> list[Unrouted]:
        """Every reachable load by carrier, when no time is left to search the period."""
        return [
            Unrouted(request=r.id, reason=UnroutedReason.NOT_SEARCHED, detail=why)
            for r in self.reachable
        ]

    def all_to_carrier(self) -> list[Unrouted]:
        """Every reachable load by carrier, when :meth:`cannot_pay`."""
        return [
            Unrouted(
                request=r.id,
                reason=UnroutedReason.CARRIER_CHEAPER,
                detail="no vehicle route in this period can cost less than the carrier's "
                "charges for the loads it could take",
            )
            for r in self.reachable
        ]

    def worth_of(self, routes: Sequence[VehicleRoute]) -> float:
        """What the loads on ``routes`` save: the carrier's charges, less the estimated
        cost beyond the hub for legs."""
        worth = {r.id: r.worth for r in self.reachable}
        return sum(worth[s.request] for r in routes for s in r.stops if s.action == "pickup")

    def _route(self, v: Vehicle, route: Route) -> VehicleRoute:
        dur = self.profiles[self.profile_of[v.speed_kmh]].duration
        depot = self.depot_index[v.depot]
        load = dict.fromkeys(self.dims, 0.0)
        stops = []
        here, clock = depot, route.start
        for visit in route.visits:
            r = self.reachable[visit.request]
            pickup = visit.action is Action.PICKUP
            place = self._place(r.origin if pickup else r.destination)
            arrival = clock + int(dur[here, place])
            for d, x in r.load.items():
                load[d] += x if pickup else -x
            stops.append(
                RouteStop(
                    request=r.id,
                    action=visit.action.value,
                    place=(r.origin if pickup else r.destination).id,
                    arrival_minute=_minutes(arrival),
                    start_minute=_minutes(visit.start),
                    departure_minute=_minutes(visit.start + self.service),
                    load_after={d: max(0.0, round(x, 9)) for d, x in load.items()},
                )
            )
            here, clock = place, visit.start + self.service
        return VehicleRoute(
            vehicle=v.id,
            depot=v.depot,
            period=self.period,
            start_minute=_minutes(route.start),
            end_minute=_minutes(route.end),
            stops=stops,
            distance_km=route.distance / 1000,
            duration_minutes=route.duration / 60,
            cost_cents=route_cents(v, route.distance, route.duration),
        )


def _dearer(r: Load) -> str:
    """Why a reachable load the search left is with the carrier."""
    if r.hub is None:
        return f"the routes found cost more with it than the carrier's {r.carrier_cents / 100:.2f}"
    return (
        f"the routes found cost more with it than the {r.worth / 100:.2f} going through hub "
        f"{r.hub} saves on the carrier's {r.carrier_cents / 100:.2f}; door to door by carrier"
    )


def _no_route_pays(
    loops: np.ndarray, worth: np.ndarray, measure: np.ndarray, fixed: float, per_m: float
) -> bool:
    """:meth:`_Day.cannot_pay` for one measure ``m``: ``loops``, ``worth`` (carrier
    cents less the service stops' cost) and ``measure`` per load, sorted by loop.

    With the farthest load's loop ``l``, a set ``S`` of loads within it pays only if
    ``sum(worth) - fixed - per_m * max(l, sum(m)) >= 0``. Where ``sum(m) <= l`` the
    best set is at most a fractional knapsack of capacity ``l`` (loads by worth per
    metre); where ``sum(m) > l``, at most the sum of ``max(0, worth - per_m * m)``.
    Both are upper bounds, so ``True`` is a proof and ``False`` only "may pay"."""
    gain = np.cumsum(np.maximum(0.0, worth - per_m * measure))
    reach = np.cumsum(measure)
    long = (reach > loops) & (gain - fixed >= 0)
    if long.any():
        return False
    useful = worth > 0
    free = np.cumsum(np.maximum(0.0, worth)) - fixed - per_m * loops
    order = np.argsort(-np.where(measure > 0, worth / np.maximum(measure, 1e-9), np.inf))
    for i in np.flatnonzero(free >= 0):  # elsewhere not even every load for free pays
        limit = loops[i]
        take = order[(order <= i) & useful[order]]  # the loads within it, by worth per metre
        used = np.cumsum(measure[take])
        whole = int(np.searchsorted(used, limit, side="right"))
        best = worth[take[:whole]].sum()
        if whole < len(take):  # the first load that does not fit, in part
            room = limit - (used[whole - 1] if whole else 0.0)
            best += worth[take[whole]] * room / measure[take[whole]]
        if best - fixed - per_m * limit >= 0:
            return False
    return True


def _per_unit_cost(cents: int, units: int) -> int:
    """Internal cost per metre (``units`` = 1000) or second (3600), never 0 unless free."""
    return max(1 if cents else 0, round(cents * SCALE / units))


def route_cents(v: Vehicle, metres: int, seconds: int) -> int:
    """fixed + per km + per hour, exactly, rounded half up to a cent."""
    exact = 36_000 * v.fixed_cost_cents + 36 * v.cost_per_km_cents * metres
    exact += 10 * v.cost_per_hour_cents * seconds
    return (exact + 18_000) // 36_000


def _minutes(seconds: int) -> int:
    return (seconds + 30) // 60
