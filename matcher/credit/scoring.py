"""Credit from trade records: Beta posteriors of the on-time and quality rates (and the
buyers' rating), shrunk towards a stated prior and weighted by recency, and the 0-100
score made of them (docs/credit.md states the model and its defaults).

Shrinkage is why: a factory with two perfect deliveries has shown little, so its
rates stay near the prior's instead of jumping to 100 %, and two bad deliveries do not
condemn it either; as records accumulate they outweigh the prior.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from matcher.credit.beta import beta_interval
from matcher.credit.records import TradeRecord
from matcher.domain.entities import Credit
from matcher.domain.instance import Instance

FORMULA = (
    "score = round(100 * m^2), m = (w_on_time * on_time + w_quality * quality "
    "+ w_rating * rating) / (w_on_time + w_quality + w_rating), each rate its posterior mean"
)


@dataclass(frozen=True)
class CreditParams:
    """The model's settings; every default is stated in docs/credit.md.

    ``prior_strength`` is in records: the prior counts as that many deliveries at its
    means. ``half_life_days = inf`` weighs every record alike. ``as_of`` None: the
    latest delivery in the records (so the same file always gives the same credit).
    """

    prior_strength: float = 10.0
    prior_on_time: float = 0.85
    prior_quality: float = 0.97
    prior_rating: float = 0.75  # a 4 on the 1-5 scale
    half_life_days: float = 180.0
    as_of: dt.date | None = None
    level: float = 0.9
    weight_on_time: float = 1.0
    weight_quality: float = 1.0
    weight_rating: float = 0.5

    def __post_init__(self) -> None:
        if not (self.prior_strength > 0 and math.isfinite(self.prior_strength)):
            raise ValueError(f"prior strength must be positive, got {self.prior_strength}")
        for name in ("prior_on_time", "prior_quality", "prior_rating"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be in (0, 1), got {value}")
        if not self.half_life_days > 0:
            raise ValueError(f"half-life must be positive days, got {self.half_life_days}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        weights = (self.weight_on_time, self.weight_quality, self.weight_rating)
        if min(weights) < 0 or self.weight_on_time + self.weight_quality <= 0:
            raise ValueError("weights must be >= 0, on-time and quality not both 0")


class Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateEstimate(Result):
    """One rate's posterior ``Beta(alpha, beta)``: mean and equal-tailed interval."""

    mean: float
    low: float
    high: float
    alpha: float
    beta: float
    evidence: float  # recency-weighted records behind it (the prior adds its strength)
    observed: float | None  # the records' weighted mean alone; None without records


class FactoryCredit(Result):
    factory: str
    records: int
    effective_records: float
    last_delivery: dt.date | None
    on_time: RateEstimate
    quality: RateEstimate
    rating: RateEstimate | None  # None when no record of the file has a rating
    score: int
    score_low: int
    score_high: int


class CreditReport(Result):
    as_of: dt.date
    level: float
    prior_strength: float
    prior_on_time: float
    prior_quality: float
    prior_rating: float | None
    half_life_days: float
    weights: dict[str, float]
    formula: str
    records: int
    ignored_after_as_of: int
    factories: list[FactoryCredit]


class RecordWeight(Result):
    order: str
    promised_date: dt.date
    delivered_date: dt.date
    on_time: bool
    good_share: float
    rating: float | None
    age_days: int
    weight: float


class CreditExplanation(Result):
    """How one factory's score came about: what ``--explain`` shows."""

    credit: FactoryCredit
    as_of: dt.date
    half_life_days: float
    prior_strength: float
    prior: dict[str, list[float]]  # rate -> [alpha, beta] of its prior
    records: list[RecordWeight]  # newest first
    ignored_after_as_of: int
    formula: str
    computation: str  # the formula with this factory's numbers


@dataclass(frozen=True)
class _Columns:
    """The records as arrays, for sums by factory without a Python loop per record."""

    factories: list[str]
    index: NDArray[np.int64]  # factory index per record
    on_time: NDArray[np.float64]  # 0/1
    good: NDArray[np.float64]  # good-unit share of the delivery
    rating: NDArray[np.float64]  # rating mapped to [0, 1], NaN when absent
    delivered: NDArray[np.int64]  # day ordinal


def _columns(records: Sequence[TradeRecord]) -> _Columns:
    factories = sorted({r.factory for r in records})
    pos = {f: i for i, f in enumerate(factories)}
    n = len(records)
    index = np.fromiter((pos[r.factory] for r in records), dtype=np.int64, count=n)
    delivered = np.fromiter((r.delivered_date.toordinal() for r in records), np.int64, n)
    promised = np.fromiter((r.promised.toordinal() for r in records), np.int64, n)
    quantity = np.fromiter((r.quantity for r in records), np.float64, n)
    defective = np.fromiter((r.defective_quantity for r in records), np.float64, n)
    rating = np.fromiter(
        (math.nan if r.rating is None else (r.rating - 1.0) / 4.0 for r in records), np.float64, n
    )
    return _Columns(
        factories,
        index,
        (delivered <= promised).astype(np.float64),
        1.0 - defective / np.maximum(quantity, 1.0),
        rating,
        delivered,
    )


def _as_of(records: Sequence[TradeRecord], params: CreditParams) -> dt.date:
    if params.as_of is not None:
        return params.as_of
    if not records:
        raise ValueError("no records, and no --as-of date")
    return max(r.delivered_date for r in records)


def _weights(age_days: NDArray[np.float64], half_life: float) -> NDArray[np.float64]:
    """``0.5 ** (age / half_life)``: a record one half-life old counts half."""
    if math.isinf(half_life):
        return np.ones_like(age_days, dtype=np.float64)
    return np.asarray(0.5 ** (age_days / half_life), dtype=np.float64)


def _estimate(
    prior_mean: float, strength: float, successes: float, trials: float, level: float
) -> RateEstimate:
    """Posterior ``Beta(k p0 + S, k (1 - p0) + n - S)`` with fractional, weighted ``S, n``."""
    a = strength * prior_mean + successes
    b = strength * (1.0 - prior_mean) + (trials - successes)
    low, high = beta_interval(level, a, b)
    return RateEstimate(
        mean=a / (a + b),
        low=low,
        high=high,
        alpha=a,
        beta=b,
        evidence=trials,
        observed=successes / trials if trials > 0 else None,
    )


def _score(rates: Sequence[tuple[float, RateEstimate]], level: float) -> tuple[float, float, float]:
    """``100 m^2`` at the posterior means, and its interval: ``m`` is a weighted sum of
    independent Beta rates, approximated by the Beta of the same mean and variance."""
    total = sum(w for w, _ in rates)
    m = sum(w * r.mean for w, r in rates) / total
    var = sum(
        (w / total) ** 2 * r.alpha * r.beta / ((r.alpha + r.beta) ** 2 * (r.alpha + r.beta + 1))
        for w, r in rates
    )
    if var <= 0.0:
        return 100 * m * m, 100 * m * m, 100 * m * m
    nu = m * (1.0 - m) / var - 1.0
    low, high = beta_interval(level, m * nu, (1.0 - m) * nu)
    return 100 * m * m, 100 * low * low, 100 * high * high


def _factory_credit(
    name: str,
    params: CreditParams,
    with_rating: bool,
    sums: dict[str, float],
    count: int,
    last: dt.date | None,
) -> FactoryCredit:
    k, level = params.prior_strength, params.level
    on_time = _estimate(params.prior_on_time, k, sums["on_time"], sums["n"], level)
    quality = _estimate(params.prior_quality, k, sums["good"], sums["n"], level)
    rates = [(params.weight_on_time, on_time), (params.weight_quality, quality)]
    rating = None
    if with_rating:
        rating = _estimate(params.prior_rating, k, sums["rating"], sums["rated"], level)
        if params.weight_rating > 0:
            rates.append((params.weight_rating, rating))
    score, low, high = _score(rates, level)
    return FactoryCredit(
        factory=name,
        records=count,
        effective_records=sums["n"],
        last_delivery=last,
        on_time=on_time,
        quality=quality,
        rating=rating,
        score=round(score),
        score_low=math.floor(low + 1e-9),
        score_high=math.ceil(high - 1e-9),
    )


def score_records(
    records: Sequence[TradeRecord], params: CreditParams | None = None
) -> CreditReport:
    """Every factory's credit from its records.

    Parameters
    ----------
    records
        Trade records (promised dates resolved); those delivered after ``as_of`` are
        left out and counted.
    params
        The prior, recency and score settings; defaults as documented.

    Returns
    -------
    CreditReport
        Per factory (sorted by id): records used, their recency-weighted count, each
        rate's posterior mean and interval, the score and its interval.
    """
    params = params or CreditParams()
    as_of = _as_of(records, params)
    cols = _columns(records)
    keep = cols.delivered <= as_of.toordinal()
    w = _weights((as_of.toordinal() - cols.delivered).astype(np.float64), params.half_life_days)
    w = np.where(keep, w, 0.0)
    nf = len(cols.factories)
    rated = ~np.isnan(cols.rating) & keep
    with_rating = bool(rated.any())

    def by_factory(values: NDArray[np.float64]) -> list[float]:
        out: list[float] = np.bincount(cols.index, weights=values, minlength=nf).tolist()
        return out

    n = by_factory(w)
    on_time = by_factory(w * cols.on_time)
    good = by_factory(w * cols.good)
    rating_sum = by_factory(np.where(rated, w * np.nan_to_num(cols.rating), 0.0))
    rated_n = by_factory(np.where(rated, w, 0.0))
    counts = np.bincount(cols.index, weights=keep.astype(np.float64), minlength=nf).tolist()
    last_day = np.full(nf, -1, dtype=np.int64)
    np.maximum.at(last_day, cols.index[keep], cols.delivered[keep])
    factories = []
    for i, name in enumerate(cols.factories):
        if counts[i] == 0:
            continue  # every record after as_of: nothing known yet
        sums = {
            "n": n[i],
            "on_time": on_time[i],
            "good": good[i],
            "rating": rating_sum[i],
            "rated": rated_n[i],
        }
        last = dt.date.fromordinal(int(last_day[i]))
        factories.append(_factory_credit(name, params, with_rating, sums, int(counts[i]), last))
    return CreditReport(
        as_of=as_of,
        level=params.level,
        prior_strength=params.prior_strength,
        prior_on_time=params.prior_on_time,
        prior_quality=params.prior_quality,
        prior_rating=params.prior_rating if with_rating else None,
        half_life_days=params.half_life_days,
        weights={
            "on_time": params.weight_on_time,
            "quality": params.weight_quality,
            "rating": params.weight_rating if with_rating else 0.0,
        },
        formula=FORMULA,
        records=int(keep.sum()),
        ignored_after_as_of=int((~keep).sum()),
        factories=factories,
    )


def prior_credit(params: CreditParams, with_rating: bool = False) -> FactoryCredit:
    """The credit of a factory without records: the prior alone."""
    zero = {"n": 0.0, "on_time": 0.0, "good": 0.0, "rating": 0.0, "rated": 0.0}
    return _factory_credit("", params, with_rating, zero, 0, None)


def as_credit(credit: FactoryCredit) -> Credit:
    """The instance's :class:`Credit` of a computed credit (rates to 4 decimals), with
    its record count: fairness tells new factories by it (docs/fairness.md)."""
    return Credit(
        on_time_rate=round(credit.on_time.mean, 4),
        quality_rate=round(credit.quality.mean, 4),
        score=credit.score,
        records=credit.records,
    )


@dataclass(frozen=True)
class Applied:
    instance: Instance
    updated: list[str]  # factories whose credit now comes from records
    from_prior: list[str]  # factories without records given the prior's credit
    kept: list[str]  # factories without records that keep their declared credit
    unknown: list[str]  # factories in the records that the instance does not have


def apply_credit(
    instance: Instance,
    report: CreditReport,
    params: CreditParams,
    *,
    prior_for_unrecorded: bool = False,
) -> Applied:
    """The instance with each recorded factory's credit replaced by the computed one.

    Factories without records keep their declared credit, or get the prior's with
    ``prior_for_unrecorded``; the instance stays valid (scores are integers in
    0..100, rates in [0, 1]).
    """
    computed = {c.factory: c for c in report.factories}
    prior = prior_credit(params, report.prior_rating is not None)
    factories, updated, from_prior, kept = [], [], [], []
    for f in instance.factories:
        if f.id in computed:
            factories.append(f.model_copy(update={"credit": as_credit(computed[f.id])}))
            updated.append(f.id)
        elif prior_for_unrecorded:
            factories.append(f.model_copy(update={"credit": as_credit(prior)}))
            from_prior.append(f.id)
        else:
            factories.append(f)
            kept.append(f.id)
    known = {f.id for f in instance.factories}
    return Applied(
        instance=instance.model_copy(update={"factories": factories}),
        updated=updated,
        from_prior=from_prior,
        kept=kept,
        unknown=sorted(set(computed) - known),
    )


def explain_factory(
    records: Sequence[TradeRecord], factory: str, params: CreditParams | None = None
) -> CreditExplanation:
    """Factory ``factory``'s credit with the records behind it and their weights.

    Raises
    ------
    ValueError
        If no record of ``factory`` is delivered by ``as_of``.
    """
    params = params or CreditParams()
    report = score_records(records, params)
    credit = next((c for c in report.factories if c.factory == factory), None)
    if credit is None:
        raise ValueError(f"no record of factory {factory!r} delivered by {report.as_of}")
    mine = [r for r in records if r.factory == factory]
    used = [r for r in mine if r.delivered_date <= report.as_of]
    ages = np.array([(report.as_of - r.delivered_date).days for r in used], dtype=np.float64)
    weights = _weights(ages, params.half_life_days).tolist()
    rows = [
        RecordWeight(
            order=r.order,
            promised_date=r.promised,
            delivered_date=r.delivered_date,
            on_time=r.delivered_date <= r.promised,
            good_share=1.0 - r.defective_quantity / r.quantity,
            rating=r.rating,
            age_days=int(age),
            weight=wt,
        )
        for r, age, wt in zip(used, ages.tolist(), weights, strict=True)
    ]
    rows.sort(key=lambda x: (x.delivered_date, x.order), reverse=True)
    k = params.prior_strength
    prior = {
        "on_time": [k * params.prior_on_time, k * (1 - params.prior_on_time)],
        "quality": [k * params.prior_quality, k * (1 - params.prior_quality)],
    }
    terms = [
        (report.weights["on_time"], "on_time", credit.on_time.mean),
        (report.weights["quality"], "quality", credit.quality.mean),
    ]
    if credit.rating is not None:
        prior["rating"] = [k * params.prior_rating, k * (1 - params.prior_rating)]
        terms.append((report.weights["rating"], "rating", credit.rating.mean))
    total = sum(w for w, _, _ in terms)
    m = sum(w * v for w, _, v in terms) / total
    inner = " + ".join(f"{w:g} * {v:.4f}" for w, _, v in terms)
    computation = f"m = ({inner}) / {total:g} = {m:.4f}; score = round(100 * {m:.4f}^2) = "
    computation += f"round({100 * m * m:.2f}) = {credit.score}"
    return CreditExplanation(
        credit=credit,
        as_of=report.as_of,
        half_life_days=params.half_life_days,
        prior_strength=k,
        prior=prior,
        records=rows,
        ignored_after_as_of=len(mine) - len(used),
        formula=FORMULA,
        computation=computation,
    )
