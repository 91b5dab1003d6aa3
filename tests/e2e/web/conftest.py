"""What the browser tests share: a small synthetic England, a dashboard served from a thread, chromium, axe-core.

``england`` runs the whole job once per session (generate, ingest, evaluate: 60 practices, seed 11);
``serve`` starts the dashboard over a bundle on 127.0.0.1 in a thread and stops it when the module ends;
``browser`` is Debian's chromium driven by Playwright (the modules import ``browser_guard`` first, which skips
them where playwright or chromium is missing); :func:`axe_violations` runs axe-core with the WCAG 2 A and AA
rules on a page.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

AXE = Path(os.environ.get("GPSCALE_AXE", Path(__file__).resolve().parents[3] / ".venv" / "node" / "node_modules"
                          / "axe-core" / "axe.min.js"))
needs_axe = pytest.mark.skipif(not AXE.is_file(),
                               reason=f"axe-core not installed at {AXE} (make test installs it with npm)")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _served(results: Path) -> Iterator[str]:
    """The dashboard over the bundle in ``results``, served from a thread; yields its URL."""
    import uvicorn

    from gpscale.bundle import open_bundle
    from gpscale.web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(open_bundle(results)), host="127.0.0.1", port=_free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("dashboard server did not start")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def england(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's output folder on a small synthetic England (results bundle and store), made once."""
    from gpscale.pipeline import run_demo

    return Path(run_demo(tmp_path_factory.mktemp("england"), seed=11, practices=60).out)


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[Path], str]]:
    """``serve(results)``: the dashboard over that bundle, up until the module's tests end; returns its URL."""
    stack: list[Any] = []

    def start(results: Path) -> str:
        cm = _served(results)
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.e2e.web.browser_guard import ARGS, CHROMIUM, sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def axe_violations(browser: object, base_url: str, url: str | None,
                   find: Callable[[Any], str | None] | None = None) -> tuple[str, int, list[tuple[Any, ...]]]:
    """axe-core's WCAG 2 A/AA violations on ``url`` (or on the page ``find(page)`` returns when ``url`` is None).

    The pages' content security policy forbids inline scripts, so this context bypasses it to inject axe.
    Returns the URL checked, its number of ``h1`` headings and the violations (rule, impact, first three nodes)."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                  bypass_csp=True)
    page = context.new_page()
    target = url if url is not None else (find(page) if find is not None else None)
    page.goto(target or "/")
    headings = page.locator("h1").count()
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(f"() => axe.run(document, {{runOnly: {{type: 'tag', values: {WCAG_TAGS!r}}}}})")
    context.close()
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    return target or "/", headings, found
