"""PCN membership from published data: ePCN spells first, PCN columns of other files where ePCN is silent."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gpscale.groups.membership import MembershipView, members_by_period, membership_report, spells
from gpscale.groups.published import (
    EPCN_OVER_PUBLISHED,
    MONTH_OVER_YEAR,
    SAME_PERIOD,
    coalesce,
    fill_from_attributes,
    one_pcn_at_a_time,
    resolve_observations,
    spells_from_observations,
)
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
    assert by[("FED-X", "A81001")].source == "group_registry"
    assert by[("U00009", "A81002")].source == "qof_achievement"
    # the ePCN spell from 2019-07-01 and the QOF year before it are one continuous membership
    assert str(by[("U00001", "A81001")].start_date)[:10] == "2019-04-01"
    assert pd.isna(by[("U00001", "A81001")].end_date)
    assert by[("U00001", "A81001")].source == "ods_epcn; qof_achievement"
    assert len(s[(s["group_id"] == "U00001") & (s["practice_code"] == "A81001")]) == 1
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
    assert t.loc["U00001", "spells"] == 1
    assert t.loc["U00001", "source"] == "ods_epcn" and t.loc["FED-X", "kind"] == "federation"
    assert t.loc["U00009", "practices_ever"] == 1 and t.loc["FED-X", "open_spells"] == 1


def raw(*rows):
    """Published PCN column rows: (practice, period, code, name, source format, ingest id)."""
    out = pd.DataFrame(rows, columns=["practice_code", "period", "pcn_code", "pcn_name", "source", "ingest_id"])
    out["period_type"] = ["fy" if p.startswith("FY") else "month" for p in out["period"]]
    return out


@pytest.mark.parametrize(("code", "name"), [
    ("U", "Unallocated"), ("UNKNOWN OR NO PCN", "Unknown or no PCN"), ("U00070", "Unallocated"), ("-", None),
    ("U1234", "Short"), ("X00001", "Not a PCN code"),
])
def test_placeholders_are_no_group_and_end_the_spell_before(code, name):
    got = resolve_observations(raw(("A81001", "FY2019/20", "U00001", "North", "qof_achievement", 1),
                                   ("A81001", "FY2020/21", code, name, "qof_achievement", 2),
                                   ("A81001", "FY2021/22", "U00001", "North", "qof_achievement", 3)))
    assert got.placeholders == 1 and got.rows["pcn_code"].isna().sum() == 1
    sp = spells_from_observations(got.rows)
    # no group made of the placeholder; the practice is in no PCN in 2020/21
    assert as_tuples(sp) == [("U00001", "A81001", "2019-04-01", "2020-03-31"),
                             ("U00001", "A81001", "2021-04-01", "2022-03-31")]


def test_same_period_disagreements_follow_the_documented_rule_and_are_counted():
    got = resolve_observations(raw(
        # a real code beats a placeholder, whichever file was ingested last
        ("A81001", "FY2019/20", "U00001", "North", "qof_achievement", 1),
        ("A81001", "FY2019/20", "Unknown or no PCN", "Unknown or no PCN", "nhs_payments", 9),
        # QOF's year-end mapping beats Payments between two codes
        ("A81002", "FY2019/20", "U00002", "East", "nhs_payments", 8),
        ("A81002", "FY2019/20", "U00003", "West", "qof_geographies", 2),
        # same priority: the latest ingested file wins
        ("A81003", "FY2019/20", "U00004", "A", "qof_achievement", 3),
        ("A81003", "FY2019/20", "U00005", "B", "qof_geographies", 4),
        # agreement is no conflict
        ("A81004", "FY2019/20", "U00006", "C", "qof_achievement", 3),
        ("A81004", "FY2019/20", "U00006", "C", "qof_geographies", 4),
    ))
    kept = dict(zip(got.rows["practice_code"], got.rows["pcn_code"], strict=True))
    assert kept == {"A81001": "U00001", "A81002": "U00003", "A81003": "U00005", "A81004": "U00006"}
    c = got.conflicts.set_index("practice_code")
    assert sorted(c.index) == ["A81001", "A81002", "A81003"] and set(c["rule"]) == {SAME_PERIOD}
    assert c.loc["A81002", "overruled"] == "U00002" and c.loc["A81002", "kept_source"] == "qof_geographies"


def test_coalesce_merges_adjacent_and_overlapping_spells_and_keeps_gaps():
    s = pd.DataFrame([
        ("U00070", "H85001", date(2019, 4, 1), date(2019, 9, 30), "qof_achievement"),
        ("U00070", "H85001", date(2019, 10, 1), None, "ods_epcn"),
        ("U00070", "H85002", date(2019, 4, 1), date(2020, 3, 31), "qof_geographies"),
        ("U00070", "H85002", date(2020, 1, 1), date(2021, 3, 31), "ods_epcn"),
        ("U00070", "H85003", date(2019, 4, 1), date(2019, 9, 30), "ods_epcn"),
        ("U00070", "H85003", date(2019, 10, 2), None, "ods_epcn"),  # a day's gap: two memberships
    ], columns=["group_id", "practice_code", "start_date", "end_date", "source"])
    got, merged = coalesce(s)
    assert merged == 2
    assert as_tuples(got) == [("U00070", "H85001", "2019-04-01", "None"), ("U00070", "H85002", "2019-04-01",
                              "2021-03-31"), ("U00070", "H85003", "2019-04-01", "2019-09-30"),
                              ("U00070", "H85003", "2019-10-02", "None")]
    assert set(got["source"]) == {"ods_epcn; qof_achievement", "ods_epcn; qof_geographies", "ods_epcn"}


def test_membership_report_counts_epcn_and_month_conflicts(store):
    con = store.con
    # the ePCN says U00001 from July 2019; the 2020/21 file says U00002: the ePCN wins
    con.execute("INSERT INTO practice_attribute VALUES ('A81001', 'FY2021/22', 'fy', 'pcn_code', 'U00002', 3)")
    # a monthly map inside 2020/21 contradicts the year for A81002
    con.execute("INSERT INTO ingest_log VALUES (4, 'm.csv', 'm.csv', 'gp_reg_map', '', 'w', 'd', 1, 1, 1, 0, 0, "
                "[], 'loaded', '', NULL, now())")
    con.execute("INSERT INTO practice_attribute VALUES ('A81002', '2020-09', 'month', 'pcn_code', 'U00008', 4)")
    rep = membership_report(store)
    rules = rep.conflicts.groupby("rule").size().to_dict()
    assert rules == {EPCN_OVER_PUBLISHED: 1, MONTH_OVER_YEAR: 1}
    e = rep.conflicts[rep.conflicts["rule"] == EPCN_OVER_PUBLISHED].iloc[0]
    assert (e.practice_code, e.period, e.kept, e.overruled) == ("A81001", "FY2021/22", "U00001", "U00002")
    assert "1 epcn-over-published, 1 month-over-year" in rep.summary()
    # the ePCN-covered practice gets no U00002 spell
    assert not ((rep.spells["practice_code"] == "A81001") & (rep.spells["group_id"] == "U00002")).any()
