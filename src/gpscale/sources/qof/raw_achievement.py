"""QOF raw ``ACHIEVEMENT`` files (long: practice, indicator, measure, value).

→ ``measure_value``, one row per practice and indicator with its achieved points, numerator, denominator,
exceptions (PCAs from 2019/20) and register.
"""

from __future__ import annotations

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import Reject
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.headers import Col, col
from gpscale.sources.qof.common import qof_year

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

#: The measure_value fields a practice-indicator row fills, in the order they are written.
MEASURE_FIELDS = ("numerator", "denominator", "exceptions", "points", "value")


class QofRawAchievement(CsvLoader):
    """QOF raw ACHIEVEMENT file: PRACTICE_CODE, INDICATOR_CODE, MEASURE, VALUE (long)."""

    name = "qof_raw_achievement"
    columns = RAW_ACH_COLS
    description = "QOF raw ACHIEVEMENT file (practice, indicator, measure, value)"
    header_hint = "PRACTICE_CODE,INDICATOR_CODE,MEASURE,VALUE"
    max_columns = 6
    default_variant = "long"
    period = qof_year("ACHIEVEMENT")

    def check(self, rows: Rows) -> None:
        df, check, val = rows.df, rows.check, rows.values
        val["practice_code"] = v.ods_codes(df["practice_code"], check)
        val["indicator"] = df["indicator"].fillna("").astype(str).str.strip().str.upper()
        val["measure"] = meas = df["measure"].fillna("").astype(str).str.strip().str.upper()
        known = meas.isin(list(RAW_MEASURES))
        check.flag(
            ~known, v.INVALID_VALUE, "measure {0!r} is not one of " + str(sorted(RAW_MEASURES)).replace("{", "{{"), meas
        )
        val["value"] = vals = v.counts(df, "value", check, rows.header("value"))
        check.flag(
            meas.isin(WHOLE_MEASURES) & vals.notna() & (vals != vals.round()),
            v.NON_WHOLE_COUNT,
            "{0} = {1!r} is not a whole number",
            meas,
            df["value"],
        )

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        keep, code, ind, meas = rows.keep, rows["practice_code"], rows["indicator"], rows["measure"]
        long = pd.DataFrame(
            {"practice_code": code, "indicator": ind, "field": meas.map(RAW_MEASURES), "v": rows["value"]}
        )[keep]
        v.duplicates(
            long.reset_index(drop=True).assign(m=meas[keep].to_numpy()),
            ["practice_code", "indicator", "m"],
            rows.path,
            "practice-indicator-measure",
            lines=[rows.check.line_of(int(i)) or 0 for i in long.index],
        )
        wide = long.pivot_table(
            index=["practice_code", "indicator"], columns="field", values="v", aggfunc="sum", dropna=False
        ).reset_index()
        for f in MEASURE_FIELDS:
            if f not in wide:
                wide[f] = float("nan")
        over = (wide["numerator"] > wide["denominator"]) & wide["numerator"].notna() & wide["denominator"].notna()
        if over.any():
            # a numerator above its denominator is a row-level fault of the indicator: quarantine its rows
            bad_keys = set(zip(wide.loc[over, "practice_code"], wide.loc[over, "indicator"], strict=True))
            for i, (p, ind_code) in enumerate(zip(code, ind, strict=True)):
                if keep[i] and (p, ind_code) in bad_keys and meas.iloc[i] == "NUMERATOR":
                    rows.extra_rejects.append(
                        Reject(i + 1, v.NUMERATOR_ABOVE_DENOMINATOR, f"{p} {ind_code}: numerator above denominator")
                    )
            wide = wide[~over]
        mv = wide.rename(columns={"indicator": "measure_id"}).assign(source="qof", period=rows.period, period_type="fy")
        columns = ["source", "measure_id", "practice_code", "period", "period_type", *MEASURE_FIELDS]
        return {"measure_value": mv[columns]}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        mv = tables["measure_value"]
        return f"{mv['practice_code'].nunique()} practices, {mv['measure_id'].nunique()} indicators"
