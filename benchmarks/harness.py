"""What the scale benchmarks share besides fixtures: run settings and instance files."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.sizes import INSTANCE_SEED, Size
from matcher.generate import generate

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SolveSettings:
    """What every solve of the session shares, as recorded next to its figures."""

    time_limit_s: float
    workers: int
    seed: int
    commit: str
    started: str
    machine: dict[str, Any]

    def info(self) -> dict[str, Any]:
        return {
            "time_limit_s": self.time_limit_s,
            "workers": self.workers,
            "seed": self.seed,
            "commit": self.commit,
            "started": self.started,
            "machine": self.machine,
            "nice": os.nice(0),
        }


@dataclass
class InstanceFiles:
    """Generated instances as JSON files, made on first use and kept for the session."""

    folder: Path
    generate_s: dict[str, float] = field(default_factory=dict)

    def path(self, size: Size) -> Path:
        target = self.folder / f"{size.name}.json"
        if not target.exists():
            start = time.perf_counter()
            # Without hubs: the instances the reference runs were made on (the hubs came
            # later, from their own random stream: everything else is the same).
            instance = generate(
                size.orders, size.factories, size.periods, seed=INSTANCE_SEED, hubs=False
            )
            self.generate_s[size.label] = round(time.perf_counter() - start, 3)
            # As `matcher generate --compact` writes it.
            target.write_text(
                instance.model_dump_json(exclude_none=True, indent=None), encoding="utf-8"
            )
        return target


def others_busy_pct(seconds: float = 3.0) -> float | None:
    """How busy the CPUs were over ``seconds`` while this process slept, in % of all of
    them (from /proc/stat; None where it is missing): other work competing with the
    next solve. The 1-minute load average cannot say this between solves, as it still
    counts the solve just ended for a minute or more."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = [int(x) for x in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return round(100.0 * (total - idle) / total, 1)


def commit() -> str:
    """Short commit id, ``+dirty`` when the work tree has changes, ``?`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    ortools_version = version("ortools")

    model = "?"
    memory_gib: float | str = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (OSError, ValueError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "ortools": ortools_version,
    }
