"""The dashboard in a real browser: Debian's chromium driven by Playwright, on synthetic England.

The dashboard serves the bundle of a small synthetic England (``conftest.py``: generate, ingest, evaluate)
on 127.0.0.1 from a thread. ``GPSCALE_E2E_URL`` points the tests at a running server instead
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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.web.browser_guard import Page, expect  # skips this module where playwright or chromium is absent
from tests.e2e.web.conftest import axe_violations, needs_axe

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMED = "FED-CASTLE"  # the federation of synthetic England


@pytest.fixture(scope="module")
def base_url(request: pytest.FixtureRequest, serve: Callable[[Path], str]) -> str:
    """``GPSCALE_E2E_URL`` (a running server) or the dashboard over the small synthetic England's bundle."""
    external = os.environ.get("GPSCALE_E2E_URL")
    return external.rstrip("/") if external else serve(request.getfixturevalue("england") / "results")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("GPSCALE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


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

PAGE_TYPES = {
    "england": "/", "groups": "/groups", "group": f"/groups/{NAMED}",
    "group-evaluation": f"/groups/{NAMED}/evaluation", "indicator": "/indicators/rx_broad_spectrum",
    "indicator-members": f"/indicators/qof_total?group={NAMED}", "practice": None, "search": "/search?q=surgery",
    "surveys": "/surveys", "api": "/api", "not-found": "/groups/NO-SUCH-GROUP",
    "events": "/events", "events-group": f"/events/groups/{NAMED}",  # issue 15
}


@needs_axe
@pytest.mark.parametrize("kind", sorted(PAGE_TYPES))
def test_every_page_type_has_no_axe_violations(browser: object, base_url: str, kind: str) -> None:
    """axe-core with the WCAG 2 A and AA rules (2.0, 2.1, 2.2) on every page type: no violation."""

    def first_member(page: Page) -> str | None:  # a practice page: the first member of the named group
        page.goto(f"/groups/{NAMED}")
        return page.locator("#members-table a").first.get_attribute("href")

    url, _, violations = axe_violations(browser, base_url, PAGE_TYPES[kind], first_member)
    assert not violations, f"{kind} ({url}): {violations}"
