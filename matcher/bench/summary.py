"""Aggregates over the rows of a run: per solver, or over all of them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.bench.rows import ERROR, BenchRow


@dataclass(frozen=True)
class Summary:
    """Aggregates over the rows of one solver (or of the whole run)."""

    solver: str
    runs: int
    with_gap: int  # feasible rows with a BKS, over which the mean gap is taken
    mean_gap_pct: float | None
    median_wall_s: float | None
    optimal: int  # solver proved OPTIMAL and the verification passed
    equal_bks: int
    failed: int  # infeasible, no solution or error


def summarise(rows: Sequence[BenchRow], solver: str = "all") -> Summary:
    gaps = [r.gap_pct for r in rows if r.feasible and r.gap_pct is not None]
    walls = [r.wall_s for r in rows if r.status != ERROR]
    return Summary(
        solver=solver,
        runs=len(rows),
        with_gap=len(gaps),
        mean_gap_pct=statistics.fmean(gaps) if gaps else None,
        median_wall_s=statistics.median(walls) if walls else None,
        optimal=sum(r.optimal for r in rows),
        equal_bks=sum(r.equals_bks for r in rows),
        failed=sum(r.failed for r in rows),
    )


def summarise_by_solver(rows: Sequence[BenchRow]) -> list[Summary]:
    """One summary per solver, in the order the solvers first appear."""
    order = list(dict.fromkeys(r.solver for r in rows))
    return [summarise([r for r in rows if r.solver == s], s) for s in order]
