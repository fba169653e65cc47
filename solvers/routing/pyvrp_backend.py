"""PyVRP back-end: the iterated local search of PyVRP (MIT), with its default parameters.

Every feature of :class:`RoutingProblem` maps onto PyVRP 0.14 one to one: depot
deliveries and pickups are clients, stop-to-stop requests are shipments, optional
requests carry their penalty as a prize (PyVRP minimises cost plus uncollected
prizes, the same objective), vehicle types keep their depots, shift window, maximum
duration (``shift_duration``), costs and profile. The data is passed as numpy
matrices (``ProblemData``), not edge by edge through ``Model``, which matters at
a few hundred places.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import (
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    compute_neighbours,
)
from pyvrp.stop import MaxRuntime, StoppingCriterion

from solvers.routing.base import RoutingLimits, Sequences
from solvers.routing.problem import FOREVER, Action, RoutingProblem

INT64_MAX = int(np.iinfo(np.int64).max)

# PyVRP warns when a penalty reaches its bound; :func:`_solve` reports that itself, as a
# note, and must not catch warnings in the routing stage's threads (see there).
warnings.filterwarnings("ignore", category=PenaltyBoundWarning, module=r"pyvrp\.")


def _late(t: int) -> int:
    return INT64_MAX if t >= FOREVER else t


def to_problem_data(problem: RoutingProblem) -> tuple[pyvrp.ProblemData, list[tuple[int, bool]]]:
    """PyVRP's data for ``problem`` and, per PyVRP client or shipment, ``(request,
    is_shipment)``; clients come first in PyVRP's numbering."""
    locations = [pyvrp.Location(0, 0) for _ in range(problem.places)]
    depots = [pyvrp.Depot(d.place, tw_early=d.open, tw_late=_late(d.close)) for d in problem.depots]
    clients, shipments = [], []
    client_of: list[tuple[int, bool]] = []
    ship_of: list[tuple[int, bool]] = []
    for k, r in enumerate(problem.requests):
        prize = 0 if r.required else r.penalty
        if r.pickup is not None and r.delivery is not None:
            p, d = r.pickup, r.delivery
            shipments.append(
                pyvrp.Shipment(
                    p.place,
                    d.place,
                    pickup_tw_early=p.early,
                    pickup_tw_late=_late(p.late),
                    pickup_service_duration=p.service,
                    delivery_tw_early=d.early,
                    delivery_tw_late=_late(d.late),
                    delivery_service_duration=d.service,
                    amount=list(r.amount),
                    prize=prize,
                    required=r.required,
                )
            )
            ship_of.append((k, True))
            continue
        stop = r.delivery if r.pickup is None else r.pickup
        assert stop is not None  # a request has at least one stop (problem.problems())
        amount = list(r.amount)
        clients.append(
            pyvrp.Client(
                stop.place,
                delivery=amount if r.pickup is None else [0] * len(amount),
                pickup=amount if r.pickup is not None else [0] * len(amount),
                service_duration=stop.service,
                tw_early=stop.early,
                tw_late=_late(stop.late),
                prize=prize,
                required=r.required,
            )
        )
        client_of.append((k, False))
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=v.count,
            capacity=list(v.capacity),
            start_depot=v.start_depot,
            end_depot=v.end_depot,
            fixed_cost=v.fixed_cost,
            tw_early=v.shift_start,
            tw_late=_late(v.shift_end),
            shift_duration=INT64_MAX if v.max_duration is None else v.max_duration,
            unit_distance_cost=v.unit_distance_cost,
            unit_duration_cost=v.unit_duration_cost,
            profile=v.profile,
        )
        for v in problem.vehicle_types
    ]
    # Typed as Any: PyVRP's stubs spell the matrix type in a way numpy's do not match.
    distances: list[Any] = [np.ascontiguousarray(p.distance, np.int64) for p in problem.profiles]
    durations: list[Any] = [np.ascontiguousarray(p.duration, np.int64) for p in problem.profiles]
    data = pyvrp.ProblemData(
        locations, clients, depots, vehicle_types, distances, durations, shipments=shipments
    )
    return data, client_of + ship_of


class _Deadline:
    """PyVRP stopping criterion: our wall clock (from the call, not from PyVRP's first
    iteration), the stop signal, and improvement reports."""

    def __init__(self, limits: RoutingLimits) -> None:
        self.limits = limits
        self.best = math.inf
        self.first_feasible_s: float | None = None
        self.iterations = 0
        self.improved_at = 0  # the iteration of the last improvement
        self.converged = False  # stopped by its patience, not by a limit
        self.setup_s: float | None = None  # from the call to the first iteration

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        if self.setup_s is None:
            self.setup_s = self.limits.elapsed()
        cap = self.limits.max_iterations
        if cap is not None and self.iterations > cap:
            return True
        if best_cost < self.best and best_cost < INT64_MAX:  # PyVRP passes max when infeasible
            self.best = best_cost
            self.improved_at = self.iterations
            elapsed = self.limits.elapsed()
            if self.first_feasible_s is None:
                self.first_feasible_s = elapsed
            if self.limits.on_improvement is not None:
                self.limits.on_improvement(elapsed, int(best_cost))
        patience, found = self.limits.patience, self.first_feasible_s is not None
        if patience is not None and found and self.iterations - self.improved_at > patience:
            self.converged = True
            return True
        give_up = self.limits.give_up_s
        if give_up is not None and self.first_feasible_s is None:
            return self.limits.stopped() or self.limits.elapsed() > give_up
        return self.limits.stopped()


class PyVrpBackend:
    name = "pyvrp"

    def supports(self, problem: RoutingProblem) -> bool:
        return self.unsupported_reason(problem) is None

    def unsupported_reason(self, problem: RoutingProblem) -> str | None:
        return None

    def solve(self, problem: RoutingProblem, limits: RoutingLimits) -> Sequences:
        data, owners = to_problem_data(problem)
        deadline = _Deadline(limits)
        result, at_bound = _solve(data, deadline, limits.seed)
        raw = self.sequences(problem, result.best, owners, deadline.first_feasible_s, result)
        raw.converged, raw.setup_s = deadline.converged, deadline.setup_s
        if at_bound:
            raw.notes.append("PyVRP's penalties reached their bound (it struggled for feasibility)")
        return raw

    def sequences(
        self,
        problem: RoutingProblem,
        solution: pyvrp.Solution,
        owners: list[tuple[int, bool]],
        first_feasible_s: float | None,
        result: pyvrp.Result | None = None,
    ) -> Sequences:
        n_clients = sum(1 for _, shipment in owners if not shipment)
        routes = []
        served: set[int] = set()
        for route in solution.routes():
            visits: list[tuple[int, Action]] = []
            for act in route.schedule():
                if act.is_depot():
                    continue
                if act.is_shipment():
                    k = owners[n_clients + act.idx][0]
                    visits.append((k, Action.PICKUP if act.is_pickup() else Action.DELIVERY))
                else:
                    k = owners[act.idx][0]
                    r = problem.requests[k]
                    visits.append((k, Action.DELIVERY if r.pickup is None else Action.PICKUP))
                served.add(k)
            routes.append((route.vehicle_type(), visits))
        notes = []
        if not solution.is_feasible():
            notes.append("PyVRP found no feasible solution within the limit")
        return Sequences(
            solver=self.name,
            routes=routes,
            unserved=[k for k in range(len(problem.requests)) if k not in served],
            found=True,
            time_to_first_feasible_s=first_feasible_s if solution.is_feasible() else None,
            iterations=None if result is None else result.num_iterations,
            notes=notes,
        )


SMALL_REQUESTS = 80
"""Problems of at most this many requests (clients and shipments) get
:data:`SMALL_NEIGHBOURS` granular neighbours instead of PyVRP's 50."""
SMALL_NEIGHBOURS = 20


def neighbours(data: pyvrp.ProblemData) -> dict[pyvrp.Activity, list[pyvrp.Activity]]:
    """PyVRP's granular neighbourhood, computed on the first vehicle type alone, with
    :data:`SMALL_NEIGHBOURS` neighbours per visit on a small problem.

    ``compute_neighbours`` takes the closeness of two visits over every vehicle type,
    a cost that grows with the number of types times the square of the visits: on a
    period of 10 000 orders (1 212 shipments, 30 vehicle types) 3.4 s, against 0.8 s
    on one type with the same neighbours. It runs before the search and outside its
    time limit, so at that size it, not the search, decided the stage's time. With one
    vehicle type this is PyVRP's own call.

    On a small problem PyVRP's 50 neighbours are nearly every visit. With 20, the 535
    period problems of 28 small plans (3 to 75 requests; the routing stage's stopping
    rule, three seeds) cost 0.18 % less in all and took 33 % less time (up to 20
    requests: -0.08 %, -19 %; 21 to 75: -0.38 %, -47 %). On larger periods fewer
    neighbours cost more: the routing of a greedy plan of medium.json (about 185 loads
    a period) +0.45 % transport, of the 10 000-order instance +0.7 %, so those keep 50.
    """
    if data.num_vehicle_types > 1:
        data = data.replace(vehicle_types=[data.vehicle_type(0)])
    if data.num_clients + data.num_shipments <= SMALL_REQUESTS:
        return compute_neighbours(data, NeighbourhoodParams(num_neighbours=SMALL_NEIGHBOURS))
    return compute_neighbours(data)


def _solve(
    data: pyvrp.ProblemData, stop: StoppingCriterion, seed: int
) -> tuple[pyvrp.Result, bool]:
    """``pyvrp.solve`` with its default parameters (PyVRP 0.14's own sequence of steps),
    the neighbourhood from :func:`neighbours`; and whether a penalty reached its bound
    during the search (PyVRP struggled for feasibility).

    PyVRP says so with a ``PenaltyBoundWarning``, but catching warnings is not
    thread-safe (``warnings.catch_warnings`` swaps process-wide state, and the routing
    stage runs periods' searches in threads at once), so the penalties are read after
    every iteration instead and the warning is filtered out when this module loads."""
    params = pyvrp.SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    perturbation = PerturbationManager(params.perturbation)
    ls = LocalSearch(data, rng, neighbours(data), perturbation)
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = pyvrp.PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    init = ls(pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    algo = pyvrp.IteratedLocalSearch(data, pm, ls, init, params.ils)
    bound = params.penalty.max_penalty
    at_bound = False

    def criterion(best_cost: int) -> bool:
        nonlocal at_bound
        loads, duration, distance = pm.penalties()
        at_bound = at_bound or max(*loads, duration, distance) >= bound
        return stop(best_cost)

    return algo.run(criterion, False, False, params.display_interval), at_bound


def plain_solve(data: pyvrp.ProblemData, seconds: float, seed: int) -> pyvrp.Result:
    """PyVRP as a user of the library calls it (``MaxRuntime``, default parameters;
    statistics not collected, which only saves time): the reference the benchmarks
    compare the default back-end against. Its clock starts at PyVRP's first
    iteration, after the initial local search; ours starts at the call."""
    return pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, collect_stats=False)
