"""ODS successor organisations (``succ.csv``, and ``succarc.csv`` for the archive): who closed into whom.

Published layout (ODS data downloads, "Successor Organisations"): headerless CSV, five fields per row:
(1) organisation code (the predecessor, legally closed); (2) successor organisation code; (3) reason for
the succession (an ODS code, carried as published); (4) effective date ``CCYYMMDD``, the *legal* date of
the succession (when blank, gpscale dates it the day after the predecessor's close date in the practice
register); (5) succession indicator (carried as published; often blank).

The file covers every organisation type ODS records succession for (trusts, commissioners, practices).
Rows where both codes are GP practice codes are loaded; rows about other organisation types are
counted in the ingest message and not loaded (gpscale evaluates practices). A practice code that is
not a valid ODS code, or a date that is not a date, quarantines its row. Each succession becomes one
entity of ``reference_value`` (``entity_type = 'ods_succession'``, ``entity_code`` =
``predecessor>successor``, ``period`` = the effective date as ``YYYY-MM-DD``, ``period_type = 'date'``)
with attributes ``predecessor``, ``successor``, ``reason`` and ``indicator``.

Neither file states its snapshot date: the date in the file name, else the latest effective date.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead
from gpscale.sources.common import text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.filehead import head_records
from gpscale.sources.ods import date_from_name

SUCCESSION_COLUMNS = ("organisation_code", "successor_code", "reason", "effective_date", "indicator")
ENTITY_TYPE = "ods_succession"

_ORG = re.compile(r"[A-Z0-9]{3,9}")
_PRACTICE = re.compile(v.PRACTICE_CODE_RE)


class OdsSuccessor(CsvLoader):
    """ODS successor organisations file: headerless, 5 columns (predecessor, successor, reason, date, flag)."""

    name = "ods_successor"
    description = "ODS successor organisations succ.csv / succarc.csv (headerless, 5 columns)"
    header_hint = '"A81001","A81002","R","20140401",""'
    positional = SUCCESSION_COLUMNS

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind != "csv":
            return None
        recs = head_records(head, 3)
        if not recs or any(len(r) != 5 for r in recs):
            return None
        for r in recs:
            if not (_ORG.fullmatch(r[0].strip().upper()) and _ORG.fullmatch(r[1].strip().upper())):
                return None
            if not re.fullmatch(r"(\d{8})?", r[3].strip()):
                return None
        if not any(r[3].strip() for r in recs):
            return None
        as_of = date_from_name(head.path.name)
        archive = "archive" if "arc" in head.path.stem.lower() else "current"
        return Detection(self.name, archive, f"ods_successor:{archive}:{as_of.isoformat() if as_of else 'undated'}")

    def check(self, rows: Rows) -> None:
        df, check = rows.df, rows.check
        pred = df["organisation_code"].fillna("").astype(str).str.strip().str.upper()
        succ = df["successor_code"].fillna("").astype(str).str.strip().str.upper()
        for s, label in ((pred, "organisation code"), (succ, "successor organisation code")):
            check.flag(~s.str.fullmatch(_ORG.pattern), v.INVALID_ODS_CODE, label + " {0!r} is not an ODS code", s)
        rows.values.update(predecessor=pred, successor=succ)
        rows.values["when"] = v.parse_dates(df["effective_date"], check, "effective date")

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        df, pred, succ, when = rows.df, rows["predecessor"], rows["successor"], rows["when"]
        practices = pred.str.fullmatch(_PRACTICE.pattern) & succ.str.fullmatch(_PRACTICE.pattern)
        rows.facts["other"] = int((rows.keep & ~practices.to_numpy()).sum())
        keep = rows.keep & practices.to_numpy()
        links = pd.DataFrame({
            "predecessor": pred, "successor": succ, "reason": text(df["reason"]), "indicator": text(df["indicator"]),
            "period": when.map(lambda d: d.isoformat() if d is not None else None),
        })[keep]
        v.duplicates(links.reset_index(drop=True), ["predecessor", "successor"], rows.path, "predecessor-successor")
        links["entity_code"] = links["predecessor"] + ">" + links["successor"]
        long = links.melt(id_vars=["entity_code", "period"], value_vars=["predecessor", "successor", "reason",
                                                                         "indicator"],
                          var_name="attribute", value_name="value")
        long = long.assign(entity_type=ENTITY_TYPE, period_type="date")[
            ["entity_type", "entity_code", "period", "period_type", "attribute", "value"]]
        as_of = date_from_name(rows.path.name)
        if as_of is None:
            dates = [d for d in when[keep] if d is not None]
            as_of = max(dates) if dates else None
        rows.facts.update(as_of=as_of, links=len(links))
        return {"reference_value": long.reset_index(drop=True)}

    def periods(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> list[str]:
        as_of = rows.facts["as_of"]
        return [as_of.isoformat()] if isinstance(as_of, date) else []

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return (f"{rows.facts['links']} practice successions loaded; {rows.facts['other']} rows about other "
                "organisation types not loaded (gpscale evaluates practices)")
