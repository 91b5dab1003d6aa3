"""Trends over time: the Fingertips recent-trend test and weighted least-squares slopes.

* :func:`chi2_trend`: the chi-squared test for linear trend on the latest five points, as Fingertips
  reports "recent trends". For proportions it is Armitage's test (Armitage P (1955) "Tests for linear
  trends in proportions and frequencies", *Biometrics* 11:375-386; R's ``prop.trend.test``): the
  regression sum of squares of the proportions on time, weighted by ``n / (p (1 - p))`` at the pooled
  proportion. For rates and counts the Poisson analogue (weights ``n / r``; Breslow & Day 1987) is used.
  Labels combine direction and polarity in Fingertips' words
  (:class:`gpscale.domain.vocabulary.TrendLabel`: "Increasing and getting better", ...).
* :func:`wls_trend`: weighted least-squares slope per unit with a t- or z-interval (the building block of
  the evaluation's practice-level trends, :mod:`gpscale.evaluate.trends`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from gpscale.domain.vocabulary import TrendLabel, by_direction
from gpscale.stats._common import FloatArray, as_float_array, check_confidence, check_polarity

__all__ = ["TrendEstimate", "TrendTest", "chi2_trend", "wls_trend"]


@dataclass(frozen=True)
class TrendTest:
    """Chi-squared test for linear trend, per unit.

    ``statistic`` is chi-squared on 1 degree of freedom, ``direction`` +1/-1/0 (significant increase,
    significant decrease, neither), ``label`` the Fingertips-style wording.
    """

    statistic: FloatArray
    p_value: FloatArray
    direction: NDArray[np.int8]
    label: NDArray[np.str_]
    points: int
    confidence: float
    method: str


@dataclass(frozen=True)
class TrendEstimate:
    """A slope per unit with its standard error and interval.

    ``scale`` is the scale of the slope: "identity" (units of the value per unit time), "logit"
    (log-odds per unit time) or "log" (log rate ratio per unit time). ``df`` is inf for z-intervals.
    """

    slope: FloatArray
    se: FloatArray
    lower: FloatArray
    upper: FloatArray
    p_value: FloatArray
    df: FloatArray
    confidence: float
    scale: str
    method: str


def _trend_labels(direction: NDArray[np.int8], ok: NDArray[np.bool_], polarity: str) -> NDArray[np.str_]:
    """Fingertips trend wording: direction, qualified by polarity where there is one."""
    up, down = TrendLabel.directions(check_polarity(polarity))
    return by_direction(direction, ok, up, down, TrendLabel.NO_SIGNIFICANT_CHANGE, TrendLabel.CANNOT_BE_CALCULATED)


def chi2_trend(
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    kind: Literal["proportion", "rate"] = "proportion",
    points: int = 5,
    times: ArrayLike | None = None,
    polarity: str = "no_judgement",
    confidence: float = 0.999,
) -> TrendTest:
    """Chi-squared test for linear trend on the latest ``points`` periods (last axis), per unit.

    ``numerator`` and ``denominator`` have shape (..., periods), oldest first. A unit with any of its
    latest ``points`` values missing, or fewer periods than ``points``, is "Cannot be calculated", as
    Fingertips requires five consecutive points. ``confidence`` is the level at which a trend is called
    (default 99.9%, i.e. p < 0.001; pass the level your comparator uses).
    """
    level = check_confidence(confidence)
    x_all = as_float_array(numerator)
    n_all = as_float_array(denominator)
    x_all, n_all = np.broadcast_arrays(x_all, n_all)
    if x_all.shape[-1] < points:
        shape = x_all.shape[:-1]
        nan = np.full(shape, np.nan)
        direction = np.zeros(shape, dtype=np.int8)
        return TrendTest(
            nan, nan, direction, _trend_labels(direction, np.zeros(shape, bool), polarity), points, level, ""
        )
    x = x_all[..., -points:]
    n = n_all[..., -points:]
    t = np.arange(points, dtype=np.float64) if times is None else as_float_array(times)[-points:]
    ok = np.all(np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0), axis=-1)
    if kind == "proportion":
        ok &= np.all(x <= n, axis=-1)
    x0 = np.where(ok[..., None], x, 0.0)
    n0 = np.where(ok[..., None], n, 1.0)
    pooled = x0.sum(axis=-1) / n0.sum(axis=-1)
    if kind == "proportion":
        var_unit = pooled * (1.0 - pooled)
        method = "chi-squared test for linear trend in proportions (Armitage)"
    elif kind == "rate":
        var_unit = pooled
        method = "chi-squared test for linear trend in rates (Poisson)"
    else:
        raise ValueError(f"kind must be 'proportion' or 'rate', got {kind!r}")
    degenerate = var_unit <= 0
    w = n0 / np.where(degenerate, 1.0, var_unit)[..., None]
    f = x0 / n0
    t_bar = (w * t).sum(axis=-1) / w.sum(axis=-1)
    dt = t - t_bar[..., None]
    sxy = (w * dt * (f - pooled[..., None])).sum(axis=-1)
    sxx = (w * dt**2).sum(axis=-1)
    statistic = np.where(degenerate, 0.0, sxy**2 / sxx)
    p_value = stats.chi2.sf(statistic, 1)
    significant = ok & (p_value < 1.0 - level)
    direction = np.where(significant, np.sign(sxy), 0).astype(np.int8)
    return TrendTest(
        statistic=np.where(ok, statistic, np.nan),
        p_value=np.where(ok, p_value, np.nan),
        direction=direction,
        label=_trend_labels(direction, ok, polarity),
        points=points,
        confidence=level,
        method=f"{method} on the latest {points} points",
    )


def _estimate(
    slope: FloatArray, se: FloatArray, df: FloatArray, level: float, scale: str, method: str
) -> TrendEstimate:
    """Build a :class:`TrendEstimate` with t (finite df) or z (infinite df) intervals."""
    with np.errstate(invalid="ignore", divide="ignore"):
        crit = np.where(np.isinf(df), stats.norm.ppf(0.5 + level / 2.0), stats.t.ppf(0.5 + level / 2.0, df))
        stat = slope / se
        p = np.where(np.isinf(df), 2.0 * stats.norm.sf(np.abs(stat)), 2.0 * stats.t.sf(np.abs(stat), df))
    return TrendEstimate(
        slope=slope,
        se=se,
        lower=slope - crit * se,
        upper=slope + crit * se,
        p_value=p,
        df=df,
        confidence=level,
        scale=scale,
        method=method,
    )


def wls_trend(
    values: ArrayLike,
    *,
    times: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    standard_errors: ArrayLike | None = None,
    confidence: float = 0.95,
) -> TrendEstimate:
    """Weighted least-squares slope of ``values`` (..., periods) on ``times``, per unit; NaNs skipped.

    With ``standard_errors`` the weights are ``1 / se^2`` and treated as known variances (z-interval).
    Otherwise the weights (default equal) are relative and the residual variance is estimated
    (t-interval on ``k - 2`` degrees of freedom); at least three periods are needed.
    """
    level = check_confidence(confidence)
    y = as_float_array(values)
    t = np.arange(y.shape[-1], dtype=np.float64) if times is None else as_float_array(times)
    if standard_errors is not None:
        se_in = as_float_array(standard_errors)
        w = np.where(se_in > 0, 1.0 / np.where(se_in > 0, se_in, 1.0) ** 2, np.nan)
        known = True
    else:
        w = np.ones_like(y) if weights is None else as_float_array(weights)
        known = False
    y, w = np.broadcast_arrays(y, w)
    ok = np.isfinite(y) & np.isfinite(w) & (w > 0)
    w0 = np.where(ok, w, 0.0)
    y0 = np.where(ok, y, 0.0)
    k = ok.sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = w0.sum(axis=-1)
        t_bar = (w0 * t).sum(axis=-1) / sw
        y_bar = (w0 * y0).sum(axis=-1) / sw
        dt = np.where(ok, t - t_bar[..., None], 0.0)
        sxx = (w0 * dt**2).sum(axis=-1)
        slope = (w0 * dt * (y0 - y_bar[..., None])).sum(axis=-1) / sxx
        if known:
            se = np.sqrt(1.0 / sxx)
            df = np.where(k >= 2, np.inf, np.nan)
            method = "weighted least squares, inverse-variance weights (known variances), z-interval"
        else:
            resid = np.where(ok, y0 - y_bar[..., None] - slope[..., None] * dt, 0.0)
            df = np.where(k > 2, k - 2.0, np.nan)
            sigma2 = (w0 * resid**2).sum(axis=-1) / df
            se = np.sqrt(sigma2 / sxx)
            method = "weighted least squares, estimated residual variance, t-interval"
    return _estimate(slope, se, df, level, "identity", method)
