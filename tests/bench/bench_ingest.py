"""Ingest throughput of a national-size English Prescribing Dataset month against plain DuckDB.

A synthetic EPD month (``GPSCALE_BENCH_EPD_ROWS`` rows, default 18 million, about the national size)
is written in the published 26-column layout by :mod:`tests.bench.epd_national` (the file the
prescribing pre-aggregation benchmark reads too), then:

* baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` into a fresh on-disk DuckDB database;
* gpscale: ``ingest(store, [file])`` into a fresh on-disk store (checksum, detection, typed parse with
  quarantine of bad lines, validation, insert, commit).

Both run in the same process, one after the other, so the ratio is robust to a slow machine.
Target: gpscale within 2x of the baseline.
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


def bench_ingest_epd_month() -> None:
    from gpscale.store.db import open_store
    from gpscale.store.ingest import ingest

    tmp = Path(tempfile.mkdtemp(prefix="gpscale-bench-epd-"))
    try:
        t0 = time.perf_counter()
        path = write_epd_month(tmp / "EPD_201909.csv", ROWS)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6

        # baseline: plain DuckDB read_csv of the same file into a table, on disk
        base_db = tmp / "baseline.duckdb"
        t0 = time.perf_counter()
        con = duckdb.connect(str(base_db))
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
        base_rows = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
        con.close()
        base_s = time.perf_counter() - t0
        base_db.unlink()

        # gpscale: detection, checksum, typed parse + validation, insert, commit
        store_db = tmp / "store.duckdb"
        t0 = time.perf_counter()
        store = open_store(store_db)
        rep = ingest(store, [path])
        store.close()
        ours_s = time.perf_counter() - t0
        f = rep.files[0]
        assert f.rows_loaded == ROWS == base_rows, (f.rows_loaded, base_rows)

        metrics = {
            "rows": ROWS,
            "file_mb": round(size_mb, 1),
            "generate_s": round(gen_s, 2),
            "baseline_read_csv_s": round(base_s, 2),
            "baseline_rows_per_s": round(ROWS / base_s),
            "gpscale_ingest_s": round(ours_s, 2),
            "gpscale_rows_per_s": round(ROWS / ours_s),
            "ratio_gpscale_over_baseline": round(ours_s / base_s, 3),
            "target_ratio": 2.0,
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
        out = record(
            "ingest_epd_month",
            metrics,
            notes="baseline = CREATE TABLE AS SELECT * FROM read_csv(file) (all 26 columns, auto-detected); "
            "gpscale = ingest() of the same file (8 canonical columns, validated, quarantine, one transaction)",
        )
        print(f"[bench] {metrics} -> {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- memory of the CSV paths on a ~1 GB file (issue 11) ---------------------------------------------------

#: Size of the generated files (bytes, approximately); the target is a peak resident memory below 1 GB.
MEMORY_FILE_BYTES = int(os.environ.get("GPSCALE_BENCH_CSV_BYTES", str(1_000_000_000)))
MEMORY_TARGET_MIB = 1024

_CHILD = """
import resource, sys, time
t0 = time.perf_counter()
mode, csv_path, db_path = sys.argv[1:4]
if mode == "baseline":
    import duckdb
    con = duckdb.connect(db_path)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}')")
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    con.close()
else:
    from pathlib import Path
    from gpscale.store.db import open_store
    from gpscale.store.ingest import ingest
    store = open_store(db_path)
    rows = ingest(store, [Path(csv_path)]).files[0].rows_loaded
    store.close()
print(rows, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def write_prevalence_file(path: Path, target_bytes: int) -> Path:
    """A QOF PREVALENCE file of about ``target_bytes`` (unique practice x register group keys), by DuckDB."""
    groups = ["AF", "AST", "CAN", "CHD", "CKD", "COPD", "DEM", "DEP", "DM", "EP", "HF", "HYP", "LD", "MH", "OB",
              "OST", "PAD", "PC", "RA", "STIA", "NDH"]
    rows = target_bytes // 26  # about 26 bytes a line
    g = "[" + ", ".join(f"'{x}'" for x in groups) + "]"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""COPY (SELECT chr(65 + (p // 100000)::INT) || lpad(CAST(p % 100000 AS VARCHAR), 5, '0') AS PRACTICE_CODE,
                         {g}[1 + (i % 21)::INT] AS GROUP_CODE, (i * 7919) % 900 AS REGISTER,
                         'TOTAL' AS PATIENT_LIST_TYPE, 1000 + p % 20000 AS PATIENT_LIST_SIZE
                  FROM (SELECT i, i // 21 AS p FROM range({rows}) t(i)))
            TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()
    return path


def _measure(mode: str, csv_path: Path, db_path: Path) -> dict[str, float]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(csv_path), str(db_path)], capture_output=True, text=True, env=env,
        check=True,
    ).stdout.strip().splitlines()[-1].split()
    if db_path.exists():
        db_path.unlink()
    return {"rows": int(out[0]), "seconds": round(float(out[1]), 1), "peak_rss_mib": round(float(out[2]), 1)}


def bench_ingest_csv_memory() -> None:
    """Peak memory of ingesting a ~1 GB CSV through the streaming text path (QOF PREVALENCE layout) and the
    DuckDB path (EPD layout), each against DuckDB read_csv of the same file, each in a fresh process."""
    tmp = Path(tempfile.mkdtemp(prefix="gpscale-bench-mem-"))
    metrics: dict[str, object] = {"target_peak_rss_mib": MEMORY_TARGET_MIB}
    try:
        files = {
            "prevalence_text_path": write_prevalence_file(tmp / "PREVALENCE_1920.csv", MEMORY_FILE_BYTES),
            "epd_duckdb_path": write_epd_month(tmp / "EPD_201909.csv", MEMORY_FILE_BYTES // 330),
        }
        for label, path in files.items():
            base = _measure("baseline", path, tmp / "baseline.duckdb")
            ours = _measure("gpscale", path, tmp / "store.duckdb")
            assert ours["rows"] > 0
            metrics[label] = {
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "rows_in_file": base["rows"],
                "baseline_duckdb_read_csv": base,
                "gpscale_ingest": ours,
                "ratio_peak_rss_gpscale_over_baseline": round(ours["peak_rss_mib"] / base["peak_rss_mib"], 2),
                "within_target": ours["peak_rss_mib"] < MEMORY_TARGET_MIB,
            }
            path.unlink()
        out = record(
            "ingest_csv_memory",
            metrics,
            notes="peak resident memory (ru_maxrss) of a fresh process: baseline = DuckDB "
            "CREATE TABLE AS SELECT * FROM read_csv(file) into an on-disk database (DuckDB's default memory limit); "
            "gpscale = ingest() of the same file into an on-disk store (streaming CSV reader and staging for the "
            "PREVALENCE layout; DuckDB read_csv staging for EPD; DuckDB memory limit "
            "gpscale.store.ingest.INGEST_MEMORY_LIMIT during the ingest)",
        )
        print(f"[bench] {metrics} -> {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
