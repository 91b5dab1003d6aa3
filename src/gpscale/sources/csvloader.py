"""One declarative base for CSV loaders: columns by meaning, sniff, row checks, normalise.

Every CSV loader used to repeat the same skeleton (read the text through the streaming reader, resolve the
wanted columns, start the row checks, quarantine misaligned lines, apply the rules, refuse repeated keys,
build the canonical tables of the kept rows, report). :class:`CsvLoader` holds that skeleton once; a
loader declares what differs:

* ``columns`` (:class:`~gpscale.sources.headers.Col`: what each column means, with the header wordings it
  is known by), ``signature`` (the keys that recognise the file; default every required column),
  ``max_columns``, and :meth:`CsvLoader.recognise` for anything more (a word in a header, a regex);
* ``period`` (:class:`NamedPeriod`) for publications whose content states no period (the period then comes
  from the file name or ``--period``, :mod:`gpscale.sources.period_policy`); loaders whose content does
  state it resolve it in :meth:`CsvLoader.normalise` and say so through :meth:`CsvLoader.periods`;
* :meth:`CsvLoader.check` (the row rules; parsed columns go in :attr:`Rows.values`), ``unique`` (the
  parsed values that must not repeat among the kept rows) and :meth:`CsvLoader.normalise` (the canonical
  tables of the kept rows).

Headerless layouts (ODS epraccur, successor files) give ``positional`` names instead of ``columns``.
Loaders whose files are too large to hold in memory, or whose shape is not one row per record, implement
:class:`~gpscale.sources.base.Loader` directly on the same streaming reader (:mod:`gpscale.sources.staging`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, Reject
from gpscale.sources.common import TextTable, frame_of, read_text_csv, start_checks
from gpscale.sources.filehead import head_headers
from gpscale.sources.headers import Resolved, match, resolve
from gpscale.sources.period_policy import name_period, resolve_period

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class NamedPeriod:
    """The period of a publication whose files do not state it inside: the file name's, or ``--period``."""

    kind: PeriodType
    what: str  # the publication, as messages name it ("QOF", "PREVALENCE")
    example: str = ""  # a well-named file, for the message when the period is unknown

    def resolve(self, path: Path, detection: Detection) -> str:
        example = self.example or (f"{self.what}_1920.csv" if self.kind == PeriodType.FINANCIAL_YEAR else "")
        return resolve_period(path, self.kind, self.what, stated=detection.stated_period, example=example)[0]

    def tag(self, path: Path) -> str:
        """The period the name states, or ``unknown-year`` (the edition tag detection gives)."""
        return name_period(path, self.kind) or "unknown-year"


@dataclass
class Rows:
    """One file's rows while a :class:`CsvLoader` checks and converts them.

    ``df`` holds the resolved columns by key (text, one row per data row); rules quarantine rows through
    ``check``; parsed columns go in ``values`` (aligned with ``df``); ``keep`` is set once the row rules
    have run. ``period`` is the period a :class:`NamedPeriod` loader resolved (else None); ``facts`` holds
    what the loader learnt about the whole file (the loader object itself keeps no state between files).
    """

    path: Path
    detection: Detection
    table: TextTable
    res: Resolved
    df: pd.DataFrame
    check: v.Checker
    period: str | None = None
    values: dict[str, pd.Series] = field(default_factory=dict)
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    extra_rejects: list[Reject] = field(default_factory=list)  # found after the row rules (e.g. pivots)
    facts: dict[str, object] = field(default_factory=dict)  # file-level facts (a maximum stated in the header)

    def __len__(self) -> int:
        return len(self.df)

    def __contains__(self, key: object) -> bool:
        return key in self.df

    def __getitem__(self, key: str) -> pd.Series:
        """A parsed value if one was set, else the resolved text column."""
        return self.values[key] if key in self.values else self.df[key]

    def header(self, key: str) -> str:
        """The file's own header of a resolved column (rules name it in quarantine details)."""
        return self.res.columns.get(key, key)

    @property
    def lines(self) -> Sequence[int] | None:
        return self.check.lines


class CsvLoader(Loader):
    """A CSV publication loaded one row per record: see the module notes for what a subclass declares."""

    #: Column keys that recognise the file (None: every required column of ``columns``, matched among all).
    signature: ClassVar[tuple[str, ...] | None] = None
    #: A file with more columns than this is not this format (None: any width).
    max_columns: ClassVar[int | None] = None
    #: Headerless layouts: the name of each position (the file has no header row).
    positional: ClassVar[tuple[str, ...]] = ()
    #: Where the period comes from when the content states none.
    period: ClassVar[NamedPeriod | None] = None
    #: Parsed values (keys of :attr:`Rows.values`) that must not repeat among the kept rows, and what they are.
    unique: ClassVar[tuple[str, ...]] = ()
    unique_what: ClassVar[str] = "practice"
    #: Variant recorded for every file (override :meth:`variant` where it depends on the header).
    default_variant: ClassVar[str] = "v1"

    # ---- detection --------------------------------------------------------------------------------

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or (self.max_columns is not None and len(headers) > self.max_columns):
            return None
        keys = self.signature
        wanted = self.columns if keys is None else [c for c in self.columns if c.key in keys]
        if match(headers, wanted)[1] or not self.recognise(headers, head):
            return None
        found, _ = match(headers, self.columns)
        return Detection(self.name, self.variant(headers, found), self.edition(head, headers, found))

    def recognise(self, headers: list[str], head: FileHead) -> bool:
        """Anything beyond the signature columns that the file must show to be this format."""
        return True

    def variant(self, headers: list[str], found: Resolved) -> str:
        return self.default_variant

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        """The publication edition the head shows (``name:period`` by default; see :class:`Detection`)."""
        tag = self.period.tag(head.path) if self.period is not None else head.name
        return f"{self.name}:{tag}"

    # ---- loading ----------------------------------------------------------------------------------

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        period = self.period.resolve(path, detection) if self.period is not None else None
        if self.positional:
            table = read_text_csv(path, header=False, width=len(self.positional))
            table.frame.columns = list(self.positional)
            res = Resolved({k: k for k in self.positional}, {k: i for i, k in enumerate(self.positional)})
            df = table.frame
        else:
            table = read_text_csv(path)
            res = resolve(table.headers, self.columns, path)
            df = frame_of(table, res)
        rows = Rows(path, detection, table, res, df, start_checks(table, df, path), period)
        self.check(rows)
        rows.check.finish()
        rows.keep = rows.check.keep_mask(len(rows))
        if self.unique:
            key = pd.DataFrame({k: rows.values[k] for k in self.unique})
            v.duplicates(key, list(self.unique), path, self.unique_what, rows.keep, lines=rows.lines)
        tables = self.normalise(rows)
        return LoadResult(
            tables=tables,
            rows_in=len(rows),
            periods=self.periods(rows, tables),
            rejects=rows.check.rejects + rows.extra_rejects,
            nulls_suppressed=rows.check.nulls,
            message=self.message(rows, tables),
            publication=self.publication(rows, tables),
        )

    def check(self, rows: Rows) -> None:
        """Apply the row rules (quarantining through ``rows.check``), putting parsed columns in ``rows.values``."""

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        """The canonical tables of the kept rows (``rows.keep``)."""
        raise NotImplementedError

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        """The periods the file holds (the resolved :class:`NamedPeriod`'s by default)."""
        return [rows.period] if rows.period is not None else []

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return ""

    def publication(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str | None:
        """The edition where the content decides it better than the head did (None: detection's)."""
        return None
