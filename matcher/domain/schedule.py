"""The schedule format: machine-by-machine schedules of a plan's lots.

Written by :mod:`matcher.app.schedule` and verified by the independent checker
(semantics in docs/scheduling.md).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from matcher.domain.plan import Result, SolveStatus

SCHEDULE_OBJECTIVES = ("tardiness", "makespan")


class ScheduledLot(Result):
    """One operation of one lot (or chunk) on one machine."""

    order: str
    operation: int = Field(description="Index into the order's operations.")
    process: str
    period: int = Field(description="The plan period the lot belongs to.")
    chunk: int = Field(default=0, description="Chunk of the lot (0 when not cut).")
    quantity: int
    machine: str
    start_minute: int = Field(description="Minutes from the horizon's start.")
    end_minute: int
    start: dt.datetime
    end: dt.datetime
    late_minutes: int = 0


class MachineSchedule(Result):
    factory: str
    resource_group: str
    machine: str
    lots: list[ScheduledLot] = Field(description="In start order.")


class FactorySchedule(Result):
    factory: str
    status: SolveStatus
    objective: float | None = None
    bound: float | None = None
    makespan_minute: int | None = None
    weighted_tardiness: int | None = Field(
        default=None, description="Units x minutes late, summed over the lots."
    )
    late_lots: int = 0
    machines: list[MachineSchedule] = Field(default_factory=list)
    wall_time_s: float = 0.0
    notes: list[str] = Field(default_factory=list)


class Schedule(Result):
    """The machine schedules of a plan (``matcher schedule``; docs/scheduling.md)."""

    instance: str
    objective: str
    factories: list[FactorySchedule]
    wall_time_s: float = 0.0
