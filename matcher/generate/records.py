"""Seeded trade records of a generated instance's factories (docs/credit.md): two
years of deliveries consistent with each factory's declared credit, a few new
factories with a handful of records, and a few unreliable ones doing worse than they
declare, so that credit computed from the records has something to correct.

The draws come from the records' own stream of the seed: writing records never
changes the instance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.domain.instance import Instance
from matcher.generate.helpers import loguniform, nice

_RECORDS_STREAM = 3  # spawn key (1: orders split by operation, 2: materials)
RECORDS_PER_FACTORY = 40
"""Default number of records: this many per factory on average."""
_NEW_SHARE = 0.1  # factories that joined in the last two months: 0-3 records
_UNRELIABLE_SHARE = 0.05  # established factories doing much worse than declared
_HISTORY_DAYS = 730
_NEW_DAYS = 60
_DEFECT_CONCENTRATION = 30.0  # defect shares vary by lot: Beta around 1 - quality


@dataclass(frozen=True)
class GeneratedRecords:
    """The records (dicts in the records format) and which factories are special."""

    records: list[dict[str, Any]]
    new: list[str]
    unreliable: list[str]
    as_of: dt.date


def records_stream(seed: int) -> np.random.Generator:
    """The records' own stream of ``seed``; creating it draws nothing."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_RECORDS_STREAM,)))


def generate_records(instance: Instance, seed: int, count: int | None = None) -> GeneratedRecords:
    """Records of ``instance``'s factories, delivered before its horizon starts.

    Parameters
    ----------
    instance
        Its factories' declared credit sets the true rates: on-time deliveries with
        probability ``on_time_rate``, defect shares around ``1 - quality_rate``.
    seed
        Seeds the records' own stream; the same arguments give the same records.
    count
        About how many records (default :data:`RECORDS_PER_FACTORY` per factory);
        new factories have 0-3 each, the others share the rest unevenly.

    Returns
    -------
    GeneratedRecords
        Sorted by delivery date; ``as_of`` is the day before the horizon starts.
    """
    rng = records_stream(seed)
    factories = instance.factories
    nf = len(factories)
    total = RECORDS_PER_FACTORY * nf if count is None else count
    if total < 0:
        raise ValueError(f"count must be >= 0, got {total}")
    is_new = rng.random(nf) < _NEW_SHARE
    unreliable = ~is_new & (rng.random(nf) < _UNRELIABLE_SHARE)
    per_factory = np.where(is_new, rng.integers(0, 4, nf), 0)
    old = np.flatnonzero(~is_new)
    rest = max(0, total - int(per_factory.sum()))
    if old.size:
        size = rng.lognormal(0.0, 0.6, old.size)
        per_factory[old] += rng.multinomial(rest, size / size.sum())
    on_time = np.array([f.credit.on_time_rate for f in factories])
    quality = np.array([f.credit.quality_rate for f in factories])
    # Unreliable: late far more often and more defects than the declared credit says.
    on_time = np.where(unreliable, on_time * 0.6, on_time)
    quality = np.where(unreliable, np.maximum(0.3, quality - 0.12), quality)

    fidx = np.repeat(np.arange(nf), per_factory)
    n = fidx.size
    as_of = instance.horizon.start_date - dt.timedelta(days=1)
    span = np.where(is_new[fidx], _NEW_DAYS, _HISTORY_DAYS)
    age = np.floor(rng.random(n) * span).astype(np.int64)
    late = rng.random(n) >= on_time[fidx]
    # On time: promised 0-3 days after delivery; late: delivered 1-15 days after it.
    offset = np.where(late, -rng.integers(1, 16, n), rng.integers(0, 4, n))
    quantity = nice(loguniform(rng, 20, 5000, n))
    q = np.clip(quality[fidx], 1e-3, 1 - 1e-3)
    share = rng.beta(_DEFECT_CONCENTRATION * (1 - q), _DEFECT_CONCENTRATION * q)
    defective = rng.binomial(quantity, share)
    rated = rng.random(n) < 0.7
    # Buyers rate what they got: 5 for on time and flawless, about 3 for late.
    good = 1.0 - defective / quantity
    stars = 1.0 + 4.0 * (0.5 * ~late + 0.5 * good) + rng.normal(0.0, 0.5, n)
    rating = np.clip(np.rint(stars), 1, 5).astype(np.int64)

    order = np.lexsort((fidx, -age))  # oldest first, then by factory
    ids = [f.id for f in factories]
    base = as_of.toordinal()
    records: list[dict[str, Any]] = []
    for k, i in enumerate(order.tolist()):
        delivered = dt.date.fromordinal(base - int(age[i]))
        record: dict[str, Any] = {
            "order": f"H{k + 1:07d}",
            "factory": ids[fidx[i]],
            "promised_date": (delivered + dt.timedelta(days=int(offset[i]))).isoformat(),
            "delivered_date": delivered.isoformat(),
            "quantity": int(quantity[i]),
            "defective_quantity": int(defective[i]),
        }
        if rated[i]:
            record["rating"] = int(rating[i])
        records.append(record)
    return GeneratedRecords(
        records=records,
        new=[ids[f] for f in np.flatnonzero(is_new).tolist()],
        unreliable=[ids[f] for f in np.flatnonzero(unreliable).tolist()],
        as_of=as_of,
    )
