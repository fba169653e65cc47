"""The Beta CDF and quantile against closed forms and published values."""

from __future__ import annotations

import math

import pytest

from matcher.credit import beta_cdf, beta_interval, beta_quantile


def test_the_median_of_beta_2_5_is_the_published_value() -> None:
    # scipy.stats.beta.ppf(0.5, 2, 5) = 0.26444998329566...
    assert beta_quantile(0.5, 2, 5) == pytest.approx(0.2644499833, abs=1e-9)


@pytest.mark.parametrize("p", [0.001, 0.05, 0.3, 0.5, 0.95, 0.999])
def test_quantiles_of_the_uniform_beta_1_1_are_p(p: float) -> None:
    assert beta_quantile(p, 1, 1) == pytest.approx(p, abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [(3.0, 1.0), (0.4, 1.0), (1.0, 7.5), (1.0, 0.3)])
@pytest.mark.parametrize("p", [0.01, 0.25, 0.5, 0.9])
def test_quantiles_match_the_closed_forms_with_a_unit_shape(a: float, b: float, p: float) -> None:
    # Beta(a, 1): F(x) = x^a; Beta(1, b): F(x) = 1 - (1 - x)^b.
    expected = p ** (1 / a) if b == 1.0 else 1 - (1 - p) ** (1 / b)
    assert beta_quantile(p, a, b) == pytest.approx(expected, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("p", [0.05, 0.5, 0.9])
def test_quantiles_of_the_arcsine_beta_half_half(p: float) -> None:
    assert beta_quantile(p, 0.5, 0.5) == pytest.approx(math.sin(math.pi * p / 2) ** 2, rel=1e-9)


def test_the_cdf_is_symmetric_and_a_half_at_the_centre_of_a_symmetric_beta() -> None:
    assert beta_cdf(0.5, 7.3, 7.3) == pytest.approx(0.5, abs=1e-13)
    for x in (0.1, 0.37, 0.8):
        assert beta_cdf(x, 2.5, 9.0) == pytest.approx(1 - beta_cdf(1 - x, 9.0, 2.5), abs=1e-13)


@pytest.mark.parametrize(("a", "b"), [(8.5, 1.5), (209.7, 0.3), (5e4, 2e3), (0.3, 0.7)])
@pytest.mark.parametrize("p", [0.05, 0.5, 0.95])
def test_the_quantile_inverts_the_cdf_even_for_large_and_small_shapes(
    a: float, b: float, p: float
) -> None:
    assert beta_cdf(beta_quantile(p, a, b), a, b) == pytest.approx(p, abs=1e-9)


def test_a_tiny_lower_quantile_keeps_its_relative_precision() -> None:
    # Beta(0.05, 3): F(x) ~ x^0.05 / (0.05 B(0.05, 3)) near 0, so q(0.05) is ~1e-27.
    q = beta_quantile(0.05, 0.05, 3)
    assert 0 < q < 1e-20
    assert beta_cdf(q, 0.05, 3) == pytest.approx(0.05, rel=1e-9)


def test_the_interval_is_equal_tailed() -> None:
    low, high = beta_interval(0.9, 2, 5)
    assert low == pytest.approx(beta_quantile(0.05, 2, 5), abs=1e-12)
    assert high == pytest.approx(beta_quantile(0.95, 2, 5), abs=1e-12)


def test_bad_shapes_and_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        beta_cdf(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        beta_quantile(1.5, 1.0, 1.0)
