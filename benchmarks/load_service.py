"""Load benchmark of the unary ``Solve`` RPC: throughput, latency, errors and memory.

``--clients`` threads, each with its own :class:`~service.client.MatcherClient` (own
channel), call ``Solve`` back to back on one seeded generated instance
(``matcher.generate.generate``) for ``--seconds`` seconds after a short warm-up that is
not counted. Every call is timed on the client with ``time.perf_counter``; the plan
status and errors (by gRPC status code) are counted. Unless ``--address`` is given, a
real server is started in this process on a free port, and the resident memory
(VmRSS) of this process (server and clients) and of the server's worker processes is
sampled every 0.5 s. The result is printed as a table, checked against the load
targets (p50 <= 100 ms, p99 <= 300 ms, >= 30 req/s) and optionally written as JSON.

    .venv/bin/python -m benchmarks.load_service [--clients 8] [--seconds 30] \\
        [--orders 30] [--factories 10] [--periods 14] [--seed 3] [--solve-workers 2] \\
        [--time-limit S] [--workers N] [--solve-seed N] [--timeout S] [--json OUT] \\
        [--address HOST:PORT]

``--time-limit``, ``--workers``, ``--solve-seed`` and ``--solver`` become ``time_limit_s``,
``workers``, ``seed`` and ``assignment_solver`` of the request (``--solver greedy``
measures what the service itself costs, the solve being a few milliseconds); unset, the
server's defaults apply. ``--timeout`` is the client deadline of each call (default 120 s).

Throughput counts the successful calls that completed inside the measured window,
wherever they started, divided by its length (failed calls are reported apart, never as
throughput); latency figures cover every call started inside the window (threads stop
starting calls when it closes and let the running one finish). The server's own
``elapsed_s`` (queue wait and solve) and the plan's solver wall time are reported beside
the client latency, so that queueing can be told apart from solving.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from rich.console import Console
from rich.table import Table

from matcher.generate import generate
from service.client import MatcherClient
from service.convert import instance_to_proto
from service.gen.matcher.v1 import matcher_pb2 as pb

WARMUP_S = 2.0
SAMPLE_EVERY_S = 0.5
TARGET_P50_MS = 100.0
TARGET_P99_MS = 300.0
TARGET_RPS = 30.0


@dataclass
class Call:
    start: float  # time.perf_counter() when the call was made
    end: float
    outcome: str  # the plan status (SOLVE_STATUS_...) or the gRPC error code name
    ok: bool
    server_s: float | None = None  # SolveResponse.elapsed_s (queue wait + solve)
    solve_s: float | None = None  # sum of the plan's stage wall times (solver alone)

    @property
    def latency_ms(self) -> float:
        return (self.end - self.start) * 1000.0


@dataclass
class MemorySeries:
    """VmRSS samples (MB) of one process."""

    role: str
    pid: int
    times: list[float] = field(default_factory=list)  # time.perf_counter() of each sample
    samples: list[float] = field(default_factory=list)

    def summary(self, window_start: float) -> dict[str, Any]:
        s = self.samples
        if not s:
            return {"role": self.role, "pid": self.pid, "samples": 0}
        at_t0 = next((v for t, v in zip(self.times, s, strict=True) if t >= window_start), s[-1])
        return {
            "role": self.role,
            "pid": self.pid,
            "samples": len(s),
            "first_mb": round(s[0], 1),
            "window_start_mb": round(at_t0, 1),
            "last_mb": round(s[-1], 1),
            "peak_mb": round(max(s), 1),
            "growth_in_window_mb": round(s[-1] - at_t0, 1),
        }


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` from ``/proc/<pid>/status`` in MB; None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0  # reported in kB
    except (OSError, ValueError):
        return None
    return None


class MemorySampler:
    """Samples the RSS of the processes ``pids()`` names, every ``SAMPLE_EVERY_S``."""

    def __init__(self, pids: Callable[[], list[tuple[str, int]]]) -> None:
        self._pids = pids
        self.series: dict[int, MemorySeries] = {}
        self.totals: list[float] = []  # sum over all processes, per sample
        self.total_times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        total, now = 0.0, time.perf_counter()
        for role, pid in self._pids():
            value = rss_mb(pid)
            if value is None:
                continue
            series = self.series.setdefault(pid, MemorySeries(role, pid))
            series.times.append(now)
            series.samples.append(value)
            total += value
        self.total_times.append(now)
        self.totals.append(total)

    def report(self, window_start: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sample_every_s": SAMPLE_EVERY_S,
            "processes": [s.summary(window_start) for s in self.series.values()],
        }
        if self.totals:
            totals = self.totals
            at_t0 = next(
                (v for t, v in zip(self.total_times, totals, strict=True) if t >= window_start),
                totals[-1],
            )
            out.update(
                total_first_mb=round(totals[0], 1),
                total_window_start_mb=round(at_t0, 1),
                total_last_mb=round(totals[-1], 1),
                total_peak_mb=round(max(totals), 1),
                total_growth_in_window_mb=round(totals[-1] - at_t0, 1),
            )
        return out

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(SAMPLE_EVERY_S):
                self.sample()
                return


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def client_loop(
    address: str,
    instance: pb.Instance,
    params: dict[str, Any],
    timeout: float,
    stop_at: float,
    out: list[Call],
) -> None:
    """Call Solve back to back until ``stop_at`` (perf_counter), appending to ``out``."""
    with MatcherClient(address) as client:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            try:
                response = client.solve_raw(instance, timeout=timeout, **params)
            except grpc.RpcError as exc:
                end = time.perf_counter()
                code = exc.code() if hasattr(exc, "code") else None
                name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN_ERROR"
                out.append(Call(start, end, name, ok=False))
                continue
            end = time.perf_counter()
            status = pb.SolveStatus.Name(response.plan.status)
            solve_s = sum(stage.wall_time_s for stage in response.plan.stages)
            out.append(Call(start, end, status, True, response.elapsed_s, solve_s))


def run_load(
    address: str,
    instance: pb.Instance,
    params: dict[str, Any],
    clients: int,
    seconds: float,
    timeout: float,
) -> tuple[list[Call], float, float]:
    """Warm up, then load for ``seconds``; returns every call and the measured window."""
    t0 = time.perf_counter() + WARMUP_S
    t1 = t0 + seconds
    results: list[list[Call]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(
            target=client_loop,
            args=(address, instance, params, timeout, t1, results[i]),
            name=f"load-client-{i}",
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [c for r in results for c in r], t0, t1


def summarise(calls: list[Call], t0: float, t1: float) -> dict[str, Any]:
    measured = [c for c in calls if c.start >= t0]
    # Throughput: every call that ended inside the window, wherever it started (calls
    # started in the warm-up end in it too): counting only the calls started in the
    # window would undercount by about latency / window (a third at 32 clients).
    in_window = [c for c in calls if t0 <= c.end <= t1]
    completed_in_window = len(in_window)
    ok_in_window = sum(1 for c in in_window if c.ok)
    ok = sorted(c.latency_ms for c in measured if c.ok)
    server = sorted(c.server_s * 1000.0 for c in measured if c.server_s is not None)
    solve = sorted(c.solve_s * 1000.0 for c in measured if c.solve_s is not None)
    every = sorted(c.latency_ms for c in measured)
    statuses = Counter(c.outcome for c in measured if c.ok)
    errors = Counter(c.outcome for c in measured if not c.ok)
    window = t1 - t0

    def lat(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
        return {
            "p50": round(percentile(values, 0.50), 1),
            "p90": round(percentile(values, 0.90), 1),
            "p99": round(percentile(values, 0.99), 1),
            "max": round(values[-1], 1),
            "mean": round(statistics.fmean(values), 1),
        }

    return {
        "window_s": round(window, 3),
        "warmup_calls": len(calls) - len(measured),
        "calls": len(measured),
        "calls_ok": len(ok),
        "calls_completed_in_window": completed_in_window,
        "ok_calls_completed_in_window": ok_in_window,
        "throughput_rps": round(ok_in_window / window, 2) if window > 0 else 0.0,
        "call_rate_incl_errors_rps": (
            round(completed_in_window / window, 2) if window > 0 else 0.0
        ),
        "latency_ms": lat(ok),
        "latency_ms_all_calls": lat(every),
        "server_elapsed_ms": lat(server),
        "solver_wall_ms": lat(solve),
        "errors": dict(sorted(errors.items())),
        "plan_statuses": dict(sorted(statuses.items())),
    }


def check_targets(summary: dict[str, Any]) -> dict[str, Any]:
    p50 = summary["latency_ms"]["p50"]
    p99 = summary["latency_ms"]["p99"]
    rps = summary["throughput_rps"]
    no_errors = not summary["errors"]
    out = {
        "p50_le_100ms": p50 is not None and p50 <= TARGET_P50_MS,
        "p99_le_300ms": p99 is not None and p99 <= TARGET_P99_MS,
        "throughput_ge_30rps": rps >= TARGET_RPS,
        "no_errors": no_errors,
    }
    out["all_met"] = all(out.values())
    return out


def server_phases() -> dict[str, float]:
    """Mean server time per phase of ``Solve`` (ms), from the in-process server's
    ``matcher_phase_seconds`` histogram: every call, warm-up included."""
    from service.metrics import PHASE_SECONDS

    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for metric in PHASE_SECONDS.collect():
        for sample in metric.samples:
            if sample.labels.get("method") != "Solve":
                continue
            phase = sample.labels["phase"]
            if sample.name.endswith("_sum"):
                sums[phase] = sample.value
            elif sample.name.endswith("_count"):
                counts[phase] = sample.value
    order = ("decode", "validate", "wait", "solve", "encode", "serialize")
    return {k: round(1000 * sums[k] / counts[k], 1) for k in order if counts.get(k)}


def render(report: dict[str, Any], console: Console) -> None:
    s = report["settings"]
    r = report["results"]
    params = ", ".join(f"{k}={v}" for k, v in s["params"].items()) or "server defaults"
    table = Table(
        title=(
            f"Solve load: {s['clients']} clients x {s['seconds']} s, "
            f"{s['instance']['name']} ({s['instance']['orders']} orders x "
            f"{s['instance']['factories']} factories x {s['instance']['periods']} periods), "
            f"params: {params}, solve_workers={s['solve_workers']}, cpus={s['cpu_count']}"
        )
    )
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right")
    lat = r["latency_ms"]
    table.add_row("calls (measured)", str(r["calls"]))
    table.add_row("calls completed in window", str(r["calls_completed_in_window"]))
    table.add_row("ok calls completed in window", str(r["ok_calls_completed_in_window"]))
    table.add_row("throughput (ok req/s)", f"{r['throughput_rps']:.2f}")
    for key in ("p50", "p90", "p99", "max", "mean"):
        value = lat[key]
        table.add_row(f"latency {key} (ms, ok calls)", "-" if value is None else f"{value:.1f}")
    for label, key in (("server elapsed", "server_elapsed_ms"), ("solver wall", "solver_wall_ms")):
        m = r[key]
        table.add_row(
            f"{label} p50 / p99 (ms)",
            "-" if m["p50"] is None else f"{m['p50']:.1f} / {m['p99']:.1f}",
        )
    table.add_row("errors", ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none")
    table.add_row(
        "plan statuses", ", ".join(f"{k}: {v}" for k, v in r["plan_statuses"].items()) or "-"
    )
    table.add_row("warm-up calls (not counted)", str(r["warmup_calls"]))
    if report.get("server_phases_ms"):
        table.add_row(
            "server mean ms by phase (all calls)",
            ", ".join(f"{k} {v}" for k, v in report["server_phases_ms"].items()),
        )
    mem = report["memory"]
    rows = [(f"{p['role']} pid {p['pid']}", p) for p in mem["processes"] if p["samples"]]
    if "total_peak_mb" in mem:
        rows.append(("total", {k.removeprefix("total_"): v for k, v in mem.items()}))
    for label, m in rows:
        table.add_row(
            f"RSS MB {label}: start / window start / end (peak)",
            f"{m['first_mb']} / {m['window_start_mb']} / {m['last_mb']} (peak {m['peak_mb']})",
        )
    console.print(table)
    t = report["targets"]

    def word(met: bool) -> str:
        return "[green]met[/green]" if met else "[red]NOT met[/red]"

    console.print(
        f"targets: p50 <= 100 ms: {word(t['p50_le_100ms'])} ({lat['p50']} ms); "
        f"p99 <= 300 ms: {word(t['p99_le_300ms'])} ({lat['p99']} ms); "
        f">= 30 req/s: {word(t['throughput_ge_30rps'])} ({r['throughput_rps']} req/s); "
        f"no errors: {word(t['no_errors'])}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--factories", type=int, default=10)
    p.add_argument("--periods", type=int, default=14)
    p.add_argument("--seed", type=int, default=3, help="instance generator seed")
    p.add_argument("--solve-workers", type=int, default=2, help="in-process server only")
    p.add_argument("--time-limit", type=float, default=None, help="params.time_limit_s")
    p.add_argument("--workers", type=int, default=None, help="params.workers")
    p.add_argument("--solve-seed", type=int, default=None, help="params.seed")
    p.add_argument(
        "--solver", default=None, help="params.assignment_solver (greedy: the service's own cost)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="client deadline per call, s")
    p.add_argument("--json", type=Path, default=None, help="write the report here")
    p.add_argument("--address", default=None, help="load a running server instead")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 110)
    domain_instance = generate(args.orders, args.factories, args.periods, args.seed)
    instance = instance_to_proto(domain_instance)
    params: dict[str, Any] = {
        k: v
        for k, v in (
            ("time_limit_s", args.time_limit),
            ("workers", args.workers),
            ("seed", args.solve_seed),
            ("assignment_solver", args.solver),
        )
        if v is not None
    }

    running = None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.address is None:
        from service.server import create_server
        from service.settings import Settings

        tmp = tempfile.TemporaryDirectory(prefix="load-service-")
        settings = Settings.load(
            {
                "port": 0,
                "db": Path(tmp.name) / "jobs.sqlite3",
                "solve_workers": args.solve_workers,
            },
            env={},
        )
        running = create_server(settings)
        address = f"127.0.0.1:{running.port}"
    else:
        address = args.address

    def pids() -> list[tuple[str, int]]:
        out = [("server+clients" if running else "client", os.getpid())]
        if running is not None:
            out += [("solve worker", pid) for pid in running.solve_pool.pids()]
            out += [("job worker", pid) for pid in running.jobs.pool.pids()]
        return out

    sampler = MemorySampler(pids)
    sampler.start()
    try:
        calls, t0, t1 = run_load(
            address, instance, params, args.clients, args.seconds, args.timeout
        )
    finally:
        sampler.stop()
        if running is not None:
            running.stop(0)
        if tmp is not None:
            tmp.cleanup()

    summary = summarise(calls, t0, t1)
    report: dict[str, Any] = {
        "settings": {
            "address": args.address or "in-process",
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup_s": WARMUP_S,
            "timeout_s": args.timeout,
            "instance": {
                "name": domain_instance.name,
                "orders": args.orders,
                "factories": args.factories,
                "periods": args.periods,
                "seed": args.seed,
                "proto_bytes": instance.ByteSize(),
            },
            "params": params,
            "solve_workers": args.solve_workers if running is not None else None,
            "cpu_count": os.cpu_count(),
        },
        "results": summary,
        "memory": sampler.report(t0),
        "server_phases_ms": server_phases() if running is not None else {},
    }
    report["targets"] = check_targets(summary)
    render(report, console)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
