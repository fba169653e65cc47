"""OR-Tools routing back-end: constraint-programming routing with guided local search.

The model: one node per depot and one per request end; arc costs, travel times and
loads are registered as matrices and vectors (``RegisterTransitMatrix``,
``RegisterUnaryTransitVector``), so the search never calls back into Python. Per
vehicle: its own cost matrix (distance cost of its type and profile), fixed cost,
span cost (duration cost) and span limit (maximum duration); a time dimension with
service times, windows and shifts; one capacity dimension per load dimension.
Shipments are pickup-and-delivery pairs on one vehicle, pickup first. Every request
sits in a disjunction: optional ones with their penalty, required ones with a penalty
no solution pays, so that an unreachable request leaves a solution that says so
instead of no solution at all.

Not supported: depot deliveries mixed with pickups (to the depot or of shipments) in
one problem. A single load dimension per quantity cannot tell OR-Tools what is on
board at the start; PyVRP handles that case.
"""

from __future__ import annotations

import time
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from matcher.domain.params import stop_hook
from solvers.routing.base import RoutingLimits, Sequences
from solvers.routing.problem import FOREVER, Action, RoutingProblem

REQUIRED_PENALTY = 2**50
"""Penalty of dropping a required request: above any route cost, below int64 overflow."""


class OrToolsBackend:
    name = "ortools-routing"

    def supports(self, problem: RoutingProblem) -> bool:
        return self.unsupported_reason(problem) is None

    def unsupported_reason(self, problem: RoutingProblem) -> str | None:
        kinds = problem.kinds
        if "delivery" in kinds and kinds - {"delivery"}:
            return (
                "deliveries from the depot mixed with pickups; the pyvrp back-end "
                "models what is on board at the start"
            )
        return None

    def solve(self, problem: RoutingProblem, limits: RoutingLimits) -> Sequences:
        model = _Model(problem)
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = model.first_solution_strategy()
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        params.time_limit.FromMilliseconds(max(1, int(1000 * limits.left())))
        params.log_search = False
        first: list[float] = []

        def on_solution() -> None:
            elapsed = time.perf_counter() - limits.started
            cost = model.routing.CostVar().Max()
            if not first:
                first.append(elapsed)
            if limits.on_improvement is not None:
                limits.on_improvement(elapsed, cost)

        model.routing.AddAtSolutionCallback(on_solution)
        with stop_hook(limits.stop, model.routing.CancelSearch):
            solution = model.routing.SolveWithParameters(params)
        if solution is None:
            return Sequences(
                solver=self.name,
                unserved=list(range(len(problem.requests))),
                notes=[f"OR-Tools found no solution (status {model.routing.status()})"],
            )
        raw = model.sequences(solution)
        raw.time_to_first_feasible_s = first[0] if first else None
        return raw


class _Model:
    def __init__(self, problem: RoutingProblem) -> None:
        self.problem = problem
        # Nodes: depots first, then each request's pickup and/or delivery stop.
        self.node_place = [d.place for d in problem.depots]
        self.node_of: dict[tuple[int, Action], int] = {}
        for k, r in enumerate(problem.requests):
            for action, stop in ((Action.PICKUP, r.pickup), (Action.DELIVERY, r.delivery)):
                if stop is not None:
                    self.node_of[(k, action)] = len(self.node_place)
                    self.node_place.append(stop.place)
        self.visit_of = {node: key for key, node in self.node_of.items()}
        self.vehicle_type: list[int] = []
        for t, v in enumerate(problem.vehicle_types):
            self.vehicle_type += [t] * v.count
        starts = [problem.vehicle_types[t].start_depot for t in self.vehicle_type]
        ends = [problem.vehicle_types[t].end_depot for t in self.vehicle_type]
        self.manager = pywrapcp.RoutingIndexManager(
            len(self.node_place), len(self.vehicle_type), starts, ends
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self._costs()
        self.time = self._time() if self._timed() else None
        self._loads()
        self._requests()

    def first_solution_strategy(self) -> Any:
        strategies = routing_enums_pb2.FirstSolutionStrategy
        if self.problem.kinds == {"delivery"} and all(
            r.pickup is None and r.delivery is not None and r.delivery.late >= FOREVER
            for r in self.problem.requests
        ):
            return strategies.SAVINGS  # plain capacitated: the classic construction
        return strategies.PARALLEL_CHEAPEST_INSERTION

    def _matrix(self, values: Any, scale: int = 1, service: bool = False) -> list[list[int]]:
        places = self.node_place
        service_at = [0] * len(places)
        if service:
            for (k, action), node in self.node_of.items():
                r = self.problem.requests[k]
                stop = r.pickup if action is Action.PICKUP else r.delivery
                assert stop is not None
                service_at[node] = stop.service
        rows = values[places][:, places] * scale
        return [[int(x) + service_at[i] for x in row] for i, row in enumerate(rows.tolist())]

    def _costs(self) -> None:
        cache: dict[tuple[int, int], int] = {}
        for v, t in enumerate(self.vehicle_type):
            vt = self.problem.vehicle_types[t]
            key = (vt.profile, vt.unit_distance_cost)
            if key not in cache:
                distance = self.problem.profiles[vt.profile].distance
                matrix = self._matrix(distance, vt.unit_distance_cost)
                cache[key] = self.routing.RegisterTransitMatrix(matrix)
            self.routing.SetArcCostEvaluatorOfVehicle(cache[key], v)
            self.routing.SetFixedCostOfVehicle(vt.fixed_cost, v)

    def _timed(self) -> bool:
        """Whether time matters: windows, service, shifts, duration cost or limit. Plain
        CVRP has none, and a time dimension there only slows the search."""
        p = self.problem
        stops = [s for r in p.requests for s in r.stops]
        return (
            any(s.early > 0 or s.late < FOREVER or s.service for s in stops)
            or any(d.open > 0 or d.close < FOREVER for d in p.depots)
            or any(
                v.shift_start > 0
                or v.shift_end < FOREVER
                or v.unit_duration_cost
                or v.max_duration is not None
                for v in p.vehicle_types
            )
        )

    def _time(self) -> Any:
        p = self.problem
        by_profile: dict[int, int] = {}
        evaluators = []
        for t in self.vehicle_type:
            prof = p.vehicle_types[t].profile
            if prof not in by_profile:
                by_profile[prof] = self.routing.RegisterTransitMatrix(
                    self._matrix(p.profiles[prof].duration, service=True)
                )
            evaluators.append(by_profile[prof])
        ends = [min(v.shift_end, FOREVER) for v in p.vehicle_types]
        ends += [min(d.close, FOREVER) for d in p.depots]
        ends += [min(s.late, FOREVER) for r in p.requests for s in r.stops]
        horizon = max(ends) + max((s.service for r in p.requests for s in r.stops), default=0)
        self.routing.AddDimensionWithVehicleTransits(evaluators, horizon, horizon, False, "time")
        dim = self.routing.GetDimensionOrDie("time")
        for (k, action), node in self.node_of.items():
            r = p.requests[k]
            stop = r.pickup if action is Action.PICKUP else r.delivery
            assert stop is not None
            window = (stop.early, min(stop.late, horizon))
            dim.CumulVar(self.manager.NodeToIndex(node)).SetRange(*window)
        for v, t in enumerate(self.vehicle_type):
            vt = p.vehicle_types[t]
            start_open = max(vt.shift_start, p.depots[vt.start_depot].open)
            end_close = min(vt.shift_end, p.depots[vt.end_depot].close, horizon)
            dim.CumulVar(self.routing.Start(v)).SetRange(start_open, horizon)
            dim.CumulVar(self.routing.End(v)).SetRange(0, end_close)
            if vt.unit_duration_cost:
                dim.SetSpanCostCoefficientForVehicle(vt.unit_duration_cost, v)
            if vt.max_duration is not None:
                dim.SetSpanUpperBoundForVehicle(vt.max_duration, v)
            # Leave as late as possible, arrive as early as possible: the least duration.
            self.routing.AddVariableMaximizedByFinalizer(dim.CumulVar(self.routing.Start(v)))
            self.routing.AddVariableMinimizedByFinalizer(dim.CumulVar(self.routing.End(v)))
        return dim

    def _loads(self) -> None:
        p = self.problem
        for d, name in enumerate(p.dimensions):
            demand = [0] * len(self.node_place)
            for (k, action), node in self.node_of.items():
                r = p.requests[k]
                amount = r.amount[d]
                if action is Action.DELIVERY and r.pickup is not None:
                    amount = -amount  # a shipment unloads what it loaded
                demand[node] = amount
            if not any(demand):
                continue
            evaluator = self.routing.RegisterUnaryTransitVector(demand)
            caps = [p.vehicle_types[t].capacity[d] for t in self.vehicle_type]
            self.routing.AddDimensionWithVehicleCapacity(evaluator, 0, caps, True, f"load:{name}")

    def _requests(self) -> None:
        solver = self.routing.solver()
        for k, r in enumerate(self.problem.requests):
            penalty = r.penalty if not r.required else REQUIRED_PENALTY
            nodes = [self.manager.NodeToIndex(self.node_of[(k, a)]) for a in _ends(r)]
            if len(nodes) == 2:
                pick, drop = nodes
                self.routing.AddPickupAndDelivery(pick, drop)
                solver.Add(self.routing.VehicleVar(pick) == self.routing.VehicleVar(drop))
                if self.time is not None:
                    solver.Add(self.time.CumulVar(pick) <= self.time.CumulVar(drop))
            self.routing.AddDisjunction(nodes, penalty, len(nodes))

    def sequences(self, solution: Any) -> Sequences:
        routes = []
        served: set[int] = set()
        for v, t in enumerate(self.vehicle_type):
            index = self.routing.Start(v)
            visits: list[tuple[int, Action]] = []
            while True:
                index = solution.Value(self.routing.NextVar(index))
                if self.routing.IsEnd(index):
                    break
                k, action = self.visit_of[self.manager.IndexToNode(index)]
                visits.append((k, action))
                served.add(k)
            if visits:
                routes.append((t, visits))
        return Sequences(
            solver=OrToolsBackend.name,
            routes=routes,
            unserved=[k for k in range(len(self.problem.requests)) if k not in served],
            found=True,
        )


def _ends(r: Any) -> list[Action]:
    return [a for a, s in ((Action.PICKUP, r.pickup), (Action.DELIVERY, r.delivery)) if s]
