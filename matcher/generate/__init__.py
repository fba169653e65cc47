"""Seeded generator of realistic cloud-factory instances.

Solvers need test data that looks like a real platform: factories clustered in
manufacturing regions, each in one industry with the processes such plants run,
calendars with shifts, weekends and holidays, orders whose size and deadlines fit
the capacity, and a few orders that cannot or should not be served. Everything is
drawn from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same
arguments always give the same instance, and the result goes through
:class:`~matcher.domain.instance.Instance` validation like any user input.

Orders split by operation (``by_operation``, docs/model.md): that share of the
multi-operation orders gets ``split.by_operation: true``, and a quarter of those
(in industries that have such chains) ask for a chain of processes no single
factory offers, so that only routing the lot between factories serves them. These
draws come from a second stream seeded from the same seed, so the main stream, the
factories and every other order are the same whatever the share, and a share of 0
gives exactly the instance of a generator without the option. :func:`instance_json`
writes an instance as the ``generate`` command does, leaving out the fields of
features it does not use so that files made before them stay byte-identical.

Sizing: order quantities are scaled so that the processing minutes the orders need
are 72-92 % of the free minutes of the resource groups that host the demanded
processes (each order needing roughly 0.2-4 days of one resource group). When there
are too few orders per factory to reach that load without oversized orders, the
load stays lower: an order never needs more than ``max(4, 0.4 * working days)``
days of one group.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.domain.entities import Transport
from matcher.domain.instance import Instance

__all__ = ["generate", "instance_json"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_SHIFT_MINUTES = 480
_EARTH_KM_PER_DEG = 111.2
_BY_OPERATION_STREAM = 1  # spawn key of the by-operation draws' own stream
_ROUTING_ONLY_SHARE = 0.25  # of the orders split by operation: a chain no factory offers


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class _ProcessSpec:
    id: str
    name: str
    seconds: tuple[int, int]  # seconds per unit, log-uniform range
    rate_cents_per_hour: int  # what an hour of this process typically sells for
    setup: tuple[int, int]  # setup minutes range
    materials: tuple[str, ...] = ()  # materials a capability may be restricted to


@dataclass(frozen=True)
class _MaterialSpec:
    id: str
    name: str
    unit: str
    price_cents: int  # list price per material unit
    per_unit: tuple[float, float]  # bill-of-materials quantity per product unit


@dataclass(frozen=True)
class _IndustrySpec:
    """One industry: processes in precedence order and how plants bundle them.

    ``profiles`` are the process sets a factory of this industry may hold (a weaving
    mill does not sew), ``chains`` the multi-operation orders the market asks for
    (each inside some profile), ``impossible`` sensible chains that no profile holds:
    they produce the orders no factory can make.
    """

    id: str
    title: str
    processes: tuple[_ProcessSpec, ...]
    materials: tuple[_MaterialSpec, ...]
    profiles: tuple[tuple[str, ...], ...]
    profile_weights: tuple[float, ...]
    chains: tuple[tuple[str, ...], ...]
    impossible: tuple[tuple[str, ...], ...]
    unit_weight_kg: tuple[float, float]
    shift_probs: tuple[float, float, float]  # P(1, 2, 3 shifts) of a resource group

    @property
    def covering(self) -> tuple[tuple[str, ...], ...]:
        """Few profiles that together offer every process and every chain."""
        todo = [(p.id,) for p in self.processes] + list(self.chains)
        chosen: list[tuple[str, ...]] = []
        while todo:
            best = max(self.profiles, key=lambda pr: sum(set(t) <= set(pr) for t in todo))
            chosen.append(best)
            todo = [t for t in todo if not set(t) <= set(best)]
        return tuple(chosen)


def _p(
    pid: str,
    seconds: tuple[int, int],
    rate: int,
    setup: tuple[int, int],
    materials: tuple[str, ...] = (),
) -> _ProcessSpec:
    return _ProcessSpec(pid, pid.replace("_", " "), seconds, rate, setup, materials)


def _m(mid: str, unit: str, price: int, per_unit: tuple[float, float]) -> _MaterialSpec:
    return _MaterialSpec(mid, mid.replace("_", " "), unit, price, per_unit)


# Money is in fen (CNY cents); rates include machine, labour, overhead and margin.
_INDUSTRIES: tuple[_IndustrySpec, ...] = (
    _IndustrySpec(
        id="textiles",
        title="Textiles",
        processes=(
            _p("weaving", (120, 400), 6000, (20, 90), ("cotton_yarn", "polyester_yarn")),
            _p("dyeing", (30, 120), 9000, (30, 120), ("cotton_yarn", "polyester_yarn")),
            _p("cutting", (20, 90), 5000, (5, 30)),
            _p("sewing", (600, 1500), 5000, (0, 30)),
        ),
        materials=(
            _m("cotton_yarn", "kg", 2800, (0.2, 0.8)),
            _m("polyester_yarn", "kg", 1200, (0.2, 0.8)),
            _m("reactive_dye", "kg", 6000, (0.005, 0.04)),
            _m("sewing_thread", "cone", 800, (0.01, 0.05)),
            _m("zipper", "pcs", 60, (1.0, 2.0)),
        ),
        profiles=(
            ("weaving",),
            ("weaving", "dyeing"),
            ("dyeing",),
            ("cutting", "sewing"),
            ("sewing",),
            ("dyeing", "cutting", "sewing"),
        ),
        profile_weights=(0.15, 0.2, 0.1, 0.3, 0.15, 0.1),
        chains=(("weaving", "dyeing"), ("cutting", "sewing"), ("dyeing", "cutting", "sewing")),
        impossible=(("weaving", "dyeing", "cutting"), ("weaving", "dyeing", "sewing")),
        unit_weight_kg=(0.15, 1.2),
        shift_probs=(0.35, 0.45, 0.2),
    ),
    _IndustrySpec(
        id="plastics",
        title="Plastics",
        processes=(
            _p("mould_making", (10, 60), 30000, (60, 120)),
            _p("injection_molding", (20, 90), 12000, (30, 120), ("abs", "pp", "polycarbonate")),
            _p("painting", (30, 120), 8000, (15, 60)),
            _p("assembly", (60, 300), 5000, (0, 30)),
        ),
        materials=(
            _m("abs", "kg", 1500, (0.02, 1.0)),
            _m("pp", "kg", 900, (0.02, 1.0)),
            _m("polycarbonate", "kg", 2200, (0.02, 0.8)),
            _m("masterbatch", "kg", 3000, (0.001, 0.02)),
            _m("paint", "l", 4000, (0.005, 0.05)),
        ),
        profiles=(
            ("mould_making",),
            ("mould_making", "injection_molding"),
            ("mould_making", "injection_molding", "assembly"),
            ("injection_molding",),
            ("injection_molding", "assembly"),
            ("injection_molding", "painting"),
            ("injection_molding", "painting", "assembly"),
            ("painting",),
        ),
        profile_weights=(0.05, 0.15, 0.15, 0.25, 0.15, 0.1, 0.1, 0.05),
        chains=(
            ("mould_making", "injection_molding"),
            ("mould_making", "injection_molding", "assembly"),
            ("injection_molding", "painting"),
            ("injection_molding", "assembly"),
            ("injection_molding", "painting", "assembly"),
        ),
        impossible=(("mould_making", "injection_molding", "painting"),),
        unit_weight_kg=(0.05, 1.5),
        shift_probs=(0.15, 0.35, 0.5),
    ),
    _IndustrySpec(
        id="hardware",
        title="Hardware",
        processes=(
            _p("cnc_milling", (120, 900), 15000, (15, 90), ("aluminium_bar", "stainless_steel")),
            _p("stamping", (3, 20), 10000, (30, 120), ("steel_sheet", "stainless_steel")),
            _p("welding", (60, 400), 7000, (10, 45), ("steel_sheet", "stainless_steel")),
            _p("surface_treatment", (20, 90), 6000, (30, 90)),
        ),
        materials=(
            _m("steel_sheet", "kg", 550, (0.2, 6.0)),
            _m("aluminium_bar", "kg", 2200, (0.1, 3.0)),
            _m("stainless_steel", "kg", 1600, (0.1, 4.0)),
            _m("welding_wire", "kg", 1400, (0.005, 0.05)),
            _m("zinc", "kg", 2400, (0.005, 0.1)),
        ),
        profiles=(
            ("cnc_milling",),
            ("cnc_milling", "surface_treatment"),
            ("stamping",),
            ("stamping", "welding"),
            ("stamping", "welding", "surface_treatment"),
            ("welding", "surface_treatment"),
            ("surface_treatment",),
        ),
        profile_weights=(0.25, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1),
        chains=(
            ("cnc_milling", "surface_treatment"),
            ("stamping", "welding"),
            ("stamping", "welding", "surface_treatment"),
            ("welding", "surface_treatment"),
        ),
        impossible=(("cnc_milling", "welding", "surface_treatment"),),
        unit_weight_kg=(0.3, 8.0),
        shift_probs=(0.25, 0.5, 0.25),
    ),
    _IndustrySpec(
        id="electronics",
        title="Electronics",
        processes=(
            _p("smt", (10, 60), 20000, (30, 120), ("pcb_fr4", "pcb_flex")),
            _p("through_hole", (60, 300), 6000, (10, 40)),
            _p("testing", (30, 180), 8000, (5, 30)),
        ),
        materials=(
            _m("pcb_fr4", "pcs", 300, (1.0, 2.0)),
            _m("pcb_flex", "pcs", 900, (1.0, 2.0)),
            _m("ic_chip", "pcs", 250, (1.0, 12.0)),
            _m("passive_components", "kpcs", 2500, (0.02, 0.3)),
            _m("solder_paste", "kg", 40000, (0.0005, 0.005)),
        ),
        profiles=(
            ("smt",),
            ("smt", "testing"),
            ("smt", "through_hole", "testing"),
            ("through_hole", "testing"),
            ("testing",),
        ),
        profile_weights=(0.25, 0.25, 0.3, 0.1, 0.1),
        chains=(
            ("smt", "testing"),
            ("smt", "through_hole", "testing"),
            ("through_hole", "testing"),
        ),
        impossible=(),
        unit_weight_kg=(0.05, 1.0),
        shift_probs=(0.1, 0.4, 0.5),
    ),
    _IndustrySpec(
        id="furniture",
        title="Furniture",
        processes=(
            _p("wood_cutting", (120, 600), 8000, (15, 60), ("plywood", "oak_board")),
            _p("finishing", (300, 1200), 6000, (20, 60)),
            _p("upholstery", (900, 2400), 5000, (10, 40), ("foam", "upholstery_fabric")),
            _p("furniture_assembly", (600, 1800), 5000, (0, 30)),
        ),
        materials=(
            _m("plywood", "m2", 3500, (0.5, 4.0)),
            _m("oak_board", "m2", 12000, (0.3, 3.0)),
            _m("foam", "kg", 1800, (0.5, 6.0)),
            _m("upholstery_fabric", "m", 2500, (0.5, 6.0)),
            _m("lacquer", "l", 5000, (0.05, 0.5)),
        ),
        profiles=(
            ("wood_cutting",),
            ("wood_cutting", "finishing"),
            ("wood_cutting", "finishing", "furniture_assembly"),
            ("upholstery", "furniture_assembly"),
            ("wood_cutting", "finishing", "upholstery", "furniture_assembly"),
            ("finishing",),
        ),
        profile_weights=(0.2, 0.2, 0.25, 0.15, 0.1, 0.1),
        chains=(
            ("wood_cutting", "finishing"),
            ("wood_cutting", "finishing", "furniture_assembly"),
            ("upholstery", "furniture_assembly"),
            ("finishing", "furniture_assembly"),
        ),
        impossible=(),
        unit_weight_kg=(6.0, 45.0),
        shift_probs=(0.45, 0.45, 0.1),
    ),
)


@dataclass(frozen=True)
class _Place:
    name: str
    lat: float
    lon: float
    size: float = 1.0
    mix: tuple[float, ...] = ()  # share of factories per industry, as in _INDUSTRIES


# Manufacturing clusters; mix order: textiles, plastics, hardware, electronics, furniture.
_CLUSTERS: tuple[_Place, ...] = (
    _Place("Dongguan", 23.02, 113.75, 1.3, (0.05, 0.25, 0.1, 0.4, 0.2)),
    _Place("Shenzhen", 22.54, 114.06, 1.2, (0.02, 0.15, 0.13, 0.7, 0.0)),
    _Place("Suzhou", 31.30, 120.62, 1.1, (0.25, 0.15, 0.15, 0.45, 0.0)),
    _Place("Ningbo", 29.87, 121.55, 1.0, (0.15, 0.45, 0.25, 0.1, 0.05)),
    _Place("Foshan", 23.02, 113.12, 0.9, (0.1, 0.15, 0.3, 0.0, 0.45)),
    _Place("Quanzhou", 24.87, 118.68, 0.8, (0.6, 0.15, 0.1, 0.0, 0.15)),
    _Place("Wenzhou", 28.00, 120.67, 0.7, (0.2, 0.2, 0.4, 0.2, 0.0)),
    _Place("Shaoxing", 30.00, 120.58, 0.7, (0.8, 0.1, 0.1, 0.0, 0.0)),
)

# Where buyers sit besides the clusters.
_CITIES: tuple[_Place, ...] = (
    _Place("Shanghai", 31.23, 121.47),
    _Place("Beijing", 39.90, 116.41),
    _Place("Guangzhou", 23.13, 113.26),
    _Place("Hangzhou", 30.27, 120.16),
    _Place("Chengdu", 30.57, 104.07),
    _Place("Wuhan", 30.59, 114.31),
    _Place("Tianjin", 39.08, 117.20),
    _Place("Chongqing", 29.56, 106.55),
    _Place("Xi'an", 34.34, 108.94),
    _Place("Nanjing", 32.06, 118.80),
    _Place("Qingdao", 36.07, 120.38),
    _Place("Xiamen", 24.48, 118.09),
)

# Lunar New Year's day; the factory holiday runs from its eve to day 6 (approximate:
# official make-up working days are ignored).
_SPRING_FESTIVAL = {
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

# (kind, weight_kg range, volume_m3 range, fixed cost, cents per km, cents per hour)
_VEHICLE_TYPES: tuple[tuple[str, tuple[int, int], tuple[int, int], int, int, int], ...] = (
    ("van", (2000, 3500), (10, 18), 20000, 250, 4000),
    ("truck", (8000, 12000), (30, 42), 45000, 450, 5000),
    ("heavy", (15000, 20000), (45, 60), 80000, 700, 6000),
)


# --------------------------------------------------------------------------- helpers


def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: int) -> FloatArray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def _nice(values: FloatArray) -> IntArray:
    """Round to two significant digits (buyers order 1 200, not 1 187), at least 1."""
    v = np.maximum(np.asarray(values, dtype=np.float64), 1.0)
    mag = np.where(v >= 100.0, 10.0 ** (np.floor(np.log10(v)) - 1.0), 1.0)
    return np.maximum(np.rint(v / mag) * mag, 1.0).astype(np.int64)


def _jitter(
    rng: np.random.Generator, lat: FloatArray, lon: FloatArray, km: float
) -> tuple[list[float], list[float]]:
    """Scatter points ``km`` (standard deviation) around their centres."""
    dlat = rng.normal(0.0, km, lat.size) / _EARTH_KM_PER_DEG
    dlon = rng.normal(0.0, km, lat.size) / (_EARTH_KM_PER_DEG * np.cos(np.radians(lat)))
    return np.round(lat + dlat, 4).tolist(), np.round(lon + dlon, 4).tolist()


def _ids(prefix: str, n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def _holidays(start: dt.date, periods: int) -> tuple[NDArray[np.bool_], IntArray]:
    """National holidays, and days since the Spring Festival holiday ended (-1 if not)."""
    holiday = np.zeros(periods, dtype=bool)
    after_sf = np.full(periods, -1, dtype=np.int64)
    for t in range(periods):
        day = start + dt.timedelta(days=t)
        md = (day.month, day.day)
        if md == (1, 1) or (day.month == 5 and day.day <= 5) or (day.month == 10 and day.day <= 7):
            holiday[t] = True
        sf = _SPRING_FESTIVAL.get(day.year)
        if sf is not None:
            offset = (day - sf).days
            if -1 <= offset <= 6:
                holiday[t] = True
            elif 7 <= offset <= 30:
                after_sf[t] = offset - 7
    return holiday, after_sf


# --------------------------------------------------------------------------- factories


@dataclass
class _Cap:
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
class _Factories:
    """Factory draws kept flat, so calendars and statistics can be vectorised."""

    industry: list[int] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    processes: list[tuple[str, ...]] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)  # global group indices
    caps: list[list[_Cap]] = field(default_factory=list)
    group_factory: list[int] = field(default_factory=list)
    group_machines: list[int] = field(default_factory=list)
    group_shifts: list[int] = field(default_factory=list)
    group_processes: list[list[str]] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)


def _pick_clusters(rng: np.random.Generator, factories: int) -> list[_Place]:
    n = 5 if factories < 40 else int(rng.integers(5, len(_CLUSTERS) + 1))
    size = np.array([c.size for c in _CLUSTERS])
    chosen = rng.choice(len(_CLUSTERS), n, replace=False, p=size / size.sum())
    return [_CLUSTERS[i] for i in sorted(chosen.tolist())]


def _pick_industries(rng: np.random.Generator, factories: int) -> list[_IndustrySpec]:
    """All industries, or as many as ``factories`` can fully cover."""
    need = [len(ind.covering) for ind in _INDUSTRIES]
    if factories >= sum(need):
        return list(_INDUSTRIES)
    chosen: list[int] = []
    left = factories
    for i in rng.permutation(len(_INDUSTRIES)).tolist():
        if need[i] <= left:
            chosen.append(i)
            left -= need[i]
    return [_INDUSTRIES[i] for i in sorted(chosen)]


def _industry_mix(clusters: list[_Place], industries: list[_IndustrySpec]) -> FloatArray:
    """Cluster x industry weights, with a floor so every industry has somewhere to go."""
    cols = [_INDUSTRIES.index(ind) for ind in industries]
    mix = np.array([[c.mix[j] for j in cols] for c in clusters]) + 0.02
    return mix * np.array([c.size for c in clusters])[:, None]


def _draw_factories(
    rng: np.random.Generator,
    factories: int,
    clusters: list[_Place],
    industries: list[_IndustrySpec],
) -> _Factories:
    mix = _industry_mix(clusters, industries)
    share = mix.sum(axis=0) / mix.sum()
    cover = [len(ind.covering) for ind in industries]
    counts = np.array(cover) + rng.multinomial(factories - sum(cover), share)
    kinds = rng.permutation(np.repeat(np.arange(len(industries)), counts)).tolist()
    fac = _Factories()
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


def _place_factories(rng: np.random.Generator, fac: _Factories, clusters: list[_Place]) -> None:
    """Scatter factories some tens of kilometres around their cluster's centre."""
    centre_lat = np.array([clusters[c].lat for c in fac.cluster])
    centre_lon = np.array([clusters[c].lon for c in fac.cluster])
    fac.lat, fac.lon = _jitter(rng, centre_lat, centre_lon, 20.0)


def _haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)), dtype=np.float64)


def _draw_plant(
    rng: np.random.Generator, fac: _Factories, ind: _IndustrySpec, profile: tuple[str, ...]
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
    caps: list[_Cap] = []
    for j, pid in enumerate(profile):
        spec = specs[pid]
        lo, hi = spec.seconds
        seconds = float(_loguniform(rng, lo, hi, 1)[0])
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
            _Cap(
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


# --------------------------------------------------------------------------- calendars


@dataclass
class _Calendars:
    available: IntArray  # groups x periods
    committed: IntArray
    nominal: IntArray  # per group: minutes on a normal weekday

    @property
    def free_total(self) -> IntArray:
        return np.asarray(np.maximum(self.available - self.committed, 0).sum(axis=1))


def _draw_calendars(
    rng: np.random.Generator, fac: _Factories, periods: int, start: dt.date
) -> _Calendars:
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
    return _Calendars(available, committed, machines * shifts * _SHIFT_MINUTES)


def _set_max_lots(rng: np.random.Generator, fac: _Factories, cal: _Calendars) -> None:
    """A few capabilities cap the lot at one to five days of their group's output."""
    for caps in fac.caps:
        for cap in caps:
            if rng.random() < 0.08:
                daily = cal.nominal[cap.group] * 60 / cap.seconds
                cap.max_lot = max(cap.min_lot, int(_nice(np.array([daily * rng.uniform(1, 5)]))[0]))


# --------------------------------------------------------------------------- statistics


@dataclass
class _Stats:
    """Per process: what a buyer sees as typical on the platform."""

    seconds: dict[str, float]  # mean seconds per unit over capabilities
    cost: dict[str, float]  # median unit cost
    nominal: dict[str, float]  # median weekday minutes of a group hosting it
    max_grade: dict[str, int]
    max_score: dict[int, int]  # per industry index: best credit score


def _stats(fac: _Factories, cal: _Calendars, scores: list[int]) -> _Stats:
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
    return _Stats(
        seconds={p: float(np.mean(v)) for p, v in sec.items()},
        cost={p: float(np.median(v)) for p, v in cost.items()},
        nominal={p: float(np.median(v)) for p, v in nom.items()},
        max_grade=grade,
        max_score=best,
    )


# --------------------------------------------------------------------------- credit


def _draw_credit(rng: np.random.Generator, fac: _Factories) -> list[dict[str, Any]]:
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


def _factory_dicts(
    rng: np.random.Generator,
    fac: _Factories,
    cal: _Calendars,
    clusters: list[_Place],
    industries: list[_IndustrySpec],
    credit: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    n = len(fac.industry)
    ids = _ids("F", n)
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


def _cap_dict(cap: _Cap, group: str) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- orders


@dataclass
class _OrderPlan:
    """Per-order draws that later stages (suppliers) need."""

    dicts: list[dict[str, Any]]
    material_demand: dict[str, float]
    material_lots: dict[str, list[float]]


@dataclass
class _OrderType:
    """Operations an order may ask for, and the factories that can make them."""

    processes: tuple[str, ...]
    factories: list[int]
    capacity: list[float]  # free minutes of each factory's groups hosting these processes


def _order_types(
    fac: _Factories, cal_free: IntArray, k: int, ind: _IndustrySpec
) -> list[_OrderType]:
    """Single processes and chains of industry ``k`` with the factories offering them."""
    types = [_OrderType((p.id,), [], []) for p in ind.processes]
    types += [_OrderType(c, [], []) for c in ind.chains]
    for f, procs in enumerate(fac.processes):
        if fac.industry[f] != k:
            continue
        # A factory's capacity is shared among the order types it can make, so that
        # processes appearing in many chains are not systematically overloaded.
        mine = [t for t in types if set(t.processes) <= set(procs)]
        for t in mine:
            groups = {c.group for c in fac.caps[f] if c.process in t.processes}
            t.factories.append(f)
            t.capacity.append(float(sum(cal_free[g] for g in groups)) / len(mine))
    return types


def _type_weights(
    rng: np.random.Generator, types: list[_OrderType], stats: _Stats, cap: dict[str, float]
) -> tuple[FloatArray, float]:
    """Probabilities of the order types, and the mean minutes one order needs.

    Orders are sized on their slowest process, so chains load their fast processes
    lightly; iterative proportional fitting picks type probabilities that load every
    process in proportion to its capacity, with 60 % single operations. Noise then
    overloads some processes and leaves others idle.
    """
    procs = sorted({p for t in types for p in t.processes})
    col = {p: i for i, p in enumerate(procs)}
    minutes = np.zeros((len(types), len(procs)))  # per day of work at the bottleneck
    for i, t in enumerate(types):
        neck = max(t.processes, key=lambda p: stats.seconds[p])
        for p in t.processes:
            minutes[i, col[p]] = stats.nominal[neck] * stats.seconds[p] / stats.seconds[neck]
    uses = minutes > 0
    target = np.log(np.array([cap[p] for p in procs]) + 1.0)
    single = np.array([len(t.processes) == 1 for t in types])
    w = np.ones(len(types))
    for _ in range(60):
        gap = target - np.log(w @ minutes)
        w = w * np.exp((gap[None, :] * uses).sum(axis=1) / uses.sum(axis=1))
        w = np.where(single, 0.6 * w / w[single].sum(), 0.4 * w / w[~single].sum())
    w = w * rng.lognormal(0.0, 0.35, len(types))
    w = w / w.sum()
    return np.asarray(w, dtype=np.float64), float(w @ minutes.sum(axis=1))


def _draw_order_ops(
    rng: np.random.Generator,
    n: int,
    fac: _Factories,
    cal: _Calendars,
    stats: _Stats,
    industries: list[_IndustrySpec],
) -> tuple[IntArray, list[tuple[str, ...]], IntArray]:
    """Industry, processes and a reference factory of every order.

    Industries and order types get demand in proportion to their capacity, with
    noise. The reference factory (drawn by capacity) is one that can make the order,
    so that its requirements stay satisfiable; it is -1 for the ~1 % of orders that
    ask for a chain no factory offers.
    """
    free = cal.free_total
    cap: dict[str, float] = {}
    for g, procs in enumerate(fac.group_processes):
        for p in procs:
            cap[p] = cap.get(p, 0.0) + float(free[g]) / len(procs)
    all_types = [_order_types(fac, free, k, ind) for k, ind in enumerate(industries)]
    fitted = [_type_weights(rng, types, stats, cap) for types in all_types]
    ind_cap = np.array([sum(cap[p.id] for p in ind.processes) for ind in industries])
    share = (ind_cap + 1.0) / np.array([m for _, m in fitted])
    share *= rng.lognormal(0.0, 0.2, len(industries))
    order_ind = rng.choice(len(industries), n, p=share / share.sum())
    ops: list[tuple[str, ...]] = [()] * n
    ref = np.full(n, -1, dtype=np.int64)
    for k, (types, (w, _)) in enumerate(zip(all_types, fitted, strict=True)):
        idx = np.flatnonzero(order_ind == k)
        kind = rng.choice(len(types), idx.size, p=w)
        for j, t in enumerate(types):
            mine = idx[kind == j]
            if mine.size == 0:
                continue
            weight = np.array(t.capacity) + 1.0
            pick = rng.choice(weight.size, mine.size, p=weight / weight.sum())
            ref[mine] = np.array(t.factories)[pick]
            for o in mine.tolist():
                ops[o] = t.processes
    candidates = np.flatnonzero([bool(industries[k].impossible) for k in order_ind.tolist()])
    n_bad = min(round(0.01 * n), candidates.size)
    if n_bad:
        for o in rng.choice(candidates, n_bad, replace=False).tolist():
            chains = industries[int(order_ind[o])].impossible
            ops[o] = chains[int(rng.integers(0, len(chains)))]
            ref[o] = -1
    return order_ind.astype(np.int64), ops, ref


def _route_by_operation(
    rng: np.random.Generator | None,
    share: float,
    ops: list[tuple[str, ...]],
    ref: IntArray,
    order_ind: IntArray,
    industries: list[_IndustrySpec],
    fac: _Factories,
) -> tuple[list[bool], dict[int, dict[str, _Cap]]]:
    """Which orders are split by operation (``round(share * m)`` of the ``m``
    multi-operation orders), and the reference capability per process of those that
    need routing.

    A quarter of them, in industries with chains no profile holds, switch to such a
    chain (``ops`` updated in place, before the orders are sized and priced): no
    single factory can make them, routing can. Each of their operations gets its
    own reference capability, drawn among the factories offering the process, so
    that its material and grade requirements stay satisfiable; ``ref`` becomes the
    last operation's factory (the one that delivers). ``rng`` is the side stream,
    never the main one; nothing is drawn when ``share`` is 0.
    """
    split_flags = [False] * len(ops)
    route_caps: dict[int, dict[str, _Cap]] = {}
    multi = [o for o, t in enumerate(ops) if len(t) >= 2]
    count = round(share * len(multi))
    if rng is None or count == 0:
        return split_flags, route_caps
    offering: dict[str, list[tuple[int, _Cap]]] = {}
    for f, caps in enumerate(fac.caps):
        for cap in caps:
            offering.setdefault(cap.process, []).append((f, cap))
    chosen = sorted(rng.choice(len(multi), count, replace=False).tolist())
    switch = rng.random(count) < _ROUTING_ONLY_SHARE
    for i, c in enumerate(chosen):
        o = multi[c]
        split_flags[o] = True
        chains = industries[int(order_ind[o])].impossible
        if not (switch[i] and chains):
            continue
        ops[o] = chains[int(rng.integers(0, len(chains)))]
        picks = {p: offering[p][int(rng.integers(0, len(offering[p])))] for p in ops[o]}
        route_caps[o] = {p: cap for p, (_, cap) in picks.items()}
        ref[o] = picks[ops[o][-1]][0]
    return split_flags, route_caps


def _size_orders(
    rng: np.random.Generator,
    ops: list[tuple[str, ...]],
    fac: _Factories,
    cal: _Calendars,
    stats: _Stats,
    periods: int,
) -> tuple[FloatArray, FloatArray]:
    """Quantities (before rounding) and days of work that load the demanded capacity to 72-92 %.

    Each order draws a size in days of one resource group at its bottleneck process;
    all sizes are then scaled by one factor found by bisection, capped per order.
    """
    n = len(ops)
    per_work = np.empty(n)  # units per day of work at the bottleneck
    minutes_per_work = np.empty(n)  # processing minutes, all operations, per day of work
    for o, t in enumerate(ops):
        neck = max(t, key=lambda p: stats.seconds[p])
        per_work[o] = stats.nominal[neck] * 60 / stats.seconds[neck]
        minutes_per_work[o] = per_work[o] * sum(stats.seconds[p] for p in t) / 60
    work = np.clip(rng.lognormal(math.log(0.9), 0.7, n), 0.2, 4.0)
    demanded = {p for t in set(ops) for p in t}
    hosts = [any(p in demanded for p in procs) for procs in fac.group_processes]
    capacity = float(cal.free_total[np.array(hosts, dtype=bool)].sum())
    target = rng.uniform(0.72, 0.92) * capacity
    cap = max(4.0, 0.4 * periods * 5 / 7)

    def load(s: float) -> float:
        return float((np.minimum(work * s, cap) * minutes_per_work).sum())

    lo, hi = 1e-6, 1e6
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if load(mid) < target else (lo, mid)
    days = np.minimum(work * lo, cap)
    return np.asarray(days * per_work, dtype=np.float64), np.asarray(days, dtype=np.float64)


@dataclass
class _Buyers:
    ids: list[str]
    industry: IntArray
    weight: FloatArray  # Zipf-like: a few buyers place most orders
    home: list[_Place]
    lat: FloatArray
    lon: FloatArray


def _draw_buyers(
    rng: np.random.Generator,
    orders: int,
    order_ind: IntArray,
    clusters: list[_Place],
    n_industries: int,
) -> _Buyers:
    """Buyers: one industry each, Zipf-like sizes, located in clusters or big cities."""
    n = max(n_industries, min(300, round(orders / 20)))
    share = np.bincount(order_ind, minlength=n_industries) + 0.1
    industry = np.concatenate(
        [np.arange(n_industries), rng.choice(n_industries, n - n_industries, p=share / share.sum())]
    )
    rank = rng.permutation(n) + 1
    places = [*clusters, *_CITIES]
    pw = np.array([1.5 / len(clusters)] * len(clusters) + [1.0 / len(_CITIES)] * len(_CITIES))
    home = [places[i] for i in rng.choice(len(places), n, p=pw / pw.sum()).tolist()]
    lat, lon = _jitter(rng, np.array([p.lat for p in home]), np.array([p.lon for p in home]), 15.0)
    return _Buyers(
        ids=_ids("B", n),
        industry=industry.astype(np.int64),
        weight=np.asarray(1.0 / rank**1.1, dtype=np.float64),
        home=home,
        lat=np.array(lat),
        lon=np.array(lon),
    )


def _draw_orders(
    rng: np.random.Generator,
    n: int,
    periods: int,
    fac: _Factories,
    cal: _Calendars,
    stats: _Stats,
    clusters: list[_Place],
    industries: list[_IndustrySpec],
    by_operation: float = 0.0,
    side: np.random.Generator | None = None,
) -> _OrderPlan:
    plan = _OrderPlan([], {}, {})
    if n == 0:
        return plan
    order_ind, ops, ref = _draw_order_ops(rng, n, fac, cal, stats, industries)
    split_flags, route_caps = _route_by_operation(
        side, by_operation, ops, ref, order_ind, industries, fac
    )
    qty_raw, days = _size_orders(rng, ops, fac, cal, stats, periods)
    qty = _nice(qty_raw)
    buyers = _draw_buyers(rng, n, order_ind, clusters, len(industries))
    buyer = np.empty(n, dtype=np.int64)
    for k in range(len(industries)):
        idx = np.flatnonzero(order_ind == k)
        pool = np.flatnonzero(buyers.industry == k)
        w = buyers.weight[pool]
        buyer[idx] = rng.choice(pool, idx.size, p=w / w.sum())
    d_lat, d_lon = _jitter(rng, buyers.lat[buyer], buyers.lon[buyer], 8.0)
    # Deadlines: the calendar days the work needs on one group (weekends included)
    # plus 2-10 days of slack; releases spread evenly over the horizon.
    slack = np.ceil(days * 7 / 5).astype(np.int64) + rng.integers(2, 11, n)
    slack = np.minimum(slack, periods - 1)
    release = np.floor(rng.random(n) * (periods - slack)).astype(np.int64)
    due = release + slack
    typical = np.array([sum(stats.cost[p] for p in t) for t in ops])
    weights_lo = np.array([industries[k].unit_weight_kg[0] for k in order_ind.tolist()])
    weights_hi = np.array([industries[k].unit_weight_kg[1] for k in order_ind.tolist()])
    unit_weight = np.round(np.exp(rng.uniform(np.log(weights_lo), np.log(weights_hi))), 3)
    # What serving costs per unit at the reference factory: production plus transport.
    known = ref >= 0
    f_lat = np.where(known, np.array(fac.lat)[np.maximum(ref, 0)], np.array(d_lat))
    f_lon = np.where(known, np.array(fac.lon)[np.maximum(ref, 0)], np.array(d_lon))
    km = _haversine_km(f_lat, f_lon, np.array(d_lat), np.array(d_lon))
    tr = Transport()
    landed = typical + km * tr.road_factor * unit_weight * tr.cents_per_tonne_km / 1000
    terms = _commercial_terms(rng, n, qty, typical, landed, order_ind, stats)
    ids = _ids("O", n)
    cols = (
        qty.tolist(),
        release.tolist(),
        due.tolist(),
        buyer.tolist(),
        unit_weight.tolist(),
    )
    uniforms = rng.random((n, _OP_UNIFORMS)).tolist()
    for o, (q, r, d, b, uw) in enumerate(zip(*cols, strict=True)):
        ind = industries[int(order_ind[o])]
        caps = route_caps.get(o)
        if caps is None and ref[o] >= 0:
            caps = {c.process: c for c in fac.caps[int(ref[o])]}
        operations, bom = _operations(uniforms[o], ind, ops[o], stats, caps)
        order: dict[str, Any] = {
            "id": ids[o],
            "buyer": buyers.ids[b],
            "operations": operations,
            "quantity": q,
            "release_period": r,
            "due_period": d,
            "delivery": {"lat": d_lat[o], "lon": d_lon[o], "region": buyers.home[b].name},
            "unit_weight_kg": max(uw, 0.001),
            "bill_of_materials": bom,
            **terms[o],
        }
        if split_flags[o]:
            order["split"] = {**order.get("split", {}), "by_operation": True}
        plan.dicts.append(order)
        for mat, per in bom.items():
            plan.material_demand[mat] = plan.material_demand.get(mat, 0.0) + q * per
            plan.material_lots.setdefault(mat, []).append(q * per)
    return plan


_GRADE_CDF = ((0.3, 2), (0.7, 3), (0.95, 4), (1.0, 5))  # a buyer's minimum quality grade
_OP_UNIFORMS = 19  # uniforms one order's operations and bill of materials consume


def _operations(
    u: list[float],
    ind: _IndustrySpec,
    procs: tuple[str, ...],
    stats: _Stats,
    ref: dict[str, _Cap] | None,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Operations with occasional material and grade requirements, and the bill of materials.

    Requirements stay within what the reference factory ``ref`` offers (for an order
    split by operation whose chain no factory offers: one capability per process,
    of different factories), so only the deliberately impossible orders (``ref is
    None``) lack a capable factory. ``u`` holds this order's pre-drawn uniforms:
    drawing them in one array for all orders is what keeps 50 000 orders fast.
    """
    specs = {p.id: p for p in ind.processes}

    def allowed(p: str) -> tuple[str, ...]:
        cap = ref.get(p) if ref is not None else None
        return tuple(cap.materials) if cap is not None and cap.materials else specs[p].materials

    workable = [m for p in procs for m in allowed(p)]
    main = workable[int(u[0] * len(workable))] if workable else None
    operations: list[dict[str, Any]] = []
    for j, p in enumerate(procs):
        op: dict[str, Any] = {"process": p}
        if main is not None and main in allowed(p) and u[1 + j] < 0.5:
            op["material"] = main
        if u[4 + j] < 0.2:
            grade = next(g for c, g in _GRADE_CDF if u[7 + j] < c)
            best = ref[p].grade if ref is not None else stats.max_grade[p]
            op["min_quality_grade"] = min(grade, best)
        operations.append(op)
    others = [m for m in ind.materials if m.id != main]
    extra = int(u[10] * 3) + (0 if main is not None else 1)
    picked = sorted(sorted(range(len(others)), key=lambda i: u[11 + i])[:extra])
    bom_specs = [m for m in ind.materials if m.id == main] + [others[i] for i in picked]
    bom: dict[str, float] = {}
    for k, m in enumerate(bom_specs):
        lo, hi = m.per_unit
        bom[m.id] = float(f"{lo * (hi / lo) ** u[16 + k]:.3g}")
    return operations, bom


def _commercial_terms(
    rng: np.random.Generator,
    n: int,
    qty: IntArray,
    typical: FloatArray,
    landed: FloatArray,
    order_ind: IntArray,
    stats: _Stats,
) -> list[dict[str, Any]]:
    """Price ceilings, credit floors, split policies and penalties.

    A few ceilings sit below any factory's price and a few credit floors above any
    factory's score, some unserved penalties below what serving costs, so every
    unassigned-reason of the model shows up.
    """
    has_max = rng.random(n) < 0.5
    too_low = rng.random(n) < 0.06
    price_factor = np.where(too_low, rng.uniform(0.45, 0.65, n), rng.uniform(1.05, 1.5, n))
    max_price = np.maximum(1, np.rint(typical * price_factor)).astype(np.int64).tolist()
    has_credit = rng.random(n) < 0.3
    unreachable = rng.random(n) < 0.04
    credit = rng.integers(55, 86, n)
    best = np.array([stats.max_score.get(k, 98) for k in order_ind.tolist()])
    credit = np.where(unreachable, np.minimum(100, best + rng.integers(1, 4, n)), credit).tolist()
    split = rng.random(n) < 0.4
    min_split = np.clip(np.rint(qty * rng.uniform(0.1, 0.3, n)), 1, qty).astype(np.int64).tolist()
    max_fac = rng.integers(2, 4, n).tolist()
    late = np.maximum(1, np.rint(typical * rng.uniform(0.01, 0.05, n))).astype(np.int64).tolist()
    optional = rng.random(n) < 0.85
    cheap = rng.random(n) < 0.06
    factor = np.where(cheap, rng.uniform(0.3, 0.9, n), rng.uniform(1.2, 3.0, n))
    unserved = np.rint(qty * landed * factor).astype(np.int64).tolist()
    out: list[dict[str, Any]] = []
    for o in range(n):
        terms: dict[str, Any] = {
            "penalties": {
                "late_cents_per_unit_period": late[o],
                **({"unserved_cents": unserved[o]} if optional[o] else {}),
            }
        }
        if has_max[o]:
            terms["max_unit_price_cents"] = max_price[o]
        if has_credit[o]:
            terms["min_credit_score"] = credit[o]
        if split[o]:
            terms["split"] = {
                "allowed": True,
                "min_quantity": min_split[o],
                "max_factories": max_fac[o],
            }
        out.append(terms)
    return out


# --------------------------------------------------------------------------- suppliers, fleet


def _draw_suppliers(
    rng: np.random.Generator,
    factories: int,
    clusters: list[_Place],
    industries: list[_IndustrySpec],
    orders: _OrderPlan,
) -> list[dict[str, Any]]:
    """Material suppliers in the clusters, each covering one or two industries."""
    n = max(5, factories // 10)
    size = np.array([c.size for c in clusters])
    where = rng.choice(len(clusters), n, p=size / size.sum())
    offered: list[list[str]] = []
    for _ in range(n):
        focus = rng.choice(
            len(industries), min(len(industries), int(rng.integers(1, 3))), replace=False
        )
        pool = [m.id for k in sorted(focus.tolist()) for m in industries[k].materials]
        count = min(len(pool), int(rng.integers(2, 9)))
        offered.append(
            [pool[i] for i in sorted(rng.choice(len(pool), count, replace=False).tolist())]
        )
    for mat in (m.id for ind in industries for m in ind.materials):
        if not any(mat in offers for offers in offered):
            offered[int(np.argmin([len(o) for o in offered]))].append(mat)
    n_offering = {
        m: sum(m in o for o in offered) for ind in industries for m in (x.id for x in ind.materials)
    }
    specs = {m.id: m for ind in industries for m in ind.materials}
    lat, lon = _jitter(
        rng,
        np.array([clusters[c].lat for c in where]),
        np.array([clusters[c].lon for c in where]),
        15.0,
    )
    ids = _ids("S", n)
    return [
        {
            "id": ids[s],
            "name": f"{clusters[int(where[s])].name} Materials {ids[s][1:]}",
            "location": {"lat": lat[s], "lon": lon[s], "region": clusters[int(where[s])].name},
            "offers": [_offer(rng, specs[m], orders, n_offering[m]) for m in offered[s]],
        }
        for s in range(n)
    ]


def _offer(
    rng: np.random.Generator, spec: _MaterialSpec, orders: _OrderPlan, n_offering: int
) -> dict[str, Any]:
    """Quantity-discount schedule sized on the platform's typical lots of this material."""
    lots = orders.material_lots.get(spec.id)
    lot = float(np.median(lots)) if lots else 100.0
    tiers = int(rng.integers(2, 7))
    first = lot * rng.uniform(0.5, 2.0)
    breaks = [0.0]
    ratio = rng.uniform(2.0, 5.0)
    for k in range(1, tiers):
        value = float(_nice(np.array([first * ratio ** (k - 1)]))[0])
        breaks.append(max(value, breaks[-1] + 1.0))
    price = spec.price_cents * rng.uniform(0.85, 1.2)
    discount = rng.uniform(0.05, 0.30)
    prices = [max(1, round(price * (1 - discount * k / (tiers - 1)))) for k in range(tiers)]
    moq = (
        0.0
        if rng.random() < 0.6
        else float(_nice(np.array([breaks[1] * rng.uniform(0.2, 1.0)]))[0])
    )
    offer = tiered_offer(rng, spec.id, breaks, prices, moq)
    if rng.random() < 0.5:
        demand = orders.material_demand.get(spec.id, lot)
        offer["capacity"] = max(moq, 1.0, round(demand / n_offering * rng.uniform(0.3, 1.5), 1))
    return offer


def tiered_offer(
    rng: np.random.Generator,
    material: str,
    breaks: Sequence[float],
    prices: Sequence[int],
    moq: float,
) -> dict[str, Any]:
    """An offer with the given tiers: schedule type (half all-units) and lead time
    (0-5 periods, mostly short) drawn."""
    return {
        "material": material,
        "price": {
            "type": "all_units" if rng.random() < 0.5 else "incremental",
            "tiers": [
                {"min_quantity": b, "unit_price_cents": p}
                for b, p in zip(breaks, prices, strict=True)
            ],
        },
        "moq": moq,
        "lead_time_periods": int(rng.choice(6, p=[0.2, 0.25, 0.2, 0.15, 0.1, 0.1])),
    }


CARRIER_MIN_CENTS = 15000


def _draw_fleet(rng: np.random.Generator, clusters: list[_Place]) -> dict[str, Any]:
    """One depot per cluster with a mix of vans and trucks."""
    depots: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    for c in clusters:
        depot = f"D-{c.name.lower()}"
        depots.append({"id": depot, "location": {"lat": c.lat, "lon": c.lon, "region": c.name}})
        for v in range(int(rng.integers(2, 7))):
            kind, wkg, vol, fixed, per_km, per_hour = _VEHICLE_TYPES[
                int(rng.choice(len(_VEHICLE_TYPES), p=[0.4, 0.4, 0.2]))
            ]
            start = int(rng.choice([360, 420, 480]))
            vehicles.append(
                {
                    "id": f"{depot}-{kind}{v + 1}",
                    "depot": depot,
                    "capacity": {
                        "weight_kg": float(int(rng.integers(wkg[0], wkg[1] + 1)) // 100 * 100),
                        "volume_m3": float(rng.integers(vol[0], vol[1] + 1)),
                    },
                    "fixed_cost_cents": round(fixed * rng.uniform(0.85, 1.15)),
                    "cost_per_km_cents": round(per_km * rng.uniform(0.85, 1.15)),
                    "cost_per_hour_cents": round(per_hour * rng.uniform(0.85, 1.15)),
                    "speed_kmh": float(rng.choice([45.0, 50.0, 55.0, 60.0])),
                    "shift_start_minute": start,
                    "shift_end_minute": start + 600,
                }
            )
    return {"depots": depots, "vehicles": vehicles}


# --------------------------------------------------------------------------- entry point


def _catalogue(
    industries: Sequence[_IndustrySpec],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    processes = [
        {"id": p.id, "name": p.name, "industry": ind.id}
        for ind in industries
        for p in ind.processes
    ]
    materials = [
        {"id": m.id, "name": m.name, "unit": m.unit} for ind in industries for m in ind.materials
    ]
    return processes, materials


def generate(
    orders: int,
    factories: int,
    periods: int,
    seed: int,
    *,
    start_date: dt.date = dt.date(2026, 1, 5),
    name: str | None = None,
    by_operation: float = 0.0,
) -> Instance:
    """A realistic, valid instance; the same arguments always give the same instance.

    Parameters
    ----------
    orders
        Number of orders (0 or more).
    factories
        Number of factories (1 or more). With fewer than 9, only the industries
        the factories can fully cover are in the catalogue.
    periods
        Days in the horizon (``period_minutes = 1440``).
    seed
        Seed of ``numpy.random.default_rng``; every draw comes from it.
    start_date
        Date of period 0 (a Monday by default; weekends and Chinese public holidays
        follow the calendar).
    name
        Instance name; defaults to ``gen-o{orders}-f{factories}-p{periods}-s{seed}``.
    by_operation
        Share (0..1) of the multi-operation orders split by operation
        (``split.by_operation``); a quarter of those ask for a chain no single
        factory offers. Drawn from a second stream of ``seed``: at 0 the instance
        is exactly the one without the option, and factories never change.

    Returns
    -------
    Instance
        Validated like any user instance.
    """
    if orders < 0:
        raise ValueError(f"orders must be >= 0, got {orders}")
    if factories < 1:
        raise ValueError(f"factories must be >= 1, got {factories}")
    if not 1 <= periods <= 10_000:
        raise ValueError(f"periods must be in 1..10000, got {periods}")
    if not 0.0 <= by_operation <= 1.0:
        raise ValueError(f"by_operation must be in [0, 1], got {by_operation}")
    rng = np.random.default_rng(seed)
    side = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BY_OPERATION_STREAM,)))
    clusters = _pick_clusters(rng, factories)
    industries = _pick_industries(rng, factories)
    fac = _draw_factories(rng, factories, clusters, industries)
    _place_factories(rng, fac, clusters)
    cal = _draw_calendars(rng, fac, periods, start_date)
    _set_max_lots(rng, fac, cal)
    credit = _draw_credit(rng, fac)
    stats = _stats(fac, cal, [c["score"] for c in credit])
    plan = _draw_orders(
        rng, orders, periods, fac, cal, stats, clusters, industries, by_operation, side
    )
    processes, materials = _catalogue(industries)
    data: dict[str, Any] = {
        "name": name if name is not None else f"gen-o{orders}-f{factories}-p{periods}-s{seed}",
        "horizon": {"start_date": start_date, "periods": periods, "period_minutes": 1440},
        "processes": processes,
        "materials": materials,
        "factories": _factory_dicts(rng, fac, cal, clusters, industries, credit),
        "orders": plan.dicts,
        "suppliers": _draw_suppliers(rng, factories, clusters, industries, plan),
        "fleet": _draw_fleet(rng, clusters),
        # Less-than-truckload carriers charge a minimum per shipment: what makes a
        # platform's own milk runs pay for small loads.
        "transport": {"carrier_min_cents": CARRIER_MIN_CENTS},
    }
    return Instance.model_validate(data)


def instance_json(instance: Instance, *, indent: int | None = 1) -> str:
    """The instance's JSON as ``matcher generate`` writes it: unset fields and the
    fields of orders split by operation left out while unused (``by_operation``
    false, the transfer speed and handling at their defaults), so that files made
    before that feature, such as ``instances/demo.json``, can be re-made byte for byte.
    """
    transport = instance.transport
    unused_transfer = {
        name
        for name in ("transfer_speed_kmh", "transfer_handling_minutes")
        if getattr(transport, name) == Transport.model_fields[name].default
    }
    exclude: dict[str, Any] = {
        "orders": {
            i: {"split": {"by_operation"}}
            for i, order in enumerate(instance.orders)
            if not order.split.by_operation
        },
        "transport": unused_transfer,
    }
    return instance.model_dump_json(exclude_none=True, exclude=exclude, indent=indent)
