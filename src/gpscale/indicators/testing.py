"""Helpers that build stores for indicator tests and benchmarks (not used at run time).

* :func:`insert` puts a little table of rows (dicts or a data frame) straight into a canonical table, so
  spec tests read as data tables;
* :func:`synthetic_store` fills a store with a deterministic synthetic England of any size, generated
  inside DuckDB (hash-based pseudo-random numbers, so every engine and run sees the same rows). It is
  not the project's synthetic England (``gpscale synth``): it writes the canonical tables directly and
  only what the 16 indicators read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd

from gpscale.periods import fy_label, months_of_fy

#: Column order of each canonical table (ingest_id is filled with 0).
_COLUMNS: dict[str, tuple[str, ...]] = {}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...]:
    if table not in _COLUMNS:
        cur = con.cursor()
        try:
            _COLUMNS[table] = tuple(r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall())
        finally:
            cur.close()
    return _COLUMNS[table]


def _con(store: Any) -> duckdb.DuckDBPyConnection:
    return store if isinstance(store, duckdb.DuckDBPyConnection) else store.con


def insert(store: Any, table: str, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> int:
    """Insert ``rows`` into ``table``; columns not given are null, ``ingest_id`` is 0. Returns the count."""
    con = _con(store)
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty:
        return 0
    cols = _columns(con, table)
    unknown = set(df.columns) - set(cols)
    if unknown:
        raise KeyError(f"{table} has no column(s) {sorted(unknown)}; columns: {cols}")
    if "ingest_id" in cols and "ingest_id" not in df.columns:
        df["ingest_id"] = 0
    for c in cols:
        if c not in df.columns:
            df[c] = None
    df = df[list(cols)].astype(object).where(df[list(cols)].notna(), None)
    # a cursor of its own: DuckDB refuses new work on a connection with an unfinished result
    cur = con.cursor()
    try:
        cur.register("_gpscale_insert", df)
        cur.execute(f"INSERT INTO {table} SELECT * FROM _gpscale_insert")
    finally:
        cur.close()
    return len(df)


#: Columns that are always text in a parsed table (codes that look like numbers stay codes).
TEXT_COLUMNS = frozenset({
    "practice_code", "period", "period_type", "bnf_code", "sex", "age_band", "measure", "measure_id",
    "source", "scheme", "vintage", "open_date", "close_date", "name", "status",
})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def parse_table(text: str) -> pd.DataFrame:
    """A data frame from a little pipe-separated table, so spec tests read as data::

        practice_code | period  | items
        A81001        | 2019-04 | 3
        A81002        | 2019-04 | null

    Numbers become floats (except in :data:`TEXT_COLUMNS`), ``null`` or an empty cell None.
    """
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    header = [h.strip() for h in lines[0].split("|")]
    rows = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split("|")]
        if len(cells) != len(header):
            raise ValueError(f"row {ln!r} has {len(cells)} cells, header has {len(header)}")
        row: list[Any] = []
        for name, c in zip(header, cells, strict=True):
            if c in ("", "null"):
                row.append(None)
            elif name not in TEXT_COLUMNS and _NUMBER.match(c):
                row.append(float(c))
            else:
                row.append(c)
        rows.append(row)
    return pd.DataFrame(rows, columns=header)


def insert_table(store: Any, table: str, text: str) -> int:
    """:func:`insert` of a :func:`parse_table` table."""
    return insert(store, table, parse_table(text))


def practices(store: Any, codes: Iterable[str], open_date: str | None = None, close_date: str | None = None) -> None:
    """Add practices (open throughout unless dates are given, ISO yyyy-mm-dd)."""
    insert(store, "practice_record",
           [{"practice_code": c, "open_date": open_date, "close_date": close_date} for c in codes])


QUINARY_BANDS: tuple[str, ...] = (*(f"{lo}_{lo + 4}" for lo in range(0, 95, 5)), "95+")
HOSPITAL_BANDS: tuple[str, ...] = (*(f"{lo}_{lo + 4}" for lo in range(0, 85, 5)), "85+")

#: BNF codes the synthetic store prescribes (15 characters, like the EPD), with a relative volume.
SYNTHETIC_BNF: tuple[tuple[str, float], ...] = (
    ("0501013B0AAABAB", 30.0),  # amoxicillin
    ("0501013K0AAAJAJ", 6.0),   # co-amoxiclav
    ("0501011P0AAAAAA", 8.0),   # phenoxymethylpenicillin
    ("0501021L0AAAAAA", 4.0),   # cefalexin
    ("0501030I0AAABAB", 10.0),  # doxycycline
    ("0501050B0AAAAAA", 7.0),   # clarithromycin
    ("0501080W0AAAEAE", 9.0),   # trimethoprim
    ("0501120L0AAAAAA", 2.0),   # ciprofloxacin
    ("0501130R0AAAAAA", 8.0),   # nitrofurantoin
    ("0501090K0AAAAAA", 0.2),   # an antituberculosis drug (excluded from antibacterial volume)
    ("0401010Z0AAAAAA", 9.0),   # zopiclone
    ("0401020K0AAAHAH", 8.0),   # diazepam
    ("0401010AD", 2.0),         # melatonin (no ADQ; excluded)
    ("1001010J0AAAEAE", 12.0),  # ibuprofen
    ("1001010P0AAADAD", 10.0),  # naproxen
    ("1001010C0AAAAAA", 3.0),   # diclofenac
    ("1001010AJAAAAAA", 1.5),   # etoricoxib
)

HOSPITAL_MEASURES: tuple[str, ...] = (
    "EMERGENCY_ADMISSIONS", "ACSC_CHRONIC_ADMISSIONS", "AE_ATTENDANCES", "OUTPATIENT_FIRST_GP_REFERRED",
)
GPPS_CODES: tuple[str, ...] = ("Q3_12", "Q9_12", "Q28_12", "Q60_12", "Q74_12")


def _u(*parts: str) -> str:
    """SQL for a deterministic pseudo-random number in [0, 1) from the given SQL expressions."""
    return f"((hash(concat_ws('|', {', '.join(parts)})) % 1000003) / 1000003.0)"


def synthetic_store(
    store: Any,
    n_practices: int = 30,
    first_fy: int = 2016,
    n_fys: int = 2,
    seed: int = 0,
    suppress_small: bool = True,
) -> dict[str, int]:
    """Fill ``store`` with a deterministic synthetic England; returns rows written per table.

    Practices P00000…: a few open late or close early; registrations by quinary band each April;
    prescribing every month for :data:`SYNTHETIC_BNF`; QOF total/clinical/organisational (organisational
    to 2012/13); GP Patient Survey Q3/Q9/Q28/Q60/Q74 (Q60 to 2016/17, Q74 to 2017/18; some rows give only
    the weighted %); hospital activity for four measures by sex and quinary band to 85+, with cells under
    3 events suppressed (null) when ``suppress_small``.
    """
    con = _con(store)
    s = str(seed)
    fys = [first_fy + i for i in range(n_fys)]
    months = [m for y in fys for m in months_of_fy(y)]
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_p AS SELECT i, printf('P%05d', i) AS practice_code "
                f"FROM range({n_practices}) t(i)")
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_m AS SELECT * FROM (VALUES "
                + ", ".join(f"('{m}', {k})" for k, m in enumerate(months)) + ") t(period, k)")
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_fy AS SELECT * FROM (VALUES "
                + ", ".join(f"('{fy_label(y)}', {y})" for y in fys) + ") t(period, y)")
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_bnf AS SELECT * FROM (VALUES "
                + ", ".join(f"('{c}', {v})" for c, v in SYNTHETIC_BNF) + ") t(bnf_code, vol)")
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_band AS SELECT * FROM (VALUES "
                + ", ".join(f"('{b}', {k})" for k, b in enumerate(QUINARY_BANDS)) + ") t(age_band, k)")
    con.execute("CREATE OR REPLACE TEMP TABLE _syn_hband AS SELECT * FROM (VALUES "
                + ", ".join(f"('{b}', {k})" for k, b in enumerate(HOSPITAL_BANDS)) + ") t(age_band, k)")
    first_day = f"{first_fy}-04-01"
    counts: dict[str, int] = {}

    def run(table: str, sql: str) -> None:
        before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        con.execute(f"INSERT INTO {table} {sql}")
        after = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        counts[table] = counts.get(table, 0) + int(after - before)

    # practices: every 17th opens a year late, every 23rd closes after 18 months
    run("practice_record", f"""
        SELECT practice_code, NULL, 'Practice ' || i, NULL,
               CASE WHEN i % 17 = 5 THEN DATE '{first_day}' + INTERVAL 1 YEAR ELSE NULL END,
               CASE WHEN i % 23 = 7 THEN DATE '{first_day}' + INTERVAL 18 MONTH - INTERVAL 1 DAY ELSE NULL END,
               'active', NULL, NULL, NULL, NULL, 'GMS', NULL, false, NULL, 0
        FROM _syn_p""")
    # registrations each April: size 2,000-14,000, older or younger age mix per practice
    run("practice_population", f"""
        SELECT p.practice_code, printf('%d-04', f.y), 'month', sx.sex, b.age_band,
               CAST(round((2000 + 12000 * {_u('p.practice_code', "'size'", s)}) / 42.0
                     * (1.4 - abs(b.k - 7 - 4 * {_u('p.practice_code', "'age'", s)}) / 14.0)
                     * (0.9 + 0.2 * {_u('p.practice_code', 'f.period', 'sx.sex', 'b.age_band', s)})) AS BIGINT),
               0
        FROM _syn_p p, _syn_fy f, _syn_band b, (VALUES ('male'), ('female')) sx(sex)""")
    # prescribing: practice-months with a monthly pseudo-random volume per code, a few rows with zero ADQ
    run("prescribing", f"""
        SELECT p.practice_code, m.period, c.bnf_code,
               floor(c.vol * (1 + 2 * {_u('p.practice_code', "'rx'", s)})
                     * (0.6 + 0.8 * {_u('p.practice_code', 'm.period', 'c.bnf_code', s)})) AS items,
               NULL,
               CASE WHEN c.bnf_code LIKE '0401%' AND c.bnf_code NOT LIKE '0401010AD%'
                    THEN 28 * floor(c.vol * (1 + 8 * {_u('p.practice_code', "'rx'", s)})) ELSE 0 END,
               NULL, NULL, 0
        FROM _syn_p p, _syn_m m, _syn_bnf c
        WHERE NOT (p.i % 17 = 5 AND m.k < 12) AND NOT (p.i % 23 = 7 AND m.k >= 18)
          AND NOT (p.i % 29 = 3 AND m.k % 7 = 2)""")
    # QOF: total out of the year's maximum, domains out of a share of it
    run("measure_value", f"""
        SELECT 'qof', d.measure_id, p.practice_code, f.period, 'fy', NULL, NULL, NULL, NULL, NULL,
               round(maxp * (0.75 + 0.25 * {_u('p.practice_code', 'f.period', 'd.measure_id', s)}), 2),
               maxp, NULL, NULL, 0
        FROM _syn_p p, _syn_fy f,
             (VALUES ('total', 1.0), ('clinical', 0.7), ('organisational', 0.2)) d(measure_id, share),
             LATERAL (SELECT d.share * CASE WHEN f.y <= 2012 THEN 1000 WHEN f.y = 2013 THEN 900
                                            WHEN f.y <= 2020 THEN 559 ELSE 635 END AS maxp)
        WHERE (d.measure_id <> 'organisational' OR f.y <= 2012)
          AND NOT (p.i % 31 = 4 AND d.measure_id = 'total' AND f.y = {fys[-1]})""")
    # GP Patient Survey: most rows give weighted counts, every 5th practice only the weighted %
    run("measure_value", f"""
        SELECT 'gpps', code, practice_code, period, 'fy', NULL, base, NULL,
               CASE WHEN i % 5 = 0 THEN NULL ELSE round(wbase * pct / 100, 3) END,
               CASE WHEN i % 5 = 0 THEN NULL ELSE wbase END,
               NULL, NULL, NULL, pct, 0
        FROM (SELECT p.i, p.practice_code, f.period, q.code,
                     40 + floor(200 * {_u('p.practice_code', 'f.period', 'q.code', "'b'", s)}) AS base,
                     round((40 + floor(200 * {_u('p.practice_code', 'f.period', 'q.code', "'b'", s)}))
                           * (0.9 + 0.2 * {_u('p.practice_code', 'f.period', 'q.code', "'w'", s)}), 2) AS wbase,
                     round(50 + 45 * {_u('p.practice_code', 'f.period', 'q.code', "'p'", s)}, 1) AS pct
              FROM _syn_p p, _syn_fy f, (VALUES {', '.join(f"('{c}')" for c in GPPS_CODES)}) q(code)
              WHERE (q.code <> 'Q60_12' OR f.y <= 2016) AND (q.code <> 'Q74_12' OR f.y <= 2017))""")
    # hospital activity: events ~ Poisson-ish around population × an age-shaped rate
    suppress = "CASE WHEN ev < 3 THEN NULL ELSE ev END" if suppress_small else "ev"
    run("hospital_activity", f"""
        SELECT practice_code, period, 'fy', measure, sex, age_band, {suppress}, pop, 0
        FROM (
          SELECT p.practice_code, f.period, hm.measure, sx.sex, b.age_band,
                 CAST(round((2000 + 12000 * {_u('p.practice_code', "'size'", s)}) / 36.0) AS DOUBLE) AS pop,
                 floor((2000 + 12000 * {_u('p.practice_code', "'size'", s)}) / 36.0
                       * hm.base * (0.3 + b.k * b.k / 60.0)
                       * (0.7 + 0.6 * {_u('p.practice_code', 'f.period', 'hm.measure', 'sx.sex', 'b.age_band', s)}))
                   AS ev
          FROM _syn_p p, _syn_fy f, _syn_hband b, (VALUES ('male'), ('female')) sx(sex),
               (VALUES ('EMERGENCY_ADMISSIONS', 0.05), ('ACSC_CHRONIC_ADMISSIONS', 0.008),
                       ('AE_ATTENDANCES', 0.2), ('OUTPATIENT_FIRST_GP_REFERRED', 0.15)) hm(measure, base))""")
    for t in ("_syn_p", "_syn_m", "_syn_fy", "_syn_bnf", "_syn_band", "_syn_hband"):
        con.execute(f"DROP TABLE {t}")
    return counts
