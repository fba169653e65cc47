"""The Lagrangian bound prices the material rows too (docs/model.md, "Materials"): on
generated instances with material rows it stays below the proven optimum, and where
the materials bind (their prices rise far) it is higher than the same bound without
the material rows. (Subgradient ascent is a heuristic: where they hardly bind, as in
seed 10, the two come out within about 1 % of each other, either way.)"""

from __future__ import annotations

from dataclasses import replace

import pytest

from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from matcher.generate import generate
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.problem import build_problem

EXACT = SolveParams(workers=1, time_limit_s=20, strategy="full", feedback=False, sharing=False)


@pytest.mark.parametrize(("seed", "binding"), [(10, False), (17, True), (19, True)])
def test_the_bound_with_material_prices_stays_below_the_optimum(seed: int, binding: bool) -> None:
    instance = generate(30, 8, 10, seed=seed)
    problem = build_problem(instance)
    assert problem.materials  # the case under test: material rows that can bind
    exact = plan(instance, EXACT)
    stage = exact.stages[0]
    assert stage.status is SolveStatus.OPTIMAL and stage.objective is not None
    served = {a.order for a in exact.allocations}
    assert all(o.order.id in served for o in problem.orders if o.order.mandatory)
    priced = LagrangianBound(problem)
    bound = priced.compute(stage.objective + 1, iterations=300, time_limit_s=1e9)
    assert bound <= stage.objective
    assert any(x > 0 for row in priced.material_multipliers for x in row)
    if binding:
        without = LagrangianBound(replace(problem, materials=[]))
        assert without.compute(stage.objective + 1, iterations=300, time_limit_s=1e9) < bound
