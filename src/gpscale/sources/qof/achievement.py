"""QOF practice overall achievement table (CSV export of the published workbook).

List size, achievement score, % of the year's maximum, % of points available. The header wording changes
every year (``All ages``/``List size``; ``Achievement score (max. 559)``/``(559 max)``), geography columns
change (region/STP/CCG to 2018/19, CCG→PCN from 2019/20, Sub-ICB→PCN from 2021/22). → ``measure_value``
(``total``: points of the year's maximum; ``total_available``: points of the maximum available where
registers exist), ``practice_population`` (list size), ``practice_record`` and ``practice_attribute`` (PCN,
CCG/Sub-ICB). The year comes from the file name (``QOF_2019-20.csv``) and is checked against the maximum
points stated in the header.
"""

from __future__ import annotations

import re

import pandas as pd

from gpscale.domain.qof import qof_max_points
from gpscale.sources import validate as v
from gpscale.sources.base import FileHead, SourceError
from gpscale.sources.common import attribute_rows, fy_end, optional_text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.headers import Col, Resolved, col, norm
from gpscale.sources.qof.common import qof_year

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

#: The achievement table's columns → practice_attribute names.
ATTRIBUTES = {
    "pcn_code": "pcn_code",
    "pcn_name": "pcn_name",
    "ccg_code": "commissioner_code",
    "ccg_name": "commissioner_name",
    "stp_code": "stp_code",
    "region_code": "region_code",
}


def header_max_points(header: str) -> int | None:
    m = _NUM.search(header)
    return int(m.group(1)) if m else None


class QofAchievement(CsvLoader):
    """QOF practice overall achievement table (points, % of maximum), any year's header wording."""

    name = "qof_achievement"
    columns = ACHIEVEMENT_COLS
    description = "QOF practice overall achievement (CSV export of the practice table; header drifts yearly)"
    header_hint = (
        "CCG ODS code (practice parent),PCN ODS code,PCN name,Practice code,Practice name,List size,"
        "Achievement score (559 max),QOF points total/559 available (%)"
    )
    # signature only (practice code + achievement score): load() then names any other missing column
    signature = ("practice_code", "points")
    period = qof_year("QOF")
    unique = ("practice_code",)

    def recognise(self, headers: list[str], head: FileHead) -> bool:
        return any("achievement score" in norm(h) for h in headers)

    def variant(self, headers: list[str], found: Resolved) -> str:
        return "pcn" if "pcn_code" in found else "pre-pcn"

    def check(self, rows: Rows) -> None:
        assert rows.period is not None
        fy, res, df, check = rows.period, rows.res, rows.df, rows.check
        year_max = qof_max_points(fy)
        stated = header_max_points(res["points"]) or header_max_points(res["pct_total"])
        if stated is not None and year_max is not None and stated != year_max:
            raise SourceError(
                rows.path,
                v.PERIOD_INCONSISTENT,
                f"header says the maximum is {stated} points but {fy} (from the file name) had {year_max} "
                "(the published maxima are in gpscale.domain.qof)",
                where=f"header {res['points']!r}",
            )
        max_points = float(stated or year_max or 0) or None
        val = rows.values
        val["practice_code"] = v.ods_codes(df["practice_code"], check)
        val["list_size"] = v.counts(df, "list_size", check, res["list_size"], whole=True)
        val["points"] = pts = v.counts(df, "points", check, res["points"])
        val["pct_total"] = v.numbers(df, "pct_total", check, res["pct_total"])
        val["max_available"] = avail = v.counts(df, "max_available", check, res["max_available"])
        if "pct_available" in res:
            val["pct_available"] = v.numbers(df, "pct_available", check, res["pct_available"])
        if max_points is not None:
            v.numerator_le_denominator(
                pts,
                pd.Series(max_points, index=df.index) + 1e-6,
                check,
                f"achievement points above the year's maximum {max_points:g}",
            )
        v.numerator_le_denominator(pts, avail + 1e-6, check, "achievement points above the points available")
        rows.facts["max_points"] = max_points

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        fy, df, keep, code = rows.period, rows.df, rows.keep, rows["practice_code"]
        common = {"source": "qof", "practice_code": code, "period": fy, "period_type": "fy", "points": rows["points"]}
        mv_total = pd.DataFrame(
            {**common, "measure_id": "total", "max_points": rows.facts["max_points"], "value": rows["pct_total"]}
        )
        mv_avail = pd.DataFrame(
            {
                **common,
                "measure_id": "total_available",
                "max_points": rows["max_available"],
                "value": rows.values.get("pct_available"),
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
                "patients": rows["list_size"].round().astype("Int64"),
            }
        )[keep]
        assert fy is not None
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": fy_end(fy),
                "name": optional_text(df, "practice_name"),
                "commissioner": optional_text(df, "ccg_code"),
                "region": optional_text(df, "region_code"),
            }
        )[keep]
        return {
            "measure_value": measures,
            "practice_population": pop,
            "practice_record": rec,
            "practice_attribute": attribute_rows(df, code, fy, keep, ATTRIBUTES),
        }

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        mx = rows.facts["max_points"]
        return f"{int(rows.keep.sum())} practices; maximum {mx:g} points" if mx else ""
