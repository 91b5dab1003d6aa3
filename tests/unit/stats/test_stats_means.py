"""Unit tests for gpscale.stats.means and gpscale.stats.frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gpscale.stats import (
    comparisons_frame,
    funnel,
    funnel_frame,
    grouped_mean_interval,
    intervals_frame,
    mean_interval,
)


def test_list_weighted_mean_t_interval() -> None:
    x = np.array([70.0, 80.0, 90.0, 85.0])
    w = np.array([1_000.0, 4_000.0, 2_000.0, 3_000.0])
    mean, lower, upper = mean_interval(x, w)
    m = np.sum(w * x) / w.sum()
    var = 4 / 3 * np.sum((w * (x - m)) ** 2) / w.sum() ** 2
    half = stats.t.ppf(0.975, 3) * np.sqrt(var)
    assert mean == pytest.approx(m)
    assert (lower, upper) == pytest.approx((m - half, m + half))


def test_equal_weights_reduce_to_the_plain_t_interval() -> None:
    x = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    plain = mean_interval(x)
    weighted = mean_interval(x, np.full(5, 7.0))
    assert plain == pytest.approx(weighted)
    assert plain[1] == pytest.approx(x.mean() - stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5))


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


def test_intervals_frame_labels_every_row() -> None:
    frame = pd.DataFrame({"practice": ["A", "B"], "num": [0, 30], "den": [50, 60]})
    out = intervals_frame(frame, "num", "den", statistic="proportion", multiplier=100)
    assert len(out) == 4
    assert set(out["confidence"]) == {0.95, 0.998}
    assert (out["statistic"] == "proportion").all() and out["method"].str.contains("Wilson").all()
    assert out.loc[0, "lower"] == 0.0 and out.loc[1, "value"] == pytest.approx(50.0)
    counts = intervals_frame(frame, "num", statistic="count")
    assert counts["method"].str.contains("Byar").all()
    with pytest.raises(ValueError):
        intervals_frame(frame, "num", statistic="rate")


def test_comparisons_frame_records_the_rule() -> None:
    frame = pd.DataFrame({"num": [10, 50, 90], "den": [100, 100, 100], "england": [50.0, 50.0, 50.0]})
    out = comparisons_frame(frame, "num", "den", "england", multiplier=100, polarity="low_is_good")
    assert out["comparison"].tolist()[:3] == ["better", "similar", "worse"]
    assert out["method"].str.contains("Wilson score 95% CI").iloc[0]
    assert out["method"].str.contains("99.8%").iloc[-1]
    assert (out["polarity"] == "low_is_good").all()


def test_funnel_frame() -> None:
    result = funnel([10, 50, 90], [100, 100, 100])
    out = funnel_frame(result, pd.DataFrame({"unit": ["x", "y", "z"]}))
    assert len(out) == 6 and out["unit"].tolist()[:3] == ["x", "y", "z"]
    assert {"value", "target", "lower", "upper", "position", "statistic", "confidence", "method"} <= set(out.columns)
