"""The re-solve behind every transfer (solvers/sharing/resolve.py)."""

from __future__ import annotations

from ortools.sat.python import cp_model

from solvers.sharing.resolve import complete_hint


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
