"""The commands that solve here, in this process: ``solve``, ``replan``, ``schedule``
and ``recommend``.

The engines' application modules are imported in the command that runs them: they
load OR-Tools, which ``matcher validate`` or ``matcher --help`` should not wait for.
"""

from __future__ import annotations

import argparse
import sys
import time

from pydantic import ValidationError

from matcher.app.catalogue import solver_names
from matcher.app.executor import EXECUTORS, opened
from matcher.app.recommend import recommend
from matcher.check import check_schedule, load_plan
from matcher.cli.inputs import recommend_inputs, replan_inputs
from matcher.cli.output import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    err,
    out,
    write_json,
)
from matcher.cli.progress import LiveProgress
from matcher.cli.tables import recommendations_table, schedule_table, write_plan
from matcher.domain.consistency import Issue
from matcher.domain.entities import FairnessOptions, ObjectiveWeights
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError, load_instance, pydantic_issues


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
    g = p.add_argument_group(
        "decomposed solve (docs/batch.md): the instance's independent parts as tasks"
    )
    g.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="solve the independent parts as tasks: local (processes on this machine) or "
        "ray (a Ray cluster), their plans assembled into one and routed whole; default: one "
        "process, no parts",
    )
    g.add_argument("--ray-address", metavar="ADDR", help="with --executor ray: the cluster")
    g.add_argument("--jobs", type=int, metavar="N", help="parts solved at once")
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
    p.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="seconds (default 30); with more than one worker, of the whole command, reading "
        "and writing included",
    )
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
    _fairness_options(p)


def _fairness_options(p: argparse.ArgumentParser) -> None:
    """The fairness options (docs/fairness.md): each one given overrides the instance's."""
    g = p.add_argument_group(
        "fairness (docs/fairness.md; each option given overrides the instance's fairness)"
    )
    g.add_argument("--max-share", type=float, help="hard cap on one factory's share of the work")
    g.add_argument(
        "--share-measure",
        choices=["units", "hours", "revenue"],
        help="what work is counted in (default units)",
    )
    g.add_argument("--min-work", type=float, help="minimum work per factory, in the measure")
    g.add_argument(
        "--min-work-for",
        action="append",
        default=[],
        metavar="FACTORY=N",
        help="one factory's minimum work (repeatable; 0 exempts it)",
    )
    g.add_argument("--min-work-hard", action="store_true", help="the minimum as a hard constraint")
    g.add_argument(
        "--min-work-penalty", type=int, help="cents per unit of the measure short (soft)"
    )
    g.add_argument(
        "--exploration-share", type=float, help="share of the work for new factories (soft)"
    )
    g.add_argument("--exploration-penalty", type=int, help="cents per unit of the measure below it")
    g.add_argument(
        "--new-factory-records", type=int, help="fewer trade records than this: new (default 5)"
    )
    g.add_argument(
        "--load-balance",
        type=int,
        help="cents per percentage point of utilisation spread (overrides weights.load_balance)",
    )


def _fairness(args: argparse.Namespace, instance: Instance) -> FairnessOptions | None:
    """The instance's fairness with the options given on the command line, or None when
    none is given (the instance's then apply)."""
    given: dict[str, object] = {
        name: getattr(args, name)
        for name in (
            "max_share",
            "share_measure",
            "min_work",
            "min_work_penalty",
            "exploration_share",
            "exploration_penalty",
            "new_factory_records",
        )
        if getattr(args, name) is not None
    }
    if args.min_work_hard:
        given["min_work_hard"] = True
    issues: list[Issue] = []
    if args.min_work_for:
        by_factory: dict[str, str] = {}
        for item in args.min_work_for:
            factory, sep, amount = item.partition("=")
            if not sep:
                issues.append(Issue("--min-work-for", f"expected FACTORY=N, got '{item}'"))
            by_factory[factory] = amount
        given["min_work_by_factory"] = by_factory
    if issues:
        raise InvalidInstanceError(issues)
    if not given:
        return None
    base = instance.fairness.model_dump() if instance.fairness is not None else {}
    try:
        return FairnessOptions.model_validate({**base, **given})
    except ValidationError as exc:
        raise InvalidInstanceError(pydantic_issues(exc, ("params", "fairness"))) from None


def _params(args: argparse.Namespace, instance: Instance) -> SolveParams:
    weights = None
    if args.load_balance is not None:
        try:
            weights = ObjectiveWeights.model_validate(
                {**instance.weights.model_dump(), "load_balance": args.load_balance}
            )
        except ValidationError as exc:
            raise InvalidInstanceError(pydantic_issues(exc, ("params", "weights"))) from None
    return SolveParams(
        weights=weights,
        fairness=_fairness(args, instance),
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


WRITE_S_PER_ORDER = 2e-5
"""What writing a plan and its summary costs per order of the instance: 1.1 s at 50 000
orders (2 cores, one run)."""
LEAST_SOLVE_SHARE = 0.5
"""However long the instance took to load, the solve keeps this share of the limit."""


def _counted_from(params: SolveParams, started: float, orders: int) -> SolveParams:
    """With more than one worker ``--time-limit`` is the command's wall clock: the time
    since ``started`` (loading OR-Tools and the inputs) and, estimated, writing the plan
    come off the solve's limit (a 60 s solve of 50 000 orders spent 4.2 s loading and 1.1
    s writing). With one worker the solve keeps its nominal shares, which make it
    deterministic."""
    if params.workers == 1:
        return params
    spent = time.perf_counter() - started + WRITE_S_PER_ORDER * orders
    limit = params.time_limit_s
    return params.model_copy(update={"time_limit_s": max(LEAST_SOLVE_SHARE * limit, limit - spent)})


def _cmd_solve(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    from matcher.app.pipeline import plan  # loads OR-Tools: only when solving

    instance = load_instance(args.instance)
    params = _counted_from(_params(args, instance), started, len(instance.orders))
    if args.executor is not None:
        return _decomposed(args, instance, params)
    with LiveProgress(not args.quiet) as live:
        result = plan(instance, params, live)
    return _finish(args, instance, params, result)


def _decomposed(args: argparse.Namespace, instance: Instance, params: SolveParams) -> int:
    """``solve --executor``: the parts as tasks, assembled into one plan (docs/batch.md)."""
    from matcher.app.decompose import decomposed_plan  # the engine loads in the tasks

    with (
        opened(args.executor, args.jobs, args.ray_address) as executor,
        LiveProgress(not args.quiet) as live,
    ):
        result = decomposed_plan(instance, params, executor, live)
    return _finish(args, instance, params, result)


def _finish(args: argparse.Namespace, instance: Instance, params: SolveParams, result: Plan) -> int:
    """The optional sections ``--explain`` and ``--unconstrained``, then the plan."""
    if args.explain:
        from matcher.app.constraints import with_constraints
        from matcher.app.explain import explain_plan

        result = with_constraints(instance, explain_plan(instance, result, params))
    if args.unconstrained:
        from matcher.app.capacity_needs import with_capacity_needs  # loads OR-Tools

        result = with_capacity_needs(instance, result, params)
    write_plan(result, args)
    _fairness_summary(result, args)
    return EXIT_OK


def _fairness_summary(plan: Plan, args: argparse.Namespace) -> None:
    """One line on the fairness in effect and what it cost, when there is any."""
    opts = plan.fairness_options
    if args.quiet or (opts is None and plan.weights.load_balance == 0):
        return
    parts = []
    if opts is not None:
        parts.append(f"{opts.share_measure}")
        if opts.max_share is not None:
            parts.append(f"max share {opts.max_share:g}")
        if opts.min_work is not None or opts.min_work_by_factory:
            kind = "hard" if opts.min_work_hard else f"soft, {opts.shortfall_cents} c/unit short"
            mins = f"min work {opts.min_work or 0:g}"
            if opts.min_work_by_factory:
                mins += f" (+{len(opts.min_work_by_factory)} per factory)"
            parts.append(f"{mins} ({kind})")
        if opts.exploration_share is not None:
            parts.append(
                f"exploration {opts.exploration_share:g} for factories with fewer than "
                f"{opts.new_factory_records} records ({opts.exploration_cents} c/unit short)"
            )
    if plan.weights.load_balance:
        parts.append(
            f"load balance {plan.weights.load_balance} c/point: spread "
            f"{plan.costs.load_balance} points"
        )
    console = err if args.output == "-" else out
    console.print(
        f"fairness: {'; '.join(parts)}; penalties {plan.costs.fairness} cents (docs/fairness.md)"
    )


def _cmd_replan(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    from matcher.app.replan import replan  # loads OR-Tools: only when re-planning

    instance, previous, disruption = replan_inputs(args)
    params = _counted_from(_params(args, instance), started, len(instance.orders))
    with LiveProgress(not args.quiet) as live:
        result = replan(instance, previous, disruption, params, live)
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
