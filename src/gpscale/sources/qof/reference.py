"""QOF's supporting reference CSVs: organisation reference, NHS geographies, indicator mappings, PCA and
exclusion mappings, practice validation outcomes. None states its year inside: it comes from the file name."""

from __future__ import annotations

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.common import attribute_rows, fy_end, optional_text, text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.headers import Col, Resolved, col, norm
from gpscale.sources.qof.common import qof_year

ORGREF_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("max_points", "revised maximum points"),
    col("practice_name", "practice name", required=False),
    col("ccg_code", "ccg code", "sub icb loc code", "sub icb code", none_of=("ons", "geography"), required=False),
    col("ccg_name", "ccg name", "sub icb name", "sub icb loc name", required=False),
    col("stp_code", "stp code", "stp ons code", "icb code", none_of=("sub", "loc"), required=False),
    col("region_code", "region code", none_of=("sub", "local", "ons"), required=False),
)


def practice_records(rows: Rows, icb: bool = True) -> pd.DataFrame:
    """``practice_record`` rows of the kept rows: name and geography as at the end of the file's year."""
    assert rows.period is not None
    df = rows.df
    rec = {
        "practice_code": rows["practice_code"],
        "as_of": fy_end(rows.period),
        "name": optional_text(df, "practice_name"),
        "commissioner": optional_text(df, "ccg_code"),
        "icb": optional_text(df, "stp_code") if icb else None,
        "region": optional_text(df, "region_code"),
    }
    return pd.DataFrame(rec)[rows.keep]


class QofOrganisationReference(CsvLoader):
    """QOF ORGANISATION_REFERENCE: practice → CCG/STP/region and revised maximum points."""

    name = "qof_organisation_reference"
    columns = ORGREF_COLS
    description = "QOF ORGANISATION_REFERENCE (practice geography and REVISED_MAXIMUM_POINTS)"
    header_hint = "PRACTICE_CODE,PRACTICE_NAME,CCG_CODE,CCG_GEOGRAPHY_CODE,CCG_NAME,...,REVISED_MAXIMUM_POINTS"
    period = qof_year("ORGANISATION_REFERENCE")
    unique = ("practice_code",)

    def variant(self, headers: list[str], found: Resolved) -> str:
        return f"{len(headers)}-column"

    def check(self, rows: Rows) -> None:
        rows.values["practice_code"] = v.ods_codes(rows.df["practice_code"], rows.check)
        rows.values["max_points"] = v.counts(rows.df, "max_points", rows.check, rows.header("max_points"))

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        assert rows.period is not None
        mx = rows["max_points"]
        df = rows.df.assign(max_points_txt=mx.map(lambda x: None if pd.isna(x) else f"{x:g}"))
        attrs = attribute_rows(
            df,
            rows["practice_code"],
            rows.period,
            rows.keep,
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
            tables["practice_record"] = practice_records(rows)
        return tables

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{int(rows.keep.sum())} practices"


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


class QofGeographies(CsvLoader):
    """QOF MAPPING_NHS_GEOGRAPHIES: practice → PCN → CCG/Sub-ICB → STP/ICB → region for the year."""

    name = "qof_geographies"
    columns = GEOG_COLS
    description = "QOF MAPPING_NHS_GEOGRAPHIES (practice to PCN, CCG/Sub-ICB, STP/ICB, region)"
    header_hint = "NAT_ONS_CODE,NAT_CODE,COUNTRY,REGION_ODS_CODE,...,PCN_ODS_CODE,PCN_NAME,PRACTICE_CODE,PRACTICE_NAME"
    period = qof_year("MAPPING_NHS_GEOGRAPHIES")
    unique = ("practice_code",)

    def variant(self, headers: list[str], found: Resolved) -> str:
        return "sub-icb" if any("icb" in norm(h) for h in headers) else "ccg"

    def check(self, rows: Rows) -> None:
        rows.values["practice_code"] = v.ods_codes(rows.df["practice_code"], rows.check)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        assert rows.period is not None
        attrs = attribute_rows(
            rows.df,
            rows["practice_code"],
            rows.period,
            rows.keep,
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
        return {"practice_record": practice_records(rows), "practice_attribute": attrs}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{int(rows.keep.sum())} practices, {rows.df['pcn_code'][rows.keep].nunique()} PCNs"


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


class QofIndicatorMappings(CsvLoader):
    """QOF INDICATOR_MAPPINGS / MAPPING_INDICATORS: indicator → points, group, domain, list type."""

    name = "qof_indicator_mappings"
    columns = INDMAP_COLS
    description = "QOF INDICATOR_MAPPINGS / MAPPING_INDICATORS (indicator points, group, domain, list type)"
    header_hint = "INDICATOR_CODE,INDICATOR_POINT_VALUE,GROUP_CODE,GROUP_DESCRIPTION,DOMAIN_CODE,DOMAIN_DESCRIPTION"
    period = qof_year("MAPPING_INDICATORS")
    unique = ("indicator_code",)
    unique_what = "indicator"

    def variant(self, headers: list[str], found: Resolved) -> str:
        return f"{len(headers)}-column"

    def check(self, rows: Rows) -> None:
        df, check = rows.df, rows.check
        rows.values["point_value"] = v.counts(df, "point_value", check, rows.header("point_value"))
        rows.values["indicator_code"] = ind = df["indicator_code"].fillna("").astype(str).str.strip().str.upper()
        check.flag(
            ~ind.str.fullmatch(r"[A-Z][A-Z0-9]{1,7}\d{3}[A-Z]?"),
            v.INVALID_VALUE,
            "indicator code {0!r} is not a QOF indicator code",
            ind,
        )

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df = rows.df
        out = pd.DataFrame(
            {
                "period": rows.period,
                "period_type": "fy",
                "indicator_code": rows["indicator_code"],
                "description": optional_text(df, "description"),
                "point_value": rows["point_value"],
                "group_code": text(df["group_code"]),
                "group_description": optional_text(df, "group_description"),
                "domain_code": text(df["domain_code"]),
                "domain_description": optional_text(df, "domain_description"),
                "patient_list_type": optional_text(df, "patient_list_type"),
            }
        )[rows.keep]
        return {"qof_indicator": out}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        out = tables["qof_indicator"]
        return f"{len(out)} indicators, {float(out['point_value'].sum()):g} points"


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


class QofPcaMappings(CsvLoader):
    """QOF MAPPING_PCAS_EXCL_TO_INDICATOR: personalised care adjustments / exclusions per indicator."""

    name = "qof_pca_mappings"
    columns = PCA_COLS
    description = "QOF MAPPING_PCAS_EXCL_TO_INDICATOR (PCA/exclusion codes per indicator)"
    header_hint = "INDICATOR_CODE,PCA_EXCL_NAME,PCA_EXCL_SHORT_NAME,PCA_EXCL_DESCRIPTION,TYPE,GENERAL_SPECIFIC"
    period = qof_year("MAPPING_PCAS_EXCL_TO_INDICATOR")

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df, keep = rows.df, rows.keep
        ind = df["indicator_code"].fillna("").astype(str).str.strip().str.upper()
        rows.values["indicator_code"] = ind
        parts = [
            pd.DataFrame(
                {
                    "entity_code": ind,
                    "attribute": "pca_exclusion:" + df["name"].astype(str).str.strip() + ":" + key,
                    "value": text(df[key]),
                }
            )[keep]
            for key in ("name", "short_name", "description", "type", "general_specific", "category",
                        "category_description")
            if key in df
        ]
        out = pd.concat(parts, ignore_index=True).assign(
            entity_type="qof_indicator", period=rows.period, period_type="fy"
        )
        return {"reference_value": out}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{rows['indicator_code'][rows.keep].nunique()} indicators"


VALIDATION_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("rule", "validation rule"),
    col("description", "rule description", required=False),
)


class QofValidationOutcomes(CsvLoader):
    """QOF PRACTICE_VALIDATION_OUTCOMES: practices failing a publication validation rule."""

    name = "qof_validation_outcomes"
    columns = VALIDATION_COLS
    description = "QOF PRACTICE_VALIDATION_OUTCOMES (practice, validation rule, description)"
    header_hint = "PRACTICE_CODE,VALIDATION_RULE,RULE_DESCRIPTION"
    period = qof_year("PRACTICE_VALIDATION_OUTCOMES")

    def check(self, rows: Rows) -> None:
        rows.values["practice_code"] = v.ods_codes(rows.df["practice_code"], rows.check)

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df = rows.df
        label = df["rule"].astype(str).str.strip()
        if "description" in df:
            label = label + ": " + df["description"].astype(str).str.strip()
        out = pd.DataFrame(
            {
                "practice_code": rows["practice_code"],
                "period": rows.period,
                "period_type": "fy",
                "attribute": "qof_validation_outcome",
                "value": label,
            }
        )[rows.keep]
        return {"practice_attribute": out}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{tables['practice_attribute']['practice_code'].nunique()} practices flagged"
