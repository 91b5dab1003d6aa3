"""The scheme pages in a real browser: the demo's store, both example schemes scored and forecast into
``results/schemes/`` of a copy of the demo's bundle, every scheme page type checked by axe-core (WCAG 2 A/AA),
as the other pages are (the shared set-up is in ``conftest.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import tests.e2e.web.browser_guard  # noqa: F401 - skips this module where playwright or chromium is missing
from tests.e2e.web.conftest import axe_violations, needs_axe

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "schemes"


@pytest.fixture(scope="module")
def scheme_url(england: Path, serve: Callable[[Path], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    from typer.testing import CliRunner

    from gpscale.cli import app as cli

    results = tmp_path_factory.mktemp("schemes") / "results"
    shutil.copytree(england / "results", results)  # the other modules' dashboard stays without schemes
    for name in ("network_standards", "iif_thresholds"):
        r = CliRunner().invoke(cli, ["scheme", "forecast", str(DOCS / f"{name}.yaml"), "--store",
                                     str(england / "gpscale.duckdb"), "--out", str(results / "schemes" / name),
                                     "--period", "FY2023/24", "--draws", "500"])
        assert r.exit_code == 0, r.output
    return serve(results)


@needs_axe
@pytest.mark.parametrize("kind", ["list", "scheme", "network"])
def test_scheme_pages_have_no_axe_violations(browser: object, scheme_url: str, kind: str) -> None:
    def first_network(page: object) -> str | None:  # the first network of the scheme, by following its link
        page.goto("/schemes/network_standards")  # type: ignore[attr-defined]
        return page.locator("#networks-table a").first.get_attribute("href")  # type: ignore[attr-defined]

    url = {"list": "/schemes", "scheme": "/schemes/network_standards", "network": None}[kind]
    checked, headings, violations = axe_violations(browser, scheme_url, url, first_network)
    assert headings == 1, f"{kind} ({checked}): {headings} h1 headings"
    assert not violations, f"{kind} ({checked}): {violations}"
