"""Shared helpers for the indicator spec tests: a fresh store per test, and results as little tables."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from gpscale.indicators.compute import compute_indicators
from gpscale.store.db import Store, open_store


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store(":memory:")
    yield s
    s.close()


def run(store: Store, indicator: str, period_type: str | None = None, **kw: object) -> pd.DataFrame:
    """One indicator's rows (optionally of one period type), indexed by practice and period."""
    df = compute_indicators(store, [indicator], **kw)  # type: ignore[arg-type]
    if period_type:
        df = df[df.period_type == period_type]
    return df.set_index(["practice_code", "period"])[["numerator", "denominator", "value", "effective_n"]]
