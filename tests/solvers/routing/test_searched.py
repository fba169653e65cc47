"""Period searches taken again within one plan (solvers.routing.searched)."""

from __future__ import annotations

import pytest

from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.generate import generate
from solvers.routing.base import RoutingLimits
from solvers.routing.problem import RoutingProblem, RoutingResult
from solvers.routing.searched import SearchedDays
from solvers.routing.stage import run_routing


def _result(converged: bool) -> RoutingResult:
    return RoutingResult(solver="pyvrp", feasible=True, cost=7, converged=converged)


def test_a_search_is_taken_again_only_when_a_new_one_could_not_beat_it() -> None:
    days = SearchedDays()
    cut = _result(converged=False)  # stopped on its limit
    days.put("cut", RoutingLimits(10.0, max_iterations=200), cut)
    assert days.get("cut", RoutingLimits(10.0, max_iterations=200)) is cut
    assert days.get("cut", RoutingLimits(10.0, max_iterations=50)) is cut
    assert days.get("cut", RoutingLimits(10.0, max_iterations=201)) is None  # may go further
    done = _result(converged=True)  # stopped on no improvement
    days.put("done", RoutingLimits(1.0), done)
    assert days.get("done", RoutingLimits(60.0)) is done
    assert days.get("other", RoutingLimits(0.1)) is None
    assert days.reused == 3


@pytest.fixture(scope="module")
def load_instance() -> tuple[Instance, Plan]:
    """The load benchmark's instance (30 orders, 10 factories, 14 days, seed 3) and a
    one-worker plan of it."""
    instance = generate(30, 10, 14, seed=3)
    return instance, plan(instance, SolveParams(workers=1, feedback=False, sharing=False))


def test_routing_the_same_plan_again_takes_every_search_again_with_the_same_routes(
    load_instance: tuple[Instance, Plan],
) -> None:
    instance, result = load_instance
    params = SolveParams(workers=1)
    days = SearchedDays()
    first = run_routing(
        instance, result.allocations, result.purchasing, params, 2.0, None, None, days
    )
    assert first is not None and days.reused == 0
    again = run_routing(
        instance, result.allocations, result.purchasing, params, 1.0, None, None, days
    )
    assert again is not None
    searched = first[1].extra["periods"]
    assert days.reused > 0
    assert any("taken again" in n for n in again[0].notes)
    assert again[0].routes == first[0].routes
    assert again[0].transport_cents == first[0].transport_cents
    # Taken again only where the first search stopped on no improvement or had at
    # least the new limit: here the new limit is half, so every searched period.
    fresh = run_routing(instance, result.allocations, result.purchasing, params, 2.0)
    assert fresh is not None and fresh[0].routes == first[0].routes
    assert days.reused <= searched


def test_with_one_worker_no_period_of_a_plan_is_searched_twice_for_the_same_loads(
    load_instance: tuple[Instance, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later feedback round's share is never larger than an earlier one's, so with one
    worker (limits in iterations) a period's search is never worth making twice."""
    from solvers.routing import stage

    instance, _ = load_instance
    solved: list[tuple[object, ...]] = []
    search = stage.solve_routing

    def counted(problem: RoutingProblem, solver: str, limits: RoutingLimits) -> RoutingResult:
        solved.append(problem.key())
        return search(problem, solver, limits)

    monkeypatch.setattr(stage, "solve_routing", counted)
    fed = plan(instance, SolveParams(workers=1, sharing=False))
    rounds = fed.stages[0].extra["feedback_rounds"]
    assert len(rounds) >= 2, "the instance has a feedback round"
    assert solved and len(solved) == len(set(solved))
    assert fed.routes is not None
    kept = max(r["round"] for r in rounds if r["kept"])
    if kept:  # this instance's later round keeps every period's loads
        assert any("taken again" in n for n in fed.routes.notes)
