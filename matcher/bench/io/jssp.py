"""Job-shop files in the JSPLIB layout, and an independent check of a schedule.

Layout (``../shared/benchmarks/jssp/index.json``): lines starting with ``#`` are
comments (so is anything after a ``#``); then a line ``jobs machines``; then one line
per job with ``machine duration`` pairs in technological order, machines 0-based.
Objective: minimise the makespan.

:func:`read` parses a file into :class:`JsspData`, the raw numbers, and :func:`verify`
re-checks a schedule, given as a start time per job and operation, against
:class:`JsspData` alone and recomputes its makespan. This module imports nothing from
``solvers`` (nor OR-Tools), so a wrong mapping onto the engine
(:mod:`matcher.bench.io.scheduling_problem`) or a solver bug shows up as a violation
or a worse makespan, never as a good number.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class JsspFormatError(ValueError):
    """The file does not hold a JSPLIB job-shop instance."""


@dataclass(frozen=True)
class JsspData:
    """A job-shop instance as the file gives it.

    ``jobs[j][k]`` is the ``(machine, duration)`` of job ``j``'s ``k``-th operation.
    """

    name: str
    n_machines: int
    jobs: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def n_jobs(self) -> int:
        return len(self.jobs)

    @property
    def n_operations(self) -> int:
        return sum(len(ops) for ops in self.jobs)

    @property
    def horizon(self) -> int:
        """The sum of all durations: a schedule running one operation at a time."""
        return sum(d for job in self.jobs for _, d in job)


def _data_lines(text: str) -> list[tuple[int, list[str]]]:
    """(line number, tokens) of the lines that are neither blank nor comments."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if tokens:
            lines.append((number, tokens))
    return lines


def _integers(where: str, number: int, tokens: list[str]) -> list[int]:
    values = []
    for token in tokens:
        try:
            values.append(int(token))
        except ValueError:
            raise JsspFormatError(f"{where}, line {number}: {token!r} is not an integer") from None
    return values


def read(path: str | Path, name: str | None = None) -> JsspData:
    """Parse a JSPLIB file.

    Parameters
    ----------
    path
        The file.
    name
        The instance's name; the file's stem by default.

    Raises
    ------
    JsspFormatError
        With the file, the line and what is wrong: no ``jobs machines`` line, a token
        that is not an integer, a job line with the wrong number of values, a machine
        out of range, a negative duration, fewer or more job lines than announced.
    OSError
        The file cannot be read.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise JsspFormatError(f"{where}: not a text file") from None
    lines = _data_lines(text)
    if not lines:
        raise JsspFormatError(f"{where}: no 'jobs machines' line (the file has only comments)")
    number, tokens = lines[0]
    header = _integers(where, number, tokens)
    if len(header) != 2 or header[0] < 1 or header[1] < 1:
        raise JsspFormatError(
            f"{where}, line {number}: expected 'jobs machines' (two positive integers), "
            f"got {' '.join(tokens)!r}"
        )
    n, m = header
    job_lines = lines[1:]
    if len(job_lines) != n:
        more = "more" if len(job_lines) > n else "fewer"
        raise JsspFormatError(
            f"{where}: the header announces {n} jobs, the file has {len(job_lines)} job lines "
            f"({more} than announced)"
        )
    jobs = []
    for j, (number, tokens) in enumerate(job_lines):
        values = _integers(where, number, tokens)
        if len(values) != 2 * m:
            raise JsspFormatError(
                f"{where}, line {number} (job {j}): {len(values)} values, expected "
                f"{2 * m} ({m} machine-duration pairs)"
            )
        ops = []
        for k in range(m):
            machine, duration = values[2 * k], values[2 * k + 1]
            if not 0 <= machine < m:
                raise JsspFormatError(
                    f"{where}, line {number} (job {j}, operation {k}): machine {machine} "
                    f"is not in 0..{m - 1}"
                )
            if duration < 0:
                raise JsspFormatError(
                    f"{where}, line {number} (job {j}, operation {k}): negative duration {duration}"
                )
            ops.append((machine, duration))
        jobs.append(tuple(ops))
    return JsspData(p.stem if name is None else name, m, tuple(jobs))


def _shape(data: JsspData, starts: Sequence[Sequence[int]]) -> list[str]:
    if len(starts) != data.n_jobs:
        return [f"the schedule has {len(starts)} jobs, the instance {data.n_jobs}"]
    problems = []
    for j, (ops, times) in enumerate(zip(data.jobs, starts, strict=True)):
        if len(times) != len(ops):
            problems.append(f"job {j} has {len(times)} starts, the instance {len(ops)} operations")
            continue
        for k, s in enumerate(times):
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                problems.append(f"job {j} operation {k}: start {s!r} is not an integer")
    return problems


def verify(data: JsspData, starts: Sequence[Sequence[int]]) -> tuple[int, list[str]]:
    """The makespan of a schedule and every violation, from ``data`` alone.

    ``starts[j][k]`` is the start of job ``j``'s ``k``-th operation; machines and
    durations come from ``data``. Violations: a wrong shape or a non-integer start
    (then nothing else is checked and the makespan is 0), a negative start, an
    operation starting before its predecessor in the job ends, two operations
    overlapping on a machine (a zero-duration operation occupies no time). The
    schedule is feasible when the list is empty.
    """
    problems = _shape(data, starts)
    if problems:
        return 0, problems
    by_machine: dict[int, list[tuple[int, int, int, int]]] = {}
    makespan = 0
    for j, (ops, times) in enumerate(zip(data.jobs, starts, strict=True)):
        ready = 0
        for k, ((machine, duration), raw) in enumerate(zip(ops, times, strict=True)):
            s = int(raw)
            if s < 0:
                problems.append(f"job {j} operation {k} starts at {s}, before time 0")
            elif s < ready:
                problems.append(
                    f"job {j} operation {k} starts at {s}, before operation {k - 1} ends at {ready}"
                )
            end = s + duration
            ready = end
            makespan = max(makespan, end)
            if duration > 0:
                by_machine.setdefault(machine, []).append((s, end, j, k))
    for machine in sorted(by_machine):
        runs = sorted(by_machine[machine])
        latest = runs[0]  # the run reaching furthest so far
        for run in runs[1:]:
            if run[0] < latest[1]:
                s1, e1, j1, k1 = latest
                s2, e2, j2, k2 = run
                problems.append(
                    f"machine {machine}: job {j1} operation {k1} [{s1}, {e1}) overlaps "
                    f"job {j2} operation {k2} [{s2}, {e2})"
                )
            if run[1] > latest[1]:
                latest = run
    return makespan, problems
