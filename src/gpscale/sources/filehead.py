"""Reading a file's head: what detection (and then the loader) looks at, read once per file.

A leaf module (it imports only :mod:`gpscale.sources.base`, :mod:`gpscale.sources.csvread` and
:mod:`gpscale.sources.datafile`), so every
loader, the format list (:mod:`gpscale.sources.catalogue`) and detection (:mod:`gpscale.sources.registry`)
can use it without importing one another: :func:`read_head` reads the first lines of a text file, or the
sheet names and first rows of a workbook, into a :class:`~gpscale.sources.base.FileHead`; detection hands
that head to the loader's ``load`` so no loader reads it a second time.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gpscale.sources.base import FileHead, SourceError
from gpscale.sources.csvread import head_text
from gpscale.sources.datafile import CSV_SUFFIXES, data_suffix, inner_suffix

#: Number of text lines (or workbook rows per sheet) a loader may look at to recognise a file.
HEAD_LINES = 40


def read_head(path: Path) -> FileHead:
    """Read what detection may look at: first lines of text (decompressed from a ``.gz`` file), or sheet names
    and first rows of a workbook."""
    suffix = data_suffix(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_head(path)
    text, _encoding = head_text(path)
    lines = tuple(text.splitlines()[:HEAD_LINES])
    suffix = inner_suffix(path)
    kind = "csv" if suffix in CSV_SUFFIXES else ("yaml" if suffix in (".yaml", ".yml") else "other")
    return FileHead(path=path, kind=kind, text_lines=lines)


def _xlsx_head(path: Path) -> FileHead:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip, zlib, XML and openpyxl errors all mean the same to the user
        raise SourceError(path, "unreadable-workbook", f"not a readable xlsx workbook: {exc}") from exc
    try:
        sheets = tuple(wb.sheetnames)
        rows: dict[str, tuple[tuple[object, ...], ...]] = {}
        for name in sheets:
            ws = wb[name]
            rows[name] = tuple(tuple(r) for r in ws.iter_rows(max_row=HEAD_LINES, values_only=True))
    except Exception as exc:
        raise SourceError(path, "unreadable-workbook", f"workbook damaged: {type(exc).__name__}: {exc}") from exc
    finally:
        wb.close()
    return FileHead(path=path, kind="xlsx", sheets=sheets, sheet_rows=rows)


def head_records(head: FileHead, n: int = 5, skip: int = 0) -> list[list[str]]:
    """The first ``n`` CSV records of a text head after ``skip`` records (quoted newlines allowed)."""
    if head.kind != "csv" or not head.text_lines:
        return []
    out: list[list[str]] = []
    try:
        for i, rec in enumerate(csv.reader(io.StringIO("\n".join(head.text_lines)))):
            if i < skip:
                continue
            out.append(rec)
            if len(out) >= n:
                break
    except csv.Error:
        pass
    return out


def head_headers(head: FileHead, skip: int = 0) -> list[str]:
    """The first CSV record of a text head (after ``skip`` preamble records), BOM removed."""
    recs = head_records(head, 1, skip)
    return [h.replace("\ufeff", "") for h in recs[0]] if recs else []
