"""Survey charts: diverging Likert bars, shares with intervals, and share positive by role.

Drawn by the one chart stack (:mod:`gpscale.charts.svg`, colours from :mod:`gpscale.charts.palette`); this
module shapes the published (already suppressed) survey tables into bars. Hidden cells are never drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gpscale.charts import svg
from gpscale.charts.palette import CATEGORY, NEGATIVE, NEUTRAL, POSITIVE


def footnote(method: str, confidence: float | None, rule: str, hidden: int) -> list[str]:
    """Subtitle lines stating method, confidence, suppression rule and hidden cells."""
    level = f"{confidence:.0%} intervals" if confidence is not None and not np.isnan(confidence) else ""
    lines = [f"Method: {method}" + (f"; {level}" if level else "")]
    lines.append(f"Suppression: {rule}.")
    lines.append(f"Hidden cells: {hidden}." if hidden else "Hidden cells: none.")
    return lines


def _shades(palette: Sequence[str], k: int) -> list[str]:
    """``k`` well-separated shades from a dark-to-light (or light-to-dark) palette of four."""
    picks = {0: [], 1: [1], 2: [0, 2], 3: [0, 1, 2], 4: [0, 1, 2, 3]}
    idx = picks.get(k, [round(i * 3 / max(k - 1, 1)) for i in range(k)])
    return [palette[i] for i in idx]


def _point_colours(sides: Sequence[str]) -> list[str]:
    """Colours of scale points in order: reds for negative (darkest first), grey neutral, blues positive."""
    neg = iter(_shades(NEGATIVE, sum(s == "negative" for s in sides)))
    pos_list = _shades(POSITIVE[::-1], sum(s == "positive" for s in sides))[::-1]
    pos = iter(pos_list)
    return [next(neg) if s == "negative" else next(pos) if s == "positive" else NEUTRAL for s in sides]


def diverging_segments(dist: pd.DataFrame, row: str) -> pd.DataFrame:
    """Start and end (in percent) of each point's bar segment, negative left of zero, neutral split."""
    visible = dist[~dist["suppressed"].astype(bool)].copy()
    visible["pct"] = visible["share"].astype(float) * 100.0
    parts = []
    for _, g in visible.groupby(row, sort=False):
        g = g.sort_values("point")
        neg = g.loc[g["side"] == "negative", "pct"].sum()
        neutral = g.loc[g["side"] == "neutral", "pct"].sum()
        start = -(neg + neutral / 2.0)
        x0 = start + np.concatenate([[0.0], np.cumsum(g["pct"].to_numpy())[:-1]])
        parts.append(g.assign(x=x0, x2=x0 + g["pct"].to_numpy()))
    if not parts:
        return visible.assign(x=[], x2=[])
    return pd.concat(parts, ignore_index=True)


def diverging_bars(
    dist: pd.DataFrame,
    row: str,
    title: str,
    notes: Sequence[str],
    row_title: str = "",
    row_order: Sequence[str] | None = None,
) -> str | None:
    """Diverging stacked bars of a Likert distribution (one scale), one bar per value of ``row``."""
    seg = diverging_segments(dist, row)
    if seg.empty:
        return None
    points = seg[["point", "point_label", "side"]].drop_duplicates("point").sort_values("point")
    colours = dict(zip(points["point"], _point_colours(points["side"].tolist()), strict=True))
    present = list(dict.fromkeys(seg[row].astype(str).tolist()))
    rows = [r for r in row_order if r in present] if row_order is not None else present
    items = [svg.Bar(str(r[row]), float(r["x"]), float(r["x2"]), colours[r["point"]],
                     f"{r[row]}: {r['point_label']} {r['pct']:.1f}% (n = {r['n']:.0f})")
             for r in seg.to_dict("records")]
    legend = [(str(lbl), colours[p]) for p, lbl in zip(points["point"], points["point_label"], strict=True)]
    return svg.bars(rows, items, title, notes, "% of answers (negative left of zero, positive right)"
                    + (f"; rows: {row_title}" if row_title else ""), (-100.0, 100.0), legend)


def share_bars(
    table: pd.DataFrame,
    category: str,
    title: str,
    notes: Sequence[str],
    value: str = "share",
    lower: str = "lower",
    upper: str = "upper",
    colour: str | None = None,
    sort: Sequence[str] | None = None,
) -> str | None:
    """Horizontal bars of shares (as %) with interval whiskers; optional colour groups side by side."""
    visible = table[~table["suppressed"].astype(bool)]
    if visible.empty:
        return None
    order = list(sort) if sort is not None else list(dict.fromkeys(visible[category].astype(str).tolist()))
    groups = list(dict.fromkeys(visible[colour].astype(str).tolist())) if colour else [""]
    shade = {g: CATEGORY[i % len(CATEGORY)] for i, g in enumerate(groups)}
    items = []
    for r in visible.to_dict("records"):
        g = str(r[colour]) if colour else ""
        v, lo, hi = (float(r[c]) * 100.0 for c in (value, lower, upper))
        items.append(svg.Bar(str(r[category]), 0.0, v, shade[g], f"{r[category]}{f' ({g})' if g else ''}: "
                             f"{v:.1f}% ({lo:.1f} to {hi:.1f}; n = {r['n']:.0f})", g, lo, hi))
    return svg.bars(order, items, title, notes, "%", legend=[(g, shade[g]) for g in groups] if colour else ())


def share_by_role(
    table: pd.DataFrame, role_label: str, group: str, title: str, notes: Sequence[str], sort: Sequence[str]
) -> str | None:
    """Share positive with intervals by role, one coloured point per domain (or item) ``group``."""
    visible = table[~table["suppressed"].astype(bool)]
    if visible.empty:
        return None
    groups = list(dict.fromkeys(visible[group].astype(str).tolist()))
    shade = {g: CATEGORY[i % len(CATEGORY)] for i, g in enumerate(groups)}
    present = set(visible[role_label].astype(str))
    items = []
    for r in visible.to_dict("records"):
        v, lo, hi = (float(r[c]) * 100.0 for c in ("share_positive", "share_lower", "share_upper"))
        items.append(svg.Bar(str(r[role_label]), 0.0, v, shade[str(r[group])],
                             f"{r[role_label]}, {r[group]}: {v:.1f}% positive ({lo:.1f} to {hi:.1f}; n = {r['n']:.0f})",
                             str(r[group]), lo, hi))
    return svg.bars([s for s in sort if s in present], items, title, notes, "% positive (with interval)",
                    legend=[(g, shade[g]) for g in groups], points=True)
