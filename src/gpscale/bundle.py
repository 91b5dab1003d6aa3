"""The results bundle on disk: written only from gated tables, opened in place by reports and the dashboard.

:func:`write_bundle` writes a :class:`~gpscale.disclosure.Disclosed` (``gpscale evaluate --out DIR``
through :mod:`gpscale.evaluate.bundle`; survey reports through :mod:`gpscale.surveys.report`): one
Parquet file per table, ``manifest.json`` (schema version, tables with columns, keys, counts and row
counts, what the gate hid and why, and the caller's metadata), optional CSV copies and an Excel
workbook through :mod:`gpscale.export`, which neutralises spreadsheet formulas.

:func:`open_bundle` checks the manifest (schema version, the disclosure gate
applied, every listed file present with the size the writer recorded) and returns a :class:`Bundle`:
DuckDB views over the Parquet files, queried per request with a per-thread cursor and a bounded memory
limit, so nothing is loaded whole. A filter that is only column equalities (what a dashboard page asks:
one group's, practice's or indicator's rows) is read with Arrow instead: each table is written sorted by its
key in small row groups, each file's row-group statistics are kept after the first read, and only the row
groups whose key range holds the value are read, so such a read decodes one or two row groups (DuckDB
re-reads the file's footer and decodes more per query). The report writers and the dashboard accept only
a :class:`Bundle` (:func:`require_bundle`): an undisclosed data frame cannot reach them. Layout: docs/bundle.md.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gpscale import __version__, export
from gpscale.disclosure import Disclosed, require_disclosed

#: Version of the bundle layout (manifest keys, table files); bumped when readers must change.
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SECRET = object()
#: The filter terms read with Arrow: ``col = ?``, ``col = 'text'``, ``col`` and ``NOT col`` (boolean columns), alone
#: or as a parenthesised ``OR`` of such terms.
_TERM = re.compile(r"^(?:(?P<col>[a-z][a-z0-9_]*)\s*=\s*(?:(?P<param>\?)|'(?P<text>[^']*)')"
                   r"|(?P<not>NOT\s+)?(?P<flag>[a-z][a-z0-9_]*))$")
#: One filter term read with Arrow: ``(column, value)`` for ``column = value``; ``(column, True)`` / ``(column, False)``
#: with the flag set for a truth-value column itself / ``NOT`` it.
_Term = tuple[str, Any, bool]
#: A filter read with Arrow: the terms (AND of ORs), the ``(column, value)`` equalities that choose the row groups,
#: and the columns it reads.
_Parsed = tuple[list[list[_Term]], list[list[tuple[str, Any]]], list[str]]
_ORDER = re.compile(r"^[a-z][a-z0-9_]*(\s*,\s*[a-z][a-z0-9_]*)*$")


class BundleError(ValueError):
    """A folder that is not a complete, disclosed results bundle of this version."""


class Bundle:
    """A disclosed results bundle, queried in place (see the module notes). Only :func:`open_bundle` makes one."""

    def __init__(self, folder: Path, manifest: dict[str, Any], con: duckdb.DuckDBPyConnection, token: object) -> None:
        if token is not _SECRET:
            raise TypeError("a Bundle is made only by gpscale.bundle.open_bundle")
        self.folder = folder
        self.manifest = manifest
        self._con = con
        self._local = threading.local()
        self._threads: weakref.WeakSet[_ThreadState] = weakref.WeakSet()  # a thread's state goes with the thread
        self._meta: dict[str, pq.FileMetaData] = {}
        self._empties: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}
        self._stats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ metadata

    @property
    def names(self) -> list[str]:
        return list(self.manifest["tables"])

    def has(self, name: str) -> bool:
        return name in self.manifest["tables"]

    def rows(self, name: str) -> int:
        return int(self.manifest["tables"][name]["rows"]) if self.has(name) else 0

    def columns(self, name: str) -> list[str]:
        return [c["name"] for c in self.manifest["tables"][name]["columns"]] if self.has(name) else []

    @property
    def data_version(self) -> str:
        return str(self.manifest.get("data_version", ""))

    @property
    def view(self) -> str:
        return str(self.manifest.get("membership_view", "as-was"))

    @property
    def disclosure(self) -> dict[str, Any]:
        return dict(self.manifest.get("disclosure", {}))

    # ------------------------------------------------------------------ queries

    def _state(self) -> _ThreadState:
        state: _ThreadState | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _ThreadState()
            with self._lock:
                self._threads.add(state)
        return state

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's DuckDB cursor (cursors are not shared between threads)."""
        state = self._state()
        if state.cursor is None:
            state.cursor = self._con.cursor()
        return state.cursor

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run ``sql`` (tables are views named after the bundle's tables) with ``params``."""
        return self.cursor().execute(sql, list(params)).df()

    def table(self, name: str, where: str = "", params: Sequence[Any] = (), columns: Sequence[str] = (),
              order: str = "") -> pd.DataFrame | None:
        """Rows of table ``name`` (``None`` when the bundle has no such table: "not computed").

        ``where`` and ``order`` are SQL fragments written by gpscale (values always go in ``params``).
        """
        if not self.has(name):
            return None
        parsed = self._parse(name, where, params)
        found = self._read(name, parsed, columns, order) if parsed is not None and (not order or _ORDER.match(order)) \
            else None
        if found is not None:
            return found
        return self.query(_sql(name, where, columns, order), params)

    def arrow(self, name: str, where: str = "", params: Sequence[Any] = (),
              columns: Sequence[str] = ()) -> pa.Table | None:
        """The rows :meth:`table` gives (in the file's order), as an Arrow table with DuckDB's column types, for a page
        that shapes a few rows without pandas; ``None`` when the bundle has no such table."""
        if not self.has(name):
            return None
        parsed = self._parse(name, where, params)
        found = self._select(name, parsed, columns, []) if parsed is not None else None
        if found is None:  # DuckDB's answer in the file's types, as the Arrow read gives them
            found = self.cursor().sql(_sql(name, where, columns, ""), params=list(params)).to_arrow_table()
            file = self._metadata(name).schema.to_arrow_schema()
            found = found.cast(pa.schema([file.field(c) for c in found.column_names]))
        return _duckdb_types(found)

    def _parse(self, name: str, where: str, params: Sequence[Any]) -> _Parsed | None:
        """``where`` as filter terms for Arrow (an AND of ORs) and, per AND-ed term, the ``(column, value)``
        equalities one of which every row meets (they choose the row groups to read; a term with a truth-value
        column chooses none), or None when ``where`` is not only equalities joined by AND."""
        known = set(self.columns(name))
        values = list(params)
        pins: list[list[tuple[str, Any]]] = []
        either_of: list[tuple[str, Any]] | None = []
        used: list[str] = []

        def term(text: str) -> _Term | None:
            nonlocal either_of
            m = _TERM.match(text.strip())
            col = m and (m["col"] or m["flag"])
            if m is None or col not in known:
                return None
            used.append(col)
            if m["param"]:
                if not values or not isinstance(values[0], str | int | float | bool):
                    return None
                value = values.pop(0)
            elif m["col"]:
                value = m["text"]
            else:
                either_of = None  # a truth-value column: the row groups' statistics are not consulted
                return (col, not m["not"], True)
            if either_of is not None:
                either_of.append((col, value))
            return (col, value, False)

        terms: list[list[_Term]] = []
        for conjunct in (t.strip() for t in where.split(" AND ")) if where.strip() else ():
            inner = conjunct[1:-1] if conjunct.startswith("(") and conjunct.endswith(")") else conjunct
            if inner is conjunct and " OR " in conjunct:
                return None  # an OR outside parentheses binds looser than the ANDs around it
            either: list[_Term] = []
            either_of = []
            for part in inner.split(" OR "):
                found = term(part)
                if found is None:
                    return None
                either.append(found)
            if either_of:
                pins.append(either_of)
            terms.append(either)
        return None if values else (terms, pins, used)

    def prepare(self) -> None:
        """Read every table's footer and its key columns' row-group ranges now (a server does, before its first
        visitor; a lookup would read them on first use)."""
        for name, entry in self.manifest["tables"].items():
            names = self._metadata(name).schema.names
            for column in entry.get("key") or ():
                if column in names:
                    self._ranges(name, column)

    def _metadata(self, name: str) -> pq.FileMetaData:
        """The table's Parquet footer (schema and row-group statistics), read once and kept."""
        with self._lock:
            found = self._meta.get(name)
            if found is None:
                found = pq.read_metadata(self.folder / self.manifest["tables"][name]["file"])
                self._meta[name] = found
            return found

    def _file(self, name: str) -> pq.ParquetFile:
        """This thread's open reader of the table's file (with the kept footer): opening one costs more than reading
        a row group from it."""
        files = self._state().files
        found = files.get(name)
        if found is None:
            found = pq.ParquetFile(self.folder / self.manifest["tables"][name]["file"], metadata=self._metadata(name))
            files[name] = found
        return found

    def _ranges(self, name: str, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which row groups have statistics of ``column``, and those row groups' smallest and largest values."""
        key = (name, column)
        with self._lock:
            found = self._stats.get(key)
        if found is None:
            meta = self._metadata(name)
            at = meta.schema.names.index(column)
            stats = [meta.row_group(i).column(at).statistics for i in range(meta.num_row_groups)]
            known = np.array([s is not None and s.has_min_max for s in stats], dtype=bool)
            found = (known, np.array([s.min for s, k in zip(stats, known, strict=True) if k], dtype=object),
                     np.array([s.max for s, k in zip(stats, known, strict=True) if k], dtype=object))
            with self._lock:
                self._stats[key] = found
        return found

    def _row_groups(self, name: str, pins: list[list[tuple[str, Any]]]) -> list[int] | None:
        """The row groups whose statistics allow, for every AND-ed term, one of its ``column = value`` (None: read
        them all).

        Arrow's own pruning simplifies the filter against every row group's statistics on each read (~30 ms
        for a table of 3,000 row groups); comparing a value with two kept arrays takes well under a millisecond."""
        keep: np.ndarray | None = None
        for either_of in pins:
            inside = self._allows(name, either_of)
            if inside is not None:
                keep = inside if keep is None else keep & inside
        return None if keep is None else np.flatnonzero(keep).tolist()

    def _allows(self, name: str, either_of: list[tuple[str, Any]]) -> np.ndarray | None:
        """Per row group, whether its statistics allow any of ``column = value`` (None: they cannot tell)."""
        out: np.ndarray | None = None
        for column, value in either_of:
            if column not in self._metadata(name).schema.names:
                return None
            known, lo, hi = self._ranges(name, column)
            inside = ~known  # a row group without statistics may hold anything
            try:
                inside[known] = (lo <= value) & (hi >= value)  # one comparison per array, not a Python loop
            except TypeError:
                return None  # a value Arrow compares after casting: these statistics choose nothing
            out = inside if out is None else out | inside
        return out

    def _select(self, name: str, parsed: _Parsed, columns: Sequence[str], keys: list[str]) -> pa.Table | None:
        """Rows of ``name`` matching the parsed filter, columns ``columns`` (all when empty) and ``keys``; None when
        Arrow cannot compare a value with its column's type (DuckDB casts it).

        The chosen row groups are read straight from the file with the kept footer (only the shown, filtered and
        sorting columns) and filtered in memory."""
        terms, pins, used = parsed
        meta = self._metadata(name)
        groups = self._row_groups(name, pins)
        shown = list(columns) or meta.schema.names
        needed = list(dict.fromkeys([*shown, *used, *keys]))
        try:
            table = self._file(name).read_row_groups(range(meta.num_row_groups) if groups is None else groups,
                                                     columns=needed, use_threads=False)
            return _filtered(table, terms).select(list(dict.fromkeys([*shown, *keys])))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError):
            return None

    def _read(self, name: str, parsed: _Parsed, columns: Sequence[str], order: str) -> pd.DataFrame | None:
        """:meth:`_select`'s rows as DuckDB would return them (plain columns, no pandas index; no row: DuckDB's empty
        frame of those columns, made once, instead of a DuckDB scan of the whole file), sorted by ``order`` with
        Arrow's stable sort when every sort column is text or integer (a third of the time of a dataset scan with a
        filter and a pandas sort), else pandas's."""
        keys = [c.strip() for c in order.split(",")] if order else []
        shown = list(columns) or self._metadata(name).schema.names
        table = self._select(name, parsed, columns, keys)
        if table is None:
            return None
        if table.num_rows == 0:
            return self._empty(name, shown)
        if keys and all(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                        for t in (table.schema.field(k).type for k in keys)):
            table = table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))
            keys = []
        table = table.select(shown)
        frame = _duckdb_types(table).to_pandas(use_threads=False)
        if keys:
            frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
        return frame

    def _empty(self, name: str, columns: list[str]) -> pd.DataFrame:
        """DuckDB's frame of no rows of these columns (kept per table and column list: gpscale's code names them)."""
        key = (name, tuple(columns))
        with self._lock:
            found = self._empties.get(key)
        if found is None:
            found = self.query(_sql(name, "", columns, "") + " LIMIT 0")
            with self._lock:
                self._empties[key] = found
        return found.copy()

    def release_threads(self) -> None:
        """Close every thread's readers and cursor now, in the calling thread (each thread opens new ones when it
        next reads). A server calls this when it stops: a worker thread that ends while the interpreter exits
        would otherwise free its Arrow readers then, and Arrow aborts the process when a thread is cut off in
        the middle of freeing one (apache/arrow#34314)."""
        with self._lock:
            states = list(self._threads)
        for state in states:
            state.release()

    def close(self) -> None:
        self.release_threads()
        self._con.close()


class _ThreadState:
    """One thread's DuckDB cursor and open Parquet readers (neither may be shared between threads)."""

    __slots__ = ("__weakref__", "cursor", "files")

    def __init__(self) -> None:
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self.files: dict[str, pq.ParquetFile] = {}

    def release(self) -> None:
        files, self.files = self.files, {}
        for file in files.values():
            file.close()
        cursor, self.cursor = self.cursor, None
        if cursor is not None:
            cursor.close()


def _sql(name: str, where: str, columns: Sequence[str], order: str) -> str:
    """The DuckDB query of :meth:`Bundle.table` for filters Arrow does not read."""
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return f'SELECT {cols} FROM "{name}"' + (f" WHERE {where}" if where else "") + (
        f" ORDER BY {order}" if order else "")


def _filtered(table: pa.Table, terms: list[list[_Term]]) -> pa.Table:
    """The rows meeting every AND-ed group of terms (one of each group's), as SQL keeps them: a comparison with a
    null is unknown and the row is dropped. Compute kernels on the columns, not an Acero plan (a tenth of the time
    on a lookup's few thousand rows); values are cast as Acero casts them, by the same kernels."""
    mask: pa.ChunkedArray | None = None
    for either in terms:
        part: pa.ChunkedArray | None = None
        for column, value, flag in either:
            found = (table[column] if value else pc.invert(table[column])) if flag else pc.equal(table[column], value)
            part = found if part is None else pc.or_kleene(part, found)
        mask = part if mask is None else pc.and_kleene(mask, part)
    return table if mask is None else table.filter(mask)


def _duckdb_types(table: pa.Table) -> pa.Table:
    """``table`` with every column as DuckDB hands it to pandas (:func:`_as_duckdb`)."""
    return pa.table({f.name: _as_duckdb(table[f.name]) for f in table.schema})


def _as_duckdb(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as DuckDB hands it to pandas: dictionaries decoded, dates and naive times in microseconds."""
    t = column.type
    if pa.types.is_dictionary(t):
        return column.cast(t.value_type)
    if pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None):
        return column.cast(pa.timestamp("us"))
    return column


def write_bundle(
    bundle: Disclosed,
    out: Path,
    *,
    meta: dict[str, Any] | None = None,
    csv: bool = True,
    excel: bool = False,
) -> list[Path]:
    """Write a disclosed bundle into ``out``: Parquet per table, ``manifest.json``, optional CSV and Excel.

    ``meta`` (membership view, data version, analyses...) goes into the manifest. Only a
    :class:`~gpscale.disclosure.Disclosed` is accepted: an undisclosed frame cannot be written.
    Files are written first and the manifest last, so a folder with a manifest is complete.
    """
    bundle = require_disclosed(bundle, "write_bundle")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    listing: dict[str, Any] = {}
    for name, frame in bundle.tables.items():
        spec = bundle.specs[name]
        path = out / f"{name}.parquet"
        export.write_parquet(frame, path, spec.key)
        paths.append(path)
        listing[name] = {
            "file": path.name, "rows": len(frame), "bytes": path.stat().st_size,
            "columns": [{"name": str(c), "type": str(frame[c].dtype)} for c in frame.columns],
            **spec.describe(),
        }
        if csv:
            paths.append(export.write_csv(frame, out / f"{name}.csv"))
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"gpscale {__version__}",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(meta or {}),
        "tables": listing,
        "disclosure": {"applied": True, **bundle.summary},
    }
    if excel:
        xlsx, left_out = export.write_excel(bundle.tables, out / "results.xlsx")
        manifest["excel"] = {"file": xlsx.name, "left_out_too_many_rows": left_out}
        paths.append(xlsx)
    mp = out / MANIFEST
    mp.write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
    paths.append(mp)
    return paths


def _check(folder: Path) -> dict[str, Any]:
    mp = folder / MANIFEST
    if not mp.is_file():
        raise BundleError(f"{folder} is not a results bundle (no {MANIFEST}); run gpscale evaluate --out {folder}")
    try:
        manifest = json.loads(mp.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{mp}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(f"{mp}: bundle schema version {version!r}, this gpscale reads {SCHEMA_VERSION}; "
                          "run gpscale evaluate again")
    if not manifest.get("disclosure", {}).get("applied"):
        raise BundleError(f"{mp}: the disclosure gate was not applied to this bundle; it cannot be shown")
    for name, entry in manifest.get("tables", {}).items():
        if not _NAME.match(name):
            raise BundleError(f"{mp}: bad table name {name!r}")
        path = folder / str(entry.get("file", ""))
        if path.parent != folder or not path.is_file():
            raise BundleError(f"{mp}: table {name} file {entry.get('file')!r} is missing")
        if path.stat().st_size != entry.get("bytes"):
            raise BundleError(f"{mp}: table {name} file {path.name} was changed after the bundle was written")
    return manifest


def open_bundle(folder: Path, memory_limit: str = "256MB", threads: int = 1) -> Bundle:
    """Open the bundle in ``folder`` (see the module notes); :class:`BundleError` says what is wrong."""
    folder = Path(folder).resolve()
    manifest = _check(folder)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_object_cache = true")
    con.execute("SET enable_progress_bar = false")
    for name, entry in manifest["tables"].items():
        path = str(folder / entry["file"]).replace("'", "''")
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    return Bundle(folder, manifest, con, _SECRET)


def require_bundle(obj: object, what: str) -> Bundle:
    """``obj`` if it is an opened, disclosed bundle, else TypeError (report writers and the dashboard call this)."""
    if not isinstance(obj, Bundle):
        raise TypeError(f"{what} accepts only a disclosed results bundle (gpscale.bundle.open_bundle), "
                        f"not {type(obj).__name__}")
    return obj
