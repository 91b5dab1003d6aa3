"""Area lookups keyed by LSOA: ONS LSOA→CCG→LAD, LSOA 2011→2021, and LSOA lookups with IMD deciles.

Any CSV whose first code column is an LSOA code (``LSOA11CD``, ``LSOA_CODE``...) and whose other
columns describe that area. → ``reference_value`` (entity_type ``lsoa``, one row per LSOA and column).
Where one LSOA appears on several rows (LSOA 2011 → 2021 splits and merges) the key is the pair of
LSOA codes and the entity type names both (``lsoa11_lsoa21``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, LoadResult
from gpscale.sources.common import (
    head_headers,
    head_records,
    read_text_csv,
    start_checks,
    text,
)
from gpscale.sources.headers import norm

if TYPE_CHECKING:
    import duckdb

_LSOA_HEADER = re.compile(r"^lsoa(\d\d)?\s*(cd|code)$|^lsoa\s*code(\s*\d{4})?$|^lsoa(\d\d)cd$")
_ONS_CODE = re.compile(r"^[EWSN]\d{8}$")


def _lsoa_columns(headers: list[str]) -> list[int]:
    return [i for i, h in enumerate(headers) if _LSOA_HEADER.match(norm(h))]


class LsoaLookup:
    """ONS / derived LSOA lookup CSV (LSOA code then area codes, names, deciles)."""

    name = "lsoa_lookup"
    description = "LSOA-keyed lookup CSV (ONS LSOA→CCG→LAD, LSOA11→LSOA21, LSOA IMD deciles)"
    header_hint = "FID,LSOA11CD,LSOA11NM,CCG20CD,CCG20CDH,CCG20NM,LAD20CD,LAD20NM"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers:
            return None
        cols = _lsoa_columns(headers)
        if not cols:
            return None
        recs = head_records(head, 3)
        if len(recs) < 2 or not _ONS_CODE.match(recs[1][cols[0]].strip() if len(recs[1]) > cols[0] else ""):
            return None
        return Detection(self.name, "+".join(norm(headers[i]) for i in cols), f"lsoa_lookup:{head.path.name}")

    def load(self, path: Path, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        table = read_text_csv(path)
        cols = _lsoa_columns(table.headers)
        n = len(table.frame)
        check = start_checks(table, table.frame, path)
        df = table.frame
        keys = [df[str(c)].fillna("").astype(str).str.strip() for c in cols]
        check.flag(~keys[0].str.match(_ONS_CODE), v.INVALID_VALUE, "LSOA code {0!r} is not an ONS code", keys[0])
        check.finish()
        keep = check.keep_mask(n)
        key = keys[0]
        etype = "lsoa"
        if key[keep].duplicated().any() and len(keys) > 1:
            key = keys[0] + "|" + keys[1]
            etype = "lsoa" + "_".join(re.sub(r"\D", "", norm(table.headers[c])) or "x" for c in cols[:2])
            etype = "lsoa11_lsoa21" if etype == "lsoa11_21" else etype
        v.duplicates(pd.DataFrame({"k": key}), ["k"], path, "LSOA", keep, lines=check.lines)
        parts = []
        for i, h in enumerate(table.headers):
            if i in cols[: 2 if "|" in str(key.iloc[0]) else 1] or norm(h) in ("fid", "objectid", ""):
                continue
            parts.append(
                pd.DataFrame({"entity_code": key, "attribute": norm(h).replace(" ", "_"), "value": text(df[str(i)])})[
                    keep
                ]
            )
        out = pd.concat(parts, ignore_index=True).assign(entity_type=etype, period=None, period_type=None)
        out = out[out["value"].notna()]
        return LoadResult(
            tables={"reference_value": out},
            rows_in=n,
            periods=[],
            rejects=check.rejects,
            message=f"{int(keep.sum())} areas ({etype}); {len(parts)} attributes",
        )
