"""A machine-scheduling problem in integers: the one object every importer builds.

Jobs are chains of operations (precedence in list order, with a minimum lag between
consecutive operations: a transfer time). An operation runs without interruption on
one of its modes (a machine and a duration). Machines have breaks (calendar gaps:
shifts, weekends) that no operation may overlap, and optional sequence-dependent
setup times between operation families. Time is in integer units (minutes for
factory schedules, the benchmark's units for JSPLIB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Objective(StrEnum):
    MAKESPAN = "makespan"
    TARDINESS = "tardiness"  # weighted tardiness first, then makespan


@dataclass(frozen=True, slots=True)
class Mode:
    machine: int  # index into SchedulingProblem.machines
    duration: int


@dataclass(frozen=True, slots=True)
class Operation:
    job: int  # index into SchedulingProblem.jobs
    modes: tuple[Mode, ...]
    family: int = 0  # for setup times
    name: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    operations: tuple[int, ...]  # indices into SchedulingProblem.operations, in order
    release: int = 0
    due: int | None = None
    weight: int = 1
    lags: tuple[int, ...] = ()  # minimum time between consecutive operations


@dataclass(frozen=True, slots=True)
class Machine:
    id: str
    breaks: tuple[tuple[int, int], ...] = ()  # [start, end) when it cannot work
    # (family before, family after) -> setup time; absent pairs need none
    setups: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass
class SchedulingProblem:
    machines: list[Machine]
    jobs: list[Job]
    operations: list[Operation]
    # A time by which a schedule surely exists (sum of durations, or past the last
    # calendar gap): the variables' range, widened to the dispatching schedule's end.
    horizon: int
    objective: Objective = Objective.MAKESPAN
    name: str = "schedule"

    def validate(self) -> list[str]:
        """Problems that make the data unusable (empty when fine): every operation in
        exactly one job, which it names; lags matching the chains; modes on known
        machines with durations >= 0."""
        issues: list[str] = []
        n = len(self.operations)
        owner: dict[int, str] = {}
        for j, job in enumerate(self.jobs):
            if len(job.lags) not in (0, max(0, len(job.operations) - 1)):
                issues.append(f"job {job.id}: {len(job.lags)} lags for {len(job.operations)} ops")
            for o in job.operations:
                if not 0 <= o < n:
                    issues.append(f"job {job.id}: operation {o} does not exist")
                    continue
                if o in owner:
                    issues.append(f"operation {o} is listed by {owner[o]} and {job.id}")
                owner[o] = job.id
                if self.operations[o].job != j:
                    issues.append(f"job {job.id}: operation {o} names another job")
        for i, op in enumerate(self.operations):
            if i not in owner:
                issues.append(f"operation {i} belongs to no job")
            if not op.modes:
                issues.append(f"operation {i} has no mode")
            for m in op.modes:
                if not 0 <= m.machine < len(self.machines) or m.duration < 0:
                    issues.append(f"operation {i}: bad mode {m}")
        return issues

    def lag(self, job: Job, k: int) -> int:
        """Minimum time between operation ``k`` of ``job`` and the next one."""
        return job.lags[k] if job.lags else 0
