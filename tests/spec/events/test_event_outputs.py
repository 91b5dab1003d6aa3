"""The event studies as the national report, a board pack and the dashboard show them, on a small bundle.

Per event kind and indicator domain the national report states the estimated change with its interval or
why it cannot say (the ``event_domain`` rows, rendered verbatim and escaped); a receiving group's board
pack and dashboard page draw its event-study charts; names are escaped in HTML and neutralised in CSV.
"""

from __future__ import annotations

import functools
import html
import re
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from gpscale.bundle import Bundle, open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.evaluate.run import evaluate_frames
from gpscale.indicators.library import load_definitions
from gpscale.periods import fy_label
from gpscale.report.board import write_group_report, write_national_report
from gpscale.web.app import create_app

INDICATORS = ("rx_broad_spectrum", "hosp_emergency_admissions")  # two domains: prescribing, hospital
HOSTILE = '=HYPERLINK("x") <b>Fed</b> & "Co"'


@functools.cache
def _bundle() -> Bundle:
    """120 practices, 2009-2022; 60 join 12 federations in 2012-2017, nearly all join PCNs in 2019, one
    practice a super-partnership (too few events)."""
    rng = np.random.default_rng(3)
    n = 120
    codes = [f"A{81000 + i}" for i in range(n)]
    frames = []
    for fy in range(2009, 2023):
        for ind, p in zip(INDICATORS, (0.3, 0.1), strict=True):
            den = rng.integers(200, 400, n).astype(float)
            num = rng.binomial(den.astype(int), p).astype(float)
            frames.append(pd.DataFrame({"indicator_id": ind, "practice_code": codes, "period": fy_label(fy),
                                        "period_type": "fy", "numerator": num, "denominator": den,
                                        "value": num / den, "definition_version": 1}))
    pv = pd.concat(frames, ignore_index=True)
    rows = [(f"FED{k % 12}", c, pd.Timestamp(date(2012 + k % 6, 4, 1))) for k, c in enumerate(codes[:60])]
    rows += [(f"U{k % 10:05d}", c, pd.Timestamp(date(2019, 7, 1))) for k, c in enumerate(codes[:117])]
    rows += [("SP1", codes[100], pd.Timestamp(date(2015, 4, 1)))]
    spells = pd.DataFrame(rows, columns=["group_id", "practice_code", "start_date"]).assign(end_date=pd.NaT)
    groups = pd.DataFrame({
        "group_id": [*(f"FED{k}" for k in range(12)), *(f"U{k:05d}" for k in range(10)), "SP1"],
        "name": [HOSTILE, *(f"Federation {k}" for k in range(1, 12)), *(f"PCN {k}" for k in range(10)), "SP one"],
        "kind": [*["federation"] * 12, *["pcn"] * 10, "super_partnership"]})
    defs = {k: v for k, v in load_definitions().items() if k in INDICATORS}
    ev = evaluate_frames(pv, spells, defs, data_version="evtest0001", groups=groups, n_boot=49,
                         analyses=("scorecard", "events"), calibration=None)
    out = Path(tempfile.mkdtemp(prefix="gpscale-events-")) / "results"
    write_bundle(make_bundle(ev), out, meta=bundle_meta(ev), csv=False)
    return open_bundle(out)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_national_report_states_each_kind_and_domain_with_an_interval_or_why_it_cannot_say(tmp_path):
    b = _bundle()
    dom = b.table("event_domain")
    assert dom is not None
    kinds = dom[dom["entity_type"] == "event_kind"]
    pairs = set(zip(kinds["event_kind"], kinds["domain"], strict=True))
    assert pairs == {(k, d) for k in ("joined_federation", "joined_pcn", "joined_super_partnership")
                     for d in ("prescribing", "hospital")}
    fed = kinds[kinds["event_kind"] == "joined_federation"]
    assert (fed["status"] == "estimated").all() and (fed["lower"] < fed["upper"]).all()
    others = kinds[kinds["event_kind"] != "joined_federation"]
    assert (others["status"] == "cannot say").all() and others["lower"].isna().all()
    assert others.loc[others["event_kind"] == "joined_pcn", "conclusion"].str.contains("simultaneous").all()
    assert others.loc[others["event_kind"] == "joined_super_partnership", "conclusion"].str.contains(
        "too few events").all()
    page = write_national_report(b, tmp_path / "n.html")[0].read_text()
    text = _text(page)
    assert "Did scaling up change quality?" in text
    for r in kinds.to_dict("records"):  # every kind x domain: its conclusion, with the interval or the reason
        assert " ".join(str(r["conclusion"]).split()) in text
        assert ("CI" in r["conclusion"]) == (r["status"] == "estimated")
    assert page.count('role="img"') > 0 and "years relative to the event" in page  # the federation charts


def test_a_receiving_group_gets_a_board_pack_section_with_charts_and_its_name_escaped(tmp_path):
    page = write_group_report(_bundle(), "FED0", tmp_path / "g.html")[0].read_text()
    assert "Did joining" in page and "years relative to the event" in page
    assert "<b>Fed</b>" not in page and "&lt;b&gt;Fed&lt;/b&gt;" in page
    # a group whose studies could not be estimated says why, and draws no chart
    sp1 = write_group_report(_bundle(), "SP1", tmp_path / "s.html")[0].read_text()
    assert "Did joining SP one change quality?" in sp1 and "Cannot say whether" in sp1
    assert "years relative to the event" not in sp1


def test_the_dashboard_pages_and_downloads():
    client = TestClient(create_app(_bundle()))
    page = client.get("/events")
    assert page.status_code == 200 and 'id="events-domains"' in page.text
    assert "/events/groups/FED0" in page.text and "<b>Fed</b>" not in page.text
    dom = _bundle().table("event_domain")
    for c in dom.loc[dom["entity_type"] == "event_kind", "conclusion"]:
        assert " ".join(str(c).split()) in _text(page.text)
    grp = client.get("/events/groups/FED0")
    assert grp.status_code == 200 and "years relative to the event" in grp.text
    assert "&lt;b&gt;Fed&lt;/b&gt;" in grp.text and "<b>Fed</b>" not in grp.text
    assert client.get("/events/groups/NO-SUCH").status_code == 404
    assert client.get("/events/groups/%3Cscript%3E").status_code in (400, 404, 422)
    csv = client.get("/download/events/event_domain.csv?group=FED0")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK" in csv.text and '"=HYPERLINK' not in csv.text  # the formula is neutralised
    assert client.get("/download/events/event_study.csv").status_code == 200
    assert client.get("/download/events/nonsense.csv").status_code in (400, 422)


def test_at_most_two_charts_per_event_kind_and_domain_the_rest_listed():
    from gpscale.report.events import CHARTS_PER_DOMAIN, drawn_studies

    rows = [("event_kind", "joined_federation", "joined_federation", dom, ind, status, n)
            for dom, ind, status, n in (("prescribing", "a", "estimated", 30), ("prescribing", "b", "estimated", 50),
                                        ("prescribing", "c", "estimated", 40), ("prescribing", "d", "cannot say", 90),
                                        ("hospital", "e", "estimated", 10))]
    studies = pd.DataFrame(rows, columns=["entity_type", "entity_id", "event_kind", "domain", "indicator_id",
                                          "status", "n_treated"])
    drawn, rest = drawn_studies(studies)
    assert CHARTS_PER_DOMAIN == 2
    # prescribing: b (50 practices) and c (40) drawn, a (30) listed; d cannot be drawn; hospital: e alone
    assert sorted(drawn["indicator_id"]) == ["b", "c", "e"] and rest["indicator_id"].tolist() == ["a"]


def test_the_national_report_says_which_studies_it_does_not_draw(tmp_path, monkeypatch):
    import gpscale.report.events as E

    monkeypatch.setattr(E, "CHARTS_PER_DOMAIN", 0)  # nothing drawn: every estimated study is listed instead
    page = write_national_report(_bundle(), tmp_path / "n.html")[0].read_text()
    assert "years relative to the event" not in page
    assert "more estimated studies, not drawn" in _text(page) and "event_study CSV download" in page
