"""With one worker the later stages' shares of a round are nominal (the shares of the
stages before them), not what the clock says is left: the routing stage counts its
share in PyVRP iterations, so a share read from the clock gave a loaded machine other
routes for the same seed."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

import matcher.app.pipeline as pipeline
from matcher.domain.params import SolveParams
from matcher.generate import generate


def _shares(monkeypatch: pytest.MonkeyPatch, slow: bool) -> list[tuple[str, float]]:
    """The seconds given to purchasing and routing in a one-round, one-worker plan; with
    ``slow`` the pipeline's clock runs 0.5 s further at every reading."""
    seen: list[tuple[str, float]] = []
    for name in ("run_purchasing", "run_routing"):
        real = getattr(pipeline, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            seen.append((_name, args[4]))  # (instance, allocations, x, params, seconds, ...)
            return _real(*args)

        monkeypatch.setattr(pipeline, name, spy)
    if slow:
        ticks = [0.0]

        def perf_counter() -> float:
            ticks[0] += 0.5
            return time.perf_counter() + ticks[0]

        monkeypatch.setattr(pipeline, "time", SimpleNamespace(perf_counter=perf_counter))
    instance = generate(20, 5, 7, seed=1)
    params = SolveParams(workers=1, seed=0, time_limit_s=5, feedback=False, sharing=False)
    pipeline.plan(instance, params)
    return seen


def test_one_worker_gives_later_stages_the_same_shares_however_slow_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patched:
        quick = _shares(patched, slow=False)
    with monkeypatch.context() as patched:
        slow = _shares(patched, slow=True)
    assert [name for name, _ in quick] == ["run_purchasing", "run_routing"]
    assert slow == quick
