"""Survey estimates: Kish effective n, weighted proportions and means, Newcombe, Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gpscale.stats.intervals import wilson_interval
from gpscale.surveys import estimates


def test_effective_n_is_kish():
    w = np.array([1.0, 2.0, 2.0, 5.0])
    assert estimates.effective_n(w.sum(), (w * w).sum()) == pytest.approx(10**2 / 34)
    assert estimates.effective_n(np.array([4.0]), np.array([4.0]))[0] == 4.0
    assert np.isnan(estimates.effective_n(np.array([0.0]), np.array([0.0]))[0])


def test_unweighted_proportion_is_wilson():
    share, n_eff, lo, hi = estimates.proportion(np.array([20.0]), np.array([20.0]), np.array([7.0]), 0.95)
    (elo,), (ehi,) = wilson_interval([7], [20])
    assert (share[0], n_eff[0], lo[0], hi[0]) == pytest.approx((0.35, 20, elo, ehi))


def test_zero_and_all_are_ordinary():
    share, _, lo, hi = estimates.proportion(np.array([10.0, 10.0]), np.array([10.0, 10.0]), np.array([0.0, 10.0]), 0.95)
    assert share.tolist() == [0.0, 1.0]
    assert lo[0] == 0.0 and hi[1] == 1.0


def test_weighted_mean_reduces_to_t_interval():
    y = np.array([1.0, 3.0, 4.0, 4.0, 5.0, 2.0])
    m, n_eff, lo, hi = estimates.mean(
        np.array([6.0]), np.array([6.0]), np.array([y.sum()]), np.array([(y * y).sum()]), 0.95
    )
    expected = stats.t.interval(0.95, 5, loc=y.mean(), scale=stats.sem(y))
    assert (m[0], n_eff[0]) == pytest.approx((y.mean(), 6))
    assert (lo[0], hi[0]) == pytest.approx(expected)
    _, _, lo1, hi1 = estimates.mean(np.array([1.0]), np.array([1.0]), np.array([3.0]), np.array([9.0]), 0.95)
    assert np.isnan(lo1[0]) and np.isnan(hi1[0])


def test_weighted_mean_uses_effective_n():
    y = np.array([1.0, 2.0, 5.0])
    w = np.array([1.0, 1.0, 2.0])
    m, n_eff, lo, hi = estimates.mean(
        np.array([w.sum()]), np.array([(w * w).sum()]), np.array([(w * y).sum()]), np.array([(w * y * y).sum()]), 0.9
    )
    mean = (w * y).sum() / w.sum()
    ne = w.sum() ** 2 / (w * w).sum()
    var = ((w * (y - mean) ** 2).sum() / w.sum()) * ne / (ne - 1)
    half = stats.t.ppf(0.95, ne - 1) * np.sqrt(var / ne)
    assert (m[0], n_eff[0], lo[0], hi[0]) == pytest.approx((mean, ne, mean - half, mean + half))


def test_benjamini_hochberg_matches_scipy():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.005])
    q = estimates.benjamini_hochberg(p)
    ok = ~np.isnan(p)
    assert q[ok] == pytest.approx(stats.false_discovery_control(p[ok], method="bh"))
    assert np.isnan(q[4])
    assert np.isnan(estimates.benjamini_hochberg(np.array([np.nan]))).all()


def test_two_proportion_test():
    p = estimates.two_proportion_p(np.array([0.6]), np.array([100.0]), np.array([0.4]), np.array([100.0]))
    table = np.array([[60, 40], [40, 60]])
    _chi2, expected_p, *_ = stats.chi2_contingency(table, correction=False)
    assert p[0] == pytest.approx(expected_p)
    assert np.isnan(estimates.two_proportion_p(np.array([0.5]), np.array([0.0]), np.array([0.5]), np.array([10.0]))[0])
