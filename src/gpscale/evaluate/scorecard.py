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
  practices' scores. Points are not a sample of patients, so a score has no descriptive (patient-level)
  comparison: its rows carry the evaluative one (:mod:`gpscale.evaluate.evaluative`: where the group falls
  among random groups of England's practices of its size, from the exact distribution of the mean of that
  many practice scores) and say so in ``comparison_type``. (Until issue 14 this was a Student-t interval on
  member scores; QOF scores are so left-skewed that it called 18-25% of random groups of six practices
  "better" and none "worse": see docs/methods/placebo-calibration.md.)

Comparison: the entity's interval against England's value (overlapping-interval rule, England's own
interval being negligible at national size). Every row names its comparison (``comparison_type``:
"descriptive" for the patient-level intervals above, "evaluative" for scores).

Multiplicity: every group row also has the two-sided p-value of the test its interval inverts
(:mod:`gpscale.evaluate.pvalues`), so ``p < 1 - confidence`` exactly when the label is not "similar",
and a Benjamini-Hochberg q-value over the family of all group comparisons in the same period (every
group and indicator of that financial year or month). ``comparison_fdr`` is the label kept when the
false discovery rate is controlled at ``1 - confidence`` (5% for the 95% rows, 0.2% for the 99.8% rows);
otherwise "similar". :func:`counts_by_group` summarises each group's latest period per indicator, with
and without that control (there the family is every group-indicator pair summarised).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import COMPARISON_OUTCOMES, ComparisonLabel, Polarity, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.evaluative import EVALUATIVE_RULE, ComparisonType, method_text, placements_for_pooled
from gpscale.evaluate.pvalues import comparison_p_values
from gpscale.stats import STANDARD_LEVELS
from gpscale.stats.compare import Comparison, compare_interval, direction_labels
from gpscale.stats.intervals import rate_interval, weighted_proportion_interval, wilson_interval
from gpscale.stats.multiplicity import benjamini_hochberg

CONFIDENCES = STANDARD_LEVELS

RESULT_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "period", "period_type", "value", "lower", "upper",
    "confidence", "method", "numerator", "denominator", "n_practices", "comparator", "comparator_value",
    "comparison_type", "comparison", "comparison_method", "p_value", "q_value", "comparison_fdr", "fdr_family",
    "membership_view", "definition_version", "data_version",
]

def intervals(
    pooled: pd.DataFrame,
    value_type: ValueType,
    multiplier: float,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Value, lower and upper (on the indicator's scale) and the method, for pooled rows of one indicator.

    Patient-level (descriptive) intervals only: scores have none (see the module notes and
    :func:`gpscale.evaluate.evaluative.placements_for_pooled`).
    """
    vt = ValueType(value_type)
    num = pooled["numerator"].to_numpy(float)
    den = pooled["denominator"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = multiplier * num / den
    pct = f"{confidence * 100:g}%"
    if vt is ValueType.PROPORTION:
        lo, hi = wilson_interval(num, den, confidence)
        return value, lo * multiplier, hi * multiplier, f"Wilson score {pct} CI on pooled counts"
    if vt in (ValueType.RATE, ValueType.STANDARDISED_RATIO):
        lo, hi = rate_interval(num, den, confidence, multiplier)
        what = "observed/expected" if vt is ValueType.STANDARDISED_RATIO else "count/denominator"
        return value, lo, hi, f"Poisson {pct} CI (exact below 10 events, Byar from 10) on {what}"
    if vt is ValueType.WEIGHTED_PROPORTION:
        n_eff = pooled["effective_n"].to_numpy(float) if "effective_n" in pooled else den
        n_eff = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, den)
        with np.errstate(invalid="ignore", divide="ignore"):
            lo, hi = weighted_proportion_interval(num / den, n_eff, confidence)
        return value, lo * multiplier, hi * multiplier, f"Wilson {pct} CI on Kish effective sample size"
    if vt is ValueType.SCORE:
        # QOF points are counted for every practice, not sampled: the pooled score has no sampling interval
        # (how it compares with England is the evaluative comparison's question, not an interval's)
        return value, value.copy(), value.copy(), "QOF points counted, not sampled: no sampling interval"
    raise ValueError(f"unknown value type {value_type!r}")  # pragma: no cover - ValueType() refused it


def compare_with_england(
    rows: pd.DataFrame,
    value_type: ValueType,
    multiplier: float,
    polarity: Polarity,
    confidence: float,
    england_value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, Comparison]:
    """The scorecard's comparison of pooled rows with England's value: (value, lower, upper, method, result).

    The row's interval (:func:`intervals`) against England's value, by the overlapping-interval rule; the
    simulations check the false-flag rate of exactly this path.
    """
    value, lo, hi, method = intervals(rows, value_type, multiplier, confidence)
    cmp = compare_interval(lo, hi, england_value, polarity=polarity, confidence=confidence, interval_name=method)
    return value, lo, hi, method, cmp


def scorecard(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    confidences: Iterable[float] = CONFIDENCES,
    pooled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Group and England rows for every indicator and period, compared with England.

    ``pooled`` (from :func:`pooling.pooled_table`) may be passed to avoid pooling twice.
    """
    from gpscale.evaluate.common import definition_versions

    confidences = tuple(confidences)
    if pooled is None:
        pooled = pooling.pooled_table(practice_values, members, pooling.score_indicators(definitions))
    versions = definition_versions(practice_values, definitions)
    practices = pooling.usable(practice_values)
    out = []
    for ind_id, d in definitions.items():
        vt, pol, mult = ValueType(d.value_type), Polarity(d.polarity), float(d.multiplier)
        rows_i = pooled[pooled["indicator_id"] == ind_id]
        usable_i = practices[practices["indicator_id"] == ind_id] if vt is ValueType.SCORE else practices.iloc[:0]
        e = rows_i[rows_i["entity_type"] == "england"]
        if e.empty:
            continue
        e_value = dict(zip(e["period"], mult * e["numerator"] / e["denominator"], strict=True))
        for etype in ("england", "group"):
            rows = rows_i[rows_i["entity_type"] == etype]
            if rows.empty:
                continue
            bench = rows["period"].map(e_value).to_numpy(float)
            if vt is ValueType.SCORE:
                placed = placements_for_pooled(rows, usable_i, members, vt, confidences)
            else:
                p = comparison_p_values(rows, vt, bench, mult) if etype == "group" else np.full(len(rows), np.nan)
            for conf in confidences:
                if vt is ValueType.SCORE:
                    pl = placed[conf]
                    value, lo, hi, method = pl.value * mult, pl.lower * mult, pl.upper * mult, method_text(conf)
                    p = pl.p_value if etype == "group" else np.full(len(rows), np.nan)
                    direction, compared = pl.direction, pl.compared
                    kind, rule = ComparisonType.EVALUATIVE, EVALUATIVE_RULE
                else:
                    value, lo, hi, method, cmp = compare_with_england(rows, vt, mult, pol, conf, bench)
                    direction, compared = cmp.direction, cmp.compared
                    kind, rule = ComparisonType.DESCRIPTIVE, "interval vs England value"
                labels = np.where(etype == "england", str(ComparisonLabel.COMPARATOR),
                                  direction_labels(direction, compared, pol))
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
                    "comparison_type": str(kind),
                    "comparison": labels,
                    "comparison_method": rule if etype == "group" else "",
                    "p_value": p,
                    "_direction": direction, "_polarity": str(pol),
                    "membership_view": view_label if etype == "group" else "all practices",
                    "definition_version": versions.get(ind_id, ""),
                    "data_version": data_version,
                }))
    if not out:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    card = pd.concat(out, ignore_index=True)
    return add_fdr(card)[RESULT_COLUMNS]


def grouped_bh(p: np.ndarray, family: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg within each family (integer codes): (rejected, q) aligned with ``p``."""
    rejected = np.zeros(p.shape, dtype=bool)
    q = np.full(p.shape, np.nan)
    if p.size == 0:
        return rejected, q
    order = np.argsort(family, kind="stable")
    bounds = np.flatnonzero(np.diff(family[order])) + 1
    for chunk in np.split(order, bounds):
        r, qq = benjamini_hochberg(p[chunk], alpha)
        rejected[chunk], q[chunk] = r, qq
    return rejected, q


def add_fdr(card: pd.DataFrame) -> pd.DataFrame:
    """q-values over all group comparisons in the same period, and the labels that survive FDR control."""
    n = len(card)
    q_all = np.full(n, np.nan)
    labels_all = np.where(card["entity_type"].to_numpy() == "group", card["comparison"].to_numpy(),
                          str(ComparisonLabel.COMPARATOR))
    labels_all = labels_all.astype(object)
    family_all = np.full(n, "", dtype=object)
    grp = np.flatnonzero(card["entity_type"].to_numpy() == "group")
    if grp.size:
        sub = card.iloc[grp]
        fam, uniques = pd.factorize(sub["period"].astype(str) + "|" + sub["confidence"].astype(str))
        p = sub["p_value"].to_numpy(float)
        conf = sub["confidence"].to_numpy(float)
        rejected = np.zeros(grp.size, dtype=bool)
        q = np.full(grp.size, np.nan)
        for c in np.unique(conf):
            m = conf == c
            r, qq = grouped_bh(p[m], fam[m], 1.0 - float(c))
            rejected[m], q[m] = r, qq
        compared = np.isfinite(p) & (sub["comparison"].to_numpy() != ComparisonLabel.NOT_COMPARED)
        direction = np.where(rejected, sub["_direction"].to_numpy(), 0)
        labels = np.empty(grp.size, dtype=object)
        pol = sub["_polarity"].to_numpy()
        for value in np.unique(pol):
            m = pol == value
            labels[m] = direction_labels(direction[m], compared[m], str(value))
        sizes = np.bincount(fam, weights=np.isfinite(p).astype(float), minlength=len(uniques))
        text = np.array([f"Benjamini-Hochberg over {int(k)} group comparisons in {u.split('|')[0]}, "
                         f"FDR {1 - float(u.split('|')[1]):g}" for k, u in zip(sizes, uniques, strict=True)],
                        dtype=object)
        q_all[grp], labels_all[grp], family_all[grp] = q, labels, text[fam]
    card["q_value"] = q_all
    card["comparison_fdr"] = labels_all
    card["fdr_family"] = family_all
    return card.drop(columns=["_direction", "_polarity"])


SUMMARY_LABELS = tuple(str(label) for label in COMPARISON_OUTCOMES)


def counts_by_group(card: pd.DataFrame, period: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Per group, in the latest period of each indicator (or ``period``): indicators better and worse.

    Financial-year rows are summarised (monthly indicators by their financial-year roll-up). Columns
    ``better`` ... ``not compared`` count the interval labels; ``better_fdr`` ... count the labels that
    survive Benjamini-Hochberg control of the false discovery rate at ``1 - confidence`` over the family
    of every group-indicator comparison summarised (all groups), with the family size in ``fdr_family``.
    """
    g = card[(card["entity_type"] == "group") & (card["confidence"] == confidence)]
    if "period_type" in g and (g["period_type"] == "fy").any():
        g = g[g["period_type"] == "fy"]
    if period is None:
        latest = g.groupby("indicator_id")["period"].transform("max")
        g = g[g["period"] == latest]
    else:
        g = g[g["period"] == period]
    g = g.copy()
    if "p_value" in g:
        p = g["p_value"].to_numpy(float)
        rejected, _q = benjamini_hochberg(p, 1.0 - confidence) if len(p) else (np.array([], bool), np.array([]))
        g["_fdr"] = np.where(rejected | ~np.isfinite(p), g["comparison"], str(ComparisonLabel.SIMILAR))
        g.loc[g["comparison"] == ComparisonLabel.NOT_COMPARED, "_fdr"] = str(ComparisonLabel.NOT_COMPARED)
        family = int(np.isfinite(p).sum())
    else:
        g["_fdr"] = g["comparison"]
        family = 0
    tab = pd.crosstab(g["entity_id"], g["comparison"])
    fdr = pd.crosstab(g["entity_id"], g["_fdr"]).add_suffix("_fdr")
    for col in SUMMARY_LABELS:
        if col not in tab:
            tab[col] = 0
        if f"{col}_fdr" not in fdr:
            fdr[f"{col}_fdr"] = 0
    out = tab[list(SUMMARY_LABELS)].join(fdr[[f"{c}_fdr" for c in SUMMARY_LABELS]], how="left").fillna(0)
    out = out.astype(int).reset_index().rename(columns={"entity_id": "group_id"})
    out.insert(1, "n_indicators", g.groupby("entity_id")["indicator_id"].nunique().reindex(out["group_id"]).to_numpy())
    out["confidence"] = confidence
    out["fdr_family"] = f"Benjamini-Hochberg at FDR {1 - confidence:g} over {family} group-indicator comparisons"
    out["periods"] = "latest financial year of each indicator" if period is None else period
    for col in ("membership_view", "data_version"):
        out[col] = g[col].iloc[0] if len(g) else ""
    return out
