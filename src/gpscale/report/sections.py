"""The content of every report section and dashboard page, read from the disclosed results bundle.

Each function returns plain data (data frames for tables, SVG text for charts, and the notes that go
with them) so the static reports, the web pages, the CSV downloads and the JSON API all show the same
numbers. Nothing here is computed: values, intervals, funnel limits and positions, XmR limits, spreads,
trend classifications and the size curve are the bundle's tables (:mod:`gpscale.evaluate`), and a
hidden cell is hidden because the bundle says so. A table the bundle lacks is reported as "not
computed".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from gpscale.charts import svg
from gpscale.charts.palette import SUPPRESSED, SYMBOLS
from gpscale.report.data import ENGLAND_ID, Indicator, ResultsData, row_dicts

CONFIDENCES = (0.95, 0.998)
_TEXT = pd.Series([""]).dtype  # the dtype pandas gives a column of text (Arrow-backed "str")
COMPARISON_ORDER = ("better", "similar", "worse", "higher", "lower", "not compared", SUPPRESSED)
OUTSIDE = ("better", "worse", "higher", "lower")
KIND_LABELS = {
    "pcn": "Primary Care Network",
    "federation": "federation",
    "super_partnership": "super-partnership",
    "multi_site": "multi-site provider",
    "network": "network",
    "custom": "custom group",
}

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
    "how far from the comparator's value (England's unless another was chosen) a unit of that size can fall "
    "by chance alone (95% dashed, 99.8% solid); "
    "small units scatter more. Points outside the 99.8% lines are unlikely to differ by chance. Where the "
    "limits are adjusted they also allow for the ordinary variation between units that no practice "
    "controls, so fewer units are flagged: for practices by Spiegelhalter's overdispersion adjustment "
    "(2005), for groups as the range random groups of England's practices of that size fall in (the "
    "scorecard's evaluative comparison)."
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
    "The trend named under each chart is the evaluation's trend for the latest segment between data breaks."
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


def not_computed(table: str) -> str:
    return f"not computed: the results bundle has no {table} table (gpscale evaluate writes it)"


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
    """``v`` as JSON takes it: numpy scalars as Python ones, NaN, infinities and missing values as None."""
    t = type(v)
    if t is str or t is bool or t is int:  # the commonest cells, which the checks below return as they are
        return v
    if t is float:
        return v if math.isfinite(v) else None
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
    return row_dicts(frame, _clean)


def shown_label(comparison: Any, suppressed: Any) -> str:
    """The label a reader sees: the bundle's comparison, or "suppressed" where the gate hid the row."""
    if bool(suppressed) if suppressed is not None and suppressed is not pd.NA else False:
        return SUPPRESSED
    return "not compared" if comparison is None or comparison is pd.NA or str(comparison) in ("", "nan") \
        else str(comparison)


# ----------------------------------------------------------------------------------------------- England


def england_overview(data: ResultsData, conf: float = 0.95) -> Table:
    """Per indicator, England's latest value and how many groups are better, similar or worse (made once per
    bundle and level: the same for every request; callers only read it)."""
    return data.once(f"england_overview|{conf}", lambda: _england_overview(data, conf))


def _england_overview(data: ResultsData, conf: float) -> Table:
    t = data.table("indicator_summary", "confidence = ?", [conf])
    title = "Indicators: England and the groups compared with it (latest year of each)"
    if t is None:
        return Table("england", title, pd.DataFrame(), missing=not_computed("indicator_summary"))
    t = t[t["indicator_id"].isin(list(data.indicators))].copy()
    t.insert(1, "indicator", [data.indicators[i].title for i in t["indicator_id"]])
    t.insert(2, "domain", [data.indicators[i].domain for i in t["indicator_id"]])
    t["unit"] = [data.indicators[i].unit for i in t["indicator_id"]]
    t["polarity"] = [data.indicators[i].polarity_text for i in t["indicator_id"]]
    t = t.rename(columns={"n_practices": "practices", "n_hidden": "n_suppressed", "n_groups": "groups"})
    order = {k: n for n, k in enumerate(data.indicators)}
    t = t.sort_values("indicator_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return Table(
        "england", title, t,
        caption=f"England's value with its {pct(conf)} interval, and the number of groups better, similar or worse "
        f"than England at {pct(conf)} (group intervals against England's value; membership view {data.view}). "
        f"Data version {data.data_version}.",
        notes=[SIMILAR_NOTE, RANK_NOTE],
    )


def england_trends(data: ResultsData) -> list[Chart]:
    """England's value over the years for each indicator (drawn once per bundle: the bundle never changes)."""
    return data.once("england_trends", lambda: _england_trends(data))


def _england_trends(data: ResultsData) -> list[Chart]:
    charts = []
    e_all = data.england[(data.england["period_type"] == "fy") & (data.england["confidence"] == 0.95)]
    for ind in data.indicators.values():
        e = e_all[e_all["indicator_id"] == ind.id].sort_values("period")
        if e.empty:
            continue
        periods = e["period"].astype(str).tolist()
        s = svg.Series("England", e["value"].tolist(), e["lower"].tolist(), e["upper"].tolist(), svg.ENGLAND)
        charts.append(Chart(ind.title, svg.trend(periods, [s], ind.title, ind.unit, ind.breaks, width=420, height=220),
                            f"England, {periods[0]} to {periods[-1]}; {e['method'].iloc[0]}."))
    return charts


# ------------------------------------------------------------------------------------------------ groups


def groups_table(data: ResultsData, conf: float = 0.95, kind: str | None = None) -> Table:
    """Every group: kind, practices, and indicators better / similar / worse in the latest year (made once per
    bundle, level and registry kind — a handful — and only read by callers; any other kind is made per request,
    so an address cannot grow the kept tables)."""
    if kind is not None and kind not in set(data.groups["kind"].dropna().astype(str)):
        return _groups_table(data, conf, kind)
    return data.once(f"groups_table|{conf}|{kind}", lambda: _groups_table(data, conf, kind))


def _groups_table(data: ResultsData, conf: float, kind: str | None) -> Table:
    title = "Groups compared with England (latest year of each indicator)"
    s = data.table("summary", "confidence = ?", [conf])
    if s is None:
        return Table("groups", title, pd.DataFrame(), missing=not_computed("summary"))
    s = s.rename(columns={"hidden": SUPPRESSED})
    base = data.groups[["group_id", "name", "kind"]].merge(s, on="group_id", how="inner")
    keep = ["group_id", "name", "kind", "practices", *COMPARISON_ORDER, "better_fdr", "worse_fdr"]
    frame = base[[c for c in keep if c in base.columns]]
    if kind is not None:
        frame = frame[frame["kind"] == kind]
    return Table(
        "groups", title, frame.reset_index(drop=True),
        caption=f"Number of indicators on which each group is better, similar or worse than England at {pct(conf)} "
        f"(membership view {data.view}; practices = most members contributing to any indicator in its latest year; "
        "hidden = indicators hidden by disclosure control). Listed alphabetically, not ranked.",
        notes=[RANK_NOTE, FDR_NOTE],
    )


def group_info(data: ResultsData, group_id: str) -> dict[str, Any]:
    """The group's registry row (a copy; the rows are indexed once per bundle)."""
    found = _group_registry(data).get(group_id)
    return dict(found) if found is not None else {"group_id": group_id, "name": group_id}


def _group_registry(data: ResultsData) -> dict[str, dict[str, Any]]:
    """Every group's registry row by ID, JSON-ready (made once per bundle)."""
    return data.once("group_info", lambda: {str(r["group_id"]): r for r in records(data.groups)})


#: A group's member table's columns (those the bundle has), in this order.
_MEMBER_COLUMNS = ("practice_code", "name", "start_date", "end_date", "postcode", "commissioner", "icb",
                   "contract_type", "rurality", "status")


def group_profile(data: ResultsData, group_id: str) -> dict[str, Any]:
    """The group's registry facts and its members (the spells the evaluation used)."""
    info = group_info(data, group_id)
    info["kind_label"] = KIND_LABELS.get(str(info.get("kind")), str(info.get("kind") or "group"))
    members = data.group_members_arrow(group_id)
    names = members.column_names
    keep = [c for c in _MEMBER_COLUMNS if c in names]
    now = [bool(c) for c in members["current"].to_pylist()]

    def of_current(column: str) -> list[Any]:  # the current members' known values
        return [v for v, c in zip(members[column].to_pylist(), now, strict=True) if c and _clean(v) is not None]

    facts = {
        "current_members": len(set(of_current("practice_code"))),
        "ever_members": len({v for v in members["practice_code"].to_pylist() if _clean(v) is not None}),
        "commissioners": len(set(of_current("commissioner"))) if "commissioner" in names else None,
        "icbs": len(set(of_current("icb"))) if "icb" in names else None,
        # most common first, ties in order of first appearance (as pandas' value_counts orders them)
        "contract_mix": dict(Counter(of_current("contract_type")).most_common()) if "contract_type" in names
        else {},
    }
    return {"info": info, "facts": facts, "members": members.select(keep).to_pandas(use_threads=False)}


def group_size(data: ResultsData, group_id: str) -> pd.DataFrame:
    """The group's practices with data in each financial year (its size download; the two columns of the group's
    financial-year rows at one level, filtered in the read)."""
    rows = data.table("scorecard", "entity_id = ? AND confidence = ? AND period_type = 'fy'", [group_id, 0.95],
                      columns=["period", "n_practices"])
    if rows is None:
        rows = data.england.iloc[0:0]
    size = rows.groupby("period")["n_practices"].max()
    return size.reset_index().rename(columns={"n_practices": "practices_with_data"})


#: The scorecard columns a group page's rug, spine, trend and summary show.
_YEAR_COLUMNS = ("indicator_id", "period", "value", "lower", "upper", "comparator_value", "comparison", "suppressed",
                 "suppression", "method")


@dataclass(frozen=True)
class GroupYears:
    """One group's financial-year scorecard rows at one confidence level, as dicts made once and shared by the
    rug, spine, trend and summary of a page (each row also holds ``shown``, the label a reader sees)."""

    rows: list[dict[str, Any]]  # by indicator, then period (the scorecard's order)
    by_key: dict[tuple[str, str], dict[str, Any]]

    def of(self, indicator_id: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["indicator_id"] == indicator_id]


def group_years(data: ResultsData, group_id: str, conf: float = 0.95) -> GroupYears:
    """The group's financial-year rows at ``conf`` (only the columns the pages show, read once)."""
    t = data.table("scorecard", "entity_id = ? AND confidence = ? AND period_type = 'fy'", [group_id, conf],
                   columns=_YEAR_COLUMNS, order="indicator_id, period")
    rows = [] if t is None else row_dicts(t)
    for r in rows:
        r["indicator_id"], r["period"] = str(r["indicator_id"]), str(r["period"])
        r["shown"] = shown_label(r["comparison"], r["suppressed"])
    return GroupYears(rows, {(r["indicator_id"], r["period"]): r for r in rows})


def rug(data: ResultsData, group_id: str, conf: float = 0.95,
        years: GroupYears | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Tartan rug: indicators × financial years, each cell the value and its comparison with England."""
    years = group_years(data, group_id, conf) if years is None else years
    lookup = years.by_key
    periods = sorted({p for _, p in lookup})
    have = {i for i, _ in lookup}
    grid: list[dict[str, Any]] = []
    for ind in data.indicators.values():
        if ind.id not in have:
            continue
        cells = []
        for p in periods:
            x = lookup.get((ind.id, p))
            if x is None:
                cells.append({"period": p, "cls": "not-compared", "text": "", "label": "no data", "title": "no data"})
                continue
            comp = x["shown"]
            title = (f"{ind.title}, {p}: {svg.fmt(x['value'], 2)} ({svg.fmt(x['lower'], 2)} to "
                     f"{svg.fmt(x['upper'], 2)}); England {svg.fmt(x['comparator_value'], 2)}; {comp}")
            if comp == SUPPRESSED:
                title = f"{ind.title}, {p}: hidden by disclosure control ({x['suppression']})"
            cells.append({"period": p, "cls": comp.replace(" ", "-"), "text": svg.fmt(x["value"], 1),
                          "label": SYMBOLS.get(comp, comp), "title": title})
        grid.append({"id": ind.id, "title": ind.title, "unit": ind.unit, "cells": cells})
    return periods, grid


#: The scorecard download's columns.
SCORECARD_COLUMNS = (
    "indicator_id", "period", "value", "lower", "upper", "comparator_value", "comparison_type", "comparison",
    "placebo_flagged_rate", "descriptive_lower", "descriptive_upper", "descriptive_comparison",
    "descriptive_placebo_flagged_rate", "confidence", "method", "numerator", "denominator", "n_practices",
    "suppressed", "suppression", "membership_view", "definition_version", "data_version")


def scorecard_table(data: ResultsData, group_id: str, conf: float = 0.95) -> pd.DataFrame:
    """The rug's rows with intervals, methods and counts (the scorecard download).

    Filtered by level and period type, narrowed and sorted in the read (the bundle's sort is stable, so the rows
    come in the order a whole-group read filtered and sorted with pandas gives them)."""
    rows = data.table("scorecard", "entity_id = ? AND confidence = ? AND period_type = 'fy'", [group_id, conf],
                      columns=SCORECARD_COLUMNS, order="indicator_id, period")
    frame = rows if rows is not None else data.england.iloc[0:0][list(SCORECARD_COLUMNS)].reset_index(drop=True)
    frame.insert(0, "group_id", group_id)
    return frame


def _spine(data: ResultsData, group_id: str, conf: float,
           years: GroupYears | None) -> tuple[list[svg.SpineRow], list[dict[str, Any]]]:
    """The spine chart's rows and the same rows as its download shows them."""
    mine = (group_years(data, group_id, conf) if years is None else years).by_key
    spread = _group_spread(data, conf)
    out, spine_rows = [], []
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        d = spread.get((ind.id, str(period)))
        ev = data.england_value(ind.id, period, conf)
        if d is None or ev is None:
            continue
        x = mine.get((ind.id, str(period)), {})
        v = x.get("value")
        value = float(v) if v is not None and pd.notna(v) else None
        comp = x.get("shown", "not compared")
        better_right = {"high_is_good": True, "low_is_good": False}.get(ind.polarity)
        short = ind.title if len(ind.title) <= 40 else ind.title[:39].rstrip() + "…"
        spine_rows.append(svg.SpineRow(f"{short} ({str(period)[2:]})", ev, d["minimum"], d["q1"], d["q3"],
                                       d["maximum"], value, comp, better_right))
        out.append({"indicator_id": ind.id, "indicator": ind.title, "period": period, "value": value,
                    "comparison": comp, "england": ev, "groups_min": d["minimum"], "groups_q1": d["q1"],
                    "groups_q3": d["q3"], "groups_max": d["maximum"], "confidence": conf})
    return spine_rows, out


def spine_chart(data: ResultsData, group_id: str, conf: float = 0.95, years: GroupYears | None = None) -> Chart:
    """The group's latest value on each indicator against England and the spread of all groups."""
    name = data.group_name(group_id)
    return Chart(
        f"Spine chart: {name}",
        svg.spine(_spine(data, group_id, conf, years)[0], f"{name} against England and all groups"),
        f"Latest year of each indicator; {pct(conf)} intervals against England's value; spread of published group "
        f"values (view {data.view}).", [SPINE_NOTE],
    )


def spine_table(data: ResultsData, group_id: str, conf: float = 0.95) -> pd.DataFrame:
    """The spine chart's values (its download)."""
    return pd.DataFrame(_spine(data, group_id, conf, None)[1])


def _group_spread(data: ResultsData, conf: float) -> dict[tuple[str, str], dict[str, Any]]:
    """The spread of all groups' values per indicator and year at ``conf`` (made once per bundle)."""
    return data.once(f"group_distribution|{conf}", lambda: _spread(data, conf))


def _spread(data: ResultsData, conf: float) -> dict[tuple[str, str], dict[str, Any]]:
    """The spread of all groups' values by (indicator, period) at ``conf`` (one small bundle-wide table)."""
    dist = data.table("group_distribution", "confidence = ?", [conf])
    return {} if dist is None else {(str(r["indicator_id"]), str(r["period"])): r for r in row_dicts(dist)}


def england_by_year(data: ResultsData, indicator_id: str, conf: float) -> dict[str, Any]:
    """England's value by financial year for one indicator and confidence level (indexed once per bundle)."""
    return _england_years(data).get((indicator_id, conf), {})


def _england_years(data: ResultsData) -> dict[tuple[str, float], dict[str, Any]]:
    """England's value by financial year, by indicator and confidence level (made once per bundle)."""
    def index() -> dict[tuple[str, float], dict[str, Any]]:
        fy = data.england[data.england["period_type"] == "fy"]
        out: dict[tuple[str, float], dict[str, Any]] = {}
        for i, c, p, v in zip(fy["indicator_id"].tolist(), fy["confidence"].tolist(), fy["period"].astype(str).tolist(),
                              fy["value"].tolist(), strict=True):
            out.setdefault((str(i), float(c)), {})[p] = v
        return out

    return data.once("england_by_year", index)


#: The trend columns pages and board packs show of an entity's latest trend.
_TREND_COLUMNS = ("indicator_id", "segment_first", "segment_last", "classification", "method")


def latest_trends(data: ResultsData, entity_id: str, conf: float = 0.95) -> dict[str, dict[str, Any]]:
    """The evaluation's trend of the latest segment for each indicator (entity's own trend), by indicator: the
    segment, its classification and method."""
    t = data.table("trends", "entity_id = ? AND confidence = ? AND statistic = 'trend' AND latest_segment",
                   [entity_id, conf], columns=[c for c in _TREND_COLUMNS if c in data.bundle.columns("trends")])
    if t is None:
        return {}
    return {str(r["indicator_id"]): r for r in row_dicts(t)}


class _TrendRows(NamedTuple):
    """A trend chart's periods, the group's rows and England's values by period, and the group's method."""

    periods: list[str]
    group: dict[str, dict[str, Any]]
    england: dict[str, Any]
    method: str

    def of_group(self, column: str) -> list[Any]:
        """The group's ``column`` in each period (None where it has no row), JSON-ready."""
        return [_clean(self.group[p][column]) if p in self.group else None for p in self.periods]

    def of_england(self) -> list[Any]:
        """England's value in each period (None where it has none), JSON-ready."""
        return [_clean(self.england[p]) if p in self.england else None for p in self.periods]


def _trend(data: ResultsData, group_id: str, indicator_id: str, conf: float, years: GroupYears | None) -> _TrendRows:
    """The rows of one indicator's trend chart of a group (and its download)."""
    g = (group_years(data, group_id, conf) if years is None else years).of(indicator_id)
    england = england_by_year(data, indicator_id, conf)
    gi = {r["period"]: r for r in g}
    return _TrendRows(sorted(set(gi) | set(england)), gi, england, str(g[0]["method"]) if g else "")


def trend_chart(data: ResultsData, group_id: str, indicator_id: str, conf: float = 0.95,
                years: GroupYears | None = None, trends: dict[str, dict[str, Any]] | None = None) -> Chart:
    """The group's yearly values with intervals against England's, and the evaluation's latest trend."""
    ind = data.indicators[indicator_id]
    rows = _trend(data, group_id, indicator_id, conf, years)
    periods, method = rows.periods, rows.method
    name = data.group_name(group_id)
    series = [svg.Series(name, rows.of_group("value"), rows.of_group("lower"), rows.of_group("upper"), svg.GROUP),
              svg.Series("England", rows.of_england(), None, None, svg.ENGLAND, dashed=True)]
    tr = (latest_trends(data, group_id, conf) if trends is None else trends).get(indicator_id)
    test = (f" Latest trend ({tr['segment_first']} to {tr['segment_last']}): {tr['classification']}"
            f" ({tr['method']}).") if tr else ""
    return Chart(
        f"{ind.title}: {name} and England",
        svg.trend(periods, series, f"{ind.title}: {name} and England", ind.unit, ind.breaks),
        f"{method}. Membership view {data.view}. {periods[0] if periods else ''} to {periods[-1] if periods else ''}."
        + test,
        [TREND_NOTE],
    )


def trend_table(data: ResultsData, group_id: str, indicator_id: str, conf: float = 0.95) -> pd.DataFrame:
    """The trend chart's values (its download)."""
    rows = _trend(data, group_id, indicator_id, conf, None)
    frame = pd.DataFrame({"period": rows.periods, "group_value": rows.of_group("value"),
                          "group_lower": rows.of_group("lower"), "group_upper": rows.of_group("upper"),
                          "comparison": [rows.group[p]["shown"] if p in rows.group else "" for p in rows.periods],
                          "england_value": rows.of_england()})
    frame.insert(0, "indicator_id", indicator_id)
    frame.insert(0, "group_id", group_id)
    frame["confidence"] = conf
    frame["method"] = rows.method
    frame["membership_view"] = data.view
    return frame


def group_summary(data: ResultsData, group_id: str, conf: float = 0.95, years: GroupYears | None = None,
                  trends: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one-page summary: indicators better / worse than England in their latest year, improving / worsening."""
    shown = (group_years(data, group_id, conf) if years is None else years).by_key
    out: dict[str, list[str]] = {"better": [], "worse": [], "higher": [], "lower": [], "similar": [],
                                 "hidden": [], "improving": [], "worsening": []}
    for ind in data.indicators.values():
        row = shown.get((ind.id, str(data.latest_fy(ind.id))))
        if row is None:
            continue
        label = row["shown"]
        key = "hidden" if label == SUPPRESSED else label
        if key in out:
            out[key].append(f"{ind.title} ({data.latest_fy(ind.id)})")
    for ind_id, t in (latest_trends(data, group_id, conf) if trends is None else trends).items():
        title = data.indicators[ind_id].title if ind_id in data.indicators else ind_id
        text = str(t.get("classification", ""))
        if "getting better" in text:
            out["improving"].append(f"{title} ({t['segment_first']}–{t['segment_last']})")
        elif "getting worse" in text:
            out["worsening"].append(f"{title} ({t['segment_first']}–{t['segment_last']})")
    return out



# ------------------------------------------------------------------------------------------------ funnels


@dataclass
class FunnelResult:
    chart: Chart
    table: Table
    outside: pd.DataFrame
    method: str
    hidden: int


class _View(NamedTuple):
    """A funnel's chart and table, its rows outside the limits, and the comparators its rows are placed around."""

    chart: Chart
    frame: pd.DataFrame
    outside: pd.DataFrame
    method: str
    hidden: int
    centres: set[str]


def _x_label(ind: Indicator) -> str:
    return {"proportion": "denominator (eligible count)", "rate": "denominator (weighted population)",
            "standardised_ratio": "expected count", "weighted_proportion": "effective respondents",
            "score": "maximum points"}.get(ind.value_type, "denominator")


def _limits_prefix(ind: Indicator, adjust: bool) -> str:
    """The placement columns' prefix: ``od_`` for the adjusted limits (a score's limits are always adjusted)."""
    return "od_" if adjust or ind.value_type == "score" else ""


def _level(conf: float) -> str:
    return "95" if conf == 0.95 else "998"


def _placement_columns(data: ResultsData, table: str, ind: Indicator, conf: float, adjust: bool,
                       id_col: str) -> list[str]:
    """The columns of a placement table that :func:`_funnel_view` shows (the tables hold both sets of limits and
    comparisons at both levels: reading only one set halves the decoding)."""
    pre, k = _limits_prefix(ind, adjust), _level(conf)
    wanted = {id_col, "suppressed", "numerator", "denominator", "value", "comparator", "target", f"{pre}method",
              f"{pre}position", f"{pre}comparison_{k}", *(f"{pre}{side}_{lv}" for side in ("lower", "upper")
                                                         for lv in ("95", "998"))}
    return [c for c in data.bundle.columns(table) if c in wanted]


_CURVE_KEY = ("indicator_id", "period", "units", "limits")
_CURVE = ("x", "lower_95", "upper_95", "lower_998", "upper_998")


def _funnel_curve(data: ResultsData, indicator_id: str, period: str, units: str,
                  limits: str) -> dict[str, list[float]] | None:
    """England's limit lines (``x`` and the four limits, 60 points) of one funnel, in order of size as a read of its
    rows ordered by ``x`` gives them (no rows: empty lists); None when the bundle has no ``funnel_curves`` table.

    The table (~40,000 rows) is read once per bundle (~30 ms, ~2 MB kept) and its curves found by their keys: a
    read per funnel page costs ~2 ms."""
    found = _curves(data)
    if found is None:
        return None
    arrays, at = found
    rows = at.get((indicator_id, period, units, limits))
    return {c: [] if rows is None else arrays[c][rows].tolist() for c in _CURVE}


def _curves(data: ResultsData) -> tuple[dict[str, np.ndarray], dict[tuple[str, ...], np.ndarray]] | None:
    """Every limit line's columns in order of ``x``, and each curve's rows by its key (made once per bundle)."""
    def make() -> tuple[dict[str, np.ndarray], dict[tuple[str, ...], np.ndarray]] | None:
        whole = data.table("funnel_curves", columns=[*_CURVE_KEY, *_CURVE])
        if whole is None:
            return None
        whole = whole.sort_values("x", kind="stable")  # stable: each curve's rows in the order its own read sorts
        return {c: whole[c].to_numpy(float) for c in _CURVE}, whole.groupby(list(_CURVE_KEY), sort=False).indices

    return data.once("funnel_curves", make)


def _names(ids: list[str], names: dict[str, str], default: str | None) -> list[str]:
    """Each unit's name from ``names`` (as ``Series.map(names).fillna(...)``): where the name is unknown or missing,
    ``default``, or the unit's own ID when ``default`` is None."""
    out = []
    for u in ids:
        n = names.get(u)
        out.append((u if default is None else default) if n is None or n != n else n)  # n != n: NaN
    return out


def _funnel_view(data: ResultsData, ind: Indicator, placed: pd.DataFrame, units: str, period: str, conf: float,
                 adjust: bool, title: str, id_col: str, front: dict[str, str],
                 names: dict[str, str], default: str | None, draw: bool) -> _View:
    """Chart and table of a placement table (``funnels`` or ``group_funnels`` rows, at least one) and its limit
    lines; the table's columns are ``front`` (constant columns), the unit's ID and name (:func:`_names`), then the
    placement. Built from column arrays in one frame (no pandas filter, insert or assignment per column).
    ``draw=False``: the chart's SVG is left empty (a download or an API answer shows only the table). The rows
    outside the limits and the set of comparators come from the column lists (no pandas filter or scan)."""
    pre, k = _limits_prefix(ind, adjust), _level(conf)
    hiding = placed["suppressed"].astype(bool).to_numpy()
    hidden = int(hiding.sum())
    keep = None if not hidden else ~hiding
    n = len(placed) - hidden

    def col(c: str) -> np.ndarray:
        a = placed[c].to_numpy(float)
        return a if keep is None else a[keep]

    def text(c: str) -> Any:
        """A text column as ``astype(str)`` gives it; one already of pandas' text dtype is passed on as it is (no
        round trip through Python strings). No rows: an empty array of objects, as the conversion gives."""
        s = placed[c]
        a = s.array if n and s.dtype == _TEXT else s.astype(str).to_numpy()
        return a if keep is None else a[keep]

    def const(v: str) -> Any:
        """A column of one text value, as a scalar broadcast into the frame gives it (without boxing it per row)."""
        return pd.array(np.full(n, v, dtype=object), dtype=_TEXT) if n else v

    id_array = text(id_col)
    ids = id_array.tolist()
    shown_names = _names(ids, names, default)
    comparison = text(f"{pre}comparison_{k}")
    comparisons = comparison.tolist()
    denominator, value, target = col("denominator"), col("value"), col("target")
    method = str(text(f"{pre}method")[0]) if n else ""
    each = text("comparator") if "comparator" in placed else None
    comparators = pd.unique(each).tolist() if each is not None else []
    finite = target[~np.isnan(target)].tolist()
    one_centre = len(comparators) == 1 and (comparators[0] == "England" or len(set(finite)) == 1)
    comparator = comparators[0] if one_centre else ("England" if not comparators else "")  # "": each its own centre
    ev = data.england_value(ind.id, period, conf)
    lims = ("lower_95", "upper_95", "lower_998", "upper_998")
    columns: dict[str, Any] = {**{c: const(v) for c, v in front.items()}, id_col: id_array,
                               "name": pd.array(shown_names, dtype=_TEXT) if n else np.array([], dtype=object),
                               "indicator_id": const(ind.id), "period": const(period)}
    if "numerator" in placed:
        columns["numerator"] = col("numerator")
    columns |= {"denominator": denominator, "value": value, **{c: col(f"{pre}{c}") for c in lims},
                "funnel_position": text(f"{pre}position"), "comparison": comparison,
                "comparator": each if comparators else const("England"), "comparator_value": target,
                "england_value": ev, "method": const(method), "membership_view": const(data.view)}
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    if not draw:
        lines, grid = {}, []
    elif comparator == "England":
        curve = _funnel_curve(data, ind.id, period, units, "adjusted" if pre else "phe")
        lines = {} if curve is None else {c: curve[c] for c in lims}
        grid = [] if curve is None else curve["x"]
    else:  # one comparator other than England: its limits at each unit's own size, joined in order of size
        by_size = frame.sort_values("denominator")
        lines, grid = {c: by_size[c].tolist() for c in lims}, by_size["denominator"].tolist()
    beyond = np.fromiter((c in OUTSIDE for c in comparisons), bool, n)
    outside = int(beyond.sum())
    named = units == "practices"
    points = [svg.FunnelPoint(f"{str(name).title()} ({unit})" if named else str(name), x, y, str(comp),
                              f"{name} ({unit}): {svg.fmt(y, 2)}; {comp}", named=named and comp in OUTSIDE)
              for unit, name, x, y, comp in zip(ids, shown_names, denominator.tolist(), value.tolist(), comparisons,
                                                strict=True)
              if math.isfinite(x) and math.isfinite(y)] if draw and comparator else []
    caption = (f"{method}. {n} {units} shown (view {data.view}), compared with "
               f"{comparator or 'their own comparators'}; outside the {pct(conf)} limits: {outside}."
               + (f" {hidden} {units} hidden by disclosure control." if hidden else ""))
    drawn = svg.funnel(points, grid, lines, float(target[0]) if n else (ev if ev is not None else float("nan")),
                       title, ind.unit, _x_label(ind), comparator=comparator,
                       judged=ind.polarity != "no_judgement") if draw and comparator else ""
    if not comparator:
        caption = ("No single funnel: each group is placed around its own comparator's value (its region, ICB or "
                   "peers without its own practices), so the table lists each one's comparator and limits. "
                   + caption)
    centres = set(comparators) if each is not None else ({"England"} if n else set())
    return _View(Chart(title, drawn, caption, [FUNNEL_NOTE]), frame, frame[beyond], method, hidden, centres)


def groups_funnel(data: ResultsData, indicator_id: str, period: str, conf: float = 0.95,
                  adjust: bool = True, draw: bool = True) -> FunnelResult:
    """All groups for one indicator and year in their comparator's funnel (the bundle's ``group_funnels``);
    ``draw=False`` leaves the chart undrawn (for the table alone)."""
    ind = data.indicators[indicator_id]
    title = f"{ind.title}, {period}: all groups"
    placed = data.table("group_funnels", "indicator_id = ? AND period = ?", [indicator_id, period],
                        columns=_placement_columns(data, "group_funnels", ind, conf, adjust, "group_id"))
    if placed is None or placed.empty:
        msg = not_computed("group_funnels") if placed is None else "no group funnel for this indicator and year"
        empty = pd.DataFrame(columns=["group_id", "name", "value", "comparison"])
        return FunnelResult(Chart(title, "", msg), Table("funnel", title, empty, missing=msg), empty, "", 0)
    view = _funnel_view(data, ind, placed, "groups", period, conf, adjust, title, "group_id", {}, data.group_names,
                        None, draw)
    view.chart.notes.append(RANK_NOTE)
    where = "England's funnel" if view.centres == {"England"} else "their comparators' funnels"
    table = Table("funnel", f"Groups in {where}: {ind.title}, {period}", view.frame, caption=view.chart.caption)
    return FunnelResult(view.chart, table, view.outside, view.method, view.hidden)


def member_funnel(data: ResultsData, group_id: str, indicator_id: str, period: str, conf: float = 0.95,
                  adjust: bool = True, draw: bool = True) -> FunnelResult:
    """One group's member practices for one indicator and year in its comparator's funnel (bundle's ``funnels``);
    ``draw=False`` leaves the chart undrawn (for the table alone)."""
    ind = data.indicators[indicator_id]
    name = data.group_name(group_id)
    title = f"{ind.title}, {period}: member practices of {name}"
    placed = data.table("funnels", "group_id = ? AND indicator_id = ? AND period = ?", [group_id, indicator_id, period],
                        columns=_placement_columns(data, "funnels", ind, conf, adjust, "practice_code"))
    if placed is None or placed.empty:
        msg = not_computed("funnels") if placed is None else "no member practices with values in this year"
        empty = pd.DataFrame(columns=["practice_code", "name", "value", "comparison"])
        return FunnelResult(Chart(title, "", msg), Table("members", title, empty, missing=msg), empty, "", 0)
    view = _funnel_view(data, ind, placed, "practices", period, conf, adjust, title, "practice_code",
                        {"group_id": group_id}, data.practice_names, "", draw)
    tab = Table("members", f"Member practices of {name}: {ind.title}, {period}", view.frame, caption=view.chart.caption)
    return FunnelResult(view.chart, tab, view.outside, view.method, view.hidden)


# ------------------------------------------------------------------------------------------------ SPC


SPC_COLUMNS = ("entity_id", "indicator_id", "period", "value", "mean", "lower_limit", "upper_limit", "variation",
               "rules")


def _spc_rows(data: ResultsData, entity_id: str, indicator_id: str) -> pd.DataFrame | None:
    """The entity's XmR rows of one indicator in order of month (the shown columns and the method); England's,
    shown on every all-groups page of a monthly indicator, are read once per bundle (a few dozen rows each)."""
    def read() -> pd.DataFrame | None:
        return data.table("spc", "entity_id = ? AND indicator_id = ?", [entity_id, indicator_id], order="period",
                          columns=[*SPC_COLUMNS, "method"])

    return data.once(f"spc|{indicator_id}", read) if entity_id == ENGLAND_ID else read()


def spc_chart(data: ResultsData, entity_id: str, indicator_id: str) -> tuple[Chart, Table]:
    """The bundle's XmR chart of the group's (or England's) latest monthly values, naming each rule that fired."""
    ind = data.indicators[indicator_id]
    name = "England" if entity_id == ENGLAND_ID else data.group_name(entity_id)
    title = f"{ind.title}: {name}, monthly XmR chart"
    m = _spc_rows(data, entity_id, indicator_id)
    if m is None or len(m) < 2:
        msg = not_computed("spc") if m is None else "no XmR chart: too few published monthly values"
        empty = pd.DataFrame(columns=["period", "value", "variation", "rules"])
        return Chart(title, "", msg), Table("spc", title, empty, missing=msg)
    periods = m["period"].astype(str).tolist()
    rules = m["rules"].astype(str).tolist()
    chart = Chart(title, svg.spc(periods, m["value"].tolist(), m["mean"].tolist(), m["lower_limit"].tolist(),
                                 m["upper_limit"].tolist(), m["variation"].astype(str).tolist(), rules, title,
                                 ind.unit),
                  f"{m['method'].iloc[0]}; the latest {len(m)} months ({periods[0]} to {periods[-1]}); group values "
                  f"pooled under view {data.view}.", [SPC_NOTE])
    frame = m[list(SPC_COLUMNS)]
    flagged = sum(r != "" for r in rules)
    tab = Table("spc", f"Special-cause signals: {name}, {ind.title}", frame.reset_index(drop=True),
                caption=f"{flagged} of {len(frame)} months flagged; the rules column names the rule that fired.")
    return chart, tab


# ------------------------------------------------------------------------------------------------ national


def size_vs_performance(data: ResultsData, indicator_id: str, period: str | None = None,
                        conf: float = 0.95) -> tuple[Chart, Table]:
    """Groups' values against their registered patients, with the evaluation's size curve and conclusion."""
    ind = data.indicators[indicator_id]
    period = period or data.latest_fy(indicator_id) or ""
    title = f"{ind.title}, {period}: value against group size"
    g = data.table("scorecard", "entity_type = 'group' AND indicator_id = ? AND period = ? AND confidence = ? "
                   "AND NOT suppressed", [indicator_id, period, conf])
    prof = data.table("profiles", "period = ?", [period])
    if g is None or prof is None or prof.empty:
        msg = not_computed("profiles") if prof is None else "no group sizes for this year"
        return Chart(title, "", msg), Table("size", title, pd.DataFrame(), missing=msg)
    frame = g[["entity_id", "value", "lower", "upper", "comparison"]].rename(columns={"entity_id": "group_id"})
    frame = frame.merge(prof[["group_id", "patients"]].drop_duplicates("group_id"), on="group_id", how="inner")
    frame.insert(1, "name", frame["group_id"].map(data.group_names).fillna(frame["group_id"]))
    curve = data.table("size_curve", "indicator_id = ? AND period = ? AND confidence = ?",
                       [indicator_id, period, conf], order="patients")
    effect = data.table("size_effect", "indicator_id = ? AND period = ? AND confidence = ?",
                        [indicator_id, period, conf])
    fit = [] if curve is None else [
        (float(r.patients), float(r.value), float(r.value_lower), float(r.value_upper))
        for r in curve.itertuples(index=False)
        if np.isfinite([r.patients, r.value, r.value_lower, r.value_upper]).all()]
    text = f"Fitted curve: the evaluation's size model ({curve['method'].iloc[0]}). " if fit and curve is not None \
        else "No fitted curve: " + (not_computed("size_curve") if curve is None else
                                    "the evaluation fitted none for this year") + ". "
    if effect is not None and not effect.empty and isinstance(effect["conclusion"].iloc[0], str):
        text += f"Conclusion: {effect['conclusion'].iloc[0]}"
    points = [svg.ScatterPoint(float(r.patients), float(r.value), str(r.name), str(r.comparison),
                               f"{r.name}: {svg.fmt(r.patients, 0)} registered patients, {svg.fmt(r.value, 2)} "
                               f"({r.comparison})")
              for r in frame.itertuples(index=False) if pd.notna(r.patients) and pd.notna(r.value)]
    chart = Chart(title, svg.scatter(points, title, "registered patients", ind.unit,
                                     data.england_value(indicator_id, period, conf), fit),
                  f"{len(frame)} groups, {period}, view {data.view}; colour and shape: comparison with England at "
                  f"{pct(conf)}. {text}", [SIZE_NOTE])
    frame["indicator_id"] = indicator_id
    frame["period"] = period
    frame["confidence"] = conf
    return chart, Table("size", title, frame, caption=chart.caption)


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
_UNIT_COLUMN = {"profiles": "group_id", "trends": "entity_id", "convergence": "entity_id", "dispersion": "entity_id"}


def _evaluation_rows(data: ResultsData, name: str, where: list[str], params: list[Any], indicator_id: str | None,
                     conf: float) -> pa.Table | None:
    """Rows of an evaluation table meeting ``where`` (and of one indicator when given), with the columns its page
    shows: the rows at level ``conf``, read alone; with none, every level as it stands. In Arrow: a page shapes
    them and makes one pandas frame at the end (a frame per step cost more than reading)."""
    present = set(data.bundle.columns(name))
    shown = [c for c in ENGINE_TABLES.get(name, (name, ()))[1] if c in present]
    wanted = [c for c in present if c in {*shown, "confidence", "period", "indicator_id"}] if shown else []
    if indicator_id is not None:
        where, params = [*where, "indicator_id = ?"], [*params, indicator_id]
    t = data.bundle.arrow(name, " AND ".join([*where, "confidence = ?"]), [*params, conf], columns=wanted) \
        if "confidence" in present else None
    return data.bundle.arrow(name, " AND ".join(where), params, columns=wanted) if t is None or not t.num_rows else t


def _england_evaluation_rows(data: ResultsData, name: str, indicator_id: str | None,
                             conf: float) -> pa.Table | None:
    """England's rows of an evaluation table (:func:`_evaluation_rows`), the same on every group's page: made once
    per bundle."""
    return data.once(f"evaluation-england|{name}|{indicator_id}|{conf}",
                     lambda: _evaluation_rows(data, name, ["entity_type = 'england'"], [], indicator_id, conf))


def _latest_rows(ids: list[Any], periods: list[Any]) -> list[bool]:
    """Which rows are of their indicator's latest period (rows without an indicator or a period are not)."""
    latest: dict[Any, Any] = {}
    for i, p in zip(ids, periods, strict=True):
        if i is not None and p is not None and (i not in latest or p > latest[i]):
            latest[i] = p
    return [i is not None and p is not None and p == latest[i] for i, p in zip(ids, periods, strict=True)]


def evaluation_table(data: ResultsData, name: str, group_id: str | None = None, indicator_id: str | None = None,
                     conf: float = 0.95, latest_only: bool = False) -> Table:
    """One of the evaluation's tables, filtered (group, indicator, confidence), or a "not computed" note. A group's
    rows of a table that also holds England's come first, then England's (the same on every group's page: read
    once per bundle)."""
    title, columns = ENGINE_TABLES.get(name, (name, ()))
    unit = _UNIT_COLUMN.get(name)
    if group_id is None or unit is None:
        rows = _evaluation_rows(data, name, [], [], indicator_id, conf)
    elif unit != "entity_id":
        rows = _evaluation_rows(data, name, [f"{unit} = ?"], [group_id], indicator_id, conf)
    else:
        own = _evaluation_rows(data, name, ["entity_id = ?"], [group_id], indicator_id, conf)
        england = _england_evaluation_rows(data, name, indicator_id, conf)
        parts = [] if own is None or england is None else [f for f in (own, england) if f.num_rows] or [own]
        rows = pa.concat_tables(parts) if parts else None
    if rows is None:
        return Table(name, title, pd.DataFrame(), missing=not_computed(name))
    if "indicator_id" in rows.column_names:
        ids = rows.column("indicator_id").to_pylist()
        if latest_only and "period" in rows.column_names:
            rows = rows.filter(pa.array(_latest_rows(ids, rows.column("period").to_pylist()), pa.bool_()))
            ids = rows.column("indicator_id").to_pylist()
        titles = {k: v.title for k, v in data.indicators.items()}
        rows = rows.set_column(rows.column_names.index("indicator_id"), "indicator_id",
                               pa.array([titles.get(i, i) for i in ids], pa.string()))
    cols = [c for c in columns if c in rows.column_names] or rows.column_names
    note = f"{rows.num_rows} rows" + (f"; {pct(conf)} intervals" if "confidence" in rows.column_names else "") + \
        f"; membership view {data.view}"
    t = rows.select(cols).to_pandas(use_threads=False)
    if t.empty:
        return Table(name, title, t, caption=note, missing="the evaluation wrote no rows for this selection")
    return Table(name, title, t, caption=note)


# ------------------------------------------------------------------------------------------------ practices


#: The practice value columns its page, its latest-year table and the API show (the download reads every column).
PRACTICE_VALUE_COLUMNS = ("indicator_id", "period", "period_type", "numerator", "denominator", "value", "suppressed",
                          "suppression")


def practice_summary(data: ResultsData, code: str, conf: float = 0.95) -> dict[str, Any]:
    """A practice: its details, its groups over time, its values (:data:`PRACTICE_VALUE_COLUMNS`) and its latest
    value on each indicator."""
    row = data.practice_info(code)
    info = {k: _clean(v) for k, v in row.items()} if row is not None else {"practice_code": code}
    for k in ("open_date", "close_date"):
        v = info.get(k)
        info[k] = str(v)[:10] if v is not None and str(v) not in ("NaT", "None") else ""
    values = data.practice_rows(code, PRACTICE_VALUE_COLUMNS)
    latest_rows = []
    if not values.empty:
        col = {c: values[c].tolist() for c in PRACTICE_VALUE_COLUMNS}
        # the rows come sorted by indicator and period (stably), so each indicator's last financial-year row is
        # its latest year (of equal years, the last read)
        last = {str(i): n for n, (i, t) in enumerate(zip(col["indicator_id"], col["period_type"], strict=True))
                if t == "fy"}
        for ind in data.indicators.values():
            n = last.get(ind.id)
            if n is None:
                continue
            period = str(col["period"][n])
            latest_rows.append({"indicator_id": ind.id, "indicator": ind.title, "period": period,
                                "numerator": col["numerator"][n], "denominator": col["denominator"][n],
                                "value": col["value"][n], "england_value": data.england_value(ind.id, period, conf),
                                "unit": ind.unit, "suppressed": bool(col["suppressed"][n]),
                                "suppression": str(col["suppression"][n])})
    return {"info": info, "groups": data.practice_groups(code), "latest": pd.DataFrame(latest_rows),
            "values": values}


def practice_trend(data: ResultsData, code: str, indicator_id: str, values: pd.DataFrame) -> Chart:
    """The practice's value on one indicator by financial year, with England's (``values``: its
    :meth:`~ResultsData.practice_rows`, sorted by indicator and period; of equal years the last read is shown)."""
    ind = data.indicators[indicator_id]
    vi = {str(p): v for i, t, p, v in zip(*(values[c].tolist() for c in ("indicator_id", "period_type", "period",
                                                                          "value")), strict=True)
          if i == indicator_id and t == "fy"}
    ei = england_by_year(data, indicator_id, 0.95)
    periods = sorted(set(vi) | set(ei))
    pv = [_clean(vi[p]) if p in vi else None for p in periods]
    ev = [_clean(ei[p]) if p in ei else None for p in periods]
    name = data.practice_names.get(code, code)
    chart = Chart(f"{ind.title}: {name} and England",
                  svg.trend(periods, [svg.Series(name, pv, None, None, svg.GROUP),
                                      svg.Series("England", ev, None, None, svg.ENGLAND, dashed=True)],
                            f"{ind.title}: {name} and England", ind.unit, ind.breaks),
                  "Practice values by financial year (values hidden by disclosure control are gaps); England "
                  "pooled over all practices.", [TREND_NOTE])
    return chart


# ------------------------------------------------------------------------------------------------ start-up


def prepare(data: ResultsData) -> None:
    """Make the per-bundle indexes the pages read before the first visitor (about 0.4 s on full England): England's
    rows, overview, trends and XmR rows, the registry and its spells, the spread of all groups, the funnels' limit
    lines, England's evaluation rows and the search keys. Made lazily, the first page of each type paid for them
    while every request queued behind it waited. Nothing is rendered."""
    data.prepare()
    for conf in CONFIDENCES:
        england_overview(data, conf)
        _group_spread(data, conf)
        for name in ("trends", "convergence"):
            _england_evaluation_rows(data, name, None, conf)
    england_trends(data)
    _england_years(data)
    _group_registry(data)
    _curves(data)
    for ind in data.indicators.values():
        if ind.is_monthly:
            _spc_rows(data, ENGLAND_ID, ind.id)
