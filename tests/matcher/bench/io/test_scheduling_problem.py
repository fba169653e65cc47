"""A JSPLIB job shop as the scheduling engine's problem
(:mod:`matcher.bench.io.scheduling_problem`)."""

from __future__ import annotations

import pytest

from matcher.bench.io import jssp
from matcher.bench.io.jssp import JsspData
from matcher.bench.io.scheduling_problem import to_problem
from solvers.scheduling.problem import Objective
from tests.conftest import DATA

FT06 = DATA / "jssp" / "ft06.txt"


@pytest.fixture(scope="module")
def ft06() -> JsspData:
    return jssp.read(FT06)


def test_to_problem_maps_each_job_onto_a_chain_of_single_mode_operations(ft06: JsspData) -> None:
    problem = to_problem(ft06)
    assert problem.validate() == []
    assert (problem.name, problem.objective, problem.horizon) == ("ft06", Objective.MAKESPAN, 197)
    assert [m.id for m in problem.machines] == [f"M{i}" for i in range(6)]
    assert len(problem.operations) == 36
    for j, job in enumerate(problem.jobs):
        assert (job.id, job.operations) == (f"J{j}", tuple(range(6 * j, 6 * j + 6)))
        assert (job.release, job.due, job.lags) == (0, None, ())
        for k, o in enumerate(job.operations):
            op = problem.operations[o]
            assert op.job == j and op.name == f"J{j}.{k}"
            assert [(mode.machine, mode.duration) for mode in op.modes] == [ft06.jobs[j][k]]
    assert all(not m.breaks and not m.setups for m in problem.machines)
