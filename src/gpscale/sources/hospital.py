"""Practice-level hospital activity in the gpscale layout (see docs/formats/synthetic-layouts.md).

Columns: PRACTICE_CODE, FINANCIAL_YEAR (``2019-20``), MEASURE, SEX (MALE/FEMALE), AGE_BAND (``0_4`` …
``85+``), EVENTS (``*`` = suppressed → null, counted), POPULATION. → ``hospital_activity``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult
from gpscale.sources.common import (
    head_headers,
    map_unique,
    read_checked_csv,
)
from gpscale.sources.headers import Col, col, match
from gpscale.sources.period_policy import fy_from_text, resolve_period
from gpscale.sources.registrations import SEX, age_band

if TYPE_CHECKING:
    import duckdb

HOSP_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("year", "financial year", "year"),
    col("measure", "measure"),
    col("sex", "sex"),
    col("age_band", "age band", "age group", "age"),
    col("events", "events", "count"),
    col("population", "population", "registered patients"),
)

MEASURES = ("EMERGENCY_ADMISSIONS", "ACSC_CHRONIC_ADMISSIONS", "AE_ATTENDANCES", "OUTPATIENT_FIRST_GP_REFERRED")


class HospitalActivity:
    """gpscale practice-level hospital activity: events and population by measure, sex and age band."""

    name = "hospital_activity"
    columns = HOSP_COLS  # the columns it reads (detection names those missing)
    description = "gpscale practice-level hospital activity CSV (practice, year, measure, sex, age band, events)"
    header_hint = "PRACTICE_CODE,FINANCIAL_YEAR,MEASURE,SEX,AGE_BAND,EVENTS,POPULATION"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, HOSP_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "file:" + head.path.name
        return Detection(self.name, "gpscale-v1", f"hospital_activity:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        _table, res, df, check = read_checked_csv(path, HOSP_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        year_txt = df["year"].fillna("").astype(str).str.strip()
        uniq = {y: fy_from_text(y) for y in year_txt.unique()}
        fy = year_txt.map(uniq)
        check.flag(fy.isna(), v.IMPOSSIBLE_DATE, "financial year {0!r} is not like 2019-20", year_txt)
        sex = df["sex"].fillna("").astype(str).str.strip().str.upper()
        check.flag(~sex.isin(list(SEX)), v.INVALID_VALUE, "sex {0!r} is not MALE/FEMALE/ALL", sex)
        measure = df["measure"].fillna("").astype(str).str.strip().str.upper()
        check.flag(measure == "", v.INVALID_VALUE, "blank measure")
        events = v.counts(df, "events", check, res["events"], whole=True)
        popn = v.counts(df, "population", check, res["population"], whole=True)
        check.finish()
        keep = check.keep_mask(n)
        out = pd.DataFrame(
            {
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "measure": measure.str.lower(),
                "sex": sex.map(SEX),
                "age_band": map_unique(df["age_band"], age_band),
                "events": events,
                "population": popn,
            }
        )[keep]
        v.duplicates(
            out.reset_index(drop=True),
            ["practice_code", "period", "measure", "sex", "age_band"],
            path,
            "practice-year-measure-sex-age",
            lines=[check.line_of(int(i)) or 0 for i in out.index],
        )
        periods = resolve_period(
            path, PeriodType.FINANCIAL_YEAR, "hospital activity", content=set(out["period"].dropna()),
            stated=detection.stated_period,
        )
        return LoadResult(
            tables={"hospital_activity": out},
            rows_in=n,
            periods=periods,
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"{out['practice_code'].nunique()} practices, measures {sorted(set(out['measure']))}",
            publication=f"{self.name}:{'+'.join(periods)}",
        )
