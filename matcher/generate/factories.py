"""Factories: where they sit, the resource groups and capabilities of each plant, their
calendars (shifts, weekends, holidays, maintenance, committed load), lot caps, credit,
their instance section, and the per-process statistics a buyer sees on the platform."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.generate.catalogue import CLUSTERS, INDUSTRIES, SPRING_FESTIVAL, IndustrySpec, Place
from matcher.generate.helpers import FloatArray, IntArray, jitter, loguniform, nice, numbered_ids

_SHIFT_MINUTES = 480


@dataclass
class Cap:
    process: str
    group: int  # global resource-group index
    seconds: int
    cost: int
    setup: int
    min_lot: int
    grade: int
    materials: list[str]
    max_lot: int | None = None


@dataclass
class Factories:
    """Factory draws kept flat, so calendars and statistics can be vectorised."""

    industry: list[int] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    processes: list[tuple[str, ...]] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)  # global group indices
    caps: list[list[Cap]] = field(default_factory=list)
    group_factory: list[int] = field(default_factory=list)
    group_machines: list[int] = field(default_factory=list)
    group_shifts: list[int] = field(default_factory=list)
    group_processes: list[list[str]] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)


def pick_clusters(rng: np.random.Generator, factories: int) -> list[Place]:
    n = 5 if factories < 40 else int(rng.integers(5, len(CLUSTERS) + 1))
    size = np.array([c.size for c in CLUSTERS])
    chosen = rng.choice(len(CLUSTERS), n, replace=False, p=size / size.sum())
    return [CLUSTERS[i] for i in sorted(chosen.tolist())]


def pick_industries(rng: np.random.Generator, factories: int) -> list[IndustrySpec]:
    """All industries, or as many as ``factories`` can fully cover."""
    need = [len(ind.covering) for ind in INDUSTRIES]
    if factories >= sum(need):
        return list(INDUSTRIES)
    chosen: list[int] = []
    left = factories
    for i in rng.permutation(len(INDUSTRIES)).tolist():
        if need[i] <= left:
            chosen.append(i)
            left -= need[i]
    return [INDUSTRIES[i] for i in sorted(chosen)]


def _industry_mix(clusters: list[Place], industries: list[IndustrySpec]) -> FloatArray:
    """Cluster x industry weights, with a floor so every industry has somewhere to go."""
    cols = [INDUSTRIES.index(ind) for ind in industries]
    mix = np.array([[c.mix[j] for j in cols] for c in clusters]) + 0.02
    return mix * np.array([c.size for c in clusters])[:, None]


def draw_factories(
    rng: np.random.Generator,
    factories: int,
    clusters: list[Place],
    industries: list[IndustrySpec],
) -> Factories:
    mix = _industry_mix(clusters, industries)
    share = mix.sum(axis=0) / mix.sum()
    cover = [len(ind.covering) for ind in industries]
    counts = np.array(cover) + rng.multinomial(factories - sum(cover), share)
    kinds = rng.permutation(np.repeat(np.arange(len(industries)), counts)).tolist()
    fac = Factories()
    seen = [0] * len(industries)
    for k in kinds:
        ind = industries[k]
        if seen[k] < len(ind.covering):
            profile = ind.covering[seen[k]]
        else:
            w = np.array(ind.profile_weights)
            profile = ind.profiles[int(rng.choice(len(w), p=w / w.sum()))]
        seen[k] += 1
        col = mix[:, k]
        fac.industry.append(k)
        fac.cluster.append(int(rng.choice(len(clusters), p=col / col.sum())))
        fac.processes.append(profile)
        _draw_plant(rng, fac, ind, profile)
    return fac


def place_factories(rng: np.random.Generator, fac: Factories, clusters: list[Place]) -> None:
    """Scatter factories some tens of kilometres around their cluster's centre."""
    centre_lat = np.array([clusters[c].lat for c in fac.cluster])
    centre_lon = np.array([clusters[c].lon for c in fac.cluster])
    fac.lat, fac.lon = jitter(rng, centre_lat, centre_lon, 20.0)


def _draw_plant(
    rng: np.random.Generator, fac: Factories, ind: IndustrySpec, profile: tuple[str, ...]
) -> None:
    """Resource groups and capabilities of the factory being appended."""
    n_groups = int(rng.integers(1, min(3, len(profile)) + 1))
    order = rng.permutation(len(profile)).tolist()
    group_of = [0] * len(profile)
    for rank, j in enumerate(order):
        group_of[j] = rank if rank < n_groups else int(rng.integers(0, n_groups))
    size = float(rng.lognormal(0.0, 0.5))
    first = len(fac.group_factory)
    fac.groups.append(list(range(first, first + n_groups)))
    for g in range(n_groups):
        fac.group_factory.append(len(fac.industry) - 1)
        fac.group_machines.append(int(np.clip(round(6 * size * rng.lognormal(0.0, 0.4)), 1, 60)))
        fac.group_shifts.append(int(rng.choice(3, p=ind.shift_probs)) + 1)
        fac.group_processes.append([profile[j] for j in range(len(profile)) if group_of[j] == g])
    base_grade = int(rng.choice(5, p=[0.08, 0.22, 0.4, 0.22, 0.08])) + 1
    specs = {p.id: p for p in ind.processes}
    caps: list[Cap] = []
    for j, pid in enumerate(profile):
        spec = specs[pid]
        lo, hi = spec.seconds
        seconds = float(loguniform(rng, lo, hi, 1)[0])
        typical = math.sqrt(lo * hi)
        grade = int(np.clip(base_grade + rng.choice([-1, 0, 0, 0, 1]), 1, 5))
        cost = (
            typical
            * spec.rate_cents_per_hour
            / 3600
            * math.sqrt(seconds / typical)
            * rng.uniform(0.7, 1.3)
            * (1 + 0.08 * (grade - 3))
        )
        materials: list[str] = []
        if spec.materials and rng.random() < 0.3:
            n_mat = int(rng.integers(1, len(spec.materials)))
            picked = rng.choice(len(spec.materials), n_mat, replace=False)
            materials = [spec.materials[i] for i in sorted(picked.tolist())]
        caps.append(
            Cap(
                process=pid,
                group=first + group_of[j],
                seconds=max(1, round(seconds)),
                cost=max(1, round(cost)),
                setup=int(rng.integers(spec.setup[0], spec.setup[1] + 1)),
                min_lot=1 if rng.random() < 0.85 else int(rng.integers(5, 51)) * 10,
                grade=grade,
                materials=materials,
            )
        )
    fac.caps.append(caps)


def _holidays(start: dt.date, periods: int) -> tuple[NDArray[np.bool_], IntArray]:
    """National holidays, and days since the Spring Festival holiday ended (-1 if not)."""
    holiday = np.zeros(periods, dtype=bool)
    after_sf = np.full(periods, -1, dtype=np.int64)
    for t in range(periods):
        day = start + dt.timedelta(days=t)
        md = (day.month, day.day)
        if md == (1, 1) or (day.month == 5 and day.day <= 5) or (day.month == 10 and day.day <= 7):
            holiday[t] = True
        sf = SPRING_FESTIVAL.get(day.year)
        if sf is not None:
            offset = (day - sf).days
            if -1 <= offset <= 6:
                holiday[t] = True
            elif 7 <= offset <= 30:
                after_sf[t] = offset - 7
    return holiday, after_sf


@dataclass
class Calendars:
    available: IntArray  # groups x periods
    committed: IntArray
    nominal: IntArray  # per group: minutes on a normal weekday

    @property
    def free_total(self) -> IntArray:
        return np.asarray(np.maximum(self.available - self.committed, 0).sum(axis=1))


def draw_calendars(
    rng: np.random.Generator, fac: Factories, periods: int, start: dt.date
) -> Calendars:
    n_fac = len(fac.industry)
    gf = np.array(fac.group_factory, dtype=np.int64)
    machines = np.array(fac.group_machines, dtype=np.int64)
    shifts = np.array(fac.group_shifts, dtype=np.int64)
    n_groups = gf.size
    weekday = np.array([(start + dt.timedelta(days=t)).weekday() for t in range(periods)])
    holiday, after_sf = _holidays(start, periods)
    # Factory habits: Saturday work, Sunday work, running through holidays, late return
    # of migrant workers after the Spring Festival.
    saturday = rng.choice(3, n_fac, p=[0.55, 0.3, 0.15])  # off, one shift, as weekdays
    sunday = rng.random(n_fac) < 0.05
    through_holidays = rng.random(n_fac) < 0.1
    late_return = rng.integers(0, 11, n_fac)
    sat_shifts = np.where(saturday[gf] == 0, 0, np.where(saturday[gf] == 1, 1, shifts))
    day_shifts = np.where(
        weekday[None, :] < 5,
        shifts[:, None],
        np.where(weekday[None, :] == 5, sat_shifts[:, None], sunday[gf][:, None].astype(int)),
    )
    closed = holiday[None, :] | (
        (after_sf[None, :] >= 0) & (after_sf[None, :] < late_return[gf][:, None])
    )
    day_shifts = np.where(closed, np.minimum(day_shifts, through_holidays[gf][:, None]), day_shifts)
    # Maintenance: now and then a group is down for a day or runs at half capacity.
    down = rng.random((n_groups, periods))
    factor = np.where(down < 0.01, 0.0, np.where(down < 0.03, 0.5, 1.0))
    available = np.rint(machines[:, None] * _SHIFT_MINUTES * day_shifts * factor).astype(np.int64)
    # Committed load: most groups 0-60 % booked, some nearly full; earlier bookings
    # weigh on the first periods more than on the last.
    kind = rng.random(n_groups)
    base = np.where(
        kind < 0.8,
        rng.uniform(0.0, 0.6, n_groups),
        np.where(kind < 0.92, rng.uniform(0.6, 0.8, n_groups), rng.uniform(0.85, 0.98, n_groups)),
    )
    trend = 1.25 - 0.5 * np.arange(periods) / max(1, periods - 1)
    util = np.clip(
        base[:, None] * trend[None, :] + rng.normal(0.0, 0.05, (n_groups, periods)), 0, 1
    )
    committed = np.floor(available * util).astype(np.int64)
    return Calendars(available, committed, machines * shifts * _SHIFT_MINUTES)


def set_max_lots(rng: np.random.Generator, fac: Factories, cal: Calendars) -> None:
    """A few capabilities cap the lot at one to five days of their group's output."""
    for caps in fac.caps:
        for cap in caps:
            if rng.random() < 0.08:
                daily = cal.nominal[cap.group] * 60 / cap.seconds
                cap.max_lot = max(cap.min_lot, int(nice(np.array([daily * rng.uniform(1, 5)]))[0]))


def draw_credit(rng: np.random.Generator, fac: Factories) -> list[dict[str, Any]]:
    """On-time and quality rates mostly 0.85-0.99 with a weaker tail; score from both.

    The score never exceeds 98, so a minimum of 99 or more is out of reach.
    """
    n = len(fac.industry)
    grade = np.array([np.mean([c.grade for c in caps]) for caps in fac.caps])

    def rate(shift: FloatArray) -> FloatArray:
        good = rng.random(n) < 0.85
        r = np.where(good, rng.uniform(0.85, 0.99, n), rng.uniform(0.55, 0.85, n)) + shift
        return np.asarray(np.round(np.clip(r, 0.3, 0.99), 3))

    on_time = rate(np.zeros(n))
    quality = rate(0.01 * (grade - 3))
    score = np.clip(np.rint(100 * ((on_time + quality) / 2) ** 2 + rng.normal(0, 2, n)), 0, 98)
    return [
        {"on_time_rate": a, "quality_rate": b, "score": s}
        for a, b, s in zip(
            on_time.tolist(), quality.tolist(), score.astype(int).tolist(), strict=True
        )
    ]


def factory_dicts(
    rng: np.random.Generator,
    fac: Factories,
    cal: Calendars,
    clusters: list[Place],
    industries: list[IndustrySpec],
    credit: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    n = len(fac.industry)
    ids = numbered_ids("F", n)
    share = np.where(rng.random(n) < 0.15, rng.choice([0.3, 0.4, 0.5, 0.6], n), 0.0).tolist()
    available = cal.available.tolist()
    committed = cal.committed.tolist()
    out: list[dict[str, Any]] = []
    for f in range(n):
        local = {g: f"line{i + 1}" for i, g in enumerate(fac.groups[f])}
        region = clusters[fac.cluster[f]].name
        factory: dict[str, Any] = {
            "id": ids[f],
            "name": f"{region} {industries[fac.industry[f]].title} {ids[f][1:]}",
            "location": {"lat": fac.lat[f], "lon": fac.lon[f], "region": region},
            "industry": industries[fac.industry[f]].id,
            "capabilities": [_cap_dict(c, local[c.group]) for c in fac.caps[f]],
            "resources": [
                {
                    "id": local[g],
                    "machines": fac.group_machines[g],
                    "available_minutes": available[g],
                    "committed_minutes": committed[g],
                }
                for g in fac.groups[f]
            ],
            "credit": credit[f],
        }
        if share[f]:
            factory["max_buyer_share"] = share[f]
        out.append(factory)
    return out


def _cap_dict(cap: Cap, group: str) -> dict[str, Any]:
    d: dict[str, Any] = {
        "process": cap.process,
        "resource_group": group,
        "unit_cost_cents": cap.cost,
        "seconds_per_unit": cap.seconds,
        "setup_minutes": cap.setup,
        "min_lot": cap.min_lot,
        "quality_grade": cap.grade,
    }
    if cap.max_lot is not None:
        d["max_lot"] = cap.max_lot
    if cap.materials:
        d["materials"] = cap.materials
    return d


@dataclass
class Stats:
    """Per process: what a buyer sees as typical on the platform."""

    seconds: dict[str, float]  # mean seconds per unit over capabilities
    cost: dict[str, float]  # median unit cost
    nominal: dict[str, float]  # median weekday minutes of a group hosting it
    max_grade: dict[str, int]
    max_score: dict[int, int]  # per industry index: best credit score


def platform_stats(fac: Factories, cal: Calendars, scores: list[int]) -> Stats:
    sec: dict[str, list[int]] = {}
    cost: dict[str, list[int]] = {}
    nom: dict[str, list[int]] = {}
    grade: dict[str, int] = {}
    best: dict[int, int] = {}
    for f, caps in enumerate(fac.caps):
        best[fac.industry[f]] = max(best.get(fac.industry[f], 0), scores[f])
        for cap in caps:
            sec.setdefault(cap.process, []).append(cap.seconds)
            cost.setdefault(cap.process, []).append(cap.cost)
            nom.setdefault(cap.process, []).append(int(cal.nominal[cap.group]))
            grade[cap.process] = max(grade.get(cap.process, 0), cap.grade)
    return Stats(
        seconds={p: float(np.mean(v)) for p, v in sec.items()},
        cost={p: float(np.median(v)) for p, v in cost.items()},
        nominal={p: float(np.median(v)) for p, v in nom.items()},
        max_grade=grade,
        max_score=best,
    )
