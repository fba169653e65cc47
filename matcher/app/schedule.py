"""Machine-level schedules of a plan's work at one factory (or all), with CP-SAT.

The plan says how many units of each order a factory makes in each period; the
schedule says which machine of the resource group runs each lot, from when to when.

- **Machines**: a resource group with ``machines`` parallel machines. In period ``p``
  each works ``available_minutes[p] // machines`` minutes from the period's start, the
  first ``committed_minutes[p] // machines`` of them taken by earlier work. Outside
  those windows (nights, weekends: periods with no minutes) it cannot work; after the
  horizon it may (so that a schedule always exists, late).
- **Lots**: one per order, factory and period, a chain through the order's operations
  (operation ``j`` of a lot before ``j + 1``); duration ``ceil(seconds_per_unit x units
  / 60) + setup_minutes``. A lot longer than one machine's shift is cut into chunks of
  whole units that fit one (chunks of a lot may run on parallel machines).
- **Times**: a lot may start at its period's start and is due at its end; a late lot
  costs its units per minute late (``--objective tardiness``, the default, then the
  makespan), or only the makespan counts (``makespan``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

from matcher.domain.entities import Capability, Factory, Order
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan, SolveStatus
from matcher.domain.schedule import FactorySchedule, MachineSchedule, Schedule, ScheduledLot
from solvers.scheduling.cpsat import solve_schedule
from solvers.scheduling.problem import (
    Job,
    Machine,
    Mode,
    Objective,
    Operation,
    SchedulingProblem,
)


def machine_names(group: str, machines: int) -> list[str]:
    return [f"{group}#{k + 1}" for k in range(machines)]


def windows(instance: Instance, factory: Factory, group: str) -> list[tuple[int, int]]:
    """Working windows [start, end) in minutes of each machine of ``group`` (all the
    group's machines share them), period by period."""
    res = next(r for r in factory.resources if r.id == group)
    length = instance.horizon.period_minutes
    out: list[tuple[int, int]] = []
    for p in range(instance.horizon.periods):
        shift = min(length, res.available_minutes[p] // res.machines)
        taken = (res.committed_minutes[p] if res.committed_minutes else 0) // res.machines
        if shift > taken:
            out.append((p * length + taken, p * length + shift))
    return out


@dataclass
class _Lot:
    order: Order
    period: int
    chunk: int
    quantity: int
    operations: tuple[int, ...]  # the order's operations this lot chains, in order


def schedule_plan(
    instance: Instance,
    plan: Plan,
    factory: str | None = None,
    time_limit_s: float = 30.0,
    workers: int = 2,
    seed: int = 0,
    objective: str = "tardiness",
) -> Schedule:
    """Schedule the plan's work at ``factory`` (None: every factory with work), the
    time limit shared evenly; never raises for a hard or timed-out schedule."""
    start = time.perf_counter()
    used = sorted({a.factory for a in plan.allocations})
    chosen = [factory] if factory is not None else used
    factories = {f.id: f for f in instance.factories}
    unknown = [f for f in chosen if f not in factories]
    if unknown:
        raise ValueError(f"unknown factory {unknown[0]}")
    out: list[FactorySchedule] = []
    for i, fid in enumerate(chosen):
        left = time_limit_s - (time.perf_counter() - start)
        share = max(0.1, left / (len(chosen) - i))
        out.append(
            _schedule_factory(instance, plan, factories[fid], share, workers, seed, objective)
        )
    return Schedule(
        instance=instance.name,
        objective=objective,
        factories=out,
        wall_time_s=round(time.perf_counter() - start, 3),
    )


def _schedule_factory(
    instance: Instance,
    plan: Plan,
    factory: Factory,
    seconds: float,
    workers: int,
    seed: int,
    objective: str,
) -> FactorySchedule:
    orders = {o.id: o for o in instance.orders}
    caps = {c.process: c for c in factory.capabilities}
    length = instance.horizon.period_minutes
    end_of_horizon = instance.horizon.periods * length
    machines: list[Machine] = []
    group_machines: dict[str, list[int]] = {}
    shift: dict[tuple[str, int], int] = {}  # (group, period) -> working minutes
    for res in factory.resources:
        wins = windows(instance, factory, res.id)
        for a, b in wins:
            shift[(res.id, a // length)] = b - a
        breaks = _gaps(wins, end_of_horizon)
        ids = []
        for name in machine_names(res.id, res.machines):
            ids.append(len(machines))
            machines.append(Machine(name, breaks=breaks))
        group_machines[res.id] = ids
    lots: list[_Lot] = []
    for alloc in plan.allocations:
        order = orders[alloc.order]
        by_operation = order.split.by_operation and len(order.operations) > 1
        if alloc.factory != factory.id or (alloc.operation != 0 and not by_operation):
            continue
        # A part chains all of its order's operations; a stage part of an order split
        # by operation is its own operation (the transfer lag sits between periods).
        ops = (alloc.operation,) if by_operation else tuple(range(len(order.operations)))
        for pq in alloc.periods:
            lots += _chunks(order, ops, pq.period, pq.quantity, caps, shift)
    operations: list[Operation] = []
    jobs: list[Job] = []
    for lot in lots:
        ids = []
        for j in lot.operations:
            op = lot.order.operations[j]
            cap = caps[op.process]
            minutes = math.ceil(cap.seconds_per_unit * lot.quantity / 60) + cap.setup_minutes
            modes = tuple(Mode(m, minutes) for m in group_machines[cap.resource_group])
            ids.append(len(operations))
            operations.append(Operation(len(jobs), modes, name=op.process))
        jobs.append(
            Job(
                f"{lot.order.id}/p{lot.period}/c{lot.chunk}"
                + (f"/o{lot.operations[0]}" if len(lot.operations) == 1 else ""),
                tuple(ids),
                release=lot.period * length,
                due=(lot.period + 1) * length,
                weight=lot.quantity,
            )
        )
    if not jobs:
        return FactorySchedule(factory=factory.id, status=SolveStatus.OPTIMAL, makespan_minute=0)
    problem = SchedulingProblem(
        machines,
        jobs,
        operations,
        horizon=end_of_horizon + sum(m.duration for o in operations for m in o.modes[:1]),
        objective=Objective.TARDINESS if objective == "tardiness" else Objective.MAKESPAN,
        name=factory.id,
    )
    result = solve_schedule(problem, seconds, workers, seed)
    out = FactorySchedule(
        factory=factory.id,
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        makespan_minute=result.makespan,
        weighted_tardiness=result.tardiness,
        wall_time_s=round(result.wall_time_s, 3),
        notes=result.notes,
    )
    if not result.placed:
        return out
    start_dt = dt.datetime.combine(instance.horizon.start_date, dt.time())
    rows: dict[int, list[ScheduledLot]] = {}
    late_lots = 0
    for lot, job in zip(lots, jobs, strict=True):
        last = result.placed[job.operations[-1]]
        late = max(0, last.end - (job.due or 0))
        late_lots += late > 0
        last_op = len(lot.order.operations) - 1
        for k, o in zip(lot.operations, job.operations, strict=True):
            p = result.placed[o]
            rows.setdefault(p.machine, []).append(
                ScheduledLot(
                    order=lot.order.id,
                    operation=k,
                    process=operations[o].name,
                    period=lot.period,
                    chunk=lot.chunk,
                    quantity=lot.quantity,
                    machine=machines[p.machine].id,
                    start_minute=p.start,
                    end_minute=p.end,
                    start=start_dt + dt.timedelta(minutes=p.start),
                    end=start_dt + dt.timedelta(minutes=p.end),
                    late_minutes=late if k == last_op else 0,
                )
            )
    group_of = {m: g for g, ms in group_machines.items() for m in ms}
    out = out.model_copy(
        update={
            "late_lots": late_lots,
            "machines": [
                MachineSchedule(
                    factory=factory.id,
                    resource_group=group_of[m],
                    machine=machines[m].id,
                    lots=sorted(rows.get(m, []), key=lambda r: r.start_minute),
                )
                for m in range(len(machines))
            ],
        }
    )
    return out


def _gaps(wins: list[tuple[int, int]], end: int) -> tuple[tuple[int, int], ...]:
    """The complement of ``wins`` within [0, end): when a machine cannot work."""
    gaps = []
    t = 0
    for a, b in wins:
        if a > t:
            gaps.append((t, a))
        t = b
    if t < end:
        gaps.append((t, end))
    return tuple(gaps)


def _chunks(
    order: Order,
    ops: tuple[int, ...],
    period: int,
    quantity: int,
    caps: dict[str, Capability],
    shift: dict[tuple[str, int], int],
) -> list[_Lot]:
    """The lot of ``quantity`` units in ``period``, cut so that each of its operations
    ``ops`` of each chunk fits one machine's shift there (one chunk when it already does)."""
    per_chunk = quantity
    for j in ops:
        cap = caps[order.operations[j].process]
        room = shift.get((cap.resource_group, period), 0) - cap.setup_minutes
        if cap.seconds_per_unit and room > 0:
            per_chunk = min(per_chunk, max(1, (60 * room) // cap.seconds_per_unit))
    n = math.ceil(quantity / per_chunk)
    sizes = [quantity // n + (1 if c < quantity % n else 0) for c in range(n)]
    return [_Lot(order, period, c, q, ops) for c, q in enumerate(sizes)]
