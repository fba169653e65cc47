"""Solution-quality benchmarks: solve public instances, verify, compare with the BKS.

An index (``../shared/benchmarks/<family>/index.json``) lists instances with their
best-known solution value (BKS). For each entry and solver, :func:`run_entry`

1. loads the file through the entry's *family* (``gap``, ``cvrp``, ``vrptw``,
   ``jssp``),
2. solves it with the real engine, timing only the solve,
3. verifies the answer against the raw file data alone (feasibility re-checked,
   objective recomputed), so a bug in the model mapping or in a solver cannot
   report a good number, and
4. reports the gap to the BKS.

Failures never raise: an unknown family, an unreadable file or a solver that
crashes give a row with status ``ERROR`` and the message, and the run goes on.
``docs/bench.md`` is the written protocol.

Modules: :mod:`~matcher.bench.family` (what a family provides: entry, settings,
attempt, verification), :mod:`~matcher.bench.index` (reading and filtering an index),
:mod:`~matcher.bench.registry` (the families by name), :mod:`~matcher.bench.run`
(:func:`run_entry`), :mod:`~matcher.bench.rows` and :mod:`~matcher.bench.summary`
(what a run reports); one module per family (``gap_family``, ``routing_family``,
``jssp_family``); the file formats and their verifiers under :mod:`matcher.bench.io`.
"""

from __future__ import annotations

from matcher.bench.family import (
    REFERENCE_FIELDS,
    Attempt,
    BenchCase,
    BenchEntry,
    BenchFamily,
    RunSettings,
    Verification,
    reference_fields,
)
from matcher.bench.gap_family import GapFamily
from matcher.bench.index import BenchIndexError, Index, load_index, record_name, select
from matcher.bench.jssp_family import (
    JSSP_DEFAULT,
    JSSP_TEXTBOOK,
    JsspAnswer,
    JsspFamily,
    textbook_solve,
)
from matcher.bench.registry import FAMILIES, check_solvers, families, get_family
from matcher.bench.routing_family import PYVRP_PLAIN, ROUTING_DEFAULT, CvrpFamily, VrptwFamily
from matcher.bench.rows import BOUND_FAMILIES, ERROR, JSON_KEYS, NO_SOLVER, BenchRow, gap_pct
from matcher.bench.run import run_entry
from matcher.bench.summary import Summary, summarise, summarise_by_solver

__all__ = [
    "BOUND_FAMILIES",
    "ERROR",
    "FAMILIES",
    "JSON_KEYS",
    "JSSP_DEFAULT",
    "JSSP_TEXTBOOK",
    "NO_SOLVER",
    "PYVRP_PLAIN",
    "REFERENCE_FIELDS",
    "ROUTING_DEFAULT",
    "Attempt",
    "BenchCase",
    "BenchEntry",
    "BenchFamily",
    "BenchIndexError",
    "BenchRow",
    "CvrpFamily",
    "GapFamily",
    "Index",
    "JsspAnswer",
    "JsspFamily",
    "RunSettings",
    "Summary",
    "Verification",
    "VrptwFamily",
    "check_solvers",
    "families",
    "gap_pct",
    "get_family",
    "load_index",
    "record_name",
    "reference_fields",
    "run_entry",
    "select",
    "summarise",
    "summarise_by_solver",
    "textbook_solve",
]
