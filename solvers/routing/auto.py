"""The default routing back-end: PyVRP, with OR-Tools when PyVRP finds nothing feasible.

Measured (docs/routing.md): on CVRPLIB X and Solomon VRPTW, PyVRP's iterated local
search is far ahead of OR-Tools' guided local search at every budget tried, and
PyVRP 0.14 models every feature of :class:`RoutingProblem` (shipments included). So
PyVRP gets the whole budget; only when it has not found a feasible solution by half
of it (tight windows with required requests) is it stopped and OR-Tools' insertion
heuristics and GLS get the rest, when OR-Tools can model the problem. The better of
the two answers, after evaluation, is returned.
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

    def unsupported(self, problem: RoutingProblem) -> str | None:
        return None

    def solve(self, problem: RoutingProblem, limits: RoutingLimits) -> Sequences:
        pyvrp, ortools = PyVrpBackend(), OrToolsBackend()
        fallback = ortools.unsupported(problem) is None
        first_try = limits
        if fallback:
            first_try = replace(limits, give_up_s=FALLBACK_AFTER * limits.seconds)
        raw = pyvrp.solve(problem, first_try)
        raw.solver = f"{self.name}:pyvrp"
        if raw.time_to_first_feasible_s is not None or not fallback or limits.stopped():
            return raw
        second = ortools.solve(problem, limits)
        second.solver = f"{self.name}:ortools-routing"
        second.notes.insert(0, "PyVRP found no feasible solution in half the limit")
        a = evaluate_sequences(problem, raw, limits)
        b = evaluate_sequences(problem, second, limits)
        better_b = b.feasible and (not a.feasible or (b.cost or 0) < (a.cost or 0))
        return second if better_b else raw
