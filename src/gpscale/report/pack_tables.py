"""The short forms of a board pack's long tables, so that a big group's pack stays a readable length.

A board reads the summary, the charts and a few tables; the full tables are in the CSV and Excel downloads.
So the appendix keeps at most :data:`APPENDIX_ROWS` rows a table (and says where the rest are), a group
with more than that many membership spells gets a summary of its members by commissioner instead of the
list, convergence shows each indicator's latest segment only, and a method is said once per section or
table, not under every chart or in every row. Rendering only: every number comes from the bundle.
"""

from __future__ import annotations

import pandas as pd

from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from gpscale.report.html import Col, table_html

#: Rows of an appendix table in a board pack (the downloads have them all).
APPENDIX_ROWS = 20

DOWNLOADS = ("the CSV download (gpscale serve) or the results bundle's CSV and Excel files "
             "(gpscale evaluate --excel)")


def methods_sentence(rows: pd.DataFrame) -> str:
    """The interval methods of a group's results, said once for a section (not under every chart)."""
    methods = sorted({str(m) for m in rows.get("method", pd.Series(dtype=str)).dropna().unique()})
    if not methods:
        return ""
    return "Intervals: " + "; ".join(methods) + "."


def members_html(members: pd.DataFrame, name: str) -> str:
    """The member list when it is short; otherwise current and former members counted by commissioner."""
    caption = f"Member practices of {name}, current first (the membership the evaluation used)"
    if len(members) <= APPENDIX_ROWS:
        cols = [Col("practice_code", "ODS code"), Col("name", "practice"), Col("start_date", "joined"),
                Col("end_date", "left"), Col("commissioner", "commissioner"), Col("contract_type", "contract")]
        return table_html(members, cols, caption, empty="no membership in the results")
    by = "commissioner" if "commissioner" in members.columns else None
    current = members["end_date"].isna() if "end_date" in members.columns else pd.Series(True, members.index)
    frame = members.assign(current=current.astype(int), former=(~current).astype(int),
                           key=members[by].fillna("unknown").astype(str) if by else "all")
    summary = (frame.groupby("key")[["current", "former"]].sum().reset_index()
               .sort_values(["current", "former", "key"], ascending=[False, False, True]))
    cols = [Col("key", "commissioner"), Col("current", "current member spells", "int"),
            Col("former", "former member spells", "int")]
    note = (f'<p class="note">{len(members):,} membership spells ({int(current.sum()):,} current); the full '
            f"member list is in {DOWNLOADS}.</p>")
    return table_html(summary, cols, f"{caption}: spells by commissioner", max_rows=APPENDIX_ROWS) + note


def convergence_html(data: ResultsData, group_id: str, conf: float) -> tuple[str, str]:
    """Each indicator's latest convergence segment for the group, the method said once.

    Returns (table HTML, "") or ("", why it is missing).
    """
    title, columns = S.ENGINE_TABLES["convergence"]
    f = data.table("convergence", "entity_id = ?", [group_id])
    if f is None:
        return "", f"{title}: {S.not_computed('convergence')}"
    if "confidence" in f.columns and (f["confidence"] == conf).any():
        f = f[f["confidence"] == conf]
    if len(f):  # each indicator's latest segment (the earlier ones are in the download)
        f = f[f["segment_last"] == f.groupby("indicator_id")["segment_last"].transform("max")]
    if f.empty:
        return "", f"{title}: the evaluation wrote no rows for this group"
    f = f.assign(indicator_id=[data.indicators[i].title if i in data.indicators else i for i in f["indicator_id"]])
    method = methods_sentence(f)
    cols = [Col(c, c.replace("_", " "), "num" if pd.api.types.is_float_dtype(f[c]) else "text")
            for c in columns if c in f.columns and c != "method"]
    caption = f"{title} (latest segment of each indicator; {S.pct(conf)} intervals; {method[:-1].lower()})"
    return table_html(f.reset_index(drop=True), cols, caption, max_rows=APPENDIX_ROWS), ""
