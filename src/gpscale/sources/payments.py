"""NHS Payments to General Practice, England: the practice-level annual CSV (2017/18 onward).

51–75 columns whose names drift every year (``Number of Registered Patients (Last Known Figure)`` vs
``Average Number of Registered Patients``; footnote digits glued to names: ``PCN Participation3``).
``Practice Open Date`` is an Excel serial day number to 2019/20 and dd/mm/yyyy afterwards.

→ ``practice_record`` (name, postcode, open/close dates, contract type, rurality, dispensing,
commissioner, region; ``as_of`` = 31 March of the year) and ``practice_attribute`` for the financial
year (registered and weighted patients, total QOF payments, total NHS payments, PCN code and name,
practice type, contract type, rurality, dispensing). The year comes from the file name
(``nhspaymentsgp-19-20-prac-csv.csv``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult
from gpscale.sources.common import (
    fy_end,
    head_headers,
    read_checked_csv,
    text,
)
from gpscale.sources.headers import Col, col, match
from gpscale.sources.period_policy import fy_from_text, resolve_period
from gpscale.sources.qof import attribute_rows

if TYPE_CHECKING:
    import duckdb

PAY_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("practice_name", "practice name", required=False),
    col("postcode", "practice postcode", required=False),
    col("open_date", "practice open date", required=False),
    col("close_date", "practice close date", required=False),
    col("contract_type", "contract type"),
    col("dispensing", "dispensing practice"),
    col("practice_type", "practice type", required=False),
    col("rurality", "practice rurality", "rurality"),
    col(
        "registered",
        "number of registered patients",
        "registered patients",
        none_of=("payments", "payment", "weighted"),
    ),
    col("weighted", "number of weighted patients", "weighted patients", none_of=("payments", "payment")),
    col("qof_payments", "total qof payments", "qof payments"),
    col(
        "total_payments",
        "total nhs payments to general practice",
        none_of=("minus", "including", "deductions", "average"),
    ),
    col("pcn_code", "pcn code", required=False),
    col("pcn_name", "pcn name", required=False),
    col("ccg_code", "ccg code", "sub icb code", none_of=("name",), required=False),
    col("ccg_name", "ccg name", "sub icb name", required=False),
    col("region_code", "region code", "region local office code", none_of=("name",), required=False),
)

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d-%m-%Y")


def dispensing_flag(s: pd.Series) -> pd.Series:
    t = s.fillna("").astype(str).str.strip().str.lower()
    return t.map({"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}).astype("boolean")


class Payments:
    """NHS Payments to General Practice, practice-level annual CSV."""

    name = "nhs_payments"
    columns = PAY_COLS  # the columns it reads (detection names those missing)
    description = "NHS Payments to General Practice practice-level CSV (2017/18 onward layouts)"
    header_hint = (
        "NHS England (Region) code,NHS England (Region) Name,CCG Code,CCG NAME,PCN Code,PCN Name,Practice Code,"
        "Practice Name,Practice Address,Practice Postcode,Practice Open Date,Practice Close Date,Contract Type"
    )

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        # signature: practice code, contract type and dispensing flag; load() names any other missing column
        found, missing = match(
            headers, [c for c in PAY_COLS if c.key in ("practice_code", "contract_type", "dispensing")]
        )
        if missing:
            return None
        found, _ = match(headers, PAY_COLS)
        variant = "with-pcn" if "pcn_code" in found else "pre-pcn"
        fy = fy_from_text(head.path.name) or "unknown-year"
        return Detection(self.name, variant, f"nhs_payments:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        fy = resolve_period(
            path,
            PeriodType.FINANCIAL_YEAR,
            "NHS Payments to General Practice",
            stated=detection.stated_period,
            example="nhspaymentsgp-19-20-prac-csv.csv",
        )[0]
        _table, res, df, check = read_checked_csv(path, PAY_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        reg = v.counts(df, "registered", check, res["registered"])
        wtd = v.counts(df, "weighted", check, res["weighted"])
        qofp = v.numbers(df, "qof_payments", check, res["qof_payments"])
        tot = v.numbers(df, "total_payments", check, res["total_payments"])
        open_d = (
            v.parse_dates(df["open_date"], check, "practice open date", DATE_FORMATS, excel_serial=True)
            if "open_date" in df
            else None
        )
        close_d = (
            v.parse_dates(df["close_date"], check, "practice close date", DATE_FORMATS, excel_serial=True)
            if "close_date" in df
            else None
        )
        if open_d is not None and close_d is not None:
            v.date_order(open_d, close_d, check, "practice open date", "practice close date")
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        disp = dispensing_flag(df["dispensing"])
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": fy_end(fy),
                "name": text(df["practice_name"]) if "practice_name" in df else None,
                "postcode": text(df["postcode"]) if "postcode" in df else None,
                "open_date": open_d,
                "close_date": close_d,
                "commissioner": text(df["ccg_code"]) if "ccg_code" in df else None,
                "region": text(df["region_code"]) if "region_code" in df else None,
                "contract_type": text(df["contract_type"]),
                "rurality": text(df["rurality"]),
                "dispensing": disp,
            }
        )[keep]
        nums = pd.DataFrame(
            {
                "registered_patients": reg.map(_fmt),
                "weighted_patients": wtd.map(_fmt),
                "total_qof_payments": qofp.map(_fmt),
                "total_nhs_payments": tot.map(_fmt),
                "dispensing_flag": pd.Series(
                    [None if pd.isna(b) else ("true" if b else "false") for b in disp], index=df.index, dtype=object
                ),
            }
        )
        both = pd.concat([df, nums], axis=1)
        attrs = attribute_rows(
            both,
            code,
            fy,
            keep,
            {
                "registered_patients": "registered_patients",
                "weighted_patients": "weighted_patients",
                "total_qof_payments": "total_qof_payments",
                "total_nhs_payments": "total_nhs_payments",
                "pcn_code": "pcn_code",
                "pcn_name": "pcn_name",
                "practice_type": "practice_type",
                "contract_type": "contract_type",
                "rurality": "rurality",
                "dispensing_flag": "dispensing",
                "ccg_code": "commissioner_code",
                "ccg_name": "commissioner_name",
            },
        )
        return LoadResult(
            tables={"practice_record": rec, "practice_attribute": attrs},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"{int(keep.sum())} practices; registered patients {float(reg[keep].sum()):,.0f}",
        )


def _fmt(x: float) -> str | None:
    if pd.isna(x):
        return None
    return str(int(x)) if float(x).is_integer() else repr(float(x))
