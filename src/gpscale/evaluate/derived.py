"""Tables computed from *disclosed* tables, after the gate: nothing in them can rest on a hidden cell.

* :func:`summary`: per group, the indicators better, similar or worse than England in the latest year
  (and after false-discovery-rate control), counted over published scorecard rows only, by both
  comparisons (the evaluative one in the plain columns, the descriptive one in ``descriptive_`` columns:
  :mod:`gpscale.domain.comparisons`); ``hidden`` counts the indicators whose row the gate hid,
  ``practices`` the most members contributing; ``placebo_expected`` how many of the indicators compared
  a random group of practices would be flagged on, by chance, from the calibration table.
* :func:`indicator_summary`: per indicator and confidence, England's latest-year value and how many
  groups are better, similar, worse (...) or hidden, by both comparisons, with the rates at which the
  calibration harness flagged random groups by each (``placebo_flagged_rate`` ...).
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

from gpscale.domain.comparisons import DEFAULT_COMPARISON, OTHER_COMPARISON, prefix, reading
from gpscale.evaluate.common import PROVENANCE, enum_value
from gpscale.evaluate.scorecard import SUMMARY_LABELS, comparison_counts
from gpscale.stats.spc import xmr_chart

SPC_MONTHS = 36
_PRE = prefix(OTHER_COMPARISON)
_LABELS = [*SUMMARY_LABELS, *[f"{c}_fdr" for c in SUMMARY_LABELS]]
SUMMARY_COLUMNS = ["group_id", "practices", "n_indicators", *_LABELS, "hidden", "confidence", "comparison_type",
                   "fdr_family", "placebo_expected", *[f"{_PRE}{c}" for c in _LABELS], f"{_PRE}fdr_family",
                   f"{_PRE}placebo_expected", "periods", "membership_view", "data_version"]
_COUNTS = [f"n_{c.replace(' ', '_')}" for c in SUMMARY_LABELS]
_RATES = ["placebo_flagged_rate", "placebo_higher_rate", "placebo_lower_rate"]
INDICATOR_SUMMARY_COLUMNS = ["indicator_id", "period", "confidence", "england_value", "lower", "upper",
                             "n_practices", "comparison_type", "method", *_COUNTS, "n_hidden", "n_groups", *_RATES,
                             "placebo_groups", f"{_PRE}lower", f"{_PRE}upper", f"{_PRE}method",
                             *[f"{_PRE}{c}" for c in _COUNTS], *[f"{_PRE}{c}" for c in _RATES]]
DISTRIBUTION_COLUMNS = ["indicator_id", "period", "confidence", "n_groups", "minimum", "q1", "median", "q3",
                        "maximum", "method"]
SPC_COLUMNS = ["entity_type", "entity_id", "indicator_id", "period", "value", "mean", "lower_limit", "upper_limit",
               "variation", "rules", "method", *PROVENANCE]
#: The calibration rows the summaries quote: the scorecard's comparisons, every financial year pooled.
PLACEBO_ANALYSIS = "scorecard"


def placebo_rates(calibration: pd.DataFrame | None, comparison: str, confidence: float) -> pd.DataFrame:
    """Per indicator: how often the calibration harness flagged random groups by ``comparison`` (financial
    years pooled), as ``placebo_flagged_rate``, ``placebo_higher_rate``, ``placebo_lower_rate`` and
    ``placebo_groups``; empty when the evaluation ran no calibration."""
    cols = [*_RATES, "placebo_groups"]
    if calibration is None or calibration.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="indicator_id"))
    c = calibration[(calibration["analysis"] == PLACEBO_ANALYSIS) & (calibration["comparison_type"] == comparison)
                    & (calibration["period"] == "all") & (calibration["period_type"] == "fy")
                    & np.isclose(calibration["confidence"].astype(float), confidence)]
    out = c.set_index("indicator_id")[["flagged_rate", "higher_rate", "lower_rate", "placebo_groups"]]
    return out.rename(columns={"flagged_rate": _RATES[0], "higher_rate": _RATES[1], "lower_rate": _RATES[2]})


def _latest_fy(card: pd.DataFrame, conf: float) -> pd.DataFrame:
    g = card[(card["entity_type"] == "group") & (card["confidence"] == conf) & (card["period_type"] == "fy")]
    return g[g["period"] == g.groupby("indicator_id")["period"].transform("max")]


def _expected(rows: pd.DataFrame, rates: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Per group: the sum, over its indicators compared, of the rate at which random groups are flagged."""
    compared = rows[~rows["suppressed"].astype(bool) & (rows["comparison"] != "not compared")]
    rate = compared["indicator_id"].map(rates["placebo_flagged_rate"]) if not rates.empty else None
    if rate is None or rate.isna().all():
        return np.full(len(ids), np.nan)
    return rate.groupby(compared["entity_id"]).sum(min_count=1).reindex(ids).to_numpy(float)


def summary(card: pd.DataFrame, confidences: tuple[float, ...],
            calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per group and confidence: comparisons in the latest year of each indicator, published rows only."""
    parts = []
    shown_card = card[~card["suppressed"].astype(bool)]
    for conf in confidences:
        g = _latest_fy(card, conf)
        if g.empty:
            continue
        hidden = g[g["suppressed"].astype(bool)].groupby("entity_id")["indicator_id"].nunique()
        shown = comparison_counts(shown_card, confidence=conf)
        ids = pd.Index(sorted(set(g["entity_id"].astype(str))), name="group_id")
        frame = shown.set_index("group_id").reindex(ids)
        for col in [*_LABELS, *[f"{_PRE}{c}" for c in _LABELS], "n_indicators"]:
            frame[col] = frame[col].fillna(0).astype(int)
        frame["hidden"] = hidden.reindex(ids).fillna(0).astype(int).to_numpy()
        frame["practices"] = g.groupby("entity_id")["n_practices"].max().reindex(ids).to_numpy()
        frame["confidence"] = conf
        frame["comparison_type"] = DEFAULT_COMPARISON.value
        for kind in (DEFAULT_COMPARISON, OTHER_COMPARISON):
            frame[f"{prefix(kind)}placebo_expected"] = _expected(reading(g, kind), placebo_rates(
                calibration, kind.value, conf), ids)
        for col in ("fdr_family", f"{_PRE}fdr_family", "periods", "membership_view", "data_version"):
            frame[col] = frame[col].fillna(shown[col].iloc[0] if len(shown) else "")
        parts.append(frame.reset_index())
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLUMNS]


def indicator_summary(card: pd.DataFrame, calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """England's latest financial-year value per indicator and confidence, the groups' comparison counts by
    both comparisons, and the placebo rates of each comparison (from the calibration table)."""
    fy = card[card["period_type"] == "fy"]
    eng = fy[fy["entity_type"] == "england"]
    if eng.empty:
        return pd.DataFrame(columns=INDICATOR_SUMMARY_COLUMNS)
    latest = eng.groupby("indicator_id")["period"].transform("max")
    eng = eng[eng["period"] == latest]
    groups = fy[fy["entity_type"] == "group"].merge(eng[["indicator_id", "period", "confidence"]],
                                                  on=["indicator_id", "period", "confidence"])
    out = eng.rename(columns={"value": "england_value"})[
        ["indicator_id", "period", "confidence", "england_value", "lower", "upper", "n_practices", "comparison_type",
         "method", f"{_PRE}lower", f"{_PRE}upper", f"{_PRE}method"]]
    for kind in (DEFAULT_COMPARISON, OTHER_COMPARISON):
        pre = prefix(kind)
        read = reading(groups, kind)
        label = read["comparison"].astype(object).where(~read["suppressed"].astype(bool), "hidden")
        counts = pd.crosstab([read["indicator_id"], read["confidence"]], label)
        counts.columns = [f"{pre}n_{str(c).replace(' ', '_')}" for c in counts.columns]
        out = out.merge(counts.reset_index(), on=["indicator_id", "confidence"], how="left")
        for c in [*SUMMARY_LABELS, "hidden"]:
            n = f"{pre}n_{c.replace(' ', '_')}"
            out[n] = out[n].fillna(0).astype(int) if n in out else 0
        rates = pd.concat([placebo_rates(calibration, kind.value, float(c)).assign(confidence=float(c))
                           for c in out["confidence"].unique()]) if len(out) else pd.DataFrame()
        rates = rates.reset_index().rename(columns={r: f"{pre}{r}" for r in [*_RATES, "placebo_groups"]})
        keep = [f"{pre}{r}" for r in _RATES] + (["placebo_groups"] if not pre else [])
        out = out.merge(rates[["indicator_id", "confidence", *keep]] if len(rates) else
                        pd.DataFrame(columns=["indicator_id", "confidence", *keep]), on=["indicator_id", "confidence"],
                        how="left")
    out["n_groups"] = out[[f"n_{c.replace(' ', '_')}" for c in [*SUMMARY_LABELS, "hidden"]]].sum(axis=1)
    out["placebo_groups"] = out["placebo_groups"].astype("Int64")
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
    """XmR charts of each group's and England's latest monthly values (95% scorecard rows, published only).

    Rows are sorted by entity, indicator and period once; each series is then a run of rows, trimmed to its
    last ``months`` and to the months after its last hidden one by position, and charted from arrays.
    """
    m = card[(card["period_type"] == "month") & (card["confidence"] == 0.95)]
    m = m[m["indicator_id"].isin(list(definitions))].sort_values(["entity_id", "indicator_id", "period"])
    m = m[m["entity_id"].notna()]  # as grouping on the entity would drop them
    entity, ind = m["entity_id"].to_numpy(object), m["indicator_id"].to_numpy(object)
    value = m["value"].to_numpy(float, na_value=np.nan)
    starts = np.flatnonzero(np.r_[True, (entity[1:] != entity[:-1]) | (ind[1:] != ind[:-1])])
    keep: list[np.ndarray] = []
    charts: dict[str, list[Any]] = {k: [] for k in ("mean", "lower", "upper", "variation", "rules", "method")}
    for a, b in zip(starts, np.r_[starts[1:], len(m)], strict=True):
        a = max(a, b - months)
        gaps = np.flatnonzero(np.isnan(value[a:b]))
        if gaps.size:
            a += gaps[-1] + 1
        if b - a < 2:
            continue
        x = xmr_chart(value[a:b], polarity=enum_value(definitions[ind[a]].polarity))
        keep.append(np.arange(a, b))
        charts["mean"].append(x.mean)
        charts["lower"].append(x.lower)
        charts["upper"].append(x.upper)
        charts["variation"].extend(x.variation)
        charts["rules"].extend(x.rules)
        charts["method"].append(np.repeat("Making Data Count XmR chart, moving ranges screened at 3.267 x the mean"
                                          + (f"; {' '.join(x.warnings)}" if x.warnings else ""), b - a))
    if not keep:
        return pd.DataFrame(columns=SPC_COLUMNS)
    rows = np.concatenate(keep)

    def text(col: str) -> np.ndarray:
        return m[col].astype(str).to_numpy()[rows]

    return pd.DataFrame({
        "entity_type": text("entity_type"), "entity_id": entity[rows], "indicator_id": ind[rows],
        "period": text("period"), "value": value[rows], "mean": np.concatenate(charts["mean"]),
        "lower_limit": np.concatenate(charts["lower"]), "upper_limit": np.concatenate(charts["upper"]),
        "variation": charts["variation"], "rules": charts["rules"], "method": np.concatenate(charts["method"]),
        "membership_view": text("membership_view"), "definition_version": text("definition_version"),
        "data_version": text("data_version"),
    })[SPC_COLUMNS]
