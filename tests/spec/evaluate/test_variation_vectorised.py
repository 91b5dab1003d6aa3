"""The variation and scorecard stages computed all at once (issue 17) give what each piece alone gives.

Dispersion slots every group-year's members by integer codes and computes all cells of one padded width
together, the funnels build one table from every year's columns, and the scorecard's FDR families are
keyed by integer pairs. The oracles: the same tables computed one year at a time (exactly equal: the old
loop), the statistics functions applied to one group's members (to rounding), the input rows shuffled (to
rounding: only the order of the sums changes), and Benjamini-Hochberg over each family's own p-values.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from gpscale.evaluate.funnels import national_funnels
from gpscale.evaluate.scorecard import add_fdr
from gpscale.evaluate.variation import dispersion
from gpscale.stats.multiplicity import benjamini_hochberg
from gpscale.stats.variation import (
    coefficient_of_variation,
    interquartile_range,
    systematic_component_of_variation,
)

FYS = [f"FY{y}/{(y + 1) % 100:02d}" for y in range(2015, 2020)]
DEFS = {
    "p": SimpleNamespace(value_type="proportion", polarity="low_is_good", multiplier=100.0, data_breaks=[]),
    "r": SimpleNamespace(value_type="standardised_ratio", polarity="low_is_good", multiplier=1.0, data_breaks=[]),
    "q": SimpleNamespace(value_type="score", polarity="high_is_good", multiplier=100.0, data_breaks=[]),
}


def world(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 practices over five years in groups of 2 to 25 members (rows of 8 or more sum in blocks), some
    practices in two groups, membership changing between years, some values missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for ind in DEFS:
        for fy in FYS:
            for i in range(60):
                if rng.random() < 0.05:
                    continue
                n = float(rng.integers(50, 3000)) if ind != "q" else 559.0
                num = float(rng.binomial(int(n), 0.3)) if ind != "r" else float(rng.poisson(n * 0.3))
                rows.append((ind, f"A8{i:04d}", fy, num, n if ind != "r" else n * 0.3))
    pv = pd.DataFrame(rows, columns=["indicator_id", "practice_code", "period", "numerator", "denominator"])
    pv["period_type"] = "fy"
    pv["value"] = pv["numerator"] / pv["denominator"]
    mem = []
    for t, fy in enumerate(FYS):
        sizes = [25 - t, 12, 9, 8, 5, 2]
        start = 0
        for g, k in enumerate(sizes):
            mem += [(f"G{g}", f"A8{(start + j) % 60:04d}", fy) for j in range(k)]
            start += k - 1  # neighbouring groups share a practice
    return pv, pd.DataFrame(mem, columns=["group_id", "practice_code", "period"])


def test_all_years_at_once_equal_each_year_computed_alone_exactly() -> None:
    pv, mem = world()
    whole = dispersion(pv, mem, DEFS, "as-was", "v0")
    by_year = pd.concat([dispersion(pv[pv["period"] == fy], mem[mem["period"] == fy], DEFS, "as-was", "v0")
                         for fy in FYS], ignore_index=True)
    keys = ["indicator_id", "entity_type", "entity_id", "period", "statistic"]
    assert_frame_equal(whole, by_year.sort_values(keys, ignore_index=True), check_exact=True)
    assert set(whole["statistic"]) == {"iqr", "cv", "scv"} and whole["value"].notna().any()


def test_each_groups_spread_is_the_statistics_of_its_own_members() -> None:
    pv, mem = world()
    disp = dispersion(pv, mem, DEFS, "as-was", "v0").set_index(
        ["indicator_id", "entity_id", "period", "statistic"])
    checked = 0
    for ind in DEFS:
        for (g, fy), m in mem.groupby(["group_id", "period"]):
            rows = pv[(pv["indicator_id"] == ind) & (pv["period"] == fy) & pv["practice_code"].isin(m["practice_code"])]
            x, n = rows["numerator"].to_numpy(), rows["denominator"].to_numpy()
            value = x / n * DEFS[ind].multiplier
            assert disp.loc[(ind, g, fy, "iqr"), "n_practices"] == len(rows)
            if len(rows) < 3:
                assert np.isnan(disp.loc[(ind, g, fy, "iqr"), "value"])
                continue
            assert disp.loc[(ind, g, fy, "iqr"), "value"] == pytest.approx(float(interquartile_range(value)),
                                                                           rel=1e-12)
            assert disp.loc[(ind, g, fy, "cv"), "value"] == pytest.approx(
                float(coefficient_of_variation(value, n)), rel=1e-12)
            if ind == "p":
                pooled = x.sum() / n.sum()
                scv = systematic_component_of_variation(x, n * pooled, kind="binomial", proportion=pooled)
                assert disp.loc[(ind, g, fy, "scv"), "value"] == pytest.approx(float(scv), rel=1e-9, abs=1e-15)
            checked += 1
    assert checked > 60


def test_shuffled_rows_move_no_statistic_beyond_rounding() -> None:
    pv, mem = world()
    keys = ["indicator_id", "entity_type", "entity_id", "period", "statistic"]
    base = dispersion(pv, mem, DEFS, "as-was", "v0")
    shuffled = dispersion(pv.sample(frac=1.0, random_state=3), mem.sample(frac=1.0, random_state=4), DEFS,
                          "as-was", "v0")
    assert_frame_equal(base[[*keys, "n_practices"]], shuffled[[*keys, "n_practices"]])
    assert np.allclose(base["value"], shuffled["value"], rtol=1e-12, atol=1e-15, equal_nan=True)
    assert (base["entity_type"] == "england").any() and (base["entity_id"] == "G0").any()


def test_funnels_of_all_years_in_one_table_equal_each_year_placed_alone() -> None:
    pv, _mem = world()
    whole = national_funnels(pv, DEFS)
    by_year = pd.concat([national_funnels(pv[pv["period"] == fy], DEFS) for fy in FYS], ignore_index=True)
    keys = ["indicator_id", "period", "practice_code"]
    assert_frame_equal(whole.sort_values(keys, ignore_index=True), by_year.sort_values(keys, ignore_index=True),
                       check_exact=True)
    scores = whole[whole["indicator_id"] == "q"]
    assert (scores["position"] == "not applicable").all() and scores["lower_95"].isna().all()
    assert set(whole["od_comparison_95"]) <= {"better", "worse", "similar", "not compared"}


def test_fdr_families_are_each_period_and_level_taken_alone() -> None:
    """add_fdr keys its families by integer (period, confidence) pairs: each family's q-values are
    Benjamini-Hochberg over exactly its own p-values, whatever the row order."""
    rng = np.random.default_rng(5)
    n = 400
    card = pd.DataFrame({
        "entity_type": np.where(rng.random(n) < 0.1, "england", "group"),
        "period": rng.choice(FYS, n), "confidence": rng.choice([0.95, 0.998], n),
        "p_value": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) ** 3),
        "comparison": rng.choice(["better", "worse", "similar"], n), "_direction": rng.choice([-1, 0, 1], n),
        "_polarity": rng.choice(["high_is_good", "low_is_good", "no_judgement"], n),
    })
    out = add_fdr(card.copy())
    for (fy, conf), fam in out[out["entity_type"] == "group"].groupby(["period", "confidence"]):
        _rej, q = benjamini_hochberg(fam["p_value"].to_numpy(), 1 - conf)
        assert np.array_equal(fam["q_value"].to_numpy(), q, equal_nan=True)
        k = int(fam["p_value"].notna().sum())
        assert (fam["fdr_family"] == f"Benjamini-Hochberg over {k} evaluative group comparisons in {fy}, "
                                     f"FDR {1 - conf:g}").all()
    assert (out.loc[out["entity_type"] == "england", "fdr_family"] == "").all()
