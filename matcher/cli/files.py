"""The commands over data files that solve nothing: ``validate`` an instance, ``check``
a plan or a machine schedule, ``generate`` an instance, print the ``schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from matcher.check import check_files, check_replan_files, check_schedule, load_plan
from matcher.cli.inputs import load_schedule
from matcher.cli.output import EXIT_CHECK_FAILED, EXIT_OK, err, money, out
from matcher.credit import parse_records, write_records
from matcher.domain.instance import Instance, json_schema
from matcher.domain.validation import load_instance
from matcher.generate import generate, instance_json
from matcher.generate.records import RECORDS_PER_FACTORY, generate_records


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``validate``, ``check``, ``generate`` and ``schema``, in that order."""
    p = sub.add_parser("validate", help="validate an instance; list every problem")
    p.add_argument("instance")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("check", help="verify a plan against its instance, recomputing costs")
    p.add_argument("instance")
    p.add_argument("plan")
    p.add_argument("--previous", help="a re-plan: the plan it started from")
    p.add_argument("--events", help="a re-plan: the disruption it answered")
    p.add_argument("--schedule", help="check this machine schedule of the plan instead")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("generate", help="generate a realistic random instance")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--factories", type=int, required=True)
    p.add_argument("--periods", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="instance JSON path ('-' for stdout)")
    p.add_argument("--compact", action="store_true", help="no indentation")
    p.add_argument(
        "--by-operation",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share (0..1) of the multi-operation orders split by operation "
        "(split.by_operation: each operation may run at its own factories, docs/model.md); "
        "a quarter of them ask for a chain no single factory offers. Drawn from a separate "
        "stream of the seed: 0 (default) gives the same instance as without the option",
    )
    p.add_argument(
        "--no-hubs",
        dest="hubs",
        action="store_false",
        help="no hubs (fleet.hubs) and no line-haul rates (transport.line_haul), "
        "docs/logistics.md; by default one hub per cluster, drawn from a separate stream "
        "of the seed, with every factory 5-60 road km from its hub: the rest of the "
        "instance is the same either way, but for the few factories moved into that range",
    )
    p.add_argument(
        "--records",
        metavar="FILE",
        help="also write trade records of the factories (JSON lines, or CSV for .csv): "
        "deliveries consistent with their declared credit, a few new and a few unreliable "
        "factories (docs/credit.md); their own stream of the seed, the instance is unchanged",
    )
    p.add_argument(
        "--records-count",
        type=int,
        metavar="N",
        help=f"about how many records (default {RECORDS_PER_FACTORY} per factory)",
    )
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("schema", help="print the instance JSON Schema")
    p.set_defaults(func=_cmd_schema)


def _cmd_validate(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    n_caps = sum(len(f.capabilities) for f in instance.factories)
    out.print(
        f"{args.instance}: valid — {len(instance.orders)} orders, "
        f"{len(instance.factories)} factories ({n_caps} capabilities), "
        f"{len(instance.suppliers)} suppliers, {len(instance.fleet.vehicles)} vehicles, "
        f"{instance.horizon.periods} periods"
    )
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    if args.schedule is not None:
        return _check_schedule_file(args)
    if (args.previous is None) != (args.events is None):
        raise ValueError("--previous and --events go together (they check a re-plan)")
    if args.previous is not None:
        report = check_replan_files(args.instance, args.plan, args.previous, args.events)
    else:
        report = check_files(args.instance, args.plan)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for v in report.violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    if not report.ok:
        print(f"{len(report.violations)} violation(s)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    c = report.recomputed
    out.print(
        f"plan OK: feasible, costs recomputed (total {money(c.total)}, "
        f"objective {money(c.objective)})"
    )
    return EXIT_OK


def _check_schedule_file(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    plan = load_plan(args.plan)
    schedule = load_schedule(args.schedule)
    violations = check_schedule(instance, plan, schedule)
    for v in violations:
        print(f"violation: {v.path}: [{v.code}] {v.message}", file=sys.stderr)
    if violations:
        print(f"{len(violations)} violation(s)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    lots = sum(len(m.lots) for f in schedule.factories for m in f.machines)
    out.print(f"schedule OK: {lots} lots on their machines, calendars, chains and the plan")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    instance = generate(
        args.orders,
        args.factories,
        args.periods,
        args.seed,
        by_operation=args.by_operation,
        hubs=args.hubs,
    )
    text = instance_json(instance, indent=None if args.compact else 1)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        out.print(
            f"wrote {args.output}: {len(instance.orders)} orders, "
            f"{len(instance.factories)} factories, {instance.horizon.periods} periods"
        )
    if args.records:
        _write_generated_records(args, instance)
    return EXIT_OK


def _write_generated_records(args: argparse.Namespace, instance: Instance) -> None:
    drawn = generate_records(instance, args.seed, args.records_count)
    n = write_records(args.records, parse_records(enumerate(drawn.records, start=1)))
    # Stdout may carry the instance ('-o -'): the note goes to stderr then.
    console = err if args.output == "-" else out
    console.print(
        f"wrote {args.records}: {n} records up to {drawn.as_of} "
        f"({len(drawn.new)} new factories, {len(drawn.unreliable)} unreliable)"
    )


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK
