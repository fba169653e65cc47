"""The fairness rules and terms of a plan (docs/fairness.md), recomputed from its rows.

The options in effect are the ones the plan echoes (``fairness_options``), as the
objective is recomputed with the weights it echoes: a solve may override the
instance's options (``params.fairness``), and a plan solved so says it by echoing
other options than the instance's, which this check warns about. Under those options
every factory's work is counted in the measure from the plan's rows and the instance
alone; the share cap and a hard minimum are verified, and the soft penalties and the
utilisation spread are recomputed for the costs and the objective.
"""

from __future__ import annotations

import math
from collections import defaultdict

from matcher.check.codes import ViolationCode
from matcher.check.state import CheckState
from matcher.domain.entities import FairnessOptions
from matcher.domain.plan import SolveStatus

_NO_SOLUTION = (SolveStatus.INFEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.UNKNOWN)

TEN_THOUSANDTHS = 10_000  # docs/fairness.md: shares are read in ten-thousandths
SECONDS_PER_HOUR = 3600
POINTS = 100  # utilisation in whole percentage points


def check_fairness(state: CheckState) -> None:
    """Verify the hard rules and recompute ``costs.fairness`` and ``costs.load_balance``
    into ``state.totals`` (run after the core pass: it reads the rows' machine time)."""
    opts = state.plan.fairness_options
    declared = state.inst.fairness
    if opts != declared:
        state.warnings.append(
            "the plan was solved with fairness options other than the instance's (a solve "
            f"override): checked under the plan's {_describe(opts)}, the instance declares "
            f"{_describe(declared)}"
        )
    if opts is not None:
        if state.plan.status in _NO_SOLUTION:
            # A failed solve lists every order unassigned: no plan to hold to the rules.
            state.warnings.append(
                f"plan has status {state.plan.status.value}: its fairness rules not checked"
            )
            return
        _check_options(state, opts)
    if state.plan.weights.load_balance > 0:
        state.totals.load_balance = _spread(state)


def _describe(opts: FairnessOptions | None) -> str:
    if opts is None:
        return "none"
    return str(opts.model_dump(exclude_defaults=True)) or "{} (all off)"


def _scale(opts: FairnessOptions) -> int:
    return SECONDS_PER_HOUR if opts.share_measure == "hours" else 1


def _in_base_units(amount: float, scale: int) -> int:
    """A work amount in the measure as whole base units (seconds for hours), rounded
    up after rounding to 6 decimals (docs/fairness.md)."""
    return math.ceil(round(amount * scale, 6))


def _share(x: float) -> int:
    return math.floor(x * TEN_THOUSANDTHS + 0.5)


def work_by_factory(state: CheckState, opts: FairnessOptions) -> dict[str, int]:
    """Each factory's work in base units: units made (at the last operation), machine
    seconds of processing, or production cents, from the plan's rows."""
    work: dict[str, int] = defaultdict(int)
    for a in state.plan.allocations:
        order = state.orders.get(a.order)
        caps = state.caps.get(a.factory)
        if order is None or caps is None or not 0 <= a.operation < len(order.operations):
            continue  # reported by the core pass
        cap = caps.get(order.operations[a.operation].process)
        if cap is None:
            continue
        if opts.share_measure == "units":
            if a.operation == len(order.operations) - 1:
                work[a.factory] += a.quantity
        elif opts.share_measure == "hours":
            work[a.factory] += cap.seconds_per_unit * a.quantity
        else:
            work[a.factory] += cap.unit_cost_cents * a.quantity
    return work


def _check_options(state: CheckState, opts: FairnessOptions) -> None:
    scale = _scale(opts)
    work = work_by_factory(state, opts)
    served = sum(work.values())
    unit = {"units": "units", "hours": "machine seconds", "revenue": "cents"}[opts.share_measure]
    if opts.max_share is not None:
        cap = _share(opts.max_share)
        for fid in sorted(work):
            if TEN_THOUSANDTHS * work[fid] > cap * served:
                state.add(
                    ViolationCode.FAIRNESS_SHARE_EXCEEDED,
                    f"fairness_options.max_share[{fid}]",
                    f"factory '{fid}' has {work[fid]} of {served} {unit} served, above the "
                    f"cap {cap}/{TEN_THOUSANDTHS}",
                )
    penalty = 0
    for f in state.inst.factories:
        need = _in_base_units(opts.min_work_of(f.id), scale)
        short = max(0, need - work.get(f.id, 0))
        if not short:
            continue
        if opts.min_work_hard:
            state.add(
                ViolationCode.FAIRNESS_MIN_WORK_MISSED,
                f"fairness_options.min_work[{f.id}]",
                f"factory '{f.id}' has {work.get(f.id, 0)} {unit}, below its hard minimum {need}",
            )
        else:
            penalty += -(-opts.shortfall_cents * short // scale)
    if opts.exploration_share is not None:
        new_work = sum(
            work.get(f.id, 0)
            for f in state.inst.factories
            if f.credit.records is not None and f.credit.records < opts.new_factory_records
        )
        owed = _share(opts.exploration_share) * served - TEN_THOUSANDTHS * new_work
        short = max(0, -(-owed // TEN_THOUSANDTHS))
        penalty += -(-opts.exploration_cents * short // scale)
    state.totals.fairness = penalty


def _spread(state: CheckState) -> int:
    """Utilisation spread in whole points over the factories with free time: the
    highest utilisation rounded up less the lowest rounded down."""
    used: dict[str, int] = defaultdict(int)
    for (fid, _, _), seconds in state.used.items():
        used[fid] += seconds
    free: dict[str, int] = defaultdict(int)
    for (fid, _), minutes in state.free.items():
        free[fid] += 60 * sum(minutes)
    rates = [(used.get(fid, 0), seconds) for fid, seconds in free.items() if seconds > 0]
    if not rates:
        return 0
    hi = max(-(-POINTS * u // s) for u, s in rates)
    lo = min(POINTS * u // s for u, s in rates)
    return hi - lo
