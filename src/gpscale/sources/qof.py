"""Quality and Outcomes Framework publications.

Formats here:

* :class:`QofAchievement` — the practice overall achievement table (CSV export of the published
  workbook): list size, achievement score, % of the year's maximum, % of points available. The header
  wording changes every year (``All ages``/``List size``; ``Achievement score (max. 559)``/``(559 max)``),
  geography columns change (region/STP/CCG to 2018/19, CCG→PCN from 2019/20, Sub-ICB→PCN from 2021/22).
  → ``measure_value`` (``total``: points of the year's maximum; ``total_available``: points of the
  maximum available where registers exist), ``practice_population`` (list size), ``practice_record``
  and ``practice_attribute`` (PCN, CCG/Sub-ICB).
* :class:`QofPrevalence` — raw ``PREVALENCE`` files (register and age-specific list size per practice
  and register group; column names drift) and the older ``prevalencebyprac`` layout.
  → ``measure_value`` (``prevalence:<GROUP>``) and ``practice_population`` (one row per list type).
* :class:`QofRawAchievement` — raw ``ACHIEVEMENT`` files (long: practice, indicator, measure, value).
* :class:`QofDomainWorkbook` — the older per-domain practice workbooks (2014/15 asthma).
* :class:`QofOrganisationReference`, :class:`QofGeographies`, :class:`QofIndicatorMappings`,
  :class:`QofValidationOutcomes` — the supporting reference CSVs.

None of the QOF raw files states its year inside the file: the financial year comes from the file
name (``PREVALENCE_1920.csv``, ``QOF_2019-20.csv``), and is checked against the maximum points stated
in the header where there is one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.domain.qof import qof_max_points
from gpscale.periods import PeriodType, fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult, Reject, SourceError
from gpscale.sources.common import (
    cell_text,
    find_header_row,
    flag_wrong_width,
    frame_of,
    fy_end,
    head_headers,
    map_unique,
    open_workbook,
    read_checked_csv,
    read_text_csv,
    start_checks,
    text,
)
from gpscale.sources.csvread import CsvReader
from gpscale.sources.headers import Col, Resolved, col, match, norm, resolve
from gpscale.sources.period_policy import fy_from_text, resolve_period
from gpscale.sources.staging import LINE, Staging

if TYPE_CHECKING:
    import duckdb


def require_fy(path: Path, what: str, detection: Detection) -> str:
    """The financial year of a file whose content does not state it: from its name, or ``--period``."""
    return resolve_period(
        path, PeriodType.FINANCIAL_YEAR, what, stated=detection.stated_period, example=f"{what}_1920.csv"
    )[0]


# ---- overall achievement -----------------------------------------------------------------------------

ACHIEVEMENT_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code", none_of=("ccg", "pcn", "icb", "stp", "region", "ons")),
    col("practice_name", "practice name", none_of=("ccg", "pcn", "icb"), required=False),
    col("list_size", "list size", "all ages", "registered patients"),
    col("points", "achievement score", "points achieved", none_of=("percent", "available")),
    col("pct_total", "points total available", "qof points total", none_of=("maximum", "register", "achieved")),
    col(
        "max_available", "maximum qof points available", "points where register exists", none_of=("achieved", "percent")
    ),
    col("pct_available", "points achieved maximum available", "achieved maximum percent", required=False),
    col(
        "ccg_code",
        "ccg code",
        "sub icb code",
        "sub icb loc code",
        "ccg ods code",
        "sub icb loc ods code",
        none_of=("ons", "name", "pcn"),
        required=False,
    ),
    col("ccg_name", "ccg name", "sub icb name", "sub icb loc name", required=False),
    col("pcn_code", "pcn code", "pcn ods code", none_of=("ons", "name"), required=False),
    col("pcn_name", "pcn name", required=False),
    col("stp_code", "stp code", "stp ons code", "icb code", none_of=("sub", "loc", "name"), required=False),
    col("region_code", "region code", none_of=("sub", "local", "ons", "name"), required=False),
)

_NUM = re.compile(r"(?<![\d.])(\d{3,4})(?![\d.])")


def header_max_points(header: str) -> int | None:
    m = _NUM.search(header)
    return int(m.group(1)) if m else None


class QofAchievement:
    """QOF practice overall achievement table (points, % of maximum), any year's header wording."""

    name = "qof_achievement"
    columns = ACHIEVEMENT_COLS  # the columns it reads (detection names those missing)
    description = "QOF practice overall achievement (CSV export of the practice table; header drifts yearly)"
    header_hint = (
        "CCG ODS code (practice parent),PCN ODS code,PCN name,Practice code,Practice name,List size,"
        "Achievement score (559 max),QOF points total/559 available (%)"
    )

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        # signature only (practice code + achievement score): load() then names any other missing column
        _, missing = match(headers, [c for c in ACHIEVEMENT_COLS if c.key in ("practice_code", "points")])
        if missing or not any("achievement score" in norm(h) for h in headers):
            return None
        variant = "pcn" if "pcn_code" in match(headers, ACHIEVEMENT_COLS)[0] else "pre-pcn"
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, variant, f"qof_achievement:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "QOF", detection)
        table = read_text_csv(path)
        res = resolve(table.headers, ACHIEVEMENT_COLS, path)
        year_max = qof_max_points(fy)
        stated = header_max_points(res["points"]) or header_max_points(res["pct_total"])
        if stated is not None and year_max is not None and stated != year_max:
            raise SourceError(
                path,
                v.PERIOD_INCONSISTENT,
                f"header says the maximum is {stated} points but {fy} (from the file name) had {year_max} "
                "(the published maxima are in gpscale.domain.qof)",
                where=f"header {res['points']!r}",
            )
        max_points = float(stated or year_max or 0) or None
        df = frame_of(table, res)
        n = len(df)
        check = start_checks(table, df, path)
        code = v.ods_codes(df["practice_code"], check)
        lst = v.counts(df, "list_size", check, res["list_size"], whole=True)
        pts = v.counts(df, "points", check, res["points"])
        pct_total = v.numbers(df, "pct_total", check, res["pct_total"])
        avail = v.counts(df, "max_available", check, res["max_available"])
        pct_av = v.numbers(df, "pct_available", check, res["pct_available"]) if "pct_available" in res else None
        if max_points is not None:
            v.numerator_le_denominator(
                pts,
                pd.Series(max_points, index=df.index) + 1e-6,
                check,
                f"achievement points above the year's maximum {max_points:g}",
            )
        v.numerator_le_denominator(pts, avail + 1e-6, check, "achievement points above the points available")
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(
            pd.DataFrame({"practice_code": code}), ["practice_code"], path, "practice", keep, lines=check.lines
        )

        mv_total = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": "total",
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "points": pts,
                "max_points": max_points,
                "value": pct_total,
            }
        )
        mv_avail = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": "total_available",
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "points": pts,
                "max_points": avail,
                "value": pct_av if pct_av is not None else None,
            }
        )
        measures = pd.concat([mv_total[keep], mv_avail[keep]], ignore_index=True)
        pop = pd.DataFrame(
            {
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "sex": "all",
                "age_band": "all",
                "patients": lst.round().astype("Int64"),
            }
        )[keep]
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": fy_end(fy),
                "name": text(df["practice_name"]) if "practice_name" in df else None,
                "commissioner": text(df["ccg_code"]) if "ccg_code" in df else None,
                "region": text(df["region_code"]) if "region_code" in df else None,
            }
        )[keep]
        attrs = attribute_rows(
            df,
            code,
            fy,
            keep,
            {
                "pcn_code": "pcn_code",
                "pcn_name": "pcn_name",
                "ccg_code": "commissioner_code",
                "ccg_name": "commissioner_name",
                "stp_code": "stp_code",
                "region_code": "region_code",
            },
        )
        return LoadResult(
            tables={
                "measure_value": measures,
                "practice_population": pop,
                "practice_record": rec,
                "practice_attribute": attrs,
            },
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"{int(keep.sum())} practices; maximum {max_points:g} points" if max_points else "",
        )


def attribute_rows(
    df: pd.DataFrame, code: pd.Series, period: str, keep: object, mapping: dict[str, str], period_type: str = "fy"
) -> pd.DataFrame:
    """Long practice_attribute rows for the columns present (blank values dropped)."""
    parts = []
    for src, attr in mapping.items():
        if src not in df:
            continue
        part = pd.DataFrame(
            {
                "practice_code": code,
                "period": period,
                "period_type": period_type,
                "attribute": attr,
                "value": text(df[src]),
            }
        )[keep]
        parts.append(part[part["value"].notna()])
    if not parts:
        return pd.DataFrame(columns=["practice_code", "period", "period_type", "attribute", "value"])
    return pd.concat(parts, ignore_index=True)


# ---- prevalence --------------------------------------------------------------------------------------

PREVALENCE_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code", "practicecode"),
    col("group", "indicator group code", "group code", "indicator group", none_of=("description",)),
    col("register", "register", "disease register size", none_of=("description", "list", "type")),
    col("list_type", "patient list type", required=False),
    col("list_size", "patient list size", "practice list size", "practice listsize", "list size", none_of=("type",)),
    col("prevalence", "prevalence", required=False),
    col("description", "register description", required=False),
)


def list_type_band(t: str) -> str:
    """PATIENT_LIST_TYPE as an age band: TOTAL → all, 16OV → 16+, 30_74 → 30_74."""
    t = (t or "").strip().upper()
    if t in ("", "TOTAL", "ALL"):
        return "all"
    m = re.fullmatch(r"(\d{1,2})OV", t)
    if m:
        return f"{int(m.group(1))}+"
    return t.lower()


class QofPrevalence:
    """QOF raw PREVALENCE file (register and list size per practice and register group)."""

    name = "qof_prevalence"
    columns = PREVALENCE_COLS  # the columns it reads (detection names those missing)
    description = "QOF raw PREVALENCE file: practice, register group, register, patient list type and size"
    header_hint = "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PATIENT_LIST_SIZE"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or len(headers) > 12:
            return None
        _found, missing = match(headers, [c for c in PREVALENCE_COLS if c.required])
        if missing:
            return None
        variant = "raw" if "list_type" in match(headers, PREVALENCE_COLS)[0] else "prevalencebyprac"
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, variant, f"qof_prevalence:{fy}")

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop the staging tables once the ingest has copied the rows."""
        Staging(con, self.name, ()).drop_tables(PREVALENCE_TABLES)

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        """Stream the file chunk by chunk (national files are 140,000+ rows; memory stays bounded)."""
        fy = require_fy(path, "PREVALENCE", detection)
        reader = CsvReader(path)
        res = resolve(reader.headers, PREVALENCE_COLS, path)
        stage = Staging(con, self.name, PREVALENCE_TABLES, extra={"measure_value": {"_desc": "VARCHAR"}})
        rejects: list[Reject] = []
        n = nulls = 0
        for chunk in reader.chunks():
            df = chunk.frame(res.positions)
            check = v.Checker(path, len(df), offset=chunk.start, lines=chunk.lines)
            flag_wrong_width(chunk, check)
            measures, pop = self._convert(df, res, check, fy)
            keep = check.keep_mask(len(df))
            line = pd.Series(chunk.lines, index=df.index)
            stage.append("measure_value", measures.assign(_line=line)[keep])
            # one list size per practice and list type: keep the first in the chunk (and, below, in the file)
            first = pop.assign(_line=line)[keep].dropna(subset=["patients"])
            stage.append("practice_population", first.drop_duplicates(["practice_code", "age_band"]))
            rejects += check.rejects
            nulls += check.nulls
            n += len(df)
            if len(rejects) > v.MAX_QUARANTINED_ROWS:
                v.check_reject_share(path, n, rejects)
        v.require_rows(n, path)
        v.check_reject_share(path, n, rejects)
        rejects.sort(key=lambda r: (r.row_number or 0, r.rule))
        mv = stage.stage("measure_value")
        # prevalencebyprac: a group may hold two registers (HF and 'HF due to LVD'); the one with the shortest
        # description keeps the plain id, the others get a suffix from their description
        final_mv = f"SELECT * EXCLUDE (_desc) FROM {mv}" if "description" not in res else f"""
            SELECT * EXCLUDE (measure_id, _desc), CASE
                WHEN _desc IS NULL OR row_number() OVER (
                    PARTITION BY practice_code, measure_id ORDER BY length(_desc), {LINE}) = 1 THEN measure_id
                ELSE measure_id || ':' || trim(regexp_replace(lower(_desc), '[^a-z0-9]+', '_', 'g'), '_')
                END AS measure_id
            FROM {mv}"""
        stage.refuse_duplicates(f"({final_mv})", ["practice_code", "measure_id"], path, "practice-register group")
        pop = stage.stage("practice_population")
        counts = con.execute(f"SELECT count(DISTINCT practice_code), count(DISTINCT measure_id) FROM {mv}").fetchall()
        return LoadResult(
            tables={
                "measure_value": stage.relation("measure_value", f"SELECT * EXCLUDE ({LINE}) FROM ({final_mv})"),
                "practice_population": stage.relation(
                    "practice_population",
                    f"""SELECT * EXCLUDE ({LINE}, _first) FROM (
                            SELECT *, row_number() OVER (PARTITION BY practice_code, age_band ORDER BY {LINE}) AS _first
                            FROM {pop}) WHERE _first = 1""",
                ),
            },
            rows_in=n,
            periods=[fy],
            rejects=rejects,
            nulls_suppressed=nulls,
            message=f"{counts[0][0]} practices, {counts[0][1]} register groups",
        )

    @staticmethod
    def _convert(
        df: pd.DataFrame, res: Resolved, check: v.Checker, fy: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One chunk's rows checked and converted: measure_value rows (with the register description, if
        any) and practice_population rows (one per row; the first per practice and list type is kept)."""
        code = v.ods_codes(df["practice_code"], check)
        group = df["group"].fillna("").astype(str).str.strip().str.upper()
        reg = v.counts(df, "register", check, res["register"], whole=True)
        size = v.counts(df, "list_size", check, res["list_size"], whole=True)
        v.numerator_le_denominator(reg, size, check, "register above list size")
        band = map_unique(df["list_type"], list_type_band) if "list_type" in df else pd.Series("all", index=df.index)
        prev = v.numbers(df, "prevalence", check) if "prevalence" in df else None
        desc = df["description"].fillna("").astype(str).str.strip() if "description" in df else None
        measures = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": "prevalence:" + group,
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "numerator": reg,
                "denominator": size,
                "value": prev if prev is not None else None,
                "_desc": desc,
            }
        )
        pop = pd.DataFrame(
            {
                "practice_code": code,
                "age_band": band,
                "patients": size.round().astype("Int64"),
                "period": fy,
                "period_type": "fy",
                "sex": "all",
            }
        )
        return measures, pop


#: The tables a prevalence file loads into (staged while the file streams).
PREVALENCE_TABLES = ("measure_value", "practice_population")


__all__ = ["QofAchievement", "QofPrevalence", "fy_label"]


# ---- domain achievement (long) -------------------------------------------------------------------------

DOMAIN_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("domain", "domain"),
    col("points", "points achieved", "achievement score", "points", none_of=("maximum",)),
    col("max_points", "maximum points", "max points"),
)


def domain_id(name: str) -> str:
    """'Clinical' → clinical, 'Patient experience' → patient_experience (the measure ids indicators use)."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


class QofDomains:
    """QOF domain achievement, long layout: practice, domain, points achieved, maximum points."""

    name = "qof_domains"
    columns = DOMAIN_COLS  # the columns it reads (detection names those missing)
    description = "QOF practice domain achievement (practice, domain, points achieved, maximum points)"
    header_hint = "Practice code,Domain,Points achieved,Maximum points"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or len(headers) > 8 or match(headers, DOMAIN_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, "long", f"qof_domains:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "QOF_DOMAINS", detection)
        _table, res, df, check = read_checked_csv(path, DOMAIN_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        dom = df["domain"].fillna("").astype(str).map(domain_id)
        check.flag(dom == "", v.INVALID_VALUE, "blank domain")
        pts = v.counts(df, "points", check, res["points"])
        mx = v.counts(df, "max_points", check, res["max_points"])
        v.numerator_le_denominator(pts, mx + 1e-6, check, "domain points above the domain maximum")
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code, "d": dom}), ["p", "d"], path, "practice-domain", keep, lines=check.lines)
        mv = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": dom,
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "points": pts,
                "max_points": mx,
                "value": (pts / mx * 100).where(mx > 0),
            }
        )[keep]
        return LoadResult(
            tables={"measure_value": mv},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"domains {sorted(set(mv['measure_id']))}",
        )


# ---- raw ACHIEVEMENT (long: practice, indicator, measure, value) --------------------------------------

RAW_ACH_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("indicator", "indicator code", "indicator"),
    col("measure", "measure"),
    col("value", "value"),
)

#: MEASURE values of the raw ACHIEVEMENT files → measure_value fields.
RAW_MEASURES = {
    "ACHIEVED_POINTS": "points",
    "NUMERATOR": "numerator",
    "DENOMINATOR": "denominator",
    "EXCEPTIONS": "exceptions",
    "PCAS": "exceptions",  # 2019/20 onward: personalised care adjustments replace exceptions
    "REGISTER": "value",
}
#: MEASURE values that count patients (whole numbers); ACHIEVED_POINTS may be fractional.
WHOLE_MEASURES = ("NUMERATOR", "DENOMINATOR", "EXCEPTIONS", "PCAS", "REGISTER")


class QofRawAchievement:
    """QOF raw ACHIEVEMENT file: PRACTICE_CODE, INDICATOR_CODE, MEASURE, VALUE (long)."""

    name = "qof_raw_achievement"
    columns = RAW_ACH_COLS  # the columns it reads (detection names those missing)
    description = "QOF raw ACHIEVEMENT file (practice, indicator, measure, value)"
    header_hint = "PRACTICE_CODE,INDICATOR_CODE,MEASURE,VALUE"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or len(headers) > 6 or match(headers, RAW_ACH_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, "long", f"qof_raw_achievement:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "ACHIEVEMENT", detection)
        _table, res, df, check = read_checked_csv(path, RAW_ACH_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        ind = df["indicator"].fillna("").astype(str).str.strip().str.upper()
        meas = df["measure"].fillna("").astype(str).str.strip().str.upper()
        known = meas.isin(list(RAW_MEASURES))
        check.flag(
            ~known, v.INVALID_VALUE, "measure {0!r} is not one of " + str(sorted(RAW_MEASURES)).replace("{", "{{"), meas
        )
        val = v.counts(df, "value", check, res["value"])
        check.flag(
            meas.isin(WHOLE_MEASURES) & val.notna() & (val != val.round()),
            v.NON_WHOLE_COUNT,
            "{0} = {1!r} is not a whole number",
            meas,
            df["value"],
        )
        check.finish()
        keep = check.keep_mask(n)
        long = pd.DataFrame({"practice_code": code, "indicator": ind, "field": meas.map(RAW_MEASURES), "v": val})[keep]
        v.duplicates(
            long.reset_index(drop=True).assign(m=meas[keep].to_numpy()),
            ["practice_code", "indicator", "m"],
            path,
            "practice-indicator-measure",
            lines=[check.line_of(int(i)) or 0 for i in long.index],
        )
        wide = long.pivot_table(
            index=["practice_code", "indicator"], columns="field", values="v", aggfunc="sum", dropna=False
        ).reset_index()
        for f in ("points", "numerator", "denominator", "exceptions", "value"):
            if f not in wide:
                wide[f] = float("nan")
        over = (wide["numerator"] > wide["denominator"]) & wide["numerator"].notna() & wide["denominator"].notna()
        extra = []
        if over.any():
            # a numerator above its denominator is a row-level fault of the indicator: quarantine its rows
            bad_keys = set(zip(wide.loc[over, "practice_code"], wide.loc[over, "indicator"], strict=True))
            for i, (p, ind_code) in enumerate(zip(code, ind, strict=True)):
                if keep[i] and (p, ind_code) in bad_keys and meas.iloc[i] == "NUMERATOR":
                    extra.append(
                        Reject(i + 1, v.NUMERATOR_ABOVE_DENOMINATOR, f"{p} {ind_code}: numerator above denominator")
                    )
            wide = wide[~over]
        mv = wide.rename(columns={"indicator": "measure_id"}).assign(source="qof", period=fy, period_type="fy")
        mv = mv[
            [
                "source",
                "measure_id",
                "practice_code",
                "period",
                "period_type",
                "numerator",
                "denominator",
                "exceptions",
                "points",
                "value",
            ]
        ]
        return LoadResult(
            tables={"measure_value": mv},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects + extra,
            nulls_suppressed=check.nulls,
            message=f"{mv['practice_code'].nunique()} practices, {mv['measure_id'].nunique()} indicators",
        )


# ---- supporting reference files ------------------------------------------------------------------------

ORGREF_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("max_points", "revised maximum points"),
    col("practice_name", "practice name", required=False),
    col("ccg_code", "ccg code", "sub icb loc code", "sub icb code", none_of=("ons", "geography"), required=False),
    col("ccg_name", "ccg name", "sub icb name", "sub icb loc name", required=False),
    col("stp_code", "stp code", "stp ons code", "icb code", none_of=("sub", "loc"), required=False),
    col("region_code", "region code", none_of=("sub", "local", "ons"), required=False),
)


class QofOrganisationReference:
    """QOF ORGANISATION_REFERENCE: practice → CCG/STP/region and revised maximum points."""

    name = "qof_organisation_reference"
    columns = ORGREF_COLS  # the columns it reads (detection names those missing)
    description = "QOF ORGANISATION_REFERENCE (practice geography and REVISED_MAXIMUM_POINTS)"
    header_hint = "PRACTICE_CODE,PRACTICE_NAME,CCG_CODE,CCG_GEOGRAPHY_CODE,CCG_NAME,...,REVISED_MAXIMUM_POINTS"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, ORGREF_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, f"{len(headers)}-column", f"qof_organisation_reference:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "ORGANISATION_REFERENCE", detection)
        _table, res, df, check = read_checked_csv(path, ORGREF_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        mx = v.counts(df, "max_points", check, res["max_points"])
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        df = df.assign(max_points_txt=mx.map(lambda x: None if pd.isna(x) else f"{x:g}"))
        attrs = attribute_rows(
            df,
            code,
            fy,
            keep,
            {
                "max_points_txt": "qof_revised_maximum_points",
                "ccg_code": "commissioner_code",
                "ccg_name": "commissioner_name",
                "stp_code": "stp_code",
                "region_code": "region_code",
            },
        )
        tables: dict[str, pd.DataFrame] = {"practice_attribute": attrs}
        if any(k in df for k in ("practice_name", "ccg_code", "stp_code", "region_code")):
            tables["practice_record"] = pd.DataFrame(
                {
                    "practice_code": code,
                    "as_of": fy_end(fy),
                    "name": text(df["practice_name"]) if "practice_name" in df else None,
                    "commissioner": text(df["ccg_code"]) if "ccg_code" in df else None,
                    "icb": text(df["stp_code"]) if "stp_code" in df else None,
                    "region": text(df["region_code"]) if "region_code" in df else None,
                }
            )[keep]
        return LoadResult(
            tables=tables,
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"{int(keep.sum())} practices",
        )


GEOG_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("practice_name", "practice name", required=False),
    col("pcn_code", "pcn ods code", "pcn code"),
    col("pcn_name", "pcn name"),
    col("ccg_code", "ccg ods code", "sub icb loc ods code", "sub icb ods code", required=False),
    col("ccg_name", "ccg name", "sub icb loc name", "sub icb name", required=False),
    col("stp_code", "stp ods code", "icb ods code", none_of=("sub",), required=False),
    col("stp_name", "stp name", "icb name", none_of=("sub",), required=False),
    col("region_code", "region ods code", required=False),
    col("nat_code", "nat code", "nat ons code"),
)


class QofGeographies:
    """QOF MAPPING_NHS_GEOGRAPHIES: practice → PCN → CCG/Sub-ICB → STP/ICB → region for the year."""

    name = "qof_geographies"
    columns = GEOG_COLS  # the columns it reads (detection names those missing)
    description = "QOF MAPPING_NHS_GEOGRAPHIES (practice to PCN, CCG/Sub-ICB, STP/ICB, region)"
    header_hint = "NAT_ONS_CODE,NAT_CODE,COUNTRY,REGION_ODS_CODE,...,PCN_ODS_CODE,PCN_NAME,PRACTICE_CODE,PRACTICE_NAME"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, GEOG_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(
            self.name, "sub-icb" if any("icb" in norm(h) for h in headers) else "ccg", f"qof_geographies:{fy}"
        )

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "MAPPING_NHS_GEOGRAPHIES", detection)
        _table, _res, df, check = read_checked_csv(path, GEOG_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": fy_end(fy),
                "name": text(df["practice_name"]) if "practice_name" in df else None,
                "commissioner": text(df["ccg_code"]) if "ccg_code" in df else None,
                "icb": text(df["stp_code"]) if "stp_code" in df else None,
                "region": text(df["region_code"]) if "region_code" in df else None,
            }
        )[keep]
        attrs = attribute_rows(
            df,
            code,
            fy,
            keep,
            {
                "pcn_code": "pcn_code",
                "pcn_name": "pcn_name",
                "ccg_code": "commissioner_code",
                "ccg_name": "commissioner_name",
                "stp_code": "stp_code",
                "stp_name": "stp_name",
                "region_code": "region_code",
            },
        )
        return LoadResult(
            tables={"practice_record": rec, "practice_attribute": attrs},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            message=f"{int(keep.sum())} practices, {df['pcn_code'][keep].nunique()} PCNs",
        )


INDMAP_COLS: tuple[Col, ...] = (
    col("indicator_code", "indicator code"),
    col("point_value", "indicator point value", "point value"),
    col("group_code", "indicator group code", "group code"),
    col("group_description", "indicator group description", "group description", required=False),
    col("domain_code", "domain code"),
    col("domain_description", "domain description", required=False),
    col("patient_list_type", "patient list type", required=False),
    col("description", "indicator description", required=False),
)


class QofIndicatorMappings:
    """QOF INDICATOR_MAPPINGS / MAPPING_INDICATORS: indicator → points, group, domain, list type."""

    name = "qof_indicator_mappings"
    columns = INDMAP_COLS  # the columns it reads (detection names those missing)
    description = "QOF INDICATOR_MAPPINGS / MAPPING_INDICATORS (indicator points, group, domain, list type)"
    header_hint = "INDICATOR_CODE,INDICATOR_POINT_VALUE,GROUP_CODE,GROUP_DESCRIPTION,DOMAIN_CODE,DOMAIN_DESCRIPTION"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, INDMAP_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, f"{len(headers)}-column", f"qof_indicator_mappings:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "MAPPING_INDICATORS", detection)
        _table, res, df, check = read_checked_csv(path, INDMAP_COLS)
        n = len(df)
        pts = v.counts(df, "point_value", check, res["point_value"])
        ind = df["indicator_code"].fillna("").astype(str).str.strip().str.upper()
        check.flag(
            ~ind.str.fullmatch(r"[A-Z][A-Z0-9]{1,7}\d{3}[A-Z]?"),
            v.INVALID_VALUE,
            "indicator code {0!r} is not a QOF indicator code",
            ind,
        )
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"i": ind}), ["i"], path, "indicator", keep, lines=check.lines)
        out = pd.DataFrame(
            {
                "period": fy,
                "period_type": "fy",
                "indicator_code": ind,
                "description": text(df["description"]) if "description" in df else None,
                "point_value": pts,
                "group_code": text(df["group_code"]),
                "group_description": text(df["group_description"]) if "group_description" in df else None,
                "domain_code": text(df["domain_code"]),
                "domain_description": text(df["domain_description"]) if "domain_description" in df else None,
                "patient_list_type": text(df["patient_list_type"]) if "patient_list_type" in df else None,
            }
        )[keep]
        return LoadResult(
            tables={"qof_indicator": out},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            message=f"{len(out)} indicators, {float(out['point_value'].sum()):g} points",
        )


PCA_COLS: tuple[Col, ...] = (
    col("indicator_code", "indicator code"),
    col("name", "pca excl name"),
    col("short_name", "pca excl short name", required=False),
    col("description", "pca excl description", required=False),
    col("type", "type", none_of=("pca", "excl"), required=False),
    col("general_specific", "general specific", required=False),
    col("category", "pca category", none_of=("description",), required=False),
    col("category_description", "pca category description", required=False),
)


class QofPcaMappings:
    """QOF MAPPING_PCAS_EXCL_TO_INDICATOR: personalised care adjustments / exclusions per indicator."""

    name = "qof_pca_mappings"
    columns = PCA_COLS  # the columns it reads (detection names those missing)
    description = "QOF MAPPING_PCAS_EXCL_TO_INDICATOR (PCA/exclusion codes per indicator)"
    header_hint = "INDICATOR_CODE,PCA_EXCL_NAME,PCA_EXCL_SHORT_NAME,PCA_EXCL_DESCRIPTION,TYPE,GENERAL_SPECIFIC"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, PCA_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, "v1", f"qof_pca_mappings:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "MAPPING_PCAS_EXCL_TO_INDICATOR", detection)
        _table, _res, df, check = read_checked_csv(path, PCA_COLS)
        n = len(df)
        check.finish()
        keep = check.keep_mask(n)
        ind = df["indicator_code"].fillna("").astype(str).str.strip().str.upper()
        parts = []
        for key in (
            "name",
            "short_name",
            "description",
            "type",
            "general_specific",
            "category",
            "category_description",
        ):
            if key not in df:
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "entity_code": ind,
                        "attribute": "pca_exclusion:" + df["name"].astype(str).str.strip() + ":" + key,
                        "value": text(df[key]),
                    }
                )[keep]
            )
        out = pd.concat(parts, ignore_index=True).assign(entity_type="qof_indicator", period=fy, period_type="fy")
        return LoadResult(
            tables={"reference_value": out},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            message=f"{ind[keep].nunique()} indicators",
        )


VALIDATION_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("rule", "validation rule"),
    col("description", "rule description", required=False),
)


class QofValidationOutcomes:
    """QOF PRACTICE_VALIDATION_OUTCOMES: practices failing a publication validation rule."""

    name = "qof_validation_outcomes"
    columns = VALIDATION_COLS  # the columns it reads (detection names those missing)
    description = "QOF PRACTICE_VALIDATION_OUTCOMES (practice, validation rule, description)"
    header_hint = "PRACTICE_CODE,VALIDATION_RULE,RULE_DESCRIPTION"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or match(headers, VALIDATION_COLS)[1]:
            return None
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, "v1", f"qof_validation_outcomes:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = require_fy(path, "PRACTICE_VALIDATION_OUTCOMES", detection)
        _table, _res, df, check = read_checked_csv(path, VALIDATION_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        check.finish()
        keep = check.keep_mask(n)
        label = df["rule"].astype(str).str.strip()
        if "description" in df:
            label = label + ": " + df["description"].astype(str).str.strip()
        out = pd.DataFrame(
            {
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "attribute": "qof_validation_outcome",
                "value": label,
            }
        )[keep]
        return LoadResult(
            tables={"practice_attribute": out},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            message=f"{out['practice_code'].nunique()} practices flagged",
        )


# ---- per-domain practice workbooks (2014/15 asthma layout) ------------------------------------------

_IND_CODE = re.compile(r"\b([A-Z]{2,6}\d{3})\b")
_YEAR_LABEL = re.compile(r"^\s*(20\d\d)\s*[-/]\s*(\d\d)\s*$")
_MAX_IN = re.compile(r"max\w*\s*(\d+)", re.IGNORECASE)

WORKBOOK_ID_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("list_size", "list size"),
    col("register", "register"),
)


class QofDomainWorkbook:
    """QOF practice-level clinical-area workbook (e.g. qof-1415-prac-asthma.xlsx, one sheet per area).

    Three header rows: a section row (Prevalence / Achievement / Exceptions), a year-or-indicator row
    ('2013-14', '2014-15', 'AST001', 'Asthma AST002') and the column-name row. → ``measure_value``:
    ``prevalence:<AREA>`` (register / list size) and ``area:<AREA>`` (total achievement score of the
    area) for each year shown, and one row per indicator (points of its maximum, numerator,
    denominator, exceptions) for the workbook's year; ``practice_population`` (QOF list size).
    """

    name = "qof_domain_workbook"
    description = "QOF practice-level clinical area workbook (xlsx; prevalence, achievement, exceptions)"
    header_hint = "Region Code ... Practice Code Practice Name List Size Register Prevalence (per cent) AST001"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "xlsx":
            return None
        for sheet in head.sheets:
            rows = head.sheet_rows.get(sheet, ())
            hr = find_header_row(rows, WORKBOOK_ID_COLS)
            if hr is None or hr < 1:
                continue
            above = " ".join(cell_text(c) for c in rows[hr - 1])
            if _IND_CODE.search(above):
                fy = fy_from_text(head.path.name) or "unknown-year"
                return Detection(self.name, "2014/15-layout", f"qof_domain_workbook:{sheet}:{fy}")
        return None

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        wb = open_workbook(path)
        try:
            sheet = None
            grid: list[list[object]] = []
            for ws in wb.worksheets:
                rows = [list(r) for r in ws.iter_rows(values_only=True)]
                if find_header_row(rows[:40], WORKBOOK_ID_COLS) is not None:
                    sheet, grid = ws.title, rows
                    break
        finally:
            wb.close()
        if sheet is None:
            raise SourceError(path, v.MISSING_COLUMNS, "no sheet with Practice Code / List Size / Register headers")
        hr = find_header_row(grid[:40], WORKBOOK_ID_COLS)
        assert hr is not None
        width = max(len(r) for r in grid[: hr + 1])

        def ffill(row: list[object]) -> list[str]:
            out, last = [], ""
            for c in range(width):
                t = cell_text(row[c] if c < len(row) else None).strip()
                last = t or last
                out.append(last)
            return out

        section = ffill(grid[hr - 2]) if hr >= 2 else [""] * width
        label = ffill(grid[hr - 1])
        names = [norm(cell_text(c)) for c in (grid[hr] + [None] * width)[:width]]
        years = sorted({fy_label(int(m.group(1))) for t in label if (m := _YEAR_LABEL.match(t))})
        # the workbook's own year is the latest its year header row shows; the name must agree with it
        fy = resolve_period(
            path, PeriodType.FINANCIAL_YEAR, "QOF clinical area workbook", content=years[-1:],
            stated=detection.stated_period, example="qof-1415-prac-asthma.xlsx",
        )[0]
        # the clinical area is named by the indicator codes (AST001 → AST), not by the sheet, so a re-issued
        # workbook with a renamed sheet is the same edition
        prefixes = {re.sub(r"\d+$", "", m.group(1)) for t in label if (m := _IND_CODE.search(t))}
        area = prefixes.pop() if len(prefixes) == 1 else sheet.strip().upper()
        body = grid[hr + 1 :]
        data = pd.DataFrame(
            [[cell_text(c) for c in (r + [None] * width)[:width]] for r in body],
            columns=[str(i) for i in range(width)],
            dtype=object,
        )
        data = data[data.apply(lambda r: any(x.strip() for x in r), axis=1)].reset_index(drop=True)
        n = len(data)
        v.require_rows(n, path)
        check = v.Checker(path, n)
        pc_col = next(i for i, h in enumerate(names) if h == "practice code")
        code = v.ods_codes(data[str(pc_col)], check)

        def year_of(c: int) -> str | None:
            m = _YEAR_LABEL.match(label[c])
            return fy_label(int(m.group(1))) if m else None

        parts: list[pd.DataFrame] = []
        pops: list[pd.DataFrame] = []
        for y in years:
            cols = {names[c]: c for c in range(width) if year_of(c) == y}
            sec = {names[c]: section[c] for c in range(width) if year_of(c) == y}
            if "register" in cols and "list size" in cols:
                reg = v.counts(data, str(cols["register"]), check, f"{y} register", whole=True)
                lst = v.counts(data, str(cols["list size"]), check, f"{y} list size", whole=True)
                v.numerator_le_denominator(reg, lst, check, f"{y} register above list size")
                parts.append(
                    pd.DataFrame(
                        {
                            "measure_id": f"prevalence:{area}",
                            "period": y,
                            "numerator": reg,
                            "denominator": lst,
                            "practice_code": code,
                        }
                    )
                )
                pops.append(pd.DataFrame({"practice_code": code, "period": y, "patients": lst}))
            score = next((h for h in cols if h.startswith("total achievement score")), None)
            if score is not None and "achievement" in sec.get(score, "achievement").lower():
                pts = v.counts(data, str(cols[score]), check, f"{y} {score}")
                m = _MAX_IN.search(score)
                mx = float(m.group(1)) if m else float("nan")
                pct = next((h for h in cols if h.startswith("achievement") and "cent" in h), None)
                parts.append(
                    pd.DataFrame(
                        {
                            "measure_id": f"area:{area}",
                            "period": y,
                            "points": pts,
                            "max_points": mx,
                            "value": v.numbers(data, str(cols[pct]), check) if pct else None,
                            "practice_code": code,
                        }
                    )
                )
        # indicator blocks (the workbook's own year)
        blocks: dict[str, dict[str, int]] = {}
        for c in range(width):
            m = _IND_CODE.search(label[c])
            if m and not _YEAR_LABEL.match(label[c]):
                blocks.setdefault(m.group(1), {})[names[c]] = c
        for ind, cols in blocks.items():
            score = next((h for h in cols if h.startswith("achievement score")), None)
            rec: dict[str, object] = {"measure_id": ind, "period": fy, "practice_code": code}
            if score is not None:
                rec["points"] = v.counts(data, str(cols[score]), check, f"{ind} {score}")
                m2 = _MAX_IN.search(score)
                rec["max_points"] = float(m2.group(1)) if m2 else float("nan")
            for field, name in (
                ("numerator", "numerator"),
                ("denominator", "denominator"),
                ("exceptions", "exceptions"),
            ):
                if name in cols:
                    rec[field] = v.counts(data, str(cols[name]), check, f"{ind} {name}", whole=True)
            if "numerator" in rec and "denominator" in rec:
                v.numerator_le_denominator(
                    rec["numerator"],
                    rec["denominator"],
                    check,
                    f"{ind} numerator above denominator",
                )
            und = next((h for h in cols if h.startswith("underlying achievement")), None)
            if und:
                rec["value"] = v.numbers(data, str(cols[und]), check)
            parts.append(pd.DataFrame(rec))
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        mv = pd.concat([p[keep] for p in parts], ignore_index=True).assign(source="qof", period_type="fy")
        pop = pd.concat([p[keep] for p in pops], ignore_index=True) if pops else pd.DataFrame()
        tables: dict[str, pd.DataFrame] = {"measure_value": mv}
        if not pop.empty:
            tables["practice_population"] = pop.assign(
                period_type="fy", sex="all", age_band="all", patients=pop["patients"].round().astype("Int64")
            )
        rejects = [
            Reject(
                hr + 2 + (r.row_number or 1) - 1,
                r.rule,
                f"sheet {sheet!r} row {hr + 2 + (r.row_number or 1) - 1}: {r.detail}",
            )
            for r in check.rejects
        ]
        return LoadResult(
            tables=tables,
            rows_in=n,
            periods=sorted(set(mv["period"])),
            rejects=rejects,
            nulls_suppressed=check.nulls,
            message=f"sheet {sheet!r}: {int(keep.sum())} practices, indicators {sorted(blocks)}",
            publication=f"{self.name}:{area}:{fy}",
        )
