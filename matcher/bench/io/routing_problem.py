"""CVRPLIB and Solomon files as the routing engine's problem, read with ``vrplib``.

:func:`read_problem` builds the :class:`~solvers.routing.problem.RoutingProblem` the
engine solves; the bench verifies the answers with :mod:`matcher.bench.io.vrp`,
which reads the files again with its own code and shares nothing with this module
but the kinds and the error type. :func:`write_vrplib_vrptw` rewrites a Solomon file
for ``pyvrp.read``, which takes VRPLIB files only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import vrplib

from matcher.bench.io.vrp import CVRP, DIMACS_SCALE, KINDS, VRPTW, VrpFormatError
from solvers.routing.problem import Depot, Profile, Request, RoutingProblem, Stop, VehicleType


def read_problem(path: str | Path, kind: str, name: str | None = None) -> RoutingProblem:
    """The engine's problem for a ``cvrp`` (CVRPLIB) or ``vrptw`` (Solomon) file."""
    if kind == CVRP:
        return read_cvrp(path, name)
    if kind == VRPTW:
        return read_vrptw(path, name)
    raise VrpFormatError(f"unknown routing kind '{kind}' (known: {', '.join(KINDS)})")


def nint_distances(coords: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """TSPLIB ``EUC_2D``: every Euclidean distance rounded to the nearest integer."""
    return np.floor(_euclidean(coords) + 0.5).astype(np.int64)


def dimacs_distances(coords: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """DIMACS: every Euclidean distance truncated to one decimal, in tenths.

    Exact for integer coordinates: ``10 d`` is then never within float error of an
    integer it does not equal (``d`` is either a whole number, which ``sqrt`` returns
    exactly, or ``10 d`` is about ``0.05 / d`` or more away from every integer).
    """
    return np.floor(DIMACS_SCALE * _euclidean(coords)).astype(np.int64)


def _euclidean(coords: npt.ArrayLike) -> npt.NDArray[np.float64]:
    xy = np.asarray(coords)
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((diff * diff).sum(axis=-1).astype(np.float64))


def read_cvrp(path: str | Path, name: str | None = None) -> RoutingProblem:
    """A CVRPLIB file as a routing problem: one vehicle type with one vehicle per
    customer (the count is free), deliveries from the depot, cost = distance."""
    inst = vrplib.read_instance(str(path), compute_edge_weights=False)
    places = int(inst["dimension"])
    weight_type = str(inst.get("edge_weight_type", "")).strip()
    if weight_type == "EUC_2D":
        distance = nint_distances(inst["node_coord"])
    elif weight_type == "EXPLICIT":
        weight_format = str(inst.get("edge_weight_format", "")).strip()
        if weight_format != "LOWER_ROW":
            raise VrpFormatError(f"{path}: EXPLICIT weights as {weight_format!r}, not LOWER_ROW")
        matrix = np.asarray(inst["edge_weight"])
        distance = matrix.astype(np.int64)
        if (distance != matrix).any():
            raise VrpFormatError(f"{path}: the explicit matrix has non-integer entries")
    else:
        raise VrpFormatError(f"{path}: edge weights {weight_type!r} (supported: EUC_2D, EXPLICIT)")
    if distance.shape != (places, places):
        raise VrpFormatError(f"{path}: {distance.shape} distances for {places} nodes")
    if [int(d) for d in np.atleast_1d(inst.get("depot", []))] != [0]:
        raise VrpFormatError(f"{path}: node 1 must be the only depot")
    demand = _integers(path, "demand", inst["demand"], places)
    customers = places - 1
    truck = VehicleType(
        capacity=(int(inst["capacity"]),),
        start_depot=0,
        end_depot=0,
        count=max(1, customers),
        unit_distance_cost=1,
        name="truck",
    )
    requests = [
        Request(amount=(demand[p],), delivery=Stop(p), name=str(p)) for p in range(1, places)
    ]
    return RoutingProblem(
        places=places,
        profiles=[Profile(distance=distance, duration=distance)],
        depots=[Depot(0)],
        vehicle_types=[truck],
        requests=requests,
        name=name or str(inst.get("name", Path(path).stem)),
    )


def read_vrptw(path: str | Path, name: str | None = None) -> RoutingProblem:
    """A Solomon file as a routing problem in tenths (DIMACS): the file's vehicle
    number, the depot's window as the shift, cost = distance in tenths."""
    inst = vrplib.read_instance(str(path), instance_format="solomon", compute_edge_weights=False)
    coords = np.asarray(inst["node_coord"])
    places = len(coords)
    distance = dimacs_distances(coords)
    demand = _integers(path, "demand", inst["demand"], places)
    service = [DIMACS_SCALE * s for s in _integers(path, "service", inst["service_time"], places)]
    windows = np.asarray(inst["time_window"], dtype=np.int64) * DIMACS_SCALE
    ready, due = [int(t) for t in windows[:, 0]], [int(t) for t in windows[:, 1]]
    vehicles = VehicleType(
        capacity=(int(inst["capacity"]),),
        start_depot=0,
        end_depot=0,
        count=int(inst["vehicles"]),
        unit_distance_cost=1,
        name="vehicle",
    )
    requests = [
        Request(
            amount=(demand[p],),
            delivery=Stop(p, early=ready[p], late=due[p], service=service[p]),
            name=str(p),
        )
        for p in range(1, places)
    ]
    return RoutingProblem(
        places=places,
        profiles=[Profile(distance=distance, duration=distance)],
        depots=[Depot(0, open=ready[0], close=due[0])],
        vehicle_types=[vehicles],
        requests=requests,
        name=name or str(inst.get("name", Path(path).stem)),
    )


def _integers(path: str | Path, what: str, values: Any, places: int) -> list[int]:
    array = np.atleast_1d(np.asarray(values))
    if array.shape != (places,):
        raise VrpFormatError(f"{path}: {array.size} {what} values for {places} places")
    return [int(v) for v in array]


def write_vrplib_vrptw(solomon: str | Path, target: str | Path) -> None:
    """Rewrite a Solomon file in the VRPLIB VRPTW layout (CVRPLIB's own), which
    ``pyvrp.read`` takes; the data are unchanged (coordinates, not distances)."""
    inst = vrplib.read_instance(str(solomon), instance_format="solomon", compute_edge_weights=False)
    vrplib.write_instance(
        str(target),
        {
            "NAME": str(inst["name"]),
            "TYPE": "VRPTW",
            "DIMENSION": len(inst["demand"]),
            "VEHICLES": int(inst["vehicles"]),
            "CAPACITY": int(inst["capacity"]),
            "EDGE_WEIGHT_TYPE": "EUC_2D",
            "NODE_COORD_SECTION": inst["node_coord"],
            "DEMAND_SECTION": inst["demand"],
            "TIME_WINDOW_SECTION": inst["time_window"],
            "SERVICE_TIME_SECTION": inst["service_time"],
            "DEPOT_SECTION": [1, -1],
        },
    )
