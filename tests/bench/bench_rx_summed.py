"""Prescribing summed at ingest on a national-size month (issue 17, item 3).

A synthetic EPD month (``GPSCALE_BENCH_EPD_ROWS`` rows, default 18 million, the national size; 26 published
columns, codes across many BNF sections: :mod:`tests.bench.epd_national`) is generated into a temporary
folder, then, in the same process:

* baseline A: DuckDB ``CREATE TABLE t AS SELECT * FROM read_csv(file, columns = {explicit types})`` into a
  fresh on-disk database (what "load the file with DuckDB" costs);
* baseline B: the same, keeping only the 8 columns gpscale stores (the raw rows as the store would hold them;
  its database file is the "raw rows" size);
* gpscale: ``ingest(store, [file], rx_codes=<the installed definitions' code set>)`` into a fresh on-disk
  store (checksum, detection, typed parse with quarantine and rule checks, exact-copy check, sums, record of
  the definitions served, commit), i.e. ``gpscale ingest`` by default.

Targets: gpscale within 1.5x of baseline A; the store at least 20x smaller than baseline B's database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from tests.bench.epd_national import write_epd_month
from tests.bench.harness import peak_rss_mib, record

ROWS = int(os.environ.get("GPSCALE_BENCH_EPD_ROWS", "18000000"))
CANONICAL = ("PRACTICE_CODE AS practice_code, YEAR_MONTH AS period, BNF_CODE AS bnf_code, ITEMS AS items, "
             "TOTAL_QUANTITY AS quantity, ADQUSAGE AS adq_usage, NIC AS nic, ACTUAL_COST AS actual_cost")


def _read_csv_into(db: Path, path: Path, select: str) -> float:
    header = path.open().readline().strip().split(",")
    numeric = {"QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "NIC", "ACTUAL_COST"}
    cols = "{" + ", ".join(f"'{h}': '{'DOUBLE' if h in numeric else 'VARCHAR'}'" for h in header) + "}"
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE t AS SELECT {select} FROM read_csv('{path}', header = true, auto_detect = false, "
                f"columns = {cols})")
    con.close()
    return time.perf_counter() - t0


def bench_rx_summed_ingest() -> None:
    from gpscale.indicators.library import load_definitions
    from gpscale.indicators.rx_served import code_set
    from gpscale.store.db import open_store
    from gpscale.store.ingest import ingest

    tmp = Path(tempfile.mkdtemp(prefix="gpscale-bench-rx-"))
    try:
        t0 = time.perf_counter()
        path = write_epd_month(tmp / "EPD_201909.csv", ROWS)
        gen_s = time.perf_counter() - t0

        base_all_s = _read_csv_into(tmp / "a.duckdb", path, "*")
        all_mb = (tmp / "a.duckdb").stat().st_size / 1e6
        (tmp / "a.duckdb").unlink()
        base_raw_s = _read_csv_into(tmp / "b.duckdb", path, CANONICAL)
        raw_mb = (tmp / "b.duckdb").stat().st_size / 1e6
        (tmp / "b.duckdb").unlink()

        codes = code_set(load_definitions().values())
        t0 = time.perf_counter()
        store = open_store(tmp / "store.duckdb")
        rep = ingest(store, [path], rx_codes=codes)
        summed_rows = store.con.execute("SELECT count(*) FROM prescribing").fetchone()[0]  # type: ignore[index]
        store.close()
        ours_s = time.perf_counter() - t0
        store_mb = (tmp / "store.duckdb").stat().st_size / 1e6
        assert rep.files[0].rows_in == ROWS, rep.files[0]

        metrics = {
            "rows": ROWS,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "generate_s": round(gen_s, 2),
            "baseline_read_csv_all_columns_s": round(base_all_s, 2),
            "baseline_read_csv_8_columns_s": round(base_raw_s, 2),
            "gpscale_summed_ingest_s": round(ours_s, 2),
            "ratio_over_read_csv_all_columns": round(ours_s / base_all_s, 3),
            "ratio_over_read_csv_8_columns": round(ours_s / base_raw_s, 3),
            "target_ratio": 1.5,
            "raw_rows_db_mb": round(raw_mb, 1),
            "all_columns_db_mb": round(all_mb, 1),
            "store_mb": round(store_mb, 2),
            "size_ratio_raw_over_store": round(raw_mb / store_mb, 1),
            "target_size_ratio": 20,
            "summed_rows": int(summed_rows),
            "prefixes": len(codes.prefixes),
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
        out = record(
            "rx_summed_ingest",
            metrics,
            notes="baseline A = CREATE TABLE AS SELECT * FROM read_csv(file, explicit types); baseline B = the same "
            "keeping the 8 stored columns (its file is the raw-rows size); gpscale = ingest() summing to the "
            "installed definitions' BNF prefixes (gpscale ingest's default)",
        )
        print(f"[bench] {metrics} -> {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
