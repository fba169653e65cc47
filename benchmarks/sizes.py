"""The generated instance sizes the scale benchmarks run, and the fixed settings.

Factories grow as ``100 * (orders / 1000) ** 0.7`` (rounded: 100, 300, 500, 1500):
a platform gains factories more slowly than orders, so orders per factory rise from
10 to 33 and the larger sizes are at least as loaded as the small ones (the generator
lowers the load below its 72-92 % target when there are too few orders per factory).
Every size is generated without hubs (``hubs=False``, ``matcher generate ...
--no-hubs``): the instances the reference runs were made on. 1k is then
``instances/medium.json`` as it was before the shipped file gained hubs. Production
variables grow with orders x factories, since every capable factory of an order's
industry is a candidate: 1.1-1.5 per order-factory pair on small instances, so about
orders ** 1.7 (an estimated 100 M at 50k). The horizon stays 28 daily periods: a
four-week plan is a business choice, not a function of platform size.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "DEFAULT_WORKERS",
    "INSTANCE_SEED",
    "REFERENCES",
    "SIZES",
    "SOLVE_SEED",
    "Reference",
    "Size",
    "select",
]

INSTANCE_SEED = 1
"""Seed of :func:`matcher.generate.generate` for every size."""

SOLVE_SEED = 1
"""CP-SAT's random seed in every solve."""

DEFAULT_TIME_LIMIT_S = 60.0
"""Wall-clock limit of one solve, compilation included (the README's measured runs)."""

DEFAULT_WORKERS = 2
"""CP-SAT workers: the machine's two cores."""


@dataclass(frozen=True)
class Size:
    """One generated instance size and how many rounds its build is timed."""

    label: str
    orders: int
    factories: int
    periods: int
    build_rounds: int

    @property
    def name(self) -> str:
        """The generator's default instance name for this size."""
        return f"gen-o{self.orders}-f{self.factories}-p{self.periods}-s{INSTANCE_SEED}"


SIZES: tuple[Size, ...] = (
    Size("1k", 1_000, 100, 28, build_rounds=5),
    Size("5k", 5_000, 300, 28, build_rounds=3),
    Size("10k", 10_000, 500, 28, build_rounds=2),
    Size("50k", 50_000, 1_500, 28, build_rounds=1),
)


def select(labels: str) -> list[Size]:
    """The sizes named in a comma-separated list (``"1k,5k"``); ``""`` or ``"all"``: all."""
    wanted = [w.strip() for w in labels.split(",") if w.strip()]
    if not wanted or wanted == ["all"]:
        return list(SIZES)
    known = {s.label: s for s in SIZES}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError(f"unknown size(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [s for s in SIZES if s.label in wanted]


@dataclass(frozen=True)
class Reference:
    """The best plan known for a size's instance: its plan objective (``costs.objective``,
    cents) and how it was made (docs/scale.md, "Reference runs")."""

    plan_objective_cents: int
    source: str


REFERENCES: dict[str, Reference] = {
    # gen-o1000-f100-p28-s1 without hubs (instances/medium.json before its hubs).
    "1k": Reference(
        21_294_381_862,
        "matcher solve --time-limit 2700 --workers 1 --no-feedback --no-sharing (LNS, 4 125 s)",
    ),
    # gen-o10000-f500-p28-s1 (matcher generate --orders 10000 --factories 500 --periods 28
    # --seed 1 --no-hubs).
    "10k": Reference(
        71_251_290_251,
        "matcher solve --time-limit 1500 --workers 1 --no-feedback --no-sharing "
        "(LNS from the greedy with scarce materials priced, commit d62a8c0, 3 135 s)",
    ),
}
"""Size label -> the best known plan; a size without one reports no gap to it."""
