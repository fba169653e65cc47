"""The fairness options and the load-balance term in the assignment back-ends
(docs/fairness.md), on the hand-checked instance of ``tests/fairness_options_data.py``."""

from __future__ import annotations

from collections import Counter

import pytest

from matcher.domain.entities import FairnessOptions, Process
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.generate import generate
from solvers.assignment.base import AssignmentResult, get_backend, objective_of
from solvers.assignment.diagnose import explain_unserved
from solvers.assignment.fairness import fairness_cost, spread, tally, terms
from solvers.assignment.greedy import capped_greedy_parts
from solvers.assignment.problem import AssignmentProblem, build_problem
from tests.fairness_options_data import fairness_instance

EXACT = ["cpsat", "mip-highs"]


def _solve(problem: AssignmentProblem, solver: str, strategy: str = "full") -> AssignmentResult:
    params = SolveParams(time_limit_s=10, workers=1, seed=0, strategy=strategy)
    return get_backend(solver).solve(problem, params)


def _orders_at(problem: AssignmentProblem, result: AssignmentResult) -> dict[str, int]:
    """Orders per factory id."""
    count: Counter[str] = Counter()
    for p in result.parts:
        count[problem.instance.factories[problem.candidates[p.candidate].factory].id] += 1
    return dict(count)


def _with_load_balance(weight: int) -> Instance:
    inst = fairness_instance()
    return inst.model_copy(
        update={"weights": inst.weights.model_copy(update={"load_balance": weight})}
    )


@pytest.mark.parametrize("solver", EXACT)
def test_without_options_every_order_goes_to_the_cheapest_factory(solver: str) -> None:
    problem = build_problem(fairness_instance())
    result = _solve(problem, solver)
    assert _orders_at(problem, result) == {"F1": 4}
    assert result.objective == 400


def test_options_that_are_all_off_leave_the_problem_as_without_fairness() -> None:
    inst = fairness_instance()
    off = build_problem(inst, fairness=FairnessOptions())
    plain = build_problem(inst)
    assert off.fairness is None and plain.fairness is None
    assert off.mandatory_penalty == plain.mandatory_penalty


@pytest.mark.parametrize(
    ("options", "expected", "objective"),
    [
        (FairnessOptions(max_share=0.5), {"F1": 2, "F2": 2}, 440),
        (FairnessOptions(min_work=10, min_work_penalty=100), {"F1": 2, "F2": 1, "F3": 1}, 520),
        (FairnessOptions(min_work=10, min_work_penalty=5), {"F1": 3, "F2": 1}, 470),
        (FairnessOptions(min_work=10, min_work_hard=True), {"F1": 2, "F2": 1, "F3": 1}, 520),
        (
            FairnessOptions(exploration_share=0.25, exploration_penalty=100),
            {"F1": 3, "F3": 1},
            500,
        ),
    ],
    ids=["max-share", "min-work-soft", "min-work-cheap-penalty", "min-work-hard", "exploration"],
)
@pytest.mark.parametrize("solver", EXACT)
def test_each_option_moves_the_orders_as_worked_out_by_hand(
    solver: str, options: FairnessOptions, expected: dict[str, int], objective: int
) -> None:
    problem = build_problem(fairness_instance(), fairness=options)
    result = _solve(problem, solver)
    assert _orders_at(problem, result) == expected
    assert result.objective == objective == objective_of(problem, result.parts)


@pytest.mark.parametrize("solver", EXACT)
def test_the_load_balance_weight_narrows_the_utilisation_spread(solver: str) -> None:
    problem = build_problem(_with_load_balance(10))
    assert problem.fairness is not None
    result = _solve(problem, solver)
    assert _orders_at(problem, result) == {"F1": 2, "F2": 1, "F3": 1}
    assert (
        spread(problem.fairness, tally(problem.fairness, problem.candidates, result.parts).used)
        == 18
    )
    assert objective_of(problem, result.parts) == 700
    cheapest = build_problem(fairness_instance())
    everything_at_f1 = _solve(cheapest, solver).parts
    assert (
        spread(problem.fairness, tally(problem.fairness, problem.candidates, everything_at_f1).used)
        == 67
    )


def test_the_instance_s_fairness_applies_unless_a_solve_overrides_it() -> None:
    inst = fairness_instance(fairness={"max_share": 0.5})
    problem = build_problem(inst)
    assert _orders_at(problem, _solve(problem, "cpsat")) == {"F1": 2, "F2": 2}
    override = build_problem(inst, fairness=FairnessOptions())
    assert override.fairness is None


@pytest.mark.parametrize("strategy", ["core", "lns"])
def test_the_core_and_lns_strategies_keep_the_share_cap(strategy: str) -> None:
    problem = build_problem(fairness_instance(), fairness=FairnessOptions(max_share=0.5))
    result = _solve(problem, "cpsat", strategy)
    assert problem.fairness is not None
    assert terms(
        problem.fairness, tally(problem.fairness, problem.candidates, result.parts)
    ).feasible
    assert result.objective == 440


def test_lns_counts_fairness_over_the_whole_plan_when_it_improves() -> None:
    options = FairnessOptions(min_work=10, min_work_penalty=100)
    problem = build_problem(fairness_instance(), fairness=options)
    result = _solve(problem, "cpsat", "lns")
    assert result.objective == objective_of(problem, result.parts) == 520
    assert fairness_cost(problem.fairness, problem.candidates, result.parts) == 0


@pytest.mark.parametrize("solver", ["greedy", "joint"])
def test_a_back_end_without_fairness_refuses_naming_the_option(solver: str) -> None:
    problem = build_problem(fairness_instance(), fairness=FairnessOptions(max_share=0.5))
    backend = get_backend(solver)
    why = backend.unsupported_reason(problem, SolveParams())
    assert not backend.supports(problem, SolveParams())
    assert why is not None and "max_share" in why


def test_the_greedy_refuses_the_load_balance_weight_by_its_name() -> None:
    problem = build_problem(_with_load_balance(10))
    why = get_backend("greedy").unsupported_reason(problem, SolveParams())
    assert why is not None and "weights.load_balance" in why


def test_lns_refuses_a_hard_minimum_it_has_no_plan_to_start_from() -> None:
    problem = build_problem(
        fairness_instance(), fairness=FairnessOptions(min_work=10, min_work_hard=True)
    )
    why = get_backend("cpsat").unsupported_reason(problem, SolveParams(strategy="lns"))
    assert why is not None and "min_work_hard" in why


@pytest.mark.parametrize("solver", EXACT)
def test_an_unreachable_hard_minimum_makes_the_solve_infeasible(solver: str) -> None:
    # 4 orders of 10 units cannot give three factories 20 units each.
    problem = build_problem(
        fairness_instance(), fairness=FairnessOptions(min_work=20, min_work_hard=True)
    )
    result = _solve(problem, solver)
    assert result.parts == []
    assert result.status.value in ("INFEASIBLE", "TIME_LIMIT", "UNKNOWN")


def test_hours_and_revenue_count_machine_seconds_and_production_cents() -> None:
    hours = build_problem(
        fairness_instance(), fairness=FairnessOptions(max_share=0.5, share_measure="hours")
    )
    revenue = build_problem(
        fairness_instance(), fairness=FairnessOptions(max_share=0.5, share_measure="revenue")
    )
    assert hours.fairness is not None and revenue.fairness is not None
    assert hours.fairness.scale == 3600 and set(hours.fairness.coef) == {60}
    assert sorted(set(revenue.fairness.coef)) == [10, 12, 20]


def test_the_warm_start_keeps_the_share_cap_without_emptying_the_plan() -> None:
    problem = build_problem(fairness_instance(), fairness=FairnessOptions(max_share=0.5))
    assert problem.fairness is not None
    warm = capped_greedy_parts(problem)
    assert terms(problem.fairness, tally(problem.fairness, problem.candidates, warm)).feasible
    assert len(warm) == 4  # every order served, two factories with 20 units each


def test_an_order_the_share_cap_keeps_out_says_so_in_its_reason() -> None:
    # Only F1 may make orders (F2 and F3 lack the capability): a cap of 0.5 lets it
    # hold nothing, and every order's reason names the cap.
    inst = fairness_instance()
    factories = [inst.factories[0]] + [
        f.model_copy(
            update={"capabilities": [c.model_copy(update={"process": "q"}) for c in f.capabilities]}
        )
        for f in inst.factories[1:]
    ]
    inst = inst.model_copy(
        update={"factories": factories, "processes": [*inst.processes, Process(id="q")]}
    )
    problem = build_problem(inst, fairness=FairnessOptions(max_share=0.5))
    result = _solve(problem, "cpsat")
    assert result.parts == []
    reasons = explain_unserved(problem, result.parts, result.status)
    assert all("above the fairness cap 0.5" in detail for _, detail in reasons.values())


@pytest.mark.parametrize("strategy", ["lns", "core", "full"])
def test_the_objective_reported_is_the_plan_s_own_with_every_fairness_term(strategy: str) -> None:
    # CP-SAT may stop with a fairness variable above its least value (within its gap):
    # the back-end reports what its plan costs, not that figure.
    inst = generate(60, 8, 7, 3)
    inst = inst.model_copy(
        update={"weights": inst.weights.model_copy(update={"load_balance": 1000})}
    )
    options = FairnessOptions(max_share=0.3, min_work=100, exploration_share=0.1)
    problem = build_problem(inst, fairness=options)
    params = SolveParams(time_limit_s=2, workers=1, seed=0, strategy=strategy)
    result = get_backend("cpsat").solve(problem, params)
    assert result.parts
    assert result.objective == objective_of(problem, result.parts)
    assert result.best_bound is None or result.best_bound <= result.objective
    assert problem.fairness is not None
    assert terms(
        problem.fairness, tally(problem.fairness, problem.candidates, result.parts)
    ).feasible
