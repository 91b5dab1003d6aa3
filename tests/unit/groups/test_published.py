"""PCN membership from published data: ePCN spells first, PCN columns of other files where ePCN is silent."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gpscale.groups.membership import MembershipView, members_by_period, spells
from gpscale.groups.published import fill_from_attributes, one_pcn_at_a_time, spells_from_observations
from gpscale.groups.registry import group_table
from gpscale.periods import parse_period
from gpscale.store import open_store


def obs(*rows):
    """(practice, pcn, period) observations."""
    out = pd.DataFrame(rows, columns=["practice_code", "pcn_code", "period"])
    out["period_type"] = ["fy" if p.startswith("FY") else "month" for p in out["period"]]
    out["start"] = [parse_period(p).start for p in out["period"]]
    out["end"] = [parse_period(p).end for p in out["period"]]
    return out


def as_tuples(df):
    return sorted((r.group_id, r.practice_code, str(r.start_date)[:10], str(r.end_date)[:10])
                  for r in df.itertuples())


def test_runs_of_the_same_pcn_become_one_spell_and_gaps_are_bridged():
    got = spells_from_observations(obs(
        ("A81001", "U00001", "FY2019/20"), ("A81001", "U00001", "2020-09"), ("A81001", "U00001", "FY2021/22"),
    ))
    assert as_tuples(got) == [("U00001", "A81001", "2019-04-01", "2022-03-31")]
    assert set(got["source"]) == {"published PCN columns"}


def test_a_change_of_pcn_ends_the_earlier_spell_the_day_before():
    got = spells_from_observations(obs(
        ("A81001", "U00001", "FY2019/20"), ("A81001", "U00002", "FY2020/21"), ("A81001", "U00002", "FY2021/22"),
    ))
    assert as_tuples(got) == [("U00001", "A81001", "2019-04-01", "2020-03-31"),
                              ("U00002", "A81001", "2020-04-01", "2022-03-31")]


def test_a_month_contradicting_its_year_wins():
    # the year-end file says U00002 for 2021/22, the January extract says U00001: the move came later
    got = spells_from_observations(obs(
        ("A81001", "U00001", "FY2020/21"), ("A81001", "U00002", "FY2021/22"), ("A81001", "U00001", "2022-01"),
        ("A81001", "U00002", "FY2022/23"),
    ))
    assert as_tuples(got) == [("U00001", "A81001", "2020-04-01", "2022-03-31"),
                              ("U00002", "A81001", "2022-04-01", "2023-03-31")]


def test_one_pcn_at_a_time_cuts_an_open_spell_left_by_an_older_snapshot():
    s = pd.DataFrame([
        ("U00001", "A81001", pd.Timestamp("2019-07-01"), pd.NaT),  # 2019 snapshot: never closed
        ("U00002", "A81001", pd.Timestamp("2021-04-01"), pd.NaT),  # 2022 snapshot: the new PCN
        ("FED-X", "A81001", pd.Timestamp("2015-04-01"), pd.NaT),  # not a PCN: untouched
    ], columns=["group_id", "practice_code", "start_date", "end_date"])
    got = one_pcn_at_a_time(s, {"U00001", "U00002"})
    ends = {r.group_id: r.end_date for r in got.itertuples()}
    assert str(ends["U00001"])[:10] == "2021-03-31"
    assert pd.isna(ends["U00002"]) and pd.isna(ends["FED-X"])


def test_published_spells_fill_only_dates_the_epcn_does_not_cover():
    epcn = pd.DataFrame([("U00001", "A81001", date(2019, 7, 1), date(2021, 3, 31))],
                        columns=["group_id", "practice_code", "start_date", "end_date"])
    derived = spells_from_observations(obs(
        ("A81001", "U00001", "FY2019/20"), ("A81001", "U00001", "FY2020/21"), ("A81001", "U00003", "FY2021/22"),
        ("A81002", "U00003", "FY2021/22"),
    ))
    got = fill_from_attributes(epcn, derived, {"U00001", "U00003"})
    assert as_tuples(got) == [
        ("U00001", "A81001", "2019-04-01", "2019-06-30"),  # before the ePCN relationship starts
        ("U00003", "A81001", "2021-04-01", "2022-03-31"),  # after it ends
        ("U00003", "A81002", "2021-04-01", "2022-03-31"),  # a practice the ePCN never lists
    ]


@pytest.fixture()
def store():
    with open_store(":memory:") as st:
        con = st.con
        con.execute("INSERT INTO group_record VALUES ('U00001', DATE '2019-12-01', 'North PCN', 'pcn', NULL, "
                    "DATE '2019-07-01', NULL, NULL, 1), ('FED-X', NULL, 'X Federation', 'federation', NULL, NULL, "
                    "NULL, NULL, 2)")
        con.execute("INSERT INTO membership VALUES ('U00001', 'A81001', DATE '2019-07-01', NULL, 1), "
                    "('FED-X', 'A81001', DATE '2015-04-01', NULL, 2)")
        rows = [("A81001", "FY2019/20", "U00001", "North PCN"), ("A81002", "FY2019/20", "U00009", "South PCN"),
                ("A81002", "FY2020/21", "U00009", "South PCN"), ("A81001", "FY2020/21", "U00001", "North PCN")]
        for code, fy, pcn, name in rows:
            con.execute("INSERT INTO practice_attribute VALUES (?, ?, 'fy', 'pcn_code', ?, 3)", [code, fy, pcn])
            con.execute("INSERT INTO practice_attribute VALUES (?, ?, 'fy', 'pcn_name', ?, 3)", [code, fy, name])
        con.execute("INSERT INTO ingest_log VALUES (1, 'e.xlsx', 'e.xlsx', 'ods_epcn', '', 'x', 'a', 1, 1, 1, 0, 0, "
                    "[], 'loaded', '', NULL, now()), (2, 'r.yaml', 'r.yaml', 'group_registry', '', 'y', 'b', 1, 1, "
                    "1, 0, 0, [], 'loaded', '', NULL, now()), (3, 'q.csv', 'q.csv', 'qof_achievement', '', 'z', 'c', "
                    "1, 1, 1, 0, 0, [], 'loaded', '', NULL, now())")
        yield st


def test_store_spells_combine_epcn_registry_and_published_columns(store):
    s = spells(store)
    by = {(r.group_id, r.practice_code): r for r in s.itertuples()}
    assert by[("FED-X", "A81001")].source == "membership"
    assert by[("U00009", "A81002")].source == "published PCN columns"
    m = members_by_period(s, ["FY2019/20", "FY2020/21"], MembershipView.parse("as-was"))
    assert sorted(map(tuple, m.to_numpy().tolist())) == [
        ("FED-X", "A81001", "FY2019/20"), ("FED-X", "A81001", "FY2020/21"),
        ("U00001", "A81001", "FY2019/20"), ("U00001", "A81001", "FY2020/21"),
        ("U00009", "A81002", "FY2019/20"), ("U00009", "A81002", "FY2020/21"),
    ]
    assert len(spells(store, published=False)) == 2


def test_group_table_lists_registry_epcn_and_published_pcns(store):
    t = group_table(store).set_index("group_id")
    assert t.loc["U00009", "name"] == "South PCN" and t.loc["U00009", "source"] == "published PCN columns"
    assert t.loc["U00001", "source"] == "ods_epcn" and t.loc["FED-X", "kind"] == "federation"
    assert t.loc["U00009", "practices_ever"] == 1 and t.loc["FED-X", "open_spells"] == 1
