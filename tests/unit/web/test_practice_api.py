"""The practice API builds each value row once from cleaned column lists: for every practice of the test world its
``values`` must be the rows the previous code made from ``records`` of the shown columns (kept here as the oracle)."""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

from gpscale.bundle import open_bundle
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app


@functools.cache
def _data() -> ResultsData:
    return ResultsData(open_bundle(world().results))


def _old_values(code: str) -> list[dict[str, Any]]:
    vals = S.practice_summary(_data(), code)["values"]
    return [] if vals.empty else [
        {"indicator_id": r["indicator_id"], "period": r["period"], "numerator": r["numerator"],
         "denominator": r["denominator"], "value": r["value"], "suppressed": bool(r["suppressed"]),
         "suppression": str(r["suppression"])}
        for r in S.records(vals[["indicator_id", "period", "numerator", "denominator", "value", "suppressed",
                                 "suppression"]])]


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_practice_api_values_are_the_previous_rows():
    client = TestClient(create_app(open_bundle(world().results), cache_pages=False))
    for code in sorted(_data().practice_codes):
        got = client.get(f"/api/v1/practices/{code}").json()["values"]
        want = _old_values(code)
        assert len(got) == len(want) and want, code
        for g, w in zip(got, want, strict=True):
            assert list(g) == list(w) and all(_same(g[k], w[k]) for k in w), (code, g, w)
