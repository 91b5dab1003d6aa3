"""QOF raw ``PREVALENCE`` files (register and age-specific list size per practice and register group; column
names drift) and the older ``prevalencebyprac`` layout. → ``measure_value`` (``prevalence:<GROUP>``) and
``practice_population`` (one row per list type).

National files are 140,000+ rows: the loader streams them chunk by chunk through
:mod:`gpscale.sources.staging`, so memory stays bounded whatever the file's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gpscale.sources import validate as v
from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, Reject
from gpscale.sources.common import flag_wrong_width, map_unique
from gpscale.sources.csvread import CsvReader
from gpscale.sources.filehead import head_headers
from gpscale.sources.headers import Col, Resolved, col, match, resolve
from gpscale.sources.qof.common import list_type_band, qof_year
from gpscale.sources.staging import LINE, Staging

if TYPE_CHECKING:
    import duckdb

PREVALENCE_COLS: tuple[Col, ...] = (
    col("practice_code", "practice code", "practicecode"),
    col("group", "indicator group code", "group code", "indicator group", none_of=("description",)),
    col("register", "register", "disease register size", none_of=("description", "list", "type")),
    col("list_type", "patient list type", required=False),
    col("list_size", "patient list size", "practice list size", "practice listsize", "list size", none_of=("type",)),
    col("prevalence", "prevalence", required=False),
    col("description", "register description", required=False),
)

#: The tables a prevalence file loads into (staged while the file streams).
PREVALENCE_TABLES = ("measure_value", "practice_population")

YEAR = qof_year("PREVALENCE")


class QofPrevalence(Loader):
    """QOF raw PREVALENCE file (register and list size per practice and register group)."""

    name = "qof_prevalence"
    columns = PREVALENCE_COLS
    description = "QOF raw PREVALENCE file: practice, register group, register, patient list type and size"
    header_hint = "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PATIENT_LIST_SIZE"

    def sniff(self, head: FileHead) -> Detection | None:
        headers = head_headers(head)
        if not headers or len(headers) > 12:
            return None
        _found, missing = match(headers, [c for c in PREVALENCE_COLS if c.required])
        if missing:
            return None
        variant = "raw" if "list_type" in match(headers, PREVALENCE_COLS)[0] else "prevalencebyprac"
        return Detection(self.name, variant, f"qof_prevalence:{YEAR.tag(head.path)}")

    def cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop the staging tables once the ingest has copied the rows."""
        Staging(con, self.name, ()).drop_tables(PREVALENCE_TABLES)

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        """Stream the file chunk by chunk (national files are 140,000+ rows; memory stays bounded)."""
        path = head.path
        fy = YEAR.resolve(path, detection)
        reader = CsvReader(path)
        res = resolve(reader.headers, PREVALENCE_COLS, path)
        stage = Staging(con, self.name, PREVALENCE_TABLES, extra={"measure_value": {"_desc": "VARCHAR"}})
        rejects: list[Reject] = []
        n = nulls = 0
        for chunk in reader.chunks():
            df = chunk.frame(res.positions)
            check = v.Checker(path, len(df), offset=chunk.start, lines=chunk.lines)
            flag_wrong_width(chunk, check)
            measures, pop = self._convert(df, res, check, fy)
            keep = check.keep_mask(len(df))
            line = pd.Series(chunk.lines, index=df.index)
            stage.append("measure_value", measures.assign(_line=line)[keep])
            # one list size per practice and list type: keep the first in the chunk (and, below, in the file)
            first = pop.assign(_line=line)[keep].dropna(subset=["patients"])
            stage.append("practice_population", first.drop_duplicates(["practice_code", "age_band"]))
            rejects += check.rejects
            nulls += check.nulls
            n += len(df)
            if len(rejects) > v.MAX_QUARANTINED_ROWS:
                v.check_reject_share(path, n, rejects)
        v.require_rows(n, path)
        v.check_reject_share(path, n, rejects)
        rejects.sort(key=lambda r: (r.row_number or 0, r.rule))
        mv = stage.stage("measure_value")
        # prevalencebyprac: a group may hold two registers (HF and 'HF due to LVD'); the one with the shortest
        # description keeps the plain id, the others get a suffix from their description
        final_mv = f"SELECT * EXCLUDE (_desc) FROM {mv}" if "description" not in res else f"""
            SELECT * EXCLUDE (measure_id, _desc), CASE
                WHEN _desc IS NULL OR row_number() OVER (
                    PARTITION BY practice_code, measure_id ORDER BY length(_desc), {LINE}) = 1 THEN measure_id
                ELSE measure_id || ':' || trim(regexp_replace(lower(_desc), '[^a-z0-9]+', '_', 'g'), '_')
                END AS measure_id
            FROM {mv}"""
        stage.refuse_duplicates(f"({final_mv})", ["practice_code", "measure_id"], path, "practice-register group")
        pop = stage.stage("practice_population")
        counts = con.execute(f"SELECT count(DISTINCT practice_code), count(DISTINCT measure_id) FROM {mv}").fetchall()
        return LoadResult(
            tables={
                "measure_value": stage.relation("measure_value", f"SELECT * EXCLUDE ({LINE}) FROM ({final_mv})"),
                "practice_population": stage.relation(
                    "practice_population",
                    f"""SELECT * EXCLUDE ({LINE}, _first) FROM (
                            SELECT *, row_number() OVER (PARTITION BY practice_code, age_band ORDER BY {LINE}) AS _first
                            FROM {pop}) WHERE _first = 1""",
                ),
            },
            rows_in=n,
            periods=[fy],
            rejects=rejects,
            nulls_suppressed=nulls,
            message=f"{counts[0][0]} practices, {counts[0][1]} register groups",
        )

    @staticmethod
    def _convert(
        df: pd.DataFrame, res: Resolved, check: v.Checker, fy: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One chunk's rows checked and converted: measure_value rows (with the register description, if
        any) and practice_population rows (one per row; the first per practice and list type is kept)."""
        code = v.ods_codes(df["practice_code"], check)
        group = df["group"].fillna("").astype(str).str.strip().str.upper()
        reg = v.counts(df, "register", check, res["register"], whole=True)
        size = v.counts(df, "list_size", check, res["list_size"], whole=True)
        v.numerator_le_denominator(reg, size, check, "register above list size")
        band = map_unique(df["list_type"], list_type_band) if "list_type" in df else pd.Series("all", index=df.index)
        prev = v.numbers(df, "prevalence", check) if "prevalence" in df else None
        desc = df["description"].fillna("").astype(str).str.strip() if "description" in df else None
        measures = pd.DataFrame(
            {
                "source": "qof",
                "measure_id": "prevalence:" + group,
                "practice_code": code,
                "period": fy,
                "period_type": "fy",
                "numerator": reg,
                "denominator": size,
                "value": prev if prev is not None else None,
                "_desc": desc,
            }
        )
        pop = pd.DataFrame(
            {
                "practice_code": code,
                "age_band": band,
                "patients": size.round().astype("Int64"),
                "period": fy,
                "period_type": "fy",
                "sex": "all",
            }
        )
        return measures, pop


