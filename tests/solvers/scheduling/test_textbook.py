"""The textbook CP-SAT job-shop model kept as the benchmark reference
(:mod:`solvers.scheduling.textbook`)."""

from __future__ import annotations

from matcher.domain.plan import SolveStatus
from solvers.scheduling.textbook import solve_textbook

# Two jobs on two machines. Job 0: 3 on M0, then 2 on M1; job 1: 4 on M1, then 1 on M0.
# M1 carries 6, and starts [[0, 4], [0, 4]] reach it: the optimum is 6.
TINY = (((0, 3), (1, 2)), ((1, 4), (0, 1)))


def test_the_textbook_model_proves_a_tiny_optimum_and_returns_starts_by_job() -> None:
    result = solve_textbook(TINY, 2, 5, workers=1, seed=0)
    assert result.status == SolveStatus.OPTIMAL
    assert (result.makespan, result.bound) == (6, 6.0)
    assert result.starts is not None and [len(s) for s in result.starts] == [2, 2]
    (a0, a1), (b0, b1) = result.starts
    assert a1 >= a0 + 3 and b1 >= b0 + 4  # each job's operations in order
    assert max(a1 + 2, b1 + 1) == 6
    assert result.first_s is not None and result.first_s >= 0


def test_a_machine_no_job_visits_is_allowed() -> None:
    result = solve_textbook((((0, 2),),), 3, 5, workers=1, seed=0)
    assert (result.status, result.starts, result.makespan) == (SolveStatus.OPTIMAL, [[0]], 2)


def test_the_same_seed_and_one_worker_give_the_same_schedule() -> None:
    runs = [solve_textbook(TINY, 2, 5, workers=1, seed=3).starts for _ in range(2)]
    assert runs[0] == runs[1]
