"""Capacity-sharing benchmark: analysis and re-plan time, and what an outage moves.

For an instance: one solve with the analysis (its time is the plan's
``capacity_sharing.wall_time_s``), then, for ``--outages`` factories drawn (seeded)
among those the plan uses, a re-plan after that factory drops out from
``--now`` to the end of the horizon (work before ``--now`` is done, started parts
are frozen), once without a stability penalty and once with ``--stability`` cents a
unit. Per re-plan: wall time, orders and units moved, cost change, newly unserved.

    .venv/bin/python -m benchmarks.sharing_scale INSTANCE [--time-limit 60] \\
        [--replan-time-limit 30] [--outages 5] [--now 3] [--stability 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from typing import Any

from matcher.app.pipeline import plan
from matcher.app.replan import replan
from matcher.cli.output import native_output_to_stderr
from matcher.domain.events import parse_disruption
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--replan-time-limit", type=float, default=30.0)
    ap.add_argument("--outages", type=int, default=5)
    ap.add_argument("--now", type=int, default=3)
    ap.add_argument("--stability", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the rows as JSON lines")
    args = ap.parse_args(argv)

    rows: list[dict[str, Any]] = []
    instance = load_instance(args.instance)
    params = SolveParams(time_limit_s=args.time_limit, workers=args.workers, seed=args.seed)
    start = time.perf_counter()
    base = plan(instance, params)
    cs = base.capacity_sharing
    assert cs is not None
    rows.append(
        {
            "what": "solve",
            "instance": instance.name,
            "orders": len(instance.orders),
            "factories": len(instance.factories),
            "wall_s": round(time.perf_counter() - start, 2),
            "analysis_s": cs.wall_time_s,
            "capacity_rows": len(cs.capacity),
            "binding_rows": sum(1 for r in cs.capacity if r.marginal_cents_per_hour > 0),
            "overloaded": len(cs.overloaded),
            "under_used": len(cs.under_used),
            "transfers": len(cs.transfers),
            "best_transfer_cents": cs.transfers[0].saving_cents if cs.transfers else 0,
            "allocations": sum(1 for a in base.allocations if a.operation == 0),
            "stage_s": {st.stage: st.wall_time_s for st in base.stages},
            "analysis_notes": cs.notes,
            "status": base.status.value,
        }
    )
    _emit(rows[-1], args.json)
    used = sorted({a.factory for a in base.allocations})
    rng = random.Random(args.seed)
    chosen = rng.sample(used, min(args.outages, len(used)))
    last = instance.horizon.periods - 1
    for factory in chosen:
        for stability in (0, args.stability):
            events = {
                "now_period": args.now,
                "stability": stability,
                "events": [
                    {
                        "type": "factory_unavailable",
                        "factory": factory,
                        "from_period": args.now,
                        "to_period": last,
                    }
                ],
            }
            d = parse_disruption(events, instance)
            rp = SolveParams(
                time_limit_s=args.replan_time_limit,
                workers=args.workers,
                seed=args.seed,
                sharing=False,
            )
            began = time.perf_counter()
            new = replan(instance, base, d, rp)
            r = new.replan
            assert r is not None
            there = sum(1 for a in base.allocations if a.operation == 0 and a.factory == factory)
            rows.append(
                {
                    "what": "replan",
                    "instance": instance.name,
                    "factory": factory,
                    "parts_there": there,
                    "stability": stability,
                    "wall_s": round(time.perf_counter() - began, 2),
                    "assignment_s": new.stages[0].wall_time_s,
                    "stage_s": {st.stage: st.wall_time_s for st in new.stages},
                    "orders_moved": r.orders_moved,
                    "moves": len(r.moves),
                    "moved_units": r.moved_units,
                    "frozen_units": r.frozen_units,
                    "total_delta_cents": r.total_delta_cents,
                    "newly_unserved": len(r.newly_unserved),
                    "released": len(r.released),
                    "conflicts": len(r.conflicts),
                    "status": new.stages[0].status.value,
                }
            )
            _emit(rows[-1], args.json)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB", file=sys.stderr)
    return 0


def _emit(row: dict[str, Any], path: str | None) -> None:
    print(json.dumps(row), flush=True)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    # stdout carries only the JSON rows: what HiGHS prints on its own goes to stderr.
    with native_output_to_stderr():
        code = main()
    sys.exit(code)
