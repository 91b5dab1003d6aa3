"""Scorecard spec: pooling and comparison on small hand-checked tables.

Three practices, one group of two (A81001, A81002), one period. Each value type pools numerators and
denominators (never averages percentages), and the comparison with England follows polarity. The
patient-level intervals are the descriptive comparison (``descriptive_*`` columns); the evaluative one
(plain columns) needs England to have at least 20 practices, so on three practices it is "not compared".
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from gpscale.evaluate.scorecard import scorecard

PERIOD = "FY2019/20"


def practice_values(indicator, rows, value_type):
    df = pd.DataFrame(rows, columns=["practice_code", "numerator", "denominator"])
    df["indicator_id"] = indicator
    df["period"] = PERIOD
    df["period_type"] = "fy"
    df["value"] = df["numerator"] / df["denominator"]
    df["definition_version"] = "1"
    return df


MEMBERS = pd.DataFrame({"group_id": ["G1", "G1"], "practice_code": ["A81001", "A81002"], "period": [PERIOD] * 2})


def definition(value_type, polarity="high_is_good", multiplier=100.0):
    return SimpleNamespace(value_type=value_type, polarity=polarity, multiplier=multiplier)


def run(indicator, rows, value_type, polarity="high_is_good", multiplier=100.0):
    pv = practice_values(indicator, rows, value_type)
    card = scorecard(pv, MEMBERS, {indicator: definition(value_type, polarity, multiplier)}, "as-was", "v0")
    return card.set_index(["entity_type", "confidence"])


def test_proportion_pools_counts_not_percentages():
    # practice shares 10/100 and 90/900; pooled 100/1000 = 10% (mean of shares would also be 10%)
    # third practice outside the group: 400/1000; England = 500/2000 = 25%
    card = run("p", [("A81001", 10, 100), ("A81002", 90, 900), ("A81003", 400, 1000)], "proportion", "low_is_good")
    g = card.loc[("group", 0.95)]
    assert g["value"] == pytest.approx(10.0)
    assert g["numerator"] == 100 and g["denominator"] == 1000 and g["n_practices"] == 2
    assert card.loc[("england", 0.95)]["value"] == pytest.approx(25.0)
    # Wilson 95% on the pooled counts, from statsmodels
    lo, hi = proportion_confint(100, 1000, alpha=0.05, method="wilson")
    assert g["descriptive_lower"] == pytest.approx(100 * lo)
    assert g["descriptive_upper"] == pytest.approx(100 * hi)
    assert g["descriptive_comparison"] == "better"  # low is good, 10% against England's 25%
    assert "Wilson" in g["descriptive_method"] and g["membership_view"] == "as-was"
    # three practices are too few for a reference of random groups: the default comparison is not made
    assert g["comparison_type"] == "evaluative" and g["comparison"] == "not compared"
    assert "random groups" in g["method"] and np.isnan(g["p_value"])


def test_unequal_sizes_pool_differently_from_mean_of_percentages():
    # 9/10 (90%) and 100/1000 (10%): pooled 109/1010 = 10.79%, the mean of percentages would say 50%
    card = run("p", [("A81001", 9, 10), ("A81002", 100, 1000), ("A81003", 50, 100)], "proportion")
    assert card.loc[("group", 0.95)]["value"] == pytest.approx(100 * 109 / 1010)


def test_rate_uses_poisson_limits_over_the_denominator():
    card = run("r", [("A81001", 4, 2000), ("A81002", 3, 1000), ("A81003", 300, 3000)], "rate", "low_is_good", 1000)
    g = card.loc[("group", 0.95)]
    assert g["value"] == pytest.approx(1000 * 7 / 3000)
    lo = stats.chi2.ppf(0.025, 14) / 2  # exact below 10 events
    hi = stats.chi2.ppf(0.975, 16) / 2
    assert g["descriptive_lower"] == pytest.approx(1000 * lo / 3000)
    assert g["descriptive_upper"] == pytest.approx(1000 * hi / 3000)
    assert g["descriptive_comparison"] == "better"


def test_standardised_ratio_observed_over_expected_no_judgement():
    card = run("s", [("A81001", 130, 100), ("A81002", 130, 100), ("A81003", 800, 1000)], "standardised_ratio",
               "no_judgement", 100)
    g = card.loc[("group", 0.95)]
    assert g["value"] == pytest.approx(130.0)
    assert g["descriptive_comparison"] == "higher"  # England = 1060/1200 = 88.3; group CI well above


def _score_england(n=40):
    """England of ``n`` practices with distinct scores 60.0, 61.0, ... points out of 100."""
    return [(f"A8{i:04d}", 60.0 + i, 100.0) for i in range(n)]


def test_score_is_pooled_points_over_maximum_compared_with_random_groups_of_its_size():
    # a group of one practice is placed among England's practices: the lowest of 40 has a lower tail
    # probability of half its own mass, 0.5/40 (mid-rank), so p = 2 x 0.0125 = 0.025: worse at 95%, not at 99.8%
    members = pd.DataFrame({"group_id": ["LOW"], "practice_code": ["A80000"], "period": [PERIOD]})
    pv = practice_values("q", _score_england(), "score")
    card = scorecard(pv, members, {"q": definition("score")}, "as-was", "v0").set_index(["entity_type", "confidence"])
    g95, g998 = card.loc[("group", 0.95)], card.loc[("group", 0.998)]
    assert g95["value"] == pytest.approx(60.0)
    assert g95["p_value"] == pytest.approx(0.025, abs=1e-6)
    assert g95["comparison"] == "worse" and g998["comparison"] == "similar"
    assert g95["comparison_type"] == "evaluative" and "random groups" in g95["method"]
    # points are not sampled from patients: no descriptive comparison, and the row says why
    assert g95["descriptive_comparison"] == "not compared" and np.isnan(g95["descriptive_lower"])
    assert "not sampled" in g95["descriptive_method"]
    assert g95["upper"] < card.loc[("england", 0.95)]["value"] < g998["upper"]
    eng = card.loc[("england", 0.95)]
    assert eng["value"] == pytest.approx(100 * sum(60.0 + i for i in range(40)) / 4000)
    assert eng["lower"] == eng["upper"] == eng["value"]  # England against itself: nothing to vary


def test_score_group_of_the_second_lowest_practice_is_similar_and_pools_points():
    members = pd.DataFrame({"group_id": ["G", "G2", "G2"], "practice_code": ["A80001", "A80000", "A80001"],
                            "period": [PERIOD] * 3})
    pv = practice_values("q", _score_england(), "score")
    card = scorecard(pv, members, {"q": definition("score")}, "as-was", "v0")
    g = card[(card["entity_type"] == "group") & (card["confidence"] == 0.95)].set_index("entity_id")
    assert g.loc["G", "p_value"] == pytest.approx(2 * 1.5 / 40, abs=0.005)  # mid-rank of the second lowest
    assert g.loc["G", "comparison"] == "similar"
    # the two lowest together: 121 / 200 points; two draws from England this low are rarer still
    assert g.loc["G2", "value"] == pytest.approx(60.5)
    assert g.loc["G2", "comparison"] == "worse" and g.loc["G2", "upper"] < card.iloc[0]["comparator_value"]


def test_both_confidence_levels_and_99_8_is_wider():
    card = run("p", [("A81001", 30, 100), ("A81002", 40, 100), ("A81003", 250, 1000)], "proportion")
    g95, g998 = card.loc[("group", 0.95)], card.loc[("group", 0.998)]
    assert g998["descriptive_lower"] < g95["descriptive_lower"] and g998["descriptive_upper"] > g95["descriptive_upper"]


def test_missing_denominators_are_not_pooled():
    card = run("p", [("A81001", 30, 100), ("A81002", np.nan, np.nan), ("A81003", 250, 1000)], "proportion")
    assert card.loc[("group", 0.95)]["n_practices"] == 1


def test_p_values_agree_with_the_labels_and_fdr_is_controlled_over_the_period():
    # 40 groups of one practice each: 5 truly different (far from England), 35 at England's rate
    rng = np.random.default_rng(7)
    rows, mem = [], []
    for g in range(40):
        share = 0.35 if g < 5 else 0.20
        code = f"A8{g:04d}"
        rows.append((code, float(rng.binomial(2000, share)), 2000.0))
        mem.append((f"G{g:02d}", code, PERIOD))
    rows += [(f"B8{i:04d}", 20000.0, 100000.0) for i in range(10)]  # the rest of England at 20%
    pv = practice_values("p", rows, "proportion")
    members = pd.DataFrame(mem, columns=["group_id", "practice_code", "period"])
    card = scorecard(pv, members, {"p": definition("proportion")}, "as-was", "v0")
    g = card[card["entity_type"] == "group"]
    for pre, kind in (("", "evaluative"), ("descriptive_", "descriptive")):  # FDR per comparison type
        for conf in (0.95, 0.998):
            c = g[g["confidence"] == conf]
            assert ((c[f"{pre}p_value"] < 1 - conf) == (c[f"{pre}comparison"] != "similar")).all()
            assert (c[f"{pre}q_value"] >= c[f"{pre}p_value"] - 1e-12).all()
            # FDR-controlled labels are a subset of the plain ones
            assert set(c.loc[c[f"{pre}comparison_fdr"] != "similar", "entity_id"]) <= set(
                c.loc[c[f"{pre}comparison"] != "similar", "entity_id"])
            assert c[f"{pre}fdr_family"].str.contains(f"over 40 {kind} group comparisons in FY2019/20").all()
        eng = card[card["entity_type"] == "england"]
        assert (eng[f"{pre}comparison_fdr"] == "comparator").all() and eng[f"{pre}p_value"].isna().all()
    big = g[(g["confidence"] == 0.95) & g["entity_id"].isin([f"G{i:02d}" for i in range(5)])]
    assert (big["descriptive_comparison_fdr"] == "better").all()
    # evaluatively, one practice in ten of England's is at 35%: a group of one such practice is not unusual
    # among random groups of one practice (about 5 in 50 are that high, so p is about 0.1 or more)
    assert (big["comparison"] == "similar").all() and (big["p_value"] > 0.05).all()


def test_counts_by_group_with_and_without_fdr():
    from gpscale.evaluate.scorecard import counts_by_group

    pv = pd.concat([
        practice_values("a", [("A81001", 300, 1000), ("A81002", 310, 1000), ("A81003", 2000, 10000)], "proportion"),
        practice_values("b", [("A81001", 100, 1000), ("A81002", 105, 1000), ("A81003", 1000, 10000)], "proportion"),
    ])
    defs = {"a": definition("proportion"), "b": definition("proportion", "low_is_good")}
    card = scorecard(pv, MEMBERS, defs, "as-was", "v0")
    counts = counts_by_group(card, comparison="descriptive").set_index("group_id").loc["G1"]
    # a: 610/2000 = 30.5% against England's 2610/12000 = 21.75% (high is good): better
    # b: 205/2000 = 10.25% against 1205/12000 = 10.04%: similar
    assert counts["n_indicators"] == 2 and counts["better"] == 1 and counts["similar"] == 1 and counts["worse"] == 0
    assert counts["better_fdr"] <= counts["better"] and counts["worse_fdr"] <= counts["worse"]
    assert "Benjamini-Hochberg" in counts["fdr_family"] and counts["membership_view"] == "as-was"
    assert counts["comparison_type"] == "descriptive"
    # the default reading is the evaluative comparison: three practices are too few, nothing is compared
    default = counts_by_group(card).set_index("group_id").loc["G1"]
    assert default["comparison_type"] == "evaluative" and default["not compared"] == 2
