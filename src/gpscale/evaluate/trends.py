"""Trends: each group's trend per indicator, England's, and the group's trend relative to England's.

For every indicator the financial years are split into segments at its flagged data breaks
(:func:`gpscale.evaluate.common.segments`); no trend is ever fitted across a break. Monthly indicators are
trended on their financial-year roll-ups. Within a segment, with ``t`` the financial year:

* **A group's trend** is a practice-level model (docs/architecture.md, "Trends") in linear form: a weighted
  least-squares regression of member practices' values on the link scale (logit for shares, log for
  rates and ratios) on year, with a fixed effect for each practice. The slope is the average change per
  year *within* the group's practices; practices joining, leaving, merging or closing change which
  practices contribute but cannot create a trend by themselves (a pooled value would jump when a practice
  with a different level joins). Practice values use the empirical logit or log (0.5 added to counts) so
  that zero events do not break them, with the delta-method sampling variance ``v``; weights are
  ``1 / (v + tau^2)`` where ``tau^2`` is the practice-year variance beyond sampling, estimated for the
  indicator and segment from every practice's residuals about its own line (method of moments).
* **England's trend** is the same regression over every practice with data, and the row for England
  also gives the least-squares trend of England's pooled value with a t interval on k - 2 degrees of
  freedom (``comparator_value`` of each group row is the practice-level slope the group is compared with).
* **Group relative to England** is the difference of the two slopes, in log odds (or log rate ratio) per
  year. Its question is evaluative (is the group's trend unusual for a set of England's practices of its
  size?), so its standard error allows for practices having their own slopes: ``sqrt(s2_own / S_g +
  se_england^2 + sigma_b^2 (sum_g sxx_i^2 / S_g^2 - 2 sum_g sxx_i^2 / (S_g S_E) + sum_E sxx_i^2 / S_E^2))``,
  where ``S`` are the fits' weighted sums of squares of year, ``sxx_i`` each practice's, ``s2_own`` the
  group's residual variance about its members' own lines (moderated like the trend's) and ``sigma_b^2``
  the variance between practices' own slopes beyond their sampling error (:func:`slope_variance`,
  estimated over every practice in England). Without the last term random groups of practices were
  flagged several times too often (docs/methods/placebo-calibration.md, "Trends").
* **Uncertainty.** Each group's residual variance (relative to ``v + tau^2``) is estimated from its own
  residuals, on ``n - practices - 1`` degrees of freedom, and moderated across all groups fitted on the
  same indicator and segment (:mod:`gpscale.evaluate.moderation`, Smyth 2004), because with three to
  five years per segment a group's own estimate is imprecise. Intervals are t on the moderated degrees of
  freedom. A trend needs at least three financial years with data in the segment; fewer is "Cannot be
  calculated".
* **All segments together** (``span = "all segments"``, for indicators with data breaks): the same
  model with a fixed effect for each practice *and segment*, so each segment has its own level and the
  slope is estimated only from year-to-year changes within segments; no comparison is ever made across a
  break, but the evidence of every segment is pooled. This is the whole-period answer to "is the group
  improving relative to England?" (``whole_period`` marks it; for an indicator without breaks it is the
  single segment); the per-segment rows show whether the trend changed.

Classification of the difference at each confidence level (:class:`gpscale.domain.vocabulary.RelativeTrend`):
"Improving relative to England" when the interval lies wholly on the good side of zero (by the
indicator's polarity), "Worsening relative to England" on the bad side, otherwise "Similar to England's
trend"; indicators without a judgement get "Rising" or "Falling relative to England". Trends themselves
are labelled in Fingertips' words (:class:`gpscale.domain.vocabulary.TrendLabel`: "Increasing and getting
better", ...); a trend that cannot be fitted is "Cannot be calculated". ``per_year_natural`` translates
a slope into the indicator's own units per year at the mean level (percentage points per year for
shares); ``value_first`` and ``value_last`` are the group's pooled values at the ends of the segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from gpscale.domain.vocabulary import Link, Polarity, RelativeTrend, TrendLabel, ValueType, by_direction
from gpscale.evaluate.common import (
    PROVENANCE,
    fy_year,
    fy_years,
    link_derivative,
    segments,
    to_link,
)
from gpscale.evaluate.comparator import Assignment
from gpscale.evaluate.moderation import squeeze
from gpscale.evaluate.pooling import ENGLAND_ID, ENGLAND_NAME
from gpscale.stats import STANDARD_LEVELS
from gpscale.stats.trends import wls_trend

MIN_POINTS = 3
#: the classification of a trend (or a difference of trends) that could not be fitted
NOT_CALCULATED = TrendLabel.CANNOT_BE_CALCULATED

SPAN_SEGMENT = "segment"
SPAN_ALL = "all segments"

TREND_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "span", "segment_first", "segment_last", "n_periods",
    "whole_period", "statistic",
    "scale", "value", "lower", "upper", "confidence", "p_value", "df", "dispersion", "per_year_natural",
    "comparator", "comparator_value", "classification", "latest_segment", "value_first", "value_last",
    "method", *PROVENANCE,
]


def _trend_label(direction: np.ndarray, ok: np.ndarray, polarity: Polarity) -> np.ndarray:
    """Fingertips trend wording for the sign of a significant slope."""
    up, down = TrendLabel.directions(polarity)
    return by_direction(direction, ok, up, down, TrendLabel.NO_SIGNIFICANT_CHANGE, NOT_CALCULATED)


def _relative_label(direction: np.ndarray, ok: np.ndarray, polarity: Polarity, england: bool = True) -> np.ndarray:
    """Classification of a trend difference (group minus England, or minus another comparator) by polarity."""
    up, down = RelativeTrend.directions(polarity, england)
    return by_direction(direction, ok, up, down, RelativeTrend.similar(england), RelativeTrend.CANNOT_BE_CALCULATED)


def practice_link_values(rows: pd.DataFrame, value_type: ValueType) -> tuple[np.ndarray, np.ndarray]:
    """Practice values on the link scale (empirical logit / log) and their sampling variances."""
    vt = ValueType(value_type)
    x = rows["numerator"].to_numpy(float)
    n = rows["denominator"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if vt.link is Link.LOG:
            y = np.log((x + 0.5) / n)
            v = 1.0 / (x + 0.5)
        elif vt is ValueType.SCORE:
            share = np.clip(x / n, 0.5 / n, 1 - 0.5 / n)
            y = np.log(share / (1 - share))
            v = np.zeros_like(y)  # no sampling variance: all of it is practice-year variation (tau^2)
        else:
            if vt is ValueType.WEIGHTED_PROPORTION and "effective_n" in rows:
                n_eff = rows["effective_n"].to_numpy(float)
                m = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, n)
                x, n = x / n * m, m
            y = np.log((x + 0.5) / (n - x + 0.5))
            v = 1.0 / (x + 0.5) + 1.0 / (n - x + 0.5)
    ok = np.isfinite(y) & np.isfinite(v) & (n > 0)
    return np.where(ok, y, np.nan), np.where(ok, v, np.nan)


def _within(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fixed-effects WLS of y on t within ``by`` groups (practices nested in units): per unit sums."""
    unit = by[:-1]
    g = df.groupby(by, sort=False, observed=True)
    sw = g["w"].transform("sum")
    tbar = (df["w"] * df["t"]).groupby([df[c] for c in by], sort=False, observed=True).transform("sum") / sw
    ybar = (df["w"] * df["y"]).groupby([df[c] for c in by], sort=False, observed=True).transform("sum") / sw
    dt = df["t"] - tbar
    dy = df["y"] - ybar
    work = pd.DataFrame({c: df[c] for c in unit})
    work["sxx"] = df["w"] * dt * dt
    work["sxy"] = df["w"] * dt * dy
    work["syy"] = df["w"] * dy * dy
    work["n"] = 1
    work["t"] = df["t"]
    sums = work.groupby(unit, sort=True, observed=True).agg(
        sxx=("sxx", "sum"), sxy=("sxy", "sum"), syy=("syy", "sum"), n=("n", "sum"), k=("t", "nunique"))
    sums["m"] = df.groupby(unit, sort=True, observed=True)[by[-1]].nunique()
    # per practice: the unit's slope is the sxx-weighted mean of its practices' own slopes, so its
    # random-slope variance is slope_variance x sxx2 / sxx^2; and the residuals about the practices' own
    # lines (rss_own on df_own) measure the year-to-year scatter without the spread of their slopes
    per = work[["sxx", "sxy", "syy", "n"]].groupby([df[c] for c in by], sort=False, observed=True).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sloped = per["sxx"] > 0
        per["rss_own"] = np.where(sloped, per["syy"] - per["sxy"] ** 2 / per["sxx"], per["syy"]).clip(min=0)
        per["df_own"] = (per["n"] - np.where(sloped, 2, 1)).clip(lower=0)
    per["sxx2"] = per["sxx"] ** 2
    levels = list(range(len(unit)))
    own = per[["sxx2", "rss_own", "df_own"]].groupby(level=levels, sort=True, observed=True).sum()
    sums[["sxx2", "rss_own", "df_own"]] = own
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["slope"] = sums["sxy"] / sums["sxx"]
        sums["df"] = sums["n"] - sums["m"] - 1
        rss = (sums["syy"] - sums["slope"] * sums["sxy"]).clip(lower=0)
        sums["s2"] = np.where(sums["df"] > 0, rss / sums["df"], np.nan)
    return sums


def _residual_variance(s2: np.ndarray, df: np.ndarray, fitted: np.ndarray,
                       moderate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each group's residual variance and its degrees of freedom, moderated across the groups with one."""
    usable = fitted & (df > 0) & np.isfinite(s2)
    s2 = np.where(usable, s2, np.nan)
    df = np.asarray(df, float).copy()
    if moderate and usable.any():
        mod = squeeze(s2[usable], df[usable])
        s2[usable], df[usable] = mod.variance, mod.df
    return s2, df


def practice_year_variance(frame: pd.DataFrame) -> float:
    """tau^2: variance of practices' yearly link values about their own lines, beyond sampling variance.

    Method of moments over practices with at least three years: the mean of (residual mean square minus
    mean sampling variance), weighted by residual degrees of freedom, floored at 0.
    """
    f = frame.assign(w=1.0)
    g = f.groupby("practice_code", sort=False)
    k = g["t"].transform("count")
    f = f[k >= MIN_POINTS]
    if f.empty:
        return 0.0
    g = f.groupby("practice_code", sort=False)
    tbar = g["t"].transform("mean")
    ybar = g["y"].transform("mean")
    dt, dy = f["t"] - tbar, f["y"] - ybar
    per = pd.DataFrame({"p": f["practice_code"], "sxx": dt * dt, "sxy": dt * dy, "syy": dy * dy, "v": f["v"]})
    s = per.groupby("p", sort=False).agg(sxx=("sxx", "sum"), sxy=("sxy", "sum"), syy=("syy", "sum"),
                                          v=("v", "mean"), n=("v", "size"))
    with np.errstate(invalid="ignore", divide="ignore"):
        rss = s["syy"] - s["sxy"] ** 2 / s["sxx"]
        df = s["n"] - 2
        extra = rss / df - s["v"]
    ok = np.isfinite(extra) & (df > 0)
    if not ok.any():
        return 0.0
    return float(max(0.0, np.average(extra[ok], weights=df[ok])))


def slope_variance(frame: pd.DataFrame) -> float:
    """Variance between practices' own slopes beyond their sampling error (the random-slope variance).

    Each practice (``unit``: practice x segment) with at least three years gets its own weighted
    least-squares slope ``b_i`` and sampling variance ``s^2 / sxx_i``, where ``s^2`` is the pooled residual
    mean square about the practices' own lines (about 1 when the weights ``1/(v + tau^2)`` are right).
    The DerSimonian-Laird moment estimator over those slopes (DerSimonian & Laird 1986; Higgins &
    Thompson 2002 for its use beyond meta-analysis), floored at 0. Estimated once over every practice in
    England for an indicator and segment, so it is precise even where a group has few practices.
    """
    per = _within(frame.assign(_unit=frame["unit"]), ["_unit", "unit"])
    per = per[(per["k"] >= MIN_POINTS) & (per["sxx"] > 0) & (per["df"] > 0)]
    if len(per) < 2:
        return 0.0
    sxx, slope = per["sxx"].to_numpy(float), per["slope"].to_numpy(float)
    rss = (per["s2"] * per["df"]).to_numpy(float)
    s2 = float(rss.sum() / per["df"].sum())
    if not (np.isfinite(s2) and s2 > 0):
        return 0.0
    w = sxx / s2
    centre = float(np.sum(w * slope) / w.sum())
    q = float(np.sum(w * (slope - centre) ** 2))
    scale = float(w.sum() - np.sum(w**2) / w.sum())
    return max(0.0, (q - (len(per) - 1)) / scale) if scale > 0 else 0.0


def group_trends(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    confidences: Iterable[float] = STANDARD_LEVELS,
    moderate: bool = True,
    pooled: pd.DataFrame | None = None,
    comparator: Assignment | None = None,
) -> pd.DataFrame:
    """Trend rows for England and every group, per indicator and data-break segment (see module notes).

    ``practice_values`` are practice x period values (financial-year rows are used), ``members`` the
    (group_id, practice_code, period) rows of the membership view, ``pooled`` optionally the
    :func:`gpscale.evaluate.pooling.pooled_table` output (computed when not given), ``comparator`` each
    group's comparator (:func:`gpscale.evaluate.comparator.assign`; England when not given).
    """
    from gpscale.evaluate import pooling

    confidences = tuple(confidences)
    versions = versions or {}
    pv = pooling.usable(practice_values)
    pv = pv[pv["period_type"] == "fy"]
    if pooled is None:
        pooled = pooling.pooled_table(pv, members, pooling.score_indicators(definitions))
    pooled = pooled[pooled["period_type"] == "fy"]
    out: list[pd.DataFrame] = []
    for ind_id, d in definitions.items():
        rows = pv[pv["indicator_id"] == ind_id]
        if rows.empty:
            continue
        vt, pol, mult = ValueType(d.value_type), Polarity(d.polarity), float(d.multiplier)
        link = vt.link
        meta = {"indicator_id": ind_id, "definition_version": versions.get(ind_id, str(getattr(d, "version", ""))),
                "data_version": data_version, "scale": str(link)}
        pooled_i = pooled[pooled["indicator_id"] == ind_id]
        segs = segments(sorted(rows["period"].unique()), list(getattr(d, "data_breaks", []) or []))
        frames = []
        for i, seg in enumerate(segs):
            frame = _segment_frame(rows, seg, vt, i)
            frames.append(frame)
            out.extend(_fit_rows(frame, members, pooled_i, seg, pol, link, mult, view_label,
                                 {**meta, "span": SPAN_SEGMENT}, confidences, moderate, england_series=True,
                                 comparator=comparator))
        if len(segs) > 1:
            every = [p for seg in segs for p in seg]
            out.extend(_fit_rows(pd.concat(frames, ignore_index=True), members, pooled_i, every, pol, link, mult,
                                 view_label, {**meta, "span": SPAN_ALL}, confidences, moderate,
                                 england_series=False, comparator=comparator))
    if not out:
        return pd.DataFrame(columns=TREND_COLUMNS)
    res = pd.concat(out, ignore_index=True)
    calc = res[(res["classification"] != NOT_CALCULATED) & (res["span"] == SPAN_SEGMENT)]
    last = calc.groupby(["entity_id", "indicator_id", "statistic"])["segment_first"].max().rename("_last")
    res = res.merge(last, on=["entity_id", "indicator_id", "statistic"], how="left")
    res["latest_segment"] = (res["segment_first"] == res["_last"]) & (res["span"] == SPAN_SEGMENT)
    # the whole-period row: the pooled one where an indicator has several segments, else its only segment
    has_all = res.groupby("indicator_id")["span"].transform(lambda x: bool((x == SPAN_ALL).any()))
    res["whole_period"] = np.where(has_all, res["span"] == SPAN_ALL, True)
    return res[TREND_COLUMNS]


def _pooled_ends(pooled: pd.DataFrame, seg: list[str], mult: float) -> pd.DataFrame:
    """Per entity: pooled value at the first and last year of the segment with data, and the mean share."""
    r = pooled[pooled["period"].isin(seg)]
    if r.empty:
        return pd.DataFrame(columns=["entity_id", "value_first", "value_last", "mean_p"])
    r = r.assign(_p=r["numerator"] / r["denominator"], _t=fy_years(r["period"])).sort_values("_t")
    g = r.groupby("entity_id")
    return pd.DataFrame({"value_first": g["_p"].first() * mult, "value_last": g["_p"].last() * mult,
                         "mean_p": g["_p"].mean()}).reset_index()


def _segment_frame(rows: pd.DataFrame, seg: list[str], vt: ValueType, index: int) -> pd.DataFrame:
    """Practice-year link values of one segment with weights ``1/(v + tau^2)`` and a practice-segment unit."""
    r = rows[rows["period"].isin(seg)]
    y, v = practice_link_values(r, vt)
    frame = pd.DataFrame({"practice_code": r["practice_code"].to_numpy(), "period": r["period"].to_numpy(),
                          "t": fy_years(r["period"]), "y": y, "v": v}).dropna(subset=["y", "v"])
    tau2 = practice_year_variance(frame)
    frame["w"] = 1.0 / (frame["v"] + tau2) if tau2 > 0 or (frame["v"] > 0).all() else 1.0
    frame["unit"] = frame["practice_code"].astype(str) + f"|{index}"
    frame["tau2"] = tau2
    return frame


def _fit_rows(
    frame: pd.DataFrame,
    members: pd.DataFrame,
    pooled: pd.DataFrame,
    periods: list[str],
    pol: Polarity,
    link: Link,
    mult: float,
    view_label: str,
    meta: dict[str, Any],
    confidences: tuple[float, ...],
    moderate: bool,
    england_series: bool,
    comparator: Assignment | None = None,
) -> list[pd.DataFrame]:
    """England's and every group's rows for one segment (or all segments pooled) of one indicator."""
    seg_meta = {**meta, "segment_first": periods[0], "segment_last": periods[-1]}
    ends = _pooled_ends(pooled, periods, mult).set_index("entity_id")
    tau_text = ", ".join(f"{t:.3g}" for t in frame["tau2"].unique()) if not frame.empty else "0"
    slope_var = slope_variance(frame) if not frame.empty else 0.0
    out: list[pd.DataFrame] = []

    # England: the practice-level slope (the comparator) and, within a segment, the pooled series' trend
    e_sums = _within(frame.assign(_unit=ENGLAND_ID), ["_unit", "unit"])
    e_slope = float(e_sums["slope"].iloc[0]) if len(e_sums) else np.nan
    e_se = float(np.sqrt(e_sums["s2"].iloc[0] / e_sums["sxx"].iloc[0])) if len(e_sums) else np.nan
    eng = pooled[pooled["entity_type"] == "england"].set_index("period").reindex(periods)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_e = (eng["numerator"] / eng["denominator"]).to_numpy(float)
    y_e = to_link(p_e, link)
    k_e = int(np.isfinite(y_e).sum())
    times = np.array([fy_year(p) for p in periods], dtype=float)
    if england_series and k_e >= MIN_POINTS:
        est = wls_trend(y_e[None, :], times=times, confidence=0.95)
        e_fit = {"slope": est.slope, "se": est.se, "df": np.asarray(est.df, float), "dispersion": np.full(1, np.nan)}
        e_method = ("least-squares slope of England's pooled link-scale value over the segment's financial years, "
                    "t on k - 2 df (comparator_value: the practice-level fixed-effects slope over all practices)")
    else:
        df_e = float(e_sums["df"].iloc[0]) if len(e_sums) else np.nan
        e_fit = {"slope": np.array([e_slope]), "se": np.array([e_se]), "df": np.array([df_e]),
                 "dispersion": np.full(1, np.nan)}
        e_method = ("practice-level slope over all practices, within segments (practice x segment fixed effects), "
                    "residual variance from the fit")
    out.extend(_rows(
        "england", np.array([ENGLAND_ID]), e_fit, np.array([k_e]), "trend", pol, link, mult,
        np.array([np.nanmean(p_e) if k_e else np.nan]), ends.reindex([ENGLAND_ID]), np.array([e_slope]), "",
        "all practices", seg_meta, confidences, e_method,
    ))

    m = members[members["period"].isin(periods)]
    gf = frame.merge(m, on=["practice_code", "period"], how="inner")
    if gf.empty:
        return out
    sums = _within(gf, ["group_id", "unit"])
    ids = sums.index.to_numpy()
    slope = sums["slope"].to_numpy(float)
    k = sums["k"].to_numpy(int)
    g_sxx = sums["sxx"].to_numpy(float)
    fitted = (k >= MIN_POINTS) & (g_sxx > 0)
    s2, df = _residual_variance(sums["s2"].to_numpy(float), sums["df"].to_numpy(float), fitted, moderate)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(s2 / g_sxx)
    usable = fitted & (sums["df"].to_numpy(float) > 0)
    slope = np.where(usable, slope, np.nan)
    fit_g = {"slope": slope, "se": se, "df": df, "dispersion": s2}
    g_end = ends.reindex(ids)
    mean_p = g_end["mean_p"].to_numpy(float)
    how = "moderated across groups (Smyth 2004)" if moderate else "estimated per group"
    fe = "practice" if meta.get("span") == SPAN_SEGMENT else "practice x segment"
    method = (f"practice-level weighted least squares on the link scale with {fe} fixed effects, "
              f"weights 1/(v + tau^2), tau^2={tau_text}; residual variance {how}; t interval")
    c_slope, c_se = np.full(len(ids), e_slope), np.full(len(ids), e_se)
    c_name: str | np.ndarray = ENGLAND_NAME
    england = comparator is None or comparator.comparator.is_england
    g_sxx2 = sums["sxx2"].to_numpy(float)
    # the difference's sampling part: residuals about the members' own lines (their slopes' spread is in
    # ``spread`` below), falling back to the common-slope residuals where no member has three years
    with np.errstate(invalid="ignore", divide="ignore"):
        s2_own = sums["rss_own"].to_numpy(float) / sums["df_own"].to_numpy(float)
    s2_own, df_own = _residual_variance(s2_own, sums["df_own"].to_numpy(float), fitted, moderate)
    has_own = np.isfinite(s2_own)
    s2_own, df_own = np.where(has_own, s2_own, s2), np.where(has_own, df_own, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        e_sxx = float(e_sums["sxx"].iloc[0]) if len(e_sums) else np.nan
        e_share = float(e_sums["sxx2"].iloc[0]) / e_sxx**2 if e_sxx > 0 else np.nan
        # random slopes: Var(b_g - b_E) = sigma_b^2 (sum_g sxx_i^2 / S_g^2 - 2 sum_g sxx_i^2 / (S_g S_E)
        # + sum_E sxx_i^2 / S_E^2), England including the group's practices
        spread = slope_var * (g_sxx2 / g_sxx**2 - 2.0 * g_sxx2 / (g_sxx * e_sxx) + e_share)
    what = "England's practice-level slope, SE sqrt(se_g^2 + se_E^2 + random-slope variance of the difference)"
    if comparator is not None and not england:
        cs = comparator_slopes(frame, m, comparator, periods).reindex(ids)
        c_slope, c_se = cs["slope"].to_numpy(float), cs["se"].to_numpy(float)
        c_name = cs["comparator"].fillna(f"no {comparator.comparator} comparator").to_numpy(object)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = slope_var * (g_sxx2 / g_sxx**2 + cs["slope_share"].to_numpy(float))
        what = ("the comparator's practice-level slope (its practices, the group's own excluded), "
                "SE sqrt(se_g^2 + se_c^2 + random-slope variance of the difference)")
    with np.errstate(invalid="ignore"):
        se_d = np.sqrt(s2_own / g_sxx + c_se**2 + spread)
    fit_d = {"slope": slope - c_slope, "se": se_d, "df": df_own, "dispersion": s2_own}
    method_d = f"{method}; between-practice slope variance {slope_var:.3g} (DerSimonian-Laird over England's practices)"
    out.extend(_rows("group", ids, fit_g, k, "trend", pol, link, mult, mean_p, g_end, c_slope, c_name,
                     view_label, seg_meta, confidences, f"group trend: {method}"))
    out.extend(_rows("group", ids, fit_d, k, "trend_vs_england", pol, link, mult,
                     np.full(len(ids), np.nanmean(p_e) if k_e else np.nan), g_end, c_slope, c_name,
                     view_label, seg_meta, confidences, f"group slope minus {what}: {method_d}", england=england))
    return out


def comparator_slopes(frame: pd.DataFrame, members: pd.DataFrame, comparator: Assignment,
                      periods: list[str]) -> pd.DataFrame:
    """Per group: its comparator's practice-level slope and standard error over ``periods``, and its name.

    ``slope_share`` is ``sum sxx_i^2 / (sum sxx_i)^2`` over the comparator's practices: the multiple of the
    between-practice slope variance (:func:`slope_variance`) in the variance of the comparator's slope.

    The comparator unit is the group's in the latest period of the segment that has one; its practices'
    rows in the segment, less every practice that is a member of the group in the segment, are fitted as
    England's are (the fixed-effects sums are additive over practices, so the group's own are subtracted
    from the unit's). Indexed by group id.
    """
    cols = ["slope", "se", "slope_share", "comparator"]
    g = comparator.groups[comparator.groups["period"].isin(periods)]
    if g.empty:
        return pd.DataFrame(columns=cols)
    g = g.assign(_t=fy_years(g["period"])).sort_values("_t").drop_duplicates("group_id", keep="last")
    g = g.merge(comparator.labels, on=["group_id", "period"], how="left")
    rows = frame.merge(comparator.units[comparator.units["unit_id"].isin(set(g["unit_id"]))],
                       on=["practice_code", "period"])
    if rows.empty:
        return g.set_index("group_id").assign(slope=np.nan, se=np.nan, slope_share=np.nan)[cols]
    per = _within(rows.assign(_one=rows["unit"]), ["unit_id", "unit", "_one"]).reset_index()
    per["practice_code"] = per["unit"].str.rsplit("|", n=1).str[0]
    fields = ["sxx", "sxy", "syy", "n", "m", "sxx2"]
    total = per.groupby("unit_id")[fields].sum()
    own = members[["group_id", "practice_code"]].drop_duplicates().merge(g[["group_id", "unit_id"]], on="group_id")
    own = own.merge(per, on=["unit_id", "practice_code"]).groupby("group_id")[fields].sum()
    c = total.reindex(g["unit_id"]).set_axis(g["group_id"]) - own.reindex(g["group_id"]).fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = c["sxy"] / c["sxx"]
        dfree = c["n"] - c["m"] - 1
        s2 = (c["syy"] - slope * c["sxy"]).clip(lower=0) / dfree
        ok = (c["sxx"] > 0) & (dfree > 0)
        se = np.sqrt((s2 / c["sxx"]).where(ok))
        share = (c["sxx2"] / c["sxx"] ** 2).where(ok)
    out = pd.DataFrame({"slope": slope.where(ok), "se": se, "slope_share": share,
                        "comparator": g.set_index("group_id")["comparator"]})
    return out[cols]


def _rows(
    etype: str,
    ids: np.ndarray,
    fit: dict[str, np.ndarray],
    k: np.ndarray,
    statistic: str,
    pol: Polarity,
    link: Link,
    mult: float,
    level_p: np.ndarray,
    ends: pd.DataFrame,
    comparator_value: np.ndarray,
    comparator: str | np.ndarray,
    view_label: str,
    meta: dict[str, Any],
    confidences: tuple[float, ...],
    method: str,
    england: bool = True,
) -> list[pd.DataFrame]:
    slope, se, df = fit["slope"], fit["se"], fit["df"]
    ok = (k >= MIN_POINTS) & np.isfinite(slope) & np.isfinite(se) & (df > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tstat = slope / se
        df_safe = np.where(ok, df, 1.0)
        pval = np.where(ok, 2.0 * st.t.sf(np.abs(tstat), df_safe), np.nan)
    natural = slope * link_derivative(level_p, link) * mult
    out = []
    for conf in confidences:
        crit = st.t.ppf(0.5 + conf / 2.0, df_safe)
        lo, hi = slope - crit * se, slope + crit * se
        direction = np.where(ok & (lo > 0), 1, np.where(ok & (hi < 0), -1, 0))
        labels = (_relative_label(direction, ok, pol, england) if statistic == "trend_vs_england"
                  else _trend_label(direction, ok, pol))
        out.append(pd.DataFrame({
            "entity_type": etype, "entity_id": ids, "n_periods": k, "statistic": statistic,
            "value": slope, "lower": np.where(ok, lo, np.nan), "upper": np.where(ok, hi, np.nan),
            "confidence": conf, "p_value": pval, "df": np.where(ok, df, np.nan),
            "dispersion": fit["dispersion"], "per_year_natural": natural,
            "comparator": comparator, "comparator_value": comparator_value, "classification": labels,
            "value_first": ends["value_first"].to_numpy(float), "value_last": ends["value_last"].to_numpy(float),
            "method": method, "membership_view": view_label,
            **{key: val for key, val in meta.items()},
        }))
    return out
