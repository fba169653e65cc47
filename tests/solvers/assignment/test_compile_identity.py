"""Compilation at platform size (issue #21) must not change the compiled problem.

The fingerprints in ``tests/data/compile/fingerprints.json`` were computed by the
per-candidate compiler before it was vectorised: every candidate field, every order's
candidate list, stages, reason and detail, the resources, buyer caps and the
mandatory penalty. Regenerate them only for a deliberate change of the model:
``.venv/bin/python -m tests.solvers.assignment.test_compile_identity``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance
from matcher.generate import generate
from solvers.assignment.problem import AssignmentProblem, build_problem

ROOT = Path(__file__).resolve().parents[3]
FINGERPRINTS = ROOT / "tests" / "data" / "compile" / "fingerprints.json"

# name -> (instance, max_candidates); generated sizes of 200-2000 orders plus the
# shipped instances with materials and lead times
CASES: dict[str, tuple[str, int]] = {
    "gen-200": ("gen:200:30:14:3:0.0", 0),
    "gen-1000-by-operation": ("gen:1000:100:28:1:0.3", 0),
    "gen-2000": ("gen:2000:150:28:2:0.0", 0),
    "gen-2000-max5": ("gen:2000:150:28:2:0.0", 5),
    "medium": ("medium.json", 0),
    "purchasing": ("purchasing.json", 0),
    "lead_time": ("lead_time.json", 0),
    "demo": ("demo.json", 0),
}


@cache
def _instance(source: str) -> Instance:
    if source.startswith("gen:"):
        orders, factories, periods, seed, share = source.split(":")[1:]
        return generate(
            int(orders), int(factories), int(periods), int(seed), by_operation=float(share)
        )
    return load_instance(ROOT / "instances" / source)


def fingerprint(problem: AssignmentProblem) -> dict[str, Any]:
    """Counts and hashes of everything the back-ends read from a compiled problem."""
    cands = hashlib.sha256()
    for c in problem.candidates:
        usage = tuple((u.resource, u.seconds_per_unit, u.setup_seconds) for u in c.usage)
        row = (c.order, c.factory, c.unit_cost, c.transport, c.credit, c.lo, c.hi, usage)
        cands.update(repr((*row, c.first, c.last, c.base, c.operation, c.materials)).encode())
    orders = hashlib.sha256()
    for info in problem.orders:
        reason = None if info.reason is None else info.reason.value
        orders.update(
            repr((info.index, info.candidates, info.stages, reason, info.detail)).encode()
        )
    rest = hashlib.sha256()
    rest.update(repr([(r.factory, r.group, r.free_seconds) for r in problem.resources]).encode())
    rest.update(repr(sorted(problem.buyer_caps.items())).encode())
    rest.update(repr(problem.materials).encode())
    return {
        "candidates": len(problem.candidates),
        "size": problem.size,
        "base_sum": sum(c.base for c in problem.candidates),
        "unserved_orders": sum(1 for i in problem.orders if not i.candidates),
        "mandatory_penalty": problem.mandatory_penalty,
        "candidates_sha256": cands.hexdigest(),
        "orders_sha256": orders.hexdigest(),
        "rest_sha256": rest.hexdigest(),
    }


def _compile(name: str) -> dict[str, Any]:
    source, max_candidates = CASES[name]
    return fingerprint(build_problem(_instance(source), max_candidates=max_candidates))


@pytest.mark.parametrize("name", sorted(CASES))
def test_compilation_matches_the_stored_fingerprint(name: str) -> None:
    stored = json.loads(FINGERPRINTS.read_text())[name]
    assert _compile(name) == stored


if __name__ == "__main__":
    FINGERPRINTS.write_text(json.dumps({n: _compile(n) for n in sorted(CASES)}, indent=1) + "\n")
