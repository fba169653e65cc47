"""A solve's long-lived objects are left out of the cyclic collector's walks while it
runs, and the collector is as it was after it (matcher.app.heap.long_lived)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from matcher.app.heap import long_lived
from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.generate import generate


class _Node:
    """A container object the collector tracks."""

    def __init__(self) -> None:
        self.items: list[object] = []


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    enabled = gc.isenabled()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_what_is_built_is_made_with_the_collector_paused_then_frozen_until_exit() -> None:
    seen: list[bool] = []

    def build() -> list[_Node]:
        seen.append(gc.isenabled())
        return [_Node() for _ in range(1000)]

    gc.enable()
    with long_lived(build) as nodes:
        assert seen == [False]
        assert gc.isenabled()
        assert len(nodes) == 1000
        assert gc.get_freeze_count() >= 1000
        # A collection of every generation walks none of them.
        assert all(not any(n is node for n in gc.get_objects()) for node in nodes[:3])
    assert gc.get_freeze_count() == 0
    assert any(n is nodes[0] for n in gc.get_objects())


def test_a_paused_collector_stays_paused_and_a_failed_build_freezes_nothing() -> None:
    gc.disable()
    with long_lived(lambda: _Node()):
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()

    def fail() -> None:
        raise RuntimeError("no problem")

    with pytest.raises(RuntimeError), long_lived(fail):
        pass
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_inner_use_leaves_the_outer_freezing_alone() -> None:
    with long_lived(lambda: _Node()) as outer:
        frozen = gc.get_freeze_count()
        with long_lived(lambda: _Node()) as inner:
            assert gc.get_freeze_count() == frozen
            assert any(n is inner for n in gc.get_objects())  # not frozen: made later
        assert gc.get_freeze_count() == frozen
        assert not any(n is outer for n in gc.get_objects())
    assert gc.get_freeze_count() == 0


def test_a_solve_runs_with_its_instance_frozen_and_leaves_the_collector_as_found() -> None:
    instance = generate(orders=12, factories=4, periods=7, seed=2)
    during: list[int] = []
    result = plan(
        instance,
        SolveParams(workers=1, time_limit_s=5),
        progress=lambda _: during.append(gc.get_freeze_count()),
    )
    assert result.allocations
    assert during and min(during) > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
