"""A JSPLIB job shop as the scheduling engine's problem.

:func:`to_problem` maps :class:`~matcher.bench.io.jssp.JsspData` onto a
:class:`~solvers.scheduling.problem.SchedulingProblem`: one mode per operation, no
breaks, setups, lags or releases. The bench verifies the engine's answers on the file's
numbers (:func:`matcher.bench.io.jssp.verify`), not through this mapping.
"""

from __future__ import annotations

from matcher.bench.io.jssp import JsspData
from solvers.scheduling.problem import Job, Machine, Mode, Objective, Operation, SchedulingProblem


def to_problem(data: JsspData) -> SchedulingProblem:
    """The scheduling back-end's problem: machine ``i`` is ``M{i}``, job ``j`` is
    ``J{j}``, operations numbered job by job in technological order; the horizon is
    the sum of the durations."""
    machines = [Machine(f"M{i}") for i in range(data.n_machines)]
    operations: list[Operation] = []
    jobs: list[Job] = []
    for j, ops in enumerate(data.jobs):
        ids = []
        for k, (machine, duration) in enumerate(ops):
            ids.append(len(operations))
            operations.append(Operation(j, (Mode(machine, duration),), name=f"J{j}.{k}"))
        jobs.append(Job(f"J{j}", tuple(ids)))
    return SchedulingProblem(
        machines, jobs, operations, data.horizon, Objective.MAKESPAN, data.name
    )
