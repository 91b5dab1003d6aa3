"""Area lookups keyed by LSOA: ONS LSOA→CCG→LAD, LSOA 2011→2021, and LSOA lookups with IMD deciles.

Any CSV whose first code column is an LSOA code (``LSOA11CD``, ``LSOA_CODE``...) and whose other
columns describe that area. → ``reference_value`` (entity_type ``lsoa``, one row per LSOA and column).
Where one LSOA appears on several rows (LSOA 2011 → 2021 splits and merges) the key is the pair of
LSOA codes and the entity type names both (``lsoa11_lsoa21``).
"""

from __future__ import annotations

import re

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import FileHead
from gpscale.sources.common import text
from gpscale.sources.csvloader import CsvLoader, Rows
from gpscale.sources.filehead import head_records
from gpscale.sources.headers import Resolved, norm

_LSOA_HEADER = re.compile(r"^lsoa(\d\d)?\s*(cd|code)$|^lsoa\s*code(\s*\d{4})?$|^lsoa(\d\d)cd$")
_ONS_CODE = re.compile(r"^[EWSN]\d{8}$")


def _lsoa_columns(headers: list[str]) -> list[int]:
    return [i for i, h in enumerate(headers) if _LSOA_HEADER.match(norm(h))]


class LsoaLookup(CsvLoader):
    """ONS / derived LSOA lookup CSV (LSOA code then area codes, names, deciles)."""

    name = "lsoa_lookup"
    description = "LSOA-keyed lookup CSV (ONS LSOA→CCG→LAD, LSOA11→LSOA21, LSOA IMD deciles)"
    header_hint = "FID,LSOA11CD,LSOA11NM,CCG20CD,CCG20CDH,CCG20NM,LAD20CD,LAD20NM"

    def recognise(self, headers: list[str], head: FileHead) -> bool:
        cols = _lsoa_columns(headers)
        if not cols:
            return False
        recs = head_records(head, 3)
        return len(recs) >= 2 and bool(_ONS_CODE.match(recs[1][cols[0]].strip() if len(recs[1]) > cols[0] else ""))

    def variant(self, headers: list[str], found: Resolved) -> str:
        return "+".join(norm(headers[i]) for i in _lsoa_columns(headers))

    def check(self, rows: Rows) -> None:
        df = rows.table.frame
        cols = _lsoa_columns(rows.table.headers)
        keys = [df[str(c)].fillna("").astype(str).str.strip() for c in cols]
        rows.check.flag(~keys[0].str.match(_ONS_CODE), v.INVALID_VALUE, "LSOA code {0!r} is not an ONS code", keys[0])
        for i, k in enumerate(keys):
            rows.values[f"key{i}"] = k

    def normalise(self, rows: Rows) -> dict[str, pd.DataFrame]:
        table, keep = rows.table, rows.keep
        cols = _lsoa_columns(table.headers)
        key = rows["key0"]
        etype = "lsoa"
        if key[keep].duplicated().any() and len(cols) > 1:
            key = rows["key0"] + "|" + rows["key1"]
            etype = "lsoa" + "_".join(re.sub(r"\D", "", norm(table.headers[c])) or "x" for c in cols[:2])
            etype = "lsoa11_lsoa21" if etype == "lsoa11_21" else etype
        v.duplicates(pd.DataFrame({"k": key}), ["k"], rows.path, "LSOA", keep, lines=rows.lines)
        parts = []
        for i, h in enumerate(table.headers):
            if i in cols[: 2 if "|" in str(key.iloc[0]) else 1] or norm(h) in ("fid", "objectid", ""):
                continue
            parts.append(
                pd.DataFrame(
                    {"entity_code": key, "attribute": norm(h).replace(" ", "_"), "value": text(table.frame[str(i)])}
                )[keep]
            )
        out = pd.concat(parts, ignore_index=True).assign(entity_type=etype, period=None, period_type=None)
        rows.facts.update(etype=etype, attributes=len(parts))
        return {"reference_value": out[out["value"].notna()]}

    def message(self, rows: Rows, tables: dict[str, pd.DataFrame]) -> str:
        return f"{int(rows.keep.sum())} areas ({rows.facts['etype']}); {rows.facts['attributes']} attributes"
