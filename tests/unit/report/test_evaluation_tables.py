"""The evaluation's own tables as pages and downloads show them (``evaluation_table``): shaped in Arrow, they must be
what filtering, joining and relabelling the whole table with pandas gives (the oracle below reads the table with
DuckDB's SQL, never the page's Arrow lookups), for every group, both confidence levels, one indicator or all, and
the latest year only or every year."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from gpscale.bundle import open_bundle
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import world


@functools.cache
def _data() -> ResultsData:
    return ResultsData(open_bundle(world().results))


def _oracle(data: ResultsData, name: str, group_id: str | None, indicator_id: str | None, conf: float,
            latest_only: bool) -> pd.DataFrame:
    whole = data.bundle.query(f'SELECT * FROM "{name}"')
    if indicator_id is not None:
        whole = whole[whole["indicator_id"] == indicator_id]

    def at_level(rows: pd.DataFrame) -> pd.DataFrame:
        if "confidence" not in rows.columns:
            return rows
        level = rows[rows["confidence"] == conf]
        return level if len(level) else rows

    unit = {"profiles": "group_id", "trends": "entity_id", "convergence": "entity_id",
            "dispersion": "entity_id"}.get(name)
    if group_id is None or unit is None:
        t = at_level(whole)
    elif unit != "entity_id":
        t = at_level(whole[whole[unit] == group_id])
    else:
        own = at_level(whole[whole["entity_id"] == group_id])
        england = at_level(whole[whole["entity_type"] == "england"])
        t = pd.concat([f for f in (own, england) if len(f)] or [own], ignore_index=True)
    if latest_only and "period" in t.columns and "indicator_id" in t.columns and len(t):
        t = t[t["period"] == t.groupby("indicator_id")["period"].transform("max")]
    if "indicator_id" in t.columns:
        titles = {k: v.title for k, v in data.indicators.items()}
        t = t.assign(indicator_id=[titles.get(i, i) for i in t["indicator_id"]])
    cols = [c for c in S.ENGINE_TABLES[name][1] if c in t.columns]
    return t[cols].reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(S.ENGINE_TABLES))
@pytest.mark.parametrize("conf", S.CONFIDENCES)
def test_evaluation_tables_are_the_filtered_relabelled_whole_table(name, conf):
    data = _data()
    if not data.bundle.rows(name):
        pytest.skip(f"the tiny world's evaluation wrote no {name} rows")
    indicators = [None, *sorted(data.indicators)] if "indicator_id" in data.bundle.columns(name) else [None]
    checked = 0
    for group_id in [None, *sorted(data.group_ids)]:
        for indicator_id in indicators:
            for latest_only in (False, True):
                got = S.evaluation_table(data, name, group_id=group_id, indicator_id=indicator_id, conf=conf,
                                         latest_only=latest_only).frame
                want = _oracle(data, name, group_id, indicator_id, conf, latest_only)
                if want.empty:
                    assert got.empty and list(got.columns) == list(want.columns)
                    continue
                pd.testing.assert_frame_equal(got, want, check_dtype=True)
                checked += 1
    assert checked
