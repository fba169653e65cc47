"""Two solver configurations over a set of instances, judged by pass/fail thresholds on
cost and KPIs (``matcher compare``): an acceptance test for a solver change.

Configuration A is the baseline, B the candidate. Each instance is planned with both
(:func:`matcher.app.pipeline.plan`), both plans are verified by the independent checker
and B is judged against A per instance; any threshold that fails, or a plan the checker
rejects, fails the comparison. The checker is passed in by the caller (the CLI passes
:func:`matcher.check.check_plan`): the application and the checker are sibling layers
that do not import each other. Defaults are deterministic (one worker, seed 0), so a
comparison repeats on the same machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, ValidationError

from matcher.app.diff import diff_plans
from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, Result

ALIASES = {"solver": "assignment_solver", "time_limit": "time_limit_s"}
"""Short keys a configuration may use for SolveParams fields."""


def parse_config(spec: str, base: SolveParams) -> SolveParams:
    """``base`` with the ``key=value,key=value`` pairs of ``spec`` applied.

    Keys are :class:`SolveParams` fields (``solver`` and ``time_limit`` are accepted for
    ``assignment_solver`` and ``time_limit_s``); values are parsed as that field's type.

    Raises
    ------
    ValueError
        A pair without ``=``, an unknown key or a value of the wrong type.
    """
    update: dict[str, Any] = {}
    for pair in (p.strip() for p in spec.split(",")):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"configuration {spec!r}: {pair!r} is not key=value")
        field = ALIASES.get(key.strip(), key.strip())
        if field not in SolveParams.model_fields or field == "weights":
            raise ValueError(f"configuration {spec!r}: unknown key {key.strip()!r}")
        update[field] = value.strip()
    try:
        return SolveParams.model_validate({**base.model_dump(), **update})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"configuration {spec!r}: {problems}") from None


class Thresholds(Result):
    """What B may lose against A on one instance; ``None`` leaves a figure unchecked."""

    max_cost_increase_pct: float | None = Field(
        default=None, description="(B - A) / |A| of costs.total, in percent."
    )
    min_fill_rate_delta_pp: float | None = Field(
        default=None, description="B's fill rate minus A's, in percentage points."
    )
    min_on_time_delta_pp: float | None = Field(
        default=None, description="B's on-time rate minus A's, in percentage points."
    )
    max_late_increase: int | None = Field(default=None, description="B's late orders minus A's.")


class Outcome(Result):
    """One configuration's plan of one instance, in the figures a comparison judges."""

    status: str
    total_cents: int
    objective_cents: int
    fill_rate: float
    on_time_rate: float
    orders_late: int
    orders_unassigned: int
    wall_time_s: float
    violations: int = Field(description="What the independent checker found wrong.")


class Verdict(Result):
    check: str
    value: float
    limit: float
    passed: bool


class InstanceComparison(Result):
    instance: str
    a: Outcome
    b: Outcome
    orders_moved: int
    newly_served: int
    newly_unserved: int
    verdicts: list[Verdict]
    passed: bool = Field(description="Every verdict passed.")


class Comparison(Result):
    config_a: dict[str, Any]
    config_b: dict[str, Any]
    thresholds: Thresholds
    instances: list[InstanceComparison]
    passed: bool = Field(description="Every instance passed.")


def compare(
    instances: Sequence[tuple[str, Instance]],
    a: SolveParams,
    b: SolveParams,
    thresholds: Thresholds,
    verify: Callable[[Instance, Plan], int],
    on_done: Callable[[InstanceComparison], None] | None = None,
) -> Comparison:
    """Plan every instance with ``a`` and ``b`` and judge B against A.

    Parameters
    ----------
    instances
        ``(label, instance)`` pairs; the label names the instance in the result.
    a, b
        The baseline and the candidate configuration.
    thresholds
        The limits B must keep on every instance; the checker must accept both plans
        whatever they say.
    verify
        The independent checker: how many violations a plan of an instance has.
    on_done
        Called after each instance (progress for a person watching).
    """
    rows = []
    for label, instance in instances:
        plan_a, outcome_a = _run(instance, a, verify)
        plan_b, outcome_b = _run(instance, b, verify)
        d = diff_plans(plan_a, plan_b)
        verdicts = judge(outcome_a, outcome_b, thresholds)
        row = InstanceComparison(
            instance=label,
            a=outcome_a,
            b=outcome_b,
            orders_moved=len(d.moved),
            newly_served=len(d.newly_served),
            newly_unserved=len(d.newly_unserved),
            verdicts=verdicts,
            passed=all(v.passed for v in verdicts),
        )
        rows.append(row)
        if on_done is not None:
            on_done(row)
    return Comparison(
        config_a=_changed(a),
        config_b=_changed(b),
        thresholds=thresholds,
        instances=rows,
        passed=all(r.passed for r in rows),
    )


def judge(a: Outcome, b: Outcome, t: Thresholds) -> list[Verdict]:
    """The verdicts of B against A: both plans valid, then each threshold set."""
    verdicts = [
        Verdict(check="A valid", value=a.violations, limit=0, passed=a.violations == 0),
        Verdict(check="B valid", value=b.violations, limit=0, passed=b.violations == 0),
    ]
    if t.max_cost_increase_pct is not None:
        diff = b.total_cents - a.total_cents
        pct = 100.0 * diff / abs(a.total_cents) if a.total_cents else (0.0 if not diff else 1e9)
        verdicts.append(_at_most("cost increase %", pct, t.max_cost_increase_pct))
    if t.min_fill_rate_delta_pp is not None:
        pp = 100.0 * (b.fill_rate - a.fill_rate)
        verdicts.append(_at_least("fill rate delta pp", pp, t.min_fill_rate_delta_pp))
    if t.min_on_time_delta_pp is not None:
        pp = 100.0 * (b.on_time_rate - a.on_time_rate)
        verdicts.append(_at_least("on-time delta pp", pp, t.min_on_time_delta_pp))
    if t.max_late_increase is not None:
        late = float(b.orders_late - a.orders_late)
        verdicts.append(_at_most("late orders increase", late, t.max_late_increase))
    return verdicts


# Rates are rounded to 1e-9 before judging so that a float's last bit cannot fail a
# threshold the figures meet exactly.
def _at_most(check: str, value: float, limit: float) -> Verdict:
    return Verdict(check=check, value=value, limit=limit, passed=round(value, 9) <= limit)


def _at_least(check: str, value: float, limit: float) -> Verdict:
    return Verdict(check=check, value=value, limit=limit, passed=round(value, 9) >= limit)


def _run(
    instance: Instance, params: SolveParams, verify: Callable[[Instance, Plan], int]
) -> tuple[Plan, Outcome]:
    start = time.perf_counter()
    result = plan(instance, params)
    wall = time.perf_counter() - start
    k = result.kpis
    return result, Outcome(
        status=result.status.value,
        total_cents=result.costs.total,
        objective_cents=result.costs.objective,
        fill_rate=k.fill_rate,
        on_time_rate=k.on_time_rate,
        orders_late=k.orders_late,
        orders_unassigned=k.orders_unassigned,
        wall_time_s=round(wall, 3),
        violations=verify(instance, result),
    )


def _changed(params: SolveParams) -> dict[str, Any]:
    """The parameters that differ from the defaults: what names a configuration."""
    default = SolveParams().model_dump(mode="json")
    return {k: v for k, v in params.model_dump(mode="json").items() if default.get(k) != v}
