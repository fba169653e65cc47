"""The task every batch and scenario runs in a worker: solve one instance, verify the
plan with the independent checker, and send back the plan and its figures.

The instance travels as JSON text and the plan comes back as JSON text, so a task
needs no file system shared with the machine that submitted it (a Ray cluster's
nodes need only the package installed).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import Field

from matcher.app.diff import COST_TERMS
from matcher.app.executor import TaskError
from matcher.check import CheckReport, check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, Result
from matcher.domain.validation import InvalidInstanceError, parse_instance

MAX_CODES = 5
"""Violation codes kept per plan in a summary row (the plan file has them all)."""


class PlanFigures(Result):
    """What a summary shows of one plan: status, the checker's verdict, cost by term,
    KPIs and the assignment's gap."""

    status: str
    check_ok: bool
    violations: int
    violation_codes: list[str] = Field(default_factory=list)
    costs: dict[str, int] = Field(description="Every cost term of the plan, in cents.")
    orders: int
    orders_served: int
    orders_late: int
    orders_unassigned: int
    fill_rate: float
    unit_fill_rate: float
    on_time_rate: float
    gap: float | None = Field(description="The assignment stage's relative gap to its bound.")


class Solved(Result):
    """A task's answer: the plan as JSON text, its figures and the solve's wall time."""

    label: str
    plan_json: str
    figures: PlanFigures
    solve_s: float
    check_s: float


def figures_of(plan: Plan, report: CheckReport) -> PlanFigures:
    """The summary figures of ``plan`` as checked in ``report``."""
    k = plan.kpis
    codes = sorted(report.codes())
    return PlanFigures(
        status=plan.status.value,
        check_ok=report.ok,
        violations=len(report.violations),
        violation_codes=codes[:MAX_CODES],
        costs={term: int(getattr(plan.costs, term)) for term in COST_TERMS},
        orders=k.orders,
        orders_served=k.orders_served,
        orders_late=k.orders_late,
        orders_unassigned=k.orders_unassigned,
        fill_rate=k.fill_rate,
        unit_fill_rate=k.unit_fill_rate,
        on_time_rate=k.on_time_rate,
        gap=next((s.gap for s in plan.stages if s.stage == "assignment"), None),
    )


def read_instance_text(text: str) -> Instance:
    """The instance in ``text``; its problems as one :class:`TaskError` line, each with
    its path, so a summary row says what is wrong."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    try:
        return parse_instance(data)
    except InvalidInstanceError as exc:
        problems = "; ".join(str(issue) for issue in exc.issues)
        raise TaskError(f"invalid instance, {len(exc.issues)} problem(s): {problems}") from None


def solve_and_check(label: str, instance_text: str, params: SolveParams) -> Solved:
    """Solve the instance in ``instance_text`` with ``params`` and verify the plan.

    The executor's task: a top-level function of picklable arguments.

    Raises
    ------
    TaskError
        The text is not JSON or not a valid instance (every problem with its path).
    ValueError
        What the pipeline raises for a back-end that cannot handle the instance.
    """
    # OR-Tools loads in the worker that solves, not in the process that submits.
    from matcher.app.pipeline import plan as solve

    instance = read_instance_text(instance_text)
    start = time.perf_counter()
    result = solve(instance, params)
    solved = time.perf_counter()
    report = check_plan(instance, result)
    checked = time.perf_counter()
    return Solved(
        label=label,
        plan_json=result.model_dump_json(indent=1),
        figures=figures_of(result, report),
        solve_s=round(solved - start, 3),
        check_s=round(checked - solved, 3),
    )
