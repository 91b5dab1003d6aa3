"""The contract every source loader fulfils.

A loader is one published format (and its year variants). It answers two questions:

* ``sniff``: is this file mine? It looks only at the file itself (its head: header row, sheet names,
  first data rows), never at the file name alone, and returns a :class:`Detection` or ``None``.
* ``load``: parse, validate and normalise the file into canonical tables (see
  :mod:`gpscale.store.schema`), given the head detection already read. It returns a :class:`LoadResult`;
  it never writes to the store itself (rows it staged in temporary tables are dropped by ``cleanup``).
  The ingest (:mod:`gpscale.store.ingest`) writes the result inside one transaction.

Validation rules come in two strengths, chosen per rule and documented in ``docs/adr``:

* a :class:`SourceError` rejects the whole file (wrong format, missing required columns, a file-level
  inconsistency) and names file, row or cell, and the rule;
* a :class:`Reject` quarantines one row (e.g. an invalid practice code) into the ``rejects`` table
  and the ingest reports it at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    import duckdb

    from gpscale.sources.headers import Col
    from gpscale.sources.rx_codes import RxCodeSet


class SourceError(Exception):
    """A file cannot be loaded; the message names the file, where in it, and the rule broken."""

    def __init__(self, path: Path | str, rule: str, detail: str, where: str | None = None) -> None:
        self.path = Path(path)
        self.rule = rule
        self.detail = detail
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{self.path.name}{location}: [{rule}] {detail}")


@dataclass(frozen=True)
class Detection:
    """A loader's claim on a file.

    ``publication`` identifies the edition of the publication the file holds (e.g.
    ``qof_achievement:FY2019/20``): a later file with the same publication replaces the earlier one's rows,
    after the ingest has compared the two (:mod:`gpscale.store.editions`). ``stated_period`` is the period
    the user gave (``gpscale ingest --period``) for a file that carries none
    (:mod:`gpscale.sources.period_policy`). ``rx_codes``, where the ingest sets it, asks the prescribing
    loader to aggregate rows to those BNF prefixes (:mod:`gpscale.sources.rx_codes`); None keeps every row.
    """

    format: str
    variant: str
    publication: str
    stated_period: str | None = None
    rx_codes: RxCodeSet | None = None


@dataclass(frozen=True)
class Reject:
    """One quarantined row: its 1-based data row number (or None), the rule, what was wrong, and the
    physical line of the file it starts on where known (differs from the row number after blank lines or
    quoted line breaks)."""

    row_number: int | None
    rule: str
    detail: str
    line: int | None = None

    def location(self) -> str:
        """'row 3 (line 5)', 'row 3' or 'line 5': where a user finds the row."""
        if self.row_number is not None and self.line is not None and self.line != self.row_number + 1:
            return f"row {self.row_number} (line {self.line})"
        if self.row_number is not None:
            return f"row {self.row_number}"
        return f"line {self.line}" if self.line is not None else "file"


@dataclass
class LoadResult:
    """Canonical rows parsed from one file, without ``ingest_id`` (the ingest adds it).

    Table values are pandas data frames, or DuckDB relations for very large files, bound to the
    connection passed to ``load``, so rows stream from the file to the store without Python copies.
    """

    tables: dict[str, pd.DataFrame | duckdb.DuckDBPyRelation]
    rows_in: int
    periods: Sequence[str]
    rejects: list[Reject] = field(default_factory=list)
    nulls_suppressed: int = 0
    message: str = ""
    publication: str | None = None  # the edition, where the content decides it better than the head did


@runtime_checkable
class SourceFormat(Protocol):
    """One published file format: every member is required (no optional hooks looked up by name).

    ``columns`` lists the columns the loader reads by meaning (detection names those missing from a header
    that is clearly this format's; empty for formats not matched by column, such as workbooks);
    ``header_hint`` is a typical first line, for the "nearest format" hint of an unknown file; ``cleanup``
    drops whatever the loader staged in temporary tables, once the ingest has copied its relations.
    """

    name: str
    description: str
    header_hint: str
    columns: tuple[Col, ...]

    def sniff(self, head: FileHead) -> Detection | None: ...

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult: ...

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None: ...


class Loader:
    """Base of every loader: the protocol's defaults (no columns, no hint, nothing to clean up).

    Subclasses set ``name`` and ``description`` and implement ``sniff`` and ``load``; CSV loaders usually
    derive from :class:`gpscale.sources.csvloader.CsvLoader`, which implements both from declarations.
    """

    name: str = ""
    description: str = ""
    header_hint: str = ""
    columns: tuple[Col, ...] = ()

    def sniff(self, head: FileHead) -> Detection | None:
        raise NotImplementedError

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        raise NotImplementedError

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing staged: nothing to drop."""


@dataclass(frozen=True)
class FileHead:
    """What a loader may look at to recognise a file: name, kind, first lines or sheet names/cells."""

    path: Path
    kind: str  # "csv" | "xlsx" | "other"
    text_lines: tuple[str, ...] = ()  # first lines of a text file, BOM stripped, decoded leniently
    sheets: tuple[str, ...] = ()  # sheet names of a workbook
    sheet_rows: dict[str, tuple[tuple[object, ...], ...]] = field(default_factory=dict)  # first rows per sheet

    @property
    def name(self) -> str:
        """The file's name as published, without the ``.gz`` of a compressed copy: editions named after their
        file are the same edition plain and gzipped (:mod:`gpscale.sources.datafile`)."""
        name = self.path.name
        return name[: -len(".gz")] if name.lower().endswith(".gz") else name
