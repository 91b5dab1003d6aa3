"""Board packs and the national report: sections, self-containment, method notes, PDF, the CLI."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.report.board import group_sections, national_sections, write_group_report, write_national_report
from gpscale.report.data import ResultsData, read_table
from tests.unit.web.world import FEDERATION, bare_world, world

runner = CliRunner()


@functools.cache
def _data() -> ResultsData:
    w = world()
    return ResultsData(w.results, w.store)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_group_report_has_every_section_and_is_self_contained(tmp_path):
    out = write_group_report(_data(), FEDERATION, tmp_path / "fed.html")[0]
    html = out.read_text()
    for heading in ("Group profile", "Scorecard against England", "Spine chart", "Trends against England",
                    "Member practices: funnel plots", "Monthly indicators: SPC charts", "How to read this report"):
        assert heading in html, heading
    assert html.count("<svg") >= 8
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "<link" not in html and "<script" not in html and "src=" not in html
    text = _text(html)
    assert "Membership view" in text and "as-was" in text and "95%" in text and "data version" in text
    assert "Do not rank groups" in text and "does not mean the group is the same as England" in text
    assert "Wilson score 95% CI" in html  # the interval method is named
    assert "rule that fired" in text
    # the evaluation engine's tables are shown with their methods
    for title in ("Group profile over time", "Trends: the group, England", "Is variation between member practices"):
        assert title in text, title
    assert "evaluation engine" in text


def test_a_partial_evaluation_says_not_computed_instead_of_failing(tmp_path):
    w = bare_world()
    data = ResultsData(w.results, w.store)
    html = write_group_report(data, FEDERATION, tmp_path / "g.html")[0].read_text()
    assert "not computed: the results folder has no trends table" in html
    assert "not computed: the results folder has no profiles table" in html
    national = write_national_report(data, tmp_path / "n.html")[0].read_text()
    assert "not computed: the results folder has no size_effect table" in national
    assert "LOWESS" in national or "Too few groups" in national


def test_national_report_has_size_against_performance_and_a_table_of_groups(tmp_path):
    out = write_national_report(_data(), tmp_path / "national.html")[0]
    html = out.read_text()
    for heading in ("England and the groups compared with it", "Is bigger better?", "All groups: funnel plots",
                    "Table of groups", "monthly indicators: SPC charts"):
        assert heading in html, heading
    assert "Test Federation" in html and "value against group size" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_size_against_performance_uses_the_engine_model_and_patients():
    sections = {s.id: s for s in national_sections(_data())}
    captions = " ".join(b.caption for b in sections["size"].blocks)
    assert "registered patients" in " ".join(b.html for b in sections["size"].blocks)
    assert "Conclusion:" in captions  # the engine's size_effect conclusion, in plain words


def test_member_funnel_section_names_practices_outside_the_limits():
    sections = {s.id: s for s in group_sections(_data(), FEDERATION)}
    funnels = sections["funnels"]
    tables = [b.html for b in funnels.blocks if b.kind == "table"]
    assert any("outside the 95% limits" in t for t in tables)
    named = [t for t in tables if "▲ better" in t or "▼ worse" in t]
    assert named, "the fixture has a practice far from England on the proportions"
    assert re.search(r"P000\d\d", named[0])


def test_national_sections_are_built_from_results_only_without_a_store():
    w = world()
    data = ResultsData(w.results, None)
    ids = [s.id for s in national_sections(data)]
    assert {"england", "size", "funnels", "groups"} <= set(ids)
    sections = {s.id: s for s in group_sections(data, FEDERATION)}
    missing = [b.caption for b in sections["funnels"].blocks if b.kind == "missing"]
    assert missing and "not computed" in missing[0]


def test_unknown_group_is_a_clear_error():
    with pytest.raises(KeyError, match="no group"):
        group_sections(_data(), "NOPE")


def test_table_names_cannot_leave_the_results_folder(tmp_path):
    for bad in ("../scorecard", "a/b", "", "X" * 80, "scorecard.parquet"):
        with pytest.raises(ValueError):
            read_table(tmp_path, bad)
    assert read_table(tmp_path, "trends") is None


def test_missing_results_folder_or_scorecard_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results folder"):
        ResultsData(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no scorecard"):
        ResultsData(tmp_path)


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

    paths = write_group_report(_data(), FEDERATION, tmp_path / "fed.html", pdf=True)
    pdf_path = paths[1]
    assert pdf_path.suffix == ".pdf" and pdf_path.stat().st_size > 20_000
    doc = pdfium.PdfDocument(str(pdf_path))
    assert len(doc) >= 5
    texts = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    assert "Castle" not in texts[0] and "Test Federation" in texts[0]
    chart_page = next(i for i, t in enumerate(texts) if "Spine chart" in t and "range of all groups" in t)
    for i in (0, chart_page):
        image = np.asarray(doc[i].render(scale=1).to_pil().convert("L"), dtype=float)
        ink = (image < 200).mean()
        assert ink > 0.01, f"page {i + 1} is blank ({ink:.4f} of pixels inked)"
        assert image.std() > 10
    png = tmp_path / "page.png"
    doc[chart_page].render(scale=1).to_pil().save(png)
    assert png.stat().st_size > 5_000


# ------------------------------------------------------------------------------------------------ CLI


def test_report_cli_writes_group_and_national_reports(tmp_path):
    w = world()
    r = runner.invoke(app, ["report", "--results", str(w.results), "--store", str(w.store), "--group", FEDERATION,
                            "--out", str(tmp_path / "fed.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fed.html").stat().st_size > 20_000
    r = runner.invoke(app, ["report", "--results", str(w.results), "--national", "--out", str(tmp_path / "n.html")])
    assert r.exit_code == 0, r.output
    assert "Table of groups" in (tmp_path / "n.html").read_text()


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
    assert r.exit_code == 2 and "no results folder" in r.output
    assert not Path(tmp_path / "x.html").exists()
