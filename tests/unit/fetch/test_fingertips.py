"""The Fingertips client against canned API answers: area types looked up at run time, one indicator per call."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from gpscale.fetch.cache import Cache
from gpscale.fetch.catalogue import Target
from gpscale.fetch.download import Downloader
from gpscale.fetch.errors import FetchError
from gpscale.fetch.fetcher import Fetcher, OutcomeKind
from gpscale.fetch.fingertips import AreaKind, AreaType, FingertipsClient, parse_edition
from tests.unit.fetch.catalogues import local_catalogue
from tests.unit.fetch.server import ScriptedServer, serve

#: Area types as the API lists them (names from OHID's API annex v1.6, plus a later PCN version).
AREA_TYPES = [
    {"Id": 15, "Name": "England", "Short": "England"},
    {"Id": 7, "Name": "GPs", "Short": "GPs"},
    {"Id": 66, "Name": "ICB sub-locations", "Short": "Sub-ICB"},
    {"Id": 167, "Name": "CCGs (from Apr 2021)", "Short": "CCGs"},
    {"Id": 204, "Name": "PCNs (v. 27/10/23)", "Short": "PCNs"},
    {"Id": 221, "Name": "ICBs", "Short": "ICBs"},
    {"Id": 223, "Name": "NHS regions (since ICB setup)", "Short": "NHS regions"},
    {"Id": 301, "Name": "PCNs (v. 25/10/24)", "Short": "PCNs"},
]
#: The all_data CSV layout (header and the first rows of the real 93930 extract, shortened).
CSV = (
    b"Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,Category Type,"
    b"Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Lower CI 99.8 limit,Upper CI 99.8 limit,"
    b"Count,Denominator,Value note,Recent Trend,Compared to England value or percentiles,Compared to percentiles,"
    b"Time period Sortable,New data,Compared to goal,Time period range\r\n"
    b"93930,A&E attendances (0 to 4 years),,,E92000001,England,England,Persons,0-4 yrs,,,2021/22,600.3,,,,,"
    b"1800000,3000000,,,Not compared,Not compared,20210000,,,1y\r\n"
)


def routes(server: ScriptedServer, available: list[int]) -> None:
    server.routes["/api/area_types"] = serve(json.dumps(AREA_TYPES).encode(), content_type="application/json")
    server.routes["/api/available_data"] = serve(
        json.dumps([{"IndicatorId": 93930, "AreaTypeId": a} for a in available]).encode(),
        content_type="application/json")
    server.routes["/api/all_data/csv/by_indicator_id"] = serve(CSV)


@pytest.fixture
def fetcher(server: ScriptedServer, cache: Cache, downloader: Downloader) -> Fetcher:
    return Fetcher(local_catalogue(server), cache, downloader)


def test_practice_rows_of_one_indicator(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    routes(server, available=[7, 66, 204, 221])
    out = fetcher.get(Target.parse("fingertips/93930"))
    rec = out.records[0]
    assert (rec.entry, rec.edition, rec.name) == ("fingertips", "93930-practice", "fingertips_93930_practice.csv")
    assert cache.object_path(rec).read_bytes() == CSV
    query = parse_qs(server.hits_on("/api/all_data/csv/by_indicator_id")[0].query)
    assert query == {"indicator_ids": ["93930"], "child_area_type_id": ["7"], "parent_area_type_id": ["15"]}
    assert parse_qs(server.hits_on("/api/available_data")[0].query) == {"indicator_id": ["93930"]}
    assert rec.note == "area type 7 (GPs); parent 15 (England)"
    assert fetcher.get(Target.parse("fingertips/93930")).kind is OutcomeKind.CACHED


def test_pcn_area_type_is_the_newest_version_with_data(fetcher: Fetcher, server: ScriptedServer) -> None:
    routes(server, available=[7, 204])  # the indicator has data only for the older PCN version
    out = fetcher.get(Target.parse("fingertips/93930"), area=AreaKind.PCN)
    assert out.records[0].edition == "93930-pcn"
    assert parse_qs(server.hits_on("/api/all_data/csv/by_indicator_id")[0].query)["child_area_type_id"] == ["204"]


def test_area_kinds_resolve_by_name(downloader: Downloader) -> None:
    client = FingertipsClient(downloader, "http://127.0.0.1:9/api")
    types = [AreaType(t["Id"], t["Name"]) for t in AREA_TYPES]  # type: ignore[arg-type]
    got = {k: client.resolve(k, types).id for k in AreaKind}
    assert got == {AreaKind.PRACTICE: 7, AreaKind.PCN: 301, AreaKind.SUB_ICB: 66, AreaKind.ICB: 221,
                   AreaKind.ENGLAND: 15}
    assert client.resolve(AreaKind.PCN, types, available={204, 301}).id == 301
    with pytest.raises(FetchError, match="no area type for icb"):
        client.resolve(AreaKind.ICB, [AreaType(66, "ICB sub-locations")])


def test_no_data_at_the_level_asked(fetcher: Fetcher, server: ScriptedServer) -> None:
    routes(server, available=[7])
    with pytest.raises(FetchError, match=r"no data at icb level in Fingertips \(tried 221 \(ICBs\)\)"):
        fetcher.get(Target.parse("fingertips/93930-icb"))


def test_an_answer_that_is_not_the_csv_is_refused(fetcher: Fetcher, server: ScriptedServer, cache: Cache) -> None:
    routes(server, available=[7])
    server.routes["/api/all_data/csv/by_indicator_id"] = serve(b'{"error": "indicator not found"}')
    with pytest.raises(FetchError, match="not a Fingertips all_data CSV"):
        fetcher.get(Target.parse("fingertips/93930"))
    assert cache.records() == []


def test_area_type_list_that_is_a_web_page(fetcher: Fetcher, server: ScriptedServer) -> None:
    server.routes["/api/area_types"] = serve(b"<html><body>Service unavailable</body></html>", content_type="text/html")
    with pytest.raises(FetchError, match=r"not JSON .a web page"):
        fetcher.get(Target.parse("fingertips/93930"))


def test_edition_names(tmp_path: Path) -> None:
    assert parse_edition("93930") == (93930, AreaKind.PRACTICE)
    assert parse_edition("91547-sub-icb") == (91547, AreaKind.SUB_ICB)
    with pytest.raises(FetchError, match="name an indicator id"):
        parse_edition("smoking")
    with pytest.raises(FetchError, match="area must be one of"):
        parse_edition("93930-region")
