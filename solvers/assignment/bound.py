"""A valid lower bound for large assignment problems, by Lagrangian relaxation.

The capacity rows are moved into the objective with multipliers ``lam[r, t] >= 0``
(per second), and so are the material rows (docs/model.md, "Materials"), relaxed to
``sum_f (use_f - stock_f) / SCALE <= A`` at each checkpoint (a consequence of the
model's ``sum_f whole_units(use_f - stock_f) <= A``, as ``whole_units(x) >= x / SCALE``
and a factory using none adds ``-stock_f <= 0``), with ``mu[m, c] >= 0`` per whole unit.
What is left splits by order: each order either pays its penalty or makes all its
units at priced unit costs ``unit_cost + sum_u lam[r_u, t] * (seconds_per_unit_u +
setup_u / cap) + sum_m (per_unit_m / SCALE) * sum_{c: checkpoint_c >= t} mu[m, c]``.

Two subproblems, both relaxations of the order's own rows (so every ``L(lam, mu)`` is
a valid lower bound):

- **capped** (the default): a (candidate, period) makes at most ``cap`` units, what
  fits in the period on an empty factory (the model's variable bound, setup
  included), and pays its setup at ``setup / cap`` a unit (the model's ``x <= cap *
  z``). An order made at one factory fills its units from its cheapest periods there;
  an order that may be split fills them from its cheapest (candidate, period) pairs
  of any factory. Without the caps an order of many units is priced as if its
  cheapest period could hold them all (medium, 5 s of ascent: 12.4 % below the best
  known plan uncapped, 10.9 % uncapped then capped; the LP relaxation 8.1 %).
- **uncapped**: all its units at the cheapest (candidate, period), the setup spread
  over the order's quantity. Its reduced costs (:meth:`reduced_costs`) bound any
  plan's cost per unit moved, which the exact core needs; and its multipliers price
  all of a factory's capacity, which the capacity-sharing analysis needs (the caps
  hold what one order alone fills, and the capped multipliers price that at 0).

Lot sizes, part counts and buyer shares are dropped. Subgradient ascent with Polyak
steps towards the incumbent tightens it; a capped bound ascends with the cheaper
uncapped subproblem first, then with the capped one from the best multipliers found
(:meth:`LagrangianBound.compute`). Everything is vectorised: one iteration
costs a few array passes over candidates x periods, and the fills a few passes over
the orders that need more than one period.

Where orders have many candidates (tens at 10 000 orders), most of an iteration prices
candidates no order would choose. With working sets the uncapped ascent steps over
each order's few cheapest candidates and those found cheaper since, and prices every
candidate only once a round (:data:`WORKING_START`): the whole pricing gives the bound
(so it is as valid as the whole ascent's) and brings in the candidates that beat an
order's working ones, as column generation brings in columns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from solvers.assignment.materials import SCALE, MaterialPrices
from solvers.assignment.problem import AssignmentProblem, Candidate
from solvers.assignment.relaxation import Relaxation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# per order what its units cost in the relaxation; and where it makes them, as
# (rows, periods, units, orders) entries
Where = tuple[FloatArray, IntArray, IntArray, FloatArray, IntArray]
Made = tuple[IntArray, IntArray, FloatArray]  # (rows, periods, units)

# A capped fill takes at most this many (candidate, period) pairs one by one per order
# and iteration; units still to place then cost at least the cheapest pair left, which
# keeps the bound valid (and a few rounds cover almost every order).
FILL_ROUNDS = 8
# Rows of (candidate, period) priced at a time: temporaries of about 60 MB.
BLOCK_ROWS = 1 << 18
# Up to this many (candidate, period) pairs (256 MB of prices) an iteration keeps every
# row's prices for the fills; above, the rows a fill needs are priced again. That costs
# about 15 % more time an iteration (10 000 orders, 12.7 million pairs: 30 capped
# iterations 10.3 s kept, 11.5 s priced again), and at 50 000 orders (155 million) saves
# the 1.2 GB matrix.
KEPT_PAIRS = 1 << 25
# A usage or material present in more than this share of a block's rows is priced over
# all of them (its padding adds 0): a subset taken by index costs more per row.
DENSE = 0.5
# Polyak steps: theta times the gap to the target over the subgradient's square norm,
# theta halved after STALL iterations without a better bound, or at once when a step
# lands more than OVERSHOOT times the gap (target less best bound) below the best bound.
# The target is the incumbent, above the relaxation's optimum, so the steps are too long
# by the ratio of the two gaps, and where that ratio is large theta = 2 keeps jumping
# past the optimum: at 10 000 orders the best of 80 uncapped iterations came in the
# first five (34.4 % below the best known plan; with this rule 28.2 %, and 27.2 % after
# 160 iterations against 32.3 %; 5 000 orders, 200 iterations: 45.1 % -> 36.8 %).
# Medium, whose steps never land that low, ascends as before.
THETA = 2.0
STALL = 15
OVERSHOOT = 0.25
# A capped bound: the uncapped phase ends when its step factor falls below this (its
# bound has nearly stopped rising) or when only CAPPED_COST of its longest iterations
# are left (a capped iteration costs about 1.5 of them); the capped phase then starts
# afresh at THETA.
UNCAPPED_UNTIL = 1e-2
CAPPED_COST = 2.0
# Working sets (:meth:`LagrangianBound.compute` with ``working_sets``): the uncapped
# ascent steps over each order's WORKING_START cheapest candidates (at the costs without
# capacity) plus those added since, ROUND_ITERATIONS at a time; after each round every
# candidate is priced at the round's best multipliers, which gives the valid bound, and
# each order gains up to WORKING_ADD of the candidates that now beat all of its working
# ones. A round's steps cost what the working rows are of all rows. Used only where
# orders have at least WORKING_ABOVE candidates on average. At 10 000 orders (45
# candidates an order) the sets end near 8 an order, and the capped bound after 3.5 s
# is 17.9 % below the 60 s plan against 20.9 % by the whole ascent (8 s: 16.6 against
# 18.5 %; 15 s: 14.9 against 17.8 %); 2 or 5 to start, 1 or 4 added, 15 or 60 steps did
# no better (docs/scale.md, "Working sets").
WORKING_START = 3
WORKING_ADD = 2
ROUND_ITERATIONS = 30
WORKING_ABOVE = 8.0


class LagrangianBound:
    """Arrays over (candidate, period) built once; :meth:`compute` runs the ascent."""

    def __init__(
        self,
        problem: AssignmentProblem,
        offered: dict[int, list[int]] | None = None,
        capped: bool = True,
    ) -> None:
        """``offered``: per order, the only candidates modelled (default: all). The
        result is then no bound on the whole problem, but its multipliers still price
        capacity (the capacity-sharing analysis uses this on very large problems).
        ``capped``: which subproblem (module docstring)."""
        self.problem = problem
        self.capped = capped
        self.iterations = 0  # of the last :meth:`compute`
        # lam[r, t] of the best bound found: a price per second of capacity
        self.multipliers = np.zeros((len(problem.resources), problem.periods))
        self.keys: list[int] = []
        # per (block, materials, k) of :meth:`_priced`: :meth:`_add_where_real`'s rows
        self._real: dict[tuple[Any, ...], tuple[IntArray, IntArray] | None] = {}
        self.active = [i.index for i in problem.orders if i.candidates]
        self.unplaceable = float(
            sum(problem.unserved_cost(i.index) for i in problem.orders if not i.candidates)
        )
        if not self.active:
            return
        n_periods, n_res = problem.periods, len(problem.resources)
        infos = [problem.orders[o] for o in self.active]
        chosen = [offered.get(i.index, i.candidates) if offered else i.candidates for i in infos]
        self.keys = [k for ks in chosen for k in ks]  # candidate of each row
        cands = list(map(problem.candidates.__getitem__, self.keys))
        n = len(cands)
        counts = [len(ks) for ks in chosen]
        self.group = np.repeat(np.arange(len(infos)), counts)
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.qty = np.array([i.order.quantity for i in infos], dtype=np.float64)
        self.penalty = np.array([problem.unserved_cost(o) for o in self.active], dtype=np.float64)
        usage = _gathered(
            cands,
            attrgetter("usage"),
            lambda shape: [(u.resource, u.seconds_per_unit, u.setup_seconds) for u in shape],
            (n_res, 0, 0),
        )
        self.width = width = usage.shape[1]
        self.res = usage[:, :, 0]
        self.spu = usage[:, :, 1].astype(np.float64)
        setup = usage[:, :, 2].astype(np.float64)
        free = np.zeros((n_res + 1, n_periods), dtype=np.float64)
        free[:n_res] = [r.free_seconds for r in problem.resources]
        free[n_res] = np.inf
        self.cap = free[:n_res]
        t = np.arange(n_periods)[None, :]
        first = np.fromiter(map(attrgetter("first"), cands), np.int64, n)[:, None]
        last = np.fromiter(map(attrgetter("last"), cands), np.int64, n)[:, None]
        order_of = np.fromiter(map(attrgetter("order"), cands), np.int64, n)
        orders = [i.order for i in problem.orders]
        due = np.array([o.due_period for o in orders], dtype=np.int64)[order_of][:, None]
        late = np.array(
            [problem.weights.lateness * o.penalties.late_cents_per_unit_period for o in orders],
            dtype=np.float64,
        )[order_of][:, None]
        base = np.fromiter(map(attrgetter("base"), cands), np.float64, n)[:, None]
        # (candidate, period) arrays are a gigabyte each at platform size: made in place
        usable = (t >= first) & (t <= last)
        # capped: the units that fit per (candidate, period) on an empty factory, at most
        # the part's and the order's; else only whether one unit with its setup fits
        hi = np.fromiter(map(attrgetter("hi"), cands), np.float64, n)
        units = None
        if capped:  # float32 (half the memory): whole numbers up to the order's quantity
            units = np.empty((n, n_periods), dtype=np.float32)
            units[:] = np.minimum(hi, self.qty[self.group])[:, None]
        for k in range(width):
            # Only the rows with a k-th usage: the padding (group n_res, infinite room,
            # no time) changes nothing, and at 50 000 orders 89 % of the candidates
            # have one usage, so the passes for the second and third are nearly empty.
            real = self.res[:, k] != n_res
            rows: slice | npt.NDArray[np.intp] = slice(None) if real.all() else np.flatnonzero(real)
            spu = self.spu[rows, k]
            room = free[self.res[rows, k]]
            room -= setup[rows, k, None]
            usable[rows] &= room >= spu[:, None]
            if units is not None:  # as units_fitting: a usage taking no time limits none
                timed = spu > 0
                room /= np.where(timed, spu, 1.0)[:, None]
                np.floor(room, out=room)
                room[~timed] = np.inf
                if isinstance(rows, slice):  # in place: no float64 copy of every pair
                    np.minimum(units, room, out=units, casting="unsafe")
                else:
                    units[rows] = np.minimum(units[rows], room)
            del room
        cost = np.empty((n, n_periods), dtype=np.float64)
        np.subtract(t, due, out=cost)  # no int64 temporary: a gigabyte at platform size
        np.maximum(cost, 0.0, out=cost)
        cost *= late
        cost += base
        cost[~usable] = np.inf
        self.cost = cost
        # Seconds per unit as priced. Capped: the setup over the pair's cap, as a run
        # making x units there pays setup >= setup * x / cap. Uncapped: the setup spread
        # over the order's units: an order served at one (candidate, period) uses the
        # setup there once; a plan that spreads it over several pays each period's setup
        # in full, at least its share of the units' (a convex combination).
        self.setup = setup
        self.spread = self.spu + setup / self.qty[self.group][:, None]
        if units is not None:  # unusable pairs: 1, so that a setup's price stays finite
            units[~usable] = 1.0
            self.units = units
        self.split = np.array([i.max_parts > 1 for i in infos])
        # Material rows: per candidate its (limit, whole units per unit) pairs, a dummy
        # limit (n_mat, no rows) for padding; per limit and checkpoint the right-hand
        # side ``A + sum of stock``, and the checkpoints' periods.
        limits = problem.materials
        self.n_mat = n_mat = len(limits)
        self.checkpoints = [list(lim.checkpoints) for lim in limits]
        self.material_rhs = [lim.relaxed_available() for lim in limits]
        self.material_multipliers = [[0.0] * len(cp) for cp in self.checkpoints]
        self.mat_width = 0
        if n_mat:
            bills = _gathered(cands, attrgetter("materials"), list, (n_mat, 0))
            self.mat_width = bills.shape[1]
            self.mat = bills[:, :, 0]
            self.mat_use = bills[:, :, 1].astype(np.float64) / SCALE

    def material_prices(self) -> MaterialPrices:
        """What a whole unit of each limited material used in each period is worth at
        the best multipliers found: the scarce materials' prices
        (:func:`~solvers.assignment.greedy.placement_priority`)."""
        return self._material_prices(self.material_multipliers)

    def _material_prices(self, mu: list[list[float]]) -> FloatArray:
        """Per (limit, period): what a whole unit used in that period is charged, the
        multipliers of every checkpoint at or after it (a dummy last row of zeros)."""
        prices = np.zeros((self.n_mat + 1, self.problem.periods), dtype=np.float64)
        for m, (cps, values) in enumerate(zip(self.checkpoints, mu, strict=True)):
            for cp, value in zip(cps, values, strict=True):
                prices[m, : cp + 1] += value
        return prices

    def _priced_materials(self, prices: FloatArray, j: int, rows: slice | IntArray) -> FloatArray:
        """Material ``j``'s price per unit made at each (candidate, period) of ``rows``."""
        out: FloatArray = prices[self.mat[rows, j]]
        out *= self.mat_use[rows, j, None]
        return out

    def _priced_usage(
        self, lam: FloatArray, k: int, rows: slice | IntArray, capped: bool
    ) -> FloatArray:
        """Usage ``k``'s capacity price per unit at each (candidate, period) of ``rows``
        (the product's operands are scaled in place). Rows without a setup come out the
        same by either branch (``lam * (0 / units + spu)`` is ``lam * spu`` exactly), so a
        row's price does not depend on the rows priced with it."""
        out: FloatArray = lam[self.res[rows, k]]
        if capped and self.setup[rows, k].any():
            seconds = self.setup[rows, k, None] / self.units[rows]
            seconds += self.spu[rows, k, None]
            out *= seconds
        else:
            out *= (self.spu if capped else self.spread)[rows, k, None]
        return out

    def _seconds(self, rows: IntArray, ts: IntArray, k: int, capped: bool) -> FloatArray:
        """Usage ``k``'s seconds per unit as priced at these (candidate, period) pairs."""
        if not capped:
            return self.spread[rows, k]
        return self.spu[rows, k] + self.setup[rows, k] / self.units[rows, ts]

    def _priced(self, lam: FloatArray, mu: list[list[float]], capped: bool) -> _Priced:
        """The priced unit costs at these multipliers, made in blocks of rows (each
        temporary over all rows would be a gigabyte at platform size): each row's
        cheapest period, and the whole matrix up to :data:`KEPT_PAIRS` pairs."""
        prices = self._material_prices(mu) if self.mat_width else None
        n = len(self.cost)
        keep = capped and self.cost.size <= KEPT_PAIRS  # only the capped fills read rows
        full = np.empty_like(self.cost) if keep else None
        t_best = np.empty(n, dtype=np.intp)
        c_min = np.empty(n, dtype=np.float64)
        for start in range(0, n, BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            block = self._price_rows(lam, prices, capped, rows)
            t = block.argmin(axis=1)
            t_best[rows] = t
            c_min[rows] = np.take_along_axis(block, t[:, None], axis=1)[:, 0]
            if full is not None:
                full[rows] = block
        return _Priced(self, lam, prices, capped, t_best, c_min, full)

    def _price_rows(
        self, lam: FloatArray, prices: FloatArray | None, capped: bool, rows: slice | IntArray
    ) -> FloatArray:
        """The priced unit cost of every period of ``rows`` (a new array), the terms
        added in one order, so that a row priced again gives the same figures."""
        block: FloatArray = self.cost[rows].copy() if isinstance(rows, slice) else self.cost[rows]
        for k in range(self.width):
            usage = partial(self._priced_usage, lam, k, capped=capped)
            self._add_where_real(block, rows, k, False, usage)
        if prices is not None:
            for j in range(self.mat_width):
                material = partial(self._priced_materials, prices, j)
                self._add_where_real(block, rows, j, True, material)
        return block

    def _add_where_real(
        self,
        block: FloatArray,
        rows: slice | IntArray,
        k: int,
        materials: bool,
        priced: Callable[[slice | IntArray], FloatArray],
    ) -> None:
        """Add ``priced`` (usage or material ``k``'s price per unit) to ``block``, over
        the rows of ``rows`` whose ``k``-th entry is real, or over all of them when more
        than :data:`DENSE` are. Padding prices at exactly 0 (a multiplier row of zeros),
        so skipping it changes no figure; most rows have one usage and one or two
        materials, and at 10 000 orders an uncapped iteration's pricing takes 0.21 ->
        0.12 s."""
        key = (rows.start, rows.stop, materials, k) if isinstance(rows, slice) else None
        if key is not None and key in self._real:
            subset = self._real[key]
        else:
            column, padding = (self.mat, self.n_mat) if materials else (self.res, len(self.cap))
            real = column[rows, k] != padding
            subset = None
            if real.mean() <= DENSE:  # (positions in block, their rows)
                at = np.flatnonzero(real)
                subset = (at, at + rows.start if isinstance(rows, slice) else rows[at])
            if key is not None:
                self._real[key] = subset
        if subset is None:
            block += priced(rows)
        elif len(subset[0]):
            block[subset[0]] += priced(subset[1])

    def constant_free_value(self) -> float:
        """The relaxation's value with capacity free (all multipliers 0)."""
        o_min = np.minimum.reduceat(self.cost.min(axis=1), self.starts)
        return self.unplaceable + float(np.minimum(self.penalty, self.qty * o_min).sum())

    def reduced_costs(self) -> tuple[dict[int, float], dict[int, float]]:
        """At the best multipliers: per candidate, its cheapest priced unit less its
        order's (>= 0); and the candidates the relaxation serves orders with (units).
        Uncapped only: a capped fill's cost is no sum of per-unit prices."""
        if self.capped:
            raise ValueError("reduced costs need the uncapped relaxation")
        lam = np.zeros((len(self.problem.resources) + 1, self.problem.periods))
        lam[:-1] = self.multipliers
        c_min = self._priced(lam, self.material_multipliers, capped=False).c_min
        o_min = np.minimum.reduceat(c_min, self.starts)
        finite = np.isfinite(c_min)
        rc = np.where(finite, c_min - np.where(finite, o_min[self.group], 0.0), np.inf)
        reduced = {k: float(r) for k, r in zip(self.keys, rc.tolist(), strict=True)}
        support: dict[int, float] = {}
        for row in np.flatnonzero(rc <= 1e-9).tolist():
            g = int(self.group[row])
            if self.qty[g] * o_min[g] <= self.penalty[g]:
                support.setdefault(self.keys[row], float(self.qty[g]))
        return reduced, support

    def compute(
        self,
        incumbent: float,
        fixed_unserved: Collection[int] = (),
        iterations: int = 400,
        time_limit_s: float = 5.0,
        margin: float = 0.0,
        working_sets: bool = False,
    ) -> float:
        """A lower bound on the internal objective of every plan that leaves the orders
        in ``fixed_unserved`` unserved (none: an unconditional bound). With ``margin``
        the Polyak target is at least that fraction above the best bound so far (for
        when no incumbent is known: ``incumbent`` may then be far too low). With
        ``working_sets`` the uncapped ascent steps over working sets of candidates
        where orders have many (:data:`WORKING_START`); ``iterations`` then counts
        whole-problem iterations' worth of work."""
        start = time.perf_counter()
        self.iterations = 0
        if not self.active:
            return math.floor(self.unplaceable)
        fixed = np.array([o in set(fixed_unserved) for o in self.active])
        ascent = _Ascent(
            self,
            np.where(fixed, 0.0, self.penalty),
            self.unplaceable + float(self.penalty[fixed].sum()),
            incumbent,
            margin,
        )
        # Uncapped first: its iterations are cheaper, and short budgets (a feedback
        # round's bound may get half a second) end higher with it. Then the capped
        # subproblem from its best multipliers: at the same multipliers it is never
        # lower (each order's fill costs at least its uncapped price), so the result is
        # never below the uncapped ascent's. The capped phase gets what the uncapped one
        # leaves once it has nearly converged, and at least one iteration when the limit
        # allows (time for it is kept back).
        deadline = start + time_limit_s
        steps = max(1, iterations)
        keep_back, smallest = (CAPPED_COST, UNCAPPED_UNTIL) if self.capped else (0.0, 1e-4)
        uncapped_steps = steps - 1 if self.capped else steps
        working = working_sets and len(self.keys) >= WORKING_ABOVE * len(self.active)
        if working:
            self._ascend_working_sets(ascent, uncapped_steps, deadline, keep_back, smallest)
        else:
            ascent.run(False, uncapped_steps, deadline, keep_back=keep_back, smallest=smallest)
        if not self.capped:
            return ascent.result()
        if self.iterations == 0 or time.perf_counter() < deadline:  # else stopped or late
            # After working sets, which end on the clock rather than converged, the
            # capped steps go on at the step factor reached: theta = 2 again from the
            # best multipliers lands far below them (10 000 orders, measured).
            ascent.restart(ascent.theta if working else THETA)
            ascent.run(True, max(1, steps - self.iterations), deadline)
        return ascent.result()

    def _ascend_working_sets(
        self, ascent: _Ascent, steps: int, deadline: float, keep_back: float, smallest: float
    ) -> None:
        """The uncapped ascent on working sets of candidates (:data:`WORKING_START`):
        rounds of steps over the working rows, each ended by pricing every row at the
        round's best multipliers (the valid bound, kept on ``ascent`` and this object as
        the whole ascent keeps it) and adding the rows that beat their order's working
        ones. The working sets start from each order's first candidates (the problem
        lists them cheapest first, by ``base``). Ends when ``steps`` whole iterations'
        worth of work is done, when the clock leaves less than ``1 + keep_back`` times
        the last whole pricing, or when a round adds nothing after the step factor fell
        below ``smallest``."""
        n_rows, n_orders = len(self.keys), len(self.active)
        rank = np.arange(n_rows) - self.starts[self.group]  # place among its order's rows
        working = rank < WORKING_START
        lam, mu = ascent.lam.copy(), [row[:] for row in ascent.mu]
        theta, work, pricing = ascent.theta, 0.0, 0.0  # pricing: the last whole pricing's time
        while True:
            rows = np.flatnonzero(working)
            sub = self._subset(rows)
            inner = _Ascent(sub, ascent.penalty, ascent.constant, ascent.incumbent, ascent.margin)
            inner.lam[:], inner.mu, inner.theta = lam, [row[:] for row in mu], theta
            budget = max(1, min(ROUND_ITERATIONS, int((steps - work - 1) * n_rows / len(rows))))
            inner.run(False, budget, deadline - (1 + keep_back) * pricing, smallest=0.0)
            work += sub.iterations * len(rows) / n_rows + 1
            self.iterations = math.ceil(work)
            theta = inner.theta
            lam[: ascent.n_res], mu = sub.multipliers, [row[:] for row in sub.material_multipliers]
            began = time.perf_counter()
            bound, priced, _ = self.value(lam, mu, False, ascent.penalty, ascent.constant)
            pricing = time.perf_counter() - began  # the first is slower: allocations
            if bound > ascent.best + 1e-9 * abs(ascent.best) or ascent.best == -math.inf:
                ascent.best = bound
                self.multipliers = lam[: ascent.n_res].copy()
                self.material_multipliers = [row[:] for row in mu]
            # rows that beat their order's working rows, and the order's penalty
            c_min = priced.c_min
            del priced
            best_working = np.minimum.reduceat(np.where(working, c_min, np.inf), self.starts)
            better = ~working & (c_min < best_working[self.group] * (1 - 1e-12))
            better &= c_min * self.qty[self.group] < ascent.penalty[self.group]
            added = np.flatnonzero(better)
            if len(added):
                # the cheapest WORKING_ADD per order: sort by (order, price)
                added = added[np.lexsort((c_min[added], self.group[added]))]
                groups = self.group[added]
                first = np.searchsorted(groups, np.arange(n_orders))
                added = added[np.arange(len(added)) - first[groups] < WORKING_ADD]
                working[added] = True
            now = time.perf_counter()
            if work >= steps or now + (1 + keep_back) * pricing > deadline:
                break
            if not len(added) and theta < smallest:
                break
        ascent.lam[:] = lam
        ascent.mu = mu
        ascent.theta = theta

    def _subset(self, rows: IntArray) -> LagrangianBound:
        """The uncapped relaxation over these rows only (every order keeping at least
        one): the working set's arrays, sliced from this object's. Made without
        ``__init__``: an attribute added there that the uncapped pricing or steps read
        must be set here too (the capped fills' ``units`` are not needed)."""
        sub = object.__new__(LagrangianBound)
        sub.problem, sub.capped, sub.iterations = self.problem, False, 0
        sub.multipliers = self.multipliers.copy()
        sub.material_multipliers = [row[:] for row in self.material_multipliers]
        sub.keys = [self.keys[r] for r in rows.tolist()]
        sub._real = {}
        sub.active, sub.unplaceable = self.active, self.unplaceable
        sub.group = self.group[rows]
        changes = np.ones(len(rows), dtype=bool)
        changes[1:] = sub.group[1:] != sub.group[:-1]
        sub.starts = np.flatnonzero(changes)
        sub.qty, sub.penalty, sub.width, sub.cap = self.qty, self.penalty, self.width, self.cap
        sub.res, sub.spu, sub.setup = self.res[rows], self.spu[rows], self.setup[rows]
        sub.cost, sub.spread = self.cost[rows], self.spread[rows]
        sub.split, sub.n_mat, sub.mat_width = self.split, self.n_mat, self.mat_width
        sub.checkpoints, sub.material_rhs = self.checkpoints, self.material_rhs
        if self.mat_width:
            sub.mat, sub.mat_use = self.mat[rows], self.mat_use[rows]
        return sub

    def value(
        self,
        lam: FloatArray,
        mu: list[list[float]],
        capped: bool,
        penalty: FloatArray,
        constant: float,
    ) -> tuple[float, _Priced, Where]:
        """``L(lam, mu)``: ``constant`` plus each order's cheaper of its ``penalty`` (0
        for an order taken as unserved) and its subproblem's cost, less the multipliers
        times the right-hand sides; with the priced costs and where the subproblem
        makes each order."""
        priced = self._priced(lam, mu, capped)
        where = self._fill(priced) if capped else self._cheapest(priced)
        bound = constant + float(np.minimum(penalty, where[0]).sum())
        bound -= float((lam[: len(self.cap)] * self.cap).sum())
        bound -= sum(
            x * rhs
            for xs, rhss in zip(mu, self.material_rhs, strict=True)
            for x, rhs in zip(xs, rhss, strict=True)
        )
        return bound, priced, where

    def _cheapest(self, priced: _Priced) -> Where:
        """Uncapped: per order, all its units at its cheapest (candidate, period); and
        where (rows, periods, units, orders), one entry per order."""
        t_best, c_min = priced.t_best, priced.c_min
        o_min = np.minimum.reduceat(c_min, self.starts)
        rows = _first_per_group(c_min == o_min[self.group], self.group)
        orders = self.group[rows]
        return self.qty * o_min, rows, t_best[rows], self.qty[orders], orders

    def _fill(self, priced: _Priced) -> Where:
        """Capped: per order, its units filled from its cheapest pairs (module
        docstring); and where the chosen fills make them (rows, periods, units, orders).
        An order made at one factory takes the best of its candidates' fills, and only
        the candidates whose fill could beat the best one found are filled (a fill
        costs at least all the units at the candidate's cheapest pair)."""
        n_rows = len(priced.c_min)
        t_best, c_min = priced.t_best, priced.c_min
        q = self.qty[self.group]
        lower = q * c_min
        whole = self.units[np.arange(n_rows), t_best] >= q  # its cheapest pair holds all
        split = self.split[self.group]
        # One factory: a candidate whose cheapest pair holds all costs ``lower``.
        value = np.where(whole & ~split, lower, np.inf)
        pending = ~split & ~whole & np.isfinite(lower)
        found = np.minimum.reduceat(value, self.starts)
        filled: list[Made] = []
        for first_pass in (True, False):
            todo = pending & (lower < found[self.group])
            if first_pass:  # the most promising candidate of each order first
                least = np.minimum.reduceat(np.where(todo, lower, np.inf), self.starts)
                todo &= lower == least[self.group]
            rows = np.flatnonzero(todo)
            got, entries = self._fill_rows(priced, rows, np.arange(len(rows) + 1))
            value[rows] = got
            pending[rows] = False
            filled.append(entries)
            found = np.minimum.reduceat(value, self.starts)
        serve = found  # a candidate still pending costs at least ``found``
        chosen = _first_per_group((value == serve[self.group]) & ~split, self.group)
        taken = np.zeros(n_rows, dtype=bool)
        taken[chosen] = True
        whole_rows = chosen[whole[chosen]]
        where = [(whole_rows, t_best[whole_rows], q[whole_rows])]
        for r, t, u in filled:
            sel = taken[r] & ~whole[r]
            where.append((r[sel], t[sel], u[sel]))
        # May be split: all at the cheapest pair when it holds all, else a pooled fill
        # over every pair of the order.
        o_min = np.minimum.reduceat(c_min, self.starts)
        best = _first_per_group((c_min == o_min[self.group]) & split, self.group)
        holds = whole[best]
        easy = best[holds]
        serve[self.group[easy]] = lower[easy]
        where.append((easy, t_best[easy], q[easy]))
        hard = self.group[best[~holds]]
        lengths = np.diff(np.append(self.starts, n_rows))[hard]
        offsets = np.cumsum(lengths) - lengths
        rows = np.repeat(self.starts[hard] - offsets, lengths) + np.arange(lengths.sum())
        got, entries = self._fill_rows(priced, rows, np.append(0, np.cumsum(lengths)))
        serve[hard] = got
        where.append(entries)
        r, t, u = (np.concatenate(column) for column in zip(*where, strict=True))
        return serve, r, t, u, self.group[r]

    def _fill_rows(
        self, priced: _Priced, rows: IntArray, bounds: IntArray
    ) -> tuple[FloatArray, Made]:
        """Fill each group of ``rows`` (group ``g`` is ``rows[bounds[g]:bounds[g+1]]``)
        with its order's units from its cheapest pairs, each up to its cap, in at most
        :data:`FILL_ROUNDS` rounds of one pair per group; units still to place then cost
        the cheapest pair left each (no fill could place them for less). Returns each
        group's cost (inf: its pairs cannot hold the units) and the (rows, periods,
        units) it made, the units still to place at the cheapest pair left."""
        n_groups = len(bounds) - 1
        if not n_groups:
            return np.zeros(0), (rows[:0], rows[:0], np.zeros(0))
        work = priced.rows(rows)  # priced again: taken pairs are set to inf
        caps = self.units[rows].astype(np.float64)
        local = np.repeat(np.arange(n_groups), np.diff(bounds))
        starts = bounds[:-1]
        remaining = self.qty[self.group[rows[starts]]].copy()
        cost = np.zeros(n_groups)
        row_min = work.min(axis=1)
        row_arg = work.argmin(axis=1)
        made: list[Made] = []
        for round_ in range(FILL_ROUNDS + 1):
            g_min = np.minimum.reduceat(row_min, starts)
            active = (remaining > 0) & np.isfinite(g_min)
            if not active.any():
                break
            at = _first_per_group((row_min == g_min[local]) & active[local], local)
            groups, periods = local[at], row_arg[at]
            if round_ == FILL_ROUNDS:  # the rest at the cheapest pair left
                cost[groups] += remaining[groups] * g_min[groups]
                made.append((at, periods, remaining[groups].copy()))
                remaining[groups] = 0.0
                break
            units = np.minimum(remaining[groups], caps[at, periods])
            cost[groups] += units * g_min[groups]
            remaining[groups] -= units
            made.append((at, periods, units))
            work[at, periods] = np.inf
            row_min[at] = work[at].min(axis=1)
            row_arg[at] = work[at].argmin(axis=1)
        cost[remaining > 0] = np.inf  # no pair left to place them
        if not made:
            return cost, (rows[:0], rows[:0], np.zeros(0))
        at, periods, units = (np.concatenate(column) for column in zip(*made, strict=True))
        return cost, (rows[at], periods, units)

    def _material_subgradient(
        self, rows: IntArray, units: FloatArray, periods: IntArray
    ) -> list[list[float]]:
        """Per limit and checkpoint: the whole units the served orders use by then
        where the relaxation makes them, less the right-hand side."""
        if not self.n_mat:
            return []
        use = np.zeros((self.n_mat + 1, self.problem.periods), dtype=np.float64)
        for j in range(self.mat_width):
            np.add.at(use, (self.mat[rows, j], periods), units * self.mat_use[rows, j])
        by_then = np.cumsum(use, axis=1)  # used in periods up to t
        return [
            [float(by_then[m, cp]) - rhs for cp, rhs in zip(cps, rhss, strict=True)]
            for m, (cps, rhss) in enumerate(zip(self.checkpoints, self.material_rhs, strict=True))
        ]


@dataclass(frozen=True)
class _Priced:
    """A :class:`LagrangianBound`'s priced unit costs at one set of multipliers: each
    row's cheapest period and its price; any rows priced again on demand."""

    rel: LagrangianBound
    lam: FloatArray
    prices: FloatArray | None  # the material prices (None: no material rows)
    capped: bool
    t_best: IntArray
    c_min: FloatArray
    full: FloatArray | None  # every row, when kept (:data:`KEPT_PAIRS`)

    def rows(self, rows: IntArray) -> FloatArray:
        """Every period of ``rows`` (a new array), priced as in
        :meth:`LagrangianBound._priced`: taken from the whole matrix when it is kept,
        else priced again (the same figures: the same terms in the same order)."""
        if self.full is not None:
            return self.full[rows]
        return self.rel._price_rows(self.lam, self.prices, self.capped, rows)


class _Ascent:
    """Subgradient ascent on a :class:`LagrangianBound`: the multipliers, the step
    size and the best bound found (its multipliers are kept on the bound object)."""

    def __init__(
        self,
        relaxation: LagrangianBound,
        penalty: FloatArray,
        constant: float,
        incumbent: float,
        margin: float,
    ) -> None:
        self.rel = relaxation
        self.penalty = penalty
        self.constant = constant
        self.incumbent = incumbent
        self.margin = margin
        problem = relaxation.problem
        self.n_res = len(problem.resources)
        self.lam = np.zeros((self.n_res + 1, problem.periods), dtype=np.float64)
        self.mu = [[0.0] * len(cp) for cp in relaxation.checkpoints]
        self.best = -math.inf
        self.theta, self.stall = THETA, 0

    def restart(self, theta: float = THETA) -> None:
        """From the best multipliers found, with step factor ``theta``."""
        if self.best > -math.inf:
            self.lam[: self.n_res] = self.rel.multipliers
            self.mu = [row[:] for row in self.rel.material_multipliers]
        self.theta, self.stall = theta, 0

    def _target(self) -> float:
        """What the Polyak steps aim at: the incumbent, or ``margin`` above the best."""
        return max(self.incumbent, self.best + self.margin * abs(self.best))

    def _gap(self) -> float:
        """From the best bound so far to the target."""
        return self._target() - self.best

    def result(self) -> int:
        """The best bound, guarded against float round-off (the objective is integral)."""
        return math.floor(self.best - 1e-9 * abs(self.best))

    def run(
        self,
        capped: bool,
        iterations: int,
        deadline: float,
        keep_back: float = 0.0,
        smallest: float = 1e-4,
    ) -> None:
        """At most ``iterations`` iterations with this subproblem, until ``deadline``
        less ``keep_back`` times the longest iteration so far, or until the step factor
        is below ``smallest``."""
        rel, n_res = self.rel, self.n_res
        longest = 0.0
        for _ in range(iterations):
            began = time.perf_counter()
            rel.iterations += 1
            bound, priced, where = rel.value(self.lam, self.mu, capped, self.penalty, self.constant)
            del priced
            serve, rows_e, ts_e, units_e, orders_e = where
            if self.best == -math.inf or bound > self.best + 1e-9 * abs(self.best):
                self.best, self.stall = bound, 0
                rel.multipliers = self.lam[:n_res].copy()
                rel.material_multipliers = [row[:] for row in self.mu]
            else:
                self.stall += 1
                if self.stall >= STALL or bound < self.best - OVERSHOOT * self._gap():
                    self.theta, self.stall = self.theta / 2, 0
            now = time.perf_counter()
            longest = max(longest, now - began)
            if self.theta < smallest or now + keep_back * longest > deadline:
                return
            if not self._step(capped, bound, serve, rows_e, ts_e, units_e, orders_e):
                return

    def _step(
        self,
        capped: bool,
        bound: float,
        serve: FloatArray,
        rows_e: IntArray,
        ts_e: IntArray,
        units_e: FloatArray,
        orders_e: IntArray,
    ) -> bool:
        """One Polyak step along the subgradient: the load of each served order's units
        where the relaxation makes them, less the capacity. False: nothing to move."""
        rel, n_res, penalty = self.rel, self.n_res, self.penalty
        keep = serve[orders_e] < penalty[orders_e]
        rows_e, ts_e, units_e = rows_e[keep], ts_e[keep], units_e[keep]
        load = np.zeros_like(self.lam)
        for k in range(rel.width):
            seconds = rel._seconds(rows_e, ts_e, k, capped)
            np.add.at(load, (rel.res[rows_e, k], ts_e), units_e * seconds)
        g = load[:n_res] - rel.cap
        g_mu = rel._material_subgradient(rows_e, units_e, ts_e)
        norm = float((g * g).sum())
        norm_mu = sum(x * x for row in g_mu for x in row)
        if norm == 0.0 and norm_mu == 0.0:
            return False
        target = self._target()
        gap = self.theta * max(target - bound, 1e-6 * max(1.0, abs(target)))
        # A Polyak step per block: seconds and whole units differ by orders of
        # magnitude, and one joint norm would leave the material prices unmoved.
        # (Any multipliers >= 0 give a valid bound; the steps only decide how good.)
        blocks = (norm > 0.0) + (norm_mu > 0.0)
        if norm > 0.0:
            self.lam[:n_res] = np.maximum(0.0, self.lam[:n_res] + gap / (blocks * norm) * g)
        if norm_mu > 0.0:
            step = gap / (blocks * norm_mu)
            self.mu = [
                [max(0.0, x + step * d) for x, d in zip(xs, ds, strict=True)]
                for xs, ds in zip(self.mu, g_mu, strict=True)
            ]
        return True


def _first_per_group(mask: npt.NDArray[np.bool_], group: IntArray) -> IntArray:
    """The first index where ``mask`` holds in each group that has one (``group`` is
    sorted: groups are contiguous)."""
    hits = np.flatnonzero(mask)
    if not len(hits):
        return hits
    g = group[hits]
    keep = np.ones(len(hits), dtype=bool)
    keep[1:] = g[1:] != g[:-1]
    return hits[keep]


def _gathered(
    cands: list[Candidate],
    tuple_of: Callable[[Candidate], tuple[Any, ...]],
    rows_of: Callable[[Any], list[tuple[int, ...]]],
    pad: tuple[int, ...],
) -> npt.NDArray[np.int64]:
    """Per candidate, the integer rows of one of its tuples (its usage, its bill of
    materials), padded with ``pad`` to the widest: a (candidates, width, fields) array.
    The tuples are shared by the candidates compiled from one offer or order, so each
    distinct one is converted once and gathered (millions of candidates at platform
    size; a Python list per candidate took most of the set-up time)."""
    n = len(cands)
    ids = np.fromiter(map(id, map(tuple_of, cands)), np.int64, n)
    _, first_row, which = np.unique(ids, return_index=True, return_inverse=True)
    shapes = [rows_of(tuple_of(cands[i])) for i in first_row.tolist()]
    width = max((len(rows) for rows in shapes), default=0)
    table = np.array(
        [rows + [pad] * (width - len(rows)) for rows in shapes], dtype=np.int64
    ).reshape(len(shapes), width, len(pad))
    return table[which.reshape(-1)]


def lagrangian_bound(
    problem: AssignmentProblem,
    incumbent: float,
    fixed_unserved: Collection[int] = (),
    iterations: int = 400,
    time_limit_s: float = 5.0,
) -> float:
    """One-shot :class:`LagrangianBound`."""
    return LagrangianBound(problem).compute(incumbent, fixed_unserved, iterations, time_limit_s)


PRICING_CANDIDATES = 3
"""Candidates per order (its cheapest) in :func:`scarce_material_prices`."""


def scarce_material_prices(
    problem: AssignmentProblem,
    incumbent: float,
    fixed_unserved: Collection[int] = (),
    iterations: int = 10,
    time_limit_s: float = 1e9,
) -> MaterialPrices:
    """What a whole unit of each limited material is worth (:meth:`LagrangianBound.
    material_prices`) after a short uncapped ascent over each order's
    :data:`PRICING_CANDIDATES` cheapest candidates: no bound on the whole problem, but
    its material multipliers price what the orders compete for at a fraction of the
    whole relaxation's cost (at 50 000 orders 1.4 s for arrays and 10 iterations,
    against arrays the 60 s limit cannot afford). The greedy plans placed at these
    prices were as cheap as or cheaper than at the whole capped relaxation's (1 000 to
    10 000 orders)."""
    offered = {
        info.index: list(info.candidates[:PRICING_CANDIDATES])
        for info in problem.orders
        if info.candidates
    }
    relaxation = LagrangianBound(problem, offered, capped=False)
    relaxation.compute(incumbent, fixed_unserved, iterations, time_limit_s)
    return relaxation.material_prices()


def lagrangian_relaxation(problem: AssignmentProblem, time_limit_s: float) -> Relaxation:
    """A :class:`Relaxation` from the Lagrangian dual instead of the LP: a valid bound
    and reduced costs at a fraction of the LP's time on large problems (measured on a
    128 000-column GAP: 0.6 s against 3.8-5.4 s of GLOP, the same bound within 1).

    A plan making ``u`` units on candidate ``c`` costs at least ``L(lam) + u * (rc_c -
    m_o)``, with ``rc_c`` the candidate's cheapest priced unit and ``m_o`` its order's
    (the capacity terms are non-positive for every feasible plan): the reduced costs
    :meth:`Relaxation.exact_core` needs. No incumbent is known yet, so the Polyak
    target follows the best bound, 5 % above it."""
    start = time.perf_counter()
    lb = LagrangianBound(problem, capped=False)
    if not lb.active:
        return Relaxation(problem, float(math.floor(lb.unplaceable)), note="nothing to place")
    free = float(lb.constant_free_value())
    bound = float(lb.compute(free + 1.0, time_limit_s=time_limit_s, margin=0.05))
    reduced, support = lb.reduced_costs()
    return Relaxation(
        problem,
        bound,
        reduced,
        support,
        serves_mandatory=True,
        wall_time_s=time.perf_counter() - start,
        note=f"Lagrangian relaxation: {len(lb.keys)} candidates, bound {bound:.0f}",
    )
