"""Running one index entry: load it through its family, solve it with each solver,
and turn each attempt into a :class:`~matcher.bench.rows.BenchRow` with the gap to
the best-known value and the flags a reader should see. Nothing here raises: a
failure is a row with status ``ERROR``."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from matcher.bench.family import Attempt, BenchEntry, RunSettings, reference_fields
from matcher.bench.index import record_name
from matcher.bench.registry import get_family
from matcher.bench.rows import ERROR, NO_SOLVER, BenchRow, gap_pct


def _bound_flags(entry: BenchEntry, bound: float | None) -> list[str]:
    """A proven bound beyond the BKS (a value some solution reaches) is wrong, or the BKS is."""
    if bound is None or entry.bks is None:
        return []
    beyond = bound > entry.bks if entry.sense == "min" else bound < entry.bks
    if beyond and not math.isclose(bound, entry.bks, rel_tol=1e-9, abs_tol=1e-6):
        return [f"solver bound {bound:g} beyond the BKS {entry.bks:g}: check the solver or the BKS"]
    return []


def _flags(entry: BenchEntry, objective: float, gap: float | None, status: str) -> list[str]:
    flags = []
    if gap is not None and gap < 0:
        flags.append(
            "better than a proven optimum: check the data or the verifier"
            if entry.bks_is_optimal
            else "new best?"
        )
    if entry.sense == "min" and entry.lower_bound is not None and objective < entry.lower_bound:
        flags.append(f"below the lower bound {entry.lower_bound:g}: check")
    if status == "OPTIMAL" and entry.bks_is_optimal and gap is not None and gap > 1e-9:
        flags.append("solver claims OPTIMAL, the BKS is a better proven optimum")
    return flags


def _short(violations: Sequence[str], most: int = 3) -> str:
    text = "; ".join(violations[:most])
    if len(violations) > most:
        text += f"; and {len(violations) - most} more"
    return text


def _error_row(
    record: Mapping[str, Any], position: int, solver: str, exc: BaseException, wall: float
) -> BenchRow:
    family = record.get("family")
    bks_key, optimal_key = reference_fields(record)
    bks = record.get(bks_key)
    return BenchRow(
        name=record_name(record, position),
        family=family if isinstance(family, str) else None,
        solver=solver,
        objective=None,
        bks=bks if isinstance(bks, int | float) and not isinstance(bks, bool) else None,
        gap_pct=None,
        status=ERROR,
        wall_s=wall,
        feasible=False,
        bks_is_optimal=record.get(optimal_key) is True,
        message=f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc),
    )


def _row(entry: BenchEntry, solver: str, attempt: Attempt) -> BenchRow:
    check = attempt.verification
    objective = check.objective if check.feasible else None
    gap = None
    messages = list(attempt.notes)
    if objective is not None:
        if entry.bks is not None:
            gap = gap_pct(objective, entry.bks, entry.sense)
        messages = _flags(entry, objective, gap, attempt.status) + messages
    else:
        messages.insert(0, "verification failed: " + _short(check.violations or ("no solution",)))
    messages = _bound_flags(entry, attempt.bound) + messages
    progress = []
    if attempt.bound is not None and not (check.feasible and attempt.status == "OPTIMAL"):
        progress.append(f"bound {attempt.bound:g}")
    if attempt.first_s is not None:
        progress.append(f"first solution {attempt.first_s:.2f} s")
    if progress:
        messages.append(", ".join(progress))
    return BenchRow(
        name=entry.name,
        family=entry.family,
        solver=solver,
        objective=objective,
        bks=entry.bks,
        gap_pct=gap,
        status=attempt.status,
        wall_s=attempt.wall_s,
        feasible=check.feasible,
        bks_is_optimal=entry.bks_is_optimal,
        message="; ".join(messages),
        vehicles=check.vehicles,
        bound=attempt.bound,
        first_s=attempt.first_s,
    )


def run_entry(
    record: Mapping[str, Any],
    base_dir: Path,
    solvers: Sequence[str] | None,
    settings: RunSettings,
    position: int = 0,
) -> Iterator[BenchRow]:
    """One row per solver (``None``: the family's default solver); never raises.

    The entry is loaded once and solved by each solver in turn; an error while
    loading fails every solver's row, an error in one solve fails that row only.
    """
    names = list(solvers or [NO_SOLVER])
    try:
        entry = BenchEntry.from_record(record, base_dir)
        family = get_family(entry.family)
        names = list(solvers or [family.default_solver()])
        case = family.load(entry)
    except Exception as exc:
        for solver in names:
            yield _error_row(record, position, solver, exc, 0.0)
        return
    for solver in names:
        start = time.perf_counter()
        try:
            attempt = case.solve(solver, settings)
        except Exception as exc:
            yield _error_row(record, position, solver, exc, time.perf_counter() - start)
            continue
        yield _row(entry, solver, attempt)
