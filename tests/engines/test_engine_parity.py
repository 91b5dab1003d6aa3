"""DuckDB and Spark (local mode) give identical results for all 16 indicators on a small synthetic England.

"Identical": the same rows in the same order, the same nulls, equal counts, and values equal to within
1e-12 relative (the two engines may add the same doubles in a different order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.indicators.compute import compute_indicators
from gpscale.indicators.library import DEFAULT_IDS
from gpscale.store.db import open_store
from tests.fixtures.indicator_store import synthetic_store

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.x warns about pandas 3 on every conversion; nothing here depends on what it warns about
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore:.*copy keyword is deprecated.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
]


@pytest.fixture(scope="module")
def store():
    s = open_store(":memory:")
    # FY2011/12-FY2012/13: every indicator has periods (the organisational domain ends 2012/13, the
    # recommend and opening-hours questions are asked), and prescribing has two complete years
    synthetic_store(s, n_practices=24, first_fy=2011, n_fys=2)
    yield s
    s.close()


def test_all_sixteen_identical_on_duckdb_and_spark(store, spark):
    duck = compute_indicators(store, engine="duckdb")
    sp = compute_indicators(store, engine="spark", spark=spark)
    assert set(duck.indicator_id) == set(DEFAULT_IDS)
    assert duck.groupby("indicator_id").value.count().min() > 0  # every indicator has values
    assert list(sp.columns) == list(duck.columns)
    keys = ["indicator_id", "practice_code", "period", "period_type", "definition_version"]
    pd.testing.assert_frame_equal(sp[keys], duck[keys])
    for c in ("numerator", "denominator", "value", "effective_n"):
        a, b = duck[c].to_numpy(), sp[c].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12, atol=0), c
