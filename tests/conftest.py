"""Shared fixtures: small named instances, loaded once per session."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance

ROOT = Path(__file__).resolve().parent.parent
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
