"""Solve parameters: what a caller may tune without changing the instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matcher.models import ObjectiveWeights


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


class SolveParams(BaseModel):
    """Parameters of one ``plan()`` call.

    ``time_limit_s`` is wall-clock. With ``workers=1`` and a fixed ``seed`` the
    engine is deterministic: CP-SAT also gets a deterministic-time limit so that
    the same instance gives the same plan on the same machine and library version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assignment_solver: str = "cpsat"
    time_limit_s: float = Field(default=30.0, gt=0.0)
    seed: int = Field(default=0, ge=0)
    workers: int = Field(default=2, ge=1, le=64)
    weights: ObjectiveWeights | None = Field(
        default=None, description="Overrides the instance's weights when given."
    )
    hard_mandatory: bool = Field(
        default=False,
        description="Treat mandatory orders as hard constraints (the solve is INFEASIBLE if "
        "one cannot be served) instead of an overriding penalty that keeps a plan.",
    )
    max_candidates: int = Field(
        default=0,
        ge=0,
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
    relative_gap: float = Field(default=1e-4, ge=0.0, description="Stop when this gap is proven.")
