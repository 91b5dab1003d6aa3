"""Opening, migrating and summarising the DuckDB store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from gpscale.store.schema import DATA_TABLES, MIGRATIONS


class StoreError(Exception):
    """The store cannot be opened or is from a newer gpscale."""


@dataclass
class Store:
    """An open store: a DuckDB connection on one database file (or ``:memory:``)."""

    path: str
    con: duckdb.DuckDBPyConnection

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        # fetchall, not fetchone: DuckDB 2.0 leaves a half-read result open, breaking a later register()
        rows = self.con.execute("SELECT max(version) FROM schema_version").fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def df(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a query and return a pandas data frame."""
        return self.con.execute(sql, params or []).df()

    def summary(self) -> list[dict[str, Any]]:
        """Per table, source (file format) and period: row count and distinct practices.

        This is what a user checks a load against the publication with.
        """
        out: list[dict[str, Any]] = []
        present = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for table in (t for t in DATA_TABLES if t in present):  # an older store may lack newer tables
            cols = {r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()}
            period = "t.period" if "period" in cols else "array_to_string(l.periods, ',')"
            practices = "count(DISTINCT t.practice_code)" if "practice_code" in cols else "NULL"
            rows = self.con.execute(
                f"""
                SELECT l.format, l.file_name, {period} AS period, count(*) AS n_rows,
                       {practices} AS n_practices
                FROM {table} t JOIN ingest_log l USING (ingest_id)
                GROUP BY ALL ORDER BY 1, 2, 3
                """
            ).fetchall()
            for fmt, file_name, per, n_rows, n_prac in rows:
                out.append(
                    {
                        "table": table,
                        "source": fmt,
                        "file": file_name,
                        "period": per,
                        "rows": int(n_rows),
                        "practices": None if n_prac is None else int(n_prac),
                    }
                )
        return out


def open_store(path: str | Path, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path``."""
    path_s = str(path)
    if path_s != ":memory:":
        Path(path_s).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path_s, read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open store {path_s}: {exc}") from exc
    store = Store(path_s, con)
    if not read_only:
        migrate(store)
    return store


def migrate(store: Store) -> int:
    """Apply pending migrations, each in its own transaction; return the resulting version."""
    con = store.con
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, description VARCHAR, applied_at TIMESTAMP)"
    )
    current = store.schema_version
    latest = MIGRATIONS[-1].version
    if current > latest:
        raise StoreError(f"store {store.path} is at schema {current}, newer than this gpscale ({latest})")
    for m in MIGRATIONS:
        if m.version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, current_timestamp)", [m.version, m.description]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return store.schema_version


def data_version(store: Store) -> str:
    """A short digest of every loaded file's checksum: changes whenever the store's data change."""
    import hashlib

    rows = store.con.execute(
        "SELECT sha256 FROM ingest_log WHERE status = 'loaded' ORDER BY sha256"
    ).fetchall()
    return hashlib.sha256("".join(r[0] for r in rows).encode()).hexdigest()[:12]
