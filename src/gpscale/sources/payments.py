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

import pandas as pd

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.common import attribute_rows, fy_end, optional_text, text
from gpscale.sources.csvloader import CsvLoader, NamedPeriod, Rows
from gpscale.sources.headers import Col, Resolved, col

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


class Payments(CsvLoader):
    """NHS Payments to General Practice, practice-level annual CSV."""

    name = "nhs_payments"
    columns = PAY_COLS
    description = "NHS Payments to General Practice practice-level CSV (2017/18 onward layouts)"
    header_hint = (
        "NHS England (Region) code,NHS England (Region) Name,CCG Code,CCG NAME,PCN Code,PCN Name,Practice Code,"
        "Practice Name,Practice Address,Practice Postcode,Practice Open Date,Practice Close Date,Contract Type"
    )
    # signature: practice code, contract type and dispensing flag; load() names any other missing column
    signature = ("practice_code", "contract_type", "dispensing")
    period = NamedPeriod(PeriodType.FINANCIAL_YEAR, "NHS Payments to General Practice",
                         example="nhspaymentsgp-19-20-prac-csv.csv")
    unique = ("practice_code",)

    def variant(self, headers: list[str], found: Resolved) -> str:
        return "with-pcn" if "pcn_code" in found else "pre-pcn"

    def check(self, rows: Rows) -> None:
        df, check, val = rows.df, rows.check, rows.values
        val["practice_code"] = v.ods_codes(df["practice_code"], check)
        val["registered"] = v.counts(df, "registered", check, rows.header("registered"))
        val["weighted"] = v.counts(df, "weighted", check, rows.header("weighted"))
        val["qof_payments"] = v.numbers(df, "qof_payments", check, rows.header("qof_payments"))
        val["total_payments"] = v.numbers(df, "total_payments", check, rows.header("total_payments"))
        for key, label in (("open_date", "practice open date"), ("close_date", "practice close date")):
            if key in df:
                val[key] = v.parse_dates(df[key], check, label, DATE_FORMATS, excel_serial=True)
        if "open_date" in val and "close_date" in val:
            v.date_order(val["open_date"], val["close_date"], check, "practice open date", "practice close date")

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        assert rows.period is not None
        df, code, keep, fy = rows.df, rows["practice_code"], rows.keep, rows.period
        disp = dispensing_flag(df["dispensing"])
        rec = pd.DataFrame(
            {
                "practice_code": code,
                "as_of": fy_end(fy),
                "name": optional_text(df, "practice_name"),
                "postcode": optional_text(df, "postcode"),
                "open_date": rows.values.get("open_date"),
                "close_date": rows.values.get("close_date"),
                "commissioner": optional_text(df, "ccg_code"),
                "region": optional_text(df, "region_code"),
                "contract_type": text(df["contract_type"]),
                "rurality": text(df["rurality"]),
                "dispensing": disp,
            }
        )[keep]
        nums = pd.DataFrame(
            {
                "registered_patients": rows["registered"].map(_fmt),
                "weighted_patients": rows["weighted"].map(_fmt),
                "total_qof_payments": rows["qof_payments"].map(_fmt),
                "total_nhs_payments": rows["total_payments"].map(_fmt),
                "dispensing_flag": pd.Series(
                    [None if pd.isna(b) else ("true" if b else "false") for b in disp], index=df.index, dtype=object
                ),
            }
        )
        attrs = attribute_rows(pd.concat([df, nums], axis=1), code, fy, keep, ATTRIBUTES)
        return {"practice_record": rec, "practice_attribute": attrs}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        registered = float(rows["registered"][rows.keep].sum())
        return f"{int(rows.keep.sum())} practices; registered patients {registered:,.0f}"


#: Payments columns (and derived numbers) → practice_attribute names.
ATTRIBUTES = {
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
}


def _fmt(x: float) -> str | None:
    if pd.isna(x):
        return None
    return str(int(x)) if float(x).is_integer() else repr(float(x))
