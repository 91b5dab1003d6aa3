"""Deprivation: Fingertips practice extracts, practice and PCN IMD files, and the IMD 2019 LSOA file.

* :class:`Fingertips` — the standard Fingertips ``all_data`` CSV (any indicator; practice rows are
  ``Area Type`` GP). → ``measure_value(source='fingertips', measure_id=<Indicator ID>)`` with value,
  count and denominator; indicator 93553 (IMD 2019 score) also sets ``practice_record.imd_score``.
* :class:`PracticeImd` — a practice IMD score file (practice_code, ..., imd_score, imd_decile).
  → ``practice_record.imd_score`` and ``practice_attribute`` (decile).
* :class:`PcnImd` — a PCN IMD score file (pcn_code, pcn_name, ..., imd_score, imd_decile).
  → ``reference_value(entity_type='pcn')``.
* :class:`ImdLsoa` — MHCLG IoD 2019 File 1 (LSOA rank and decile, xlsx) and LSOA lookups carrying IMD
  deciles. → ``reference_value(entity_type='lsoa')``.

Fingertips periods: ``2019/20`` is a financial year; a calendar year ``2019`` is mapped to the
financial year that starts in it (FY2019/20), which is how IMD 2019 is used in practice profiles.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType, fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult
from gpscale.sources.common import find_header_row, frame_of, optional_text, read_checked_csv, read_sheet, text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.filehead import head_headers
from gpscale.sources.headers import Col, col, match
from gpscale.sources.period_policy import resolve_period

if TYPE_CHECKING:
    import duckdb

FT_COLS: tuple[Col, ...] = (
    col("indicator_id", "indicator id"),
    col("indicator_name", "indicator name", required=False),
    col("area_code", "area code"),
    col("area_type", "area type"),
    col("sex", "sex"),
    col("age", "age", none_of=("category",)),
    col("period", "time period", none_of=("sortable", "range")),
    col("value", "value", none_of=("note", "compared", "lower", "upper")),
    col("count", "count", required=False),
    col("denominator", "denominator", required=False),
)


#: ``Area Type`` values of practice rows: "GP" in older extracts, "GPs" since the 2023 area-type names.
PRACTICE_AREA_TYPES = frozenset({"GP", "GPS", "GP PRACTICE"})


def indicator_ids(df: pd.DataFrame, rows: pd.Series, check: v.Checker) -> tuple[pd.Series, int]:
    """Each row's indicator id, and how many practice rows had it filled from their indicator name.

    Rows appended to an extract without an ``Indicator ID`` (seen in a real copy of indicator 91547) take
    the id that the same ``Indicator Name`` carries elsewhere in the file; a practice row whose name names
    no single id there is quarantined, never stored under an empty id.
    """
    ind = df["indicator_id"].fillna("").astype(str).str.strip()
    missing = (ind == "") & rows
    if not missing.any():
        return ind, 0
    name = (
        df["indicator_name"].fillna("").astype(str).str.strip() if "indicator_name" in df else pd.Series("", df.index)
    )
    ids = pd.DataFrame({"name": name, "id": ind})[ind != ""].drop_duplicates()
    one = ids.groupby("name")["id"].agg(lambda s: s.iloc[0] if len(s) == 1 else "")
    guess = name.map(one).fillna("")
    unknown = missing & (guess == "")
    check.flag(
        unknown,
        v.INVALID_VALUE,
        "no Indicator ID, and its Indicator Name {0!r} names no single indicator id elsewhere in the file",
        name,
    )
    filled = missing & ~unknown
    return ind.where(~filled, guess), int(filled.sum())


def _message(practice_rows: int, other_areas: pd.Series, filled: int) -> str:
    by_type = other_areas.replace("", "(blank)").value_counts()
    shown = ", ".join(f"{t} {k}" for t, k in by_type.head(4).items()) + (", ..." if len(by_type) > 4 else "")
    text = f"{practice_rows} practice rows; {len(other_areas)} rows of other area types skipped"
    text += f" ({shown})" if len(by_type) else ""
    if filled:
        text += f"; {filled} rows without an Indicator ID took the id their Indicator Name carries in the file"
    return text


def fingertips_period(label: str) -> str | None:
    t = (label or "").strip()
    m = re.fullmatch(r"(\d{4})/(\d{2})", t)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return fy_label(int(m.group(1)))
    m = re.fullmatch(r"(\d{4})", t)
    if m:
        return fy_label(int(m.group(1)))
    return None


class Fingertips(Loader):
    """Fingertips all_data CSV (any indicator), practice rows."""

    name = "fingertips"
    columns = FT_COLS  # the columns it reads (detection names those missing)
    description = "OHID Fingertips all_data CSV (Indicator ID, Area Code, Area Type, Time period, Value, ...)"
    header_hint = "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, FT_COLS)[1]:
            return None
        return Detection(self.name, "all_data", f"fingertips:{head.name}")

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        _table, res, df, check = read_checked_csv(path, FT_COLS)
        n = len(df)
        area = df["area_type"].fillna("").astype(str).str.strip()
        is_gp = area.str.upper().isin(PRACTICE_AREA_TYPES)
        # rows of other area types (England, PCN, ICB...) are skipped unread: their cells neither count as
        # suppressed nor quarantine rows (the cross-check in tests/realdata reads them as the oracle)
        df = df.copy()
        for key in ("value", "count", "denominator"):
            if key in df:
                df.loc[~is_gp, key] = "0"
        code = v.ods_codes(df["area_code"].where(is_gp, "A00000"), check, "area code")
        per = df["period"].fillna("").astype(str).map(fingertips_period)
        check.flag(
            per.isna() & is_gp,
            v.IMPOSSIBLE_DATE,
            "time period {0!r} not understood",
            df["period"],
        )
        # a suppressed row (blank value, "Value suppressed for disclosure control reasons" in Value note)
        # becomes a null value, counted in the ingest summary, never a zero
        val = v.numbers(df, "value", check, res["value"])
        cnt = v.counts(df, "count", check, required=False) if "count" in df else None
        den = v.counts(df, "denominator", check, required=False) if "denominator" in df else None
        # no numerator <= denominator rule: Fingertips publishes rates (e.g. A&E attendances per 1,000 aged
        # 0-4, indicator 93930) whose count exceeds the population it is divided by
        ind, filled = indicator_ids(df, is_gp, check)
        check.finish()
        keep = check.keep_mask(n) & is_gp.to_numpy()
        mv = pd.DataFrame(
            {
                "source": "fingertips",
                "measure_id": ind,
                "practice_code": code,
                "period": per,
                "period_type": "fy",
                "value": val,
                "numerator": cnt,
                "denominator": den,
            }
        )[keep]
        v.duplicates(
            mv.reset_index(drop=True).assign(sex=df["sex"][keep].to_numpy(), age=df["age"][keep].to_numpy()),
            ["measure_id", "practice_code", "period", "sex", "age"],
            path,
            "indicator-practice-period",
        )
        tables: dict[str, pd.DataFrame] = {"measure_value": mv}
        imd = mv[mv["measure_id"] == "93553"]
        if not imd.empty:
            tables["practice_record"] = pd.DataFrame(
                {"practice_code": imd["practice_code"], "imd_score": imd["value"], "as_of": None}
            )
        held = {p for p in mv["period"] if p}
        periods = (
            resolve_period(path, PeriodType.FINANCIAL_YEAR, "Fingertips", content=held, stated=detection.stated_period)
            if held
            else []
        )
        return LoadResult(
            tables=tables,
            rows_in=n,
            # the edition is the indicators and periods it holds, whatever the file is called
            publication=f"{self.name}:{'+'.join(sorted(set(mv['measure_id'])))}:{'+'.join(periods)}",
            periods=periods,
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=_message(len(mv), area[~is_gp], filled),
        )


PIMD_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("imd_score", "imd score"),
    col("imd_decile", "imd decile", required=False),
    col("practice_name", "practice name", required=False),
    col("postcode", "postcode", required=False),
)


class PracticeImd(CsvLoader):
    """Practice IMD score file (practice_code, practice_name, postcode, subicb_code, imd_score, imd_decile)."""

    name = "practice_imd"
    columns = PIMD_COLS
    description = "practice-level IMD score file (practice_code, ..., imd_score, imd_decile)"
    header_hint = '"practice_code","practice_name","postcode","subicb_code","imd_score","imd_decile"'
    max_columns = 12
    unique = ("practice_code",)

    def check(self, rows: Rows) -> None:
        df, check = rows.df, rows.check
        rows.values["practice_code"] = v.ods_codes(df["practice_code"], check)
        rows.values["imd_score"] = v.counts(df, "imd_score", check, rows.header("imd_score"))
        if "imd_decile" in df:
            dec = v.counts(df, "imd_decile", check, rows.header("imd_decile"))
            check.flag((dec < 1) | (dec > 10), v.INVALID_VALUE, "IMD decile {0} not 1-10", df["imd_decile"])

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        rec = pd.DataFrame(
            {
                "practice_code": rows["practice_code"],
                "imd_score": rows["imd_score"],
                "as_of": None,
                "name": optional_text(rows.df, "practice_name"),
                "postcode": optional_text(rows.df, "postcode"),
            }
        )[rows.keep]
        return {"practice_record": rec}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{len(tables['practice_record'])} practices; no snapshot date in the file (as_of left empty)"


PCNIMD_COLS: tuple[Col, ...] = (
    col("pcn_code", "pcn code"),
    col("pcn_name", "pcn name", required=False),
    col("imd_score", "imd score"),
    col("imd_decile", "imd decile", required=False),
)


class PcnImd(CsvLoader):
    """PCN IMD score file (pcn_code, pcn_name, postcode, subicb_code, imd_score, imd_decile)."""

    name = "pcn_imd"
    columns = PCNIMD_COLS
    description = "PCN-level IMD score file (pcn_code, pcn_name, ..., imd_score, imd_decile)"
    header_hint = '"pcn_code","pcn_name","postcode","subicb_code","imd_score","imd_decile"'
    max_columns = 12
    unique = ("pcn_code",)
    unique_what = "PCN"

    def check(self, rows: Rows) -> None:
        rows.values["pcn_code"] = rows.df["pcn_code"].fillna("").astype(str).str.strip().str.upper()
        rows.values["imd_score"] = v.counts(rows.df, "imd_score", rows.check, rows.header("imd_score"))

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        pcn, score = rows["pcn_code"], rows["imd_score"]
        parts = [
            pd.DataFrame(
                {
                    "entity_code": pcn,
                    "attribute": "imd_score",
                    "value": score.map(lambda x: None if pd.isna(x) else repr(float(x))),
                }
            )
        ]
        for key in ("pcn_name", "imd_decile"):
            if key in rows.df:
                parts.append(pd.DataFrame({"entity_code": pcn, "attribute": key, "value": text(rows.df[key])}))
        out = pd.concat([p[rows.keep] for p in parts], ignore_index=True).assign(
            entity_type="pcn", period=None, period_type=None
        )
        return {"reference_value": out}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        unknown = int((~rows["pcn_code"][rows.keep].str.match(v.PCN_CODE_RE)).sum())
        return f"{int(rows.keep.sum())} PCNs ({unknown} with a non-ODS code such as 'U' Unknown, kept as published)"


LSOA_FILE1_COLS: tuple[Col, ...] = (
    col("lsoa_code", "lsoa code", "lsoa code 2011", "lsoa11cd"),
    col("imd_rank", "index of multiple deprivation imd rank", "imd rank"),
    col("imd_decile", "index of multiple deprivation imd decile", "imd decile"),
)


class ImdLsoaWorkbook(Loader):
    """MHCLG English Indices of Deprivation 2019, File 1 (IMD rank and decile per LSOA), xlsx."""

    name = "imd_lsoa_file1"
    description = "MHCLG IoD2019 File 1 workbook: LSOA IMD rank and decile"
    header_hint = "LSOA code (2011) LSOA name (2011) Local Authority District code (2019) ... IMD Rank IMD Decile"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "xlsx":
            return None
        for sheet in head.sheets:
            if find_header_row(head.sheet_rows.get(sheet, ()), LSOA_FILE1_COLS) is not None:
                return Detection(self.name, "iod2019-file1", f"imd_lsoa_file1:{head.name}")
        return None

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        sheet = read_sheet(path, LSOA_FILE1_COLS)
        wanted = (*LSOA_FILE1_COLS, col("lad_code", "local authority district code", required=False))
        found, _ = match(sheet.headers, wanted)
        df = frame_of(sheet, found)
        n = len(df)
        v.require_rows(n, path)
        check = v.Checker(path, n)
        lsoa = df["lsoa_code"].fillna("").astype(str).str.strip()
        check.flag(~lsoa.str.fullmatch(r"[EW]0\d{7}"), v.INVALID_VALUE, "LSOA code {0!r} is not an ONS code", lsoa)
        v.counts(df, "imd_rank", check, found["imd_rank"])
        v.counts(df, "imd_decile", check, found["imd_decile"])
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"l": lsoa}), ["l"], path, "LSOA", keep, lines=check.lines)
        parts = [
            pd.DataFrame({"entity_code": lsoa, "attribute": f"imd2019_{k}", "value": text(df[k])})[keep]
            for k in ("imd_rank", "imd_decile")
        ]
        if "lad_code" in df:
            parts.append(
                pd.DataFrame({"entity_code": lsoa, "attribute": "lad_code", "value": text(df["lad_code"])})[keep]
            )
        out = pd.concat(parts, ignore_index=True).assign(entity_type="lsoa", period=None, period_type=None)
        return LoadResult(
            tables={"reference_value": out},
            rows_in=n,
            periods=[],
            rejects=check.rejects,
            message=f"sheet {sheet.sheet!r}: {int(keep.sum())} LSOAs",
        )
