"""QOF domain achievement: the long practice-domain layout, and the older per-domain practice workbooks.

* :class:`QofDomains` — practice, domain, points achieved, maximum points (the layout synthetic England
  writes). → ``measure_value`` (one measure per domain: ``clinical``, ``patient_experience``...).
* :class:`QofDomainWorkbook` — the per-clinical-area practice workbooks (e.g. 2014/15 asthma).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType, fy_label
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, Reject, SourceError
from gpscale.sources.common import cell_text, find_header_row, open_workbook
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.headers import Col, col, norm
from gpscale.sources.period_policy import resolve_period
from gpscale.sources.qof.common import qof_year

if TYPE_CHECKING:
    import duckdb

DOMAIN_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("domain", "domain"),
    col("points", "points achieved", "achievement score", "points", none_of=("maximum",)),
    col("max_points", "maximum points", "max points"),
)


def domain_id(name: str) -> str:
    """'Clinical' → clinical, 'Patient experience' → patient_experience (the measure ids indicators use)."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


class QofDomains(CsvLoader):
    """QOF domain achievement, long layout: practice, domain, points achieved, maximum points."""

    name = "qof_domains"
    columns = DOMAIN_COLS
    description = "QOF practice domain achievement (practice, domain, points achieved, maximum points)"
    header_hint = "Practice code,Domain,Points achieved,Maximum points"
    max_columns = 8
    default_variant = "long"
    period = qof_year("QOF_DOMAINS")
    unique = ("practice_code", "domain")
    unique_what = "practice-domain"

    def check(self, rows: Rows) -> None:
        df, check, res, val = rows.df, rows.check, rows.res, rows.values
        val["practice_code"] = v.ods_codes(df["practice_code"], check)
        val["domain"] = dom = df["domain"].fillna("").astype(str).map(domain_id)
        check.flag(dom == "", v.INVALID_VALUE, "blank domain")
        val["points"] = pts = v.counts(df, "points", check, res["points"])
        val["max_points"] = mx = v.counts(df, "max_points", check, res["max_points"])
        v.numerator_le_denominator(pts, mx + 1e-6, check, "domain points above the domain maximum")

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        pts, mx = rows["points"], rows["max_points"]
        mv = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": rows["domain"],
                "practice_code": rows["practice_code"],
                "period": rows.period,
                "period_type": "fy",
                "points": pts,
                "max_points": mx,
                "value": (pts / mx * 100).where(mx > 0),
            }
        )[rows.keep]
        return {"measure_value": mv}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"domains {sorted(set(tables['measure_value']['measure_id']))}"


# ---- per-domain practice workbooks (2014/15 asthma layout) ------------------------------------------

_IND_CODE = re.compile(r"\b([A-Z]{2,6}\d{3})\b")
_YEAR_LABEL = re.compile(r"^\s*(20\d\d)\s*[-/]\s*(\d\d)\s*$")
_MAX_IN = re.compile(r"max\w*\s*(\d+)", re.IGNORECASE)

WORKBOOK_ID_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code"),
    col("list_size", "list size"),
    col("register", "register"),
)


class QofDomainWorkbook(Loader):
    """QOF practice-level clinical-area workbook (e.g. qof-1415-prac-asthma.xlsx, one sheet per area).

    Three header rows: a section row (Prevalence / Achievement / Exceptions), a year-or-indicator row
    ('2013-14', '2014-15', 'AST001', 'Asthma AST002') and the column-name row. → ``measure_value``:
    ``prevalence:<AREA>`` (register / list size) and ``area:<AREA>`` (total achievement score of the
    area) for each year shown, and one row per indicator (points of its maximum, numerator,
    denominator, exceptions) for the workbook's year; ``practice_population`` (QOF list size).
    """

    name = "qof_domain_workbook"
    description = "QOF practice-level clinical area workbook (xlsx; prevalence, achievement, exceptions)"
    header_hint = "Region Code ... Practice Code Practice Name List Size Register Prevalence (per cent) AST001"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "xlsx":
            return None
        for sheet in head.sheets:
            rows = head.sheet_rows.get(sheet, ())
            hr = find_header_row(rows, WORKBOOK_ID_COLS)
            if hr is None or hr < 1:
                continue
            above = " ".join(cell_text(c) for c in rows[hr - 1])
            if _IND_CODE.search(above):
                fy = qof_year("QOF clinical area workbook").tag(head.path)
                return Detection(self.name, "2014/15-layout", f"qof_domain_workbook:{sheet}:{fy}")
        return None

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        wb = open_workbook(path)
        try:
            sheet = None
            grid: list[list[object]] = []
            for ws in wb.worksheets:
                rows = [list(r) for r in ws.iter_rows(values_only=True)]
                if find_header_row(rows[:40], WORKBOOK_ID_COLS) is not None:
                    sheet, grid = ws.title, rows
                    break
        finally:
            wb.close()
        if sheet is None:
            raise SourceError(path, v.MISSING_COLUMNS, "no sheet with Practice Code / List Size / Register headers")
        hr = find_header_row(grid[:40], WORKBOOK_ID_COLS)
        assert hr is not None
        width = max(len(r) for r in grid[: hr + 1])

        def ffill(row: list[object]) -> list[str]:
            out, last = [], ""
            for c in range(width):
                t = cell_text(row[c] if c < len(row) else None).strip()
                last = t or last
                out.append(last)
            return out

        section = ffill(grid[hr - 2]) if hr >= 2 else [""] * width
        label = ffill(grid[hr - 1])
        names = [norm(cell_text(c)) for c in (grid[hr] + [None] * width)[:width]]
        years = sorted({fy_label(int(m.group(1))) for t in label if (m := _YEAR_LABEL.match(t))})
        # the workbook's own year is the latest its year header row shows; the name must agree with it
        fy = resolve_period(
            path, PeriodType.FINANCIAL_YEAR, "QOF clinical area workbook", content=years[-1:],
            stated=detection.stated_period, example="qof-1415-prac-asthma.xlsx",
        )[0]
        # the clinical area is named by the indicator codes (AST001 → AST), not by the sheet, so a re-issued
        # workbook with a renamed sheet is the same edition
        prefixes = {re.sub(r"\d+$", "", m.group(1)) for t in label if (m := _IND_CODE.search(t))}
        area = prefixes.pop() if len(prefixes) == 1 else sheet.strip().upper()
        body = grid[hr + 1 :]
        data = pd.DataFrame(
            [[cell_text(c) for c in (r + [None] * width)[:width]] for r in body],
            columns=[str(i) for i in range(width)],
            dtype=object,
        )
        data = data[data.apply(lambda r: any(x.strip() for x in r), axis=1)].reset_index(drop=True)
        n = len(data)
        v.require_rows(n, path)
        check = v.Checker(path, n)
        pc_col = next(i for i, h in enumerate(names) if h == "practice code")
        code = v.ods_codes(data[str(pc_col)], check)

        def year_of(c: int) -> str | None:
            m = _YEAR_LABEL.match(label[c])
            return fy_label(int(m.group(1))) if m else None

        parts: list[pd.DataFrame] = []
        pops: list[pd.DataFrame] = []
        for y in years:
            cols = {names[c]: c for c in range(width) if year_of(c) == y}
            sec = {names[c]: section[c] for c in range(width) if year_of(c) == y}
            if "register" in cols and "list size" in cols:
                reg = v.counts(data, str(cols["register"]), check, f"{y} register", whole=True)
                lst = v.counts(data, str(cols["list size"]), check, f"{y} list size", whole=True)
                v.numerator_le_denominator(reg, lst, check, f"{y} register above list size")
                parts.append(
                    pd.DataFrame(
                        {
                            "measure_id": f"prevalence:{area}",
                            "period": y,
                            "numerator": reg,
                            "denominator": lst,
                            "practice_code": code,
                        }
                    )
                )
                pops.append(pd.DataFrame({"practice_code": code, "period": y, "patients": lst}))
            score = next((h for h in cols if h.startswith("total achievement score")), None)
            if score is not None and "achievement" in sec.get(score, "achievement").lower():
                pts = v.counts(data, str(cols[score]), check, f"{y} {score}")
                m = _MAX_IN.search(score)
                mx = float(m.group(1)) if m else float("nan")
                pct = next((h for h in cols if h.startswith("achievement") and "cent" in h), None)
                parts.append(
                    pd.DataFrame(
                        {
                            "measure_id": f"area:{area}",
                            "period": y,
                            "points": pts,
                            "max_points": mx,
                            "value": v.numbers(data, str(cols[pct]), check) if pct else None,
                            "practice_code": code,
                        }
                    )
                )
        # indicator blocks (the workbook's own year)
        blocks: dict[str, dict[str, int]] = {}
        for c in range(width):
            m = _IND_CODE.search(label[c])
            if m and not _YEAR_LABEL.match(label[c]):
                blocks.setdefault(m.group(1), {})[names[c]] = c
        for ind, cols in blocks.items():
            score = next((h for h in cols if h.startswith("achievement score")), None)
            rec: dict[str, object] = {"measure_id": ind, "period": fy, "practice_code": code}
            if score is not None:
                rec["points"] = v.counts(data, str(cols[score]), check, f"{ind} {score}")
                m2 = _MAX_IN.search(score)
                rec["max_points"] = float(m2.group(1)) if m2 else float("nan")
            for field, name in (
                ("numerator", "numerator"),
                ("denominator", "denominator"),
                ("exceptions", "exceptions"),
            ):
                if name in cols:
                    rec[field] = v.counts(data, str(cols[name]), check, f"{ind} {name}", whole=True)
            if "numerator" in rec and "denominator" in rec:
                v.numerator_le_denominator(
                    rec["numerator"],
                    rec["denominator"],
                    check,
                    f"{ind} numerator above denominator",
                )
            und = next((h for h in cols if h.startswith("underlying achievement")), None)
            if und:
                rec["value"] = v.numbers(data, str(cols[und]), check)
            parts.append(pd.DataFrame(rec))
        check.finish()
        keep = check.keep_mask(n)
        v.duplicates(pd.DataFrame({"p": code}), ["p"], path, "practice", keep, lines=check.lines)
        mv = pd.concat([p[keep] for p in parts], ignore_index=True).assign(source="qof", period_type="fy")
        pop = pd.concat([p[keep] for p in pops], ignore_index=True) if pops else pd.DataFrame()
        tables: dict[str, pd.DataFrame] = {"measure_value": mv}
        if not pop.empty:
            tables["practice_population"] = pop.assign(
                period_type="fy", sex="all", age_band="all", patients=pop["patients"].round().astype("Int64")
            )
        rejects = [
            Reject(
                hr + 2 + (r.row_number or 1) - 1,
                r.rule,
                f"sheet {sheet!r} row {hr + 2 + (r.row_number or 1) - 1}: {r.detail}",
            )
            for r in check.rejects
        ]
        return LoadResult(
            tables=tables,
            rows_in=n,
            periods=sorted(set(mv["period"])),
            rejects=rejects,
            nulls_suppressed=check.nulls,
            message=f"sheet {sheet!r}: {int(keep.sum())} practices, indicators {sorted(blocks)}",
            publication=f"{self.name}:{area}:{fy}",
        )
