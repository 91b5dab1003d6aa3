"""A group page reads its financial-year rows once, filtered and narrowed in the read (``group_years``): they must be
the rows the whole-group read gives after filtering with pandas, in the same order, with the same label, for every
group and both confidence levels; the downloads made separately (scorecard, spine, trend) match the page's rows."""

from __future__ import annotations

import functools
import math
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from gpscale.bundle import open_bundle
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import world


@functools.cache
def _data() -> ResultsData:
    return ResultsData(open_bundle(world().results))


def _same(a: Any, b: Any) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("conf", S.CONFIDENCES)
def test_group_years_are_the_filtered_whole_group_rows(conf):
    data = _data()
    for gid in sorted(data.group_ids):
        whole = data.group_rows(gid)
        expected = whole[(whole["confidence"] == conf) & (whole["period_type"] == "fy")]
        years = S.group_years(data, gid, conf)
        assert len(years.rows) == len(expected)
        for got, want in zip(years.rows, S.row_dicts(expected), strict=True):
            assert got["shown"] == S.shown_label(want["comparison"], want["suppressed"])
            assert all(_same(got[k], want[k] if k not in ("indicator_id", "period") else str(want[k]))
                       for k in got if k != "shown")


def test_downloads_agree_with_the_page_rows():
    data = _data()
    for gid in sorted(data.group_ids):
        years = S.group_years(data, gid, 0.95)
        card = S.scorecard_table(data, gid, 0.95)
        assert list(zip(card["indicator_id"], card["period"], strict=True)) == \
            [(r["indicator_id"], r["period"]) for r in years.rows]
        spine = S.spine_table(data, gid, 0.95)
        for r in S.row_dicts(spine):
            row = years.by_key.get((r["indicator_id"], str(r["period"])))
            assert r["comparison"] == (row["shown"] if row else "not compared")
        for iid in {r["indicator_id"] for r in years.rows}:
            trend = S.trend_table(data, gid, iid, 0.95)
            mine = {r["period"]: r for r in years.of(iid)}
            for r in S.row_dicts(trend):
                assert r["comparison"] == (mine[r["period"]]["shown"] if r["period"] in mine else "")


def _merged(left: pa.Table, right: pa.Table) -> pd.DataFrame:
    return left.to_pandas().merge(right.to_pandas(), on="practice_code", how="left")


def test_members_joined_to_the_registry_are_the_left_merge():
    """The Arrow join against pandas's left merge: every spell in order, each matching practice in the registry's
    order (codes repeated too), gaps for codes the registry lacks."""
    from gpscale.report.data import _left_join, positions

    data = _data()
    registry, rows = data._registry
    spells = data.bundle.arrow("spells", "group_id IS NOT NULL")
    assert spells is not None and spells.num_rows > 0
    codes = pa.array(["ZZZ01", "ZZZ02"], spells["practice_code"].type)  # codes the registry lacks
    unknown = spells.slice(0, 2).set_column(spells.column_names.index("practice_code"), "practice_code", codes)
    repeated = pa.concat_tables([registry, registry.slice(3, 2)])  # two codes twice
    twice = positions(repeated["practice_code"].to_pylist())
    for left in (spells, pa.concat_tables([spells, unknown]), spells.slice(0, 0)):
        pd.testing.assert_frame_equal(_left_join(left, registry, "practice_code", rows).to_pandas(),
                                      _merged(left, registry), check_exact=True)
        pd.testing.assert_frame_equal(_left_join(left, repeated, "practice_code", twice).to_pandas(),
                                      _merged(left, repeated), check_exact=True)


def _members_reference(data: ResultsData, gid: str) -> pd.DataFrame:
    """The members as pandas shapes them: merge, blanks, dates as text, current first then by name (stable)."""
    spells = data.table("spells", "group_id = ?", [gid])
    assert spells is not None
    m = spells.merge(data.practices, on="practice_code", how="left")
    m["name"] = m["name"].fillna("")
    m["current"] = m["end_date"].isna()
    for c in ("start_date", "end_date"):
        m[c] = pd.to_datetime(m[c]).dt.strftime("%Y-%m-%d").fillna("")
    return m.sort_values(["current", "name"], ascending=[False, True]).reset_index(drop=True)


def test_group_members_are_the_pandas_shaping_for_every_group():
    data = _data()
    for gid in sorted(data.group_ids):
        pd.testing.assert_frame_equal(data.group_members(gid), _members_reference(data, gid), check_exact=True)
    assert list(data.group_members("NO-SUCH-GROUP").columns) == ["practice_code", "name", "start_date", "end_date",
                                                                 "current"]


@pytest.mark.parametrize("conf", S.CONFIDENCES)
def test_latest_trends_are_the_latest_segment_rows_sql_selects(conf):
    """The group page's latest trends (read narrowed to the shown columns) against DuckDB over the whole table."""
    data = _data()
    for gid in sorted(data.group_ids):
        want = data.bundle.query("SELECT * FROM trends WHERE entity_id = ? AND confidence = ? AND statistic = 'trend' "
                                 "AND latest_segment", [gid, conf])
        got = S.latest_trends(data, gid, conf)
        assert sorted(got) == sorted(want["indicator_id"].astype(str))
        for r in S.row_dicts(want):
            assert all(_same(got[str(r["indicator_id"])][k], r[k]) for k in S._TREND_COLUMNS if k != "indicator_id")


@pytest.mark.parametrize("conf", S.CONFIDENCES)
@pytest.mark.parametrize("name", ["profiles", "trends", "convergence"])
def test_evaluation_tables_hold_the_rows_at_the_pages_level(name, conf):
    """A group's evaluation tables read only the rows at the page's confidence level: the same rows as DuckDB's whole
    read filtered to that level (every level where the table has none at it), the group's first, then England's,
    each in the file's order."""
    data = _data()
    unit = S._UNIT_COLUMN[name]
    england = " OR entity_type = 'england'" if unit == "entity_id" else ""
    for gid in sorted(data.group_ids):
        whole = data.bundle.query(f"SELECT * FROM {name} WHERE ({unit} = ?{england})", [gid])
        if "confidence" in whole and (whole["confidence"] == conf).any():
            whole = whole[whole["confidence"] == conf]
        if england:
            whole = pd.concat([whole[whole["entity_id"] == gid], whole[whole["entity_id"] != gid]])
        got = S.evaluation_table(data, name, group_id=gid, conf=conf).frame
        if "indicator_id" in whole:
            titles = {k: v.title for k, v in data.indicators.items()}
            whole = whole.assign(indicator_id=[titles.get(i, i) for i in whole["indicator_id"]])
        want = whole[list(got.columns)]
        pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_exact=True, check_dtype=False)


def test_group_facts_are_the_pandas_counts_for_every_group():
    """Members now and ever, commissioners and ICBs spanned and the contract mix (most common first, ties in order of
    appearance) as pandas' nunique and value_counts give them."""
    data = _data()
    for gid in sorted(data.group_ids):
        members = data.group_members(gid)
        current = members[members["current"].astype(bool)]
        want = {"current_members": current["practice_code"].nunique(),
                "ever_members": members["practice_code"].nunique(),
                "commissioners": current["commissioner"].nunique(), "icbs": current["icb"].nunique(),
                "contract_mix": current["contract_type"].value_counts().to_dict()}
        profile = S.group_profile(data, gid)
        got = profile["facts"]
        assert got == want and list(got["contract_mix"]) == list(want["contract_mix"]), gid
        shown = list(profile["members"].columns)  # the members' rows as group_members gives them, without "current"
        assert "current" not in shown and {"practice_code", "name", "start_date", "end_date"} <= set(shown)
        pd.testing.assert_frame_equal(profile["members"], members[shown], check_exact=True)
    none = S.group_profile(data, "NO-SUCH-GROUP")
    assert none["facts"] == {"current_members": 0, "ever_members": 0, "commissioners": None, "icbs": None,
                             "contract_mix": {}}
    assert list(none["members"].columns) == ["practice_code", "name", "start_date", "end_date"]
    assert none["members"].empty
