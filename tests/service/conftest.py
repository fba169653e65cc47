"""A real server on port 0 (worker processes, SQLite store) and real channels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance
from service.client import MatcherClient
from service.server import RunningServer, create_server
from service.settings import Settings

INSTANCES = Path(__file__).resolve().parents[2] / "instances"


def start(tmp: Path, **overrides: Any) -> RunningServer:
    settings = Settings.load({"port": 0, "db": tmp / "jobs.sqlite3", **overrides}, env={})
    return create_server(settings)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(tmp_path_factory.mktemp("server"))
    yield running
    running.stop(0)


@pytest.fixture()
def client(server: RunningServer) -> Iterator[MatcherClient]:
    with MatcherClient(f"127.0.0.1:{server.port}") as c:
        yield c


@pytest.fixture(scope="session")
def demo() -> Instance:
    return load_instance(INSTANCES / "demo.json")


@pytest.fixture(scope="session")
def tiny_instance() -> Instance:
    return load_instance(INSTANCES / "tiny.json")


def tiny_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INSTANCES / "tiny.json").read_text())
    return data
