"""QOF practice domain achievement (gpscale's long export of the published domain tables).

NHS Digital publishes points by domain per practice in its practice-level workbooks; gpscale reads a
long CSV of them — ``Practice code, Domain, Points achieved, Maximum points`` — which synthetic England
writes as ``QOF_DOMAINS_YYYY-YY.csv``. Domains load as ``measure_value(source='qof',
measure_id=<domain slug>)`` with points and maximum points, beside ``total`` from the overall table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult, SourceError
from gpscale.sources.common import read_text_csv
from gpscale.sources.headers import norm

if TYPE_CHECKING:
    import duckdb

HEADER = ("practice code", "domain", "points achieved", "maximum points")
_YEAR = re.compile(r"(20\d{2})[-_]?(\d{2})")


class QofDomains:
    """Loader for the QOF domain achievement long table."""

    name = "qof_domains"
    description = "QOF practice domain achievement (points and maximum by domain)"
    header_hint = "Practice code,Domain,Points achieved,Maximum points"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "csv" or not head.text_lines:
            return None
        cells = tuple(norm(c) for c in head.text_lines[0].split(","))
        if cells != HEADER:
            return None
        m = _YEAR.search(head.path.stem)
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            return None  # the year is only in the file name; without it the file cannot be placed
        fy = fy_label(int(m.group(1)))
        return Detection(self.name, "long v1", f"qof_domains:{fy}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        period = detection.publication.split(":", 1)[1]
        table = read_text_csv(path)
        df = table.frame
        df.columns = [norm(h) for h in table.headers]
        check = v.Checker(path, len(df))
        codes = v.ods_codes(df["practice code"], check)
        points = v.counts(df, "points achieved", check)
        maximum = v.counts(df, "maximum points", check)
        over = (points > maximum) & points.notna() & maximum.notna()
        check.flag(over, v.NUMERATOR_ABOVE_DENOMINATOR, "points achieved above the domain maximum")
        domain = df["domain"].fillna("").str.strip().str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True)
        check.flag(domain == "", v.MISSING_COLUMNS, "blank domain")
        keep = check.keep_mask(len(df))
        out = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": domain,
                "practice_code": codes,
                "period": period,
                "period_type": "fy",
                "points": points,
                "max_points": maximum,
            }
        )[keep]
        v.duplicates(out, ["measure_id", "practice_code"], path, "practice-domain")
        check.finish()
        if out.empty:
            raise SourceError(path, v.EMPTY_FILE, "no loadable rows", where="row 1")
        return LoadResult(
            tables={"measure_value": out},
            rows_in=len(df),
            periods=[period],
            rejects=check.rejects,
            nulls_suppressed=check.nulls,
        )
