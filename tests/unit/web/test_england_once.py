"""The England page keeps its indicator table (and the count of PCNs) per level once made: whatever order the levels
are asked in, every answer must be the page a fresh dashboard draws for that level, links included."""

from __future__ import annotations

import warnings

from gpscale.bundle import open_bundle
from tests.unit.web.world import world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app


def _client() -> TestClient:
    return TestClient(create_app(open_bundle(world().results), cache_pages=False))


def test_each_level_is_the_page_a_fresh_dashboard_draws():
    fresh = {u: _client().get(u).text for u in ("/?conf=0.95", "/?conf=0.998")}
    assert fresh["/?conf=0.95"] != fresh["/?conf=0.998"] and "?conf=0.998" in fresh["/?conf=0.998"]
    client = _client()
    for u in ("/?conf=0.998", "/", "/?conf=0.95", "/?conf=0.998", "/?conf=0.95"):
        assert client.get(u).text == fresh[u if "conf" in u else "/?conf=0.95"], u
