"""The published QOF maxima: one table, read by the loader, the qof_total definition and synthetic England.

The figures themselves are checked against the real files in tests/realdata/test_qof_maxima.py; here, that
the table is well formed and that every reader takes its figure from it, including for 2004/05, whose
maximum (1,050) an earlier copy of the loader's table got wrong and so rejected real 2004/05 files.
"""

from __future__ import annotations

import csv
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from gpscale.domain.qof import QOF_MAXIMUM_POINTS, qof_max_points, qof_max_points_of_year, qof_maximum_changes
from gpscale.indicators.compute import compute_indicators
from gpscale.indicators.library import load_definitions
from gpscale.indicators.model import IndicatorDefinition
from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from gpscale.synth import layouts as synth_layouts
from tests.fixtures import layouts as L


def test_the_table_covers_consecutive_years_without_overlap() -> None:
    assert QOF_MAXIMUM_POINTS[0].first == 2004  # QOF began in April 2004
    for a, b in pairwise(QOF_MAXIMUM_POINTS):
        assert a.first <= a.last and b.first == a.last + 1, (a, b)
    assert all(m.points > 0 and len(m.evidence) > 20 for m in QOF_MAXIMUM_POINTS)
    assert qof_max_points_of_year(2003) is None
    assert qof_max_points_of_year(QOF_MAXIMUM_POINTS[-1].last + 1) is None
    assert qof_max_points("FY2004/05") == qof_max_points_of_year(2004)
    with pytest.raises(ValueError, match="financial-year label"):
        qof_max_points("2004-05")


def test_every_change_of_maximum_must_be_a_data_break_of_an_indicator_over_it() -> None:
    defs = load_definitions()
    over_maxima = [d for d in defs.values() if getattr(d.denominator, "constant", None) == "qof_maximum_points"]
    assert [d.id for d in over_maxima] == ["qof_total"]
    assert {"FY2006/07", "FY2013/14", "FY2014/15", "FY2020/21", "FY2021/22"} <= set(qof_maximum_changes())
    for d in over_maxima:
        assert set(qof_maximum_changes()) <= set(d.data_breaks), d.id
    # a definition that would trend across a change of maximum is refused, naming the missing break
    doc = defs["qof_total"].model_dump(by_alias=True)
    doc["data_breaks"] = [b for b in doc["data_breaks"] if b["period"] != "FY2013/14"]
    with pytest.raises(ValueError, match="FY2013/14"):
        IndicatorDefinition.model_validate(doc)


def _ingest_one(path: Path):
    store = open_store(":memory:")
    ingest(store, [path])
    return store


def test_a_2004_05_file_loads_and_qof_total_divides_by_its_maximum(tmp_path: Path) -> None:
    """A 2004/05 overall achievement table, in the pre-2018 header wording, with the year's 1,050 maximum."""
    path = L.write_qof_achievement(tmp_path, 2004)
    with path.open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert "Achievement score (max. 1050)" in header  # the file states its own maximum
    store = _ingest_one(path)
    try:
        loaded = store.df("SELECT practice_code, points, max_points FROM measure_value WHERE measure_id = 'total'")
        assert len(loaded) == len(L.PRACTICES) and set(loaded["max_points"]) == {1050.0}
        values = compute_indicators(store, ["qof_total"]).set_index("practice_code")
    finally:
        store.close()
    raw = pd.read_csv(path, encoding="utf-8-sig").set_index("Practice code")
    expected = raw["Achievement score (max. 1050)"] / 1050 * 100
    assert values["period"].unique().tolist() == ["FY2004/05"]
    pd.testing.assert_series_equal(values["value"], expected, check_names=False, check_index_type=False,
                                   check_index=False, rtol=1e-12)
    # the file's own percentage column says the same
    pd.testing.assert_series_equal(values["value"], raw["QOF points total/1050 available (per cent)"],
                                   check_names=False, check_index=False, atol=0.006)


def test_a_file_whose_header_contradicts_its_year_is_refused(tmp_path: Path) -> None:
    path = L.write_qof_achievement(tmp_path, 2004)
    text = path.read_text(encoding="utf-8-sig").replace("1050", "1000")
    wrong = tmp_path / "wrong" / path.name
    wrong.parent.mkdir()
    wrong.write_text(text, encoding="utf-8-sig")
    with pytest.raises(SourceError) as err:
        _ingest_one(wrong)
    assert err.value.rule == v.PERIOD_INCONSISTENT and "1050" in str(err.value)


def test_a_year_beyond_the_table_takes_the_maximum_its_header_states(tmp_path: Path) -> None:
    year = QOF_MAXIMUM_POINTS[-1].last + 1
    path = L.write_qof_achievement(tmp_path, 2021, "2021")
    text = path.read_text(encoding="utf-8-sig").replace("(635 max)", "(700 max)").replace("/ 635 ", "/ 700 ")
    later = tmp_path / "later" / f"QOF_{year}-{(year + 1) % 100:02d}.csv"
    later.parent.mkdir()
    later.write_text(text, encoding="utf-8-sig")
    store = _ingest_one(later)
    try:
        assert store.df("SELECT DISTINCT max_points FROM measure_value WHERE measure_id = 'total'")[
            "max_points"].tolist() == [700.0]
    finally:
        store.close()


def test_synthetic_england_writes_each_years_maximum_and_domains_that_add_up_to_it() -> None:
    for year in range(2004, QOF_MAXIMUM_POINTS[-1].last + 1):
        assert synth_layouts.qof_max_points(year) == qof_max_points_of_year(year)
        assert sum(synth_layouts.qof_domain_max(year).values()) == qof_max_points_of_year(year)
    with pytest.raises(ValueError, match="no published QOF maximum"):
        synth_layouts.qof_max_points(2003)
