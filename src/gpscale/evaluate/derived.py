"""Tables computed from *disclosed* tables, after the gate: nothing in them can rest on a hidden cell.

* :func:`summary`: per group, the indicators better, similar or worse than England in the latest year
  (and after false-discovery-rate control), counted over published scorecard rows only; ``hidden``
  counts the indicators whose row the gate hid, ``practices`` the most members contributing.
* :func:`indicator_summary`: per indicator and confidence, England's latest-year value and how many
  groups are better, similar, worse (...) or hidden.
* :func:`group_distribution`: the spread of published group values (minimum, quartiles, maximum) per
  indicator, year and confidence level, drawn behind each group in spine charts.
* :func:`spc`: Making Data Count XmR charts (:func:`gpscale.stats.spc.xmr_chart`) of England's and each
  group's latest :data:`SPC_MONTHS` published monthly values; a series with a hidden month is charted
  from the months after it, so no limit rests on a hidden value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.evaluate.common import PROVENANCE, enum_value
from gpscale.evaluate.scorecard import SUMMARY_LABELS, counts_by_group
from gpscale.stats.spc import xmr_chart

SPC_MONTHS = 36
SUMMARY_COLUMNS = ["group_id", "practices", "n_indicators", *SUMMARY_LABELS, *[f"{c}_fdr" for c in SUMMARY_LABELS],
                   "hidden",
                   "confidence", "fdr_family", "periods", "membership_view", "data_version"]
INDICATOR_SUMMARY_COLUMNS = ["indicator_id", "period", "confidence", "england_value", "lower", "upper",
                             "n_practices", "method", *[f"n_{c.replace(' ', '_')}" for c in SUMMARY_LABELS],
                             "n_hidden", "n_groups"]
DISTRIBUTION_COLUMNS = ["indicator_id", "period", "confidence", "n_groups", "minimum", "q1", "median", "q3",
                        "maximum", "method"]
SPC_COLUMNS = ["entity_type", "entity_id", "indicator_id", "period", "value", "mean", "lower_limit", "upper_limit",
               "variation", "rules", "method", *PROVENANCE]


def summary(card: pd.DataFrame, confidences: tuple[float, ...]) -> pd.DataFrame:
    """Per group and confidence: comparisons in the latest year of each indicator, published rows only."""
    parts = []
    for conf in confidences:
        g = card[(card["entity_type"] == "group") & (card["confidence"] == conf) & (card["period_type"] == "fy")]
        if g.empty:
            continue
        latest = g.groupby("indicator_id")["period"].transform("max")
        g = g[g["period"] == latest]
        hidden = g[g["suppressed"].astype(bool)].groupby("entity_id")["indicator_id"].nunique()
        shown = counts_by_group(card[~card["suppressed"].astype(bool)], confidence=conf)
        ids = pd.Index(sorted(set(g["entity_id"].astype(str))), name="group_id")
        frame = shown.set_index("group_id").reindex(ids)
        for col in [*SUMMARY_LABELS, *[f"{c}_fdr" for c in SUMMARY_LABELS], "n_indicators"]:
            frame[col] = frame[col].fillna(0).astype(int)
        frame["hidden"] = hidden.reindex(ids).fillna(0).astype(int).to_numpy()
        frame["practices"] = g.groupby("entity_id")["n_practices"].max().reindex(ids).to_numpy()
        frame["confidence"] = conf
        for col in ("fdr_family", "periods", "membership_view", "data_version"):
            frame[col] = frame[col].fillna(shown[col].iloc[0] if len(shown) else "")
        parts.append(frame.reset_index())
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLUMNS]


def indicator_summary(card: pd.DataFrame) -> pd.DataFrame:
    """England's latest financial-year value per indicator and confidence, and the groups' comparison counts."""
    fy = card[card["period_type"] == "fy"]
    eng = fy[fy["entity_type"] == "england"]
    if eng.empty:
        return pd.DataFrame(columns=INDICATOR_SUMMARY_COLUMNS)
    latest = eng.groupby("indicator_id")["period"].transform("max")
    eng = eng[eng["period"] == latest]
    groups = fy[fy["entity_type"] == "group"].merge(eng[["indicator_id", "period", "confidence"]],
                                                  on=["indicator_id", "period", "confidence"])
    label = groups["comparison"].astype(object).where(~groups["suppressed"].astype(bool), "hidden")
    counts = pd.crosstab([groups["indicator_id"], groups["confidence"]], label)
    counts.columns = [f"n_{str(c).replace(' ', '_')}" for c in counts.columns]
    out = eng.rename(columns={"value": "england_value"})[
        ["indicator_id", "period", "confidence", "england_value", "lower", "upper", "n_practices", "method"]]
    out = out.merge(counts.reset_index(), on=["indicator_id", "confidence"], how="left")
    for c in [*SUMMARY_LABELS, "hidden"]:
        n = f"n_{c.replace(' ', '_')}"
        out[n] = out[n].fillna(0).astype(int) if n in out else 0
    out["n_groups"] = out[[f"n_{c.replace(' ', '_')}" for c in [*SUMMARY_LABELS, "hidden"]]].sum(axis=1)
    return out[INDICATOR_SUMMARY_COLUMNS].sort_values(["indicator_id", "confidence"]).reset_index(drop=True)


def group_distribution(card: pd.DataFrame) -> pd.DataFrame:
    """Minimum, quartiles and maximum of published group values per indicator, financial year and confidence."""
    g = card[(card["entity_type"] == "group") & (card["period_type"] == "fy") & card["value"].notna()]
    if g.empty:
        return pd.DataFrame(columns=DISTRIBUTION_COLUMNS)
    q = g.groupby(["indicator_id", "period", "confidence"], observed=True)["value"]
    out = pd.DataFrame({
        "n_groups": q.size(), "minimum": q.min(), "q1": q.quantile(0.25), "median": q.median(),
        "q3": q.quantile(0.75), "maximum": q.max(),
    }).reset_index()
    out["method"] = "published group values (hidden rows excluded); quartiles by linear interpolation"
    return out[DISTRIBUTION_COLUMNS]


def spc(card: pd.DataFrame, definitions: Mapping[str, Any], months: int = SPC_MONTHS) -> pd.DataFrame:
    """XmR charts of each group's and England's latest monthly values (95% scorecard rows, published only)."""
    m = card[(card["period_type"] == "month") & (card["confidence"] == 0.95)]
    m = m[m["indicator_id"].isin(list(definitions))].sort_values(["entity_id", "indicator_id", "period"])
    out = []
    for (entity, ind_id), rows in m.groupby(["entity_id", "indicator_id"], sort=False, observed=True):
        rows = rows.tail(months)
        gaps = np.flatnonzero(rows["value"].isna().to_numpy())
        if gaps.size:
            rows = rows.iloc[gaps[-1] + 1:]
        if len(rows) < 2:
            continue
        x = xmr_chart(rows["value"].to_numpy(float), polarity=enum_value(definitions[ind_id].polarity))
        out.append(pd.DataFrame({
            "entity_type": rows["entity_type"].astype(str).to_numpy(), "entity_id": entity, "indicator_id": ind_id,
            "period": rows["period"].astype(str).to_numpy(), "value": x.values, "mean": x.mean,
            "lower_limit": x.lower, "upper_limit": x.upper, "variation": list(x.variation), "rules": list(x.rules),
            "method": "Making Data Count XmR chart, moving ranges screened at 3.267 x the mean"
                      + (f"; {' '.join(x.warnings)}" if x.warnings else ""),
            "membership_view": rows["membership_view"].astype(str).to_numpy(),
            "definition_version": rows["definition_version"].astype(str).to_numpy(),
            "data_version": rows["data_version"].astype(str).to_numpy(),
        }))
    if not out:
        return pd.DataFrame(columns=SPC_COLUMNS)
    return pd.concat(out, ignore_index=True)[SPC_COLUMNS]
