"""Large-neighbourhood search: re-optimise a few factories' orders at a time with CP-SAT.

The whole model is too big for CP-SAT to improve on at scale (measured: 1 000
orders, 132k production variables, no improvement on the greedy in 30 s). A
neighbourhood frees the orders around a few related factories (those served there,
and those that could be served there and are unserved, late or placed at a dearer
factory), and solves them exactly against the capacity the other orders leave.
Only improvements are kept, so the plan stays feasible at every step.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matcher.domain.params import SolveParams, StopSignal
from solvers.assignment.base import Part, objective_of
from solvers.assignment.cpsat_model import Variables, build_model, configure, extract, hint
from solvers.assignment.fairness import fairness_cost, outside, tally
from solvers.assignment.greedy import Capacity, cost, place_order, placement_priority
from solvers.assignment.local_search import (
    WORK_PER_UNIT,
    GapLocalSearch,
    SearchStats,
    gap_shape,
)
from solvers.assignment.problem import AssignmentProblem

OFFERED_CANDIDATES = 8
"""Cheapest candidates offered to each order inside a neighbourhood (plus those it
uses now): keeps sub-models small when orders have dozens of eligible factories."""


STEP_LIMIT_S = 0.3
"""Time (deterministic with one worker) given to one neighbourhood's CP-SAT solve.
Measured on medium.json, 30 s: 0.25-0.5 s steps improve the plan 5-9x more than 2 s
steps (many cheap neighbourhoods beat a few well-proved ones)."""


EXCHANGE_MAX_ORDERS = 40
"""Most orders in a factory-exchange neighbourhood: larger ones stop being solved
to optimality in a few milliseconds (measured on Yagiura E, 40 x 400)."""

EXCHANGE_STEP_S = 0.1
"""Limit of one factory-exchange neighbourhood solve."""


SLICE_SHARE = 0.1
"""On GAP-shaped problems an LNS run's time goes in slices of this share of it, each to
the iterated local search (kicks settled by shifts and swaps,
:meth:`GapLocalSearch.iterate`) or to CP-SAT's neighbourhoods, whichever was faster
last (:meth:`Lns.run`). Measured at 10 s: the local search wins on Yagiura E with
40-60 agents (e40400 1.39 % -> 0.69 %), CP-SAT's neighbourhoods on E with 20 agents and
1 600 jobs, where a kick's swaps cost 100 times more."""


POLISH_SHARE = 0.5
"""Most work the descents after CP-SAT's neighbourhoods may take, as a share of
CP-SAT's deterministic time (measured in :data:`WORK_PER_UNIT` units)."""


PAIR_TRIES = 3
"""Draws for a neighbourhood with no order in common with the one in flight
(:meth:`Lns._steps_two`) before waiting for that one to end."""


@dataclass
class _Sub:
    """A neighbourhood ready to solve: its orders, the candidates offered them, the
    capacity the rest of the plan leaves, their cost now and the model."""

    orders: list[int]
    offered: dict[int, list[int]]
    residual: Capacity
    before: int
    model: cp_model.CpModel
    v: Variables


@dataclass
class LnsStats:
    iterations: int = 0
    improvements: int = 0
    optimal_subproblems: int = 0
    deterministic_time: float = 0.0  # CP-SAT's, plus the local search's work units
    local_work: float = 0.0  # the local search's share of it
    descent_work: float = 0.0  # of which the descents after CP-SAT's neighbourhoods
    # the shift/swap/ejection-chain search on GAP-shaped problems (None: not run)
    local_search: SearchStats | None = None
    local_search_skipped: str | None = None  # why it does not apply
    clashes: int = 0  # cheaper neighbourhoods dropped: their parts no longer fit the plan
    filled: int = 0  # unserved orders placed in the capacity left at the end (:meth:`fill`)
    filled_saving: int = 0  # what those placements took off the objective

    def local_search_note(self) -> str | None:
        """What the local search did, or why it did not run (None: never asked)."""
        if self.local_search is not None:
            return self.local_search.summary()
        if self.local_search_skipped is not None:
            return f"local search skipped: {self.local_search_skipped}"
        return None


class Lns:
    def __init__(
        self,
        problem: AssignmentProblem,
        parts: list[Part],
        params: SolveParams,
        stop: StopSignal | None = None,
    ) -> None:
        self.problem = problem
        self.params = params
        self.stop = stop  # checked between neighbourhoods (each at most STEP_LIMIT_S)
        self.rng = random.Random(params.seed)
        self.assigned: dict[int, list[Part]] = defaultdict(list)
        for p in parts:
            self.assigned[problem.candidates[p.candidate].order].append(p)
        self.cap = Capacity(problem)
        for p in parts:
            self.cap.take(problem.candidates[p.candidate], p.quantities)
        self.at_factory: dict[int, set[int]] = defaultdict(set)  # factory -> orders there
        for o, ps in self.assigned.items():
            for p in ps:
                self.at_factory[problem.candidates[p.candidate].factory].add(o)
        self.could: dict[int, list[int]] = defaultdict(list)  # factory -> orders eligible
        for c in problem.candidates:
            self.could[c.factory].append(c.order)
        self.size = 50  # target orders per neighbourhood, adapted as we go
        self.max_size = 400
        self.accept_equal = False  # move along plateaus (another plan of the same cost)
        self.step_limit_s = STEP_LIMIT_S
        self.movable = [i.index for i in problem.orders if i.candidates]
        # Set when a neighbourhood holding every movable order is solved to optimality:
        # then the whole plan is optimal.
        self.proven = not self.movable
        # Unserved or not at their cheapest on-time placement; kept up to date per step.
        self.unhappy = {o for o in self.movable if self._unhappy(o)}
        self.stats = LnsStats()
        self.objective = objective_of(problem, parts)
        self.local: GapLocalSearch | None = None  # built on first use, if the shape fits

    @property
    def parts(self) -> list[Part]:
        return [p for ps in self.assigned.values() for p in ps]

    def order_cost(self, order: int) -> int:
        """The order's share of the objective (stability included on re-plans)."""
        ps = self.assigned.get(order)
        stability = self.problem.stability_cost(order, {p.candidate: p.quantity for p in ps or ()})
        if not ps:
            return self.problem.unserved_cost(order) + stability
        return stability + sum(
            cost(self.problem, self.problem.candidates[p.candidate], p.quantities) for p in ps
        )

    def _unhappy(self, order: int) -> bool:
        """Unserved, or not at its cheapest on-time placement."""
        info = self.problem.orders[order]
        ps = self.assigned.get(order)
        if not ps:
            return True
        cheapest = self.problem.candidates[info.candidates[0]].base * info.order.quantity
        return self.order_cost(order) > cheapest

    def neighbourhood(self) -> list[int]:
        problem, rng = self.problem, self.rng
        seeds = self.movable
        unhappy = sorted(self.unhappy)
        stuck = [o for o in unhappy if problem.orders[o].order.mandatory and o not in self.assigned]
        draw = rng.random()
        if stuck and draw < 0.3:  # a mandatory order left out outweighs any cost
            seed = rng.choice(stuck)
        else:
            seed = rng.choice(unhappy if unhappy and draw < 0.8 else seeds)
        factories = [problem.candidates[k].factory for k in problem.orders[seed].candidates[:4]]
        chosen: set[int] = {seed}
        pool: list[int] = []
        for f in factories:
            pool.extend(sorted(self.at_factory[f]))
            pool.extend(o for o in self.could[f] if o in self.unhappy)
        rng.shuffle(pool)
        for o in pool:
            if len(chosen) >= self.size:
                break
            chosen.add(o)
        return sorted(chosen)

    def choose(self) -> tuple[list[int], dict[int, list[int]]]:
        """The orders of the next neighbourhood and the candidates offered to each."""
        problem = self.problem
        orders = self.neighbourhood()
        offered = {}
        for o in orders:
            current = {p.candidate for p in self.assigned.get(o, ())}
            cands = problem.orders[o].candidates
            if problem.anchor is not None:
                current |= set(problem.anchor.previous_of(problem, o))
            offered[o] = sorted(set(cands[:OFFERED_CANDIDATES]) | current)
        return orders, offered

    def step(self, time_limit_s: float) -> bool:
        """One neighbourhood solve; True if the plan improved."""
        sub = self._prepare()
        assert sub is not None  # no orders to avoid
        solver = self._solver(time_limit_s)
        return self._adopt_sub(sub, solver, solver.solve(sub.model))

    @property
    def pairs(self) -> bool:
        """Whether neighbourhoods are solved two at a time (:meth:`_steps_two`): with two
        workers or more (whose limits are wall-clock ones; a deterministic budget keeps
        one at a time) and an objective that is a sum over orders (no fairness terms,
        no re-plan)."""
        problem = self.problem
        return self.params.workers >= 2 and problem.fairness is None and problem.anchor is None

    def _solver(
        self, time_limit_s: float, workers: int | None = None, offset: int = 0
    ) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        configure(solver, self.params, time_limit_s)
        if workers is not None:
            solver.parameters.num_workers = workers
        solver.parameters.random_seed = self.params.seed + self.stats.iterations + offset
        return solver

    def _without(self, orders: list[int]) -> Capacity:
        """The capacity the plan leaves with ``orders`` taken out of it."""
        residual = self.cap.copy()
        for o in orders:
            for p in self.assigned.get(o, ()):
                residual.give_back(self.problem.candidates[p.candidate], p.quantities)
        return residual

    def _refit(self, orders: list[int], parts: list[Part]) -> Capacity | None:
        """The capacity the plan leaves now with ``orders`` made by ``parts`` instead,
        or None when some part no longer fits."""
        residual = self._without(orders)
        for p in parts:
            cand = self.problem.candidates[p.candidate]
            if not residual.fits(cand, p.quantities):
                return None
            residual.take(cand, p.quantities)
        return residual

    def _prepare(self, busy: set[int] | None = None) -> _Sub | None:
        """The next neighbourhood's model, against the capacity the plan leaves; with
        ``busy``, one with none of those orders (None when :data:`PAIR_TRIES` draws
        all had some)."""
        problem = self.problem
        orders, offered = self.choose()
        for _ in range(PAIR_TRIES - 1):
            if not busy or not busy.intersection(orders):
                break
            orders, offered = self.choose()
        if busy and busy.intersection(orders):
            return None
        residual = self._without(orders)
        before = sum(self.order_cost(o) for o in orders)
        fair = problem.fairness
        fixed = None
        if fair is not None:
            # Fairness is global: the sub-model holds it over its orders' work plus the
            # others' as constants, so its objective counts it for the whole plan.
            fixed = tally(fair, problem.candidates, outside(self.assigned, orders))
            before += fairness_cost(fair, problem.candidates, self.parts)
        # Mandatory orders served now stay served (only improvements are kept, and
        # leaving one out costs more than any plan): without their huge penalties in
        # the objective, CP-SAT proves small neighbourhoods many times faster.
        hard = all(o in self.assigned for o in orders if problem.orders[o].order.mandatory)
        model, v = build_model(
            problem,
            hard,
            orders,
            residual.free,
            residual.buyer,
            offered,
            residual.materials,
            fixed_fairness=fixed,
        )
        hint(model, problem, v, [p for o in orders for p in self.assigned.get(o, ())])
        return _Sub(orders, offered, residual, before, model, v)

    def _adopt_sub(
        self,
        sub: _Sub,
        solver: cp_model.CpSolver,
        code: cp_model.CpSolverStatus,
        stale: bool = False,
    ) -> bool:
        """Count the solve and keep its plan if it is cheaper (or, moving along
        plateaus, as cheap); True if kept. ``stale``: the plan changed since ``sub``
        was prepared (:meth:`_steps_two`): its orders are priced as they are now (a
        descent may have moved them too) and its parts must still fit."""
        problem, orders, before = self.problem, sub.orders, sub.before
        if stale:
            before = sum(self.order_cost(o) for o in orders)
        self.stats.iterations += 1
        self.stats.deterministic_time += solver.deterministic_time
        if code == cp_model.OPTIMAL:
            self.stats.optimal_subproblems += 1
            # Optimal over every order and every candidate: optimal for the problem.
            self.proven = not stale and (
                len(orders) == len(self.movable)
                and all(len(sub.offered[o]) == len(problem.orders[o].candidates) for o in orders)
            )
            self.size = min(self.max_size, int(self.size * 1.15) + 1)
        elif code != cp_model.FEASIBLE:
            self.size = max(10, int(self.size * 0.7))
            return False
        else:
            self.size = max(10, int(self.size * 0.9))
        if solver.objective_value >= before - 0.5 and not (
            self.accept_equal and solver.objective_value < before + 0.5
        ):
            return False
        new_parts = extract(solver, sub.v)
        if stale:
            refitted = self._refit(orders, new_parts)
            if refitted is None:
                self.stats.clashes += 1
                return False
            residual = refitted
        else:
            residual = sub.residual
            for p in new_parts:
                residual.take(problem.candidates[p.candidate], p.quantities)
        for o in orders:
            for p in self.assigned.pop(o, []):
                self.at_factory[problem.candidates[p.candidate].factory].discard(o)
        for p in new_parts:
            cand = problem.candidates[p.candidate]
            self.assigned[cand.order].append(p)
            self.at_factory[cand.factory].add(cand.order)
        self.cap = residual
        for o in orders:
            if self._unhappy(o):
                self.unhappy.add(o)
            else:
                self.unhappy.discard(o)
        after = round(solver.objective_value)
        if problem.fairness is not None:
            # CP-SAT may stop with the fairness terms' variables above their least
            # values (within its gap): the plan's own cost, not the solver's figure.
            after = sum(self.order_cost(o) for o in orders)
            after += fairness_cost(problem.fairness, problem.candidates, self.parts)
        self.objective += after - before
        self.stats.improvements += 1
        return True

    def polish(
        self, deadline: float, deterministic_budget: float | None = None, explore: float = 0.0
    ) -> bool:
        """Local search on the incumbent (:mod:`solvers.assignment.local_search`) when
        the problem is GAP-shaped; True if the plan improved. With ``explore``, the
        iterated search (kicks) for that long (seconds, or deterministic units with a
        budget), else one shift, swap and ejection-chain descent. Its work counts
        against ``deterministic_budget`` like CP-SAT's deterministic time (so one worker
        stays reproducible), else against the wall-clock ``deadline``; the stop signal
        ends it between rounds."""
        ls = self._local_search()
        if ls is None:
            return False
        stats = self.stats
        spent, tried = stats.deterministic_time, ls.stats.tried
        began = time.perf_counter()
        until = (spent if deterministic_budget is not None else began) + explore

        def go_on(work: float) -> bool:
            if self.stop is not None and self.stop.is_set():
                return False
            if time.perf_counter() >= deadline - 0.05:  # with a budget: the safety net
                return False
            return deterministic_budget is None or spent + work < deterministic_budget - 0.05

        def exploring(work: float) -> bool:
            if not go_on(work):
                return False
            if deterministic_budget is not None:
                return spent + work < until
            return time.perf_counter() < until

        # a new seed for each slice: the kicks of the last one would repeat
        seed = self.params.seed + ls.stats.kicks
        gained = ls.iterate(exploring, seed) if explore > 0 else ls.descend(go_on)
        work = (ls.stats.tried - tried) / WORK_PER_UNIT
        stats.deterministic_time = spent + work
        stats.local_work += work
        if not gained:
            return False
        self._adopt(ls)
        self.objective -= gained
        return True

    def _local_search(self) -> GapLocalSearch | None:
        """The local search, set to the incumbent; None (the reason in the stats) when
        the problem is not GAP-shaped, or the plan is proved optimal already."""
        stats = self.stats
        if stats.local_search_skipped is not None or self.proven:
            return None
        if self.local is None:
            reason = gap_shape(self.problem)
            if reason is not None:
                stats.local_search_skipped = reason
                return None
            self.local = GapLocalSearch(self.problem)
            stats.local_search = self.local.stats
        try:
            self.local.set_parts(self.parts)
        except ValueError as e:  # a plan outside the shape: cannot happen, but say so
            stats.local_search_skipped = str(e)
            return None
        return self.local

    def _adopt(self, ls: GapLocalSearch) -> None:
        """Take the local search's plan: parts, capacity, factories' orders, unhappy."""
        problem = self.problem
        for o in ls.jobs:
            new = ls.placement(o)
            held = self.assigned.get(o)
            if (held[0].candidate if held else None) == new:
                continue
            for p in self.assigned.pop(o, []):
                cand = problem.candidates[p.candidate]
                self.cap.give_back(cand, p.quantities)
                self.at_factory[cand.factory].discard(o)
            if new is not None:
                cand = problem.candidates[new]
                part = Part(new, {cand.first: problem.orders[o].order.quantity})
                self.cap.take(cand, part.quantities)
                self.assigned[o].append(part)
                self.at_factory[cand.factory].add(o)
            if self._unhappy(o):
                self.unhappy.add(o)
            else:
                self.unhappy.discard(o)

    def run(
        self,
        deadline: float,
        on_improve: Callable[[], None] | None = None,
        deterministic_budget: float | None = None,
    ) -> None:
        """Improve until the wall-clock ``deadline``; or, with ``deterministic_budget``,
        until CP-SAT (and the local search) have spent that much deterministic time
        (reproducible with one worker), ``deadline`` then being only a safety net.

        On GAP-shaped problems the time goes in slices of :data:`SLICE_SHARE` to the
        iterated local search or to CP-SAT's neighbourhoods (each followed by a
        descent), whichever lowered the objective faster in its last slice (the local
        search first; the other one on a tie)."""
        budget = deterministic_budget

        def clock() -> float:
            return self.stats.deterministic_time if budget is not None else time.perf_counter()

        total = (budget - self.stats.deterministic_time) if budget is not None else None
        length = SLICE_SHARE * (total if total is not None else deadline - time.perf_counter())
        local = self._local_search() is not None
        rates = {True: math.inf, False: math.inf}  # objective lowered per unit, by kind
        last = False
        while not self.proven and not self._over(deadline, budget):
            use = local and (
                rates[True] > rates[False] or (rates[True] == rates[False] and not last)
            )
            began, before = clock(), self.objective
            if use:
                if self.polish(deadline, budget, length) and on_improve is not None:
                    on_improve()
            else:
                self._steps(deadline, budget, began + length if local else math.inf, on_improve)
            rates[use] = (before - self.objective) / max(1e-9, clock() - began)
            last = use

    def fill(self, deadline: float | None = None) -> int:
        """Place the unserved orders that fit in the capacity the plan leaves and cost
        less there than their penalty, in the greedy's order (most saved per second
        of work first), each where the greedy would place it; until ``deadline`` (None:
        all). These are the orders the diagnosis calls ``SOLVER_LIMIT``: a
        neighbourhood holding one of them would place it too, but at platform size the
        search reaches few of the unserved orders (at 10 000 orders a 60 s plan left
        79 such orders, a 1 500 s reference run 183). Orders split by operation are
        left to the search, and so is every order when fairness terms make the
        objective more than a sum over orders. Returns how many were placed."""
        problem = self.problem
        if problem.fairness is not None:
            return 0
        waiting = [
            problem.orders[o]
            for o in self.movable
            if o not in self.assigned and problem.orders[o].stages is None
        ]
        waiting.sort(key=lambda info: placement_priority(problem, info))
        placed_count = 0
        for info in waiting:
            if deadline is not None and time.perf_counter() >= deadline:
                break
            o = info.index
            before = self.order_cost(o)
            placed = place_order(problem, self.cap, o)  # taken from cap if worth it
            if placed is None:
                continue
            for p in placed:
                cand = problem.candidates[p.candidate]
                self.assigned[o].append(p)
                self.at_factory[cand.factory].add(o)
            after = self.order_cost(o)
            if after >= before:  # a re-plan's stability cost can outweigh the penalty
                for p in self.assigned.pop(o):
                    cand = problem.candidates[p.candidate]
                    self.cap.give_back(cand, p.quantities)
                    self.at_factory[cand.factory].discard(o)
                continue
            self.objective += after - before
            self.stats.filled_saving += before - after
            placed_count += 1
            if not self._unhappy(o):
                self.unhappy.discard(o)
        self.stats.filled += placed_count
        return placed_count

    def _over(self, deadline: float, budget: float | None) -> bool:
        """Whether the time (or the deterministic budget) is up, or a stop was asked."""
        if time.perf_counter() >= deadline - 0.05 or (self.stop and self.stop.is_set()):
            return True
        return budget is not None and budget - self.stats.deterministic_time <= 0.05

    def _steps(
        self,
        deadline: float,
        budget: float | None,
        until: float,
        on_improve: Callable[[], None] | None,
    ) -> None:
        """CP-SAT neighbourhoods until ``until`` (on the run's clock), each plan they
        change descended at once while the descents cost less than CP-SAT."""
        if budget is None and self.pairs:
            self._steps_two(deadline, until, on_improve)
            return
        stats = self.stats
        while not self.proven and not self._over(deadline, budget):
            if budget is None:
                now, left = time.perf_counter(), deadline - time.perf_counter()
            else:
                now, left = stats.deterministic_time, budget - stats.deterministic_time
            if now >= until:
                return
            if self.step(min(self.step_limit_s, left)):
                self._after_improvement(deadline, budget, on_improve)

    def _steps_two(
        self, deadline: float, until: float, on_improve: Callable[[], None] | None
    ) -> None:
        """:meth:`_steps` on wall-clock limits with two neighbourhoods in flight, each
        solved by one CP-SAT worker in a thread of its own (CP-SAT releases the GIL
        while it searches), the next one built while the other solves. The two have no
        order in common. A neighbourhood is solved against the capacity the plan left
        when it was built; when another was adopted since, its parts are adopted only
        if they still fit (seconds, buyer caps, materials), else dropped
        (``LnsStats.clashes``). The objective is a sum over orders (:attr:`pairs`), so
        the gains add."""
        done: queue.Queue[tuple[int, cp_model.CpSolverStatus]] = queue.Queue()
        flying: dict[int, tuple[_Sub, cp_model.CpSolver, int]] = {}  # + plan version
        version, serial = 0, 0
        while True:
            while len(flying) < 2 and not self.proven and not self._over(deadline, None):
                now = time.perf_counter()
                if now >= until:
                    break
                sub = self._prepare({o for s, _, _ in flying.values() for o in s.orders})
                if sub is None:
                    break
                solver = self._solver(min(self.step_limit_s, deadline - now), 1, serial)
                flying[serial] = (sub, solver, version)
                threading.Thread(
                    target=_solve_into, args=(done, serial, solver, sub.model), daemon=True
                ).start()
                serial += 1
            if not flying:
                return
            k, code = done.get()
            sub, solver, built = flying.pop(k)
            if self._adopt_sub(sub, solver, code, stale=built != version):
                version += 1
                self._after_improvement(deadline, None, on_improve)

    def _after_improvement(
        self, deadline: float, budget: float | None, on_improve: Callable[[], None] | None
    ) -> None:
        """A changed plan descended at once while the descents cost less than CP-SAT."""
        stats = self.stats
        if stats.descent_work <= POLISH_SHARE * (stats.deterministic_time - stats.local_work):
            before = stats.local_work
            self.polish(deadline, budget)
            stats.descent_work += stats.local_work - before
        if on_improve is not None:
            on_improve()


def _solve_into(
    done: queue.Queue[tuple[int, cp_model.CpSolverStatus]],
    key: int,
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
) -> None:
    """Solve in a thread of its own and say so on ``done``, whatever happens (an error
    reads as ``UNKNOWN``: nothing adopted, the search goes on)."""
    code = cp_model.UNKNOWN
    try:
        code = solver.solve(model)
    finally:
        done.put((key, code))


class FactoryExchange(Lns):
    """LNS whose neighbourhoods are a few factories and every order made there, each
    order offered those factories only (besides its own parts).

    Small, closed neighbourhoods: CP-SAT solves them to optimality in milliseconds,
    so hundreds of multi-order exchanges (shifts, swaps, ejection chains among the
    factories) are tried per second. This is where tight problems with many
    factories gain most (generalised assignment: the whole-core CP-SAT search stalls
    there, 1-2 % above the best known plans of Yagiura's D and E sets)."""

    def __init__(
        self,
        problem: AssignmentProblem,
        parts: list[Part],
        params: SolveParams,
        stop: StopSignal | None = None,
        ranked: dict[int, list[int]] | None = None,
        regret: dict[int, float] | None = None,
    ) -> None:
        super().__init__(problem, parts, params, stop)
        # Per order, the candidates worth moving it to, best first (default: cheapest).
        self.ranked = ranked or {i.index: i.candidates for i in problem.orders}
        # Per candidate, how much dearer than its order's best it is (LP reduced cost)
        self.regret = regret or {}
        self.accept_equal = True
        self.size = 20
        self.max_size = EXCHANGE_MAX_ORDERS
        self.step_limit_s = EXCHANGE_STEP_S

    def choose(self) -> tuple[list[int], dict[int, list[int]]]:
        problem, rng = self.problem, self.rng
        busy = sorted(f for f, os in self.at_factory.items() if os)
        stuck = sorted(o for o in self.unhappy if o not in self.assigned)
        if not busy and not stuck:
            return [], {}
        draw = rng.random()
        misplaced = [
            (p.candidate, o)
            for o, ps in self.assigned.items()
            for p in ps
            if self.regret.get(p.candidate, 0.0) > 1e-6
        ]
        if stuck and (not busy or draw < 0.5):
            seed_order = rng.choice(stuck)
            ks = self.ranked.get(seed_order) or problem.orders[seed_order].candidates
            factories = [problem.candidates[rng.choice(ks[:OFFERED_CANDIDATES])].factory]
        elif misplaced and draw < 0.6:
            # An order the LP would place elsewhere: its factory and the LP's choice.
            k, o = rng.choice(sorted(misplaced))
            best = (self.ranked.get(o) or problem.orders[o].candidates)[0]
            factories = [problem.candidates[k].factory]
            if problem.candidates[best].factory != factories[0]:
                factories.append(problem.candidates[best].factory)
        else:
            factories = [rng.choice(busy)]
        chosen = set(factories)
        orders: set[int] = set()
        for _ in range(8):
            for f in factories:
                orders |= self.at_factory[f]
            if len(orders) >= self.size:
                break
            pool = sorted(orders) or stuck
            if not pool:
                break
            o = rng.choice(pool)
            ks = (self.ranked.get(o) or problem.orders[o].candidates)[:OFFERED_CANDIDATES]
            f = problem.candidates[rng.choice(ks)].factory
            if f not in chosen:
                chosen.add(f)
                factories.append(f)
        for o in stuck:  # unserved orders that the chosen factories could make
            if any(problem.candidates[k].factory in chosen for k in problem.orders[o].candidates):
                orders.add(o)
        offered: dict[int, list[int]] = {}
        for o in sorted(orders):
            current = {p.candidate for p in self.assigned.get(o, ())}
            if problem.anchor is not None:
                current |= set(problem.anchor.previous_of(problem, o))
            there = {
                k for k in problem.orders[o].candidates if problem.candidates[k].factory in chosen
            }
            offered[o] = sorted(there | current)
        return sorted(orders), offered
