"""Spark over a lake (``python -m tests.bench.run spark_lake``; issue 17).

``bench_spark_lake``
    one small synthetic world (500 practices, FY2011/12-FY2012/13: every indicator has values; 50 groups,
    every 7th practice moving group mid-year) computed and pooled four ways in the same run: DuckDB on the
    store with pandas pooling (the default path, the baseline), Spark fed from the store (``--engine spark``,
    DuckDB copies the tables to Parquet), and Spark reading the exported lake (``--engine spark --lake``, then
    ``groups pool --lake``), with the export itself timed. Local mode on 2 shared cores: Spark is not
    expected to be faster here (fixed cost per job); the figures say by how much it is slower.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

from gpscale.evaluate.pooling import pooled_table, score_indicators
from gpscale.groups.membership import MembershipView, members_by_period, spells
from gpscale.groups.spark_pool import SPELLS, pool_lake, spell_table
from gpscale.indicators.compute import compute_indicators, spark_session
from gpscale.indicators.lake_source import lake_indicators, read_practice_values, write_practice_values
from gpscale.indicators.library import load_definitions
from gpscale.store.db import open_store
from gpscale.store.lake import export_lake
from tests.bench.harness import record
from tests.fixtures.indicator_store import synthetic_store

PRACTICES, FIRST_FY, N_FYS = 500, 2011, 2


def _groups(store) -> None:
    con = store.con
    con.execute("INSERT INTO ingest_log VALUES (900, 'g.yaml', 'g.yaml', 'group_registry', '', 'g', 'h', 1, 1, 1, "
                "0, 0, [], 'loaded', '', NULL, now())")
    con.execute(f"INSERT INTO group_record SELECT DISTINCT printf('G%03d', i // 10), NULL, 'Group', 'federation', "
                f"NULL, NULL, NULL, NULL, 900 FROM range({PRACTICES}) t(i)")
    con.execute(f"""INSERT INTO membership
        SELECT printf('G%03d', i // 10), printf('P%05d', i), NULL,
               CASE WHEN i % 7 = 3 THEN DATE '2012-08-31' END, 900 FROM range({PRACTICES}) t(i)
        UNION ALL
        SELECT printf('G%03d', (i // 10 + 1) % {PRACTICES // 10}), printf('P%05d', i), DATE '2012-09-01', NULL, 900
        FROM range({PRACTICES}) t(i) WHERE i % 7 = 3""")


def bench_spark_lake() -> None:
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-lake-") as tmp:
        path, lake = Path(tmp) / "store.duckdb", Path(tmp) / "lake"
        with open_store(path) as store:
            synthetic_store(store, PRACTICES, FIRST_FY, N_FYS)
            _groups(store)
        t: dict[str, float] = {}
        with open_store(path, read_only=True) as store:
            t0 = time.perf_counter()
            pv = compute_indicators(store)
            t["duckdb_indicators_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            members = members_by_period(spells(store), sorted(pv.period.unique()), MembershipView.parse("as-was"))
            pooled = pooled_table(pv, members, score_indicators(load_definitions()))
            t["pandas_pool_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            export_lake(store, lake, derived={SPELLS: spell_table(store)})
            t["export_lake_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            session = spark_session()
            session.sparkContext.setLogLevel("ERROR")
            t["spark_start_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            compute_indicators(store, engine="spark", spark=session)
            t["spark_from_store_indicators_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        values = lake_indicators(str(lake), spark=session)
        write_practice_values(values.frame, str(lake / "practice_values"))
        t["spark_lake_indicators_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool_lake(str(lake), spark=session).write.parquet(str(lake / "pooled_values"))
        t["spark_lake_pool_s"] = time.perf_counter() - t0
        n_values = read_practice_values(session, str(lake / "practice_values")).count()
        n_pooled = session.read.parquet(str(lake / "pooled_values")).count()
    metrics = {
        "practices": PRACTICES,
        "financial_years": N_FYS,
        "practice_value_rows": len(pv),
        "pooled_rows": len(pooled),
        "lake_practice_value_rows": n_values,
        "lake_pooled_rows": n_pooled,
        **{k: round(v, 2) for k, v in t.items()},
        "lake_vs_duckdb_indicators": round(t["spark_lake_indicators_s"] / t["duckdb_indicators_s"], 1),
        "lake_vs_pandas_pool": round(t["spark_lake_pool_s"] / t["pandas_pool_s"], 1),
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
    }
    print(metrics)
    record("spark_lake", metrics, notes="local[2] Spark vs DuckDB/pandas on the same world, same run")
