"""Atomic, idempotent ingest of published files into the store.

One ``ingest`` call is one transaction: either every file named is loaded, or (on any error, or if the
process is killed) the store is exactly as it was. Re-ingesting a byte-identical file changes nothing.
A file holding the same publication edition as an earlier one (same :attr:`Detection.publication`)
replaces the earlier rows, but only after the two editions have been compared
(:mod:`gpscale.store.editions`): a replacement that would lose data, change the period, or swap in a
different data set is refused unless ``replace=True`` (``gpscale ingest --replace``). Rows another loaded
file already holds are never loaded twice. The ingest log records each file's fingerprint, and which
ingest (and fingerprint) it replaced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import duckdb
import pandas as pd

from gpscale.periods import parse_period
from gpscale.sources import validate as v
from gpscale.sources.base import Detection, LoadResult, Reject, SourceError
from gpscale.sources.datafile import data_suffix
from gpscale.sources.period_policy import fy_from_text, month_from_text
from gpscale.sources.registry import DATA_SUFFIXES, Detected, detect_file
from gpscale.sources.rx_codes import RxCodeSet
from gpscale.store import editions
from gpscale.store.db import Store
from gpscale.store.schema import DATA_TABLES

#: DuckDB may use at most this much memory while ingesting (it spills to disk beyond), so that a file of
#: any size is loaded in bounded memory.
INGEST_MEMORY_LIMIT = "256MB"

#: Files at least this large are checksummed while they are parsed rather than before.
CONCURRENT_HASH_BYTES = 64 << 20


class FileStatus(StrEnum):
    """What happened to a file (shown by the CLI)."""

    LOADED = "loaded"
    REPLACED_OLDER = "replaced-older"
    UNCHANGED = "unchanged"


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


@dataclass(frozen=True)
class Skipped:
    """A file found in a folder that no loader recognises: listed, not loaded (``--strict`` refuses it)."""

    path: Path
    reason: str


@dataclass
class IngestReport:
    """Every file's outcome, the files skipped, and the quarantined rows to show the user at the end."""

    files: list[FileOutcome] = field(default_factory=list)
    rejects: list[tuple[Path, Reject]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class Input:
    """A file to ingest, and whether the user named it (else it was found in a folder they named)."""

    path: Path
    named: bool


def expand_inputs(paths: Iterable[Path]) -> list[Input]:
    """Files named, plus every file found (recursively, sorted) in directories named."""
    out: list[Input] = []
    for p in paths:
        if p.is_dir():
            out.extend(Input(f, False) for f in sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.exists():
            out.append(Input(p, True))
        else:
            raise SourceError(p, "missing-file", "no such file or directory")
    return out


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus data files found (recursively, sorted) in directories named."""
    return [i.path for i in expand_inputs(paths) if i.named or data_suffix(i.path) in DATA_SUFFIXES]


def recognise(inputs: list[Input], strict: bool = False) -> tuple[list[Detected], list[Skipped]]:
    """Detect every file's format. A file found in a folder that no loader recognises (or that is not a data
    file type at all) is skipped, unless ``strict``; a named file no loader recognises, and any file of a
    recognised format with a fault (missing columns, a column named twice, a damaged workbook), is an error."""
    found: list[Detected] = []
    skipped: list[Skipped] = []
    for item in inputs:
        if not item.named and data_suffix(item.path) not in DATA_SUFFIXES:
            skipped.append(Skipped(item.path, f"not a data file ({data_suffix(item.path) or 'no extension'})"))
            continue
        try:
            found.append(detect_file(item.path))
        except SourceError as exc:
            if item.named or exc.rule != v.UNKNOWN_FORMAT:
                raise
            skipped.append(Skipped(item.path, f"no loader recognises it ({exc.detail.split(';')[-1].strip()})"))
    if strict and skipped:
        listed = "; ".join(f"{s.path} ({s.reason})" for s in skipped[:20])
        raise SourceError(
            skipped[0].path,
            v.UNKNOWN_FORMAT,
            f"--strict: {len(skipped)} file(s) in the folders named are not a format gpscale loads: {listed}"
            + ("; ..." if len(skipped) > 20 else "")
            + ". Remove them, name the files to load, or drop --strict to skip them with a warning",
            where="folder",
        )
    return found, skipped


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
    replace: bool = False,
    period: str | None = None,
    strict: bool = False,
    rx_codes: RxCodeSet | None = None,
) -> IngestReport:
    """Load every file into the store in one transaction; raise SourceError (store unchanged) on failure.

    ``replace`` forces replacements the edition comparison refuses; ``period`` (a label such as
    ``FY2019/20`` or ``2019-09``) states the period of files that carry none. Files found in the folders
    named that no loader recognises are skipped and listed in the report (``strict`` refuses them instead).
    ``rx_codes`` sums prescribing rows to those BNF prefixes (:mod:`gpscale.sources.rx_codes`); None keeps
    every row.
    """
    if period is not None:
        parse_period(period)  # a label, as gpscale.sources.period_policy.parse_stated_period returns
    files, skipped = recognise(expand_inputs([Path(p) for p in paths]), strict)
    con = store.con
    report = IngestReport(skipped=skipped)
    limit, bar = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('enable_progress_bar')"
    ).fetchall()[0]
    con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
    con.execute("SET enable_progress_bar = false")  # the CLI shows its own progress
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for i, found in enumerate(files):
                if progress:
                    progress(found.head.path, i, len(files))
                if rx_codes is not None:
                    summed = dataclasses.replace(found.detection, rx_codes=rx_codes)
                    found = dataclasses.replace(found, detection=summed)
                report.files.append(_ingest_one(con, found, report, replace, period))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        # write the new rows into the database file now, within the memory limit (DuckDB would otherwise do it
        # when the store is closed, with its default limit of most of the machine's memory); the data are
        # committed either way, so a checkpoint DuckDB declines (another open transaction) is left to it
        with contextlib.suppress(duckdb.Error):
            con.execute("CHECKPOINT")
    finally:
        con.execute(f"SET memory_limit = '{limit}'")
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")
    return report


def _ingest_one(
    con: duckdb.DuckDBPyConnection, found: Detected, report: IngestReport, replace: bool, period: str | None
) -> FileOutcome:
    path = found.head.path
    fmt, det = found.format, found.detection
    if period is not None:
        det = dataclasses.replace(det, stated_period=period)
    # a large file is checksummed while the loader parses it (both read the file once, on two cores); a
    # file already loaded is then reported unchanged and the parsed rows are dropped, as if never read. The
    # editions already loaded are read first: a loader that fails leaves the transaction aborted, unqueryable
    known = _loaded_digests(con, det)
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(sha256_of, path)
        if path.stat().st_size < CONCURRENT_HASH_BYTES and (same := _unchanged(path, hashing.result(), det, known)):
            return same
        try:
            result = found.load(con, det)
        except (SourceError, duckdb.Error, ValueError, KeyError, TypeError, UnicodeDecodeError,
                pd.errors.ParserError) as exc:
            if same := _unchanged(path, hashing.result(), det, known):
                with contextlib.suppress(duckdb.Error):  # nothing to drop where the transaction is aborted
                    fmt.cleanup(con)
                return same
            if isinstance(exc, SourceError):
                raise
            raise SourceError(path, "parse-error", f"{type(exc).__name__}: {exc}") from exc
        digest = hashing.result()
    if same := _unchanged(path, digest, det, known):
        fmt.cleanup(con)
        return same
    if det.stated_period is not None and det.stated_period not in result.periods:
        raise SourceError(
            path,
            v.PERIOD_INCONSISTENT,
            f"--period {det.stated_period} does not apply to this file, which holds "
            f"{', '.join(result.periods) or 'no period'} (ingest files that carry no period on their own)",
            where="--period",
        )
    publication = edition_of(det, result)

    ingest_id = int(con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchall()[0][0])
    loaded = sum(_insert(con, table, rows, ingest_id) for table, rows in result.tables.items())
    fmt.cleanup(con)  # loaders that staged rows in temporary tables drop them here
    older = con.execute(
        "SELECT ingest_id, file_name, periods FROM ingest_log WHERE publication = ? AND status = 'loaded'",
        [publication],
    ).fetchall()
    loaded -= _drop_repeats(con, path, ingest_id, {int(r[0]) for r in older}, result)
    new_print = editions.fingerprint(con, DATA_TABLES, ingest_id, list(result.periods))

    notes: list[str] = [result.message] if result.message else []
    replaced: tuple[int, str] | None = None
    forced = False
    for old_id, old_name, old_periods in older:
        cmp = editions.compare(con, DATA_TABLES, int(old_id), old_name, list(old_periods or []), ingest_id, new_print)
        problems = cmp.problems()
        if problems and not replace:
            raise SourceError(
                path,
                problems[0][0],
                f"this file would replace {old_name} (ingest {old_id}, the same edition {publication}) but "
                + "; ".join(reason for _, reason in problems)
                + f". Stored → this file: {cmp.describe()}. Nothing was written; if this file really is the newer "
                "edition, run again with --replace",
                where="edition comparison",
            )
        forced = forced or bool(problems)
        replaced = (int(old_id), cmp.old.to_json())
        for table in DATA_TABLES:
            con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [old_id])
        con.execute("DELETE FROM rejects WHERE ingest_id = ?", [old_id])
        con.execute("UPDATE ingest_log SET status = 'replaced' WHERE ingest_id = ?", [old_id])
        notes.append(f"replaces ingest {old_id} ({old_name})" + (" despite: " + "; ".join(
            r for _, r in problems) + " (--replace)" if problems else "") + f"; stored → this file: {cmp.describe()}")
    if result.rejects:
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?)",
            [[ingest_id, r.row_number, r.rule, _detail_with_line(r)] for r in result.rejects],
        )
        report.rejects.extend((path, r) for r in result.rejects)
    message = "; ".join(notes)
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?)",
        [
            ingest_id,
            str(path.resolve()),
            path.name,
            det.format,
            det.variant,
            publication,
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
    con.execute(
        "INSERT INTO ingest_edition VALUES (?, ?, ?, ?, ?)",
        [ingest_id, new_print.to_json(), replaced[0] if replaced else None, replaced[1] if replaced else None, forced],
    )
    return FileOutcome(
        path,
        det.format,
        det.variant,
        FileStatus.REPLACED_OLDER if older else FileStatus.LOADED,
        result.rows_in,
        loaded,
        len(result.rejects),
        result.nulls_suppressed,
        tuple(result.periods),
        message,
    )


def _loaded_digests(con: duckdb.DuckDBPyConnection, det: Detection) -> dict[str, tuple[int, str, list[str]]]:
    """The files of this format already loaded, by checksum: ingest id, file name and periods."""
    rows = con.execute(
        "SELECT sha256, ingest_id, file_name, periods FROM ingest_log WHERE format = ? AND status = 'loaded'",
        [det.format],
    ).fetchall()
    return {str(r[0]): (int(r[1]), str(r[2]), list(r[3] or [])) for r in rows}


def _unchanged(
    path: Path, digest: str, det: Detection, known: dict[str, tuple[int, str, list[str]]]
) -> FileOutcome | None:
    """The outcome of a file byte-identical to one already loaded (None if it is new)."""
    if (same := known.get(digest)) is None:
        return None
    ingest_id, name, periods = same
    _check_same_file(path, name, periods)
    return FileOutcome(path, det.format, det.variant, FileStatus.UNCHANGED, 0, 0, 0, 0, (),
                       f"already loaded (ingest {ingest_id}, {name})")


def _detail_with_line(r: Reject) -> str:
    """The quarantine detail as stored: with the file line where it is not simply the row number + 1."""
    if r.line is not None and (r.row_number is None or r.line != r.row_number + 1):
        return f"{r.detail} (line {r.line})"
    return r.detail


def edition_of(det: Detection, result: LoadResult) -> str:
    """The edition a loaded file holds: what its content said (the loader's), else what detection said,
    with the period the user stated where the file name carried none."""
    if result.publication:
        return result.publication
    base, _, tag = det.publication.rpartition(":")
    if det.stated_period is not None and tag in ("unknown-year", "undated"):
        return f"{base}:{det.stated_period}"
    return det.publication


def _check_same_file(path: Path, stored_name: str, stored_periods: list[str]) -> None:
    """A byte-identical copy of a loaded file is unchanged, unless its name claims another period."""
    for named in (fy_from_text(path.name), month_from_text(path.name)):
        if named is None:
            continue
        kinds = {parse_period(p).type for p in stored_periods if _is_label(p)}
        if parse_period(named).type in kinds and named not in stored_periods:
            raise SourceError(
                path,
                v.SAME_FILE_OTHER_EDITION,
                f"this file is byte-identical to {stored_name}, already loaded as {', '.join(stored_periods)}, "
                f"but its name says {named}: it cannot be both",
                where="file name",
            )


def _is_label(text: str) -> bool:
    try:
        parse_period(text)
    except ValueError:
        return False
    return True


def _drop_repeats(
    con: duckdb.DuckDBPyConnection, path: Path, ingest_id: int, replaced: set[int], result: LoadResult
) -> int:
    """Refuse rows another loaded file holds with other values; drop identical repeats (counted once)."""
    rows = con.execute("SELECT ingest_id, file_name FROM ingest_log WHERE status = 'loaded'").fetchall()
    files = {int(i): str(n) for i, n in rows}
    others = [i for i in files if i not in replaced]
    dropped = 0
    for ov in editions.overlaps(con, ingest_id, others, files):
        if ov.differing:
            raise SourceError(
                path,
                v.DUPLICATE_ACROSS_FILES,
                f"{ov.rows:,} {ov.table} rows have the same key as rows already loaded from {ov.other_file} "
                f"(ingest {ov.other_id}), {ov.differing:,} of them with other values, e.g. {ov.example}; the same "
                "figures from two files would be counted twice. If this file is a newer edition of that one, "
                "name it so (or remove the other first)",
                where=f"{ov.table} key",
            )
    for ov in editions.overlaps(con, ingest_id, others, files):
        n = editions.drop_repeated(con, ov.table, ingest_id, [ov.other_id])
        dropped += n
        result.message = (result.message + "; " if result.message else "") + (
            f"{n:,} {ov.table} rows repeat identical rows of {ov.other_file} and are kept once"
        )
    return dropped


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
        ).fetchall()
    finally:
        if isinstance(rows, pd.DataFrame):
            con.unregister(view)
        else:
            con.execute(f"DROP VIEW IF EXISTS {view}")
    return int(inserted[0][0]) if inserted else 0


