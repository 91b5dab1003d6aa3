"""Unit tests for gpscale.stats.variation and gpscale.stats.multiplicity."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from gpscale.stats import (
    benjamini_hochberg,
    coefficient_of_variation,
    dispersion_trend,
    interquartile_range,
    systematic_component_of_variation,
)


def test_iqr_and_cv() -> None:
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, np.nan], [4.0, 40.0], [5.0, 50.0]])
    np.testing.assert_allclose(interquartile_range(values), [2.0, 25.0])
    cv = coefficient_of_variation(values)
    assert cv[0] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1) / 3)
    weighted = coefficient_of_variation(np.array([1.0, 3.0]), weights=np.array([1.0, 3.0]))
    mean = 2.5
    assert float(weighted) == pytest.approx(np.sqrt((1 * 1.5**2 + 3 * 0.5**2) / 4) / mean)


def test_scv_is_zero_on_average_without_systematic_variation() -> None:
    rng = np.random.default_rng(1)
    expected = rng.uniform(20, 200, size=(20_000, 1))
    observed = rng.poisson(expected)
    assert float(systematic_component_of_variation(observed, expected)[0]) == pytest.approx(0.0, abs=2e-3)
    relative = np.exp(rng.normal(0, 0.2, size=expected.shape))
    observed = rng.poisson(expected * relative)
    # SCV estimates the variance of the relative risk, exp(s^2)(exp(s^2) - 1) for a lognormal
    target = np.exp(0.04) * (np.exp(0.04) - 1)
    assert float(systematic_component_of_variation(observed, expected)[0]) == pytest.approx(target, rel=0.1)


def test_scv_binomial_needs_the_proportion() -> None:
    with pytest.raises(ValueError):
        systematic_component_of_variation([1.0], [2.0], kind="binomial")
    value = systematic_component_of_variation([10.0, 30.0], [20.0, 20.0], kind="binomial", proportion=0.5)
    assert float(value) == pytest.approx(np.mean([0.25 - 0.025, 0.25 - 0.025]))


def test_dispersion_trend_detects_narrowing_and_stability() -> None:
    rng = np.random.default_rng(2)
    units, periods = 300, 8
    sd = np.linspace(10, 5, periods)
    narrowing = 70 + rng.normal(0, 1, size=(units, periods)) * sd
    result = dispersion_trend(narrowing, measure="sd", n_boot=400, seed=1)
    assert result.direction == "narrowing" and result.upper < 0 and result.p_value < 0.01
    other = np.random.default_rng(100)  # a 5%-level test: this seed's stable data give p = 0.78
    stable = 70 + other.normal(0, 8, size=(units, periods))
    stable[other.random(stable.shape) < 0.05] = np.nan  # practices missing in some years
    result = dispersion_trend(stable, measure="cv", n_boot=400, seed=1)
    assert result.direction == "no clear change" and result.lower < 0 < result.upper
    again = dispersion_trend(stable, measure="cv", n_boot=400, seed=1)
    assert again.lower == result.lower  # seeded
    iqr = dispersion_trend(stable, measure="iqr", n_boot=100, seed=3)
    assert iqr.by_period.shape == (periods,)


def test_dispersion_trend_scv() -> None:
    rng = np.random.default_rng(3)
    expected = rng.uniform(50, 500, size=(200, 5))
    spread = np.linspace(0.3, 0.1, 5)
    observed = rng.poisson(expected * np.exp(rng.normal(0, 1, size=expected.shape) * spread))
    result = dispersion_trend(observed, measure="scv", expected=expected, n_boot=300, seed=0)
    assert result.direction == "narrowing"
    with pytest.raises(ValueError):
        dispersion_trend(observed, measure="scv")


def test_benjamini_hochberg_matches_statsmodels() -> None:
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0, 1, 200), rng.uniform(0, 0.001, 20)])
    rejected, q = benjamini_hochberg(p, 0.05)
    ref_rejected, ref_q, _, _ = multipletests(p, 0.05, method="fdr_bh")
    np.testing.assert_array_equal(rejected, ref_rejected)
    np.testing.assert_allclose(q, ref_q)


def test_benjamini_hochberg_nan_and_shape() -> None:
    p = np.array([[0.01, np.nan], [0.04, 0.03]])
    rejected, q = benjamini_hochberg(p, 0.05)
    assert q.shape == (2, 2) and np.isnan(q[0, 1]) and not rejected[0, 1]
    np.testing.assert_allclose(q[~np.isnan(q)], [0.03, 0.04, 0.04])
    with pytest.raises(ValueError):
        benjamini_hochberg(p, 1.5)


def test_dispersion_trends_equals_dispersion_trend_set_by_set() -> None:
    """Issue 17: the batched convergence bootstrap gives each set exactly the one-at-a-time result."""
    from gpscale.stats.variation import dispersion_trends

    rng = np.random.default_rng(11)
    sets, units, years = 7, 9, 6
    x = rng.gamma(4.0, 0.05, size=(sets, units, years)) * np.linspace(1.2, 0.8, years)
    x[rng.random(x.shape) < 0.1] = np.nan  # practices missing in some years
    w = rng.integers(50, 400, size=x.shape).astype(float)
    t = np.arange(2015.0, 2015.0 + years)
    batch = dispersion_trends(x, w, times=t, n_boot=199, seed=5)
    for k in range(sets):
        one = dispersion_trend(x[k], measure="cv", times=t, weights=w[k], n_boot=199, seed=5)
        assert (batch[k].slope, batch[k].lower, batch[k].upper, batch[k].p_value, batch[k].direction) == (
            one.slope, one.lower, one.upper, one.p_value, one.direction)
        np.testing.assert_array_equal(batch[k].by_period, one.by_period)
    with pytest.raises(ValueError, match="set by set"):
        dispersion_trends(np.ones((1, 5000, 10)), np.ones((1, 5000, 10)), times=np.arange(10.0), n_boot=99)
