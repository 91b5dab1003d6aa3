"""Reading helpers shared by loaders: text CSVs, workbook sheets, periods named in file names.

Everything is read as text first; each loader then converts the columns it needs with
:mod:`gpscale.sources.validate`, so a bad cell becomes a named rule on a numbered row rather than a
parser traceback.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.periods import fy_label, month_label
from gpscale.sources import validate as v
from gpscale.sources.base import FileHead, SourceError
from gpscale.sources.headers import Col, Resolved, match, norm, resolve

csv.field_size_limit(1 << 24)


@dataclass
class TextTable:
    """A CSV read as text: header cells, the data rows (padded to the header width), and misfits."""

    headers: list[str]
    frame: pd.DataFrame  # columns named by position: "0", "1", ...; all text
    wrong_width: list[tuple[int, int]] = field(default_factory=list)  # (0-based row index, fields seen)

    def column(self, header: str) -> pd.Series:
        return self.frame[str(self.headers.index(header))]


def decode(raw: bytes) -> str:
    """Decode file bytes: UTF-8 (BOM stripped) or, failing that, Windows-1252."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_text_csv(path: Path, header: bool = True, width: int | None = None) -> TextTable:
    """Read a CSV as text (quoted newlines allowed, strict quoting).

    Rows with a different number of fields from the header are padded/truncated and listed in
    ``wrong_width`` so the loader can quarantine them (a truncated last line shows up here). Files
    without quote characters are parsed by pandas' C reader after a cheap per-line field count; files
    with quotes (or misfit rows) by the csv module, which follows quoting exactly.
    """
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise SourceError(path, v.MALFORMED_CSV, "the file contains NUL bytes (binary or corrupted)")
    text = decode(raw)
    if '"' not in text:
        fast = _read_unquoted(text, header, width)
        if fast is not None:
            return fast
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for rec in reader:
            if rec and (len(rec) > 1 or rec[0].strip()):
                rows.append(rec)
    except csv.Error as exc:
        raise SourceError(path, v.MALFORMED_CSV, f"cannot parse CSV: {exc}", where=f"line {reader.line_num}") from exc
    if not rows:
        raise SourceError(path, v.EMPTY_FILE, "the file is empty")
    if header:
        head = [h.replace("\ufeff", "") for h in rows[0]]
        body = rows[1:]
    else:
        n = width or max(len(r) for r in rows[:50])
        head = [str(i) for i in range(n)]
        body = rows
    n = len(head)
    wrong: list[tuple[int, int]] = []
    for i, r in enumerate(body):
        if len(r) != n:
            # tolerate trailing empty fields beyond the header (e.g. a trailing comma)
            if len(r) > n and not any(c.strip() for c in r[n:]):
                body[i] = r[:n]
            else:
                wrong.append((i, len(r)))
                body[i] = (r + [""] * n)[:n]
    cols = list(zip(*body, strict=True)) if body else [() for _ in range(n)]
    frame = pd.DataFrame({str(i): pd.Series(c, dtype=object) for i, c in enumerate(cols)})
    return TextTable(head, frame, wrong)


def _read_unquoted(text: str, header: bool, width: int | None) -> TextTable | None:
    """Fast path for a file without quotes: None if any line has the wrong number of fields."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    n = (lines[0].count(",") + 1) if header else (width or lines[0].count(",") + 1)
    for ln in lines[1 if header else 0 :]:
        if ln.count(",") + 1 != n:
            return None  # let the csv module path report the misfit rows
    head = lines[0].split(",") if header else [str(i) for i in range(n)]
    body = lines[1:] if header else lines
    if not body:
        frame = pd.DataFrame({str(i): pd.Series([], dtype=object) for i in range(n)})
        return TextTable(head, frame, [])
    frame = pd.read_csv(
        io.StringIO("\n".join(body)),
        header=None,
        names=[str(i) for i in range(n)],
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        engine="c",
    )
    return TextTable(head, frame.astype(object), [])


def flag_wrong_width(table: TextTable, check: v.Checker) -> None:
    if not table.wrong_width:
        return
    n = len(table.headers)
    import numpy as np

    mask = np.zeros(len(table.frame), dtype=bool)
    details = [""] * len(table.frame)
    for i, seen in table.wrong_width:
        mask[i] = True
        details[i] = f"row has {seen} fields, header has {n} (truncated or misaligned line)"
    check.flag(mask, v.WRONG_FIELD_COUNT, details)


def start_checks(table: TextTable, df: pd.DataFrame, path: Path) -> v.Checker:
    """Refuse a file with no data rows, start its row checks and quarantine misaligned lines."""
    v.require_rows(len(df), path)
    check = v.Checker(path, len(df))
    flag_wrong_width(table, check)
    return check


def read_checked_csv(path: Path, wanted: Sequence[Col]) -> tuple[TextTable, Resolved, pd.DataFrame, v.Checker]:
    """Read a CSV as text, resolve the wanted columns by meaning and start the row checks.

    The opening every CSV loader shares: the resolved columns (named by key) as a text frame, and the
    checker its validation rules quarantine rows into.
    """
    table = read_text_csv(path)
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


# ---- periods from file names and headers -----------------------------------------------------------

_FY_LONG = re.compile(r"(?<!\d)(19|20)(\d{2})[-_ /]?(\d{2})(?!\d)")
_FY_SHORT = re.compile(r"(?<!\d)(\d{2})[-_ ]?(\d{2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(19|20)(\d{2})[-_ ]?(0[1-9]|1[0-2])(?!\d)")


def fy_from_text(text: str) -> str | None:
    """Financial year named in text: '2019-20', '201920', '2019_20', '1920', '19-20' → 'FY2019/20'."""
    for m in _FY_LONG.finditer(text):
        y = int(m.group(1) + m.group(2))
        if (y + 1) % 100 == int(m.group(3)):
            return fy_label(y)
    for m in _FY_SHORT.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if (a + 1) % 100 == b and 0 <= a <= 60:
            return fy_label(2000 + a)
    return None


def month_from_text(text: str) -> str | None:
    """Month named in text: '201709', '2017_09', '2017-09' → '2017-09'."""
    for m in _MONTH.finditer(text):
        return month_label(int(m.group(1) + m.group(2)), int(m.group(3)))
    return None


def fy_end(fy: str) -> date:
    y = int(fy[2:6])
    return date(y + 1, 3, 31)


def head_headers(head: FileHead) -> list[str]:
    """The first CSV record of a text head, parsed as CSV (quoted newlines allowed)."""
    if head.kind != "csv" or not head.text_lines:
        return []
    text = "\n".join(head.text_lines)
    try:
        rec = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        return []
    return [h.replace("\ufeff", "") for h in rec]


def head_records(head: FileHead, n: int = 5) -> list[list[str]]:
    if head.kind != "csv" or not head.text_lines:
        return []
    out: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO("\n".join(head.text_lines))):
            out.append(rec)
            if len(out) >= n:
                break
    except csv.Error:
        pass
    return out


def stem(path: Path) -> str:
    return path.name


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
