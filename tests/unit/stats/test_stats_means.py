"""Unit tests for gpscale.stats.means (the scorecard's interval for QOF scores)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from gpscale.stats import grouped_mean_interval


def test_list_weighted_mean_t_interval_matches_a_robust_regression() -> None:
    """A weighted mean is weighted least squares on a constant; the linearisation variance of the mean is
    that regression's HC1 (sandwich) variance, which statsmodels computes independently."""
    x = np.array([70.0, 80.0, 90.0, 85.0, 62.0])
    w = np.array([1_000.0, 4_000.0, 2_000.0, 3_000.0, 500.0])
    ours = grouped_mean_interval(x, np.zeros(5, dtype=int), w)
    fit = sm.WLS(x, np.ones(5), weights=w).fit(cov_type="HC1")
    half = stats.t.ppf(0.975, 4) * fit.bse[0]
    assert ours.mean[0] == pytest.approx(fit.params[0])
    assert (ours.lower[0], ours.upper[0]) == pytest.approx((fit.params[0] - half, fit.params[0] + half))


def test_equal_weights_reduce_to_the_plain_t_interval() -> None:
    x = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    groups = np.zeros(5, dtype=int)
    plain = grouped_mean_interval(x, groups)
    weighted = grouped_mean_interval(x, groups, np.full(5, 7.0))
    lo, hi = stats.t.interval(0.95, 4, loc=x.mean(), scale=stats.sem(x))
    assert (plain.lower[0], plain.upper[0]) == pytest.approx((lo, hi))
    assert (weighted.lower[0], weighted.upper[0]) == pytest.approx((lo, hi))


def test_grouped_means_bootstrap_is_seeded_and_sensible() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(["a", "b", "c"], [30, 60, 1])
    x = rng.normal(75, 5, size=groups.size)
    w = rng.uniform(2_000, 12_000, size=groups.size)
    boot = grouped_mean_interval(x, groups, w, method="bootstrap", n_boot=500, seed=3)
    again = grouped_mean_interval(x, groups, w, method="bootstrap", n_boot=500, seed=3)
    t_based = grouped_mean_interval(x, groups, w)
    np.testing.assert_array_equal(boot.lower, again.lower)
    assert boot.groups.tolist() == ["a", "b", "c"]
    assert boot.count.tolist() == [30, 60, 1]
    assert np.isnan(boot.lower[2]) and np.isnan(t_based.upper[2])
    np.testing.assert_allclose(boot.lower[:2], t_based.lower[:2], rtol=0.01)
    assert np.all(t_based.effective_n[:2] < t_based.count[:2])
    assert "bootstrap" in boot.method and "list-weighted" in boot.method
