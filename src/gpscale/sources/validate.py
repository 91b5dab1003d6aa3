"""Validation rules shared by every loader, each with a stable rule id.

Which rules reject a whole file and which quarantine a row is decided in
``docs/adr/0002-reject-vs-quarantine.md``; in short:

* whole file (:class:`~gpscale.sources.base.SourceError`): ``unknown-format``, ``missing-columns``,
  ``malformed-csv``, ``mixed-encoding``, ``unreadable-gzip``, ``duplicate-column``, ``file-too-large``, ``empty-file``,
  ``period-unknown``, ``period-inconsistent``, ``duplicate-key``, ``too-many-rejects`` (more than
  :data:`MAX_REJECT_SHARE` of the rows broke a row rule: the file is not what it claims to be), and the
  edition rules the ingest applies (``replacement-loses-data``, ``replacement-period-differs``,
  ``replacement-content-differs``, ``same-file-other-edition``, ``duplicate-across-files``);
* one row (:class:`~gpscale.sources.base.Reject`): ``invalid-ods-code``, ``non-numeric-count``,
  ``non-whole-count``, ``negative-count``, ``numerator-above-denominator``, ``impossible-date``,
  ``wrong-field-count``, ``invalid-value`` (a category outside its published code list, e.g. sex 'Q').

Suppressed cells (``*``, ``-``, ``..``, ``x``, blank) are not errors: they become nulls and are counted.
All helpers are vectorised over pandas columns of text, as read by :mod:`gpscale.sources.csvread`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from gpscale.domain import groups as domain_groups
from gpscale.sources.base import Reject, SourceError

# ---- rule ids -------------------------------------------------------------------------------------
UNKNOWN_FORMAT = "unknown-format"
MISSING_COLUMNS = "missing-columns"
MALFORMED_CSV = "malformed-csv"
EMPTY_FILE = "empty-file"
PERIOD_UNKNOWN = "period-unknown"
PERIOD_INCONSISTENT = "period-inconsistent"
DUPLICATE_KEY = "duplicate-key"
TOO_MANY_REJECTS = "too-many-rejects"
INVALID_ODS_CODE = "invalid-ods-code"
NON_NUMERIC_COUNT = "non-numeric-count"
NEGATIVE_COUNT = "negative-count"
NUMERATOR_ABOVE_DENOMINATOR = "numerator-above-denominator"
IMPOSSIBLE_DATE = "impossible-date"
WRONG_FIELD_COUNT = "wrong-field-count"
INVALID_VALUE = "invalid-value"
MALFORMED_LINE = "malformed-line"
NON_WHOLE_COUNT = "non-whole-count"
MIXED_ENCODING = "mixed-encoding"
UNREADABLE_GZIP = "unreadable-gzip"
DUPLICATE_COLUMN = "duplicate-column"
FILE_TOO_LARGE = "file-too-large"
# edition rules, applied by the ingest when a file would replace or duplicate data already in the store
REPLACEMENT_LOSES_DATA = "replacement-loses-data"
REPLACEMENT_PERIOD_DIFFERS = "replacement-period-differs"
REPLACEMENT_CONTENT_DIFFERS = "replacement-content-differs"
SAME_FILE_OTHER_EDITION = "same-file-other-edition"
DUPLICATE_ACROSS_FILES = "duplicate-across-files"

#: Rules that quarantine a row (the rest reject the whole file).
ROW_RULES = frozenset(
    {
        INVALID_ODS_CODE,
        NON_NUMERIC_COUNT,
        NEGATIVE_COUNT,
        NUMERATOR_ABOVE_DENOMINATOR,
        IMPOSSIBLE_DATE,
        WRONG_FIELD_COUNT,
        INVALID_VALUE,
        MALFORMED_LINE,
        NON_WHOLE_COUNT,
    }
)

#: Above this share of quarantined rows (and at least :data:`MIN_REJECTS_FOR_SHARE` rows) the file is rejected.
MAX_REJECT_SHARE = 0.05
MIN_REJECTS_FOR_SHARE = 20
#: A file with more quarantined rows than this is rejected whatever its size (and the count stays bounded).
MAX_QUARANTINED_ROWS = 100_000

#: Cell values that mean "suppressed or not available" in NHS publications (compared lower-cased).
SUPPRESSED = frozenset(
    {
        "",
        "*",
        "-",
        "..",
        ".",
        "x",
        "c",
        "n/a",
        "na",
        ":",
        "#",
        "~",
        "no patients in indicator",
        "not applicable",
        "suppressed",
        "no data",
        "not available",
    }
)

#: ODS code of a GP practice or prescribing cost centre in England and Wales (A81001, Y02625, W91016).
PRACTICE_CODE_RE = r"^[A-Z][0-9]{5}$"
#: ODS codes of Channel Islands and Isle of Man practices listed in epraccur (ALD200, GUE010, JER001, IOM001).
CROWN_DEPENDENCY_CODE_RE = r"^(?:ALD|GUE|JER|IOM)[0-9]{3}$"
#: ODS code of a Primary Care Network (U12345): the one definition is gpscale.domain.groups.
PCN_CODE_RE = domain_groups.PCN_CODE_RE

_PRACTICE = re.compile(PRACTICE_CODE_RE)
_ODS_ANY = re.compile(f"{PRACTICE_CODE_RE}|{CROWN_DEPENDENCY_CODE_RE}")

#: Larger magnitudes are typing errors (e.g. '100E101'), not counts or amounts: treated as non-numeric.
MAX_PLAUSIBLE = 1e15

#: Dates outside this window are impossible for English general practice data.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


@dataclass
class Checker:
    """Collects quarantined rows for one file (or one chunk of it).

    Rows are addressed by position in the frame checked; the quarantine records 1-based data row numbers
    (``offset`` is the number of data rows before this chunk) and, where ``lines`` is given, the physical
    line each row starts on.
    """

    path: Path
    rows_in: int
    rejects: list[Reject] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)  # positional indexes of quarantined rows
    nulls: int = 0
    offset: int = 0
    lines: Sequence[int] | None = None

    def flag(self, mask: pd.Series | np.ndarray, rule: str, detail: object, *values: pd.Series) -> None:
        """Quarantine rows where ``mask`` is true.

        ``detail`` is either one text for every row, a per-row sequence, or (with ``values``) a format
        string such as ``"sex {0!r} is not MALE/FEMALE"`` filled from ``values`` for the flagged rows only
        (so a clean file costs no string building).
        """
        arr = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(arr)
        if idx.size == 0:
            return
        if values:
            cols = [list(s.iloc[idx]) for s in values]
            details = [str(detail).format(*(c[k] for c in cols)) for k in range(idx.size)]
        elif isinstance(detail, str):
            details = [detail] * idx.size
        else:
            seq = detail.tolist() if isinstance(detail, pd.Series) else list(detail)  # type: ignore[call-overload]
            details = [str(seq[i]) for i in idx] if len(seq) == arr.size else [str(d) for d in seq]
        for i, d in zip(idx.tolist(), details, strict=False):
            if i in self.bad:
                continue
            self.bad.add(i)
            self.rejects.append(Reject(self.offset + i + 1, rule, d, self.line_of(i)))

    def line_of(self, i: int) -> int | None:
        """Physical line of positional row ``i``, where known."""
        return int(self.lines[i]) if self.lines is not None and i < len(self.lines) else None

    def keep_mask(self, n: int) -> np.ndarray:
        keep = np.ones(n, dtype=bool)
        if self.bad:
            keep[list(self.bad)] = False
        return keep

    def finish(self) -> None:
        """Reject the whole file when too many of its rows broke row rules."""
        check_reject_share(self.path, self.rows_in, self.rejects)
        self.rejects.sort(key=lambda r: (r.row_number or 0, r.rule))


def check_reject_share(path: Path, rows_in: int, rejects: Sequence[Reject]) -> None:
    """Reject the whole file when more than :data:`MAX_REJECT_SHARE` of its rows (and at least
    :data:`MIN_REJECTS_FOR_SHARE`), or more than :data:`MAX_QUARANTINED_ROWS`, broke row rules."""
    n_bad = len(rejects)
    share = n_bad >= MIN_REJECTS_FOR_SHARE and n_bad > MAX_REJECT_SHARE * max(rows_in, 1)
    if share or n_bad > MAX_QUARANTINED_ROWS:
        rules: dict[str, int] = {}
        for r in rejects:
            rules[r.rule] = rules.get(r.rule, 0) + 1
        first = min(rejects, key=lambda r: (r.row_number or 0, r.rule))
        raise SourceError(
            path,
            TOO_MANY_REJECTS,
            f"{n_bad} of {rows_in} rows broke row rules ({rules}); first: {first.rule}: {first.detail}",
            where=first.location(),
        )


def is_suppressed(s: pd.Series) -> pd.Series:
    """True where a text cell is a suppression marker or blank (nulls count as blank)."""
    t = s.fillna("").astype(str).str.strip().str.lower()
    return t.isin(SUPPRESSED)


def to_number(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse text to float: (values, suppressed mask, non-numeric mask). Thousands separators allowed."""
    t = s.fillna("").astype(str).str.strip()
    vals = pd.to_numeric(t, errors="coerce").astype("float64")
    miss = vals.isna()
    supp = pd.Series(False, index=s.index)
    if miss.any():
        tm = t[miss]
        supp[miss] = tm.str.lower().isin(SUPPRESSED)
        retry = miss & ~supp
        if retry.any():
            cleaned = t[retry].str.replace(",", "", regex=False).str.replace("£", "", regex=False).str.rstrip("%")
            vals[retry] = pd.to_numeric(cleaned, errors="coerce")
    inf = np.isinf(vals) | (vals.abs() > MAX_PLAUSIBLE)  # '100E101' parses, but is no count or amount
    vals[inf] = np.nan
    bad = vals.isna() & ~supp
    return vals, supp, bad


def counts(
    df: pd.DataFrame,
    column: str,
    check: Checker,
    label: str | None = None,
    allow_negative: bool = False,
    required: bool = True,
    whole: bool = False,
) -> pd.Series:
    """A count column as floats; suppressed → null (counted); non-numeric and negative rows quarantined.

    For a column that is not required (``required=False``) a blank cell is "not published", not a
    suppression, and is not counted; explicit markers (``*``, ``-``...) still are. ``whole=True`` is for
    counts of people or events (registers, list sizes, patients, items): a fraction such as ``1523.5``
    quarantines the row (``non-whole-count``).
    """
    vals, supp, bad = to_number(df[column])
    name = label or column
    if required:
        check.nulls += int(supp.sum())
    else:
        check.nulls += int((supp & (df[column].fillna("").astype(str).str.strip() != "")).sum())
    check.flag(
        bad, NON_NUMERIC_COUNT, "column " + repr(name).replace("{", "{{").replace("}", "}}") + " = {0!r}", df[column]
    )
    if not allow_negative:
        neg = vals < 0
        check.flag(
            neg, NEGATIVE_COUNT, "column " + repr(name).replace("{", "{{").replace("}", "}}") + " = {0}", df[column]
        )
    if whole:
        frac = vals.notna() & (vals != np.floor(vals))
        check.flag(
            frac,
            NON_WHOLE_COUNT,
            "column " + repr(name).replace("{", "{{").replace("}", "}}") + " = {0!r} is not a whole number",
            df[column],
        )
    return vals.where(~bad)


def numbers(
    df: pd.DataFrame, column: str, check: Checker, label: str | None = None, required: bool = True
) -> pd.Series:
    """A numeric (not necessarily count) column: suppressed → null (counted), non-numeric quarantined."""
    return counts(df, column, check, label, allow_negative=True, required=required)


def ods_codes(s: pd.Series, check: Checker, label: str = "practice code", allow_crown: bool = False) -> pd.Series:
    """Upper-cased, trimmed practice codes; rows with an invalid ODS practice code are quarantined."""
    t = s.fillna("").astype(str).str.strip().str.upper()
    pattern = _ODS_ANY if allow_crown else _PRACTICE
    ok = t.str.match(pattern)
    check.flag(~ok, INVALID_ODS_CODE, label + " {0!r} is not an ODS practice code", s.fillna(""))
    return t


def numerator_le_denominator(num: pd.Series, den: pd.Series, check: Checker, what: str) -> None:
    """Quarantine rows whose numerator exceeds the denominator (both present)."""
    mask = (num > den) & num.notna() & den.notna()
    check.flag(mask, NUMERATOR_ABOVE_DENOMINATOR, what.replace("{", "{{").replace("}", "}}") + ": {0} > {1}", num, den)


def duplicates(
    df: pd.DataFrame,
    keys: Sequence[str],
    path: Path,
    what: str,
    keep: np.ndarray | None = None,
    lines: Sequence[int] | None = None,
) -> None:
    """Reject the whole file if a key repeats (among kept rows), naming the rows (and their lines).

    ``df`` is indexed by position (0..n-1, as the loaders' frames are); ``lines`` gives each position's
    physical line.
    """
    sub = df[list(keys)]
    if keep is not None:
        sub = sub[keep]
    dup = sub.duplicated(keep=False)
    if dup.any():
        rows = sub[dup]
        first_key = tuple(rows.iloc[0])
        same = rows[(rows == pd.Series(first_key, index=rows.columns)).all(axis=1)]
        if lines is not None:
            where = "lines " + ", ".join(str(int(lines[int(i)])) for i in same.index[:5])
        else:
            where = "rows " + ", ".join(str(int(i) + 1) for i in same.index[:5])
        raise SourceError(
            path,
            DUPLICATE_KEY,
            f"{int(dup.sum())} rows share a {what} key; "
            f"e.g. {dict(zip(keys, first_key, strict=True))} appears more than once",
            where=where,
        )


def parse_dates(
    s: pd.Series,
    check: Checker,
    label: str,
    formats: Sequence[str] = ("%Y%m%d",),
    excel_serial: bool = False,
    required: bool = False,
) -> pd.Series:
    """Parse dates in the given formats (and Excel serial day numbers if allowed).

    Blank → null (not counted: a blank close date means "open"), unless ``required``. Unparseable or
    out-of-range dates are quarantined as ``impossible-date``. Returns a column of ``datetime.date`` or
    None. Each distinct text is parsed once (a file repeats a few dates many times).
    """
    t = s.fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    uniq = pd.Series(t.unique())
    parsed = {u: _parse_one_date(u, formats, excel_serial) for u in uniq}
    bad = t.map(lambda u: parsed[u] is False or (required and parsed[u] is None))
    check.flag(bad, IMPOSSIBLE_DATE, label + " {0!r} is not a possible date", s.fillna(""))
    return t.map(lambda u: parsed[u] if parsed[u] is not False else None).astype(object)


def _parse_one_date(text: str, formats: Sequence[str], excel_serial: bool) -> date | bool | None:
    """A date, None for a blank/suppressed cell, or False when the text is not a possible date."""
    if text.lower() in SUPPRESSED:
        return None
    d: date | None = None
    if excel_serial and re.fullmatch(r"\d{4,5}", text):
        d = date(1899, 12, 30) + timedelta(days=int(text))
    else:
        for fmt in formats:
            try:
                d = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
    if d is None or not (EARLIEST_DATE <= d <= LATEST_DATE):
        return False
    return d


def date_order(start: pd.Series, end: pd.Series, check: Checker, start_label: str, end_label: str) -> None:
    """Quarantine rows whose ``end`` date (e.g. close date) is before their ``start`` date (open date)."""
    inverted = np.fromiter(
        (isinstance(s, date) and isinstance(e, date) and e < s for s, e in zip(start, end, strict=True)),
        dtype=bool,
        count=len(start),
    )
    check.flag(inverted, IMPOSSIBLE_DATE, f"{end_label} {{0}} is before {start_label} {{1}}", end, start)


def require_rows(n: int, path: Path) -> None:
    if n == 0:
        raise SourceError(path, EMPTY_FILE, "the file has a header but no data rows", where="row 1")
