"""HTML tables shared by the static reports and the dashboard (fast string building; every text escaped)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from gpscale.charts import svg
from gpscale.charts.palette import SUPPRESSED, SYMBOLS

Linker = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class Col:
    """One column as shown: data key, header, format (text / num / int / pct / comparison) and optional link."""

    key: str
    header: str
    kind: str = "text"
    digits: int = 2
    link: Linker | None = None


def is_true(v: Any) -> bool:
    """A truth value read from a bundle: ``True`` as a boolean, or as the text an older bundle wrote."""
    return bool(v) if isinstance(v, bool) or type(v).__name__ == "bool_" else str(v) == "True"


def cell_text(v: Any, kind: str, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NA or v is pd.NaT:
        return "–"
    if kind == "num":
        try:
            return svg.fmt(float(v), digits)
        except (TypeError, ValueError):
            return str(v)
    if kind == "int":
        try:
            return f"{round(float(v)):,}"
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def comparison_badge(label: str) -> str:
    cls = escape(label.replace(" ", "-"))
    return f'<span class="badge {cls}">{escape(SYMBOLS.get(label, label))}</span>'


def table_html(frame: pd.DataFrame, cols: Sequence[Col], caption: str = "", table_id: str = "",
               max_rows: int | None = None, empty: str = "no rows") -> str:
    """A semantic table (caption, column headers with scope) of ``cols`` from ``frame``."""
    present = [c for c in cols if c.key in frame.columns]
    head = "".join(
        f'<th scope="col" class="{"num" if c.kind in ("num", "int") else ""}">{escape(c.header)}</th>' for c in present
    )
    rows: list[str] = []
    keys = [str(k) for k in frame.columns]
    n = len(frame)
    shown = frame if max_rows is None else frame.head(max_rows)
    columns = [shown.iloc[:, i].tolist() for i in range(len(keys))]  # far faster than itertuples on Arrow strings
    at = {k: i for i, k in enumerate(keys)}  # a repeated column name: its last position, as a row dict holds it
    where = [at[c.key] for c in present]
    opening = [("<th" + ' scope="row"' if i == 0 else "<td") + (' class="num"' if c.kind in ("num", "int") else "")
               + ">" for i, c in enumerate(present)]
    closing = ["</th>" if i == 0 else "</td>" for i in range(len(present))]
    flagged = at.get("suppressed")
    linked = any(c.link is not None for c in present)
    for tup in zip(*columns, strict=True):
        rec = dict(zip(keys, tup, strict=True)) if linked else {}
        hidden = is_true(tup[flagged] if flagged is not None else None)
        cells = []
        for i, c in enumerate(present):
            v = tup[where[i]]
            if c.kind == "comparison":
                text = comparison_badge(str(v)) if v is not None and str(v) not in ("", "nan") else "–"
                hidden = hidden or str(v) == SUPPRESSED
            else:
                text = escape(cell_text(v, c.kind, c.digits))
            if c.link is not None:
                href = c.link(rec)
                if href:
                    text = f'<a href="{escape(href)}">{text}</a>'
            cells.append(opening[i] + text + closing[i])
        rows.append(f'<tr{" class=hidden-row" if hidden else ""}>{"".join(cells)}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{max(len(present), 1)}">{escape(empty)}</td></tr>')
    more = ""
    if max_rows is not None and n > max_rows:
        more = f'<p class="note">Showing {max_rows:,} of {n:,} rows; the CSV download has them all.</p>'
    tid = f' id="{escape(table_id)}"' if table_id else ""
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    label = escape((caption or "table")[:120])
    # a scrolling wrapper is a region keyboard users can focus and scroll (WCAG 2.1.1)
    return (f'<div class="table-wrap" tabindex="0" role="region" aria-label="{label}"><table{tid}>{cap}'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{more}')


def legend_html() -> str:
    """The significance key: colour, shape and words together."""
    items = ["better", "similar", "worse", "higher", "lower", "not compared", SUPPRESSED]
    text = {
        "better": "better than England (interval excludes England, in the good direction)",
        "similar": "similar: cannot be told apart from England",
        "worse": "worse than England",
        "higher": "higher than England (no judgement)",
        "lower": "lower than England (no judgement)",
        "not compared": "not compared (data do not allow it)",
        SUPPRESSED: "hidden by disclosure control",
    }
    lis = "".join(f"<li>{comparison_badge(i)} {escape(text[i])}</li>" for i in items)
    return f'<ul class="legend" aria-label="Key to comparison labels">{lis}</ul>'


def survey_columns(frame: pd.DataFrame) -> list[Col]:
    """Columns of a published survey table worth showing: labels instead of codes, counts and estimates."""
    skip = {"level", "confidence", "suppressed"}
    cols = []
    for c in frame.columns:
        if c in skip or f"{c}_label" in frame.columns:
            continue
        kind = "num" if pd.api.types.is_float_dtype(frame[c]) else "int" if pd.api.types.is_integer_dtype(frame[c]) \
            else "text"
        cols.append(Col(c, c.removesuffix("_label").replace("_", " "), kind))
    return cols
