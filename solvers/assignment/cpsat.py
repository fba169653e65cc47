"""CP-SAT back-end for the multi-period assignment model (docs/model.md).

The strategies (an exact or LP-guided core followed by the factory exchange, the
whole model, LNS) over the model of :mod:`solvers.assignment.cpsat_model`; with two
workers, HiGHS runs beside the core strategy on mid-sized GAP-shaped problems. The greedy
plan is the solution hint; with one worker the limit is deterministic.
"""

from __future__ import annotations

import math
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal, stop_hook
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    infeasible_at_once,
    mandatory_left_out,
    objective_of,
    placeable_left_out,
    stage_flows,
)
from solvers.assignment.bound import (
    LagrangianBound,
    lagrangian_relaxation,
    scarce_material_prices,
)
from solvers.assignment.cpsat_model import (
    Variables,
    build_model,
    configure,
    extract,
    extract_flows,
    hint,
)
from solvers.assignment.fairness import tally, terms
from solvers.assignment.greedy import capped_greedy_parts, cost, greedy_parts
from solvers.assignment.lns import FactoryExchange, Lns
from solvers.assignment.local_search import gap_shape
from solvers.assignment.mip import HighsBackend
from solvers.assignment.problem import AssignmentProblem
from solvers.assignment.relaxation import Relaxation, core_size, solve_relaxation
from solvers.cpsat_status import has_bound, has_solution, solve_status


class _Progress(cp_model.CpSolverSolutionCallback):
    """Forwards each incumbent to the caller, in plan terms (without the internal
    penalty of unserved mandatory orders); remembers when the first came."""

    def __init__(
        self,
        start: float,
        callback: ProgressCallback | None,
        problem: AssignmentProblem,
        v: Variables,
        bound: float | None = None,
        rest: _Rest | None = None,
    ) -> None:
        super().__init__()
        self.start = start
        # None: CP-SAT's own bound holds for the whole problem. A heuristic core's does
        # not; the bound given here (the LP's) is reported instead.
        self.fixed_bound = bound
        # A model of one independent group: the other groups' objective and bound.
        self.rest = rest or _Rest(0.0, 0, 0.0)
        self.callback = callback
        self.first: float | None = None
        self.lock = threading.Lock()
        self.penalty = problem.mandatory_penalty
        self.hopeless = sum(1 for i in problem.orders if i.order.mandatory and not i.candidates)
        self.mandatory = [s for o, s in v.served.items() if problem.orders[o].order.mandatory]

    def on_solution_callback(self) -> None:
        elapsed = time.perf_counter() - self.start
        with self.lock:
            if self.first is None:
                self.first = elapsed
        if self.callback is not None:
            rest = self.rest
            left_out = self.hopeless + sum(1 for s in self.mandatory if not self.boolean_value(s))
            offset = (left_out + rest.left_out) * self.penalty
            own = self.best_objective_bound if self.fixed_bound is None else self.fixed_bound
            bound = None if rest.bound is None else own + rest.bound - offset
            self.callback(
                Progress(
                    "assignment",
                    "cpsat",
                    elapsed,
                    round(self.objective_value) + rest.objective - offset,
                    bound if bound is not None and bound >= 0 else None,
                )
            )


@dataclass(frozen=True)
class _Rest:
    """What the rest of the problem adds to one independent group's model: objective
    (the other groups' plans and the orders without candidates), mandatory orders with
    candidates it leaves out, and bound (None: some other group has none yet)."""

    objective: float
    left_out: int
    bound: float | None


@dataclass
class _Incumbent:
    parts: list[Part]
    objective: float | None
    feasible: bool


@dataclass
class _Outcome:
    status: SolveStatus
    seconds: float
    parts: list[Part] = field(default_factory=list)
    objective: float | None = None
    bound: float | None = None
    first: float | None = None  # since the solve started
    deterministic_s: float = 0.0  # CP-SAT's deterministic time spent
    groups: int = 1  # independent groups solved apart


CORE_PER_ORDER = 4
"""Candidates per order (smallest LP reduced cost first) in a heuristic core."""

EXACT_CORE_SMALL = 3_000
"""An exact core up to this size (or no larger than the heuristic one) is preferred:
CP-SAT may then prove optimality for the whole problem."""

LP_MAX_COLUMNS = 50_000
"""Above this many production variables the core is ranked by the Lagrangian dual
instead of the LP (measured on 128 000-column GAPs: GLOP 1.1-5.4 s, the Lagrangian
0.6 s for the same bound within 1 unit; the LP's time is the core's)."""

BOUND_S_PER_ELEMENT = 100e-9
"""What the Lagrangian bound costs per (candidate, period) pair: its arrays and a first
ascent step (measured 60-130 ns at 10 000 and 50 000 orders on this project's 2-core
machine). With wall-clock limits, the bound is skipped when this estimate exceeds the
time left: at 50 000 orders (155 million pairs) a 60 s solve otherwise ends 20 s late."""
LAGRANGIAN_SHARE = 0.1
"""Most of the time limit the Lagrangian dual may take."""

BOUND_SHARE = 0.1
BOUND_MAX_S = 5.0
"""The LNS's Lagrangian bound, after the search: at most this share of the time limit
and these seconds (the search stops that much before the limit)."""

PRICING_ITERATIONS = 10
PRICING_SHARE = 0.05
PRICING_S = 3.0
"""The ascent that prices the scarce materials for a second greedy plan
(:func:`_priced_warm_start`): this many iterations, and with wall-clock limits at most
``PRICING_SHARE`` of the time limit and ``PRICING_S`` seconds. Measured: 50 iterations
instead of 10 gave greedy plans 1-2 points less cheap at 1 000 and 5 000 orders, the
same at 10 000."""

EXCHANGE_SHARE = 0.5
"""Share of the time after the relaxation that CP-SAT on the core leaves to the
factory exchange (:class:`solvers.assignment.lns.FactoryExchange`) when it does not
prove the core optimal first. Measured on GAP (10 s, 2 workers): gapd 0.69 % -> 0.52 %,
Yagiura E 30-60 agents 1.5-2.7 % -> 1.1-1.6 %, against CP-SAT alone."""

SEARCHED_EXCHANGE_SHARE = 0.8
""":data:`EXCHANGE_SHARE` instead, after a heuristic core (not exact: CP-SAT's bound on
it proves nothing) of a problem the GAP local search applies to
(:func:`solvers.assignment.local_search.gap_shape`) with at most
:data:`SEARCHED_ROW_ORDERS` orders a capacity row: the exchange's local search lowers
the plan faster than CP-SAT on the core once it has a first plan. Measured (10 s, 2
workers, one run each, after the local search ranked swaps row by row) on the 11
Yagiura D and E rows with a heuristic core and 10-40 jobs an agent: 5.57 -> 5.05
points of gap in all, e401600 0.80 -> 0.61 %, e30900 0.53 -> 0.42 %, e801600 0.76 ->
0.69 %; dearer by more than 0.01 point on one row only (d60900 0.40 -> 0.43 %)."""

SEARCHED_ROW_ORDERS = 60
"""Most orders a capacity row holds on average for :data:`SEARCHED_EXCHANGE_SHARE`. A
kick of the local search ranks the swaps of every order of two rows with every order,
so its cost grows with the orders a row holds, while CP-SAT on the core still
improves quickly there: Yagiura e201600 (80 jobs an agent) 0.09 % with half of the time
on the core, 0.75-0.83 % with a fifth (two runs); 40 jobs an agent (e401600) gain."""

HANDBACK_SHARE = 0.5
"""Share of the exchange's time it gets first after an exact core that CP-SAT did not
prove (:func:`_exact_again`); if it finds no cheaper plan in it, CP-SAT gets the rest
on the exact core for the incumbent (smaller than the first: the incumbent is
cheaper), hinted with it. Measured (10 s, 2 workers): on gapb and gapc the exchange
found nothing cheaper in 4.4 s (b10200, c10200, c20200: "0 cheaper"), while CP-SAT
was still finding plans and raising its bound (b10200 with all the time to CP-SAT:
2827, the optimum, against 2828-2831); on gapd and Yagiura D it finds cheaper plans
in its first half (d10100: 15-32 cheaper) and keeps all of its time."""


CORE_MAX_VARIABLES = 30_000
"""Largest core handed to CP-SAT as one model (production variables)."""


def estimated_core_size(problem: AssignmentProblem) -> int:
    """Production variables of a heuristic core, before the LP says which ones."""
    total = 0
    for info in problem.orders:
        spans = sorted(
            (problem.candidates[k].last - problem.candidates[k].first + 1 for k in info.candidates),
            reverse=True,
        )
        total += sum(spans[:CORE_PER_ORDER])
    return total


PROVE_MAX_VARIABLES = 400
"""Up to this many production variables, a model whose bound is global (the whole
problem, an exact core or one of its independent groups) searches for the proof too
(:func:`_prove`). demo.json's groups (21-226 variables): proved in about 1.7 s in all
over its three feedback rounds, instead of 1.4 % of gap left after 30 s. The GAP benchmark's exact
cores (500 variables and up) are proved in 10 s neither way, and there the worker
searches for plans instead (orlib-gapd and yagiura-d at 10 s: mean gap 0.46-0.49 %
without it, 0.50 % with it); above this size its full-problem worker runs with the
capacity rows' cuts instead (:func:`_cut`)."""

MAX_GROUPS = 16
"""Most CP-SAT models the independent groups of a restricted solve are split into
(:func:`independent_groups`): beyond, the smallest groups share one model, so that
thousands of one-order groups do not cost a solver start each."""

MIP_BESIDE_MAX_VARIABLES = 5_000
"""Up to this many production variables (and above :data:`PROVE_MAX_VARIABLES`, where
CP-SAT proves alone), with two workers or more, the core strategy on a GAP-shaped
problem lends one of them to HiGHS: the ``mip-highs`` back-end on the whole model, one
thread, beside CP-SAT and the factory exchange (:class:`_MipBeside`); whichever proves
optimality first stops the other, and the cheaper plan is kept. On GAP models of this
size (knapsack rows, an exactly-one row per order) HiGHS's branch and cut proves what
CP-SAT does not: OR-Library c10200 and c20200 (2 000 and 4 000 variables), one HiGHS
thread alone: optimal in 4-9 s in 11 of 12 runs (3 seeds, two model forms); CP-SAT
with two workers: in none of 10 runs (5 search settings) in 8.8 s. The exchange runs
on one thread, so HiGHS also takes the core it left idle."""

FULL_MODEL_MAX_VARIABLES = 20_000
"""Above this many production variables the monolithic model stops paying off
(measured: no improvement on the greedy in 30 s at 126k), and the back-end
switches to LNS plus a Lagrangian bound."""


class CpSatBackend:
    """Greedy warm start, then CP-SAT: the whole model when it is small enough to
    prove optimality, large-neighbourhood search with a Lagrangian bound otherwise."""

    name = "cpsat"
    prices_purchasing = False

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        fair = problem.fairness
        if fair is not None and fair.hard_minimum and params.strategy == "lns":
            return (
                "fairness option min_work_hard needs the whole model or the core (strategy "
                "'auto', 'full' or 'core'): LNS improves a plan that already meets every "
                "hard minimum, and has none to start from"
            )
        if problem.by_operation and params.strategy in ("core", "lns"):
            return (
                f"orders split by operation are modelled by the whole model only; strategy "
                f"'{params.strategy}' does not know them (use 'auto' or 'full')"
            )
        if (
            params.hard_mandatory
            and params.strategy != "full"
            and problem.size > FULL_MODEL_MAX_VARIABLES
        ):
            return (
                f"hard mandatory orders need the whole model, and this one has {problem.size} "
                f"production variables (auto limit {FULL_MODEL_MAX_VARIABLES}); pass strategy "
                "'full' to force it, or drop hard_mandatory"
            )
        return None

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        start = time.perf_counter()
        if (doomed := infeasible_at_once(problem, params, self.name, start)) is not None:
            return doomed
        strategy = params.strategy
        if problem.by_operation:
            strategy = "full"  # the LP core and LNS do not model orders split by operation
        if strategy == "auto":
            if estimated_core_size(problem) <= CORE_MAX_VARIABLES:
                strategy = "core"
            elif (
                problem.size <= FULL_MODEL_MAX_VARIABLES
                or params.hard_mandatory
                or (problem.fairness is not None and problem.fairness.hard_minimum)
            ):
                strategy = "full"
            else:
                strategy = "lns"
        if strategy == "core":
            result = self._core_beside_mip(problem, params, progress, start, stop)
            if result is not None:
                return _noted_stop(result, stop)
            strategy = "full" if problem.size <= FULL_MODEL_MAX_VARIABLES else "lns"
        warm, warm_objective = _warm_start(problem, params, progress, start)
        if strategy == "full" or params.hard_mandatory or warm_objective is None:
            full = self._solve_full(problem, params, progress, start, warm, warm_objective, stop)
            return _noted_stop(full, stop)
        assert warm_objective is not None
        lns = self._solve_lns(problem, params, progress, start, warm, warm_objective, stop)
        return _noted_stop(lns, stop)

    def _core_beside_mip(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        stop: StopSignal | None,
    ) -> AssignmentResult | None:
        """:meth:`_solve_core`, with HiGHS on the whole model in a thread beside it
        when :func:`_lends_a_worker` says so (CP-SAT then runs with one worker less
        while HiGHS runs): the cheaper plan and the higher bound of the two."""
        if not _lends_a_worker(problem, params):
            return self._solve_core(problem, params, progress, start, stop)
        beside = _MipBeside(problem, params, start)
        token = _BESIDE.set(beside)
        try:
            with stop_hook(stop, beside.halt):
                beside.start()
                result = self._solve_core(problem, params, progress, start, beside.proved)
        finally:
            _BESIDE.reset(token)
            beside.finish()
        return None if result is None else beside.merge(result)

    def _solve_core(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        stop: StopSignal | None,
    ) -> AssignmentResult | None:
        """LP relaxation, then CP-SAT on the candidates its reduced costs favour.

        With an incumbent, every candidate that could still improve on it is kept
        (exact pruning), so CP-SAT's proof on that core is a proof for the whole
        problem; that exact core is used when it is small. Otherwise CP-SAT gets a
        heuristic core (a few candidates per order by reduced cost). A core that
        CP-SAT does not prove optimal in half of the time left hands the rest to the
        factory exchange; a second phase (a wider or an exact core) only runs when the
        first ends early, its core solved to optimality. Large problems are ranked by
        the Lagrangian dual instead of the LP (:func:`_relaxation`).
        """

        limit = params.time_limit_s
        relax, notes = _relaxation(problem, params, stop)
        notes.append(f"relaxation solved in {time.perf_counter() - start:.2f}s")
        if relax.bound is None:
            return None  # the caller falls back to the whole model or LNS
        offered = relax.core(CORE_PER_ORDER, set())
        warm, warm_objective = _warm_start(problem, params, progress, start, offered)
        first_feasible = time.perf_counter() - start if warm_objective is not None else None
        complete = warm_objective is not None and not mandatory_left_out(problem, warm)
        best = _Incumbent(warm, warm_objective, feasible=complete)
        bound: float | None = relax.bound
        proven = False
        phases = 0
        tried_hard = False
        is_exact = False
        spent = 0.0  # one worker: CP-SAT's deterministic time, so that phases repeat
        while not proven and phases < 2:
            used = spent if params.workers == 1 else time.perf_counter() - start
            left = limit - used
            if left <= 0.05 or (stop is not None and stop.is_set()):
                break
            # (An incumbent that leaves mandatory orders out carries their big penalty,
            # so it prunes little: that exact core is only used on small problems.)
            exact = relax.exact_core(best.objective) if best.objective is not None else None
            per_order = CORE_PER_ORDER * (phases + 1)
            keep = {p.candidate for p in best.parts}
            if problem.anchor is not None:  # moving away from them has a price
                keep |= problem.anchor.previous.keys() | problem.anchor.fixed.keys()
            offered = relax.core(per_order, keep)
            is_exact = False
            if exact is not None and core_size(problem, exact) <= max(
                EXACT_CORE_SMALL, core_size(problem, offered)
            ):
                offered, is_exact = exact, True
            # Exact when the incumbent serves every mandatory order (the penalty dwarfs
            # any cost); otherwise a first try when the LP serves them all, dropped if
            # CP-SAT finds nothing.
            hard = (
                params.hard_mandatory
                or best.feasible
                or (relax.serves_mandatory and not tried_hard)
            )
            tried_hard = tried_hard or hard
            # The core shares the time with the factory exchange that follows, unless
            # CP-SAT proves it first (the exchange starts from a plan serving every
            # mandatory order that can be: one found with them hard); more of it after
            # a heuristic core where the GAP local search applies.
            share = 1.0 - _exchange_share(problem, is_exact) if hard else 1.0
            outcome = self._solve_restricted(
                problem,
                params,
                progress,
                start,
                offered,
                hard,
                best,
                left * share,
                stop,
                None if is_exact else relax.bound,
            )
            phases += 1
            spent += outcome.deterministic_s
            notes.append(
                f"phase {phases}: {'exact' if is_exact else 'heuristic'} core of "
                f"{core_size(problem, offered)} of {problem.size} production variables"
                f"{', mandatory orders hard' if hard and not params.hard_mandatory else ''}: "
                f"CP-SAT {outcome.status.value} in {outcome.seconds:.2f}s"
                + (f" ({outcome.groups} independent groups)" if outcome.groups > 1 else "")
            )
            if first_feasible is None and outcome.first is not None:
                first_feasible = outcome.first
            if outcome.objective is not None and (
                best.objective is None or outcome.objective < best.objective
            ):
                left_out = mandatory_left_out(problem, outcome.parts)
                best = _Incumbent(outcome.parts, outcome.objective, not left_out)
            if is_exact and outcome.bound is not None:
                bound = outcome.bound if bound is None else max(bound, outcome.bound)
            if is_exact and outcome.status == SolveStatus.OPTIMAL:
                proven = True
            if share < 1.0 and outcome.status == SolveStatus.FEASIBLE:
                break  # the core's time is up: the exchange takes over
        if not proven:
            best, bound, proven = self._improve(
                problem,
                params,
                progress,
                relax,
                best,
                bound,
                offered,
                is_exact,
                start,
                spent,
                stop,
                notes,
            )
        objective = best.objective
        if objective is None:
            status = SolveStatus.TIME_LIMIT
        else:
            if bound is not None:
                bound = min(bound, objective)
            closed = proven or (bound is not None and bound >= objective)
            status = SolveStatus.OPTIMAL if closed else SolveStatus.FEASIBLE
        return AssignmentResult(
            solver=self.name,
            status=status,
            parts=best.parts,
            objective=objective,
            best_bound=bound,
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=first_feasible,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
        )

    def _improve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        relax: Relaxation,
        best: _Incumbent,
        bound: float | None,
        offered: dict[int, list[int]],
        is_exact: bool,
        start: float,
        spent: float,
        stop: StopSignal | None,
        notes: list[str],
    ) -> tuple[_Incumbent, float | None, bool]:
        """After a core CP-SAT did not prove (``offered``, exact or not): the factory
        exchange for the time left. After an exact core small enough for CP-SAT
        (:func:`_exact_again`), the exchange gets :data:`HANDBACK_SHARE` of it first,
        and hands the rest back to CP-SAT if it found nothing cheaper."""
        back = _exact_again(problem, relax, best, offered, is_exact)
        first = HANDBACK_SHARE if back is not None else None
        best, used, cheaper = self._exchange(
            problem, params, relax, best, start, spent, stop, notes, first
        )
        spent += used
        if back is None or cheaper:
            return best, bound, False
        return self._hand_back(
            problem, params, progress, relax, best, bound, back, start, spent, stop, notes
        )

    def _hand_back(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        relax: Relaxation,
        best: _Incumbent,
        bound: float | None,
        back: dict[int, list[int]],
        start: float,
        spent: float,
        stop: StopSignal | None,
        notes: list[str],
    ) -> tuple[_Incumbent, float | None, bool]:
        """CP-SAT for the time left on the exact core for the incumbent (``back``, or a
        smaller one if the incumbent is cheaper now), hinted with it: the incumbent,
        the bound and whether it is proved optimal, after."""
        limit = params.time_limit_s
        left = limit - (spent if params.workers == 1 else time.perf_counter() - start)
        if left <= 0.05 or (stop is not None and stop.is_set()):
            return best, bound, False
        again = _exact_again(problem, relax, best, back, True) or back
        outcome = self._solve_restricted(
            problem, params, progress, start, again, True, best, left, stop
        )
        notes.append(
            f"back to CP-SAT: exact core of {core_size(problem, again)} production "
            f"variables: {outcome.status.value} in {outcome.seconds:.2f}s"
        )
        if outcome.objective is not None and (
            best.objective is None or outcome.objective < best.objective
        ):
            left_out = mandatory_left_out(problem, outcome.parts)
            best = _Incumbent(outcome.parts, outcome.objective, not left_out)
        if outcome.bound is not None:
            bound = outcome.bound if bound is None else max(bound, outcome.bound)
        return best, bound, outcome.status == SolveStatus.OPTIMAL

    def _exchange(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        relax: Relaxation,
        best: _Incumbent,
        start: float,
        spent: float,
        stop: StopSignal | None,
        notes: list[str],
        first: float | None = None,
    ) -> tuple[_Incumbent, float, bool]:
        """Factory-exchange LNS from a complete ``best`` for the time left (one worker:
        its neighbourhoods are too small to share); the better of the two, the
        deterministic time the exchange spent, and whether it found a cheaper plan.
        With ``first``, it stops after that share of the time if it found nothing
        cheaper in it."""
        left_out = mandatory_left_out(problem, best.parts)
        if best.objective is None or any(problem.orders[o].candidates for o in left_out):
            return best, 0.0, False
        one = params.model_copy(update={"workers": 1})
        budget = params.time_limit_s - spent  # one worker: deterministic time
        now = time.perf_counter()
        seconds = start + params.time_limit_s - now
        if (budget if params.workers == 1 else seconds) <= 0.05:
            return best, 0.0, False
        lns = FactoryExchange(problem, best.parts, one, stop, relax.ranked(), relax.regret())
        before = lns.objective
        for share in ([first] if first is not None else []) + [1.0]:
            if params.workers == 1:
                safety = start + 3 * params.time_limit_s + 1
                lns.run(safety, deterministic_budget=share * budget)
            else:
                lns.run(now + share * seconds)
            if lns.objective >= before:
                break  # nothing cheaper in its share
        s = lns.stats
        notes.append(
            f"factory exchange: {s.iterations} neighbourhoods, {s.improvements} moves, "
            f"{before - lns.objective:.0f} cheaper"
        )
        if (searched := s.local_search_note()) is not None:
            notes.append(searched)
        used = s.deterministic_time
        if lns.objective >= best.objective:
            return best, used, False
        parts = lns.parts
        return (
            _Incumbent(parts, float(lns.objective), not mandatory_left_out(problem, parts)),
            used,
            True,
        )

    def _solve_restricted(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        offered: dict[int, list[int]],
        hard: bool,
        best: _Incumbent,
        seconds: float,
        stop: StopSignal | None,
        global_bound: float | None = None,  # None: the restricted model's bound is global
    ) -> _Outcome:
        """CP-SAT on the model restricted to ``offered``, hinted with ``best``: one
        model per group of orders that share no row (:func:`independent_groups`), each
        with its own proof, when there are several."""
        groups = independent_groups(problem, offered)
        if len(groups) > 1:
            solve = _Groups(problem, params, progress, start, offered, hard, stop, global_bound)
            return solve.run(groups, best, seconds)
        began = time.perf_counter()
        model, v = build_model(problem, hard, offered=offered)
        if best.parts and (best.feasible or not hard):
            hint(model, problem, v, best.parts)
        solver = cp_model.CpSolver()
        if params.workers > 1:  # wall-clock: building the model counts too
            seconds -= time.perf_counter() - began
        configure(solver, params, max(0.05, seconds))
        workers = solver.parameters.num_workers = _cpsat_workers(params)
        solver.parameters.relative_gap_limit = params.relative_gap
        if global_bound is None:
            _search_bound(solver, workers, core_size(problem, offered), workers < params.workers)
        callback = _Progress(start, progress, problem, v, global_bound)
        with stop_hook(stop, solver.stop_search):
            code = solver.solve(model, callback)
        status = solve_status(code)
        out = _Outcome(
            status=status,
            seconds=time.perf_counter() - began,
            first=callback.first,
            deterministic_s=solver.response_proto.deterministic_time,
        )
        if has_solution(code):
            out.parts = extract(solver, v)
            # The objective is integral (integer coefficients); CP-SAT reports it as a
            # double that may miss by 1e-11 when a constant offset is large.
            out.objective = float(round(solver.objective_value))
            if problem.fairness is not None:  # its variables may sit above their least values
                out.objective = float(objective_of(problem, out.parts))
        if has_bound(code):
            out.bound = float(solver.best_objective_bound)
        return out

    def _solve_full(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        warm: list[Part],
        warm_objective: float | None,
        stop: StopSignal | None,
    ) -> AssignmentResult:
        warm_time = time.perf_counter() - start
        model, v = build_model(problem, params.hard_mandatory)
        if warm:
            hint(model, problem, v, warm)
        build_time = time.perf_counter() - start
        notes = [
            f"whole model ({problem.size} production variables) built in "
            f"{build_time - warm_time:.2f}s after a {warm_time:.2f}s greedy warm start"
        ]
        solver = cp_model.CpSolver()
        remaining = max(0.05, params.time_limit_s - build_time)
        notes += configure(solver, params, remaining)
        solver.parameters.relative_gap_limit = params.relative_gap
        callback = _Progress(start, progress, problem, v)
        with stop_hook(stop, solver.stop_search):
            code = solver.solve(model, callback)
        status = solve_status(code)
        bound = solver.best_objective_bound if code != cp_model.MODEL_INVALID else None
        first: float | None
        flows: dict[tuple[int, int], int] = {}
        if problem.by_operation:
            notes.append(
                f"{len(problem.by_operation)} order(s) split by operation: whole model with "
                f"{len(v.flows)} transfer flows"
            )
        if has_solution(code):
            parts = extract(solver, v)
            flows = extract_flows(solver, v)
            found = float(round(solver.objective_value))
            if problem.fairness is not None:  # its variables may sit above their least values
                found = float(objective_of(problem, parts, flows))
            objective: float | None = found
            if warm_objective is not None and warm_objective < found:
                parts, objective = warm, warm_objective
                flows = stage_flows(problem, warm)
                notes.append("greedy warm start was better than CP-SAT's incumbent")
            first = warm_time if warm and warm_objective is not None else callback.first
        elif warm_objective is not None:
            parts, objective, first = warm, warm_objective, warm_time
            flows = stage_flows(problem, warm)
            status = SolveStatus.FEASIBLE
            notes.append("CP-SAT found no solution in time; the greedy plan is returned")
        else:
            parts, objective, first = [], None, None
        if code == cp_model.MODEL_INVALID:
            notes.append(f"CP-SAT rejected the model: {model.validate()}")
        if code == cp_model.INFEASIBLE:
            bound = None
        return AssignmentResult(
            solver=self.name,
            status=status,
            parts=parts,
            objective=objective,
            best_bound=bound,
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=first,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
            flows=flows,
        )

    def _solve_lns(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        warm: list[Part],
        warm_objective: float,
        stop: StopSignal | None,
    ) -> AssignmentResult:
        warm_time = time.perf_counter() - start
        # The bound's arrays first (their cost is in the budget), unless with wall-clock
        # limits they cannot be made in the time left: then no bound rather than a late plan.
        elements = problem.periods * sum(len(i.candidates) for i in problem.orders)
        bound_cost_s = BOUND_S_PER_ELEMENT * elements
        left_s = params.time_limit_s - warm_time
        afford = params.workers == 1 or bound_cost_s <= left_s
        relaxation = LagrangianBound(problem) if afford else None
        deterministic = params.workers == 1
        warm, warm_objective, priced_note = _priced_warm_start(
            problem, params, warm, warm_objective, stop
        )
        bound_share = min(BOUND_SHARE * params.time_limit_s, BOUND_MAX_S)
        lns = Lns(problem, warm, params, stop)

        def report() -> None:
            if progress is not None:
                elapsed = time.perf_counter() - start
                offset = problem.mandatory_penalty * len(mandatory_left_out(problem, lns.parts))
                progress(Progress("assignment", "cpsat-lns", elapsed, lns.objective - offset, None))

        # One worker: the search's budget is deterministic time, the limit less the
        # bound's share. The preparation's wall time (greedy plans, the bound's arrays)
        # is not taken off: it varies with the machine's load, and so did the plans
        # (10 000 orders: 26.5 to 26.9 units, two different plans from one seed).
        budget = max(0.0, params.time_limit_s - bound_share)
        if deterministic:
            lns.run(start + 3 * params.time_limit_s + 1, report, deterministic_budget=budget)
        else:
            lns.run(start + params.time_limit_s - bound_share, report)
        # Unserved orders that fit in what the plan leaves: placed before the bound (which
        # takes the orders still left out as given). With wall-clock limits, in what the
        # bound leaves of its share (all of it when there is no bound to make).
        fill_until = start + params.time_limit_s - (bound_share / 2 if relaxation else 0.0)
        if not (stop is not None and stop.is_set()):
            lns.fill(None if deterministic else fill_until)
        parts = lns.parts
        stuck = placeable_left_out(problem, parts)
        bound_start = time.perf_counter()
        stopped = stop is not None and stop.is_set()
        # The Lagrangian bound knows no fairness (docs/fairness.md): its soft terms are
        # nonnegative and its caps and minimums only restrict, so the bound of the
        # problem without them is still a lower bound of the problem with them.
        bound: float | None = (
            lns.objective
            if lns.proven
            else None
            # a re-plan (the arrays know no fixed work), or the arrays skipped for time
            if problem.anchor is not None or relaxation is None
            else relaxation.compute(
                lns.objective,
                fixed_unserved=stuck,
                iterations=300 if deterministic else 5000,
                time_limit_s=0.0 if stopped else 1e9 if deterministic else bound_share,
                working_sets=True,
            )
        )
        if bound is not None:
            bound = min(bound, lns.objective)
        s = lns.stats
        notes = [
            f"{problem.size} production variables: large-neighbourhood search with CP-SAT "
            f"sub-models after a {warm_time:.2f}s greedy warm start",
            f"LNS: {s.iterations} neighbourhoods"
            + (" (two at a time, one CP-SAT worker each)" if lns.pairs else "")
            + f", {s.improvements} improvements, {s.optimal_subproblems} solved to optimality"
            + (f", {s.clashes} cheaper ones dropped (no longer fitting)" if s.clashes else "")
            + (
                f"; then {s.filled} unserved order(s) placed in the capacity left, "
                f"{s.filled_saving} cheaper"
                if s.filled
                else ""
            )
            + "; "
            + _versus_greedy(problem, warm, warm_objective, parts, lns.objective),
            "bound: a neighbourhood holding every order was solved to optimality"
            if lns.proven
            else "no bound: the Lagrangian bound does not model a re-plan's fixed work"
            if bound is None and problem.anchor is not None
            else f"no bound: the Lagrangian bound's {elements} (candidate, period) pairs "
            f"(about {bound_cost_s:.0f}s) did not fit in the {max(0.0, left_s):.0f}s left after "
            "the greedy plan; a longer time limit gives one"
            if bound is None
            else "bound: Lagrangian relaxation of the capacity and material rows "
            f"({time.perf_counter() - bound_start:.2f}s)",
        ]
        if priced_note is not None:
            notes.insert(1, priced_note)
        if (searched := s.local_search_note()) is not None:
            notes.append(searched)
        if stuck and bound is not None:
            notes.append(
                f"the bound assumes the {len(stuck)} mandatory order(s) LNS could not place stay "
                "unserved"
            )
        if deterministic:
            notes.append(f"deterministic: {budget:.1f} units of CP-SAT deterministic time")
        return AssignmentResult(
            solver=self.name,
            status=SolveStatus.OPTIMAL
            if bound is not None and bound >= lns.objective
            else SolveStatus.FEASIBLE,
            parts=parts,
            objective=lns.objective,
            best_bound=bound,
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=warm_time,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
        )


class _Groups:
    """The independent groups of a restricted model, one CP-SAT model each, smallest
    first, each hinted with the incumbent's parts of its orders. The objective and the
    bound are the groups' sums plus the orders without candidates (the whole model's
    constant).

    A group gets its share of the time left (one worker: of the deterministic time),
    so a group proved early leaves its time to the next ones. Its proof stops at its
    share (by production variables) of the gap the whole may still keep:
    ``params.relative_gap`` of the plan's cost so far (the groups solved, without the
    penalty of left-out mandatory orders, and the orders without candidates) less the
    gaps the groups before it kept. Counting the groups not solved yet at 0 keeps the
    first groups from taking the gap the last ones need (the incumbent's cost, often a
    greedy plan's, may be far above the optimum's). When the groups' gaps still add up
    to more than the plan's cost at the end allows, the groups over their share are
    solved again from their plans, with the time left, the widest gap first.

    A group CP-SAT ends without a plan keeps the incumbent's (when that plan is one of
    the model's); without one, there is no plan. A stop request ends the groups left
    with the plans they have."""

    def __init__(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        offered: dict[int, list[int]],
        hard: bool,
        stop: StopSignal | None,
        global_bound: float | None,
    ) -> None:
        self.problem, self.params, self.progress, self.start = problem, params, progress, start
        self.offered, self.hard, self.stop, self.global_bound = offered, hard, stop, global_bound
        hopeless = [i.index for i in problem.orders if not i.candidates]
        self.constant = float(sum(problem.unserved_cost(o) for o in hopeless))
        mandatory = sum(1 for o in hopeless if problem.orders[o].order.mandatory)
        self.fixed = self.constant - problem.mandatory_penalty * mandatory  # plan terms
        self.spent = 0.0  # one worker: deterministic time
        self.began = time.perf_counter()

    def run(self, groups: list[list[int]], best: _Incumbent, seconds: float) -> _Outcome:
        problem = self.problem
        self.groups = groups
        n = len(groups)
        hinted = bool(best.parts) and (best.feasible or not self.hard)
        by_order: dict[int, list[Part]] = {}
        for part in best.parts if hinted else []:
            by_order.setdefault(problem.candidates[part.candidate].order, []).append(part)
        self.objective = [_group_cost(problem, g, by_order) for g in groups]  # plans kept
        self.bounds: list[float | None] = [None] * n
        self.left_out = [
            sum(1 for o in g if problem.orders[o].order.mandatory and o not in by_order)
            for g in groups
        ]
        self.parts = [[p for o in g for p in by_order.get(o, [])] for g in groups]
        self.sizes = [_size(problem, self.offered, g) for g in groups]
        self.valid = [hinted and not (self.hard and k) for k in self.left_out]
        self.statuses: list[SolveStatus | None] = [None] * n
        self.firsts: list[float | None] = [None] * n
        self.seconds = seconds
        feasible = self._first_pass(hinted)
        if feasible and hinted:
            feasible = self._tighten()
        return self._outcome(feasible, hinted)

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _left(self) -> float:
        used = self.spent if self.params.workers == 1 else time.perf_counter() - self.began
        return self.seconds - used

    def _gap(self, i: int) -> float:
        b = self.bounds[i]
        return max(0.0, self.objective[i] - b) if b is not None and self.valid[i] else 0.0

    def _allowed(self, solved: int | None = None) -> float:
        """The gap the whole may keep, at the plan's cost so far: of every group, or of
        the first ``solved`` ones only (the others' cost unknown yet, taken as 0)."""
        penalty = self.problem.mandatory_penalty
        costs = zip(self.objective[:solved], self.left_out[:solved], strict=True)
        total = self.fixed + sum(c - penalty * k for c, k in costs)
        return self.params.relative_gap * max(0.0, total)

    def _first_pass(self, hinted: bool) -> bool:
        n = len(self.groups)
        for i in range(n):
            if self._stopped():
                break
            allowance = None
            if hinted:  # its share of what the groups before it left
                slack = self._allowed(i) - sum(self._gap(j) for j in range(i))
                allowance = slack * self.sizes[i] / max(1, sum(self.sizes[i:]))
            if not self._solve(i, allowance, self._left() / (n - i)):
                return False
        return True

    def _tighten(self) -> bool:
        """Solve again the groups over their share of what the plan's cost allows."""
        over = [i for i in range(len(self.groups)) if self._gap(i) > 0]
        if sum(self._gap(i) for i in over) <= self._allowed():
            return True
        while over and self._left() > 0.05 and not self._stopped():
            i = max(over, key=self._gap)
            kept = sum(self._gap(j) for j in range(len(self.groups)) if j not in over)
            allowance = (self._allowed() - kept) * self.sizes[i]
            allowance /= max(1, sum(self.sizes[j] for j in over))
            over.remove(i)
            if self._gap(i) > allowance and not self._solve(
                i, allowance, self._left() / (len(over) + 1)
            ):
                return False
        return True

    def _solve(self, i: int, allowance: float | None, share: float) -> bool:
        """Group ``i`` within ``allowance`` (None: the relative gap) in ``share``
        seconds; False when it is infeasible, and so the whole."""
        problem, params = self.problem, self.params
        built = time.perf_counter()
        model, v = build_model(problem, self.hard, orders=self.groups[i], offered=self.offered)
        if self.valid[i]:
            hint(model, problem, v, self.parts[i])
        solver = cp_model.CpSolver()
        if params.workers > 1:
            share -= time.perf_counter() - built
        configure(solver, params, max(0.05, share))
        workers = solver.parameters.num_workers = _cpsat_workers(params)
        if allowance is None:
            solver.parameters.relative_gap_limit = params.relative_gap
        else:
            solver.parameters.relative_gap_limit = 0.0
            solver.parameters.absolute_gap_limit = max(1e-4, allowance)
        if self.global_bound is None:
            _search_bound(solver, workers, self.sizes[i], workers < params.workers)
        callback = _Progress(
            self.start, self.progress, problem, v, self.global_bound, self._rest(i)
        )
        with stop_hook(self.stop, solver.stop_search):
            code = solver.solve(model, callback)
        self.spent += solver.response_proto.deterministic_time
        self.statuses[i] = solve_status(code)
        if self.firsts[i] is None:
            self.firsts[i] = callback.first
        if code == cp_model.INFEASIBLE:
            return False
        found = float(round(solver.objective_value)) if has_solution(code) else None
        if found is not None and not (self.valid[i] and self.objective[i] <= found):
            self.parts[i] = extract(solver, v)
            self.objective[i] = found
            self.left_out[i] = sum(
                1
                for o, s in v.served.items()
                if problem.orders[o].order.mandatory and not solver.boolean_value(s)
            )
            self.valid[i] = True
        if has_bound(code):
            bound = float(solver.best_objective_bound)
            before = self.bounds[i]
            self.bounds[i] = bound if before is None else max(before, bound)
        return True

    def _rest(self, i: int) -> _Rest:
        """What the other groups add to group ``i``'s reports."""
        others = [j for j in range(len(self.groups)) if j != i]
        known = [b for j in others if (b := self.bounds[j]) is not None]
        bound: float | None = None
        if self.global_bound is not None:
            bound = 0.0  # a heuristic core reports the LP's bound, for the whole problem
        elif len(known) == len(others):
            bound = self.constant + sum(known)
        return _Rest(
            self.constant + sum(self.objective[j] for j in others),
            sum(self.left_out[j] for j in others),
            bound,
        )

    def _outcome(self, feasible: bool, hinted: bool) -> _Outcome:
        n = len(self.groups)
        out = _Outcome(
            status=SolveStatus.INFEASIBLE,
            seconds=time.perf_counter() - self.began,
            deterministic_s=self.spent,
            groups=n,
        )
        if not feasible:
            return out
        if all(b is not None for b in self.bounds):
            out.bound = self.constant + sum(b for b in self.bounds if b is not None)
        if not all(self.valid):  # some group has no plan
            out.status = next(
                (s for s in self.statuses if s is not None and s != SolveStatus.OPTIMAL),
                SolveStatus.TIME_LIMIT,
            )
            if out.status == SolveStatus.FEASIBLE:
                out.status = SolveStatus.TIME_LIMIT
            return out
        out.parts = [p for group in self.parts for p in group]
        out.objective = self.constant + sum(self.objective)
        known = [f for f in self.firsts if f is not None]
        out.first = max(known) if known else None
        if hinted:  # proved within the whole's gap
            closed = out.bound is not None and sum(map(self._gap, range(n))) <= self._allowed()
        else:
            closed = all(s == SolveStatus.OPTIMAL for s in self.statuses)
        out.status = SolveStatus.OPTIMAL if closed else SolveStatus.FEASIBLE
        return out


class _MipBeside:
    """The ``mip-highs`` back-end (HiGHS, one thread, the whole model) in a thread of
    its own for the time left, beside the core strategy (:data:`MIP_BESIDE_MAX_VARIABLES`).
    ``proved`` is the core strategy's stop signal: set when HiGHS proves its plan
    optimal, or when the caller's stop is; :meth:`halt` stops both."""

    def __init__(self, problem: AssignmentProblem, params: SolveParams, start: float) -> None:
        self.problem = problem
        left = params.time_limit_s - (time.perf_counter() - start)
        # No relative gap: its proof stops CP-SAT, so it must be a proof of the optimum
        # (the objective is integral: an absolute gap below one).
        update = {"time_limit_s": max(0.05, left), "relative_gap": 0.0}
        self.params = params.model_copy(update=update)
        self.proved = StopSignal()  # for CP-SAT and the exchange
        self.stop = StopSignal()  # for HiGHS
        self.result: AssignmentResult | None = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name="highs-beside", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def running(self) -> bool:
        return self.thread.is_alive()

    def halt(self) -> None:
        reason = "stopped on request"
        self.proved.set(reason)
        self.stop.set(reason)

    def _run(self) -> None:
        try:
            result = HighsBackend().solve(self.problem, self.params, None, self.stop)
        except Exception as exc:  # a back-end failure is a note, never the solve's end
            self.error = repr(exc)
            return
        self.result = result
        if result.status == SolveStatus.OPTIMAL:
            self.proved.set("HiGHS proved its plan optimal")

    def finish(self) -> None:
        """Stop HiGHS (the core strategy has ended) and wait for its answer."""
        self.stop.set("the core strategy ended")
        self.thread.join()

    def merge(self, result: AssignmentResult) -> AssignmentResult:
        """``result`` with HiGHS's plan if it is cheaper, and the higher bound."""
        mip = self.result
        if mip is None:
            result.notes.append(f"HiGHS beside CP-SAT failed: {self.error}")
            return result
        took = mip.objective is not None and (
            result.objective is None or mip.objective < result.objective
        )
        result.notes.append(
            f"HiGHS beside CP-SAT (whole model, one thread): {mip.status.value}"
            + (f", {mip.objective:.0f}" if mip.objective is not None else "")
            + f" in {mip.wall_time_s:.2f}s; "
            + ("its plan is kept" if took else "CP-SAT's plan is kept")
        )
        if took:
            assert mip.objective is not None
            result.parts, result.objective = mip.parts, mip.objective
        bounds = [b for b in (result.best_bound, mip.best_bound) if b is not None]
        if result.objective is not None and bounds:
            result.best_bound = min(max(bounds), result.objective)
        proved = mip.status == SolveStatus.OPTIMAL and mip.objective == result.objective
        bound = result.best_bound
        if result.objective is not None and (
            proved or (bound is not None and math.ceil(bound - 1e-6) >= result.objective)
        ):
            result.status = SolveStatus.OPTIMAL  # integral objective: a gap below one
        return result


_BESIDE: ContextVar[_MipBeside | None] = ContextVar("highs_beside", default=None)
"""HiGHS running beside this thread's core strategy, if any."""


def _lends_a_worker(problem: AssignmentProblem, params: SolveParams) -> bool:
    """Whether the core strategy runs HiGHS beside it (:data:`MIP_BESIDE_MAX_VARIABLES`):
    two workers or more (one worker stays reproducible), a GAP-shaped problem
    (:func:`solvers.assignment.local_search.gap_shape`: where it was measured) above the
    proof size and within that limit, that the MIP back-end takes."""
    return (
        params.workers >= 2
        and PROVE_MAX_VARIABLES < problem.size <= MIP_BESIDE_MAX_VARIABLES
        and gap_shape(problem) is None
        and HighsBackend().supports(problem, params)
    )


def _cpsat_workers(params: SolveParams) -> int:
    """CP-SAT's workers: one less while HiGHS runs beside the core strategy."""
    beside = _BESIDE.get()
    if beside is not None and beside.running():
        return max(1, params.workers - 1)
    return params.workers


def independent_groups(
    problem: AssignmentProblem, offered: dict[int, list[int]] | None = None
) -> list[list[int]]:
    """The orders with candidates in groups that share no row of the model: no
    resource group (capacity), no (factory, buyer) share cap and no purchased
    material, over the candidates ``offered`` (default: all). Solved apart, the
    groups' optima add up to the whole problem's, and so do their bounds: the
    objective is a sum over orders. Smallest first (production variables), ties by
    first order; beyond :data:`MAX_GROUPS` the smallest make one group, first.

    One group holding every order with candidates when the model couples them all
    otherwise: fairness options and the load-balance term (docs/fairness.md), a
    re-plan's fixed work and stability, orders split by operation."""
    with_candidates = [i.index for i in problem.orders if i.candidates]
    if problem.fairness is not None or problem.anchor is not None or problem.by_operation:
        return [with_candidates] if with_candidates else []
    parent = {o: o for o in with_candidates}

    def root(o: int) -> int:
        while parent[o] != o:
            parent[o] = parent[parent[o]]
            o = parent[o]
        return o

    holder: dict[tuple[str, int, str], int] = {}  # a row's key -> an order in it
    for o in with_candidates:
        info = problem.orders[o]
        buyer = info.order.buyer
        for k in _offered(problem, offered, o):
            cand = problem.candidates[k]
            keys = [("capacity", u.resource, "") for u in cand.usage]
            keys += [("material", m, "") for m, _ in cand.materials]
            if (cand.factory, buyer) in problem.buyer_caps:
                keys.append(("buyer share", cand.factory, buyer))
            for key in keys:
                other = holder.setdefault(key, o)
                if other != o:
                    parent[root(other)] = root(o)
    grouped: dict[int, list[int]] = {}
    for o in with_candidates:
        grouped.setdefault(root(o), []).append(o)

    groups = sorted(grouped.values(), key=lambda g: (_size(problem, offered, g), g[0]))
    if len(groups) > MAX_GROUPS:  # the smallest share one model
        small = sorted(o for g in groups[: len(groups) - MAX_GROUPS + 1] for o in g)
        groups = [small, *groups[len(groups) - MAX_GROUPS + 1 :]]
    return groups


def _offered(problem: AssignmentProblem, offered: dict[int, list[int]] | None, o: int) -> list[int]:
    candidates = problem.orders[o].candidates
    return candidates if offered is None else offered.get(o, candidates)


def _size(
    problem: AssignmentProblem, offered: dict[int, list[int]] | None, orders: list[int]
) -> int:
    """Production variables of ``orders`` over the candidates ``offered`` them."""
    cands = [problem.candidates[k] for o in orders for k in _offered(problem, offered, o)]
    return sum(c.last - c.first + 1 for c in cands)


def _exchange_share(problem: AssignmentProblem, is_exact: bool) -> float:
    """The share of the time left that a core leaves to the factory exchange:
    :data:`SEARCHED_EXCHANGE_SHARE` after a heuristic core of a problem the GAP local
    search applies to, with at most :data:`SEARCHED_ROW_ORDERS` orders a capacity row
    (checking takes about 50 ms at 128 000 candidates), else :data:`EXCHANGE_SHARE`."""
    if is_exact or gap_shape(problem) is not None:
        return EXCHANGE_SHARE
    rows = {(c.usage[0].resource, c.first) for c in problem.candidates}  # one each: GAP
    movable = sum(1 for i in problem.orders if i.candidates)
    return SEARCHED_EXCHANGE_SHARE if movable <= SEARCHED_ROW_ORDERS * len(rows) else EXCHANGE_SHARE


def _exact_again(
    problem: AssignmentProblem,
    relax: Relaxation,
    best: _Incumbent,
    heuristic: dict[int, list[int]],
    was_exact: bool,
) -> dict[int, list[int]] | None:
    """The exact core for the incumbent ``best`` (complete) when the core before was
    exact and this one is as small as the phases require (:data:`EXACT_CORE_SMALL`, or
    no larger than the ``heuristic`` core); else None."""
    if not was_exact or best.objective is None or not best.feasible:
        return None
    exact = relax.exact_core(best.objective)
    if core_size(problem, exact) > max(EXACT_CORE_SMALL, core_size(problem, heuristic)):
        return None
    return exact


def _search_bound(solver: cp_model.CpSolver, workers: int, size: int, lent: bool = False) -> None:
    """Set the search of a model whose bound is global (the whole problem, an exact
    core or one of its independent groups), by its size in production variables:
    :func:`_prove` up to :data:`PROVE_MAX_VARIABLES`, :func:`_cut` above. Above it, with
    one worker left after one was ``lent`` to HiGHS (:class:`_MipBeside`), the portfolio
    of two workers takes turns in its thread (``interleave_search``), the cut-rich LP
    worker with it, rather than one default search: on OR-Library gapd (10 s, one run
    beside other work) 6 rows 0.56 % -> 0.51 %, where the default search alone lost
    to CP-SAT with both workers (0.50 %)."""
    if size <= PROVE_MAX_VARIABLES:
        _prove(solver)
    elif lent and workers == 1:
        solver.parameters.interleave_search = True
        _cut(solver, 2)
    else:
        _cut(solver, workers)


def _cut(solver: cp_model.CpSolver, workers: int) -> None:
    """With two workers or more, the full-problem worker of a large model whose bound
    is global runs CP-SAT's ``max_lp`` (linearization level 2: the capacity rows'
    cuts in the LP) instead of ``default_lp``; the other workers (first-solution and
    LNS) are unchanged. An exact core's proof is a proof for the whole problem, and
    these cores (GAP: one capacity row per factory, an exactly-one row per order) are
    knapsack-bound, where the cuts raise the LP bound. Measured on OR-Library gapb
    and gapc (10 s, 2 workers, one run each): the same optima proved in 0.4-1.3 s
    instead of 0.5-3.1 s (b05200 3.1 s -> 1.1 s, c10100 1.8 s -> 0.6 s). One worker
    keeps the default search (reproducible figures unchanged)."""
    if workers < 2:
        return
    p = solver.parameters
    p.ignore_subsolvers.append("default_lp")
    p.extra_subsolvers.append("max_lp")


def _prove(solver: cp_model.CpSolver) -> None:
    """Search for the proof as well as for plans: one CP-SAT worker with the LP at
    linearization level 2 (the capacity rows' cuts; ``max_lp``'s search, alone),
    however many workers the solve has. CP-SAT's default search branches on quantities
    and rarely raises the root LP bound, which misses the integrality of a used flag (a
    part either absent or at least its minimum) or a served flag: on demo.json's groups
    it left 0.85 % and 6 % of gap after 60 s.

    Measured on the 179 models this function set on ten generated 30-order instances
    and demo.json (3 s cap each): one worker at level 2 proved 173 in 15.3 s in all,
    two workers with the tree search on the LP bound (``lb_tree_search``) 171 in
    24.3 s, one worker's interleaved portfolio 158 in 62.7 s; a 93-variable group that
    neither proved in 20 s proves in 0.02 s. Two workers ran that tree search here
    until the 15 models of demo.json's default solve, replayed three times each, showed
    the same: 4.8 s in all with one worker at level 2 (at most 0.7 s a model) against
    6.4 s (at most 1.8 s) with two, whose time varied from run to run (0.12-1.79 s for
    one model). So the second worker is left idle here, and a two-worker solve of a
    small instance is reproducible as a one-worker one is, where the proofs end within
    the limit."""
    p = solver.parameters
    p.num_workers = 1
    p.linearization_level = 2


def _group_cost(
    problem: AssignmentProblem, orders: list[int], by_order: dict[int, list[Part]]
) -> float:
    """The model's objective over ``orders`` for the parts ``by_order`` gives them (no
    fairness, no re-plan: :func:`independent_groups` keeps those whole)."""
    total = 0
    for o in orders:
        parts = by_order.get(o)
        if not parts:
            total += problem.unserved_cost(o)
            continue
        total += sum(cost(problem, problem.candidates[p.candidate], p.quantities) for p in parts)
    return float(total)


def _relaxation(
    problem: AssignmentProblem, params: SolveParams, stop: StopSignal | None
) -> tuple[Relaxation, list[str]]:
    """The bound and reduced costs the core is chosen by: the LP (every mandatory
    order served, else as it is), or the Lagrangian dual when the LP would be slow
    or failed. (The Lagrangian arrays know no re-plan's fixed work.) Neither models
    the fairness options: dropping their nonnegative terms and relaxing their rows
    keeps both valid lower bounds, so the exact core's reduced-cost pruning stays
    exact against an incumbent that meets every hard fairness rule (the only kind
    kept: :func:`_warm_start`)."""
    limit = params.time_limit_s
    if problem.size > LP_MAX_COLUMNS and problem.anchor is None:
        relax = lagrangian_relaxation(problem, LAGRANGIAN_SHARE * limit)
        return relax, [relax.note]
    relax = solve_relaxation(problem, True, 0.5 * limit, stop)
    notes = [relax.note]
    if relax.bound is None and not params.hard_mandatory:
        relax = solve_relaxation(problem, False, 0.5 * limit - relax.wall_time_s, stop)
        notes.append(relax.note)
    if relax.bound is None and problem.anchor is None:
        relax = lagrangian_relaxation(problem, LAGRANGIAN_SHARE * limit)
        notes.append(relax.note)
    return relax, notes


def _warm_start(
    problem: AssignmentProblem,
    params: SolveParams,
    progress: ProgressCallback | None,
    start: float,
    offered: dict[int, list[int]] | None = None,
) -> tuple[list[Part], float | None]:
    """The greedy plan (none with hard mandatory orders) and its objective, reported."""
    if params.hard_mandatory:
        return [], None
    initial = problem.anchor.initial if problem.anchor else problem.warm
    warm = capped_greedy_parts(problem, offered, initial)  # the greedy, within the share cap
    fair = problem.fairness
    if fair is not None and not terms(fair, tally(fair, problem.candidates, warm)).feasible:
        return warm, None  # short of a hard minimum: a hint, not an incumbent
    objective = float(objective_of(problem, warm))
    if progress is not None:
        offset = problem.mandatory_penalty * len(mandatory_left_out(problem, warm))
        elapsed = time.perf_counter() - start
        progress(Progress("assignment", "greedy", elapsed, objective - offset, None))
    return warm, objective


def _priced_warm_start(
    problem: AssignmentProblem,
    params: SolveParams,
    warm: list[Part],
    warm_objective: float,
    stop: StopSignal | None,
) -> tuple[list[Part], float, str | None]:
    """The greedy again with the scarce materials priced (greedy
    :func:`~solvers.assignment.greedy.placement_priority`, at
    :func:`~solvers.assignment.bound.scarce_material_prices`): the cheaper of it and
    ``warm``, and a note. Not with fairness options (the warm start keeps their cap) nor
    on a re-plan (its previous plan comes first), nor when no material is limited.

    Measured (generated, seed 1, 10 000 orders): the greedy plan's stage objective
    25 473 249 349 -> 21 717 953 080 (-14.7 %), below the best plan the LNS had found in
    1 500 s (docs/scale.md, "Scarce materials")."""
    if not problem.materials or problem.fairness is not None or problem.anchor is not None:
        return warm, warm_objective, None
    if stop is not None and stop.is_set():
        return warm, warm_objective, None
    began = time.perf_counter()
    stuck = placeable_left_out(problem, warm)
    seconds = 1e9 if params.workers == 1 else min(PRICING_SHARE * params.time_limit_s, PRICING_S)
    prices = scarce_material_prices(problem, warm_objective, stuck, PRICING_ITERATIONS, seconds)
    if not prices.any():
        return warm, warm_objective, "scarce materials: none priced by the bound's ascent"
    priced = greedy_parts(problem, stop=stop, material_prices=prices)
    objective = float(objective_of(problem, priced))
    took = time.perf_counter() - began
    if objective < warm_objective:
        note = (
            f"scarce materials priced ({took:.2f}s): the greedy plan so placed is "
            f"{warm_objective - objective:.0f} cheaper and starts the search"
        )
        return priced, objective, note
    note = f"scarce materials priced ({took:.2f}s): the greedy plan so placed is no cheaper"
    return warm, warm_objective, note


def _noted_stop(result: AssignmentResult, stop: StopSignal | None) -> AssignmentResult:
    """Say in the notes that the solve was stopped early (cancel or deadline)."""
    if stop is not None and stop.is_set():
        result.notes.append(f"{stop.reason}: the best plan found so far is returned")
    return result


def _versus_greedy(
    problem: AssignmentProblem,
    warm: list[Part],
    warm_objective: float,
    parts: list[Part],
    objective: float,
) -> str:
    """The improvement over the greedy plan in cost terms, mandatory orders apart."""

    placed = len(mandatory_left_out(problem, warm)) - len(mandatory_left_out(problem, parts))
    saving = warm_objective - objective - placed * problem.mandatory_penalty
    text = f"{saving:.0f} cents cheaper than the greedy plan"
    return text + (f" and {placed} more mandatory order(s) served" if placed else "")
