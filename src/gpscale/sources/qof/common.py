"""What the QOF loaders share: the financial year of files that do not state it, and list types."""

from __future__ import annotations

import re

from gpscale.periods import PeriodType
from gpscale.sources.csvloader import NamedPeriod


def qof_year(what: str) -> NamedPeriod:
    """None of the QOF raw files states its year inside the file: it comes from the name (``what_1920.csv``)
    or ``--period``."""
    return NamedPeriod(PeriodType.FINANCIAL_YEAR, what)


def list_type_band(t: str) -> str:
    """PATIENT_LIST_TYPE as an age band: TOTAL → all, 16OV → 16+, 30_74 → 30_74."""
    t = (t or "").strip().upper()
    if t in ("", "TOTAL", "ALL"):
        return "all"
    m = re.fullmatch(r"(\d{1,2})OV", t)
    if m:
        return f"{int(m.group(1))}+"
    return t.lower()
