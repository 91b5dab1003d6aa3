"""Editions: a file that would replace or repeat data already in the store is compared with it first.

**Replacing.** A file holding the same publication edition as one already loaded (same
:attr:`~gpscale.sources.base.Detection.publication`: a corrected QOF 2019/20 file, a re-issued workbook, the
same group registry saved again) replaces the older edition's rows. Before it does, the ingest compares the
two editions' :class:`Fingerprint` (rows, practices, periods, totals of the main count columns) and how many
of the older rows the newer file repeats unchanged. The replacement is refused, with the comparison in the
message, when the newer file

* loses more than :data:`MAX_LOST_PRACTICE_SHARE` of the practices or :data:`MAX_LOST_ROW_SHARE` of the rows,
  or more than :data:`MAX_LOST_TOTAL_SHARE` of a main count total (a file cut short, a truncated download);
* holds other periods than the edition it replaces (a file named for one year holding another);
* repeats fewer than :data:`MIN_SAME_ROW_SHARE` of the older rows unchanged: a corrected edition changes a
  few values, not most of them, so this is a different data set under the same name (e.g. 2020/21 data
  saved as ``PREVALENCE_1920.csv``, whose content states no year).

``gpscale ingest --replace`` forces a refused replacement; the ingest log keeps both editions' fingerprints
(``fingerprint`` and ``replaced_fingerprint``) and marks the row ``forced``.

**Repeating.** Rows of a new file whose key is already held by another loaded file (the same QOF indicator
for the same practice and year from two different files) would be counted twice. Where the two agree (every
value equal, or stated by only one of them: the 2014/15 asthma workbook restates the 2013/14 registers of
``prevalencebyprac`` without its prevalence column) the new file's copies are not loaded again (the message
says how many); where they disagree the file is refused (``duplicate-across-files``) naming both files and a
key.

The thresholds are judgements, like ``MAX_REJECT_SHARE``: loose enough for real corrected editions (a few
practices' values revised), tight enough that a truncated or mislabelled file never silently replaces a
complete one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gpscale.sources import validate as v

if TYPE_CHECKING:
    import duckdb

#: A replacement may lose at most this share of the older edition's practices...
MAX_LOST_PRACTICE_SHARE = 0.01
#: ... and of its rows ...
MAX_LOST_ROW_SHARE = 0.01
#: ... and of the total of any main count column (registers, list sizes, items, events...).
MAX_LOST_TOTAL_SHARE = 0.01
#: At least this share of the older edition's rows must reappear unchanged in the newer one.
MIN_SAME_ROW_SHARE = 0.5

#: The count columns whose totals identify an edition, per table.
TOTAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "measure_value": ("numerator", "denominator", "points"),
    "practice_population": ("patients",),
    "prescribing": ("items", "actual_cost"),
    "hospital_activity": ("events", "population"),
}

#: Keys no two loaded files may share (a second copy would be counted twice), per table.
CROSS_FILE_KEYS: dict[str, tuple[str, ...]] = {
    "measure_value": ("source", "measure_id", "practice_code", "period"),
    "hospital_activity": ("practice_code", "period", "measure", "sex", "age_band"),
    "prescribing": ("practice_code", "period", "bnf_code"),
    "qof_indicator": ("period", "indicator_code"),
    "prescribing_weight": ("scheme", "vintage", "sex", "age_band"),
}


@dataclass(frozen=True)
class Fingerprint:
    """What one loaded file's rows amount to: compared before a replacement, kept in the ingest log."""

    rows: int
    practices: int
    periods: tuple[str, ...]
    totals: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"rows": self.rows, "practices": self.practices, "periods": list(self.periods), "totals": self.totals},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        d = json.loads(text)
        return cls(int(d["rows"]), int(d["practices"]), tuple(d["periods"]), dict(d["totals"]))


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def fingerprint(
    con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], ingest_id: int, periods: list[str] | tuple[str, ...]
) -> Fingerprint:
    """The fingerprint of the rows ``ingest_id`` wrote (its periods as the loader reported them)."""
    rows = 0
    practice_sources = []
    totals: dict[str, float] = {}
    for table in tables:
        cols = columns_of(con, table)
        sums = [c for c in TOTAL_COLUMNS.get(table, ()) if c in cols]
        sel = ", ".join(["count(*)", *(f"sum({c})" for c in sums)])
        got = con.execute(f"SELECT {sel} FROM {table} WHERE ingest_id = ?", [ingest_id]).fetchall()[0]
        n = int(got[0])
        rows += n
        if n:
            for c, value in zip(sums, got[1:], strict=True):
                if value is not None:
                    totals[f"{table}.{c}"] = round(float(value), 6)
            if "practice_code" in cols:
                practice_sources.append(f"SELECT practice_code FROM {table} WHERE ingest_id = {int(ingest_id)}")
    practices = 0
    if practice_sources:
        res = con.execute(f"SELECT count(DISTINCT practice_code) FROM ({' UNION ALL '.join(practice_sources)})")
        practices = int(res.fetchall()[0][0])
    return Fingerprint(rows, practices, tuple(sorted(set(periods))), totals)


def lost_practices(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], old_id: int, new_id: int) -> int:
    """Practices the older edition has and the newer one does not."""
    def codes(i: int) -> str:
        parts = [
            f"SELECT practice_code FROM {t} WHERE ingest_id = {int(i)}"
            for t in tables
            if "practice_code" in columns_of(con, t)
        ]
        return " UNION ".join(parts) if parts else "SELECT NULL AS practice_code WHERE false"

    return int(con.execute(f"SELECT count(*) FROM (({codes(old_id)}) EXCEPT ({codes(new_id)}))").fetchall()[0][0])


def same_rows(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], old_id: int, new_id: int) -> int:
    """Rows of the older edition that the newer one repeats exactly (every column but the ingest id)."""
    n = 0
    for table in tables:
        cols = ", ".join(c for c in columns_of(con, table) if c != "ingest_id")
        got = con.execute(
            f"""SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE ingest_id = ?
                INTERSECT ALL SELECT {cols} FROM {table} WHERE ingest_id = ?)""",
            [old_id, new_id],
        ).fetchall()
        n += int(got[0][0])
    return n


@dataclass(frozen=True)
class Comparison:
    """An older edition against the file that would replace it."""

    old_file: str
    old_id: int
    old: Fingerprint
    new: Fingerprint
    lost_practices: int
    same_rows: int

    def problems(self) -> list[tuple[str, str]]:
        """(rule id, reason) for every limit the replacement breaks; empty when it may go ahead."""
        out: list[tuple[str, str]] = []
        o, n = self.old, self.new
        if o.practices and self.lost_practices > MAX_LOST_PRACTICE_SHARE * o.practices:
            out.append((v.REPLACEMENT_LOSES_DATA, f"it loses {self.lost_practices:,} of {o.practices:,} practices "
                        f"({self.lost_practices / o.practices:.1%}; limit {MAX_LOST_PRACTICE_SHARE:.0%})"))
        if o.rows and o.rows - n.rows > MAX_LOST_ROW_SHARE * o.rows:
            out.append((v.REPLACEMENT_LOSES_DATA, f"it has {o.rows - n.rows:,} fewer rows "
                        f"({(o.rows - n.rows) / o.rows:.1%}; limit {MAX_LOST_ROW_SHARE:.0%})"))
        for key, before in sorted(o.totals.items()):
            after = n.totals.get(key, 0.0)
            if before > 0 and before - after > MAX_LOST_TOTAL_SHARE * before:
                out.append((v.REPLACEMENT_LOSES_DATA, f"its {key} total falls from {before:,.6g} to {after:,.6g} "
                            f"({(before - after) / before:.1%}; limit {MAX_LOST_TOTAL_SHARE:.0%})"))
        if o.periods != n.periods:
            out.append((v.REPLACEMENT_PERIOD_DIFFERS, f"it holds {_periods(n.periods)} where the stored edition "
                        f"holds {_periods(o.periods)}"))
        if o.rows and self.same_rows < MIN_SAME_ROW_SHARE * o.rows:
            out.append((v.REPLACEMENT_CONTENT_DIFFERS, f"only {self.same_rows:,} of the stored {o.rows:,} rows "
                        f"({self.same_rows / o.rows:.1%}; at least {MIN_SAME_ROW_SHARE:.0%} expected of a corrected "
                        "edition) reappear unchanged: it looks like a different data set (another year?)"))
        return out

    def describe(self) -> str:
        """The comparison, stored edition first: what a user checks before forcing a replacement."""
        o, n = self.old, self.new
        parts = [
            f"practices {o.practices:,} → {n.practices:,}",
            f"rows {o.rows:,} → {n.rows:,}",
            f"periods {_periods(o.periods)} → {_periods(n.periods)}",
            f"rows unchanged {self.same_rows:,} of {o.rows:,}",
        ]
        for key in sorted(set(o.totals) | set(n.totals)):
            parts.append(f"{key} {o.totals.get(key, 0.0):,.6g} → {n.totals.get(key, 0.0):,.6g}")
        return "; ".join(parts)


def _periods(periods: tuple[str, ...]) -> str:
    return ", ".join(periods) if periods else "no period"


def compare(
    con: duckdb.DuckDBPyConnection,
    tables: tuple[str, ...],
    old_id: int,
    old_file: str,
    old_periods: list[str],
    new_id: int,
    new: Fingerprint,
) -> Comparison:
    """Compare the stored edition ``old_id`` with the rows ``new_id`` has just written (same transaction)."""
    old = fingerprint(con, tables, old_id, old_periods)
    return Comparison(
        old_file=old_file,
        old_id=old_id,
        old=old,
        new=new,
        lost_practices=lost_practices(con, tables, old_id, new_id),
        same_rows=same_rows(con, tables, old_id, new_id),
    )


@dataclass(frozen=True)
class Overlap:
    """New rows whose key another loaded file already holds."""

    table: str
    other_id: int
    other_file: str
    rows: int
    differing: int
    example: dict[str, object]


def overlaps(
    con: duckdb.DuckDBPyConnection, new_id: int, others: list[int], files: dict[int, str]
) -> list[Overlap]:
    """For each table with a cross-file key: new rows sharing a key with rows of ``others``."""
    if not others:
        return []
    out: list[Overlap] = []
    ids = ", ".join(str(int(i)) for i in others)
    for table, keys in CROSS_FILE_KEYS.items():
        if not con.execute(f"SELECT 1 FROM {table} WHERE ingest_id = ? LIMIT 1", [new_id]).fetchall():
            continue
        on = " AND ".join(f"n.{k} IS NOT DISTINCT FROM o.{k}" for k in keys)
        same = _agree(con, table, keys)
        rows = con.execute(
            f"""
            SELECT o.ingest_id, count(*), count(*) FILTER (WHERE NOT ({same})),
                   arg_min({{{', '.join(f"'{k}': n.{k}" for k in keys)}}}, ({same})::INT)
            FROM (SELECT * FROM {table} WHERE ingest_id = ?) n
            JOIN (SELECT * FROM {table} WHERE ingest_id IN ({ids})) o ON {on}
            GROUP BY o.ingest_id ORDER BY 3 DESC, 2 DESC
            """,
            [new_id],
        ).fetchall()
        for other, n, differing, example in rows:
            out.append(Overlap(table, int(other), files.get(int(other), "?"), int(n), int(differing), dict(example)))
    return out


def _agree(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...]) -> str:
    """SQL: rows ``n`` and ``o`` agree on every non-key column (equal, or null in one of them)."""
    values = [c for c in columns_of(con, table) if c != "ingest_id" and c not in keys]
    return " AND ".join(f"(n.{c} IS NULL OR o.{c} IS NULL OR n.{c} = o.{c})" for c in values) or "true"


def drop_repeated(con: duckdb.DuckDBPyConnection, table: str, new_id: int, others: list[int]) -> int:
    """Delete the new file's rows that repeat (same key, agreeing values) rows of ``others``; return how many."""
    keys = CROSS_FILE_KEYS[table]
    ids = ", ".join(str(int(i)) for i in others)
    on = " AND ".join(f"n.{k} IS NOT DISTINCT FROM o.{k}" for k in keys)
    same = on + " AND " + _agree(con, table, keys)
    got = con.execute(
        f"""
        DELETE FROM {table} n WHERE n.ingest_id = ? AND EXISTS (
            SELECT 1 FROM {table} o WHERE o.ingest_id IN ({ids}) AND {same})
        """,
        [new_id],
    ).fetchall()
    return int(got[0][0]) if got else 0
