"""The dashboard in a real browser: Debian's chromium driven by Playwright, on synthetic England.

The fixture runs the whole job on a small synthetic England (generate, ingest, evaluate) and serves the
dashboard on 127.0.0.1 from a thread. ``GPSCALE_E2E_URL`` points the tests at a running server instead
(e.g. ``gpscale serve`` on full synthetic England). Screenshots go to ``$GPSCALE_SCREENSHOTS`` (the
README's come from there: ``docs/screenshots``) or the test's temporary folder.

Skipped, with the reason, where playwright or chromium is missing; chromium runs headless with no
network (``--disable-background-networking`` and friends), and is never downloaded (no playwright install).
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.web.browser_guard import ARGS, CHROMIUM, Page, expect, sync_playwright  # skips if absent

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMED = "FED-CASTLE"  # the federation of synthetic England


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("GPSCALE_E2E_URL")
    if external:
        yield external.rstrip("/")
        return
    import uvicorn

    from gpscale.bundle import open_bundle
    from gpscale.pipeline import run_demo
    from gpscale.web.app import create_app

    out = tmp_path_factory.mktemp("england")
    demo = run_demo(out, seed=11, practices=60)
    app = create_app(open_bundle(demo.out / "results"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("dashboard server did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("GPSCALE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser: object, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    pg = context.new_page()
    # pages must work offline: any request that leaves the dashboard fails the test
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base_url) else None)
    yield pg
    context.close()
    assert not outside, f"page requested resources outside the dashboard: {outside[:3]}"


def _shot(page: Page, shots: Path, name: str, at: str | None = None) -> None:
    if at is not None:
        page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000


def test_england_group_indicator_and_practice_pages_by_following_links(page: Page, shots: Path) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("against England")
    expect(page.locator("#england-table")).to_be_visible()
    _shot(page, shots, "england")

    # follow the named federation from the overview
    page.locator("section[aria-labelledby=named]").get_by_role("link").filter(has_text="Federation").first.click()
    expect(page).to_have_url(re.compile(f"/groups/{NAMED}$"))
    expect(page.locator("#rug-table")).to_be_visible()
    assert page.locator("#rug-table td.better, #rug-table td.similar, #rug-table td.worse").count() > 10
    _shot(page, shots, "group", "#rug")
    _shot(page, shots, "group-spine", "#spine")

    # change the trend indicator with the select (auto-submits)
    page.locator("select[name=indicator]").select_option("qof_total")
    expect(page).to_have_url(re.compile(r"indicator=qof_total"))
    expect(page.locator("#trend-figure svg")).to_be_visible()

    # from the scorecard to the member-practice funnel of one indicator
    page.locator("#rug-table a").first.click()
    expect(page.get_by_role("heading", name="Member practices: funnel plot")).to_be_visible()
    expect(page.locator("#funnel-figure svg")).to_be_visible()
    expect(page.locator("#outside-table")).to_be_visible()
    if page.locator("#spc-figure").count():
        expect(page.locator("#spc-table")).to_be_visible()
    _shot(page, shots, "indicator-members", "#funnel")

    # a member practice
    page.locator("details summary").first.click()
    page.locator("#funnel-table a").first.click()
    expect(page.locator("#practice-latest")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("(")
    _shot(page, shots, "practice")


def test_indicator_page_with_all_groups_and_the_404_page(page: Page, shots: Path) -> None:
    page.goto("/indicators/rx_broad_spectrum")
    expect(page.get_by_role("heading", name="All groups: funnel plot")).to_be_visible()
    expect(page.locator("#funnel-figure svg")).to_be_visible()
    expect(page.locator("#spc-figure svg")).to_be_visible()
    _shot(page, shots, "indicator", "#funnel")
    page.get_by_label("Confidence level").select_option("0.998")
    expect(page).to_have_url(re.compile(r"conf=0\.998"))
    response = page.goto("/groups/NO-SUCH-GROUP")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def test_search_as_you_type_and_keyboard_navigation(page: Page, shots: Path) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    box = page.get_by_role("searchbox", name="Search groups and practices")
    box.click()
    box.press_sequentially("castle", delay=30)
    results = page.locator("#search-results a")
    expect(results.first).to_be_visible(timeout=10_000)
    _shot(page, shots, "search")
    box.press("ArrowDown")
    expect(results.first).to_be_focused()
    target = results.first.get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target or "?") + "$"))
    # the search form works without script too
    page.goto("/search?q=surgery")
    expect(page.get_by_role("heading", level=1)).to_contain_text("surgery")
    assert page.locator("main a[href^='/practices/']").count() > 0


def test_csv_download_from_the_group_page(page: Page, tmp_path: Path) -> None:
    page.goto(f"/groups/{NAMED}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the scorecard (CSV, with intervals and methods)").click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    assert target.name == f"{NAMED}_scorecard.csv"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows and {"value", "lower", "upper", "confidence", "method", "comparison", "membership_view"} <= set(rows[0])


# ------------------------------------------------------------------------------------------------ accessibility

AXE = Path(os.environ.get("GPSCALE_AXE", Path(__file__).resolve().parents[3] / ".venv" / "node" / "node_modules"
                          / "axe-core" / "axe.min.js"))
PAGE_TYPES = {
    "england": "/", "groups": "/groups", "group": f"/groups/{NAMED}", "indicator": "/indicators/rx_broad_spectrum",
    "indicator-members": f"/indicators/qof_total?group={NAMED}", "practice": None, "search": "/search?q=surgery",
    "surveys": "/surveys", "api": "/api", "not-found": "/groups/NO-SUCH-GROUP",
    "events": "/events", "events-group": f"/events/groups/{NAMED}",  # issue 15
}


@pytest.mark.skipif(not AXE.is_file(), reason=f"axe-core not installed at {AXE} (make test installs it with npm)")
@pytest.mark.parametrize("kind", sorted(PAGE_TYPES))
def test_every_page_type_has_no_axe_violations(browser: object, base_url: str, kind: str) -> None:
    """axe-core with the WCAG 2 A and AA rules (2.0, 2.1, 2.2) on every page type: no violation.

    The page's content security policy forbids inline scripts, so this context bypasses it to inject axe."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                  bypass_csp=True)
    page = context.new_page()
    url = PAGE_TYPES[kind]
    if url is None:  # a practice page: the first member of the named group
        page.goto(f"/groups/{NAMED}")
        url = page.locator("#members-table a").first.get_attribute("href")
    page.goto(url or "/")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    context.close()
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert not violations, f"{kind} ({url}): {violations}"
