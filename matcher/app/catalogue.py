"""The solver names each stage accepts, for the CLI's choices and the service's checks.

The CLI and the service ask here rather than the solver registries themselves, so that
neither imports a solver package.
"""

from __future__ import annotations

from solvers.assignment.base import available as assignment_solvers
from solvers.purchasing.backends import available as purchasing_solvers
from solvers.routing.base import available as routing_solvers


def solver_names() -> dict[str, list[str]]:
    """Stage -> the solver names it accepts, sorted."""
    return {
        "assignment": assignment_solvers(),
        "purchasing": purchasing_solvers(),
        "routing": routing_solvers(),
    }
