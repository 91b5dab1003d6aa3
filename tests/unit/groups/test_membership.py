"""Membership views and their edge cases: moves mid-period, mergers, closures, groups emptied."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gpscale.groups.membership import MembershipView, members_by_period, reference_date

PERIODS = ["FY2018/19", "FY2019/20", "FY2020/21"]


def spells(*rows):
    return pd.DataFrame(rows, columns=["group_id", "practice_code", "start_date", "end_date"])


def members(df, view="as-was", periods=PERIODS):
    out = members_by_period(df, periods, MembershipView.parse(view))
    return sorted(map(tuple, out[["group_id", "practice_code", "period"]].to_numpy().tolist()))


def test_reference_dates_are_mid_period():
    assert reference_date("FY2019/20") == date(2019, 10, 1)
    assert reference_date("2019-09") == date(2019, 9, 15)


def test_practice_moving_mid_period_counts_once_towards_the_group_it_was_in_mid_period():
    df = spells(
        ("G1", "A81001", date(2018, 4, 1), date(2019, 12, 31)),
        ("G2", "A81001", date(2020, 1, 1), None),
    )
    assert members(df) == [
        ("G1", "A81001", "FY2018/19"),
        ("G1", "A81001", "FY2019/20"),  # member on 1 Oct 2019
        ("G2", "A81001", "FY2020/21"),
    ]


def test_merger_keeps_the_closed_practices_history():
    # A81002 merged into A81001 on 1 April 2020: its spell ends, its earlier years stay in the group
    df = spells(
        ("G1", "A81001", date(2018, 4, 1), None),
        ("G1", "A81002", date(2018, 4, 1), date(2020, 3, 31)),
    )
    got = members(df)
    assert ("G1", "A81002", "FY2019/20") in got and ("G1", "A81002", "FY2020/21") not in got
    assert members(df, "ever").count(("G1", "A81002", "FY2020/21")) == 1


def test_closure_and_group_whose_members_all_leave():
    df = spells(
        ("G9", "B82001", date(2018, 4, 1), date(2019, 6, 30)),
        ("G9", "B82002", date(2018, 4, 1), date(2019, 3, 31)),
    )
    assert members(df) == [("G9", "B82001", "FY2018/19"), ("G9", "B82002", "FY2018/19")]
    # a fixed cohort after everyone left is empty rather than an error
    assert members(df, "cohort:2020-01-01") == []


def test_cohort_view_applies_reference_date_members_to_every_period():
    df = spells(
        ("G1", "A81001", date(2019, 4, 1), None),
        ("G1", "A81003", date(2020, 6, 1), None),
    )
    got = members(df, "cohort:2019-12-31")
    assert got == [("G1", "A81001", p) for p in PERIODS]


@pytest.mark.parametrize("bad", ["asis", "cohort:2019-13-01", "cohort:", ""])
def test_bad_view_names_the_rule(bad):
    with pytest.raises(ValueError, match="view"):
        MembershipView.parse(bad)


MONTHS = ["2019-03", "2019-04", "2019-05"]


def test_monthly_periods_use_the_fifteenth():
    df = spells(
        ("G1", "A81001", date(2019, 1, 1), date(2019, 4, 14)),
        ("G2", "A81001", date(2019, 4, 15), None),
    )
    assert members(df, periods=MONTHS) == [
        ("G1", "A81001", "2019-03"), ("G2", "A81001", "2019-04"), ("G2", "A81001", "2019-05"),
    ]


def test_merger_successor_and_absorbed_practice_under_each_view():
    # A81002 merges into A81001 on 1 April 2020; both in G1 before; the successor stays
    df = spells(
        ("G1", "A81001", date(2015, 4, 1), None),
        ("G1", "A81002", date(2015, 4, 1), date(2020, 3, 31)),
    )
    assert ("G1", "A81002", "FY2020/21") not in members(df)
    # a cohort taken before the merger keeps the absorbed practice (whose data stop at the merger)
    assert ("G1", "A81002", "FY2020/21") in members(df, "cohort:2019-06-01")
    # a cohort after the merger does not include it, even for earlier years
    assert ("G1", "A81002", "FY2018/19") not in members(df, "cohort:2020-06-01")


def test_closed_practice_keeps_its_history_in_every_view():
    df = spells(("G1", "A81001", date(2010, 4, 1), date(2019, 9, 30)))
    assert members(df) == [("G1", "A81001", "FY2018/19")]
    assert members(df, "ever") == [("G1", "A81001", p) for p in PERIODS]


def test_group_whose_members_all_leave_disappears_from_later_periods_only():
    df = spells(
        ("G9", "B82001", date(2015, 4, 1), date(2019, 3, 31)),
        ("G9", "B82002", date(2015, 4, 1), date(2019, 3, 31)),
        ("G1", "B82003", date(2015, 4, 1), None),
    )
    got = members(df)
    assert {g for g, _, p in got if p != "FY2018/19"} == {"G1"}
    assert {(g, c) for g, c, p in got if p == "FY2018/19"} == {("G9", "B82001"), ("G9", "B82002"), ("G1", "B82003")}
    assert members(df, "ever").count(("G9", "B82001", "FY2020/21")) == 1


def test_no_spells_or_no_periods_give_an_empty_table():
    assert members_by_period(spells(), PERIODS, MembershipView.parse("as-was")).empty
    df = spells(("G1", "A81001", date(2015, 4, 1), None))
    assert members_by_period(df, [], MembershipView.parse("ever")).empty
