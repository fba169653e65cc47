"""The relaxed solve behind "what it would take" (solvers/sharing/unconstrained.py)."""

from __future__ import annotations

from matcher.domain.params import SolveParams
from matcher.domain.plan import ReasonCode, SolveStatus
from matcher.generate.generator import generate
from solvers.assignment.cpsat_model import build_model
from solvers.assignment.problem import build_problem
from solvers.sharing.unconstrained import relaxed_problem, solve_relaxed
from tests.short_data import short_instance


def test_the_default_model_has_no_overtime() -> None:
    problem = build_problem(short_instance())
    _, v = build_model(problem, hard_mandatory=False)
    assert v.overtime == {}


def test_the_relaxed_problem_keeps_the_real_free_capacity_and_cuts_windows_at_due() -> None:
    problem, apart = relaxed_problem(short_instance())
    assert [r.free_seconds for r in problem.resources] == [(480 * 60, 300 * 60, 480 * 60)]
    m = problem.orders[0]
    assert [(problem.candidates[k].first, problem.candidates[k].last) for k in m.candidates] == [
        (1, 1)
    ]
    assert apart[2][0] == ReasonCode.MATERIAL_UNAVAILABLE


def test_the_relaxed_solve_buys_the_missing_minutes_only() -> None:
    r = solve_relaxed(short_instance(), SolveParams(workers=1, seed=0), 2.0)
    assert r.status == SolveStatus.OPTIMAL
    assert r.overtime == {(0, 1): 330}
    assert r.load[(0, 1)] == 630 * 60
    assert r.served() == {0, 1}


def test_the_overtime_reported_is_what_the_placement_needs_on_a_generated_instance() -> None:
    instance = generate(30, 4, 8, seed=5)
    r = solve_relaxed(instance, SolveParams(workers=1, seed=0), 3.0)
    assert r.parts and r.overtime, r.status  # 25 rows need overtime here
    resources = r.problem.resources
    free = {(i, t): s for i, res in enumerate(resources) for t, s in enumerate(res.free_seconds)}
    need = {key: -(-(load - free[key]) // 60) for key, load in r.load.items() if load > free[key]}
    assert r.overtime == need
    assert r.bound is not None and r.objective is not None and r.bound <= r.objective
    assert r.objective >= r.price_per_minute * sum(r.overtime.values())
