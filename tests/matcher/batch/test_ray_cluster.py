"""The Ray executor joining a simulated two-node cluster by address
(``ray.cluster_utils.Cluster``, one CPU per node): tasks spread over both nodes, and a
batch's plans come back checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.app.executor import Call, RayExecutor
from matcher.batch.batch import SOLVED, run_batch
from tests.matcher.batch import probes
from tests.matcher.batch.conftest import FAST, ray_environment, tiny_copies

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
cluster_utils = pytest.importorskip("ray.cluster_utils", reason="Ray has no cluster_utils")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two nodes of one CPU each, torn down after the module."""
    with ray_environment():
        c = cluster_utils.Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
        )
        try:
            c.add_node(num_cpus=1)
            c.wait_for_nodes(timeout=60)
            yield c
        finally:
            if ray.is_initialized():
                ray.shutdown()
            c.shutdown()


@pytest.fixture(scope="module")
def joined(cluster: Any) -> Iterator[RayExecutor]:
    """The executor joined to the cluster by its address, as ``--ray-address`` does."""
    executor = RayExecutor(cluster.address, init_timeout_s=30)
    executor.connect()
    try:
        yield executor
    finally:
        executor.close()


def test_the_executor_joins_by_address_and_uses_both_nodes(joined: RayExecutor) -> None:
    assert joined.slots == 2
    nodes = {o.value for o in joined.run(probes.where, [Call(str(i), ()) for i in range(4)])}
    assert len(nodes) == 2


def test_a_batch_on_the_cluster_writes_a_checked_plan_per_instance(
    joined: RayExecutor, tmp_path: Path
) -> None:
    paths = tiny_copies(tmp_path, "north", "south", "east")
    summary = run_batch(paths, tmp_path / "out", FAST, joined)
    assert [r.outcome for r in summary.rows] == [SOLVED] * 3
    assert all(r.figures is not None and r.figures.check_ok for r in summary.rows)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.plan.json")) == [
        "east.plan.json",
        "north.plan.json",
        "south.plan.json",
    ]
