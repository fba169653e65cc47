"""With more than one worker the routing stage searches periods at once, one per thread,
and the plan is the one the same searches give one after another."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.generate import generate
from solvers.routing import stage
from solvers.routing.base import RoutingLimits
from solvers.routing.problem import RoutingResult

# The service load benchmark's instance: six periods with loads the fleet can reach.
INSTANCE = generate(orders=30, factories=10, periods=14, seed=3)
PARAMS = SolveParams(workers=2, time_limit_s=30.0, seed=0, feedback=False)


def _solve_recording(
    monkeypatch: pytest.MonkeyPatch, one_at_a_time: bool
) -> tuple[Plan, list[tuple[float, float, bool]]]:
    """The plan, and per period searched its search's start, end and whether it stopped
    on no improvement (so that its routes do not depend on the time it was given)."""
    searches: list[tuple[float, float, bool]] = []
    solve = stage._Day.solve
    lock = threading.Lock()

    def recorded(day: Any, params: SolveParams, limits: RoutingLimits) -> RoutingResult:
        if one_at_a_time:
            with lock:
                # Its time counts from when it may run, not from when it waited.
                return timed(day, params, replace(limits, started=time.perf_counter()))
        return timed(day, params, limits)

    def timed(day: Any, params: SolveParams, limits: RoutingLimits) -> RoutingResult:
        began = time.perf_counter()
        result = solve(day, params, limits)
        searches.append((began, time.perf_counter(), result.converged))
        return result

    monkeypatch.setattr(stage._Day, "solve", recorded)
    result = plan(INSTANCE, PARAMS)
    monkeypatch.undo()
    return result, searches


def test_two_workers_search_two_periods_at_once_and_route_as_one_after_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_once, searches = _solve_recording(monkeypatch, one_at_a_time=False)
    assert len(searches) >= 4
    assert all(converged for *_, converged in searches)
    spans = sorted(searches)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)), (
        "two searches ran at the same time"
    )
    stats = {s.stage: s for s in at_once.stages}["routing"]
    assert stats.workers == 2

    apart, apart_searches = _solve_recording(monkeypatch, one_at_a_time=True)
    spans = sorted(apart_searches)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    assert all(converged for *_, converged in apart_searches)
    assert at_once.routes == apart.routes
    assert at_once.costs == apart.costs
    report = check_plan(INSTANCE, at_once)
    assert report.ok, [str(v) for v in report.violations]
