"""Re-solves of a few orders (transfers, explain's moves) keep the fairness options over
the whole plan (docs/fairness.md), on the hand-checked instance of
tests/fairness_options_data.py."""

from __future__ import annotations

from matcher.domain.params import SolveParams
from solvers.assignment.base import Part
from solvers.assignment.problem import AssignmentProblem, build_problem
from solvers.sharing.move import resolve_forced
from solvers.sharing.resolve import by_order, residual, resolve
from tests.fairness_options_data import fairness_instance

PARAMS = SolveParams(workers=1, seed=0)


def capped_plan(problem: AssignmentProblem) -> list[Part]:
    """The optimum under a 50 % units cap, by hand: O1, O2 at F1 and O3, O4 at F2."""
    parts = []
    for info in problem.orders:
        factory = "F1" if info.order.id in ("O1", "O2") else "F2"
        k = next(
            k
            for k in info.candidates
            if problem.instance.factories[problem.candidates[k].factory].id == factory
        )
        parts.append(Part(k, {1: 10}))
    return parts


def test_a_transfer_re_solve_does_not_break_the_share_cap_to_save_money() -> None:
    problem = build_problem(fairness_instance(fairness={"max_share": 0.5}))
    parts = capped_plan(problem)
    plan = by_order(problem, parts)
    at_f2 = [o for o, ps in plan.items() if problem.candidates[ps[0].candidate].factory == 1]
    res = resolve(problem, plan, at_f2, residual(problem, parts, set(at_f2)), PARAMS, 2.0)
    # F1 has room for both (a saving of 2 x 10 x 2 cents), but would hold 100 % > 50 %.
    assert res.saving == 0 and res.optimal
    uncapped = build_problem(fairness_instance())
    plan = by_order(uncapped, capped_plan(uncapped))
    free = resolve(uncapped, plan, at_f2, residual(uncapped, parts, set(at_f2)), PARAMS, 2.0)
    assert free.saving == 40  # without the cap the same re-solve moves them


def test_explains_forced_move_keeps_the_cap_too() -> None:
    problem = build_problem(fairness_instance(fairness={"max_share": 0.5}))
    parts = capped_plan(problem)
    plan = by_order(problem, parts)
    o3 = next(i.index for i in problem.orders if i.order.id == "O3")
    f1 = next(k for k in problem.orders[o3].candidates if problem.candidates[k].factory == 0)
    forced = resolve_forced(
        problem, plan, [o3], residual(problem, parts, {o3}), PARAMS, 2.0, {o3: [f1]}
    )
    assert forced.parts == []  # O3 at F1 would give F1 30 of 40 units: no such plan
