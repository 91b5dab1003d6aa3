"""Scorecard: every entity × indicator × period against England, at 95% and 99.8%, by both comparisons.

Each row states the value, the confidence level, England's value, the membership view, the definition and
data versions and **two named comparisons** (:class:`gpscale.domain.vocabulary.ComparisonType`; layout in
:mod:`gpscale.domain.comparisons` and docs/bundle.md):

* the **evaluative** comparison, in the plain columns (``lower``, ``upper``, ``method``, ``comparison``,
  ``comparison_method``, ``p_value``, ``q_value``, ``comparison_fdr``, ``fdr_family``; ``comparison_type``
  says "evaluative"): where the group falls among random groups of England's practices of its size
  (:mod:`gpscale.evaluate.evaluative`). This is the default reading of every output, because random groups
  of practices are flagged by it at about the nominal rate (docs/methods/placebo-calibration.md);
* the **descriptive** comparison, in the same columns prefixed ``descriptive_``: the group's patient-level
  interval against England's value (what Fingertips publishes), by value type (:mod:`gpscale.stats`):

  * proportion: Wilson score interval on pooled events / eligible;
  * rate: Poisson on the pooled count (exact below 10, Byar from 10) over the pooled denominator;
  * standardised ratio: the same Poisson limits on observed, divided by expected;
  * weighted proportion: Wilson on the pooled Kish effective sample size;
  * score (QOF): none. Points are counted for every practice, not sampled from patients, so a score has
    no descriptive comparison ("not compared"). (Until issue 14 QOF scores had a Student-t interval on
    member scores; the scores are so left-skewed that it called 18-25% of random groups of six practices
    "better" and none "worse": see docs/methods/placebo-calibration.md.)

  The comparison is the overlapping-interval rule (England's own interval is negligible at national size).

England's own row is placed as a group of all its practices (its evaluative interval is the patient-level
sampling alone; zero width for a score) and its descriptive interval is its patient-level interval.

Multiplicity, per comparison: every group row has the two-sided p-value of the test each interval inverts
(:mod:`gpscale.evaluate.pvalues`; the tail probability among random groups for the evaluative one), so
``p < 1 - confidence`` exactly when the label is not "similar", and a Benjamini-Hochberg q-value over the
family of all group comparisons of the same type in the same period (every group and indicator of that
financial year or month). ``comparison_fdr`` is the label kept when the false discovery rate is controlled
at ``1 - confidence`` (5% for the 95% rows, 0.2% for the 99.8% rows); otherwise "similar".
:func:`counts_by_group` summarises each group's latest period per indicator, by one comparison, with and
without that control (there the family is every group-indicator pair summarised).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.comparisons import DEFAULT_COMPARISON, prefix, reading
from gpscale.domain.vocabulary import COMPARISON_OUTCOMES, ComparisonLabel, ComparisonType, Polarity, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.comparator import COMPARATOR_RULE, Assignment, comparator_placements, on_rows, reference_values
from gpscale.evaluate.evaluative import (
    EVALUATIVE_RULE,
    EnglandReferences,
    Placement,
    method_text,
    placements_for_pooled,
)
from gpscale.evaluate.pvalues import comparison_p_values
from gpscale.stats import STANDARD_LEVELS
from gpscale.stats.compare import Comparison, compare_interval, direction_labels
from gpscale.stats.intervals import rate_interval, weighted_proportion_interval, wilson_interval
from gpscale.stats.multiplicity import benjamini_hochberg

CONFIDENCES = STANDARD_LEVELS

#: The columns that differ between the two comparisons (plain: evaluative; ``descriptive_``: descriptive).
COMPARISON_COLUMNS = ["lower", "upper", "method", "comparison", "comparison_method", "p_value", "q_value",
                      "comparison_fdr", "fdr_family", "placebo_flagged_rate"]
DESCRIPTIVE_COLUMNS = [f"{prefix(ComparisonType.DESCRIPTIVE)}{c}" for c in COMPARISON_COLUMNS]

RESULT_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "period", "period_type", "value", "lower", "upper",
    "confidence", "method", "numerator", "denominator", "n_practices", "comparator", "comparator_value",
    "comparison_type", "comparison", "comparison_method", "p_value", "q_value", "comparison_fdr", "fdr_family",
    "placebo_flagged_rate", *DESCRIPTIVE_COLUMNS,
    "membership_view", "definition_version", "data_version",
]
#: The rule named in ``descriptive_comparison_method``.
DESCRIPTIVE_RULE = "patient-level interval vs England value"
#: The method named where a score has no descriptive comparison.
NO_DESCRIPTIVE = "QOF points are counted for every practice, not sampled: no descriptive (patient-level) comparison"

def intervals(
    pooled: pd.DataFrame,
    value_type: ValueType,
    multiplier: float,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Value, lower and upper (on the indicator's scale) and the method, for pooled rows of one indicator.

    Patient-level (descriptive) intervals; a score has none and gets its point value as both limits.
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
        # (the scorecard gives scores no descriptive comparison; other callers, such as schemes, report the point)
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
    references: EnglandReferences | None = None,
    comparator: Assignment | None = None,
) -> pd.DataFrame:
    """Group and England rows for every indicator and period, compared with England both ways.

    ``comparator`` (issue 15: :func:`gpscale.evaluate.comparator.assign`, England when not given) compares
    each group with its region, ICB or peer groups instead: the descriptive comparison with the
    comparator's value, the evaluative one among random groups of the comparator's practices
    (:func:`gpscale.evaluate.comparator.comparator_placements`); every row names its comparator.

    ``pooled`` (from :func:`pooling.pooled_table`) may be passed to avoid pooling twice; ``references``
    (England's evaluative references, :class:`EnglandReferences` over the same practice values) to share
    them with other sets of groups (the placebo groups of :mod:`gpscale.evaluate.calibration`).
    """
    from gpscale.evaluate.common import definition_versions

    confidences = tuple(confidences)
    if pooled is None:
        pooled = pooling.pooled_table(practice_values, members, pooling.score_indicators(definitions))
    refs = references if references is not None else EnglandReferences(practice_values)
    index = refs.members(members)
    versions = definition_versions(practice_values, definitions)
    cmp_values = None
    if comparator is not None and not comparator.comparator.is_england:
        cmp_values = reference_values(practice_values, members, comparator, definitions)
    out = []
    for ind_id, d in definitions.items():
        vt, pol, mult = ValueType(d.value_type), Polarity(d.polarity), float(d.multiplier)
        rows_i = pooled[pooled["indicator_id"] == ind_id]
        e = rows_i[rows_i["entity_type"] == "england"]
        if e.empty:
            continue
        e_value = dict(zip(e["period"], mult * e["numerator"] / e["denominator"], strict=True))
        placed = placements_for_pooled(rows_i, refs, index, ind_id, vt, confidences)
        group = (rows_i["entity_type"] == "group").to_numpy()
        bench = rows_i["period"].map(e_value).to_numpy(float)
        names: np.ndarray | str = pooling.ENGLAND_NAME
        rule: np.ndarray | str = EVALUATIVE_RULE
        if comparator is not None and cmp_values is not None:
            ids, per = rows_i["entity_id"].astype(str).to_numpy(), rows_i["period"].astype(str).to_numpy()
            cv = cmp_values[cmp_values["indicator_id"] == ind_id].set_index(["group_id", "period"])
            keys = pd.MultiIndex.from_arrays([ids, per])
            bench = np.where(group, cv["comparator_value"].reindex(keys).to_numpy(float), bench)
            lab = comparator.labels.astype(str).set_index(["group_id", "period"])["comparator"].reindex(keys)
            names = np.where(group, lab.fillna(f"no {comparator.comparator} comparator").to_numpy(object),
                             pooling.ENGLAND_NAME)
            rule = np.where(group, COMPARATOR_RULE, EVALUATIVE_RULE)
            sums_c, placed_c = comparator_placements(refs.arrays, index, members, comparator, ind_id, vt, confidences)
            mine = on_rows(placed_c, sums_c, ids, per, group)
            placed = {c: _keep_england(placed[c], mine[c], group) for c in confidences}
        p_desc = (comparison_p_values(rows_i, vt, bench, mult) if vt is not ValueType.SCORE
                  else np.full(len(rows_i), np.nan))
        for conf in confidences:
            frame = _rows(rows_i, placed[conf], vt, pol, mult, conf, bench, np.where(group, p_desc, np.nan), group,
                          names, rule)
            out.append(frame.assign(indicator_id=ind_id, membership_view=np.where(group, view_label, "all practices"),
                                    definition_version=versions.get(ind_id, ""), data_version=data_version))
    if not out:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    card = pd.concat(out, ignore_index=True)
    card = add_fdr(card)
    # how often random groups are flagged by each comparison: filled in from the calibration table by
    # :func:`gpscale.evaluate.calibration.with_placebo_rates` when the evaluation runs the harness
    card = card.assign(**{f"{prefix(k)}placebo_flagged_rate": np.nan for k in ComparisonType})
    return add_fdr(card, prefix(ComparisonType.DESCRIPTIVE))[RESULT_COLUMNS]


def _keep_england(england: Placement, groups: Placement, group: np.ndarray) -> Placement:
    """England's row placed as before, the group rows by their comparator (issue 15)."""
    return Placement(**{f.name: np.where(group, getattr(groups, f.name), getattr(england, f.name))
                        for f in fields(Placement)})


def _rows(rows: pd.DataFrame, pl: Placement, vt: ValueType, pol: Polarity, mult: float, conf: float,
          bench: np.ndarray, p_desc: np.ndarray, group: np.ndarray, names: np.ndarray | str = pooling.ENGLAND_NAME,
          rule: np.ndarray | str = EVALUATIVE_RULE) -> pd.DataFrame:
    """One confidence level of one indicator's pooled rows: both comparisons, labelled (before FDR)."""
    d_pre = prefix(ComparisonType.DESCRIPTIVE)
    value = pl.value * mult
    if vt is ValueType.SCORE:
        d_lo = d_hi = np.full(len(rows), np.nan)
        d_method, d_direction, d_compared = NO_DESCRIPTIVE, np.zeros(len(rows), np.int8), np.zeros(len(rows), bool)
    else:
        _v, d_lo, d_hi, d_method, cmp = compare_with_england(rows, vt, mult, pol, conf, bench)
        d_direction, d_compared = cmp.direction, cmp.compared
    comparator = str(ComparisonLabel.COMPARATOR)
    return pd.DataFrame({
        "entity_type": rows["entity_type"].to_numpy(), "entity_id": rows["entity_id"].to_numpy(),
        "period": rows["period"].to_numpy(), "period_type": rows["period_type"].to_numpy(),
        "value": value, "lower": pl.lower * mult, "upper": pl.upper * mult, "confidence": conf,
        "method": method_text(conf),
        "numerator": rows["numerator"].to_numpy(), "denominator": rows["denominator"].to_numpy(),
        "n_practices": rows["n_practices"].to_numpy(),
        "comparator": names, "comparator_value": bench,
        "comparison_type": str(DEFAULT_COMPARISON),
        "comparison": np.where(group, direction_labels(pl.direction, pl.compared, pol), comparator),
        "comparison_method": np.where(group, rule, ""),
        "p_value": np.where(group, pl.p_value, np.nan), "_direction": pl.direction,
        f"{d_pre}lower": d_lo, f"{d_pre}upper": d_hi, f"{d_pre}method": d_method,
        f"{d_pre}comparison": np.where(group, direction_labels(d_direction, d_compared, pol), comparator),
        f"{d_pre}comparison_method": np.where(group, DESCRIPTIVE_RULE if vt is not ValueType.SCORE else "", ""),
        f"{d_pre}p_value": p_desc, f"_{d_pre}direction": d_direction,
        "_polarity": str(pol),
    })


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


def add_fdr(card: pd.DataFrame, pre: str = "") -> pd.DataFrame:
    """q-values over all group comparisons of one type in the same period, and the labels surviving FDR control.

    ``pre`` selects the comparison (:func:`gpscale.domain.comparisons.prefix`): its ``{pre}p_value``,
    ``{pre}comparison`` and ``_{pre}direction`` columns give ``{pre}q_value``, ``{pre}comparison_fdr`` and
    ``{pre}fdr_family``; the helper columns are dropped once no comparison needs them.
    """
    n = len(card)
    q_all = np.full(n, np.nan)
    labels_all = np.where(card["entity_type"].to_numpy() == "group", card[f"{pre}comparison"].to_numpy(),
                          str(ComparisonLabel.COMPARATOR))
    labels_all = labels_all.astype(object)
    family_all = np.full(n, "", dtype=object)
    grp = np.flatnonzero(card["entity_type"].to_numpy() == "group")
    if grp.size:
        sub = card[["period", "confidence", f"{pre}p_value", f"{pre}comparison", f"_{pre}direction",
                    "_polarity"]].iloc[grp]
        p = sub[f"{pre}p_value"].to_numpy(float)
        conf = sub["confidence"].to_numpy(float)
        # families keyed by integer (period, confidence) pairs, numbered as they first appear
        per_codes, periods = pd.factorize(sub["period"].astype(str).to_numpy())
        conf_codes, levels = pd.factorize(conf)
        fam, pairs = pd.factorize(per_codes.astype(np.int64) * len(levels) + conf_codes)
        fam_period, fam_conf = np.asarray(periods)[pairs // len(levels)], np.asarray(levels)[pairs % len(levels)]
        rejected = np.zeros(grp.size, dtype=bool)
        q = np.full(grp.size, np.nan)
        for k, c in enumerate(levels):
            m = conf_codes == k
            r, qq = grouped_bh(p[m], fam[m], 1.0 - float(c))
            rejected[m], q[m] = r, qq
        compared = np.isfinite(p) & (sub[f"{pre}comparison"].to_numpy() != ComparisonLabel.NOT_COMPARED)
        direction = np.where(rejected, sub[f"_{pre}direction"].to_numpy(), 0)
        labels = np.empty(grp.size, dtype=object)
        pol, polarities = pd.factorize(sub["_polarity"].to_numpy())
        for k, value in enumerate(polarities):
            m = pol == k
            labels[m] = direction_labels(direction[m], compared[m], str(value))
        sizes = np.bincount(fam, weights=np.isfinite(p).astype(float), minlength=len(pairs))
        kind = f"{pre.rstrip('_') or DEFAULT_COMPARISON.value} "
        text = np.array([f"Benjamini-Hochberg over {int(k)} {kind}group comparisons in {per}, FDR {1 - float(c):g}"
                         for k, per, c in zip(sizes, fam_period, fam_conf, strict=True)], dtype=object)
        q_all[grp], labels_all[grp], family_all[grp] = q, labels, text[fam]
    card[f"{pre}q_value"] = q_all
    card[f"{pre}comparison_fdr"] = labels_all
    card[f"{pre}fdr_family"] = family_all
    card = card.drop(columns=[f"_{pre}direction"])
    if not any(c.endswith("direction") and c.startswith("_") for c in card.columns):
        card = card.drop(columns=["_polarity"])
    return card


SUMMARY_LABELS = tuple(str(label) for label in COMPARISON_OUTCOMES)
#: The scorecard columns :func:`counts_by_group` reads (a comparison's own, prefixed or not).
_COUNTED = {"entity_type", "entity_id", "indicator_id", "period", "period_type", "confidence", "comparison", "p_value",
            "membership_view", "data_version"}


def counts_by_group(card: pd.DataFrame, period: str | None = None, confidence: float = 0.95,
                    comparison: ComparisonType | str = DEFAULT_COMPARISON) -> pd.DataFrame:
    """Per group, in the latest period of each indicator (or ``period``): indicators better and worse.

    Counted by one ``comparison`` (:func:`gpscale.domain.comparisons.reading`; the default is the
    evaluative one). Financial-year rows are summarised (monthly indicators by their financial-year
    roll-up). Columns ``better`` ... ``not compared`` count the labels; ``better_fdr`` ... count the labels
    that survive Benjamini-Hochberg control of the false discovery rate at ``1 - confidence`` over the
    family of every group-indicator comparison summarised (all groups), with the family size in
    ``fdr_family``; ``comparison_type`` names the comparison counted.
    """
    # the group rows at this level and the columns counted, selected before the comparison's columns are read
    # (issue 17: reading the whole card gathered every column of every row)
    rows = ((card["entity_type"] == "group") & (card["confidence"] == confidence)).to_numpy()
    pre = prefix(comparison)
    g = reading(card.loc[rows, [c for c in card.columns if c.removeprefix(pre) in _COUNTED]], comparison)
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
    out["comparison_type"] = ComparisonType(comparison).value
    out["fdr_family"] = (f"Benjamini-Hochberg at FDR {1 - confidence:g} over {family} {ComparisonType(comparison)} "
                         "group-indicator comparisons")
    out["periods"] = "latest financial year of each indicator" if period is None else period
    for col in ("membership_view", "data_version"):
        out[col] = g[col].iloc[0] if len(g) else ""
    return out


def comparison_counts(card: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`counts_by_group` by both comparisons, in the layout of :mod:`gpscale.domain.comparisons`.

    The default (evaluative) counts in the plain columns, the descriptive ones in ``descriptive_`` columns.
    """
    main = counts_by_group(card, confidence=confidence)
    other = counts_by_group(card, confidence=confidence, comparison=ComparisonType.DESCRIPTIVE)
    pre = prefix(ComparisonType.DESCRIPTIVE)
    labels = [*SUMMARY_LABELS, *[f"{c}_fdr" for c in SUMMARY_LABELS], "fdr_family"]
    other = other[["group_id", *labels]].rename(columns={c: f"{pre}{c}" for c in labels})
    return main.merge(other, on="group_id", how="left")
