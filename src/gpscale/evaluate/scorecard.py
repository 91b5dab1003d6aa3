"""Scorecard: every entity × indicator × period against England, at 95% and 99.8%.

Each row states the value, its interval, the confidence level, the interval method, England's value,
the comparison ("better / similar / worse", "higher / lower" for indicators without a judgement, or
"not compared") and the rule used, the membership view, and the definition and data versions.

Interval by value type (Fingertips conventions, :mod:`gpscale.stats`):

* proportion: Wilson score interval on pooled events / eligible;
* rate: Poisson on the pooled count (exact below 10, Byar from 10) over the pooled denominator;
* standardised ratio: the same Poisson limits on observed, divided by expected;
* weighted proportion: Wilson on the pooled Kish effective sample size;
* score (QOF): the pooled value is Σ points / Σ maximum, i.e. the maximum-weighted mean of member
  practices' scores; its interval is the Student-t interval of that weighted mean over member practices.

Comparison: the entity's interval against England's value (overlapping-interval rule, England's own
interval being negligible at national size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.evaluate import pooling
from gpscale.stats.compare import compare_interval
from gpscale.stats.intervals import rate_interval, weighted_proportion_interval, wilson_interval
from gpscale.stats.means import grouped_mean_interval

CONFIDENCES = (0.95, 0.998)

RESULT_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "period", "period_type", "value", "lower", "upper",
    "confidence", "method", "numerator", "denominator", "n_practices", "comparator", "comparator_value",
    "comparison", "comparison_method", "membership_view", "definition_version", "data_version",
]


def _enum(v: Any) -> str:
    return str(getattr(v, "value", v))


def intervals(
    pooled: pd.DataFrame,
    value_type: str,
    multiplier: float,
    confidence: float,
    members: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Value, lower and upper (on the indicator's scale) and the method, for pooled rows of one indicator."""
    num = pooled["numerator"].to_numpy(float)
    den = pooled["denominator"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = multiplier * num / den
    pct = f"{confidence * 100:g}%"
    if value_type == "proportion":
        lo, hi = wilson_interval(num, den, confidence)
        return value, lo * multiplier, hi * multiplier, f"Wilson score {pct} CI on pooled counts"
    if value_type in ("rate", "standardised_ratio"):
        lo, hi = rate_interval(num, den, confidence, multiplier)
        what = "observed/expected" if value_type == "standardised_ratio" else "count/denominator"
        return value, lo, hi, f"Poisson {pct} CI (exact below 10 events, Byar from 10) on {what}"
    if value_type == "weighted_proportion":
        n_eff = pooled["effective_n"].to_numpy(float) if "effective_n" in pooled else den
        lo, hi = weighted_proportion_interval(num / den, n_eff, confidence)
        return value, lo * multiplier, hi * multiplier, f"Wilson {pct} CI on Kish effective sample size"
    if value_type == "score":
        if members is None or "entity_id" not in pooled:
            return value, np.full_like(value, np.nan), np.full_like(value, np.nan), "pooled score"
        keys = members["entity_id"].astype(str) + "|" + members["period"].astype(str)
        score = members["numerator"].to_numpy(float) / members["denominator"].to_numpy(float)
        res = grouped_mean_interval(score, keys.to_numpy(), members["denominator"].to_numpy(float),
                                    confidence=confidence)
        lookup_lo = dict(zip(res.groups, res.lower, strict=True))
        lookup_hi = dict(zip(res.groups, res.upper, strict=True))
        k = (pooled["entity_id"].astype(str) + "|" + pooled["period"].astype(str)).to_numpy()
        # a score cannot leave [0, maximum]: the t interval is truncated there
        lo = np.clip(np.array([lookup_lo.get(x, np.nan) for x in k]), 0, 1) * multiplier
        hi = np.clip(np.array([lookup_hi.get(x, np.nan) for x in k]), 0, 1) * multiplier
        return value, lo, hi, f"Student-t {pct} CI of the maximum-weighted mean of member practice scores, truncated to [0, max]"
    raise ValueError(f"unknown value type {value_type!r}")


def scorecard(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    confidences: Iterable[float] = CONFIDENCES,
) -> pd.DataFrame:
    """Group and England rows for every indicator and period, compared with England."""
    eng = pooling.england(practice_values)
    grp = pooling.groups(practice_values, members)
    member_rows = pooling.member_rows(practice_values, members).rename(columns={"group_id": "entity_id"})
    versions = practice_values.groupby("indicator_id")["definition_version"].first().to_dict()
    out = []
    for ind_id, d in definitions.items():
        vt, pol, mult = _enum(d.value_type), _enum(d.polarity), float(d.multiplier)
        e = eng[eng["indicator_id"] == ind_id]
        g = grp[grp["indicator_id"] == ind_id]
        if e.empty:
            continue
        e_value = dict(zip(e["period"], mult * e["numerator"] / e["denominator"], strict=True))
        mrows = member_rows[member_rows["indicator_id"] == ind_id]
        for conf in confidences:
            for etype, rows in (("england", e), ("group", g)):
                if rows.empty:
                    continue
                value, lo, hi, method = intervals(rows, vt, mult, conf, mrows if etype == "group" else None)
                bench = rows["period"].map(e_value).to_numpy(float)
                cmp = compare_interval(lo, hi, bench, polarity=pol, confidence=conf, interval_name=method)
                labels = np.where(etype == "england", "comparator", cmp.labels)
                out.append(pd.DataFrame({
                    "entity_type": etype,
                    "entity_id": rows["entity_id"].to_numpy(),
                    "indicator_id": ind_id,
                    "period": rows["period"].to_numpy(),
                    "period_type": rows["period_type"].to_numpy(),
                    "value": value, "lower": lo, "upper": hi, "confidence": conf, "method": method,
                    "numerator": rows["numerator"].to_numpy(), "denominator": rows["denominator"].to_numpy(),
                    "n_practices": rows["n_practices"].to_numpy(),
                    "comparator": pooling.ENGLAND_NAME, "comparator_value": bench,
                    "comparison": labels,
                    "comparison_method": "interval vs England value" if etype == "group" else "",
                    "membership_view": view_label if etype == "group" else "all practices",
                    "definition_version": versions.get(ind_id, ""),
                    "data_version": data_version,
                }))
    if not out:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.concat(out, ignore_index=True)[RESULT_COLUMNS]


def counts_by_group(card: pd.DataFrame, period: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Per group, in the latest period of each indicator (or ``period``): indicators better and worse."""
    g = card[(card["entity_type"] == "group") & (card["confidence"] == confidence)]
    if period is None:
        latest = g.groupby("indicator_id")["period"].transform("max")
        g = g[g["period"] == latest]
    else:
        g = g[g["period"] == period]
    tab = pd.crosstab(g["entity_id"], g["comparison"])
    for col in ("better", "similar", "worse", "not compared", "higher", "lower"):
        if col not in tab:
            tab[col] = 0
    return tab.reset_index()
