"""The evaluation's own statistical pieces: p-values that invert the scorecard intervals, variance
moderation, the random-effects meta-regression and the restricted cubic spline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from gpscale.evaluate.common import fy_breaks, link_variance, segments, to_link
from gpscale.evaluate.metareg import dl_tau2, meta_regression, rcs_basis, rcs_knots
from gpscale.evaluate.moderation import fit_prior, squeeze, trigamma_inverse
from gpscale.evaluate.pvalues import poisson_p, score_test_p
from gpscale.stats.intervals import poisson_interval, wilson_interval

RNG = np.random.default_rng(20261122)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_p_value_is_below_alpha_exactly_when_the_interval_excludes_the_benchmark(confidence):
    n = RNG.integers(5, 5000, 4000).astype(float)
    x = RNG.binomial(n.astype(int), 0.3).astype(float)
    p0 = RNG.uniform(0.2, 0.4, 4000)
    lo, hi = wilson_interval(x, n, confidence)
    excluded = (lo > p0) | (hi < p0)
    p = score_test_p(x, n, p0)
    near = np.abs(p - (1 - confidence)) < 1e-9  # ties at the boundary are measure-zero
    assert np.array_equal(excluded[~near], (p < 1 - confidence)[~near])


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_poisson_p_value_inverts_exact_and_byar_limits(confidence):
    x = np.concatenate([np.arange(0, 10), RNG.integers(10, 3000, 3000)]).astype(float)
    mu0 = x * RNG.uniform(0.6, 1.5, x.size) + RNG.uniform(0.1, 3, x.size)
    lo, hi = poisson_interval(x, confidence)
    excluded = (lo > mu0) | (hi < mu0)
    p = poisson_p(x, mu0)
    assert np.array_equal(excluded, p < 1 - confidence)


def test_poisson_p_value_zero_events_is_ordinary():
    p = poisson_p([0, 0], [0.5, 10.0])
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(2 * np.exp(-10.0))


def test_link_variance_by_value_type():
    import pandas as pd

    rows = pd.DataFrame({"numerator": [20.0, 50.0], "denominator": [100.0, 40.0], "effective_n": [50.0, np.nan],
                         "score_se": [0.01, np.nan]})
    assert link_variance(rows.iloc[:1], "proportion")[0] == pytest.approx(1 / (100 * 0.2 * 0.8))
    assert link_variance(rows.iloc[:1], "weighted_proportion")[0] == pytest.approx(1 / (50 * 0.2 * 0.8))
    assert link_variance(rows, "rate") == pytest.approx([1 / 20, 1 / 50])
    assert link_variance(rows.iloc[:1], "score")[0] == pytest.approx(0.01**2 / (0.2 * 0.8) ** 2)
    assert np.isnan(to_link(np.array([0.0, 1.0]), "logit")).all()


def test_segments_never_cross_a_break():
    years = [f"FY{y}/{(y + 1) % 100:02d}" for y in range(2012, 2024)]
    segs = segments(years, ["FY2013/14", "FY2014/15", "FY2019/20"])
    assert segs == [["FY2012/13"], ["FY2013/14"], years[2:7], years[7:]]
    # a month break in April starts a segment; a break later in the year drops that mixed year
    assert fy_breaks(["2016-04"]) == ({"FY2016/17"}, set())
    assert segments(years[:6], ["2014-09"]) == [years[:2], years[3:6]]


def test_trigamma_inverse_round_trips():
    for y in (0.05, 0.7, 3.0, 40.0, 800.0):
        assert trigamma_inverse(float(special.polygamma(1, y))) == pytest.approx(y, rel=1e-6)


def test_prior_is_recovered_from_scaled_chi_squared_variances():
    # s2_g = sigma2_g * chi2_d / d with sigma2_g ~ s0 * d0 / chi2_d0 (Smyth's model)
    d0, s0, d = 8.0, 2.0, 3.0
    sigma2 = s0 * d0 / RNG.chisquare(d0, 20000)
    s2 = sigma2 * RNG.chisquare(d, 20000) / d
    s0_hat, d0_hat = fit_prior(s2, np.full(s2.size, d))
    assert s0_hat == pytest.approx(s0, rel=0.05) and d0_hat == pytest.approx(d0, rel=0.15)
    m = squeeze(s2, np.full(s2.size, d))
    assert np.all(m.df == pytest.approx(d + d0_hat))
    # posterior variances sit between each group's own and the prior
    assert np.all((m.variance - s2) * (m.variance - s0_hat) <= 1e-12)


def test_homogeneous_variances_give_infinite_prior_df():
    s2 = RNG.chisquare(3, 5000) / 3 * 1.7
    s0_hat, d0_hat = fit_prior(s2, np.full(s2.size, 3.0))
    assert s0_hat == pytest.approx(1.7, rel=0.05) and d0_hat > 50  # pools almost entirely


def test_too_few_groups_keep_their_own_variance():
    m = squeeze(np.array([1.0, 2.0]), np.array([3.0, 3.0]))
    assert m.variance.tolist() == [1.0, 2.0] and m.prior_df == 0


def test_dl_tau2_matches_the_classic_intercept_only_formula():
    y = RNG.normal(0, 0.3, 40)
    v = RNG.uniform(0.01, 0.1, 40)
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)
    classic = max(0.0, (q - 39) / (w.sum() - (w**2).sum() / w.sum()))
    assert dl_tau2(y, v, np.ones((40, 1))) == pytest.approx(classic)


def test_meta_regression_recovers_a_slope_and_covers_it():
    hits = 0
    for _ in range(200):
        x = RNG.uniform(14, 17, 60)
        v = RNG.uniform(0.001, 0.004, 60)
        y = 0.1 - 0.05 * (x - 15) + RNG.normal(0, np.sqrt(v + 0.002))
        fit = meta_regression(y, v, np.column_stack([np.ones(60), x]))
        assert fit is not None
        lo, hi = fit.interval(0.95)
        hits += lo[1] <= -0.05 <= hi[1]
    assert 0.9 <= hits / 200 <= 0.99


def test_meta_regression_refuses_too_few_groups():
    assert meta_regression(np.array([0.1, 0.2]), np.array([0.01, 0.01]), np.ones((2, 2))) is None


def test_restricted_cubic_spline_is_linear_beyond_the_outer_knots():
    x = np.linspace(0, 10, 201)
    knots = rcs_knots(x, 4)
    b = rcs_basis(x, knots)
    assert b.shape == (201, 3)
    beyond = x > knots[-1]
    second_diff = np.diff(b[beyond], n=2, axis=0)
    assert np.allclose(second_diff, 0, atol=1e-9)
    assert np.allclose(b[x < knots[0], 1:], 0)
