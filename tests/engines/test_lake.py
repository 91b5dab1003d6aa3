"""``gpscale store export --lake``: every canonical table round-trips through the partitioned Parquet lake."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.store.db import open_store
from gpscale.store.lake import LOG_TABLES, MANIFEST, VIEW_TABLES
from gpscale.store.schema import DATA_TABLES
from tests.fixtures.indicator_store import synthetic_store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lake") / "store.duckdb"
    s = open_store(path)
    synthetic_store(s, n_practices=12, first_fy=2011, n_fys=1)
    s.close()
    return path


def test_every_table_round_trips_and_is_partitioned(store_path, tmp_path):
    lake = tmp_path / "lake"
    r = CliRunner().invoke(app, ["store", "export", "--store", str(store_path), "--lake", str(lake)])
    assert r.exit_code == 0, r.output
    con = duckdb.connect()
    s = open_store(store_path, read_only=True)
    s_counts = {t: s.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (*DATA_TABLES, *LOG_TABLES)}
    for table in DATA_TABLES:
        cols = [c[0] for c in s.con.execute(f"DESCRIBE {table}").fetchall()]
        stored = s.con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall()
        if not stored:
            assert not (lake / table).exists()
            continue
        back = con.execute(
            f"SELECT {', '.join(cols)} FROM read_parquet('{lake / table}/**/*.parquet', hive_partitioning = true, "
            f"hive_types_autocast = false) ORDER BY ALL"
        ).fetchall()
        assert back == stored, table
    s.close()
    # the manifest marks the lake and counts every table's rows (the spells too: none in this store)
    manifest = json.loads((lake / MANIFEST).read_text())
    assert manifest["tables"]["group_spells"]["rows"] == 0
    for table in (*DATA_TABLES, *LOG_TABLES):
        assert manifest["tables"][table]["rows"] == s_counts[table], table
    # the latest-value views travel resolved: the lake's practice table is the store's answer, row for row
    s = open_store(store_path, read_only=True)
    for view in VIEW_TABLES:
        stored = s.con.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall()
        back = con.execute(f"SELECT * FROM read_parquet('{lake / view}/data.parquet') ORDER BY ALL").fetchall()
        assert back == stored and manifest["tables"][view]["rows"] == len(stored), view
    assert s.con.execute("SELECT count(*) FROM practice").fetchone()[0] == 12
    s.close()
    assert (lake / "measure_value" / "source=qof" / "period=FY2011%2F12").is_dir()
    assert (lake / "prescribing" / "source=unlogged" / "period=2011-04").is_dir()


def test_a_non_empty_folder_is_refused(store_path, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    r = CliRunner().invoke(app, ["store", "export", "--store", str(store_path), "--lake", str(tmp_path / "x")])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_compute_from_a_lake_needs_spark_and_no_store(store_path, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["compute", "--lake", str(tmp_path)])
    assert r.exit_code == 2 and "--engine spark" in r.output
    r = runner.invoke(app, ["compute", "--engine", "spark", "--lake", str(tmp_path), "--store", str(store_path)])
    assert r.exit_code == 2 and "without --store" in r.output
    r = runner.invoke(app, ["compute"])
    assert r.exit_code == 2 and "--store FILE" in r.output
