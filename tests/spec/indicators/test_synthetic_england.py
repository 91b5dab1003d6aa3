"""End to end: synthetic England in the published layouts, through the loaders, gives all 16 indicators.

This is the check that the definitions and the loaders agree on names (QOF domain ids, survey question
codes, hospital measure codes, registration snapshots, STAR-PU scheme ids). Marked slow: generating and
ingesting the 60-practice England takes ~25 s (shared with other tests in the same process).
"""

from __future__ import annotations

import pandas as pd
import pytest

from gpscale.indicators.compute import compute_indicators
from gpscale.indicators.library import DEFAULT_IDS
from gpscale.store.db import open_store
from tests.synthetic_england import store_in_another_order

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    from gpscale.store.ingest import ingest
    from tests.synthetic_england import small_england

    synth = small_england()
    path = tmp_path_factory.mktemp("indicators") / "store.duckdb"
    with open_store(path) as store:
        ingest(store, [synth.out / "nhs"])
    return path


@pytest.fixture(scope="module")
def values(store_path):
    with open_store(store_path, read_only=True) as store:
        return compute_indicators(store)


def test_every_indicator_has_values_for_most_practice_periods(values):
    got = values.groupby("indicator_id").value.agg(["size", "count"])
    assert list(values.indicator_id.unique()) == list(DEFAULT_IDS)
    share = got["count"] / got["size"]
    assert (share > 0.9).all(), share[share <= 0.9]


def test_values_are_plausible(values):
    mean = values.groupby(["indicator_id", "period_type"]).value.mean()
    assert 40 < mean[("rx_antibacterial_items", "month")] < 150  # items per 1,000 STAR-PU per month
    assert 5 < mean[("rx_broad_spectrum", "month")] < 30
    for ratio in ("hosp_emergency_admissions", "hosp_acsc_chronic", "hosp_ae_attendances", "hosp_outpatient_first"):
        assert 85 < mean[(ratio, "fy")] < 115  # standardised against the store itself: centred on 100
    assert 60 < mean[("qof_total", "fy")] <= 100
    periods = values.groupby("indicator_id").period.max()
    assert periods["qof_organisational"] == "FY2012/13" and periods["gpps_recommend"] == "FY2016/17"


def test_values_do_not_depend_on_the_order_rows_are_stored_in(values, store_path, tmp_path):
    # every table rewritten in another row order (as another ingest, or another Python hash seed ordering
    # a small table, gives): the sums meet their rows in another order and must still agree to the bit
    path = store_in_another_order(store_path, tmp_path / "shuffled.duckdb")
    with open_store(path, read_only=True) as store:
        again = compute_indicators(store)
    pd.testing.assert_frame_equal(again, values, check_exact=True)
