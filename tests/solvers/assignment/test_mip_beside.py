"""HiGHS beside the core strategy (:class:`solvers.assignment.cpsat._MipBeside`): which
problems lend it a worker, CP-SAT's workers and search while it runs, how the two
answers merge, that its proof stops CP-SAT and the exchange, and that a real solve with
two workers reaches the optimum."""

from __future__ import annotations

import pytest
from ortools.sat.python import cp_model

import solvers.assignment.cpsat as cpsat
from matcher.domain.params import SolveParams, StopSignal
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import AssignmentResult, Part, objective_of
from solvers.assignment.cpsat import CpSatBackend
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.mip import HighsBackend
from solvers.assignment.problem import AssignmentProblem
from tests.solvers.assignment.test_cpsat_search import _tight_gap, gap


def test_only_mid_sized_gap_models_with_two_workers_lend_one() -> None:
    mid = gap(10, 60, seed=3)  # 600 production variables
    assert cpsat.PROVE_MAX_VARIABLES < mid.size <= cpsat.MIP_BESIDE_MAX_VARIABLES
    assert cpsat._lends_a_worker(mid, SolveParams(workers=2))
    assert not cpsat._lends_a_worker(mid, SolveParams(workers=1))  # stays reproducible
    small = gap(5, 15, seed=1)  # CP-SAT proves these alone
    assert small.size <= cpsat.PROVE_MAX_VARIABLES
    assert not cpsat._lends_a_worker(small, SolveParams(workers=2))
    large = gap(20, 300, seed=1)
    assert large.size > cpsat.MIP_BESIDE_MAX_VARIABLES
    assert not cpsat._lends_a_worker(large, SolveParams(workers=2))


class _Running:
    def __init__(self, alive: bool) -> None:
        self.alive = alive

    def running(self) -> bool:
        return self.alive


@pytest.mark.parametrize(("alive", "workers", "expected"), [(True, 2, 1), (True, 3, 2)])
def test_cpsat_runs_one_worker_less_while_highs_runs(
    alive: bool, workers: int, expected: int
) -> None:
    params = SolveParams(workers=workers)
    assert cpsat._cpsat_workers(params) == workers
    token = cpsat._BESIDE.set(_Running(alive))  # type: ignore[arg-type]
    try:
        assert cpsat._cpsat_workers(params) == expected
        token2 = cpsat._BESIDE.set(_Running(False))  # type: ignore[arg-type]
        assert cpsat._cpsat_workers(params) == workers  # ended: both again
        cpsat._BESIDE.reset(token2)
    finally:
        cpsat._BESIDE.reset(token)


def test_one_worker_left_beside_highs_interleaves_the_portfolio() -> None:
    size = cpsat.PROVE_MAX_VARIABLES + 1
    lent = cp_model.CpSolver()
    cpsat._search_bound(lent, 1, size, lent=True)
    p = lent.parameters
    assert p.interleave_search
    assert list(p.ignore_subsolvers) == ["default_lp"] and list(p.extra_subsolvers) == ["max_lp"]
    alone = cp_model.CpSolver()  # one worker asked for: the default search, reproducible
    cpsat._search_bound(alone, 1, size)
    assert not alone.parameters.interleave_search and not alone.parameters.extra_subsolvers
    more = cp_model.CpSolver()  # three workers, one lent: two left, the usual search
    cpsat._search_bound(more, 2, size, lent=True)
    assert not more.parameters.interleave_search
    assert list(more.parameters.extra_subsolvers) == ["max_lp"]


def _result(objective: float | None, bound: float | None, status: SolveStatus) -> AssignmentResult:
    parts = [Part(0, {0: 1})] if objective is not None else []
    return AssignmentResult(
        "x", status, parts=parts, objective=objective, best_bound=bound, wall_time_s=1.0
    )


def _merged(cp: AssignmentResult, mip: AssignmentResult | None) -> AssignmentResult:
    problem = gap(10, 60, seed=3)
    beside = cpsat._MipBeside(problem, SolveParams(workers=2), 0.0)  # never started
    beside.result = mip
    beside.error = None if mip is not None else "RuntimeError('boom')"
    return beside.merge(cp)


def test_a_cheaper_proved_highs_plan_replaces_cpsats() -> None:
    mip = _result(103, 103, SolveStatus.OPTIMAL)
    mip.parts = [Part(7, {0: 1})]
    out = _merged(_result(105, 100, SolveStatus.FEASIBLE), mip)
    assert out.objective == 103 and out.parts == [Part(7, {0: 1})]
    assert out.status == SolveStatus.OPTIMAL and out.best_bound == 103
    assert "its plan is kept" in out.notes[-1]


def test_a_dearer_highs_plan_leaves_cpsats_but_its_bound_counts() -> None:
    out = _merged(
        _result(105, 100, SolveStatus.FEASIBLE), _result(110, 102.5, SolveStatus.FEASIBLE)
    )
    assert out.objective == 105 and out.parts == [Part(0, {0: 1})]
    assert out.best_bound == 102.5 and out.status == SolveStatus.FEASIBLE
    assert "CP-SAT's plan is kept" in out.notes[-1]
    # The objective is integral: a bound above 104 proves 105.
    out = _merged(
        _result(105, 100, SolveStatus.FEASIBLE), _result(110, 104.2, SolveStatus.FEASIBLE)
    )
    assert out.status == SolveStatus.OPTIMAL and out.objective == 105


def test_a_failed_highs_is_a_note() -> None:
    out = _merged(_result(105, 100, SolveStatus.FEASIBLE), None)
    assert out.objective == 105 and out.best_bound == 100
    assert out.status == SolveStatus.FEASIBLE
    assert "failed" in out.notes[-1]


def test_a_highs_proof_stops_cpsat_and_the_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS (stubbed) proves its plan at once: CP-SAT and the exchange stop, long
    before the 60 s limit, and the answer is that plan, proved."""
    problem = _tight_gap()
    parts = greedy_parts(problem, None, problem.warm)
    cost = float(objective_of(problem, parts)) - 10**9  # below any plan CP-SAT finds

    def proved(
        self: HighsBackend,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: object = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        return AssignmentResult(
            "mip-highs", SolveStatus.OPTIMAL, parts=parts, objective=cost, best_bound=cost
        )

    monkeypatch.setattr(HighsBackend, "solve", proved)
    params = SolveParams(workers=2, seed=0, time_limit_s=60, strategy="core")
    result = CpSatBackend().solve(problem, params)
    notes = result.notes
    assert result.status == SolveStatus.OPTIMAL and result.objective == cost, notes
    assert result.parts == parts
    assert any(n.startswith("HiGHS beside CP-SAT") and "OPTIMAL" in n for n in notes), notes
    searched = [n for n in notes if n.startswith("factory exchange")]
    assert all(n.startswith("factory exchange: 0 neighbourhoods") for n in searched), notes
    assert not any(n.startswith("back to CP-SAT") for n in notes), notes


def test_two_workers_reach_the_optimum_with_highs_beside() -> None:
    """A real solve (no stub): the plan is the optimum HiGHS alone proves, and the
    note says what HiGHS did."""
    problem = gap(10, 60, seed=3)
    exact = SolveParams(workers=2, seed=0, time_limit_s=60, relative_gap=0.0)
    alone = HighsBackend().solve(problem, exact)
    assert alone.status == SolveStatus.OPTIMAL and alone.objective is not None
    result = CpSatBackend().solve(problem, exact.model_copy(update={"strategy": "core"}))
    assert result.status == SolveStatus.OPTIMAL, result.notes
    assert result.objective == alone.objective == objective_of(problem, result.parts)
    assert any(n.startswith("HiGHS beside CP-SAT") for n in result.notes), result.notes
