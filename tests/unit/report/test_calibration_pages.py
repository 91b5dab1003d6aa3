"""The calibration section of the national report and the dashboard's calibration page render the bundle's table."""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from fastapi.testclient import TestClient

from gpscale.bundle import Bundle, open_bundle
from gpscale.report.board import write_national_report
from gpscale.report.calibration import calibration_view, placebo_sentence, size_sentence
from gpscale.report.data import ResultsData
from gpscale.web.app import create_app
from tests.unit.web.world import bare_world, world


@functools.cache
def _bundle() -> Bundle:
    return open_bundle(world().results)


def _pct(text: str) -> list[float]:
    return [float(x) / 100 for x in re.findall(r"(\d+\.\d)%", text)]


def test_the_sentence_quotes_the_bundle_rates_it_renders():
    data = ResultsData(_bundle())
    table = data.table("calibration")
    assert table is not None and not table.empty  # every evaluation writes the calibration table
    sentence = placebo_sentence(data, 0.95)
    ev = table[(table["analysis"] == "scorecard") & (table["comparison_type"] == "evaluative")
               & (table["period"] == "all") & (table["confidence"] == 0.95) & (table["compared"] > 0)]
    quoted = _pct(sentence.split("by the descriptive")[0])
    # the range quoted is the smallest and largest pooled rate in the table (rounded), then the nominal 5%
    assert abs(quoted[0] - float(ev["flagged_rate"].min())) <= 0.0005 + 1e-9
    assert quoted[-1] == 0.05 and "evaluative" in sentence and "descriptive" in sentence


def test_the_national_report_opens_with_the_sentence_and_ends_with_the_table(tmp_path):
    data = ResultsData(_bundle())
    html = write_national_report(_bundle(), tmp_path / "n.html")[0].read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    first = text.index("England and the groups compared with it")
    assert text.index("Random groups of England") > first  # the first section opens with it
    assert text.index("placebo calibration") > text.index("Appendix: groups other than PCNs")
    assert len(calibration_view(data).frame) > 0


def test_the_size_analysis_rate_reaches_the_report_and_the_dashboard(tmp_path):
    data = ResultsData(_bundle())
    table = data.table("calibration")
    size = table[(table["analysis"] == "size") & (table["period"] == "all") & (table["confidence"] == 0.95)
                 & (table["compared"] > 0)]
    assert not size.empty  # the evaluation calibrates the size analysis when it has list sizes
    sentence = size_sentence(data, 0.95)
    quoted = _pct(sentence)
    # the lowest rate with its interval, then (several indicators) the highest with its interval, then nominal
    low = size.sort_values("flagged_rate").iloc[0]
    assert [round(x, 3) for x in quoted[:3]] == [round(float(low[c]), 3) for c in
                                                 ("flagged_rate", "flagged_rate_lower", "flagged_rate_upper")]
    assert quoted[-1] == 0.05 and "size slope" in sentence
    html = write_national_report(_bundle(), tmp_path / "n.html")[0].read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert text.index("the size analysis finds a size slope") > text.index("Is bigger better?")
    page = TestClient(create_app(_bundle())).get("/calibration?conf=0.95").text
    assert "the size analysis finds a size slope" in page
    assert "not known" in size_sentence(data, 0.998)  # fitted at 95% only


def test_the_dashboard_page_renders_the_table_and_says_when_it_was_not_computed():
    client = TestClient(create_app(_bundle()))
    page = client.get("/calibration?conf=0.95")
    assert page.status_code == 200 and 'id="calibration-table"' in page.text and "evaluative" in page.text
    assert "/calibration?conf=0.95" in client.get("/").text  # linked from the England overview
    assert client.get("/calibration?conf=0.5").status_code == 400
    bare = TestClient(create_app(open_bundle(bare_world().results))).get("/calibration")
    assert bare.status_code == 200  # a scorecard-only evaluation is calibrated too


class _NoCalibration:
    """A bundle reader with no calibration table (an evaluation run with --no-calibration)."""

    view = "as-was"
    indicators: ClassVar[dict[str, object]] = {}

    def table(self, name: str) -> None:
        return None


def test_a_bundle_without_the_table_says_not_computed():
    data = _NoCalibration()
    assert "not computed" in calibration_view(data).missing  # type: ignore[arg-type]
    assert "not known" in placebo_sentence(data)  # type: ignore[arg-type]
    assert "not known" in size_sentence(data)  # type: ignore[arg-type]
