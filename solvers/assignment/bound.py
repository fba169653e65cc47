"""A valid lower bound for large assignment problems, by Lagrangian relaxation.

The capacity rows are moved into the objective with multipliers ``lam[r, t] >= 0``
(per second). What is left splits by order: each order either pays its penalty or
makes all its units at the cheapest (candidate, period) at reduced cost
``unit_cost + sum_u lam[r_u, t] * seconds_per_unit_u``. Setups, lot sizes, part
counts and buyer shares are dropped too; dropping constraints only lowers the
bound, so every ``L(lam)`` is a valid lower bound. Subgradient ascent with Polyak
steps towards the incumbent tightens it. Everything is vectorised: one iteration
costs a few array passes over candidates x periods.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from solvers.assignment.problem import AssignmentProblem

FloatArray = npt.NDArray[np.float64]


def lagrangian_bound(
    problem: AssignmentProblem,
    incumbent: float,
    fixed_unserved: Collection[int] = (),
    iterations: int = 400,
    time_limit_s: float = 5.0,
) -> float:
    """A lower bound on the internal objective of any plan that leaves the orders in
    ``fixed_unserved`` unserved (pass none for an unconditional bound)."""
    start = time.perf_counter()
    fixed = set(fixed_unserved)
    active = [i for i in problem.orders if i.candidates and i.index not in fixed]
    constant = float(sum(problem.unserved_cost(i.index) for i in problem.orders if i not in active))
    if not active:
        return constant
    n_periods = problem.periods
    n_res = len(problem.resources)
    cands = [problem.candidates[k] for i in active for k in i.candidates]
    group = np.repeat(np.arange(len(active)), [len(i.candidates) for i in active])
    starts = np.concatenate(([0], np.cumsum([len(i.candidates) for i in active])[:-1]))
    qty = np.array([i.order.quantity for i in active], dtype=np.float64)
    penalty = np.array([problem.unserved_cost(i.index) for i in active], dtype=np.float64)

    width = max(len(c.usage) for c in cands)
    res = np.full((len(cands), width), n_res, dtype=np.int64)  # n_res = dummy row
    spu = np.zeros((len(cands), width), dtype=np.float64)
    setup = np.zeros((len(cands), width), dtype=np.float64)
    for row, c in enumerate(cands):
        for k, u in enumerate(c.usage):
            res[row, k], spu[row, k], setup[row, k] = (
                u.resource,
                u.seconds_per_unit,
                u.setup_seconds,
            )
    free = np.zeros((n_res + 1, n_periods), dtype=np.float64)
    free[:n_res] = [r.free_seconds for r in problem.resources]
    free[n_res] = np.inf

    t = np.arange(n_periods)[None, :]
    first = np.array([c.first for c in cands])[:, None]
    last = np.array([c.last for c in cands])[:, None]
    due = np.array([problem.orders[c.order].order.due_period for c in cands])[:, None]
    late = np.array(
        [
            problem.weights.lateness
            * problem.orders[c.order].order.penalties.late_cents_per_unit_period
            for c in cands
        ],
        dtype=np.float64,
    )[:, None]
    base = np.array([c.base for c in cands], dtype=np.float64)[:, None]
    cost = base + late * np.maximum(0, t - due)
    # A period is usable only if one unit (with its setup) fits on an empty factory.
    room = free[res] - setup[:, :, None]  # (cands, width, periods)
    fits = np.all(room >= spu[:, :, None], axis=1)
    cost = np.where((t >= first) & (t <= last) & fits, cost, np.inf)

    lam = np.zeros((n_res + 1, n_periods), dtype=np.float64)
    cap = free[:n_res]
    best = -math.inf
    theta, stall = 2.0, 0
    rows = np.arange(len(cands))
    for _ in range(max(1, iterations)):
        reduced = cost + np.einsum("ckt,ck->ct", lam[res], spu)
        t_best = reduced.argmin(axis=1)
        c_min = reduced[rows, t_best]
        o_min = np.minimum.reduceat(c_min, starts)
        serve = qty * o_min
        value = np.minimum(penalty, serve)
        bound = constant + float(value.sum()) - float((lam[:n_res] * cap).sum())
        if best == -math.inf or bound > best + 1e-9 * abs(best):
            best, stall = bound, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        if theta < 1e-4 or time.perf_counter() - start > time_limit_s:
            break
        # Subgradient: load of the chosen (candidate, period) per served order - capacity.
        chosen_mask = c_min == o_min[group]
        chosen_rows = rows[chosen_mask]
        uniq_groups, first_idx = np.unique(group[chosen_mask], return_index=True)
        pick = chosen_rows[first_idx]
        serving = serve[uniq_groups] < penalty[uniq_groups]
        pick, units = pick[serving], qty[uniq_groups][serving]
        load = np.zeros_like(lam)
        for k in range(width):
            np.add.at(load, (res[pick, k], t_best[pick]), units * spu[pick, k])
        g = load[:n_res] - cap
        norm = float((g * g).sum())
        if norm == 0.0:
            break
        step = theta * max(incumbent - bound, 1e-6 * max(1.0, abs(incumbent))) / norm
        lam[:n_res] = np.maximum(0.0, lam[:n_res] + step * g)
    # Guard against float round-off: the true objective is an integer.
    return math.floor(best - 1e-9 * abs(best))
