"""Practice-level hospital activity in the gpscale layout (see docs/formats/synthetic-layouts.md).

Columns: PRACTICE_CODE, FINANCIAL_YEAR (``2019-20``), MEASURE, SEX (MALE/FEMALE), AGE_BAND (``0_4`` …
``85+``), EVENTS (``*`` = suppressed → null, counted), POPULATION. → ``hospital_activity``.
"""

from __future__ import annotations

import pandas as pd

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.base import FileHead
from gpscale.sources.common import map_unique
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.headers import Col, Resolved, col
from gpscale.sources.period_policy import fy_from_text, resolve_period
from gpscale.sources.registrations import SEX, age_band

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


class HospitalActivity(CsvLoader):
    """gpscale practice-level hospital activity: events and population by measure, sex and age band."""

    name = "hospital_activity"
    columns = HOSP_COLS
    description = "gpscale practice-level hospital activity CSV (practice, year, measure, sex, age band, events)"
    header_hint = "PRACTICE_CODE,FINANCIAL_YEAR,MEASURE,SEX,AGE_BAND,EVENTS,POPULATION"
    default_variant = "gpscale-v1"

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        return f"{self.name}:{fy_from_text(head.path.name) or 'file:' + head.name}"

    def check(self, rows: Rows) -> None:
        df, check, val = rows.df, rows.check, rows.values
        val["practice_code"] = v.ods_codes(df["practice_code"], check)
        year_txt = df["year"].fillna("").astype(str).str.strip()
        uniq = {y: fy_from_text(y) for y in year_txt.unique()}
        val["fy"] = fy = year_txt.map(uniq)
        check.flag(fy.isna(), v.IMPOSSIBLE_DATE, "financial year {0!r} is not like 2019-20", year_txt)
        val["sex"] = sex = df["sex"].fillna("").astype(str).str.strip().str.upper()
        check.flag(~sex.isin(list(SEX)), v.INVALID_VALUE, "sex {0!r} is not MALE/FEMALE/ALL", sex)
        val["measure"] = measure = df["measure"].fillna("").astype(str).str.strip().str.upper()
        check.flag(measure == "", v.INVALID_VALUE, "blank measure")
        val["events"] = v.counts(df, "events", check, rows.header("events"), whole=True)
        val["population"] = v.counts(df, "population", check, rows.header("population"), whole=True)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        out = pd.DataFrame(
            {
                "practice_code": rows["practice_code"],
                "period": rows["fy"],
                "period_type": "fy",
                "measure": rows["measure"].str.lower(),
                "sex": rows["sex"].map(SEX),
                "age_band": map_unique(rows.df["age_band"], age_band),
                "events": rows["events"],
                "population": rows["population"],
            }
        )[rows.keep]
        v.duplicates(
            out.reset_index(drop=True),
            ["practice_code", "period", "measure", "sex", "age_band"],
            rows.path,
            "practice-year-measure-sex-age",
            lines=[rows.check.line_of(int(i)) or 0 for i in out.index],
        )
        return {"hospital_activity": out}

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        return resolve_period(
            rows.path, PeriodType.FINANCIAL_YEAR, "hospital activity",
            content=set(tables["hospital_activity"]["period"].dropna()), stated=rows.detection.stated_period,
        )

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        out = tables["hospital_activity"]
        return f"{out['practice_code'].nunique()} practices, measures {sorted(set(out['measure']))}"

    def publication(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str | None:
        return f"{self.name}:{'+'.join(self.periods(rows, tables))}"
