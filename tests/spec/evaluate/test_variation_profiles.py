"""Variation between members, group profiles, characteristics and "is bigger better?", on small tables."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.characteristics import characteristics, relative_performance
from gpscale.evaluate.funnels import member_funnels, national_funnels
from gpscale.evaluate.pooling import pooled_table
from gpscale.evaluate.profiles import group_profiles, postcode_area, postcode_district
from gpscale.evaluate.size import size_analysis
from gpscale.evaluate.variation import _iqr_rows, convergence, dispersion
from gpscale.stats.variation import coefficient_of_variation, interquartile_range

FYS = [f"FY{y}/{(y + 1) % 100:02d}" for y in range(2015, 2020)]


def prop(polarity="low_is_good"):
    return SimpleNamespace(value_type="proportion", polarity=polarity, multiplier=100.0, data_breaks=[], version=2)


def pv_frame(rows, ind="p"):
    df = pd.DataFrame(rows, columns=["practice_code", "period", "numerator", "denominator"])
    df["indicator_id"] = ind
    df["period_type"] = "fy"
    df["value"] = df["numerator"] / df["denominator"]
    df["definition_version"] = 2
    return df


def test_member_funnel_positions_phe_and_overdispersed():
    # 200 practices at 10% of 1000 (a little noise), one member far out at 30%
    rng = np.random.default_rng(1)
    rows = [(f"A8{i:04d}", FYS[0], float(rng.binomial(1000, 0.1)), 1000.0) for i in range(200)]
    rows[0] = ("A80000", FYS[0], 300.0, 1000.0)
    pv = pv_frame(rows)
    mem = pd.DataFrame({"group_id": "G", "practice_code": ["A80000", "A80001", "A80002"], "period": FYS[0]})
    f = member_funnels(pv, mem, {"p": prop()}, "as-was", "v0", {"p": "2"})
    assert len(f) == 3 and set(f["group_id"]) == {"G"}
    out = f.set_index("practice_code").loc["A80000"]
    assert out["position"] == "High (0.001)" and out["od_position"] == "High (0.001)"
    assert out["target"] == pytest.approx(100 * pv["numerator"].sum() / pv["denominator"].sum())
    assert out["comparator"] == "England" and out["definition_version"] == "2"
    assert "Wilson" in out["method"] and "Spiegelhalter" in out["od_method"]


def test_scores_have_no_phe_limits_but_an_adjusted_funnel():
    d = SimpleNamespace(value_type="score", polarity="high_is_good", multiplier=100.0, data_breaks=[], version=1)
    rng = np.random.default_rng(2)
    pv = pv_frame([(f"A8{i:04d}", FYS[0], float(559 * rng.uniform(0.85, 0.99)), 559.0) for i in range(50)], "q")
    nat = national_funnels(pv, {"q": d})
    assert (nat["position"] == "not applicable").all() and nat["lower_95"].isna().all()
    assert nat["od_position"].isin(["Not significant", "High (0.025)", "Low (0.025)"]).all()
    assert (nat["tau2"] > 0).all()


def test_dispersion_measures_match_the_stats_functions():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        for fy in FYS:
            n = float(rng.integers(200, 2000))
            rows.append((f"A8{i:04d}", fy, float(rng.binomial(int(n), 0.2)), n))
    pv = pv_frame(rows)
    mem = pd.DataFrame([("G", f"A8{i:04d}", fy) for i in range(6) for fy in FYS],
                       columns=["group_id", "practice_code", "period"])
    disp = dispersion(pv, mem, {"p": prop()}, "as-was", "v0")
    g = pv[pv["practice_code"].isin(mem["practice_code"]) & (pv["period"] == FYS[0])]
    val = (g["numerator"] / g["denominator"] * 100).to_numpy()
    got = disp[(disp["entity_id"] == "G") & (disp["period"] == FYS[0])].set_index("statistic")["value"]
    assert got["iqr"] == pytest.approx(float(interquartile_range(val)))
    assert got["cv"] == pytest.approx(float(coefficient_of_variation(val, g["denominator"].to_numpy())))
    assert "scv" in got.index
    eng = disp[(disp["entity_type"] == "england") & (disp["period"] == FYS[0])]
    assert set(eng["statistic"]) == {"iqr", "cv", "scv"} and (eng["n_practices"] == 12).all()


def test_fast_iqr_equals_the_stats_iqr_on_padded_rows():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(50, 9))
    counts = rng.integers(1, 10, 50)
    for r, c in enumerate(counts):
        a[r, c:] = np.nan
    expected = interquartile_range(a, axis=1)
    assert np.allclose(_iqr_rows(a, counts), expected, equal_nan=True)


def test_convergence_detects_narrowing():
    # 8 member practices converge on 20%: spread halves each year
    rows = []
    for t, fy in enumerate(FYS):
        for i in range(8):
            share = 0.2 + (i - 3.5) * 0.02 * 0.5**t
            rows.append((f"A8{i:04d}", fy, round(5000 * share), 5000.0))
    pv = pv_frame(rows)
    mem = pd.DataFrame([("G", f"A8{i:04d}", fy) for i in range(8) for fy in FYS],
                       columns=["group_id", "practice_code", "period"])
    conv = convergence(pv, mem, {"p": prop()}, "as-was", "v0", n_boot=199)
    g = conv[conv["entity_id"] == "G"].iloc[0]
    assert g["direction"] == "narrowing" and g["value"] < 0 and g["last_value"] < g["first_value"]
    assert g["n_periods"] == 5 and g["n_practices"] == 8 and "bootstrap" in g["method"]


def test_profile_counts_patients_geography_deprivation_and_mix():
    mem = pd.DataFrame({"group_id": "G", "practice_code": ["A81001", "A81002", "A81003"], "period": FYS[0]})
    ctx = pd.DataFrame({
        "practice_code": ["A81001", "A81002", "A81003"], "period": FYS[0], "patients": [1000.0, 3000.0, np.nan],
        "commissioner": ["00L", "00L", "01A"], "icb": ["QHM", "QHM", "QHM"], "region": ["Y63"] * 3,
        "postcode": ["NE1 4LP", "NE23 6BG", "DH1 1AA"], "contract_type": ["GMS", "APMS", "PMS"],
        "rurality": ["Urban", "Rural", "Urban"], "dispensing": [False, True, False], "imd_score": [10.0, 30.0, 50.0],
    })
    prof = group_profiles(mem, ctx, pd.DataFrame({"group_id": ["G"], "name": ["Gee"], "kind": ["federation"]}),
                          "as-was", "v0").iloc[0]
    assert prof["n_practices"] == 3 and prof["patients"] == 4000 and prof["patients_known"] == 2
    assert prof["n_commissioners"] == 2 and prof["n_icbs"] == 1 and prof["n_postcode_areas"] == 2
    assert prof["n_postcode_districts"] == 3
    assert prof["imd_score"] == pytest.approx((10 * 1000 + 30 * 3000) / 4000)  # list-weighted, known lists only
    assert prof["pct_rural"] == pytest.approx(75.0) and prof["pct_apms"] == pytest.approx(75.0)
    assert prof["pct_gms"] == pytest.approx(25.0) and prof["pct_dispensing"] == pytest.approx(75.0)
    assert prof["name"] == "Gee" and prof["kind"] == "federation"
    assert postcode_area(pd.Series(["MK41 9JE", "b1 1aa"])).tolist() == ["MK", "B"]
    assert postcode_district(pd.Series(["MK41 9JE", "junk"])).tolist()[0] == "MK41"


def _national(effect_per_doubling, n_groups=120, seed=5):
    """Groups of 2-40 practices of 6,000 patients; log odds relative to England = effect x log2(size)."""
    rng = np.random.default_rng(seed)
    rows, mem, ctx = [], [], []
    code = 0
    for g in range(n_groups):
        k = int(rng.integers(2, 41))
        size = k * 6000.0
        shift = effect_per_doubling * (np.log2(size) - np.log2(60000)) + rng.normal(0, 0.02)
        for _ in range(k):
            pc = f"A{code:05d}"
            code += 1
            p = 1 / (1 + np.exp(-(-1.0 + shift + rng.normal(0, 0.05))))
            rows.append((pc, FYS[0], float(rng.binomial(3000, p)), 3000.0))
            mem.append((f"G{g:03d}", pc, FYS[0]))
            ctx.append((pc, FYS[0], 6000.0, f"C{g % 7}", "Q1", "Y1", f"N{g % 5}1 1AA", "GMS", "Urban", False,
                        float(rng.uniform(5, 50))))
    pv = pv_frame(rows)
    members = pd.DataFrame(mem, columns=["group_id", "practice_code", "period"])
    context = pd.DataFrame(ctx, columns=["practice_code", "period", "patients", "commissioner", "icb", "region",
                                         "postcode", "contract_type", "rurality", "dispensing", "imd_score"])
    groups = pd.DataFrame({"group_id": [f"G{g:03d}" for g in range(n_groups)], "name": "x", "kind": "pcn"})
    profiles = group_profiles(members, context, groups, "as-was", "v0")
    rel = relative_performance(pooled_table(pv, members, set()), {"p": prop("high_is_good")})
    return rel, profiles


def test_bigger_is_better_when_it_is_and_the_statement_says_so():
    rel, profiles = _national(0.1)
    eff, curve, bands = size_analysis(rel, profiles, "as-was", "v0")
    e = eff.iloc[0]
    assert e["lower"] > 0 and e["value"] == pytest.approx(0.1, abs=0.03)
    assert e["conclusion"].startswith("Larger groups performed better")
    assert len(curve) == 25 and (curve["upper"] >= curve["lower"]).all()
    assert curve["value"].is_monotonic_increasing
    assert bands["n_groups"].sum() == 120


def test_no_size_effect_gives_an_honest_bound_or_says_it_cannot_conclude():
    rel, profiles = _national(0.0)
    eff, _, bands = size_analysis(rel, profiles, "as-was", "v0")
    e = eff.iloc[0]
    assert e["lower"] < 0 < e["upper"]
    assert e["conclusion"].startswith(("No evidence", "The data cannot support"))
    if e["conclusion"].startswith("No evidence"):
        assert "ruled out" in e["conclusion"]
    thin = bands.loc[~bands["enough_groups"], "band"].tolist()
    for b in thin:
        assert b in e["conclusion"]
    few, _, _ = size_analysis(rel[rel["group_id"] < "G010"], profiles, "as-was", "v0")
    assert few.iloc[0]["conclusion"].startswith("The data cannot support a conclusion: only 10 groups")


def test_characteristics_find_the_size_association_and_ignore_constants():
    rel, profiles = _national(0.1)
    ch = characteristics(rel, profiles, "as-was", "v0")
    uni = ch[ch["model"] == "univariable"].set_index("term")
    assert uni.loc["log2_patients", "direction"] == "better" and uni.loc["log2_patients", "lower"] > 0
    assert "imd_score" in uni.index and "log2_practices" in uni.index
    # every group is GMS, urban, and in one ICB: those terms are left out
    assert "pct_apms" not in uni.index and "pct_rural" not in uni.index
    assert (ch["n_groups"] == 120).all() and ch["method"].str.contains("Knapp-Hartung").all()
