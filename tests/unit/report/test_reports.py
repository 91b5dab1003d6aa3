"""Board packs and the national report: sections, self-containment, method notes, PDF, the CLI."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gpscale.bundle import Bundle, BundleError, open_bundle
from gpscale.cli import app
from gpscale.report.board import group_sections, national_sections, write_group_report, write_national_report
from gpscale.report.data import ResultsData
from tests.unit.web.world import FEDERATION, bare_world, world

runner = CliRunner()


@functools.cache
def _bundle() -> Bundle:
    return open_bundle(world().results)


@functools.cache
def _data() -> ResultsData:
    return ResultsData(_bundle())


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_group_report_has_every_section_and_is_self_contained(tmp_path):
    out = write_group_report(_bundle(), FEDERATION, tmp_path / "fed.html")[0]
    html = out.read_text()
    headings = ("Summary: Test Federation", "Scorecard against England", "Spine chart", "Trends against England",
                "Member practices: funnel plots", "Monthly indicators: SPC charts", "Appendix: tables",
                "How to read this report")
    positions = [html.index(h) for h in headings]
    assert positions == sorted(positions), "the summary comes first, the appendix and reading notes last"
    assert html.count("<svg") >= 6
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "<link" not in html and "<script" not in html and "src=" not in html
    text = _text(html)
    assert "Membership view" in text and "as-was" in text and "95%" in text and "data version" in text
    assert "Do not rank groups" in text and "does not mean the group is the same as England" in text
    assert "reference range of random groups" in html  # the (evaluative) interval method is named
    assert "XmR" in text
    for key in ("Better than England", "Worse than England", "Improving", "Worsening"):
        assert key in text, key
    # notes once per section, not per chart or row
    assert text.count("Do not rank groups") <= 2 and text.count("An XmR chart in the NHS") == 1


def test_a_partial_evaluation_says_not_computed_instead_of_failing(tmp_path):
    bundle = open_bundle(bare_world().results)
    html = write_group_report(bundle, FEDERATION, tmp_path / "g.html")[0].read_text()
    assert "not computed: the results bundle has no funnels table" in html
    national = write_national_report(bundle, tmp_path / "n.html")[0].read_text()
    assert "not computed: the results bundle has no size_effect table" in national
    assert "LOWESS" not in national  # no fallback model of its own: one answer per number


def test_national_report_has_size_against_performance_and_a_table_of_groups(tmp_path):
    out = write_national_report(_bundle(), tmp_path / "national.html")[0]
    html = out.read_text()
    for heading in ("England and the groups compared with it", "Is bigger better?", "All groups: funnel plots",
                    "Appendix: groups other than PCNs", "monthly indicators: SPC charts"):
        assert heading in html, heading
    assert "Test Federation" in html and "value against group size" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_size_against_performance_uses_the_engine_model_and_patients():
    sections = {s.id: s for s in national_sections(_data())}
    captions = " ".join(b.caption for b in sections["size"].blocks)
    assert "registered patients" in " ".join(b.html for b in sections["size"].blocks)
    assert "Conclusion:" in captions  # the engine's size_effect conclusion, in plain words


def test_member_funnels_name_practices_outside_the_limits_in_the_appendix():
    sections = {s.id: s for s in group_sections(_data(), FEDERATION)}
    assert all(b.kind in ("chart", "missing") for b in sections["funnels"].blocks)  # charts in the body
    tables = [b.html for b in sections["appendix"].blocks if b.kind == "table"]
    named = [t for t in tables if "outside the 95% funnel limits" in t]
    assert named and re.search(r"P000\d\d", named[0])


def test_the_membership_shown_is_the_one_the_evaluation_used():
    sections = {s.id: s for s in group_sections(_data(), FEDERATION)}
    members = next(b.html for b in sections["appendix"].blocks if "Member practices of" in b.html)
    assert members.count("<tr") == 1 + 6  # header and the federation's six members


def test_unknown_group_is_a_clear_error():
    with pytest.raises(KeyError, match="no group"):
        group_sections(_data(), "NOPE")


def test_a_folder_that_is_not_a_disclosed_bundle_is_refused(tmp_path):
    with pytest.raises(BundleError, match="not a results bundle"):
        open_bundle(tmp_path)
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(world().results, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["disclosure"]["applied"] = False
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="disclosure gate was not applied"):
        open_bundle(copy)
    manifest["disclosure"]["applied"] = True
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "practice_values.parquet").write_bytes(b"raw values put in place of the disclosed ones")
    with pytest.raises(BundleError, match="changed after the bundle was written"):
        open_bundle(copy)


def test_writers_refuse_anything_but_a_disclosed_bundle(tmp_path):
    import pandas as pd

    from gpscale.bundle import write_bundle
    from gpscale.web.app import create_app

    raw = pd.read_parquet(world().results / "scorecard.parquet")
    for call in (lambda: write_group_report(raw, FEDERATION, tmp_path / "x.html"),  # type: ignore[arg-type]
                 lambda: write_national_report(world().results, tmp_path / "x.html"),  # type: ignore[arg-type]
                 lambda: create_app(raw),  # type: ignore[arg-type]
                 lambda: write_bundle({"scorecard": raw}, tmp_path / "b"),  # type: ignore[arg-type]
                 lambda: ResultsData(raw)):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="disclos"):
            call()
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "b").exists()


# ------------------------------------------------------------------------------------------------ PDF


def _pdf_ready() -> str | None:
    try:
        import pypdfium2  # noqa: F401
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"PDF test needs weasyprint and pypdfium2 (pip install 'gpscale[pdf]' pypdfium2): {exc}"
    return None


@pytest.mark.skipif(_pdf_ready() is not None, reason=str(_pdf_ready()))
def test_pdf_renders_pages_that_are_not_blank(tmp_path):
    import pypdfium2 as pdfium

    paths = write_group_report(_bundle(), FEDERATION, tmp_path / "fed.html", pdf=True)
    pdf_path = paths[1]
    assert pdf_path.suffix == ".pdf" and pdf_path.stat().st_size > 20_000
    doc = pdfium.PdfDocument(str(pdf_path))
    assert len(doc) >= 5
    texts = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    assert "Castle" not in texts[0] and "Test Federation" in texts[0]
    chart_page = next(i for i, t in enumerate(texts) if "spread of all groups" in t)
    for i in (0, chart_page):
        image = np.asarray(doc[i].render(scale=1).to_pil().convert("L"), dtype=float)
        ink = (image < 200).mean()
        assert ink > 0.005, f"page {i + 1} is blank ({ink:.4f} of pixels inked)"
        assert image.std() > 10
    png = tmp_path / "page.png"
    doc[chart_page].render(scale=1).to_pil().save(png)
    assert png.stat().st_size > 5_000


# ------------------------------------------------------------------------------------------------ CLI


def test_report_cli_writes_group_and_national_reports(tmp_path):
    w = world()
    r = runner.invoke(app, ["report", "--results", str(w.results), "--group", FEDERATION,
                            "--out", str(tmp_path / "fed.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fed.html").stat().st_size > 20_000
    r = runner.invoke(app, ["report", "--results", str(w.results), "--national", "--out", str(tmp_path / "n.html")])
    assert r.exit_code == 0, r.output
    assert "Appendix: groups other than PCNs" in (tmp_path / "n.html").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--national", "--group", FEDERATION], "exactly one"),
        ([], "exactly one"),
        (["--group", "NOPE"], "no group"),
        (["--national", "--confidence", "0.9"], "0.95 or 0.998"),
    ],
)
def test_report_cli_errors(tmp_path, args, message):
    w = world()
    r = runner.invoke(app, ["report", "--results", str(w.results), "--out", str(tmp_path / "x.html"), *args])
    assert r.exit_code == 2 and message in r.output


def test_report_cli_without_results_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["report", "--results", str(tmp_path / "missing"), "--national", "--out",
                            str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "not a results bundle" in r.output
    assert not Path(tmp_path / "x.html").exists()
