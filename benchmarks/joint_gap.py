"""How far the default pipeline is from the joint optimum of assignment and purchasing.

Generates ``--instances`` small instances (10 to 30 orders, 4 to 8 factories, 7 or 14
periods, bills of materials and tiered suppliers, :func:`matcher.generate.generate`
with seeds from ``--seed``; fleets removed, since routing replaces the per-unit
transport estimates both solves optimise) and plans each twice with one worker:

- **default**: the default pipeline (``cpsat``, feedback rounds on);
- **joint**: ``assignment_solver="joint"`` with feedback off (it prices the
  materials itself), then the pipeline's own purchasing stage for its allocations;

and, with ``--sequential``, a third time with the default back-end and feedback off
(the stages once, in sequence). Both plans go through the independent checker.

Per instance one JSON line: sizes, each plan's total, objective, purchasing, status,
shortages, wall time and checker verdict; the joint's status, bound, model size and
reported purchasing part; the gap ``(default - joint) / joint`` in % (exact when
the joint is proven optimal; ``gap_to_bound_pct`` bounds it otherwise). A summary
line closes the output; a table goes to stderr.

    .venv/bin/python -m benchmarks.joint_gap [--instances 20] [--time-limit 20] \\
        [--seed 100] [--sequential] > docs/results-joint-gap.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.generate import generate
from solvers.joint.backend import MAX_ORDERS, purchasing_part

ORDERS = (10, 15, 20, 25, 30)
FACTORIES = (4, 5, 6, 8)
PERIODS = (7, 14)
_SIZE = re.compile(r"(\d+) variables of which (\d+) binary; (\d+) variables, (\d+) rows")


def instance_specs(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    """(orders, factories, periods, seed) of each instance: orders and factories cycle,
    the horizon alternates every five instances, seeds count up."""
    return [
        (
            ORDERS[i % len(ORDERS)],
            FACTORIES[i % len(FACTORIES)],
            PERIODS[(i // len(ORDERS)) % len(PERIODS)],
            seed + i,
        )
        for i in range(count)
    ]


def make_instance(orders: int, factories: int, periods: int, seed: int) -> Instance:
    data = generate(orders=orders, factories=factories, periods=periods, seed=seed).model_dump()
    data["fleet"] = {}
    return Instance.model_validate(data)


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Native output (HiGHS prints a line on stdout now and then) goes to stderr, so
    that stdout holds the JSON lines only."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _run(instance: Instance, params: SolveParams) -> tuple[Plan, float]:
    start = time.perf_counter()
    with _stdout_to_stderr():
        p = plan(instance, params)
    return p, time.perf_counter() - start


def _summary(instance: Instance, p: Plan, wall: float) -> dict[str, Any]:
    stage = p.stages[0]
    report = check_plan(instance, p)
    return {
        "total": p.costs.total,
        "objective": p.costs.objective,
        "purchasing": p.costs.purchasing,
        "status": p.status.value,
        "assignment_status": stage.status.value,
        "assignment_objective": stage.objective,
        "assignment_bound": stage.best_bound,
        "served": p.kpis.orders_served,
        "shortages": 0 if p.purchasing is None else len(p.purchasing.shortages),
        "verified": report.ok,
        "violations": [str(v) for v in report.violations][:5],
        "wall_s": round(wall, 2),
    }


def _size(notes: list[str]) -> dict[str, int]:
    for note in notes:
        if (found := _SIZE.search(note)) is not None:
            keys = ("purchasing_variables", "purchasing_binaries", "variables", "rows")
            return dict(zip(keys, map(int, found.groups()), strict=True))
    return {}


def _pct(a: float, b: float) -> float:
    return round(100.0 * (a - b) / max(1.0, abs(b)), 3)


def measure(spec: tuple[int, int, int, int], time_limit: float, sequential: bool) -> dict[str, Any]:
    """One instance: the default pipeline and the joint reference (and the sequential
    pipeline) on it."""
    orders, factories, periods, seed = spec
    instance = make_instance(orders, factories, periods, seed)
    base = SolveParams(workers=1, seed=0, time_limit_s=time_limit, sharing=False)
    default, default_s = _run(instance, base)
    joint_params = base.model_copy(
        update={"assignment_solver": "joint", "feedback": False, "relative_gap": 0.0}
    )
    joint, joint_s = _run(instance, joint_params)
    row: dict[str, Any] = {
        "instance": instance.name,
        "orders": orders,
        "factories": factories,
        "periods": periods,
        "seed": seed,
        "time_limit_s": time_limit,
        "default": _summary(instance, default, default_s),
        "joint": _summary(instance, joint, joint_s),
    }
    stage = joint.stages[0]
    row["joint"]["reported_purchasing"] = purchasing_part(stage.notes)
    row["joint"].update(_size(stage.notes))
    row["joint"]["production_variables"] = stage.extra.get("production_variables")
    row["gap_pct"] = _pct(default.costs.total, joint.costs.total)
    bound = stage.best_bound
    row["gap_to_bound_pct"] = None if bound is None else _pct(default.costs.total, bound)
    row["joint_proven"] = stage.status.value == "OPTIMAL"
    row["joint_own_gap_pct"] = None if stage.gap is None else round(100.0 * stage.gap, 6)
    if sequential:
        seq, seq_s = _run(instance, base.model_copy(update={"feedback": False}))
        row["sequential"] = _summary(instance, seq, seq_s)
        row["sequential_gap_pct"] = _pct(seq.costs.total, joint.costs.total)
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    gaps = [r["gap_pct"] for r in rows]
    out: dict[str, Any] = {
        "summary": True,
        "instances": len(rows),
        "joint_proven": sum(r["joint_proven"] for r in rows),
        "mean_gap_pct": round(statistics.mean(gaps), 3) if gaps else None,
        "worst_gap_pct": max(gaps, default=None),
        "instances_with_gap": sum(1 for g in gaps if g > 0),
        "joint_lower_or_equal": sum(1 for g in gaps if g >= 0),
        "default_with_shortages": sum(1 for r in rows if r["default"]["shortages"]),
        "unverified": sum(1 for r in rows for k in ("default", "joint") if not r[k]["verified"]),
        "mean_default_wall_s": round(statistics.mean(r["default"]["wall_s"] for r in rows), 2),
        "mean_joint_wall_s": round(statistics.mean(r["joint"]["wall_s"] for r in rows), 2),
        "max_joint_wall_s": max(r["joint"]["wall_s"] for r in rows),
    }
    if rows and "sequential" in rows[0]:
        seq = [r["sequential_gap_pct"] for r in rows]
        out["mean_sequential_gap_pct"] = round(statistics.mean(seq), 3)
        out["worst_sequential_gap_pct"] = max(seq)
    return out


def table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    head = (
        f"{'instance':<22} {'default':>12} {'joint':>12} {'gap %':>7} {'joint status':>12} "
        f"{'bound gap %':>11} {'vars':>5} {'bin':>4} {'def s':>6} {'joint s':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        d, j = r["default"], r["joint"]
        bound = "" if r["gap_to_bound_pct"] is None else f"{r['gap_to_bound_pct']:.2f}"
        lines.append(
            f"{r['instance']:<22} {d['total']:>12} {j['total']:>12} {r['gap_pct']:>7.2f} "
            f"{j['assignment_status']:>12} {bound:>11} {j.get('variables', 0):>5} "
            f"{j.get('purchasing_binaries', 0):>4} {d['wall_s']:>6.1f} {j['wall_s']:>7.1f}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"mean gap {summary['mean_gap_pct']} %, worst {summary['worst_gap_pct']} % over "
        f"{summary['instances']} instances ({summary['instances_with_gap']} with a gap); "
        f"joint proven optimal on {summary['joint_proven']}; default plans with shortages: "
        f"{summary['default_with_shortages']}; plans failing the checker: "
        f"{summary['unverified']}"
    )
    if "mean_sequential_gap_pct" in summary:
        lines.append(
            f"sequential pipeline (no feedback): mean gap {summary['mean_sequential_gap_pct']} %,"
            f" worst {summary['worst_sequential_gap_pct']} %"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per plan")
    parser.add_argument("--seed", type=int, default=100, help="seed of the first instance")
    parser.add_argument("--sequential", action="store_true", help="also feedback off")
    args = parser.parse_args(argv)
    assert max(ORDERS) <= MAX_ORDERS
    rows: list[dict[str, Any]] = []
    for spec in instance_specs(args.instances, args.seed):
        row = measure(spec, args.time_limit, args.sequential)
        rows.append(row)
        print(json.dumps(row), flush=True)
        print(
            f"{row['instance']}: default {row['default']['total']}, joint "
            f"{row['joint']['total']} ({row['gap_pct']:.2f} %)",
            file=sys.stderr,
            flush=True,
        )
    summary = summarise(rows)
    print(json.dumps(summary), flush=True)
    print(table(rows, summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
