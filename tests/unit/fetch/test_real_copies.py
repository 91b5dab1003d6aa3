"""Real published files (copies in ../shared/data/real) are recognised by `gpscale fetch add` — by the
checksums the catalogue records for them, or by content — and ingest from the cache.

Skipped, with the reason, where the shared data folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.fetch.cache import Cache, EditionStatus
from gpscale.fetch.catalogue import Target, load_catalogue
from gpscale.fetch.download import Downloader
from gpscale.fetch.fetcher import Fetcher
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.shared_data import require_shared

REAL = require_shared("real")  # skips this module, with the reason, where the data are absent

pytestmark = pytest.mark.realdata


@pytest.fixture
def fetcher(tmp_path: Path) -> Fetcher:
    return Fetcher(load_catalogue(), Cache(tmp_path / "cache"), Downloader())


@pytest.mark.parametrize(("path", "entry", "edition"), [
    ("qof_prevalence/PREVALENCE_1920.csv", "qof", "2019-20"),
    ("qof_prevalence/PREVALENCE_1617.csv", "qof", "2016-17"),
    ("qof_organisation_reference/MAPPING_NHS_GEOGRAPHIES_2021.csv", "qof", "2020-21"),
    ("ods_epraccur/epraccur_2022-02.csv", "ods-epraccur", "2022-02"),
    ("ods_epcn/ePCN_2019-12.xlsx", "ods-epcn", "2019-12"),
    ("nhs_payments_to_general_practice/nhspaymentsgp-21-22-prac-csv-v2.csv", "nhs-payments", "2021-22"),
    ("imd_deprivation/File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx", "imd-2019", "file-1"),
    ("fingertips_practice_extracts/fingertips_93553_IMD2019_practice.csv", "fingertips", "93553-practice"),
])
def test_real_copy_is_recognised_by_its_checksum(fetcher: Fetcher, path: str, entry: str, edition: str) -> None:
    file = REAL / path
    if not file.exists():
        pytest.skip(f"{path} is not in {REAL}")
    rec = fetcher.add(file).records[0]
    assert (rec.entry, rec.edition, rec.edition_status) == (entry, edition, EditionStatus.KNOWN)


def test_changed_real_file_is_recognised_by_its_content(fetcher: Fetcher, tmp_path: Path) -> None:
    src = REAL / "nhs_payments_to_general_practice" / "nhspaymentsgp-20-21-prac-csv.csv"
    if not src.exists():
        pytest.skip(f"{src} is absent")
    changed = tmp_path / src.name
    changed.write_bytes(src.read_bytes().replace(b"\r\n", b"\n"))  # same content, other line endings
    out = fetcher.add(changed)
    assert (out.records[0].entry, out.records[0].edition_status) == ("nhs-payments", EditionStatus.UNIDENTIFIED)
    assert "recognised by the nhs_payments loader" in out.messages[0]


def test_real_files_ingest_from_the_cache(fetcher: Fetcher, tmp_path: Path) -> None:
    files = [REAL / "qof_prevalence" / "PREVALENCE_1920.csv", REAL / "ods_epraccur" / "epraccur_2019-12.csv"]
    if not all(f.exists() for f in files):
        pytest.skip("PREVALENCE_1920.csv or epraccur_2019-12.csv is absent")
    for f in files:
        fetcher.add(f)
    paths = fetcher.ingest_paths([Target("qof", "2019-20"), Target("ods-epraccur")])
    assert sorted(p.name for p in paths) == ["PREVALENCE_1920.csv", "epraccur_2019-12.csv"]
    with open_store(tmp_path / "s.duckdb") as st:
        report = ingest(st, paths)
    assert {f.format for f in report.files} == {"qof_prevalence", "ods_epraccur"}
    assert [f.rows_in for f in report.files if f.format == "qof_prevalence"] == [141_120]  # PROVENANCE.md
