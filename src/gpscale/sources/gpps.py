"""GP Patient Survey: practice-level results CSV, in the real layouts of 2010-2023 and from 2024.

Numbered layout (to 2023): one row per practice: practice and CCG (or ICS) codes and names,
``distributed``, ``received``, ``resprate``, then per question ``QNbase`` (unweighted base: respondents
answering) and ``QN_Kpct`` (weighted share giving answer K; combined answers such as ``Q28_12pct`` = very or
fairly good). Where a weighted base is published (``QNbase_w``/``QNwbase``) the weighted numerator and
denominator are kept too. Redesigned layout (2024 onward): ``ad_practicecode``, ``ad_practicename``,
``ad_icscode``...; per question stem ``<stem>_<K>.pct`` (share giving answer K), ``<stem>.pcteval`` (the
combined positive share) and ``<stem>.counteval`` (its base).

What the real files do, and the loader with them (``../shared/data/README.md``):

* shares are **proportions from 0 to 1** (``Q28_12pct`` = 0.836); a file whose shares are all within 0-1 is
  read as proportions, one with shares above 1 as percentages (older synthetic files). Values are stored
  as percentages either way, so ``value`` means the same whatever the year;
* **any negative value** (``-97`` and the like) marks a suppressed cell: a null, counted, never a zero;
* the practice column is ``Practice_Code`` or ``Practice_code`` (matched case-insensitively);
* the 2010-2011 files have title lines before the header: the header is found within the first lines;
* 2012-2016 were published twice a year; the summer (June/July) publication pools the two waves that end
  in the financial year, one per year. A winter (December/January) publication overlaps it by a wave and
  is refused, so no wave is counted twice;
* question numbers move between years, and the 2024 redesign renamed everything: each year's columns for
  the canonical measures (:mod:`gpscale.sources.gpps_questions`) are also stored under the canonical id
  (``overall_experience``...), and the 2024 break is said in the ingest summary (results are not
  comparable with 2023: never trend across it).

→ ``measure_value(source='gpps', measure_id='Q28_12' | 'overallexp' | 'overallexp_1' | canonical id,
value=%, denominator=base, weighted_numerator/weighted_denominator)`` and ``measure_id='response'``
(received of distributed). The survey year (fieldwork January-March) is mapped to the financial year it
ends: GPPS 2019 → FY2018/19; it comes from the file name or ``--period``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gpscale.periods import fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, SourceError
from gpscale.sources.common import TextTable, read_checked_csv
from gpscale.sources.filehead import head_records
from gpscale.sources.gpps_questions import break_in, codes_for
from gpscale.sources.headers import Col, Resolved, col, norm
from gpscale.sources.period_policy import inconsistent

if TYPE_CHECKING:
    import duckdb

GPPS_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code", "ad practicecode", none_of=("ccg", "icb", "ics", "pcn")),
    col("practice_name", "practice name", "ad practicename", required=False),
    col("ccg_code", "ccg code", "icb code", "sub icb code", "ics code", "ad icscode", required=False),
    col("distributed", "distributed", required=False),
    col("received", "received", required=False),
    col("resprate", "resprate", "response rate", required=False),
)

_PCT = re.compile(r"^q(\d+) (\d+) ?pct$")
_BASE = re.compile(r"^q(\d+) ?base$")
_WBASE = re.compile(r"^q(\d+) ?(?:base ?w(?:eighted)?|w ?base|base weighted)$")
_STEM_PCT = re.compile(r"^([a-z][a-z0-9]*) (\d+) pct$")
_STEM_EVAL = re.compile(r"^([a-z][a-z0-9]*) pcteval$")
_STEM_COUNT = re.compile(r"^([a-z][a-z0-9]*) counteval$")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_WINTER = re.compile(r"(?i)(?<![a-z])(december|january|dec|jan)(?![a-z])")
#: The most title lines seen before a header (7 in the 2010-2011 files), with room to spare.
MAX_PREAMBLE = 12
#: Twice-yearly publication ended with the 2017 survey year (the January 2017 edition was the last winter one).
LAST_TWICE_YEARLY = 2017


def survey_year(path: Path, stated: str | None = None) -> int:
    """The survey (fieldwork) year: from the file name, or from ``--period`` (the FY the fieldwork ends)."""
    m = _YEAR.search(path.name)
    named = int(m.group(1)) if m else None
    stated_year = int(stated[2:6]) + 1 if stated and re.fullmatch(r"FY\d{4}/\d{2}", stated) else None
    if named is not None and stated_year is not None and named != stated_year:
        raise inconsistent(
            path,
            "--period",
            f"--period {stated} disagrees with the file name: the survey of {named} belongs to {fy_label(named - 1)}",
        )
    year = named or stated_year
    if year is None:
        raise SourceError(
            path,
            v.PERIOD_UNKNOWN,
            "the GP Patient Survey file does not state its survey year; name it as published, "
            "e.g. 'GPPS_2019_Practice_data_(weighted)_(csv)_PUBLIC.csv', or state the financial year the "
            "fieldwork ends in: gpscale ingest --period FY2018/19 FILE",
            where="file name",
        )
    return year


def survey_fy(path: Path, stated: str | None = None) -> str:
    """The financial year a survey file belongs to (its fieldwork ends in it)."""
    return fy_label(survey_year(path, stated) - 1)


@dataclass(frozen=True)
class _Layout:
    """Where the header is and which generation of the file it is."""

    preamble: int  # title lines before the header
    redesigned: bool  # the 2024+ stem layout


def _layout(head: FileHead) -> _Layout | None:
    # records as the reader counts them: blank lines are not records
    records = [r for r in head_records(head, 2 * MAX_PREAMBLE + 1) if r and (len(r) > 1 or r[0].strip())]
    for skip, rec in enumerate(records[: MAX_PREAMBLE + 1]):
        headers = [h.replace("\ufeff", "") for h in rec]
        if not any(GPPS_COLS[0].score(h) is not None for h in headers):
            continue
        normed = [norm(h) for h in headers]
        if any(_PCT.match(h) for h in normed) and any(_BASE.match(h) for h in normed):
            return _Layout(skip, redesigned=False)
        if any(_STEM_EVAL.match(h) for h in normed):
            return _Layout(skip, redesigned=True)
        return None  # the practice header row, but no survey columns: not this format
    return None


@dataclass
class _Answer:
    """One published share column and what it is stored as."""

    measure_id: str
    share: int  # column position of the share
    base: int | None  # column position of its (unweighted or evaluative) base
    weighted_base: int | None = None


def _answers(headers: list[str], redesigned: bool) -> list[_Answer]:
    normed = [norm(h) for h in headers]
    out: list[_Answer] = []
    if not redesigned:
        bases = {int(m.group(1)): i for i, h in enumerate(normed) if (m := _BASE.match(h))}
        wbases = {int(m.group(1)): i for i, h in enumerate(normed) if (m := _WBASE.match(h))}
        for i, h in enumerate(normed):
            if m := _PCT.match(h):
                q = int(m.group(1))
                out.append(_Answer(f"Q{q}_{m.group(2)}", i, bases.get(q), wbases.get(q)))
        return out
    counts = {m.group(1): i for i, h in enumerate(normed) if (m := _STEM_COUNT.match(h))}
    for i, h in enumerate(normed):
        if m := _STEM_EVAL.match(h):
            out.append(_Answer(m.group(1), i, counts.get(m.group(1))))
        elif m := _STEM_PCT.match(h):
            out.append(_Answer(f"{m.group(1)}_{m.group(2)}", i, counts.get(m.group(1))))
    return out


def _published(raw: pd.DataFrame, i: int, header: str, check: v.Checker) -> pd.Series:
    """A share or base column: negative codes (-97...) are suppressed cells → null, counted."""
    vals, supp, bad = v.to_number(raw[str(i)])
    negative = vals < 0
    check.nulls += int(supp.sum() + negative.sum())
    label = repr(header).replace("{", "{{").replace("}", "}}")
    check.flag(bad, v.NON_NUMERIC_COUNT, "column " + label + " = {0!r}", raw[str(i)])
    return vals.where(~bad & ~negative)


class GPPS(Loader):
    """GP Patient Survey practice results (weighted shares and bases per question), every real layout."""

    name = "gpps_practice"
    description = "GP Patient Survey practice-level results CSV (QNbase, QN_Kpct columns; 2024+: stem.pcteval)"
    header_hint = "Practice_Code,Practice_Name,CCG_Code,CCG_Name,distributed,received,resprate,Q3base,Q3_12pct"

    def sniff(self, head: FileHead) -> Detection | None:
        layout = _layout(head)
        if layout is None:
            return None
        m = _YEAR.search(head.path.name)
        tag = fy_label(int(m.group(1)) - 1) if m else "unknown-year"
        variant = "2024" if layout.redesigned else ("numbered+preamble" if layout.preamble else "numbered")
        return Detection(self.name, variant, f"gpps:{tag}")

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        year = survey_year(path, detection.stated_period)
        fy = fy_label(year - 1)
        if year <= LAST_TWICE_YEARLY and _WINTER.search(path.name):
            raise SourceError(
                path,
                v.PERIOD_INCONSISTENT,
                f"a winter publication of {year} or earlier pools a wave with the summer publication before "
                "it; gpscale takes the summer (June/July) publication of each year, which pools the two waves "
                "ending in its financial year, so that no wave is counted twice",
                where="file name",
            )
        layout = _layout(head)
        assert layout is not None  # detection found it in this head
        table, res, df, check = read_checked_csv(path, GPPS_COLS, preamble=layout.preamble)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        answers = _answers(table.headers, layout.redesigned)
        if not answers:
            raise SourceError(path, v.MISSING_COLUMNS, "no question columns (QN_Kpct) found", where="header row")
        nulls_before = check.nulls
        shares = {a.share: _published(table.frame, a.share, table.headers[a.share], check) for a in answers}
        scale = _scale(shares)
        parts = [self._answer(a, table, shares, scale, code, check) for a in answers]
        canonical = codes_for(year)
        parts += [
            p.assign(measure_id=canonical[a.measure_id].value)
            for a, p in zip(answers, parts, strict=True)
            if a.measure_id in canonical
        ]
        suppressed = check.nulls - nulls_before
        if "received" in df and "distributed" in df:
            parts.append(_response(df, res, check, code))
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(
            pd.DataFrame({"practice_code": code}), ["practice_code"], path, "practice", keep, lines=check.lines
        )
        measures = pd.concat([p[keep] for p in parts], ignore_index=True)
        measures = measures.assign(source="gpps", period=fy, period_type="fy")
        found = sorted({canonical[a.measure_id].value for a in answers if a.measure_id in canonical})
        text = (
            f"{int(keep.sum())} practices, {len(answers)} answer columns published as "
            f"{'proportions 0-1 (stored as %)' if scale == 100.0 else 'percentages'}; {suppressed} suppressed "
            f"cells (negative codes or markers) are nulls; survey {year} mapped to {fy}; canonical measures: "
            f"{', '.join(found) or 'none'}"
        )
        brk = break_in(year)
        if brk is not None:
            text += f"; DATA BREAK from {brk.period}: {brk.reason}"
        return LoadResult(
            tables={"measure_value": measures},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=text,
        )

    @staticmethod
    def _answer(
        a: _Answer,
        table: TextTable,
        shares: dict[int, pd.Series],
        scale: float,
        code: pd.Series,
        check: v.Checker,
    ) -> pd.DataFrame:
        raw, headers = table.frame, table.headers
        pct = shares[a.share] * scale
        check.flag(
            pct > 100.0 + 1e-9,
            v.NUMERATOR_ABOVE_DENOMINATOR,
            headers[a.share].replace("{", "{{").replace("}", "}}") + " above 100%: {0}",
            raw[str(a.share)],
        )
        nan = pd.Series(np.nan, index=raw.index)
        base = nan if a.base is None else _published(raw, a.base, headers[a.base], check)
        wden = nan if a.weighted_base is None else _published(raw, a.weighted_base, headers[a.weighted_base], check)
        return pd.DataFrame(
            {
                "measure_id": a.measure_id,
                "practice_code": code,
                "value": pct,
                "denominator": base,
                "weighted_denominator": wden,
                "weighted_numerator": pct / 100.0 * wden,
            }
        )


def _scale(shares: dict[int, pd.Series]) -> float:
    """100 when the file publishes proportions (every share within 0-1), else 1 (percentages)."""
    top = max((float(s.max()) for s in shares.values() if s.notna().any()), default=0.0)
    return 100.0 if top <= 1.0 else 1.0


def _response(df: pd.DataFrame, res: Resolved, check: v.Checker, code: pd.Series) -> pd.DataFrame:
    """Questionnaires received of distributed, with the response rate as published."""
    rec = v.counts(df, "received", check, res["received"], whole=True)
    dist = v.counts(df, "distributed", check, res["distributed"], whole=True)
    v.numerator_le_denominator(rec, dist, check, "questionnaires received above distributed")
    rate = v.numbers(df, "resprate", check) if "resprate" in df else rec / dist * 100
    return pd.DataFrame(
        {"measure_id": "response", "practice_code": code, "numerator": rec, "denominator": dist, "value": rate}
    )
