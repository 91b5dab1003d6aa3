"""The evaluative comparison: its pieces and properties on simulated Englands with known truth.

Whether it flags random groups at the nominal rate is the placebo harness's job
(tests/simulation/test_placebo_calibration.py); here: the estimate of the between-practice variance
against a known one, the variance of random groups' values against resampling, consistency of labels,
p-values, intervals and reference ranges, and the difference from the descriptive comparison.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gpscale.domain.comparisons import reading
from gpscale.evaluate.evaluative import (
    EVALUATIVE_COLUMNS,
    MIN_PRACTICES,
    ComparisonType,
    england_reference,
    evaluative_comparison,
)
from gpscale.evaluate.scorecard import RESULT_COLUMNS, scorecard

PERIOD = "FY2022/23"
RNG = np.random.default_rng(14)


def definition(value_type, polarity="high_is_good", multiplier=100.0):
    return SimpleNamespace(value_type=value_type, polarity=polarity, multiplier=multiplier)


def england_proportions(n_practices=3000, tau=0.04, centre=0.3, seed=1):
    """Practices with true shares centre + N(0, tau^2) and binomial counts on 200-5000 patients."""
    rng = np.random.default_rng(seed)
    den = rng.integers(200, 5000, n_practices).astype(float)
    p = np.clip(centre + rng.normal(0, tau, n_practices), 0.01, 0.99)
    num = rng.binomial(den.astype(int), p).astype(float)
    codes = [f"P{i:05d}" for i in range(n_practices)]
    return pd.DataFrame({"indicator_id": "p", "practice_code": codes, "period": PERIOD, "period_type": "fy",
                         "numerator": num, "denominator": den, "value": num / den, "definition_version": "1"})


def random_members(pv, groups, k, seed=2):
    rng = np.random.default_rng(seed)
    codes = pv["practice_code"].to_numpy()
    rows = [(f"G{g:04d}", c, PERIOD) for g in range(groups) for c in rng.choice(codes, k, replace=False)]
    return pd.DataFrame(rows, columns=["group_id", "practice_code", "period"])


def test_columns_extend_the_scorecards_default_reading_so_the_tables_concatenate():
    default = [c for c in RESULT_COLUMNS if not c.startswith("descriptive_")]
    assert EVALUATIVE_COLUMNS[: len(default)] == default
    assert "comparison_type" in RESULT_COLUMNS and "descriptive_comparison" in RESULT_COLUMNS


def test_between_practice_variance_is_recovered_beyond_binomial_sampling():
    for tau in (0.0, 0.02, 0.05):
        pv = england_proportions(tau=tau, seed=int(tau * 1000))
        x, n = pv["numerator"].to_numpy(), pv["denominator"].to_numpy()
        ref = england_reference(x, n, n, "proportion")
        assert ref is not None and ref.practices == len(pv)
        assert np.sqrt(ref.tau2) == pytest.approx(tau, abs=0.004)


def test_random_groups_vary_as_the_reference_says():
    # the standard deviation the reference gives groups of six equals that of resampled groups of six
    pv = england_proportions(tau=0.05)
    members = random_members(pv, 3000, 6)
    ev = evaluative_comparison(pv, members, {"p": definition("proportion")}, "placebo", "v")
    e95 = ev[ev["confidence"] == 0.95]
    z = (e95["value"] - e95["comparator_value"]) / ((e95["reference_upper"] - e95["reference_lower"]) / 3.92)
    assert float(np.sqrt(np.mean(z**2))) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("value_type", ["proportion", "rate", "standardised_ratio", "weighted_proportion", "score"])
def test_labels_p_values_intervals_and_reference_ranges_agree(value_type):
    pv = england_proportions(n_practices=400, tau=0.05, seed=3)
    if value_type == "weighted_proportion":
        pv["effective_n"] = pv["denominator"] / 2
    members = random_members(pv, 300, 4, seed=4)
    # a few groups made of the extremes of England, to be flagged
    order = pv.sort_values("value")["practice_code"].to_numpy()
    extremes = pd.DataFrame({"group_id": ["LOW"] * 3 + ["HIGH"] * 3, "practice_code": [*order[:3], *order[-3:]],
                             "period": PERIOD})
    ev = evaluative_comparison(pv, pd.concat([members, extremes]), {"p": definition(value_type)}, "v", "d")
    assert set(ev["comparison_type"]) == {ComparisonType.EVALUATIVE.value}
    for conf in (0.95, 0.998):
        c = ev[ev["confidence"] == conf]
        flagged = c["comparison"] != "similar"
        assert ((c["p_value"] < 1 - conf) == flagged).all()
        excludes = (c["lower"] > c["comparator_value"]) | (c["upper"] < c["comparator_value"])
        assert (excludes == flagged).all()
        outside = (c["value"] > c["reference_upper"]) | (c["value"] < c["reference_lower"])
        assert (outside == flagged).all()
        assert (c["reference_lower"] < c["comparator_value"]).all()
        assert (c["comparator_value"] < c["reference_upper"]).all()
    e = ev[ev["confidence"] == 0.95].set_index("entity_id")
    assert e.loc["LOW", "comparison"] == "worse" and e.loc["HIGH", "comparison"] == "better"


def test_polarity_turns_higher_into_worse():
    pv = england_proportions(n_practices=400, seed=5)
    top = pv.sort_values("value")["practice_code"].to_numpy()[-3:]
    members = pd.DataFrame({"group_id": "TOP", "practice_code": top, "period": PERIOD})
    ev = evaluative_comparison(pv, members, {"p": definition("proportion", "low_is_good")}, "v", "d")
    assert set(ev["comparison"]) == {"worse"}
    ev = evaluative_comparison(pv, members, {"p": definition("proportion", "no_judgement")}, "v", "d")
    assert set(ev["comparison"]) == {"higher"}


def test_effective_practices_count_unequal_sizes_less():
    pv = england_proportions(n_practices=100, seed=6)
    pv["denominator"] = np.where(pv.index < 50, 100.0, 10_000.0)
    pv["numerator"] = np.round(pv["denominator"] * 0.3)
    equal = pd.DataFrame({"group_id": "EQ", "practice_code": pv["practice_code"][50:55], "period": PERIOD})
    mixed = pd.DataFrame({"group_id": "MIX", "practice_code": [*pv["practice_code"][:4], pv["practice_code"][60]],
                          "period": PERIOD})
    ev = evaluative_comparison(pv, pd.concat([equal, mixed]), {"p": definition("proportion")}, "v", "d")
    k = ev[ev["confidence"] == 0.95].set_index("entity_id")["effective_practices"]
    assert k["EQ"] == pytest.approx(5.0)
    assert 1.0 < k["MIX"] < 1.1  # one large practice and four tiny ones: barely more than one practice


def test_too_few_practices_in_england_are_not_compared():
    pv = england_proportions(n_practices=MIN_PRACTICES - 1, seed=7)
    members = random_members(pv, 3, 2, seed=8)
    ev = evaluative_comparison(pv, members, {"p": definition("proportion")}, "v", "d")
    assert (ev["comparison"] == "not compared").all() and ev["p_value"].isna().all()


def test_with_large_denominators_the_descriptive_comparison_flags_ordinary_variation_and_this_does_not():
    pv = england_proportions(tau=0.03, seed=9)
    pv["denominator"] *= 50  # tens of thousands of patients per practice: sampling error negligible
    pv["numerator"] = np.round(pv["value"] * pv["denominator"])
    members = random_members(pv, 400, 6, seed=10)
    defs = {"p": definition("proportion")}
    ev = evaluative_comparison(pv, members, defs, "v", "d")
    card = scorecard(pv, members, defs, "v", "d")
    flagged_ev = (ev[ev["confidence"] == 0.95]["comparison"] != "similar").mean()
    groups = card[(card["entity_type"] == "group") & (card["confidence"] == 0.95)]
    desc = reading(groups, "descriptive")
    assert set(desc["comparison_type"]) == {ComparisonType.DESCRIPTIVE.value}
    assert (desc["comparison"] != "similar").mean() > 0.8 and flagged_ev < 0.1
    # the scorecard's default reading is this comparison, row for row
    assert set(groups["comparison_type"]) == {ComparisonType.EVALUATIVE.value}
    both = groups.merge(ev[ev["confidence"] == 0.95], on=["entity_id", "period"], suffixes=("", "_ev"))
    assert len(both) == len(groups) == 400
    assert (both["comparison"] == both["comparison_ev"]).all()
    assert np.allclose(both["p_value"], both["p_value_ev"]) and np.allclose(both["lower"], both["lower_ev"])
