"""The dashboard's scheme pages render a disclosed scheme bundle: every page, hidden cells as dashes, names escaped.

A tiny results bundle (bare scorecard) with a scheme bundle of the hand-worked networks beside it, where
practice A's count is under 5 and one network's name is hostile markup.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpscale.bundle import open_bundle, write_bundle
from gpscale.evaluate.schemes import forecast_scheme, score_scheme
from gpscale.evaluate.schemes.bundle import scheme_bundle, scheme_meta
from gpscale.web.app import create_app
from tests.spec.schemes.networks import history_inputs, make_inputs, scheme
from tests.spec.schemes.test_bundle_disclosure import TWO_TARGETS, _small_a
from tests.unit.web.world import build

HOSTILE = '=HYPERLINK("x")<script>alert(1)</script>'


@pytest.fixture(scope="module")
def client() -> TestClient:
    root = Path(tempfile.mkdtemp(prefix="gpscale-schemes-"))
    w = build(root, engine_tables=False)
    inputs = make_inputs(values=_small_a())
    groups = inputs.groups.copy()
    groups.loc[groups["group_id"] == "N2", "name"] = HOSTILE
    inputs = type(inputs)(inputs.practice_values, inputs.spells, groups, inputs.practices, inputs.definitions,
                          inputs.data_version)
    sc = score_scheme(scheme(TWO_TARGETS), inputs)
    write_bundle(scheme_bundle(sc, inputs), w.results / "schemes" / "spec", meta=scheme_meta(sc, inputs))
    # a second scheme with a forecast: networks with six years of history
    hist = history_inputs()
    s2 = scheme("indicators:\n  - indicator: pp\n    target: {type: network_standard, standard: 70}\n"
                "    reward: {amount: 100}\n").model_copy(update={"id": "hist"})
    sc2, fc2 = score_scheme(s2, hist), forecast_scheme(s2, hist, draws=500)
    write_bundle(scheme_bundle(sc2, hist, fc2), w.results / "schemes" / "hist", meta=scheme_meta(sc2, hist, fc2))
    return TestClient(create_app(open_bundle(w.results)))


def test_scheme_list_overview_network_and_download(client):
    assert 'href="/schemes"' in client.get("/").text
    listing = client.get("/schemes").text
    assert "/schemes/spec" in listing and "/schemes/hist" in listing
    page = client.get("/schemes/spec")
    assert page.status_code == 200 and "mostly chance" in page.text.lower() and "<svg" in page.text
    links = re.findall(r'href="(/schemes/spec/networks/[^"]+)"', page.text)
    assert {"/schemes/spec/networks/N1", "/schemes/spec/networks/N2"} <= set(links)
    net = client.get("/schemes/spec/networks/N1").text
    assert "Member practices" in net and "/practices/A" in net
    csv = client.get("/download/schemes/spec/scheme_contributions.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_hidden_member_shows_dashes_with_the_reason(client):
    net = client.get("/schemes/spec/networks/N1").text
    row = re.search(r'<tr class=hidden-row><th scope="row"><a href="/practices/A">A</a></th>(.*?)</tr>', net)
    assert row is not None and "count under 5" in row.group(1) and "–" in row.group(1)
    csv = client.get("/download/schemes/spec/scheme_contributions.csv").text
    a = [line for line in csv.splitlines() if ',"A",' in line]
    assert a and all("True" in line or "true" in line for line in a)


def test_hostile_names_are_escaped_in_pages_and_csv(client):
    for url in ("/schemes/spec", "/schemes/spec/networks/N2"):
        text = client.get(url).text
        assert "<script>alert(1)" not in text and "&lt;script&gt;" in text
    csv = client.get("/download/schemes/spec/scheme_totals.csv").text
    assert "'=HYPERLINK" in csv and ',"=HYPERLINK' not in csv


def test_forecast_on_the_network_page_and_bad_ids(client):
    net = client.get("/schemes/hist/networks/N00").text
    assert "Next year" in net and "probability" in net.lower()
    assert client.get("/schemes/nope").status_code == 404
    assert client.get("/schemes/spec/networks/NOPE").status_code == 404
    assert client.get("/schemes/spec/networks/%3Cx%3E").status_code in (400, 404, 422)
    assert client.get("/download/schemes/spec/practice_values.csv").status_code == 404


def test_board_pack_section_for_a_network_in_each_scheme(client):
    from gpscale.report.data import ResultsData
    from gpscale.report.scheme_pack import scheme_sections

    data = ResultsData(client.app.state.data.bundle)
    secs = scheme_sections(data, "N1")
    assert [s.id for s in secs] == ["scheme-spec"]
    html = "".join(b.html for b in secs[0].blocks)
    assert "Targets, FY2021/22" in html and "Member practices that decide an outcome" in html
    assert ">A<" not in html  # a hidden member is not named as deciding anything: its flags are hidden
    assert "targets met" in secs[0].intro[0]
    assert scheme_sections(data, "NOT-IN-ANY") == []


def test_board_pack_names_only_the_members_that_decide_an_outcome(client):
    """The bundle keeps ``decisive`` a truth value; the pack lists exactly the members it marks true (a text
    "False" once read as true listed every member)."""
    import pandas as pd

    from gpscale.report.data import ResultsData
    from gpscale.report.scheme_pack import scheme_sections

    data = ResultsData(client.app.state.data.bundle)
    co = pd.read_parquet(data.bundle.folder / "schemes" / "spec" / "scheme_contributions.parquet")
    co = co[co["group_id"] == "N2"]
    assert co["decisive"].dtype == bool or str(co["decisive"].dtype) in ("boolean", "object")
    decisive = set(co.loc[co["decisive"].eq(True), "practice_code"])
    others = set(co.loc[co["decisive"].eq(False), "practice_code"]) - decisive
    assert others, "the world must have members that decide nothing, or this test cannot fail"
    html = "".join(b.html for b in scheme_sections(data, "N2")[0].blocks)
    table = html[html.index("Member practices that decide an outcome"):]
    named = set(re.findall(r'<th scope="row">([^<]+)</th>', table))
    assert named == decisive
