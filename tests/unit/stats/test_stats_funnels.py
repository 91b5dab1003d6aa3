"""Unit tests for gpscale.stats.funnels and gpscale.stats.limits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from gpscale.stats import (
    funnel,
    poisson_control_limits,
    proportion_control_limits,
    spiegelhalter_overdispersion,
    wilson_interval,
)


def test_proportion_limits_are_wilson_inversions() -> None:
    n = np.array([20, 150, 3_000, 80_000])
    lower, upper = proportion_control_limits(n, 0.3, 0.95)
    # at the limit, the Wilson interval of the limit proportion just reaches the target
    np.testing.assert_allclose(wilson_interval(upper * n, n)[0], 0.3, rtol=1e-9)
    np.testing.assert_allclose(wilson_interval(lower * n, n)[1], 0.3, rtol=1e-9)
    lo3, hi3 = proportion_control_limits(n, 0.3, 0.998)
    assert np.all(lo3 < lower) and np.all(hi3 > upper)
    bad_lo, _ = proportion_control_limits([0, 10], [0.5, 1.5])
    assert np.isnan(bad_lo).all()


def test_poisson_control_limits_solve_the_exact_tails() -> None:
    mu = np.array([0.2, 3.0, 40.0, 900.0])
    lower, upper = poisson_control_limits(mu, 0.95)
    assert lower[0] == 0.0 and lower[1] == 0.0  # P(X = 0 | 3) = 0.0498: zero events are not surprising
    np.testing.assert_allclose(special.gammaincc(lower[2:] + 1, mu[2:]), 0.025, rtol=1e-6)
    np.testing.assert_allclose(special.gammainc(upper, mu), 0.025, rtol=1e-6)
    nan_lo, nan_hi = poisson_control_limits([0.0, -1.0, np.nan])
    assert np.isnan(nan_lo).all() and np.isnan(nan_hi).all()


def test_proportion_positions_agree_with_each_units_wilson_interval() -> None:
    """Outside the PHE (Wilson-score) control limits exactly when the unit's own Wilson interval excludes the
    target: the limits invert the interval, which is computed here by a separate function."""
    rng = np.random.default_rng(5)
    n = rng.integers(500, 20_000, size=400).astype(float)
    x = rng.binomial(n.astype(int), rng.uniform(0.6, 0.8, size=400)).astype(float)
    result = funnel(x, n)
    target = x.sum() / n.sum()
    for level, tag in ((0.95, "0.025"), (0.998, "0.001")):
        lower, upper = wilson_interval(x, n, level)
        high = np.char.startswith(result.position, "High") & (
            (tag == "0.025") | (result.position == f"High ({tag})"))
        low = np.char.startswith(result.position, "Low") & ((tag == "0.025") | (result.position == f"Low ({tag})"))
        np.testing.assert_array_equal(high, lower > target)
        np.testing.assert_array_equal(low, upper < target)
    assert (result.position != "Not significant").any() and (result.position == "Not significant").any()
    assert result.overdispersion is None and "Wilson" in result.method
    assert np.all(result.lower_998 <= result.lower_95) and np.all(result.upper_95 <= result.upper_998)


def test_ratio_funnel_limits_bracket_the_target() -> None:
    expected = np.array([2.0, 20.0, 200.0])
    result = funnel([1, 25, 260], expected, "ratio", multiplier=100)
    assert result.target == 100
    assert np.all(result.lower_95 < 100) and np.all(result.upper_95 > 100)
    assert result.position.tolist()[2] in ("High (0.001)", "High (0.025)")


def test_funnel_invalid_units_are_not_compared() -> None:
    result = funnel([5, 5, np.nan], [100, 0, 100])
    assert result.position.tolist()[1:] == ["not compared", "not compared"]


def test_no_overdispersion_gives_zero_tau2() -> None:
    rng = np.random.default_rng(8)
    n = rng.integers(1_000, 5_000, size=1_000).astype(float)
    x = rng.binomial(n.astype(int), 0.4).astype(float)
    p = x.sum() / n.sum()
    for estimator in ("spiegelhalter", "consistent"):
        od = spiegelhalter_overdispersion(x / n, p, np.sqrt(p * (1 - p) / n), estimator=estimator)
        assert od.tau2 == pytest.approx(0.0, abs=2e-6), estimator


def test_overdispersion_recovers_tau() -> None:
    rng = np.random.default_rng(9)
    n = rng.integers(1_000, 20_000, size=3_000).astype(float)
    x = rng.binomial(n.astype(int), 0.5 + rng.normal(0, 0.02, size=n.size)).astype(float)
    result = funnel(x, n, overdispersion=True)
    assert result.overdispersion is not None
    assert np.sqrt(result.overdispersion.tau2) == pytest.approx(0.02, rel=0.1)
    assert result.overdispersion.chi2_p < 1e-6
    assert "consistent" in result.method
    published = funnel(x, n, overdispersion=True, estimator="spiegelhalter").overdispersion
    assert published is not None and published.tau2 < result.overdispersion.tau2


def test_spiegelhalter_published_formula() -> None:
    value = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9])
    s = np.full(10, 0.1)
    od = spiegelhalter_overdispersion(value, 1.0, s, winsor_fraction=0.1, estimator="spiegelhalter")
    z = (value - 1.0) / 0.1
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    phi = np.mean(zw**2)
    w = 1 / s**2
    assert od.phi == pytest.approx(phi)
    assert od.tau2 == pytest.approx((10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum()))


def test_rate_funnel_is_centred_on_the_pooled_rate() -> None:
    result = funnel([30, 50, 80], [10_000, 20_000, 25_000], "rate", multiplier=100_000)
    assert result.target == pytest.approx(160 / 55_000 * 100_000)
    assert np.all(result.lower_998 < result.lower_95) and np.all(result.lower_95 < result.target)
    assert np.all(result.upper_95 > result.target) and np.all(result.upper_998 > result.upper_95)


def test_funnel_argument_errors() -> None:
    with pytest.raises(ValueError):
        funnel([1], [2], "mean")  # type: ignore[arg-type]
