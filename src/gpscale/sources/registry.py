"""Format detection: which published format is this file?

Every loader is listed in :data:`gpscale.sources.catalogue.FORMATS`; detection reads the file head once
(:mod:`gpscale.sources.filehead`) and asks each loader in turn; the loader that claims the file then loads it
from that same head. A file no loader claims is an error that lists the formats tried and the nearest match.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpscale.sources import catalogue
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult, SourceError, SourceFormat
from gpscale.sources.csvread import check_header
from gpscale.sources.filehead import head_headers, read_head
from gpscale.sources.headers import Col, match

if TYPE_CHECKING:
    import duckdb

#: File types (:func:`gpscale.sources.datafile.data_suffix`) considered when a directory is ingested; other
#: files (docs, JSON) are skipped. A ``.csv.gz`` file is read decompressed (:mod:`gpscale.sources.datafile`).
DATA_SUFFIXES = (".csv", ".csv.gz", ".xlsx", ".yaml", ".yml")


def formats() -> tuple[SourceFormat, ...]:
    """All known formats, in the order they are asked."""
    return catalogue.FORMATS


@dataclass(frozen=True)
class Detected:
    """A file recognised: the loader claiming it (guarded), its detection and the head both looked at."""

    format: SourceFormat
    detection: Detection
    head: FileHead

    def load(self, con: duckdb.DuckDBPyConnection, detection: Detection | None = None) -> LoadResult:
        """Load the file with the head detection read (``detection`` may restate the period)."""
        return self.format.load(self.head, detection or self.detection, con)


class Guarded:
    """A loader wrapped so that a fault inside it surfaces as a SourceError naming the file, never as a
    raw traceback (the ingest then rolls back). Loaders raise SourceError themselves for every rule;
    this is the last line of defence against a file shape nobody anticipated."""

    def __init__(self, fmt: SourceFormat) -> None:
        self.fmt = fmt
        self.name = fmt.name
        self.description = fmt.description
        self.header_hint = fmt.header_hint
        self.columns = fmt.columns

    def sniff(self, head: FileHead) -> Detection | None:
        return self.fmt.sniff(head)

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop whatever the loader staged for its relations, once the ingest has inserted them."""
        self.fmt.cleanup(con)

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        try:
            return self.fmt.load(head, detection, con)
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
    found = detect_file(path)
    return found.format, found.detection


def detect_file(path: Path) -> Detected:
    """The loader claiming ``path``, its detection and the head read, or a SourceError naming the nearest
    format (``unknown-format``) or the columns a clearly recognised format misses (``missing-columns``)."""
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
            return Detected(Guarded(fmt), det, head)
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
        wanted = [c for c in fmt.columns if c.required]
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
        expected = fmt.header_hint
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
