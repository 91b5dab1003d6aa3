"""The content of every report section and dashboard page, computed from :class:`ResultsData`.

Each function returns plain data (data frames for tables, SVG text for charts, and the notes that go
with them) so the static reports, the web pages, the CSV downloads and the JSON API all show the same
numbers. Data frames returned here have already passed disclosure control (hidden values are nulls).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from gpscale.report import svg
from gpscale.report.data import ENGLAND_ID, Indicator, ResultsData
from gpscale.stats import chi2_trend, funnel, spiegelhalter_overdispersion, xmr_chart, z_value
from gpscale.stats.limits import poisson_control_limits, proportion_control_limits

CONFIDENCES = (0.95, 0.998)
COMPARISON_ORDER = ("better", "similar", "worse", "higher", "lower", "not compared", "suppressed")
KIND_LABELS = {
    "pcn": "Primary Care Network",
    "federation": "federation",
    "super_partnership": "super-partnership",
    "multi_site": "multi-site provider",
    "network": "network",
    "custom": "custom group",
}
SPC_MONTHS = 36

SIMILAR_NOTE = (
    "“Similar” means England's value lies inside the group's interval: the data cannot tell the group apart "
    "from England. It does not mean the group is the same as England. “Better” and “worse” take the "
    "indicator's polarity into account; indicators without a judgement say “higher” or “lower”."
)
RANK_NOTE = (
    "Do not rank groups by their values: intervals overlap, so most places in a league table are down to "
    "chance, and with many groups and indicators about 1 in 20 comparisons at 95% (1 in 500 at 99.8%) "
    "come out “better” or “worse” by chance alone."
)
FUNNEL_NOTE = (
    "Each point is one unit, placed by its size (horizontal) and value (vertical). The funnel lines show "
    "how far from England's value a unit of that size can fall by chance alone (95% dashed, 99.8% solid); "
    "small units scatter more. Points outside the 99.8% lines are unlikely to differ by chance. Where the "
    "limits are adjusted for overdispersion they also allow for the ordinary variation between units "
    "that no practice controls (Spiegelhalter 2005), so fewer units are flagged."
)
SPINE_NOTE = (
    "Each row is one indicator in its latest year. England is the black centre line; the light bar spans "
    "every group, the darker bar the middle half of groups. The marker is this group, coloured and "
    "shaped by its comparison with England. Where an indicator has a polarity, better is drawn to the "
    "right (lower values are drawn right for indicators where lower is better)."
)
SPC_NOTE = (
    "An XmR chart in the NHS “Making Data Count” style: the centre line is the mean, the process limits "
    "are mean ± 2.66 × the mean moving range. Common-cause variation is the noise of a stable process; "
    "a special cause (a point outside the limits, a run of 7 on one side, a trend of 7, or two of three "
    "points near a limit) suggests something changed. The rule that fired is named for each flagged point."
)
TREND_NOTE = (
    "The line is the group's value each year with its interval (shaded); the dashed black line is England. "
    "Dotted vertical lines mark data breaks: values either side are not comparable and are never joined. "
    "The trend test is the Fingertips chi-squared test for linear trend on the latest five points."
)
FDR_NOTE = (
    "The “(FDR)” columns count only the comparisons that survive Benjamini–Hochberg control of the false "
    "discovery rate across every group and indicator: with hundreds of groups, some “better” and “worse” results "
    "are expected by chance, and these columns allow for that."
)
SIZE_NOTE = (
    "Each point is a group, placed by its size and its value. The purple line is the fitted curve with its "
    "95% band. A flat line, or a band that contains England's value across the range, means the data do not "
    "show that bigger groups perform differently. Association is not causation: size goes with "
    "geography, deprivation and organisational form."
)


def pct(conf: float) -> str:
    return f"{conf * 100:g}%"


def conf_or_default(conf: float | None) -> float:
    return conf if conf in CONFIDENCES else 0.95


@dataclass
class Table:
    """A table as shown: title, caption (method, confidence, view, period), frame, and a download name."""

    name: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    missing: str = ""  # non-empty: the table was not computed, and why


@dataclass
class Chart:
    title: str
    svg: str
    caption: str
    notes: list[str] = field(default_factory=list)


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN → None)."""
    cols = list(frame.columns)
    return [{c: _clean(v) for c, v in zip(cols, row, strict=True)} for row in frame.itertuples(index=False, name=None)]


# ----------------------------------------------------------------------------------------------- England


def england_overview(data: ResultsData, conf: float = 0.95) -> Table:
    """Per indicator, England's latest value and how many groups are better, similar or worse."""
    rows = []
    counts = _latest_counts(data, conf)
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        if period is None:
            continue
        x = data.england_index.get((ind.id, period, conf))
        if x is None:
            continue
        c = counts.get(ind.id, {})
        rows.append({
            "indicator_id": ind.id, "indicator": ind.title, "domain": ind.domain, "period": period,
            "england_value": x["value"], "lower": x["lower"], "upper": x["upper"], "unit": ind.unit,
            "practices": x["n_practices"], "polarity": ind.polarity_text,
            **{f"n_{k.replace(' ', '_')}": int(c.get(k, 0)) for k in COMPARISON_ORDER},
            "groups": int(sum(c.values())),
            "method": str(x["method"]),
        })
    frame = pd.DataFrame(rows)
    return Table(
        "england", "Indicators: England and the groups compared with it (latest year of each)", frame,
        caption=f"England's value with its {pct(conf)} interval, and the number of groups better, similar or worse "
        f"than England at {pct(conf)} (group intervals against England's value; membership view {data.view}). "
        f"Data version {data.data_version}.",
        notes=[SIMILAR_NOTE, RANK_NOTE],
    )


def _latest_counts(data: ResultsData, conf: float) -> dict[str, dict[str, int]]:
    key = f"_counts_{conf}"
    cached = data.__dict__.get(key)
    if cached is not None:
        return cached
    g = data.card[(data.card["entity_type"] == "group") & (data.card["confidence"] == conf)
                  & (data.card["period_type"] == "fy")]
    out: dict[str, dict[str, int]] = {}
    for ind_id, period in ((i, data.latest_fy(i)) for i in data.indicators):
        rows = g[(g["indicator_id"] == ind_id) & (g["period"] == period)]
        out[ind_id] = {str(k): int(v) for k, v in rows["comparison"].value_counts().items() if v}
    data.__dict__[key] = out
    return out


def england_trends(data: ResultsData) -> list[Chart]:
    """England's value over the years for each indicator (cached; the same for every visitor)."""
    cached = data.__dict__.get("_england_trends")
    if cached is not None:
        return cached
    charts = []
    for ind in data.indicators.values():
        e = data.england[(data.england["indicator_id"] == ind.id) & (data.england["period_type"] == "fy")
                         & (data.england["confidence"] == 0.95)].sort_values("period")
        if e.empty:
            continue
        periods = e["period"].tolist()
        s = svg.Series("England", e["value"].tolist(), e["lower"].tolist(), e["upper"].tolist(), svg.ENGLAND)
        charts.append(Chart(ind.title, svg.trend(periods, [s], ind.title, ind.unit, ind.breaks, width=420, height=220),
                            f"England, {periods[0]} to {periods[-1]}; {e['method'].iloc[0]}."))
    data.__dict__["_england_trends"] = charts
    return charts


# ------------------------------------------------------------------------------------------------ groups


def groups_table(data: ResultsData, conf: float = 0.95, kind: str | None = None) -> Table:
    """Every group: kind, practices (latest), and indicators better / similar / worse in the latest year."""
    key = f"_groups_table_{conf}"
    base = data.__dict__.get(key)
    if base is None:
        g = data.card[(data.card["entity_type"] == "group") & (data.card["confidence"] == conf)
                      & (data.card["period_type"] == "fy")]
        latest = g.groupby("indicator_id", observed=True)["period"].transform("max")
        g = g[g["period"] == latest]
        tab = pd.crosstab(g["entity_id"], g["comparison"].astype(str))
        for col in COMPARISON_ORDER:
            if col not in tab:
                tab[col] = 0
        size = g.groupby("entity_id")["n_practices"].max().rename("practices")
        base = data.groups[["group_id", "name", "kind"]].merge(
            tab[list(COMPARISON_ORDER)].reset_index().rename(columns={"entity_id": "group_id"}), on="group_id",
            how="inner").merge(size.reset_index().rename(columns={"entity_id": "group_id"}), on="group_id", how="left")
        counts = data.table("summary")
        if counts is not None and {"group_id", "better_fdr", "worse_fdr"} <= set(counts.columns):
            c = counts[counts["confidence"] == conf] if "confidence" in counts else counts
            base = base.merge(c[["group_id", "better_fdr", "worse_fdr"]].drop_duplicates("group_id"), on="group_id",
                              how="left")
        base = base[["group_id", "name", "kind", "practices", *[c for c in base.columns if c not in
                     ("group_id", "name", "kind", "practices")]]]
        data.__dict__[key] = base
    frame = base if kind is None else base[base["kind"] == kind]
    return Table(
        "groups", "Groups compared with England (latest year of each indicator)", frame.reset_index(drop=True),
        caption=f"Number of indicators on which each group is better, similar or worse than England at {pct(conf)} "
        f"(membership view {data.view}; practices = most members contributing to any indicator in its latest year). "
        "Listed alphabetically, not ranked.",
        notes=[RANK_NOTE, FDR_NOTE],
    )


def group_profile(data: ResultsData, group_id: str) -> dict[str, Any]:
    """The group's registry facts, its current members and its size over time."""
    g = data.groups[data.groups["group_id"] == group_id]
    info = {k: _clean(v) for k, v in g.iloc[0].items()} if not g.empty else {"group_id": group_id, "name": group_id}
    info["kind_label"] = KIND_LABELS.get(str(info.get("kind")), str(info.get("kind") or "group"))
    members = data.members_table_by_group.get(group_id)
    if members is None:
        members = pd.DataFrame(columns=["practice_code", "name", "start_date", "end_date", "current"])
    keep = [c for c in ("practice_code", "name", "start_date", "end_date", "postcode", "commissioner", "icb",
                        "contract_type", "rurality", "status") if c in members.columns]
    members_frame = members[keep]
    current = members[members["current"].astype(bool)]
    facts = {
        "current_members": int(current["practice_code"].nunique()),
        "ever_members": int(members["practice_code"].nunique()),
        "commissioners": int(current["commissioner"].nunique()) if "commissioner" in current else None,
        "icbs": int(current["icb"].nunique()) if "icb" in current else None,
        "contract_mix": (current["contract_type"].value_counts().to_dict() if "contract_type" in current else {}),
        "rurality_mix": (current["rurality"].value_counts().to_dict() if "rurality" in current else {}),
    }
    rows = data.group_rows(group_id)
    size = rows[(rows["confidence"] == 0.95) & (rows["period_type"] == "fy")].groupby("period")["n_practices"].max()
    size_frame = size.reset_index().rename(columns={"n_practices": "practices_with_data"})
    prof = data.table("profiles")
    profile_table: pd.DataFrame | None = None
    if prof is not None and "group_id" in prof.columns:
        profile_table = prof[prof["group_id"].astype(str) == group_id].reset_index(drop=True)
    return {"info": info, "facts": facts, "members": members_frame, "size": size_frame, "profile_table": profile_table}


def rug(data: ResultsData, group_id: str, conf: float = 0.95) -> tuple[list[str], list[dict[str, Any]], pd.DataFrame]:
    """Tartan rug: indicators × financial years, each cell the value and its comparison with England."""
    rows = data.group_rows(group_id)
    rows = rows[(rows["confidence"] == conf) & (rows["period_type"] == "fy")]
    periods = sorted(rows["period"].unique().tolist())
    grid: list[dict[str, Any]] = []
    cols = list(rows.columns)
    lookup = {(str(t[cols.index("indicator_id")]), str(t[cols.index("period")])): dict(zip(cols, t, strict=True))
              for t in rows.itertuples(index=False, name=None)}
    have = {k[0] for k in lookup}
    for ind in data.indicators.values():
        if ind.id not in have:
            continue
        cells = []
        for p in periods:
            x = lookup.get((ind.id, p))
            if x is None:
                cells.append({"period": p, "cls": "not-compared", "text": "", "label": "no data", "title": "no data"})
                continue
            comp = str(x["comparison"])
            title = (f"{ind.title}, {p}: {svg.fmt(x['value'], 2)} ({svg.fmt(x['lower'], 2)} to "
                     f"{svg.fmt(x['upper'], 2)}); England {svg.fmt(x['comparator_value'], 2)}; {comp}")
            if comp == "suppressed":
                title = f"{ind.title}, {p}: hidden (count below {data.threshold})"
            cells.append({"period": p, "cls": comp.replace(" ", "-"), "text": svg.fmt(x["value"], 1),
                          "label": svg.SYMBOLS.get(comp, comp), "title": title})
        grid.append({"id": ind.id, "title": ind.title, "unit": ind.unit, "cells": cells})
    cols = ["indicator_id", "period", "value", "lower", "upper", "comparator_value", "comparison", "confidence",
            "method", "numerator", "denominator", "n_practices", "membership_view", "definition_version",
            "data_version"]
    frame = rows[cols].sort_values(["indicator_id", "period"]).reset_index(drop=True)
    frame.insert(0, "group_id", group_id)
    return periods, grid, frame


def _distribution(data: ResultsData, indicator_id: str, period: str, conf: float) -> tuple[float, ...] | None:
    key = ("_dist", indicator_id, period, conf)
    cache = data.__dict__.setdefault("_dist_cache", {})
    if key not in cache:
        idx = data.__dict__.get("_dist_index")
        if idx is None:
            g = data.card[(data.card["entity_type"] == "group") & (data.card["period_type"] == "fy")]
            idx = {k: v["value"].dropna().to_numpy(float) for k, v in
                   g.groupby(["indicator_id", "period", "confidence"], observed=True)}
            data.__dict__["_dist_index"] = idx
        v = idx.get((indicator_id, period, conf))
        cache[key] = None if v is None or v.size == 0 else (
            float(v.min()), float(np.percentile(v, 25)), float(np.percentile(v, 75)), float(v.max()))
    return cache[key]


def spine_chart(data: ResultsData, group_id: str, conf: float = 0.95) -> tuple[Chart, pd.DataFrame]:
    rows = data.group_rows(group_id)
    rows = rows[(rows["confidence"] == conf) & (rows["period_type"] == "fy")]
    mine = {(str(i), str(p)): (v, c) for i, p, v, c in
            zip(rows["indicator_id"], rows["period"], rows["value"], rows["comparison"], strict=True)}
    out = []
    spine_rows = []
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        dist = _distribution(data, ind.id, period, conf) if period else None
        ev_ = data.england_value(ind.id, period, conf)
        if dist is None or ev_ is None:
            continue
        v_, c_ = mine.get((ind.id, str(period)), (None, "not compared"))
        value = float(v_) if v_ is not None and pd.notna(v_) else None
        comp = str(c_)
        ev = ev_
        better_right = {"high_is_good": True, "low_is_good": False}.get(ind.polarity)
        short = ind.title if len(ind.title) <= 40 else ind.title[:39].rstrip() + "…"
        spine_rows.append(svg.SpineRow(f"{short} ({str(period)[2:]})", ev, dist[0], dist[1], dist[2], dist[3],
                                        value, comp,
                                        better_right))
        out.append({"indicator_id": ind.id, "indicator": ind.title, "period": period, "value": value,
                    "comparison": comp, "england": ev, "groups_min": dist[0], "groups_q1": dist[1],
                    "groups_q3": dist[2], "groups_max": dist[3], "confidence": conf})
    name = data.group_name(group_id)
    chart = Chart(
        f"Spine chart: {name}", svg.spine(spine_rows, f"{name} against England and all groups"),
        f"Latest year of each indicator; {pct(conf)} intervals against England's value; distribution over all "
        f"groups (view {data.view}).", [SPINE_NOTE],
    )
    return chart, pd.DataFrame(out)


def trend_chart(data: ResultsData, group_id: str, indicator_id: str, conf: float = 0.95) -> tuple[Chart, pd.DataFrame]:
    ind = data.indicators[indicator_id]
    rows = data.group_rows(group_id)
    g = rows[(rows["indicator_id"] == indicator_id) & (rows["confidence"] == conf) & (rows["period_type"] == "fy")]
    e = data.england[(data.england["indicator_id"] == indicator_id) & (data.england["confidence"] == conf)
                     & (data.england["period_type"] == "fy")]
    periods = sorted(set(g["period"]) | set(e["period"]))
    gi, ei = g.set_index("period"), e.set_index("period")

    def col(frame: pd.DataFrame, c: str) -> list[float | None]:
        return [_clean(frame.at[p, c]) if p in frame.index else None for p in periods]

    name = data.group_name(group_id)
    series = [svg.Series(name, col(gi, "value"), col(gi, "lower"), col(gi, "upper"), svg.GROUP),
              svg.Series("England", col(ei, "value"), None, None, svg.ENGLAND, dashed=True)]
    test = _trend_test(ind, g.sort_values("period"), conf)
    method = str(g["method"].iloc[0]) if not g.empty else ""
    chart = Chart(
        f"{ind.title}: {name} and England",
        svg.trend(periods, series, f"{ind.title}: {name} and England", ind.unit, ind.breaks),
        f"{method}. Membership view {data.view}. {periods[0] if periods else ''} to {periods[-1] if periods else ''}."
        + (f" Trend over the latest five years: {test}." if test else ""),
        [TREND_NOTE],
    )
    frame = pd.DataFrame({"period": periods, "group_value": col(gi, "value"), "group_lower": col(gi, "lower"),
                          "group_upper": col(gi, "upper"), "comparison": [str(gi.at[p, "comparison"])
                          if p in gi.index else "" for p in periods], "england_value": col(ei, "value")})
    frame.insert(0, "indicator_id", indicator_id)
    frame.insert(0, "group_id", group_id)
    frame["confidence"] = conf
    frame["method"] = method
    frame["membership_view"] = data.view
    return chart, frame


def _trend_test(ind: Indicator, g: pd.DataFrame, conf: float) -> str:
    if ind.value_type not in ("proportion", "rate", "standardised_ratio") or len(g) < 5:
        return ""
    last = g.tail(5)
    if any(p in ind.breaks for p in last["period"].iloc[1:]):
        return "not tested (a data break falls in the latest five years)"
    if last["numerator"].isna().any():
        return ""
    kind: Literal["proportion", "rate"] = "proportion" if ind.value_type == "proportion" else "rate"
    res = chi2_trend(last["numerator"].to_numpy(float), last["denominator"].to_numpy(float), kind=kind,
                     polarity=ind.polarity, confidence=conf)
    p = float(res.p_value) if np.ndim(res.p_value) == 0 else float(np.asarray(res.p_value).ravel()[0])
    label = str(np.asarray(res.label).ravel()[0])
    return f"{label} (p = {p:.3g}; {res.method}, called at {pct(conf)})"


# ------------------------------------------------------------------------------------------------ funnels


def _natural(ind: Indicator, value: float) -> float:
    return value / ind.multiplier


def _limit_curves(stat: str, target: float, grid: np.ndarray, tau2: float | None) -> dict[str, list[float]]:
    if tau2 is not None:
        var = target * (1 - target) / grid if stat == "proportion" else target / grid
        sd = np.sqrt(var + tau2)
        out = {}
        for conf, k in ((0.95, "95"), (0.998, "998")):
            z = z_value(conf)
            lo, hi = target - z * sd, target + z * sd
            if stat == "proportion":
                lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
            else:
                lo = np.maximum(lo, 0)
            out[f"lower_{k}"], out[f"upper_{k}"] = lo.tolist(), hi.tolist()
        return out
    if stat == "proportion":
        lo95, hi95 = proportion_control_limits(grid, target, 0.95)
        lo998, hi998 = proportion_control_limits(grid, target, 0.998)
    else:
        expected = target * grid
        lo95, hi95 = (v / grid for v in poisson_control_limits(expected, 0.95))
        lo998, hi998 = (v / grid for v in poisson_control_limits(expected, 0.998))
    return {"lower_95": list(lo95), "upper_95": list(hi95), "lower_998": list(lo998), "upper_998": list(hi998)}


def _label(position: str, polarity: str, conf: float) -> str:
    high = position.startswith("High")
    if position.startswith(("High", "Low")):
        if conf == 0.998 and "0.025" in position:
            return "similar"
        if polarity == "no_judgement":
            return "higher" if high else "lower"
        return "better" if high == (polarity == "high_is_good") else "worse"
    if position == "not compared":
        return "not compared"
    return "similar"


@dataclass
class FunnelResult:
    chart: Chart
    table: Table
    outside: pd.DataFrame
    method: str
    hidden: int


def _funnel(data: ResultsData, ind: Indicator, units: pd.DataFrame, target_value: float, conf: float,
            adjust: bool, tau2_from: Any = None,
            tau2_key: tuple[str, str] | None = None) -> tuple[pd.DataFrame, str, dict[str, list[float]], np.ndarray]:
    """Funnel positions and limit curves for ``units``; ``tau2_from()`` gives the units tau² is estimated on."""
    stat = ind.funnel_statistic
    t_nat = _natural(ind, target_value)
    if ind.value_type == "score":
        adjust = True  # QOF points are not independent events: only random-effects limits make sense
    x = units["numerator"].to_numpy(float)
    n = units["denominator"].to_numpy(float)
    tau2: float | None = None
    if adjust:
        cache = data.__dict__.setdefault("_tau2_cache", {})
        key = (*tau2_key, t_nat, stat) if tau2_key is not None else None
        national = key is not None
        if key is not None and key in cache:
            tau2 = cache[key]
        else:
            ref = tau2_from() if tau2_from is not None else units
            if len(ref) < 10:
                ref, key, national = units, None, False
            rx, rn = ref["numerator"].to_numpy(float), ref["denominator"].to_numpy(float)
            ok = np.isfinite(rx) & np.isfinite(rn) & (rn > 0)
            rv = rx[ok] / rn[ok]
            var = t_nat * (1 - t_nat) / rn[ok] if stat == "proportion" else t_nat / rn[ok]
            tau2 = float(spiegelhalter_overdispersion(rv, t_nat, np.sqrt(var), 0.1, "consistent").tau2) \
                if ok.sum() >= 3 else 0.0
            if key is not None:
                cache[key] = tau2
        # positions with that tau2
        ok_u = np.isfinite(x) & np.isfinite(n) & (n > 0)
        v = np.where(ok_u, x / np.where(ok_u, n, 1), np.nan)
        var_u = t_nat * (1 - t_nat) / np.where(ok_u, n, 1) if stat == "proportion" else t_nat / np.where(ok_u, n, 1)
        zs = (v - t_nat) / np.sqrt(var_u + tau2)
        z95, z998 = z_value(0.95), z_value(0.998)
        pos = np.select([zs < -z998, zs < -z95, zs > z998, zs > z95],
                        ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"], default="Not significant")
        pos = np.where(ok_u, pos, "not compared")
        method = (f"Spiegelhalter additive random-effects funnel limits around England's value (tau² = {tau2:.3g}, "
                  "estimated from " + ("all practices nationally" if national else "the units shown")
                  + ", z-scores winsorised at 10%)")
        limits_unit = {}
        sd = np.sqrt(var_u + tau2)
        limits_unit["lower_95"], limits_unit["upper_95"] = t_nat - z95 * sd, t_nat + z95 * sd
        limits_unit["lower_998"], limits_unit["upper_998"] = t_nat - z998 * sd, t_nat + z998 * sd
    else:
        f = funnel(x, n, stat, target=t_nat, multiplier=1.0)  # type: ignore[arg-type]
        pos = f.position
        method = f.method + " around England's value"
        limits_unit = {"lower_95": f.lower_95, "upper_95": f.upper_95, "lower_998": f.lower_998,
                       "upper_998": f.upper_998}
    labels = np.array([_label(str(p), ind.polarity, conf) for p in pos])
    out = units.copy()
    out["value_plotted"] = out["numerator"] / out["denominator"] * ind.multiplier
    for k, v in limits_unit.items():
        out[k] = np.asarray(v, dtype=float) * ind.multiplier
    out["funnel_position"] = pos
    out["comparison"] = labels
    nn = n[np.isfinite(n) & (n > 0)]
    grid = np.geomspace(max(nn.min() * 0.8, 1e-6), nn.max() * 1.2, 80) if nn.size else np.array([1.0, 10.0])
    curves = {k: [float(v) * ind.multiplier for v in vals] for k, vals in
              _limit_curves(stat, t_nat, grid, tau2).items()}
    return out, method, curves, grid


def groups_funnel(data: ResultsData, indicator_id: str, period: str, conf: float = 0.95,
                  adjust: bool = True) -> FunnelResult:
    """All groups for one indicator and period as a funnel around England's value."""
    key = ("groups_funnel", indicator_id, period, conf, adjust)
    cache = data.__dict__.setdefault("_funnel_cache", {})
    if key in cache:
        return cache[key]
    ind = data.indicators[indicator_id]
    g = data.groups_at(indicator_id, period, conf)
    hidden = int(g["suppressed"].sum())
    g = g[~g["suppressed"] & g["numerator"].notna() & (g["denominator"] > 0)]
    ev = data.england_value(indicator_id, period, conf) or float("nan")
    units = g[["entity_id", "numerator", "denominator", "value", "lower", "upper", "n_practices"]].rename(
        columns={"entity_id": "group_id"}).reset_index(drop=True)
    gnames = data.group_names
    units.insert(1, "name", [gnames.get(g, g) for g in units["group_id"]])
    out, method, curves, grid = _funnel(data, ind, units, ev, conf, adjust)
    outside = out[out["comparison"].isin(["better", "worse", "higher", "lower"])]
    points = [svg.FunnelPoint(r.name, float(r.denominator), float(r.value_plotted), r.comparison,
                              f"{r.name} ({r.group_id}): {svg.fmt(r.value_plotted, 2)}; {r.comparison}",
                              named=False)
              for r in out.itertuples(index=False)]
    x_label = _x_label(ind)
    title = f"{ind.title}, {period}: all groups"
    chart = Chart(title, svg.funnel(points, grid.tolist(), curves, ev, title, ind.unit, x_label,
                                                    judged=ind.polarity != "no_judgement"),
                  f"{method}. {len(out)} groups, view {data.view}; outside the {pct(conf)} limits: {len(outside)}."
                  + (f" {hidden} groups hidden (count below {data.threshold})." if hidden else ""),
                  [FUNNEL_NOTE, RANK_NOTE])
    cols = ["group_id", "name", "numerator", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998",
            "funnel_position", "comparison", "n_practices"]
    frame = out[cols].copy()
    frame.insert(2, "indicator_id", indicator_id)
    frame.insert(3, "period", period)
    frame["england_value"] = ev
    frame["method"] = method
    frame["membership_view"] = data.view
    table = Table("funnel", f"Groups outside the {pct(conf)} funnel limits", frame, caption=chart.caption)
    res = FunnelResult(chart, table, frame[frame["comparison"].isin(["better", "worse", "higher", "lower"])],
                       method, hidden)
    cache[key] = res
    return res


def _x_label(ind: Indicator) -> str:
    return {"proportion": "denominator (eligible count)", "rate": "denominator (weighted population)",
            "standardised_ratio": "expected count", "weighted_proportion": "weighted respondents",
            "score": "maximum points"}.get(ind.value_type, "denominator")


def _from_engine(ind: Indicator, units: pd.DataFrame, engine: pd.DataFrame, conf: float,
                 adjust: bool) -> tuple[pd.DataFrame, str, dict[str, list[float]], np.ndarray] | None:
    """Member-funnel rows from the evaluation engine's ``funnels`` table, for the practices not hidden."""
    pre = "od_" if adjust else ""
    need = {"practice_code", "target", f"{pre}position", f"{pre}lower_95", f"{pre}upper_95", f"{pre}lower_998",
            f"{pre}upper_998"}
    if not need <= set(engine.columns) or engine[f"{pre}position"].astype(str).eq("not applicable").all():
        return None
    e = engine.drop_duplicates("practice_code").set_index("practice_code")
    out = units[units["practice_code"].isin(e.index)].copy()
    rows = e.loc[out["practice_code"]]
    out["value_plotted"] = out["numerator"] / out["denominator"] * ind.multiplier
    for k in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[k] = rows[f"{pre}{k}"].to_numpy(float)
    out["funnel_position"] = rows[f"{pre}position"].astype(str).to_numpy()
    out["comparison"] = [_label(p, ind.polarity, conf) for p in out["funnel_position"]]
    target = float(e["target"].iloc[0])
    tau2 = float(e["tau2"].iloc[0]) if adjust and "tau2" in e.columns and pd.notna(e["tau2"].iloc[0]) else None
    n = out["denominator"].to_numpy(float)
    n = n[np.isfinite(n) & (n > 0)]
    grid = np.geomspace(max(n.min() * 0.8, 1e-6), n.max() * 1.2, 80) if n.size else np.array([1.0, 10.0])
    curves = {k: [float(v) * ind.multiplier for v in vals] for k, vals in
              _limit_curves(ind.funnel_statistic, target / ind.multiplier, grid,
                            tau2 if adjust else None).items()}
    method = str(e[f"{pre}method" if adjust else "method"].iloc[0]) if f"{pre}method" in e.columns or not adjust \
        else ""
    return out.reset_index(drop=True), f"{method} (evaluation engine's funnel table)", curves, grid


def _national_practices(data: ResultsData, indicator_id: str, period: str) -> pd.DataFrame:
    """Every practice's visible numerator and denominator (for the national overdispersion estimate)."""
    pv = data.period_frame(indicator_id, period)
    ok = pv[~pv["suppressed"] & pv["numerator"].notna() & (pv["denominator"] > 0)]
    return ok[["numerator", "denominator"]].reset_index(drop=True)


def member_funnel(data: ResultsData, group_id: str, indicator_id: str, period: str, conf: float = 0.95,
                  adjust: bool = True) -> FunnelResult:
    """Member practices of one group for one indicator and period, around England's value."""
    ind = data.indicators[indicator_id]
    members = data.members_at(group_id, period)
    pv = data.practice_values(indicator_id, period, members) if data.pv_con is not None else pd.DataFrame()
    ev = data.england_value(indicator_id, period, conf) or float("nan")
    name = data.group_name(group_id)
    title = f"{ind.title}, {period}: member practices of {name}"
    if pv.empty or not members:
        empty = pd.DataFrame(columns=["practice_code", "name", "value", "comparison"])
        msg = ("member practices' values were not computed (no practice_values table or no membership in the store)"
               if pv.empty else "no member practices in this period")
        return FunnelResult(Chart(title, "", msg), Table("members", title, empty, missing=msg), empty, "", 0)
    mine = pv[pv["practice_code"].isin(members)]
    hidden = int(mine["suppressed"].sum())
    shown = mine[~mine["suppressed"] & mine["numerator"].notna() & (mine["denominator"] > 0)]
    units = shown[["practice_code", "numerator", "denominator", "value"]].reset_index(drop=True)
    names = data.practice_names
    units.insert(1, "name", [names.get(c, "") for c in units["practice_code"]])
    engine = data.engine_funnel(group_id, indicator_id, period)
    from_engine = _from_engine(ind, units, engine, conf, adjust) if engine is not None else None
    if from_engine is not None:
        out, method, curves, grid = from_engine
    else:
        out, method, curves, grid = _funnel(data, ind, units, ev, conf, adjust,
                                            lambda: _national_practices(data, indicator_id, period),
                                            (indicator_id, period))
    outside = out[out["comparison"].isin(["better", "worse", "higher", "lower"])]
    points = [svg.FunnelPoint(f"{r.name.title()} ({r.practice_code})" if r.name else r.practice_code,
                              float(r.denominator), float(r.value_plotted), r.comparison,
                              f"{r.name} ({r.practice_code}): {svg.fmt(r.value_plotted, 2)}; {r.comparison}",
                              named=r.comparison in ("better", "worse", "higher", "lower"))
              for r in out.itertuples(index=False)]
    chart = Chart(title, svg.funnel(points, grid.tolist(), curves, ev, title, ind.unit, _x_label(ind),
                                               judged=ind.polarity != "no_judgement"),
                  f"{method}. {len(out)} of {len(members)} member practices shown (view {data.view}); outside the "
                  f"{pct(conf)} limits: {len(outside)}."
                  + (f" {hidden} practices hidden (count below {data.threshold}, or protecting one)."
                     if hidden else ""),
                  [FUNNEL_NOTE])
    cols = ["practice_code", "name", "numerator", "denominator", "value", "lower_95", "upper_95", "lower_998",
            "upper_998", "funnel_position", "comparison"]
    frame = out[cols].copy()
    frame.insert(0, "group_id", group_id)
    frame.insert(3, "indicator_id", indicator_id)
    frame.insert(4, "period", period)
    frame["england_value"] = ev
    frame["method"] = method
    frame["membership_view"] = data.view
    tab = Table("members", f"Member practices of {name}: {ind.title}, {period}", frame, caption=chart.caption)
    return FunnelResult(chart, tab, frame[frame["comparison"].isin(["better", "worse", "higher", "lower"])],
                        method, hidden)


# ------------------------------------------------------------------------------------------------ SPC


def spc_chart(data: ResultsData, entity_id: str, indicator_id: str, months: int = SPC_MONTHS) -> tuple[Chart, Table]:
    """XmR chart of the group's (or England's) latest monthly values, naming the rule behind each signal."""
    ind = data.indicators[indicator_id]
    rows = data.england if entity_id == ENGLAND_ID else data.group_rows(entity_id)
    m = rows[(rows["indicator_id"] == indicator_id) & (rows["period_type"] == "month") & (rows["confidence"] == 0.95)]
    m = m[m["value"].notna()].sort_values("period").tail(months)
    name = "England" if entity_id == ENGLAND_ID else data.group_name(entity_id)
    title = f"{ind.title}: {name}, monthly XmR chart"
    if len(m) < 2:
        msg = "no monthly values for this indicator" if m.empty else "too few monthly values for an XmR chart"
        empty = pd.DataFrame(columns=["period", "value", "variation", "rules"])
        return Chart(title, "", msg), Table("spc", title, empty, missing=msg)
    x = xmr_chart(m["value"].to_numpy(float), polarity=ind.polarity)
    periods = m["period"].tolist()
    chart = Chart(title, svg.spc(periods, x.values.tolist(), x.mean.tolist(), x.lower.tolist(), x.upper.tolist(),
                                 list(x.variation), list(x.rules), title, ind.unit),
                  f"Making Data Count XmR chart of the latest {len(m)} months ({periods[0]} to {periods[-1]}), "
                  f"moving ranges screened at 3.267 × the mean; group values pooled under view {data.view}. "
                  + " ".join(x.warnings), [SPC_NOTE])
    frame = pd.DataFrame({"entity_id": entity_id, "indicator_id": indicator_id, "period": periods,
                          "value": x.values, "mean": x.mean, "lower_limit": x.lower, "upper_limit": x.upper,
                          "variation": list(x.variation), "rules": list(x.rules)})
    flagged = frame[frame["rules"] != ""]
    tab = Table("spc", f"Special-cause signals: {name}, {ind.title}", frame,
                caption=f"{len(flagged)} of {len(frame)} months flagged; the rules column names the rule that fired.")
    return chart, tab


# ------------------------------------------------------------------------------------------------ national


def size_vs_performance(data: ResultsData, indicator_id: str, period: str | None = None,
                        conf: float = 0.95) -> tuple[Chart, Table]:
    """Groups' values against their size, England's value and a fitted curve.

    With the evaluation engine's ``profiles`` and ``size_curve`` tables, size is registered patients and
    the curve and conclusion are the engine's (``size_effect``); without them size is the number of member
    practices contributing and the curve is a LOWESS fit with a bootstrap band.
    """
    ind = data.indicators[indicator_id]
    period = period or data.latest_fy(indicator_id) or ""
    g = data.groups_at(indicator_id, period, conf)
    g = g[~g["suppressed"] & g["value"].notna()]
    ev = data.england_value(indicator_id, period, conf)
    title = f"{ind.title}, {period}: value against group size"
    frame = g[["entity_id", "n_practices", "value", "lower", "upper", "comparison"]].rename(
        columns={"entity_id": "group_id", "n_practices": "practices"}).reset_index(drop=True)
    gnames = data.group_names
    frame.insert(1, "name", [gnames.get(x, x) for x in frame["group_id"]])
    profiles, curve, effect = data.table("profiles"), data.table("size_curve"), data.table("size_effect")
    size_col, size_label = "practices", "member practices"
    if profiles is not None and {"group_id", "period", "patients"} <= set(profiles.columns):
        pp = profiles[profiles["period"] == period][["group_id", "patients"]].drop_duplicates("group_id")
        if pp["patients"].notna().any():
            frame = frame.merge(pp, on="group_id", how="left")
            size_col, size_label = "patients", "registered patients"
    fit: list[tuple[float, float, float, float]] = []
    text = ""
    if size_col == "patients" and curve is not None and not curve.empty:
        cv = curve[(curve["indicator_id"] == indicator_id) & (curve["period"] == period)]
        if "confidence" in cv:
            cv = cv[cv["confidence"] == conf] if (cv["confidence"] == conf).any() else cv
        cv = cv.sort_values("patients")
        fit = [(float(r.patients), float(r.value), float(r.value_lower), float(r.value_upper))
               for r in cv.itertuples(index=False) if np.isfinite([r.patients, r.value, r.value_lower,
                                                                   r.value_upper]).all()]
        if fit:
            text = f"Fitted curve: the evaluation engine's size model ({cv['method'].iloc[0]}). "
    if effect is not None and not effect.empty:
        e = effect[(effect["indicator_id"] == indicator_id) & (effect["period"] == period)]
        if "confidence" in e and (e["confidence"] == conf).any():
            e = e[e["confidence"] == conf]
        if not e.empty and isinstance(e["conclusion"].iloc[0], str):
            text += f"Conclusion: {e['conclusion'].iloc[0]}"
    if not fit and size_col == "practices":
        ok = frame[frame[size_col].notna()]
        if len(ok) >= 10 and ok[size_col].nunique() > 2:
            fit, rho = _smooth(ok[size_col].to_numpy(float), ok["value"].to_numpy(float))
            text = "Smoothed fit: LOWESS of value on log size with a 95% bootstrap band. " + rho + " " + text
    if not text:
        text = "Too few groups or sizes for a fitted curve."
    points = [svg.ScatterPoint(float(getattr(r, size_col)), float(r.value), r.name, str(r.comparison),
                               f"{r.name}: {svg.fmt(getattr(r, size_col), 0)} {size_label}, {svg.fmt(r.value, 2)} "
                               f"({r.comparison})")
              for r in frame.itertuples(index=False) if pd.notna(getattr(r, size_col))]
    chart = Chart(title, svg.scatter(points, title, size_label, ind.unit, ev, fit),
                  f"{len(frame)} groups, {period}, view {data.view}; colour and shape: comparison with England at "
                  f"{pct(conf)}. {text}", [SIZE_NOTE])
    frame["indicator_id"] = indicator_id
    frame["period"] = period
    frame["confidence"] = conf
    return chart, Table("size", title, frame, caption=chart.caption)


def _smooth(x: np.ndarray, y: np.ndarray) -> tuple[list[tuple[float, float, float, float]], str]:
    from scipy.stats import spearmanr
    from statsmodels.nonparametric.smoothers_lowess import lowess

    lx = np.log10(x)
    grid = np.linspace(lx.min(), lx.max(), 25)
    rng = np.random.default_rng(0)
    boots = []
    with warnings.catch_warnings():  # bootstrap resamples with tied sizes make lowess warn harmlessly
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = lowess(y, lx, frac=0.6, xvals=grid)
        for _ in range(60):
            i = rng.integers(0, len(x), len(x))
            if np.unique(lx[i]).size < 3:
                continue
            boots.append(lowess(y[i], lx[i], frac=0.6, xvals=grid))
    b = np.array(boots)
    lo = np.nanpercentile(b, 2.5, axis=0) if len(boots) else fit
    hi = np.nanpercentile(b, 97.5, axis=0) if len(boots) else fit
    res = spearmanr(x, y)
    rho, p = float(res.statistic), float(res.pvalue)
    text = f"Spearman's rank correlation of size and value: {rho:.2f} (p = {p:.2g})."
    return [(float(10**g), float(f), float(a), float(b_)) for g, f, a, b_ in zip(grid, fit, lo, hi, strict=True)
            if math.isfinite(f)], text


ENGINE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "profiles": ("Group profile over time", (
        "period", "n_practices", "patients", "n_commissioners", "n_icbs", "n_postcode_districts", "imd_score",
        "pct_rural", "pct_gms", "pct_pms", "pct_apms", "pct_dispensing")),
    "trends": ("Trends: the group, England, and the group's trend minus England's", (
        "entity_type", "entity_id", "indicator_id", "span", "segment_first", "segment_last", "n_periods",
        "statistic", "scale", "value", "lower", "upper", "p_value", "classification", "method")),
    "convergence": ("Is variation between member practices narrowing?", (
        "indicator_id", "segment_first", "segment_last", "n_practices", "statistic", "value", "lower", "upper",
        "p_value", "direction", "first_value", "last_value", "method")),
    "dispersion": ("Variation between member practices by year", (
        "indicator_id", "period", "n_practices", "statistic", "value", "method")),
    "size_effect": ("Is bigger better? Change in performance relative to England per doubling of size", (
        "indicator_id", "period", "n_groups", "kinds", "patients_median", "statistic", "value", "lower", "upper",
        "p_value", "per_doubling_natural", "natural_unit", "nonlinearity_p", "conclusion", "method")),
    "size_bands": ("Relative performance by size band", (
        "indicator_id", "period", "band", "n_groups", "mean_relative", "lower", "upper", "enough_groups")),
    "characteristics": ("Group characteristics and relative performance (meta-regression)", (
        "indicator_id", "period", "model", "term", "per", "value", "lower", "upper", "p_value", "direction",
        "n_groups", "method")),
}


def evaluation_table(data: ResultsData, name: str, group_id: str | None = None, indicator_id: str | None = None,
                     conf: float = 0.95, latest_only: bool = False) -> Table:
    """One of the evaluation engine's tables, filtered (group, indicator, confidence), or a "not computed" note."""
    title, columns = ENGINE_TABLES.get(name, (name, ()))
    t = data.table(name)
    if t is None:
        return Table(name, title, pd.DataFrame(), missing=f"not computed: the results folder has no {name} table "
                     "(the evaluation engine writes it with gpscale evaluate)")
    if group_id is not None:
        for col in ("group_id", "entity_id"):
            if col in t.columns:
                keep = t[col].astype(str) == group_id
                if col == "entity_id" and "entity_type" in t.columns:
                    keep |= t["entity_type"].astype(str) == "england"
                t = t[keep]
                break
    if indicator_id is not None and "indicator_id" in t.columns:
        t = t[t["indicator_id"] == indicator_id]
    if "confidence" in t.columns and (t["confidence"] == conf).any():
        t = t[t["confidence"] == conf]
    if latest_only and "period" in t.columns and "indicator_id" in t.columns and len(t):
        t = t[t["period"] == t.groupby("indicator_id")["period"].transform("max")]
    if "indicator_id" in t.columns:
        titles = {k: v.title for k, v in data.indicators.items()}
        t = t.assign(indicator_id=[titles.get(i, i) for i in t["indicator_id"]])
    cols = [c for c in columns if c in t.columns] or list(t.columns)
    note = f"{len(t)} rows" + (f"; {pct(conf)} intervals" if "confidence" in t.columns else "") + \
        f"; membership view {data.view}"
    if t.empty:
        return Table(name, title, t[cols].reset_index(drop=True), caption=note,
                     missing="the evaluation engine wrote no rows for this selection")
    return Table(name, title, t[cols].reset_index(drop=True), caption=note)


def practice_summary(data: ResultsData, code: str, conf: float = 0.95) -> dict[str, Any]:
    """A practice: its details, its groups over time and its latest value on each indicator."""
    p = data.practices[data.practices["practice_code"] == code]
    info = {k: _clean(v) for k, v in p.iloc[0].items()} if not p.empty else {"practice_code": code}
    for k in ("open_date", "close_date"):
        v = info.get(k)
        info[k] = str(v)[:10] if v is not None and str(v) not in ("NaT", "None") else ""
    spells = data.spells_by_practice.get(code, pd.DataFrame(columns=["group_id", "start_date", "end_date"]))
    groups = spells.assign(name=spells["group_id"].map(data.group_names).fillna(spells["group_id"]))
    groups = groups[["group_id", "name", "start_date", "end_date"]].copy()
    for c in ("start_date", "end_date"):
        groups[c] = pd.to_datetime(groups[c]).dt.strftime("%Y-%m-%d").fillna("")
    values = data.practice_rows(code) if data.pv_con is not None else pd.DataFrame()
    latest_rows = []
    if not values.empty:
        fy = values[values["period_type"] == "fy"].sort_values("period")
        last = {str(r["indicator_id"]): r for r in fy.groupby("indicator_id", sort=False).tail(1).to_dict("records")}
        for ind in data.indicators.values():
            x = last.get(ind.id)
            if x is None:
                continue
            period = str(x["period"])
            latest_rows.append({"indicator_id": ind.id, "indicator": ind.title, "period": period,
                                "numerator": x["numerator"], "denominator": x["denominator"], "value": x["value"],
                                "england_value": data.england_value(ind.id, period, conf),
                                "unit": ind.unit, "suppressed": bool(x["suppressed"]),
                                "suppression": str(x["suppression"])})
    return {"info": info, "groups": groups.reset_index(drop=True), "latest": pd.DataFrame(latest_rows),
            "values": values}


def practice_trend(data: ResultsData, code: str, indicator_id: str, values: pd.DataFrame) -> tuple[Chart, pd.DataFrame]:
    ind = data.indicators[indicator_id]
    v = values[(values["indicator_id"] == indicator_id) & (values["period_type"] == "fy")].sort_values("period")
    e = data.england[(data.england["indicator_id"] == indicator_id) & (data.england["confidence"] == 0.95)
                     & (data.england["period_type"] == "fy")]
    periods = sorted(set(v["period"]) | set(e["period"]))
    vi, ei = v.set_index("period"), e.set_index("period")
    pv = [_clean(vi.at[p, "value"]) if p in vi.index else None for p in periods]
    ev = [_clean(ei.at[p, "value"]) if p in ei.index else None for p in periods]
    name = data.practice_names.get(code, code)
    chart = Chart(f"{ind.title}: {name} and England",
                  svg.trend(periods, [svg.Series(name, pv, None, None, svg.GROUP),
                                      svg.Series("England", ev, None, None, svg.ENGLAND, dashed=True)],
                            f"{ind.title}: {name} and England", ind.unit, ind.breaks),
                  f"Practice values by financial year (hidden values, counts below {data.threshold} or protecting one, "
                  "are gaps); England pooled over all practices.", [TREND_NOTE])
    frame = pd.DataFrame({"practice_code": code, "indicator_id": indicator_id, "period": periods,
                          "value": pv, "england_value": ev})
    return chart, frame
