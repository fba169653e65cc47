"""Large-neighbourhood search with two workers on wall-clock limits: two neighbourhoods
in flight at once, one CP-SAT worker each (:meth:`Lns._steps_two`). Whatever order
they finish in, the plan stays feasible and its objective is the plan's own; a
neighbourhood solved against a capacity the plan has since used is not adopted."""

from __future__ import annotations

import threading
import time

import pytest
from ortools.sat.python import cp_model

from matcher.domain.params import SolveParams
from matcher.generate import generate
from solvers.assignment.base import objective_of
from solvers.assignment.greedy import Capacity, greedy_parts
from solvers.assignment.lns import Lns
from solvers.assignment.problem import AssignmentProblem, build_problem


@pytest.fixture(scope="module")
def problem() -> AssignmentProblem:
    """300 orders at 30 factories over 14 periods, with materials: neighbourhoods of
    50 orders leave room for a second one apart."""
    return build_problem(generate(300, 30, 14, seed=5, hubs=False))


def test_two_neighbourhoods_in_flight_keep_the_plan_feasible_and_its_cost_right(
    problem: AssignmentProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    flying, most = 0, 0
    lock = threading.Lock()
    solve = cp_model.CpSolver.solve

    def counted(solver: cp_model.CpSolver, *args: object) -> cp_model.CpSolverStatus:
        nonlocal flying, most
        with lock:
            flying += 1
            most = max(most, flying)
        try:
            return solve(solver, *args)  # type: ignore[arg-type]
        finally:
            with lock:
                flying -= 1

    monkeypatch.setattr(cp_model.CpSolver, "solve", counted)
    greedy = greedy_parts(problem)
    lns = Lns(problem, greedy, SolveParams(workers=2, seed=0, time_limit_s=10))
    assert lns.pairs
    lns.run(time.perf_counter() + 3)
    assert most == 2  # two CP-SAT solves ran at once
    assert lns.stats.improvements > 0
    assert lns.objective == objective_of(problem, lns.parts) < objective_of(problem, greedy)
    # Every part fits beside the others: seconds, buyer caps and materials.
    cap = Capacity(problem)
    for p in lns.parts:
        cand = problem.candidates[p.candidate]
        assert cap.fits(cand, p.quantities), p
        cap.take(cand, p.quantities)
    # And the search's own bookkeeping is that plan's.
    assert cap.free == lns.cap.free


def test_parts_that_no_longer_fit_are_not_refitted(problem: AssignmentProblem) -> None:
    """A neighbourhood's parts are adopted after another was only if they fit the
    capacity the plan leaves now (:meth:`Lns._refit`)."""
    lns = Lns(problem, greedy_parts(problem), SolveParams(workers=2, seed=0))
    order, parts = next((o, ps) for o, ps in sorted(lns.assigned.items()) if ps)
    assert lns._refit([order], parts) is not None  # its own parts fit in their place
    part = parts[0]
    for u in problem.candidates[part.candidate].usage:  # another order took that time
        for t in part.quantities:
            lns.cap.free[u.resource][t] -= 10**9
    assert lns._refit([order], parts) is None


def test_a_neighbourhood_adopted_after_the_plan_changed_is_priced_as_the_plan_is_now(
    problem: AssignmentProblem,
) -> None:
    """Between a neighbourhood's build and its adoption, another change (a descent, on
    GAP-shaped problems) may have moved its own orders: its gain is counted from their
    parts as they are now, so the search's objective stays the plan's."""
    lns = Lns(problem, greedy_parts(problem), SolveParams(workers=2, seed=0))
    sub = lns._prepare()
    assert sub is not None
    solver = lns._solver(10.0, 1)
    code = solver.solve(sub.model)
    # Meanwhile one of its orders is taken out of the plan.
    order = next(o for o in sub.orders if lns.assigned.get(o))
    for p in lns.assigned.pop(order):
        cand = problem.candidates[p.candidate]
        lns.cap.give_back(cand, p.quantities)
        lns.at_factory[cand.factory].discard(order)
    lns.objective = objective_of(problem, lns.parts)
    assert lns._adopt_sub(sub, solver, code, stale=True)
    assert lns.objective == objective_of(problem, lns.parts)
