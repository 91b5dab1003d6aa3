"""Spark over a Parquet lake (issue 17): indicators and pooled groups identical to the DuckDB and pandas paths.

A small synthetic England (24 practices, FY2011/12-FY2012/13: every indicator has values) with groups whose
spells change mid-period is exported with ``gpscale store export --lake``; ``gpscale compute --engine spark
--lake`` computes every indicator from the lake alone (no store) and ``gpscale groups pool --lake`` pools
the groups. The oracles are the DuckDB path (:func:`compute_indicators` on the store) and pandas pooling
(:func:`gpscale.evaluate.pooling.pooled_table` on :func:`members_by_period` of the store's spells) applied to
the same practice values. "Identical": the same rows, the same nulls, equal counts, and values equal to within
1e-12 relative (the same numbers added in another order, or a standard error through another formula).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.evaluate.pooling import pooled_table, score_indicators
from gpscale.groups.membership import MembershipView, members_by_period, spells
from gpscale.groups.spark_pool import pool_lake
from gpscale.indicators.compute import compute_indicators
from gpscale.indicators.lake_source import lake_indicators, read_practice_values
from gpscale.indicators.library import DEFAULT_IDS, load_definitions
from gpscale.store.db import open_store
from gpscale.store.lake import MANIFEST, LakeError
from tests.fixtures.indicator_store import insert, synthetic_store

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore:.*copy keyword is deprecated.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
]

KEYS = ["indicator_id", "period_type", "period", "practice_code"]

#: (group, practice, start, end): P00003 moves from G1 to G2 on 1 September 2012 (mid-month and mid-year:
#: FY2012/13's reference date is 1 October, so that year counts it in G2); P00016 joins on 20 January 2012
#: (after the 15th: not in January); P00017 leaves on FY2011/12's reference date (the end day counts);
#: P00018 has two overlapping spells in G3 (counted once); G4 has one practice (no score SE).
SPELLS = [
    *[("G1", f"P{i:05d}", "2011-04-01", None) for i in range(8) if i != 3],
    ("G1", "P00003", "2011-04-01", "2012-08-31"),
    ("G2", "P00003", "2012-09-01", None),
    *[("G2", f"P{i:05d}", None, None) for i in range(8, 16)],
    ("G3", "P00016", "2012-01-20", None),
    ("G3", "P00017", None, "2011-10-01"),
    ("G3", "P00018", "2011-04-01", "2012-12-31"),
    ("G3", "P00018", "2012-06-01", None),
    ("G4", "P00019", None, None),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark-lake")
    path = tmp / "store.duckdb"
    with open_store(path) as s:
        synthetic_store(s, n_practices=24, first_fy=2011, n_fys=2)
        s.con.execute("INSERT INTO ingest_log VALUES (900, 'g.yaml', 'g.yaml', 'group_registry', '', 'g', 'h', 1, "
                      "1, 1, 0, 0, [], 'loaded', '', NULL, now())")
        for g in ("G1", "G2", "G3", "G4"):
            s.con.execute("INSERT INTO group_record VALUES (?, NULL, ?, 'federation', NULL, NULL, NULL, NULL, 900)",
                          [g, f"Group {g}"])
        s.con.executemany("INSERT INTO membership VALUES (?, ?, ?, ?, 900)", [list(r) for r in SPELLS])
        # a practice with no data whose records disagree: the latest non-null dates win (open 2010, closed at
        # the end of 2011), so it is on the grid to December 2011 only
        insert(s, "practice_record", [
            {"practice_code": "P09000", "as_of": "2011-01-01", "open_date": "2010-01-01", "close_date": "2012-12-31"},
            {"practice_code": "P09000", "as_of": "2012-01-01", "open_date": None, "close_date": "2011-12-31"},
            {"practice_code": "P09000", "as_of": "2013-01-01", "open_date": None, "close_date": None},
        ])
    r = CliRunner().invoke(app, ["store", "export", "--store", str(path), "--lake", str(tmp / "lake")])
    assert r.exit_code == 0, r.output
    return path, tmp / "lake"


@pytest.fixture(scope="module")
def computed(lake, spark):
    """The CLI's Spark computation from the lake, read back as pandas (and where it was written)."""
    _, lake_dir = lake
    r = CliRunner().invoke(app, ["compute", "--engine", "spark", "--lake", str(lake_dir)])
    assert r.exit_code == 0, r.output
    path = str(lake_dir / "practice_values")
    return read_practice_values(spark, path).toArrow().to_pandas()


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], exact: list[str], close: list[str]) -> None:
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys + exact], b[keys + exact], check_dtype=False)
    for c in close:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-12, atol=0), c


def test_every_indicator_from_the_lake_is_identical_to_duckdb(lake, computed):
    path, _ = lake
    with open_store(path, read_only=True) as s:
        duck = compute_indicators(s)
    assert set(computed.indicator_id) == set(DEFAULT_IDS) == set(duck.indicator_id)
    assert computed.groupby("indicator_id").value.count().min() > 0  # every indicator has values
    _assert_same(duck, computed, KEYS, ["definition_version"], ["numerator", "denominator", "value", "effective_n"])
    late = computed[computed.practice_code == "P09000"]
    months = late.period_type == "month"
    assert late[months].period.max() == "2011-12" and set(late[~months].period) == {"FY2011/12"}


def _pandas_pooled(path, values: pd.DataFrame, view: str) -> pd.DataFrame:
    with open_store(path, read_only=True) as s:
        spell_df = spells(s)
    members = members_by_period(spell_df, sorted(values.period.unique()), MembershipView.parse(view))
    return pooled_table(values, members, score_indicators(load_definitions()))


POOL_KEYS = ["entity_type", "entity_id", "indicator_id", "period", "period_type"]
POOL_FLOATS = ["numerator", "denominator", "effective_n", "score_se", "score_k"]


def test_pooled_groups_as_was_identical_to_pandas(lake, computed, spark):
    path, lake_dir = lake
    r = CliRunner().invoke(app, ["groups", "pool", "--lake", str(lake_dir)])
    assert r.exit_code == 0, r.output
    got = spark.read.parquet(str(lake_dir / "pooled_values")).toArrow().to_pandas()
    want = _pandas_pooled(path, computed, "as-was")
    _assert_same(want, got, POOL_KEYS, ["n_practices"], POOL_FLOATS)
    # the mid-period move: P00003 (with data in both months) counts in G1 in February 2012 and in G2 from
    # September, and in G2 for FY2012/13 (eight G2 practices, all with data, besides it)
    g = got.set_index(["entity_id", "indicator_id", "period"]).n_practices
    assert g["G2", "rx_broad_spectrum", "2012-02"] == 8 and g["G2", "rx_broad_spectrum", "2012-09"] == 9
    assert g["G2", "qof_total", "FY2012/13"] == 9
    assert g["G3", "rx_broad_spectrum", "2012-01"] == 1  # P00018 only: P00016 joins after the 15th ...
    assert g["G3", "rx_broad_spectrum", "2012-02"] == 2  # ... and counts from February
    assert got.score_se.notna().any() and got.loc[got.entity_id == "G4", "score_se"].isna().all()


@pytest.mark.parametrize("view", ["cohort:2012-09-01", "ever"])
def test_pooled_groups_under_the_other_views_identical_to_pandas(lake, computed, spark, view):
    path, lake_dir = lake
    got = pool_lake(str(lake_dir), view=view, spark=spark).toArrow().to_pandas()
    want = _pandas_pooled(path, computed, view)
    _assert_same(want, got, POOL_KEYS, ["n_practices"], POOL_FLOATS)


def test_a_folder_that_is_not_a_lake_is_refused_by_name(tmp_path, spark):
    with pytest.raises(LakeError, match=f"{tmp_path} is not a gpscale lake"):
        lake_indicators(str(tmp_path), ["qof_total"], spark=spark)


def test_a_lake_missing_tables_is_refused_naming_them(lake, tmp_path, spark):
    _, lake_dir = lake
    manifest = json.loads((lake_dir / MANIFEST).read_text())
    # (a lake exported before the latest-value views travelled has no practice table: re-export it)
    del manifest["tables"]["measure_value"], manifest["tables"]["group_spells"], manifest["tables"]["practice"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(LakeError, match=rf"{tmp_path} lacks the table\(s\) measure_value, practice \(re-export"):
        lake_indicators(str(tmp_path), ["qof_total"], spark=spark)
    with pytest.raises(LakeError, match=f"{tmp_path} has no group_spells table"):
        pool_lake(str(tmp_path), spark=spark)
