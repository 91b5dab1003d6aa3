"""Funnels against a chosen comparator, as the reports and the dashboard render them (issue 15): the
comparator is named on the chart and in every table row; a groups' funnel with a centre per group is a table."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from gpscale.bundle import open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import FEDERATION, evaluation

PERIOD = "FY2022/23"


@functools.cache
def _data() -> ResultsData:
    ev = evaluation(("scorecard", "variation"), comparator="icb")
    results = Path(tempfile.mkdtemp(prefix="gpscale-cmp-")) / "results"
    write_bundle(make_bundle(ev), results, meta=bundle_meta(ev), csv=False)
    return ResultsData(open_bundle(results))


def test_a_member_funnel_is_drawn_around_its_groups_comparator_and_names_it():
    res = S.member_funnel(_data(), FEDERATION, "rx_broad_spectrum", PERIOD)
    names = set(res.table.frame["comparator"])
    assert len(names) == 1 and names != {"England"}
    name = names.pop()
    assert name.startswith("ICB ")
    assert f"compared with {name}" in res.chart.caption
    assert f"<title>{name}:" in res.chart.svg  # the centre line is the comparator's value
    assert res.table.frame["comparator_value"].nunique() == 1


def test_a_groups_funnel_with_a_centre_per_group_is_a_table_that_names_each_comparator():
    res = S.groups_funnel(_data(), "rx_broad_spectrum", PERIOD)
    assert res.chart.svg == "" and res.chart.caption.startswith("No single funnel")
    assert "their comparators' funnels" in res.table.title
    assert res.table.frame["comparator"].str.startswith("ICB ").all()
