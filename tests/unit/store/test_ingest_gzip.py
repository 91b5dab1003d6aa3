"""Gzip-compressed CSV inputs (``*.csv.gz``) ingest exactly as the plain file does.

The oracle is the plain file itself: every CSV layout, gzipped, must give the same store rows, the same
quarantined rows at the same line numbers and the same messages; a damaged archive is a whole-file
``unreadable-gzip`` error naming the file, with the store unchanged.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.datafile import data_suffix, inner_suffix, open_data
from gpscale.store.db import open_store
from gpscale.store.ingest import FileStatus, expand_paths, ingest
from gpscale.store.schema import DATA_TABLES
from tests.fixtures import layouts as L
from tests.shared_data import shared_path
from tests.unit.store.test_ingest_atomic import content_hash, write_big_epd

#: Every CSV layout of the fixtures (workbooks are zip archives already and are never gzipped).
CSV_LAYOUTS = sorted(k for k in L.ALL_LAYOUTS if k not in ("ods_epcn", "prescribing_units"))


def gzipped(path: Path, folder: Path) -> Path:
    """A gzip copy of ``path`` in ``folder``, named ``<name>.gz``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return out


def stored(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every data table, the quarantined rows and the ingest outcome, without what names the file itself."""
    out = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in (*DATA_TABLES, "rejects")}
    out["ingest_log"] = con.execute(
        "SELECT format, variant, publication, rows_in, rows_loaded, rows_rejected, nulls_suppressed, periods, "
        "message FROM ingest_log ORDER BY ingest_id"
    ).df()
    return out


def ingest_both(plain: Path, tmp: Path, **kw: object) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The store after ingesting ``plain``, and after ingesting its gzip copy, each into a new store."""
    zipped = gzipped(plain, tmp / "gz")
    out = []
    for i, f in enumerate((plain, zipped)):
        store = open_store(tmp / f"s{i}.duckdb")
        ingest(store, [f], **kw)  # type: ignore[arg-type]
        out.append(stored(store.con))
        store.close()
    return out[0], out[1]


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k], check_exact=True, obj=k)


@pytest.mark.parametrize("kind", CSV_LAYOUTS)
def test_every_csv_layout_gzipped_gives_the_same_store(tmp_path: Path, kind: str) -> None:
    plain = L.ALL_LAYOUTS[kind](tmp_path / "in")
    plain_rows, gz_rows = ingest_both(plain, tmp_path)
    assert sum(len(plain_rows[t]) for t in DATA_TABLES) > 0
    assert_same(plain_rows, gz_rows)


def test_prescribing_summed_gzipped_gives_the_same_store(tmp_path: Path) -> None:
    """The aggregate-at-ingest path (one DuckDB query over the file) reads the archive too."""
    from gpscale.indicators.library import load_definitions
    from gpscale.indicators.rx_served import code_set

    codes = code_set(load_definitions().values())
    plain = L.write_epd(tmp_path / "in", 2019, 9)
    plain_rows, gz_rows = ingest_both(plain, tmp_path, rx_codes=codes)
    assert len(plain_rows["prescribing_aggregate"]) == 1
    assert_same(plain_rows, gz_rows)


def _with_bad_line(path: Path, line: int, column: int, value: str) -> Path:
    """The file with field ``column`` of physical line ``line`` (1-based) replaced by ``value``."""
    lines = path.read_text().splitlines(keepends=True)
    fields = lines[line - 1].rstrip("\n").split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields) + "\n"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize(
    ("kind", "column", "value", "rule"),
    [
        ("prescribing", L.EPD_HEADER.index("ITEMS"), "many", v.NON_NUMERIC_COUNT),  # DuckDB's rejects
        ("prescribing", L.EPD_HEADER.index("PRACTICE_CODE"), "81001A", v.INVALID_ODS_CODE),  # a row rule
        ("hospital_activity", 6, "lots", v.NON_NUMERIC_COUNT),  # the streaming CSV reader
    ],
)
def test_a_rejected_row_in_a_gzipped_file_names_the_same_line(
    tmp_path: Path, kind: str, column: int, value: str, rule: str
) -> None:
    plain = _with_bad_line(L.ALL_LAYOUTS[kind](tmp_path / "in"), 7, column, value)
    plain_rows, gz_rows = ingest_both(plain, tmp_path)
    rejects = plain_rows["rejects"]
    assert list(rejects["rule"]) == [rule]
    assert_same(plain_rows, gz_rows)


def _damaged(kind: str) -> object:
    if kind == "truncated":
        return lambda b: b[: len(b) * 2 // 3]
    if kind == "flipped":  # a byte of the deflate stream changed: the CRC (or the stream) no longer checks
        return lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0x55]) + b[len(b) // 2 + 1 :]
    return lambda b: gzip.decompress(b)  # not gzip at all, though named .gz


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not-gzip"])
@pytest.mark.parametrize("big", [False, True], ids=["small", "past-the-head"])
@pytest.mark.parametrize("kind", ["prescribing", "gp_reg_patients"])
def test_a_damaged_gzip_file_is_refused_naming_file_and_rule(tmp_path: Path, kind: str, big: bool, damage: str) -> None:
    """Damage within the head read by detection, and damage past it (found by DuckDB's reader's pre-check, or
    by the streaming reader mid-file): a SourceError, no traceback, the store as it was."""
    if big:
        if kind == "prescribing":
            (tmp_path / "in").mkdir()
            plain = write_big_epd(tmp_path / "in" / "EPD_201909.csv", 60_000)
        else:  # a registrations file of many practices, several MB decompressed
            codes = [f"A{81000 + i:05d}" for i in range(1500)]
            plain = L.write_quin_age(tmp_path / "in", 2019, 4, practices=codes)
        assert plain.stat().st_size > 1 << 20
    else:
        plain = L.ALL_LAYOUTS[kind](tmp_path / "in")
    zipped = gzipped(plain, tmp_path / "gz")
    zipped.write_bytes(_damaged(damage)(zipped.read_bytes()))  # type: ignore[operator]
    store = open_store(tmp_path / "s.duckdb")
    ingest(store, [L.write_epraccur(tmp_path / "other")])
    before = content_hash(store.con)
    with pytest.raises(SourceError) as err:
        ingest(store, [zipped])
    assert err.value.rule == v.UNREADABLE_GZIP, err.value
    assert err.value.path == zipped and zipped.name in str(err.value)
    assert content_hash(store.con) == before


def test_a_compressed_workbook_is_refused_with_the_reason(tmp_path: Path) -> None:
    book = gzipped(L.write_epcn(tmp_path / "in"), tmp_path / "gz")
    store = open_store(tmp_path / "s.duckdb")
    with pytest.raises(SourceError, match="only CSV files may be gzip-compressed") as err:
        ingest(store, [book])
    assert err.value.rule == v.UNREADABLE_GZIP


def test_a_folder_ingest_takes_csv_gz_files_and_skips_other_archives(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    epd = L.write_epd(folder, 2019, 9)
    zipped = gzipped(epd, folder)
    epd.unlink()
    (folder / "notes.tar.gz").write_bytes(gzip.compress(b"not data"))
    (folder / "book.xlsx.gz").write_bytes(gzip.compress(b"not data"))
    assert expand_paths([folder]) == [zipped]
    report = ingest(open_store(tmp_path / "s.duckdb"), [folder])
    assert [f.path for f in report.files] == [zipped]
    assert sorted(s.path.name for s in report.skipped) == ["book.xlsx.gz", "notes.tar.gz"]


def test_the_same_data_plain_then_gzipped_is_one_edition(tmp_path: Path) -> None:
    """Different bytes (the ingest log's checksum is of the file as given), the same publication: the gzip
    copy replaces the plain file after the edition comparison, which finds the same rows."""
    plain = L.write_quin_age(tmp_path / "in", 2019, 4)
    store = open_store(tmp_path / "s.duckdb")
    ingest(store, [plain])
    rows_before = stored(store.con)
    report = ingest(store, [gzipped(plain, tmp_path / "gz")])
    assert [f.status for f in report.files] == [FileStatus.REPLACED_OLDER]
    rows_after = stored(store.con)
    for t in DATA_TABLES:
        pd.testing.assert_frame_equal(
            rows_before[t].drop(columns="ingest_id"), rows_after[t].drop(columns="ingest_id"), check_exact=True
        )
    assert ingest(store, [tmp_path / "gz" / (plain.name + ".gz")]).files[0].status == FileStatus.UNCHANGED


def test_names_and_bytes() -> None:
    assert data_suffix(Path("EPD_201909.CSV.GZ")) == ".csv.gz"
    assert data_suffix(Path("a.csv")) == ".csv" and inner_suffix(Path("a.csv.gz")) == ".csv"
    assert data_suffix(Path("a.gz")) == ".gz" and inner_suffix(Path("a.gz")) == ""


def test_open_data_reads_the_decompressed_bytes(tmp_path: Path) -> None:
    text = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(100_000))
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text))
    (tmp_path / "t.csv").write_bytes(text)
    for name in ("t.csv", "t.csv.gz"):
        with open_data(tmp_path / name) as f:
            assert f.read(10) == text[:10]
            f.seek(3)
            assert b"".join(f) == text[3:]


REAL_CSVS = [
    ("prescribing_openprescribing_fixtures", "epd_201709.csv"),
    ("qof_prevalence", "PREVALENCE_1920.csv"),
    ("prescribing_openprescribing_fixtures", "gp-reg-pat-prac-quin-age_201709.csv"),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("folder", "name"), REAL_CSVS)
def test_a_real_file_gzipped_ingests_identically(tmp_path: Path, folder: str, name: str) -> None:
    real = shared_path("real", folder, name)
    if not real.is_file():
        pytest.skip(f"real file {real} not found (set GPSCALE_SHARED_DATA to the shared/data folder)")
    plain = tmp_path / "in" / name
    plain.parent.mkdir()
    shutil.copy(real, plain)
    plain_rows, gz_rows = ingest_both(plain, tmp_path)
    assert sum(len(plain_rows[t]) for t in DATA_TABLES) > 0
    assert_same(plain_rows, gz_rows)
