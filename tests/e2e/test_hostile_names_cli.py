"""Hostile group names given in a registry file (``gpscale evaluate --groups FILE``) come out inert everywhere.

The unit tests (:mod:`tests.unit.web.test_hostile_names`) put hostile names straight into the evaluation;
this one goes the way a user does: a YAML registry file with script tags, attribute breakers and
spreadsheet formulas as group names, read by the real loader through the command line, evaluated into a
bundle with CSV and Excel copies, then the board pack and national report written by ``gpscale report``,
and the dashboard's pages, CSV downloads and JSON API served from that bundle.
"""

from __future__ import annotations

import warnings

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from gpscale.bundle import open_bundle
from gpscale.cli import app
from gpscale.export import FORMULA_START
from tests.synthetic_england import small_england
from tests.unit.web.test_hostile_names import ATTRIBUTE, FORMULAS, SCRIPT, _csv_is_inert, _html_is_inert

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app

runner = CliRunner()
NAMES = [SCRIPT, ATTRIBUTE, *FORMULAS, 'Quote "double" & \'single\' — ünïcödé']


def _registry(source: dict, path) -> list[str]:
    """A registry file whose groups reuse the synthetic registry's members under hostile names."""
    base = [g for g in source["groups"] if g.get("members")]
    groups = []
    for n, name in enumerate(NAMES):
        g = base[n % len(base)]
        groups.append({"id": f"HOSTILE-{n}", "name": name, "kind": "federation", "founded": g.get("founded"),
                       "members": [dict(m) for m in g["members"]]})  # no YAML aliases
    path.write_text(yaml.safe_dump({"gpscale_group_registry": 1, "groups": groups}, allow_unicode=True))
    return [g["id"] for g in groups]


@pytest.mark.slow
def test_hostile_registry_names_are_inert_in_every_output(tmp_path):
    synth = small_england()
    store, res = tmp_path / "store.duckdb", tmp_path / "results"
    r = runner.invoke(app, ["ingest", "--store", str(store), str(synth.out / "nhs")])
    assert r.exit_code == 0, r.output
    ids = _registry(yaml.safe_load((synth.out / "groups" / "registry.yaml").read_text()), tmp_path / "reg.yaml")
    r = runner.invoke(app, ["evaluate", "--store", str(store), "--out", str(res), "--groups",
                            str(tmp_path / "reg.yaml"), "--indicator", "qof_total", "--indicator",
                            "rx_broad_spectrum", "--analysis", "scorecard", "--analysis", "trends", "--excel"])
    assert r.exit_code == 0, r.output
    assert "<script" not in r.output  # the terminal summary prints names as text, never as markup it renders
    bundle = open_bundle(res)
    names = set(bundle.table("groups")["name"])
    # the loader trims surrounding white space (tab, CR); everything else reaches the bundle as data
    assert {n.strip() for n in NAMES} <= names

    # bundle CSV copies and the Excel workbook
    for name in ("groups", "spells", "summary"):
        _csv_is_inert((res / f"{name}.csv").read_text(), name)
    book = openpyxl.load_workbook(res / "results.xlsx")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)), cell.value

    # board packs and the national report, through the CLI
    for args, out in ([["--group", ids[0]], tmp_path / "g0.html"], [["--group", ids[1]], tmp_path / "g1.html"],
                      [["--national"], tmp_path / "national.html"]):
        r = runner.invoke(app, ["report", "--results", str(res), "--out", str(out), *args])
        assert r.exit_code == 0, r.output
        _html_is_inert(out.read_text(), out.name)
    assert "&lt;script&gt;" in (tmp_path / "g0.html").read_text()

    # every dashboard page type, the downloads and the API
    client = TestClient(create_app(bundle, cache_pages=False))
    pages = ["/", "/groups", "/indicators/qof_total", "/search?q=hostile"]
    for gid in ids:
        pages += [f"/groups/{gid}", f"/indicators/qof_total?group={gid}"]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
        _html_is_inert(resp.text, url)
    for gid in ids:
        for url in (f"/download/groups/{gid}/scorecard.csv", f"/download/groups/{gid}/members.csv",
                    f"/download/indicators/qof_total/funnel.csv?group={gid}"):
            resp = client.get(url)
            assert resp.status_code == 200, url
            _csv_is_inert(resp.text, url)
        api = client.get(f"/api/v1/groups/{gid}")
        assert api.status_code == 200 and api.headers["content-type"].startswith("application/json")
    for url in ("/download/groups.csv", "/download/indicators/qof_total/funnel.csv"):
        _csv_is_inert(client.get(url).text, url)
