"""The funnel pages' tables and limit lines are built from column arrays and from ``funnel_curves`` read once per
bundle: they must be what the bundle's rows say, read the plain way. Every indicator, financial year, confidence
level and set of limits, for all groups and for every group's members, on the test world (England as comparator)
and on the world compared with ICBs; and with rows hidden, and with units whose name is unknown."""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gpscale.bundle import open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.report import sections as S
from gpscale.report.data import ENGLAND_ID, ResultsData
from tests.unit.web.world import evaluation, world


@functools.cache
def _data(comparator: str) -> ResultsData:
    if comparator == "england":
        return ResultsData(open_bundle(world().results))
    ev = evaluation(("scorecard", "variation"), comparator=comparator)
    results = Path(tempfile.mkdtemp(prefix="gpscale-funnel-views-")) / "results"
    write_bundle(make_bundle(ev), results, meta=bundle_meta(ev), csv=False)
    return ResultsData(open_bundle(results))


def _same(a: Any, b: Any) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


def _cases(data: ResultsData) -> Iterator[tuple[str, str, float, bool]]:
    for iid in data.indicators:
        for period in data.fy_periods.get(iid, []):
            for conf in S.CONFIDENCES:
                for adjust in (True, False):
                    yield iid, period, conf, adjust


def _check(data: ResultsData, res: S.FunnelResult, placed: pd.DataFrame, id_col: str, names: list[str], conf: float,
           adjust: bool, iid: str) -> None:
    """``res`` shows exactly the unhidden rows of ``placed`` (in order), with their names and the chosen limits."""
    pre, k = S._limits_prefix(data.indicators[iid], adjust), S._level(conf)
    hidden = placed["suppressed"].astype(bool)
    assert res.hidden == int(hidden.sum())
    frame = res.table.frame
    want = S.row_dicts(placed[~hidden.to_numpy()])
    shown = [n for n, h in zip(names, hidden, strict=True) if not h]
    assert len(frame) == len(want)
    for got, row, name in zip(S.row_dicts(frame), want, shown, strict=True):
        assert got[id_col] == row[id_col] and got["name"] == name
        assert got["comparison"] == row[f"{pre}comparison_{k}"] and got["funnel_position"] == row[f"{pre}position"]
        assert got["comparator"] == row["comparator"] and _same(got["comparator_value"], row["target"])
        for c in ("denominator", "value", *(c for c in ("numerator",) if c in row)):
            assert _same(got[c], row[c])
        for c in ("lower_95", "upper_95", "lower_998", "upper_998"):
            assert _same(got[c], row[f"{pre}{c}"])
        assert got["method"] == (want[0][f"{pre}method"]) and _same(got["england_value"],
                                                                     data.england_value(iid, got["period"], conf))
    assert list(res.outside.index) == [i for i, c in enumerate(frame["comparison"]) if c in S.OUTSIDE]


def _undrawn_is_the_same_table(drawn: S.FunnelResult, undrawn: S.FunnelResult) -> None:
    """``draw=False`` (downloads, API) changes only the chart's SVG, left empty."""
    assert undrawn.chart.svg == "" and undrawn.chart.caption == drawn.chart.caption
    assert (undrawn.method, undrawn.hidden, undrawn.table.title, undrawn.table.caption) == \
        (drawn.method, drawn.hidden, drawn.table.title, drawn.table.caption)
    pd.testing.assert_frame_equal(undrawn.table.frame, drawn.table.frame, check_exact=True)
    pd.testing.assert_frame_equal(undrawn.outside, drawn.outside, check_exact=True)


@pytest.mark.parametrize("comparator", ["england", "icb"])
def test_funnel_tables_are_the_unhidden_placement_rows(comparator):
    data = _data(comparator)
    for iid, period, conf, adjust in _cases(data):
        placed = data.table("group_funnels", "indicator_id = ? AND period = ?", [iid, period])
        res = S.groups_funnel(data, iid, period, conf, adjust)
        _undrawn_is_the_same_table(res, S.groups_funnel(data, iid, period, conf, adjust, draw=False))
        if placed is not None and len(placed):
            names = [data.group_names.get(g, g) for g in placed["group_id"]]
            _check(data, res, placed, "group_id", names, conf, adjust, iid)
        for gid in sorted(data.group_ids):
            placed = data.table("funnels", "group_id = ? AND indicator_id = ? AND period = ?", [gid, iid, period])
            res = S.member_funnel(data, gid, iid, period, conf, adjust)
            _undrawn_is_the_same_table(res, S.member_funnel(data, gid, iid, period, conf, adjust, draw=False))
            if placed is not None and len(placed):
                names = [data.practice_names.get(p, "") for p in placed["practice_code"]]
                _check(data, res, placed, "practice_code", names, conf, adjust, iid)
                assert set(res.table.frame["group_id"]) <= {gid}


def test_hidden_rows_and_unknown_names(monkeypatch):
    """Every third row hidden, and every fourth unit unknown to the registry (a group shows its ID, a practice no
    name); a funnel whose every row is hidden shows an empty table of the same columns."""
    data = _data("england")
    read = data.table

    def table(name: str, *args: Any, **kw: Any) -> pd.DataFrame | None:
        found = read(name, *args, **kw)
        if found is None or name not in ("funnels", "group_funnels") or found.empty:
            return found
        col = "group_id" if name == "group_funnels" else "practice_code"
        return found.assign(suppressed=np.arange(len(found)) % every[0] == 0,
                            **{col: [f"ZZ{v}" if j % 4 == 1 else v for j, v in enumerate(found[col].tolist())]})

    every = [3]
    monkeypatch.setattr(data, "table", table)
    for iid, period, conf, adjust in _cases(data):
        every[0] = 3
        placed = table("group_funnels", "indicator_id = ? AND period = ?", [iid, period])
        if placed is None or placed.empty:
            continue
        res = S.groups_funnel(data, iid, period, conf, adjust)
        _check(data, res, placed, "group_id", [data.group_names.get(g, g) for g in placed["group_id"]], conf,
               adjust, iid)
        every[0] = 1
        gone = S.groups_funnel(data, iid, period, conf, adjust)
        assert gone.hidden == len(placed) and gone.table.frame.empty
        assert list(gone.table.frame.columns) == list(res.table.frame.columns)
    gid = sorted(data.group_ids)[0]
    every[0] = 3
    for iid, period, conf, adjust in _cases(data):
        placed = table("funnels", "group_id = ? AND indicator_id = ? AND period = ?", [gid, iid, period])
        if placed is not None and len(placed):
            res = S.member_funnel(data, gid, iid, period, conf, adjust)
            names = [data.practice_names.get(p, "") for p in placed["practice_code"]]
            _check(data, res, placed, "practice_code", names, conf, adjust, iid)


@pytest.mark.parametrize("comparator", ["england", "icb"])
def test_funnel_curves_read_once_are_each_funnels_own_read(comparator):
    data = _data(comparator)
    keys = data.table("funnel_curves", columns=["indicator_id", "period", "units", "limits"])
    assert keys is not None
    for key in {*map(tuple, keys.to_numpy().tolist()), ("no_such_indicator", "FY2022/23", "groups", "phe")}:
        own = data.table("funnel_curves", "indicator_id = ? AND period = ? AND units = ? AND limits = ?", list(key),
                         order="x")
        assert own is not None
        curve = S._funnel_curve(data, *key)
        assert curve is not None
        for c in ("x", "lower_95", "upper_95", "lower_998", "upper_998"):
            assert len(curve[c]) == len(own) and all(map(_same, curve[c], own[c].tolist()))


def test_xmr_tables_are_each_entitys_rows_in_order_of_month():
    """The XmR table (England's rows read once per bundle, a group's per page) is the entity's whole rows read
    plainly, in order of month; the count of flagged months is the rows whose rule is named; a second call (England's
    kept rows) draws the same chart."""
    data = _data("england")
    for iid in (i for i in data.indicators if data.indicators[i].is_monthly):
        for entity in (ENGLAND_ID, *sorted(data.group_ids)):
            whole = data.table("spc", "entity_id = ? AND indicator_id = ?", [entity, iid], order="period")
            chart, tab = S.spc_chart(data, entity, iid)
            if whole is None or len(whole) < 2:
                assert tab.missing
                continue
            pd.testing.assert_frame_equal(tab.frame, whole[list(S.SPC_COLUMNS)].reset_index(drop=True),
                                          check_exact=True)
            flagged = int((whole["rules"].astype(str) != "").sum())
            assert tab.caption.startswith(f"{flagged} of {len(whole)} months flagged")
            again = S.spc_chart(data, entity, iid)
            assert (again[0].svg, again[0].caption, again[1].caption) == (chart.svg, chart.caption, tab.caption)
