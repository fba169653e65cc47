"""The large-neighbourhood search's Lagrangian bound within a wall-clock limit: skipped,
with a note, when its arrays cannot be made in the time the greedy plan left (a
platform-size solve must not end late for it); always made with one worker, whose
shares are nominal; made when affordable."""

from __future__ import annotations

import pytest

import solvers.assignment.cpsat as cpsat
from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from solvers.assignment.cpsat import CpSatBackend
from tests.solvers.assignment.test_cpsat_search import gap


def _lns(workers: int) -> SolveParams:
    return SolveParams(workers=workers, seed=0, time_limit_s=2, strategy="lns")


def test_a_bound_that_cannot_fit_in_the_time_left_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpsat, "BOUND_S_PER_ELEMENT", 1.0)  # every pair costs a second
    result = CpSatBackend().solve(gap(5, 40, seed=1), _lns(workers=2))
    assert result.objective is not None and result.parts  # the plan is kept
    assert result.best_bound is None and result.status is SolveStatus.FEASIBLE
    skipped = "no bound: the Lagrangian bound's 200 (candidate, period) pairs (about 200s)"
    assert any(n.startswith(skipped) for n in result.notes), result.notes


def test_one_worker_makes_the_bound_whatever_it_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpsat, "BOUND_S_PER_ELEMENT", 1.0)
    result = CpSatBackend().solve(gap(5, 40, seed=1), _lns(workers=1))
    assert result.objective is not None and result.best_bound is not None
    assert result.best_bound <= result.objective


def test_an_affordable_bound_is_made_with_a_wall_clock_limit() -> None:
    result = CpSatBackend().solve(gap(5, 40, seed=1), _lns(workers=2))
    assert result.objective is not None and result.best_bound is not None
    assert any(n.startswith("bound: ") for n in result.notes), result.notes
