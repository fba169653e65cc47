"""The ``matcher`` program: its parser, built from each command module's part, and
:func:`main`, which runs a command and turns what went wrong into an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from matcher.app.executor import ExecutorError
from matcher.app.heap import tune_collector
from matcher.check import PlanFormatError
from matcher.cli import (
    batch,
    bench,
    compare,
    credit,
    explain,
    fairness,
    files,
    remote,
    report,
    serve,
    solve,
)
from matcher.cli.output import EXIT_INTERNAL, EXIT_INVALID, native_output_to_stderr, print_issues
from matcher.domain.validation import InvalidInstanceError


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each command's ``func`` default runs it."""
    parser = argparse.ArgumentParser(
        prog="matcher", description="Cloud-factory order matching and capacity scheduling."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)
    solve.add_parsers(sub)  # solve, replan, schedule, recommend
    explain.add_parsers(sub)  # explain, constraints
    files.add_parsers(sub)  # validate, check, generate, schema
    credit.add_parser(sub)
    fairness.add_parser(sub)
    report.add_parsers(sub)  # diff, report
    compare.add_parser(sub)
    batch.add_parsers(sub)  # batch, scenarios
    bench.add_parser(sub)
    serve.add_parser(sub)
    remote.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of ``argv`` (default: ``sys.argv``); its exit code.

    0 success (a solve with unassigned orders is a success), 1 internal error (or a
    time limit too short to compile the problem), 2 invalid input (each problem on its
    own line with its path), 3 the plan checker found violations.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    tune_collector()
    args = build_parser().parse_args(argv)
    try:
        with native_output_to_stderr():
            code: int = args.func(args)
        return code
    except (InvalidInstanceError, PlanFormatError) as exc:
        print_issues(exc.issues)
        return EXIT_INVALID
    except ValueError as exc:  # bad parameter combinations
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ExecutorError as exc:  # Ray missing or its cluster out of reach
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:
        if args.debug:
            raise
        # solvers.assignment.problem.CompileStoppedError, named rather than imported
        # (the CLI never imports a solver): not a fault, a limit shorter than compiling.
        if type(exc).__name__ == "CompileStoppedError":
            print(f"error: {exc}: raise --time-limit", file=sys.stderr)
            return EXIT_INTERNAL
        logging.getLogger("matcher").error("internal error: %s: %s", type(exc).__name__, exc)
        print("internal error (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
