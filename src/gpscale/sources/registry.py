"""Format detection: which published format is this file?

Every loader is listed in :data:`FORMATS`; detection reads the file head once and asks each loader in
turn. A file no loader claims is an error that lists the formats tried and the nearest match.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult, SourceError, SourceFormat
from gpscale.sources.common import head_headers
from gpscale.sources.csvread import check_header, head_text
from gpscale.sources.headers import Col, match

if TYPE_CHECKING:
    import duckdb

#: Number of text lines (or workbook rows per sheet) a loader may look at to recognise a file.
HEAD_LINES = 40

#: File extensions considered when a directory is ingested; other files (docs, JSON) are skipped.
DATA_SUFFIXES = (".csv", ".xlsx", ".yaml", ".yml")


def formats() -> tuple[SourceFormat, ...]:
    """All known formats, in the order they are asked."""
    from gpscale.sources import catalogue

    return catalogue.FORMATS


def read_head(path: Path) -> FileHead:
    """Read what detection may look at: first lines of text, or sheet names and first rows of a workbook."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_head(path)
    text, _encoding = head_text(path)
    lines = tuple(text.splitlines()[:HEAD_LINES])
    kind = "csv" if suffix in (".csv", ".txt", "") else ("yaml" if suffix in (".yaml", ".yml") else "other")
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


class Guarded:
    """A loader wrapped so that a fault inside it surfaces as a SourceError naming the file, never as a
    raw traceback (the ingest then rolls back). Loaders raise SourceError themselves for every rule;
    this is the last line of defence against a file shape nobody anticipated."""

    def __init__(self, fmt: SourceFormat) -> None:
        self.fmt = fmt
        self.name = fmt.name
        self.description = fmt.description

    def sniff(self, head: FileHead) -> Detection | None:
        return self.fmt.sniff(head)

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop whatever the loader staged for its relations, once the ingest has inserted them."""
        hook = getattr(self.fmt, "cleanup", None)
        if hook is not None:
            hook(con)

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        try:
            return self.fmt.load(path, detection, con)
        except SourceError:
            raise
        except (MemoryError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if path.suffix.lower() in (".xlsx", ".xlsm") and _is_archive_error(exc):
                raise SourceError(
                    path, "unreadable-workbook", f"workbook damaged: {type(exc).__name__}: {exc}"
                ) from exc
            raise SourceError(
                path,
                "unreadable-content",
                f"the {self.name} loader could not read this file ({type(exc).__name__}: {exc})",
            ) from exc


def _is_archive_error(exc: BaseException) -> bool:
    """Errors that mean a workbook's zip or XML is damaged (raised lazily while reading rows)."""
    import xml.etree.ElementTree as ET
    import zipfile
    import zlib

    return isinstance(exc, zlib.error | zipfile.BadZipFile | ET.ParseError | EOFError) or type(
        exc
    ).__module__.startswith(("lxml", "zipfile", "openpyxl"))


def detect(path: Path) -> tuple[SourceFormat, Detection]:
    """Return the loader claiming ``path`` and its detection, or raise a SourceError naming the nearest."""
    if not path.is_file():
        raise SourceError(path, "missing-file", "no such file")
    if path.stat().st_size == 0:
        raise SourceError(path, "empty-file", "the file is empty")
    head = read_head(path)
    for fmt in formats():
        try:
            det = fmt.sniff(head)
        except (ValueError, IndexError, KeyError, TypeError):
            det = None  # a head this loader cannot even parse is not its format
        if det is not None:
            return Guarded(fmt), det
    if head.kind == "csv" and head_headers(head):
        check_header(path, head_headers(head))  # a column named twice, before guessing what is missing
    near_miss = _missing_columns(head)
    if near_miss is not None:
        raise near_miss
    tried = [f.name for f in formats()]
    raise SourceError(
        path,
        "unknown-format",
        f"no loader recognises this file; tried {', '.join(tried)}; nearest match: {nearest_format(head)}",
        where="header",
    )


#: A header holding at least this share (and two) of a format's required columns is that format with
#: columns missing, reported by name, rather than an unknown format.
NEAR_MISS_SHARE = 0.6


def _missing_columns(head: FileHead) -> SourceError | None:
    """A ``missing-columns`` error when the header is clearly a known format's with some columns missing."""
    headers = head_headers(head)
    if not headers:
        return None
    best: tuple[float, SourceFormat, list[Col]] | None = None
    for fmt in formats():
        wanted = [c for c in getattr(fmt, "columns", ()) if c.required]
        if len(wanted) < 2:
            continue
        _found, missing = match(headers, wanted)
        share = 1 - len(missing) / len(wanted)
        near = missing and share >= NEAR_MISS_SHARE and len(wanted) - len(missing) >= 2
        if near and (best is None or share > best[0]):
            best = (share, fmt, missing)
    if best is None:
        return None
    _share, fmt, missing = best
    names = ", ".join(f"{c.key} (e.g. '{c.description}')" for c in missing)
    return SourceError(
        head.path,
        v.MISSING_COLUMNS,
        f"this looks like a {fmt.name} file ({fmt.description}) but required columns are missing: {names}",
        where="header row",
    )


def nearest_format(head: FileHead) -> str:
    """Name the format whose expected header looks most like this file's first line (a hint only)."""
    first = head.text_lines[0] if head.text_lines else " ".join(str(c) for c in _first_row(head))
    best, best_score = "none", 0.0
    for fmt in formats():
        expected = getattr(fmt, "header_hint", "")
        if not expected:
            continue
        score = difflib.SequenceMatcher(None, first.lower(), expected.lower()).ratio()
        if score > best_score:
            best, best_score = fmt.name, score
    return f"{best} (similarity {best_score:.2f})" if best != "none" else "none"


def _first_row(head: FileHead) -> tuple[object, ...]:
    for rows in head.sheet_rows.values():
        for row in rows:
            if any(c is not None for c in row):
                return tuple(c for c in row if c is not None)
    return ()
