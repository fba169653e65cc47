"""The Ray executor on a local Ray the tests start (2 CPUs, no dashboard): results,
failures with their reasons, a worker killed mid-batch, and a batch of checked plans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.app.decompose import decomposed_plan
from matcher.app.executor import Call, ExecutorError, RayExecutor
from matcher.batch.batch import FAILED, SOLVED, run_batch
from matcher.check import check_plan
from matcher.domain.validation import load_instance
from tests.conftest import INSTANCES
from tests.matcher.batch import probes
from tests.matcher.batch.conftest import FAST, ray_environment, tiny_copies

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[RayExecutor]:
    """A local Ray for this module, shut down after it; the executor uses it as it is."""
    with ray_environment():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error")
        try:
            with RayExecutor(init_timeout_s=30) as executor:
                yield executor
        finally:
            ray.shutdown()


def test_ray_runs_every_task_and_reports_a_raising_one(local_ray: RayExecutor) -> None:
    outcomes = {o.key: o for o in local_ray.run(probes.square, [Call("a", (3,)), Call("b", (4,))])}
    assert (outcomes["a"].value, outcomes["b"].value) == (9, 16)
    failed = list(local_ray.run(probes.fail, [Call("c", (5,))]))
    assert [o.error for o in failed] == ["ValueError: no good: 5"]
    plain = list(local_ray.run(probes.fail_plainly, [Call("d", (6,))]))
    assert [o.error for o in plain] == ["bad input 6 second line"]


def test_ray_reports_a_dead_worker_and_the_other_tasks_finish(local_ray: RayExecutor) -> None:
    calls = [Call("dies", (1,))]
    dead = list(local_ray.run(probes.exit_abruptly, calls))
    assert [o.error for o in dead] == ["the Ray worker died while running the task"]
    assert {o.value for o in local_ray.run(probes.square, [Call("after", (2,))])} == {4}


def test_ray_caps_the_tasks_in_flight_at_jobs(local_ray: RayExecutor) -> None:
    capped = RayExecutor(jobs=1)
    capped.connect()  # Ray is initialised: used as it is, not owned
    calls = [Call("slow", (1, 0.3)), Call("fast", (2, 0.0))]
    assert [o.key for o in capped.run(probes.pause_then_square, calls)] == ["slow", "fast"]
    capped.close()
    assert ray.is_initialized()


def test_a_batch_on_ray_checks_every_plan_and_survives_a_killed_worker(
    local_ray: RayExecutor, tmp_path: Path
) -> None:
    paths = tiny_copies(tmp_path, "first", probes.DOOMED, "second")
    summary = run_batch(paths, tmp_path / "out", FAST, local_ray, task=probes.solve_unless_doomed)
    rows = {r.instance: r for r in summary.rows}
    assert rows["first"].outcome == rows["second"].outcome == SOLVED
    assert rows["first"].figures is not None and rows["first"].figures.check_ok
    assert rows[probes.DOOMED].outcome == FAILED
    assert rows[probes.DOOMED].error == "the Ray worker died while running the task"
    assert json.loads((tmp_path / "out" / "second.plan.json").read_text())["instance"] == "second"
    assert summary.executor == "ray" and not summary.ok


def test_tasks_asking_for_more_cpus_than_any_node_has_are_refused_not_left_pending(
    local_ray: RayExecutor,
) -> None:
    with pytest.raises(
        ExecutorError, match=r"asks for 3 CPUs .* the largest node of the cluster has 2"
    ):
        list(local_ray.run(probes.square, [Call("big", (1,))], cpus_per_task=3))


def test_a_decomposed_solve_runs_its_parts_on_ray_and_the_plan_checks(
    local_ray: RayExecutor,
) -> None:
    demo = load_instance(INSTANCES / "demo.json")
    result = decomposed_plan(demo, FAST.model_copy(update={"time_limit_s": 6}), local_ray)
    assert check_plan(demo, result).ok
    assert result.stages[0].notes[0].startswith("decomposed solve (ray executor")
    assert sum(1 for n in result.stages[0].notes if n.startswith("  part")) == 5
