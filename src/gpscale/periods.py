"""Periods: financial years and months, never mixed.

A period is a text label plus an explicit period type. Financial years are labelled ``FY2019/20``
(1 April 2019 to 31 March 2020); months ``2019-09``. Keeping the type explicit means a month is never
compared with a year by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

FY_RE = re.compile(r"^FY(\d{4})/(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodType(StrEnum):
    """The kinds of period a value can belong to."""

    FINANCIAL_YEAR = "fy"
    MONTH = "month"


@dataclass(frozen=True, order=True)
class Period:
    """A labelled period with its first and last day."""

    label: str
    type: PeriodType
    start: date
    end: date


def fy_label(start_year: int) -> str:
    """Label of the financial year starting 1 April ``start_year`` (``FY2019/20``)."""
    return f"FY{start_year}/{(start_year + 1) % 100:02d}"


def fy_of(d: date) -> str:
    """Financial-year label containing date ``d``."""
    return fy_label(d.year if d.month >= 4 else d.year - 1)


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def parse_period(label: str) -> Period:
    """Parse a period label; raises ValueError naming the label when it is neither form."""
    if m := FY_RE.match(label):
        y = int(m.group(1))
        if (y + 1) % 100 != int(m.group(2)):
            raise ValueError(f"financial year label {label!r}: second year must follow the first")
        return Period(label, PeriodType.FINANCIAL_YEAR, date(y, 4, 1), date(y + 1, 3, 31))
    if m := MONTH_RE.match(label):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f"month label {label!r}: month must be 01-12")
        nxt = date(y + (mo == 12), mo % 12 + 1, 1)
        return Period(label, PeriodType.MONTH, date(y, mo, 1), date.fromordinal(nxt.toordinal() - 1))
    raise ValueError(f"period label {label!r} is neither FYyyyy/yy nor yyyy-mm")


def months_of_fy(start_year: int) -> list[str]:
    """The twelve month labels of a financial year, April to March."""
    return [month_label(start_year + (m < 4), m) for m in (*range(4, 13), 1, 2, 3)]


def fy_of_month(label: str) -> str:
    """Financial year containing the month ``yyyy-mm``."""
    return fy_of(parse_period(label).start)
