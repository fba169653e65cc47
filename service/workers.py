"""Solver worker processes: a crashing solve never takes the server down.

Each slot owns one long-lived process (spawned, so no gRPC state is forked) that
imports the engine once and then solves task after task (a solve, or a re-plan when
the task carries a previous plan and a disruption). The parent talks to it
over a pipe: ``solve`` and ``cancel`` go in; ``progress``, ``done`` and ``error``
come out. A cancel sets the task's :class:`~matcher.domain.params.StopSignal` in the
worker, so the solver stops and the best plan so far still comes back. A process
that dies (segfault, out of memory, SIGKILL) fails its task with the exit code and
is replaced.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from matcher.app.executor import exit_text
from matcher.domain.consistency import Issue
from matcher.domain.events import Disruption
from matcher.domain.instance import Instance
from matcher.domain.params import Progress, SolveParams, StopSignal
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError

log = logging.getLogger("matcher.workers")

PROGRESS_EVERY_S = 0.25  # the worker forwards at most this often (the first at once)
SPAWN_TIMEOUT_S = 120.0
SOLVE_S_PRIOR = 0.5  # the assumed length of a solve before any has finished
SOLVE_S_WEIGHT = 0.2  # weight of the newest solve in the running mean of their lengths


class TaskFailedError(Exception):
    """The solve raised in the worker; ``kind`` is the exception's class name and
    ``issues`` those of an ``InvalidInstanceError`` (a re-plan's previous plan that
    does not fit its instance)."""

    def __init__(self, kind: str, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.issues = issues or []


STOPPED_KIND = "CompileStoppedError"
"""The kind of a :class:`TaskFailedError` stopped (deadline, cancel) before it had any
plan (``solvers.assignment.problem.CompileStoppedError``: the engine is not imported
in the server process)."""


class WorkerCrashedError(Exception):
    """The worker process died while solving the task."""


class TaskCancelledError(Exception):
    """Cancelled before any worker started it."""


class PoolClosedError(Exception):
    """The pool shut down before the task finished."""


@dataclass
class Task:
    id: str
    instance: Instance
    params: SolveParams
    previous: Plan | None = None  # with disruption: a re-plan
    disruption: Disruption | None = None
    on_start: Callable[[], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    stop_at: float | None = None  # time.monotonic() at which the solve is told to stop
    future: Future[Plan] = field(default_factory=Future)
    cancel_reason: str | None = None


# ------------------------------------------------------------------ worker side


class _Child:
    """The worker process: a reader thread takes messages while the main thread solves."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.send_lock = threading.Lock()
        self.tasks: queue.Queue[
            tuple[str, Instance, SolveParams, Plan | None, Disruption | None] | None
        ] = queue.Queue()
        self.lock = threading.Lock()
        self.current: dict[str, StopSignal] = {}
        self.early_cancels: dict[str, str] = {}  # cancels that overtook their task

    def send(self, msg: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(msg)

    def read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone: nobody wants the answer
            if msg[0] == "solve":
                self.tasks.put(msg[1:])
            elif msg[0] == "cancel":
                with self.lock:
                    stop = self.current.get(msg[1])
                    if stop is None:
                        self.early_cancels[msg[1]] = msg[2]
                if stop is not None:
                    stop.set(msg[2])
            elif msg[0] == "exit":
                self.tasks.put(None)
                return

    def solve(
        self,
        task_id: str,
        instance: Instance,
        params: SolveParams,
        previous: Plan | None = None,
        disruption: Disruption | None = None,
    ) -> None:
        stop = StopSignal()
        with self.lock:
            self.current[task_id] = stop
            reason = self.early_cancels.pop(task_id, None)
        if reason is not None:
            stop.set(reason)
        try:
            run_task(task_id, instance, params, previous, disruption, stop, self.send)
        finally:
            with self.lock:
                self.current.pop(task_id, None)


def run_task(
    task_id: str,
    instance: Instance,
    params: SolveParams,
    previous: Plan | None,
    disruption: Disruption | None,
    stop: StopSignal,
    send: Callable[[tuple[Any, ...]], None],
) -> None:
    """Solve ``instance`` (re-plan ``previous`` after ``disruption`` when both are
    given) and report through ``send``: ``progress`` at most every
    :data:`PROGRESS_EVERY_S`, then ``done`` with the plan or ``error`` with the
    exception's kind, text and issues. The body of a task in every kind of worker (a
    local process here, a Ray actor in :mod:`service.ray_workers`)."""
    # The engine is imported in the worker only (see _worker_main).
    from matcher.app.pipeline import plan

    last = -1.0

    def progress(p: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            send(("progress", task_id, p))

    try:
        if previous is not None and disruption is not None:
            from matcher.app.replan import replan

            result = replan(instance, previous, disruption, params, progress, stop)
        else:
            result = plan(instance, params, progress, stop)
    except InvalidInstanceError as exc:
        send(("error", task_id, type(exc).__name__, str(exc), exc.issues))
    except Exception as exc:
        if type(exc).__name__ != STOPPED_KIND:  # a stop before any plan is no fault
            traceback.print_exc()
        send(("error", task_id, type(exc).__name__, str(exc), []))
    else:
        send(("done", task_id, result))


def _worker_main(conn: Connection) -> None:  # pragma: no cover - runs in the child
    """Solve tasks from ``conn`` until told to exit or the parent goes away."""
    import matcher.app.pipeline  # noqa: F401  (import the engine before saying ready)
    from matcher.app.heap import tune_collector

    tune_collector()

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    child = _Child(conn)
    threading.Thread(target=child.read, name="worker-reader", daemon=True).start()
    child.send(("ready", os.getpid()))
    while (item := child.tasks.get()) is not None:
        child.solve(*item)


# ------------------------------------------------------------------ parent side


class _Slot:
    """One worker process and the thread that feeds it tasks."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.name = f"{pool.name}-{index}"
        self.process: mp.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.task: Task | None = None
        self.began = 0.0  # time.monotonic() at which the running task started
        self.bound = 0.0  # ... and by which it must have stopped
        self.send_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child,), name=self.name, daemon=True)
        process.start()
        child.close()
        if not parent.poll(SPAWN_TIMEOUT_S):
            process.kill()
            raise RuntimeError(f"worker {self.name} did not start in {SPAWN_TIMEOUT_S:.0f}s")
        parent.recv()  # ("ready", pid)
        self.process, self.conn = process, parent
        log.info("worker started", extra={"worker": self.name, "pid": process.pid})

    def send(self, msg: tuple[Any, ...]) -> None:
        with self.send_lock:
            if self.conn is not None:
                self.conn.send(msg)

    def _run(self) -> None:
        while True:
            task = self.pool._queue.get()
            if task is None:
                return
            if task.cancel_reason is not None or task.future.done():
                if not task.future.done():
                    task.future.set_exception(TaskCancelledError(task.cancel_reason or "cancelled"))
                continue
            try:
                self._solve(task)
            except Exception as exc:  # the slot must survive anything
                log.exception("worker slot failed", extra={"worker": self.name})
                if not task.future.done():
                    task.future.set_exception(exc)

    def _solve(self, task: Task) -> None:
        if self.process is None or not self.process.is_alive():
            self.spawn()
        process, conn = self.process, self.conn
        assert process is not None and conn is not None
        params = task.params
        if task.stop_at is not None:
            left = task.stop_at - time.monotonic()
            if left <= 0:
                task.future.set_exception(TaskCancelledError("the deadline passed in the queue"))
                return
            params = params.model_copy(update={"time_limit_s": min(params.time_limit_s, left)})
        with self.pool._lock:
            self.task = task
            if self.pool._draining is not None:  # taken from the queue as drain() ran
                task.cancel_reason = task.cancel_reason or self.pool._draining
        if task.on_start is not None:
            task.on_start()
        began = time.monotonic()
        with self.pool._lock:
            self.began, self.bound = began, began + params.time_limit_s
        self.send(("solve", task.id, task.instance, params, task.previous, task.disruption))
        if task.cancel_reason is not None:  # cancelled while being handed over
            self.send(("cancel", task.id, task.cancel_reason))
        try:
            self._follow(task, process, conn)
        except (EOFError, OSError):
            process.join(timeout=5)
            self.process, self.conn = None, None
            if self.pool._closing:
                task.future.set_exception(PoolClosedError("the server is shutting down"))
            else:
                text = exit_text(process.exitcode)
                log.error("worker died", extra={"worker": self.name, "exit_code": process.exitcode})
                task.future.set_exception(WorkerCrashedError(f"{text} while solving"))
        finally:
            with self.pool._lock:
                self.task = None
                self.pool._observe(time.monotonic() - began)

    def _follow(self, task: Task, process: mp.process.BaseProcess, conn: Connection) -> None:
        """Relay the worker's messages until the task ends; sends the deadline's stop."""
        stop_sent = False
        while not task.future.done():
            if self.pool._closing:
                task.future.set_exception(PoolClosedError("the server is shutting down"))
                return
            if not stop_sent and task.stop_at is not None and time.monotonic() >= task.stop_at:
                self.send(("cancel", task.id, "stopped by the deadline"))
                stop_sent = True
            if not conn.poll(0.05):
                if not process.is_alive():
                    raise EOFError
                continue
            msg = conn.recv()
            if msg[0] == "progress" and task.on_progress is not None:
                try:
                    task.on_progress(msg[2])
                except Exception:
                    log.exception("progress handler failed")
            elif msg[0] == "done":
                task.future.set_result(msg[2])
            elif msg[0] == "error":
                task.future.set_exception(TaskFailedError(msg[2], msg[3], msg[4]))


class WorkerPool:
    """``size`` worker processes sharing one FIFO queue of tasks."""

    def __init__(self, size: int, name: str = "worker") -> None:
        self.name = name
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closing = False
        self._draining: str | None = None  # drain()'s reason, once called
        self._slots = [_Slot(self, i) for i in range(size)]
        self._solve_s = SOLVE_S_PRIOR  # running mean of the solves' lengths

    def _observe(self, seconds: float) -> None:
        """A solve took ``seconds`` (called under ``_lock``)."""
        self._solve_s += SOLVE_S_WEIGHT * (seconds - self._solve_s)

    def mean_solve_s(self) -> float:
        """How long a solve has lately taken, start to answer."""
        with self._lock:
            return self._solve_s

    def expected_wait(self) -> float:
        """Seconds a task submitted now is expected to wait for a worker. A running
        solve is expected to take the mean length, or, once it has run longer (a large
        one), until its time limit or deadline; a queued one the mean length, or less
        when its deadline comes first. The queue is handed to the earliest free worker."""
        now = time.monotonic()
        with self._lock:
            mean = self._solve_s
            free = []
            for slot in self._slots:
                if slot.task is None:
                    free.append(0.0)
                elif now - slot.began < mean:
                    free.append(mean - (now - slot.began))
                else:
                    free.append(max(0.0, slot.bound - now))
        queued = [t for t in list(self._queue.queue) if t is not None]
        for task in queued:
            length = mean
            if task.stop_at is not None:
                length = min(length, max(0.0, task.stop_at - now))
            k = free.index(min(free))
            free[k] += length
        return min(free)

    def start(self) -> None:
        """Spawn every process (each imports the engine once) and start feeding them."""
        spawners = [threading.Thread(target=slot.spawn) for slot in self._slots]
        for t in spawners:
            t.start()
        for t in spawners:
            t.join()
        for slot in self._slots:
            slot.thread.start()

    def submit(self, task: Task) -> Future[Plan]:
        if self._closing or self._draining is not None:
            raise PoolClosedError("the server is shutting down")
        self._queue.put(task)
        return task.future

    def pending(self) -> int:
        """Tasks waiting for a worker."""
        return self._queue.qsize()

    def cancel(self, task: Task, reason: str) -> None:
        """Stop ``task``: dropped if it has not started, stopped (keeping its best plan
        so far) if it runs."""
        task.cancel_reason = task.cancel_reason or reason
        with self._lock:
            slot = next((s for s in self._slots if s.task is task), None)
        if slot is not None:
            slot.send(("cancel", task.id, reason))

    def pids(self) -> list[int]:
        return [pid for slot in self._slots if (pid := slot.pid) is not None]

    def running_pid(self, task_id: str) -> int | None:
        with self._lock:
            for slot in self._slots:
                if slot.task is not None and slot.task.id == task_id:
                    return slot.pid
        return None

    def drain(self, reason: str) -> None:
        """Finish early: refuse new tasks, end the queued ones (``PoolClosedError``), and
        tell each running solve to stop, so that it ends at once with its best plan so
        far (a solve cannot be stopped during work that is not a solver call, such as
        the greedy construction of the first plan)."""
        with self._lock:
            self._draining = reason
            running = [slot.task for slot in self._slots if slot.task is not None]
        self._drop_queued()
        for task in running:
            self.cancel(task, reason)

    def _drop_queued(self) -> None:
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task is not None and not task.future.done():
                task.future.set_exception(PoolClosedError("the server is shutting down"))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the processes; tasks still queued or running end with ``PoolClosedError``."""
        self._closing = True
        self._drop_queued()
        for _ in self._slots:
            self._queue.put(None)
        for slot in self._slots:
            process = slot.process
            if process is None:
                continue
            with contextlib.suppress(OSError, ValueError):
                slot.send(("exit",))
            process.join(timeout=0.2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=timeout)
            if process.is_alive():
                process.kill()
        for slot in self._slots:
            if slot.thread.is_alive():
                slot.thread.join(timeout=timeout)
