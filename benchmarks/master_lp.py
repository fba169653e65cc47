"""How high the assignment's uncapped Lagrangian bound could ever get on one instance.

    .venv/bin/python -m benchmarks.master_lp INSTANCE --reference OBJ [--plan PLAN]
        [--seconds 300] [--json OUT]

The uncapped relaxation of solvers/assignment/bound.py gives each order one choice: all
its units at one (candidate, period), at that pair's unit cost and seconds (the setup
spread over the order), or its penalty. Its best bound over all multipliers equals
the LP over those choices (the Dantzig-Wolfe master): per order a convex combination
of choices and its penalty, the capacity and material rows kept. This benchmark solves
that master by column generation with GLOP:

- the restricted master holds a subset of the choices; its LP value is **at least**
  the full master's, so no multipliers can lift the uncapped bound above it (the
  "ceiling", valid at every iteration);
- its capacity and material duals, smoothed with the best multipliers so far (half
  each: Wentges), are priced over every choice (the bound's own vectorised pricing):
  that value is a valid lower bound on every plan (the "bound"), and each order's
  cheapest choices there join the master.

When the two meet, the uncapped relaxation is solved. ``--plan`` (a plan JSON of the
instance, e.g. the reference run's) seeds the master with its parts, so the master is
feasible at once, and takes the mandatory orders it leaves unserved as left out (as
``benchmarks.bounds`` does with ``--left-out``). Figures are in the terms of
``benchmarks.bounds``: the stage's objective without mandatory penalties, against
``--reference``; ``--left-out`` names more mandatory orders to take as left out.
With ``--plan`` the result also says where the gap between that plan and the LP sits
(``where_the_gap_sits``): per class of order (served by the plan, or unserved with
each reason) the plan's penalties and the LP's cost of the same orders, with the share
of them the LP serves; the classes' differences add up to plan objective less ceiling.
GLOP's solve grows with the columns (about 45 s at 165 000 columns
on the 10 000-order instance); a solve that does not end optimal ends the run with
the figures so far.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]  # SWIG, no stubs

from benchmarks.mip_reference import emit, no_factory
from matcher.check.verify import load_plan
from matcher.domain.plan import Plan
from matcher.domain.validation import load_instance
from solvers.assignment.bound import LagrangianBound
from solvers.assignment.problem import AssignmentProblem, build_problem

SMOOTHING = 0.5
"""Weight of the best multipliers in the point priced (Wentges smoothing)."""
PER_ORDER = 3
"""Choices added per order and iteration: its cheapest candidates at their best period."""


class _Master:
    """The restricted master LP over the choices added so far."""

    def __init__(self, lb: LagrangianBound, penalty: np.ndarray, must_serve: set[int]) -> None:
        """``must_serve``: groups (mandatory orders the seeding plan serves) given no
        unserved column. Their internal penalty (about 1e11 cents) made GLOP's solves
        end abnormal at 165 000 columns on the 10 000-order instance; without it the
        master is still a restriction of the full one, so its value stays a ceiling."""
        self.lb = lb
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        inf = self.solver.infinity()
        self.convexity = [self.solver.Constraint(1.0, 1.0) for _ in lb.active]
        self.capacity: dict[tuple[int, int], Any] = {}
        self.material = {
            (m, c): self.solver.Constraint(-inf, float(rhs))
            for m, rhss in enumerate(lb.material_rhs)
            for c, rhs in enumerate(rhss)
        }
        objective = self.solver.Objective()
        self.unserved: dict[int, tuple[Any, float]] = {}  # group -> (variable, cents)
        for g, cents in enumerate(penalty.tolist()):
            if g in must_serve:
                continue
            unserved = self.solver.NumVar(0.0, inf, "")
            objective.SetCoefficient(unserved, cents)
            self.convexity[g].SetCoefficient(unserved, 1.0)
            self.unserved[g] = (unserved, cents)
        self.columns: set[tuple[int, int]] = set()
        self.made: list[tuple[int, Any, float]] = []  # (group, variable, cents) per choice

    def add(self, row: int, t: int) -> bool:
        """Choice (candidate row, period) for its whole order; False if known or unusable."""
        lb = self.lb
        if (row, t) in self.columns or not math.isfinite(lb.cost[row, t]):
            return False
        self.columns.add((row, t))
        q = float(lb.qty[lb.group[row]])
        x = self.solver.NumVar(0.0, self.solver.infinity(), "")
        cents = q * float(lb.cost[row, t])
        self.solver.Objective().SetCoefficient(x, cents)
        self.made.append((int(lb.group[row]), x, cents))
        self.convexity[int(lb.group[row])].SetCoefficient(x, 1.0)
        n_res = len(lb.cap)
        for k in range(lb.width):
            r = int(lb.res[row, k])
            if r < n_res:
                key = (r, t)
                if key not in self.capacity:
                    rhs = float(lb.cap[r, t])
                    self.capacity[key] = self.solver.Constraint(-self.solver.infinity(), rhs)
                self.capacity[key].SetCoefficient(x, q * float(lb.spread[row, k]))
        for j in range(lb.mat_width):
            m = int(lb.mat[row, j])
            if m < lb.n_mat:
                for c, checkpoint in enumerate(lb.checkpoints[m]):
                    if checkpoint >= t:
                        self.material[(m, c)].SetCoefficient(x, q * float(lb.mat_use[row, j]))
        return True

    def solve(self) -> tuple[float, np.ndarray, list[list[float]]] | None:
        """The LP value and its duals as multipliers (>= 0); None if not optimal."""
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        lb = self.lb
        lam = np.zeros((len(lb.cap) + 1, lb.problem.periods))
        for (r, t), row in self.capacity.items():
            lam[r, t] = max(0.0, -row.dual_value())
        mu = [
            [max(0.0, -self.material[(m, c)].dual_value()) for c in range(len(cps))]
            for m, cps in enumerate(lb.checkpoints)
        ]
        return self.solver.Objective().Value(), lam, mu

    def per_group(self) -> tuple[np.ndarray, np.ndarray]:
        """At the last solve (which must have ended optimal, with every column added so
        far): per group its cost in the LP and the share of it served."""
        n = len(self.convexity)
        cost, served = np.zeros(n), np.ones(n)
        for g, x, cents in self.made:
            cost[g] += x.solution_value() * cents
        for g, (u, cents) in self.unserved.items():
            cost[g] += u.solution_value() * cents
            served[g] -= u.solution_value()
        return cost, served


def where_the_gap_sits(
    problem: AssignmentProblem,
    lb: LagrangianBound,
    master: _Master,
    plan: Plan,
    placeable: float,
) -> list[dict[str, Any]]:
    """The master's last LP against ``plan``, per class of order the plan makes: the
    orders it serves, and those it leaves unserved by reason. Per class the plan's
    penalties (stage terms: 0 for a mandatory order) and the LP's cost of the same
    orders with the share it serves; the served orders' plan figure is the rest of
    ``placeable``, the plan's stage objective less what the orders no factory may take
    cost (the same on both sides, left out)."""
    cost, served = master.per_group()
    reason = {u.order: u.reason.value for u in plan.unassigned}
    rows: dict[str, dict[str, Any]] = {}
    for g, o in enumerate(lb.active):
        info = problem.orders[o]
        key = reason.get(info.order.id, "served")
        row = rows.setdefault(key, {"orders": 0, "plan": 0.0, "lp": 0.0, "lp_served": 0.0})
        row["orders"] += 1
        row["lp"] += float(cost[g])
        row["lp_served"] += float(served[g])
        if key != "served" and not info.order.mandatory:
            row["plan"] += float(problem.unserved_cost(o))
    if "served" in rows:
        rows["served"]["plan"] = placeable - sum(
            r["plan"] for k, r in rows.items() if k != "served"
        )
    return [
        {"class": k, **{n: round(v, 2) if isinstance(v, float) else v for n, v in r.items()}}
        for k, r in sorted(rows.items())
    ]


def _plan_choices(
    problem: AssignmentProblem, lb: LagrangianBound, plan: Plan
) -> list[tuple[int, int]]:
    """The (candidate row, period) of every part of ``plan``."""
    index = {info.order.id: info.index for info in problem.orders}
    row_of = {}
    for i, key in enumerate(lb.keys):
        cand = problem.candidates[key]
        row_of[(cand.order, cand.factory, cand.operation)] = i
    factory_index = {f.id: i for i, f in enumerate(problem.instance.factories)}
    seeds = []
    for a in plan.allocations:
        o = index[a.order]
        operation = a.operation if problem.orders[o].stages is not None else None
        found = row_of.get((o, factory_index[a.factory], operation))
        if found is not None:
            seeds += [(found, pq.period) for pq in a.periods]
    return seeds


def master_lp(
    problem: AssignmentProblem,
    reference: float,
    seconds: float,
    plan: Plan | None = None,
    left_out_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Column generation on the uncapped master for ``seconds`` (module docstring);
    ``left_out_ids``: mandatory orders taken as left out besides the plan's."""
    started = time.perf_counter()
    lb = LagrangianBound(problem, capped=False)
    index = {info.order.id: info.index for info in problem.orders}
    unserved = plan.unassigned if plan is not None else []
    named = [*left_out_ids, *(u.order for u in unserved if u.mandatory)]
    left_out = sorted({index[oid] for oid in named if problem.orders[index[oid]].candidates})
    fixed = np.isin(np.array(lb.active, dtype=np.int64), left_out)
    constant = lb.unplaceable + float(lb.penalty[fixed].sum())
    penalty = np.where(fixed, 0.0, lb.penalty)  # a left-out order's is in the constant
    offset = problem.mandatory_penalty * (no_factory(problem) + len(left_out))
    n_res = len(lb.cap)

    def value(lam: np.ndarray, mu: list[list[float]]) -> tuple[float, Any]:
        bound, priced, _ = lb.value(lam, mu, False, penalty, constant)
        return bound, priced

    def below(x: float) -> float:
        return round((reference - (x - offset)) / reference, 5)

    seeds = [] if plan is None else _plan_choices(problem, lb, plan)
    served = {int(lb.group[row]) for row, _ in seeds}
    must_serve = {g for g in served if problem.orders[lb.active[g]].order.mandatory}
    master = _Master(lb, penalty, must_serve)
    seeded = sum(master.add(row, t) for row, t in seeds)
    lam_best = np.zeros((n_res + 1, problem.periods))
    mu_best = [[0.0] * len(cps) for cps in lb.checkpoints]
    best, priced = value(lam_best, mu_best)
    ceiling = math.inf
    iterations: list[dict[str, Any]] = []
    ended = "time"
    lp_duals: tuple[np.ndarray, list[list[float]]] | None = None  # of the last solve

    def add_cheapest(priced: Any) -> int:
        """Each order's cheapest choices at these prices, those not yet in the master."""
        order = np.lexsort((priced.c_min, lb.group))
        rank = np.arange(len(order)) - lb.starts[lb.group[order]]
        pick = order[(rank < PER_ORDER) & np.isfinite(priced.c_min[order])]
        return sum(master.add(row, int(priced.t_best[row])) for row in pick.tolist())

    while time.perf_counter() - started < seconds:
        added = add_cheapest(priced)
        if not added and lp_duals is not None:
            # Nothing new at the point priced: at the LP's own duals, nothing new
            # proves the master optimal (its bound there is the LP value).
            bound, priced = value(*lp_duals)
            if bound > best:
                best, lam_best, mu_best = bound, *lp_duals
            added = add_cheapest(priced)
            if not added:
                ended = "converged: every order's cheapest choice is in the master"
                break
        solved = master.solve()
        if solved is None:
            ended = "GLOP did not end optimal"
            lp_duals = None  # its values are no solution
            break
        lp_value, lam_lp, mu_lp = solved
        lp_duals = (lam_lp, mu_lp)
        ceiling = min(ceiling, lp_value + constant)
        lam = SMOOTHING * lam_best + (1 - SMOOTHING) * lam_lp
        mu = [
            [SMOOTHING * a + (1 - SMOOTHING) * b for a, b in zip(ra, rb, strict=True)]
            for ra, rb in zip(mu_best, mu_lp, strict=True)
        ]
        bound, priced = value(lam, mu)
        if bound <= best:  # no better at the smoothed point: price the LP's own duals
            bound, priced = value(lam_lp, mu_lp)
            lam, mu = lam_lp, mu_lp
        if bound > best:
            best, lam_best, mu_best = bound, lam, mu
        iterations.append(
            {
                "seconds": round(time.perf_counter() - started, 1),
                "columns": len(master.columns),
                "ceiling_below_reference": below(ceiling),
                "bound_below_reference": below(best),
            }
        )
        print(iterations[-1], file=sys.stderr, flush=True)
    gap = None
    # Columns are only added right before a solve, so the last one (when optimal)
    # holds every column: its values are the master's.
    if plan is not None and lp_duals is not None:
        plan_terms = lb.unplaceable - problem.mandatory_penalty * no_factory(problem)
        gap = where_the_gap_sits(problem, lb, master, plan, reference - plan_terms)
    return {
        "seeded_columns": seeded,
        "left_out": len(left_out),
        "ended": ended,
        "ceiling": None if math.isinf(ceiling) else ceiling - offset,
        "bound": math.floor(best - offset),
        "iterations": iterations,
        "where_the_gap_sits": gap,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--reference", type=float, required=True)
    parser.add_argument("--plan", type=Path, default=None)
    parser.add_argument("--left-out", default="", help="mandatory order ids left out")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    instance = load_instance(args.instance)
    problem = build_problem(instance, instance.weights)
    plan = load_plan(args.plan) if args.plan is not None else None
    result = {"instance": str(args.instance), "reference": args.reference}
    left_out = tuple(oid for oid in args.left_out.split(",") if oid)
    result |= master_lp(problem, args.reference, args.seconds, plan, left_out)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
