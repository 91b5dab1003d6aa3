"""The shipped catalogue is valid and consistent with gpscale's loaders; the models refuse bad entries."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gpscale.fetch.catalogue import (
    Access,
    Catalogue,
    Checksum,
    ChecksumMatch,
    ChecksumSource,
    Licence,
    Target,
    load_catalogue,
)
from gpscale.fetch.errors import FetchError
from gpscale.sources.registry import formats

CATALOGUE = load_catalogue()


def test_every_entry_is_open_data_with_a_secure_landing_page() -> None:
    assert {e.licence for e in CATALOGUE.publications} == {Licence.OGL_3}
    for e in CATALOGUE.publications:
        urls = [e.landing_page, e.current_url, e.url_template, *(x.url for x in e.editions),
                *(x.landing_page for x in e.editions)]
        assert all(u is None or u.startswith("https://") for u in urls), e.id


def test_every_format_named_is_a_gpscale_loader() -> None:
    loaders = {f.name for f in formats()}
    for e in CATALOGUE.publications:
        assert e.formats, e.id
        assert set(e.formats) <= loaders, (e.id, set(e.formats) - loaders)


def test_the_catalogue_covers_the_publications_a_national_run_needs() -> None:
    ids = {e.id for e in CATALOGUE.publications}
    assert {"qof", "gpps", "epd", "epd-snomed", "gp-reg-quin-age", "ods-epraccur", "ods-epcn", "nhs-payments",
            "imd-2019", "fingertips"} <= ids
    assert CATALOGUE.entry("epd").access is Access.CKAN
    assert CATALOGUE.entry("fingertips").access is Access.FINGERTIPS


def test_every_edition_is_either_scripted_or_says_what_to_download_by_hand() -> None:
    by_hand = []
    for e in CATALOGUE.publications:
        for ed in e.editions:
            scripted = e.url_for(ed) or e.access in (Access.CKAN, Access.FINGERTIPS, Access.DISCOVER)
            recognised_only = e.current_url and not ed.url  # a past snapshot, known by its checksum
            if not (scripted or recognised_only):
                by_hand.append(f"{e.id}/{ed.id}")
                assert ed.file_name or e.manual_steps, (e.id, ed.id)
    assert "gpps/2018" in by_hand and "nhs-payments/2017-18" in by_hand and "qof/2019-20" not in by_hand


def test_gpps_url_pattern_gives_the_url_seen_in_public_code() -> None:
    gpps = CATALOGUE.entry("gpps")
    assert gpps.url_for(gpps.edition("2025")) == (
        "https://www.gp-patient.co.uk/FileDownload/Download?fileRedirect=2025%2Fsurvey-results%2Fpractice-results"
        "%2Fpractice-data-csv%2FGPPS_2025_Practice_data_(weighted)_(csv)_PUBLIC.csv")
    assert gpps.url_for(gpps.edition("2023")) is None  # not sourced: by hand


def test_gpps_partial_checksums_are_matched_only_on_what_is_known() -> None:
    c = CATALOGUE.entry("gpps").edition("2018").checksum
    assert c is not None and c.digits_known == 14
    assert c.compare(69_885_157, "521ad1ff" + "0" * 50 + "d114df") is ChecksumMatch.PARTIAL
    assert c.compare(69_885_157, "521ad1ff" + "0" * 50 + "d114dd") is ChecksumMatch.DIFFERENT
    assert c.compare(69_885_158, "521ad1ff" + "0" * 50 + "d114df") is ChecksumMatch.DIFFERENT


def test_month_editions_and_their_range() -> None:
    epd = CATALOGUE.entry("epd")
    assert epd.edition("202506").id == "202506"
    with pytest.raises(FetchError, match="from 201401 to 202506"):
        epd.edition("202507")
    reg = CATALOGUE.entry("gp-reg-quin-age")
    assert reg.landing_for(reg.edition("2025-11")).endswith("/patients-registered-at-a-gp-practice/november-2025")
    snomed = CATALOGUE.entry("epd-snomed")
    assert snomed.ckan is not None and snomed.ckan.resource.format(**snomed.fields("202601")) == "EPD_SNOMED_202601"


def test_targets() -> None:
    assert Target.parse("qof/2019-20") == Target("qof", "2019-20")
    assert Target.parse("ods-epcn") == Target("ods-epcn", None)
    with pytest.raises(FetchError):
        Target.parse("/2019-20")
    with pytest.raises(FetchError, match="known: qof"):
        CATALOGUE.entry("qfo")


def entry(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "x", "title": "X", "publisher": "p", "licence": "OGL-3.0",
                            "landing_page": "https://example.org", "access": "direct", "file_kind": "csv",
                            "typical_size": "1 MB"}
    return base | extra


@pytest.mark.parametrize(("extra", "message"), [
    ({"url_template": "https://e.org/{year}.csv"}, "a template needs an edition_pattern"),
    ({"edition_pattern": r"^(?P<year>\d{4})$", "url_template": "https://e.org/{yaer}.csv"}, "not in edition_pattern"),
    ({"file_kind": "zip"}, "must say which members"),
    ({"access": "ckan"}, "needs a ckan section"),
    ({"editions": [{"id": "1"}, {"id": "1"}]}, "duplicate edition ids"),
    ({"licence": "CC-BY-4.0"}, "licence"),
    ({"editions": [{"id": "1", "checksum": {"sha256": "ABC", "source": "publisher"}}]}, "hexadecimal"),
    ({"editions": [{"id": "1", "checksum": {"sha256_prefix": "abc", "source": "public-record"}}]}, "needs the size"),
])
def test_bad_entries_are_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Catalogue.model_validate({"publications": [entry(**extra)]})


def test_checksum_comparison() -> None:
    full = Checksum(size=3, sha256="a" * 64, source=ChecksumSource.PUBLISHER)
    assert full.compare(3, "a" * 64) is ChecksumMatch.FULL
    assert full.compare(3, "b" * 64) is ChecksumMatch.DIFFERENT
    assert full.compare(4, "a" * 64) is ChecksumMatch.DIFFERENT
