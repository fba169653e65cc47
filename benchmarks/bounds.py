"""How strong the assignment's lower bounds are on one instance, against a known plan.

    .venv/bin/python -m benchmarks.bounds INSTANCE --reference OBJ [--left-out ID,...]
        [--seconds 5] [--lp] [--lp-glop] [--json OUT]

For the Lagrangian relaxation (solvers/assignment/bound.py), uncapped, capped (an
uncapped ascent first, then the capped subproblem from its best multipliers) and capped
with working sets (the LNS's bound: the uncapped steps over working sets of candidates
where orders have many), it reports the bound reached within ``--seconds`` of ascent (after
making its arrays, timed apart) and the iterations that took; with ``--lp``,
the LP relaxation of the MIP back-ends' whole model, solved by HiGHS (as
``benchmarks.mip_reference`` builds it: every variable continuous here; medium's model
takes about 10 s, the 10 000-order one does not fit in memory); with ``--lp-glop``, the
assignment's own LP relaxation (``solvers/assignment/relaxation.py``: setups amortised,
lot minimums and part counts dropped) with the material rows as the Lagrangian bound
relaxes them, by GLOP's dual simplex: the ceiling of the capped Lagrangian bound, and
small enough for 10 000 orders (6.1 million columns: 20 minutes, 8 GB).

Every figure is in the terms of the assignment stage's objective without the penalty
of mandatory orders left out (``stages[0].objective`` of a ``--no-feedback`` plan),
and ``--reference`` is such an objective, e.g. a reference run's (docs/scale.md). The
bounds hold for plans that leave out no other mandatory orders than the ones no
factory can make and ``--left-out`` (ids; the reference plan's): the Lagrangian takes
those as unserved, the LP allows that many mandatory orders unserved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.mip_reference import emit, no_factory, whole_model
from matcher.domain.validation import load_instance
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.problem import AssignmentProblem, build_problem
from solvers.assignment.relaxation import solve_relaxation
from solvers.linear import Limits, solve_mathopt


def _left_out_penalty(problem: AssignmentProblem, left_out: list[int]) -> float:
    """The internal penalty of the mandatory orders a bound takes as unserved (those no
    factory can make and ``left_out``), which the figures here leave out."""
    return problem.mandatory_penalty * (no_factory(problem) + len(left_out))


def lagrangian(
    problem: AssignmentProblem,
    reference: float,
    left_out: list[int],
    seconds: float,
    capped: bool,
    working_sets: bool = False,
) -> dict[str, Any]:
    """The Lagrangian bound within ``seconds`` of ascent, the mandatory penalties of the
    orders no factory can make and of ``left_out`` taken off."""
    started = time.perf_counter()
    relaxation = LagrangianBound(problem, capped=capped)
    made = time.perf_counter() - started
    offset = _left_out_penalty(problem, left_out)
    started = time.perf_counter()
    value = relaxation.compute(
        reference + offset,
        left_out,
        iterations=1_000_000,
        time_limit_s=seconds,
        working_sets=working_sets,
    )
    bound = value - offset
    return {
        "subproblem": "capped" if capped else "uncapped",
        "working_sets": working_sets,
        "arrays_s": round(made, 2),
        "ascent_s": round(time.perf_counter() - started, 2),
        "iterations": relaxation.iterations,
        "bound": bound,
        "below_reference": round((reference - bound) / reference, 5),
    }


def lp(problem: AssignmentProblem, reference: float, left_out: int) -> dict[str, Any]:
    """The LP relaxation of the whole MIP model, at most ``left_out`` mandatory orders
    unserved beyond the ones no factory can make."""
    started = time.perf_counter()
    model, _ = whole_model(problem, left_out + no_factory(problem))
    model.relaxed = set(range(len(model.upper)))
    built = time.perf_counter() - started
    limits = Limits(time.perf_counter() + 3600, relative_gap=0.0, seed=0, workers=1)
    outcome = solve_mathopt(model, "highs", limits, None)
    bound = outcome.bound
    return {
        "build_s": round(built, 2),
        "solve_s": round(time.perf_counter() - started - built, 2),
        "status": outcome.status.value,
        "bound": bound,
        "below_reference": None if bound is None else round((reference - bound) / reference, 5),
    }


def lp_glop(problem: AssignmentProblem, reference: float, left_out: list[int]) -> dict[str, Any]:
    """The assignment's LP relaxation with its material rows, the orders in
    ``left_out`` taken as unserved."""
    started = time.perf_counter()
    relaxation = solve_relaxation(
        problem, hard_mandatory=False, time_limit_s=86_400, leave_out=left_out, materials=True
    )
    offset = _left_out_penalty(problem, left_out)
    bound = None if relaxation.bound is None else relaxation.bound - offset
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "note": relaxation.note,
        "bound": bound,
        "below_reference": None if bound is None else round((reference - bound) / reference, 5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--reference", type=float, required=True)
    parser.add_argument("--left-out", default="", help="mandatory order ids left out")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--lp", action="store_true")
    parser.add_argument("--lp-glop", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    instance = load_instance(args.instance)
    problem = build_problem(instance, instance.weights)
    index = {info.order.id: info.index for info in problem.orders}
    left_out = [index[oid] for oid in args.left_out.split(",") if oid]
    # The first ascent in a process runs slower (its arrays' first allocations): a
    # short one first, so that both are timed alike.
    lagrangian(problem, args.reference, left_out, 0.2, capped=False)
    result: dict[str, Any] = {
        "instance": str(args.instance),
        "reference": args.reference,
        "left_out": args.left_out,
        "lagrangian": [
            lagrangian(problem, args.reference, left_out, args.seconds, capped, sets)
            for capped, sets in ((False, False), (True, False), (True, True))
        ],
    }
    if args.lp:
        result["lp"] = lp(problem, args.reference, len(left_out))
    if args.lp_glop:
        result["lp_glop"] = lp_glop(problem, args.reference, left_out)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
