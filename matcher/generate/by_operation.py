"""Orders split by operation (``by_operation``, docs/model.md): which multi-operation
orders get ``split.by_operation``, and the chains no single factory offers that a
quarter of them switch to.

These draws come from a second stream of the seed (:func:`side_stream`), never from
the main one, so the factories and every other order are the same whatever the share.
"""

from __future__ import annotations

import numpy as np

from matcher.generate.catalogue import IndustrySpec
from matcher.generate.factories import Cap, Factories
from matcher.generate.helpers import IntArray

_BY_OPERATION_STREAM = 1  # spawn key of the by-operation draws' own stream
_ROUTING_ONLY_SHARE = 0.25  # of the orders split by operation: a chain no factory offers


def side_stream(seed: int) -> np.random.Generator:
    """The by-operation draws' own stream of ``seed``; creating it draws nothing."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BY_OPERATION_STREAM,)))


def route_by_operation(
    rng: np.random.Generator | None,
    share: float,
    ops: list[tuple[str, ...]],
    ref: IntArray,
    order_ind: IntArray,
    industries: list[IndustrySpec],
    fac: Factories,
) -> tuple[list[bool], dict[int, dict[str, Cap]]]:
    """Which orders are split by operation (``round(share * m)`` of the ``m``
    multi-operation orders), and the reference capability per process of those that
    need routing.

    A quarter of them, in industries with chains no profile holds, switch to such a
    chain (``ops`` updated in place, before the orders are sized and priced): no
    single factory can make them, routing can. Each of their operations gets its
    own reference capability, drawn among the factories offering the process, so
    that its material and grade requirements stay satisfiable; ``ref`` becomes the
    last operation's factory (the one that delivers). ``rng`` is the side stream,
    never the main one; nothing is drawn when ``share`` is 0.
    """
    split_flags = [False] * len(ops)
    route_caps: dict[int, dict[str, Cap]] = {}
    multi = [o for o, t in enumerate(ops) if len(t) >= 2]
    count = round(share * len(multi))
    if rng is None or count == 0:
        return split_flags, route_caps
    offering: dict[str, list[tuple[int, Cap]]] = {}
    for f, caps in enumerate(fac.caps):
        for cap in caps:
            offering.setdefault(cap.process, []).append((f, cap))
    chosen = sorted(rng.choice(len(multi), count, replace=False).tolist())
    switch = rng.random(count) < _ROUTING_ONLY_SHARE
    for i, c in enumerate(chosen):
        o = multi[c]
        split_flags[o] = True
        chains = industries[int(order_ind[o])].impossible
        if not (switch[i] and chains):
            continue
        ops[o] = chains[int(rng.integers(0, len(chains)))]
        picks = {p: offering[p][int(rng.integers(0, len(offering[p])))] for p in ops[o]}
        route_caps[o] = {p: cap for p, (_, cap) in picks.items()}
        ref[o] = picks[ops[o][-1]][0]
    return split_flags, route_caps
