"""Turn scale-benchmark measurements into ``docs/scale.md``: the protocol and the table.

The benchmarks store all their figures in each benchmark's ``extra_info`` (with the
size label under ``size``; a solve's also carry ``solved``), so the page can be rendered
at the end of the run (``--scale-report``) or later from a pytest-benchmark JSON file:

    python -m benchmarks.report .benchmarks/scale.json -o docs/scale.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.sizes import REFERENCES, SIZES

Measurements = dict[str, dict[str, Any]]
"""Size label -> the merged ``extra_info`` of its build and solve benchmarks."""

COMMAND = (
    ".venv/bin/python -m pytest benchmarks -m benchmark_suite "
    "--benchmark-json=.benchmarks/scale.json --scale-report=docs/scale.md"
)


def merge(infos: Iterable[Mapping[str, Any]]) -> Measurements:
    """Group ``extra_info`` dicts by their ``size`` label, build and solve together."""
    out: Measurements = {}
    for info in infos:
        label = info.get("size")
        if isinstance(label, str):
            out.setdefault(label, {}).update(info)
    return out


def from_benchmark_json(data: Mapping[str, Any]) -> Measurements:
    """The measurements in a ``--benchmark-json`` file's parsed contents."""
    return merge(b.get("extra_info", {}) for b in data.get("benchmarks", []))


def _int(value: Any) -> str:
    """``7887726`` -> ``7 887 726``, as in the README."""
    if value is None:
        return "–"
    return f"{round(value):,}".replace(",", " ")


def _num(value: Any, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _row(label: str, m: Mapping[str, Any]) -> str:
    build = m.get("build_min_s")
    rounds = m.get("build_rounds")
    build_cell = "–" if build is None else f"{build:.2f} ({rounds})"
    gap = m.get("gap")
    status = m.get("status") or m.get("error") or "–"
    cells = [
        label,
        _int(m.get("orders")),
        _int(m.get("factories")),
        _int(m.get("periods")),
        _int(m.get("candidates")),
        _int(m.get("production_variables")),
        build_cell,
        _num(m.get("compile_s"), 2),
        _num(m.get("first_feasible_s"), 2),
        _int(m.get("objective")),
        _int(m.get("bound")),
        "–" if gap is None else f"{100 * gap:.1f}",
        str(status),
        _int(m.get("plan_objective")),
        _best_known_gap(label, m.get("plan_objective")),
        _num(m.get("plan_s"), 1),
        _num(m.get("peak_rss_mb"), 0),
    ]
    return "| " + " | ".join(cells) + " |"


def _best_known_gap(label: str, plan_objective: Any) -> str:
    """The plan's objective against the best known plan of the size, in % (– when the
    size has no reference or the solve gave no plan)."""
    ref = REFERENCES.get(label)
    if ref is None or plan_objective is None:
        return "–"
    return f"{100 * (plan_objective - ref.plan_objective_cents) / ref.plan_objective_cents:+.1f}"


_HEADER = (
    "| size | orders | factories | periods | candidates | production variables "
    "| build s (rounds) | compile s | first feasible s | objective | bound | gap % "
    "| status | plan objective | vs best known % | plan s | peak RSS MB |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|"
)

_COLUMNS = """\
- **candidates**, **production variables**: eligible order-factory parts and their
  (part, period) quantity variables after preprocessing (`AssignmentProblem.size`).
- **build s (rounds)**: `build_problem` alone, timed by pytest-benchmark in the test
  process on an instance generated beforehand (generation is never timed); the
  fastest of that many rounds.
- **compile s**: the same compilation inside the solve process (`stages[0].extra`).
- **first feasible s**: from the end of compilation to the first feasible plan
  (the greedy warm start), as `stages[0].time_to_first_feasible_s`.
- **objective**, **bound**, **gap %**: `stages[0]` at the limit, in cents, without
  the internal penalty of unserved mandatory orders; gap = (objective - bound) /
  objective.
- **plan objective**: the whole plan's `costs.objective` in cents (assignment,
  purchasing, routing as they were priced); **vs best known %**: against the best plan
  known for that instance (`benchmarks/sizes.py` `REFERENCES`, from the reference runs
  below; – where there is none yet).
- **plan s**: the whole `plan()` call: compilation, solve, diagnosis of unserved
  orders and assembling the plan.
- **peak RSS MB**: the solve process' high-water mark (`VmHWM`, which starts afresh
  when the process starts; `ru_maxrss` would carry the pytest process' size over):
  interpreter, imports, parsed instance, compiled problem and CP-SAT's C++ memory (one
  fresh process per size).
"""


def _growth(measurements: Mapping[str, Mapping[str, Any]], labels: list[str]) -> str:
    """Each size against the smallest one measured: how the cost grows."""
    keys = ("orders", "production_variables", "build_min_s", "peak_rss_mb")
    full = [label for label in labels if all(measurements[label].get(k) for k in keys)]
    if len(full) < 2:
        return (
            "Growth against the smallest size needs two or more sizes with both build and "
            f"solve figures; this run has {len(full)}."
        )
    base = measurements[full[0]]

    def times(m: Mapping[str, Any], key: str) -> str:
        return f"{m[key] / base[key]:.1f}"

    lines = [
        f"Relative to {full[0]}:",
        "",
        "| size | orders x | production variables x | build x | peak RSS x "
        "| build ns per variable |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label in full:
        m = measurements[label]
        per_var = 1e9 * m["build_min_s"] / m["production_variables"]
        cells = [label, *(times(m, k) for k in keys), f"{per_var:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _protocol(measurements: Mapping[str, Mapping[str, Any]], labels: list[str]) -> str:
    """Scope, machine and settings, taken from the first solve (all share them)."""
    solved = [label for label in labels if measurements[label].get("solved")]
    m = measurements[solved[0]] if solved else {}
    machine = m.get("machine", {})
    not_run = [s.label for s in SIZES if s.label not in measurements]
    scope = f"Sizes measured in this run: {', '.join(labels) or 'none'}."
    if not_run:
        scope += f" **Not run: {', '.join(not_run)}** (no figures for them below)."
    loads = ", ".join(f"{label} {measurements[label].get('load_avg_1m', '?')}" for label in solved)
    busy = ", ".join(
        f"{label} {measurements[label].get('others_busy_pct', '?')} %" for label in solved
    )
    lines = [
        f"- machine: {machine.get('cpus', '?')} cores ({machine.get('cpu_model', '?')}), "
        f"{machine.get('memory_gib', '?')} GiB memory; Python {machine.get('python', '?')}, "
        f"OR-Tools {machine.get('ortools', '?')}",
        f"- code: commit {m.get('commit', '?')}; solves started {m.get('started', '?')}",
        "- solve: `plan()` with solver `cpsat`, strategy `auto`, "
        f"time limit {m.get('time_limit_s', '?')} s wall clock (compilation counts "
        f"against it), {m.get('workers', '?')} workers, seed {m.get('seed', '?')}; "
        f"one fresh process per size, at niceness {m.get('nice', '?')}",
        "- instances: `matcher.generate.generate(orders, factories, periods, "
        f"seed={m.get('instance_seed', '?')}, hubs=False)` (`matcher generate ... "
        "--no-hubs`: the instances of the reference runs), written to JSON and loaded as "
        "`matcher solve` does",
        "- CPUs busy with other work over 3 s just before each solve (the benchmark "
        f"itself idle): {busy or '–'}; 1-minute load average then (it still counts the "
        f"solve before for a minute or more): {loads or '–'}",
    ]
    shared = [label for label in solved if _shared(measurements[label])]
    if shared:
        scope += (
            f" **{', '.join(shared)} shared the machine** with other work (CPUs more than "
            f"{SHARED_BUSY_PCT:g} % busy before the solve, or, where that was not measured, "
            "a load average above 0.5; or a positive niceness): those times and gaps are "
            "pessimistic."
        )
    return scope + "\n\n" + "\n".join(lines)


SHARED_BUSY_PCT = 10.0
"""Other work above this share of the CPUs before a solve: it shared the machine."""


def _shared(m: Mapping[str, Any]) -> bool:
    busy = m.get("others_busy_pct")
    if m.get("nice", 0):
        return True
    if busy is not None:
        return bool(busy > SHARED_BUSY_PCT)
    return bool(m.get("load_avg_1m", 0) > 0.5)


BEGIN = "<!-- written by the scale benchmark: begin -->"
END = "<!-- written by the scale benchmark: end -->"


def write_page(path: Path, measurements: Mapping[str, Mapping[str, Any]]) -> None:
    """Write :func:`render` into ``path`` between :data:`BEGIN` and :data:`END`,
    keeping what the page holds outside them (the hand-written runs and notes); a page
    without the markers is written whole."""
    page = render(measurements)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        page = old[: old.index(BEGIN)] + page + old[old.index(END) + len(END) + 1 :]
    path.write_text(page, encoding="utf-8")


def render(measurements: Mapping[str, Mapping[str, Any]]) -> str:
    """The generated part of ``docs/scale.md`` for ``measurements``, in its markers."""
    labels = [s.label for s in SIZES if s.label in measurements]
    labels += sorted(set(measurements) - set(labels))
    rows = "\n".join(_row(label, measurements[label]) for label in labels)
    return f"""\
{BEGIN}
# Speed and scale

How the cost of the assignment stage grows with the instance: model build time,
time to the first feasible plan, the gap left at a fixed time limit and the peak
memory, for generated instances of 1 000 to 50 000 orders. Sizes and the reasons
for them are in `benchmarks/sizes.py` (factories grow as orders^0.7, 28 daily
periods throughout). This page is written by the benchmarks themselves; re-run

    {COMMAND}

(options: `--bench-sizes=1k,5k`, `--bench-time-limit=S`, `--bench-workers=N`; the
environment variables `BENCH_SIZES`, `BENCH_TIME_LIMIT`, `BENCH_WORKERS` set the same
defaults). `python -m benchmarks.report .benchmarks/scale.json -o docs/scale.md`
re-renders this page from the JSON file.

## Protocol

{_protocol(measurements, labels)}

## Results

{_HEADER}
{rows}

{_COLUMNS}
## Growth

{_growth(measurements, labels)}
{END}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/scale.md from benchmark JSON.")
    parser.add_argument("json", type=Path, help="a file written by --benchmark-json")
    parser.add_argument("-o", "--output", type=Path, help="default: stdout")
    args = parser.parse_args(argv)
    measurements = from_benchmark_json(json.loads(args.json.read_text(encoding="utf-8")))
    if args.output is None:
        sys.stdout.write(render(measurements))
    else:
        write_page(args.output, measurements)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
