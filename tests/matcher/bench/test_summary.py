"""Summaries of a run (:mod:`matcher.bench.summary`)."""

from __future__ import annotations

import pytest

from matcher.bench import BenchRow, summarise, summarise_by_solver


def _row(solver: str, objective: float | None, status: str, gap: float | None) -> BenchRow:
    return BenchRow(
        name="x",
        family="gap",
        solver=solver,
        objective=objective,
        bks=100,
        gap_pct=gap,
        status=status,
        wall_s=1.0 if status != "ERROR" else 0.0,
        feasible=objective is not None,
    )


def test_summaries_count_optimal_equal_bks_and_failed_per_solver() -> None:
    rows = [
        _row("a", 100, "OPTIMAL", 0.0),
        _row("a", 100, "FEASIBLE", 0.0),
        _row("a", 110, "FEASIBLE", 10.0),
        _row("a", None, "OPTIMAL", None),  # claimed, but the verifier rejected it
        _row("b", None, "ERROR", None),
    ]
    a, b = summarise_by_solver(rows)
    assert (a.solver, a.runs, a.with_gap, a.optimal, a.equal_bks, a.failed) == (
        "a",
        4,
        3,
        1,
        2,
        1,
    )
    assert a.mean_gap_pct == pytest.approx(10 / 3) and a.median_wall_s == 1.0
    assert (b.runs, b.failed, b.mean_gap_pct, b.median_wall_s) == (1, 1, None, None)
    assert summarise(rows).runs == 5
