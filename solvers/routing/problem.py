"""The routing problem as solver-neutral integer data, and what a back-end returns.

A :class:`RoutingProblem` is what both back-ends (PyVRP, OR-Tools routing) read: places
with integer distance and duration matrices (one pair per *profile*, e.g. per vehicle
speed), vehicle types, and requests. A request moves an integer load, in one or more
dimensions, either

* from the vehicle's start depot to a stop (``pickup is None``: a CVRP delivery),
* from a stop to the vehicle's end depot (``delivery is None``: a backhaul pickup), or
* from one stop to another on the same vehicle, pickup first (a shipment).

The units are the caller's: the domain stage uses metres, seconds, grams and
1/36 000 cent; the benchmark readers use the file's own (tenths for DIMACS VRPTW).
A route's cost is ``fixed + unit_distance_cost * distance + unit_duration_cost *
duration`` where ``duration`` runs from leaving the start depot to reaching the end
depot, waiting included; an unserved optional request costs its ``penalty``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

IntMatrix = npt.NDArray[np.int64]

FOREVER = 2**40
"""A time no route reaches: the open end of a window (fits every engine's int64)."""


@dataclass(frozen=True)
class Profile:
    """Travel between places for one kind of vehicle: ``distance[i, j]``, ``duration[i, j]``."""

    distance: IntMatrix
    duration: IntMatrix


@dataclass(frozen=True)
class Depot:
    place: int
    open: int = 0
    close: int = FOREVER


@dataclass(frozen=True)
class VehicleType:
    """``count`` identical vehicles; time is absolute (the shift is a window)."""

    capacity: tuple[int, ...]
    start_depot: int
    end_depot: int
    count: int = 1
    fixed_cost: int = 0
    unit_distance_cost: int = 1
    unit_duration_cost: int = 0
    shift_start: int = 0
    shift_end: int = FOREVER
    max_duration: int | None = None
    profile: int = 0
    name: str = ""


@dataclass(frozen=True)
class Stop:
    """Where and when one end of a request is served: service starts within the window."""

    place: int
    early: int = 0
    late: int = FOREVER
    service: int = 0


@dataclass(frozen=True)
class Request:
    """A load to move. ``required=False`` lets the solver drop it for ``penalty``."""

    amount: tuple[int, ...]
    pickup: Stop | None = None
    delivery: Stop | None = None
    required: bool = True
    penalty: int = 0
    name: str = ""

    @property
    def kind(self) -> str:
        if self.pickup is None:
            return "delivery"
        if self.delivery is None:
            return "pickup"
        return "shipment"

    @property
    def stops(self) -> list[Stop]:
        return [s for s in (self.pickup, self.delivery) if s is not None]


@dataclass(frozen=True)
class RoutingProblem:
    places: int
    profiles: list[Profile]
    depots: list[Depot]
    vehicle_types: list[VehicleType]
    requests: list[Request]
    dimensions: tuple[str, ...] = ("load",)
    name: str = "routing"

    @property
    def kinds(self) -> set[str]:
        return {r.kind for r in self.requests}

    @property
    def vehicles(self) -> int:
        return sum(v.count for v in self.vehicle_types)

    def key(self) -> tuple[object, ...]:
        """Everything but the travel matrices, hashable: with the places the matrices
        were built from, it tells whether two problems are the same."""
        return (
            self.places,
            tuple(self.depots),
            tuple(self.vehicle_types),
            tuple(self.requests),
            self.dimensions,
        )

    def problems(self) -> list[str]:
        """What makes this data unusable (empty when consistent); the adapters assume none."""
        found = self._profile_problems()
        if not self.depots:
            found.append("depots: at least one is needed")
        for k, d in enumerate(self.depots):
            if not 0 <= d.place < self.places:
                found.append(f"depots[{k}]: unknown place {d.place}")
        n_dims = len(self.dimensions)
        for k, v in enumerate(self.vehicle_types):
            if len(v.capacity) != n_dims:
                found.append(f"vehicle_types[{k}].capacity: {n_dims} dimensions expected")
            if not (0 <= v.start_depot < len(self.depots) and 0 <= v.end_depot < len(self.depots)):
                found.append(f"vehicle_types[{k}]: unknown depot")
            if not 0 <= v.profile < len(self.profiles):
                found.append(f"vehicle_types[{k}].profile: unknown profile")
            if v.count < 1:
                found.append(f"vehicle_types[{k}].count: must be positive")
        for k, r in enumerate(self.requests):
            if len(r.amount) != n_dims or min(r.amount, default=0) < 0:
                found.append(f"requests[{k}].amount: {n_dims} non-negative values expected")
            if not r.stops:
                found.append(f"requests[{k}]: needs a pickup or a delivery stop")
            for s in r.stops:
                if not 0 <= s.place < self.places:
                    found.append(f"requests[{k}]: unknown place {s.place}")
                if s.late < s.early:
                    found.append(f"requests[{k}]: window closes before it opens")
        return found

    def _profile_problems(self) -> list[str]:
        if not self.profiles:
            return ["profiles: at least one is needed"]
        shape = (self.places, self.places)
        found = []
        for k, p in enumerate(self.profiles):
            if p.distance.shape != shape or p.duration.shape != shape:
                found.append(f"profiles[{k}]: matrices must be {shape}")
            elif (p.distance < 0).any() or (p.duration < 0).any():
                found.append(f"profiles[{k}]: negative distance or duration")
        return found


class Action(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


@dataclass(frozen=True)
class Visit:
    request: int
    action: Action
    start: int  # when service starts (after any wait)


@dataclass(frozen=True)
class Route:
    vehicle_type: int
    visits: list[Visit]
    start: int  # leaving the start depot
    end: int  # reaching the end depot
    distance: int
    duration: int
    cost: int


@dataclass
class RoutingResult:
    """A back-end's answer. Failures are statuses, never exceptions.

    ``feasible`` is the back-end's own claim; the caller re-evaluates the routes
    (:func:`solvers.routing.evaluate.evaluate`) before trusting cost or feasibility.
    """

    solver: str
    feasible: bool
    routes: list[Route] = field(default_factory=list)
    unserved: list[int] = field(default_factory=list)
    cost: int | None = None  # routes + penalties of unserved requests
    wall_time_s: float = 0.0
    time_to_first_feasible_s: float | None = None
    iterations: int | None = None
    converged: bool = False  # stopped on no improvement, not by a limit (PyVRP's patience)
    setup_s: float | None = None  # building the search and its first local optimum (PyVRP)
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    dropped_broken: int = 0  # routes dropped for breaking a rule (optional requests only)
    dropped_dear: int = 0  # routes dropped for costing more than their requests' penalties
