"""HTML tables shared by the static reports and the dashboard (fast string building; every text escaped)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from gpscale.charts import svg
from gpscale.charts.palette import SUPPRESSED, SYMBOLS
from gpscale.report.data import column_list

Linker = Callable[[Mapping[str, Any]], str | None]


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


def _cells(values: list[Any], kind: str, digits: int) -> list[str]:
    """A column's cells as escaped HTML text, :func:`cell_text` of each: finite floats and text take a short path
    (a formatted number has nothing to escape), anything else the general one."""
    if kind == "num":
        return [svg.fmt(v, digits) if type(v) is float else escape(cell_text(v, kind, digits)) for v in values]
    if kind == "int":
        return [f"{round(v):,}" if type(v) is float and math.isfinite(v) else escape(cell_text(v, kind, digits))
                for v in values]
    return [escape(v) if type(v) is str else escape(cell_text(v, kind, digits)) for v in values]


def comparison_badge(label: str) -> str:
    cls = escape(label.replace(" ", "-"))
    return f'<span class="badge {cls}">{escape(SYMBOLS.get(label, label))}</span>'


class _Columns:
    """A frame's columns as lists by name (a repeated name: its last column, as a row dict holds it), each taken out
    of the frame when first asked for: a table shows a few of its frame's columns, and taking every column out of
    pandas cost more than writing the rows."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._column = column_list(frame)
        self.rows = len(frame)
        self._at = {str(k): i for i, k in enumerate(frame.columns)}
        self.names = list(self._at)
        self._lists: dict[int, list[Any]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._at

    def __getitem__(self, key: str) -> list[Any]:
        at = self._at[key]
        found = self._lists.get(at)
        if found is None:
            found = self._lists[at] = self._column(at)
        return found


class _Row(Mapping[str, Any]):
    """Row ``r`` of :class:`_Columns`, as a link function reads it (only the values it asks for are taken out)."""

    def __init__(self, columns: _Columns, r: int) -> None:
        self._columns = columns
        self._r = r

    def __getitem__(self, key: str) -> Any:
        return self._columns[key][self._r]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.names)

    def __len__(self) -> int:
        return len(self._columns.names)


def table_html(frame: pd.DataFrame, cols: Sequence[Col], caption: str = "", table_id: str = "",
               max_rows: int | None = None, empty: str = "no rows") -> str:
    """A semantic table (caption, column headers with scope) of ``cols`` from ``frame``."""
    present = [c for c in cols if c.key in frame.columns]
    head = "".join(
        f'<th scope="col" class="{"num" if c.kind in ("num", "int") else ""}">{escape(c.header)}</th>' for c in present
    )
    rows: list[str] = []
    n = len(frame)
    columns = _Columns(frame if max_rows is None else frame.head(max_rows))
    opening = [("<th" + ' scope="row"' if i == 0 else "<td") + (' class="num"' if c.kind in ("num", "int") else "")
               + ">" for i, c in enumerate(present)]
    closing = ["</th>" if i == 0 else "</td>" for i in range(len(present))]
    hidden = [is_true(v) for v in columns["suppressed"]] if "suppressed" in columns else [False] * columns.rows
    texts: list[list[str]] = []
    for c in present:
        values = columns[c.key]
        if c.kind == "comparison":
            texts.append([comparison_badge(str(v)) if v is not None and str(v) not in ("", "nan") else "–"
                          for v in values])
            hidden = [h or str(v) == SUPPRESSED for h, v in zip(hidden, values, strict=True)]
        else:
            texts.append(_cells(values, c.kind, c.digits))
    linked = [(i, c.link) for i, c in enumerate(present) if c.link is not None]
    for r, row_texts in enumerate(zip(*texts, strict=True) if texts else [()] * columns.rows):
        cells = [opening[i] + text + closing[i] for i, text in enumerate(row_texts)]
        for i, link in linked:
            href = link(_Row(columns, r))
            if href:
                cells[i] = f'{opening[i]}<a href="{escape(href)}">{row_texts[i]}</a>{closing[i]}'
        rows.append(f'<tr{" class=hidden-row" if hidden[r] else ""}>{"".join(cells)}</tr>')
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
