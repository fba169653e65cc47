"""What every command shares to answer the user: exit codes, the two consoles, money,
issue lines and JSON output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from matcher.domain.consistency import Issue

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_CHECK_FAILED = 0, 1, 2, 3

# Wide enough for the summary tables when output is piped (rich defaults to 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 120)


def money(cents: float) -> str:
    """Cents as currency units with thousands separators: what every table shows."""
    return f"{cents / 100:,.2f}"


def print_issues(issues: Sequence[Issue]) -> None:
    """Every problem of an invalid input on its own line, then the count."""
    for issue in issues:
        # Plain print: one problem per line, easy to grep, no wrapping.
        print(f"error: {issue}", file=sys.stderr)
    print(f"{len(issues)} error(s)", file=sys.stderr)


def write_json(result: BaseModel, output: str | None) -> None:
    """``result`` as JSON to ``output`` ('-': stdout, compact; None: nowhere)."""
    text = result.model_dump_json(indent=1 if output != "-" else None)
    if output == "-":
        print(text)
    elif output:
        Path(output).write_text(text + "\n", encoding="utf-8")
