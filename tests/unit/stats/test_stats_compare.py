"""Unit tests for gpscale.stats.compare."""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.stats import compare_interval, compare_to_benchmark, wilson_interval


def test_labels_by_polarity() -> None:
    x, n = np.array([5, 50, 95]), 100
    high = compare_to_benchmark(x, n, 0.5, polarity="high_is_good")
    low = compare_to_benchmark(x, n, 0.5, polarity="low_is_good")
    neutral = compare_to_benchmark(x, n, 0.5, polarity="no_judgement")
    assert high.labels.tolist() == ["worse", "similar", "better"]
    assert low.labels.tolist() == ["better", "similar", "worse"]
    assert neutral.labels.tolist() == ["lower", "similar", "higher"]
    np.testing.assert_array_equal(high.direction, [-1, 0, 1])
    assert high.method.startswith("Wilson score 95% CI")


def test_not_compared_where_data_do_not_allow() -> None:
    result = compare_to_benchmark([5, np.nan, 5, 7], [0, 10, 10, 10], [0.5, 0.5, np.nan, 0.5])
    assert result.labels.tolist() == ["not compared", "not compared", "not compared", "similar"]
    assert result.compared.tolist() == [False, False, False, True]


def test_interval_rule_uses_the_interval() -> None:
    lower, upper = wilson_interval([60], [100])
    assert compare_to_benchmark([60], [100], lower - 1e-9).labels.tolist() == ["better"]
    assert compare_to_benchmark([60], [100], lower + 1e-9).labels.tolist() == ["similar"]
    assert compare_to_benchmark([60], [100], upper + 1e-9).labels.tolist() == ["worse"]
    assert compare_to_benchmark(60, 100, 0.2).labels.shape == ()  # scalars in, 0-d arrays out


def test_benchmark_interval_requires_non_overlap() -> None:
    result = compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.55], benchmark_upper=[0.62])
    assert result.labels.tolist() == ["similar"]
    assert "non-overlap" in result.method
    result = compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.5], benchmark_upper=[0.59])
    assert result.labels.tolist() == ["better"]
    with pytest.raises(ValueError):
        compare_interval([0.6], [0.7], 0.5, benchmark_lower=[0.5])


def test_control_limits_for_proportions_agree_with_interval_rule() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(20, 5_000, size=2_000)
    x = rng.binomial(n, 0.3)
    interval = compare_to_benchmark(x, n, 0.31)
    limits = compare_to_benchmark(x, n, 0.31, method="control_limits")
    np.testing.assert_array_equal(interval.labels, limits.labels)
    assert "control limits" in limits.method


def test_ratio_comparisons_with_multiplier_and_zero_events() -> None:
    result = compare_to_benchmark(
        [0, 30, 100, 200], [30.0, 30.0, 30.0, 200.0], 100.0, statistic="ratio", multiplier=100
    )
    assert result.labels.tolist() == ["worse", "similar", "better", "similar"]
    exact = compare_to_benchmark([0, 30, 100], [30.0, 30.0, 30.0], 1.0, statistic="ratio", method="exact")
    assert exact.labels.tolist() == ["worse", "similar", "better"]


def test_exact_rule_for_proportions() -> None:
    result = compare_to_benchmark([3, 4], [20, 20], 0.05, method="exact")
    # P(X >= 3 | 20, 0.05) = 0.075 (not below 0.025); P(X >= 4) = 0.016
    assert result.labels.tolist() == ["similar", "better"]
    assert "exact binomial" in result.method


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError):
        compare_to_benchmark(1, 2, 0.5, polarity="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare_to_benchmark(1, 2, 0.5, method="funnel")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare_to_benchmark(1, 2, 0.5, statistic="mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare_to_benchmark(1, 2, 0.5, method="control_limits", benchmark_lower=0.4, benchmark_upper=0.6)
