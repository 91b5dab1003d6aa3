"""Real data: gpscale's comparison and trend words are Fingertips' own, as its practice extracts print them."""

from __future__ import annotations

import pandas as pd
import pytest

from gpscale.domain.vocabulary import ComparisonLabel, TrendLabel
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata

EXTRACTS = require_shared("real", "fingertips_practice_extracts")


def _column(name: str) -> set[str]:
    values: set[str] = set()
    for f in sorted(EXTRACTS.glob("*.csv")):
        frame = pd.read_csv(f, encoding="utf-8-sig", dtype=str, usecols=lambda c: c.strip() == name)
        values |= set(frame.iloc[:, 0].dropna()) if frame.shape[1] else set()
    return values


def test_recent_trend_labels_are_trend_labels() -> None:
    seen = _column("Recent Trend")
    assert {"Cannot be calculated", "No significant change"} <= seen
    assert seen <= {str(t) for t in TrendLabel}


def test_england_comparisons_are_comparison_labels_in_lower_case() -> None:
    seen = _column("Compared to England value or percentiles")
    assert {"Better", "Similar", "Worse", "Higher", "Lower", "Not compared"} <= seen
    assert {s.lower() for s in seen} <= {str(c) for c in ComparisonLabel}
