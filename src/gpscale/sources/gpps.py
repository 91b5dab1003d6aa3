"""GP Patient Survey: practice-level results CSV (pre-2024 layout).

One row per practice: practice and CCG codes and names, ``distributed``, ``received``, ``resprate``, then
per question ``QNbase`` (unweighted base: respondents answering) and ``QN_Kpct`` (weighted % giving answer
K; combined answers such as ``Q28_12pct`` = very or fairly good). Where a weighted base is published
(``QNbase_w``/``QNwbase``/``QN_base_weighted``) the weighted numerator and denominator are kept too.

→ ``measure_value(source='gpps', measure_id='Q28_12', value=%, denominator=unweighted base,
weighted_numerator/weighted_denominator)`` and ``measure_id='response'`` (received of distributed).
The survey year (fieldwork January–March) is mapped to the financial year it ends: GPPS 2019 →
FY2018/19. The year comes from the file name (``GPPS_2019_Practice_data...``) or a ``year`` column.
Suppressed cells (``*``, ``-``) are nulls, counted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gpscale.periods import fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, SourceError
from gpscale.sources.common import read_checked_csv
from gpscale.sources.filehead import head_headers
from gpscale.sources.headers import Col, col, norm
from gpscale.sources.period_policy import inconsistent

if TYPE_CHECKING:
    import duckdb

GPPS_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code", none_of=("ccg", "icb", "pcn")),
    col("practice_name", "practice name", required=False),
    col("ccg_code", "ccg code", "icb code", "sub icb code", required=False),
    col("distributed", "distributed", required=False),
    col("received", "received", required=False),
    col("resprate", "resprate", "response rate", required=False),
)

_PCT = re.compile(r"^q(\d+) (\d+) ?pct$")
_BASE = re.compile(r"^q(\d+) ?base$")
_WBASE = re.compile(r"^q(\d+) ?(?:base ?w(?:eighted)?|w ?base|base weighted)$")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def survey_fy(path: Path, stated: str | None = None) -> str:
    """The financial year a survey file belongs to: from the survey year in its name, or ``--period``."""
    m = _YEAR.search(path.name)
    named = fy_label(int(m.group(1)) - 1) if m else None
    if named is not None and stated is not None and named != stated:
        raise inconsistent(path, "--period", f"--period {stated} disagrees with the file name: the survey of "
                           f"{m.group(1) if m else ''} belongs to {named}")
    fy = named or stated
    if fy is None:
        raise SourceError(
            path,
            v.PERIOD_UNKNOWN,
            "the GP Patient Survey file does not state its survey year; name it as published, "
            "e.g. 'GPPS_2019_Practice_data_(weighted)_(csv)_PUBLIC.csv', or state the financial year the "
            "fieldwork ends in: gpscale ingest --period FY2018/19 FILE",
            where="file name",
        )
    return fy


class GPPS(Loader):
    """GP Patient Survey practice results (weighted % and bases per question)."""

    name = "gpps_practice"
    description = "GP Patient Survey practice-level results CSV (QNbase, QN_Kpct columns)"
    header_hint = "Practice_Code,Practice_Name,CCG_Code,CCG_Name,distributed,received,resprate,Q3base,Q3_12pct"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        normed = [norm(h) for h in headers]
        if not any(_PCT.match(h) for h in normed) or not any(_BASE.match(h) for h in normed):
            return None
        if not any(c.score(h) is not None for c in GPPS_COLS[:1] for h in headers):
            return None
        m = _YEAR.search(head.path.name)
        tag = fy_label(int(m.group(1)) - 1) if m else "unknown-year"
        return Detection(self.name, "pre-2024", f"gpps:{tag}")

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        fy = survey_fy(path, detection.stated_period)
        table, res, df, check = read_checked_csv(path, GPPS_COLS)
        n = len(df)
        code = v.ods_codes(df["practice_code"], check)
        normed = [norm(h) for h in table.headers]
        bases: dict[int, int] = {}
        wbases: dict[int, int] = {}
        pcts: list[tuple[int, str, int]] = []
        for i, h in enumerate(normed):
            if m := _PCT.match(h):
                pcts.append((int(m.group(1)), m.group(2), i))
            elif m := _WBASE.match(h):
                wbases[int(m.group(1))] = i
            elif m := _BASE.match(h):
                bases[int(m.group(1))] = i
        parts: list[pd.DataFrame] = []
        base_vals: dict[int, pd.Series] = {}
        wbase_vals: dict[int, pd.Series] = {}
        raw = table.frame
        for q, i in bases.items():
            base_vals[q] = v.counts(raw, str(i), check, table.headers[i], whole=True)
        for q, i in wbases.items():
            wbase_vals[q] = v.counts(raw, str(i), check, table.headers[i])
        for q, k, i in pcts:
            pct = v.counts(raw, str(i), check, table.headers[i])
            check.flag(
                pct > 100.0 + 1e-9,
                v.NUMERATOR_ABOVE_DENOMINATOR,
                table.headers[i].replace("{", "{{").replace("}", "}}") + " above 100%: {0}",
                raw[str(i)],
            )
            wden = wbase_vals.get(q)
            parts.append(
                pd.DataFrame(
                    {
                        "measure_id": f"Q{q}_{k}",
                        "practice_code": code,
                        "value": pct,
                        "denominator": base_vals.get(q, pd.Series(np.nan, index=raw.index)),
                        "weighted_denominator": wden if wden is not None else np.nan,
                        "weighted_numerator": (pct / 100.0 * wden) if wden is not None else np.nan,
                    }
                )
            )
        if "received" in df and "distributed" in df:
            rec = v.counts(df, "received", check, res["received"], whole=True)
            dist = v.counts(df, "distributed", check, res["distributed"], whole=True)
            v.numerator_le_denominator(rec, dist, check, "questionnaires received above distributed")
            rate = v.numbers(df, "resprate", check) if "resprate" in df else rec / dist * 100
            parts.append(
                pd.DataFrame(
                    {
                        "measure_id": "response",
                        "practice_code": code,
                        "numerator": rec,
                        "denominator": dist,
                        "value": rate,
                    }
                )
            )
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(
            pd.DataFrame({"practice_code": code}), ["practice_code"], path, "practice", keep, lines=check.lines
        )
        if not pcts:
            raise SourceError(path, v.MISSING_COLUMNS, "no question columns (QN_Kpct) found", where="header row")
        measures = pd.concat([p[keep] for p in parts], ignore_index=True)
        measures = measures.assign(source="gpps", period=fy, period_type="fy")
        return LoadResult(
            tables={"measure_value": measures},
            rows_in=n,
            periods=[fy],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
            message=f"{int(keep.sum())} practices, {len(pcts)} answer columns; survey year mapped to {fy}",
        )
