"""Forecast: how likely each network is to meet each target next year, and what it can expect to earn.

**The model** (per network and target, on the indicator's link scale: logit for shares, log for rates
and ratios, as in :mod:`gpscale.evaluate.trends`). The network is taken as it is in the scheme's period
``t`` (the members counted then), and its history is those practices' pooled value in each of the last
``window`` financial years up to ``t`` within the indicator's current data-break segment (never across a
break; a target year that starts a new segment is not forecast). The pooled value in year ``s`` is::

    y_s = a + b s + e_s,   var(e_s) = v_s + tau^2 H_s + omega^2

* ``v_s``: sampling variance of the pooled value (delta method on the pooled counts, as the scorecard's
  intervals; zero for QOF scores, which are not samples);
* ``tau^2 H_s``: year-to-year variation of the member practices beyond sampling, ``tau^2`` estimated for
  the indicator from every practice's residuals about its own line over the window
  (:func:`gpscale.evaluate.trends.practice_year_variance`) and propagated through pooling by
  ``H_s = sum_j w_j^2``, the concentration of the pooled value on its members (``w_j`` each member's
  weight in the pooled link value: its denominator times the link's derivative at its value);
* ``omega^2``: network-level year-to-year variation beyond that (shocks shared by a network's members),
  estimated across all networks by the method of moments for many independent lines (the
  DerSimonian-Laird estimator: weighted residual sums of squares against their expectation, floored at 0).

The line is fitted by weighted least squares with those variances (at least three years), and next year's
value is predicted with variance ``x' Cov x + v_t + tau^2 H_t + omega^2`` (the line's uncertainty plus a
new year's variation and sampling, taken as in year ``t``). For a practice-share target each counted
member is forecast the same way on its own history (variance ``v + tau^2``; its level with the common slope
when it has fewer than three years) plus a shock shared by the network's members (variance ``omega^2``).

**Slopes** are empirical-Bayes estimates, pulled towards the common slope of all networks (or practices) by
their own imprecision (:func:`line_forecast`). **Recalibration**: the same model fitted a year earlier
forecast year ``t``; the mean squared standardised error of those forecasts over all networks (``kappa``,
from at least :data:`MIN_RECALIBRATION` networks, else 1) scales next year's predictive variance. It absorbs
what the model leaves out (members joining, leaving and closing; trends that change), using data up to ``t``
only.

**Simulation.** Next year's value is drawn ``draws`` times from that normal distribution (per target, from
a random stream fixed by the scheme's ``seed`` and the target id, so a forecast is reproducible and a
threshold sweep uses the same draws), transformed back to the indicator's units, and every draw is scored
by the target's rule (:func:`gpscale.evaluate.schemes.targets.fraction_earned`). Reported: the probability
of meeting the target (earning all of it), of earning anything, the expected fraction, points and payment,
the payment's and the achievement's intervals (quantiles at the scheme's confidence), and
``chance_decides``: the target lies inside the achievement's forecast interval, so whether it is met is
mostly chance. Targets are simulated independently of each other; a network's total is the sum of its
targets' simulated payments. Assumptions: the network keeps its current counted members and list size,
every member has data next year (so ``missing_data: fail`` is not forecast), and the value available is
this year's.

The calibration of the probabilities is checked on synthetic England
(``tests/simulation/schemes/test_forecast_calibration.py``; reliability table in docs/schemes.md).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import Link, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.common import fy_breaks, fy_year, fy_years, link_derivative, segments
from gpscale.evaluate.schemes.inputs import SchemeInputs
from gpscale.evaluate.schemes.model import Improvement, PracticeShare, Scheme, SchemeIndicator
from gpscale.evaluate.schemes.money import ROUNDING, reference_patients, to_pence, value_available
from gpscale.evaluate.schemes.scoring import network_members, network_patients, previous_fy
from gpscale.evaluate.schemes.targets import chance_decides, fraction_earned, practice_meets, sign_of
from gpscale.evaluate.trends import MIN_POINTS, practice_link_values, practice_year_variance
from gpscale.periods import fy_label

FORECAST_COLUMNS = [
    "scheme_id", "scheme_version", "group_id", "group_name", "group_kind", "target_id", "indicator_id",
    "target_type", "period", "origin_period", "status", "n_years", "years", "n_counted", "value_now",
    "baseline_value", "trend_per_year", "forecast_value", "forecast_value_lower", "forecast_value_upper",
    "achievement_median", "achievement_lower", "achievement_upper", "confidence", "p_met", "p_any_payment",
    "expected_fraction", "points_available", "expected_points", "payment_available_pence",
    "expected_payment_pence", "payment_lower_pence", "payment_upper_pence", "chance_decides", "tau2", "omega2",
    "kappa", "kappa_n", "method", "draws", "seed", "membership_view", "definition_version", "data_version",
]

FORECAST_TOTAL_COLUMNS = [
    "scheme_id", "scheme_version", "group_id", "group_name", "group_kind", "period", "origin_period", "targets",
    "targets_forecast", "expected_targets_met", "payment_available_pence", "expected_payment_pence",
    "payment_lower_pence", "payment_upper_pence", "confidence", "status", "draws", "seed", "rounding",
    "membership_view", "data_version",
]

FORECAST = "forecast"
#: Networks simulated together (bounds memory: chunk x draws floats per target).
CHUNK = 256
_TINY = 1e-12
#: Fewest networks (or practices) with last year's forecast and this year's value to recalibrate on.
MIN_RECALIBRATION = 20


@dataclass(frozen=True)
class SchemeForecast:
    """A scheme forecast for the year after ``origin``: per network x target, and per network."""

    scheme: Scheme
    origin: str
    period: str
    forecasts: pd.DataFrame
    totals: pd.DataFrame


@dataclass
class EntryModel:
    """The predictive distributions of one target's achievement (see the module notes)."""

    entry: SchemeIndicator
    vt: ValueType
    mult: float
    sign: int
    link: Link
    origin: str
    period: str
    networks: pd.DataFrame  # group_id, status, n_years, years, n_counted, mean, sd, value_now, baseline, trend
    practices: pd.DataFrame = field(default_factory=pd.DataFrame)  # group_id, practice_code, mean, sd (shares)
    tau2: float = np.nan
    omega2: float = np.nan
    kappa: float = 1.0
    kappa_n: int = 0
    definition_version: str = ""


def next_fy(period: str) -> str:
    return fy_label(fy_year(period) + 1)



# ------------------------------------------------------------------------------------------- the fit


def line_forecast(y: np.ndarray, var: np.ndarray, times: np.ndarray, t_star: float, shrink: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``y`` (units x years, NaN = no value): a WLS line with known variances, predicted at t_star.

    Returns (mean, variance of the fitted mean, slope, points used). Rows with at least
    :data:`~gpscale.evaluate.trends.MIN_POINTS` points get a line; rows with fewer a level (their weighted
    mean) with the common slope; rows with none NaN.

    With ``shrink`` (the default) each unit's slope is an empirical-Bayes estimate: the units' slopes are
    taken to vary around a common slope with a between-unit variance estimated from them (the
    DerSimonian-Laird estimator, :func:`gpscale.evaluate.metareg.dl_tau2`), and each estimate is pulled
    towards the common slope by its own imprecision, ``B = se^2 / (se^2 + sigma_b^2)``:
    ``slope = (1 - B) slope_own + B slope_common``, variance ``(1 - B) se^2 + B^2 var(slope_common)``
    (Morris 1983, *JASA* 78:47-55). A slope from three or five noisy years extrapolated a year ahead is the
    main source of error, and without shrinkage a forecast probability is too sure of a steep own trend.
    """
    from gpscale.evaluate.metareg import dl_tau2

    t = times - t_star  # centred on the target year for numerical stability
    ok = np.isfinite(y) & np.isfinite(var)
    w = np.where(ok, 1.0 / np.maximum(np.where(ok, var, 1.0), _TINY), 0.0)
    y0 = np.where(ok, y, 0.0)
    k = ok.sum(axis=1)
    s0, s1, s2 = w.sum(1), (w * t).sum(1), (w * t * t).sum(1)
    sy, sty = (w * y0).sum(1), (w * t * y0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar, ybar = s1 / s0, sy / s0
        sxx = s2 - s1 * s1 / s0
        line = (k >= MIN_POINTS) & (sxx > 0)
        own = np.where(line, (sty - s1 * sy / s0) / sxx, np.nan)
        se2 = np.where(line, 1.0 / sxx, np.nan)
    slope, vslope = np.where(line, own, 0.0), np.where(line, se2, 0.0)
    if shrink and line.sum() >= 2:
        sigma2 = dl_tau2(own[line], se2[line], np.ones((int(line.sum()), 1)))
        wc = 1.0 / (se2[line] + sigma2)
        common, vcommon = float(np.sum(wc * own[line]) / wc.sum()), float(1.0 / wc.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.where(line, se2 / (se2 + sigma2), 1.0)
        slope = np.where(line, (1 - b) * own + b * common, common)
        vslope = np.where(line, (1 - b) * se2 + b * b * vcommon, sigma2 + vcommon)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ybar - slope * tbar
        vfit = 1.0 / s0 + tbar * tbar * vslope
    none = k == 0
    return np.where(none, np.nan, mean), np.where(none, np.nan, vfit), np.where(none, np.nan, slope), k


def network_variance(y: np.ndarray, base_var: np.ndarray, times: np.ndarray) -> float:
    """omega^2: variance of networks' yearly values about their lines beyond ``base_var`` (moments, >= 0).

    The DerSimonian-Laird moment estimator for many independent lines (each unit its own intercept and
    slope, weights ``1 / base_var``): ``(sum Q - sum (k - 2)) / sum (S0 - tr[(X'WX)^-1 X'W^2X])``.
    """
    ok = np.isfinite(y) & np.isfinite(base_var)
    rows = ok.sum(1) >= MIN_POINTS
    if not rows.any():
        return 0.0
    y, v, ok = y[rows], base_var[rows], ok[rows]
    t = times - times.mean()
    w = np.where(ok, 1.0 / np.maximum(np.where(ok, v, 1.0), _TINY), 0.0)
    y0 = np.where(ok, y, 0.0)
    s0, s1, s2 = w.sum(1), (w * t).sum(1), (w * t * t).sum(1)
    q0, q1, q2 = (w * w).sum(1), (w * w * t).sum(1), (w * w * t * t).sum(1)
    sy, sty = (w * y0).sum(1), (w * t * y0).sum(1)
    det = s0 * s2 - s1 * s1
    good = det > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (s0 * sty - s1 * sy) / det
        icpt = (sy - slope * s1) / s0
        resid = np.where(ok, y0 - icpt[:, None] - slope[:, None] * t, 0.0)
        q = (w * resid * resid).sum(1)
        c = s0 - (s2 * q0 - 2 * s1 * q1 + s0 * q2) / det
    k = ok.sum(1)
    num = float(np.sum((q - (k - 2))[good]))
    den = float(np.sum(c[good]))
    return max(0.0, num / den) if den > 0 else 0.0


def _concentration(rows: pd.DataFrame, link: Link, by: list[str]) -> pd.Series:
    """H = sum_j w_j^2 / (sum_j w_j)^2 per ``by`` group, w_j = denominator x link'(value) (see module notes)."""
    p = (rows["numerator"] / rows["denominator"]).to_numpy(float)
    p = np.clip(p, 1e-6, 1 - 1e-6) if link is Link.LOGIT else np.maximum(p, 1e-9)
    w = rows["denominator"].to_numpy(float) * link_derivative(p, link)
    frame = rows[by].assign(_w=w, _w2=w * w)
    g = frame.groupby(by, sort=False)
    return g["_w2"].sum() / g["_w"].sum() ** 2


def _wide(frame: pd.DataFrame, key: str, col: str, keys: Any, years: list[int]) -> np.ndarray:
    """``col`` as a (keys x years) matrix, NaN where absent."""
    if frame.empty:
        return np.full((len(keys), len(years)), np.nan)
    return frame.pivot_table(index=key, columns="_t", values=col, aggfunc="first").reindex(
        index=keys, columns=years).to_numpy(float)


def entry_model(scheme: Scheme, inputs: SchemeInputs, members: pd.DataFrame, entry: SchemeIndicator,
                origin: str, earlier_members: pd.DataFrame | None = None) -> EntryModel:
    """Fit the predictive distributions of one target's achievement for the year after ``origin``.

    The spread is then recalibrated against the model's own record one year earlier (see the module notes);
    ``earlier_members`` are the networks' members the year before (read from the inputs when not given).
    """
    model = _fit(scheme, inputs, members, entry, origin)
    if FORECAST not in set(model.networks.get("status", [])):
        return model
    before = previous_fy(origin)
    if earlier_members is None:
        earlier_members = network_members(scheme, inputs, before)
    earlier = _fit(scheme, inputs, earlier_members, entry, before)
    model.kappa, model.kappa_n = _recalibration(earlier.networks, model.networks)
    model.networks["sd"] = model.networks["sd"] * np.sqrt(model.kappa)
    if not model.practices.empty:
        kp, _n = _recalibration(earlier.practices, model.practices, keys=["group_id", "practice_code"])
        model.practices["sd"] = model.practices["sd"] * np.sqrt(kp)
    return model


def _model_key(entry: SchemeIndicator) -> tuple[str, str, bool]:
    """Targets with the same key share one model: indicator, improvement baseline, practice-level or not."""
    t = entry.target
    base = t.baseline if isinstance(t, Improvement) else ""
    return entry.indicator, base, isinstance(t, PracticeShare)


def _recalibration(earlier: pd.DataFrame, now: pd.DataFrame, keys: list[str] | None = None) -> tuple[float, int]:
    """kappa: mean squared standardised error of last year's one-year-ahead forecasts (1 if too few)."""
    keys = keys or ["group_id"]
    if earlier.empty or "mean" not in earlier or "y_now" not in now:
        return 1.0, 0
    e = earlier[earlier["status"] == FORECAST] if "status" in earlier else earlier
    j = e[[*keys, "mean", "sd"]].merge(now[[*keys, "y_now"]], on=keys, how="inner").dropna()
    j = j[j["sd"] > 0]
    if len(j) < MIN_RECALIBRATION:
        return 1.0, len(j)
    z = (j["y_now"] - j["mean"]) / j["sd"]
    return float(np.mean(z * z)), len(j)


def _fit(scheme: Scheme, inputs: SchemeInputs, members: pd.DataFrame, entry: SchemeIndicator,
         origin: str) -> EntryModel:
    """The model of one target from the data up to ``origin`` (before recalibration)."""
    d = inputs.definitions[entry.indicator]
    vt, mult, sign = ValueType(d.value_type), float(d.multiplier), sign_of(d.polarity)
    link = vt.link
    target = next_fy(origin)
    allv = pooling.usable(inputs.values_of(entry.indicator))
    past = allv[allv["period"].map(fy_year) <= fy_year(origin)]
    version = str(past["definition_version"].iloc[0]) if "definition_version" in past and len(past) else str(
        getattr(d, "version", ""))
    base = EntryModel(entry, vt, mult, sign, link, origin, target, pd.DataFrame(), definition_version=version)

    # the counted members now (exceptions by list size and opening date, and data this year)
    rows = members.merge(past[past["period"] == origin][["practice_code", "numerator", "denominator"]
                                                          + (["effective_n"] if "effective_n" in past else [])],
                         on="practice_code", how="left")
    counted = rows["reason"].isna() & rows["numerator"].notna()
    t = entry.target
    fixed_base = isinstance(t, Improvement) and t.baseline != "previous_year"
    if fixed_base:
        assert isinstance(t, Improvement)
        have = set(past.loc[past["period"] == t.baseline, "practice_code"])
        counted &= rows["practice_code"].isin(have)
    rows = rows[counted]
    nets = members.drop_duplicates("group_id")[["group_id"]].reset_index(drop=True)
    nets["n_counted"] = nets["group_id"].map(rows.groupby("group_id").size()).fillna(0).astype(int)

    starts, mixed = fy_breaks(list(getattr(d, "data_breaks", []) or []))
    segs = segments(sorted(past["period"].unique()), list(getattr(d, "data_breaks", []) or []))
    seg = next((s for s in segs if origin in s), [])
    window = seg[-scheme.forecast.window:] if seg else []
    reason = ""
    if target in starts or target in mixed:
        reason = f"not forecast: {entry.indicator} has a data break at {target}"
    elif len(window) < MIN_POINTS:
        reason = (f"not forecast: {len(window)} year(s) of {entry.indicator} since its last data break up to "
                  f"{origin}; a trend needs {MIN_POINTS}")
    if reason:
        nets["status"] = reason
        base.networks = nets
        return base

    years = [fy_year(p) for p in window]
    times = np.array(years, dtype=float)
    hist = past[past["period"].isin(window)]
    # tau^2 from every practice's own line over the window
    y_p, v_p = practice_link_values(hist, vt)
    pframe = pd.DataFrame({"practice_code": hist["practice_code"].to_numpy(), "t": fy_years(hist["period"]),
                           "y": y_p, "v": v_p}).dropna()
    tau2 = practice_year_variance(pframe)

    # the networks' pooled series over their counted members
    mem = rows[["group_id", "practice_code"]].merge(hist, on="practice_code", how="inner")
    agg = {"numerator": ("numerator", "sum"), "denominator": ("denominator", "sum")}
    if "effective_n" in mem:
        agg["effective_n"] = ("effective_n", "sum")
    pooled = mem.groupby(["group_id", "period"], as_index=False).agg(**agg)
    py, pv = practice_link_values(pooled, vt)
    pooled["y"], pooled["v"] = py, pv
    conc = _concentration(mem, link, ["group_id", "period"]).rename("H").reset_index()
    pooled = pooled.merge(conc, on=["group_id", "period"], how="left")
    pooled["_t"] = fy_years(pooled["period"]).astype(int)
    gid = nets["group_id"].to_numpy()
    Y, V, H = (_wide(pooled, "group_id", c, gid, years) for c in ("y", "v", "H"))
    base_var = V + tau2 * H
    omega2 = network_variance(Y, base_var, times)
    mean, vfit, slope, k = line_forecast(Y, base_var + omega2, times, float(fy_year(target)))
    last = _last_finite(base_var)
    sd = np.sqrt(vfit + last + omega2)
    nets["y_now"] = Y[:, -1]  # pooled link value in the origin year (NaN if the network had none)
    p_now = _inverse_link(Y[:, -1], link)
    nets["n_years"] = k
    nets["years"] = [f"{window[0]} to {window[-1]}"] * len(nets)
    nets["mean"], nets["sd"] = mean, sd
    raw_now = pooled[pooled["period"] == origin].set_index("group_id")
    nets["value_now"] = mult * (raw_now["numerator"] / raw_now["denominator"]).reindex(gid).to_numpy(float)
    nets["trend_per_year"] = slope * link_derivative(p_now, link) * mult
    nets["baseline"] = _baseline(entry, rows, past, mult, gid, nets["value_now"].to_numpy(float))
    nets["status"] = np.where(k >= MIN_POINTS, FORECAST,
                              f"not forecast: fewer than {MIN_POINTS} years with data in {window[0]} to {window[-1]}")
    nets.loc[nets["n_counted"] == 0, "status"] = "not forecast: no counted member practice has data"
    base.networks, base.tau2, base.omega2 = nets, tau2, omega2
    if isinstance(t, PracticeShare):
        base.practices = _practice_models(rows, hist, vt, years, times, float(fy_year(target)), tau2)
    return base


def _last_finite(a: np.ndarray) -> np.ndarray:
    """Each row's last finite value (NaN where none)."""
    ok = np.isfinite(a)
    idx = np.where(ok.any(1), a.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), 0)
    out = a[np.arange(len(a)), idx] if len(a) else np.array([])
    return np.where(ok.any(1), out, np.nan)


def _inverse_link(y: np.ndarray, link: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-y)) if link is Link.LOGIT else np.exp(y)


def _baseline(entry: SchemeIndicator, rows: pd.DataFrame, past: pd.DataFrame, mult: float, gid: np.ndarray,
              now: np.ndarray) -> np.ndarray:
    """An improvement target's baseline for next year: this year's pooled value, or the fixed baseline year's."""
    t = entry.target
    if not isinstance(t, Improvement):
        return np.full(len(gid), np.nan)
    if t.baseline == "previous_year":
        return now
    b = rows[["group_id", "practice_code"]].merge(past[past["period"] == t.baseline], on="practice_code")
    s = b.groupby("group_id")[["numerator", "denominator"]].sum()
    return mult * (s["numerator"] / s["denominator"]).reindex(gid).to_numpy(float)


def _practice_models(rows: pd.DataFrame, hist: pd.DataFrame, vt: ValueType, years: list[int], times: np.ndarray,
                     t_star: float, tau2: float) -> pd.DataFrame:
    """Each counted member's own predictive mean and sd (practice-share targets)."""
    keys = rows[["group_id", "practice_code"]].reset_index(drop=True)
    h = hist[hist["practice_code"].isin(set(keys["practice_code"]))]
    y, v = practice_link_values(h, vt)
    f = pd.DataFrame({"practice_code": h["practice_code"].to_numpy(), "_t": fy_years(h["period"]).astype(int),
                      "y": y, "v": v})
    Y, V = (_wide(f, "practice_code", c, keys["practice_code"], years) for c in ("y", "v"))
    mean, vfit, _slope, _k = line_forecast(Y, V + tau2, times, t_star)
    keys["y_now"] = Y[:, -1]
    keys["mean"] = mean
    keys["sd"] = np.sqrt(vfit + _last_finite(V) + tau2)
    return keys


# -------------------------------------------------------------------------------------- simulation


def _rng(seed: int, target_id: str) -> np.random.Generator:
    """The random stream of one target: fixed by the scheme's seed and the target id."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(target_id.encode())]))


@dataclass
class _Draws:
    """Simulated achievements (networks x draws) of one chunk, with the rows they belong to."""

    index: np.ndarray
    achievement: np.ndarray
    value: np.ndarray


def simulate(model: EntryModel, entry: SchemeIndicator, draws: int, seed: int) -> Iterator[_Draws]:
    """Achievement draws per chunk of forecastable networks (``entry`` may be the model's, with a moved target)."""
    nets = model.networks
    idx_all = np.flatnonzero((nets["status"] == FORECAST).to_numpy()) if "status" in nets else np.array([], int)
    rng = _rng(seed, model.entry.target_id)
    if not len(idx_all):
        return
    mean, sd = nets["mean"].to_numpy(float), nets["sd"].to_numpy(float)
    t = entry.target
    prac = model.practices
    by_group = {g: df for g, df in prac.groupby("group_id", sort=False)} if isinstance(t, PracticeShare) else {}
    for start in range(0, len(idx_all), CHUNK):
        idx = idx_all[start:start + CHUNK]
        z = rng.standard_normal((len(idx), draws))
        value = model.mult * _inverse_link(mean[idx, None] + sd[idx, None] * z, model.link)
        if isinstance(t, PracticeShare):
            shock = rng.standard_normal((len(idx), draws)) * np.sqrt(model.omega2)
            ach = np.empty((len(idx), draws))
            for r, i in enumerate(idx):
                p = by_group.get(nets["group_id"].iat[i])
                if p is None or p.empty:
                    ach[r] = np.nan
                    continue
                zp = rng.standard_normal((len(p), draws))
                vals = model.mult * _inverse_link(p["mean"].to_numpy()[:, None] + p["sd"].to_numpy()[:, None] * zp
                                                  + shock[r][None, :], model.link)
                ach[r] = practice_meets(t.standard, vals, model.sign).mean(axis=0)
        elif isinstance(t, Improvement):
            ach = model.sign * (value - nets["baseline"].to_numpy(float)[idx, None])
        else:
            ach = value
        yield _Draws(idx, ach, value)


def summarise_target(model: EntryModel, entry: SchemeIndicator, available: list[Fraction | None], draws: int,
                     seed: int, confidence: float, totals: np.ndarray | None) -> pd.DataFrame:
    """Per network: probabilities, expectations and intervals of one target's simulated achievement."""
    nets = model.networks
    n = len(nets)
    out = {c: np.full(n, np.nan) for c in ("p_met", "p_any_payment", "expected_fraction", "expected_points",
                                            "achievement_median", "achievement_lower", "achievement_upper",
                                            "forecast_value", "forecast_value_lower", "forecast_value_upper",
                                            "pay_mean", "pay_lower", "pay_upper")}
    chance = np.zeros(n, bool)
    qlo, qhi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    avail = np.array([float(a) if a is not None else np.nan for a in available], dtype=float)
    pts = float(entry.reward.points) if entry.reward.points is not None else np.nan
    for block in simulate(model, entry, draws, seed):
        i = block.index
        frac = fraction_earned(entry.target, block.achievement, model.sign)
        out["p_met"][i] = (frac >= 1).mean(1)
        out["p_any_payment"][i] = (frac > 0).mean(1)
        out["expected_fraction"][i] = frac.mean(1)
        out["expected_points"][i] = frac.mean(1) * pts
        q = np.quantile(block.achievement, [qlo, 0.5, qhi], axis=1)
        out["achievement_lower"][i], out["achievement_median"][i], out["achievement_upper"][i] = q
        qv = np.quantile(block.value, [qlo, 0.5, qhi], axis=1)
        out["forecast_value_lower"][i], out["forecast_value"][i], out["forecast_value_upper"][i] = qv
        chance[i] = chance_decides(entry.target, q[0], q[2])
        pay = frac * avail[i, None]
        out["pay_mean"][i] = pay.mean(1)
        qp = np.quantile(pay, [qlo, qhi], axis=1)
        out["pay_lower"][i], out["pay_upper"][i] = qp
        if totals is not None:
            totals[i] += np.nan_to_num(pay, nan=0.0)
    frame = pd.DataFrame(out)
    frame["chance_decides"] = chance
    return frame


def _pence(pounds: np.ndarray) -> pd.Series:
    return pd.Series([to_pence(x) if np.isfinite(x) else None for x in pounds], dtype="Int64")


def forecast_scheme(scheme: Scheme, inputs: SchemeInputs, origin: str | None = None,
                    draws: int | None = None, seed: int | None = None) -> SchemeForecast:
    """Forecast every network on every target for the year after ``origin`` (default the scheme's period)."""
    origin = origin or scheme.period
    draws = draws or scheme.forecast.draws
    seed = scheme.forecast.seed if seed is None else seed
    models, networks, available = fit_models(scheme, inputs, origin)
    totals = np.zeros((len(networks), draws))
    frames = []
    for entry in scheme.indicators:
        model = models[entry.target_id]
        summ = summarise_target(model, entry, available[entry.target_id], draws, seed, scheme.confidence, totals)
        frames.append(_forecast_rows(scheme, inputs, model, entry, networks, available[entry.target_id], summ,
                                     draws, seed))
    fc = pd.concat(frames, ignore_index=True)
    tot = _forecast_totals(scheme, fc, networks, totals, origin, draws, seed, inputs.data_version)
    return SchemeForecast(scheme, origin, next_fy(origin), fc[FORECAST_COLUMNS], tot[FORECAST_TOTAL_COLUMNS])


def fit_models(scheme: Scheme, inputs: SchemeInputs, origin: str
               ) -> tuple[dict[str, EntryModel], pd.DataFrame, dict[str, list[Fraction | None]]]:
    """Every target's model, the networks at ``origin``, and each target's value available to each network."""
    members = network_members(scheme, inputs, origin)
    networks = members.drop_duplicates("group_id")[["group_id", "group_name", "group_kind"]].reset_index(drop=True)
    patients = network_patients(members, networks)
    reference = reference_patients(scheme, patients)
    earlier = network_members(scheme, inputs, previous_fy(origin))
    fitted: dict[tuple[str, str, bool], EntryModel] = {}
    models = {}
    for e in scheme.indicators:
        key = _model_key(e)
        if key not in fitted:
            fitted[key] = entry_model(scheme, inputs, members, e, origin, earlier)
        models[e.target_id] = dataclasses.replace(fitted[key], entry=e)
    available = {e.target_id: [value_available(scheme, e, p, reference) for p in patients] for e in scheme.indicators}
    return models, networks, available


def _forecast_rows(scheme: Scheme, inputs: SchemeInputs, model: EntryModel, entry: SchemeIndicator,
                   networks: pd.DataFrame, available: list[Fraction | None], summ: pd.DataFrame, draws: int,
                   seed: int) -> pd.DataFrame:
    nets = model.networks.set_index("group_id").reindex(networks["group_id"]).reset_index()
    d = inputs.definitions[entry.indicator]
    method = (f"linear trend of the network's pooled {model.vt.link}-scale value over up to "
              f"{scheme.forecast.window} years (weighted least squares, variance = sampling + practice-year "
              "variation x concentration + network-year variation), normal predictive distribution, "
              f"{draws:,} simulation draws")
    if isinstance(entry.target, PracticeShare):
        method += "; each member practice forecast on its own trend with a shared network shock"
    unknown = np.array([a is None for a in available], dtype=bool)
    status = nets["status"].fillna("not forecast").to_numpy(object)
    status = np.where((status == FORECAST) & unknown, "forecast; payment not computed: a member's list size is "
                      "unknown", status)
    pts = float(entry.reward.points) if entry.reward.points is not None else np.nan
    return pd.DataFrame({
        "scheme_id": scheme.id, "scheme_version": scheme.version, "group_id": networks["group_id"],
        "group_name": networks["group_name"], "group_kind": networks["group_kind"], "target_id": entry.target_id,
        "indicator_id": entry.indicator, "target_type": entry.target.type.value, "period": model.period,
        "origin_period": model.origin, "status": status,
        "n_years": nets.get("n_years", pd.Series(np.nan, index=nets.index)).to_numpy(float),
        "years": nets.get("years", pd.Series(None, index=nets.index)).to_numpy(object),
        "n_counted": nets["n_counted"].to_numpy(),
        "value_now": nets.get("value_now", pd.Series(np.nan, index=nets.index)).to_numpy(float),
        "baseline_value": nets.get("baseline", pd.Series(np.nan, index=nets.index)).to_numpy(float),
        "trend_per_year": nets.get("trend_per_year", pd.Series(np.nan, index=nets.index)).to_numpy(float),
        "forecast_value": summ["forecast_value"], "forecast_value_lower": summ["forecast_value_lower"],
        "forecast_value_upper": summ["forecast_value_upper"], "achievement_median": summ["achievement_median"],
        "achievement_lower": summ["achievement_lower"], "achievement_upper": summ["achievement_upper"],
        "confidence": scheme.confidence, "p_met": summ["p_met"], "p_any_payment": summ["p_any_payment"],
        "expected_fraction": summ["expected_fraction"], "points_available": pts,
        "expected_points": summ["expected_points"],
        "payment_available_pence": pd.Series([to_pence(a) if a is not None else None for a in available],
                                             dtype="Int64"),
        "expected_payment_pence": _pence(summ["pay_mean"].to_numpy()),
        "payment_lower_pence": _pence(summ["pay_lower"].to_numpy()),
        "payment_upper_pence": _pence(summ["pay_upper"].to_numpy()),
        "chance_decides": summ["chance_decides"], "tau2": model.tau2, "omega2": model.omega2,
        "kappa": model.kappa, "kappa_n": model.kappa_n, "method": method,
        "draws": draws, "seed": seed, "membership_view": scheme.view.label,
        "definition_version": model.definition_version or str(getattr(d, "version", "")),
        "data_version": inputs.data_version,
    })


def target_summary(fc: SchemeForecast) -> pd.DataFrame:
    """Per target: networks forecast, expected share meeting it, share where chance decides, expected money.

    ``note`` gives the reason when no network could be forecast.
    """
    rows = []
    for e in fc.scheme.indicators:
        d = fc.forecasts[fc.forecasts["target_id"] == e.target_id]
        ok = d[d["status"].str.startswith(FORECAST)]
        rows.append({
            "target_id": e.target_id, "forecast_period": fc.period, "n_forecast": len(ok),
            "expected_share_met": float(ok["p_met"].mean()) if len(ok) else None,
            "share_chance_decides": float(ok["chance_decides"].mean()) if len(ok) else None,
            "expected_payment_pence": int(ok["expected_payment_pence"].sum()) if len(ok) else None,
            "note": "" if len(ok) or not len(d) else str(d["status"].iloc[0]),
        })
    return pd.DataFrame(rows)


def _forecast_totals(scheme: Scheme, fc: pd.DataFrame, networks: pd.DataFrame, totals: np.ndarray, origin: str,
                     draws: int, seed: int, data_version: str) -> pd.DataFrame:
    """Per network: the expected total payment and its interval (sum of the targets' simulated payments)."""
    g = fc.groupby("group_id", sort=False)
    done = g["status"].apply(lambda s: int(s.str.startswith(FORECAST).sum())).reindex(networks["group_id"])
    n_targets = g.size().reindex(networks["group_id"])
    qlo, qhi = (1 - scheme.confidence) / 2, 1 - (1 - scheme.confidence) / 2
    lo, hi = (np.quantile(totals, [qlo, qhi], axis=1) if totals.size else (np.array([]), np.array([])))
    complete = (done == n_targets).to_numpy()
    none = (done == 0).to_numpy()
    totals = np.where(none[:, None], np.nan, totals) if totals.size else totals
    out = pd.DataFrame({
        "scheme_id": scheme.id, "scheme_version": scheme.version, "group_id": networks["group_id"],
        "group_name": networks["group_name"], "group_kind": networks["group_kind"], "period": next_fy(origin),
        "origin_period": origin, "targets": n_targets.to_numpy(), "targets_forecast": done.to_numpy(),
        "expected_targets_met": g["p_met"].sum(min_count=1).reindex(networks["group_id"]).to_numpy(),
        "payment_available_pence": g["payment_available_pence"].sum(min_count=1).reindex(
            networks["group_id"]).astype("Int64").to_numpy(),
        "expected_payment_pence": _pence(totals.mean(1) if totals.size else np.array([])),
        "payment_lower_pence": _pence(lo), "payment_upper_pence": _pence(hi),
        "confidence": scheme.confidence,
        "status": np.where(complete, FORECAST, np.where(none, "not forecast: no target could be forecast",
                                                         "partial: the payment covers only the targets forecast")),
        "draws": draws, "seed": seed, "rounding": ROUNDING, "membership_view": scheme.view.label,
        "data_version": data_version,
    })
    return out
