"""``matcher credit``: factory credit from trade records (shrunk towards a prior,
weighted by recency), written into an instance on request; and, with
``--from-execution``, the records an executed plan yields (docs/credit.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from rich.table import Table

from matcher.check import load_plan
from matcher.cli.output import EXIT_INVALID, EXIT_OK, err, out, print_issues
from matcher.credit import (
    CreditExplanation,
    CreditParams,
    CreditReport,
    RecordsError,
    apply_credit,
    execution_records,
    explain_factory,
    load_execution,
    read_records,
    score_records,
    write_records,
)
from matcher.credit.scoring import RateEstimate
from matcher.domain.consistency import Issue
from matcher.domain.entities import Credit
from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance

_EXPLAIN_ROWS = 30  # records listed by --explain as text (--json lists them all)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``credit``."""
    p = sub.add_parser(
        "credit",
        help="factory credit from trade records (Bayesian, recency-weighted); "
        "or records from an executed plan",
        description="Per factory: on-time and quality rates with Beta shrinkage towards a "
        "prior and recency weights, a 0-100 score and its credible interval (docs/credit.md).",
    )
    p.add_argument("records", nargs="?", help="trade records: JSON lines or CSV")
    p.add_argument(
        "--from-execution",
        nargs=3,
        metavar=("INSTANCE", "PLAN", "EXECUTION"),
        help="write the records of an executed plan to -o instead of scoring",
    )
    p.add_argument("--append", action="store_true", help="with --from-execution: add to -o")
    p.add_argument("--instance", help="the instance whose factories get the credit")
    p.add_argument("-o", "--output", help="the instance with the credit applied (or records)")
    p.add_argument(
        "--prior-for-unrecorded",
        action="store_true",
        help="factories without records get the prior's credit (default: keep their own)",
    )
    p.add_argument("--explain", metavar="FACTORY", help="how this factory's score came about")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    d = CreditParams()
    p.add_argument("--prior-strength", type=float, default=d.prior_strength, metavar="RECORDS")
    p.add_argument("--prior-on-time", type=float, default=d.prior_on_time, metavar="RATE")
    p.add_argument("--prior-quality", type=float, default=d.prior_quality, metavar="RATE")
    p.add_argument(
        "--prior-rating",
        type=float,
        default=d.prior_rating * 4 + 1,
        metavar="STARS",
        help=f"prior buyer rating, 1-5 (default {d.prior_rating * 4 + 1:g})",
    )
    p.add_argument(
        "--half-life-days",
        type=float,
        default=d.half_life_days,
        metavar="DAYS",
        help="a record this old counts half ('inf': all alike)",
    )
    p.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="score as of this date (default: the latest delivery); later records ignored",
    )
    p.add_argument("--level", type=float, default=d.level, help="credible interval's mass")
    p.add_argument("--rating-weight", type=float, default=d.weight_rating, metavar="W")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score records, or turn an execution into records; exit 2 on bad input."""
    if (args.records is None) == (args.from_execution is None):
        raise ValueError("give either RECORDS or --from-execution INSTANCE PLAN EXECUTION")
    try:
        if args.from_execution is not None:
            return _from_execution(args)
        return _score(args)
    except RecordsError as exc:
        print_issues(exc.issues)
        return EXIT_INVALID


def _params(args: argparse.Namespace) -> CreditParams:
    if not 1.0 < args.prior_rating < 5.0:
        raise ValueError(f"--prior-rating must be between 1 and 5, got {args.prior_rating}")
    return CreditParams(
        prior_strength=args.prior_strength,
        prior_on_time=args.prior_on_time,
        prior_quality=args.prior_quality,
        prior_rating=(args.prior_rating - 1.0) / 4.0,
        half_life_days=args.half_life_days,
        as_of=args.as_of,
        level=args.level,
        weight_rating=args.rating_weight,
    )


def _in_file(path: str, exc: RecordsError) -> RecordsError:
    return RecordsError([Issue(f"{path} {i.path}".strip(), i.message) for i in exc.issues])


def _score(args: argparse.Namespace) -> int:
    if args.output and not args.instance:
        raise ValueError("-o writes the instance with the credit applied: give --instance")
    if args.prior_for_unrecorded and not args.instance:
        raise ValueError("--prior-for-unrecorded applies to an instance: give --instance")
    if args.append:
        raise ValueError("--append goes with --from-execution")
    params = _params(args)
    instance = load_instance(args.instance) if args.instance else None
    try:
        records = read_records(args.records, instance.horizon if instance else None)
    except RecordsError as exc:
        raise _in_file(args.records, exc) from None
    report = score_records(records, params)
    if args.explain:
        explanation = explain_factory(records, args.explain, params)
        if args.json:
            print(explanation.model_dump_json(indent=1))
        else:
            _print_explanation(explanation)
    elif args.json:
        print(report.model_dump_json(indent=1))
    else:
        _print_report(report, instance)
    if instance is not None and args.output:
        _write_instance(args, instance, report, params)
    return EXIT_OK


def _write_instance(
    args: argparse.Namespace, instance: Instance, report: CreditReport, params: CreditParams
) -> None:
    applied = apply_credit(instance, report, params, prior_for_unrecorded=args.prior_for_unrecorded)
    text = applied.instance.model_dump_json(exclude_unset=True, indent=1)
    if args.output == "-":
        print(text)
        return
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    console = err if args.json else out
    console.print(
        f"wrote {args.output}: credit of {len(applied.updated)} factories from records, "
        f"{len(applied.from_prior)} from the prior, {len(applied.kept)} kept as declared"
    )
    if applied.unknown:
        shown = ", ".join(applied.unknown[:10]) + (" ..." if len(applied.unknown) > 10 else "")
        err.print(
            f"warning: {len(applied.unknown)} factories of the records are not in the "
            f"instance: {shown}"
        )


def _rate(r: RateEstimate | None) -> str:
    if r is None:
        return "-"
    return f"{r.mean:.3f} ({r.low:.2f}-{r.high:.2f})"


def _print_report(report: CreditReport, instance: Instance | None) -> None:
    declared: dict[str, Credit] = {f.id: f.credit for f in instance.factories} if instance else {}
    pct = f"{report.level * 100:g} %"
    table = Table(title=f"credit as of {report.as_of} ({pct} intervals)")
    for col in ("factory", "records", "weighted", "on time", "quality", "rating", "score"):
        table.add_column(col, justify="left" if col == "factory" else "right")
    if declared:
        table.add_column("declared", justify="right")
    for c in report.factories:
        row = [
            c.factory,
            str(c.records),
            f"{c.effective_records:.1f}",
            _rate(c.on_time),
            _rate(c.quality),
            _rate(c.rating),
            f"{c.score} ({c.score_low}-{c.score_high})",
        ]
        if declared:
            row.append(str(declared[c.factory].score) if c.factory in declared else "-")
        table.add_row(*row)
    out.print(table)
    ignored = (
        f"; {report.ignored_after_as_of} after it ignored" if report.ignored_after_as_of else ""
    )
    out.print(
        f"{len(report.factories)} factories from {report.records} records{ignored}; prior "
        f"{report.prior_strength:g} records at on time {report.prior_on_time:g}, quality "
        f"{report.prior_quality:g}; half-life {report.half_life_days:g} days"
    )
    out.print(report.formula)


def _print_explanation(e: CreditExplanation) -> None:
    c = e.credit
    out.print(
        f"factory {c.factory}: score {c.score} (interval {c.score_low}-{c.score_high}), "
        f"{c.records} records, {c.effective_records:.2f} after recency weighting, as of {e.as_of}"
    )
    prior = ", ".join(
        f"{name} Beta({a:.2f}, {b:.2f}) mean {a / (a + b):.3f}" for name, (a, b) in e.prior.items()
    )
    out.print(f"prior ({e.prior_strength:g} records' worth): {prior}")
    out.print(f"recency: weight = 0.5 ** (age_days / {e.half_life_days:g})")
    table = Table(
        title=f"records, newest first ({min(len(e.records), _EXPLAIN_ROWS)} of {len(e.records)})"
    )
    for col in (
        "order",
        "promised",
        "delivered",
        "on time",
        "good share",
        "rating",
        "age",
        "weight",
    ):
        table.add_column(col, justify="left" if col == "order" else "right")
    for r in e.records[:_EXPLAIN_ROWS]:
        table.add_row(
            r.order,
            str(r.promised_date),
            str(r.delivered_date),
            "yes" if r.on_time else "LATE",
            f"{r.good_share:.4f}",
            "-" if r.rating is None else f"{r.rating:g}",
            str(r.age_days),
            f"{r.weight:.3f}",
        )
    out.print(table)
    if e.ignored_after_as_of:
        out.print(f"{e.ignored_after_as_of} record(s) delivered after {e.as_of} ignored")
    rates = {"on_time": c.on_time, "quality": c.quality, "rating": c.rating}
    for name, est in rates.items():
        if est is None:
            continue
        seen = "" if est.observed is None else f", observed {est.observed:.4f}"
        out.print(
            f"{name}: {est.evidence:.2f} weighted records{seen} -> posterior "
            f"Beta({est.alpha:.2f}, {est.beta:.2f}), mean {est.mean:.4f}, "
            f"interval [{est.low:.4f}, {est.high:.4f}]"
        )
    out.print(e.formula)
    out.print(e.computation)


def _from_execution(args: argparse.Namespace) -> int:
    if not args.output or args.output == "-":
        raise ValueError("--from-execution writes records: give -o FILE (.jsonl or .csv)")
    if args.instance or args.explain or args.prior_for_unrecorded:
        raise ValueError(
            "--from-execution takes its instance from its arguments; it scores nothing"
        )
    instance_path, plan_path, execution_path = args.from_execution
    instance = load_instance(instance_path)
    plan = load_plan(plan_path)
    try:
        records = execution_records(instance, plan, load_execution(execution_path))
    except RecordsError as exc:
        raise _in_file(execution_path, exc) from None
    n = write_records(args.output, records, append=args.append)
    late = sum(r.delivered_date > r.promised for r in records)
    summary = {"records": n, "late": late, "output": args.output, "appended": args.append}
    if args.json:
        print(json.dumps(summary))
    else:
        verb = "appended to" if args.append else "wrote"
        out.print(f"{verb} {args.output}: {n} records ({late} late) from {execution_path}")
    return EXIT_OK
