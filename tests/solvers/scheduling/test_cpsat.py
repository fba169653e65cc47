from __future__ import annotations

from matcher.domain.plan import SolveStatus
from solvers.scheduling.cpsat import Placed, dispatch, earliest_fit, measure, solve_schedule
from solvers.scheduling.problem import Job, Machine, Mode, Objective, Operation, SchedulingProblem


def _solve(problem: SchedulingProblem) -> list[Placed]:
    result = solve_schedule(problem, 5, workers=1, seed=0)
    assert result.status == SolveStatus.OPTIMAL
    return result.placed


def test_a_transfer_lag_delays_the_next_operation() -> None:
    # Job A: 3 on M0, then (after a transfer of 5) 2 on M1.
    problem = SchedulingProblem(
        [Machine("M0"), Machine("M1")],
        [Job("A", (0, 1), lags=(5,))],
        [Operation(0, (Mode(0, 3),)), Operation(0, (Mode(1, 2),))],
        horizon=100,
    )
    placed = _solve(problem)
    assert (placed[0].start, placed[0].end) == (0, 3)
    assert (placed[1].start, placed[1].end) == (8, 10)


def test_an_operation_never_spans_a_calendar_gap() -> None:
    # M0 works [0, 8) and [16, 24): a 6-long operation released at 4 waits until 16.
    problem = SchedulingProblem(
        [Machine("M0", breaks=((8, 16),))],
        [Job("A", (0,), release=4)],
        [Operation(0, (Mode(0, 6),))],
        horizon=24,
    )
    assert (_solve(problem)[0].start, _solve(problem)[0].end) == (16, 22)
    assert earliest_fit(4, 6, ((8, 16),)) == 16
    assert earliest_fit(0, 6, ((8, 16),)) == 0


def test_setups_between_families_order_the_machine() -> None:
    # Families 0, 1, 0 on one machine; switching costs 10, staying costs nothing:
    # the two family-0 operations run together, one setup in all: makespan 3 + 10 + 3.
    setups = {(0, 1): 10, (1, 0): 10}
    problem = SchedulingProblem(
        [Machine("M0", setups=setups)],
        [Job("A", (0,)), Job("B", (1,)), Job("C", (2,))],
        [
            Operation(0, (Mode(0, 1),), family=0),
            Operation(1, (Mode(0, 1),), family=1),
            Operation(2, (Mode(0, 1),), family=0),
        ],
        horizon=100,
    )
    placed = _solve(problem)
    assert measure(problem, placed)[0] == 13
    first, second = sorted((p for p in placed if p.operation != 1), key=lambda p: p.start)
    assert second.start == first.end  # no setup between the family-0 pair


def test_alternative_machines_and_weighted_tardiness() -> None:
    # Two jobs due at 4 on two identical machines: both on time, one per machine.
    problem = SchedulingProblem(
        [Machine("M0"), Machine("M1")],
        [Job("A", (0,), due=4, weight=3), Job("B", (1,), due=4)],
        [Operation(0, (Mode(0, 4), Mode(1, 4))), Operation(1, (Mode(0, 4), Mode(1, 4)))],
        horizon=20,
        objective=Objective.TARDINESS,
    )
    placed = _solve(problem)
    assert {p.machine for p in placed} == {0, 1}
    assert measure(problem, placed) == (4, 0)


def test_the_dispatching_schedule_is_feasible_with_breaks_and_lags() -> None:
    problem = SchedulingProblem(
        [Machine("M0", breaks=((5, 10),)), Machine("M1")],
        [Job("A", (0, 1), lags=(2,)), Job("B", (2, 3), release=1)],
        [
            Operation(0, (Mode(0, 4),)),
            Operation(0, (Mode(1, 3),)),
            Operation(1, (Mode(0, 3),)),
            Operation(1, (Mode(1, 2),)),
        ],
        horizon=100,
    )
    placed = dispatch(problem)
    on0 = sorted((p.start, p.end) for p in placed if p.machine == 0)
    assert all(e <= 5 or s >= 10 for s, e in on0)  # never across the break
    assert placed[1].start >= placed[0].end + 2
    assert placed[2].start >= 1


def test_malformed_problems_are_refused_with_reasons_not_exceptions() -> None:
    problem = SchedulingProblem(
        [Machine("M0")],
        [Job("A", (0, 5)), Job("B", (0,))],
        [Operation(0, (Mode(0, 3),)), Operation(1, (Mode(3, 1),))],
        horizon=10,
    )
    result = solve_schedule(problem, 1, workers=1)
    assert result.status == SolveStatus.UNKNOWN
    text = " ".join(result.notes)
    for what in ("does not exist", "listed by A and B", "belongs to no job", "bad mode"):
        assert what in text
