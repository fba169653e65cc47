"""Solve parameters: what a caller may tune without changing the instance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matcher.domain.entities import MAX_COUNT, FairnessOptions, ObjectiveWeights

MAX_SEED = 10**9
"""Engines take 32-bit seeds, and LNS adds its iteration count to the seed."""
MAX_TIME_LIMIT_S = 10**6


@dataclass(frozen=True)
class Progress:
    """An improved incumbent or bound, reported by a solver while it runs."""

    stage: str
    solver: str
    elapsed_s: float
    objective: float | None
    best_bound: float | None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.best_bound is None:
            return None
        return abs(self.objective - self.best_bound) / max(1.0, abs(self.objective))


ProgressCallback = Callable[[Progress], None]


REPEAT_EVERY_S = 0.1
REPEAT_IDLE_S = 5.0


class StopSignal:
    """Asks a running solve to stop early and return the best plan found so far.

    Set from another thread (a cancelled job, a client deadline). Solvers check
    :meth:`is_set` between steps and register a hook (``CpSolver.stop_search``,
    a MathOpt interrupter) for the duration of each engine call, so a solve stops
    within a fraction of a second even inside a long engine run.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []
        self.reason = ""

    def set(self, reason: str = "stopped on request") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
        self._call_hooks()
        # An engine ignores a stop request that lands between its hook's registration
        # and the start of its search (CpSolver.stop_search is a no-op before solve()
        # has built its wrapper): repeat the request while hooks are registered.
        threading.Thread(target=self._repeat, name="stop-signal", daemon=True).start()

    def _call_hooks(self) -> bool:
        with self._lock:
            hooks = list(self._hooks)
        for fn in hooks:
            fn()
        return bool(hooks)

    def _repeat(self) -> None:
        idle = 0.0
        while idle < REPEAT_IDLE_S:
            time.sleep(REPEAT_EVERY_S)
            idle = 0.0 if self._call_hooks() else idle + REPEAT_EVERY_S

    def is_set(self) -> bool:
        return self._event.is_set()

    @contextmanager
    def hook(self, fn: Callable[[], None]) -> Iterator[None]:
        """Call ``fn`` if the signal is set while the ``with`` block runs."""
        with self._lock:
            self._hooks.append(fn)
            already = self._event.is_set()
        if already:
            fn()
        try:
            yield
        finally:
            with self._lock:
                self._hooks.remove(fn)


@contextmanager
def stop_hook(stop: StopSignal | None, fn: Callable[[], None]) -> Iterator[None]:
    """:meth:`StopSignal.hook` that accepts ``None`` (nothing to watch)."""
    if stop is None:
        yield
    else:
        with stop.hook(fn):
            yield


class SolveParams(BaseModel):
    """Parameters of one ``plan()`` call.

    ``time_limit_s`` is wall-clock. With ``workers=1`` and a fixed ``seed`` the
    engine is deterministic: CP-SAT also gets a deterministic-time limit so that
    the same instance gives the same plan on the same machine and library version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    assignment_solver: str = "cpsat"
    time_limit_s: float = Field(default=30.0, gt=0.0, le=MAX_TIME_LIMIT_S)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    workers: int = Field(default=2, ge=1, le=64)
    weights: ObjectiveWeights | None = Field(
        default=None, description="Overrides the instance's weights when given."
    )
    fairness: FairnessOptions | None = Field(
        default=None,
        description="Overrides the instance's fairness options when given (docs/fairness.md); "
        "the plan echoes the options in effect as fairness_options.",
    )
    hard_mandatory: bool = Field(
        default=False,
        description="Treat mandatory orders as hard constraints (the solve is INFEASIBLE if "
        "one cannot be served) instead of an overriding penalty that keeps a plan.",
    )
    max_candidates: int = Field(
        default=0,
        ge=0,
        le=MAX_COUNT,
        description="Keep only the N cheapest capable factories per order (0 = all). "
        "A restriction: the bound is then the restricted problem's.",
    )
    strategy: Literal["auto", "full", "core", "lns"] = Field(
        default="auto",
        description="cpsat only: 'full' solves the whole model; 'core' solves the LP "
        "relaxation and gives CP-SAT the candidates its reduced costs favour (exactly pruned "
        "where an incumbent allows); 'lns' runs large-neighbourhood search plus a Lagrangian "
        "bound (scales); 'auto' picks 'core' when the core is small enough, else 'lns'.",
    )
    relative_gap: float = Field(
        default=1e-4, ge=0.0, le=1e6, description="Stop when this gap is proven."
    )
    purchasing_solver: str = Field(
        default="auto",
        description="Purchasing back-end: auto (default: HiGHS for large models, CP-SAT for "
        "small ones), mip-highs, cpsat, mip-scip, mip-cbc.",
    )
    max_suppliers_per_material: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COUNT,
        description="Most suppliers the platform buys one material from.",
    )
    routing_solver: str = Field(
        default="auto",
        description="Routing back-end: auto (default: PyVRP, OR-Tools when PyVRP finds "
        "nothing feasible), pyvrp, ortools-routing.",
    )
    savings_split: Literal["proportional", "shapley"] = Field(
        default="shapley", description="How the purchasing savings are shared."
    )
    shapley_permutations: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Sampled Shapley (above 12 factories per material): permutations drawn.",
    )
    sharing: bool = Field(
        default=True,
        description="Run the capacity-sharing analysis after the assignment (marginal values, "
        "idle and overloaded factories, transfers).",
    )
    backups: bool = Field(
        default=False, description="Capacity sharing: a backup factory for every order part."
    )
    feedback: bool = Field(
        default=True,
        description="Feed what purchasing and routing really cost back into the assignment "
        "and re-solve while the plan's objective falls (only with suppliers or a fleet; "
        "never in a re-plan). False: the stages run once, in sequence.",
    )
