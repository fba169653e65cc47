"""Purchasing-stage benchmark: solve time and gap by size, Shapley sampling error.

Sizes (the issue's): ``--factories`` (50, 200, 1000) x 50 materials x 20 suppliers x 5
tiers, needs and offers from :func:`matcher.generate.purchasing.purchasing_case` (seed
1). For each size it measures

- the **collective** solve: every material's model to proven optimality or its share of
  ``--time-limit`` (the stage's first phase, run alone), with status, objective, bound
  and gap summed over the materials;
- the **whole stage** (:func:`solvers.purchasing.stage.run_purchasing`): collective,
  stand-alone solves, Shapley split and core check within ``--time-limit``.

``--shapley`` instead measures sampled against exact Shapley charges on ``--cases``
10-factory purchasing games (one material each, sampled at 50, 200 and 1000
permutations): the mean and largest absolute error per factory, as a share of the
factory's exact saving and of the material's total savings, and how often the exact
value lies inside the reported 95 % interval.

    .venv/bin/python -m benchmarks.purchasing_scale [--factories 50 200 1000] \\
        [--time-limit 10] [--solver auto] [--workers 2] [--json OUT]
    .venv/bin/python -m benchmarks.purchasing_scale --shapley [--cases 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from matcher.domain.params import SolveParams
from matcher.domain.plan import Allocation, PeriodQuantity, SolveStatus
from matcher.generate.purchasing import purchasing_case
from solvers.linear import Limits
from solvers.purchasing import split
from solvers.purchasing.problem import build_purchasing_problem
from solvers.purchasing.solve import solve_material
from solvers.purchasing.stage import run_purchasing, solve_collective


def _allocations(needs: dict[str, dict[str, dict[int, int]]]) -> list[Allocation]:
    """The stage reads needs from allocations: one per (material, factory), made at that
    factory in the drawn periods, of the order :func:`_stage_instance` adds for it."""
    out: list[Allocation] = []
    for mat, per in sorted(needs.items()):
        for fac, periods in sorted(per.items()):
            out.append(
                Allocation(
                    order=f"{mat}-{fac}",
                    operation=0,
                    process="assembly",
                    factory=fac,
                    resource_group="line",
                    quantity=sum(periods.values()),
                    periods=[
                        PeriodQuantity(period=t, quantity=q) for t, q in sorted(periods.items())
                    ],
                    production_cents=0,
                )
            )
    return out


def _stage_instance(instance: Any, needs: dict[str, dict[str, dict[int, int]]]) -> Any:
    """The instance with one order per (material, factory) whose bill of materials is
    1 unit of that material: its allocation then needs exactly the drawn quantities."""
    data = instance.model_dump(mode="json")
    data["orders"] = [
        {
            "id": f"{mat}-{fac}",
            "buyer": "platform",
            "operations": [{"process": "assembly"}],
            "quantity": sum(periods.values()),
            "due_period": instance.horizon.periods - 1,
            "delivery": {"lat": 30.0, "lon": 120.0},
            "bill_of_materials": {mat: 1.0},
        }
        for mat, per in sorted(needs.items())
        for fac, periods in sorted(per.items())
    ]
    return type(instance).model_validate(data)


def measure_size(factories: int, time_limit: float, solver: str, workers: int) -> dict[str, Any]:
    instance, needs = purchasing_case(factories, 50, 20, seed=1, tiers=5)
    problem = build_purchasing_problem(instance, needs)
    params = SolveParams(purchasing_solver=solver, workers=workers, time_limit_s=time_limit)
    start = time.perf_counter()
    # the stage's first phase alone, given the whole limit
    solved = solve_collective(problem, params, start + time_limit, None)
    cost = sum(s.cost for s in solved.values())
    bound = sum(s.bound if s.bound is not None else 0.0 for s in solved.values())
    statuses = {s.value: sum(1 for x in solved.values() if x.status == s) for s in SolveStatus}
    collective_s = time.perf_counter() - start
    stage_start = time.perf_counter()
    out = run_purchasing(_stage_instance(instance, needs), _allocations(needs), params, time_limit)
    stage_s = time.perf_counter() - stage_start
    assert out is not None
    pu, stats = out
    return {
        "factories": factories,
        "materials": len(problem.materials),
        "offers": sum(len(m.offers) for m in problem.materials),
        "factory_material_pairs": sum(len(m.needs) for m in problem.materials),
        "solver": solver,
        "time_limit_s": time_limit,
        "collective_s": round(collective_s, 2),
        "collective_status": {k: v for k, v in statuses.items() if v},
        "collective_cents": cost,
        "collective_gap": round((cost - bound) / max(1, cost), 6),
        "stage_s": round(stage_s, 2),
        "stage_status": stats.status.value,
        "stage_gap": stats.gap,
        "stage_extra": stats.extra,
        "savings_cents": pu.savings_cents,
        "standalone_cents": pu.standalone_cents,
        "split_method": pu.split_method,
        "permutations": pu.permutations,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure_shapley(cases: int, solver: str) -> dict[str, Any]:
    """Sampled against exact Shapley on 10-factory one-material games."""
    rows: dict[int, list[tuple[float, float, float, bool]]] = {50: [], 200: [], 1000: []}
    made = 0
    seed = 0
    while made < cases:
        seed += 1
        instance, needs = purchasing_case(10, 1, 6, seed=seed, materials_per_factory=(1, 1))
        problem = build_purchasing_problem(instance, needs)
        mp = problem.materials[0]
        players = mp.factories
        if len(players) != 10:
            continue
        made += 1

        def cost(coalition: frozenset[str], mp: Any = mp) -> float:
            sol = solve_material(
                mp, sorted(coalition), solver, Limits(time.perf_counter() + 10, 0.0, 0, 1)
            )
            return float(sol.cost)

        costs = split.CoalitionCosts(cost)
        exact = split.shapley_exact(players, costs)
        savings = sum(costs(frozenset([f])) for f in players) - costs(frozenset(players))
        for n in rows:
            est = split.shapley_sampled(players, costs, n, seed=seed)
            for f in players:
                alone = costs(frozenset([f]))
                err = abs(est.charges[f] - exact.charges[f])
                exact_saving = alone - exact.charges[f]
                inside = est.ci95 is not None and err <= est.ci95[f]
                rows[n].append(
                    (err, err / max(1.0, abs(exact_saving)), err / max(1.0, abs(savings)), inside)
                )
    out: dict[str, Any] = {"cases": cases, "players": 10, "solver": solver, "by_permutations": {}}
    for n, errs in rows.items():
        out["by_permutations"][n] = {
            "mean_abs_error_cents": round(sum(e[0] for e in errs) / len(errs), 1),
            "max_abs_error_cents": round(max(e[0] for e in errs), 1),
            "mean_error_of_own_saving": round(sum(e[1] for e in errs) / len(errs), 4),
            "mean_error_of_material_savings": round(sum(e[2] for e in errs) / len(errs), 5),
            "inside_ci95": round(sum(e[3] for e in errs) / len(errs), 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factories", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--solver", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shapley", action="store_true")
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] | dict[str, Any]
    if args.shapley:
        results = measure_shapley(args.cases, args.solver)
        print(json.dumps(results, indent=1))
    else:
        results = []
        for n in args.factories:
            row = measure_size(n, args.time_limit, args.solver, args.workers)
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
