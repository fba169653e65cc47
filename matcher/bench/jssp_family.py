"""The ``jssp`` family: JSPLIB job shops solved by the scheduling engine
(``cpsat-schedule``) and by the textbook CP-SAT model (``cpsat-textbook``,
:mod:`solvers.scheduling.textbook`), the reference the engine is compared with.

The engine gets the problem of :mod:`matcher.bench.io.scheduling_problem`, the textbook
model the file's numbers; every answer is verified by :func:`matcher.bench.io.jssp.verify`
on the file's numbers alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from matcher.bench.family import Attempt, BenchCase, BenchEntry, RunSettings, Verification
from matcher.bench.io import jssp
from matcher.bench.io.scheduling_problem import to_problem
from solvers.scheduling.problem import SchedulingProblem

JSSP_DEFAULT = "cpsat-schedule"
"""The scheduling engine's back-end (``solvers.scheduling.cpsat.solve_schedule``)."""

JSSP_TEXTBOOK = "cpsat-textbook"
"""Plain CP-SAT on the OR-Tools job-shop sample's model (:func:`textbook_solve`): the
reference the default is compared with."""


@dataclass(frozen=True)
class JsspAnswer:
    """What a job-shop solver returns, in the file's terms."""

    status: str
    starts: list[list[int]] | None  # per job and operation; None without a solution
    makespan: int | None = None  # as the solver computes it
    bound: float | None = None
    first_s: float | None = None
    notes: tuple[str, ...] = ()


def textbook_solve(data: jssp.JsspData, settings: RunSettings) -> JsspAnswer:
    """The textbook model (:func:`solvers.scheduling.textbook.solve_textbook`) on the
    file's numbers, with the run's time limit, workers and seed."""
    # Imported here: OR-Tools stays out of the other families' start-up.
    from solvers.scheduling import textbook

    result = textbook.solve_textbook(
        data.jobs,
        data.n_machines,
        settings.time_limit_s,
        workers=settings.workers,
        seed=settings.seed,
    )
    return JsspAnswer(
        result.status.value,
        result.starts,
        makespan=result.makespan,
        bound=result.bound,
        first_s=result.first_s,
    )


def _engine_solve(
    data: jssp.JsspData, problem: SchedulingProblem, settings: RunSettings
) -> JsspAnswer:
    """The scheduling back-end on the imported problem, its answer by job and operation,
    with notes where its placement disagrees with the file (not part of verification:
    the verifier reads machines and durations from the file)."""
    # Imported here: OR-Tools stays out of the other families' start-up.
    from solvers.scheduling import cpsat

    result = cpsat.solve_schedule(
        problem, settings.time_limit_s, workers=settings.workers, seed=settings.seed
    )
    notes = list(result.notes)
    if not result.placed:
        return JsspAnswer(result.status.value, None, notes=tuple(notes))
    starts: list[list[int]] = []
    for j, job in enumerate(problem.jobs):
        starts.append([])
        for k, o in enumerate(job.operations):
            placed = result.placed[o]
            starts[j].append(placed.start)
            machine, duration = data.jobs[j][k]
            if (placed.machine, placed.end - placed.start) != (machine, duration):
                notes.append(
                    f"job {j} operation {k} placed on machine {placed.machine} for "
                    f"{placed.end - placed.start}, the file says {machine} for {duration}"
                )
    return JsspAnswer(
        result.status.value,
        starts,
        makespan=result.makespan,
        bound=result.bound,
        first_s=result.first_s,
        notes=tuple(notes),
    )


class JsspFamily:
    """Job shop (JSPLIB: ft, la, abz, orb, swv, ta, ...): minimise the makespan with the
    scheduling engine, against plain CP-SAT on the textbook model."""

    name = "jssp"

    def solvers(self) -> list[str]:
        return [JSSP_DEFAULT, JSSP_TEXTBOOK]

    def default_solver(self) -> str:
        return JSSP_DEFAULT

    def load(self, entry: BenchEntry) -> BenchCase:
        data = jssp.read(entry.path, name=entry.name)
        for key, found in (("n_jobs", data.n_jobs), ("n_machines", data.n_machines)):
            expected = entry.record.get(key)
            if expected is not None and expected != found:
                raise ValueError(f"{entry.path}: {key} is {found}, the index says {expected}")
        return _JsspCase(data, to_problem(data))


@dataclass(frozen=True)
class _JsspCase:
    data: jssp.JsspData
    problem: SchedulingProblem

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        # Imports the back-ends once, outside the timed call (and only for this family:
        # OR-Tools stays out of the others' start-up).
        import solvers.scheduling.cpsat
        import solvers.scheduling.textbook  # noqa: F401

        if solver == JSSP_DEFAULT:
            start = time.perf_counter()
            answer = _engine_solve(self.data, self.problem, settings)
        elif solver == JSSP_TEXTBOOK:
            start = time.perf_counter()
            answer = textbook_solve(self.data, settings)
        else:
            raise ValueError(
                f"unknown solver '{solver}' for family jssp "
                f"(available: {JSSP_DEFAULT}, {JSSP_TEXTBOOK})"
            )
        wall = time.perf_counter() - start
        return self._attempt(answer, wall)

    def _attempt(self, answer: JsspAnswer, wall: float) -> Attempt:
        notes = list(answer.notes)
        if answer.starts is None:
            check = Verification(False, None)
        else:
            makespan, problems = jssp.verify(self.data, answer.starts)
            check = Verification(not problems, None if problems else makespan, tuple(problems))
            if not problems and answer.makespan is not None and answer.makespan != makespan:
                # Not part of the verification: the solver's own value of its schedule.
                notes.append(f"solver reports makespan {answer.makespan}, the verifier {makespan}")
        if (
            answer.bound is not None
            and check.objective is not None
            and answer.bound > check.objective
        ):
            notes.append(f"solver bound {answer.bound:g} above its verified makespan: check")
        return Attempt(
            status=answer.status,
            wall_s=wall,
            verification=check,
            notes=tuple(notes),
            bound=answer.bound,
            first_s=answer.first_s,
        )
