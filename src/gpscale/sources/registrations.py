"""Patients registered at a GP practice (NHS Digital, monthly) and older list-size layouts.

* :class:`GpRegPatients` — ``gp-reg-pat-prac-quin-age.csv`` (quinary age bands by sex),
  ``gp-reg-pat-prac-all.csv`` (totals) and ``gp-reg-pat-prac-sing-age`` (single years): one row per
  practice, sex and age group. → ``practice_population`` for the month of ``EXTRACT_DATE``.
* :class:`GpRegMap` — ``gp-reg-pat-prac-map.csv``: practice → PCN → CCG → STP → region.
  → ``practice_record`` and ``practice_attribute`` (PCN, commissioner) for the extract month.
* :class:`PatientListSize2011` — the 2011 HSCIC practice list size by age/sex layout (STAR-PU bands).
* :class:`QofListByAgeGroup` — list sizes by QOF age group (House of Commons Library derived table).
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from gpscale.periods import PeriodType, month_label
from gpscale.sources import validate as v
from gpscale.sources.base import FileHead
from gpscale.sources.common import attribute_rows, fy_end, map_unique, optional_text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.filehead import head_records
from gpscale.sources.headers import Col, Resolved, col, norm
from gpscale.sources.period_policy import month_from_text, resolve_period
from gpscale.sources.qof.common import list_type_band, qof_year

EXTRACT_FORMATS = ("%d%b%Y", "%d-%b-%y", "%d-%b-%Y", "%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d/%m/%y")

REG_COLS: tuple[Col, ...] = (
    col("extract_date", "extract date"),
    col("code", "org code", "code", "practice code", none_of=("ccg", "ons", "post", "icb", "pcn", "stp")),
    col("sex", "sex"),
    col("age", "age group 5", "age group", "age"),
    col("patients", "number of patients", "patients"),
    col("org_type", "org type", "type", required=False),
    col("postcode", "postcode", required=False),
    col("ccg_code", "ccg code", none_of=("ons",), required=False),
)

SEX = {"MALE": "male", "FEMALE": "female", "ALL": "all", "M": "male", "F": "female", "PERSONS": "all"}


def age_band(a: str) -> str:
    """Published age group as a band label: '0_4' stays, 'ALL' → 'all', '95+' stays, '5-9' → '5_9'."""
    a = (a or "").strip()
    if a.upper() == "ALL":
        return "all"
    a = a.replace("-", "_").replace(" ", "")
    if re.fullmatch(r"\d+_\d+", a) or re.fullmatch(r"\d+\+", a) or re.fullmatch(r"\d+", a):
        return a
    if a.upper() == "95_PLUS" or a.upper() == "95PLUS":
        return "95+"
    return a.lower()


def extract_months(dates: pd.Series) -> pd.Series:
    return pd.Series([None if d is None else month_label(d.year, d.month) for d in dates], index=dates.index)


class GpRegPatients(CsvLoader):
    """Patients registered at a GP practice: quinary-age, single-age or all-persons file."""

    name = "gp_reg_patients"
    columns = REG_COLS
    description = "NHS Digital gp-reg-pat-prac-quin-age / -all / -sing-age registrations CSV"
    header_hint = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS"

    def variant(self, headers: list[str], found: Resolved) -> str:
        return "quin-age" if "group" in norm(found["age"]) else "all-or-single-age"

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        recs = head_records(head, 2)
        stamp = recs[1][found.positions["extract_date"]] if len(recs) > 1 else "undated"
        return f"{self.name}:{self.variant(headers, found)}:{stamp.strip()}"

    def check(self, rows: Rows) -> None:
        df, check, val = rows.df, rows.check, rows.values
        skip = pd.Series(False, index=df.index)
        if "org_type" in df:
            t = df["org_type"].fillna("").astype(str).str.strip().str.upper()
            skip = ~t.isin(["GP", ""])
        val["skip"] = skip
        val["practice_code"] = v.ods_codes(df["code"].where(~skip, "A00000"), check)
        when = v.parse_dates(df["extract_date"], check, "extract date", EXTRACT_FORMATS, required=True)
        val["month"] = extract_months(when)
        val["sex"] = sex_raw = df["sex"].fillna("").astype(str).str.strip().str.upper()
        check.flag(~sex_raw.isin(list(SEX)), v.INVALID_VALUE, "sex {0!r} is not MALE/FEMALE/ALL", sex_raw)
        val["patients"] = v.counts(df, "patients", check, rows.header("patients"), whole=True)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        rows.keep = rows.keep & ~rows["skip"].to_numpy()
        pop = pd.DataFrame(
            {
                "practice_code": rows["practice_code"],
                "period": rows["month"],
                "period_type": "month",
                "sex": rows["sex"].map(SEX),
                "age_band": map_unique(rows.df["age"], age_band),
                "patients": rows["patients"].round().astype("Int64"),
            }
        )[rows.keep]
        v.duplicates(
            pop.reset_index(drop=True),
            ["practice_code", "period", "sex", "age_band"],
            rows.path,
            "practice-month-sex-age",
            lines=[rows.check.line_of(int(i)) or 0 for i in pop.index],
        )
        return {"practice_population": pop}

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        pop = tables["practice_population"]
        return resolve_period(
            rows.path, PeriodType.MONTH, "registrations", content={p for p in pop["period"] if isinstance(p, str)},
            stated=rows.detection.stated_period,
        )

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        skipped = int(rows["skip"].sum())
        msg = f"{tables['practice_population']['practice_code'].nunique()} practices"
        if skipped:
            msg += f"; {skipped} rows for organisations other than GP practices skipped"
        return msg


MAP_COLS: tuple[Col, ...] = (
    col("extract_date", "extract date"),
    col("practice_code", "practice code"),
    col("practice_name", "practice name", required=False),
    col("postcode", "practice postcode", "postcode", required=False),
    col("pcn_code", "pcn code", none_of=("ons",)),
    col("pcn_name", "pcn name", required=False),
    col("ccg_code", "ccg code", "sub icb code", "sub icb location code", none_of=("ons",), required=False),
    col("ccg_name", "ccg name", "sub icb name", "sub icb location name", required=False),
    col("stp_code", "stp code", "icb code", none_of=("ons", "sub"), required=False),
    col("region_code", "comm region code", "region code", none_of=("ons",), required=False),
)

#: The registrations map's columns → practice_attribute names.
MAP_ATTRIBUTES = {
    "pcn_code": "pcn_code",
    "pcn_name": "pcn_name",
    "ccg_code": "commissioner_code",
    "ccg_name": "commissioner_name",
    "stp_code": "stp_code",
    "region_code": "region_code",
}


class GpRegMap(CsvLoader):
    """gp-reg-pat-prac-map.csv: practice → PCN → CCG/Sub-ICB → STP/ICB → region, for one extract."""

    name = "gp_reg_map"
    columns = MAP_COLS
    description = "NHS Digital gp-reg-pat-prac-map.csv (practice to PCN/CCG/STP/region mapping)"
    header_hint = (
        "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,PCN_CODE,PCN_NAME,ONS_CCG_CODE"
    )
    default_variant = "map"
    unique = ("practice_code",)

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        recs = head_records(head, 2)
        stamp = recs[1][found.positions["extract_date"]].strip() if len(recs) > 1 else "undated"
        return f"{self.name}:{stamp}"

    def check(self, rows: Rows) -> None:
        rows.values["practice_code"] = v.ods_codes(rows.df["practice_code"], rows.check)
        rows.values["when"] = when = v.parse_dates(
            rows.df["extract_date"], rows.check, "extract date", EXTRACT_FORMATS, required=True
        )
        rows.values["month"] = extract_months(when)

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        return resolve_period(
            rows.path, PeriodType.MONTH, "registrations map",
            content={m for m in rows["month"][rows.keep] if isinstance(m, str)}, stated=rows.detection.stated_period,
        )

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df, code, keep, month = rows.df, rows["practice_code"], rows.keep, rows["month"]
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": rows["when"],
                "name": optional_text(df, "practice_name"),
                "postcode": optional_text(df, "postcode"),
                "commissioner": optional_text(df, "ccg_code"),
                "icb": optional_text(df, "stp_code"),
                "region": optional_text(df, "region_code"),
            }
        )[keep]
        attrs = [
            attribute_rows(df, code, m, keep & (month == m).to_numpy(), MAP_ATTRIBUTES, period_type="month")
            for m in self.periods(rows, {})
        ]
        return {
            "practice_record": rec,
            "practice_attribute": pd.concat(attrs, ignore_index=True) if attrs else attribute_rows(
                df, code, "", keep, {}),
        }

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        as_of = next((d for d in rows["when"][rows.keep] if d is not None), None)
        return f"{int(rows.keep.sum())} practices, {rows.df['pcn_code'][rows.keep].nunique()} PCNs, extract {as_of}"


_LIST2011_BAND = re.compile(r"^(male|female) (\d+) (\d+)$|^(male|female) (\d+)$")


def list_size_bands(headers: list[str]) -> list[tuple[int, str, str]]:
    """(position, sex, band) of the 2011 layout's 'Male 0-4' ... 'Female 75+' columns."""
    out = []
    for i, h in enumerate(headers):
        raw = str(h).strip().lower()
        m = re.fullmatch(r"(male|female)\s+(\d+)\s*-\s*(\d+)", raw)
        if m:
            out.append((i, m.group(1), f"{m.group(2)}_{m.group(3)}"))
            continue
        m = re.fullmatch(r"(male|female)\s+(\d+)\s*\+", raw)
        if m:
            out.append((i, m.group(1), f"{m.group(2)}+"))
    return out


class PatientListSize2011(CsvLoader):
    """HSCIC practice list size by age and sex (2011 layout: Male 0-4 ... Female 75+)."""

    name = "patient_list_size_2011"
    columns: tuple[Col, ...] = (col("month", "month"), col("practice_code", "practice code"))
    description = "HSCIC Patient_List_Size practice list by age band and sex (STAR-PU bands, 2011 layout)"
    header_hint = "Month,Regional Office Name,...,Practice Code,Male 0-4,Female 0-4,Male 5-14,...,Female 75+"
    default_variant = "2011"

    def recognise(self, headers: list[str], head: FileHead) -> bool:
        return len(list_size_bands(headers)) >= 4

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        recs = head_records(head, 2)
        stamp = recs[1][0].strip() if len(recs) > 1 else "undated"
        return f"{self.name}:{stamp}"

    def check(self, rows: Rows) -> None:
        table, check = rows.table, rows.check
        rows.values["practice_code"] = v.ods_codes(rows.df["practice_code"], check)
        when = v.parse_dates(
            rows.df["month"], check, "month", ("%d/%m/%y", "%d/%m/%Y", "%Y-%m-%d", "%Y%m"), required=True
        )
        rows.values["month"] = extract_months(when)
        for i, _sex, _band in list_size_bands(table.headers):
            rows.values[f"band{i}"] = v.counts(table.frame, str(i), check, table.headers[i], whole=True)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        parts = [
            pd.DataFrame(
                {
                    "practice_code": rows["practice_code"],
                    "period": rows["month"],
                    "sex": sex,
                    "age_band": band,
                    "patients": rows[f"band{i}"].round().astype("Int64"),
                }
            )[rows.keep]
            for i, sex, band in list_size_bands(rows.table.headers)
        ]
        pop = pd.concat(parts, ignore_index=True).assign(period_type="month")
        v.duplicates(pop, ["practice_code", "period", "sex", "age_band"], rows.path, "practice-month-sex-age")
        return {"practice_population": pop}

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        pop = tables["practice_population"]
        return resolve_period(
            rows.path, PeriodType.MONTH, "list size", content={m for m in pop["period"] if isinstance(m, str)},
            stated=rows.detection.stated_period,
        )


def qof_age_groups(headers: list[str]) -> list[tuple[int, str]]:
    """(position, age band) of the QOF age-group columns (TOTAL, 16OV, ..., 30_74)."""
    out = []
    for i, h in enumerate(headers):
        t = str(h).strip().upper()
        if t == "TOTAL" or re.fullmatch(r"\d{1,2}OV", t) or re.fullmatch(r"\d{1,2}_\d{1,3}", t):
            out.append((i, list_type_band(t)))
    return out


class QofListByAgeGroup(CsvLoader):
    """Practice list sizes by QOF age group, one column per group (TOTAL, 16OV, ... 65OV)."""

    name = "qof_list_by_age_group"
    columns: tuple[Col, ...] = (col("practice_code", "practice code"),)
    description = "practice list size by QOF age group (PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,...)"
    header_hint = "PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,0_64,65OV,65OV%"
    default_variant = "wide"
    period = qof_year("list_by_age_group")
    unique = ("practice_code",)

    def recognise(self, headers: list[str], head: FileHead) -> bool:
        return norm(headers[0]) == "practice code" and len(qof_age_groups(headers)) >= 3

    def edition(self, head: FileHead, headers: list[str], found: Resolved) -> str:
        return f"{self.name}:{head.name}"

    def check(self, rows: Rows) -> None:
        table, check = rows.table, rows.check
        rows.values["practice_code"] = v.ods_codes(table.frame["0"], check)
        for i, _band in qof_age_groups(table.headers):
            rows.values[f"group{i}"] = v.counts(table.frame, str(i), check, table.headers[i], whole=True)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        parts = [
            pd.DataFrame(
                {"practice_code": rows["practice_code"], "age_band": band,
                 "patients": rows[f"group{i}"].round().astype("Int64")}
            )[rows.keep]
            for i, band in qof_age_groups(rows.table.headers)
        ]
        pop = pd.concat(parts, ignore_index=True).assign(period=rows.period, period_type="fy", sex="all")
        return {"practice_population": pop}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        assert rows.period is not None
        return f"as_of {fy_end(rows.period)}; columns not in QOF age groups (e.g. '65OV%') are not loaded"


__all__ = ["GpRegMap", "GpRegPatients", "PatientListSize2011", "QofListByAgeGroup", "date", "month_from_text"]
