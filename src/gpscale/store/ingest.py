"""Atomic, idempotent ingest of published files into the store.

One ``ingest`` call is one transaction: either every file named is loaded, or (on any error, or if the
process is killed) the store is exactly as it was. Re-ingesting a byte-identical file changes nothing.
A file holding the same publication edition as an earlier one (same :attr:`Detection.publication`)
replaces the earlier rows, and the ingest log records which ingest it replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from gpscale.sources.base import Reject, SourceError
from gpscale.sources.registry import DATA_SUFFIXES, detect
from gpscale.store.db import Store
from gpscale.store.schema import DATA_TABLES


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file."""

    path: Path
    format: str
    variant: str
    status: str  # loaded | replaced-older | unchanged
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    nulls_suppressed: int
    periods: tuple[str, ...]
    message: str = ""


@dataclass
class IngestReport:
    """Every file's outcome, and the quarantined rows to show the user at the end."""

    files: list[FileOutcome] = field(default_factory=list)
    rejects: list[tuple[Path, Reject]] = field(default_factory=list)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus data files found (recursively, sorted) in directories named."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in DATA_SUFFIXES)
            )
        elif p.exists():
            out.append(p)
        else:
            raise SourceError(p, "missing-file", "no such file or directory")
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ingest(
    store: Store,
    paths: Iterable[Path],
    progress: Callable[[Path, int, int], None] | None = None,
) -> IngestReport:
    """Load every file into the store in one transaction; raise SourceError (store unchanged) on failure."""
    files = expand_paths([Path(p) for p in paths])
    con = store.con
    report = IngestReport()
    con.execute("BEGIN TRANSACTION")
    try:
        for i, path in enumerate(files):
            if progress:
                progress(path, i, len(files))
            report.files.append(_ingest_one(con, path, report))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _ingest_one(con: duckdb.DuckDBPyConnection, path: Path, report: IngestReport) -> FileOutcome:
    digest = sha256_of(path)
    fmt, det = detect(path)
    same = con.execute(
        "SELECT ingest_id FROM ingest_log WHERE sha256 = ? AND format = ? AND status = 'loaded'",
        [digest, det.format],
    ).fetchone()
    if same:
        return FileOutcome(path, det.format, det.variant, "unchanged", 0, 0, 0, 0, (), "already loaded")
    try:
        result = fmt.load(path, det, con)
    except SourceError:
        raise
    except (duckdb.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(path, "parse-error", f"{type(exc).__name__}: {exc}") from exc

    ingest_id = int(con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchone()[0])  # type: ignore[index]
    older = con.execute(
        "SELECT ingest_id, file_name FROM ingest_log WHERE publication = ? AND status = 'loaded'",
        [det.publication],
    ).fetchall()
    for old_id, _ in older:
        for table in DATA_TABLES:
            con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [old_id])
        con.execute("DELETE FROM rejects WHERE ingest_id = ?", [old_id])
        con.execute("UPDATE ingest_log SET status = 'replaced' WHERE ingest_id = ?", [old_id])

    loaded = sum(_insert(con, table, rows, ingest_id) for table, rows in result.tables.items())
    cleanup = getattr(fmt, "cleanup", None)  # loaders that staged rows in temporary tables drop them here
    if cleanup is not None:
        cleanup(con)
    if result.rejects:
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?)",
            [[ingest_id, r.row_number, r.rule, r.detail] for r in result.rejects],
        )
        report.rejects.extend((path, r) for r in result.rejects)
    message = result.message
    if older:
        message = (message + "; " if message else "") + "replaces " + ", ".join(
            f"ingest {i} ({name})" for i, name in older
        )
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?)",
        [
            ingest_id,
            str(path.resolve()),
            path.name,
            det.format,
            det.variant,
            det.publication,
            digest,
            path.stat().st_size,
            result.rows_in,
            loaded,
            len(result.rejects),
            result.nulls_suppressed,
            list(result.periods),
            message,
            older[0][0] if older else None,
            datetime.now(),
        ],
    )
    return FileOutcome(
        path,
        det.format,
        det.variant,
        "replaced-older" if older else "loaded",
        result.rows_in,
        loaded,
        len(result.rejects),
        result.nulls_suppressed,
        tuple(result.periods),
        message,
    )


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame | duckdb.DuckDBPyRelation,
    ingest_id: int,
) -> int:
    if table not in DATA_TABLES:
        raise ValueError(f"loader produced rows for unknown table {table!r}")
    view = f"_ingest_{table}"
    if isinstance(rows, pd.DataFrame):
        con.register(view, rows)
    else:
        rows.create_view(view, replace=True)
    try:
        # DuckDB answers an INSERT with the number of rows written: no second pass over large files
        inserted = con.execute(
            f"INSERT INTO {table} BY NAME SELECT *, {ingest_id} AS ingest_id FROM {view}"
        ).fetchone()
    finally:
        if isinstance(rows, pd.DataFrame):
            con.unregister(view)
        else:
            con.execute(f"DROP VIEW IF EXISTS {view}")
    return int(inserted[0]) if inserted else 0


