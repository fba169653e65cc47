"""The LP relaxation and the reduced-cost core: valid bounds, exact pruning that
keeps every optimal candidate, and a core solve that agrees with the whole model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from solvers.assignment.cpsat import CpSatBackend
from solvers.assignment.problem import build_problem
from solvers.assignment.relaxation import core_size, solve_relaxation
from tests.test_property import COMMON, instances


def full_optimum(instance: Instance) -> tuple[float, set[int]]:
    """Internal optimum of the whole model and the candidates its plan uses."""
    problem = build_problem(instance)
    params = SolveParams(workers=1, time_limit_s=10, strategy="full")
    result = CpSatBackend().solve(problem, params)
    assert result.status == SolveStatus.OPTIMAL and result.objective is not None
    return result.objective, {p.candidate for p in result.parts}


@settings(COMMON, max_examples=40)
@given(instance=instances())
def test_lp_bound_never_exceeds_the_optimum_and_the_exact_core_keeps_the_optimal_plan(
    instance: Instance,
) -> None:
    problem = build_problem(instance)
    optimum, used = full_optimum(instance)
    for hard in (True, False):
        relax = solve_relaxation(problem, hard, 10)
        if relax.bound is None:
            continue  # e.g. no LP plan serves every mandatory order
        assert relax.bound <= optimum + 1e-6
        kept = {k for ks in relax.exact_core(optimum + 1).values() for k in ks}
        assert used <= kept


@settings(COMMON, max_examples=40)
@given(instance=instances())
def test_the_core_strategy_proves_the_same_optimum_as_the_whole_model(
    instance: Instance,
) -> None:
    params = SolveParams(workers=1, time_limit_s=10)
    full = plan(instance, params.model_copy(update={"strategy": "full"}))
    core = plan(instance, params.model_copy(update={"strategy": "core"}))
    assert core.status == SolveStatus.OPTIMAL
    assert core.costs.objective == full.costs.objective
    assert core.stages[0].best_bound == pytest.approx(core.stages[0].objective)


def test_the_heuristic_core_keeps_the_requested_number_of_candidates_per_order() -> None:
    from matcher.generate import generate

    problem = build_problem(generate(orders=40, factories=12, periods=7, seed=3))
    relax = solve_relaxation(problem, False, 10)
    assert relax.bound is not None
    core = relax.core(2, keep=set())
    for order, ks in core.items():
        candidates = problem.orders[order].candidates
        assert set(ks) <= set(candidates)
        assert len(ks) >= min(2, len(candidates))
        # the two smallest reduced costs are in
        ranked = sorted(candidates, key=lambda k: (relax.reduced.get(k, 0.0), k))
        assert set(ranked[:2]) <= set(ks)
    assert core_size(problem, core) <= problem.size
