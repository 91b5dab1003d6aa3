"""`gpscale fetch` end to end against the local server: zips checked and extracted, editions told apart,
the manifest as a lock file, files added by hand, verification, and the paths handed to ingest."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from gpscale.fetch.archive import ZipLimits
from gpscale.fetch.cache import Cache, EditionStatus, RecordSource
from gpscale.fetch.catalogue import Target, load_catalogue
from gpscale.fetch.download import Downloader
from gpscale.fetch.errors import FetchError
from gpscale.fetch.fetcher import Fetcher, OutcomeKind
from tests.unit.fetch.catalogues import PAYMENTS, PREVALENCE, local_catalogue, sha, zip_bytes
from tests.unit.fetch.server import ScriptedServer, cut, sequence, serve, status

QOF_ZIP = zip_bytes({"PREVALENCE_1920.csv": PREVALENCE, "ACHIEVEMENT_1920.csv": b"PRACTICE_CODE\r\nA81001\r\n",
                     "QOF 2019-20 data dictionary.pdf": b"%PDF-1.4 not really"})


@pytest.fixture
def fetcher(server: ScriptedServer, cache: Cache, downloader: Downloader) -> Fetcher:
    return Fetcher(local_catalogue(server), cache, downloader)


def manifest(cache: Cache) -> list[dict[str, object]]:
    return json.loads(cache.manifest_path.read_text())["records"] if cache.manifest_path.exists() else []


def objects(cache: Cache) -> list[Path]:
    return sorted(p for p in (cache.root / "objects").rglob("*") if p.is_file()) if cache.root.exists() else []


def test_zip_is_checked_extracted_and_recorded(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP, content_type="application/zip")
    out = fetcher.get(Target.parse("qof/2019-20"))
    assert out.kind is OutcomeKind.FETCHED
    top, *members = out.records
    assert (top.name, top.size, top.sha256, top.url) == ("QOF_1920.zip", len(QOF_ZIP), sha(QOF_ZIP),
                                                         server.url("/QOF_1920.zip"))
    assert top.edition_status is EditionStatus.UNLISTED and top.source is RecordSource.DOWNLOAD
    by_name = {m.name: m for m in members}
    assert set(by_name) == {"PREVALENCE_1920.csv", "ACHIEVEMENT_1920.csv", "QOF 2019-20 data dictionary.pdf"}
    assert by_name["PREVALENCE_1920.csv"].edition_status is EditionStatus.KNOWN
    assert all(m.parent_sha256 == top.sha256 and m.source is RecordSource.ZIP_MEMBER for m in members)
    for r in out.records:  # each file stored once under its hash, read-only
        path = cache.object_path(r)
        assert path.parent.name == r.sha256 and sha(path.read_bytes()) == r.sha256
        assert not os.access(path, os.W_OK) or os.geteuid() == 0
    rows = manifest(cache)
    assert {(r["entry"], r["edition"], r["name"]) for r in rows} == {("qof", "2019-20", n) for n in
                                                                      [top.name, *by_name]}
    assert all(r["fetched_at"].endswith("Z") for r in rows)
    assert not list((cache.root / "partial").glob("*.part"))


def test_cached_edition_is_not_downloaded_again(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP)
    fetcher.get(Target.parse("qof/2019-20"))
    again = fetcher.get(Target.parse("qof/2019-20"))
    assert again.kind is OutcomeKind.CACHED
    assert len(server.hits_on("/QOF_1920.zip")) == 1


def test_zip_with_an_unexpected_member_is_refused(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/QOF_1920.zip"] = serve(zip_bytes({"PREVALENCE_1920.csv": PREVALENCE, "setup.exe": b"MZ"}))
    with pytest.raises(FetchError, match=r"unexpected member\(s\) 'setup.exe'"):
        fetcher.get(Target.parse("qof/2019-20"))
    assert manifest(cache) == [] and objects(cache) == []


def test_unexpected_member_reported_where_the_entry_says_so(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/ods/current/epraccur.zip"] = serve(zip_bytes({"epraccur.csv": b'"A81001","X"\r\n',
                                                                  "notes.txt": b"hello"}))
    out = fetcher.get(Target.parse("snapshot"))
    assert out.records[0].edition == "current"
    assert any("unexpected member(s) kept but not used: notes.txt" in m for m in out.messages)


def test_zip_missing_a_required_member_is_refused(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/QOF_1920.zip"] = serve(zip_bytes({"ACHIEVEMENT_1920.csv": b"x"}))
    with pytest.raises(FetchError, match=r"no member matching 'prevalence\*.csv'"):
        fetcher.get(Target.parse("qof/2019-20"))
    assert manifest(cache) == []


def test_zip_member_escaping_the_folder_is_refused(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/QOF_1920.zip"] = serve(zip_bytes({"PREVALENCE_1920.csv": PREVALENCE, "../../evil.csv": b"x"}))
    with pytest.raises(FetchError, match="path outside the zip's folder"):
        fetcher.get(Target.parse("qof/2019-20"))


def test_zip_bomb_limits(server: ScriptedServer, cache: Cache, downloader: Downloader) -> None:
    bomb = zip_bytes({"PREVALENCE_1920.csv": b"0" * 3_000_000})  # ~3,000-fold
    server.routes["/QOF_1920.zip"] = serve(bomb)
    strict = Fetcher(local_catalogue(server), cache, downloader, limits=ZipLimits(max_ratio=100.0))
    with pytest.raises(FetchError, match=r"would expand .*-fold .*possible zip bomb"):
        strict.get(Target.parse("qof/2019-20"))
    small = Fetcher(local_catalogue(server), cache, downloader, limits=ZipLimits(max_total_bytes=1_000_000))
    with pytest.raises(FetchError, match="more than the 1,000,000 allowed"):
        small.get(Target.parse("qof/2019-20"), refresh=True)
    assert manifest(cache) == []


def test_known_checksum_identifies_the_edition(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(PAYMENTS)
    out = fetcher.get(Target.parse("payments/2023-24"))
    assert out.records[0].edition_status is EditionStatus.KNOWN
    assert out.records[0].name == "nhspaymentsgp-23-24-prac-csv.csv"


def test_wrong_checksum_is_recorded_as_a_new_edition(fetcher: Fetcher, server: ScriptedServer) -> None:
    reissued = PAYMENTS.replace(b"DENSHAM", b"DENSHAN")
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(reissued)
    out = fetcher.get(Target.parse("payments/2023-24"))
    assert out.records[0].edition_status is EditionStatus.NEW
    assert out.records[0].sha256 == sha(reissued)
    assert any("differs from the known edition" in m and "recorded as a new edition" in m for m in out.messages)


def test_stitched_resume_is_detected_by_checksum_and_fetched_again(
    fetcher: Fetcher, server: ScriptedServer, cache: Cache
) -> None:
    old = PAYMENTS.replace(b"DENSHAM", b"OLDNAME")  # a partial download of an older edition is on disk
    url = server.url("/files/7A/nhspaymentsgp-23-24-prac-csv.csv")
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(PAYMENTS, honour_if_range=False)
    entry = fetcher.catalogue.entry("payments")
    part = fetcher._part_path(entry, entry.edition("2023-24"), url)
    part.write_bytes(old[:1000])
    part.with_suffix(".part.json").write_text(json.dumps({"url": url, "validator": '"v0"'}))
    out = fetcher.get(Target.parse("payments/2023-24"))
    assert out.records[0].edition_status is EditionStatus.KNOWN
    ranges = [h.headers.get("range") for h in server.hits_on("/files/7A/nhspaymentsgp-23-24-prac-csv.csv")]
    assert ranges == ["bytes=1000-", None]  # resumed, found wrong, fetched whole


def test_locked_refuses_a_different_checksum(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = sequence(serve(PAYMENTS), serve(PAYMENTS + b"x"))
    fetcher.get(Target.parse("payments/2023-24"))
    before = cache.manifest_path.read_bytes()
    with pytest.raises(FetchError, match=r"--locked.*differs from the one in the manifest.*cache is unchanged"):
        fetcher.get(Target.parse("payments/2023-24"), refresh=True, locked=True)
    assert cache.manifest_path.read_bytes() == before
    assert not list((cache.root / "partial").glob("*.part"))


def test_locked_accepts_the_same_file(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(PAYMENTS)
    fetcher.get(Target.parse("payments/2023-24"))
    out = fetcher.get(Target.parse("payments/2023-24"), refresh=True, locked=True)
    assert out.kind is OutcomeKind.FETCHED and len(fetcher.cache.records()) == 1


def test_interrupted_download_resumes_into_the_cache(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = sequence(cut(PAYMENTS, 1500), serve(PAYMENTS))
    out = fetcher.get(Target.parse("payments/2023-24"))
    assert out.records[0].edition_status is EditionStatus.KNOWN


def test_ckan_resource_is_looked_up_at_run_time(fetcher: Fetcher, server: ScriptedServer) -> None:
    epd = b"YEAR_MONTH,PRACTICE_CODE,BNF_CODE,ITEMS\r\n202401,A81001,0101010G0AAABAB,3\r\n"
    package = {"success": True, "result": {"resources": [
        {"name": "EPD_202312", "url": server.url("/dl/epd_202312.csv")},
        {"name": "EPD_202401", "url": server.url("/dl/epd_202401.csv")},
    ]}}
    server.routes["/api/3/action/package_show"] = serve(json.dumps(package).encode(), content_type="application/json")
    server.routes["/dl/epd_202401.csv"] = serve(epd)
    out = fetcher.get(Target.parse("epd/202401"))
    assert out.records[0].name == "epd_202401.csv" and out.records[0].size == len(epd)
    assert server.hits_on("/api/3/action/package_show")[0].query == "id=english-prescribing-data-epd"
    with pytest.raises(FetchError, match=r"no resource named EPD_202402.*the latest listed is EPD_202401"):
        fetcher.get(Target.parse("epd/202402"))
    with pytest.raises(FetchError, match="no edition '201301'"):
        fetcher.get(Target.parse("epd/201301"))


def test_discover_follows_the_link_on_the_month_page(fetcher: Fetcher, server: ScriptedServer) -> None:
    page = (b'<html><body><a href="https://example.org/other.zip">x</a>'
            b'<a href="/files/AB/12/gp-reg-pat-prac-quin-age.zip">5-year age groups</a></body></html>')
    server.routes["/reg/march-2025"] = serve(page, content_type="text/html")
    quin = zip_bytes({"gp-reg-pat-prac-quin-age.csv": b"PUBLICATION,EXTRACT_DATE\r\n"})
    server.routes["/files/AB/12/gp-reg-pat-prac-quin-age.zip"] = serve(quin)
    out = fetcher.get(Target.parse("quin/2025-03"))
    assert out.records[0].url == server.url("/files/AB/12/gp-reg-pat-prac-quin-age.zip")
    assert [m.name for m in out.records[1:]] == ["gp-reg-pat-prac-quin-age.csv"]


def test_edition_without_a_url_is_for_doing_by_hand(fetcher: Fetcher, server: ScriptedServer) -> None:
    out = fetcher.get(Target.parse("payments/2017-18"))
    assert out.kind is OutcomeKind.BY_HAND and server.hits == []
    assert out.messages == [
        f"payments/2017-18: Open {server.url('/payments/england-2017-18')} in a browser, download "
        "nhspaymentsgp-17-18-csv.csv, then run `gpscale fetch add FILE --entry payments --edition 2017-18`."
    ]


def test_html_instead_of_a_zip_names_the_manual_steps(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/ods/current/epraccur.zip"] = serve(b"<html><body>We have moved</body></html>",
                                                       content_type="text/html")
    with pytest.raises(FetchError, match=r"sent a web page.*Export the DSE report by hand"):
        fetcher.get(Target.parse("snapshot"))
    assert manifest(cache) == []


def test_server_error_leaves_the_cache_as_it_was(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP)
    fetcher.get(Target.parse("qof/2019-20"))
    before = cache.manifest_path.read_bytes()
    server.routes["/qof-1617-csv.zip"] = status(500)
    with pytest.raises(FetchError, match="gave up"):
        fetcher.get(Target.parse("qof/2016-17"))
    assert cache.manifest_path.read_bytes() == before


def test_add_identifies_a_file_by_its_checksum(fetcher: Fetcher, tmp_path: Path) -> None:
    f = tmp_path / "downloaded.csv"
    f.write_bytes(PREVALENCE)
    out = fetcher.add(f)
    rec = out.records[0]
    assert (rec.entry, rec.edition, rec.edition_status, rec.source) == (
        "qof", "2019-20", EditionStatus.KNOWN, RecordSource.BY_HAND)
    assert rec.origin == str(f.resolve())
    assert "full checksum match with member PREVALENCE_1920.csv of qof/2019-20" in out.messages[0]
    assert f.exists()  # copied, not moved


def test_add_identifies_a_file_by_its_content(cache: Cache, downloader: Downloader, tmp_path: Path) -> None:
    real = Fetcher(load_catalogue(), cache, downloader)
    f = tmp_path / "PREVALENCE_2223.csv"
    f.write_bytes(PREVALENCE.replace(b"A81001", b"A81003"))  # an edition nobody has a checksum for
    out = real.add(f)
    assert (out.records[0].entry, out.records[0].edition_status) == ("qof", EditionStatus.UNIDENTIFIED)
    assert "recognised by the qof_prevalence loader (qof_prevalence:FY2022/23)" in out.messages[0]


def test_add_a_zip_by_its_members(fetcher: Fetcher, tmp_path: Path) -> None:
    f = tmp_path / "epraccur.zip"
    f.write_bytes(zip_bytes({"epraccur.csv": b'"A81001","X"\r\n'}))
    out = fetcher.add(f, edition_id="2026-08-07")
    assert (out.records[0].entry, out.records[0].edition) == ("snapshot", "2026-08-07")
    assert [r.name for r in out.records[1:]] == ["epraccur.csv"]


def test_add_refuses_a_file_it_cannot_place(fetcher: Fetcher, tmp_path: Path, cache: Cache) -> None:
    f = tmp_path / "notes.csv"
    f.write_bytes(b"colour,shape\r\nred,round\r\n")
    with pytest.raises(FetchError, match=r"could not tell which publication this is.*--entry"):
        fetcher.add(f)
    assert manifest(cache) == []


def test_verify_finds_changed_and_missing_files(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP)
    out = fetcher.get(Target.parse("qof/2019-20"))
    assert all(v.problem is None for v in fetcher.verify())
    changed = cache.object_path(out.records[1])
    changed.chmod(0o644)
    changed.write_bytes(changed.read_bytes().replace(b"A81001", b"A81009"))
    cache.object_path(out.records[2]).unlink()
    problems = {v.record.name: v.problem for v in fetcher.verify() if v.problem}
    assert problems == {out.records[1].name: "content changed (SHA-256 differs from the manifest)",
                        out.records[2].name: "missing"}
    assert any(r.state == "missing files" for r in fetcher.status())


def test_status_lists_cached_and_missing_editions(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP)
    fetcher.get(Target.parse("qof/2019-20"))
    rows = {(r.entry, r.edition): r for r in fetcher.status(include_missing=True)}
    assert rows[("qof", "2019-20")].state == "unlisted"
    assert "3 members (known)" in rows[("qof", "2019-20")].detail
    assert (rows[("qof", "2016-17")].state, rows[("qof", "2016-17")].detail) == ("not fetched", "scripted")
    assert rows[("qof", "2012-13")].detail == "by hand"


def test_ingest_paths_take_the_data_members_named_with_their_edition(
    fetcher: Fetcher, server: ScriptedServer, cache: Cache
) -> None:
    server.routes["/QOF_1920.zip"] = serve(QOF_ZIP)
    server.routes["/qof-1617-csv.zip"] = serve(zip_bytes({"PREVALENCE.csv": PREVALENCE, "README.pdf": b"%PDF"}))
    fetcher.get(Target.parse("qof/2019-20"))
    fetcher.get(Target.parse("qof/2016-17"))
    paths = fetcher.ingest_paths([Target.parse("qof")])
    names = sorted(p.name for p in paths)
    assert names == ["PREVALENCE_1920.csv", "PREVALENCE_2016-17.csv"]  # the pdf and ACHIEVEMENT stub left out
    assert all(p.read_bytes() == PREVALENCE for p in paths)
    assert fetcher.ingest_paths([]) == fetcher.ingest_paths([Target.parse("qof")])
    with pytest.raises(FetchError, match="nothing cached for payments/2023-24"):
        fetcher.ingest_paths([Target.parse("payments/2023-24")])


def test_zip_members_keep_their_published_bytes(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    stored = zip_bytes({"PREVALENCE_1920.csv": PREVALENCE}, compression=zipfile.ZIP_STORED)
    server.routes["/QOF_1920.zip"] = serve(stored)
    out = fetcher.get(Target.parse("qof/2019-20"))
    assert cache.object_path(out.records[1]).read_bytes() == PREVALENCE


def test_a_workbook_is_a_file_not_a_zip_of_members(
    server: ScriptedServer, cache: Cache, downloader: Downloader, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    rules = {"members": {"required": ["epcn.xlsx"], "allowed": ["*.pdf"]}}
    fetcher = Fetcher(local_catalogue(server, snapshot=rules), cache, downloader)
    book = tmp_path / "ePCN.xlsx"
    Workbook().save(book)  # an xlsx is a zip inside, but not an archive of published files
    out = fetcher.add(book, entry_id="snapshot", edition_id="2026-01")
    assert [r.name for r in out.records] == ["ePCN.xlsx"]
    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    with pytest.raises(FetchError, match=r"expected a zip, or one of its files \(epcn.xlsx, \*.pdf\)"):
        fetcher.add(other, entry_id="snapshot")
