"""What every command shares to answer the user: exit codes, the two consoles, money,
issue lines and JSON output."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
from collections.abc import Iterator, Sequence
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


@contextlib.contextmanager
def native_output_to_stderr() -> Iterator[None]:
    """While a command runs, what native libraries print on their own goes to stderr,
    and only what the command prints reaches stdout. HiGHS (bundled in OR-Tools) prints
    ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` whatever
    its log settings (ERGO-Code/HiGHS#2783): seen in the purchasing stage of 10 000-order
    re-plans, it would have broken a plan written with ``-o -``. Descriptor 1 then points
    at stderr, and ``sys.stdout`` writes to a copy of the original; both are put back
    after (C's buffered output flushed first, so none of it reaches stdout late).
    Nothing changes where stdout is not a file (captured, as in tests)."""
    try:
        fd, err_fd = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        yield
        return
    original = sys.stdout
    original.flush()
    saved = os.dup(fd)
    os.dup2(err_fd, fd)
    line_buffered = isinstance(original, io.TextIOWrapper) and original.line_buffering
    replacement = open(  # noqa: SIM115 (closed below, once descriptor 1 is restored)
        saved,
        "w",
        encoding=getattr(original, "encoding", None) or "utf-8",
        errors=getattr(original, "errors", None),
        buffering=1 if line_buffered else -1,
    )
    sys.stdout = replacement
    try:
        yield
    finally:
        replacement.flush()
        _flush_c_stdio()
        os.dup2(saved, fd)
        sys.stdout = original
        replacement.close()  # and with it ``saved``


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: C's buffered output goes out while descriptor 1 is still
    stderr. Where the C library cannot be reached, nothing is flushed."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)
