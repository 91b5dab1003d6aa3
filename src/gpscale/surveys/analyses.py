"""Analyses common to every survey: shares with intervals, means, Likert distributions, question summaries.

Each function takes the base respondents, a :class:`~gpscale.surveys.cells.Breakdown` and a confidence
level, and returns a tidy, already-suppressed table: one row per published cell (and option or scale
point), with ``n`` (unweighted respondents in the base of that cell), the estimate, its limits, ``n_eff``
(Kish effective sample size), ``method``, ``confidence``, ``suppression_rule``, ``suppressed`` and
``suppression`` (why a row is hidden).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gpscale.disclosure import SuppressionPlan
from gpscale.surveys import cells, estimates
from gpscale.surveys.cells import Breakdown
from gpscale.surveys.codebook import (
    BandDerived,
    Likert,
    MonthsSince,
    MonthsSinceDate,
    MultipleChoice,
    Numeric,
    SingleChoice,
)
from gpscale.surveys.responses import WEIGHT, SurveyData, option_column


@dataclass(frozen=True)
class ResultTable:
    """A published table with what a reader needs to interpret it."""

    name: str
    title: str
    frame: pd.DataFrame
    description: str = ""
    method: str = ""
    confidence: float | None = None
    rule: str = ""
    plans: tuple[SuppressionPlan, ...] = field(default=(), repr=False)

    @property
    def n_hidden(self) -> int:
        """Hidden cells over every plan behind the table (primary and complementary)."""
        return sum(int(p.cells["suppressed"].sum()) for p in self.plans)

    @property
    def audit(self) -> str:
        """Outcome of the subtraction attack on every plan behind the table."""
        if not self.plans:
            return "no breakdown"
        if all(p.audit.ran and p.audit.revealed == 0 for p in self.plans):
            return "passed"
        failed = [p.audit.detail for p in self.plans if not (p.audit.ran and p.audit.revealed == 0)]
        return "; ".join(sorted(set(failed)))


def base_frame(data: SurveyData, mask: pd.Series | np.ndarray, dims: Sequence[str]) -> pd.DataFrame:
    """The respondents selected by ``mask``, with breakdown dimensions prepared (text, ``not_stated``)."""
    m = np.asarray(pd.Series(mask).fillna(False), dtype=bool)
    return cells.prepare(data.frame.loc[m], dims)


def option_sums(df: pd.DataFrame, indicators: Mapping[str, np.ndarray], breakdown: Breakdown) -> pd.DataFrame:
    """Per published cell: ``n``, ``sw``, ``sw2`` and, per option ``i``, ``k{i}`` (count) and ``wy{i}``."""
    w = df[WEIGHT].to_numpy(dtype=float)
    columns: dict[str, np.ndarray] = {"sw": w, "sw2": w * w}
    for i, code in enumerate(indicators):
        y = np.asarray(indicators[code], dtype=float)
        columns[f"k{i}"] = y
        columns[f"wy{i}"] = w * y
    work = pd.DataFrame({**{d: df[d].to_numpy() for d in breakdown.dims}, **columns})
    return cells.cell_sums(work, breakdown, list(columns))


def _share_rows(
    sums: pd.DataFrame,
    codes: Sequence[str],
    breakdown: Breakdown,
    confidence: float,
    option_name: str,
    positions: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Long rows (one per option and cell) from :func:`option_sums`; ``positions`` index the options."""
    idx = list(positions) if positions is not None else list(range(len(codes)))
    m, c = len(codes), len(sums)
    keys = [*breakdown.dims, "level", "n"]
    frame: dict[str, object] = {k: np.tile(sums[k].to_numpy(), m) for k in keys}
    frame[option_name] = np.repeat(np.asarray(list(codes), dtype=object), c)
    sw = np.tile(sums["sw"].to_numpy(dtype=float), m)
    sw2 = np.tile(sums["sw2"].to_numpy(dtype=float), m)
    wy = np.concatenate([sums[f"wy{i}"].to_numpy(dtype=float) for i in idx]) if m else np.zeros(0)
    k = np.concatenate([sums[f"k{i}"].to_numpy(dtype=float) for i in idx]) if m else np.zeros(0)
    share, n_eff, lower, upper = estimates.proportion(sw, sw2, wy, confidence)
    frame["n_selected"] = np.rint(k).astype(np.int64)
    frame["share"] = share
    frame["lower"] = lower
    frame["upper"] = upper
    frame["n_eff"] = n_eff
    out = pd.DataFrame(frame)
    out["n"] = out["n"].astype(np.int64)
    return out


def shares(
    df: pd.DataFrame,
    indicators: Mapping[str, np.ndarray],
    breakdown: Breakdown,
    weighted: bool,
    confidence: float,
    option_name: str = "option",
) -> tuple[pd.DataFrame, SuppressionPlan]:
    """Share of the base selecting each of ``indicators`` (0/1 per respondent), per published cell.

    All options share one base per cell, hence one suppression plan.
    """
    sums = option_sums(df, indicators, breakdown)
    suppression = cells.plan(df, breakdown)
    table = _share_rows(sums, list(indicators), breakdown, confidence, option_name)
    published = cells.publish(
        table,
        suppression,
        ["n_selected", "share", "lower", "upper", "n_eff"],
        estimates.proportion_method(weighted),
        confidence,
    )
    return published, suppression


def means(
    df: pd.DataFrame, y: np.ndarray, breakdown: Breakdown, weighted: bool, confidence: float
) -> tuple[pd.DataFrame, SuppressionPlan]:
    """Weighted mean of ``y`` per published cell with t limits (rows of ``df`` must all have ``y``)."""
    work = cells.weights_and_y(df[[*breakdown.dims, WEIGHT]], y, WEIGHT)
    sums = cells.cell_sums(work, breakdown, list(cells.SUM_COLUMNS))
    suppression = cells.plan(df, breakdown)
    m, n_eff, lower, upper = estimates.mean(
        sums["sw"].to_numpy(),
        sums["sw2"].to_numpy(),
        sums["swy"].to_numpy(),
        sums["swy2"].to_numpy(),
        confidence,
    )
    sums["mean"] = m
    sums["lower"] = lower
    sums["upper"] = upper
    sums["n_eff"] = n_eff
    published = cells.publish(
        sums, suppression, ["mean", "lower", "upper", "n_eff"], estimates.mean_method(weighted), confidence
    )
    return published, suppression


def likert_distribution(
    data: SurveyData, qid: str, breakdown: Breakdown, confidence: float, mask: pd.Series | None = None
) -> tuple[pd.DataFrame, SuppressionPlan]:
    """Share answering each substantive point of Likert question ``qid`` per cell (diverging-bar data).

    The base is respondents giving a substantive answer (not-applicable points such as "don't know" are
    left out). Each row carries ``point``, ``point_label`` and ``side`` (negative, neutral, positive).
    """
    dist, _summary, suppression = _likert(data, qid, breakdown, confidence, mask)
    return dist, suppression


def _likert(
    data: SurveyData, qid: str, breakdown: Breakdown, confidence: float, mask: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, SuppressionPlan]:
    """Distribution over points and summary (share positive, mean score) of one Likert item, one pass."""
    q = data.codebook.question(qid)
    assert isinstance(q, Likert)
    scale = data.codebook.scale_of(q)
    substantive = data.frame[qid].isin([p.code for p in scale.substantive]).fillna(False)
    keep = substantive if mask is None else substantive & mask
    df = base_frame(data, keep, breakdown.dims)
    y = df[qid].to_numpy(dtype=float)
    points = [p.code for p in scale.substantive]
    indicators = {str(c): (y == c).astype(float) for c in points}
    indicators["positive"] = np.isin(y, scale.positive).astype(float)
    sums = option_sums(df, indicators, breakdown)
    suppression = cells.plan(df, breakdown)
    codes = list(indicators)
    dist = _share_rows(sums, codes[:-1], breakdown, confidence, "point")
    dist = cells.publish(
        dist,
        suppression,
        ["n_selected", "share", "lower", "upper", "n_eff"],
        estimates.proportion_method(data.weighted),
        confidence,
    )
    dist["point"] = dist["point"].astype(int)
    sides = {c: "negative" for c in scale.negative} | {c: "positive" for c in scale.positive}
    dist["point_label"] = dist["point"].map(scale.label_of)
    dist["side"] = dist["point"].map(lambda c: sides.get(c, "neutral"))
    dist.insert(0, "question", qid)
    dist.insert(1, "question_text", q.label)

    # summary: share positive, and the mean score from the weighted point counts
    summary = _share_rows(sums, ["positive"], breakdown, confidence, "option", [len(points)])
    summary = summary.drop(columns="option")
    summary = summary.rename(
        columns={"n_selected": "n_positive", "share": "share_positive", "lower": "share_lower", "upper": "share_upper"}
    )
    swy = sum(c * sums[f"wy{i}"].to_numpy() for i, c in enumerate(points))
    swy2 = sum(c * c * sums[f"wy{i}"].to_numpy() for i, c in enumerate(points))
    m, _n_eff, lo, hi = estimates.mean(
        sums["sw"].to_numpy(), sums["sw2"].to_numpy(), np.asarray(swy), np.asarray(swy2), confidence
    )
    summary["mean_score"] = m
    summary["mean_lower"] = lo
    summary["mean_upper"] = hi
    summary = cells.publish(
        summary,
        suppression,
        [
            "n_positive",
            "share_positive",
            "share_lower",
            "share_upper",
            "n_eff",
            "mean_score",
            "mean_lower",
            "mean_upper",
        ],
        f"share: {estimates.proportion_method(data.weighted)}; mean: {estimates.mean_method(data.weighted)}",
        confidence,
    )
    summary.insert(0, "question", qid)
    summary.insert(1, "question_text", q.label)
    summary["positive_points"] = ", ".join(scale.label_of(c) for c in scale.positive)
    return dist, summary, suppression


def likert_items(
    data: SurveyData, items: Sequence[str], breakdown: Breakdown, confidence: float
) -> tuple[pd.DataFrame, pd.DataFrame, list[SuppressionPlan]]:
    """For each Likert item: share positive and mean score per cell, and the full point distribution.

    Returns ``(summary, distribution, plans)``. Share positive uses the scale's positive points
    (e.g. satisfied or very satisfied) over substantive answers; the mean is of the point codes.
    """
    summaries, dists, plans = [], [], []
    for qid in items:
        dist, summary, suppression = _likert(data, qid, breakdown, confidence)
        plans.append(suppression)
        dists.append(dist)
        summaries.append(summary)
    return (
        pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame(),
        pd.concat(dists, ignore_index=True) if dists else pd.DataFrame(),
        plans,
    )


def question_summaries(data: SurveyData, confidence: float) -> tuple[pd.DataFrame, list[SuppressionPlan]]:
    """Overall summary of every analysable question: shares for choices and scales, quantiles for numbers.

    Rows: ``question``, ``statistic`` (``share`` for a category, ``mean``/``median``/``q1``/``q3`` for
    numbers), ``option``, ``value``, limits, ``n``. Each question's base is the respondents answering it.
    """
    cb = data.codebook
    rows = []
    plans = []
    overall = Breakdown.overall()
    for q in [*cb.questions, *cb.derived]:
        if isinstance(q, SingleChoice | BandDerived | MultipleChoice | Likert):
            if isinstance(q, MultipleChoice):
                mask = data.answered(q.id)
                df = base_frame(data, mask, ())
                ind = {o.code: df[option_column(q.id, o.code)].astype(float).to_numpy() for o in q.options}
                labels = {o.code: o.display for o in q.options}
            elif isinstance(q, Likert):
                scale = cb.scale_of(q)
                mask = data.frame[q.id].isin([p.code for p in scale.substantive]).fillna(False)
                df = base_frame(data, mask, ())
                y = df[q.id].to_numpy(dtype=float)
                ind = {str(p.code): (y == p.code).astype(float) for p in scale.substantive}
                labels = {str(p.code): p.label for p in scale.substantive}
            else:
                opts = cb.categories(q.id)
                mask = data.frame[q.id].notna()
                df = base_frame(data, mask, ())
                col = df[q.id].astype(str).to_numpy()
                ind = {o.code: (col == o.code).astype(float) for o in opts}
                labels = {o.code: o.display for o in opts}
            table, suppression = shares(df, ind, overall, data.weighted, confidence)
            plans.append(suppression)
            table = table.rename(columns={"share": "value"})
            table["statistic"] = "share"
            table["option_label"] = table["option"].map(labels)
        elif isinstance(q, Numeric | MonthsSince | MonthsSinceDate):
            mask = data.frame[q.id].notna()
            df = base_frame(data, mask, ())
            y = df[q.id].to_numpy(dtype=float)
            mean_t, suppression = means(df, y, overall, data.weighted, confidence)
            plans.append(suppression)
            hidden = bool(suppression.cells["suppressed"].any())
            quant = {
                k: (np.nan if hidden or y.size == 0 else float(np.quantile(y, p)))
                for k, p in (("q1", 0.25), ("median", 0.5), ("q3", 0.75))
            }
            table = mean_t.rename(columns={"mean": "value"})
            table["statistic"] = "mean"
            if table.empty:  # nobody answered: nothing to summarise
                continue
            extra = pd.DataFrame(
                [
                    {
                        **table.iloc[0].to_dict(),
                        "statistic": k,
                        "value": v,
                        "lower": np.nan,
                        "upper": np.nan,
                        "method": "sample quantile (unweighted)",
                    }
                    for k, v in quant.items()
                ]
            )
            table = pd.concat([table, extra], ignore_index=True)
            table["option"] = ""
            table["option_label"] = ""
        else:
            continue
        table.insert(0, "question", q.id)
        table.insert(1, "question_text", q.label)
        rows.append(table)
    if not rows:
        return pd.DataFrame(), plans
    out = pd.concat(rows, ignore_index=True)
    cols = [
        "question",
        "question_text",
        "statistic",
        "option",
        "option_label",
        "n",
        "n_selected",
        "value",
        "lower",
        "upper",
        "n_eff",
        "method",
        "confidence",
        "suppression_rule",
        "suppressed",
        "suppression",
    ]
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols], plans


