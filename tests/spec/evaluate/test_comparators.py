"""Comparators (issue 15, item 4): a small table of groups whose comparator populations, chosen peers,
labels and reference values are worked out by hand (docs/methods/peers.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from gpscale.domain.vocabulary import ValueType
from gpscale.evaluate.comparator import (
    Comparator,
    ComparatorKind,
    assign,
    group_areas,
    reference_values,
)
from gpscale.evaluate.trends import _segment_frame, group_trends, practice_year_variance

FY = "FY2022/23"
DEFS = {"ind": SimpleNamespace(multiplier=100.0)}

# practice: region, ICB, list size, IMD score, rurality, share aged 65+, numerator, denominator
PRACTICES = {
    "A1": ("Y63", "QHM", 9000, 40.0, "Urban", 0.10, 90, 100),
    "A2": ("Y63", "QHM", 3000, 38.0, "Urban", 0.11, 60, 100),
    "A3": ("Y63", "QOQ", 4000, 12.0, "Rural", 0.25, 70, 200),
    "B1": ("Y56", "QMF", 2000, 41.0, "Urban", 0.09, 30, 100),
    "B2": ("Y56", "QMF", 2000, 39.0, "Urban", 0.10, 40, 100),
    "B3": ("Y56", "QMJ", 5000, 10.0, "Rural", 0.24, 50, 100),
}


def context(practices: dict = PRACTICES) -> pd.DataFrame:
    return pd.DataFrame([{
        "practice_code": code, "period": FY, "patients": float(p[2]), "commissioner": p[1] + "X", "icb": p[1],
        "region": p[0], "postcode": "LS1 1AA", "contract_type": "GMS", "rurality": p[4], "dispensing": False,
        "imd_score": p[3], "share_65_plus": p[5],
    } for code, p in practices.items()])


def values(practices: dict = PRACTICES, periods: tuple[str, ...] = (FY,)) -> pd.DataFrame:
    return pd.DataFrame([{
        "indicator_id": "ind", "practice_code": code, "period": period,
        "period_type": "fy" if period.startswith("FY") else "month",
        "numerator": float(p[6]), "denominator": float(p[7]),
    } for code, p in practices.items() for period in periods])


def members(groups: dict[str, list[str]], periods: tuple[str, ...] = (FY,)) -> pd.DataFrame:
    return pd.DataFrame([{"group_id": g, "practice_code": c, "period": p}
                         for g, codes in groups.items() for c in codes for p in periods])


# G1 spans two regions: one practice in Y63 with 9,000 patients, two in Y56 with 4,000 between them
SPANNING = {"G1": ["A1", "B1", "B2"]}


@pytest.mark.parametrize("text,want", [
    ("england", Comparator()), ("Region", Comparator(ComparatorKind.REGION)), ("icb", Comparator(ComparatorKind.ICB)),
    ("peers:5", Comparator(ComparatorKind.PEERS, 5)), (" peers : 12 ", Comparator(ComparatorKind.PEERS, 12)),
])
def test_parse_accepts_the_closed_vocabulary(text, want):
    assert Comparator.parse(text) == want
    assert Comparator.parse(str(want)) == want


@pytest.mark.parametrize("text,needle", [
    ("scotland", "unknown comparator 'scotland'; choose from england | region | icb | peers:K"),
    ("peers", "peers needs a number of groups, e.g. peers:5"), ("peers:0", "peers needs a number"),
    ("peers:-2", "peers needs a number"), ("peers:2.5", "peers needs a number"),
    ("region:3", "only peers takes a number"), ("", "unknown comparator"),
])
def test_parse_refuses_anything_else_with_a_clear_message(text, needle):
    with pytest.raises(ValueError, match="comparator") as exc:
        Comparator.parse(text)
    assert needle in str(exc.value)


def test_a_group_spanning_two_regions_belongs_to_the_one_with_most_of_its_patients():
    # by practices it would be Y56 (two of three); by registered patients it is Y63 (9,000 of 13,000)
    areas = group_areas(members(SPANNING), context(), "region")
    assert areas.to_dict("records") == [{"group_id": "G1", "period": FY, "area": "Y63"}]


def test_area_ties_go_to_more_practices_then_the_lower_code():
    ctx = context()
    ctx["patients"] = 1000.0
    assert group_areas(members({"T": ["A1", "B1", "B2"]}), ctx, "region")["area"].tolist() == ["Y56"]
    assert group_areas(members({"T": ["A1", "B1"]}), ctx, "region")["area"].tolist() == ["Y56"]  # Y56 < Y63


def test_region_comparator_is_the_rest_of_the_region_with_its_name():
    m = members(SPANNING)
    a = assign(Comparator.parse("region"), m, context())
    assert a.labels[["comparator", "comparator_id"]].to_dict("records") == [
        {"comparator": "North East and Yorkshire region", "comparator_id": "Y63"}]
    ref = reference_values(values(), m, a, DEFS)
    # Y63 without G1's own A1: A2 + A3 = (60 + 70) / (100 + 200)
    assert ref["comparator_value"].tolist() == pytest.approx([100 * 130 / 300])
    assert ref[["numerator", "denominator", "n_practices"]].to_numpy().tolist() == [[130, 300, 2]]


def test_icb_comparator_uses_the_majority_icb_and_names_it_when_known():
    m = members(SPANNING)
    a = assign(Comparator.parse("icb"), m, context(), {"QHM": "NHS North East and North Cumbria ICB"})
    ref = reference_values(values(), m, a, DEFS)
    assert ref["comparator"].tolist() == ["NHS North East and North Cumbria ICB"]
    assert ref["comparator_value"].tolist() == pytest.approx([60.0])  # QHM without A1: A2 alone
    unnamed = assign(Comparator.parse("icb"), m, context())
    assert unnamed.labels["comparator"].tolist() == ["ICB QHM"]


def test_months_use_their_financial_years_areas_and_exclude_the_months_members():
    m = members(SPANNING, periods=(FY, "2022-06"))
    a = assign(Comparator.parse("region"), m, context())
    ref = reference_values(values(periods=(FY, "2022-06")), m, a, DEFS)
    assert ref.set_index("period")["comparator_value"].to_dict() == pytest.approx(
        {FY: 100 * 130 / 300, "2022-06": 100 * 130 / 300})


def test_a_comparator_with_nothing_left_after_excluding_the_group_has_no_reference():
    m = members({"ALL63": ["A1", "A2", "A3"]})
    a = assign(Comparator.parse("region"), m, context())
    assert reference_values(values(), m, a, DEFS).empty


def test_england_is_the_national_pool_group_included():
    m = members(SPANNING)
    ref = reference_values(values(), m, assign(Comparator(), m, None), DEFS)
    assert ref[["comparator", "comparator_id"]].iloc[0].tolist() == ["England", "E92000001"]
    assert ref["comparator_value"].tolist() == pytest.approx([100 * 340 / 700])


# peers: three deprived urban groups of 10,000 patients, two affluent rural groups of ~17,500; U3 shares a
# practice (P2) with U1
PEER_PRACTICES = {
    "P1": ("Y63", "QHM", 5000, 40.0, "Urban", 0.10, 50, 100),
    "P2": ("Y63", "QHM", 5000, 42.0, "Urban", 0.10, 10, 100),
    "P3": ("Y63", "QHM", 4500, 39.0, "Urban", 0.11, 20, 100),
    "P4": ("Y63", "QHM", 5500, 41.0, "Urban", 0.09, 30, 200),
    "P5": ("Y63", "QHM", 5000, 38.0, "Urban", 0.12, 40, 100),
    "P6": ("Y63", "QHM", 9000, 10.0, "Rural", 0.25, 80, 100),
    "P7": ("Y63", "QHM", 8000, 12.0, "Rural", 0.24, 70, 100),
    "P8": ("Y63", "QHM", 9500, 11.0, "Rural", 0.26, 90, 100),
    "P9": ("Y63", "QHM", 8500, 9.0, "Rural", 0.23, 60, 100),
}
PEER_GROUPS = {"U1": ["P1", "P2"], "U2": ["P3", "P4"], "U3": ["P2", "P5"], "R1": ["P6", "P7"], "R2": ["P8", "P9"]}


def test_peers_are_the_nearest_groups_and_their_practices_less_the_groups_own_are_the_reference():
    m = members(PEER_GROUPS)
    a = assign(Comparator.parse("peers:2"), m, context(PEER_PRACTICES))
    chosen = a.peers.groupby("group_id")["peer_id"].apply(set).to_dict()
    assert chosen["U1"] == {"U2", "U3"} and chosen["U2"] == {"U1", "U3"} and chosen["U3"] == {"U1", "U2"}
    assert "R2" in chosen["R1"] and "R1" in chosen["R2"]
    labels = a.labels.set_index("group_id")
    assert labels.loc["U1", "comparator"] == "2 nearest peer groups"
    assert labels.loc["U1", "comparator_id"] == "U2, U3"
    ref = reference_values(values(PEER_PRACTICES), m, a, DEFS).set_index("group_id")
    # U1's peers U2 and U3 hold P3, P4, P2, P5; P2 is U1's own: (20 + 30 + 40) / (100 + 200 + 100)
    assert ref.loc["U1", "comparator_value"] == pytest.approx(100 * 90 / 400)
    assert ref.loc["U1", "n_practices"] == 3
    # U2's peers U1 and U3 hold P1, P2, P5 (P2 once): (50 + 10 + 40) / 300
    assert ref.loc["U2", "comparator_value"] == pytest.approx(100 * 100 / 300)


def test_one_peer_is_labelled_in_the_singular_and_rural_groups_pick_each_other():
    m = members(PEER_GROUPS)
    a = assign(Comparator.parse("peers:1"), m, context(PEER_PRACTICES)).labels.set_index("group_id")
    assert a.loc["R1", "comparator"] == "1 nearest peer group" and a.loc["R1", "comparator_id"] == "R2"
    assert a.loc["R2", "comparator_id"] == "R1"


def test_every_comparator_but_england_needs_the_practice_context():
    with pytest.raises(ValueError, match="needs the practices' context"):
        assign(Comparator.parse("region"), members(SPANNING), None)


# trends: twelve practices over four years with straight-line trends (little noise beyond sampling, so the
# practice-year variance tau^2 is 0 whichever practices are fitted); six in Y63 rising, six in Y56 flat
YEARS = ("FY2019/20", "FY2020/21", "FY2021/22", "FY2022/23")


def trend_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, ctx = [], []
    for i in range(12):
        region = "Y63" if i < 6 else "Y56"
        for t, fy in enumerate(YEARS):
            share = (0.30 + 0.02 * i % 0.1 + (0.04 * t if region == "Y63" else 0.005 * t * (i % 3 - 1)))
            rows.append({"indicator_id": "ind", "practice_code": f"P{i:02d}", "period": fy, "period_type": "fy",
                         "numerator": float(round(200 * share)), "denominator": 200.0})
            ctx.append({"practice_code": f"P{i:02d}", "period": fy, "patients": 9000.0 if i == 0 else 3000.0,
                        "region": region, "icb": "Q" + region})
    return pd.DataFrame(rows), pd.DataFrame(ctx)


def test_trend_against_a_region_is_the_slope_of_the_rest_of_the_region_fitted_as_englands_is():
    pv, ctx = trend_world()
    defs = {"ind": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0,
                                   data_breaks=[], version="1")}
    m = members({"G": ["P00", "P01", "P06"]}, periods=YEARS)  # P00 (9,000 patients) puts G in Y63
    a = assign(Comparator.parse("region"), m, ctx)
    tr = group_trends(pv, m, defs, "as-was", "v", confidences=(0.95,), comparator=a)
    rel = tr[(tr["statistic"] == "trend_vs_england") & (tr["entity_type"] == "group")].iloc[0]
    assert rel["comparator"] == "North East and Yorkshire region"
    # the outside value: England's practice-level slope when England is only Y63's other four practices
    rest = pv[pv["practice_code"].isin(["P02", "P03", "P04", "P05"])]
    assert practice_year_variance(_segment_frame(pv, list(YEARS), ValueType.PROPORTION, 0)) == 0.0
    assert practice_year_variance(_segment_frame(rest, list(YEARS), ValueType.PROPORTION, 0)) == 0.0
    alone = group_trends(rest, m.iloc[:0], defs, "as-was", "v", confidences=(0.95,))
    want = alone[alone["entity_type"] == "england"]["comparator_value"].iloc[0]
    assert rel["comparator_value"] == pytest.approx(want, rel=1e-9)
    g_slope = tr[(tr["statistic"] == "trend") & (tr["entity_type"] == "group")]["value"].iloc[0]
    assert rel["value"] == pytest.approx(g_slope - want, rel=1e-9)
    # G (two rising practices, one flat) rises more slowly than the rest of its rising region
    assert rel["classification"] == "Similar to the comparator's trend"
    eng = group_trends(pv, m, defs, "as-was", "v", confidences=(0.95,))
    eng_rel = eng[(eng["statistic"] == "trend_vs_england") & (eng["entity_type"] == "group")].iloc[0]
    assert eng_rel["comparator"] == "England" and "relative to the comparator" not in eng_rel["classification"]


def test_scorecard_rows_name_the_region_and_compare_with_the_rest_of_it():
    from gpscale.evaluate.scorecard import scorecard

    defs = {"ind": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0,
                                   data_breaks=[], version="1")}
    m = members(SPANNING)
    card = scorecard(values(), m, defs, "as-was", "v", (0.95,), comparator=assign(Comparator.parse("region"), m,
                                                                                   context()))
    g = card[card["entity_type"] == "group"].iloc[0]
    assert g["comparator"] == "North East and Yorkshire region"
    assert g["comparator_value"] == pytest.approx(100 * 130 / 300)
    # G1: 160/300 = 53.3%, Wilson 95% interval about 47.7-58.9%, wholly above the rest of Y63's 43.3%
    assert g["value"] == pytest.approx(100 * 160 / 300)
    assert g["descriptive_comparison"] == "better"
    # the region has three practices: too few for a distribution of random groups
    assert g["comparison"] == "not compared"
    eng = card[card["entity_type"] == "england"].iloc[0]
    assert eng["comparator"] == "England"
