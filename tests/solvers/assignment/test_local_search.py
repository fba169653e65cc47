"""The GAP local search (shifts, swaps, ejection chains, kicks): it applies to GAP-shaped
problems only, improves a poor start, never leaves a plan over a capacity, prices a
plan as the CP-SAT model does, and is reproducible for a seed inside LNS."""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
import pytest
from ortools.sat.python import cp_model

from matcher.bench.io.gap import GapData, assignment_from_plan, evaluate, to_instance
from matcher.domain.params import SolveParams
from matcher.generate import generate
from solvers.assignment import cpsat
from solvers.assignment import local_search as ls_module
from solvers.assignment.base import Part, objective_of
from solvers.assignment.cpsat_model import build_model
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.lns import FactoryExchange, Lns
from solvers.assignment.local_search import GapLocalSearch, gap_shape
from solvers.assignment.problem import AssignmentProblem, build_problem

# OR-Library gap1, problem 1 of 5 (c515-1: 5 agents, 15 jobs), copied from
# ../shared/benchmarks/gap/orlib/gap1.txt (index entry c515-1; source
# RayanHamoud/GAPGenetic @ 8ebeb7f data/gap1.txt). Read as costs (minimise), its
# optimum is 261 (the index's min_cost_optimum, proved with CP-SAT).
C515_COST = [
    [17, 21, 22, 18, 24, 15, 20, 18, 19, 18, 16, 22, 24, 24, 16],
    [23, 16, 21, 16, 17, 16, 19, 25, 18, 21, 17, 15, 25, 17, 24],
    [16, 20, 16, 25, 24, 16, 17, 19, 19, 18, 20, 16, 17, 21, 24],
    [19, 19, 22, 22, 20, 16, 19, 17, 21, 19, 25, 23, 25, 25, 25],
    [18, 19, 15, 15, 21, 25, 16, 16, 23, 15, 22, 17, 19, 22, 24],
]
C515_WEIGHT = [
    [8, 15, 14, 23, 8, 16, 8, 25, 9, 17, 25, 15, 10, 8, 24],
    [15, 7, 23, 22, 11, 11, 12, 10, 17, 16, 7, 16, 10, 18, 22],
    [21, 20, 6, 22, 24, 10, 24, 9, 21, 14, 11, 14, 11, 19, 16],
    [20, 11, 8, 14, 9, 5, 6, 19, 19, 7, 6, 6, 13, 9, 18],
    [8, 13, 13, 13, 10, 20, 25, 16, 16, 17, 10, 10, 5, 12, 23],
]
C515_CAPACITY = [36, 34, 38, 27, 33]
C515_MIN_COST = 261


def c515() -> GapData:
    return GapData("c515-1", C515_COST, C515_WEIGHT, C515_CAPACITY)


def type_e(agents: int, jobs: int, seed: int) -> GapData:
    """A hand-made instance in the manner of Yagiura's type E (costs falling as weights
    rise, capacities at 80 % of an even share of the total weight): tight."""
    rng = random.Random(seed)
    weight = [[1 - int(10 * _log(rng)) for _ in range(jobs)] for _ in range(agents)]
    cost = [
        [int(1000 / w - 10 * rng.random()) for w in row]  # w >= 1
        for row in weight
    ]
    capacity = [int(0.8 * sum(row) / agents) for row in weight]
    return GapData(f"e-{agents}x{jobs}-{seed}", cost, weight, capacity)


def _log(rng: random.Random) -> float:
    import math

    return math.log(max(1e-12, rng.random()))


def problem_of(data: GapData) -> AssignmentProblem:
    return build_problem(to_instance(data))


def agent_and_job(problem: AssignmentProblem, part: Part) -> tuple[int, int]:
    """``to_instance`` makes agent ``i`` factory ``i`` and job ``j`` order ``j``."""
    cand = problem.candidates[part.candidate]
    return cand.factory, cand.order


def raw_check(data: GapData, problem: AssignmentProblem, parts: list[Part]) -> int:
    """Feasibility and cost on the file's matrices alone (every job once, no agent over)."""
    given: list[list[int]] = [[] for _ in range(data.jobs)]
    load = [0] * data.agents
    total = 0
    for p in parts:
        i, j = agent_and_job(problem, p)
        given[j].append(i)
        load[i] += data.weight[i][j]
        total += data.cost[i][j]
    assert all(len(a) == 1 for a in given), "every job on exactly one agent"
    assert all(load[i] <= data.capacity[i] for i in range(data.agents)), (load, data.capacity)
    return total


def poor_start(data: GapData, problem: AssignmentProblem) -> list[Part]:
    """A feasible but dear plan: the dearest complete assignment CP-SAT finds on the raw
    matrices within a small deterministic limit (reproducible)."""
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{j}") for j in range(data.jobs)] for i in range(data.agents)]
    for j in range(data.jobs):
        model.add_exactly_one(x[i][j] for i in range(data.agents))
    for i in range(data.agents):
        model.add(sum(data.weight[i][j] * x[i][j] for j in range(data.jobs)) <= data.capacity[i])
    model.maximize(
        sum(data.cost[i][j] * x[i][j] for i in range(data.agents) for j in range(data.jobs))
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 0.5
    assert solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    parts = []
    for j in range(data.jobs):
        (i,) = [i for i in range(data.agents) if solver.boolean_value(x[i][j])]
        (k,) = [k for k in problem.orders[j].candidates if problem.candidates[k].factory == i]
        parts.append(Part(k, {problem.candidates[k].first: 1}))
    return parts


def model_objective(problem: AssignmentProblem, parts: list[Part]) -> tuple[int, float | None]:
    """The CP-SAT model's verdict on ``parts``: the status and, if feasible, the objective
    of the whole model with every part (and nothing else) fixed."""
    model, v = build_model(problem, False)
    chosen = {p.candidate: p for p in parts}
    for k, y in v.used.items():
        model.add(y == (1 if k in chosen else 0))
        for t, x in v.make[k].items():
            model.add(x == (chosen[k].quantities.get(t, 0) if k in chosen else 0))
    for k in chosen:
        if k not in v.used:  # the model has no variable for it: the part cannot fit
            return cp_model.INFEASIBLE, None
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    code = solver.solve(model)
    if code != cp_model.OPTIMAL:
        return code, None
    return code, solver.objective_value


def test_the_shape_is_the_gap_and_nothing_else() -> None:
    assert gap_shape(problem_of(c515())) is None
    multi_period = build_problem(generate(orders=20, factories=4, periods=5, seed=1))
    reason = gap_shape(multi_period)
    assert reason is not None  # splittable, several periods, materials: any of them


def test_a_descent_improves_a_poor_start_and_stays_feasible() -> None:
    data = c515()
    problem = problem_of(data)
    start = poor_start(data, problem)
    ls = GapLocalSearch(problem)
    ls.set_parts(start)
    before = ls.objective()
    assert before == objective_of(problem, start) == raw_check(data, problem, start)

    def feasible_so_far(work: float) -> bool:
        raw_check(data, problem, ls.parts())
        return True

    gained = ls.descend(feasible_so_far)
    assert gained > 0 and ls.stats.accepted > 0
    parts = ls.parts()
    assert ls.objective() == before - gained == objective_of(problem, parts)
    assert ls.objective() == raw_check(data, problem, parts) >= C515_MIN_COST


def test_kicks_go_beyond_a_descent_and_never_leave_a_plan_over_capacity() -> None:
    data = type_e(6, 40, 11)
    problem = problem_of(data)
    start = poor_start(data, problem)
    descended = GapLocalSearch(problem)
    descended.set_parts(start)
    descended.descend(lambda work: True)
    ls = GapLocalSearch(problem)
    ls.set_parts(start)
    checks = 0

    def feasible_so_far(work: float) -> bool:
        nonlocal checks
        checks += 1
        raw_check(data, problem, ls.parts())  # between every round and every kick
        return ls.stats.kicks < 300

    ls.iterate(feasible_so_far, seed=0)
    assert checks > 300 and ls.stats.kept > 0
    assert ls.objective() == raw_check(data, problem, ls.parts()) < descended.objective()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_search_prices_and_bounds_plans_as_the_cpsat_model_does(seed: int) -> None:
    data = type_e(6, 40, seed)
    problem = problem_of(data)
    ls = GapLocalSearch(problem)
    ls.set_parts(poor_start(data, problem))
    ls.iterate(lambda work: ls.stats.kicks < 200, seed=seed)
    parts = ls.parts()
    code, value = model_objective(problem, parts)
    assert code == cp_model.OPTIMAL and value is not None
    assert round(value) == ls.objective() == objective_of(problem, parts)
    # A shift the search refuses for capacity is infeasible in the model too.
    refused = 0
    for p in parts:
        i, j = agent_and_job(problem, p)
        for k in problem.orders[j].candidates:
            cand = problem.candidates[k]
            if cand.factory == i:
                continue
            col = ls.rows[(cand.usage[0].resource, cand.first)]
            if ls.load[col] + ls.weight[ls.position[j], col] > ls.cap[col]:
                moved = [q for q in parts if q is not p] + [Part(k, {cand.first: 1})]
                assert model_objective(problem, moved)[0] == cp_model.INFEASIBLE
                refused += 1
                break
        if refused >= 3:
            break
    assert refused == 3


def test_lns_runs_the_search_on_gap_problems_reproducibly_and_records_it() -> None:
    data = type_e(8, 60, 3)
    problem = problem_of(data)
    start = poor_start(data, problem)
    params = SolveParams(workers=1, seed=5)
    runs = []
    for _ in range(2):
        lns = FactoryExchange(problem, start, params)
        began = time.perf_counter()
        lns.run(began + 30, deterministic_budget=0.4)
        runs.append(sorted((p.candidate, tuple(p.quantities.items())) for p in lns.parts))
        stats = lns.stats.local_search
        assert stats is not None and stats.kicks > 0 and stats.accepted > 0
        note = lns.stats.local_search_note()
        assert note is not None and note.startswith("local search:")
        assert lns.objective == objective_of(problem, lns.parts) < objective_of(problem, start)
        raw_check(data, problem, lns.parts)
    assert runs[0] == runs[1]


def test_lns_on_other_problems_says_why_it_skips_the_search() -> None:
    instance = generate(orders=15, factories=4, periods=4, seed=2)
    problem = build_problem(instance)
    lns = Lns(problem, greedy_parts(problem), SolveParams(workers=1, seed=0))
    lns.run(time.perf_counter() + 10, deterministic_budget=0.2)
    assert lns.stats.local_search is None
    note = lns.stats.local_search_note()
    assert note is not None and note.startswith("local search skipped:")


def test_the_plan_from_the_pipeline_passes_the_gap_verifier() -> None:
    from matcher.app.pipeline import plan

    data = type_e(5, 30, 7)
    result = plan(to_instance(data), SolveParams(workers=1, seed=0, time_limit_s=2))
    check = evaluate(data, assignment_from_plan(data, result))
    assert check.feasible, check.violations


def swap_rankings(
    problem: AssignmentProblem, start: list[Part], seed: int
) -> tuple[list[tuple[list[int], list[int]]], int, int, int]:
    """Every swap round's ranking (the partner of each order with an improving swap,
    every order's change) over 150 kicks, then the objective, moves evaluated, swaps."""
    ls = GapLocalSearch(problem)
    ls.set_parts(start)
    ranked: list[tuple[list[int], list[int]]] = []
    apply_swaps = ls._apply_swaps

    def spy(best_j: np.ndarray, best_d: np.ndarray) -> int:
        improving = best_d < 0
        ranked.append((np.where(improving, best_j, -1).tolist(), best_d.tolist()))
        return apply_swaps(best_j, best_d)

    ls._apply_swaps = spy  # type: ignore[method-assign]
    ls.iterate(lambda work: ls.stats.kicks < 150, seed=seed)
    return ranked, ls.objective(), ls.stats.tried, ls.stats.swaps


@pytest.mark.parametrize("seed", [0, 1])
def test_swaps_ranked_row_by_row_are_the_swaps_ranked_in_blocks(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 agents x 80 jobs: 20 orders a row, so the row-by-row ranking applies at the
    # default threshold; forcing the block ranking must give the very same search.
    data = type_e(4, 80, seed)
    problem = problem_of(data)
    start = poor_start(data, problem)
    assert ls_module.SWAP_ROW_ORDERS <= 80 // 4
    by_row = swap_rankings(problem, start, seed)
    monkeypatch.setattr(ls_module, "SWAP_ROW_ORDERS", 10**9)
    in_blocks = swap_rankings(problem, start, seed)
    assert by_row == in_blocks
    assert len(by_row[0]) > 150 and by_row[3] > 0
    assert by_row[1] < objective_of(problem, start)


def test_a_plan_descended_to_the_end_is_not_searched_again() -> None:
    data = type_e(6, 40, 4)
    problem = problem_of(data)
    start = poor_start(data, problem)
    ls = GapLocalSearch(problem)
    ls.set_parts(start)
    assert ls.descend(lambda work: True) > 0
    settled = ls.objective()
    descents, tried = ls.stats.descents, ls.stats.tried
    ls.set_parts(ls.parts())  # the same plan again, as LNS hands it back
    assert ls.descend(lambda work: True) == 0
    assert (ls.stats.descents, ls.stats.tried) == (descents, tried)
    ls.set_parts(start)  # another plan: searched, and to the same end
    assert ls.descend(lambda work: True) == objective_of(problem, start) - settled
    assert ls.stats.descents == descents + 1 and ls.stats.tried > tried
    # a descent cut short does not count as settled
    cut = GapLocalSearch(problem)
    cut.set_parts(start)
    cut.descend(lambda work: cut.stats.rounds < 1)
    assert cut.objective() > settled
    assert cut.descend(lambda work: True) > 0 and cut.objective() == settled


def core_seconds(problem: AssignmentProblem, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time each core solve of a one-worker, 2 s ``core`` solve is given, the
    cores made heuristic (no exact core is small enough)."""
    monkeypatch.setattr(cpsat, "EXACT_CORE_SMALL", 0)
    monkeypatch.setattr(cpsat, "CORE_PER_ORDER", 1)
    seconds: list[float] = []
    solve_restricted = cpsat.CpSatBackend._solve_restricted

    def spy(self: cpsat.CpSatBackend, *args: Any, **kwargs: Any) -> Any:
        seconds.append(args[7])
        return solve_restricted(self, *args, **kwargs)

    monkeypatch.setattr(cpsat.CpSatBackend, "_solve_restricted", spy)
    params = SolveParams(workers=1, time_limit_s=2, seed=0, strategy="core")
    result = cpsat.CpSatBackend().solve(problem, params)
    assert any("heuristic core" in n for n in result.notes)
    return seconds


def test_a_heuristic_gap_core_leaves_more_of_the_time_to_the_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gap = problem_of(type_e(8, 60, 2))
    other = build_problem(generate(orders=60, factories=10, periods=5, seed=11))
    assert gap_shape(gap) is None and gap_shape(other) is not None
    assert cpsat._exchange_share(gap, is_exact=False) == cpsat.SEARCHED_EXCHANGE_SHARE
    assert cpsat._exchange_share(gap, is_exact=True) == cpsat.EXCHANGE_SHARE
    assert cpsat._exchange_share(other, is_exact=False) == cpsat.EXCHANGE_SHARE
    # rows holding many orders each: kicks are dear, CP-SAT keeps its half
    crowded = problem_of(type_e(2, 2 * cpsat.SEARCHED_ROW_ORDERS + 2, 2))
    assert gap_shape(crowded) is None
    assert cpsat._exchange_share(crowded, is_exact=False) == cpsat.EXCHANGE_SHARE
    roomy = problem_of(type_e(2, 2 * cpsat.SEARCHED_ROW_ORDERS, 2))
    assert cpsat._exchange_share(roomy, is_exact=False) == cpsat.SEARCHED_EXCHANGE_SHARE
    assert cpsat.SEARCHED_EXCHANGE_SHARE > cpsat.EXCHANGE_SHARE
    # the first core of a one-worker solve gets its share of the whole limit
    assert core_seconds(gap, monkeypatch)[0] == pytest.approx(
        2 * (1 - cpsat.SEARCHED_EXCHANGE_SHARE)
    )
    assert core_seconds(other, monkeypatch)[0] == pytest.approx(2 * (1 - cpsat.EXCHANGE_SHARE))
