"""Ingest is atomic (failure or SIGKILL leaves the store as it was), idempotent, and replaces older editions."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.editions import Fingerprint
from gpscale.store.ingest import ingest
from gpscale.store.schema import DATA_TABLES
from tests.fixtures import layouts as L

ROOT = Path(__file__).resolve().parents[3]


def content_hash(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of every row of every table of the store (the ingest log without its timestamps)."""
    h = hashlib.sha256()
    tables = sorted(r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = 'main'"
    ).fetchall())
    assert set(DATA_TABLES) | {"ingest_log", "rejects", "ingest_edition"} <= set(tables)
    for table in tables:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "loaded_at"]
        sel = ", ".join(f"CAST({c} AS VARCHAR)" for c in cols)
        rows = con.execute(f"SELECT {sel} FROM {table}").fetchall()
        h.update(table.encode())
        for r in sorted(rows, key=repr):
            h.update(repr(r).encode())
    return h.hexdigest()


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.duckdb")
    files = L.write_all_synthetic_layouts(tmp_path / "in")
    ingest(store, files)
    before = content_hash(store.con)
    rep = ingest(store, files)
    assert {f.status for f in rep.files} == {"unchanged"}
    assert content_hash(store.con) == before


def correct_one_register(path: Path, out: Path) -> Path:
    """A corrected edition: the same file with one practice's register revised (as a v2 publication does)."""
    lines = path.read_text().splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = str(int(cells[2]) + 1)
    lines[1] = ",".join(cells)
    out.mkdir(parents=True, exist_ok=True)
    q = out / path.name
    q.write_text("".join(lines))
    return q


def test_corrected_edition_replaces_older_and_log_keeps_both_fingerprints(tmp_path: Path) -> None:
    store = open_store(":memory:")
    old = L.write_prevalence(tmp_path / "v1", 2019)
    new = correct_one_register(old, tmp_path / "v2")
    ingest(store, [old])
    n_old = store.con.execute("SELECT count(*) FROM measure_value").fetchone()[0]
    rep = ingest(store, [new])
    assert rep.files[0].status == "replaced-older"
    assert "replaces ingest 1" in rep.files[0].message and "practices 6 → 6" in rep.files[0].message
    log = store.df("SELECT ingest_id, status, replaces FROM ingest_log ORDER BY ingest_id")
    assert list(log["status"]) == ["replaced", "loaded"] and int(log["replaces"].iloc[1]) == 1
    # only the new edition's rows remain
    assert store.con.execute("SELECT count(*) FROM measure_value").fetchone()[0] == n_old
    assert store.con.execute("SELECT count(DISTINCT ingest_id) FROM measure_value").fetchone()[0] == 1
    # the ingest log keeps both editions' fingerprints, and the replacement was not forced
    ed = store.df("SELECT * FROM ingest_edition ORDER BY ingest_id")
    assert list(ed["ingest_id"]) == [1, 2] and not ed["forced"].any()
    first, second = (Fingerprint.from_json(t) for t in ed["fingerprint"])
    assert ed["replaced_fingerprint"].iloc[1] == ed["fingerprint"].iloc[0]
    assert first.rows == second.rows == 36 and first.practices == 6
    assert second.totals["measure_value.numerator"] == first.totals["measure_value.numerator"] + 1


def test_wholly_different_content_is_refused_unless_forced(tmp_path: Path) -> None:
    store = open_store(":memory:")
    ingest(store, [L.write_prevalence(tmp_path / "v1", 2019, seed=1)])
    before = content_hash(store.con)
    other = L.write_prevalence(tmp_path / "v2", 2019, seed=2)  # same name and year, every value different
    with pytest.raises(SourceError) as ei:
        ingest(store, [other])
    assert ei.value.rule in (v.REPLACEMENT_CONTENT_DIFFERS, v.REPLACEMENT_LOSES_DATA)
    assert "rows unchanged 0 of 36" in str(ei.value) and "--replace" in str(ei.value)
    assert content_hash(store.con) == before
    rep = ingest(store, [other], replace=True)
    assert rep.files[0].status == "replaced-older" and "(--replace)" in rep.files[0].message
    assert store.con.execute("SELECT forced FROM ingest_edition WHERE ingest_id = 2").fetchone()[0] is True


def test_truncated_edition_is_refused_naming_what_it_loses(tmp_path: Path) -> None:
    store = open_store(":memory:")
    full = L.write_prevalence(tmp_path / "a", 2019)
    ingest(store, [full])
    before = content_hash(store.con)
    cut = tmp_path / "b" / full.name
    cut.parent.mkdir()
    cut.write_text("".join(full.read_text().splitlines(keepends=True)[:9]))  # two practices of six
    with pytest.raises(SourceError) as ei:
        ingest(store, [cut])
    e = ei.value
    assert e.rule == v.REPLACEMENT_LOSES_DATA and "loses 4 of 6 practices" in str(e) and "PREVALENCE_1920" in str(e)
    assert content_hash(store.con) == before


def test_different_years_do_not_replace_each_other(tmp_path: Path) -> None:
    store = open_store(":memory:")
    rep = ingest(store, [L.write_prevalence(tmp_path, 2018), L.write_prevalence(tmp_path, 2019)])
    assert [f.status for f in rep.files] == ["loaded", "loaded"]


def test_failed_ingest_leaves_store_exactly_as_before(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.duckdb")
    ingest(store, [L.write_prevalence(tmp_path / "a", 2019)])
    before = content_hash(store.con)
    good = L.write_epd(tmp_path / "b", 2019, 9)
    bad = tmp_path / "b" / "garbage.csv"
    bad.write_text("nothing,like,a,known,format\n1,2,3,4,5\n")
    with pytest.raises(SourceError):
        ingest(store, [good, bad])
    assert content_hash(store.con) == before
    store.close()
    # and after reopening the file
    again = open_store(tmp_path / "s.duckdb")
    assert content_hash(again.con) == before


def write_big_epd(path: Path, rows: int) -> Path:
    """A synthetic EPD month of ``rows`` rows, written by DuckDB (fast)."""
    con = duckdb.connect()
    cols = {c: "''" for c in L.EPD_HEADER}
    cols.update(
        {
            "YEAR_MONTH": "'201909'",
            "PRACTICE_CODE": "'A' || lpad(CAST(81000 + (i % 6500) AS VARCHAR), 5, '0')",
            "BNF_CODE": "'0501013B0AAAB' || lpad(CAST(i % 97 AS VARCHAR), 2, '0')",
            "QUANTITY": "21.0",
            "ITEMS": "CAST(1 + i % 17 AS DOUBLE)",
            "TOTAL_QUANTITY": "CAST(21 * (1 + i % 17) AS DOUBLE)",
            "ADQUSAGE": "CAST(10.5 * (1 + i % 17) AS DOUBLE)",
            "NIC": "round(1.13 * (1 + i % 17), 2)",
            "ACTUAL_COST": "round(1.05 * (1 + i % 17), 5)",
            "UNIDENTIFIED": "'N'",
        }
    )
    sel = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    con.execute(f"COPY (SELECT {sel} FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')")
    con.close()
    return path


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gpscale.store.db import open_store
    from gpscale.store.ingest import ingest

    store = open_store(sys.argv[1])

    def progress(path, i, n):
        print("started", path.name, flush=True)

    ingest(store, [Path(p) for p in sys.argv[2:]], progress=progress)
    print("committed", flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_store_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    store = open_store(db)
    ingest(store, [L.write_prevalence(tmp_path / "a", 2019), L.write_epraccur(tmp_path / "a")])
    before = content_hash(store.con)
    store.close()

    small = L.write_epd(tmp_path / "b", 2019, 8)
    big = write_big_epd(tmp_path / "b" / "EPD_201909.csv", 1_500_000)
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(small), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    seen = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("started EPD_201909.csv"):
            break
    else:  # pragma: no cover - diagnostic
        proc.kill()
        pytest.fail(f"ingest never reached the big file: {seen} {proc.stderr.read() if proc.stderr else ''}")
    time.sleep(1.5)  # part-way through loading the 1.5 million rows (about 5 s; the small file is already in)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not any("committed" in s for s in seen)

    after = open_store(db)
    assert content_hash(after.con) == before
    assert after.con.execute("SELECT count(*) FROM prescribing").fetchone()[0] == 0
    # and the store still works: the interrupted ingest can simply be run again
    rep = ingest(after, [small])
    assert rep.files[0].status == "loaded"
