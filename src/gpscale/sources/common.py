"""Reading helpers shared by loaders: text CSVs, workbook sheets, periods named in file names.

Everything is read as text first; each loader then converts the columns it needs with
:mod:`gpscale.sources.validate`, so a bad cell becomes a named rule on a numbered row rather than a
parser traceback.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.csvread import MAX_IN_MEMORY_BYTES, CsvChunk, CsvReader
from gpscale.sources.datafile import decompressed_size
from gpscale.sources.headers import Col, Resolved, match, norm, resolve


@dataclass
class TextTable:
    """A CSV read as text: header cells, the data rows (padded to the header width), and misfits."""

    headers: list[str]
    frame: pd.DataFrame  # columns named by position: "0", "1", ...; all text
    wrong_width: list[tuple[int, int]] = field(default_factory=list)  # (0-based row index, fields seen)
    lines: list[int] = field(default_factory=list)  # physical line each row starts on

    def column(self, header: str) -> pd.Series:
        return self.frame[str(self.headers.index(header))]


def read_text_csv(path: Path, header: bool = True, width: int | None = None, preamble: int = 0) -> TextTable:
    """Read a whole CSV as text, through the streaming reader (:mod:`gpscale.sources.csvread`).

    Quoted newlines are allowed and quoting is strict; encodings are detected and a mixed-encoding file,
    NUL bytes, an unclosed quote or a column named twice are refused with the line named. Rows with a
    different number of fields from the header are padded/truncated and listed in ``wrong_width`` so the
    loader can quarantine them (a truncated last line shows up here). Loaders that need the whole table in
    memory use this; it refuses files above :data:`~gpscale.sources.csvread.MAX_IN_MEMORY_BYTES`.
    """
    size = decompressed_size(path, MAX_IN_MEMORY_BYTES)
    if size > MAX_IN_MEMORY_BYTES:
        raise SourceError(
            path,
            v.FILE_TOO_LARGE,
            f"{size / 1e6:,.0f} MB is more than the {MAX_IN_MEMORY_BYTES / 1e6:,.0f} MB this format's loader reads "
            "into memory; a file of this layout that large is not a publication we know",
            where="file",
        )
    reader = CsvReader(path, header=header, width=width, preamble=preamble)
    frames: list[pd.DataFrame] = []
    wrong: list[tuple[int, int]] = []
    lines: list[int] = []
    for chunk in reader.chunks():
        frames.append(chunk.frame())
        wrong.extend((chunk.start + i, seen) for i, seen in chunk.wrong_width)
        lines.extend(chunk.lines)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return TextTable(reader.headers, frame, wrong, lines)


def flag_wrong_width(table: TextTable | CsvChunk, check: v.Checker) -> None:
    """Quarantine the rows whose field count differs from the header's (``wrong-field-count``)."""
    if not table.wrong_width:
        return
    n = len(table.headers)
    import numpy as np

    n_rows = len(table.frame) if isinstance(table, TextTable) else len(table)
    mask = np.zeros(n_rows, dtype=bool)
    details = [""] * n_rows
    for i, seen in table.wrong_width:
        mask[i] = True
        details[i] = f"row has {seen} fields, header has {n} (truncated or misaligned line)"
    check.flag(mask, v.WRONG_FIELD_COUNT, details)


def start_checks(table: TextTable, df: pd.DataFrame, path: Path) -> v.Checker:
    """Refuse a file with no data rows, start its row checks and quarantine misaligned lines."""
    v.require_rows(len(df), path)
    check = v.Checker(path, len(df), lines=table.lines or None)
    flag_wrong_width(table, check)
    return check


def read_checked_csv(
    path: Path, wanted: Sequence[Col], preamble: int = 0
) -> tuple[TextTable, Resolved, pd.DataFrame, v.Checker]:
    """Read a CSV as text, resolve the wanted columns by meaning and start the row checks.

    The opening every CSV loader shares: the resolved columns (named by key) as a text frame, and the
    checker its validation rules quarantine rows into.
    """
    table = read_text_csv(path, preamble=preamble)
    res = resolve(table.headers, wanted, path)
    df = frame_of(table, res)
    return table, res, df, start_checks(table, df, path)


def cell_text(value: object) -> str:
    """Workbook cell as text: integral floats without '.0', dates as YYYYMMDD, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(value)


@dataclass
class SheetTable:
    """A workbook sheet's data block under its header row (header row index is 0-based)."""

    sheet: str
    header_row: int
    headers: list[str]
    frame: pd.DataFrame  # columns named by position, all text

    def excel_row(self, i: int) -> int:
        """1-based Excel row number of data row ``i`` (0-based)."""
        return self.header_row + 2 + i


def open_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise SourceError(path, "unreadable-workbook", f"not a readable xlsx workbook: {exc}") from exc


def find_sheet(sheets: Sequence[str], rows: dict[str, Sequence[Sequence[object]]], wanted: Iterable[Col]) -> str | None:
    """The sheet whose first rows contain a header row holding every required wanted column."""
    wanted = list(wanted)
    for name in sheets:
        if find_header_row(rows.get(name, ()), wanted) is not None:
            return name
    return None


def find_header_row(rows: Sequence[Sequence[object]], wanted: Sequence[Col]) -> int | None:
    for i, row in enumerate(rows):
        cells = [c for c in row]
        if sum(1 for c in cells if c not in (None, "")) < 2:
            continue
        _, missing = match(cells, wanted)
        if not missing:
            return i
    return None


def read_sheet(
    path: Path,
    wanted: Sequence[Col],
    sheet_hint: Sequence[str] = (),
    max_header_row: int = 40,
    workbook: Any = None,
) -> SheetTable:
    """Read the first sheet whose header row (within the first rows) holds every required column.

    Pass an open ``workbook`` to read several sheets of one file without re-opening it.
    """
    wb = workbook if workbook is not None else open_workbook(path)
    try:
        names = list(wb.sheetnames)
        order = sorted(names, key=lambda n: 0 if any(norm(h) == norm(n) for h in sheet_hint) else 1)
        for name in order:
            ws = wb[name]
            head = [tuple(r) for r in ws.iter_rows(max_row=max_header_row, values_only=True)]
            hr = find_header_row(head, wanted)
            if hr is None:
                continue
            headers = [cell_text(c) for c in head[hr]]
            data: list[list[str]] = []
            for r in ws.iter_rows(min_row=hr + 2, values_only=True):
                cells = [cell_text(c) for c in r]
                if not any(c.strip() for c in cells):
                    continue
                cells = (cells + [""] * len(headers))[: len(headers)]
                data.append(cells)
            frame = pd.DataFrame(data, columns=[str(i) for i in range(len(headers))], dtype=object)
            return SheetTable(name, hr, headers, frame)
    finally:
        if workbook is None:
            wb.close()
    seen = ", ".join(repr(n) for n in names)
    want = ", ".join(c.description for c in wanted if c.required)
    raise SourceError(
        path, v.MISSING_COLUMNS, f"no sheet has a header row with: {want}; sheets: {seen}", where="workbook"
    )


# ---- periods -----------------------------------------------------------------------------------------


def fy_end(fy: str) -> date:
    y = int(fy[2:6])
    return date(y + 1, 3, 31)


def frame_of(table: TextTable | SheetTable, resolved: Resolved) -> pd.DataFrame:
    """Data frame with the resolved columns renamed to their keys (text values)."""
    out = {key: table.frame[str(pos)].astype(object) for key, pos in resolved.positions.items()}
    return pd.DataFrame(out, index=table.frame.index)


def text(s: pd.Series) -> pd.Series:
    """Trimmed text with blanks as None."""
    t = s.astype(object).where(s.notna(), "").astype(str).str.strip()
    return t.where(t != "", None)


def map_unique(s: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Apply ``fn`` once per distinct value (large files repeat a few codes many times)."""
    t = s.fillna("").astype(str)
    table = {u: fn(u) for u in t.unique()}
    return t.map(table)


def attribute_rows(
    df: pd.DataFrame, code: pd.Series, period: str, keep: object, mapping: dict[str, str], period_type: str = "fy"
) -> pd.DataFrame:
    """Long ``practice_attribute`` rows for the columns of ``mapping`` present in ``df`` (blank values dropped)."""
    parts = []
    for src, attr in mapping.items():
        if src not in df:
            continue
        part = pd.DataFrame(
            {
                "practice_code": code,
                "period": period,
                "period_type": period_type,
                "attribute": attr,
                "value": text(df[src]),
            }
        )[keep]
        parts.append(part[part["value"].notna()])
    if not parts:
        return pd.DataFrame(columns=["practice_code", "period", "period_type", "attribute", "value"])
    return pd.concat(parts, ignore_index=True)


def optional_text(df: pd.DataFrame, key: str) -> pd.Series | None:
    """Trimmed text of an optional resolved column, or None where the file does not have it."""
    return text(df[key]) if key in df else None
