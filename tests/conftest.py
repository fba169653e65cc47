"""Shared fixtures: small named instances, loaded once per session."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest on ``args`` in a Python process of its own, from the project's root (for
    tests that need a fresh interpreter or other options); its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


INSTANCES = ROOT / "instances"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def tiny() -> Instance:
    return load_instance(INSTANCES / "tiny.json")


@pytest.fixture()
def tiny_data() -> dict[str, Any]:
    """The tiny instance as raw JSON data, a fresh copy per test to mutate."""
    data: dict[str, Any] = json.loads((INSTANCES / "tiny.json").read_text())
    return copy.deepcopy(data)
