"""Durable jobs: a SQLite store and the manager that runs jobs on worker processes.

Every state change is committed before it is announced, so a job is never lost:
after a restart finished jobs are readable as they were, queued jobs run, and a
job that was running when the server died is re-queued (or failed once it has
been started ``max_attempts`` times, so a job that kills the server cannot loop).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from matcher.domain.instance import Instance
from matcher.domain.params import Progress, SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import parse_instance
from service.convert import plan_to_proto, progress_to_proto, timestamp
from service.errors import clip
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.workers import (
    STOPPED_KIND,
    PoolClosedError,
    Task,
    TaskCancelledError,
    TaskFailedError,
)

log = logging.getLogger("matcher.jobs")

TERMINAL = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED}
PROGRESS_SAVE_EVERY_S = 1.0  # progress is written to the database at most this often
JANITOR_EVERY_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    state INTEGER NOT NULL,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    instance_json TEXT NOT NULL,
    params_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    expires_at REAL,
    progress BLOB,
    error TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    plan BLOB
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
"""

_COLUMNS = (
    "job_id, state, idempotency_key, instance_name, created_at, started_at, finished_at, "
    "expires_at, progress, error, cancel_requested, attempts"
)


class JobPool(Protocol):
    """What the manager needs of the workers that run jobs: local processes
    (:class:`~service.workers.WorkerPool`) or Ray actors
    (:class:`~service.ray_workers.RayWorkerPool`)."""

    def submit(self, task: Task) -> Future[Plan]: ...

    def cancel(self, task: Task, reason: str) -> None: ...

    def running_pid(self, task_id: str) -> int | None: ...

    def pids(self) -> list[int]: ...

    def close(self, timeout: float = 5.0) -> None: ...


class QueueFullError(Exception):
    pass


class IdempotencyConflictError(Exception):
    pass


class JobNotFoundError(KeyError):
    pass


class JobStore:
    """The jobs table. One connection shared under a lock (SQLite in WAL mode)."""

    def __init__(self, path: Path) -> None:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._tx() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def insert(self, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._tx() as db:
            db.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(row.values()))

    def update(self, job_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE job_id = ?", (*values.values(), job_id))

    def job(self, job_id: str, with_plan: bool = True) -> pb.Job | None:
        cols = _COLUMNS + (", plan" if with_plan else "")
        with self._tx() as db:
            row = db.execute(f"SELECT {cols} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row, with_plan)

    def by_key(self, key: str) -> tuple[str, str] | None:
        """``(job_id, request_hash)`` of the job made for an idempotency key."""
        with self._tx() as db:
            row = db.execute(
                "SELECT job_id, request_hash FROM jobs WHERE idempotency_key = ?", (key,)
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def request(self, job_id: str) -> tuple[str, str]:
        with self._tx() as db:
            row = db.execute(
                "SELECT instance_json, params_json FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return row[0], row[1]

    def ids_in(self, states: set[int]) -> list[str]:
        marks = ", ".join("?" for _ in states)
        with self._tx() as db:
            rows = db.execute(
                f"SELECT job_id FROM jobs WHERE state IN ({marks}) ORDER BY created_at, job_id",
                tuple(states),
            ).fetchall()
        return [r[0] for r in rows]

    def count(self, state: int) -> int:
        with self._tx() as db:
            return int(
                db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (state,)).fetchone()[0]
            )

    def page(self, states: set[int], limit: int, offset: int) -> list[pb.Job]:
        """Jobs newest first; ``states`` are job states (one query variable each) and
        ``offset`` below 2**63 (the caller checks both)."""
        where = f"WHERE state IN ({', '.join('?' for _ in states)})" if states else ""
        with self._tx() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs {where} "
                "ORDER BY created_at DESC, job_id DESC LIMIT ? OFFSET ?",
                (*states, limit, offset),
            ).fetchall()
        return [_job(r, False) for r in rows]

    def delete_expired(self, now: float) -> int:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ?", (now,)
            )
            return cur.rowcount


def _job(row: tuple[Any, ...], with_plan: bool) -> pb.Job:
    job = pb.Job(
        job_id=row[0],
        state=row[1],
        idempotency_key=row[2] or "",
        instance_name=row[3],
        error=row[9],
        cancel_requested=bool(row[10]),
        attempts=row[11],
    )
    for name, value in zip(
        ("created_at", "started_at", "finished_at", "expires_at"), row[4:8], strict=True
    ):
        ts = timestamp(value)
        if ts is not None:
            getattr(job, name).CopyFrom(ts)
    if row[8]:
        job.progress.ParseFromString(row[8])
    if with_plan and row[12]:
        job.plan.ParseFromString(row[12])
    return job


@dataclass
class _Running:
    task: Task
    improvements: int = 0
    saved_at: float = 0.0
    latest: pb.JobProgress | None = None  # newer than the database's by up to a second
    saved: bool = True


class JobManager:
    """Queues jobs, runs them on a :class:`JobPool`, records every change."""

    def __init__(
        self,
        store: JobStore,
        pool: JobPool,
        *,
        max_queued: int,
        ttl_s: float,
        max_attempts: int,
    ) -> None:
        self.store = store
        self.pool = pool
        self.max_queued = max_queued
        self.ttl_s = ttl_s
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._active: dict[str, _Running] = {}
        self._versions: dict[str, int] = {}
        self._closed = threading.Event()
        self._janitor = threading.Thread(target=self._clean, name="job-janitor", daemon=True)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Recover from the previous run, then queue every job still waiting."""
        self.store.delete_expired(time.time())
        for job_id in self.store.ids_in({pb.JOB_STATE_RUNNING}):
            job = self.store.job(job_id, with_plan=False)
            assert job is not None
            if job.attempts >= self.max_attempts:
                self._finish(
                    job_id,
                    pb.JOB_STATE_FAILED,
                    error=f"the server stopped while the job ran, {job.attempts} times; "
                    "not retried again",
                )
            else:
                self.store.update(
                    job_id,
                    state=pb.JOB_STATE_QUEUED,
                    error=f"re-queued: the server stopped while attempt {job.attempts} ran",
                )
                log.warning("job re-queued after a restart", extra={"job_id": job_id})
        for job_id in self.store.ids_in({pb.JOB_STATE_QUEUED}):
            instance_json, params_json = self.store.request(job_id)
            try:
                instance = parse_instance(json.loads(instance_json))
                params = SolveParams.model_validate_json(params_json)
            except Exception as exc:  # stored by an older version and no longer valid
                self._finish(job_id, pb.JOB_STATE_FAILED, error=f"cannot re-read the job: {exc}")
                continue
            self._enqueue(job_id, instance, params)
        self._janitor.start()

    def close(self) -> None:
        """Stop the workers; running jobs go back to the queue for the next start."""
        self._closed.set()
        with self._lock:
            running = list(self._active)
        for job_id in running:
            job = self.store.job(job_id, with_plan=False)
            if job is not None and job.state == pb.JOB_STATE_RUNNING:
                self.store.update(
                    job_id, state=pb.JOB_STATE_QUEUED, error="re-queued: the server shut down"
                )
        self.pool.close()

    def _clean(self) -> None:
        while not self._closed.wait(JANITOR_EVERY_S):
            try:
                removed = self.store.delete_expired(time.time())
                if removed:
                    log.info("expired jobs removed", extra={"count": removed})
            except Exception:
                log.exception("job janitor failed")

    # ------------------------------------------------------------------ requests

    def submit(
        self, instance: Instance, params: SolveParams, key: str, request_hash: str
    ) -> pb.Job:
        with self._lock:
            if key and (found := self.store.by_key(key)) is not None:
                job_id, stored_hash = found
                if stored_hash != request_hash:
                    raise IdempotencyConflictError(
                        f"idempotency key '{clip(key)}' was used by job {job_id} for another "
                        "request"
                    )
                job = self.store.job(job_id)
                assert job is not None
                return job
            queued = self.store.count(pb.JOB_STATE_QUEUED)
            if queued >= self.max_queued:
                raise QueueFullError(f"{queued} jobs are queued, the limit is {self.max_queued}")
            job_id = uuid.uuid4().hex
            self.store.insert(
                {
                    "job_id": job_id,
                    "state": pb.JOB_STATE_QUEUED,
                    "idempotency_key": key or None,
                    "request_hash": request_hash,
                    "instance_name": instance.name,
                    "instance_json": instance.model_dump_json(exclude_none=True),
                    "params_json": params.model_dump_json(),
                    "created_at": time.time(),
                }
            )
        self._enqueue(job_id, instance, params)
        job = self.store.job(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, with_plan: bool = True) -> pb.Job:
        job = self.store.job(job_id, with_plan)
        if job is None:
            raise JobNotFoundError(job_id)
        with self._lock:
            running = self._active.get(job_id)
            latest = running.latest if running is not None else None
        if latest is not None and job.state == pb.JOB_STATE_RUNNING:
            job.progress.CopyFrom(latest)
        return job

    def instance(self, job_id: str) -> Instance:
        """The instance a job was submitted with, as stored (validated at submission)."""
        instance_json, _ = self.store.request(job_id)
        return parse_instance(json.loads(instance_json))

    def list(self, states: set[int], limit: int, offset: int) -> list[pb.Job]:
        return self.store.page(states, limit, offset)

    def queued(self) -> int:
        return self.store.count(pb.JOB_STATE_QUEUED)

    def cancel(self, job_id: str, wait_s: float) -> pb.Job:
        """Ask the job to stop; waits up to ``wait_s`` for it to end."""
        job = self.get(job_id, with_plan=False)
        if job.state in TERMINAL:
            return self.get(job_id)
        self.store.update(job_id, cancel_requested=1)
        with self._lock:
            running = self._active.get(job_id)
        if running is not None:
            self.pool.cancel(running.task, "cancelled by the client")
        if job.state == pb.JOB_STATE_QUEUED:  # not started: ends now, not when a worker frees
            self._finish(job_id, pb.JOB_STATE_CANCELLED, error="cancelled before it started")
        self._bump(job_id)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            seen = self.version(job_id)
            current = self.store.job(job_id, with_plan=False)
            if current is None or current.state in TERMINAL:
                break
            self.wait_change(job_id, seen, min(0.5, max(0.0, deadline - time.monotonic())))
        return self.get(job_id)

    # --------------------------------------------------------------- watching

    def version(self, job_id: str) -> int:
        """A counter that moves whenever the job changes (call with the lock held or not)."""
        return self._versions.get(job_id, 0)

    def wait_change(self, job_id: str, seen: int, timeout: float) -> int:
        with self._lock:
            self._changed.wait_for(lambda: self.version(job_id) != seen, timeout)
            return self.version(job_id)

    def _bump(self, job_id: str) -> None:
        with self._lock:
            self._versions[job_id] = self._versions.get(job_id, 0) + 1
            self._changed.notify_all()

    # ---------------------------------------------------------------- running

    def _enqueue(self, job_id: str, instance: Instance, params: SolveParams) -> None:
        task = Task(id=job_id, instance=instance, params=params)
        running = _Running(task)
        task.on_start = lambda: self._started(job_id)
        task.on_progress = lambda p: self._progress(job_id, running, p)
        with self._lock:
            self._active[job_id] = running
        task.future.add_done_callback(lambda f: self._done(job_id, f))
        self.pool.submit(task)
        self._bump(job_id)

    def _started(self, job_id: str) -> None:
        job = self.store.job(job_id, with_plan=False)
        if job is None or job.state != pb.JOB_STATE_QUEUED:
            return  # cancelled while a worker picked it up: the solve is being stopped
        attempts = job.attempts + 1
        self.store.update(
            job_id, state=pb.JOB_STATE_RUNNING, started_at=time.time(), attempts=attempts
        )
        self._bump(job_id)

    def _progress(self, job_id: str, running: _Running, progress: Progress) -> None:
        running.improvements += 1
        message = progress_to_proto(progress, running.improvements)
        now = time.monotonic()
        with self._lock:
            running.latest = message
            save = now - running.saved_at >= PROGRESS_SAVE_EVERY_S
            running.saved = save
            if save:
                running.saved_at = now
        if save:
            self.store.update(job_id, progress=message.SerializeToString())
        self._bump(job_id)

    def _done(self, job_id: str, future: Future[Plan]) -> None:
        with self._lock:
            running = self._active.pop(job_id, None)
        if running is not None and running.latest is not None and not running.saved:
            self.store.update(job_id, progress=running.latest.SerializeToString())
        job = self.store.job(job_id, with_plan=False)
        if job is not None and job.state in TERMINAL:  # cancelled while queued
            if future.exception() is None:  # ... but a worker had started it: keep its plan
                self.store.update(job_id, plan=plan_to_proto(future.result()).SerializeToString())
                self._bump(job_id)
            return
        try:
            plan = future.result()
        except PoolClosedError:
            return  # close() re-queued it for the next start
        except TaskCancelledError as exc:
            self._finish(job_id, pb.JOB_STATE_CANCELLED, error=f"{exc} before it started")
        except TaskFailedError as exc:
            if exc.kind == STOPPED_KIND:  # cancelled while the problem compiled
                self._finish(job_id, pb.JOB_STATE_CANCELLED, error=str(exc))
            else:
                self._finish(job_id, pb.JOB_STATE_FAILED, error=f"{exc.kind}: {exc}")
        except Exception as exc:
            self._finish(job_id, pb.JOB_STATE_FAILED, error=str(exc))
        else:
            requested = running is not None and running.task.cancel_reason is not None
            state = pb.JOB_STATE_CANCELLED if requested else pb.JOB_STATE_SUCCEEDED
            error = (
                "cancelled by the client; the plan is the best found before" if requested else ""
            )
            self._finish(job_id, state, error=error, plan=plan)

    def _finish(
        self, job_id: str, state: int, *, error: str = "", plan: Plan | None = None
    ) -> None:
        now = time.time()
        values: dict[str, Any] = {
            "state": state,
            "finished_at": now,
            "expires_at": now + self.ttl_s,
            "error": error,
        }
        if plan is not None:
            values["plan"] = plan_to_proto(plan).SerializeToString()
        self.store.update(job_id, **values)
        log.info(
            "job finished",
            extra={"job_id": job_id, "state": pb.JobState.Name(state), "error": error},
        )
        self._bump(job_id)
        with self._lock:
            self._versions.pop(job_id, None)  # watchers see the change, then stop
