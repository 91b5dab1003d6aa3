"""The closed vocabularies: labels by polarity, and the vectorised labelling every analysis uses."""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.domain.vocabulary import (
    ComparisonLabel,
    FunnelPosition,
    Link,
    Polarity,
    RelativeTrend,
    TrendLabel,
    ValueType,
    by_direction,
)


@pytest.mark.parametrize(
    ("polarity", "comparison", "trend", "relative"),
    [
        ("high_is_good", ("better", "worse"), ("Increasing and getting better", "Decreasing and getting worse"),
         ("Improving relative to England", "Worsening relative to England")),
        ("low_is_good", ("worse", "better"), ("Increasing and getting worse", "Decreasing and getting better"),
         ("Worsening relative to England", "Improving relative to England")),
        ("no_judgement", ("higher", "lower"), ("Increasing", "Decreasing"),
         ("Rising relative to England", "Falling relative to England")),
    ],
)
def test_a_rise_and_a_fall_are_named_by_polarity(polarity, comparison, trend, relative) -> None:
    assert ComparisonLabel.directions(polarity) == comparison
    assert TrendLabel.directions(polarity) == trend
    assert RelativeTrend.directions(polarity) == relative
    assert ComparisonLabel.of(1, polarity) == comparison[0] and ComparisonLabel.of(-1, polarity) == comparison[1]
    assert ComparisonLabel.of(0, polarity) == "similar"


def test_an_unknown_polarity_is_refused() -> None:
    with pytest.raises(ValueError):
        ComparisonLabel.directions("up")


def test_by_direction_labels_arrays_with_plain_strings() -> None:
    up, down = ComparisonLabel.directions(Polarity.LOW_IS_GOOD)
    out = by_direction(np.array([1, -1, 0, 1]), np.array([True, True, True, False]), up, down,
                       ComparisonLabel.SIMILAR, ComparisonLabel.NOT_COMPARED)
    assert out.tolist() == ["worse", "better", "similar", "not compared"]
    assert all(type(x) is str for x in out.tolist())  # tables hold strings, not enum members


def test_value_types_know_their_scale_and_whether_they_count_events() -> None:
    assert {v: v.link for v in ValueType} == {
        ValueType.PROPORTION: Link.LOGIT, ValueType.WEIGHTED_PROPORTION: Link.LOGIT, ValueType.SCORE: Link.LOGIT,
        ValueType.RATE: Link.LOG, ValueType.STANDARDISED_RATIO: Link.LOG,
    }
    assert {v for v in ValueType if v.counts_events} == {
        ValueType.PROPORTION, ValueType.RATE, ValueType.STANDARDISED_RATIO}


def test_funnel_positions_outside_the_limits() -> None:
    assert {str(p) for p in FunnelPosition if p.outside_95} == {
        "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"}
    assert {str(p) for p in FunnelPosition if p.outside_998} == {"High (0.001)", "Low (0.001)"}
    assert ComparisonLabel.BETTER.significant and not ComparisonLabel.SIMILAR.significant
