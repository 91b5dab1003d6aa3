"""ODS organisation files: the GP practice register (epraccur) and the PCN workbook (ePCN).

* ``epraccur.csv``: headerless, 27 positional columns (ODS epraccur specification). Every row is a
  prescribing cost centre (GP practices have prescribing setting 4). → ``practice_record``.
* ``ePCN.xlsx``: a PCN details sheet (``PCN Details`` / ``PCNDetails``) and ``PCN Core Partner
  Details`` (practice ↔ PCN relationships with start and end dates; since 2022 ended relationships are
  kept). → ``group_record`` (kind ``pcn``) and ``membership``. Header cells carry embedded line breaks
  and change wording; the header row is found by meaning.

Neither file states its snapshot date: ``as_of`` is the date in the file name (``epraccur_2018-08``,
``ePCN_2022-02-16``) or, failing that, the latest date found in the file.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, Reject
from gpscale.sources.common import SheetTable, find_header_row, frame_of, open_workbook, read_sheet, text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.filehead import head_records
from gpscale.sources.headers import col, match, resolve

if TYPE_CHECKING:
    import duckdb

EPRACCUR_COLUMNS = (
    "organisation_code",
    "name",
    "national_grouping",
    "high_level_health_geography",
    "address_1",
    "address_2",
    "address_3",
    "address_4",
    "address_5",
    "postcode",
    "open_date",
    "close_date",
    "status_code",
    "organisation_sub_type_code",
    "commissioner",
    "join_provider_date",
    "left_provider_date",
    "contact_telephone_number",
    "null_1",
    "null_2",
    "null_3",
    "amended_record_indicator",
    "null_4",
    "provider_purchaser",
    "null_5",
    "prescribing_setting",
    "null_6",
)

STATUS = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}

_DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])(?:[-_]?([0-3]\d))?(?!\d)")


def date_from_name(name: str) -> date | None:
    m = _DATE_IN_NAME.search(name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return None


class Epraccur(CsvLoader):
    """ODS epraccur: the GP practice (prescribing cost centre) register, headerless, 27 columns."""

    name = "ods_epraccur"
    description = "ODS GP practice register epraccur.csv (headerless, 27 columns)"
    header_hint = '"A81001","THE DENSHAM SURGERY","Y54","Q74","THE HEALTH CENTRE",...,"20130401","","4",""'
    positional = EPRACCUR_COLUMNS
    default_variant = "27-column"
    unique = ("organisation_code",)
    unique_what = "organisation code"

    def sniff(self, head: FileHead) -> Detection | None:
        # the first record of the usual 27 fields decides (a misshapen first line is quarantined by load())
        recs = head_records(head, 5)
        r = next((rec for rec in recs if len(rec) == 27), None)
        if r is None or sum(len(rec) == 27 for rec in recs) * 2 < len(recs):
            return None
        if not re.fullmatch(r"[A-Z0-9]{3,8}", r[0].strip()):
            return None
        if not re.fullmatch(r"\d{8}", r[10].strip()) or r[12].strip() not in STATUS:
            return None
        as_of = date_from_name(head.path.name)
        return Detection(self.name, self.default_variant, f"{self.name}:{as_of.isoformat() if as_of else 'undated'}")

    def check(self, rows: Rows) -> None:
        df, check, val = rows.df, rows.check, rows.values
        val["organisation_code"] = v.ods_codes(df["organisation_code"], check, "organisation code", allow_crown=True)
        val["open_date"] = open_d = v.parse_dates(df["open_date"], check, "open date")
        val["close_date"] = close_d = v.parse_dates(df["close_date"], check, "close date")
        v.date_order(open_d, close_d, check, "open date", "close date")
        as_of = date_from_name(rows.path.name)
        if as_of is None:
            latest = [d for d in (*open_d.dropna(), *close_d.dropna()) if d is not None]
            as_of = max(latest) if latest else None
        rows.facts["as_of"] = as_of

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df = rows.df
        status = df["status_code"].fillna("").astype(str).str.strip()
        rec = pd.DataFrame(
            {
                "practice_code": rows["organisation_code"],
                "as_of": rows.facts["as_of"],
                "name": text(df["name"]),
                "postcode": text(df["postcode"]),
                "open_date": rows["open_date"],
                "close_date": rows["close_date"],
                "status": status.map(STATUS).where(status.isin(list(STATUS)), text(status)),
                "commissioner": text(df["commissioner"]),
                "icb": text(df["high_level_health_geography"]),
                "region": text(df["national_grouping"]),
                "setting": text(df["prescribing_setting"]),
            }
        )[rows.keep]
        return {"practice_record": rec}

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        as_of = rows.facts["as_of"]
        return [as_of.isoformat()] if isinstance(as_of, date) else []

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        as_of = rows.facts["as_of"]
        return f"snapshot as of {as_of}" if as_of else "snapshot date unknown"

    def publication(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str | None:
        # undated by its name: the snapshot is identified by the latest date it holds, so two undated
        # snapshots of different months are two editions, not one replacing the other
        as_of = rows.facts["as_of"]
        return f"{self.name}:{as_of.isoformat() if isinstance(as_of, date) else 'undated'}"


def sheet_rejects(sheet: SheetTable, rejects: list[Reject]) -> list[Reject]:
    """Re-number quarantined rows as Excel rows and name the sheet, so a user can find the cell."""
    return [
        Reject(
            sheet.excel_row((r.row_number or 1) - 1),
            r.rule,
            f"sheet {sheet.sheet!r} row {sheet.excel_row((r.row_number or 1) - 1)}: {r.detail}",
        )
        for r in rejects
    ]


PCN_DETAILS = (
    col("pcn_code", "pcn code"),
    col("pcn_name", "pcn name"),
    col("commissioner", "ccg code", "commissioning group code", "sub icb code", "sub icb loc code", required=False),
    col("open_date", "open date", required=False),
    col("close_date", "close date", required=False),
    col("postcode", "postcode", required=False),
)

PCN_PARTNERS = (
    col("practice_code", "partner org code", "partner code", "practice code", none_of=("pcn", "ccg", "icb")),
    col("pcn_code", "pcn code", none_of=("parent",)),
    col("pcn_name", "pcn name", none_of=("parent",), required=False),
    col("start_date", "relationship start date", "start date"),
    col("end_date", "relationship end date", "end date"),
)


class EPCN(Loader):
    """ODS ePCN workbook: PCN details and PCN core partners (membership with dates)."""

    name = "ods_epcn"
    description = "ODS ePCN.xlsx: PCN details and core partner practices with join/leave dates"
    header_hint = "PCN Code PCN Name Partner Organisation Code Practice to PCN Relationship Start Date"

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "xlsx":
            return None
        partners = details = None
        for sheet in head.sheets:
            rows = head.sheet_rows.get(sheet, ())
            if partners is None and find_header_row(rows, PCN_PARTNERS) is not None:
                partners = sheet
            elif details is None and find_header_row(rows, PCN_DETAILS) is not None:
                details = sheet
        if partners is None:
            return None
        as_of = date_from_name(head.path.name)
        tag = as_of.isoformat() if as_of else "undated"
        return Detection(self.name, "details+partners" if details else "partners", f"ods_epcn:{tag}")

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        wb = open_workbook(path)
        try:
            return self._load(path, wb)
        finally:
            wb.close()

    def _load(self, path: Path, wb: object) -> LoadResult:
        partners = read_sheet(path, PCN_PARTNERS, sheet_hint=("PCN Core Partner Details",), workbook=wb)
        pres = resolve(partners.headers, PCN_PARTNERS, path, where=f"sheet {partners.sheet!r} header")
        pdf = frame_of(partners, pres)
        n_p = len(pdf)
        v.require_rows(n_p, path)
        check = v.Checker(path, n_p)
        practice = v.ods_codes(pdf["practice_code"], check, f"sheet {partners.sheet!r}: partner code")
        pcn = pdf["pcn_code"].fillna("").astype(str).str.strip().str.upper()
        check.flag(~pcn.str.match(v.PCN_CODE_RE), v.INVALID_ODS_CODE, "PCN code {0!r} is not an ODS PCN code", pcn)
        fmts = ("%Y%m%d", "%Y-%m-%d", "%d/%m/%Y")
        start = v.parse_dates(pdf["start_date"], check, "relationship start date", fmts)
        end = v.parse_dates(pdf["end_date"], check, "relationship end date", fmts)
        v.date_order(start, end, check, "relationship start date", "relationship end date")

        # PCN details sheet (optional: older snapshots always have it; names come from partners otherwise)
        details_rows: pd.DataFrame | None = None
        try:
            det = read_sheet(path, PCN_DETAILS, sheet_hint=("PCNDetails", "PCN Details"), workbook=wb)
        except Exception:  # no details sheet: PCN names are taken from the partner sheet
            det = None
        dcheck = v.Checker(path, 0)
        if det is not None and det.sheet != partners.sheet:
            dres, _ = match(det.headers, PCN_DETAILS)
            details_rows = frame_of(det, dres)
            dcheck = v.Checker(path, len(details_rows))
            dcode = details_rows["pcn_code"].fillna("").astype(str).str.strip().str.upper()
            dcheck.flag(
                ~dcode.str.match(v.PCN_CODE_RE),
                v.INVALID_ODS_CODE,
                "PCN code {0!r} is not an ODS PCN code",
                dcode,
            )
            details_rows["pcn_code"] = dcode
            details_rows["open_date"] = (
                v.parse_dates(details_rows["open_date"], dcheck, "PCN open date", fmts)
                if "open_date" in details_rows
                else None
            )

        as_of = date_from_name(path.name)
        if as_of is None:
            ds = [d for d in (*start.dropna(), *end.dropna()) if d is not None]
            as_of = max(ds) if ds else None

        check.finish()
        dcheck.finish()
        keep = check.keep_mask(n_p)
        mem = pd.DataFrame({"group_id": pcn, "practice_code": practice, "start_date": start, "end_date": end})[keep]
        v.duplicates(
            mem.reset_index(drop=True).astype(str),
            ["group_id", "practice_code", "start_date"],
            path,
            "PCN-practice-start",
        )

        if details_rows is not None:
            dkeep = dcheck.keep_mask(len(details_rows))
            d = details_rows[dkeep]
            v.duplicates(d.reset_index(drop=True), ["pcn_code"], path, "PCN code")
            groups = pd.DataFrame(
                {
                    "group_id": d["pcn_code"],
                    "as_of": as_of,
                    "name": text(d["pcn_name"]).fillna(d["pcn_code"]),
                    "kind": "pcn",
                    "founded": d.get("open_date", None),
                }
            )
            # PCNs named only on the partner sheet still become groups
            extra = set(mem["group_id"]) - set(groups["group_id"])
        else:
            groups = pd.DataFrame(columns=["group_id", "as_of", "name", "kind", "founded"])
            extra = set(mem["group_id"])
        if extra:
            names = (
                pd.DataFrame({"g": pcn, "n": text(pdf["pcn_name"]) if "pcn_name" in pdf else None})[keep]
                .dropna()
                .drop_duplicates("g")
                .set_index("g")["n"]
            )
            add = pd.DataFrame(
                {
                    "group_id": sorted(extra),
                    "as_of": as_of,
                    "name": [names.get(g, g) for g in sorted(extra)],
                    "kind": "pcn",
                    "founded": None,
                }
            )
            groups = pd.concat([groups, add], ignore_index=True)
        groups["founded"] = groups["founded"].astype(object)
        groups = groups.astype({"group_id": object, "name": object, "kind": object})
        rejects = sheet_rejects(partners, check.rejects)
        if det is not None:
            rejects += sheet_rejects(det, dcheck.rejects)
        return LoadResult(
            tables={"group_record": groups, "membership": mem},
            rows_in=n_p + (len(details_rows) if details_rows is not None else 0),
            periods=[as_of.isoformat()] if as_of else [],
            rejects=rejects,
            message=(
                f"{len(groups)} PCNs, {len(mem)} partner rows ({mem['practice_code'].nunique()} practices)"
                + (f", snapshot {as_of}" if as_of else "")
            ),
        )
