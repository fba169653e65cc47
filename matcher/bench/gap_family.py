"""The ``gap`` family: generalised assignment files solved by the assignment engine.

Each file is mapped onto the domain model (:mod:`matcher.bench.io.gap`) and solved
through the same pipeline as any instance, so the real engine is measured; the answer
is then read back as an assignment and verified on the file's matrices alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from matcher.app.pipeline import plan
from matcher.bench.family import Attempt, BenchCase, BenchEntry, RunSettings, Verification
from matcher.bench.io.gap import (
    GapData,
    assignment_from_plan,
    engine_costs,
    evaluate,
    read_gap,
    to_instance,
)
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from solvers.assignment.base import available, get_backend


class GapFamily:
    """Generalised assignment (OR-Library, Yagiura) through the assignment engine."""

    name = "gap"

    def solvers(self) -> list[str]:
        return available()

    def default_solver(self) -> str:
        return SolveParams().assignment_solver

    def load(self, entry: BenchEntry) -> BenchCase:
        if entry.file_format is None:
            raise ValueError("gap entry without a 'file_format'")
        data = read_gap(
            entry.path,
            entry.file_format,
            entry.problem_index,
            maximise=entry.sense == "max",
            name=entry.name,
        )
        return _GapCase(data, to_instance(data))


@dataclass(frozen=True)
class _GapCase:
    data: GapData
    instance: Instance

    def solve(self, solver: str, settings: RunSettings) -> Attempt:
        params = SolveParams(
            assignment_solver=solver,
            time_limit_s=settings.time_limit_s,
            seed=settings.seed,
            workers=settings.workers,
        )
        get_backend(solver)  # imports the back-end once, outside the timed call
        start = time.perf_counter()
        result = plan(self.instance, params)
        wall = time.perf_counter() - start
        given = assignment_from_plan(self.data, result)
        check = evaluate(self.data, given)
        notes: list[str] = []
        if check.feasible:
            # Not part of the verification: a cross-check of the engine's own cost
            # accounting against the costs it was given.
            costs = engine_costs(self.data)
            expected = sum(costs[agents[0]][j] for j, agents in enumerate(given))
            if result.costs.objective != expected:
                notes.append(
                    f"engine reports cost {result.costs.objective}, its unit costs give {expected}"
                )
        return Attempt(
            status=result.stages[0].status.value,
            wall_s=wall,
            verification=Verification(check.feasible, check.objective, tuple(check.violations)),
            notes=tuple(notes),
        )
