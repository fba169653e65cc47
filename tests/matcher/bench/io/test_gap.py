"""GAP files: both OR-Library layouts, the mapping onto the domain model, the evaluator."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from matcher.app.pipeline import plan
from matcher.bench.io.gap import (
    GapData,
    GapFormatError,
    assignment_from_plan,
    engine_costs,
    evaluate,
    read_gap,
    to_instance,
)
from matcher.domain.params import SolveParams
from tests.conftest import DATA

# Two agents, three jobs. The capacities bind: unconstrained, the cheapest choice
# (agents 0, 1, 0) costs 9 and the most profitable (1, 0, 1) earns 18, both over
# capacity. Of the 8 assignments only (1, 0, 0) (cost 14) and (0, 0, 1) (cost 17) fit.
COST = [[4, 6, 3], [5, 2, 7]]
WEIGHT = [[3, 2, 4], [2, 3, 3]]
CAPACITY = [6, 4]
MIN_COST, MIN_ASSIGNMENT = 14, (1, 0, 0)
MAX_PROFIT, MAX_ASSIGNMENT = 17, (0, 0, 1)

SINGLE = """2 3
4 6 3
5 2 7
3 2 4
2 3 3
6 4
"""
# A 1 x 2 problem first, so that reading problem 1 has to skip it.
MULTI = "2\n1 2\n 9 9\n 1 1\n 5\n" + SINGLE


def _best_by_enumeration(data: GapData) -> int:
    values = []
    for agents in itertools.product(range(data.agents), repeat=data.jobs):
        check = evaluate(data, [[i] for i in agents])
        if check.feasible:
            assert check.objective is not None
            values.append(check.objective)
    return max(values) if data.maximise else min(values)


@pytest.fixture()
def single(tmp_path: Path) -> Path:
    path = tmp_path / "small"
    path.write_text(SINGLE)
    return path


@pytest.fixture()
def multi(tmp_path: Path) -> Path:
    path = tmp_path / "small.txt"
    path.write_text(MULTI)
    return path


def test_read_gap_gives_the_same_problem_from_both_layouts(single: Path, multi: Path) -> None:
    one = read_gap(single, "orlib-single")
    two = read_gap(multi, "orlib-multi", problem_index=1)
    for data in (one, two):
        assert (data.cost, data.weight, data.capacity) == (COST, WEIGHT, CAPACITY)
        assert (data.agents, data.jobs, data.maximise) == (2, 3, False)
    first = read_gap(multi, "orlib-multi", problem_index=0)
    assert (first.cost, first.weight, first.capacity) == ([[9, 9]], [[1, 1]], [5])
    assert (one.name, two.name) == ("small-0", "small-1")


def test_the_enumerated_optima_are_the_documented_ones(single: Path) -> None:
    assert _best_by_enumeration(read_gap(single, "orlib-single")) == MIN_COST
    assert _best_by_enumeration(read_gap(single, "orlib-single", maximise=True)) == MAX_PROFIT


@pytest.mark.parametrize(
    ("maximise", "best", "assignment"),
    [(False, MIN_COST, MIN_ASSIGNMENT), (True, MAX_PROFIT, MAX_ASSIGNMENT)],
)
def test_solving_the_mapped_instance_gives_the_gap_optimum(
    single: Path, maximise: bool, best: int, assignment: tuple[int, ...]
) -> None:
    data = read_gap(single, "orlib-single", maximise=maximise)
    result = plan(to_instance(data), SolveParams(time_limit_s=2, workers=1))
    given = assignment_from_plan(data, result)
    check = evaluate(data, given)
    assert check.feasible and check.objective == best
    assert given == [[i] for i in assignment]
    assert result.stages[0].status == "OPTIMAL"


def test_a_profit_matrix_becomes_a_cost_that_moves_every_assignment_by_a_constant(
    single: Path,
) -> None:
    data = read_gap(single, "orlib-single", maximise=True)
    costs = engine_costs(data)
    assert min(min(row) for row in costs) == 0
    for agents in itertools.product(range(2), repeat=3):
        profit = sum(COST[i][j] for j, i in enumerate(agents))
        cost = sum(costs[i][j] for j, i in enumerate(agents))
        assert cost == 3 * 7 - profit  # 7: the largest profit


def test_negative_costs_are_shifted_to_valid_cents() -> None:
    data = GapData("neg", [[-3, 2], [1, -1]], [[1, 1], [1, 1]], [2, 2])
    assert engine_costs(data) == [[0, 5], [4, 2]]
    instance = to_instance(data)
    cents = [c.unit_cost_cents for f in instance.factories for c in f.capabilities]
    assert cents == [0, 5, 4, 2]


def test_gap1_problem_0_reads_with_its_published_size() -> None:
    data = read_gap(DATA / "gap" / "gap1.txt", "orlib-multi", 0, maximise=True)
    assert (data.agents, data.jobs) == (5, 15)
    assert data.capacity == [36, 34, 38, 27, 33]


def test_evaluate_reports_an_agent_over_capacity(single: Path) -> None:
    data = read_gap(single, "orlib-single")
    check = evaluate(data, [[0], [1], [0]])  # the unconstrained cheapest: agent 0 uses 7
    assert not check.feasible and check.objective is None
    assert check.violations == ["agent 0 uses 7 > capacity 6"]


def test_evaluate_reports_unassigned_and_doubly_assigned_jobs(single: Path) -> None:
    data = read_gap(single, "orlib-single")
    check = evaluate(data, [[1], [], [0, 1]])
    assert not check.feasible
    assert check.violations == [
        "job 1 assigned to 0 agents, not 1",
        "job 2 assigned to 2 agents, not 1",
    ]


def test_evaluate_reports_a_missing_job_and_an_unknown_agent(single: Path) -> None:
    data = read_gap(single, "orlib-single")
    assert evaluate(data, [[1], [0]]).violations == ["2 jobs in the assignment, the problem has 3"]
    assert evaluate(data, [[1], [0], [2]]).violations == ["job 2 assigned to agent 2, outside 0..1"]


def test_evaluate_accepts_the_optimum_and_recomputes_its_cost(single: Path) -> None:
    data = read_gap(single, "orlib-single")
    check = evaluate(data, [[1], [0], [0]])
    assert check.feasible and check.objective == MIN_COST and check.violations == []


@pytest.mark.parametrize(
    ("content", "fmt", "index", "message"),
    [
        (SINGLE, "orlib-csv", 0, "unknown GAP layout 'orlib-csv'"),
        ("2 3\n4 6 x\n", "orlib-single", 0, "non-integer token"),
        ("2 3\n4 6 3\n", "orlib-single", 0, "file ends early"),
        (MULTI, "orlib-multi", 2, "problem_index 2 outside 0..1"),
        ("0 3\n", "orlib-single", 0, "has 0 agents and 3 jobs"),
    ],
)
def test_read_gap_rejects_bad_files_with_a_reason(
    tmp_path: Path, content: str, fmt: str, index: int, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(GapFormatError, match=message):
        read_gap(path, fmt, index)
