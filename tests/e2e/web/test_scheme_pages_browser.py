"""The scheme pages in a real browser: the demo's store, both example schemes scored and forecast into
``results/schemes/``, every scheme page type checked by axe-core (WCAG 2 A/AA), as the other pages are."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.e2e.web.browser_guard  # noqa: F401 - skips this module where playwright or chromium is missing
from tests.e2e.web.test_dashboard_browser import AXE, _free_port, browser  # noqa: F401 - the browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "schemes"


@pytest.fixture(scope="module")
def scheme_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn
    from typer.testing import CliRunner

    from gpscale.bundle import open_bundle
    from gpscale.cli import app as cli
    from gpscale.pipeline import run_demo
    from gpscale.web.app import create_app

    demo = run_demo(tmp_path_factory.mktemp("england"), seed=11, practices=60)
    results = demo.out / "results"
    for name in ("network_standards", "iif_thresholds"):
        r = CliRunner().invoke(cli, ["scheme", "forecast", str(DOCS / f"{name}.yaml"), "--store",
                                     str(demo.out / "gpscale.duckdb"), "--out", str(results / "schemes" / name),
                                     "--period", "FY2023/24", "--draws", "500"])
        assert r.exit_code == 0, r.output
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(open_bundle(results)), host="127.0.0.1", port=port,
                                           log_level="warning"))
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


@pytest.mark.skipif(not AXE.is_file(), reason=f"axe-core not installed at {AXE} (make test installs it with npm)")
@pytest.mark.parametrize("kind", ["list", "scheme", "network"])
def test_scheme_pages_have_no_axe_violations(browser: object, scheme_url: str, kind: str) -> None:  # noqa: F811
    context = browser.new_context(base_url=scheme_url, viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                  bypass_csp=True)
    page = context.new_page()
    url = {"list": "/schemes", "scheme": "/schemes/network_standards", "network": None}[kind]
    if url is None:  # the first network of the scheme, by following its link
        page.goto("/schemes/network_standards")
        url = page.locator("#networks-table a").first.get_attribute("href")
    page.goto(url or "/")
    assert page.locator("h1").count() == 1
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    context.close()
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert not violations, f"{kind} ({url}): {violations}"
