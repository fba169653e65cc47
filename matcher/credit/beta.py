"""The Beta distribution's CDF and quantile, without scipy.

The regularized incomplete beta ``I_x(a, b)`` is evaluated by its continued fraction
(modified Lentz, as Numerical Recipes' ``betacf``), on the side of the mean where it
converges fast, and the quantile by Newton steps on it safeguarded by bisection, so
that it can neither diverge nor leave ``[0, 1]``.
"""

from __future__ import annotations

import math

_TINY = 1e-300
_EPS = 1e-15


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of ``I_x(a, b)`` (NR ``betacf``); converges for
    ``x < (a + 1) / (a + b + 2)`` in about ``sqrt(max(a, b))`` terms."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    max_terms = 200 + int(20 * math.sqrt(max(a, b)))
    for m in range(1, max_terms + 1):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def beta_cdf(x: float, a: float, b: float) -> float:
    """``P(X <= x)`` for ``X ~ Beta(a, b)``: the regularized incomplete beta ``I_x(a, b)``.

    Parameters
    ----------
    x
        The point, clipped to ``[0, 1]``.
    a, b
        Shape parameters, both positive.
    """
    if not (a > 0.0 and b > 0.0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"Beta shapes must be positive and finite, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def beta_quantile(p: float, a: float, b: float) -> float:
    """The ``x`` with ``I_x(a, b) = p``, to about 1e-13.

    Newton steps on the CDF kept inside a bracket that every evaluation narrows, and a
    bisection whenever a step would leave it: as safe as bisection, in a handful of
    evaluations rather than forty.

    Parameters
    ----------
    p
        Probability in ``[0, 1]``.
    a, b
        Shape parameters, both positive.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    if a > b:
        # Work on the side of the mode nearer 0, where floats are dense: x near 1 would
        # lose its digits in ``1 - x``.
        return 1.0 - beta_quantile(1.0 - p, b, a)
    log_b = _log_beta(a, b)
    lo, hi = 0.0, 1.0
    x = a / (a + b)
    for _ in range(400):
        f = beta_cdf(x, a, b) - p
        if f < 0.0:
            lo = x
        else:
            hi = x
        if hi - lo <= 1e-13 * hi:
            break
        log_pdf = (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) - log_b
        pdf = math.exp(log_pdf) if log_pdf < 700.0 else math.inf
        nxt = x - f / pdf if pdf > 0.0 else math.nan
        if not lo < nxt < hi:
            # Bisect, geometrically while the bracket spans orders of magnitude: a
            # quantile of a small shape can be 1e-30.
            nxt = hi * 1e-3 if lo == 0.0 else math.sqrt(lo * hi) if hi > 4 * lo else 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-15 * x:
            return nxt
        x = nxt
    return x


def beta_interval(level: float, a: float, b: float) -> tuple[float, float]:
    """The equal-tailed credible interval holding ``level`` of ``Beta(a, b)``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = (1.0 - level) / 2.0
    return beta_quantile(tail, a, b), beta_quantile(1.0 - tail, a, b)
