"""The uncapped master LP (benchmarks/master_lp.py): its bound holds, and once column
generation converges the bound meets the ceiling (LP duality), above the subgradient's."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.master_lp import main
from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.problem import build_problem

DEMO = Path(__file__).parents[2] / "instances" / "demo.json"


def test_the_master_converges_to_a_bound_below_a_proven_plan(tmp_path: Path) -> None:
    instance = load_instance(DEMO)
    made = plan(instance, SolveParams(workers=1, feedback=False, sharing=False))
    objective = made.stages[0].objective
    assert made.stages[0].status.value == "OPTIMAL" and objective is not None
    (tmp_path / "plan.json").write_text(made.model_dump_json())
    out = tmp_path / "master.json"
    args = [str(DEMO), "--reference", str(objective), "--plan", str(tmp_path / "plan.json")]
    assert main([*args, "--seconds", "60", "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["ended"].startswith("converged")
    assert got["seeded_columns"] > 0 and got["left_out"] >= 1  # demo leaves mandatory out
    assert objective / 2 <= got["bound"] <= objective  # valid, and in the same terms
    assert abs(got["ceiling"] - got["bound"]) <= 1e-6 * objective + 1
    # Where the gap sits: per class of order the plan's figures add up to its
    # objective, the LP's to the ceiling (the terms of orders no factory may take
    # apart, the same on both sides), and the served class is the plan's served orders.
    classes = {row["class"]: row for row in got["where_the_gap_sits"]}
    assert classes["served"]["orders"] == len({a.order for a in made.allocations})
    plan_sum = sum(row["plan"] for row in classes.values())
    lp_sum = sum(row["lp"] for row in classes.values())
    assert abs((objective - got["ceiling"]) - (plan_sum - lp_sum)) <= 1e-6 * objective + 1
    assert all(0 <= row["lp_served"] <= row["orders"] + 1e-6 for row in classes.values())
    # The subgradient's uncapped ascent, in the same terms, never ends above it.
    problem = build_problem(instance)
    mandatory_out = {u.order for u in made.unassigned if u.mandatory}
    left = [i.index for i in problem.orders if i.order.id in mandatory_out and i.candidates]
    offset = problem.mandatory_penalty * (
        sum(1 for i in problem.orders if i.order.mandatory and not i.candidates) + len(left)
    )
    ascent = LagrangianBound(problem, capped=False).compute(objective + offset, left, 400, 5.0)
    assert ascent - offset <= got["bound"] + 1
