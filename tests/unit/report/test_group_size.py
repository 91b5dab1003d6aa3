"""A group's size download reads two columns of its financial-year rows at 95%, filtered in the read: for every group
of the test world (and an unknown one) it must be what the whole-group read filtered with pandas gave."""

from __future__ import annotations

import functools

import pandas as pd

from gpscale.bundle import open_bundle
from gpscale.export import csv_text
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import world


@functools.cache
def _data() -> ResultsData:
    return ResultsData(open_bundle(world().results))


def test_group_size_is_the_filtered_whole_group_rows():
    data = _data()
    for gid in [*sorted(data.group_ids), "NOSUCH"]:
        rows = data.group_rows(gid)
        fy = rows[(rows["confidence"] == 0.95) & (rows["period_type"] == "fy")]
        want = fy.groupby("period")["n_practices"].max().reset_index().rename(
            columns={"n_practices": "practices_with_data"})
        got = S.group_size(data, gid)
        assert csv_text(got) == csv_text(want)
        if len(want):
            pd.testing.assert_frame_equal(got, want, check_exact=True)
