"""Prescribing: English Prescribing Dataset (EPD) monthly files, the older PDPI layout, and the
STAR-PU / ASTRO-PU weighting tables.

EPD and PDPI files are large (a national EPD month is ~18 million rows), so they are parsed by DuckDB
straight into a temporary staging table (one pass over the file, typed by the parser; rows the parser
cannot type are captured with their line numbers by DuckDB's ``store_rejects``), validated with a few
set-based queries, and handed to the ingest as a DuckDB relation: no row passes through Python.

* EPD (``YEAR_MONTH, ..., PRACTICE_CODE, ..., BNF_CODE, ..., ITEMS, TOTAL_QUANTITY, ADQUSAGE, NIC,
  ACTUAL_COST``): ``quantity`` is ``TOTAL_QUANTITY`` (``QUANTITY`` is the quantity per item).
* PDPI (`` SHA,PCT,PRACTICE,BNF CODE,BNF NAME,ITEMS,NIC,ACT COST,QUANTITY,PERIOD``, fixed-width padded):
  ``adq_usage`` is null (not published in that layout).

Both → ``prescribing(practice_code, period 'yyyy-mm', bnf_code, items, quantity, adq_usage, nic,
actual_cost)``; rows are kept as published (several rows per practice and BNF code are normal: one per
pack size), so there is no duplicate-key rule here.

The weighting tables (HSCIC ``prescribing_units.xlsx``: sheets ``STAR-PUs`` and ``ASTRO-PUs``, 2013 and
2009 vintages side by side) → ``prescribing_weight``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType, month_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, Reject, SourceError
from gpscale.sources.common import cell_text, open_workbook
from gpscale.sources.csvread import check_header, sniff_encoding
from gpscale.sources.datafile import check_gzip, duckdb_compression, open_data
from gpscale.sources.filehead import head_headers, head_records
from gpscale.sources.headers import Col, col, match, norm, resolve
from gpscale.sources.period_policy import resolve_period

if TYPE_CHECKING:
    import duckdb

    from gpscale.sources.rx_codes import RxCodeSet

STAGE = "_gpscale_stage_prescribing"
REJ_TABLE = "_gpscale_stage_rx_errors"
REJ_SCAN = "_gpscale_stage_rx_scans"
AGG = "_gpscale_stage_rx_summed"
ROWS_VIEW = "_gpscale_stage_rx_rows"

_FIELDS = ("items", "quantity", "adq_usage", "nic", "actual_cost")
_SUMS = ", ".join(f"sum({f}) AS {f}" for f in _FIELDS)
#: Rows whose numbers break a rule (negative, or a fractional item count).
_BAD_NUMBERS = "items < 0 OR quantity < 0 OR adq_usage < 0 OR nic < 0 OR items <> floor(items)"
#: Count of null (suppressed) values among the required numbers.
_NULLS = ("count(*) FILTER (WHERE items IS NULL) + count(*) FILTER (WHERE quantity IS NULL) "
          "+ count(*) FILTER (WHERE nic IS NULL) + count(*) FILTER (WHERE actual_cost IS NULL)")

EPD_COLS: tuple[Col, ...] = (
    col("year_month", "year month", "period"),
    col("practice_code", "practice code", "practice", none_of=("name",)),
    col("bnf_code", "bnf code", none_of=("chemical", "chapter", "name", "description", "descr")),
    col("items", "items"),
    col("quantity", "total quantity", "quantity", none_of=()),
    col("adq_usage", "adqusage", "adq usage", required=False),
    col("nic", "nic"),
    col("actual_cost", "actual cost", "act cost"),
)

_YM = re.compile(r"^\s*((?:19|20)\d{2})[-_/ ]?(0[1-9]|1[0-2])\s*$")


def _period_case(good: dict[str, str]) -> str:
    """SQL mapping the ``year_month`` column to period labels (null for a month that is not one)."""
    if not good:
        return "CAST(NULL AS VARCHAR)"  # every row has a bad month and is quarantined
    if len(good) == 1:
        return _sql_str(next(iter(good.values())))
    whens = " ".join(f"WHEN {_sql_str(y)} THEN {_sql_str(lab)}" for y, lab in good.items() if y is not None)
    return f"CASE year_month {whens} END"


def ym_label(s: str) -> str | None:
    m = _YM.match(s or "")
    return month_label(int(m.group(1)), int(m.group(2))) if m else None


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class PrescribingMonthly(Loader):
    """EPD monthly file or PDPI presentation-level file (practice x BNF presentation x month)."""

    name = "prescribing"
    columns = EPD_COLS  # the columns it reads (detection names those missing)
    description = "English Prescribing Dataset monthly CSV, or the older PDPI practice prescribing CSV"
    header_hint = (
        "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,...,PRACTICE_CODE,...,BNF_CODE,BNF_DESCRIPTION,"
        "QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED"
    )

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop the staging tables once the ingest has copied the rows (an EPD month is gigabytes)."""
        con.execute(f"DROP VIEW IF EXISTS {ROWS_VIEW}")
        for t in (STAGE, REJ_TABLE, REJ_SCAN, AGG):
            con.execute(f"DROP TABLE IF EXISTS {t}")

    def _resolve(self, headers: list[str], path: Path | str) -> dict[str, int]:
        found = resolve(headers, EPD_COLS, path)
        # in EPD, QUANTITY is per item and TOTAL_QUANTITY the total; prefer the total
        for i, h in enumerate(headers):
            if norm(h) == "total quantity":
                found.positions["quantity"] = i
        return dict(found.positions)

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        found, missing = match(headers, EPD_COLS)
        if missing:
            return None
        variant = "epd" if "adq_usage" in found else "pdpi"
        recs = head_records(head, 2)
        ym = None
        if len(recs) > 1 and len(recs[1]) > found.positions["year_month"]:
            ym = ym_label(recs[1][found.positions["year_month"]])
        return Detection(self.name, variant, f"prescribing:{variant}:{ym or head.name}")

    def _csv_source(self, head: FileHead) -> tuple[str, str]:
        """(read_csv call with explicit column types, select list naming the canonical columns).

        Rows the parser cannot type go to the rejects tables with their line numbers (``store_rejects``).
        """
        path = head.path
        headers = head_headers(head)
        check_header(path, headers)
        with open_data(path) as f:
            start = f.read(1 << 16)
        encoding = "utf-16" if sniff_encoding(start).startswith("utf-16") else "utf-8"
        if encoding == "utf-16":
            start = start[2:].decode("utf-16-le", errors="ignore").encode("ascii", errors="replace")
        # DuckDB needs the line ending stated when the header holds a quoted line break (else it reads 0 rows)
        newline = "\\r\\n" if 2 * start.count(b"\r\n") >= start.count(b"\n") > 0 else "\\n"
        pos = self._resolve(headers, path)
        names = [f"c{i}" for i in range(len(headers))]
        numeric = {"items", "quantity", "adq_usage", "nic", "actual_cost"}
        types = {
            names[i]: ("DOUBLE" if any(pos.get(k) == i for k in numeric) else "VARCHAR") for i in range(len(names))
        }
        cols_sql = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(t)}" for k, t in types.items()) + "}"
        sel = {k: f"c{i}" for k, i in pos.items()}
        trim = ("practice_code", "bnf_code", "year_month")
        select = ", ".join((f"trim({sel[k]}) AS {k}" if k in trim else f"{sel[k]} AS {k}") for k in sel)
        if "adq_usage" not in sel:
            select += ", CAST(NULL AS DOUBLE) AS adq_usage"
        source = f"""read_csv({_sql_str(str(path))}, header = true, auto_detect = false, delim = ',',
                              quote = '"', escape = '"', new_line = '{newline}', columns = {cols_sql},
                              encoding = '{encoding}', compression = '{duckdb_compression(path)}',
                              store_rejects = true,
                              rejects_table = '{REJ_TABLE}', rejects_scan = '{REJ_SCAN}',
                              ignore_errors = true)"""
        return source, select

    def _parse(self, path: Path, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Run the statement reading the file, with DuckDB's progress bar off (the CLI shows its own)."""
        for t in (REJ_TABLE, REJ_SCAN, STAGE, AGG):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        progress = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
        con.execute("SET enable_progress_bar = false")
        try:
            con.execute(sql)
        except Exception as exc:  # duckdb.Error subclasses: IO, invalid input...
            raise SourceError(path, v.MALFORMED_CSV, f"cannot parse CSV: {exc}".splitlines()[0]) from exc
        finally:
            # after a parse error the transaction is aborted (the ingest rolls it back): ignore failure here
            with contextlib.suppress(Exception):
                con.execute(f"SET enable_progress_bar = {'true' if progress and progress[0] else 'false'}")

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        """Every row (``detection.rx_codes`` None), or the rows summed to the code set's keys.

        Aggregating, a clean file is parsed and summed in one query; a file with any row to quarantine or
        any row that breaks a rule is loaded row by row first (the checks below, naming each bad line) and
        summed afterwards, so both paths give the same rejects and errors.
        """
        check_gzip(head.path)  # DuckDB reads a damaged archive without noticing
        codes = detection.rx_codes
        if codes is not None:
            fast = self._load_summed(head, detection, con, codes)
            if fast is not None:
                return fast
        result = self._load_rows(head, detection, con)
        if codes is None:
            return result
        rows = result.tables["prescribing"]
        assert not isinstance(rows, pd.DataFrame)
        rows.create_view(ROWS_VIEW, replace=True)
        con.execute(
            f"""CREATE TEMP TABLE {AGG} AS SELECT practice_code, period AS year_month,
            {codes.key_sql("bnf_code")} AS bnf_code, count(*) AS n_rows, {_SUMS} FROM {ROWS_VIEW} GROUP BY ALL"""
        )
        return self._summed_result(con, codes, result)

    def _load_summed(
        self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection, codes: RxCodeSet
    ) -> LoadResult | None:
        """Parse and sum a clean file in one query; None when any row needs quarantine or breaks a rule."""
        path = head.path
        source, select = self._csv_source(head)
        self._parse(
            path,
            con,
            f"""
            CREATE TEMP TABLE {AGG} AS
            SELECT practice_code, year_month, {codes.key_sql("bnf_code")} AS bnf_code, count(*) AS n_rows, {_SUMS},
                   count(*) FILTER (WHERE {_BAD_NUMBERS}) AS n_bad,
                   {_NULLS} AS n_null,
                   count(DISTINCT hash(bnf_code, items, quantity, adq_usage, nic, actual_cost)) AS n_distinct
            FROM (SELECT {select} FROM {source})
            GROUP BY ALL
            """,
        )
        got = con.execute(
            f"SELECT count(*), sum(n_rows), sum(n_bad), sum(n_null), sum(n_rows - n_distinct) FROM {AGG}"
        ).fetchone()
        n_rejected = con.execute(f"SELECT count(*) FROM {REJ_TABLE}").fetchone()
        assert got is not None and n_rejected is not None
        n_groups, rows_in, n_bad, n_null, n_repeats = (int(x or 0) for x in got)
        if not n_groups or n_bad or n_repeats or n_rejected[0]:
            return None  # the row-by-row path names every bad line (and refuses repeated rows)
        codes_seen = [r[0] for r in con.execute(f"SELECT DISTINCT practice_code FROM {AGG}").fetchall()]
        yms = [r[0] for r in con.execute(f"SELECT DISTINCT year_month FROM {AGG}").fetchall()]
        if any(c is None or not re.fullmatch(v.PRACTICE_CODE_RE, c) for c in codes_seen):
            return None
        ym_map = {y: ym_label(y or "") for y in yms}
        if any(lab is None for lab in ym_map.values()):
            return None
        good = {y: lab for y, lab in ym_map.items() if lab is not None}
        resolve_period(path, PeriodType.MONTH, "prescribing", content=set(good.values()),
                       stated=detection.stated_period)
        con.execute(f"UPDATE {AGG} SET year_month = {_period_case(good)}")
        rows = LoadResult(
            tables={},
            rows_in=rows_in,
            periods=sorted(set(good.values())),
            nulls_suppressed=n_null,
            message=f"{len(codes_seen)} practices; layout {detection.variant}",
        )
        return self._summed_result(con, codes, rows)

    @staticmethod
    def _summed_result(con: duckdb.DuckDBPyConnection, codes: RxCodeSet, rows: LoadResult) -> LoadResult:
        """The summed rows (``year_month`` of the AGG table already holds the period label) and the record of
        which code set and definitions they serve."""
        summed = con.sql(f"SELECT practice_code, year_month AS period, bnf_code, {', '.join(_FIELDS)} FROM {AGG}")
        n_rows = con.execute(f"SELECT coalesce(sum(n_rows), 0) FROM {AGG}").fetchone()
        record = pd.DataFrame(
            {
                "period": list(rows.periods),
                "code_prefixes": [list(codes.prefixes)] * len(rows.periods),
                "definitions": [list(codes.served)] * len(rows.periods),
                "code_fingerprint": codes.fingerprint,
                "rows_summed": int(n_rows[0]) if n_rows else 0,
            }
        )
        return dataclasses.replace(
            rows,
            tables={"prescribing": summed, "prescribing_aggregate": record},
            message=f"{rows.message}; rows summed to {len(codes.prefixes)} BNF prefixes (code set "
            f"{codes.fingerprint}; gpscale ingest --keep-rows keeps every row)",
        )

    def _load_rows(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        headers = head_headers(head)
        source, select = self._csv_source(head)
        self._parse(path, con, f"CREATE TEMP TABLE {STAGE} AS SELECT {select} FROM {source}")

        rejects: list[Reject] = []
        parse_errors = con.execute(
            f"SELECT line, error_type::VARCHAR, column_name, error_message FROM {REJ_TABLE} ORDER BY line"
        ).fetchall()
        not_utf8 = [int(line) for line, etype, _c, _m in parse_errors if etype == "INVALID ENCODING"]
        if not_utf8:
            raise SourceError(
                path,
                v.MIXED_ENCODING,
                f"{len(not_utf8):,} lines are not UTF-8 (the first here) although prescribing files are published "
                "in UTF-8: the file mixes encodings or was re-saved in another; save it again as UTF-8",
                where=f"line {not_utf8[0]}",
            )
        seen_lines: set[int] = set()
        for line, etype, column, msg in parse_errors:
            if line in seen_lines:
                continue
            seen_lines.add(int(line))
            if etype == "CAST":
                idx = int(str(column)[1:]) if column and str(column).startswith("c") else None
                label = headers[idx].strip() if idx is not None and idx < len(headers) else column
                rule = v.NON_NUMERIC_COUNT
                detail = f"line {line}: column {label!r} is not a number"
            elif etype in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
                rule, detail = v.WRONG_FIELD_COUNT, f"line {line}: {etype.lower()} (truncated or misaligned line)"
            else:
                rule, detail = v.MALFORMED_LINE, f"line {line}: {etype.lower()}: {str(msg).splitlines()[0][:120]}"
            rejects.append(Reject(int(line), rule, detail))

        stats = con.execute(
            f"""
            SELECT count(*), count(*) FILTER (WHERE {_BAD_NUMBERS}), {_NULLS}
            FROM {STAGE}
            """
        ).fetchone()
        assert stats is not None
        n_parsed, n_neg, n_null = (int(x) for x in stats)
        rows_in = n_parsed + len(seen_lines)
        if rows_in == 0:
            if len([ln for ln in head.text_lines if ln.strip()]) > 1 + sum(h.count("\n") for h in headers):
                raise SourceError(path, v.MALFORMED_CSV, "the CSV reader found no rows although the file has lines")
            raise SourceError(path, v.EMPTY_FILE, "the file has a header but no data rows", where="row 1")

        codes = [r[0] for r in con.execute(f"SELECT DISTINCT practice_code FROM {STAGE}").fetchall()]
        bad_codes = [c for c in codes if c is None or not re.fullmatch(v.PRACTICE_CODE_RE, c)]
        yms = [r[0] for r in con.execute(f"SELECT DISTINCT year_month FROM {STAGE}").fetchall()]
        ym_map = {y: ym_label(y or "") for y in yms}
        bad_yms = [y for y, lab in ym_map.items() if lab is None]

        conds = []
        if bad_codes:
            conds.append(
                f"practice_code IS NULL OR practice_code IN ({', '.join(_sql_str(c or '') for c in bad_codes)})"
            )
        if bad_yms:
            conds.append(f"year_month IS NULL OR year_month IN ({', '.join(_sql_str(y or '') for y in bad_yms)})")
        if n_neg:
            conds.append(_BAD_NUMBERS)
        bad_sql = " OR ".join(f"({c})" for c in conds) if conds else "FALSE"
        n_bad = 0
        if conds:
            row = con.execute(f"SELECT count(*) FROM {STAGE} WHERE {bad_sql}").fetchone()
            n_bad = int(row[0]) if row else 0
        total_bad = n_bad + len(seen_lines)
        if total_bad >= v.MIN_REJECTS_FOR_SHARE and total_bad > v.MAX_REJECT_SHARE * rows_in:
            first = rejects[0].detail if rejects else ""
            raise SourceError(
                path,
                v.TOO_MANY_REJECTS,
                f"{total_bad} of {rows_in} rows broke row rules (bad practice codes {bad_codes[:5]}, "
                f"bad months {bad_yms[:5]}, {n_neg} negative, {len(seen_lines)} unparseable) {first}",
            )
        if n_bad:
            bad_rows = con.execute(
                f"""
                SELECT rn, practice_code, year_month, items, quantity, adq_usage, nic FROM (
                    SELECT row_number() OVER () AS rn, * FROM {STAGE}) WHERE {bad_sql} ORDER BY rn
                """
            ).fetchall()
            for rn, code, ym, items, qty, adq, nic in bad_rows:
                if code is None or code in bad_codes:
                    rejects.append(
                        Reject(int(rn), v.INVALID_ODS_CODE, f"practice code {code!r} is not an ODS practice code")
                    )
                elif ym is None or ym in bad_yms:
                    rejects.append(Reject(int(rn), v.IMPOSSIBLE_DATE, f"year month {ym!r} is not a month"))
                elif items is not None and items >= 0 and items != int(items):
                    rejects.append(Reject(int(rn), v.NON_WHOLE_COUNT, f"items = {items} is not a whole number"))
                else:
                    rejects.append(
                        Reject(
                            int(rn),
                            v.NEGATIVE_COUNT,
                            f"negative value: items={items} quantity={qty} adq={adq} nic={nic}",
                        )
                    )
        good = {y: lab for y, lab in ym_map.items() if lab is not None}
        if good:
            resolve_period(path, PeriodType.MONTH, "prescribing", content=set(good.values()),
                           stated=detection.stated_period)
        self._refuse_repeated_rows(path, con, bad_sql)
        period_sql = _period_case(good)
        rel = con.sql(
            f"""
            SELECT practice_code, {period_sql} AS period, bnf_code, items, quantity, adq_usage, nic, actual_cost
            FROM {STAGE} WHERE NOT ({bad_sql})
            """
        )
        return LoadResult(
            tables={"prescribing": rel},
            rows_in=rows_in,
            periods=sorted(set(good.values())),
            rejects=sorted(rejects, key=lambda r: r.row_number or 0),
            nulls_suppressed=n_null,
            message=f"{len(codes) - len(bad_codes)} practices; layout {detection.variant}",
        )


    @staticmethod
    def _refuse_repeated_rows(path: Path, con: duckdb.DuckDBPyConnection, bad_sql: str) -> None:
        """Refuse a file holding exact copies of a row (every field the loader keeps): real files never do
        (one row per practice, presentation and pack), and copies would be counted twice."""
        got = con.execute(
            f"""
            SELECT count(*), sum(c), arg_max({{'practice_code': practice_code, 'bnf_code': bnf_code,
                                               'year_month': year_month}}, c), max(c)
            FROM (SELECT practice_code, bnf_code, year_month, count(*) AS c FROM {STAGE} WHERE NOT ({bad_sql})
                  GROUP BY practice_code, year_month, bnf_code, items, quantity, adq_usage, nic, actual_cost
                  HAVING count(*) > 1)
            """
        ).fetchall()[0]
        if got[0]:
            raise SourceError(
                path,
                v.DUPLICATE_KEY,
                f"{int(got[1]) - int(got[0]):,} rows are exact copies of other rows, e.g. {got[2]} appears "
                f"{int(got[3]):,} times; repeated rows would be counted twice",
                where="rows",
            )


# ---- STAR-PU / ASTRO-PU weights -----------------------------------------------------------------------

_BAND = re.compile(r"^\s*(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})\s*$|^\s*(\d{1,2})\s*\+\s*$")


def weight_band(s: object) -> str | None:
    m = _BAND.match(cell_text(s))
    if not m:
        return None
    if m.group(3):
        return f"{int(m.group(3))}+"
    return f"{int(m.group(1))}_{int(m.group(2))}"


class PrescribingUnits(Loader):
    """HSCIC STAR-PU and ASTRO-PU weighting tables (prescribing_units.xlsx; 2013 and 2009 vintages)."""

    name = "prescribing_units"
    description = "HSCIC STAR-PU / ASTRO-PU weighting tables workbook (2013 and 2009 vintages)"
    header_hint = "STAR-PUs ASTRO-PUs Age Band Male Female STAR PU(13) STAR PU(09)"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "xlsx":
            return None
        names = [norm(s) for s in head.sheets]
        if not any("star pu" in n for n in names) and not any("astro pu" in n for n in names):
            return None
        return Detection(self.name, "hscic-2013", "prescribing_units:" + "+".join(sorted(head.sheets)))

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        wb = open_workbook(path)
        rows_out: list[dict[str, object]] = []
        rejects: list[Reject] = []
        nulls = [0]
        rows_in = 0
        try:
            for ws in wb.worksheets:
                grid = [list(r) for r in ws.iter_rows(values_only=True)]
                rows_in += len(grid)
                rows_out.extend(_weights_from_grid(ws.title, grid, rejects, path, nulls))
        finally:
            wb.close()
        if not rows_out:
            raise SourceError(
                path, v.MISSING_COLUMNS, "no 'Age Band / Male / Female' weight tables found", where="workbook"
            )
        df = pd.DataFrame(rows_out)
        v.duplicates(df, ["scheme", "vintage", "sex", "age_band"], path, "scheme-vintage-sex-age")
        return LoadResult(
            tables={"prescribing_weight": df},
            rows_in=rows_in,
            periods=sorted(set(df["vintage"])),
            rejects=rejects,
            nulls_suppressed=nulls[0],
            message=f"{df['scheme'].nunique()} weighting schemes",
        )


_VINTAGE = re.compile(r"PU\s*\(?\s*(\d{4}|\d{2})\s*\)?", re.IGNORECASE)


def _vintage(label: str) -> str | None:
    m = _VINTAGE.search(label)
    if not m:
        return None
    y = m.group(1)
    return y if len(y) == 4 else f"20{y}"


def scheme_id(title: str, astro: bool = False) -> str:
    """Stable id of a weighting scheme from its workbook title.

    'Oral antibacterials (BNF 5.1 sub-set) ITEM based STAR PU' → ``oral_antibacterials_item``;
    'Hypnotics (BNF 4.1.1 sub-set) ADQ based STAR PU' → ``hypnotics_adq``; ASTRO-PU 'Cost-based' →
    ``astro_pu_cost``. These are the ids :mod:`gpscale.indicators.weights` looks up.
    """
    t = title.lower()
    basis = "item" if "item" in t else "adq" if "adq" in t else "cost" if "cost" in t else "other"
    if astro:
        return f"astro_pu_{basis}"
    area = re.split(r"[(]", t, maxsplit=1)[0]
    area = re.sub(r"[^a-z0-9]+", "_", area).strip("_")
    return f"{area}_{basis}"


def _weights_from_grid(
    sheet: str, grid: list[list[object]], rejects: list[Reject], path: Path, nulls: list[int]
) -> list[dict[str, object]]:
    """Find every 'Age Band | Male | Female' block and name it.

    The HSCIC workbook puts the 2013 and the 2009 table side by side. A block's vintage is the nearest
    'STAR PU(13)' / 'ASTRO PU 2009' label above it in its own columns; its scheme is the nearest title
    above it in the first column ('Ulcer healing drugs (BNF 1.3) COST based STAR PU', or 'Cost-based'
    on the ASTRO-PU sheet).
    """
    out: list[dict[str, object]] = []
    width = max((len(r) for r in grid), default=0)
    for r, row in enumerate(grid):
        for c in range(width):
            if norm(row[c] if c < len(row) else None) != "age band":
                continue
            if norm(_at(grid, r, c + 1)) != "male" or norm(_at(grid, r, c + 2)) != "female":
                continue
            vintage = None
            for rr in range(r - 1, -1, -1):
                for cc in range(c, c + 3):
                    vintage = vintage or _vintage(cell_text(_at(grid, rr, cc)))
                if vintage:
                    break
            title = None
            for rr in range(r - 1, -1, -1):
                t = cell_text(_at(grid, rr, 0)).strip()
                if not t or _vintage(t) or "copyright" in t.lower() or norm(t) == "age band":
                    continue
                title = t
                break
            title = title or sheet
            scheme = scheme_id(title, astro=sheet.upper().startswith("ASTRO"))
            for rr in range(r + 1, len(grid)):
                band = weight_band(_at(grid, rr, c))
                if band is None:
                    break
                for sex, cc in (("male", c + 1), ("female", c + 2)):
                    val = _at(grid, rr, cc)
                    if cell_text(val).strip() in v.SUPPRESSED:
                        nulls[0] += 1  # 'n/a': no weight published for this vintage (e.g. ADQ-based 2009)
                        continue
                    try:
                        w = float(str(val))
                    except (TypeError, ValueError):
                        rejects.append(
                            Reject(
                                rr + 1,
                                v.NON_NUMERIC_COUNT,
                                f"sheet {sheet!r} row {rr + 1}: weight {val!r} is not a number",
                            )
                        )
                        continue
                    out.append(
                        {"scheme": scheme, "vintage": vintage or "unknown", "sex": sex, "age_band": band, "weight": w}
                    )
    return out


def _at(grid: list[list[object]], r: int, c: int) -> object:
    if r < 0 or r >= len(grid) or c < 0 or c >= len(grid[r]):
        return None
    return grid[r][c]
