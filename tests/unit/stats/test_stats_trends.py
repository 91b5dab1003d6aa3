"""Unit tests for gpscale.stats.trends, against statsmodels and a published R example."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from gpscale.stats import chi2_trend, glm_trend, group_trend_glm, trend_difference, wls_trend


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


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_glm_trend_matches_statsmodels(family: str) -> None:
    rng = np.random.default_rng(4)
    t = np.arange(6.0)
    n = rng.integers(200, 2_000, size=(5, 6)).astype(float)
    x = rng.binomial(n.astype(int), 0.2 + 0.01 * t).astype(float)
    ours = glm_trend(x, n, family=family)  # type: ignore[arg-type]
    ours_od = glm_trend(x, n, family=family, overdispersion=True)  # type: ignore[arg-type]
    design = sm.add_constant(t - t.mean())
    for i in range(5):
        if family == "binomial":
            model = sm.GLM(np.column_stack([x[i], n[i] - x[i]]), design, family=sm.families.Binomial())
        else:
            model = sm.GLM(x[i], design, family=sm.families.Poisson(), offset=np.log(n[i]))
        ref = model.fit()
        assert ours.slope[i] == pytest.approx(ref.params[1], rel=1e-8)
        assert ours.se[i] == pytest.approx(ref.bse[1], rel=1e-6)
        # quasi-likelihood: SE times sqrt(Pearson chi-squared / residual df). (statsmodels' scale="X2" is
        # not usable as the reference: with two-column binomial counts it ignores the binomial totals.)
        assert ours_od.se[i] == pytest.approx(ref.bse[1] * np.sqrt(ref.pearson_chi2 / ref.df_resid), rel=1e-6)


def test_glm_trend_without_events_is_nan() -> None:
    result = glm_trend(np.zeros((1, 5)), np.full((1, 5), 100.0))
    assert np.isnan(result.slope[0])


def test_trend_difference() -> None:
    a = wls_trend(np.array([1.0, 2.1, 2.9, 4.2, 5.0]))
    b = wls_trend(np.array([1.0, 1.4, 2.1, 2.4, 3.0]))
    diff = trend_difference(a, b)
    assert float(diff.slope) == pytest.approx(float(a.slope - b.slope))
    assert float(diff.se) == pytest.approx(float(np.hypot(a.se, b.se)))
    assert 3 <= float(diff.df) <= 6


def test_group_trend_glm_contrasts() -> None:
    rng = np.random.default_rng(6)
    practices, periods = 120, 5
    in_group = np.repeat(np.arange(practices) < 20, periods)
    t = np.tile(np.arange(periods, dtype=float), practices)
    n = rng.integers(300, 3_000, size=practices * periods).astype(float)
    logit = -0.5 + 0.05 * t + 0.1 * in_group * t
    x = rng.binomial(n.astype(int), 1 / (1 + np.exp(-logit))).astype(float)
    result = group_trend_glm(x, n, t, in_group, cluster=np.repeat(np.arange(practices), periods))
    assert float(result.others.slope) == pytest.approx(0.05, abs=0.02)
    assert float(result.difference.slope) == pytest.approx(0.1, abs=0.04)
    assert float(result.group.slope) == pytest.approx(float(result.others.slope + result.difference.slope), rel=1e-9)
    assert float(result.difference.lower) > 0
