"""Local search for assignment problems shaped like a generalised assignment problem.

Shape (:func:`gap_shape`): every order is made whole by one candidate, each candidate
produces in one period only and loads one capacity row (a resource in that period),
and nothing couples orders but those rows: no re-plan anchor, no fairness options, no
material supply, no buyer share caps, no orders split by operation. Then a plan is one
choice per order, a candidate or "unserved", and a placement costs exactly what the
CP-SAT model charges for it (``unit_cost(candidate, period) * quantity``; an order left
out costs its unserved cost) and loads its row by ``seconds_per_unit * quantity +
setup`` seconds, against the row's free seconds.

On that shape the search keeps integer arrays (cost and load of every order at every
row, the load of every row) and never builds a model. Moves (Yagiura, Ibaraki and
Glover's neighbourhoods for the GAP):

- shift: one order to another row (or out, when leaving it out is cheaper);
- swap: two orders at different rows exchange them;
- ejection chain: an order moves into a row too full for it, one order there moves on
  to make room, and so on up to :data:`CHAIN_DEPTH` orders, the last landing where it
  fits.

Candidate moves are ranked with the whole neighbourhood in numpy and applied one at a
time, each re-checked on the current loads and costs first: the plan stays feasible
at every step and every accepted move lowers the objective by exactly its delta.

:meth:`GapLocalSearch.iterate` goes beyond the first local optimum: a kick swaps a
random order with a partner whose swap costs little (a worsening move, mostly), bars
both from going back, and lets shifts and swaps around the two rows settle; the result
is kept when it is no dearer. Measured from CP-SAT's core plans (4 s): Yagiura e40400
2.66 % -> 0.67 % above the best known, e30900 3.41 % -> 0.88 %; a plain descent
stops at 1.72 % and 2.26 %.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solvers.assignment.base import Part
from solvers.assignment.problem import AssignmentProblem

CHAIN_DEPTH = 4
"""Most orders an ejection chain moves."""

MAX_CELLS = 8_000_000
"""Largest orders x rows matrix the search builds (int64: 64 MB per matrix)."""

SWAP_BLOCK = 256
"""Orders whose swaps with every other order are ranked in one numpy block."""

SWAP_ROW_ORDERS = 12
"""A swap round ranks its orders row by row when they hold at least this many orders a
row on average: the order coming into a row then costs one vector per row instead of
a matrix per block (the same ranking, about half the numpy work). Measured over the
same 3 work units of kicks (identical searches): Yagiura e401600 6.5 s -> 3.1 s,
e801600 4.4 s -> 2.2 s, e60900 1.5 s -> 1.2 s; at 10 orders a row (d40400, d20200)
by row was 10-15 % slower, hence the threshold."""

WORK_PER_UNIT = 60_000_000
"""Matrix entries evaluated per unit of work: about a second of numpy on the 2-core
machine of docs/bench.md (measured 70 million entries a second over whole searches),
so that the search's work is charged to CP-SAT's deterministic time budget in
comparable units (reproducible with one worker)."""

KICK_CHOICES = 4
"""The kick swaps an order with one of this many partners, the cheapest feasible swaps
first (measured on Yagiura E 30-40 agents: 2-8 give the same within noise)."""

ACCEPT = 0
"""A kicked plan is kept when it is at most this many hundred-thousandths dearer than
the plan before (0: no dearer; 50 let the search drift away, measured)."""

STALL_KICKS = 2_000
"""The iterated search ends after this many kicks (or four per order, if more) without
a new best plan: on Yagiura D it stalls within a few hundred kicks, where CP-SAT's
neighbourhoods do better with the time; on Yagiura E it still finds a better plan
every few hundred kicks after thousands."""

_BIG = 1 << 50  # cost of a placement that does not exist; above any plan's objective


def gap_shape(problem: AssignmentProblem) -> str | None:
    """Why the local search does not apply to ``problem`` (None: it does)."""
    if problem.anchor is not None:
        return "a re-plan (fixed work, stability)"
    if problem.fairness is not None:
        return "fairness options couple the factories' loads"
    if problem.by_operation:
        return "orders split by operation"
    movable = [i for i in problem.orders if i.candidates]
    if not movable:
        return "no order has a candidate"
    if any(i.max_parts != 1 for i in movable):
        return "splittable orders (several parts)"
    for c in problem.candidates:
        if c.first != c.last:
            return "candidates that may produce in several periods"
        if len(c.usage) != 1:
            return "candidates loading several resources (or none)"
        if c.materials:
            return "material supply couples the orders"
    buyers = {(c.factory, problem.orders[c.order].order.buyer) for c in problem.candidates}
    if buyers & problem.buyer_caps.keys():
        return "buyer share caps"
    rows = {(c.usage[0].resource, c.first) for c in problem.candidates}
    if len(movable) * (len(rows) + 1) > MAX_CELLS:
        return f"{len(movable)} orders x {len(rows)} capacity rows is too large"
    return None


@dataclass
class SearchStats:
    """What the search did, over all its descents."""

    descents: int = 0
    rounds: int = 0
    tried: int = 0  # moves evaluated (entries of the neighbourhood matrices)
    shifts: int = 0
    swaps: int = 0
    chains: int = 0
    kicks: int = 0
    kept: int = 0
    rejected: int = 0  # ranked moves that no longer held on the current plan
    gained: int = 0  # objective lowered by, in total
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.shifts + self.swaps + self.chains

    def summary(self) -> str:
        return (
            f"local search: {self.kicks} kicks ({self.kept} kept), {self.descents} "
            f"descent(s), {self.tried} moves evaluated, {self.accepted} accepted "
            f"({self.shifts} shifts, {self.swaps} swaps, {self.chains} ejection chains), "
            f"{self.gained} cheaper, {self.seconds:.2f}s"
        )


class GapLocalSearch:
    """Shift, swap and ejection-chain descent, and the iterated search on top of it,
    over a GAP-shaped problem (:func:`gap_shape` must hold). The matrices have an
    order per row and a capacity row per column; column ``out`` is "unserved": no
    load, the order's unserved cost."""

    def __init__(self, problem: AssignmentProblem) -> None:
        assert gap_shape(problem) is None
        self.problem = problem
        self.jobs = [i.index for i in problem.orders if i.candidates]
        self.position = {o: j for j, o in enumerate(self.jobs)}
        rows: dict[tuple[int, int], int] = {}
        for c in problem.candidates:
            rows.setdefault((c.usage[0].resource, c.first), len(rows))
        self.rows = rows
        n, m = len(self.jobs), len(rows)
        self.out = m
        self.cost = np.full((n, m + 1), _BIG, dtype=np.int64)
        self.weight = np.full((n, m + 1), _BIG, dtype=np.int64)
        self.candidate = np.full((n, m + 1), -1, dtype=np.int64)
        self.cap = np.full(m + 1, _BIG, dtype=np.int64)
        for (r, t), col in rows.items():
            self.cap[col] = problem.resources[r].free_seconds[t]
        for j, o in enumerate(self.jobs):
            info = problem.orders[o]
            qty = info.order.quantity
            for k in info.candidates:
                c = problem.candidates[k]
                u = c.usage[0]
                col = rows[(u.resource, c.first)]
                self.cost[j, col] = problem.unit_cost(c, c.first) * qty
                self.weight[j, col] = u.seconds_per_unit * qty + u.setup_seconds
                self.candidate[j, col] = k
            self.cost[j, m] = problem.unserved_cost(o)
            self.weight[j, m] = 0
        # orders without candidates: unserved whatever the plan
        self.constant = sum(
            problem.unserved_cost(i.index) for i in problem.orders if not i.candidates
        )
        self.assign = np.full(n, m, dtype=np.int64)
        self.load = np.zeros(m + 1, dtype=np.int64)
        self.stats = SearchStats()
        self._rows = np.arange(n)
        self._all = np.arange(m + 1)
        self._touched: np.ndarray | None = None  # rows a settling descent looks at
        self._settled: np.ndarray | None = None  # the last plan a descent ended at

    # --- the plan -------------------------------------------------------------------

    def set_parts(self, parts: list[Part]) -> None:
        """Start from ``parts`` (one whole part per served order, as the shape implies)."""
        problem = self.problem
        self.assign[:] = self.out
        for p in parts:
            cand = problem.candidates[p.candidate]
            qty = problem.orders[cand.order].order.quantity
            if p.quantities != {cand.first: qty}:
                raise ValueError(f"part {p} is not the whole order in its candidate's period")
            self.assign[self.position[cand.order]] = self.rows[(cand.usage[0].resource, cand.first)]
        self._recount()
        if np.any(self.load > self.cap):
            raise ValueError("the plan exceeds a capacity row")

    def _recount(self) -> None:
        self.load = np.zeros(self.out + 1, dtype=np.int64)
        np.add.at(self.load, self.assign, self.weight[self._rows, self.assign])
        self.load[self.out] = 0

    def parts(self) -> list[Part]:
        """The plan as parts, one per served order."""
        out: list[Part] = []
        for j, col in enumerate(self.assign.tolist()):
            if col == self.out:
                continue
            k = int(self.candidate[j, col])
            cand = self.problem.candidates[k]
            out.append(Part(k, {cand.first: self.problem.orders[cand.order].order.quantity}))
        return out

    def objective(self) -> int:
        """The plan's objective, as :func:`solvers.assignment.base.objective_of` has it."""
        return self.constant + int(self.cost[self._rows, self.assign].sum())

    def placement(self, order: int) -> int | None:
        """The candidate ``order`` is placed at (None: unserved)."""
        col = int(self.assign[self.position[order]])
        return None if col == self.out else int(self.candidate[self.position[order], col])

    # --- the search -----------------------------------------------------------------

    def descend(self, go_on: Callable[[float], bool], quiet: bool = False) -> int:
        """Apply improving moves until none is left or ``go_on(work)`` (called between
        rounds with the work units spent so far in this descent) says stop; returns
        how much cheaper the plan became. A plan this search has descended to the end
        already is not searched again (nothing would change: the moves are ranked
        the same way on the same plan)."""
        if self._settled is not None and np.array_equal(self._settled, self.assign):
            return 0
        began = time.perf_counter()
        tried0 = self.stats.tried
        gained = 0
        self.stats.descents += 1
        while go_on((self.stats.tried - tried0) / WORK_PER_UNIT):
            self.stats.rounds += 1
            step = self._shift_round()
            if not step:
                step = self._swap_round()
            if not step and go_on((self.stats.tried - tried0) / WORK_PER_UNIT):
                step = self._chain_round()
            if not step:
                self._settled = self.assign.copy()
                break
            gained += step
        if not quiet:
            self.stats.gained += gained
            self.stats.seconds += time.perf_counter() - began
        return gained

    def iterate(self, go_on: Callable[[float], bool], seed: int) -> int:
        """Iterated descent: force one order onto another row (:meth:`_kick`), let
        shifts and swaps around the rows it touched settle the plan, and keep the
        result unless it is dearer than the plan before it by more than
        :data:`ACCEPT` hundred-thousandths; the best plan met is kept and descended
        in full. Returns how much cheaper the plan became."""
        began = time.perf_counter()
        tried0 = self.stats.tried
        rng = np.random.default_rng(seed)
        start = self.objective()
        self.descend(go_on, quiet=True)
        current = best = self.objective()
        best_assign = self.assign.copy()
        last = self.stats.kicks
        stall = max(STALL_KICKS, 4 * len(self.jobs))
        while go_on((self.stats.tried - tried0) / WORK_PER_UNIT):
            if self.stats.kicks - last > stall:
                break
            saved_assign, saved_load = self.assign.copy(), self.load.copy()
            if not self._kick(rng, go_on, tried0):
                break
            now = self.objective()
            if now <= current + abs(current) * ACCEPT // 100_000:
                current = now
                self.stats.kept += 1
                if now < best:
                    best, best_assign = now, self.assign.copy()
                    last = self.stats.kicks
            else:
                self.assign, self.load = saved_assign, saved_load
        self.assign = best_assign
        self._recount()
        self.descend(go_on, quiet=True)
        gained = start - self.objective()
        self.stats.gained += gained
        self.stats.seconds += time.perf_counter() - began
        return gained

    def _kick(self, rng: np.random.Generator, go_on: Callable[[float], bool], tried0: int) -> bool:
        """Swap a random served order with one of the :data:`KICK_CHOICES` orders whose
        feasible swap with it costs least (a worsening move, usually), then settle
        around the two rows with both orders barred from going back. False when there
        is nothing to kick."""
        m = self.out
        served = np.nonzero(self.assign != m)[0]
        if len(served) < 2:
            return False
        self.stats.kicks += 1
        j = int(served[rng.integers(len(served))])
        a = int(self.assign[j])
        assign = self.assign
        slack = self.cap - self.load
        wj = self.weight[j, a]
        delta = (
            self.cost[j, assign] + self.cost[:, a] - self.cost[j, a] - self.cost[self._rows, assign]
        )
        fits = (self.weight[:, a] - wj <= slack[a]) & (
            self.weight[j, assign] - self.weight[self._rows, assign] <= slack[assign]
        )
        fits &= (assign != a) & (assign != m)
        self.stats.tried += 8 * len(self.jobs)
        partners = np.nonzero(fits)[0]
        if not len(partners):
            return True
        partners = partners[np.argsort(delta[partners], kind="stable")[:KICK_CHOICES]]
        k = int(partners[rng.integers(len(partners))])
        b = int(assign[k])
        self.load[a] += self.weight[k, a] - wj
        self.load[b] += self.weight[j, b] - self.weight[k, b]
        assign[j], assign[k] = b, a
        backs = (int(self.cost[j, a]), int(self.cost[k, b]))
        self.cost[j, a] = self.cost[k, b] = _BIG
        try:
            focus = np.zeros(m + 1, dtype=bool)
            focus[[a, b]] = True
            while go_on((self.stats.tried - tried0) / WORK_PER_UNIT):
                self._touched = focus
                if not (self._shift_round(focus) or self._swap_round(focus)):
                    break
        finally:
            self.cost[j, a], self.cost[k, b] = backs
            self._touched = None
        return True

    def _apply(self, moves: list[tuple[int, int]]) -> int | None:
        """Move each order ``j`` to column ``col`` if the result fits every row and is
        cheaper; returns the (negative) change, None when rejected."""
        jobs = [j for j, _ in moves]
        if len(set(jobs)) != len(jobs):
            return None
        delta = 0
        change: dict[int, int] = {}
        for j, col in moves:
            old = int(self.assign[j])
            if old == col:
                return None
            delta += int(self.cost[j, col]) - int(self.cost[j, old])
            change[old] = change.get(old, 0) - int(self.weight[j, old])
            change[col] = change.get(col, 0) + int(self.weight[j, col])
        if delta >= 0:
            return None
        for col, d in change.items():
            if col != self.out and int(self.load[col]) + d > int(self.cap[col]):
                return None
        for col, d in change.items():
            if col != self.out:
                self.load[col] += d
            if self._touched is not None:
                self._touched[col] = True
        for j, col in moves:
            self.assign[j] = col
        return delta

    def _shift_round(self, focus: np.ndarray | None = None) -> int:
        """Shifts; with ``focus`` (a mask of rows), only those out of or into them."""
        n = len(self.jobs)
        assign = self.assign
        cur = self.cost[self._rows, assign]
        cols = self._all if focus is None else np.nonzero(focus)[0]
        delta = self.cost[:, cols] - cur[:, None]
        fits = self.load[cols][None, :] + self.weight[:, cols] <= self.cap[cols][None, :]
        delta[~fits] = _BIG
        delta[assign[:, None] == cols[None, :]] = _BIG
        arg = delta.argmin(axis=1)
        best = cols[arg]
        gain = delta[self._rows, arg]
        self.stats.tried += n * len(cols)
        if focus is not None:
            inside = np.nonzero(focus[assign])[0]
            sub = self.cost[inside] - cur[inside][:, None]
            fits = self.load[None, :] + self.weight[inside] <= self.cap[None, :]
            sub[~fits] = _BIG
            sub[np.arange(len(inside)), assign[inside]] = _BIG
            arg = sub.argmin(axis=1)
            g = sub[np.arange(len(inside)), arg]
            better = g < gain[inside]
            gain[inside[better]] = g[better]
            best[inside[better]] = arg[better]
            self.stats.tried += len(inside) * (self.out + 1)
        gained = 0
        for j in np.argsort(gain, kind="stable").tolist():
            if gain[j] >= 0:
                break
            d = self._apply([(j, int(best[j]))])
            if d is None:
                self.stats.rejected += 1
                continue
            gained -= d
            self.stats.shifts += 1
        return gained

    def _swap_round(self, focus: np.ndarray | None = None) -> int:
        """Swaps; with ``focus`` (a mask of rows), only those of an order there."""
        n = len(self.jobs)
        assign = self.assign
        first = self._rows if focus is None else np.nonzero(focus[assign])[0]
        cur = self.cost[self._rows, assign]
        wcur = self.weight[self._rows, assign]
        slack = self.cap - self.load
        best_j = np.full(n, -1, dtype=np.int64)
        best_d = np.zeros(n, dtype=np.int64)
        best_d[:] = _BIG
        # j1 fits at j2's row once j2 leaves it: weight[j1, row of j2] <= limit[j2]
        limit = slack[assign] + wcur
        served = assign != self.out
        rows = np.unique(assign[first])
        if len(first) >= SWAP_ROW_ORDERS * len(rows):
            # by row: the terms of the order coming in are one vector per row
            for a in rows.tolist():
                there = first[assign[first] == a]
                if a == self.out:  # no swap; counted as the blocks count them
                    self.stats.tried += len(there) * n
                    continue
                into = self.cost[:, a] - cur
                other = served & (assign != a)
                for lo in range(0, len(there), SWAP_BLOCK):
                    block = there[lo : lo + SWAP_BLOCK]
                    delta = self.cost[block][:, assign] + (into[None, :] - cur[block][:, None])
                    fits = self.weight[None, :, a] <= (slack[a] + wcur[block])[:, None]
                    fits &= self.weight[block][:, assign] <= limit[None, :]
                    fits &= other[None, :]
                    self._keep_best(block, delta, fits, best_j, best_d)
            return self._apply_swaps(best_j, best_d)
        for lo in range(0, len(first), SWAP_BLOCK):
            block = first[lo : lo + SWAP_BLOCK]
            a1 = assign[block]
            # rows: the orders of the block (j1); columns: every order (j2)
            c12 = self.cost[block][:, assign]  # j1 at j2's row
            c21 = self.cost[:, a1].T  # j2 at j1's row
            w12 = self.weight[block][:, assign]
            w21 = self.weight[:, a1].T
            delta = c12 + c21 - cur[block][:, None] - cur[None, :]
            fits = (w21 - wcur[block][:, None] <= slack[a1][:, None]) & (w12 <= limit[None, :])
            fits &= a1[:, None] != assign[None, :]
            fits &= (a1[:, None] != self.out) & served[None, :]
            self._keep_best(block, delta, fits, best_j, best_d)
        return self._apply_swaps(best_j, best_d)

    def _keep_best(
        self,
        block: np.ndarray,
        delta: np.ndarray,
        fits: np.ndarray,
        best_j: np.ndarray,
        best_d: np.ndarray,
    ) -> None:
        """Each order of ``block``'s best partner among those that ``fits`` (columns:
        every order) and its change, into ``best_j`` and ``best_d``."""
        delta[~fits] = _BIG
        arg = delta.argmin(axis=1)
        best_j[block] = arg
        best_d[block] = delta[np.arange(len(block)), arg]
        self.stats.tried += len(block) * len(self.jobs)

    def _apply_swaps(self, best_j: np.ndarray, best_d: np.ndarray) -> int:
        """Apply each order's best swap (partner ``best_j``, change ``best_d``), the
        best first, each re-checked on the current plan."""
        assign = self.assign
        gained = 0
        for j in np.argsort(best_d, kind="stable").tolist():
            if best_d[j] >= 0:
                break
            k = int(best_j[j])
            d = self._apply([(j, int(assign[k])), (k, int(assign[j]))])
            if d is None:
                self.stats.rejected += 1
                continue
            gained -= d
            self.stats.swaps += 1
        return gained

    def _chain_round(self) -> int:
        """Ejection chains, ranked twice: ending where the last order fits now, and
        ending where it would fit once one order of that row leaves (the cycles back to
        the row the chain started from). Every chain is checked exactly when applied."""
        m = self.out
        members = [np.nonzero(self.assign == col)[0] for col in range(m)]
        exact = np.zeros(m + 1, dtype=np.int64)
        freed = np.zeros(m + 1, dtype=np.int64)
        for col, there in enumerate(members):
            if len(there):
                freed[col] = int(self.weight[there, col].max())
        gained = 0
        for room in (exact, freed):
            value, steps = self._rank_chains(members, room)
            for j in np.argsort(value, kind="stable").tolist():
                if value[j] >= 0:
                    break
                moves = _unwind(steps, j)
                if moves is None or len(moves) < 2:
                    continue  # shifts are the shift round's
                d = self._apply(moves)
                if d is None:
                    self.stats.rejected += 1
                    continue
                gained -= d
                self.stats.chains += 1
            if gained:
                break
        return gained

    def _rank_chains(
        self, members: list[np.ndarray], room: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """``value[j]``: the best change of moving order ``j`` out of its row by a chain
        of at most :data:`CHAIN_DEPTH` orders, the last one landing in a row with
        ``room`` more seconds than it has; and each level's steps (row, ejected order)."""
        n, m = len(self.jobs), self.out
        assign = self.assign
        cur = self.cost[self._rows, assign]
        fits = self.load[None, :] + self.weight <= (self.cap + room)[None, :]
        delta = self.cost - cur[:, None]
        delta[~fits] = _BIG
        delta[self._rows, assign] = _BIG
        first = delta.argmin(axis=1)
        value = delta[self._rows, first]  # level 1: a shift, improving or not
        # per level: the row each order moves to, and the order it ejects there (-1: none)
        steps: list[tuple[np.ndarray, np.ndarray]] = [(first, np.full(n, -1, dtype=np.int64))]
        self.stats.tried += n * (m + 1)
        for _ in range(CHAIN_DEPTH - 1):
            best_v = value.copy()
            best_col = steps[-1][0].copy()
            best_ej = np.full(n, -1, dtype=np.int64)
            keep = np.ones(n, dtype=bool)  # True: a shorter chain is the best
            for col in range(m):
                there = members[col]
                if not len(there):
                    continue
                ws = self.weight[there, col]
                order = np.argsort(ws, kind="stable")
                ws, there_sorted = ws[order], there[order]
                vs = value[there_sorted]
                # the ejected order's best value over the members heavy enough
                suf = np.minimum.accumulate(vs[::-1])[::-1]
                sarg = _suffix_argmin(vs)
                need = self.load[col] + self.weight[:, col] - self.cap[col]
                idx = np.searchsorted(ws, need, side="left")
                ok = (idx < len(ws)) & (need > 0) & (assign != col)
                ok &= self.cost[:, col] < _BIG
                self.stats.tried += n
                if not ok.any():
                    continue
                pick = np.minimum(idx, len(ws) - 1)
                cand = self.cost[:, col] - cur + suf[pick]
                better = ok & (cand < best_v)
                if better.any():
                    best_v[better] = cand[better]
                    best_col[better] = col
                    best_ej[better] = there_sorted[sarg[pick[better]]]
                    keep[better] = False
            steps.append((np.where(keep, -2, best_col), best_ej))
            value = best_v
        return value, steps


def _suffix_argmin(values: np.ndarray) -> np.ndarray:
    """For each ``i``, the index of the smallest of ``values[i:]`` (the last on ties)."""
    rev = values[::-1]
    run = np.minimum.accumulate(rev)
    # positions where the running minimum is attained, carried forward
    hit = np.where(rev == run, np.arange(len(rev)), 0)
    pos = np.maximum.accumulate(hit)
    return (len(values) - 1 - pos)[::-1]


def _unwind(steps: list[tuple[np.ndarray, np.ndarray]], j: int) -> list[tuple[int, int]] | None:
    """The moves of order ``j``'s best chain at the deepest level of ``steps``."""
    moves: list[tuple[int, int]] = []
    level = len(steps) - 1
    job = j
    seen = set()
    while level >= 0:
        col, ejected = steps[level]
        c = int(col[job])
        if c == -2:  # a shorter chain was as good: look one level down
            level -= 1
            continue
        if job in seen:
            return None
        seen.add(job)
        moves.append((job, c))
        e = int(ejected[job])
        if e < 0:
            return moves
        job = e
        level -= 1
    return None
