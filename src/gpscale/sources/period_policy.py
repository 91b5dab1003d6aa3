"""Which period a file holds: from its content, its name, or the user's statement, and never a guess.

The rules every loader follows (``docs/adr/0002-reject-vs-quarantine.md``):

1. **Content first.** Where the file states its period (an ``EXTRACT_DATE``, ``YEAR_MONTH`` or
   ``FINANCIAL_YEAR`` column, a workbook's year header), that is the period.
2. **A name that disagrees is an error.** A period in the file name must be one of the periods the content
   states; ``EPD_201909.csv`` holding October 2019 rows is ``period-inconsistent``, never a silent override.
3. **A stated period is for files that carry none.** ``gpscale ingest --period FY2019/20`` supplies the
   period of a file whose content and name say nothing (``prevalencebyprac.csv``); where the file does say,
   the statement must agree with it.
4. **Otherwise the file is refused** (``period-unknown``), and the message says how to state the period.

:func:`resolve_period` applies them; :func:`parse_stated_period` reads what a user types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from gpscale.periods import PeriodType, fy_label, month_label, parse_period
from gpscale.sources import validate as v
from gpscale.sources.base import SourceError

_FY_LONG = re.compile(r"(?<!\d)(19|20)(\d{2})[-_ /]?(\d{2})(?!\d)")
_FY_SHORT = re.compile(r"(?<!\d)(\d{2})[-_ ]?(\d{2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(19|20)(\d{2})[-_ ]?(0[1-9]|1[0-2])(?!\d)")


def fy_from_text(text: str) -> str | None:
    """Financial year named in text: '2019-20', '201920', '2019_20', '1920', '19-20' → 'FY2019/20'."""
    for m in _FY_LONG.finditer(text):
        y = int(m.group(1) + m.group(2))
        if (y + 1) % 100 == int(m.group(3)):
            return fy_label(y)
    for m in _FY_SHORT.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if (a + 1) % 100 == b and 0 <= a <= 60:
            return fy_label(2000 + a)
    return None


def month_from_text(text: str) -> str | None:
    """Month named in text: '201709', '2017_09', '2017-09' → '2017-09'."""
    for m in _MONTH.finditer(text):
        return month_label(int(m.group(1) + m.group(2)), int(m.group(3)))
    return None


def parse_stated_period(text: str) -> str:
    """A period as a user types it, as a label: 'FY2019/20', '2019/20', '2019-20' → 'FY2019/20';
    '2019-09', '201909' → '2019-09'. Raises ValueError saying what is accepted."""
    t = text.strip()
    for candidate in (t, t.upper()):
        try:
            return parse_period(candidate).label
        except ValueError:
            pass
    m = re.fullmatch(r"(?:FY)?\s*((?:19|20)\d{2})\s*[-/_]\s*(\d{2})", t, re.IGNORECASE)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return fy_label(int(m.group(1)))
    m = re.fullmatch(r"((?:19|20)\d{2})(0[1-9]|1[0-2])", t)
    if m:
        return month_label(int(m.group(1)), int(m.group(2)))
    raise ValueError(
        f"period {text!r} is neither a financial year (FY2019/20, 2019/20, 2019-20) nor a month (2019-09, 201909)"
    )


def name_period(path: Path, kind: PeriodType) -> str | None:
    """The period of ``kind`` named in the file name, if any."""
    return fy_from_text(path.name) if kind == PeriodType.FINANCIAL_YEAR else month_from_text(path.name)


def resolve_period(
    path: Path,
    kind: PeriodType,
    what: str,
    content: Iterable[str] = (),
    stated: str | None = None,
    example: str = "",
) -> list[str]:
    """The period(s) a file holds, by the rules above; raises ``period-inconsistent`` or ``period-unknown``.

    ``content`` is every period the content states (empty where it states none); ``stated`` what the user
    gave with ``--period``; ``what`` names the publication in messages, ``example`` a well-named file.
    """
    held = sorted(set(content))
    named = name_period(path, kind)
    if stated is not None and parse_period(stated).type != kind:
        raise inconsistent(path, "--period", f"--period {stated} is not a {_kind_word(kind)}, which is what a {what} "
                           "file holds")
    if held:
        if named is not None and named not in held:
            raise inconsistent(path, "file name", f"the file name says {named} but the content holds "
                               f"{', '.join(held)}; rename the file or check it")
        if stated is not None and stated not in held:
            raise inconsistent(path, "--period", f"--period {stated} disagrees with the content, which holds "
                               f"{', '.join(held)}")
        return held
    if named is not None and stated is not None and named != stated:
        raise inconsistent(path, "--period", f"--period {stated} disagrees with the file name, which says {named}")
    period = named or stated
    if period is None:
        hint = f"name the file with it (e.g. '{example}') or " if example else ""
        raise SourceError(
            path,
            v.PERIOD_UNKNOWN,
            f"{what} files do not state their {_kind_word(kind)} inside the file and this file's name does not "
            f"either; {hint}state it: gpscale ingest --period "
            f"{'FY2019/20' if kind == PeriodType.FINANCIAL_YEAR else '2019-09'} {path.name} (on its own)",
            where="file name",
        )
    return [period]


def inconsistent(path: Path, where: str, detail: str) -> SourceError:
    """A ``period-inconsistent`` error: two statements of a file's period disagree."""
    return SourceError(path, v.PERIOD_INCONSISTENT, detail, where=where)


def _kind_word(kind: PeriodType) -> str:
    return "financial year" if kind == PeriodType.FINANCIAL_YEAR else "month"
