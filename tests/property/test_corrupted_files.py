"""Corrupted and truncated files: every loader gives a clear error or a documented quarantine.

Hypothesis mutates a valid file of each layout (truncation, byte damage, a junk, deleted or repeated
line, a damaged cell) and ingests it. The outcome must be either a load whose quarantined rows carry a
row-rule id, or a SourceError with a whole-file rule id that names the file; never another exception,
and a failed ingest must leave the store exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.fixtures import layouts as L
from tests.unit.store.test_ingest_atomic import content_hash

#: Examples per layout (raise with GPSCALE_HYPOTHESIS_EXAMPLES for a deeper search; the suite stays fast).
EXAMPLES = int(os.environ.get("GPSCALE_HYPOTHESIS_EXAMPLES", "6"))

#: Whole-file rules a corrupted file may legitimately end in (docs/adr/0002-reject-vs-quarantine.md).
FILE_RULES = {
    v.UNKNOWN_FORMAT,
    v.MISSING_COLUMNS,
    v.MALFORMED_CSV,
    v.EMPTY_FILE,
    v.PERIOD_UNKNOWN,
    v.PERIOD_INCONSISTENT,
    v.DUPLICATE_KEY,
    v.TOO_MANY_REJECTS,
    v.MIXED_ENCODING,
    v.DUPLICATE_COLUMN,
    "unreadable-workbook",
}

#: one generated file of every layout (tests/fixtures/layouts.py), xlsx included
WRITERS: dict[str, Callable[[Path], Path]] = dict(L.ALL_LAYOUTS)

_TEMPLATES: dict[str, bytes] = {}
_NAMES: dict[str, str] = {}


def template(kind: str) -> tuple[str, bytes]:
    if kind not in _TEMPLATES:
        d = Path(tempfile.mkdtemp(prefix="gpscale-prop-"))
        p = WRITERS[kind](d)
        _TEMPLATES[kind], _NAMES[kind] = p.read_bytes(), p.name
        shutil.rmtree(d, ignore_errors=True)
    return _NAMES[kind], _TEMPLATES[kind]


@st.composite
def corruption(draw, data: bytes) -> bytes:
    lines = data.split(b"\n")
    kind = draw(st.sampled_from(["truncate", "bytes", "junk_line", "drop_line", "repeat_line", "cell", "blank"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "bytes":
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        return bytes(b)
    if kind == "junk_line":
        junk = draw(st.binary(min_size=0, max_size=60))
        i = draw(st.integers(0, len(lines)))
        return b"\n".join([*lines[:i], junk, *lines[i:]])
    if kind == "drop_line":
        i = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == "repeat_line":
        i = draw(st.integers(1, max(1, len(lines) - 2)))
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == "cell":
        i = draw(st.integers(0, len(lines) - 1))
        cells = lines[i].split(b",")
        j = draw(st.integers(0, len(cells) - 1))
        cells[j] = draw(st.sampled_from([b"", b"*", b"-1", b"abc", b"99999999", b"A8100", b'"', b"1e400", b"NaN"]))
        lines[i] = b",".join(cells)
        return b"\n".join(lines)
    return b""


def check_outcome(path: Path, store) -> None:
    before = content_hash(store.con)
    try:
        rep = ingest(store, [path])
    except SourceError as e:
        assert e.rule in FILE_RULES, f"unexpected rule {e.rule}: {e}"
        assert path.name in str(e)
        assert content_hash(store.con) == before, "a failed ingest changed the store"
        return
    for _, r in rep.rejects:
        assert r.rule in v.ROW_RULES, f"quarantine with a non-row rule: {r}"
        assert r.row_number is None or r.row_number >= 1


@pytest.mark.parametrize("kind", sorted(WRITERS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_file_gives_clear_error_or_quarantine(kind: str, data, tmp_path: Path) -> None:
    name, raw = template(kind)
    damaged = data.draw(corruption(raw))
    path = tmp_path / name
    path.write_bytes(damaged)
    store = open_store(":memory:")
    try:
        check_outcome(path, store)
    finally:
        store.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_workbook_gives_clear_error(data, tmp_path: Path) -> None:
    if "epcn" not in _TEMPLATES:  # one template: xlsx bytes carry a timestamp, so rebuild-per-example drifts
        d0 = Path(tempfile.mkdtemp(prefix="gpscale-prop-"))
        _TEMPLATES["epcn"] = L.write_epcn(d0).read_bytes()
        shutil.rmtree(d0, ignore_errors=True)
    raw = _TEMPLATES["epcn"]
    p = tmp_path / "ePCN.xlsx"
    p.write_bytes(raw)
    cut = data.draw(st.integers(0, len(raw)))
    mode = data.draw(st.sampled_from(["truncate", "cell"]))
    if mode == "truncate":
        p.write_bytes(raw[:cut])
    else:
        from openpyxl import load_workbook

        wb = load_workbook(p)
        ws = wb["PCN Core Partner Details"]
        row = data.draw(st.integers(1, ws.max_row))
        colno = data.draw(st.integers(1, ws.max_column))
        ws.cell(row=row, column=colno, value=data.draw(st.sampled_from(["", "x", "20191399", "U1", None, 7])))
        wb.save(p)
    store = open_store(":memory:")
    try:
        check_outcome(p, store)
    finally:
        store.close()


def test_unparseable_file_after_a_clean_checksum_check_gives_a_clear_error(tmp_path: Path) -> None:
    """A case Hypothesis found: a NUL line after the header makes DuckDB's CSV reader fail mid-transaction.

    The ingest must still name the file and rule, not fail later querying the aborted transaction.
    """
    name, raw = template("prescribing_pdpi")
    header, rest = raw.split(b"\n", 1)
    path = tmp_path / name
    path.write_bytes(header + b"\n\x00\r\n" + rest)
    store = open_store(":memory:")
    try:
        before = content_hash(store.con)
        with pytest.raises(SourceError) as err:
            ingest(store, [path])
        assert err.value.rule in FILE_RULES and path.name in str(err.value)
        assert content_hash(store.con) == before
    finally:
        store.close()
