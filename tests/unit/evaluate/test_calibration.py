"""The placebo harness: drawing random groups, plugging in analyses, tabulating flags, and the CLI."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.evaluate.calibration import (
    CALIBRATION_COLUMNS,
    FLAG_COLUMNS,
    FlagAnalysis,
    PlaceboData,
    PlaceboDesign,
    Verdict,
    calibrate_frames,
    calibration_table,
    draw_placebo_groups,
)
from gpscale.stats.intervals import wilson_interval

PERIODS = ["FY2020/21", "FY2021/22", "FY2022/23"]
REGIONS = ["Y56", "Y58", "Y59"]


def practice_frame(n=300, seed=1, missing_last_year=()):
    rng = np.random.default_rng(seed)
    rows = []
    for p in PERIODS:
        for i in range(n):
            code = f"P{i:04d}"
            if p == PERIODS[-1] and code in missing_last_year:
                continue
            den = 1000.0
            rows.append(("p", code, p, "fy", float(rng.binomial(1000, 0.3)), den))
    return pd.DataFrame(rows, columns=["indicator_id", "practice_code", "period", "period_type", "numerator",
                                       "denominator"]).assign(definition_version="1")


def context(n=300, seed=2):
    rng = np.random.default_rng(seed)
    codes = [f"P{i:04d}" for i in range(n)]
    patients = rng.integers(1000, 30000, n).astype(float)
    region = [REGIONS[i % 3] for i in range(n)]
    return pd.concat([pd.DataFrame({"practice_code": codes, "period": p, "patients": patients, "region": region})
                      for p in PERIODS], ignore_index=True)


DEFS = {"p": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0, version=1)}


def test_draws_are_seeded_distinct_within_groups_and_of_the_asked_size():
    pv = practice_frame()
    a = draw_placebo_groups(pv, PlaceboDesign(groups=50, practices=7, seed=3))
    b = draw_placebo_groups(pv, PlaceboDesign(groups=50, practices=7, seed=3))
    c = draw_placebo_groups(pv, PlaceboDesign(groups=50, practices=7, seed=4))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    sizes = a.groupby(["group_id", "period"])["practice_code"].agg(["size", "nunique"])
    assert (sizes["size"] == 7).all() and (sizes["nunique"] == 7).all()
    assert a["group_id"].nunique() == 50 and set(a["period"]) == set(PERIODS)


def test_cross_sectional_groups_come_from_practices_with_data_that_period_and_longitudinal_ones_stay_fixed():
    gone = {f"P{i:04d}" for i in range(0, 300, 2)}
    pv = practice_frame(missing_last_year=gone)
    cross = draw_placebo_groups(pv, PlaceboDesign(groups=200, seed=5))
    assert not set(cross.loc[cross["period"] == PERIODS[-1], "practice_code"]) & gone
    # earlier years draw from everyone, so the closed practices appear there
    assert set(cross.loc[cross["period"] == PERIODS[0], "practice_code"]) & gone
    fixed = draw_placebo_groups(pv, PlaceboDesign(groups=40, seed=5), longitudinal=True)
    sets = fixed.groupby("group_id")[["period", "practice_code"]].apply(
        lambda g: g.groupby("period")["practice_code"].apply(frozenset).nunique())
    assert (sets == 1).all()  # the same practices in every period
    assert not set(fixed["practice_code"]) & gone  # drawn among practices with data in the latest year


def test_region_keeps_each_group_in_one_region():
    pv = practice_frame()
    m = draw_placebo_groups(pv, PlaceboDesign(groups=60, practices=5, region=True, seed=6), context=context())
    region = dict(zip(context()["practice_code"], context()["region"], strict=False))
    per_group = m.assign(r=m["practice_code"].map(region)).groupby(["group_id", "period"])["r"].nunique()
    assert (per_group == 1).all()
    assert m.assign(r=m["practice_code"].map(region))["r"].nunique() == 3


def test_sizes_from_groups_copy_the_number_of_practices_and_their_list_size_bands():
    pv = practice_frame()
    ctx = context()
    big = ctx.sort_values("patients").drop_duplicates("practice_code")["practice_code"].to_numpy()
    real = pd.DataFrame({"group_id": ["BIG"] * 4, "practice_code": big[-4:], "period": PERIODS[-1]})
    m = draw_placebo_groups(pv, PlaceboDesign(groups=30, size_from_groups=True, seed=7), context=ctx,
                            real_members=real)
    assert (m.groupby(["group_id", "period"]).size() == 4).all()
    # every member is from the top list-size decile, like the group copied
    top = set(big[-30:])
    assert set(m["practice_code"]) <= top


def test_table_counts_rates_and_wilson_intervals():
    flags = pd.DataFrame({
        "analysis": "toy", "comparison_type": "evaluative", "method": "m", "entity_id": [f"G{i}" for i in range(40)],
        "indicator_id": "p", "period": "FY2022/23", "period_type": "fy", "confidence": 0.95,
        "direction": [1] * 3 + [-1] * 1 + [0] * 34 + [0, 0], "compared": [True] * 38 + [False] * 2,
    })[FLAG_COLUMNS]
    t = calibration_table(flags, DEFS, design_text="d", seed=1)
    assert list(t.columns) == CALIBRATION_COLUMNS
    row = t[t["period"] == "FY2022/23"].iloc[0]
    assert (row["compared"], row["not_compared"], row["higher"], row["lower"]) == (38, 2, 3, 1)
    assert (row["better"], row["worse"], row["higher_is"]) == (3, 1, "better")
    assert row["flagged_rate"] == pytest.approx(4 / 38)
    lo, hi = wilson_interval(4, 38, 0.95)
    assert (row["flagged_rate_lower"], row["flagged_rate_upper"]) == pytest.approx((float(lo), float(hi)))
    assert row["expected_rate"] == pytest.approx(0.05) and row["expected_each_way"] == pytest.approx(0.025)
    pooled = t[t["period"] == "all"].iloc[0]
    assert pooled["compared"] == 38 and pooled["n_periods"] == 1


def _constant(direction: int):
    def run(data: PlaceboData) -> pd.DataFrame:
        m = data.members[["group_id", "period"]].drop_duplicates()
        return pd.DataFrame({"analysis": f"always {direction}", "comparison_type": "evaluative", "method": "toy",
                             "entity_id": m["group_id"].to_numpy(), "indicator_id": "p",
                             "period": m["period"].to_numpy(), "period_type": "fy", "confidence": 0.95,
                             "direction": direction, "compared": True})[FLAG_COLUMNS]
    return FlagAnalysis(f"always {direction}", run)


def test_any_analysis_plugs_in_and_the_verdict_catches_a_miscalibrated_one():
    pv = practice_frame()
    cal = calibrate_frames(pv, DEFS, PlaceboDesign(groups=100, seed=8),
                           analyses=[_constant(1), _constant(0), "scorecard"], confidences=[0.95])
    all_ = cal.table[cal.table["period"] == "all"]
    t = all_[all_["comparison_type"] == "evaluative"].set_index("analysis")
    assert t.loc["always 1", "verdict"] == Verdict.TOO_MANY.value
    assert t.loc["always 0", "verdict"] == Verdict.TOO_FEW.value
    assert t.loc["always 1", "higher_rate"] == 1.0 and t.loc["always 1", "compared"] == 300
    assert t.loc["scorecard", "compared"] == 300
    assert "100 random groups, 6 practices each" in t.loc["scorecard", "design"]
    # the scorecard's descriptive comparison is tabulated beside it, named
    assert set(all_.loc[all_["analysis"] == "scorecard", "comparison_type"]) == {"evaluative", "descriptive"}


def test_calibrate_command_writes_the_table_and_fails_cleanly(tmp_path):
    from gpscale.cli import app
    from tests.synthetic_england import small_england

    runner = CliRunner()
    missing = runner.invoke(app, ["calibrate", "--store", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "no store" in missing.output
    synth = small_england()
    store = tmp_path / "store.duckdb"
    # QOF files before 2019/20 carry no PCN columns, so the store has no groups
    assert runner.invoke(app, ["ingest", "--store", str(store), str(synth.out / "nhs" / "QOF_2017-18.csv"),
                               str(synth.out / "nhs" / "QOF_2018-19.csv")]).exit_code == 0
    no_groups = runner.invoke(app, ["calibrate", "--store", str(store), "--size-from-groups", "--out", str(tmp_path)])
    assert no_groups.exit_code == 2 and "no groups" in no_groups.output
    out = tmp_path / "cal"
    r = runner.invoke(app, ["calibrate", "--store", str(store), "--groups", "50", "--practices", "4", "--seed", "9",
                            "--analysis", "trends", "--analysis", "scorecard", "--out", str(out)])
    assert r.exit_code == 0, r.output
    table = pd.read_parquet(out / "calibration.parquet")
    assert set(table["analysis"]) == {"trends", "scorecard"} and set(table["period"]) >= {"FY2018/19", "all"}
    assert pd.read_csv(out / "calibration.csv").shape == table.shape
    again = tmp_path / "again"
    runner.invoke(app, ["calibrate", "--store", str(store), "--groups", "50", "--practices", "4", "--seed", "9",
                        "--analysis", "trends", "--analysis", "scorecard", "--out", str(again)])
    pd.testing.assert_frame_equal(table, pd.read_parquet(again / "calibration.parquet"))


def test_the_placebo_scorecard_one_indicator_at_a_time_flags_as_the_whole_scorecard_does():
    """scorecard_flags runs the scorecard per indicator (memory); a row's comparisons must not depend on the other
    indicators in the same run (no pooling of tests across indicators enters a label)."""
    from gpscale.domain.comparisons import reading
    from gpscale.domain.vocabulary import ComparisonType
    from gpscale.evaluate.calibration import PLACEBO_VIEW, scorecard_flags
    from gpscale.evaluate.scorecard import scorecard

    pv = pd.concat([practice_frame(seed=1), practice_frame(seed=5).assign(indicator_id="q")], ignore_index=True)
    defs = {**DEFS, "q": SimpleNamespace(value_type="proportion", polarity="low_is_good", multiplier=100.0, version=1)}
    members = draw_placebo_groups(pv, PlaceboDesign(groups=60, practices=6, seed=3))
    data = PlaceboData(pv, members, defs, (0.95, 0.998))
    whole = scorecard(pv, members, defs, PLACEBO_VIEW, "", (0.95, 0.998), pooled=data.pooled(),
                      references=data.england_references())
    whole = whole[whole["entity_type"] == "group"]
    flags = scorecard_flags(data)
    for kind in ComparisonType:
        g = reading(whole, kind)
        expected = (g.assign(higher=g["comparison"].map({"better": 1, "worse": -1}))
                    [["entity_id", "indicator_id", "period", "confidence", "comparison"]])
        got = flags[flags["comparison_type"] == kind.value]
        assert len(got) == len(expected) > 0
        merged = expected.merge(got, on=["entity_id", "indicator_id", "period", "confidence"], validate="one_to_one")
        pol = merged["indicator_id"].map({"p": 1, "q": -1})
        want = merged["comparison"].map({"better": 1, "worse": -1}).fillna(0).astype(int) * pol
        assert (merged["direction"].to_numpy() == want.to_numpy()).all()
        assert merged["direction"].abs().sum() > 0  # some placebo groups are flagged, so the comparison can fail


def test_draws_do_not_depend_on_the_row_order_of_the_context():
    # issue 12r: the demo's context comes from DuckDB in an order that depends on its threads (6,500 practices);
    # practices of equal list size straddling a decile boundary must fall in the same band whatever that order
    pv = practice_frame()
    ctx = context().assign(patients=lambda c: (c["patients"] // 4000) * 4000.0)  # many ties at every boundary
    real = pd.DataFrame({"group_id": ["G"] * 5, "practice_code": [f"P{i:04d}" for i in range(5)],
                         "period": PERIODS[-1]})
    design = PlaceboDesign(groups=40, size_from_groups=True, seed=8)
    a = draw_placebo_groups(pv, design, context=ctx, real_members=real)
    for seed in (1, 2, 3):
        shuffled = ctx.sample(frac=1.0, random_state=seed)
        pd.testing.assert_frame_equal(draw_placebo_groups(pv, design, context=shuffled, real_members=real), a)
