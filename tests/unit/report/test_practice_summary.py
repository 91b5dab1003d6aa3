"""A practice page reads its registry row, its spells and its latest values from lists made once per bundle or per
request instead of filtering pandas frames: for every practice of the test world (and an unknown code) the summary,
the groups and every indicator's trend chart must be what the previous pandas code (kept here as the oracle) gave."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import pytest

from gpscale.bundle import open_bundle
from gpscale.charts import svg
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from tests.unit.web.world import LEAVER, world


@functools.cache
def _data() -> ResultsData:
    return ResultsData(open_bundle(world().results))


def _old_groups(data: ResultsData, code: str) -> pd.DataFrame:
    s = data.table("spells", "practice_code = ?", [code])
    if s is None:
        s = pd.DataFrame(columns=["group_id", "start_date", "end_date"])
    s = s.assign(name=s["group_id"].map(data.group_names).fillna(s["group_id"]))
    out = s[["group_id", "name", "start_date", "end_date"]].copy()
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d").fillna("")
    return out.reset_index(drop=True)


def _old_info(data: ResultsData, code: str) -> dict[str, Any]:
    p = data.practices[data.practices["practice_code"] == code]
    info = {k: S._clean(v) for k, v in p.iloc[0].items()} if not p.empty else {"practice_code": code}
    for k in ("open_date", "close_date"):
        v = info.get(k)
        info[k] = str(v)[:10] if v is not None and str(v) not in ("NaT", "None") else ""
    return info


def _old_latest(data: ResultsData, values: pd.DataFrame, conf: float) -> pd.DataFrame:
    rows = []
    fy = values[values["period_type"] == "fy"].sort_values("period")
    last = {str(r["indicator_id"]): r for r in S.row_dicts(fy.groupby("indicator_id", sort=False).tail(1))}
    for ind in data.indicators.values():
        x = last.get(ind.id)
        if x is not None:
            period = str(x["period"])
            rows.append({"indicator_id": ind.id, "indicator": ind.title, "period": period,
                         "numerator": x["numerator"], "denominator": x["denominator"], "value": x["value"],
                         "england_value": data.england_value(ind.id, period, conf), "unit": ind.unit,
                         "suppressed": bool(x["suppressed"]), "suppression": str(x["suppression"])})
    return pd.DataFrame(rows)


def _old_trend_values(values: pd.DataFrame, indicator_id: str) -> dict[str, Any]:
    v = values[(values["indicator_id"] == indicator_id) & (values["period_type"] == "fy")].sort_values("period")
    return dict(zip(v["period"].astype(str).tolist(), v["value"].tolist(), strict=True))


def _codes() -> list[str]:
    return [*sorted(_data().practice_codes), "Z99999"]


@pytest.mark.parametrize("conf", S.CONFIDENCES)
def test_practice_summary_is_what_the_pandas_code_gave(conf):
    data = _data()
    assert LEAVER in data.practice_codes
    for code in _codes():
        got = S.practice_summary(data, code, conf)
        assert got["info"] == _old_info(data, code)
        assert all(type(v) is type(_old_info(data, code)[k]) for k, v in got["info"].items())
        old = _old_groups(data, code)
        if len(old):
            pd.testing.assert_frame_equal(got["groups"], old, check_exact=True)
        else:
            assert list(got["groups"].columns) == list(old.columns) and got["groups"].empty
        values = data.practice_rows(code)
        if not values.empty:
            pd.testing.assert_frame_equal(got["values"], values[list(S.PRACTICE_VALUE_COLUMNS)], check_exact=True)
        else:
            assert got["values"].empty
        if not values.empty:
            pd.testing.assert_frame_equal(got["latest"], _old_latest(data, values, conf), check_exact=True)
        else:
            assert got["latest"].empty


def test_practice_trend_draws_the_practice_years_the_pandas_code_picked(monkeypatch):
    data = _data()
    drawn: list[list[Any]] = []
    real = svg.trend

    def spy(periods: list[str], series: list[svg.Series], *a: Any, **k: Any) -> str:
        drawn.append([dict(zip(periods, s.values, strict=True)) for s in series])
        return real(periods, series, *a, **k)

    monkeypatch.setattr(svg, "trend", spy)
    for code in _codes()[::3]:
        values = data.practice_rows(code)
        for iid in data.indicators:
            S.practice_trend(data, code, iid, values)
            mine, england = drawn.pop()
            want = {p: S._clean(v) for p, v in _old_trend_values(values, iid).items()}
            assert {p: v for p, v in mine.items() if p in want} == want
            assert all(mine[p] is None for p in mine if p not in want)
            assert set(want) <= set(mine) and list(mine) == sorted(mine) and list(england) == list(mine)
