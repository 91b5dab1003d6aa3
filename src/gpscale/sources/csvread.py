"""Streaming CSV reading: encodings detected, real line numbers, rows handed out in bounded chunks.

Every text CSV a loader reads goes through :class:`CsvReader`. It reads the file line by line (never the
whole file at once) and hands out :class:`CsvChunk` objects of about :data:`CHUNK_BYTES` of file each, so
memory stays within a small multiple of the chunk size whatever the file's size. Loaders that stream (see
:mod:`gpscale.sources.staging`) process one chunk at a time; :func:`gpscale.sources.common.read_text_csv`
joins the chunks for loaders that still need the whole table in memory (up to :data:`MAX_IN_MEMORY_BYTES`).

What it checks, each as a whole-file error naming the line (rule ids in :mod:`gpscale.sources.validate`):

* **encoding**: a byte-order mark decides (UTF-8, UTF-16 LE/BE); otherwise UTF-16 without a mark is
  recognised from its zero bytes, and an 8-bit file is read as UTF-8 until a line is not UTF-8, from which
  point it is read as Windows-1252. A file that mixes the two (UTF-8 accents in some lines, Latin-1 bytes in
  others, which would otherwise come out as "MÃ©dical") is refused, naming the first line that disagrees
  with the encoding of the lines before it (``mixed-encoding``);
* **NUL bytes** (a binary or damaged file): ``malformed-csv`` at the first such line;
* **quoting**: a quote opened at line 101 and never closed (or closed many lines later, leaving a row with
  the wrong number of fields) is reported at line 101, where the quote was opened, not where the parser
  gave up (``malformed-csv``);
* **header**: a column name that appears twice is refused by name (``duplicate-column``): a loader would
  otherwise silently use the first.

Rows with a different number of fields from the header are not errors here: they are padded or cut to
the header width and listed in :attr:`CsvChunk.wrong_width` for the loader to quarantine.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.datafile import open_data

csv.field_size_limit(1 << 24)

#: About this many bytes of file per chunk (rows are never split between chunks).
CHUNK_BYTES = 4 << 20

#: Loaders that read a whole CSV into memory (not yet streaming) refuse files larger than this.
MAX_IN_MEMORY_BYTES = 256 << 20

#: The dtype of text fields: pandas' Arrow-backed strings take a fraction of the memory of Python objects.
TEXT = "str"

#: Bytes of the file start looked at to recognise its encoding.
SNIFF_BYTES = 64 << 10

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")


def sniff_encoding(start: bytes) -> str:
    """Encoding of a file from its first bytes: a byte-order mark, UTF-16 zero bytes, else 8-bit text.

    Returns ``utf-8-sig``, ``utf-16-le``/``utf-16-be`` (the mark, if any, is skipped by the reader) or
    ``8bit`` (UTF-8 or Windows-1252, decided line by line by :class:`LineDecoder`).
    """
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if start.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if start.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    sample = start[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 > len(sample):  # text with a zero byte in every other place
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        return "utf-16-be" if even > odd else "utf-16-le"
    return "8bit"


def bom_length(encoding: str, start: bytes) -> int:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if start.startswith(bom) and encoding != "8bit":
            return len(bom)
    return 0


class LineDecoder:
    """Decode physical lines of an 8-bit file: UTF-8, or Windows-1252 from the first line that is not UTF-8.

    A file whose earlier lines hold UTF-8 accents and a later line a Latin-1 byte (or the reverse) mixes
    encodings: the first line that disagrees is refused.
    """

    def __init__(self, path: Path, strict_utf8: bool = False) -> None:
        self.path = path
        self.strict_utf8 = strict_utf8  # a UTF-8 byte-order mark was present
        self.single_byte = False
        self.first_utf8_line: int | None = None  # first line with a non-ASCII UTF-8 character
        self.first_cp1252_line: int | None = None  # first line that is not UTF-8

    @property
    def encoding(self) -> str:
        return "cp1252" if self.single_byte else "utf-8"

    def decode(self, raw: bytes, line: int) -> str:
        if raw.isascii():
            return raw.decode("ascii")
        if not self.single_byte:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if self.strict_utf8 or self.first_utf8_line is not None:
                    first = self.first_utf8_line
                    since = f"line {first} is UTF-8" if first else "the file starts with a UTF-8 byte-order mark"
                    raise SourceError(
                        self.path,
                        v.MIXED_ENCODING,
                        f"byte {raw[exc.start]:#04x} is not UTF-8 but {since}: the file mixes encodings "
                        "(save it again as UTF-8)",
                        where=f"line {line}",
                    ) from exc
                self.single_byte = True
                self.first_cp1252_line = line
            else:
                if self.first_utf8_line is None:
                    self.first_utf8_line = line
                return text
        if _UTF8_MULTIBYTE.search(raw):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:  # a line that is valid UTF-8 in a file read as Windows-1252 (e.g. "MÃ©dical" in the making)
                raise SourceError(
                    self.path,
                    v.MIXED_ENCODING,
                    f"this line is UTF-8 but line {self.first_cp1252_line} is not: the file mixes encodings "
                    "(save it again as UTF-8)",
                    where=f"line {line}",
                )
        return raw.decode("cp1252", errors="strict") if _cp1252_ok(raw) else raw.decode("latin-1")


def _cp1252_ok(raw: bytes) -> bool:
    return not any(b in raw for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


@dataclass
class CsvChunk:
    """Consecutive data rows of a CSV: text fields padded or cut to the header width.

    ``table`` holds the fields as text, columns named by position ("0", "1"...); ``start`` is the 0-based index
    of the first row among all data rows of the file; ``lines`` the physical (1-based) line each row starts on;
    ``wrong_width`` the (index in this chunk, fields seen) of rows whose field count differs from the header's.
    """

    headers: list[str]
    table: pd.DataFrame
    lines: list[int]
    start: int
    wrong_width: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.table)

    def frame(self, positions: dict[str, int] | None = None) -> pd.DataFrame:
        """The rows as a text frame: columns named by position ("0", "1"...), or by key for ``positions``."""
        if positions is None:
            return self.table
        return pd.DataFrame({k: self.table[str(i)] for k, i in positions.items()}, index=self.table.index)


def _rows_frame(rows: list[list[str]], width: int) -> pd.DataFrame:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
    index = pd.RangeIndex(len(rows))
    return pd.DataFrame({str(i): pd.Series(c, dtype=TEXT, index=index) for i, c in enumerate(cols)})


class CsvReader:
    """A CSV file read in chunks, with its encoding, header and real line numbers.

    ``header=False`` reads a headerless file (ODS epraccur): columns are named "0", "1"... and the width is
    ``width`` (or the first row's). ``preamble`` records before the header (title lines, as the 2010-2011
    GP Patient Survey files have) are read past and not returned.

    Each chunk is parsed by one of two paths that give the same rows: a block of plain ASCII lines without
    quotes, each with the header's number of fields, goes to pandas' C parser in one call; any other block
    (quotes, accents, misshapen lines) is read record by record with the csv module, which follows quoting
    exactly and knows the line each record starts on.
    """

    def __init__(
        self,
        path: Path,
        header: bool = True,
        width: int | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        preamble: int = 0,
    ) -> None:
        self.path = Path(path)
        self.chunk_bytes = chunk_bytes
        with open_data(self.path) as f:
            start = f.read(SNIFF_BYTES)
        self.encoding = sniff_encoding(start)
        self._skip = bom_length(self.encoding, start)
        self._decoder = LineDecoder(self.path, strict_utf8=self.encoding == "utf-8-sig")
        self._source = self._raw_lines()
        self._ahead: deque[tuple[int, bytes | str]] = deque()  # lines read but not yet parsed
        self._fed = 0  # physical lines handed to a parser so far
        self._reader = csv.reader(self._feed(), strict=True)
        self._pending: tuple[list[str], int, int] | None = None
        for _ in range(preamble):
            self._next_record()
        first = self._next_record()
        if first is None:
            raise SourceError(self.path, v.EMPTY_FILE, "the file is empty")
        rec, line, _end = first
        if header:
            self.headers = [h.replace("\ufeff", "") for h in rec]
            self.header_line = line
            check_header(self.path, self.headers, line)
        else:
            self.headers = [str(i) for i in range(width or len(rec))]
            self.header_line = 0
            self._pending = first

    @property
    def text_encoding(self) -> str:
        """The encoding the file was read in (for messages): utf-8, cp1252, utf-16-le..."""
        return self._decoder.encoding if self.encoding == "8bit" else self.encoding

    # -- physical lines -------------------------------------------------------------------------------

    def _raw_lines(self) -> Iterator[tuple[int, bytes | str]]:
        """(line number, line) with its line end: bytes for 8-bit files, text for UTF-16 ones."""
        if self.encoding.startswith("utf-16"):
            yield from enumerate(self._utf16_lines(), start=1)
            return
        with open_data(self.path) as f:
            f.read(self._skip)
            head = f.read(SNIFF_BYTES)
            f.seek(self._skip)
            sep = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # old Mac line ends
            for no, raw in enumerate(_split_lines(f, sep), start=1):
                if b"\x00" in raw:
                    raise SourceError(
                        self.path,
                        v.MALFORMED_CSV,
                        "the line contains NUL bytes (binary or damaged file)",
                        where=f"line {no}",
                    )
                yield no, raw

    def _utf16_lines(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        with open_data(self.path) as f:
            f.read(self._skip)
            buf = ""
            no = 0
            while True:
                block = f.read(1 << 16)
                try:
                    buf += decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    raise SourceError(
                        self.path,
                        v.MIXED_ENCODING,
                        f"not valid {self.encoding.upper()} text: {exc.reason}",
                        where=f"line {no + buf.count(chr(10)) + 1}",
                    ) from exc
                parts = buf.split("\n")
                buf = parts.pop()
                for part in parts:
                    no += 1
                    yield self._checked(part + "\n", no)
                if not block:
                    break
            if buf:
                yield self._checked(buf, no + 1)

    def _checked(self, text: str, no: int) -> str:
        if "\x00" in text:
            raise SourceError(self.path, v.MALFORMED_CSV, "the line contains NUL characters", where=f"line {no}")
        return text

    def _feed(self) -> Iterator[str]:
        """Decoded lines for the csv module: the look-ahead first, then the rest of the file."""
        while True:
            if self._ahead:
                no, item = self._ahead.popleft()
            else:
                got = next(self._source, None)
                if got is None:
                    return
                no, item = got
            self._fed = no
            yield item if isinstance(item, str) else self._decoder.decode(item, no)

    def _fill(self) -> int:
        """Read about ``chunk_bytes`` of lines into the look-ahead; return how many bytes it holds."""
        held = sum(len(item) for _, item in self._ahead)
        while held < self.chunk_bytes:
            got = next(self._source, None)
            if got is None:
                break
            self._ahead.append(got)
            held += len(got[1])
        return held

    # -- records --------------------------------------------------------------------------------------

    def _next_record(self) -> tuple[list[str], int, int] | None:
        """Next non-blank record with the line it starts on and the line it ends on."""
        while True:
            start = self._fed + 1
            try:
                rec = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    detail = "a quote opened on this line is never closed (a stray quote?)"
                else:
                    detail = f"cannot parse CSV: {exc}"
                raise SourceError(self.path, v.MALFORMED_CSV, detail, where=f"line {start}") from exc
            if rec and (len(rec) > 1 or rec[0].strip()):
                return rec, start, self._fed

    def chunks(self) -> Iterator[CsvChunk]:
        """The data rows in chunks of about ``chunk_bytes`` bytes of file."""
        index = 0
        while True:
            self._fill()
            if not self._ahead and self._pending is None:
                break
            chunk = self._fast_chunk(index) if self._pending is None else None
            if chunk is None:
                chunk = self._slow_chunk(index)
            if len(chunk):
                yield chunk
                index += len(chunk)
        if index == 0:
            yield CsvChunk(self.headers, _rows_frame([], len(self.headers)), [], 0, [])

    def _fast_chunk(self, index: int) -> CsvChunk | None:
        """The look-ahead parsed by pandas, if it is plain ASCII without quotes and every line is well formed."""
        items = [item for _, item in self._ahead]
        if not all(isinstance(i, bytes) for i in items):
            return None
        block = b"".join(items)  # type: ignore[arg-type]
        if b'"' in block or not block.isascii() or block.count(b"\r") != block.count(b"\r\n"):
            return None
        commas = len(self.headers) - 1
        lines: list[int] = []
        for no, raw in self._ahead:
            if raw in (b"\n", b"\r\n", b""):
                continue
            if raw.count(b",") != commas:  # type: ignore[arg-type]
                return None
            lines.append(no)
        table = pd.read_csv(
            io.StringIO(block.decode("ascii")),
            header=None,
            names=[str(i) for i in range(len(self.headers))],
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
            skip_blank_lines=True,
        ).astype(TEXT)
        if len(table) != len(lines):
            return None
        self._fed = self._ahead[-1][0]
        self._ahead.clear()
        return CsvChunk(self.headers, table, lines, index, [])

    def _slow_chunk(self, index: int) -> CsvChunk:
        """The look-ahead (and any record it starts) parsed record by record."""
        n = len(self.headers)
        rows: list[list[str]] = []
        lines: list[int] = []
        wrong: list[tuple[int, int]] = []
        while self._ahead or self._pending is not None:
            got = self._pending if self._pending is not None else self._next_record()
            self._pending = None
            if got is None:
                break
            rec, line, end = got
            if len(rec) != n:
                if len(rec) > n and not any(c.strip() for c in rec[n:]):
                    rec = rec[:n]  # trailing empty fields beyond the header (a trailing comma)
                else:
                    if end > line:  # a quoted field ran over several lines and left the row misshapen
                        raise SourceError(
                            self.path,
                            v.MALFORMED_CSV,
                            f"a quote opened on this line runs to line {end}, leaving a row of {len(rec)} fields "
                            f"where the header has {n} (a stray quote?)",
                            where=f"line {line}",
                        )
                    wrong.append((len(rows), len(rec)))
                    rec = (rec + [""] * n)[:n]
            rows.append(rec)
            lines.append(line)
        return CsvChunk(self.headers, _rows_frame(rows, n), lines, index, wrong)


def _split_lines(f: BinaryIO, sep: bytes) -> Iterator[bytes]:
    if sep == b"\n":
        yield from f  # a binary file iterates by b"\n", keeping the line end
        return
    buf = b""
    while block := f.read(1 << 16):
        buf += block
        parts = buf.split(sep)
        buf = parts.pop()
        for p in parts:
            yield p + b"\n"
    if buf:
        yield buf


def check_header(path: Path, headers: list[str], line: int = 1) -> None:
    """Refuse a header that names a column twice (compared trimmed and case-insensitively)."""
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        key = h.strip().casefold()
        if not key:
            continue
        if key in seen:
            raise SourceError(
                path,
                v.DUPLICATE_COLUMN,
                f"column {h.strip()!r} appears twice (columns {seen[key] + 1} and {i + 1}); "
                "a loader could not tell which one holds the data",
                where=f"header, line {line}",
            )
        seen[key] = i


def head_text(path: Path, limit: int = 256 * 1024) -> tuple[str, str]:
    """The decoded start of a text file and its encoding, for format detection (never raises on bytes)."""
    with open_data(path) as f:
        raw = f.read(limit)
    enc = sniff_encoding(raw)
    body = raw[bom_length(enc, raw) :]
    if enc.startswith("utf-16"):
        body = body[: len(body) - len(body) % 2]
        return body.decode(enc, errors="replace"), enc
    for candidate in ("utf-8", "cp1252"):
        try:
            return body.decode(candidate), "utf-8-sig" if enc == "utf-8-sig" else enc
        except UnicodeDecodeError:
            # the limit may cut a UTF-8 character in two: retry without the last few bytes
            try:
                return body[:-3].decode(candidate), enc
            except UnicodeDecodeError:
                continue
    return body.decode("latin-1"), enc
