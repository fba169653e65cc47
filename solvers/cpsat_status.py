"""CP-SAT's status codes in the domain's terms, written once for every CP-SAT model.

``UNKNOWN`` means the search stopped (time, deterministic time or a stop signal)
before it found or disproved a solution; an invalid model is ``UNKNOWN`` in the
domain, with the reason left to the caller's notes.
"""

from __future__ import annotations

from typing import Any

from ortools.sat.python import cp_model

from matcher.domain.plan import SolveStatus

_STATUS: dict[Any, SolveStatus] = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.UNKNOWN,
    cp_model.UNKNOWN: SolveStatus.TIME_LIMIT,
}


def solve_status(code: Any) -> SolveStatus:
    """The domain status of a CP-SAT status code."""
    return _STATUS.get(code, SolveStatus.UNKNOWN)


def has_solution(code: Any) -> bool:
    """Whether the solver holds a solution (proved optimal or merely feasible)."""
    return code in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def has_bound(code: Any) -> bool:
    """Whether the solver's best objective bound means something."""
    return code in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN)
