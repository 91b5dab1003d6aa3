"""Unit tests for gpscale.stats.spc: the README reference series and each special-cause rule."""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.stats import xmr_chart

# ../shared/data/README.md, "SPC reference": NHS Making Data Count XmR defaults, screening on
REFERENCE = [50, 52, 49, 51, 53, 48, 50, 52, 51, 49, 50, 53, 47, 51, 52, 50, 49, 68, 51, 50, 54, 55, 54, 56]


def test_reference_series() -> None:
    chart = xmr_chart(REFERENCE)
    assert chart.mean[0] == pytest.approx(51.875)
    assert chart.lower[0] == pytest.approx(45.795, abs=5e-4)
    assert chart.upper[0] == pytest.approx(57.955, abs=5e-4)
    assert np.flatnonzero(chart.special_cause).tolist() == [17]  # point 18, value 68
    assert chart.rules[17] == "beyond limits"
    assert chart.variation[17] == "special cause improvement"
    assert chart.warnings == ()


def test_screening_excludes_large_moving_ranges() -> None:
    unscreened = xmr_chart(REFERENCE, screen_moving_ranges=False)
    # 23 moving ranges summing to 84 without screening; 19 and 17 removed with it (48 / 21)
    assert unscreened.mean_moving_range[0] == pytest.approx(84 / 23)
    assert xmr_chart(REFERENCE).mean_moving_range[0] == pytest.approx(48 / 21)


def test_polarity_and_no_judgement() -> None:
    assert xmr_chart(REFERENCE, polarity="low_is_good").variation[17] == "special cause concern"
    assert xmr_chart(REFERENCE, polarity="no_judgement").variation[17] == "special cause neither (high)"


def test_run_of_seven() -> None:
    values = [10, 11, 9, 10, 11, 9, 10, 12, 12, 12, 12, 12, 12, 12, 10, 9, 11, 10]
    chart = xmr_chart(values)
    assert all("run of 7" in chart.rules[i] for i in range(7, 14))
    assert "run of 7" not in chart.rules[6] and "run of 7" not in chart.rules[14]


def test_trend_of_seven_needs_seven_points() -> None:
    base = [10, 11, 10, 12, 10, 11, 10]
    six_up = xmr_chart([*base, 9, 10, 11, 12, 13, 14, 11, 10, 11])
    assert not any("trend of 7" in r for r in six_up.rules)
    seven_up = xmr_chart([*base, 9, 10, 11, 12, 13, 14, 15, 11, 10, 11])
    flagged = [i for i, r in enumerate(seven_up.rules) if "trend of 7" in r]
    assert flagged == list(range(7, 14))


def test_two_of_three_beyond_two_sigma() -> None:
    values = [10.0, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10]
    chart = xmr_chart(values, baseline_points=9)  # limits from the first 9 points only
    high = chart.upper_two_sigma[0] + 0.1
    assert high < chart.upper[0]
    values[10], values[11], values[12] = high, 10.5, high  # all three above the mean, two beyond 2 sigma
    chart = xmr_chart(values, baseline_points=9)
    assert "two of three beyond two sigma" in chart.rules[10]
    assert "two of three beyond two sigma" in chart.rules[12]
    assert "two of three beyond two sigma" not in chart.rules[11]


def test_rebasing_and_short_segment_warning() -> None:
    values = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 20, 21, 19, 20, 21, 19, 20, 21]
    chart = xmr_chart(values, rebase_at=[12])
    assert chart.mean[0] == pytest.approx(10.0) and chart.mean[-1] == pytest.approx(20.125)
    assert chart.segment.tolist() == [0] * 12 + [1] * 8
    assert len(chart.warnings) == 1 and "8 points" in chart.warnings[0]
    assert not chart.special_cause.any()


def test_target_assurance() -> None:
    chart = xmr_chart(REFERENCE, target=40.0)
    assert chart.assurance == "consistently passes target"
    assert xmr_chart(REFERENCE, target=52.0).assurance == "hit and miss target"
    assert xmr_chart(REFERENCE, target=40.0, polarity="low_is_good").assurance == "consistently fails target"
    assert xmr_chart(REFERENCE, target=40.0, polarity="no_judgement").assurance is None


def test_missing_values_raise() -> None:
    with pytest.raises(ValueError):
        xmr_chart([1.0, np.nan, 2.0])
