"""The Lagrangian bound's capped subproblem (solvers/assignment/bound.py): a (candidate,
period) holds at most the units that fit there on an empty factory, so an order of
many units is priced over several periods (or factories, when it may be split), not
all at its cheapest period. Checked against a fill computed here from the problem's
own rules, against the proven optimum, and against the uncapped relaxation (a capped
bound ascends uncapped first, then capped: it never ends below the uncapped ascent)."""

from __future__ import annotations

import math

import pytest

import solvers.assignment.bound as bound_module
from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from matcher.generate import generate
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.problem import AssignmentProblem, build_problem, units_fitting
from tests.sharing_data import factory, instance, order

EXACT = SolveParams(workers=1, time_limit_s=20, strategy="full", feedback=False, sharing=False)


def _fill(pairs: list[tuple[float, int]], quantity: int) -> float:
    """The cheapest cost of ``quantity`` units from (unit cost, cap) pairs."""
    cost, left = 0.0, quantity
    for unit_cost, cap in sorted(pairs):
        take = min(left, cap)
        cost += take * unit_cost
        left -= take
    return cost if left == 0 else math.inf


def _free_capacity_value(problem: AssignmentProblem) -> float:
    """The capped relaxation with every multiplier at 0, from the problem's rules: an
    order pays its penalty or fills its units from its cheapest (candidate, period)
    pairs, each holding what fits there (setup included) and at most the part's
    largest size and the order's quantity; from one candidate unless it may be split."""
    free = [r.free_seconds for r in problem.resources]
    total = 0.0
    for info in problem.orders:
        penalty = float(problem.unserved_cost(info.index))
        quantity = info.order.quantity
        by_candidate = []
        for k in info.candidates:
            cand = problem.candidates[k]
            by_candidate.append(
                [
                    (float(problem.unit_cost(cand, t)), min(fit, quantity))
                    for t in cand.periods
                    if (fit := units_fitting(free, cand, t, cand.hi)) > 0
                ]
            )
        if info.max_parts > 1:
            serve = _fill([p for pairs in by_candidate for p in pairs], quantity)
        else:
            serve = min((_fill(pairs, quantity) for pairs in by_candidate), default=math.inf)
        total += min(penalty, serve)
    return total


@pytest.mark.parametrize("seed", [1, 10])
def test_with_capacity_free_the_bound_is_the_fill_of_every_order(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bound_module, "FILL_ROUNDS", 10_000)  # every fill to its end
    problem = build_problem(generate(30, 8, 10, seed=seed))
    expected = _free_capacity_value(problem)
    got = LagrangianBound(problem).compute(expected * 2, iterations=1, time_limit_s=1e9)
    assert got == math.floor(expected - 1e-9 * abs(expected))


def test_fewer_fill_rounds_price_the_rest_below_the_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = build_problem(generate(30, 8, 10, seed=1))
    full = _free_capacity_value(problem)
    monkeypatch.setattr(bound_module, "FILL_ROUNDS", 1)
    short = LagrangianBound(problem).compute(full * 2, iterations=1, time_limit_s=1e9)
    assert short < full  # some order needs more than two pairs: priced lower, still valid


@pytest.mark.parametrize("seed", [1, 10])
def test_the_capped_bound_is_valid_and_tighter_than_the_uncapped_one(seed: int) -> None:
    instance = generate(30, 8, 10, seed=seed)
    problem = build_problem(instance)
    exact = plan(instance, EXACT)
    stage = exact.stages[0]
    assert stage.status is SolveStatus.OPTIMAL and stage.objective is not None
    served = {a.order for a in exact.allocations}
    assert all(o.order.id in served for o in problem.orders if o.order.mandatory)
    target = stage.objective + 1
    capped = LagrangianBound(problem).compute(target, iterations=300, time_limit_s=1e9)
    uncapped = LagrangianBound(problem, capped=False).compute(
        target, iterations=300, time_limit_s=1e9
    )
    assert uncapped < capped <= stage.objective


def test_reduced_costs_need_the_uncapped_relaxation() -> None:
    problem = build_problem(generate(30, 8, 10, seed=1))
    with pytest.raises(ValueError, match="uncapped"):
        LagrangianBound(problem).reduced_costs()


def test_an_order_too_big_for_a_period_is_priced_over_the_periods_it_needs() -> None:
    """F1 makes a unit for 100 in an hour after an hour's setup, 5 hours a period: 4
    units a period; F2 costs 150. O1 (10 units, due in period 0, 10 a unit a period
    late) at F1: 4 at 100, 4 at 110, 2 at 120 = 1080, the optimum. Uncapped, the
    setup is spread over all 10 units and a period seems to hold 4.5 of them: at most
    10 * (0.4545 * 100 + 0.4545 * 110 + 0.0909 * 120) = 1063.6."""
    problem = build_problem(
        instance(
            [factory("F1", 100, [5, 5, 5], setup_minutes=60), factory("F2", 150, [100] * 3)],
            [order("O1", 10, late=10)],
            periods=3,
        )
    )
    capped = LagrangianBound(problem).compute(1081, iterations=300, time_limit_s=1e9)
    uncapped = LagrangianBound(problem, capped=False).compute(
        1081, iterations=300, time_limit_s=1e9
    )
    assert capped == 1079  # 1080 less the guard against round-off (floor of 1080 - 1e-6)
    assert uncapped <= 1064


def test_a_usage_that_takes_no_time_limits_no_units() -> None:
    """A capability of 0 seconds a unit, on a resource with no free time: any number of
    units fits (as units_fitting says), so O1's 3 units cost 3 * 100."""
    free = factory("F1", 100, [0, 0])
    free["capabilities"][0]["seconds_per_unit"] = 0
    problem = build_problem(instance([free], [order("O1", 3)], periods=2))
    bound = LagrangianBound(problem).compute(301, iterations=50, time_limit_s=1e9)
    assert bound == 299  # 300 less the guard against round-off


@pytest.mark.parametrize("seed", [1, 10])
def test_the_capped_phase_never_ends_below_the_uncapped_ascent_it_starts_from(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capped bound ascends uncapped first, then capped from the best multipliers;
    at the same multipliers the capped subproblem is never lower, so ``n`` iterations
    end at least where ``n - 1`` uncapped ones do."""
    monkeypatch.setattr(bound_module, "UNCAPPED_UNTIL", 0.0)  # the uncapped phase: n - 1
    problem = build_problem(generate(30, 8, 10, seed=seed))
    target = 2.0 * _free_capacity_value(problem)
    for n in (2, 20, 60):
        uncapped = LagrangianBound(problem, capped=False)
        capped = LagrangianBound(problem)
        assert capped.compute(target, iterations=n, time_limit_s=1e9) >= uncapped.compute(
            target, iterations=n - 1, time_limit_s=1e9
        )
        assert capped.iterations == n


@pytest.mark.parametrize("seed", [1, 10])
def test_pricing_rows_again_gives_the_bound_of_the_kept_matrix(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``KEPT_PAIRS`` an iteration keeps only each row's cheapest period and
    prices again the rows a fill needs (a platform-size matrix is a gigabyte): the
    same bound and multipliers as with the whole matrix kept, in blocks of any size."""
    monkeypatch.setattr(bound_module, "UNCAPPED_UNTIL", 3.0)  # capped after one iteration
    problem = build_problem(generate(30, 8, 10, seed=seed))
    target = 1.05 * _free_capacity_value(problem)
    kept = LagrangianBound(problem)
    expected = kept.compute(target, iterations=40, time_limit_s=1e9)
    monkeypatch.setattr(bound_module, "KEPT_PAIRS", 0)
    monkeypatch.setattr(bound_module, "BLOCK_ROWS", 7)
    again = LagrangianBound(problem)
    assert again.compute(target, iterations=40, time_limit_s=1e9) == expected
    assert (again.multipliers == kept.multipliers).all()
    assert again.material_multipliers == kept.material_multipliers
