"""Funnels against a chosen comparator (issue 15, item 4): a small table of groups whose funnel centres,
PHE limits, positions and comparison labels are worked out by hand (docs/methods/peers.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from gpscale.evaluate import pooling
from gpscale.evaluate.comparator import Comparator, assign, yearly_references
from gpscale.evaluate.evaluative import EnglandReferences
from gpscale.evaluate.funnels import funnel_curves, group_funnels, member_funnels

FY = "FY2022/23"
DEFS = {"ind": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0)}

# practice: region, list size, numerator, denominator. England: 400 / 900 = 44.44%
PRACTICES = {
    "A1": ("Y63", 6000, 90, 100), "A2": ("Y63", 6000, 50, 100), "A3": ("Y63", 6000, 70, 200),
    "A4": ("Y63", 6000, 50, 100), "B1": ("Y56", 6000, 30, 100), "B2": ("Y56", 6000, 40, 100),
    "B3": ("Y56", 6000, 50, 100), "B4": ("Y56", 6000, 20, 100),
}
# G1 = A1 + A2 = 140/200 = 70%, the rest of Y63 (A3, A4) 120/300 = 40%
# G2 = B1 + B2 = 70/200 = 35%, the rest of Y56 (B3, B4) 70/200 = 35%
# G3 = A3 + A4 = 120/300 = 40%, the rest of Y63 (A1, A2) 140/200 = 70%
GROUPS = {"G1": ["A1", "A2"], "G2": ["B1", "B2"], "G3": ["A3", "A4"]}


def context(practices: dict) -> pd.DataFrame:
    return pd.DataFrame([{"practice_code": c, "period": FY, "patients": float(p[1]), "region": p[0], "icb": "Q" + p[0],
                          "imd_score": 20.0, "rurality": "Urban", "share_65_plus": 0.1} for c, p in practices.items()])


def values(practices: dict) -> pd.DataFrame:
    return pd.DataFrame([{"indicator_id": "ind", "practice_code": c, "period": FY, "period_type": "fy",
                          "numerator": float(p[-2]), "denominator": float(p[-1])} for c, p in practices.items()])


def members(groups: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"group_id": g, "practice_code": c, "period": FY} for g, cs in groups.items() for c in cs])


def funnels(comparator: str, practices: dict = PRACTICES, groups: dict = GROUPS):
    pv, m = values(practices), members(groups)
    refs = None
    if comparator != "england":
        refs = yearly_references(pv, m, assign(Comparator.parse(comparator), m, context(practices)), DEFS)
    pooled = pooling.pooled_table(pv, m, set())
    return (group_funnels(pooled, DEFS, "as-was", "v", references=EnglandReferences(pv), members=m,
                          comparator=refs).set_index("group_id"),
            member_funnels(pv, m, DEFS, "as-was", "v", references=refs).set_index(["group_id", "practice_code"]))


def test_england_rows_are_placed_around_englands_value_as_before():
    g, _ = funnels("england")
    assert set(g["comparator"]) == {"England"}
    assert g["target"].tolist() == pytest.approx([100 * 400 / 900] * 3)
    # G2 = 35% at n = 200 around 44.44%: SE sqrt(.4444 * .5556 / 200) = 3.514%; 95% limits 37.56-51.33%,
    # 99.8% limits 33.58-55.30%: below the 95% lower limit, inside the 99.8% one
    assert g.loc["G2", ["lower_95", "upper_95"]].tolist() == pytest.approx([37.556, 51.333], abs=0.005)
    assert g.loc["G2", "lower_998"] == pytest.approx(33.584, abs=0.005)
    assert g.loc["G2", ["position", "comparison_95", "comparison_998"]].tolist() == ["Low (0.025)", "worse", "similar"]
    assert g.loc["G1", "position"] == "High (0.001)" and g.loc["G3", "position"] == "Not significant"


def test_groups_are_placed_around_the_rest_of_their_region_and_name_it():
    g, _ = funnels("region")
    assert g.loc["G1", "comparator"] == g.loc["G3", "comparator"] == "North East and Yorkshire region"
    assert g.loc["G2", "comparator"] == "London region"
    assert g["target"].to_dict() == pytest.approx({"G1": 40.0, "G2": 35.0, "G3": 70.0})
    # G1: 70% at n = 200 around 40%: SE 3.464%, 95% limits 33.21-46.79%, 99.8% 29.29-50.71%
    assert g.loc["G1", ["lower_95", "upper_95", "upper_998"]].tolist() == pytest.approx([33.211, 46.789, 50.705],
                                                                                          abs=0.005)
    # G2 sits on its region's value: similar to it, although worse than England's
    assert g.loc["G2", ["position", "comparison_95"]].tolist() == ["Not significant", "similar"]
    # G3: 40% at n = 300 around 70%: SE 2.646%, 99.8% lower limit 61.82%: worse
    assert g.loc["G3", "lower_998"] == pytest.approx(61.823, abs=0.005)
    assert g.loc["G3", ["position", "comparison_998"]].tolist() == ["Low (0.001)", "worse"]
    assert g.loc["G1", ["position", "comparison_998"]].tolist() == ["High (0.001)", "better"]
    assert g["method"].str.contains("around each unit's comparator value").all()


def test_adjusted_limits_centre_on_the_comparator_with_the_between_group_variance():
    g, _ = funnels("region")
    assert g["tau2"].nunique() == 1 and g["tau2"].iloc[0] > 0  # three groups far from their comparators
    for gid, r in g.iterrows():  # symmetric about the comparator's value, clipped at 0% and 100%, and wider
        half = max(r["od_upper_95"] - r["target"], r["target"] - r["od_lower_95"])
        assert [r["od_lower_95"], r["od_upper_95"]] == pytest.approx(
            [max(0.0, r["target"] - half), min(100.0, r["target"] + half)]), gid
        assert half > r["upper_95"] - r["target"], gid


def test_member_practices_are_placed_around_their_groups_comparator_with_englands_practice_variance():
    _, eng = funnels("england")
    _, m = funnels("region")
    assert m.loc[("G1", "A1"), "comparator"] == "North East and Yorkshire region"
    assert m.xs("G1")["target"].tolist() == pytest.approx([40.0, 40.0])
    assert m.xs("G3")["target"].tolist() == pytest.approx([70.0, 70.0])
    # A2: 50% at n = 100 around 40%: SE 4.899%, 95% upper limit 49.60%, 99.8% 55.14%
    assert m.loc[("G1", "A2"), ["upper_95", "upper_998"]].tolist() == pytest.approx([49.602, 55.139], abs=0.005)
    assert m.loc[("G1", "A2"), ["position", "comparison_95", "comparison_998"]].tolist() == [
        "High (0.025)", "better", "similar"]
    # the adjusted limits keep England's between-practice tau^2 (estimated from every practice)
    assert m["tau2"].tolist() == pytest.approx(eng["tau2"].tolist())
    assert set(eng["comparator"]) == {"England"} and eng["target"].tolist() == pytest.approx([100 * 400 / 900] * 6)


# peers:2 on three deprived urban groups and two affluent rural ones (U3 shares P2 with U1)
PEER_PRACTICES = {
    "P1": ("Y63", 5000, 40.0, "Urban", 0.10, 50, 100), "P2": ("Y63", 5000, 42.0, "Urban", 0.10, 10, 100),
    "P3": ("Y63", 4500, 39.0, "Urban", 0.11, 20, 100), "P4": ("Y63", 5500, 41.0, "Urban", 0.09, 30, 200),
    "P5": ("Y63", 5000, 38.0, "Urban", 0.12, 40, 100), "P6": ("Y63", 9000, 10.0, "Rural", 0.25, 80, 100),
    "P7": ("Y63", 8000, 12.0, "Rural", 0.24, 70, 100), "P8": ("Y63", 9500, 11.0, "Rural", 0.26, 90, 100),
    "P9": ("Y63", 8500, 9.0, "Rural", 0.23, 60, 100),
}
PEER_GROUPS = {"U1": ["P1", "P2"], "U2": ["P3", "P4"], "U3": ["P2", "P5"], "R1": ["P6", "P7"], "R2": ["P8", "P9"]}


def peer_context() -> pd.DataFrame:
    return pd.DataFrame([{"practice_code": c, "period": FY, "patients": float(p[1]), "region": p[0], "icb": "QHM",
                          "imd_score": p[2], "rurality": p[3], "share_65_plus": p[4], "commissioner": "QHMX",
                          "postcode": "LS1 1AA", "contract_type": "GMS", "dispensing": False}
                         for c, p in PEER_PRACTICES.items()])


def test_groups_are_placed_around_their_nearest_peers_and_name_them():
    pv, m = values(PEER_PRACTICES), members(PEER_GROUPS)
    refs = yearly_references(pv, m, assign(Comparator.parse("peers:2"), m, peer_context()), DEFS)
    g = group_funnels(pooling.pooled_table(pv, m, set()), DEFS, "as-was", "v", references=EnglandReferences(pv),
                      members=m, comparator=refs).set_index("group_id")
    assert set(g["comparator"]) == {"2 nearest peer groups"}
    # U1 = P1 + P2 = 60/200 = 30%; its peers U2, U3 less its own P2: P3, P4, P5 = 90/400 = 22.5%.
    # SE sqrt(.225 * .775 / 200) = 2.953%: 95% upper limit 28.29%, 99.8% 31.62%: better at 95%, not at 99.8%
    assert g.loc["U1", "target"] == pytest.approx(22.5)
    assert g.loc["U1", ["upper_95", "upper_998"]].tolist() == pytest.approx([28.287, 31.625], abs=0.005)
    assert g.loc["U1", ["position", "comparison_95", "comparison_998"]].tolist() == [
        "High (0.025)", "better", "similar"]
    # U2 = P3 + P4 = 50/300 = 16.67%; peers U1, U3: P1, P2, P5 = 100/300 = 33.33%
    assert g.loc["U2", "target"] == pytest.approx(100 / 3)
    assert g.loc["U2", "comparison_95"] == "worse"


def test_a_group_without_a_comparator_is_named_so_and_not_compared():
    # G4 is the whole of Y56: nothing of its region is left to compare it with
    groups = {"G1": ["A1", "A2"], "G3": ["A3", "A4"], "G4": ["B1", "B2", "B3", "B4"]}
    g, m = funnels("region", groups=groups)
    assert g.loc["G4", ["comparator", "position", "od_position", "comparison_95"]].tolist() == [
        "no region comparator", "not compared", "not compared", "not compared"]
    assert set(m.xs("G4")["comparator"]) == {"no region comparator"}


def test_limit_lines_are_drawn_for_englands_funnels_only():
    g_eng, _ = funnels("england")
    g_reg, _ = funnels("region")
    assert not funnel_curves(g_eng.reset_index(), "groups", DEFS).empty
    assert funnel_curves(g_reg.reset_index(), "groups", DEFS).empty
