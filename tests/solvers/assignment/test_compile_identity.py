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


def test_orders_tied_to_a_previous_plan_compile_as_the_per_factory_path_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-plan's held orders (a previous factory kept whatever ``max_candidates``
    says) go through the array path; it must give what the per-factory path gives."""
    from matcher.app.pipeline import plan
    from matcher.domain.params import SolveParams
    from solvers.assignment import problem as compiler
    from solvers.assignment.problem import AnchorSpec

    instance = _instance("gen:300:30:14:2:0.0")
    before = plan(instance, SolveParams(assignment_solver="greedy", time_limit_s=5, workers=1))
    previous: dict[tuple[str, str], int] = {}
    initial: dict[tuple[str, str], dict[int, int]] = {}
    for a in before.allocations:
        if a.operation == 0:
            key = (a.order, a.factory)
            previous[key] = previous.get(key, 0) + a.quantity
            initial[key] = {pq.period: pq.quantity for pq in a.periods}
    fixed = {key: {t: q for t, q in qs.items() if t < 3} for key, qs in list(initial.items())[:5]}
    spec = AnchorSpec(3, {k: q for k, q in fixed.items() if q}, previous, initial, 1000)
    assert len(previous) > 50

    arrays = fingerprint(build_problem(instance, instance.weights, 2, spec))
    monkeypatch.setattr(compiler, "_vector_candidates", lambda *args, **kw: None)
    per_factory = fingerprint(build_problem(instance, instance.weights, 2, spec))
    assert arrays == per_factory
