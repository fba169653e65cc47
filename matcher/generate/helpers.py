"""Numeric helpers the generator's stages share: log-uniform draws, rounding as buyers
round, points scattered around their centres, numbered ids, great-circle distances."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_EARTH_KM_PER_DEG = 111.2


def loguniform(rng: np.random.Generator, lo: float, hi: float, size: int) -> FloatArray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def nice(values: FloatArray) -> IntArray:
    """Round to two significant digits (buyers order 1 200, not 1 187), at least 1."""
    v = np.maximum(np.asarray(values, dtype=np.float64), 1.0)
    mag = np.where(v >= 100.0, 10.0 ** (np.floor(np.log10(v)) - 1.0), 1.0)
    return np.maximum(np.rint(v / mag) * mag, 1.0).astype(np.int64)


def jitter(
    rng: np.random.Generator, lat: FloatArray, lon: FloatArray, km: float
) -> tuple[list[float], list[float]]:
    """Scatter points ``km`` (standard deviation) around their centres."""
    dlat = rng.normal(0.0, km, lat.size) / _EARTH_KM_PER_DEG
    dlon = rng.normal(0.0, km, lat.size) / (_EARTH_KM_PER_DEG * np.cos(np.radians(lat)))
    return np.round(lat + dlat, 4).tolist(), np.round(lon + dlon, 4).tolist()


def numbered_ids(prefix: str, n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)), dtype=np.float64)
