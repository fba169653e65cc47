"""What the batch tests share: a fast solve, the tiny instance copied under new names,
and the environment a Ray the tests start needs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matcher.domain.params import SolveParams
from tests.conftest import INSTANCES, ROOT

FAST = SolveParams(time_limit_s=2, workers=1, seed=0)
"""Small, deterministic solves: one worker, a fixed seed, a short limit."""


def tiny_copies(directory: Path, *labels: str) -> list[Path]:
    """The tiny instance written as ``<label>.json`` (each named after its label)."""
    data = json.loads((INSTANCES / "tiny.json").read_text())
    paths = []
    for label in labels:
        path = directory / f"{label}.json"
        path.write_text(json.dumps({**data, "name": label}))
        paths.append(path)
    return paths


@contextmanager
def ray_environment() -> Iterator[None]:
    """The repository root on the path of the Ray workers these tests start (they import
    the test tasks from ``tests.matcher.batch.probes``), and restored after."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), before) if x)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
