"""Writing scheme results as CSV (and one Excel workbook), with spreadsheet formulas neutralised.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and
LibreOffice as a formula (CSV/formula injection: a network or practice name from a registry file could
carry one). :func:`neutralise_formulas` prefixes such cells with an apostrophe, which spreadsheets show
as text, in every text column of every table written here. Numbers are not touched.

This is a small, scheme-local writer until the project's shared escaping writer (issue 12, the results
bundle) is on main; the two should then be unified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet treat text as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Row limit of an Excel sheet (less the header).
EXCEL_MAX_ROWS = 1_048_575


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells starting with a formula prefix begin with an apostrophe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES)
                                    else v)
    return out


def write_tables(tables: Mapping[str, pd.DataFrame], out: Path, excel: bool = False,
                 manifest: Mapping[str, Any] | None = None, workbook: str = "scheme.xlsx") -> list[Path]:
    """Write each table as ``<name>.csv`` (and all in one workbook when ``excel``) plus ``manifest.json``."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    safe = {name: neutralise_formulas(df) for name, df in tables.items()}
    for name, df in safe.items():
        p = out / f"{name}.csv"
        df.to_csv(p, index=False)
        paths.append(p)
    left_out = []
    if excel:
        xlsx = out / workbook
        with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
            for name, df in safe.items():
                if len(df) > EXCEL_MAX_ROWS:
                    left_out.append(name)
                    continue
                df.to_excel(writer, sheet_name=name[:31], index=False)
        paths.append(xlsx)
    meta = {**(manifest or {}), "tables": {n: {"rows": len(d), "columns": list(d.columns)} for n, d in tables.items()}}
    if left_out:
        meta["excel_left_out_too_many_rows"] = left_out
    mp = out / "manifest.json"
    mp.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    paths.append(mp)
    return paths
