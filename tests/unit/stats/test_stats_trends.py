"""Unit tests for gpscale.stats.trends, against statsmodels and a published R example."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from gpscale.stats import chi2_trend, wls_trend


def test_chi2_trend_reproduces_r_prop_trend_test_example() -> None:
    # R documentation, ?prop.trend.test: smokers out of patients; X-squared = 8.2249, p-value = 0.004132
    smokers = np.array([83, 90, 129, 70])
    patients = np.array([86, 93, 136, 82])
    result = chi2_trend(smokers, patients, points=4, confidence=0.95)
    assert float(result.statistic) == pytest.approx(8.2249, abs=5e-5)
    assert float(result.p_value) == pytest.approx(0.004132, abs=5e-7)
    assert result.label.tolist() == "Decreasing"


def test_chi2_trend_labels_vectorised_with_polarity() -> None:
    n = np.full((3, 6), 1_000.0)
    x = np.array([[100, 100, 120, 140, 160, 180], [300, 300, 300, 300, 300, 300], [400, 380, 350, 330, 300, 280]])
    result = chi2_trend(x, n, polarity="high_is_good")
    assert result.label.tolist() == [
        "Increasing and getting better",
        "No significant change",
        "Decreasing and getting worse",
    ]
    flipped = chi2_trend(x, n, polarity="low_is_good")
    assert flipped.label.tolist()[0] == "Increasing and getting worse"
    short = chi2_trend(x[:, :3], n[:, :3])
    assert short.label.tolist() == ["Cannot be calculated"] * 3
    gap = x.astype(float)
    gap[0, -1] = np.nan
    assert chi2_trend(gap, n).label[0] == "Cannot be calculated"


def test_wls_trend_matches_statsmodels() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(8.0)
    y = 3 + 0.5 * t + rng.normal(0, 1, 8)
    w = rng.uniform(0.5, 2, 8)
    ours = wls_trend(y, weights=w)
    ref = sm.WLS(y, sm.add_constant(t), weights=w).fit()
    assert float(ours.slope) == pytest.approx(ref.params[1])
    assert float(ours.se) == pytest.approx(ref.bse[1])
    lo, hi = ref.conf_int()[1]
    assert float(ours.lower) == pytest.approx(lo) and float(ours.upper) == pytest.approx(hi)
    se = rng.uniform(0.5, 1.5, 8)
    known = wls_trend(y, standard_errors=se)
    ref_known = sm.WLS(y, sm.add_constant(t), weights=1 / se**2).fit(cov_type="fixed scale")
    assert float(known.se) == pytest.approx(ref_known.bse[1])
