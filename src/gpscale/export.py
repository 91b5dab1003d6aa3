"""Every table gpscale writes for people to open: CSV, Excel and Parquet, with spreadsheet formulas neutralised.

Used by the results bundle, the dashboard's downloads and the survey tables alike, so every CSV and
Excel file follows one rule, the OWASP guidance on CSV injection (also ASVS 1.2.10 and CWE-1236): a
text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a NUL could be run as a
formula by a spreadsheet, so it is written with a leading single quote (``'=HYPERLINK(...)``), which
spreadsheets show as text. Numbers are numbers and are left alone (``-1.5`` is not text). Text fields
are quoted as RFC 4180 describes (embedded quotes doubled).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: First characters that make a spreadsheet treat a cell as a formula (or a command).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
_FORMULA = re.compile(r"^[=+\-@\t\r\x00]")
#: Row limit of an Excel sheet (less the header).
EXCEL_MAX_ROWS = 1_048_575


def neutralise(text: str) -> str:
    """``text`` with a leading single quote when it begins with a formula character."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _is_text(dtype: Any) -> bool:
    return bool(dtype == np.dtype(object) or pd.api.types.is_string_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype))


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot be read as formulas."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for c, dtype in zip(out.columns, out.dtypes, strict=True):
        if not _is_text(dtype):
            continue
        col = out[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [neutralise(str(v)) if isinstance(v, str) else v for v in col.cat.categories]
            if len(set(cats)) == len(cats):
                out[c] = col.cat.rename_categories(cats)
                continue
            col = col.astype(object)
            out[c] = col
        if _any_formula(col):
            risky = col.astype("string").str.match(_FORMULA).fillna(False).astype(bool)
            out[c] = col.where(~risky, "'" + col.astype("string"))
    return out


def _any_formula(col: pd.Series) -> bool:
    """Whether any cell of text column ``col``, read as ``astype("string")`` reads it, begins with a formula character.

    One Arrow regex kernel over the column: pandas' ``str.match`` with a compiled pattern loops in Python (~0.5 ms a
    column of a download), and most columns have no such cell, so the rewrite above runs only where one does."""
    text = col if isinstance(col.dtype, pd.StringDtype) else col.astype("string")
    return bool(pc.any(pc.match_substring_regex(pa.array(text), _FORMULA.pattern)).as_py())


def csv_text(frame: pd.DataFrame) -> str:
    """CSV of ``frame`` (header row, text quoted, formulas neutralised), as a string."""
    buf = io.StringIO()
    safe_frame(frame).to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return buf.getvalue()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (see :func:`csv_text`); large tables through Arrow's writer, which is faster."""
    safe = safe_frame(frame)
    try:
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        pa_csv.write_csv(pa.Table.from_pandas(parquet_ready(safe), preserve_index=False), path,
                         write_options=pa_csv.WriteOptions(quoting_style="needed"))
    except (ImportError, ValueError, TypeError, NotImplementedError):
        safe.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return path


def write_excel(tables: Mapping[str, pd.DataFrame], path: Path) -> tuple[Path, list[str]]:
    """One sheet per table (formulas neutralised) plus a contents sheet; tables too long for a sheet are left out.

    Returns the path and the names of the tables left out (the Parquet and CSV files hold them in full).
    """
    left_out = [name for name, frame in tables.items() if len(frame) > EXCEL_MAX_ROWS]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in tables.items():
            if name not in left_out:
                parquet_ready(safe_frame(frame)).to_excel(writer, sheet_name=name[:31], index=False)
        pd.DataFrame({"table": list(tables), "rows": [len(f) for f in tables.values()],
                      "in_workbook": [t not in left_out for t in tables]}).to_excel(
            writer, sheet_name="contents", index=False)
    return path, left_out


def parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python objects (dates, None) as text so Parquet, Arrow and Excel accept them.

    A column of truth values with gaps (the disclosure gate blanks hidden cells) stays a nullable boolean:
    as text, ``"False"`` would read back as true wherever a reader tests it.
    """
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            sample = out[c].dropna()
            if not sample.empty and all(isinstance(x, bool | np.bool_) for x in sample):
                out[c] = out[c].astype("boolean")
            elif not sample.empty and not all(isinstance(x, str) for x in sample.head(1000)):
                out[c] = out[c].map(lambda x: None if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))
    return out


#: Rows per Parquet row group: small, so a filtered read of one group's or practice's rows (tables are sorted by
#: their key) decodes a few thousand rows rather than tens of thousands (a dashboard page reads several such).
ROW_GROUP = 2_048


def write_parquet(frame: pd.DataFrame, path: Path, sort_by: tuple[str, ...] = ()) -> Path:
    """Write ``frame`` as Parquet (mixed object columns as text), sorted by ``sort_by`` so readers can skip
    row groups by their min/max statistics."""
    out = parquet_ready(frame)
    keys = [c for c in sort_by if c in out.columns]
    if keys and len(out):
        out = out.sort_values(keys, kind="stable")
    out.to_parquet(path, index=False, row_group_size=ROW_GROUP)
    return path
