"""Oracle: PHStatsMethods (DHSC/OHID's Python port of PHEindicatormethods), a test-only dependency.

PHStatsMethods is GPL-3 and is imported only here, never from ``src/``. It agrees with us wherever it is
right. Where it is wrong the tests say so explicitly and check our values against scipy's exact
distributions instead:

* ``byars(x, confidence)`` passes ``1 - confidence`` on to its helpers, so it returns a ~5% interval
  when asked for 95% (it equals our 5% interval);
* zero counts: ``byars_upper(0)`` and ``ph_rate`` with a zero count raise; ``exact(0)`` and
  ``byars(0)`` give a NaN lower limit instead of 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gpscale.stats import (
    exact_poisson_interval,
    funnel,
    grouped_mean_interval,
    poisson_interval,
    rate_interval,
    wilson_interval,
)

ph = pytest.importorskip("PHStatsMethods", reason="PHStatsMethods (test-only oracle) is not installed")

LEVELS = (0.90, 0.95, 0.998)
COUNTS = [1, 2, 3, 5, 9, 10, 11, 25, 99, 100, 1_000, 54_321]


@pytest.mark.parametrize("confidence", LEVELS)
def test_wilson_matches_phstatsmethods(confidence: float) -> None:
    pairs = [(x, n) for n in (1, 7, 20, 100, 2_500, 100_000) for x in sorted({0, 1, n // 3, n - 1, n})]
    x = np.array([p[0] for p in pairs], dtype=float)
    n = np.array([p[1] for p in pairs], dtype=float)
    lower, upper = wilson_interval(x, n, confidence)
    theirs = np.array([ph.wilson(xi, ni, confidence) for xi, ni in pairs])
    np.testing.assert_allclose(lower, theirs[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(upper, theirs[:, 1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("confidence", LEVELS)
def test_poisson_matches_phstatsmethods_byars_helpers(confidence: float) -> None:
    """``byars_lower`` / ``byars_upper`` (exact below 10, Byar from 10) agree for counts >= 1."""
    lower, upper = poisson_interval(COUNTS, confidence)
    np.testing.assert_allclose(lower, [ph.byars_lower(c, confidence) for c in COUNTS], rtol=1e-12)
    np.testing.assert_allclose(upper, [ph.byars_upper(c, confidence) for c in COUNTS], rtol=1e-12)


@pytest.mark.parametrize("confidence", LEVELS)
def test_exact_matches_phstatsmethods_and_scipy(confidence: float) -> None:
    counts = np.array([1, 2, 5, 9, 10, 50, 400])
    lower, upper = exact_poisson_interval(counts, confidence)
    theirs = np.array([ph.exact(c, confidence) for c in counts])
    np.testing.assert_allclose(lower, theirs[:, 0], rtol=1e-10)
    np.testing.assert_allclose(upper, theirs[:, 1], rtol=1e-10)
    alpha = 1 - confidence
    np.testing.assert_allclose(lower, stats.chi2.ppf(alpha / 2, 2 * counts) / 2, rtol=1e-10)
    np.testing.assert_allclose(upper, stats.chi2.ppf(1 - alpha / 2, 2 * counts + 2) / 2, rtol=1e-10)


def test_phstatsmethods_byars_is_wrong_so_check_against_scipy() -> None:
    """PHStatsMethods defect: ``byars(x, 0.95)`` is a ~5% interval (it passes 1 - confidence on)."""
    counts = np.array([10, 20, 100, 1_000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.array([ph.byars(c, 0.95) for c in counts])
    five_lo, five_hi = poisson_interval(counts, 0.05)
    np.testing.assert_allclose(theirs[:, 0], five_lo, rtol=1e-12)  # it is our 5% interval ...
    np.testing.assert_allclose(theirs[:, 1], five_hi, rtol=1e-12)
    ours_lo, ours_hi = poisson_interval(counts, 0.95)
    assert np.all(theirs[:, 1] - theirs[:, 0] < 0.25 * (ours_hi - ours_lo))  # ... far too narrow
    # so we check our 95% Byar limits against the exact chi-squared limits: close, as Byar intended
    exact_lo = stats.chi2.ppf(0.025, 2 * counts) / 2
    exact_hi = stats.chi2.ppf(0.975, 2 * counts + 2) / 2
    np.testing.assert_allclose(ours_lo, exact_lo, rtol=2e-3)
    np.testing.assert_allclose(ours_hi, exact_hi, rtol=2e-3)
    # and the 95% exact limits cover the true mean's tail areas exactly (gamma-Poisson identity)
    np.testing.assert_allclose(stats.poisson.sf(counts - 1, exact_lo), 0.025, rtol=1e-8)
    np.testing.assert_allclose(stats.poisson.cdf(counts, exact_hi), 0.025, rtol=1e-8)


def test_phstatsmethods_zero_counts_fail_so_check_against_scipy() -> None:
    """PHStatsMethods defect: zero counts raise or give NaN; ours give [0, -ln(alpha/2)]."""
    with pytest.raises(ValueError):
        ph.byars_upper(0, 0.95)
    with pytest.raises(ValueError):
        ph.ph_rate(pd.DataFrame({"n": [0, 5], "d": [100, 100]}), "n", "d")
    assert np.isnan(ph.exact(0, 0.95)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(ph.byars(0, 0.95)[0])
    for level in LEVELS:
        lower, upper = poisson_interval([0], level)
        assert lower[0] == 0.0
        # exact upper limit for zero events: P(X = 0 | mu) = alpha / 2, i.e. mu = -ln(alpha / 2)
        np.testing.assert_allclose(upper[0], -np.log((1 - level) / 2), rtol=1e-12)
        np.testing.assert_allclose(upper[0], stats.chi2.ppf(1 - (1 - level) / 2, 2) / 2, rtol=1e-12)
        rate_lo, rate_hi = rate_interval([0], [500], level, multiplier=1_000)
        assert rate_lo[0] == 0.0 and rate_hi[0] > 0.0


def test_rates_match_ph_rate() -> None:
    frame = pd.DataFrame({"area": list("abcdef"), "n": [1, 7, 10, 45, 310, 5_000], "d": [900, 1e4, 2e4, 5e4, 1e5, 3e6]})
    theirs = ph.ph_rate(frame, "n", "d", group_cols="area", confidence=[0.95, 0.998], multiplier=100_000)
    for level, tag in ((0.95, "95"), (0.998, "99_8")):
        lower, upper = rate_interval(frame["n"], frame["d"], level, multiplier=100_000)
        np.testing.assert_allclose(lower, theirs[f"lower_{tag}_ci"], rtol=1e-12)
        np.testing.assert_allclose(upper, theirs[f"upper_{tag}_ci"], rtol=1e-12)


def test_means_match_ph_mean() -> None:
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(8), rng.integers(2, 40, size=8))
    values = rng.normal(80, 6, size=groups.size)
    theirs = ph.ph_mean(pd.DataFrame({"g": groups, "v": values}), "v", "g", confidence=[0.95, 0.998])
    for level, tag in ((0.95, "95"), (0.998, "99_8")):
        ours = grouped_mean_interval(values, groups, confidence=level)
        np.testing.assert_allclose(ours.mean, theirs["Value"], rtol=1e-12)
        np.testing.assert_allclose(ours.lower, theirs[f"lower_{tag}_ci"], rtol=1e-12)
        np.testing.assert_allclose(ours.upper, theirs[f"upper_{tag}_ci"], rtol=1e-12)


def test_funnels_match_phstatsmethods_port() -> None:
    """The Python port agrees with :func:`funnel` (the evaluation's funnels) on random proportion and ratio
    data: every unit's position, and the limits at the port's grid of denominators."""
    rng = np.random.default_rng(11)
    n = rng.integers(2_000, 60_000, size=120).astype(float)
    x = rng.binomial(n.astype(int), 0.7).astype(float)
    frame = pd.DataFrame({"x": x, "n": n})
    theirs = ph.assign_funnel_significance(frame.copy(), "x", "proportion", denom_col="n")
    np.testing.assert_array_equal(funnel(x, n, "proportion").position, theirs["significance"].to_numpy())
    limits = ph.calculate_funnel_limits(frame.copy(), "x", "proportion", 100, denom_col="n", metadata=False)
    grid = limits["Population"].to_numpy(dtype=float)
    ours = funnel(np.zeros_like(grid), grid, "proportion", target=x.sum() / n.sum(), multiplier=100)
    for col, got in (("lower_2s_limit", ours.lower_95), ("upper_2s_limit", ours.upper_95),
                     ("lower_3s_limit", ours.lower_998), ("upper_3s_limit", ours.upper_998)):
        np.testing.assert_allclose(got, limits[col], rtol=1e-12, atol=1e-12, err_msg=col)

    expected = rng.uniform(3, 300, size=60)
    observed = rng.poisson(expected * rng.uniform(0.6, 1.5, size=60)).astype(float)
    ratio = pd.DataFrame({"o": observed, "e": expected})
    theirs = ph.assign_funnel_significance(ratio.copy(), "o", "ratio", denom_col="e")
    np.testing.assert_array_equal(funnel(observed, expected, "ratio", target=1.0).position,
                                  theirs["significance"].to_numpy())
