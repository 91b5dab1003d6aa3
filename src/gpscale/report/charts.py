"""Charts as Vega-Lite (Altair) specifications rendered offline to SVG with vl-convert."""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert as vlc

#: The Vega-Lite version Altair writes, e.g. "6.4" (vl-convert renders that exact version).
VEGA_LITE_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])

#: Colour-blind-safe palette (Okabe-Ito): group, England.
GROUP_COLOUR = "#0072B2"
ENGLAND_COLOUR = "#000000"


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to an SVG string without any network access."""
    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=VEGA_LITE_VERSION)


def trend_chart(rows: pd.DataFrame, title: str, unit: str, subtitle: str) -> alt.LayerChart:
    """A group's value with its interval over periods, and England's value, as a line chart.

    ``rows`` has columns period, value, lower, upper, series ("group name" or "England").
    """
    base = alt.Chart(rows).encode(
        x=alt.X("period:O", title="period", sort=None),
    )
    band = base.transform_filter(alt.datum.series != "England").mark_area(opacity=0.2, color=GROUP_COLOUR).encode(
        y=alt.Y("lower:Q", title=unit, scale=alt.Scale(zero=False)), y2="upper:Q"
    )
    lines = base.mark_line(point=True).encode(
        y=alt.Y("value:Q", title=unit, scale=alt.Scale(zero=False)),
        color=alt.Color(
            "series:N",
            scale=alt.Scale(range=[GROUP_COLOUR, ENGLAND_COLOUR]),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        strokeDash=alt.StrokeDash("series:N", legend=None),
        tooltip=["series", "period", alt.Tooltip("value:Q", format=".2f")],
    )
    return (band + lines).properties(
        width=520, height=220, title=alt.TitleParams(title, subtitle=subtitle, anchor="start")
    )
