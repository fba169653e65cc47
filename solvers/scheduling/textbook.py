"""The textbook CP-SAT job-shop model, kept as a benchmark reference (``cpsat-textbook``).

The plain formulation of the OR-Tools job-shop sample (``jobshop_sat.py``) and nothing
more, so that ``matcher bench`` can show what the scheduling engine
(:mod:`solvers.scheduling.cpsat`: a dispatching hint, lower bounds, stronger
propagation) adds over it. Nothing else uses it. It reads a job shop as the sample
does, a ``(machine, duration)`` pair per operation of each job, rather than a
:class:`~solvers.scheduling.problem.SchedulingProblem`: breaks, setups, lags and
releases are not part of the textbook model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matcher.domain.plan import SolveStatus
from solvers.cpsat_status import has_solution, solve_status


@dataclass(frozen=True)
class TextbookResult:
    """The solve's status and schedule, by job and operation as the input gives them."""

    status: SolveStatus
    starts: list[list[int]] | None  # per job and operation; None without a solution
    makespan: int | None = None
    bound: float | None = None
    first_s: float | None = None  # seconds from the call to the first solution


def solve_textbook(
    jobs: Sequence[Sequence[tuple[int, int]]],
    n_machines: int,
    time_limit_s: float,
    *,
    workers: int,
    seed: int,
) -> TextbookResult:
    """Minimise the makespan of a job shop on the textbook model.

    An interval per operation with start and end in ``[0, horizon]``, the horizon
    being the sum of all durations; ``add_no_overlap`` per machine; each operation
    after its predecessor in the job; the makespan by ``add_max_equality`` over the
    jobs' last ends, minimised. No hint, no bound, no parameters beyond ``workers``,
    ``seed`` and the limit, which are applied as the scheduling back-end applies them:
    the limit counts from the call (model building included); with one worker it is
    deterministic time, wall clock only a safety net at 3x.

    Parameters
    ----------
    jobs
        ``jobs[j][k]`` is the ``(machine, duration)`` of job ``j``'s ``k``-th
        operation, machines numbered from 0.
    n_machines
        Machines ``0 .. n_machines - 1``.
    time_limit_s
        Seconds from the call, model building included.
    """
    start = time.perf_counter()
    horizon = sum(d for job in jobs for _, d in job)
    model = cp_model.CpModel()
    starts: list[list[cp_model.IntVar]] = []
    ends: list[list[cp_model.IntVar]] = []
    on_machine: dict[int, list[cp_model.IntervalVar]] = {}
    for j, job in enumerate(jobs):
        starts.append([])
        ends.append([])
        for k, (machine, duration) in enumerate(job):
            suffix = f"_{j}_{k}"
            s = model.new_int_var(0, horizon, "start" + suffix)
            e = model.new_int_var(0, horizon, "end" + suffix)
            interval = model.new_interval_var(s, duration, e, "interval" + suffix)
            starts[j].append(s)
            ends[j].append(e)
            on_machine.setdefault(machine, []).append(interval)
    for machine in range(n_machines):
        model.add_no_overlap(on_machine.get(machine, []))
    for j in range(len(jobs)):
        for k in range(len(starts[j]) - 1):
            model.add(starts[j][k + 1] >= ends[j][k])
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [e[-1] for e in ends if e])
    model.minimize(makespan)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    left = max(0.05, time_limit_s - (time.perf_counter() - start))
    if workers == 1:
        solver.parameters.max_deterministic_time = left
        solver.parameters.max_time_in_seconds = 3 * left + 1
    else:
        solver.parameters.max_time_in_seconds = left
    first: list[float] = []

    class _First(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if not first:
                first.append(time.perf_counter() - start)

    code = solver.solve(model, _First())
    status = solve_status(code)
    if not has_solution(code):
        return TextbookResult(status, None, first_s=first[0] if first else None)
    return TextbookResult(
        status,
        [[solver.value(s) for s in job] for job in starts],
        makespan=solver.value(makespan),
        bound=float(solver.best_objective_bound),
        first_s=first[0] if first else None,
    )
