"""The Lagrangian bound's ascent on working sets of candidates
(solvers/assignment/bound.py, ``compute(..., working_sets=True)``): its steps run over
each order's few cheapest candidates and those the whole pricing finds cheaper, and
its bound is the whole relaxation's value at the multipliers it reaches, so it is as
valid as the whole ascent's."""

from __future__ import annotations

import numpy as np
import pytest

import solvers.assignment.bound as bound_module
from matcher.generate import generate
from solvers.assignment.base import objective_of
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import AssignmentProblem, build_problem


def _problem(seed: int) -> tuple[AssignmentProblem, float]:
    """200 orders, 150 factories, 14 periods: 8-9 candidates an order."""
    problem = build_problem(generate(200, 150, 14, seed=seed))
    return problem, objective_of(problem, greedy_parts(problem))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bound_is_the_whole_relaxation_at_its_multipliers(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bound_module, "WORKING_ABOVE", 0.0)
    problem, incumbent = _problem(seed)
    for capped in (False, True):
        relaxation = LagrangianBound(problem, capped=capped)
        bound = relaxation.compute(incumbent, iterations=60, time_limit_s=1e9, working_sets=True)
        assert bound <= incumbent
        assert relaxation.iterations <= 62  # whole iterations of work, rounded up
        if capped:
            continue
        lam = np.zeros((len(problem.resources) + 1, problem.periods))
        lam[:-1] = relaxation.multipliers
        assert (lam >= 0).all()
        assert all(x >= 0 for row in relaxation.material_multipliers for x in row)
        value, _, _ = relaxation.value(
            lam,
            relaxation.material_multipliers,
            False,
            relaxation.penalty,
            relaxation.unplaceable,
        )
        assert bound == int(np.floor(value - 1e-9 * abs(value)))


@pytest.mark.parametrize("seed", [1, 2])
def test_working_sets_rise_at_least_as_high_for_the_same_work(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncapped, 40 and 400 whole iterations' worth of work (measured, seed 1: 19 457 879
    433 -> 19 843 237 248 and 19 457 879 433 -> 19 984 655 858; seed 2: 51 865 155 158 ->
    51 958 288 477 and 52 112 088 495 -> 52 140 187 536)."""
    monkeypatch.setattr(bound_module, "WORKING_ABOVE", 0.0)
    problem, incumbent = _problem(seed)
    for iterations in (40, 400):
        whole, working = (
            LagrangianBound(problem, capped=False).compute(
                incumbent, iterations=iterations, time_limit_s=1e9, working_sets=sets
            )
            for sets in (False, True)
        )
        assert whole <= working <= incumbent


def test_few_candidates_an_order_ascend_as_before() -> None:
    """Below ``WORKING_ABOVE`` candidates an order the option changes nothing."""
    problem = build_problem(generate(40, 10, 10, seed=1))
    incumbent = objective_of(problem, greedy_parts(problem))
    with_sets, without = (
        LagrangianBound(problem).compute(
            incumbent, iterations=40, time_limit_s=1e9, working_sets=sets
        )
        for sets in (True, False)
    )
    assert with_sets == without
