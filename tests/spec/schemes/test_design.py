"""Design aid spec: the distribution of payments, the share meeting each target, and the threshold sweep."""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.evaluate.schemes import design, forecast_scheme, parse_scheme_text, score_scheme
from tests.spec.schemes.networks import history_inputs, make_inputs, scheme

DRAFT = """
id: draft
title: draft scheme
period: FY2020/21
forecast: {draws: 2000, seed: 3}
point_value: {amount: "100.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 76}
    reward: {amount: "1000.00"}
  - indicator: pp
    id: pp_thresholds
    target: {type: thresholds, lower: 70, upper: 80}
    reward: {points: 10}
"""


@pytest.fixture(scope="module")
def aid():
    inputs = history_inputs()
    s = parse_scheme_text(DRAFT, "d.yaml")
    return s, inputs, design(s, inputs, shifts={"pp": [-1, -0.5, 0, 0.5, 1], "pp_thresholds": [-2, 0, 2]})


def test_unmoved_target_reproduces_the_scoring_and_the_forecast(aid):
    s, inputs, d = aid
    scored = score_scheme(s, inputs)
    fc = forecast_scheme(s, inputs, draws=2000)
    for tid in ("pp", "pp_thresholds"):
        row = d.sweep[(d.sweep["target_id"] == tid) & (d.sweep["shift"] == 0)].iloc[0]
        sc = scored.scores[scored.scores["target_id"] == tid]
        f = fc.forecasts[fc.forecasts["target_id"] == tid]
        assert row["share_met"] == pytest.approx(sc["met"].mean())
        assert row["payment_pence"] == sc["payment_pence"].sum()
        # the same random stream: the sweep's unmoved forecast is the forecast itself
        assert row["expected_share_met"] == pytest.approx(f["p_met"].mean())
        assert abs(row["expected_payment_pence"] - f["expected_payment_pence"].sum()) <= len(f)  # pence rounding
    t = d.targets.set_index("target_id")
    assert t.loc["pp", "share_met"] == pytest.approx(scored.scores.query("target_id == 'pp'")["met"].mean())


def test_a_harder_target_is_met_by_no_more_networks_now_or_next_year(aid):
    _s, _i, d = aid
    for _tid, rows in d.sweep.groupby("target_id"):
        rows = rows.sort_values("shift")
        assert (np.diff(rows["share_met"]) <= 1e-12).all()
        assert (np.diff(rows["expected_share_met"]) <= 1e-12).all()  # common random numbers: exactly monotone
        assert (np.diff(rows["payment_pence"]) <= 0).all()
    pp = d.sweep[d.sweep["target_id"] == "pp"].sort_values("shift")
    assert list(pp["standard"]) == [75.0, 75.5, 76.0, 76.5, 77.0]  # high is good: harder is higher
    thr = d.sweep[d.sweep["target_id"] == "pp_thresholds"].sort_values("shift")
    assert list(thr["lower_threshold"]) == [68.0, 70.0, 72.0] and list(thr["upper_threshold"]) == [78.0, 80.0, 82.0]


def test_distribution_and_chart_data(aid):
    _s, _i, d = aid
    dist = d.distribution.set_index("basis")
    assert dist.loc["scored", "total_pence"] == d.score.totals["payment_pence"].sum()
    assert dist.loc["expected", "total_pence"] == d.forecast.totals["expected_payment_pence"].sum()
    assert dist.loc["scored", "min_pence"] <= dist.loc["scored", "median_pence"] <= dist.loc["scored", "max_pence"]
    charts = {c.id: c for c in d.charts}
    hist = charts["draft-payments"]
    assert hist.kind == "histogram" and hist.x_to == "to_gbp"
    assert hist.data.groupby("series")["networks"].sum().tolist() == [30, 30]  # every network once per series
    line = charts["draft-pp-share"]
    assert line.kind == "line" and set(line.data.columns) == {"shift", "series", "value"}
    assert len(line.data) == 2 * 5


def test_default_sweep_steps_are_a_quarter_of_the_spread_and_a_low_is_good_target_moves_down():
    s = scheme("""
indicators:
  - indicator: rr
    target: {type: network_standard, standard: 12}
    reward: {amount: "10.00"}
""")
    d = design(s, make_inputs(), draws=500)
    rows = d.sweep.sort_values("shift")
    # achievements 14.0 and 8.8 per 1,000: SD 3.677 -> step 0.92 (two significant figures)
    assert rows["shift"].tolist() == pytest.approx([0.92 * k for k in range(-4, 5)])
    # lower is better, so a harder target (positive shift) is a lower standard
    assert rows["standard"].tolist() == pytest.approx([12 - 0.92 * k for k in range(-4, 5)])
    # two years of data only: nothing to forecast, but the scored side of the sweep is there
    assert rows["n_forecast"].eq(0).all() and rows["share_met"].notna().all()
