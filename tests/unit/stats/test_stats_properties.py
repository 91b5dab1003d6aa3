"""Property-based tests (hypothesis): ordering, monotonicity, polarity symmetry, no exceptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gpscale.domain.vocabulary import ValueType
from gpscale.evaluate.scorecard import compare_with_england
from gpscale.stats import (
    exact_poisson_interval,
    funnel,
    poisson_interval,
    rate_interval,
    wilson_interval,
    xmr_chart,
)

levels = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])
denominators = st.integers(min_value=1, max_value=2_000_000)
counts = st.integers(min_value=0, max_value=5_000_000)


@st.composite
def proportion_case(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(denominators)
    x = draw(st.one_of(st.just(0), st.just(n), st.integers(min_value=0, max_value=n)))
    return x, n


@given(proportion_case(), levels)
def test_wilson_contains_value(case: tuple[int, int], level: float) -> None:
    x, n = case
    lower, upper = wilson_interval(x, n, level)
    assert 0.0 <= lower <= x / n <= upper <= 1.0


@given(proportion_case(), levels, levels)
def test_wilson_monotone_in_confidence(case: tuple[int, int], a: float, b: float) -> None:
    lo_level, hi_level = sorted((a, b))
    lo_a, up_a = wilson_interval(*case, lo_level)
    lo_b, up_b = wilson_interval(*case, hi_level)
    assert lo_b <= lo_a + 1e-12 and up_a <= up_b + 1e-12


@given(counts, levels)
def test_poisson_contains_count(count: int, level: float) -> None:
    lower, upper = poisson_interval(count, level)
    assert 0.0 <= lower <= count <= upper
    if count == 0:
        assert lower == 0.0


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), levels, levels)
def test_poisson_monotone_in_confidence(count: float, a: float, b: float) -> None:
    lo_level, hi_level = sorted((a, b))
    for fn in (poisson_interval, exact_poisson_interval):
        lo_a, up_a = fn(count, lo_level)
        lo_b, up_b = fn(count, hi_level)
        assert lo_b <= lo_a * (1 + 1e-12) and up_a <= up_b * (1 + 1e-12)


@given(counts, st.floats(min_value=1e-3, max_value=1e9), levels)
def test_rate_contains_value(count: int, denominator: float, level: float) -> None:
    lower, upper = rate_interval(count, denominator, level, multiplier=1e5)
    value = count / denominator * 1e5
    assert lower <= value * (1 + 1e-12) and value <= upper * (1 + 1e-12)


def _pooled(numerator: np.ndarray, denominator: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"numerator": numerator.astype(float), "denominator": denominator.astype(float)})


@given(st.lists(proportion_case(), min_size=1, max_size=20), st.floats(min_value=0.0, max_value=1.0), levels)
def test_polarity_flip_swaps_better_and_worse(cases: list[tuple[int, int]], benchmark: float, level: float) -> None:
    """The scorecard's comparison (:func:`compare_with_england`) under opposite polarities and mirrored data."""
    x = np.array([c[0] for c in cases])
    n = np.array([c[1] for c in cases])
    bench = np.full(len(cases), 100 * benchmark)

    def compare(num: np.ndarray, b: np.ndarray, polarity: str):
        return compare_with_england(_pooled(num, n), ValueType.PROPORTION, 100.0, polarity, level, b)[4]

    high, low = compare(x, bench, "high_is_good"), compare(x, bench, "low_is_good")
    swap = {"better": "worse", "worse": "better", "similar": "similar", "not compared": "not compared"}
    assert [swap[label] for label in high.labels] == low.labels.tolist()
    # mirroring the data (x -> n - x, benchmark -> 1 - benchmark) mirrors the verdict
    mirrored = compare(n - x, 100.0 - bench, "low_is_good")
    np.testing.assert_array_equal(mirrored.direction, -high.direction)


expected_counts = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e6))


@given(st.lists(st.tuples(counts, expected_counts), min_size=1, max_size=20), levels)
def test_ratio_comparisons_never_raise(rows: list[tuple[int, float]], level: float) -> None:
    observed = np.array([r[0] for r in rows], dtype=float)
    expected = np.array([r[1] for r in rows])
    result = compare_with_england(_pooled(observed, expected), ValueType.STANDARDISED_RATIO, 100.0, "low_is_good",
                                  level, np.full(len(rows), 100.0))[4]
    assert np.all(result.labels[expected == 0] == "not compared")


@settings(deadline=None, max_examples=50)
@given(st.lists(proportion_case(), min_size=3, max_size=40), st.booleans())
def test_funnel_never_raises_at_zero_or_full(cases: list[tuple[int, int]], overdispersion: bool) -> None:
    x = np.array([c[0] for c in cases], dtype=float)
    n = np.array([c[1] for c in cases], dtype=float)
    result = funnel(x, n, overdispersion=overdispersion)
    assert result.position.shape == x.shape


@settings(deadline=None, max_examples=50)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=40))
def test_xmr_limits_bracket_the_mean(values: list[float]) -> None:
    chart = xmr_chart(values)
    assert np.all(chart.lower <= chart.mean + 1e-9) and np.all(chart.mean <= chart.upper + 1e-9)
    assert len(chart.rules) == len(values)
