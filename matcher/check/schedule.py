"""Machine schedules (``matcher schedule``) against the calendars and the plan.

Checked from the data alone (docs/scheduling.md); unlike the plan checks this returns
the violations without costs to recompute.
"""

from __future__ import annotations

import math

from matcher.check.codes import Violation, ViolationCode
from matcher.check.figures import is_split_by_operation
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule


def check_schedule(instance: Instance, plan: Plan, schedule: Schedule) -> list[Violation]:  # noqa: C901
    """Verify machine schedules against the instance's calendars and the plan, from
    the data alone: every lot's duration, machine and working window, no overlap on a
    machine, operations of a lot in order, release at its period, the plan's units all
    scheduled, and the stated lateness (docs/scheduling.md).

    A lot chains every operation of its order, except for an order split by operation:
    each of its stage parts has lots of its own operation alone (``stage`` below is that
    operation; ``None`` for a whole chain)."""
    out: list[Violation] = []
    factories = {f.id: f for f in instance.factories}
    orders = {o.id: o for o in instance.orders}
    length = instance.horizon.period_minutes
    end_of_horizon = instance.horizon.periods * length
    planned: dict[tuple[str, str, int, int | None], int] = {}
    for a in plan.allocations:
        by_operation = a.order in orders and is_split_by_operation(orders[a.order])
        if a.operation == 0 or by_operation:
            for pq in a.periods:
                planned[(a.order, a.factory, pq.period, a.operation if by_operation else None)] = (
                    pq.quantity
                )
    for fi, fs in enumerate(schedule.factories):
        f = factories.get(fs.factory)
        if f is None:
            out.append(_v("SCHEDULE_UNKNOWN", f"factories[{fi}].factory", "unknown factory"))
            continue
        caps = {c.process: c for c in f.capabilities}
        wins: dict[str, list[tuple[int, int]]] = {}
        names: dict[str, str] = {}
        for r in f.resources:
            wins[r.id] = []
            for p in range(instance.horizon.periods):
                shift = min(length, r.available_minutes[p] // r.machines)
                taken = (r.committed_minutes[p] if r.committed_minutes else 0) // r.machines
                if shift > taken:
                    wins[r.id].append((p * length + taken, p * length + shift))
            for k in range(r.machines):
                names[f"{r.id}#{k + 1}"] = r.id
        chains: dict[tuple[str, int, int, int | None], dict[int, tuple[int, int, int]]] = {}
        for mi, ms in enumerate(fs.machines):
            path = f"factories[{fi}].machines[{mi}]"
            group = names.get(ms.machine)
            if group is None:
                out.append(_v("SCHEDULE_UNKNOWN", f"{path}.machine", f"no machine {ms.machine}"))
                continue
            previous_end = -1
            for li, lot in enumerate(sorted(ms.lots, key=lambda x: x.start_minute)):
                lpath = f"{path}.lots[{li}]"
                order = orders.get(lot.order)
                if order is None or not 0 <= lot.operation < len(order.operations):
                    out.append(
                        _v("SCHEDULE_UNKNOWN", lpath, f"unknown order or operation {lot.order}")
                    )
                    continue
                cap = caps.get(order.operations[lot.operation].process)
                if cap is None or cap.resource_group != group:
                    out.append(_v("SCHEDULE_MACHINE", lpath, f"{ms.machine} cannot run it"))
                    continue
                need = math.ceil(cap.seconds_per_unit * lot.quantity / 60) + cap.setup_minutes
                if lot.end_minute - lot.start_minute != need:
                    out.append(
                        _v(
                            "SCHEDULE_DURATION",
                            lpath,
                            f"lasts {lot.end_minute - lot.start_minute} min, needs {need}",
                        )
                    )
                inside = lot.start_minute >= end_of_horizon or any(
                    a <= lot.start_minute and lot.end_minute <= b for a, b in wins[group]
                )
                if not inside:
                    out.append(
                        _v(
                            "SCHEDULE_CALENDAR",
                            lpath,
                            f"[{lot.start_minute}, {lot.end_minute}) is outside every "
                            f"working window of {ms.machine}",
                        )
                    )
                if lot.start_minute < lot.period * length:
                    out.append(
                        _v("SCHEDULE_RELEASE", lpath, f"starts before its period {lot.period}")
                    )
                if lot.start_minute < previous_end:
                    out.append(
                        _v(
                            "SCHEDULE_OVERLAP",
                            lpath,
                            f"starts at {lot.start_minute}, before the previous lot "
                            f"ends ({previous_end})",
                        )
                    )
                previous_end = max(previous_end, lot.end_minute)
                stage = lot.operation if is_split_by_operation(order) else None
                key = (lot.order, lot.period, lot.chunk, stage)
                chains.setdefault(key, {})[lot.operation] = (
                    lot.start_minute,
                    lot.end_minute,
                    lot.quantity,
                )
                if lot.operation == len(order.operations) - 1:
                    late = max(0, lot.end_minute - (lot.period + 1) * length)
                    if lot.late_minutes != late:
                        out.append(
                            _v(
                                "SCHEDULE_LATENESS",
                                f"{lpath}.late_minutes",
                                f"is {lot.late_minutes}, the lot ends {late} min late",
                            )
                        )
        made: dict[tuple[str, int, int | None], int] = {}
        for (oid, period, chunk, stage), ops in chains.items():
            n_ops = len(orders[oid].operations)
            chain = list(range(n_ops)) if stage is None else [stage]
            if sorted(ops) != chain:
                out.append(
                    _v(
                        "SCHEDULE_PRECEDENCE",
                        f"factories[{fi}]",
                        f"{oid} period {period} chunk {chunk}: operations {sorted(ops)} of {n_ops}",
                    )
                )
                continue
            for k in chain[:-1]:
                if ops[k + 1][0] < ops[k][1]:
                    out.append(
                        _v(
                            "SCHEDULE_PRECEDENCE",
                            f"factories[{fi}]",
                            f"{oid} period {period} chunk {chunk}: operation {k + 1} "
                            f"starts before {k} ends",
                        )
                    )
            made[(oid, period, stage)] = made.get((oid, period, stage), 0) + ops[chain[0]][2]
        for (oid, fid, period, stage), qty in planned.items():
            done = made.get((oid, period, stage), 0)
            if fid == fs.factory and done != qty:
                what = "" if stage is None else f" operation {stage}"
                out.append(
                    _v(
                        "SCHEDULE_COVERAGE",
                        f"factories[{fi}]",
                        f"{oid}{what} period {period}: {done} of the plan's {qty} units scheduled",
                    )
                )
    return out


def _v(code: str, path: str, message: str) -> Violation:
    return Violation(ViolationCode(code).value, path, message)
