"""The ``matcher`` command line: solve, replan, schedule, recommend, explain,
constraints, validate, check, generate, schema, credit, diff, report, compare, bench, serve, remote.

Exit codes: 0 success (a solve with unassigned orders is a success), 1 internal
error, 2 invalid input (each problem on its own line with its path), 3 the plan
checker found violations.

One module per group of commands (:mod:`~matcher.cli.solve`,
:mod:`~matcher.cli.explain` (explain, constraints), :mod:`~matcher.cli.files`,
:mod:`~matcher.cli.credit`, :mod:`~matcher.cli.report` (diff, report), :mod:`~matcher.cli.compare`,
:mod:`~matcher.cli.bench`, :mod:`~matcher.cli.serve`, :mod:`~matcher.cli.remote`), over
what they share: :mod:`~matcher.cli.output`, :mod:`~matcher.cli.tables`,
:mod:`~matcher.cli.inputs`, :mod:`~matcher.cli.progress`.
:mod:`~matcher.cli.program` builds the parser and runs a command. Starting the
command loads neither OR-Tools nor gRPC: the commands that need them import them.
"""

from __future__ import annotations

from matcher.cli.bench import bench_table, summary_line, summary_table
from matcher.cli.inputs import recommend_inputs, replan_inputs
from matcher.cli.output import EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, err, out
from matcher.cli.program import build_parser, main
from matcher.cli.tables import (
    purchasing_table,
    recommendations_table,
    replan_table,
    routing_table,
    schedule_table,
    sharing_tables,
    summary,
    write_plan,
)

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_OK",
    "bench_table",
    "build_parser",
    "err",
    "main",
    "out",
    "purchasing_table",
    "recommend_inputs",
    "recommendations_table",
    "replan_inputs",
    "replan_table",
    "routing_table",
    "schedule_table",
    "sharing_tables",
    "summary",
    "summary_line",
    "summary_table",
    "write_plan",
]
