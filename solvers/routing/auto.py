"""The default routing back-end: PyVRP, with OR-Tools where it helps.

Measured (docs/routing.md):

* on pure classes (CVRP, VRPTW, every request required and delivered from the depot)
  PyVRP's iterated local search is far ahead of OR-Tools' guided local search, so
  PyVRP gets the whole budget; only when it has not found a feasible solution by half
  of it (tight windows) is it stopped and OR-Tools, when it can model the problem,
  gets the rest;
* on the platform's own day problems (pickup-and-delivery pairs, every request
  optional against its carrier cost; the generated medium instance), PyVRP, with the
  repairs of :func:`solvers.routing.base.evaluate_sequences` (broken or unprofitable
  routes dropped), was never worse than OR-Tools at 0.5 s and 2 s and found the
  routes that pay where OR-Tools' insertion and GLS kept everything with the carrier.

So PyVRP gets the whole budget; only when it has not found a feasible solution by
half of it (tight windows with required requests) is it stopped and OR-Tools, when it
can model the problem, gets the rest; the better evaluated answer is kept.
"""

from __future__ import annotations

from dataclasses import replace

from solvers.routing.base import RoutingLimits, Sequences, evaluate_sequences
from solvers.routing.ortools_backend import OrToolsBackend
from solvers.routing.problem import RoutingProblem
from solvers.routing.pyvrp_backend import PyVrpBackend

FALLBACK_AFTER = 0.5
"""Share of the budget after which PyVRP without a feasible solution hands over."""


class AutoBackend:
    name = "auto"

    def supports(self, problem: RoutingProblem) -> bool:
        return self.unsupported_reason(problem) is None

    def unsupported_reason(self, problem: RoutingProblem) -> str | None:
        return None

    def solve(self, problem: RoutingProblem, limits: RoutingLimits) -> Sequences:
        pyvrp, ortools = PyVrpBackend(), OrToolsBackend()
        # With every request optional, the repairs always leave a feasible answer.
        required = any(r.required for r in problem.requests)
        fallback = required and ortools.unsupported_reason(problem) is None
        first_try = limits
        if fallback:
            first_try = replace(limits, give_up_s=FALLBACK_AFTER * limits.seconds)
        first = pyvrp.solve(problem, first_try)
        first.solver = f"{self.name}:pyvrp"
        if first.time_to_first_feasible_s is not None or not fallback or limits.stopped():
            return first
        second = ortools.solve(problem, limits)
        second.solver = f"{self.name}:ortools-routing"
        a = evaluate_sequences(problem, first, limits)
        b = evaluate_sequences(problem, second, limits)
        b_better = b.feasible and (not a.feasible or (b.cost or 0) < (a.cost or 0))
        chosen = second if b_better else first
        chosen.notes.insert(
            0,
            "PyVRP found no feasible solution in half the limit; OR-Tools ran on the rest "
            f"and the {'OR-Tools' if b_better else 'PyVRP'} answer was better",
        )
        return chosen
