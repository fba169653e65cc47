"""Period searches already made in one plan, for a later feedback round to reuse.

A feedback round (docs/model.md) re-solves the assignment with the costs the stages
after it fed back, and then routes its plan again. Some of its periods carry the loads
they carried in the round before: on the 30-order load instance all 6, on demo 1 of
the 18 periods its later rounds route (a round there moves a few loads in most
periods). Searching such a period again, with the same seed and a smaller share,
cannot do better than the search already made, unless that one stopped on its limit
and the new limit is longer. So a period's search is kept with its key (everything the search
reads) and its limit, and taken again when the earlier search stopped on no improvement
(its patience: a longer limit changes nothing) or had at least the limit the new one
would get. With one worker the limit is PyVRP's iteration cap, and PyVRP follows the
same steps for the same seed, so a reused search is the search a new one would have
made up to its own cap: the plan stays reproducible.

One instance per plan: the key does not describe the instance's distances.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from solvers.routing.base import RoutingLimits
from solvers.routing.problem import RoutingResult


@dataclass(frozen=True)
class _Search:
    result: RoutingResult
    limit: float  # PyVRP iterations with one worker, else seconds


class SearchedDays:
    """Routing results by what they searched (see the module's docstring)."""

    def __init__(self) -> None:
        self._found: dict[Hashable, _Search] = {}
        self.reused = 0

    def get(self, key: Hashable, limits: RoutingLimits) -> RoutingResult | None:
        """The search made for ``key``, when a new one within ``limits`` cannot beat it."""
        limit = _limit(limits)
        search = self._found.get(key)
        if search is None or not (search.result.converged or search.limit >= limit):
            return None
        self.reused += 1
        return search.result

    def put(self, key: Hashable, limits: RoutingLimits, result: RoutingResult) -> None:
        self._found[key] = _Search(result, _limit(limits))


def _limit(limits: RoutingLimits) -> float:
    """The limit that decides a search: its iteration cap (one worker), else seconds."""
    return limits.seconds if limits.max_iterations is None else limits.max_iterations
