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
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType, month_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult
from gpscale.sources.common import (
    frame_of,
    fy_end,
    head_headers,
    head_records,
    map_unique,
    read_checked_csv,
    read_text_csv,
    start_checks,
    text,
)
from gpscale.sources.headers import Col, col, match, norm, resolve
from gpscale.sources.period_policy import month_from_text, resolve_period
from gpscale.sources.qof import attribute_rows, list_type_band, require_fy

if TYPE_CHECKING:
    import duckdb

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


class GpRegPatients:
    """Patients registered at a GP practice: quinary-age, single-age or all-persons file."""

    name = "gp_reg_patients"
    columns = REG_COLS  # the columns it reads (detection names those missing)
    description = "NHS Digital gp-reg-pat-prac-quin-age / -all / -sing-age registrations CSV"
    header_hint = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        found, missing = match(headers, REG_COLS)
        if missing:
            return None
        variant = "quin-age" if "group" in norm(found["age"]) else "all-or-single-age"
        recs = head_records(head, 2)
        stamp = recs[1][found.positions["extract_date"]] if len(recs) > 1 else "undated"
        return Detection(self.name, variant, f"gp_reg_patients:{variant}:{stamp.strip()}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        _table, res, df, check = read_checked_csv(path, REG_COLS)
        n = len(df)
        skip = pd.Series(False, index=df.index)
        if "org_type" in df:
            t = df["org_type"].fillna("").astype(str).str.strip().str.upper()
            skip = ~t.isin(["GP", ""])
        code = v.ods_codes(df["code"].where(~skip, "A00000"), check)
        when = v.parse_dates(df["extract_date"], check, "extract date", EXTRACT_FORMATS, required=True)
        month = extract_months(when)
        sex_raw = df["sex"].fillna("").astype(str).str.strip().str.upper()
        check.flag(~sex_raw.isin(list(SEX)), v.INVALID_VALUE, "sex {0!r} is not MALE/FEMALE/ALL", sex_raw)
        pats = v.counts(df, "patients", check, res["patients"], whole=True)
        check.finish()
        keep = check.keep_mask(n) & ~skip.to_numpy()
        pop = pd.DataFrame(
            {
                "practice_code": code,
                "period": month,
                "period_type": "month",
                "sex": sex_raw.map(SEX),
                "age_band": map_unique(df["age"], age_band),
                "patients": pats.round().astype("Int64"),
            }
        )[keep]
        v.duplicates(
            pop.reset_index(drop=True),
            ["practice_code", "period", "sex", "age_band"],
            path,
            "practice-month-sex-age",
            lines=[check.line_of(int(i)) or 0 for i in pop.index],
        )
        periods = resolve_period(
            path, PeriodType.MONTH, "registrations", content={p for p in pop["period"] if isinstance(p, str)},
            stated=detection.stated_period,
        )
        msg = f"{pop['practice_code'].nunique()} practices"
        if int(skip.sum()):
            msg += f"; {int(skip.sum())} rows for organisations other than GP practices skipped"
        return LoadResult(
            tables={"practice_population": pop},
            rows_in=n,
            periods=periods,
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=msg,
        )


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


class GpRegMap:
    """gp-reg-pat-prac-map.csv: practice → PCN → CCG/Sub-ICB → STP/ICB → region, for one extract."""

    name = "gp_reg_map"
    columns = MAP_COLS  # the columns it reads (detection names those missing)
    description = "NHS Digital gp-reg-pat-prac-map.csv (practice to PCN/CCG/STP/region mapping)"
    header_hint = (
        "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,PCN_CODE,PCN_NAME,ONS_CCG_CODE"
    )

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        found, missing = match(headers, MAP_COLS)
        if missing:
            return None
        recs = head_records(head, 2)
        stamp = recs[1][found.positions["extract_date"]].strip() if len(recs) > 1 else "undated"
        return Detection(self.name, "map", f"gp_reg_map:{stamp}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        _table, _res, df, check = read_checked_csv(path, MAP_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        when = v.parse_dates(df["extract_date"], check, "extract date", EXTRACT_FORMATS, required=True)
        month = extract_months(when)
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        periods = resolve_period(
            path, PeriodType.MONTH, "registrations map", content={m for m in month[keep] if isinstance(m, str)},
            stated=detection.stated_period,
        )
        as_of = next((d for d in when[keep] if d is not None), None)
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": when,
                "name": text(df["practice_name"]) if "practice_name" in df else None,
                "postcode": text(df["postcode"]) if "postcode" in df else None,
                "commissioner": text(df["ccg_code"]) if "ccg_code" in df else None,
                "icb": text(df["stp_code"]) if "stp_code" in df else None,
                "region": text(df["region_code"]) if "region_code" in df else None,
            }
        )[keep]
        attrs = []
        for m in periods:
            sel = keep & (month == m).to_numpy()
            attrs.append(
                attribute_rows(
                    df,
                    code,
                    m,
                    sel,
                    {
                        "pcn_code": "pcn_code",
                        "pcn_name": "pcn_name",
                        "ccg_code": "commissioner_code",
                        "ccg_name": "commissioner_name",
                        "stp_code": "stp_code",
                        "region_code": "region_code",
                    },
                    period_type="month",
                )
            )
        return LoadResult(
            tables={
                "practice_record": rec,
                "practice_attribute": pd.concat(attrs, ignore_index=True)
                if attrs
                else attribute_rows(df, code, "", keep, {}),
            },
            rows_in=n,
            periods=periods,
            rejects=check.rejects,
            message=f"{int(keep.sum())} practices, {df['pcn_code'][keep].nunique()} PCNs, extract {as_of}",
        )


_LIST2011_BAND = re.compile(r"^(male|female) (\d+) (\d+)$|^(male|female) (\d+)$")


class PatientListSize2011:
    """HSCIC practice list size by age and sex (2011 layout: Male 0-4 ... Female 75+)."""

    name = "patient_list_size_2011"
    description = "HSCIC Patient_List_Size practice list by age band and sex (STAR-PU bands, 2011 layout)"
    header_hint = "Month,Regional Office Name,...,Practice Code,Male 0-4,Female 0-4,Male 5-14,...,Female 75+"

    WANT = (col("month", "month"), col("practice_code", "practice code"))

    def _bands(self, headers: list[str]) -> list[tuple[int, str, str]]:
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

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, self.WANT)[1] or len(self._bands(headers)) < 4:
            return None
        recs = head_records(head, 2)
        stamp = recs[1][0].strip() if len(recs) > 1 else "undated"
        return Detection(self.name, "2011", f"patient_list_size_2011:{stamp}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        table = read_text_csv(path)
        res = resolve(table.headers, self.WANT, path)
        df = frame_of(table, res)
        n = len(df)
        check = start_checks(table, df, path)
        code = v.ods_codes(df["practice_code"], check)
        when = v.parse_dates(df["month"], check, "month", ("%d/%m/%y", "%d/%m/%Y", "%Y-%m-%d", "%Y%m"), required=True)
        month = extract_months(when)
        parts = []
        for i, sex, band in self._bands(table.headers):
            cnt = v.counts(table.frame, str(i), check, table.headers[i], whole=True)
            parts.append(
                pd.DataFrame(
                    {
                        "practice_code": code,
                        "period": month,
                        "sex": sex,
                        "age_band": band,
                        "patients": cnt.round().astype("Int64"),
                    }
                )
            )
        check.finish()
        keep = check.keep_mask(n)
        pop = pd.concat([p[keep] for p in parts], ignore_index=True).assign(period_type="month")
        v.duplicates(pop, ["practice_code", "period", "sex", "age_band"], path, "practice-month-sex-age")
        return LoadResult(
            tables={"practice_population": pop},
            rows_in=n,
            periods=resolve_period(
                path, PeriodType.MONTH, "list size", content={m for m in pop["period"] if isinstance(m, str)},
                stated=detection.stated_period,
            ),
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
        )


class QofListByAgeGroup:
    """Practice list sizes by QOF age group, one column per group (TOTAL, 16OV, ... 65OV)."""

    name = "qof_list_by_age_group"
    description = "practice list size by QOF age group (PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,...)"
    header_hint = "PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,0_64,65OV,65OV%"

    def _groups(self, headers: list[str]) -> list[tuple[int, str]]:
        out = []
        for i, h in enumerate(headers):
            t = str(h).strip().upper()
            if t == "TOTAL" or re.fullmatch(r"\d{1,2}OV", t) or re.fullmatch(r"\d{1,2}_\d{1,3}", t):
                out.append((i, list_type_band(t)))
        return out

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or norm(headers[0]) != "practice code" or len(self._groups(headers)) < 3:
            return None
        return Detection(self.name, "wide", f"qof_list_by_age_group:{head.path.name}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "list_by_age_group", detection)
        table = read_text_csv(path)
        n = len(table.frame)
        check = start_checks(table, table.frame, path)
        code = v.ods_codes(table.frame["0"], check)
        parts = []
        for i, band in self._groups(table.headers):
            cnt = v.counts(table.frame, str(i), check, table.headers[i], whole=True)
            parts.append(
                pd.DataFrame({"practice_code": code, "age_band": band, "patients": cnt.round().astype("Int64")})
            )
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        pop = pd.concat([p[keep] for p in parts], ignore_index=True).assign(period=fy, period_type="fy", sex="all")
        return LoadResult(
            tables={"practice_population": pop},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"as_of {fy_end(fy)}; columns not in QOF age groups (e.g. '65OV%') are not loaded",
        )


__all__ = ["GpRegMap", "GpRegPatients", "PatientListSize2011", "QofListByAgeGroup", "date", "month_from_text"]
