"""The overview report: groups against England, the named groups, and a featured group's trends."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gpscale import __version__
from gpscale.report.charts import to_svg, trend_chart

COMPARISONS = ("better", "similar", "worse", "higher", "lower", "not compared")


def _env() -> Environment:
    return Environment(loader=PackageLoader("gpscale.report", "templates"), autoescape=select_autoescape())


def write_overview(
    card: pd.DataFrame,
    definitions: Mapping[str, Any],
    group_names: Mapping[str, str],
    named_groups: list[str],
    featured: str,
    out: Path,
    confidence: float = 0.95,
) -> Path:
    """Write the self-contained HTML overview for scorecard ``card`` to ``out``."""
    c = card[card["confidence"] == confidence]
    fy = c[c["period_type"] == "fy"]
    groups = fy[fy["entity_type"] == "group"]
    view = groups["membership_view"].iloc[0] if not groups.empty else "as-was"
    latest = groups.groupby("indicator_id")["period"].max().to_dict()
    pct = f"{confidence * 100:g}%"
    summary_rows = []
    for ind_id in [i for i in definitions if i in latest]:
        rows = groups[(groups["indicator_id"] == ind_id) & (groups["period"] == latest[ind_id])]
        counts = rows["comparison"].value_counts().to_dict()
        summary_rows.append({"title": definitions[ind_id].title, "period": latest[ind_id],
                             **{k: counts.get(k, 0) for k in COMPARISONS}})
    shown = [i for i in definitions if i in latest]
    named_rows = []
    for gid in named_groups:
        cells = []
        for ind_id in shown:
            r = groups[(groups["entity_id"] == gid) & (groups["indicator_id"] == ind_id)
                       & (groups["period"] == latest[ind_id])]
            if r.empty:
                cells.append({"cls": "", "text": "no data"})
            else:
                x = r.iloc[0]
                cells.append({"cls": x["comparison"].replace(" ", "-"),
                              "text": f"{x['value']:.1f} ({x['lower']:.1f}–{x['upper']:.1f}) {x['comparison']}"})
        named_rows.append({"id": gid, "name": group_names.get(gid, gid), "cells": cells})
    figures = []
    for ind_id in shown:
        d = definitions[ind_id]
        g = groups[(groups["entity_id"] == featured) & (groups["indicator_id"] == ind_id)]
        e = fy[(fy["entity_type"] == "england") & (fy["indicator_id"] == ind_id)]
        if g.empty:
            continue
        rows = pd.concat([
            g.assign(series=group_names.get(featured, featured))[["period", "value", "lower", "upper", "series"]],
            e.assign(series="England")[["period", "value", "lower", "upper", "series"]],
        ])
        method = g["method"].iloc[0]
        subtitle = f"{method}; view {view}; {g['period'].min()} to {g['period'].max()}"
        svg = to_svg(trend_chart(rows, d.title, d.unit, subtitle))
        figures.append({"svg": svg, "caption": f"{d.title}: {group_names.get(featured, featured)} (line with "
                        f"{pct} interval band) and England (black). {method}. Membership view: {view}."})
    html = _env().get_template("overview.html.j2").render(
        title="gpscale: large-scale general practice against England",
        version=__version__,
        data_version=card["data_version"].iloc[0] if not card.empty else "",
        view=view,
        confidence_pct=pct,
        comparison_columns=COMPARISONS,
        summary_rows=summary_rows,
        indicator_titles=[definitions[i].title for i in shown],
        named_rows=named_rows,
        featured_name=group_names.get(featured, featured),
        figures=figures,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
