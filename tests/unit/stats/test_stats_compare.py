"""Unit tests for gpscale.stats.compare (the overlapping-interval rule the scorecard uses)."""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.stats import compare_interval, wilson_interval


def test_labels_by_polarity() -> None:
    lower, upper = wilson_interval(np.array([5, 50, 95]), 100)
    high = compare_interval(lower, upper, 0.5, polarity="high_is_good")
    low = compare_interval(lower, upper, 0.5, polarity="low_is_good")
    neutral = compare_interval(lower, upper, 0.5, polarity="no_judgement")
    assert high.labels.tolist() == ["worse", "similar", "better"]
    assert low.labels.tolist() == ["better", "similar", "worse"]
    assert neutral.labels.tolist() == ["lower", "similar", "higher"]
    np.testing.assert_array_equal(high.direction, [-1, 0, 1])


def test_not_compared_where_data_do_not_allow() -> None:
    result = compare_interval([0.1, np.nan, 0.1, 0.2], [np.nan, 0.5, 0.3, 0.4], [0.5, 0.5, np.nan, 0.5])
    assert result.labels.tolist() == ["not compared", "not compared", "not compared", "worse"]
    assert result.compared.tolist() == [False, False, False, True]


def test_the_benchmark_must_lie_outside_the_interval() -> None:
    lower, upper = wilson_interval([60], [100])
    assert compare_interval(lower, upper, lower - 1e-9).labels.tolist() == ["better"]
    assert compare_interval(lower, upper, lower + 1e-9).labels.tolist() == ["similar"]
    assert compare_interval(lower, upper, upper - 1e-9).labels.tolist() == ["similar"]
    assert compare_interval(lower, upper, upper + 1e-9).labels.tolist() == ["worse"]
    assert compare_interval(0.1, 0.3, 0.2).labels.shape == ()  # scalars in, 0-d arrays out


def test_the_method_and_level_are_recorded() -> None:
    result = compare_interval([0.1], [0.3], 0.5, confidence=0.998, interval_name="Wilson score 99.8% CI")
    assert result.method == "Wilson score 99.8% CI vs benchmark value" and result.confidence == 0.998


def test_benchmark_interval_requires_non_overlap() -> None:
    result = compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.55], benchmark_upper=[0.62])
    assert result.labels.tolist() == ["similar"]
    assert "non-overlap" in result.method
    result = compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.5], benchmark_upper=[0.59])
    assert result.labels.tolist() == ["better"]
    with pytest.raises(ValueError):
        compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.5])


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="polarity"):
        compare_interval(0.1, 0.2, 0.5, polarity="up")
    with pytest.raises(ValueError, match="confidence"):
        compare_interval(0.1, 0.2, 0.5, confidence=95)
