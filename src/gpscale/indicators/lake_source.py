"""Indicators computed in Spark straight from a Parquet lake: no DuckDB store anywhere (issue 17).

``gpscale compute --engine spark --lake DIR`` reads the partitioned tables that ``gpscale store export
--lake`` wrote (:mod:`gpscale.store.lake`) into a SparkSession (local, or the cluster's own) and builds
every indicator with the same ibis expressions as the DuckDB path (:mod:`gpscale.indicators.compute`):
only the table source differs. The lake gives the tables (``practice`` is the store's latest-value view, as
the export resolved it) and :class:`LakeFacts` the small facts the expressions are built
from (periods, weights, age bands, summed prescribing months), each a small Spark query.

The practice values stay in Spark (:func:`lake_indicators` returns a Spark DataFrame) and are written by
the executors (:func:`write_practice_values`), by default to ``DIR/practice_values/indicator_id=<id>/``,
where :mod:`gpscale.groups.spark_pool` pools them. Only facts and the per-indicator row counts reach the
driver.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from gpscale.indicators.compute import (
    OUTPUT_COLUMNS,
    STORE_TABLES,
    Engine,
    check_source,
    indicator_expressions,
    needed_tables,
    select_definitions,
    spark_session,
)
from gpscale.indicators.rx_served import SummedMonth
from gpscale.store.lake import LakeError, lake_path, missing_tables, read_manifest, read_table

_NUMBERS = ("numerator", "denominator", "value", "effective_n")

#: Where the practice values go in the lake unless the caller names another place.
PRACTICE_VALUES = "practice_values"

#: Spark types of the practice values' columns (:data:`OUTPUT_COLUMNS`).
PRACTICE_VALUE_TYPES: dict[str, str] = {
    c: "bigint" if c == "definition_version" else "double" if c in _NUMBERS else "string" for c in OUTPUT_COLUMNS
}
PRACTICE_VALUES_SCHEMA = ", ".join(f"{c} {t}" for c, t in PRACTICE_VALUE_TYPES.items())

#: Lake tables behind the facts.
_FACT_TABLES = ("prescribing_weight", "prescribing_aggregate", "ingest_log")


@dataclass
class LakeFacts:
    """The facts :class:`gpscale.indicators.compute.StoreFacts` reads from a store, from the lake's tables
    (Spark DataFrames) instead; each answer is small and collected to the driver."""

    frames: dict[str, Any] = field(default_factory=dict)

    def periods(self, table: str, source: str | None) -> list[str]:
        df = self.frames[table]
        if source is not None:
            df = df.filter(df.source == source)  # a partition column: Spark reads only that source's folders
        return sorted(str(r[0]) for r in df.select("period").distinct().collect())

    def stored_weights(self, scheme: str, vintage: str) -> pd.DataFrame:
        cols = ["scheme", "vintage", "sex", "age_band", "weight"]
        df = self.frames["prescribing_weight"]
        rows = df.filter((df.scheme == scheme) & (df.vintage == vintage)).select(*cols).collect()
        return pd.DataFrame([tuple(r) for r in rows], columns=cols).astype({"weight": "float64"})

    def age_bands(self) -> list[str]:
        df = self.frames["practice_population"]
        df = df.filter(df.sex.isin("male", "female") & (df.age_band != "all"))
        return [str(r[0]) for r in df.select("age_band").distinct().collect()]

    def summed_months(self) -> list[SummedMonth]:
        agg, log = self.frames["prescribing_aggregate"], self.frames["ingest_log"]
        rows = (
            agg.join(log.filter(log.status == "loaded").select("ingest_id", "file_name"), "ingest_id")
            .select("period", "code_prefixes", "definitions", "code_fingerprint", "file_name")
            .collect()
        )
        return [SummedMonth(str(p), tuple(c), tuple(d), str(f), str(n)) for p, c, d, f, n in rows]


def lake_engine(session: Any, lake: str, manifest: dict[str, Any], needed: set[str]) -> Engine:
    """An :class:`Engine` whose tables are the lake's, as Spark temporary views (``gpscale_lake_<table>``)."""
    wanted = sorted(needed | set(_FACT_TABLES))
    missing = missing_tables(manifest, wanted)
    if missing:
        raise LakeError(f"{lake} lacks the table(s) {', '.join(missing)} (re-export it with gpscale store export "
                        "--lake)")
    icon = ibis.pyspark.connect(session)
    frames = {}
    for name in wanted:
        frames[name] = read_table(session, lake, manifest, name)
        frames[name].createOrReplaceTempView(f"gpscale_lake_{name}")
    tables = {}
    for name, cols in STORE_TABLES.items():
        if name in frames:
            tables[name] = icon.table(f"gpscale_lake_{name}").select(*cols)
    return Engine("spark", icon, tables, LakeFacts(frames), session=session)


@dataclass(frozen=True)
class LakeIndicators:
    """The practice values as a Spark DataFrame (columns :data:`OUTPUT_COLUMNS`, not yet computed: Spark
    runs it when it is written or collected) and the parameters used (weights per indicator)."""

    frame: Any
    parameters: dict[str, Any]


def lake_indicators(
    lake: str,
    indicator_ids: list[str] | None = None,
    definitions_dir: Path | None = None,
    *,
    star_pu_vintage: str | None = None,
    spark: Any = None,
) -> LakeIndicators:
    """The chosen indicators (all when ``indicator_ids`` is None) from the lake at ``lake`` (a folder or any
    URI Spark reads), in ``spark`` (a SparkSession; a local one when None). Same rows and columns as
    :func:`gpscale.indicators.compute.compute_indicators` on the store the lake was exported from."""
    defs = select_definitions(indicator_ids, definitions_dir)
    session = spark if spark is not None else spark_session()
    e = lake_engine(session, lake, read_manifest(session, lake), needed_tables(defs))
    check_source(defs, e.facts)
    parameters: dict[str, Any] = {}
    parts = []
    for d in defs:
        for x in indicator_expressions(e, d, star_pu_vintage, parameters):
            parts.append(session.sql(e.con.compile(x)))
    if not parts:
        return LakeIndicators(session.createDataFrame([], PRACTICE_VALUES_SCHEMA), {"engine": "spark-lake"})
    frame = functools.reduce(lambda a, b: a.unionByName(b), parts)
    frame = frame.selectExpr(*[f"CAST({c} AS {t}) AS {c}" for c, t in PRACTICE_VALUE_TYPES.items()])
    return LakeIndicators(frame, {"engine": "spark-lake", **parameters})


def practice_values_path(lake: str, out: str | None = None) -> str:
    """Where practice values are written and read: ``out``, or ``<lake>/practice_values``."""
    return out if out is not None else lake_path(lake, PRACTICE_VALUES)


def write_practice_values(frame: Any, dest: str) -> None:
    """Write practice values as Parquet partitioned by indicator (Spark's executors write; nothing is
    collected). Indicators written again replace their own folders only; others already there stay."""
    (frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
     .partitionBy("indicator_id").parquet(dest))


def read_practice_values(session: Any, path: str) -> Any:
    """Practice values written by :func:`write_practice_values`, columns in :data:`OUTPUT_COLUMNS` order."""
    return session.read.schema(PRACTICE_VALUES_SCHEMA).parquet(path).select(*OUTPUT_COLUMNS)
