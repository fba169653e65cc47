"""The LNS's last step (solvers/assignment/lns.py ``Lns.fill``): an unserved order that
fits in the capacity the plan leaves, for less than its penalty, is placed, and the
objective it keeps track of stays the plan's own."""

from __future__ import annotations

from matcher.domain.entities import FairnessOptions
from matcher.domain.params import SolveParams
from matcher.generate import generate
from solvers.assignment.base import Part, objective_of
from solvers.assignment.greedy import cost, greedy_parts
from solvers.assignment.lns import Lns
from solvers.assignment.problem import AssignmentProblem, build_problem


def _dropped(problem: AssignmentProblem) -> tuple[list[Part], int]:
    """The greedy plan without its first optional order served for less than its
    penalty, and that order."""
    parts = greedy_parts(problem)
    for p in parts:
        cand = problem.candidates[p.candidate]
        info = problem.orders[cand.order]
        mine = [q for q in parts if problem.candidates[q.candidate].order == info.index]
        spent = sum(cost(problem, problem.candidates[q.candidate], q.quantities) for q in mine)
        if not info.order.mandatory and spent < problem.unserved_cost(info.index):
            return [q for q in parts if q not in mine], info.index
    raise AssertionError("no optional order is served")


def test_an_unserved_order_that_fits_is_placed_and_the_objective_stays_exact() -> None:
    problem = build_problem(generate(40, 10, 14, seed=3))
    parts, order = _dropped(problem)
    lns = Lns(problem, parts, SolveParams(workers=1, seed=0))
    before = lns.objective
    assert before == objective_of(problem, parts)
    assert lns.fill() >= 1
    served = {problem.candidates[p.candidate].order for p in lns.parts}
    assert order in served
    assert lns.objective == objective_of(problem, lns.parts) < before
    assert lns.stats.filled_saving == before - lns.objective
    assert lns.fill() == 0  # nothing left that fits and pays


def test_fairness_terms_leave_the_placing_to_the_search() -> None:
    # Fairness makes the objective more than a sum over orders: no order is placed.
    instance = generate(40, 10, 14, seed=3)
    problem = build_problem(instance, fairness=FairnessOptions(max_share=0.5))
    parts, _ = _dropped(problem)
    lns = Lns(problem, parts, SolveParams(workers=1, seed=0))
    assert lns.fill() == 0
    assert lns.parts == parts
