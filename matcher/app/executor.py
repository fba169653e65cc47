"""Where independent tasks run: processes on this machine (``local``, the default) or
tasks on a Ray cluster (``ray``), behind one small interface.

A task is a picklable top-level function and its arguments. :meth:`Executor.run`
yields each task's :class:`TaskOutcome` as it completes; a task that raised, or whose
worker died (killed, out of memory, ``os._exit``), is an outcome with its reason, and
the other tasks go on. Batches, what-if sweeps and later a decomposed solve or the
service's workers all fan out through it (docs/batch.md).

Ray is optional (``pip install -e '.[ray]'``) and imported only inside
:class:`RayExecutor`: a local run never loads it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Literal, Protocol

from matcher.app.heap import tune_collector

ExecutorKind = Literal["local", "ray"]
EXECUTORS: tuple[ExecutorKind, ...] = ("local", "ray")

CONNECT_TIMEOUT_S = 3.0
"""How long the TCP probe of a cluster address may take before it is unreachable."""
JOIN_TIMEOUT_S = 15.0
"""How long joining a Ray cluster may take once its address answers TCP (a healthy
cluster takes a second or two; a port that answers but is no Ray retries for minutes)."""


class ExecutorError(RuntimeError):
    """The executor itself cannot run (an unreachable cluster, Ray not installed)."""


class TaskError(Exception):
    """A task's own, expected failure (bad input): its message is the whole reason,
    reported without the exception's class name."""


@dataclass(frozen=True)
class Call:
    """One task: a label to report it by and the arguments of the function."""

    key: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task: its return value, or why it failed."""

    key: str
    value: Any = None
    error: str | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    """Runs independent tasks and reports each as it completes."""

    name: str

    @property
    def slots(self) -> int:
        """How many one-CPU tasks run at once (``--jobs``, else the CPUs)."""
        ...

    def at_once(self, cpus_per_task: int) -> int:
        """How many tasks of ``cpus_per_task`` CPUs :meth:`run` runs at once."""
        ...

    def run(
        self, fn: Callable[..., Any], calls: Iterable[Call], cpus_per_task: int = 1
    ) -> Iterator[TaskOutcome]:
        """Run ``fn(*call.args)`` for every call; yield outcomes as they complete."""
        ...

    def close(self) -> None:
        """Release the processes or the cluster connection (idempotent)."""
        ...


def make_executor(
    kind: ExecutorKind, jobs: int | None = None, ray_address: str | None = None
) -> Executor:
    """The executor of ``kind``: ``jobs`` tasks at once at most (default: as many as the
    CPUs allow), on the Ray cluster at ``ray_address`` (``ray`` only; default: a local
    Ray started now and shut down by :meth:`Executor.close`).

    Raises
    ------
    ExecutorError
        Ray is not installed, or the cluster cannot be reached within seconds.
    ValueError
        ``ray_address`` with the local executor, or ``jobs`` below 1.
    """
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1 (got {jobs})")
    if kind == "local":
        if ray_address:
            raise ValueError("--ray-address needs --executor ray")
        return LocalExecutor(jobs)
    if kind == "ray":
        return RayExecutor(ray_address, jobs)
    raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")


@contextlib.contextmanager
def opened(
    kind: ExecutorKind, jobs: int | None = None, ray_address: str | None = None
) -> Iterator[Executor]:
    """:func:`make_executor`, closed when the block ends, however it ends."""
    executor = make_executor(kind, jobs, ray_address)
    try:
        yield executor
    finally:
        executor.close()


def cpus() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def failure_text(exc: BaseException) -> str:
    """``Kind: message``: how a task's exception reads in a table (a
    :class:`TaskError`: its message alone)."""
    text = str(exc).strip().splitlines()
    if isinstance(exc, TaskError) and text:
        return " ".join(line.strip() for line in text)
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def exit_text(code: int | None) -> str:
    """Why a worker process ended, from its exit code."""
    if code is None:
        return "the worker process stopped answering"
    if code < 0:
        try:
            return f"the worker process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"the worker process was killed by signal {-code}"
    return f"the worker process exited with code {code}"


# ------------------------------------------------------------------ local processes


def _worker_main(conn: Connection) -> None:
    """A worker process: run task after task from the pipe until told to stop."""
    tune_collector()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args = msg
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as exc:  # report anything the task raised, then go on
            reply = ("error", failure_text(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable return value
            conn.send(("error", f"the result could not be sent back: {failure_text(exc)}"))


@dataclass
class _Slot:
    process: mp.process.BaseProcess
    conn: Connection
    call: Call | None = None
    began: float = 0.0


class LocalExecutor:
    """Tasks in spawned worker processes on this machine, ``jobs`` at a time.

    Each worker is long-lived (it imports the engine once) and runs one task at a
    time, so a worker that dies fails exactly the task it was running; it is replaced
    and the other tasks go on. (``concurrent.futures.ProcessPoolExecutor`` breaks the
    whole pool instead and cannot say which task killed it.)
    """

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs
        self._ctx = mp.get_context("spawn")  # no solver threads or locks are forked
        self._slots: list[_Slot] = []

    @property
    def slots(self) -> int:
        return self.jobs or cpus()

    def at_once(self, cpus_per_task: int) -> int:
        return self.jobs or max(1, cpus() // max(1, cpus_per_task))

    def _start(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child,), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def run(
        self, fn: Callable[..., Any], calls: Iterable[Call], cpus_per_task: int = 1
    ) -> Iterator[TaskOutcome]:
        pending = deque(calls)
        size = max(1, min(self.at_once(cpus_per_task), len(pending)))
        try:
            while pending or any(s.call is not None for s in self._slots):
                self._fill(fn, pending, size)
                busy = [s for s in self._slots if s.call is not None]
                ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy])
                for slot in busy:
                    if slot.conn in ready or slot.process.sentinel in ready:
                        yield self._collect(slot)
        finally:
            self._stop_busy()

    def _fill(self, fn: Callable[..., Any], pending: deque[Call], size: int) -> None:
        """Hand pending calls to idle workers, starting workers up to ``size``."""
        while pending:
            idle = next((s for s in self._slots if s.call is None), None)
            if idle is None and len(self._slots) < size:
                idle = self._start()
                self._slots.append(idle)
            if idle is None:
                return
            call = pending.popleft()
            idle.call, idle.began = call, time.perf_counter()
            # A worker that died while idle fails this send: the wait below reports it.
            with contextlib.suppress(OSError):
                idle.conn.send((fn, call.args))

    def _collect(self, slot: _Slot) -> TaskOutcome:
        call = slot.call
        assert call is not None
        wall = time.perf_counter() - slot.began
        slot.call = None
        try:
            kind, value = slot.conn.recv()
        except (EOFError, OSError):
            slot.process.join(timeout=5)
            reason = exit_text(slot.process.exitcode)
            self._slots.remove(slot)
            slot.conn.close()
            return TaskOutcome(call.key, error=f"{reason} while running the task", wall_s=wall)
        if kind == "ok":
            return TaskOutcome(call.key, value=value, wall_s=wall)
        return TaskOutcome(call.key, error=str(value), wall_s=wall)

    def _stop_busy(self) -> None:
        """Workers still running a task when the caller stopped listening: kill them."""
        for slot in [s for s in self._slots if s.call is not None]:
            slot.process.kill()
            slot.process.join(timeout=5)
            slot.conn.close()
            self._slots.remove(slot)

    def close(self) -> None:
        for slot in self._slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        for slot in self._slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(timeout=5)
            slot.conn.close()
        self._slots = []

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ Ray


def probe_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ExecutorError` unless ``address`` (``host:port`` or
    ``ray://host:port``) accepts a TCP connection within ``timeout_s``: ``ray.init``
    on a dead address retries for a long time before it gives up."""
    target = address.removeprefix("ray://")
    host, sep, port_text = target.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ExecutorError(
            f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379 or ray://host:10001)"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise ExecutorError(
            f"no Ray cluster reachable at {address} ({reason}; waited at most {timeout_s:g} s)"
        ) from None


class RayExecutor:
    """Tasks on a Ray cluster: the one at ``address`` (``ray start --head`` prints it),
    or a local Ray with this machine's CPUs, started on first use and shut down by
    :meth:`close`. A Ray already initialised in this process (a test's fixture) is used
    as it is and left running.

    Tasks are not retried: a task whose worker dies is reported failed, as the local
    executor reports it. Every task asks for ``cpus_per_task`` CPUs, so Ray never runs
    more solver threads than a node has; ``jobs`` caps the tasks in flight besides.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        jobs: int | None = None,
        init_timeout_s: float = JOIN_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.address = address
        self.jobs = jobs
        self.init_timeout_s = init_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._owned = False
        self._ready = False
        self._remote: dict[tuple[Callable[..., Any], int], Any] = {}

    @property
    def slots(self) -> int:
        if self.jobs:
            return self.jobs
        return self._cpus()

    def at_once(self, cpus_per_task: int) -> int:
        """Ray places a task where its CPUs are free: the cluster's CPUs a task's worth
        at a time, at most ``--jobs`` (submitted at once, :meth:`run`)."""
        most = max(1, self._cpus() // max(1, cpus_per_task))
        return min(self.jobs, most) if self.jobs else most

    def _cpus(self) -> int:
        if self._ready:
            ray = _import_ray()
            return max(1, int(ray.cluster_resources().get("CPU", 1)))
        return cpus()

    def connect(self) -> None:
        """Join the cluster (or start the local one) now rather than on the first task.

        Raises
        ------
        ExecutorError
            Ray is missing, the address does not answer within ``connect_timeout_s``, or
            joining takes longer than ``init_timeout_s``.
        """
        if self._ready:
            return
        ray = _import_ray()
        if ray.is_initialized():
            self._ready = True
            return
        if self.address and self.address != "auto":
            probe_address(self.address, self.connect_timeout_s)
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            # Ray's own notices (token authentication, thread handlers) are not the
            # user's concern here; its errors still show.
            "logging_level": "error",
            # Every worker of this job sets the collector's thresholds first, as the
            # local executor's workers do (matcher.app.heap).
            "runtime_env": {"worker_process_setup_hook": "matcher.app.heap.tune_collector"},
        }
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs["num_cpus"] = cpus()
            # Ray runs its workers at nice 15 so that its own daemons stay responsive on
            # a dedicated node. On a machine shared with other work (this one, a
            # laptop) that made solves 1.5 to 2x slower than the local executor's
            # processes at nice 0 (docs/batch.md); a Ray started for one run matches them.
            kwargs["_system_config"] = {"worker_niceness": 0}
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        try:
            if self.address:
                self._join_bounded(ray, kwargs, where)
            else:
                # A local Ray is started from this thread: Ray ties its processes to the
                # thread that starts them (they die with it), and nothing remote can hang.
                ray.init(**kwargs)
        except ExecutorError:
            raise
        except Exception as exc:
            raise ExecutorError(f"could not start {where}: {failure_text(exc)}") from None
        self._owned = True
        self._ready = True

    def _join_bounded(self, ray: Any, kwargs: dict[str, Any], where: str) -> None:
        """``ray.init`` on a cluster address, given at most ``init_timeout_s``: it has no
        overall deadline of its own, and an address that answers TCP but never completes
        the handshake must be an error, not a hang. (Joining starts no local process, so
        the helper thread may end.)"""
        failure: list[BaseException] = []

        def init() -> None:
            try:
                ray.init(**kwargs)
            except BaseException as exc:  # reported by the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=init, name="ray-init", daemon=True)
        thread.start()
        thread.join(self.init_timeout_s)
        if thread.is_alive():
            raise ExecutorError(f"could not join {where} within {self.init_timeout_s:g} s")
        if failure:
            raise ExecutorError(f"could not join {where}: {failure_text(failure[0])}")

    def run(
        self, fn: Callable[..., Any], calls: Iterable[Call], cpus_per_task: int = 1
    ) -> Iterator[TaskOutcome]:
        self.connect()
        ray = _import_ray()
        largest = max(
            (n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0
        )
        if cpus_per_task > largest:
            # Ray would keep such a task pending for ever, waiting for a node to join.
            raise ExecutorError(
                f"each task asks for {cpus_per_task} CPUs (--workers) and the largest node of "
                f"the cluster has {largest:g}: lower --workers"
            )
        remote = self._remote_of(fn, cpus_per_task)
        pending = deque(calls)
        limit = self.jobs or len(pending) or 1
        flight: dict[Any, tuple[Call, float]] = {}
        try:
            while pending or flight:
                while pending and len(flight) < limit:
                    call = pending.popleft()
                    flight[remote.remote(*call.args)] = (call, time.perf_counter())
                done, _ = ray.wait(list(flight), num_returns=1)
                for ref in done:
                    call, began = flight.pop(ref)
                    yield self._outcome(ray, ref, call, time.perf_counter() - began)
        finally:
            for ref in flight:  # the caller stopped listening
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)

    def _remote_of(self, fn: Callable[..., Any], cpus: int) -> Any:
        ray = _import_ray()
        key = (fn, cpus)
        if key not in self._remote:
            self._remote[key] = ray.remote(num_cpus=cpus, max_retries=0, retry_exceptions=False)(fn)
        return self._remote[key]

    @staticmethod
    def _outcome(ray: Any, ref: Any, call: Call, wall: float) -> TaskOutcome:
        errors = ray.exceptions
        try:
            value = ray.get(ref)
        except errors.RayTaskError as exc:  # the task raised: report its own exception
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            text = failure_text(cause) if cause is not exc else _first_line(exc)
            return TaskOutcome(call.key, error=text, wall_s=wall)
        except errors.WorkerCrashedError:
            return TaskOutcome(
                call.key, error="the Ray worker died while running the task", wall_s=wall
            )
        except errors.RayError as exc:  # node died, out of memory, cancelled, ...
            return TaskOutcome(
                call.key, error=f"{type(exc).__name__}: {_first_line(exc)}", wall_s=wall
            )
        return TaskOutcome(call.key, value=value, wall_s=wall)

    def close(self) -> None:
        if self._owned:
            ray = _import_ray()
            ray.shutdown()
        self._owned = self._ready = False
        self._remote.clear()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(exc).__name__


def _import_ray() -> Any:
    """Ray, imported on first use: it is an optional extra, and a local run should not
    pay its import (docs/architecture.md, "Imports inside functions")."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            f"--executor ray needs Ray: pip install -e '.[ray]' ({failure_text(exc)})"
        ) from None
    return ray


__all__ = [
    "EXECUTORS",
    "Call",
    "Executor",
    "ExecutorError",
    "ExecutorKind",
    "LocalExecutor",
    "RayExecutor",
    "TaskError",
    "TaskOutcome",
    "exit_text",
    "failure_text",
    "make_executor",
    "probe_address",
]
