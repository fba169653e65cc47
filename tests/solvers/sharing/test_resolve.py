"""The re-solve behind every transfer (solvers/sharing/resolve.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ortools.sat.python import cp_model

from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.generate import generate
from solvers.sharing import analysis
from solvers.sharing.resolve import Resolved, complete_hint, resolve


def test_a_hint_is_completed_at_the_least_values_its_rows_allow() -> None:
    """Material rows' whole units are left out of the plan's hint: each is hinted at
    the least value its row allows once the others are known, in turn."""
    model = cp_model.CpModel()
    x = model.new_int_var(0, 100, "x")
    r = model.new_int_var(0, 100, "r")
    s = model.new_int_var(0, 100, "s")
    model.add(10 * r >= 3 * x - 5)  # r >= ceil((3x - 5) / 10)
    model.add(s - r >= 2)  # then s >= r + 2
    model.add_hint(x, 12)
    assert complete_hint(model) == 2
    hint = dict(zip(model.proto.solution_hint.vars, model.proto.solution_hint.values, strict=True))
    assert (hint[x.index], hint[r.index], hint[s.index]) == (12, 4, 6)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(model) == cp_model.OPTIMAL  # the completed hint is feasible


def test_the_analysis_proves_its_small_re_solves(monkeypatch: pytest.MonkeyPatch) -> None:
    """On this generated 30-order instance (30 x 10 x 14, seed 1) the analysis re-solves
    two neighbourhoods of about 20 variables. Without the capacity rows' cuts in CP-SAT's
    LP (``LINEARIZATION_LEVEL``), one of them ended FEASIBLE at its limit; both prove."""
    seen: list[Resolved] = []

    def spy(*args: Any, **kwargs: Any) -> Resolved:
        res = resolve(*args, **kwargs)
        seen.append(res)
        return res

    monkeypatch.setattr(analysis, "resolve", spy)
    instance = generate(orders=30, factories=10, periods=14, seed=1)
    p = plan(instance, SolveParams(workers=1, seed=0))
    assert p.capacity_sharing is not None and seen
    assert all(r.optimal for r in seen)
