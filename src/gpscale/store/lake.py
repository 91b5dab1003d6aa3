"""Export the store's canonical tables as a Parquet lake, partitioned by source and period (issue 17).

``gpscale store export --lake DIR`` writes ``DIR/<table>/source=<source>/period=<period>/*.parquet`` (hive
layout; a table without periods is partitioned by source only). ``source`` is the table's own ``source``
column where it has one (``measure_value``: qof, gpps...), otherwise the format of the file each row was
loaded from (``ingest_log.format``: prescribing, epraccur...). Partition values are URL-escaped in paths
(``FY2019%2F20``) and restored by readers that understand hive partitions (DuckDB, Spark). The ingest log
and the edition fingerprints go along unpartitioned, so that the lake says where every row came from.
(A replaced edition's rows are deleted from the store, so only current rows are exported; rows written
without an ingest log entry go under ``source=unlogged``.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gpscale.store.db import Store
from gpscale.store.schema import DATA_TABLES

#: Tables exported whole (no partitions): provenance of the lake's rows.
LOG_TABLES: tuple[str, ...] = ("ingest_log", "ingest_edition", "rejects")


class LakeError(ValueError):
    """The lake cannot be written (the message says where and why)."""


def export_lake(store: Store, out: Path, overwrite: bool = False) -> dict[str, int]:
    """Write the lake to ``out``; return rows written per table. ``out`` must be new or empty unless
    ``overwrite`` (then it is replaced), so that a lake never mixes two exports."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise LakeError(f"{out} is not empty: name a new folder, or pass --overwrite to replace that lake")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    con = store.con
    counts: dict[str, int] = {}
    for table in DATA_TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        source = "t.source" if "source" in cols else "coalesce(l.format, 'unlogged')"
        part = ["source", "period"] if "period" in cols else ["source"]
        body = ", ".join(f"t.{c}" for c in cols if c != "source")
        sql = (
            f"SELECT {body}, {source} AS source FROM {table} t LEFT JOIN ingest_log l USING (ingest_id)"
        )
        n = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        counts[table] = int(n)
        if n:
            con.execute(f"COPY ({sql}) TO '{out / table}' (FORMAT parquet, PARTITION_BY ({', '.join(part)}))")
    for table in LOG_TABLES:
        (out / table).mkdir()
        con.execute(f"COPY {table} TO '{out / table / 'data.parquet'}' (FORMAT parquet)")
        counts[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    return counts
