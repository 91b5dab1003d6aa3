"""The Parquet lake: the store's canonical tables, partitioned by source and period (issue 17).

``gpscale store export --lake DIR`` writes ``DIR/<table>/source=<source>/period=<period>/*.parquet`` (hive
layout; a table without periods is partitioned by source only). ``source`` is the table's own ``source``
column where it has one (``measure_value``: qof, gpps...), otherwise the format of the file each row was
loaded from (``ingest_log.format``: prescribing, epraccur...). Partition values are URL-escaped in paths
(``FY2019%2F20``) and restored by readers that understand hive partitions (DuckDB, Spark). The ingest log
and the edition fingerprints go along unpartitioned, so that the lake says where every row came from; so do the
store's latest-value views (:data:`VIEW_TABLES`: ``practice``, ``practice_group``), resolved, so that a lake
reader uses the store's own answer instead of rebuilding the view.
(A replaced edition's rows are deleted from the store, so only current rows are exported; rows written
without an ingest log entry go under ``source=unlogged``.) Derived tables a caller passes (the groups'
membership spells, :mod:`gpscale.groups.spark_pool`) are written unpartitioned too.

``DIR/gpscale-lake.json`` (:data:`MANIFEST`) marks the folder as a gpscale lake and gives each table's row
count, partition columns and Spark schema. Readers (:func:`read_table`) read with that schema, so that
partition values are always text (Spark would otherwise guess types from the folder names) and a table
with no rows is an empty table rather than a missing folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from gpscale.store.db import Store
from gpscale.store.schema import DATA_TABLES

#: Tables exported whole (no partitions): provenance of the lake's rows.
LOG_TABLES: tuple[str, ...] = ("ingest_log", "ingest_edition", "rejects")

#: The store's latest-value views (:mod:`gpscale.store.schema`), exported resolved and unpartitioned: each
#: practice's and group's most recent non-null attributes, as the store answers them.
VIEW_TABLES: tuple[str, ...] = ("practice", "practice_group")

#: The file that marks a folder as a gpscale lake and describes its tables.
MANIFEST = "gpscale-lake.json"
LAKE_FORMAT = "gpscale-lake/1"

#: Spark SQL types of the DuckDB column types the store uses.
_SPARK_TYPES = {"VARCHAR": "string", "DOUBLE": "double", "BIGINT": "bigint", "INTEGER": "int", "DATE": "date",
                "BOOLEAN": "boolean", "TIMESTAMP": "timestamp_ntz"}


class LakeError(ValueError):
    """The lake cannot be written or read (the message says where and why)."""


def _spark_type(duck: str) -> str:
    if duck.endswith("[]"):
        return f"array<{_spark_type(duck[:-2])}>"
    if duck not in _SPARK_TYPES:
        raise LakeError(f"no Spark type for the DuckDB type {duck}")
    return _SPARK_TYPES[duck]


def _write(con: duckdb.DuckDBPyConnection, sql: str, dest: Path, part: list[str]) -> dict[str, Any]:
    """COPY ``sql`` to ``dest`` (partitioned by ``part``, or one file); its manifest entry."""
    described = con.execute(f"DESCRIBE ({sql})").fetchall()
    data = [f"`{c}` {_spark_type(t)}" for c, t, *_ in described if c not in part]
    schema = ", ".join(data + [f"`{c}` string" for c in part])
    n = int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])
    if part and n:
        con.execute(f"COPY ({sql}) TO '{dest}' (FORMAT parquet, PARTITION_BY ({', '.join(part)}))")
    elif not part:
        dest.mkdir()
        con.execute(f"COPY ({sql}) TO '{dest / 'data.parquet'}' (FORMAT parquet)")
    return {"rows": n, "partition_by": part, "schema": schema}


def export_lake(
    store: Store, out: Path, overwrite: bool = False, derived: Mapping[str, pd.DataFrame] | None = None
) -> dict[str, int]:
    """Write the lake to ``out``; return rows written per table. ``out`` must be new or empty unless
    ``overwrite`` (then it is replaced), so that a lake never mixes two exports. ``derived`` adds tables
    computed from the store (name -> frame), written unpartitioned."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise LakeError(f"{out} is not empty: name a new folder, or pass --overwrite to replace that lake")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    con = store.con
    tables: dict[str, dict[str, Any]] = {}
    for table in DATA_TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        source = "t.source" if "source" in cols else "coalesce(l.format, 'unlogged')"
        part = ["source", "period"] if "period" in cols else ["source"]
        body = ", ".join(f"t.{c}" for c in cols if c != "source")
        sql = f"SELECT {body}, {source} AS source FROM {table} t LEFT JOIN ingest_log l USING (ingest_id)"
        tables[table] = _write(con, sql, out / table, part)
    for table in (*LOG_TABLES, *VIEW_TABLES):
        tables[table] = _write(con, f"SELECT * FROM {table}", out / table, [])
    if derived:
        local = duckdb.connect()
        try:
            for name, frame in derived.items():
                local.register("derived_frame", frame)
                tables[name] = _write(local, "SELECT * FROM derived_frame", out / name, [])
                local.unregister("derived_frame")
        finally:
            local.close()
    (out / MANIFEST).write_text(json.dumps({"format": LAKE_FORMAT, "tables": tables}, indent=1) + "\n")
    return {t: int(m["rows"]) for t, m in tables.items()}


# ------------------------------------------------------------------------------------------ reading


def lake_path(lake: str, *parts: str) -> str:
    """A path inside the lake, joined as text so that URIs (``abfss://``, ``s3a://``, ``dbfs:/``) survive."""
    return "/".join([str(lake).rstrip("/"), *parts])


def read_manifest(session: Any, lake: str) -> dict[str, Any]:
    """The lake's manifest, read through Spark (so any storage Spark reads will do); LakeError if ``lake``
    is not a gpscale lake."""
    path = lake_path(lake, MANIFEST)
    try:
        rows = session.read.text(path, wholetext=True).collect()
        manifest = json.loads(rows[0][0])
    except Exception as exc:  # Spark's missing-path error, or a file that is not the manifest
        raise LakeError(
            f"{lake} is not a gpscale lake: no readable {MANIFEST} (write one with gpscale store export --lake)"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != LAKE_FORMAT:
        raise LakeError(f"{lake}: {MANIFEST} is not a {LAKE_FORMAT} manifest")
    return manifest


def read_table(session: Any, lake: str, manifest: Mapping[str, Any], table: str) -> Any:
    """One lake table as a Spark DataFrame, read with the manifest's schema (partition columns are text)."""
    entry = manifest["tables"].get(table)
    if entry is None:
        raise LakeError(f"{lake} has no {table} table (re-export it with gpscale store export --lake)")
    if not entry["rows"]:
        return session.createDataFrame([], entry["schema"])
    return session.read.schema(entry["schema"]).parquet(lake_path(lake, table))


def missing_tables(manifest: Mapping[str, Any], tables: Iterable[str]) -> list[str]:
    """Which of ``tables`` the lake does not have."""
    return sorted(t for t in tables if t not in manifest["tables"])
