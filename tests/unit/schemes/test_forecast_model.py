"""The forecast model against outside oracles: statsmodels WLS, the project's meta-regression estimator, and
the normal distribution its simulation draws from."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special, stats

from gpscale.evaluate.metareg import dl_tau2
from gpscale.evaluate.schemes import SchemeInputs, forecast_scheme, parse_scheme_text
from gpscale.evaluate.schemes.forecast import fit_models, line_forecast, network_variance
from tests.spec.schemes.networks import history_inputs

TIMES = np.array([2017.0, 2018.0, 2019.0, 2020.0, 2021.0])


def test_line_forecast_matches_statsmodels_wls_prediction_with_known_variances():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(6, 5))
    v = rng.uniform(0.2, 2.0, size=(6, 5))
    y[1, 0] = np.nan  # a unit missing a year
    y[2, :3] = np.nan  # two points: a level, not a line
    mean, vfit, slope, k = line_forecast(y, v, TIMES, 2022.0, shrink=False)
    for i in (0, 1, 3):
        ok = np.isfinite(y[i])
        x = sm.add_constant(TIMES[ok] - 2022.0)
        res = sm.WLS(y[i, ok], x, weights=1 / v[i, ok]).fit(cov_type="fixed scale", cov_kwds={"scale": 1.0})
        pred = res.get_prediction(np.array([[1.0, 0.0]]))
        assert mean[i] == pytest.approx(pred.predicted_mean[0])
        assert vfit[i] == pytest.approx(pred.se_mean[0] ** 2)
        assert slope[i] == pytest.approx(res.params[1])
    # fewer than three points: the inverse-variance weighted mean and its variance
    w = 1 / v[2, 3:]
    assert k[2] == 2 and slope[2] == 0
    assert mean[2] == pytest.approx(np.sum(w * y[2, 3:]) / w.sum()) and vfit[2] == pytest.approx(1 / w.sum())


def test_network_variance_is_the_dersimonian_laird_estimator_over_independent_lines():
    rng = np.random.default_rng(5)
    units, years = 12, TIMES.size
    v = rng.uniform(0.01, 0.05, size=(units, years))
    y = (rng.normal(size=(units, 1)) + 0.1 * rng.normal(size=(units, 1)) * TIMES[None, :]
         + rng.normal(scale=np.sqrt(v + 0.03)))
    # the same estimator from the project's meta-regression code, on the block-diagonal design
    x = np.zeros((units * years, 2 * units))
    for u in range(units):
        x[u * years:(u + 1) * years, 2 * u] = 1.0
        x[u * years:(u + 1) * years, 2 * u + 1] = TIMES - TIMES.mean()
    expected = dl_tau2(y.ravel(), v.ravel(), x)
    assert expected > 0
    assert network_variance(y, v, TIMES) == pytest.approx(expected)


SCHEME = """
id: unit
title: unit scheme
period: FY2020/21
forecast: {draws: 20000, seed: 11}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 76}
    reward: {amount: "1000.00"}
"""


def test_simulated_probability_matches_the_normal_predictive_distribution():
    inputs = history_inputs()
    scheme = parse_scheme_text(SCHEME, "u.yaml")
    fc = forecast_scheme(scheme, inputs).forecasts.set_index("group_id")
    models, _nets, _avail = fit_models(scheme, inputs, "FY2020/21")
    m = models["pp"].networks.set_index("group_id")
    assert (fc["status"] == "forecast").all() and (fc["period"] == "FY2021/22").all()
    # P(100 x expit(Y) >= 76) with Y ~ N(mean, sd): 1 - Phi((logit(0.76) - mean) / sd)
    analytic = stats.norm.sf((special.logit(0.76) - m["mean"]) / m["sd"])
    mc_se = np.sqrt(analytic * (1 - analytic) / 20000)
    assert np.all(np.abs(fc["p_met"] - analytic) <= 4 * mc_se + 1e-9)
    # expected payment = P(met) x £1,000 (to the penny, half up)
    assert (fc["expected_payment_pence"] - np.round(fc["p_met"] * 100_000)).abs().max() <= 1
    # the forecast interval of the value is the normal's quantiles, back-transformed
    lo = 100 * special.expit(m["mean"] + stats.norm.ppf(0.025) * m["sd"])
    assert np.allclose(fc["forecast_value_lower"], lo, atol=0.15)


def test_forecasts_are_reproducible_for_a_seed_and_change_with_it():
    inputs = history_inputs()
    scheme = parse_scheme_text(SCHEME.replace("draws: 20000", "draws: 1000"), "u.yaml")
    a = forecast_scheme(scheme, inputs).forecasts
    b = forecast_scheme(scheme, inputs).forecasts
    c = forecast_scheme(scheme, inputs, seed=12).forecasts
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p_met"], c["p_met"])


def test_no_forecast_across_a_data_break_or_from_too_few_years():
    inputs = history_inputs()
    defs = {"pp": SimpleNamespace(**{**vars(inputs.definitions["pp"]), "data_breaks": ["FY2021/22"]})}
    broken = SchemeInputs(inputs.practice_values, inputs.spells, inputs.groups, inputs.practices, defs, "unit")
    scheme = parse_scheme_text(SCHEME, "u.yaml")
    fc = forecast_scheme(scheme, broken).forecasts
    assert (fc["status"] == "not forecast: pp has a data break at FY2021/22").all()
    assert fc["p_met"].isna().all() and fc["expected_payment_pence"].isna().all()
    defs = {"pp": SimpleNamespace(**{**vars(inputs.definitions["pp"]), "data_breaks": ["FY2019/20"]})}
    short = SchemeInputs(inputs.practice_values, inputs.spells, inputs.groups, inputs.practices, defs, "unit")
    fc = forecast_scheme(scheme, short).forecasts
    assert fc["status"].str.startswith("not forecast: 2 year(s) of pp since its last data break").all()
