"""Unit tests for gpscale.stats.intervals: values, edge cases and never-raise behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from gpscale.stats import (
    byar_interval,
    exact_poisson_interval,
    poisson_interval,
    rate_interval,
    weighted_proportion_interval,
    wilson_interval,
    z_value,
)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_matches_statsmodels(confidence: float) -> None:
    x = np.array([0, 1, 7, 50, 99, 100])
    lower, upper = wilson_interval(x, 100, confidence)
    ref_lo, ref_hi = proportion_confint(x, 100, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(lower, ref_lo, atol=1e-12)
    np.testing.assert_allclose(upper, ref_hi, atol=1e-12)


def test_wilson_end_points_and_invalid_inputs_never_raise() -> None:
    lower, upper = wilson_interval([0, 10, 5, 11, -1, np.nan, 3], [10, 10, 0, 10, 10, 10, np.nan])
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()


def test_wilson_broadcasts() -> None:
    lower, _ = wilson_interval(np.arange(6).reshape(2, 3), 10)
    assert lower.shape == (2, 3)


def test_exact_poisson_matches_chi_squared_definition() -> None:
    x = np.array([1, 4, 9, 30])
    lower, upper = exact_poisson_interval(x, 0.95)
    np.testing.assert_allclose(lower, stats.chi2.ppf(0.025, 2 * x) / 2, rtol=1e-10)
    np.testing.assert_allclose(upper, stats.chi2.ppf(0.975, 2 * x + 2) / 2, rtol=1e-10)


def test_poisson_switches_from_exact_to_byar_at_10() -> None:
    x = np.array([0, 9, 10, 11])
    lower, upper = poisson_interval(x)
    ex_lo, ex_hi = exact_poisson_interval(x)
    by_lo, by_hi = byar_interval(x)
    np.testing.assert_array_equal(lower[:2], ex_lo[:2])
    np.testing.assert_array_equal(upper[:2], ex_hi[:2])
    np.testing.assert_array_equal(upper[2:], by_hi[2:])
    np.testing.assert_array_equal(lower[2:], by_lo[2:])
    assert lower[0] == 0.0


def test_poisson_zero_negative_and_nan() -> None:
    lower, upper = poisson_interval([0, -3, np.nan])
    assert lower[0] == 0.0 and upper[0] == pytest.approx(-np.log(0.025))
    assert np.isnan(lower[1:]).all() and np.isnan(upper[1:]).all()


def test_poisson_large_input_uses_distinct_counts_consistently() -> None:
    counts = np.random.default_rng(1).poisson(4, size=10_000).astype(float)
    counts[:3] = [np.nan, 2.5, 0.0]
    lower, upper = exact_poisson_interval(counts)
    small_lo, small_hi = exact_poisson_interval(counts[:50])
    np.testing.assert_array_equal(lower[:50], small_lo)
    np.testing.assert_array_equal(upper[:50], small_hi)


def test_byar_close_to_exact_from_10_events() -> None:
    x = np.arange(10, 2_000)
    by_lo, by_hi = byar_interval(x)
    ex_lo, ex_hi = exact_poisson_interval(x)
    np.testing.assert_allclose(by_lo, ex_lo, rtol=3e-3)
    np.testing.assert_allclose(by_hi, ex_hi, rtol=3e-3)


def test_rates_and_ratios_divide_the_count_limits() -> None:
    lower, upper = rate_interval([25], [50_000], 0.95, multiplier=100_000)
    c_lo, c_hi = poisson_interval([25])
    np.testing.assert_allclose([lower[0], upper[0]], [c_lo[0] * 2, c_hi[0] * 2])
    r_lo, _ = rate_interval([25], [20.0], multiplier=100)  # a standardised ratio: observed over expected
    np.testing.assert_allclose(r_lo, c_lo / 20 * 100)
    z_lo, z_hi = rate_interval([3], [0])
    assert np.isnan(z_lo[0]) and np.isnan(z_hi[0])


def test_weighted_proportion_interval_is_wilson_on_effective_n() -> None:
    lower, upper = weighted_proportion_interval(0.3, 400.0)
    ref_lo, ref_hi = wilson_interval(120.0, 400.0)
    np.testing.assert_allclose([lower, upper], [ref_lo, ref_hi])
    wide_lo, wide_hi = weighted_proportion_interval(0.3, 100.0)
    assert wide_hi - wide_lo > upper - lower


@pytest.mark.parametrize("bad", [0.0, 1.0, 95, -0.5])
def test_invalid_confidence_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, bad)
    with pytest.raises(ValueError, match="confidence"):
        poisson_interval(1, bad)


def test_z_values_for_standard_levels() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.998) == pytest.approx(3.090232, abs=1e-6)
