"""Server settings: defaults, then ``MATCHER_*`` environment variables, then flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

ENV_PREFIX = "MATCHER_"


class Settings(BaseModel):
    """Everything ``matcher serve`` can be told. Each field is also read from the
    environment variable ``MATCHER_<FIELD>`` (``MATCHER_PORT=50051``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=50051, ge=0, le=65535, description="0 picks a free port.")
    db: Path = Field(default=Path("matcher-jobs.sqlite3"), description="SQLite job store.")
    workers: int = Field(default=1, ge=1, le=64, description="Jobs solved at the same time.")
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where the job workers run: local processes, or actors on a Ray cluster "
        "(unary solves stay local).",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster to join (executor ray); unset: a local Ray started "
        "with the server and stopped with it.",
    )
    solve_workers: int = Field(
        default=2, ge=1, le=64, description="Worker processes for unary Solve calls."
    )
    max_queued_jobs: int = Field(default=100, ge=1, description="Back-pressure threshold.")
    max_pending_solves: int = Field(
        default=64, ge=1, description="Unary solves waiting for a worker before refusing."
    )
    max_orders: int = Field(default=100_000, ge=1, description="Larger instances are refused.")
    max_list_items: int = Field(
        default=100_000,
        ge=1,
        description="Entries in any one list or map of a request's instance, order or "
        "disruption (the orders list excepted: max_orders).",
    )
    max_streams: int = Field(
        default=64, ge=1, le=10_000, description="WatchJob streams open at once, all clients."
    )
    max_streams_per_client: int = Field(
        default=16, ge=1, le=10_000, description="WatchJob streams open at once from one address."
    )
    max_message_mb: int = Field(default=64, ge=1, le=2000)
    job_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0, description="Finished job retention.")
    max_attempts: int = Field(
        default=3, ge=1, description="Starts of a job before a restart-interrupted job fails."
    )
    max_time_limit_s: float = Field(default=3600.0, gt=0, description="Cap on time_limit_s.")
    token: str | None = Field(default=None, description="Bearer token required when set.")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str | None = Field(
        default=None, description="Interface of the metrics port (unset: host)."
    )
    grace_s: float = Field(default=5.0, ge=0, description="Shutdown grace for running calls.")
    log_level: str = "INFO"

    @field_validator("ray_address")
    @classmethod
    def _ray_address_needs_ray(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An address with the local executor would be silently ignored: refuse it."""
        if value and info.data.get("executor", "local") != "ray":
            raise ValueError("needs --executor ray (MATCHER_EXECUTOR=ray)")
        return value or None

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults < environment < ``overrides`` (flags given on the command line)."""
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                data[name] = raw
        data.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.model_validate(data)


def describe_error(err: ValidationError) -> list[str]:
    """Settings errors named as the user set them (flag or environment variable)."""
    out = []
    for e in err.errors(include_url=False):
        name = str(e["loc"][0]) if e["loc"] else ""
        out.append(f"--{name.replace('_', '-')} / {ENV_PREFIX}{name.upper()}: {e['msg']}")
    return out
