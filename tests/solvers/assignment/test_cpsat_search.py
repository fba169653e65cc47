"""Which CP-SAT search a model whose bound is global gets (:func:`_search_bound`): the
proof search up to ``PROVE_MAX_VARIABLES`` production variables, the cut-rich LP
worker (``max_lp`` in place of ``default_lp``) above, with two workers or more; one
worker keeps its defaults above the proof size (reproducible runs unchanged). And the
hand-back after an exact core: an exchange that finds nothing cheaper in its first
share gives the rest of the time back to CP-SAT (one worker, fixed seed)."""

from __future__ import annotations

import random

import pytest
from ortools.sat.python import cp_model

import solvers.assignment.cpsat as cpsat
from matcher.bench.io.gap import GapData, to_instance
from matcher.domain.params import SolveParams
from solvers.assignment.cpsat import CpSatBackend
from solvers.assignment.problem import AssignmentProblem, build_problem


def gap(agents: int, jobs: int, seed: int) -> AssignmentProblem:
    """A random GAP (costs 10-50, weights 5-25, capacities at 80 % of an even share
    of the total weight), mapped as the benchmark maps its files."""
    rng = random.Random(seed)
    weight = [[rng.randint(5, 25) for _ in range(jobs)] for _ in range(agents)]
    cost = [[rng.randint(10, 50) for _ in range(jobs)] for _ in range(agents)]
    capacity = [int(0.8 * sum(row) / agents) for row in weight]
    return build_problem(to_instance(GapData(f"gap-{seed}", cost, weight, capacity)))


def _searched(workers: int, size: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    cpsat._search_bound(solver, workers, size)
    return solver


def test_large_global_models_run_max_lp_instead_of_default_lp() -> None:
    p = _searched(2, cpsat.PROVE_MAX_VARIABLES + 1).parameters
    assert list(p.ignore_subsolvers) == ["default_lp"]
    assert list(p.extra_subsolvers) == ["max_lp"]
    assert p.num_full_subsolvers == 0  # the LNS and first-solution workers stay


def test_small_global_models_search_for_the_proof_with_one_worker() -> None:
    """The LP with the capacity rows' cuts on one worker, whatever the solve's workers
    (not the interleaved portfolio, not a second worker's tree search)."""
    for workers in (1, 2, 4):
        p = _searched(workers, cpsat.PROVE_MAX_VARIABLES).parameters
        assert p.num_workers == 1 and p.linearization_level == 2
        assert not p.extra_subsolvers and not p.ignore_subsolvers and not p.interleave_search
    lent = cp_model.CpSolver()  # one worker left beside HiGHS: the same proof search
    cpsat._search_bound(lent, 1, cpsat.PROVE_MAX_VARIABLES, lent=True)
    assert lent.parameters.linearization_level == 2 and not lent.parameters.interleave_search


def test_one_worker_keeps_the_default_search_on_large_models() -> None:
    p = _searched(1, cpsat.PROVE_MAX_VARIABLES + 1).parameters
    assert not p.ignore_subsolvers and not p.extra_subsolvers
    assert not p.interleave_search and p.num_full_subsolvers == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_an_exact_gap_core_gets_the_search_by_its_size(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """A GAP (10 agents x 60 jobs: 600 production variables, above the proof size) is
    solved on an exact core, whose bound is global: the cut-rich search is asked for
    it; a 5 x 15 one (75 variables) gets the proof search. (Without HiGHS beside the
    core strategy, which takes a worker: tests/solvers/assignment/test_mip_beside.py.)"""
    monkeypatch.setattr(cpsat, "MIP_BESIDE_MAX_VARIABLES", 0)
    calls: list[tuple[int, int]] = []
    search = cpsat._search_bound

    def spy(solver: cp_model.CpSolver, w: int, size: int, lent: bool = False) -> None:
        calls.append((w, size))
        search(solver, w, size, lent)

    monkeypatch.setattr(cpsat, "_search_bound", spy)
    problem = gap(10, 60, seed=3)
    params = SolveParams(workers=workers, seed=0, time_limit_s=2, strategy="core")
    result = CpSatBackend().solve(problem, params)
    assert result.objective is not None
    assert any("exact core of 600 of 600" in n for n in result.notes), result.notes
    # The exact core's search first; with two workers (a wall clock) a loaded machine
    # may also hand a smaller core back to CP-SAT afterwards, with its own size.
    assert calls and calls[0] == (workers, 600)
    assert all(w == workers for w, _ in calls)

    calls.clear()
    small = gap(5, 15, seed=1)
    result = CpSatBackend().solve(small, params)
    assert calls and all(size == small.size <= cpsat.PROVE_MAX_VARIABLES for _, size in calls)
    assert result.objective is not None


def _tight_gap() -> AssignmentProblem:
    """10 agents x 100 jobs, capacities at 60 % of an even share: CP-SAT does not prove
    it within one deterministic second on one worker."""
    rng = random.Random(7)
    agents, jobs = 10, 100
    weight = [[rng.randint(5, 25) for _ in range(jobs)] for _ in range(agents)]
    cost = [[rng.randint(10, 50) for _ in range(jobs)] for _ in range(agents)]
    capacity = [int(0.6 * sum(row) / agents) for row in weight]
    return build_problem(to_instance(GapData("tight", cost, weight, capacity)))


def test_a_fruitless_exchange_hands_the_rest_back_to_cpsat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an exact core CP-SAT did not prove, an exchange that finds nothing cheaper
    in its share gives the rest of the time back to CP-SAT on the exact core for the
    incumbent (one worker: reproducible)."""
    monkeypatch.setattr(cpsat.FactoryExchange, "run", lambda *a, **k: None)  # finds nothing
    problem = _tight_gap()
    params = SolveParams(workers=1, seed=0, time_limit_s=2, strategy="core")
    first = CpSatBackend().solve(problem, params)
    notes = first.notes
    assert any("exact core of 1000 of 1000" in n and "FEASIBLE" in n for n in notes), notes
    assert sum(n.startswith("factory exchange") for n in notes) == 1, notes
    assert any(n.startswith("back to CP-SAT: exact core of") for n in notes), notes
    assert first.objective is not None and first.best_bound is not None
    assert first.best_bound <= first.objective
    again = CpSatBackend().solve(problem, params)
    assert again.objective == first.objective and again.parts == first.parts


def test_an_exchange_that_pays_keeps_the_rest_of_the_time() -> None:
    """Without a stub: either the exchange found a cheaper plan in its share and kept
    the time (no hand-back), or it did not and CP-SAT got the rest."""
    problem = _tight_gap()
    params = SolveParams(workers=1, seed=0, time_limit_s=2, strategy="core")
    result = CpSatBackend().solve(problem, params)
    notes = result.notes
    exchanges = [n for n in notes if n.startswith("factory exchange")]
    assert len(exchanges) == 1, notes
    handed = any(n.startswith("back to CP-SAT") for n in notes)
    assert handed == exchanges[0].endswith(" 0 cheaper"), notes
