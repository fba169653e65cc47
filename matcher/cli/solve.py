"""The commands that solve here, in this process: ``solve``, ``replan``, ``schedule``
and ``recommend``.

The engines' application modules are imported in the command that runs them: they
load OR-Tools, which ``matcher validate`` or ``matcher --help`` should not wait for.
"""

from __future__ import annotations

import argparse
import sys

from matcher.app.catalogue import solver_names
from matcher.app.recommend import recommend
from matcher.check import check_schedule, load_plan
from matcher.cli.inputs import recommend_inputs, replan_inputs
from matcher.cli.output import EXIT_CHECK_FAILED, EXIT_OK, err, out, write_json
from matcher.cli.progress import LiveProgress
from matcher.cli.tables import recommendations_table, schedule_table, write_plan
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``solve``, ``replan``, ``schedule`` and ``recommend``, in that order."""
    names = solver_names()

    p = sub.add_parser("solve", help="solve an instance and write the plan")
    p.add_argument("instance")
    _solve_options(p, names["assignment"], names["purchasing"], names["routing"])
    p.add_argument(
        "--explain",
        action="store_true",
        help="add explanations of the unassigned and late orders and the constraint report to "
        "the plan (docs/explain.md)",
    )
    p.add_argument(
        "--unconstrained",
        action="store_true",
        help="add what it would take to the plan: the extra hours per factory, resource and "
        "period that would serve every order on time, and their worth (a relaxed solve of "
        "half the time limit more; docs/explain.md)",
    )
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser(
        "replan",
        help="re-plan after a disruption, moving as little as possible",
        description="Apply EVENTS (factory outages, capacity cuts, orders added, cancelled or "
        "changed; frozen work; now_period) to the plan and re-solve with a stability penalty "
        "per unit moved (docs/sharing.md).",
    )
    p.add_argument("instance")
    p.add_argument("plan", help="the previous plan (JSON)")
    p.add_argument("events", help="the disruption (JSON, docs/sharing.md)")
    p.add_argument(
        "--stability",
        type=int,
        default=None,
        help="cents per unit moved away from its factory (default: the events file's, else "
        "the weights')",
    )
    _solve_options(p, names["assignment"], names["purchasing"], names["routing"])
    p.set_defaults(func=_cmd_replan)

    p = sub.add_parser(
        "schedule",
        help="machine-by-machine schedules of a plan's work (CP-SAT), checked",
        description="Schedule the plan's lots on the machines of each resource group, in "
        "their calendars (docs/scheduling.md); the schedule is verified before exit.",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--factory", help="only this factory (default: every factory with work)")
    p.add_argument("-o", "--output", help="schedule JSON path ('-' for stdout)")
    p.add_argument("--objective", choices=["tardiness", "makespan"], default="tardiness")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds in all (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=_cmd_schedule)

    p = sub.add_parser(
        "recommend",
        help="the best factories for one new order, given a plan's remaining capacity",
    )
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("order", help="the order (JSON file, or the id of an order of the instance)")
    p.add_argument("-k", "--top-k", type=int, default=5, help="how many factories (default 5)")
    p.add_argument("--json", action="store_true", help="print the recommendations as JSON")
    p.set_defaults(func=_cmd_recommend)


def _solve_options(
    p: argparse.ArgumentParser,
    solvers: list[str],
    purchasing_solvers: list[str],
    routing_solvers: list[str],
) -> None:
    p.add_argument("-o", "--output", help="plan JSON path ('-' for stdout)")
    p.add_argument("--solver", default="cpsat", choices=solvers)
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="solver threads (1 = deterministic)")
    p.add_argument(
        "--max-candidates", type=int, default=0, help="cheapest N factories per order (0 = all)"
    )
    p.add_argument("--hard-mandatory", action="store_true", help="mandatory orders as hard rows")
    p.add_argument(
        "--strategy",
        choices=["auto", "full", "core", "lns"],
        default="auto",
        help="cpsat: whole model, LP-reduced-cost core, large-neighbourhood search, or pick "
        "by size (default)",
    )
    p.add_argument("--purchasing-solver", default="auto", choices=purchasing_solvers)
    p.add_argument("--routing-solver", default="auto", choices=routing_solvers)
    p.add_argument("--savings-split", choices=["shapley", "proportional"], default="shapley")
    p.add_argument(
        "--shapley-permutations",
        type=int,
        default=200,
        help="sampled Shapley above 12 factories per material (default 200)",
    )
    p.add_argument("--max-suppliers", type=int, default=None, help="most suppliers per material")
    p.add_argument("--no-sharing", action="store_true", help="skip the capacity-sharing analysis")
    p.add_argument(
        "--no-feedback",
        action="store_true",
        help="run the stages once, in sequence (no purchasing and routing costs fed back)",
    )
    p.add_argument(
        "--backups", action="store_true", help="capacity sharing: a backup factory per order part"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")


def _params(args: argparse.Namespace) -> SolveParams:
    return SolveParams(
        assignment_solver=args.solver,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        max_candidates=args.max_candidates,
        hard_mandatory=args.hard_mandatory,
        strategy=args.strategy,
        purchasing_solver=args.purchasing_solver,
        routing_solver=args.routing_solver,
        savings_split=args.savings_split,
        shapley_permutations=args.shapley_permutations,
        max_suppliers_per_material=args.max_suppliers,
        sharing=not args.no_sharing,
        backups=args.backups,
        feedback=not args.no_feedback,
    )


def _cmd_solve(args: argparse.Namespace) -> int:
    from matcher.app.pipeline import plan  # loads OR-Tools: only when solving

    instance = load_instance(args.instance)
    params = _params(args)
    with LiveProgress(not args.quiet) as live:
        result = plan(instance, params, live)
    if args.explain:
        from matcher.app.constraints import with_constraints
        from matcher.app.explain import explain_plan

        result = with_constraints(instance, explain_plan(instance, result, params))
    if args.unconstrained:
        from matcher.app.capacity_needs import with_capacity_needs  # loads OR-Tools

        result = with_capacity_needs(instance, result, params)
    write_plan(result, args)
    return EXIT_OK


def _cmd_replan(args: argparse.Namespace) -> int:
    from matcher.app.replan import replan  # loads OR-Tools: only when re-planning

    instance, previous, disruption = replan_inputs(args)
    with LiveProgress(not args.quiet) as live:
        result = replan(instance, previous, disruption, _params(args), live)
    write_plan(result, args)
    return EXIT_OK


def _cmd_recommend(args: argparse.Namespace) -> int:
    instance, plan, order = recommend_inputs(args)
    result = recommend(instance, plan, order, args.top_k)
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        out.print(recommendations_table(result))
    return EXIT_OK


def _cmd_schedule(args: argparse.Namespace) -> int:
    from matcher.app.schedule import schedule_plan  # loads OR-Tools: only when scheduling

    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    result = schedule_plan(
        instance, plan, args.factory, args.time_limit, args.workers, args.seed, args.objective
    )
    write_json(result, args.output)
    if not args.quiet:
        console = err if args.output == "-" else out
        console.print(schedule_table(result, args.objective))
    violations = check_schedule(instance, plan, result)
    for v in violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    return EXIT_CHECK_FAILED if violations else EXIT_OK
