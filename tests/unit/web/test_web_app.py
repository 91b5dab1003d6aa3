"""The dashboard without a browser: every page type, downloads, the JSON API, and hostile input."""

from __future__ import annotations

import functools
import io
import warnings

import pandas as pd
import pytest

from gpscale.bundle import Bundle, open_bundle
from gpscale.report.data import ResultsData
from tests.unit.web.world import FEDERATION, SMALL, SOLO, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app


@functools.cache
def _bundle() -> Bundle:
    return open_bundle(world().results)


@functools.cache
def _data() -> ResultsData:
    return ResultsData(_bundle())


class Spy:
    """Stands in for the loaded results and records every lookup a request makes."""

    def __init__(self, inner: ResultsData) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "calls", [])

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        return getattr(self._inner, name)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(_bundle(), cache_pages=False))


@pytest.fixture()
def spied() -> tuple[TestClient, Spy]:
    app = create_app(_bundle(), cache_pages=False)
    spy = Spy(_data())
    app.state.data = spy
    return TestClient(app), spy


@pytest.mark.parametrize(
    "url, text",
    [
        ("/", "Large-scale general practice against England"),
        ("/?conf=0.998", "99.8%"),
        ("/groups", "Test Federation"),
        ("/groups?kind=pcn", "Test PCN 1"),
        (f"/groups/{FEDERATION}", "Scorecard against England"),
        (f"/groups/{FEDERATION}?indicator=qof_total", "Total QOF points"),
        ("/indicators/rx_broad_spectrum", "All groups: funnel plot"),
        (f"/indicators/rx_broad_spectrum?group={FEDERATION}", "Member practices: funnel plot"),
        ("/indicators/qof_total?period=FY2020/21&limits=phe", "FY2020/21"),
        ("/practices/P00007", "P00007"),
        ("/practices/p00007", "P00007"),  # codes are case-insensitive
        ("/search?q=oak", "OAK SURGERY"),
        ("/surveys", "No survey results"),
        ("/api", "/api/v1/groups/{group_id}"),
    ],
)
def test_pages_render_with_method_view_and_notes(client, url, text):
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    assert text in r.text
    assert "<main" in r.text and 'lang="en"' in r.text
    assert "http://" not in r.text.replace("http://www.w3.org", "")  # nothing loaded from elsewhere


def test_group_page_states_method_confidence_view_and_reading_notes(client):
    html = client.get(f"/groups/{FEDERATION}").text
    for phrase in ("membership view", "95%", "England", "does not mean the group is the same as England"):
        assert phrase in html
    assert "▲ better" in html or "● similar" in html  # text labels, not colour alone
    assert 'scope="col"' in html and "<caption>" in html
    assert "/download/groups/FED-TEST/scorecard.csv" in html


def test_group_evaluation_page_shows_the_engines_tables_with_downloads(client):
    """The group page links to the evaluation's own tables (profile over time, trends, convergence), which have their
    own page at the page's confidence level, each with a CSV download holding every row."""
    group = client.get(f"/groups/{FEDERATION}?conf=0.998").text
    assert f'href="/groups/{FEDERATION}/evaluation?conf=0.998"' in group
    html = client.get(f"/groups/{FEDERATION}/evaluation?conf=0.998").text
    for name in ("profiles", "trends", "convergence"):
        assert f'id="ev-{name}"' in html and f"/download/groups/{FEDERATION}/{name}.csv?conf=0.998" in html
    assert "99.8% intervals" in html
    rows = pd.read_csv(io.StringIO(client.get(f"/download/groups/{FEDERATION}/trends.csv?conf=0.998").text))
    want = _bundle().query("SELECT entity_id FROM trends WHERE (entity_id = ? OR entity_type = 'england') "
                           "AND confidence = 0.998", [FEDERATION])
    assert len(rows) == len(want) > 0 and set(rows["entity_id"]) == set(want["entity_id"]) == {FEDERATION, "E92000001"}
    assert client.get("/groups/NO-SUCH/evaluation").status_code == 404
    assert client.get(f"/download/groups/{FEDERATION}/nothing.csv").status_code in (400, 404, 422)


def test_group_evaluation_page_says_not_computed():
    """A bundle evaluated with the scorecard only: the tables are "not computed", their downloads 404."""
    from tests.unit.web.world import bare_world

    bundle = open_bundle(bare_world().results)
    c = TestClient(create_app(bundle, cache_pages=False))
    html = c.get(f"/groups/{FEDERATION}/evaluation").text
    missing = [n for n in ("profiles", "trends", "convergence") if not bundle.has(n)]
    assert "trends" in missing
    for name in missing:
        section = html.split(f'id="ev-{name}"')[1].split("</section>")[0]
        assert "not computed" in section and ".csv" not in section
        assert c.get(f"/download/groups/{FEDERATION}/{name}.csv").status_code == 404


def test_member_funnel_names_practices_outside_the_limits(client):
    html = client.get(f"/indicators/rx_broad_spectrum?group={FEDERATION}&limits=phe").text
    assert "Outside the 95% limits" in html
    assert "PHE funnel limits" in html
    assert "<svg" in html and "<title>" in html


def test_spc_chart_names_the_rule_that_fired(client):
    html = client.get("/indicators/rx_broad_spectrum?group=U00003").text  # a PCN with every month published
    assert "XmR" in html and "rule that fired" in html


def test_search_partial_and_exact_code(client):
    r = client.get("/search?q=P00007&partial=1")
    assert r.status_code == 200 and "/practices/P00007" in r.text and "<html" not in r.text
    assert "/groups/FED-TEST" in client.get("/search?q=federation").text
    assert "No groups or practices match" in client.get("/search?q=zzzz").text


@pytest.mark.parametrize(
    "url, name",
    [
        ("/download/england.csv", "england.csv"),
        ("/download/groups.csv?kind=pcn", "groups.csv"),
        (f"/download/groups/{FEDERATION}/scorecard.csv", "FED-TEST_scorecard.csv"),
        (f"/download/groups/{FEDERATION}/spine.csv", "FED-TEST_spine.csv"),
        (f"/download/groups/{FEDERATION}/trend.csv?indicator=qof_total", "FED-TEST_trend.csv"),
        (f"/download/groups/{FEDERATION}/members.csv", "FED-TEST_members.csv"),
        ("/download/indicators/rx_broad_spectrum/funnel.csv", "rx_broad_spectrum_funnel.csv"),
        (f"/download/indicators/rx_broad_spectrum/funnel.csv?group={FEDERATION}", "rx_broad_spectrum_funnel.csv"),
        ("/download/indicators/rx_broad_spectrum/spc.csv?group=U00003", "rx_broad_spectrum_spc.csv"),
        ("/download/practices/P00007/values.csv", "P00007_values.csv"),
    ],
)
def test_csv_downloads(client, url, name):
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert name in r.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(r.text))
    assert len(frame) > 0


def test_scorecard_download_carries_method_confidence_and_view(client):
    frame = pd.read_csv(io.StringIO(client.get(f"/download/groups/{FEDERATION}/scorecard.csv?conf=0.998").text))
    assert set(frame["confidence"]) == {0.998}
    assert frame["method"].str.len().min() > 5
    assert set(frame["membership_view"]) == {"as-was"}


def test_small_counts_are_hidden_in_pages_downloads_tooltips_and_api(client):
    # SMALL has monthly broad-spectrum numerators of 1-2: hidden everywhere, never shown as zero
    values = pd.read_csv(io.StringIO(client.get(f"/download/practices/{SMALL}/values.csv").text))
    monthly = values[(values["indicator_id"] == "rx_broad_spectrum") & (values["period_type"] == "month")]
    assert len(monthly) == 36 and monthly["suppressed"].all()
    assert monthly["numerator"].isna().all() and monthly["value"].isna().all()
    api = client.get(f"/api/v1/practices/{SMALL}").json()
    hidden = [v for v in api["values"] if v["indicator_id"] == "rx_broad_spectrum" and len(v["period"]) == 7]
    assert hidden and all(v["numerator"] is None and v["suppressed"] for v in hidden)
    # no visible practice count below the threshold anywhere in the practice values
    low = _bundle().query("SELECT count(*) AS n FROM practice_values WHERE numerator > 0 AND numerator < 5 AND "
                          "indicator_id = 'rx_broad_spectrum'")
    assert int(low["n"].iloc[0]) == 0


def test_a_one_practice_group_does_not_reveal_its_hidden_member(client):
    # SOLO's only member is hidden in some months to protect others; the group's value must be hidden too
    rows = client.get(f"/api/v1/groups/{SOLO}/results?indicator=rx_broad_spectrum&period_type=month").json()
    data = _data()
    member = data.practice_rows("P00031")
    hidden_months = set(member.loc[member["suppressed"] & (member["period_type"] == "month"), "period"])
    assert hidden_months, "the fixture should hide some of this practice's months"
    for r in rows:
        if r["period"] in hidden_months:
            assert r["value"] is None and r["numerator"] is None and r["comparison"] == "suppressed"


def test_member_table_never_leaves_a_single_hidden_member(client):
    counts = _bundle().query(
        "SELECT m.group_id, m.period, count(*) AS members, sum(CASE WHEN p.suppressed THEN 1 ELSE 0 END) AS hidden "
        "FROM members m JOIN practice_values p ON p.practice_code = m.practice_code AND p.period = m.period "
        "WHERE p.indicator_id = 'rx_broad_spectrum' GROUP BY ALL")
    multi = counts[counts["members"] >= 2]
    assert len(multi) > 0 and not (multi["hidden"] == 1).any()


# ------------------------------------------------------------------------------------------------ JSON API


def test_openapi_describes_the_read_only_api(client):
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert "/api/v1/groups/{group_id}" in paths and "/api/v1/indicators/{indicator_id}/funnel" in paths
    assert all(set(ops) == {"get"} for p, ops in paths.items())
    assert client.post("/api/v1/groups").status_code == 405
    assert client.delete(f"/api/v1/groups/{FEDERATION}").status_code == 405


def test_openapi_keeps_every_response_model(client):
    """The API writes its own JSON (one trip through the render thread); the schema still names each answer."""
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/v1/groups/{group_id}", "/api/v1/indicators/{indicator_id}/funnel", "/api/v1/search",
                 "/api/v1/practices/{code}", "/api/v1/groups/{group_id}/results"):
        assert "schema" in paths[path]["get"]["responses"]["200"]["content"]["application/json"], path


def test_api_refuses_an_answer_that_breaks_its_model():
    """An answer that does not fit its response model is an error, never served as it is."""
    app = create_app(_bundle(), cache_pages=False)
    spy = Spy(_data())
    object.__setattr__(spy, "search", lambda q, limit=25: {"groups": [{"id": "X"}], "practices": []})  # no name
    app.state.data = spy
    r = TestClient(app, raise_server_exceptions=False).get("/api/v1/search?q=castle")
    assert r.status_code == 500 and "castle" not in r.text


def test_pages_render_one_at_a_time():
    """The running server hands page handlers to one thread (GIL-bound rendering is not interleaved) and keeps what
    lives as long as it does out of the collector's full passes while it runs."""
    import gc

    import anyio.to_thread

    from gpscale.web.app import RENDER_THREADS

    with TestClient(create_app(_bundle(), cache_pages=False)) as running:
        tokens = running.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        frozen = gc.get_freeze_count()  # what lives as long as the server is out of the collector's full passes
        assert running.get(f"/groups/{FEDERATION}").status_code == 200
    assert tokens == RENDER_THREADS == 1 and frozen > 0 and gc.get_freeze_count() == 0


def test_api_group_and_funnel(client):
    g = client.get(f"/api/v1/groups/{FEDERATION}").json()
    assert g["name"] == "Test Federation" and g["membership_view"] == "as-was"
    assert len(g["current_members"]) == 6 and g["latest"]
    assert all(r["method"] and r["confidence"] == 0.95 for r in g["latest"])
    f = client.get("/api/v1/indicators/qof_total/funnel?conf=0.998").json()
    assert f["units"] == "groups" and f["confidence"] == 0.998 and f["rows"]
    m = client.get(f"/api/v1/indicators/qof_total/funnel?group={FEDERATION}&period=FY2022/23").json()
    assert m["units"] == "member practices" and len(m["rows"]) == 6
    assert client.get("/api/v1/search?q=ash").json()["practices"]
    assert client.get("/api/v1/groups?kind=pcn&limit=2").json()["total"] == 4


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/groups?limit=0",
        "/api/v1/groups?limit=100000",
        "/api/v1/groups?offset=-1",
        "/api/v1/groups/FED-TEST?conf=0.5",
        "/api/v1/groups/FED-TEST/results?period_type=week",
        "/api/v1/indicators/qof_total/funnel?period=2023",
        "/api/v1/indicators/qof_total/funnel?limits=none",
        "/api/v1/indicators/QOF_TOTAL",
        "/api/v1/search?q=",
        "/api/v1/search?q=" + "a" * 101,
    ],
)
def test_api_validates_parameters(spied, url):
    client, spy = spied
    r = client.get(url)
    assert r.status_code == 422, (url, r.status_code, r.text[:200])
    assert "detail" in r.json()
    assert spy.calls == []


def test_api_unknown_ids_are_json_404(client):
    for url in ("/api/v1/groups/NOPE", "/api/v1/practices/Z99999", "/api/v1/indicators/not_there",
                "/api/v1/indicators/qof_total/funnel?period=FY2001/02"):
        r = client.get(url)
        assert r.status_code == 404 and "not found" in r.json()["detail"]


# ------------------------------------------------------------------------------------------------ hostile input


def test_unknown_codes_give_a_404_page(client):
    for url in ("/groups/NOPE", "/practices/Z99999", "/indicators/not_there", "/no/such/page",
                "/indicators/qof_total?group=NOPE", "/indicators/qof_total?period=FY2001/02"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "text/html" in r.headers["content-type"]
        assert "Not found" in r.text or "no page" in r.text


@pytest.mark.parametrize(
    "url",
    [
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%5c..%5cetc%5cpasswd",
        "/groups/..%2F..%2Fetc%2Fpasswd",
        "/groups/%2e%2e",
        "/practices/..%2F..%2Fgpscale.duckdb",
        "/download/groups/FED-TEST/..%2F..%2Fscorecard.csv",
        "/download/groups/FED-TEST/%2e%2e%2fstore.csv",
        "/download/surveys/x/..%2f..%2fscorecard.csv",
        "/indicators/..%2F..%2Fetc",
    ],
)
def test_path_traversal_is_rejected_before_any_lookup(spied, url):
    client, spy = spied
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert "root:" not in r.text
    page_frame = ["data_version", "view", "count_rule", "survey_rule", "has_surveys"]
    assert spy.calls in ([], ["has_surveys"], page_frame), spy.calls
    assert not any(c in spy.calls for c in ("practice_rows", "practice_values", "group_rows", "search"))


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=%27%3B%20DROP%20TABLE%20practice%3B--",
        "/search?q=x%27%20OR%201%3D1%20--",
        "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/groups/FED-TEST?indicator=qof_total%27%20OR%20%271%27%3D%271",
        "/groups/FED-TEST%27%20OR%201=1",
        "/indicators/qof_total?period=FY2022/23%27;--",
        "/indicators/qof_total?group=FED-TEST%3BDROP",
        "/indicators/qof_total?conf=1",
        "/groups?page=0",
        "/groups?kind=pcn%27--",
        "/practices/P00007%27--",
        "/download/groups/FED-TEST/secrets.csv",
    ],
)
def test_query_injection_gets_4xx_and_never_reaches_the_data(spied, url):
    client, spy = spied
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert "<script>alert" not in r.text
    assert not any(c in spy.calls for c in ("practice_rows", "practice_values", "group_rows", "search",
                                            "group_ids", "practice_codes", "indicators")), spy.calls


def test_only_get_is_allowed_on_pages(client):
    assert client.post("/").status_code == 405
    assert client.put(f"/groups/{FEDERATION}").status_code == 405


def test_page_cache_serves_repeat_visits():
    app = create_app(_bundle(), cache_pages=True)
    c = TestClient(app)
    first = c.get(f"/groups/{FEDERATION}")
    second = c.get(f"/groups/{FEDERATION}")
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert second.headers.get("x-cache") == "hit"
    csv1 = c.get("/download/england.csv")
    csv2 = c.get("/download/england.csv")
    assert csv2.headers["content-disposition"] == csv1.headers["content-disposition"]


@functools.cache
def _with_surveys() -> ResultsData:
    """The tiny world plus a synthetic staff survey analysed by gpscale survey report (beside the results)."""
    from gpscale.surveys.report import build_survey_report
    from gpscale.surveys.synth import write_synthetic_surveys

    w = world()
    groups = {FEDERATION: ["P00001", "P00002", "P00011", "P00012", "P00021", "P00022"],
              "U00001": [f"P{i:05d}" for i in range(1, 11)]}
    synth = w.root / "survey_synth"
    write_synthetic_surveys(synth, 3, list(w.practices), ["00A", "00B"], groups)
    build_survey_report(synth / "staff_codebook.yaml", synth / "staff_responses.csv", w.root / "surveys" / "staff")
    return ResultsData(open_bundle(w.results))


def test_survey_results_are_shown_with_small_cells_hidden():
    data = _with_surveys()
    assert [sid for sid, _ in data.surveys()] == ["staff"]
    client = TestClient(create_app(data.bundle, cache_pages=False))
    html = client.get("/surveys").text
    assert "items_by_role" in html and "fewer than 10 respondents" in html
    assert 'href="/surveys"' in client.get("/").text  # the navigation offers surveys once they exist
    r = client.get("/download/surveys/staff/respondents.csv")
    assert r.status_code == 200
    frame = pd.read_csv(io.StringIO(r.text))
    visible = frame[~frame["suppressed"].astype(bool)]
    assert (visible["n"].dropna() >= 10).all()
    assert frame["suppressed"].astype(bool).any(), "the synthetic survey has small cells to hide"
    assert frame.loc[frame["suppressed"].astype(bool), "n"].isna().all()
    assert client.get("/download/surveys/staff/nope.csv").status_code == 404


def test_blank_form_fields_mean_none_and_security_headers_are_set(client):
    r = client.get("/indicators/qof_total?group=&period=&conf=0.95")
    assert r.status_code == 200 and "All groups: funnel plot" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_start_up_makes_the_per_bundle_indexes_before_the_first_visitor():
    """The dashboard reads every footer and makes England's and the registry's indexes when it starts, so the first
    page of a type reads no footer and builds no England or funnel index while others queue behind it."""
    bundle = open_bundle(world().results)
    app = create_app(bundle, cache_pages=False)
    data: ResultsData = app.state.data
    assert set(bundle._meta) == set(bundle.names)
    made = set(data._once)
    assert {"england_trends", "england_by_year", "funnel_curves", "group_info"} <= made
    assert {f"england_overview|{c}" for c in (0.95, 0.998)} <= made
    lazy = [name for name, a in vars(ResultsData).items() if isinstance(a, functools.cached_property)]
    assert lazy and all(name in vars(data) for name in lazy)  # every per-bundle index of the data is made
    env = app.state.templates
    assert {t.name for t in env.cache.values()} == set(env.list_templates())  # every template compiled
    c = TestClient(app)
    for url in ("/", f"/groups/{FEDERATION}", f"/groups/{FEDERATION}/evaluation", "/indicators/qof_total",
                f"/indicators/qof_total?group={FEDERATION}", "/practices/P00001", f"/api/v1/groups/{FEDERATION}"):
        assert c.get(url).status_code == 200, url
    assert set(bundle._meta) == set(bundle.names)
    assert {k for k in set(data._once) - made if not k.startswith(("england_table_html", "n_pcns"))} == set()
