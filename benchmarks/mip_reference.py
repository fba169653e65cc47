"""A reference bound for an instance's assignment: HiGHS on the whole MIP model, no size cap.

    .venv/bin/python -m benchmarks.mip_reference INSTANCE PLAN [--seconds 5400] [--json OUT]

The model is the MIP back-ends' (:func:`solvers.assignment.mip.build_model`), which the
``mip-highs`` back-end refuses above 30 000 production variables; here it is solved
whole, on HiGHS's one thread, for ``--seconds``. The best bound and any plan HiGHS finds
are printed (and written as JSON).

The unserved penalty of a mandatory order is so large that HiGHS's relaxations say
nothing useful with it. Like the assignment stage, this run sets it aside:
- every mandatory order's penalty is taken off the objective;
- a row allows at most ``k`` mandatory orders unserved, ``k`` being how many ``PLAN``
  (the reference plan) leaves unserved.

So the bound holds for every plan that leaves at most ``k`` mandatory orders unserved.
It is in the terms of the assignment stage's objective without the mandatory penalty:
``stages[0].objective`` of a plan made with ``--no-feedback``. docs/scale.md, "Reference
runs", records the runs. A model this size is built in Python lists. Medium (126 000
production variables) takes 0.9 s and about 4 GB in HiGHS. The 10 000-order instance
(8.3 M) does not fit in 24 GB.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from matcher.domain.validation import load_instance
from solvers.assignment.mip import build_model
from solvers.assignment.problem import AssignmentProblem, build_problem
from solvers.linear import Limits, LinearModel, solve_mathopt


def at_most_unserved(
    model: LinearModel, problem: AssignmentProblem, served: dict[int, int], k: int
) -> int:
    """Take the mandatory orders' penalty off ``model`` and add the row "at most ``k``
    mandatory orders unserved"; the ``k`` used (orders no factory can make count in it)."""
    penalty = problem.mandatory_penalty
    flags = []
    for info in problem.orders:
        if not info.order.mandatory:
            continue
        model.constant -= penalty
        s = served.get(info.index)
        if s is None:  # no candidate: unserved in every plan
            k -= 1
            continue
        model.cost[s] = model.cost.get(s, 0) + penalty
        flags.append(s)
    model.add([(1, s) for s in flags], len(flags) - k, float("inf"), "at most k unserved")
    return k


def whole_model(problem: AssignmentProblem, k: int) -> tuple[LinearModel, int]:
    """The MIP back-ends' whole model of ``problem``, its mandatory penalty set aside and
    at most ``k`` mandatory orders unserved (:func:`at_most_unserved`); the ``k`` used."""
    model, v = build_model(problem, hard_mandatory=False)
    return model, at_most_unserved(model, problem, v.served, k)


def no_factory(problem: AssignmentProblem) -> int:
    """The mandatory orders no factory can make: unserved in every plan."""
    return sum(1 for i in problem.orders if i.order.mandatory and not i.candidates)


def emit(result: dict[str, Any], path: Path | None) -> None:
    """Print ``result`` as JSON, and write it to ``path`` when given."""
    text = json.dumps(result, indent=1)
    print(text)
    if path is not None:
        path.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("plan", type=Path, help="the reference plan: how many mandatory left out")
    parser.add_argument("--seconds", type=float, default=5400.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    instance = load_instance(args.instance)
    plan = json.loads(args.plan.read_text())
    started = time.perf_counter()
    problem = build_problem(instance, instance.weights)
    served_ids = {a["order"] for a in plan["allocations"]}
    left_out = sum(1 for o in instance.orders if o.mandatory and o.id not in served_ids)
    model, k = whole_model(problem, left_out)
    built = time.perf_counter() - started
    limits = Limits(time.perf_counter() + args.seconds, relative_gap=0.0, seed=0, workers=1)
    outcome = solve_mathopt(model, "highs", limits, None)
    reference = plan["stages"][0]["objective"]
    result = {
        "instance": str(args.instance),
        "plan": str(args.plan),
        "production_variables": problem.size,
        "model_variables": len(model.upper),
        "model_rows": len(model.row_lo),
        "mandatory_unserved_at_most": left_out,
        "k_row": k,
        "build_s": round(built, 2),
        "seconds": args.seconds,
        "status": outcome.status.value,
        "bound": outcome.bound,
        "objective": outcome.objective,
        "plan_objective": reference,
        "bound_gap_to_plan": None
        if outcome.bound is None
        else round((reference - outcome.bound) / reference, 5),
        "notes": [n for n in outcome.notes if "greedy" not in n],  # the adapter's, moot here
    }
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
