"""The families ``bench`` knows, by the name an index entry gives in ``family``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from matcher.bench.family import BenchFamily
from matcher.bench.gap_family import GapFamily
from matcher.bench.jssp_family import JsspFamily
from matcher.bench.routing_family import CvrpFamily, VrptwFamily

FAMILIES: dict[str, Callable[[], BenchFamily]] = {
    "gap": GapFamily,
    "cvrp": CvrpFamily,
    "vrptw": VrptwFamily,
    "jssp": JsspFamily,
}


def families() -> list[str]:
    return sorted(FAMILIES)


def get_family(name: str) -> BenchFamily:
    try:
        return FAMILIES[name]()
    except KeyError:
        raise ValueError(f"unknown family '{name}' (known: {', '.join(families())})") from None


def check_solvers(records: Iterable[Mapping[str, Any]], solvers: Sequence[str]) -> list[str]:
    """Problems with ``solvers`` for the known families among ``records`` (empty: all good)."""
    problems = []
    used = {r.get("family") for r in records}
    for name in sorted(f for f in FAMILIES if f in used):
        available = get_family(name).solvers()
        for solver in solvers:
            if solver not in available:
                problems.append(
                    f"unknown solver '{solver}' for family {name} "
                    f"(available: {', '.join(available)})"
                )
    return problems
