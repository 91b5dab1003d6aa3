"""Survey charts: diverging bars for Likert items, shares with intervals, satisfaction by role.

Charts are Altair specifications rendered to inline SVG with vl-convert (no network, no JavaScript), so
an HTML report is one self-contained file. Every chart is drawn from an already-suppressed table and
drops hidden rows; its subtitle states the method, the confidence level, the suppression rule and how many
cells are hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

_NEGATIVE = ["#b2182b", "#d6604d", "#f4a582", "#fddbc7"]
_POSITIVE = ["#d1e5f0", "#92c5de", "#4393c3", "#2166ac"]
_NEUTRAL = "#d9d9d9"
_CATEGORY = ["#1b6ca8", "#e07b39", "#3a9d5d", "#8e5ea2", "#c44e52", "#7f7f7f", "#bcbd22"]
WIDTH = 520


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render an Altair chart to an SVG string (offline)."""
    return str(vlc.vegalite_to_svg(chart.to_json()))


def footnote(method: str, confidence: float | None, rule: str, hidden: int) -> list[str]:
    """Subtitle lines stating method, confidence, suppression rule and hidden cells."""
    level = f"{confidence:.0%} intervals" if confidence is not None and not np.isnan(confidence) else ""
    lines = [f"Method: {method}" + (f"; {level}" if level else "")]
    lines.append(f"Suppression: {rule}.")
    lines.append(f"Hidden cells: {hidden}." if hidden else "Hidden cells: none.")
    return lines


def _wrap(text: str, width: int = 95) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return lines


def _title(title: str, notes: Sequence[str]) -> alt.TitleParams:
    subtitle = [piece for note in notes for piece in _wrap(note)]
    return alt.TitleParams(
        text=title, subtitle=subtitle, anchor="start", fontSize=14, subtitleFontSize=10, subtitleColor="#555555"
    )


def _shades(palette: list[str], k: int) -> list[str]:
    """``k`` well-separated shades from a dark-to-light (or light-to-dark) palette of four."""
    picks = {0: [], 1: [1], 2: [0, 2], 3: [0, 1, 2], 4: [0, 1, 2, 3]}
    idx = picks.get(k, [round(i * 3 / max(k - 1, 1)) for i in range(k)])
    return [palette[i] for i in idx]


def _point_colours(sides: Sequence[str]) -> list[str]:
    """Colours of scale points in order: reds for negative (darkest first), grey neutral, blues positive."""
    neg = iter(_shades(_NEGATIVE, sum(s == "negative" for s in sides)))
    pos_list = _shades(_POSITIVE[::-1], sum(s == "positive" for s in sides))[::-1]
    pos = iter(pos_list)
    return [next(neg) if s == "negative" else next(pos) if s == "positive" else _NEUTRAL for s in sides]


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
) -> alt.Chart | None:
    """Diverging stacked bars of a Likert distribution (one scale), one bar per value of ``row``."""
    seg = diverging_segments(dist, row)
    if seg.empty:
        return None
    points = seg[["point", "point_label", "side"]].drop_duplicates("point").sort_values("point")
    labels = points["point_label"].tolist()
    colours = _point_colours(points["side"].tolist())
    present = list(dict.fromkeys(seg[row].tolist()))
    rows = [r for r in row_order if r in present] if row_order is not None else present
    height = max(60, 22 * len(rows))
    bars = (
        alt.Chart(seg)
        .mark_bar()
        .encode(
            x=alt.X(
                "x:Q", title="% of answers (negative left of zero, positive right)", scale=alt.Scale(domain=[-100, 100])
            ),
            x2="x2:Q",
            y=alt.Y(f"{row}:N", sort=rows, title=row_title, axis=alt.Axis(labelLimit=320)),
            color=alt.Color(
                "point_label:N",
                sort=labels,
                scale=alt.Scale(domain=labels, range=colours),
                legend=alt.Legend(title=None, orient="bottom", columns=len(labels)),
            ),
            tooltip=[
                alt.Tooltip(f"{row}:N"),
                alt.Tooltip("point_label:N", title="answer"),
                alt.Tooltip("pct:Q", format=".1f", title="%"),
                alt.Tooltip("n:Q", title="n"),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(color="#333333").encode(x="zero:Q")
    return (bars + rule).properties(width=WIDTH, height=height, title=_title(title, notes))


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
) -> alt.Chart | None:
    """Horizontal bars of shares (as %) with interval whiskers; optional colour groups side by side."""
    visible = table[~table["suppressed"].astype(bool)].copy()
    if visible.empty:
        return None
    for c in (value, lower, upper):
        visible[c] = visible[c].astype(float) * 100.0
    order = list(sort) if sort is not None else list(dict.fromkeys(visible[category].tolist()))
    enc_y = alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(visible)
    extra = {}
    if colour:
        groups = list(dict.fromkeys(visible[colour].tolist()))
        extra = {
            "yOffset": alt.YOffset(f"{colour}:N", sort=groups),
            "color": alt.Color(
                f"{colour}:N",
                sort=groups,
                scale=alt.Scale(range=_CATEGORY),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        }
    bars = base.mark_bar(opacity=0.85, color=_CATEGORY[0]).encode(
        x=alt.X(f"{value}:Q", title="%", scale=alt.Scale(domain=[0, 100])),
        y=enc_y,
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip(f"{value}:Q", format=".1f", title="%"),
            alt.Tooltip(f"{lower}:Q", format=".1f"),
            alt.Tooltip(f"{upper}:Q", format=".1f"),
            alt.Tooltip("n:Q"),
        ],
        **extra,
    )
    whiskers = base.mark_rule(color="#222222").encode(
        x=f"{lower}:Q", x2=f"{upper}:Q", y=enc_y, **({"yOffset": extra["yOffset"]} if colour else {})
    )
    n_rows = len(order) * (len(visible[colour].unique()) if colour else 1)
    return (bars + whiskers).properties(width=WIDTH, height=max(60, 16 * n_rows), title=_title(title, notes))


def share_by_role(
    table: pd.DataFrame, role_label: str, group: str, title: str, notes: Sequence[str], sort: Sequence[str]
) -> alt.Chart | None:
    """Share positive with intervals by role, one coloured point per domain (or item) ``group``."""
    visible = table[~table["suppressed"].astype(bool)].copy()
    if visible.empty:
        return None
    for c in ("share_positive", "share_lower", "share_upper"):
        visible[c] = visible[c].astype(float) * 100.0
    groups = list(dict.fromkeys(visible[group].tolist()))
    y = alt.Y(f"{role_label}:N", sort=list(sort), title=None)
    offset = alt.YOffset(f"{group}:N", sort=groups)
    colour = alt.Color(
        f"{group}:N",
        sort=groups,
        scale=alt.Scale(range=_CATEGORY),
        legend=alt.Legend(title=None, orient="bottom", columns=2),
    )
    base = alt.Chart(visible)
    whiskers = base.mark_rule().encode(x="share_lower:Q", x2="share_upper:Q", y=y, yOffset=offset, color=colour)
    points = base.mark_point(filled=True, size=50).encode(
        x=alt.X("share_positive:Q", title="% positive (with interval)", scale=alt.Scale(domain=[0, 100])),
        y=y,
        yOffset=offset,
        color=colour,
        tooltip=[
            alt.Tooltip(f"{role_label}:N", title="role"),
            alt.Tooltip(f"{group}:N"),
            alt.Tooltip("share_positive:Q", format=".1f", title="%"),
            alt.Tooltip("share_lower:Q", format=".1f"),
            alt.Tooltip("share_upper:Q", format=".1f"),
            alt.Tooltip("n:Q"),
        ],
    )
    height = max(80, 14 * len(sort) * max(len(groups), 1))
    return (whiskers + points).properties(width=WIDTH, height=height, title=_title(title, notes))
