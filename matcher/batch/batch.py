"""``matcher batch``: many instance files, one task each, one checked plan each, and a
summary of them all.

Each instance is solved and its plan verified in a task (:mod:`matcher.batch.tasks`)
run by an executor (:mod:`matcher.app.executor`); plans are written next to each other
in the output directory as ``<instance>.plan.json``, with ``summary.json`` and
``summary.csv``. A failing instance (unreadable, invalid, a solver error, a worker that
died) is a row with its reason and the others go on. A plan already in the directory
that the checker accepts for the current instance is kept, not solved again.
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from matcher.app.diff import COST_TERMS
from matcher.app.executor import Call, Executor
from matcher.batch.tasks import PlanFigures, Solved, figures_of, solve_and_check
from matcher.check import PlanFormatError, check_plan, load_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Result
from matcher.domain.validation import InvalidInstanceError, load_instance

SOLVED, SKIPPED, FAILED, CHECK_FAILED = (
    "solved",
    "skipped (valid plan exists)",
    "failed",
    "check failed",
)
"""A row's outcome. Only ``solved`` and ``skipped`` count as success."""

PLAN_SUFFIX = ".plan.json"

TaskFn = Callable[[str, str, SolveParams], Solved]


class BatchRow(Result):
    """One instance of a batch: what became of it and its plan's figures."""

    instance: str = Field(description="The instance's label: its file name without .json.")
    path: str
    outcome: str
    plan: str | None = Field(default=None, description="The plan file, when one was written.")
    figures: PlanFigures | None = None
    wall_s: float = Field(default=0.0, description="Solve and check, in the task.")
    error: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (SOLVED, SKIPPED)


class BatchSummary(Result):
    executor: str
    params: dict[str, Any]
    rows: list[BatchRow]
    wall_s: float
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def labels_of(paths: Sequence[str | Path]) -> list[str]:
    """Each instance's label (its file name without ``.json``).

    Raises
    ------
    ValueError
        Two instances would write the same plan file.
    """
    labels = [Path(p).name.removesuffix(".json") for p in paths]
    twice = sorted(label for label, n in Counter(labels).items() if n > 1)
    if twice:
        raise ValueError(
            "instances with the same file name would write the same plan: " + ", ".join(twice)
        )
    return labels


def existing_valid(path: Path, plan_path: Path) -> tuple[PlanFigures | None, str | None]:
    """The figures of the plan at ``plan_path`` if the checker accepts it for the
    instance at ``path`` as it is now; otherwise why it is solved again (None: no plan)."""
    if not plan_path.exists():
        return None, None
    try:
        instance = load_instance(path)
        plan = load_plan(plan_path)
    except (InvalidInstanceError, PlanFormatError):
        return None, "the plan there could not be read for this instance: solved again"
    if plan.instance != instance.name:
        return None, f"the plan there is of instance {plan.instance!r}: solved again"
    report = check_plan(instance, plan)
    if not report.ok:
        return None, f"the plan there has {len(report.violations)} violation(s): solved again"
    return figures_of(plan, report), None


def run_batch(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    params: SolveParams,
    executor: Executor,
    on_row: Callable[[BatchRow], None] | None = None,
    task: TaskFn = solve_and_check,
) -> BatchSummary:
    """Solve every instance of ``paths`` through ``executor``, verify each plan and
    write the plans and the summary to ``out_dir``.

    Parameters
    ----------
    paths
        Instance files; each one's label is its file name without ``.json``.
    out_dir
        Where ``<label>.plan.json``, ``summary.json`` and ``summary.csv`` go (created).
    params
        The solve parameters of every instance; each task asks the executor for
        ``params.workers`` CPUs.
    executor
        Local processes or a Ray cluster.
    on_row
        Called with each row as it is known (a progress bar).
    task
        The task function (tests pass one that fails on purpose).

    Raises
    ------
    ValueError
        Two instances share a file name.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = labels_of(paths)
    rows: dict[str, BatchRow] = {}
    notes: dict[str, str] = {}
    calls: list[Call] = []

    def done(row: BatchRow) -> None:
        rows[row.instance] = row
        if on_row is not None:
            on_row(row)

    for label, path in zip(labels, paths, strict=True):
        plan_path = out / f"{label}{PLAN_SUFFIX}"
        figures, note = existing_valid(Path(path), plan_path)
        if figures is not None:
            done(
                BatchRow(
                    instance=label,
                    path=str(path),
                    outcome=SKIPPED,
                    plan=str(plan_path),
                    figures=figures,
                )
            )
            continue
        if note:
            notes[label] = note
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "file not found" if isinstance(exc, FileNotFoundError) else str(exc)
            done(
                BatchRow(
                    instance=label,
                    path=str(path),
                    outcome=FAILED,
                    error=f"cannot read {path}: {reason}",
                )
            )
            continue
        calls.append(Call(label, (label, text, params)))

    by_label = dict(zip(labels, paths, strict=True))
    for outcome in executor.run(task, calls, cpus_per_task=params.workers):
        label = outcome.key
        base = {"instance": label, "path": str(by_label[label]), "note": notes.get(label)}
        if not outcome.ok:
            done(
                BatchRow(
                    **base, outcome=FAILED, error=outcome.error, wall_s=round(outcome.wall_s, 3)
                )
            )
            continue
        solved: Solved = outcome.value
        plan_path = out / f"{label}{PLAN_SUFFIX}"
        write_atomic(plan_path, solved.plan_json + "\n")
        done(
            BatchRow(
                **base,
                outcome=SOLVED if solved.figures.check_ok else CHECK_FAILED,
                plan=str(plan_path),
                figures=solved.figures,
                wall_s=round(solved.solve_s + solved.check_s, 3),
                error=None
                if solved.figures.check_ok
                else f"the checker found {solved.figures.violations} violation(s): "
                + ", ".join(solved.figures.violation_codes),
            )
        )

    ordered = [rows[label] for label in labels]
    summary = BatchSummary(
        executor=executor.name,
        params=params.model_dump(mode="json"),
        rows=ordered,
        wall_s=round(time.perf_counter() - start, 3),
        counts=dict(Counter(r.outcome for r in ordered)),
    )
    write_atomic(out / "summary.json", summary.model_dump_json(indent=1) + "\n")
    write_csv(out / "summary.csv", [csv_row(r) for r in ordered])
    return summary


CSV_COLUMNS = (
    "instance",
    "outcome",
    "status",
    "check_ok",
    "violations",
    *(f"cost_{t}" for t in COST_TERMS),
    "fill_rate",
    "unit_fill_rate",
    "on_time_rate",
    "orders",
    "orders_served",
    "orders_late",
    "orders_unassigned",
    "gap",
    "wall_s",
    "error",
    "plan",
)


def csv_row(row: BatchRow) -> dict[str, Any]:
    """One summary row flat, in :data:`CSV_COLUMNS` (figures empty when there is no plan)."""
    flat: dict[str, Any] = {
        "instance": row.instance,
        "outcome": row.outcome,
        "wall_s": row.wall_s,
        "error": row.error or "",
        "plan": row.plan or "",
    }
    f = row.figures
    if f is not None:
        flat.update(
            status=f.status,
            check_ok=f.check_ok,
            violations=f.violations,
            fill_rate=round(f.fill_rate, 6),
            unit_fill_rate=round(f.unit_fill_rate, 6),
            on_time_rate=round(f.on_time_rate, 6),
            orders=f.orders,
            orders_served=f.orders_served,
            orders_late=f.orders_late,
            orders_unassigned=f.orders_unassigned,
            gap="" if f.gap is None else round(f.gap, 6),
        )
        flat.update({f"cost_{t}": v for t, v in f.costs.items()})
    return flat


def write_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] = CSV_COLUMNS
) -> None:
    """``rows`` as CSV with a header, missing values empty."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file, so an interrupted batch leaves no half plan that a
    re-run would have to read."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
