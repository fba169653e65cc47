"""Speed of a recommendation (interactive: the issue asks for well under a second on
``instances/demo.json``). The plan is solved once, untimed; each round recommends for
a copy of a demo order under a new id."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.harness import ROOT
from matcher.app.pipeline import plan
from matcher.app.recommend import recommend
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance

pytestmark = pytest.mark.benchmark_suite


def test_recommend_on_the_demo_instance(benchmark: BenchmarkFixture) -> None:
    instance = load_instance(ROOT / "instances" / "demo.json")
    solved = plan(instance, SolveParams(time_limit_s=5, workers=1, sharing=False))
    new = instance.orders[3].model_copy(update={"id": "NEW"})
    result = benchmark(recommend, instance, solved, new, 5)
    assert result.options
    benchmark.extra_info["options"] = len(result.options)
