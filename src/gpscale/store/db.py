"""Opening, migrating and summarising the DuckDB store.

:func:`open_store` is the one place that decides whether a path can be a store. It must be a DuckDB
database written by gpscale, or a path where nothing exists yet (a new store is created). Everything
else is a :class:`StoreError` naming the path, what is wrong and what to do: an existing file of another
kind (``x.csv``, ``x.parquet``: DuckDB would otherwise open such a path as an empty in-memory database and
save nothing), a directory, a truncated or damaged database, a DuckDB database that is not a gpscale
store, a store from a newer gpscale, or a store another process holds open (DuckDB locks the file).
Every command turns a StoreError into one ``error:`` line and exit code 2
(:mod:`gpscale.store.command`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb

from gpscale.store.schema import DATA_TABLES, MIGRATIONS

#: Every DuckDB database file holds these four bytes at offset 8 (after the header checksum).
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8
#: A DuckDB file is its headers (one main and two database headers of 4 KiB) followed by its blocks: a file
#: shorter than that has been cut short (DuckDB itself would only fail when a query reaches a missing block).
DUCKDB_HEADER_BYTES = 3 * 4096


class StoreProblem(StrEnum):
    """Why a path cannot be opened as a store."""

    NOT_DUCKDB = "not-a-duckdb-file"
    DIRECTORY = "is-a-directory"
    MISSING = "no-store"
    LOCKED = "locked"
    DAMAGED = "damaged"
    NOT_GPSCALE = "not-a-gpscale-store"
    NEWER = "newer-schema"


_ADVICE = {
    StoreProblem.NOT_DUCKDB: "give --store a .duckdb file written by gpscale, or a path where no file exists yet",
    StoreProblem.DIRECTORY: "give --store a file path inside the directory, e.g. DIR/gpscale.duckdb",
    StoreProblem.MISSING: "create it first with gpscale ingest --store PATH FILES",
    StoreProblem.LOCKED: "wait for the other gpscale command to finish (or stop it), then run this again",
    StoreProblem.DAMAGED: "restore the store from a copy, or build it again with gpscale ingest into a new path",
    StoreProblem.NOT_GPSCALE: "give --store a store written by gpscale, or a path where no file exists yet",
    StoreProblem.NEWER: "use a gpscale at least as new as the one that wrote this store",
}


class StoreError(Exception):
    """A path that cannot be opened as a store: the path, the problem, and what to do about it."""

    def __init__(self, path: str | Path, problem: StoreProblem, detail: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.detail = detail
        super().__init__(f"store {self.path}: {detail}; {_ADVICE[problem]}")


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


def check_store_path(path: str | Path, must_exist: bool = False) -> None:
    """Raise a StoreError unless ``path`` is an existing DuckDB file, or (``must_exist=False``) a new path."""
    p = Path(path)
    if p.is_dir():
        raise StoreError(p, StoreProblem.DIRECTORY, "is a directory, not a database file")
    if not p.exists():
        if must_exist:
            raise StoreError(p, StoreProblem.MISSING, "no store at this path")
        parent = next((a for a in p.parents if a.exists()), None)
        if parent is not None and not parent.is_dir():
            raise StoreError(p, StoreProblem.NOT_DUCKDB, f"{parent} is a file, so no store can be created under it")
        return
    try:
        with p.open("rb") as f:
            head = f.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    except OSError as exc:
        raise StoreError(p, StoreProblem.DAMAGED, f"cannot be read ({exc.strerror})") from exc
    if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
        kind = "an empty file" if not head else f"a {p.suffix.lstrip('.') or 'non-DuckDB'} file"
        if p.suffix.lower() == ".duckdb" and head:
            raise StoreError(p, StoreProblem.DAMAGED, "is damaged: it does not start like a DuckDB database")
        raise StoreError(p, StoreProblem.NOT_DUCKDB, f"exists and is {kind}, not a DuckDB database")


def open_store(path: str | Path, read_only: bool = False, must_exist: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path``; StoreError says why it cannot be.

    ``read_only`` implies ``must_exist``: a read-only store that does not exist is an error.
    """
    path_s = str(path)
    if path_s != ":memory:":
        check_store_path(path_s, must_exist=must_exist or read_only)
        Path(path_s).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path_s, read_only=read_only)
    except duckdb.Error as exc:
        raise _connect_error(path_s, exc) from exc
    store = Store(path_s, con)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if tables and "schema_version" not in tables:
            raise StoreError(path_s, StoreProblem.NOT_GPSCALE, "is a DuckDB database but not a gpscale store")
        _check_length(path_s, con)
        if read_only:
            if "schema_version" not in tables:
                raise StoreError(path_s, StoreProblem.NOT_GPSCALE, "is an empty DuckDB database, not a gpscale store")
            _check_version(store)
            con.execute("SELECT count(*) FROM ingest_log").fetchall()
        else:
            migrate(store)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(path_s, StoreProblem.DAMAGED, f"is damaged ({_first_line(exc)})") from exc
    except StoreError:
        con.close()
        raise
    return store


def _check_length(path: str, con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a database file shorter than the blocks its header says it holds (a truncated copy)."""
    if path == ":memory:":
        return
    _name, _size, block_size, total_blocks, *_ = con.execute("PRAGMA database_size").fetchall()[0]
    expected = DUCKDB_HEADER_BYTES + int(block_size) * int(total_blocks)
    actual = Path(path).stat().st_size
    if actual < expected:
        raise StoreError(
            path, StoreProblem.DAMAGED, f"is truncated: {actual:,} bytes where its header promises {expected:,}"
        )


def _connect_error(path: str, exc: duckdb.Error) -> StoreError:
    text = _first_line(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        who = f"process {pid.group(1)}" if pid else "another process"
        return StoreError(path, StoreProblem.LOCKED, f"is in use by {who} (DuckDB holds a lock on it)")
    if "not a valid duckdb database" in text.lower():
        return StoreError(path, StoreProblem.DAMAGED, "is not a valid DuckDB database (empty or damaged)")
    if "is a directory" in text.lower():
        return StoreError(path, StoreProblem.DIRECTORY, "is a directory, not a database file")
    return StoreError(path, StoreProblem.DAMAGED, f"cannot be opened: it is truncated or damaged ({text})")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _check_version(store: Store) -> None:
    current, latest = store.schema_version, MIGRATIONS[-1].version
    if current > latest:
        raise StoreError(
            store.path, StoreProblem.NEWER, f"is at schema version {current}, newer than this gpscale's ({latest})"
        )


def migrate(store: Store) -> int:
    """Apply pending migrations, each in its own transaction; return the resulting version."""
    con = store.con
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, description VARCHAR, applied_at TIMESTAMP)"
    )
    _check_version(store)
    current = store.schema_version
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
