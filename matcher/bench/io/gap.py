"""Generalised assignment problem (GAP) files: OR-Library and Yagiura layouts.

A GAP instance has ``m`` agents with capacities ``b_i`` and ``n`` jobs; job ``j``
on agent ``i`` costs (or, in OR-Library gap1-12, earns) ``c_ij`` and uses ``a_ij``
of the agent's capacity; every job goes to exactly one agent.

Mapped onto the domain model so that the real engine is measured: one period, each
agent a factory with one resource group of ``b_i`` minutes, each job an unsplittable
mandatory order of one unit with its own process, which agent ``i`` makes at
``c_ij`` cents in ``60 * a_ij`` seconds. A profit matrix becomes the cost
``P - p_ij`` (``P`` the largest profit), and a cost matrix with negative entries is
shifted to start at 0: every job is assigned once, so either change moves every
complete assignment by the same constant and keeps the optimum
(:func:`engine_costs`); :func:`evaluate` recomputes the raw objective from the file.

Layouts (``file_format`` in the benchmark index): ``orlib-multi`` starts with the
number of problems, then each problem as ``m n``, the ``c`` matrix (m rows of n),
the ``a`` matrix, the ``b`` vector; ``orlib-single`` is one problem without the count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from matcher.domain.instance import Instance
from matcher.domain.plan import Plan

FORMATS = ("orlib-multi", "orlib-single")
_PLACE = {"lat": 0.0, "lon": 0.0}


class GapFormatError(ValueError):
    """The file does not hold a GAP problem in the stated layout."""


@dataclass(frozen=True)
class GapData:
    """One GAP problem as read from the file (agents x jobs matrices)."""

    name: str
    cost: list[list[int]]  # c[i][j]: cost, or profit when ``maximise``
    weight: list[list[int]]  # a[i][j]
    capacity: list[int]  # b[i]
    maximise: bool = False

    @property
    def agents(self) -> int:
        return len(self.capacity)

    @property
    def jobs(self) -> int:
        return len(self.cost[0]) if self.cost else 0


def read_gap(
    path: str | Path,
    file_format: str,
    problem_index: int = 0,
    *,
    maximise: bool = False,
    name: str | None = None,
) -> GapData:
    """Problem ``problem_index`` (0-based) of a GAP file in ``file_format``."""
    if file_format not in FORMATS:
        raise GapFormatError(f"unknown GAP layout '{file_format}' (known: {', '.join(FORMATS)})")
    path = Path(path)
    try:
        tokens = [int(t) for t in path.read_text().split()]
    except ValueError as exc:
        raise GapFormatError(f"{path}: non-integer token ({exc})") from None
    pos = 0
    count = 1
    if file_format == "orlib-multi":
        count, pos = _take(tokens, pos, 1, path)[0], 1
    if not 0 <= problem_index < count:
        raise GapFormatError(f"{path}: problem_index {problem_index} outside 0..{count - 1}")
    for index in range(count):
        m, n = _take(tokens, pos, 2, path)
        if m <= 0 or n <= 0:
            raise GapFormatError(f"{path}: problem {index} has {m} agents and {n} jobs")
        size = 2 + 2 * m * n + m
        if index == problem_index:
            flat = _take(tokens, pos + 2, size - 2, path)
            cost = [flat[i * n : (i + 1) * n] for i in range(m)]
            weight = [flat[m * n + i * n : m * n + (i + 1) * n] for i in range(m)]
            capacity = flat[2 * m * n :]
            return GapData(name or f"{path.stem}-{problem_index}", cost, weight, capacity, maximise)
        pos += size
    raise AssertionError("unreachable")


def _take(tokens: list[int], pos: int, count: int, path: Path) -> list[int]:
    if pos + count > len(tokens):
        raise GapFormatError(f"{path}: file ends early (needs {pos + count} numbers)")
    return tokens[pos : pos + count]


def _factory_id(i: int) -> str:
    return f"agent{i}"


def _order_id(j: int) -> str:
    return f"job{j}"


def engine_costs(data: GapData) -> list[list[int]]:
    """The non-negative unit costs given to the engine, ``e[i][j]``.

    For a complete assignment, ``sum e = jobs * k - profit`` (``k`` the largest
    profit) when maximising and ``sum e = cost - jobs * k`` (``k`` the smallest cost,
    if negative, else 0) when minimising.
    """
    if data.maximise:
        top = max(max(row) for row in data.cost)
        return [[top - c for c in row] for row in data.cost]
    low = min(0, min(min(row) for row in data.cost))
    return [[c - low for c in row] for row in data.cost]


def to_instance(data: GapData) -> Instance:
    """The domain instance whose optimal plans are the optimal GAP assignments."""
    costs = engine_costs(data)
    factories = []
    for i in range(data.agents):
        factories.append(
            {
                "id": _factory_id(i),
                "location": _PLACE,
                "capabilities": [
                    {
                        "process": _order_id(j),
                        "resource_group": "capacity",
                        "unit_cost_cents": c,
                        "seconds_per_unit": 60 * data.weight[i][j],
                    }
                    for j, c in enumerate(costs[i])
                ],
                "resources": [{"id": "capacity", "available_minutes": [data.capacity[i]]}],
            }
        )
    orders = [
        {
            "id": _order_id(j),
            "buyer": "gap",
            "operations": [{"process": _order_id(j)}],
            "quantity": 1,
            "due_period": 0,
            "delivery": _PLACE,
            "penalties": {"late_cents_per_unit_period": 0},
        }
        for j in range(data.jobs)
    ]
    return Instance.model_validate(
        {
            "name": data.name,
            "horizon": {
                "start_date": dt.date(2026, 1, 1),
                "periods": 1,
                "period_minutes": max(1440, *data.capacity),
            },
            "processes": [{"id": _order_id(j)} for j in range(data.jobs)],
            "factories": factories,
            "orders": orders,
        }
    )


def assignment_from_plan(data: GapData, plan: Plan) -> list[list[int]]:
    """The agents each job was given to in ``plan`` (a feasible plan gives one each)."""
    agent_of = {_factory_id(i): i for i in range(data.agents)}
    job_of = {_order_id(j): j for j in range(data.jobs)}
    given: list[list[int]] = [[] for _ in range(data.jobs)]
    for a in plan.allocations:
        j, i = job_of.get(a.order), agent_of.get(a.factory)
        if j is None or i is None:
            continue
        if a.quantity > 0 and i not in given[j]:
            given[j].append(i)
    return given


@dataclass(frozen=True)
class GapEvaluation:
    feasible: bool
    objective: int | None  # cost (or profit) recomputed from the raw data
    violations: list[str]


def evaluate(data: GapData, given: list[list[int]]) -> GapEvaluation:
    """Checks an assignment against the raw data alone and recomputes its objective.

    ``given[j]`` lists the agents job ``j`` went to; feasible means one agent per
    job, every job listed, and no agent over its capacity.
    """
    violations: list[str] = []
    if len(given) != data.jobs:
        violations.append(f"{len(given)} jobs in the assignment, the problem has {data.jobs}")
    load = [0] * data.agents
    total = 0
    for j, agents in enumerate(given[: data.jobs]):
        if len(agents) != 1:
            violations.append(f"job {j} assigned to {len(agents)} agents, not 1")
            continue
        i = agents[0]
        if not 0 <= i < data.agents:
            violations.append(f"job {j} assigned to agent {i}, outside 0..{data.agents - 1}")
            continue
        load[i] += data.weight[i][j]
        total += data.cost[i][j]
    for i, used in enumerate(load):
        if used > data.capacity[i]:
            violations.append(f"agent {i} uses {used} > capacity {data.capacity[i]}")
    return GapEvaluation(not violations, None if violations else total, violations)
