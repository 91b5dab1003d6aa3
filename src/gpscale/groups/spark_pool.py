"""Pooling groups in Spark from a Parquet lake: the distributed form of :func:`gpscale.evaluate.pooling.pooled_table`.

``gpscale groups pool --lake DIR`` joins the membership spells the lake carries (``group_spells``: the spells
:func:`gpscale.groups.membership.spells` resolves, written by ``gpscale store export --lake``) to the practice
values ``gpscale compute --engine spark --lake DIR`` wrote, under a membership view (as-was by default: a
practice counts towards a group for a period if one of its spells covers the period's reference date,
:func:`gpscale.groups.membership.reference_date`), and sums per group × indicator × period, and for England
over every practice. The rows and columns are those of ``pooled_table``: pooled numerator and denominator
(exact decimal sums, :data:`gpscale.indicators.compute.EXACT_SUM_TYPE`), distinct practices, summed
effective sample size, and for score indicators the standard error of the maximum-weighted mean score and
its number of practices.

Everything runs on Spark's executors; the driver collects only the list of periods (to give each its
reference date). The result is a Spark DataFrame, written by the executors (the CLI) or collected by the
caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.domain.regions import ENGLAND_ID
from gpscale.domain.vocabulary import ValueType
from gpscale.groups.membership import MembershipView, reference_date, spells
from gpscale.indicators.compute import EXACT_SUM_TYPE, spark_session
from gpscale.indicators.lake_source import practice_values_path, read_practice_values
from gpscale.indicators.library import load_definitions
from gpscale.store.db import Store
from gpscale.store.lake import LakeError, lake_path, read_manifest, read_table

#: The lake table of resolved membership spells.
SPELLS = "group_spells"

#: Where pooled values go in the lake unless the caller names another place.
POOLED_VALUES = "pooled_values"


KEYS = ["indicator_id", "period", "period_type"]

#: Columns of the result, in :func:`gpscale.evaluate.pooling.pooled_table`'s order.
POOLED_COLUMNS = ("entity_type", "entity_id", *KEYS, "numerator", "denominator", "n_practices", "effective_n",
                  "score_se", "score_k")

#: Squared deviations of the score standard error are added exactly too, with more decimals (they are small).
_SQUARES_SUM_TYPE = "decimal(38, 18)"


def spell_table(store: Store) -> pd.DataFrame:
    """The resolved membership spells (group_id, practice_code, start_date, end_date, source) with dates as
    dates, for ``gpscale store export --lake``."""
    s = spells(store)
    out = s[["group_id", "practice_code", "start_date", "end_date", "source"]].copy()
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c]).astype("date32[pyarrow]")
    return out.astype({"group_id": "str", "practice_code": "str", "source": "str"})


def _exact(col: Any, to: str = EXACT_SUM_TYPE) -> Any:
    from pyspark.sql import functions as F

    return F.sum(col.cast(to)).cast("double")


def members(session: Any, spell_df: Any, periods: list[str], view: MembershipView) -> Any:
    """(group_id, practice_code, period) under ``view``, as :func:`gpscale.groups.membership.members_by_period`
    gives them: spells live on each period's reference date (as-was) or on the cohort date, or every
    practice ever a member (ever)."""
    from pyspark.sql import functions as F

    if view.kind == "ever":
        per = session.createDataFrame([(p,) for p in periods], "period string")
        return spell_df.select("group_id", "practice_code").distinct().crossJoin(F.broadcast(per))
    refs = [(p, view.cohort_date if view.kind == "cohort" else reference_date(p)) for p in periods]
    per = session.createDataFrame(refs, "period string, ref date")
    s = spell_df.crossJoin(F.broadcast(per))
    live = s.filter((s.start_date.isNull() | (s.start_date <= s.ref)) & (s.end_date.isNull() | (s.end_date >= s.ref)))
    return live.select("group_id", "practice_code", "period").distinct()


def _pool(rows: Any, by: list[str], score_ids: set[str]) -> Any:
    """Pooled sums per ``by``, with the score standard error inputs for score indicators (see module docstring).

    The standard error is that of :func:`gpscale.evaluate.pooling.score_standard_errors`: the linearisation
    variance of the weighted mean of scores ``x = numerator / denominator`` with weights ``w = denominator``,
    ``k / (k - 1) Σ w²(x - m)² / (Σw)²`` with ``m = Σnumerator / Σdenominator`` and ``w(x - m) =
    numerator - denominator · m``; NaN for one practice.
    """
    from pyspark.sql import functions as F

    pooled = rows.groupBy(*by).agg(
        _exact(rows.numerator).alias("numerator"),
        _exact(rows.denominator).alias("denominator"),
        F.countDistinct("practice_code").alias("n_practices"),
        F.coalesce(_exact(rows.effective_n), F.lit(0.0)).alias("effective_n"),
    )
    score = rows.filter(rows.indicator_id.isin(sorted(score_ids)))
    mean = pooled.select(*by, (pooled.numerator / pooled.denominator).alias("_m"))
    j = score.join(mean, by)
    dev = j.numerator - j.denominator * j._m
    se = j.groupBy(*by).agg(
        F.count(F.lit(1)).cast("double").alias("score_k"),
        _exact(dev * dev, _SQUARES_SUM_TYPE).alias("_dev2"),
        _exact(j.denominator).alias("_sw"),
    )
    k = se.score_k
    se = se.select(*by, F.when(k > 1, F.sqrt(k / (k - 1) * se._dev2) / se._sw).alias("score_se"), "score_k")
    return pooled.join(se, by, "left")


def pooled_frame(session: Any, practice_values: Any, spell_df: Any, view: MembershipView, score_ids: set[str]) -> Any:
    """England and every group, per indicator and period (columns :data:`POOLED_COLUMNS`), from Spark
    DataFrames of practice values and spells."""
    from pyspark.sql import functions as F

    pv = practice_values
    use = pv.filter(pv.numerator.isNotNull() & pv.denominator.isNotNull() & (pv.denominator > 0))
    periods = sorted(str(r[0]) for r in use.select("period").distinct().collect())
    eng = _pool(use, KEYS, score_ids).select(F.lit("england").alias("entity_type"),
                                             F.lit(ENGLAND_ID).alias("entity_id"), "*")
    grp_rows = use.join(members(session, spell_df, periods, view), ["practice_code", "period"])
    grp = _pool(grp_rows, ["group_id", *KEYS], score_ids)
    grp = grp.select(F.lit("group").alias("entity_type"), F.col("group_id").alias("entity_id"), "*")
    return eng.select(*POOLED_COLUMNS).unionByName(grp.select(*POOLED_COLUMNS))


def score_ids_of(definitions_dir: Path | None = None) -> set[str]:
    """Ids of the installed score (QOF) indicators, whose pooled rows carry the score standard error."""
    return {k for k, d in load_definitions(definitions_dir).items() if ValueType(d.value_type) is ValueType.SCORE}


def pool_lake(
    lake: str,
    *,
    view: str = "as-was",
    values: str | None = None,
    definitions_dir: Path | None = None,
    spark: Any = None,
) -> Any:
    """Pooled values (a Spark DataFrame, :data:`POOLED_COLUMNS`) of every group in the lake at ``lake``, from
    the practice values at ``values`` (default ``<lake>/practice_values``) under membership ``view``."""
    mv = MembershipView.parse(view)
    session = spark if spark is not None else spark_session()
    spell_df = read_table(session, lake, read_manifest(session, lake), SPELLS)
    path = practice_values_path(lake, values)
    try:
        pv = read_practice_values(session, path)
    except Exception as exc:  # Spark's missing-path error
        raise LakeError(f"no practice values at {path}: run gpscale compute --engine spark --lake {lake} first") \
            from exc
    return pooled_frame(session, pv, spell_df, mv, score_ids_of(definitions_dir))


def pooled_values_path(lake: str, out: str | None = None) -> str:
    """Where pooled values are written: ``out``, or ``<lake>/pooled_values``."""
    return out if out is not None else lake_path(lake, POOLED_VALUES)
