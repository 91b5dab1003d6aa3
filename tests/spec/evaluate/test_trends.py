"""Trends spec: a group's trend relative to England, on small constructed tables.

Forty practices over eight financial years; each practice's share follows ``logit p = level + 0.05 t``
(England's trend) plus a little noise. Groups are made of some of them, sometimes with an extra trend.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.trends import NOT_CALCULATED, group_trends

YEARS = list(range(2012, 2020))
FYS = [f"FY{y}/{(y + 1) % 100:02d}" for y in YEARS]


def definition(polarity="high_is_good", breaks=()):
    return SimpleNamespace(value_type="proportion", polarity=polarity, multiplier=100.0, data_breaks=list(breaks),
                           version=1)


def world(extra=None, levels=None, seed=3, n_practices=40, noise=0.03):
    """Practice values; ``extra`` maps practice index -> extra logit trend per year."""
    rng = np.random.default_rng(seed)
    extra = extra or {}
    lv = levels if levels is not None else rng.normal(0.0, 0.4, n_practices)
    rows = []
    for i in range(n_practices):
        for t, fy in enumerate(FYS):
            eta = lv[i] + 0.05 * t + extra.get(i, 0.0) * t + rng.normal(0, noise)
            n = 20000.0
            rows.append((f"A8{i:04d}", fy, round(n / (1 + np.exp(-eta))), n))
    pv = pd.DataFrame(rows, columns=["practice_code", "period", "numerator", "denominator"])
    pv["indicator_id"] = "p"
    pv["period_type"] = "fy"
    pv["value"] = pv["numerator"] / pv["denominator"]
    pv["definition_version"] = 1
    return pv


def members(groups):
    """groups: {group_id: [(practice index, first year index, last year index)]}."""
    rows = []
    for gid, spec in groups.items():
        for i, a, b in spec:
            rows += [(gid, f"A8{i:04d}", FYS[t]) for t in range(a, b + 1)]
    return pd.DataFrame(rows, columns=["group_id", "practice_code", "period"])


def run(pv, mem, d=None, confidence=0.95):
    tr = group_trends(pv, mem, {"p": d or definition()}, "as-was", "v0", confidences=(confidence,))
    return tr


def row(tr, gid, statistic="trend_vs_england", segment_first=None, span=None):
    r = tr[(tr["entity_id"] == gid) & (tr["statistic"] == statistic)]
    if segment_first:
        r = r[r["segment_first"] == segment_first]
    if span:
        r = r[r["span"] == span]
    assert len(r) == 1, r
    return r.iloc[0]


def test_extra_trend_is_improving_relative_to_england_and_none_is_similar():
    pv = world(extra={0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1}, n_practices=200, noise=0.05)
    mem = members({"UP": [(i, 0, 7) for i in range(4)], "FLAT": [(i, 0, 7) for i in range(10, 14)]})
    tr = run(pv, mem)
    up, flat = row(tr, "UP"), row(tr, "FLAT")
    assert up["classification"] == "Improving relative to England"
    # England includes the group (4 of 200 practices), so its trend is 0.05 + 0.1 x 4/200 and the
    # difference is 0.1 x 196/200 = 0.098
    assert up["lower"] < 0.098 < up["upper"] and up["value"] == pytest.approx(0.098, abs=0.015)
    assert flat["classification"] == "Similar to England's trend"
    assert flat["lower"] < 0 < flat["upper"]
    # England's own trend row: 0.05 logits a year, increasing and getting better
    eng = row(tr, "E92000001", "trend")
    assert eng["value"] == pytest.approx(0.05, abs=0.01) and eng["classification"] == "Increasing and getting better"
    # group trend = England's practice-level slope + the difference
    g = row(tr, "UP", "trend")
    assert g["value"] == pytest.approx(up["value"] + up["comparator_value"])
    assert up["per_year_natural"] > 0 and up["scale"] == "logit" and up["n_periods"] == 8


def test_low_is_good_polarity_turns_a_rising_difference_into_worsening():
    pv = world(extra={0: 0.1, 1: 0.1, 2: 0.1})
    mem = members({"UP": [(i, 0, 7) for i in range(3)]})
    tr = run(pv, mem, definition("low_is_good"))
    assert row(tr, "UP")["classification"] == "Worsening relative to England"
    tr = run(pv, mem, definition("no_judgement"))
    assert row(tr, "UP")["classification"] == "Rising relative to England"


def test_a_practice_joining_with_a_different_level_does_not_make_a_trend():
    # practices 0-2 are members throughout; practice 3, far better, joins half way: the pooled value jumps
    levels = np.zeros(40)
    levels[3] = 2.0
    pv = world(levels=levels, noise=0.01)
    mem = members({"G": [(0, 0, 7), (1, 0, 7), (2, 0, 7), (3, 4, 7)]})
    tr = run(pv, mem)
    r = row(tr, "G")
    assert r["classification"] == "Similar to England's trend"
    assert abs(r["value"]) < 0.02
    assert r["value_last"] - r["value_first"] > 10  # percentage points: the pooled value did jump


def test_trends_never_cross_a_data_break():
    # a level shift at FY2016/17 for every practice, no trend beyond England's
    pv = world()
    after = pv["period"].isin(FYS[4:])
    pv.loc[after, "numerator"] = (pv.loc[after, "numerator"] * 0.8).round()
    mem = members({"G": [(i, 0, 7) for i in range(5)]})
    tr = run(pv, mem, definition(breaks=["FY2016/17"]))
    segs = sorted(set(tr.loc[tr["span"] == "segment", "segment_first"]))
    assert segs == ["FY2012/13", "FY2016/17"]
    for seg in segs:
        eng = row(tr, "E92000001", "trend", seg, "segment")
        assert eng["value"] == pytest.approx(0.05, abs=0.015)  # across the break it would be negative
        assert eng["segment_last"] == ("FY2015/16" if seg == "FY2012/13" else "FY2019/20")
        assert not eng["whole_period"]
    # the whole period: within-segment slopes pooled (a level per practice and segment), still 0.05
    whole = row(tr, "E92000001", "trend", span="all segments")
    assert whole["whole_period"] and whole["value"] == pytest.approx(0.05, abs=0.01)
    assert (whole["segment_first"], whole["segment_last"]) == ("FY2012/13", "FY2019/20")
    g = row(tr, "G", span="all segments")
    assert g["n_periods"] == 8 and "practice x segment fixed effects" in g["method"]
    assert (tr.loc[tr["statistic"] == "trend_vs_england", "classification"] == "Similar to England's trend").all()


def test_fewer_than_three_years_is_not_calculated():
    pv = world()
    mem = members({"SHORT": [(0, 6, 7), (1, 6, 7)], "OK": [(2, 5, 7), (3, 5, 7)]})
    tr = run(pv, mem)
    short = row(tr, "SHORT")
    assert short["classification"] == NOT_CALCULATED and np.isnan(short["lower"]) and short["n_periods"] == 2
    assert row(tr, "OK")["classification"] != NOT_CALCULATED
    assert not bool(short["latest_segment"])


def test_moderated_and_per_group_intervals_both_cover_under_no_effect():
    # 60 null groups of 4 practices: about 5% flagged either way
    pv = world(n_practices=240, seed=11)
    mem = members({f"G{g}": [(4 * g + j, 0, 7) for j in range(4)] for g in range(60)})
    for moderate in (True, False):
        tr = group_trends(pv, mem, {"p": definition()}, "as-was", "v0", confidences=(0.95,), moderate=moderate)
        rel = tr[(tr["statistic"] == "trend_vs_england") & (tr["entity_type"] == "group")]
        flagged = (rel["classification"] != "Similar to England's trend").mean()
        assert flagged <= 0.15
