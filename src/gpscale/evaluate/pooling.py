"""Pooling practice values into group and England values.

A group's value is pooled numerators over pooled denominators (never an average of percentages): for
a proportion, events over eligible; for a rate, events over the (weighted) population; for a
standardised ratio, observed over expected; for a QOF score, points over maximum points. England is
the pool of every practice with data in the period.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.regions import ENGLAND_ID as ENGLAND_ID  # re-exported: callers read pooling.ENGLAND_*
from gpscale.domain.regions import ENGLAND_NAME as ENGLAND_NAME
from gpscale.domain.vocabulary import ValueType

KEYS = ["indicator_id", "period", "period_type"]


def score_indicators(definitions: Mapping[str, Any]) -> set[str]:
    """Ids of the score (QOF) indicators, whose pooled rows also carry the standard error of the mean score."""
    return {k for k, d in definitions.items() if ValueType(d.value_type) is ValueType.SCORE}


def usable(practice_values: pd.DataFrame) -> pd.DataFrame:
    """Practice rows that can be pooled: numerator and a positive denominator present."""
    pv = practice_values
    ok = pv["numerator"].notna() & pv["denominator"].notna() & (pv["denominator"] > 0)
    return pv[ok]


def _sum(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    agg = {"numerator": ("numerator", "sum"), "denominator": ("denominator", "sum"),
           "n_practices": ("practice_code", "nunique")}
    if "effective_n" in df.columns:
        agg["effective_n"] = ("effective_n", "sum")
    return df.groupby(by, as_index=False, observed=True).agg(**agg)


def england(practice_values: pd.DataFrame) -> pd.DataFrame:
    """England's pooled numerator and denominator per indicator and period."""
    out = _sum(usable(practice_values), KEYS)
    out.insert(0, "entity_id", ENGLAND_ID)
    return out


def score_standard_errors(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group: the standard error of the maximum-weighted mean of practice scores, and k.

    The weighted mean of scores ``points / max`` with weights ``max`` is the pooled score Σpoints / Σmax;
    its standard error (:func:`gpscale.stats.means.grouped_mean_interval`, linearisation variance,
    recovered from the 95% half-width) is the within-group variance the characteristics and size
    meta-regressions use (:func:`gpscale.evaluate.common.link_variance`). Groups with one practice have no
    spread to estimate and get NaN.
    """
    from scipy import stats as st

    from gpscale.stats.means import grouped_mean_interval

    if rows.empty:
        return pd.DataFrame(columns=[*by, "score_se", "score_k"])
    key = rows.groupby(by, sort=False, observed=True).ngroup().to_numpy()
    score = rows["numerator"].to_numpy(float) / rows["denominator"].to_numpy(float)
    res = grouped_mean_interval(score, key, rows["denominator"].to_numpy(float), confidence=0.95)
    with np.errstate(invalid="ignore"):
        crit = st.t.ppf(0.975, res.count - 1.0)
        se = np.where(res.count > 1, (res.upper - res.mean) / crit, np.nan)
    first = rows.drop_duplicates(subset=by).assign(_k=key[~rows.duplicated(subset=by).to_numpy()])
    table = pd.DataFrame({"_k": res.groups.astype(np.int64), "score_se": se, "score_k": res.count})
    return first[[*by, "_k"]].merge(table, on="_k", how="left").drop(columns="_k")


def pooled_table(practice_values: pd.DataFrame, members: pd.DataFrame, score_ids: set[str]) -> pd.DataFrame:
    """England and every group, per indicator and period: pooled counts, practices, and score SEs.

    Columns: entity_type (england | group), entity_id, indicator_id, period, period_type, numerator,
    denominator, n_practices, effective_n (if present), score_se and score_k (score indicators).
    """
    use = usable(practice_values)
    eng = england(use).assign(entity_type="england")
    grp_rows = use.merge(members, on=["practice_code", "period"], how="inner")
    grp = _sum(grp_rows, ["group_id", *KEYS]).rename(columns={"group_id": "entity_id"}).assign(entity_type="group")
    out = pd.concat([eng, grp], ignore_index=True)
    out["score_se"] = np.nan
    out["score_k"] = np.nan
    if score_ids:
        s_eng = score_standard_errors(use[use["indicator_id"].isin(score_ids)], KEYS).assign(entity_id=ENGLAND_ID)
        s_grp = score_standard_errors(grp_rows[grp_rows["indicator_id"].isin(score_ids)], ["group_id", *KEYS])
        s_grp = s_grp.rename(columns={"group_id": "entity_id"})
        s = pd.concat([s_eng, s_grp], ignore_index=True)
        out = out.drop(columns=["score_se", "score_k"]).merge(s, on=["entity_id", *KEYS], how="left")
    first = ["entity_type", "entity_id", *KEYS]
    return out[first + [c for c in out.columns if c not in first]]
