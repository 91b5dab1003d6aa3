"""Opening a data file's bytes: the one place that knows a ``.gz`` file is read decompressed.

Analysts gzip large NHS CSVs (a national prescribing month is gigabytes of text, a tenth of that
compressed), and synthetic England writes its prescribing months that way. A file whose name ends in
``.gz`` (``EPD_201909.csv.gz``) is read as the bytes it decompresses to, by every reader: format detection
(:mod:`gpscale.sources.filehead`), the streaming CSV reader (:mod:`gpscale.sources.csvread`) and the
loaders that hand the file to DuckDB (which decompresses it itself; :func:`duckdb_compression` says how,
after :func:`check_gzip` has checked the whole archive, which DuckDB does not).
Only text files (CSV) may be compressed: a workbook is already a zip archive.

The ingest log's checksum stays that of the file as given (the compressed bytes): the same data plain
and gzipped are two files holding one edition, so the second replaces the first after the usual edition
comparison (:mod:`gpscale.store.editions`), which finds the same rows.

A truncated or damaged archive is a whole-file error, ``unreadable-gzip``, naming the file, wherever it is
found (gzip checks its length and CRC only at the end, so a cut file is found when the last block is read).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError

#: The ending of a gzip-compressed data file's name.
GZIP = ".gz"

#: File types read as CSV text (by the ending before any ``.gz``); the only ones that may be compressed.
CSV_SUFFIXES = (".csv", ".txt", "")


def is_gzip(path: Path) -> bool:
    """Whether the file's name says it is gzip-compressed (``*.gz``)."""
    return path.name.lower().endswith(GZIP)


def data_suffix(path: Path) -> str:
    """The file type the name states, lower case, with ``.gz`` kept after it: ``x.CSV.gz`` → ``.csv.gz``."""
    if not is_gzip(path):
        return path.suffix.lower()
    return Path(path.name[: -len(GZIP)]).suffix.lower() + GZIP


def inner_suffix(path: Path) -> str:
    """The file type of the (decompressed) content: ``x.csv.gz`` → ``.csv``, ``x.csv`` → ``.csv``."""
    suffix = data_suffix(path)
    return suffix[: -len(GZIP)] if suffix.endswith(GZIP) else suffix


def duckdb_compression(path: Path) -> str:
    """The ``compression`` option of DuckDB's ``read_csv`` for this file (stated, never guessed)."""
    return "gzip" if is_gzip(path) else "none"


def open_data(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when the name ends in ``.gz`` (errors of a damaged archive, when
    read, are a SourceError ``unreadable-gzip``); a compressed file that is not text is refused."""
    if not is_gzip(path):
        return path.open("rb")
    if inner_suffix(path) not in CSV_SUFFIXES:
        raise SourceError(
            path,
            v.UNREADABLE_GZIP,
            f"only CSV files may be gzip-compressed (this is a compressed {inner_suffix(path)} file); "
            "decompress it and ingest the file itself",
            where="file",
        )
    return cast(BinaryIO, _Gunzip(path))


def decompressed_size(path: Path, at_most: int) -> int:
    """Bytes of content, for limits on what a loader reads into memory: the file's size, or the bytes a gzip
    file decompresses to, counted (and the archive checked) up to just past ``at_most``. The size the gzip
    trailer states is not used: it is modulo 4 GiB, and garbage in a damaged file."""
    if not is_gzip(path):
        return path.stat().st_size
    return _read_through(path, at_most)


def check_gzip(path: Path) -> None:
    """Decompress a ``.gz`` file to the end, checking its length and CRC, before a reader that does not check
    them is given it: DuckDB's ``read_csv`` reads a damaged stream as whatever it inflates to (or, skipping
    rows it cannot parse, loops). One pass at zlib's speed, a small part of parsing the text."""
    if is_gzip(path):
        _read_through(path, None)


def _read_through(path: Path, at_most: int | None) -> int:
    size = 0
    with open_data(path) as f:
        while (at_most is None or size <= at_most) and (block := f.read(1 << 20)):
            size += len(block)
    return size


def gzip_error(path: Path, exc: BaseException) -> SourceError:
    """The whole-file error for a truncated or damaged gzip file."""
    return SourceError(
        path,
        v.UNREADABLE_GZIP,
        f"the gzip file is truncated or damaged ({type(exc).__name__}: {exc}); download or compress it again",
        where="file",
    )


class _Gunzip(gzip.GzipFile):
    """A gzip file read decompressed, whose archive errors become :func:`gzip_error` (reads and seeks)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        super().__init__(filename=str(path), mode="rb")

    @contextmanager
    def _reported(self) -> Iterator[None]:
        try:
            yield
        except _DAMAGED as exc:
            raise gzip_error(self._path, exc) from exc

    def read(self, size: int | None = -1) -> bytes:
        with self._reported():
            return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        with self._reported():
            return super().read1(size)

    def readline(self, size: int | None = -1) -> bytes:
        with self._reported():
            return super().readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        with self._reported():
            return super().seek(offset, whence)


#: What gzip raises for a cut file (EOFError), a bad header or CRC (BadGzipFile) or bad deflate data.
_DAMAGED = (EOFError, gzip.BadGzipFile, zlib.error)
