"""Solve one instance file in this process and print what it cost, as one JSON line.

The scale benchmarks run this in a fresh subprocess per size, so that the peak
resident memory it reports (``ru_maxrss``) belongs to that solve alone and includes
what CP-SAT allocates in C++, which ``tracemalloc`` cannot see. The figure covers the
whole process, as for ``matcher solve``: interpreter, imports, the parsed instance,
the compiled problem and the solver.

    python -m benchmarks.solve_once INSTANCE --time-limit 60 --workers 2 --seed 1
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from matcher.app.heap import tune_collector
from matcher.app.pipeline import plan
from matcher.cli.output import native_output_to_stderr
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB: ``VmHWM`` of
    /proc/self/status, which starts afresh at exec. ``ru_maxrss`` does not (Linux keeps
    the high-water mark across exec), so a solve started from a large pytest process
    reported that process' size; it is the fallback where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: str, time_limit_s: float, workers: int, seed: int) -> dict[str, Any]:
    """Load ``path``, run :func:`matcher.app.pipeline.plan` and report times, memory and result."""
    start = time.perf_counter()
    instance = load_instance(path)
    load_s = time.perf_counter() - start
    rss_loaded = _rss_mb()
    params = SolveParams(time_limit_s=time_limit_s, workers=workers, seed=seed)
    solve_start = time.perf_counter()
    result = plan(instance, params)
    plan_s = time.perf_counter() - solve_start
    stage = result.stages[0]
    return {
        "instance": instance.name,
        "load_s": round(load_s, 3),
        "plan_s": round(plan_s, 3),
        "compile_s": stage.extra.get("compile_s"),
        "candidates": stage.extra.get("candidates"),
        "production_variables": stage.extra.get("production_variables"),
        "solver": stage.solver,
        "status": str(stage.status),
        "objective": stage.objective,
        "bound": stage.best_bound,
        "gap": stage.gap,
        "solve_wall_s": stage.wall_time_s,
        "first_feasible_s": stage.time_to_first_feasible_s,
        "plan_objective": result.costs.objective,
        "orders_served": result.kpis.orders_served,
        "orders": result.kpis.orders,
        "notes": stage.notes,
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("instance")
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args(argv)
    tune_collector()  # as `matcher solve` does
    report = measure(args.instance, args.time_limit, args.workers, args.seed)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    # The JSON line must be stdout's last: what HiGHS prints on its own goes to stderr.
    with native_output_to_stderr():
        code = main()
    raise SystemExit(code)
