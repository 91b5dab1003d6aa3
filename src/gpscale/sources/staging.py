"""Staging: where a streaming loader puts its rows, chunk by chunk, until the ingest inserts them.

A loader reading a CSV with :class:`~gpscale.sources.csvread.CsvReader` converts one chunk at a time and
appends the canonical rows to DuckDB temporary tables shaped like the store's tables (plus the file line
each row came from), so no more than a chunk is ever held in Python. Whole-file rules then run as SQL on the
staged rows (:meth:`Staging.refuse_duplicates` names the lines of a repeated key), and the loader hands the
ingest DuckDB relations over the staged tables (:meth:`Staging.relation`). DuckDB keeps temporary tables
within its memory limit and spills the rest to disk. :meth:`Staging.drop` (the loader's ``cleanup``) removes
them once the ingest has copied the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError

if TYPE_CHECKING:
    import duckdb

#: Column added to every staged table: the physical line of the file the row came from.
LINE = "_line"


class Staging:
    """Temporary tables ``_gpscale_stage_<name>_<table>`` for one loader, shaped like the store's tables.

    ``extra`` adds loader-specific working columns per table (name → SQL type), e.g. a description the
    final relation derives an id from.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        tables: Sequence[str],
        extra: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.con = con
        self.name = name
        self.tables = tuple(tables)
        self._schemas: dict[str, list[tuple[str, str]]] = {}
        self.drop()
        for table in self.tables:
            working = {LINE: "BIGINT", **(extra or {}).get(table, {})}
            added = ", ".join(f"NULL::{t} AS {c}" for c, t in working.items())
            con.execute(
                f"CREATE TEMP TABLE {self.stage(table)} AS SELECT * EXCLUDE (ingest_id), {added} "
                f"FROM main.{table} LIMIT 0"
            )

    def stage(self, table: str) -> str:
        return f"_gpscale_stage_{self.name}_{table}"

    def append(self, table: str, frame: pd.DataFrame) -> None:
        """Append rows (columns by name; missing ones are null, types cast to the store's).

        The rows go through an Arrow table and a relation rather than a registered view: inside the ingest's
        transaction DuckDB keeps every registered view (and the frame behind it) until the commit, which would
        hold every chunk in memory.
        """
        if frame.empty:
            return
        data = pa.Table.from_pandas(frame, preserve_index=False)
        have = set(data.column_names)
        exprs = [
            f"CAST({_quote(c)} AS {t}) AS {_quote(c)}" if c in have else f"CAST(NULL AS {t}) AS {_quote(c)}"
            for c, t in self._schema(table)
        ]
        self.con.from_arrow(data).select(", ".join(exprs)).insert_into(self.stage(table))

    def _schema(self, table: str) -> list[tuple[str, str]]:
        if table not in self._schemas:
            self._schemas[table] = [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {self.stage(table)}").fetchall()]
        return self._schemas[table]

    def relation(self, table: str, select: str | None = None) -> duckdb.DuckDBPyRelation:
        """The staged rows as a relation without the working columns (or ``select``, a query over them)."""
        if select is not None:
            return self.con.sql(select)
        working = [LINE, *self._extra_columns(table)]
        return self.con.sql(f"SELECT * EXCLUDE ({', '.join(working)}) FROM {self.stage(table)}")

    def _extra_columns(self, table: str) -> list[str]:
        cols = [r[0] for r in self.con.execute(f"DESCRIBE {self.stage(table)}").fetchall()]
        store = {r[0] for r in self.con.execute(f"DESCRIBE main.{table}").fetchall()}
        return [c for c in cols if c not in store and c != LINE]

    def refuse_duplicates(self, source: str, keys: Sequence[str], path: Path, what: str) -> None:
        """Reject the file when a key repeats among the rows of ``source`` (a staged table or a query with
        the line column), naming the key and the lines it is on."""
        k = ", ".join(keys)
        repeated = self.con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {source} GROUP BY {k} HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if not repeated:
            return
        rows = self.con.execute(
            f"""
            SELECT count(*), sum(n), arg_min(example, first_line), arg_min(lines, first_line)
            FROM (SELECT {{{', '.join(f"'{c}': {c}" for c in keys)}}} AS example, count(*) AS n,
                         min({LINE}) AS first_line, list({LINE} ORDER BY {LINE})[1:5] AS lines
                  FROM {source} GROUP BY {k} HAVING count(*) > 1)
            """
        ).fetchall()[0]
        if rows[0]:
            raise SourceError(
                path,
                v.DUPLICATE_KEY,
                f"{int(rows[1]):,} rows share a {what} key; e.g. {dict(rows[2])} appears more than once",
                where="lines " + ", ".join(str(int(x)) for x in rows[3]),
            )

    def drop(self) -> None:
        self.drop_tables(self.tables)

    def drop_tables(self, tables: Sequence[str]) -> None:
        for table in tables:
            self.con.execute(f"DROP TABLE IF EXISTS {self.stage(table)}")



def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
