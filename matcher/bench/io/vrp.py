"""Vehicle routing benchmark files, CVRPLIB ``.vrp`` (CVRP) and Solomon ``.txt`` (VRPTW),
as the verifier reads them, and the verifier.

:func:`read_raw` parses a file with its own few lines and :func:`evaluate` checks an
answer, given as the customers of each route, against that alone, computing every arc
itself in exact integer arithmetic. This module imports neither ``vrplib`` nor
``solvers``, so a misread file or a wrong mapping in the engine's reader
(:mod:`matcher.bench.io.routing_problem`) shows up as a failed check or a wrong
objective, never as a good number.

Places are numbered from 0, the depot: a CVRPLIB file's node ``i`` is place ``i - 1``
(node 1 is the depot; the ids of a CVRPLIB ``.sol`` file are places), a Solomon
file's customer number is its place. Conventions, those of the published best-known
values:

* ``cvrp``: TSPLIB ``EUC_2D``, each arc ``floor(d + 0.5)``, or the file's ``EXPLICIT``
  ``LOWER_ROW`` matrix; no time windows; the number of routes is free (at most one
  per customer; the ``k`` in a name is only the minimum); objective = total distance.
* ``vrptw``, the DIMACS distance-only convention: every arc length and travel time is
  the Euclidean distance truncated to one decimal, kept in integers as tenths
  (``floor(10 d)``), with time windows and service times times 10. Service starts
  within ``[ready, due]`` of each customer (waiting allowed), every route leaves the
  depot at or after its ready time and is back by its due time, and there are at most
  the file's vehicle number of routes; objective = total distance (tenths / 10).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CVRP, VRPTW = "cvrp", "vrptw"
KINDS = (CVRP, VRPTW)
DIMACS_SCALE = 10
"""VRPTW distances, times and windows are integers in tenths of the file's unit."""


class VrpFormatError(ValueError):
    """The file does not hold a problem of the stated kind in a supported layout."""


def scale(kind: str) -> int:
    """Integer units per unit of the file: 1 for ``cvrp``, 10 (tenths) for ``vrptw``."""
    if kind not in KINDS:
        raise VrpFormatError(f"unknown routing kind '{kind}' (known: {', '.join(KINDS)})")
    return DIMACS_SCALE if kind == VRPTW else 1


Number = int | float


@dataclass(frozen=True)
class RawVrp:
    """A routing file as the verifier reads it: places ``0..n``, place 0 the depot.

    Either ``coords`` (one pair per place) or ``matrix`` (``EXPLICIT``). ``ready``,
    ``due`` and ``service`` are in the file's units, per place, for ``vrptw`` only.
    """

    name: str
    kind: str
    capacity: int
    demand: tuple[int, ...]
    max_routes: int
    coords: tuple[tuple[Number, Number], ...] | None = None
    matrix: tuple[tuple[int, ...], ...] | None = None
    ready: tuple[int, ...] = ()
    due: tuple[int, ...] = ()
    service: tuple[int, ...] = ()

    @property
    def customers(self) -> int:
        return len(self.demand) - 1

    @property
    def scale(self) -> int:
        return scale(self.kind)

    def arc(self, a: int, b: int) -> int:
        """Length (and travel time) of ``a -> b`` in integer units of :attr:`scale`."""
        if self.matrix is not None:
            return self.matrix[a][b]
        assert self.coords is not None
        (xa, ya), (xb, yb) = self.coords[a], self.coords[b]
        return _tenths(xa - xb, ya - yb) if self.kind == VRPTW else _nint(xa - xb, ya - yb)


def _nint(dx: Number, dy: Number) -> int:
    """``floor(sqrt(dx^2 + dy^2) + 0.5)``; exact for integers: ``(isqrt(4 s) + 1) // 2``."""
    if isinstance(dx, int) and isinstance(dy, int):
        return (math.isqrt(4 * (dx * dx + dy * dy)) + 1) // 2
    return math.floor(math.hypot(dx, dy) + 0.5)


def _tenths(dx: Number, dy: Number) -> int:
    """``floor(10 sqrt(dx^2 + dy^2))``; exact for integers: ``isqrt(100 s)``."""
    if isinstance(dx, int) and isinstance(dy, int):
        return math.isqrt(100 * (dx * dx + dy * dy))
    return math.floor(DIMACS_SCALE * math.hypot(dx, dy))


def read_raw(path: str | Path, kind: str) -> RawVrp:
    """The verifier's reading of a ``cvrp`` (CVRPLIB) or ``vrptw`` (Solomon) file."""
    parse = {CVRP: parse_cvrplib, VRPTW: parse_solomon}.get(kind)
    if parse is None:
        raise VrpFormatError(f"unknown routing kind '{kind}' (known: {', '.join(KINDS)})")
    try:
        return parse(Path(path).read_text())
    except VrpFormatError as exc:
        raise VrpFormatError(f"{path}: {exc}") from None


def _number(token: str) -> Number:
    try:
        return int(token)
    except ValueError:
        try:
            return float(token)
        except ValueError:
            raise VrpFormatError(f"not a number: {token!r}") from None


def _int(token: str | Number) -> int:
    value = _number(token) if isinstance(token, str) else token
    if value != int(value):
        raise VrpFormatError(f"not an integer: {token!r}")
    return int(value)


def _sections(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """TSPLIB ``KEY : value`` lines, then ``NAME_SECTION`` blocks of tokens."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        first = tokens[0].rstrip(":")
        if first == "EOF":
            break
        if first.endswith("_SECTION"):
            current = first
            sections[current] = tokens[1:]
        elif current is None:
            key, colon, value = line.partition(":")
            if not colon:
                raise VrpFormatError(f"header line without ':': {line.strip()!r}")
            header[key.strip().upper()] = value.strip()
        else:
            sections[current] += tokens
    return header, sections


def _need(mapping: dict[str, Any], key: str) -> Any:
    if key not in mapping:
        raise VrpFormatError(f"no {key}")
    return mapping[key]


def _numbered(tokens: list[str], width: int, n: int, what: str) -> list[list[str]]:
    """Rows ``id v1 .. v_width`` with ids ``1..n`` in order, without the ids."""
    if len(tokens) != (width + 1) * n:
        raise VrpFormatError(f"{what}: {len(tokens)} numbers, expected {(width + 1) * n}")
    rows = [tokens[i : i + width + 1] for i in range(0, len(tokens), width + 1)]
    if [_int(r[0]) for r in rows] != list(range(1, n + 1)):
        raise VrpFormatError(f"{what}: node ids are not 1..{n} in order")
    return [r[1:] for r in rows]


def parse_cvrplib(text: str) -> RawVrp:
    """A CVRPLIB (TSPLIB) CVRP file: ``EUC_2D`` coordinates or an ``EXPLICIT``
    ``LOWER_ROW`` matrix, node 1 the only depot."""
    header, sections = _sections(text)
    n = _int(_need(header, "DIMENSION"))
    demand = tuple(_int(r[0]) for r in _numbered(_need(sections, "DEMAND_SECTION"), 1, n, "demand"))
    depots = [_int(t) for t in _need(sections, "DEPOT_SECTION")]
    if depots[-1:] == [-1]:
        depots.pop()
    if depots != [1]:
        raise VrpFormatError(f"depots {depots}: only node 1 as the single depot is supported")
    weight_type = _need(header, "EDGE_WEIGHT_TYPE")
    coords = matrix = None
    if weight_type == "EUC_2D":
        rows = _numbered(_need(sections, "NODE_COORD_SECTION"), 2, n, "coordinates")
        coords = tuple((_number(x), _number(y)) for x, y in rows)
    elif weight_type == "EXPLICIT" and header.get("EDGE_WEIGHT_FORMAT") == "LOWER_ROW":
        values = iter(_int(t) for t in _need(sections, "EDGE_WEIGHT_SECTION"))
        full = [[0] * n for _ in range(n)]
        try:
            for i in range(1, n):
                for j in range(i):
                    full[i][j] = full[j][i] = next(values)
        except StopIteration:
            raise VrpFormatError(f"fewer than {n * (n - 1) // 2} LOWER_ROW weights") from None
        if next(values, None) is not None:
            raise VrpFormatError(f"more than {n * (n - 1) // 2} LOWER_ROW weights")
        matrix = tuple(tuple(row) for row in full)
    else:
        raise VrpFormatError(f"edge weights {weight_type} {header.get('EDGE_WEIGHT_FORMAT', '')}")
    return RawVrp(
        name=header.get("NAME", ""),
        kind=CVRP,
        capacity=_int(_need(header, "CAPACITY")),
        demand=demand,
        max_routes=max(1, n - 1),
        coords=coords,
        matrix=matrix,
    )


def parse_solomon(text: str) -> RawVrp:
    """A Solomon VRPTW file: name, ``VEHICLE NUMBER CAPACITY``, then one line per
    place ``number x y demand ready due service``, numbered from 0 (the depot)."""
    lines = [line.split() for line in text.splitlines()]
    lines = [tokens for tokens in lines if tokens]
    try:
        fleet = next(i for i, t in enumerate(lines) if "NUMBER" in t and "CAPACITY" in t)
        table = next(i for i, t in enumerate(lines) if t[0] == "CUST")
        vehicles, capacity = (_int(t) for t in lines[fleet + 1])
    except (StopIteration, ValueError):
        raise VrpFormatError("no VEHICLE NUMBER/CAPACITY or CUST NO. table") from None
    rows = [[_int(t) for t in tokens] for tokens in lines[table + 1 :]]
    if not rows or any(len(r) != 7 for r in rows):
        raise VrpFormatError("customer lines need 7 numbers each")
    if [r[0] for r in rows] != list(range(len(rows))):
        raise VrpFormatError(f"customers are not numbered 0..{len(rows) - 1} in order")
    return RawVrp(
        name=lines[0][0],
        kind=VRPTW,
        capacity=capacity,
        demand=tuple(r[3] for r in rows),
        max_routes=vehicles,
        coords=tuple((r[1], r[2]) for r in rows),
        ready=tuple(r[4] for r in rows),
        due=tuple(r[5] for r in rows),
        service=tuple(r[6] for r in rows),
    )


@dataclass(frozen=True)
class RouteCheck:
    feasible: bool
    objective: float | None  # total distance in the file's units; None unless feasible
    distance: int  # total distance of the routes as given, in units of ``scale``
    vehicles: int  # non-empty routes
    violations: list[str]


def evaluate(raw: RawVrp, routes: Sequence[Sequence[int]]) -> RouteCheck:
    """Checks routes (each the customers' places in visiting order, without the depot)
    against the raw data alone and recomputes the objective.

    Feasible means every customer on exactly one route, no route over the capacity,
    at most ``raw.max_routes`` routes and, for ``vrptw``, every service starting
    within its customer's window and every route back at the depot by its due time.
    Routes are numbered from 0 in the messages (their position in ``routes``, as in
    the engine's own notes); empty ones are ignored.
    """
    n = raw.customers
    visits = [0] * (n + 1)
    violations: list[str] = []
    total = vehicles = 0
    for number, route in enumerate(routes):
        if not route:
            continue
        vehicles += 1
        strangers = [c for c in route if not 1 <= c <= n]
        if strangers:
            violations.append(f"route {number} visits {strangers[0]}, not a customer (1..{n})")
            continue
        for c in route:
            visits[c] += 1
        load = sum(raw.demand[c] for c in route)
        if load > raw.capacity:
            violations.append(f"route {number} carries {load}, over the capacity {raw.capacity}")
        total += sum(raw.arc(a, b) for a, b in itertools.pairwise([0, *route, 0]))
        if raw.kind == VRPTW:
            violations += _late(raw, number, route)
    for c in range(1, n + 1):
        if visits[c] != 1:
            violations.append(f"customer {c} visited {visits[c]} times, not once")
    if vehicles > raw.max_routes:
        violations.append(f"{vehicles} routes, at most {raw.max_routes} allowed")
    objective: float | None = None
    if not violations:
        objective = total if raw.scale == 1 else total / raw.scale
    return RouteCheck(not violations, objective, total, vehicles, violations)


def _late(raw: RawVrp, number: int, route: Sequence[int]) -> list[str]:
    """Windows on one route, in scaled integers: service starts at arrival or at the
    customer's ready time, whichever is later, and must start by its due time."""
    s = raw.scale
    found = []
    t, here = s * raw.ready[0], 0
    for c in route:
        t = max(t + raw.arc(here, c), s * raw.ready[c])
        if t > s * raw.due[c]:
            found.append(
                f"route {number} starts serving customer {c} at {_units(t, s)}, "
                f"after its due time {raw.due[c]}"
            )
        t += s * raw.service[c]
        here = c
    back = t + raw.arc(here, 0)
    if back > s * raw.due[0]:
        found.append(
            f"route {number} is back at the depot at {_units(back, s)}, "
            f"after its due time {raw.due[0]}"
        )
    return found


def _units(value: int, scale: int) -> str:
    """A scaled integer in the file's units: ``9125`` in tenths is ``912.5``."""
    if scale == 1:
        return str(value)
    return f"{value / scale:.{len(str(scale)) - 1}f}"
