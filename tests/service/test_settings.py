"""Settings of ``matcher serve``: where the job workers run, from the environment or flags."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings, describe_error


def test_the_job_workers_are_local_unless_told_otherwise() -> None:
    settings = Settings.load(env={})
    assert (settings.executor, settings.ray_address) == ("local", None)


def test_the_executor_and_ray_address_come_from_the_environment_and_flags_win() -> None:
    env = {"MATCHER_EXECUTOR": "ray", "MATCHER_RAY_ADDRESS": "10.0.0.5:6379"}
    assert Settings.load(env=env).ray_address == "10.0.0.5:6379"
    flagged = Settings.load({"ray_address": "head:6379"}, env=env)
    assert (flagged.executor, flagged.ray_address) == ("ray", "head:6379")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"executor": "dask"}, "--executor / MATCHER_EXECUTOR: Input should be 'local' or 'ray'"),
        (
            {"ray_address": "head:6379"},
            "--ray-address / MATCHER_RAY_ADDRESS: Value error, needs --executor ray",
        ),
    ],
)
def test_an_unknown_executor_or_an_address_without_ray_is_refused_by_name(
    overrides: dict[str, str], expected: str
) -> None:
    with pytest.raises(ValidationError) as err:
        Settings.load(overrides, env={})
    assert any(line.startswith(expected) for line in describe_error(err.value))
