"""Job workers on Ray: ``matcher serve --executor ray`` runs the durable jobs as Ray
actors, beside the local :class:`~service.workers.WorkerPool` and with the same
behaviour towards :class:`~service.jobs.JobManager`.

Each slot owns one long-lived actor (it imports the engine once, like a local worker
process) and a thread in the server that feeds it jobs. The actor solves in a thread
of its own, so that its methods answer while it solves: ``start`` hands it a job,
``poll`` waits up to half a second for progress or the end and returns them,
``cancel`` sets the job's :class:`~matcher.domain.params.StopSignal` (the solve stops
and its best plan so far comes back). A plain Ray task could not be told to stop
without being killed, which would lose that plan. The actor is threaded
(``max_concurrency``) so that a cancel is not queued behind a long poll; the order of
``start`` and ``cancel`` is then not guaranteed, so a cancel that overtakes its job is
kept for it. An actor whose process dies (killed, out of memory, its node lost) fails
its job with :class:`~service.workers.WorkerCrashedError` and is replaced for the next
job, as a local worker is. Ray is imported only when this pool connects: it is an
optional extra, and a server with local workers never loads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any

from matcher.app.executor import JOIN_TIMEOUT_S, ExecutorError, RayExecutor
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams, StopSignal
from matcher.domain.plan import Plan
from service.workers import (
    SPAWN_TIMEOUT_S,
    PoolClosedError,
    Task,
    TaskCancelledError,
    TaskFailedError,
    WorkerCrashedError,
    run_task,
)

log = logging.getLogger("matcher.workers")

POLL_WAIT_S = 0.5  # the longest an actor holds a poll open when nothing happens
WAIT_SLICE_S = 0.1  # the slot thread looks at shutdown and deadlines this often
ACTOR_CONCURRENCY = 4  # threads of an actor: a long poll, a cancel, and spare
CPUS_PER_WORKER = 1  # what each actor reserves on the cluster


# ------------------------------------------------------------------ actor side


class JobActor:
    """One job worker on the cluster (made a Ray actor by :class:`RayWorkerPool`).

    Messages have the local worker's shapes: ``("progress", id, Progress)``,
    ``("done", id, Plan)``, ``("error", id, kind, message, issues)``.
    """

    def __init__(self) -> None:
        import matcher.app.pipeline  # noqa: F401  (the engine loads before the actor is ready)

        with contextlib.suppress(ValueError):  # only possible in the main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._outbox: list[tuple[Any, ...]] = []
        self._current: dict[str, StopSignal] = {}
        self._early_cancels: dict[str, str] = {}  # cancels that overtook their job

    def where(self) -> tuple[int, str]:
        """This worker's pid and host: to name it in logs, and for tests to kill it."""
        return os.getpid(), socket.gethostname()

    def start(
        self,
        task_id: str,
        instance: Instance,
        params: SolveParams,
        previous: Plan | None,
        disruption: Disruption | None,
    ) -> None:
        """Begin solving in a thread of the actor and return at once."""
        stop = StopSignal()
        with self._lock:
            self._current[task_id] = stop
            reason = self._early_cancels.pop(task_id, None)
        if reason is not None:
            stop.set(reason)
        args = (task_id, instance, params, previous, disruption, stop)
        threading.Thread(target=self._solve, args=args, name="job-solve", daemon=True).start()

    def cancel(self, task_id: str, reason: str) -> None:
        with self._lock:
            stop = self._current.get(task_id)
            if stop is None:
                self._early_cancels[task_id] = reason
        if stop is not None:
            stop.set(reason)

    def poll(self, wait_s: float) -> list[tuple[Any, ...]]:
        """The messages since the last poll, waiting up to ``wait_s`` for one."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._outbox), wait_s)
            out, self._outbox = self._outbox, []
        return out

    def _send(self, msg: tuple[Any, ...]) -> None:
        with self._changed:
            self._outbox.append(msg)
            self._changed.notify_all()

    def _solve(
        self,
        task_id: str,
        instance: Instance,
        params: SolveParams,
        previous: Plan | None,
        disruption: Disruption | None,
        stop: StopSignal,
    ) -> None:
        try:  # the same task body as a local worker's
            run_task(task_id, instance, params, previous, disruption, stop, self._send)
        finally:
            with self._lock:
                self._current.pop(task_id, None)


# ------------------------------------------------------------------ server side


def _death_text(exc: BaseException, pid: int | None, host: str) -> str:
    """Why the actor is gone, in the words of a local worker's death and Ray's own
    (which cannot say which signal killed a process: the node's raylet only sees its
    connection end)."""
    where = f"the Ray worker process {pid} on {host}" if pid is not None else "the Ray worker"
    text = " ".join(str(exc).split())
    because = re.search(r"The actor is dead because ([^.]*)", text)
    exit_type = re.search(r"Worker exit type: (\w+)", text)
    detail = type(exc).__name__
    if because:
        detail += f": {because.group(1)}"
    if exit_type:
        detail += f", exit type {exit_type.group(1)}"
    return f"{where} died while solving ({detail})"


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """``Kind: first line`` of a Ray error (its later lines are a log excerpt)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _RaySlot:
    """One actor and the thread that feeds it jobs."""

    def __init__(self, pool: RayWorkerPool, index: int) -> None:
        self.pool = pool
        self.name = f"{pool.name}-{index}"
        self.actor: Any = None
        self.pid: int | None = None
        self.host = ""
        self.task: Task | None = None
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def spawn(self) -> None:
        ray = self.pool.ray
        actor = self.pool.actor_class.remote()
        try:
            self.pid, self.host = ray.get(actor.where.remote(), timeout=SPAWN_TIMEOUT_S)
        except Exception as exc:
            with contextlib.suppress(Exception):
                ray.kill(actor)
            if isinstance(exc, ray.exceptions.GetTimeoutError):  # no CPU free on the cluster
                raise RuntimeError(
                    f"Ray worker {self.name} did not start in {SPAWN_TIMEOUT_S:.0f}s"
                ) from None
            raise RuntimeError(
                f"Ray worker {self.name} could not start ({_first_line(exc)})"
            ) from None
        self.actor = actor
        log.info("ray worker started", extra={"worker": self.name, "pid": self.pid})

    def drop(self) -> None:
        """Forget the actor (killing it, if it still lives)."""
        actor, self.actor, self.pid = self.actor, None, None
        if actor is not None:
            with contextlib.suppress(Exception):
                self.pool.ray.kill(actor, no_restart=True)

    def _run(self) -> None:
        while True:
            task = self.pool.queue.get()
            if task is None:
                return
            if task.cancel_reason is not None or task.future.done():
                if not task.future.done():
                    task.future.set_exception(TaskCancelledError(task.cancel_reason or "cancelled"))
                continue
            try:
                self._solve(task)
            except Exception as exc:  # the slot must survive anything
                if not task.future.done():
                    if self.pool.closing:
                        task.future.set_exception(PoolClosedError("the server is shutting down"))
                    else:
                        log.exception("ray worker slot failed", extra={"worker": self.name})
                        task.future.set_exception(exc)
            finally:
                with self.pool.lock:
                    self.task = None

    def _solve(self, task: Task) -> None:
        if self.actor is None:
            self.spawn()
        params = task.params
        if task.stop_at is not None:
            left = task.stop_at - time.monotonic()
            if left <= 0:
                task.future.set_exception(TaskCancelledError("the deadline passed in the queue"))
                return
            params = params.model_copy(update={"time_limit_s": min(params.time_limit_s, left)})
        with self.pool.lock:
            self.task = task
        if task.on_start is not None:
            task.on_start()
        actor = self.actor
        actor.start.remote(task.id, task.instance, params, task.previous, task.disruption)
        if task.cancel_reason is not None:  # cancelled while being handed over
            actor.cancel.remote(task.id, task.cancel_reason)
        errors = self.pool.ray.exceptions
        try:
            self._follow(task, actor)
        except errors.RayError as exc:  # the actor died, or Ray itself failed under it
            if isinstance(exc, errors.RayActorError):
                text = _death_text(exc, self.pid, self.host)
            else:
                text = f"Ray failed while solving ({_first_line(exc)})"
            self.drop()
            if self.pool.closing:
                task.future.set_exception(PoolClosedError("the server is shutting down"))
            else:
                log.error("ray worker died", extra={"worker": self.name, "reason": text})
                task.future.set_exception(WorkerCrashedError(text))

    def _follow(self, task: Task, actor: Any) -> None:
        """Relay the actor's messages until the job ends; sends the deadline's stop."""
        ray = self.pool.ray
        stop_sent = False
        while not task.future.done():
            ref = actor.poll.remote(POLL_WAIT_S)
            while True:
                if self.pool.closing:
                    task.future.set_exception(PoolClosedError("the server is shutting down"))
                    return
                if not stop_sent and task.stop_at is not None and time.monotonic() >= task.stop_at:
                    actor.cancel.remote(task.id, "stopped by the deadline")
                    stop_sent = True
                ready, _ = ray.wait([ref], timeout=WAIT_SLICE_S)
                if ready:
                    break
            for msg in ray.get(ref):  # a dead actor raises RayActorError here
                self._relay(task, msg)

    @staticmethod
    def _relay(task: Task, msg: tuple[Any, ...]) -> None:
        if msg[1] != task.id:
            return
        if msg[0] == "progress" and task.on_progress is not None:
            try:
                task.on_progress(msg[2])
            except Exception:
                log.exception("progress handler failed")
        elif msg[0] == "done":
            task.future.set_result(msg[2])
        elif msg[0] == "error":
            task.future.set_exception(TaskFailedError(msg[2], msg[3], msg[4]))


class RayWorkerPool:
    """``size`` Ray actors sharing one FIFO queue of jobs: the job pool of a server
    started with ``executor="ray"``. The interface is the one :class:`JobManager`
    uses of the local pool (``submit``, ``cancel``, ``running_pid``, ``pids``,
    ``close``).

    :meth:`connect` joins the cluster at ``address`` (or starts a local Ray, shut down
    again by :meth:`close`; a cluster joined by address is only left); call it from a
    thread that lives as long as the pool (the main thread), since a local Ray's
    processes are tied to the thread that starts them.
    """

    def __init__(
        self,
        size: int,
        address: str | None = None,
        name: str = "ray-job",
        init_timeout_s: float = JOIN_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.size = size
        self.connection = RayExecutor(address, init_timeout_s=init_timeout_s)
        self.queue: queue.Queue[Task | None] = queue.Queue()
        self.lock = threading.Lock()
        self.closing = False
        self.ray: Any = None
        self.actor_class: Any = None
        self._slots = [_RaySlot(self, i) for i in range(size)]

    def connect(self) -> None:
        """Join or start Ray and check that the cluster can hold the actors.

        Raises
        ------
        ExecutorError
            Ray is missing, the cluster is unreachable within seconds, or it has fewer
            CPUs than there are job workers (an actor would wait for ever).
        """
        self.connection.connect()
        import ray  # installed: connect() has imported it

        self.ray = ray
        try:
            self.place(self.size)
        except ExecutorError:
            self.connection.close()
            raise
        self.actor_class = self.ray.remote(  # actor options: not in ray.remote's stubs
            num_cpus=CPUS_PER_WORKER,
            max_restarts=0,  # a dead worker fails its job, as a local one does
            max_task_retries=0,
            max_concurrency=ACTOR_CONCURRENCY,
        )(JobActor)

    def place(self, count: int) -> None:
        """Raise :class:`ExecutorError` unless the cluster has the CPUs for ``count``
        actors (each reserves :data:`CPUS_PER_WORKER`)."""
        cpus = float(self.ray.cluster_resources().get("CPU", 0))
        need = count * CPUS_PER_WORKER
        if cpus < need:
            raise ExecutorError(
                f"the Ray cluster has {cpus:g} CPUs and {count} job workers need {need} "
                "(one each): lower --workers or add nodes"
            )

    def start(self) -> None:
        """Start every actor (each imports the engine once) and start feeding them."""
        if self.ray is None:  # not here: this may be a short-lived thread (see the class)
            raise RuntimeError("RayWorkerPool.connect() must be called before start()")
        failures: list[str] = []

        def spawn(slot: _RaySlot) -> None:
            try:
                slot.spawn()
            except Exception as exc:  # reported below, in the caller's thread
                failures.append(str(exc))

        spawners = [threading.Thread(target=spawn, args=(slot,)) for slot in self._slots]
        for t in spawners:
            t.start()
        for t in spawners:
            t.join()
        if failures:
            self.close()
            raise ExecutorError(f"the Ray job workers did not start: {failures[0]}")
        for slot in self._slots:
            slot.thread.start()

    def submit(self, task: Task) -> Future[Plan]:
        if self.closing:
            raise PoolClosedError("the server is shutting down")
        self.queue.put(task)
        return task.future

    def pending(self) -> int:
        return self.queue.qsize()

    def cancel(self, task: Task, reason: str) -> None:
        """Stop ``task``: dropped if it has not started, stopped (keeping its best plan
        so far) if it runs."""
        task.cancel_reason = task.cancel_reason or reason
        with self.lock:
            slot = next((s for s in self._slots if s.task is task), None)
            actor = slot.actor if slot is not None else None
        if actor is not None:
            with contextlib.suppress(Exception):  # a dead actor: its slot reports it
                actor.cancel.remote(task.id, reason)

    def pids(self) -> list[int]:
        """The actors' pids (on their own nodes)."""
        return [pid for slot in self._slots if (pid := slot.pid) is not None]

    def running_pid(self, task_id: str) -> int | None:
        with self.lock:
            for slot in self._slots:
                if slot.task is not None and slot.task.id == task_id:
                    return slot.pid
        return None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the actors, then Ray if this pool started it; tasks still queued or
        running end with ``PoolClosedError``."""
        self.closing = True
        while True:
            try:
                task = self.queue.get_nowait()
            except queue.Empty:
                break
            if task is not None and not task.future.done():
                task.future.set_exception(PoolClosedError("the server is shutting down"))
        for _ in self._slots:
            self.queue.put(None)
        for slot in self._slots:
            if slot.thread.is_alive():
                slot.thread.join(timeout=timeout)
        for slot in self._slots:
            slot.drop()
        self.connection.close()
