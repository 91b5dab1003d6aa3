"""Trends over time: the Fingertips recent-trend test, regression and GLM slopes, and differences.

* :func:`chi2_trend`: the chi-squared test for linear trend on the latest five points, as Fingertips
  reports "recent trends". For proportions it is Armitage's test (Armitage P (1955) "Tests for linear
  trends in proportions and frequencies", *Biometrics* 11:375-386; R's ``prop.trend.test``): the
  regression sum of squares of the proportions on time, weighted by ``n / (p (1 - p))`` at the pooled
  proportion. For rates and counts the Poisson analogue (weights ``n / r``; Breslow & Day 1987) is used.
  Labels combine direction and polarity ("Increasing and getting better", ...).
* :func:`wls_trend`: weighted least-squares slope per unit with a t- or z-interval.
* :func:`glm_trend`: binomial-logit or Poisson-log GLM slope per unit (vectorised IRLS), optionally with
  a Pearson (quasi-likelihood) overdispersion scale.
* :func:`trend_difference`: the difference of two independent slopes with its interval
  (Welch-Satterthwaite degrees of freedom when the slopes have estimated scales).
* :func:`group_trend_glm`: the practice-level model of DESIGN.md section 6, a GLM on member practices and
  all other practices with group-by-period terms, giving the group's trend, the others' trend and their
  difference, with quasi-likelihood scale and cluster-robust (by practice) standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from gpscale.stats._common import FloatArray, as_float_array, check_confidence, check_polarity

__all__ = [
    "CANNOT_CALCULATE",
    "NO_SIGNIFICANT_CHANGE",
    "GroupTrend",
    "TrendEstimate",
    "TrendTest",
    "chi2_trend",
    "glm_trend",
    "group_trend_glm",
    "trend_difference",
    "wls_trend",
]

NO_SIGNIFICANT_CHANGE: Final = "No significant change"
CANNOT_CALCULATE: Final = "Cannot be calculated"
_IRLS_STEPS = 30


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


@dataclass(frozen=True)
class GroupTrend:
    """Trend of a group's practices, of all other practices, and the difference (group minus others)."""

    group: TrendEstimate
    others: TrendEstimate
    difference: TrendEstimate


def _trend_labels(direction: NDArray[np.int8], ok: NDArray[np.bool_], polarity: str) -> NDArray[np.str_]:
    """Fingertips trend wording: direction, qualified by polarity where there is one."""
    pol = check_polarity(polarity)
    if pol == "no_judgement":
        up, down = "Increasing", "Decreasing"
    elif pol == "high_is_good":
        up, down = "Increasing and getting better", "Decreasing and getting worse"
    else:
        up, down = "Increasing and getting worse", "Decreasing and getting better"
    labels = np.select([~ok, direction > 0, direction < 0], [CANNOT_CALCULATE, up, down], default=NO_SIGNIFICANT_CHANGE)
    return labels.astype(np.str_)


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


def glm_trend(
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    times: ArrayLike | None = None,
    family: Literal["binomial", "poisson"] = "binomial",
    overdispersion: bool = False,
    confidence: float = 0.95,
) -> TrendEstimate:
    """GLM slope per unit on (..., periods) counts: binomial with logit link, or Poisson with log link.

    Poisson uses ``log(denominator)`` as offset, so the slope is a log rate ratio per unit of time.
    Fitted by iteratively reweighted least squares vectorised over units. With ``overdispersion=True``
    the variance is scaled by the Pearson chi-squared over ``k - 2`` (quasi-likelihood) and intervals use
    t on ``k - 2`` degrees of freedom; otherwise z-intervals. Units with no events, or (binomial) all
    events, have no finite slope and get NaN. NaN periods are skipped.
    """
    level = check_confidence(confidence)
    x, n = np.broadcast_arrays(as_float_array(numerator), as_float_array(denominator))
    t_raw = np.arange(x.shape[-1], dtype=np.float64) if times is None else as_float_array(times)
    t = t_raw - t_raw.mean()
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
    if family == "binomial":
        ok &= x <= n
    elif family != "poisson":
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}")
    x0 = np.where(ok, x, 0.0)
    n0 = np.where(ok, n, 1.0)
    total = x0.sum(axis=-1)
    fit_ok = total > 0
    if family == "binomial":
        fit_ok &= total < np.where(ok, n0, 0.0).sum(axis=-1)
        eta = special.logit((x0 + 0.5) / (n0 + 1.0))
    else:
        eta = np.log((x0 + 0.5) / n0)
    intercept = np.zeros(x.shape[:-1])
    slope = np.zeros(x.shape[:-1])
    info = np.ones((*x.shape[:-1], 2, 2))
    for step in range(_IRLS_STEPS):
        if step:
            eta = intercept[..., None] + slope[..., None] * t
        if family == "binomial":
            mu = special.expit(eta)
            var = np.maximum(mu * (1.0 - mu), 1e-12)
            weight = n0 * var
            working = eta + (x0 / n0 - mu) / var
        else:
            rate = np.exp(np.clip(eta, -700.0, 700.0))
            weight = n0 * rate
            working = eta + (x0 / n0 - rate) / np.maximum(rate, 1e-300)
        weight = np.where(ok, weight, 0.0)
        working = np.where(ok, working, 0.0)
        s0 = weight.sum(axis=-1)
        s1 = (weight * t).sum(axis=-1)
        s2 = (weight * t * t).sum(axis=-1)
        r0 = (weight * working).sum(axis=-1)
        r1 = (weight * working * t).sum(axis=-1)
        det = s0 * s2 - s1 * s1
        with np.errstate(invalid="ignore", divide="ignore"):
            intercept = (s2 * r0 - s1 * r1) / det
            slope = (s0 * r1 - s1 * r0) / det
        info = np.stack([np.stack([s0, s1], -1), np.stack([s1, s2], -1)], -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_slope = info[..., 0, 0] / (info[..., 0, 0] * info[..., 1, 1] - info[..., 0, 1] ** 2)
    k = ok.sum(axis=-1).astype(np.float64)
    if overdispersion:
        eta = intercept[..., None] + slope[..., None] * t
        if family == "binomial":
            mu = special.expit(eta)
            pearson = np.where(ok, (x0 - n0 * mu) ** 2 / (n0 * mu * (1.0 - mu)), 0.0).sum(axis=-1)
        else:
            expected = n0 * np.exp(np.clip(eta, -700.0, 700.0))
            pearson = np.where(ok, (x0 - expected) ** 2 / expected, 0.0).sum(axis=-1)
        df = np.where(k > 2, k - 2.0, np.nan)
        var_slope = var_slope * pearson / df
        scale_note = "Pearson quasi-likelihood scale, t-interval"
    else:
        df = np.where(k >= 2, np.inf, np.nan)
        scale_note = "z-interval"
    se = np.where(fit_ok, np.sqrt(var_slope), np.nan)
    slope = np.where(fit_ok, slope, np.nan)
    link = "logit" if family == "binomial" else "log"
    method = f"{family} GLM ({link} link) slope by IRLS, {scale_note}"
    return _estimate(slope, se, df, level, link, method)


def trend_difference(a: TrendEstimate, b: TrendEstimate, confidence: float = 0.95) -> TrendEstimate:
    """Difference ``a - b`` of two independent slopes on the same scale, with its interval.

    SE is ``sqrt(se_a^2 + se_b^2)``; degrees of freedom by Welch-Satterthwaite (inf when both are
    z-based). For slopes from one joint model (not independent) use :func:`group_trend_glm`.
    """
    level = check_confidence(confidence)
    if a.scale != b.scale:
        raise ValueError(f"cannot difference slopes on different scales ({a.scale} and {b.scale})")
    va, vb = a.se**2, b.se**2
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(
            np.isinf(a.df) & np.isinf(b.df),
            np.inf,
            (va + vb) ** 2 / (va**2 / a.df + vb**2 / b.df),
        )
    method = f"difference of independent slopes ({a.method} minus {b.method})"
    return _estimate(a.slope - b.slope, np.sqrt(va + vb), df, level, a.scale, method)


def group_trend_glm(
    numerator: ArrayLike,
    denominator: ArrayLike,
    period: ArrayLike,
    in_group: ArrayLike,
    *,
    cluster: ArrayLike | None = None,
    family: Literal["binomial", "poisson"] = "binomial",
    confidence: float = 0.95,
) -> GroupTrend:
    """Practice-level GLM trend of a group against all other practices, with the difference.

    One row per practice-period: ``numerator``, ``denominator``, ``period`` (numeric time),
    ``in_group`` (True for the group's member practices). Model: ``link(mu) = a + b t + c g + d g t``
    (binomial-logit, or Poisson-log with offset ``log(denominator)``), so the others' trend is ``b``, the
    group's ``b + d`` and the difference ``d``. Practice-level indicators are overdispersed, so the
    standard errors are either scaled by the Pearson chi-squared over its degrees of freedom
    (quasi-likelihood) or, when ``cluster`` (e.g. practice code) is given, cluster-robust, which also
    allows for repeated measures on a practice (recommended). Intervals are z-based.
    """
    import statsmodels.api as sm

    level = check_confidence(confidence)
    x = as_float_array(numerator)
    n = as_float_array(denominator)
    t_raw = as_float_array(period)
    g = np.asarray(in_group, dtype=bool).astype(np.float64)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & np.isfinite(t_raw)
    t = t_raw - t_raw[ok].mean()
    design = np.column_stack([np.ones(ok.sum()), t[ok], g[ok], g[ok] * t[ok]])
    if family == "binomial":
        model = sm.GLM(np.column_stack([x[ok], n[ok] - x[ok]]), design, family=sm.families.Binomial())
    elif family == "poisson":
        model = sm.GLM(x[ok], design, family=sm.families.Poisson(), offset=np.log(n[ok]))
    else:
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}")
    if cluster is None:
        # quasi-likelihood scale from the Pearson chi-squared, computed here because statsmodels'
        # scale="X2" ignores the binomial totals when the response is given as two count columns
        result = model.fit()
        cov = np.asarray(result.cov_params()) * result.pearson_chi2 / result.df_resid
        cov_note = "Pearson quasi-likelihood scale"
    else:
        groups = np.unique(np.asarray(cluster)[ok], return_inverse=True)[1]
        result = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        cov = np.asarray(result.cov_params())
        cov_note = "cluster-robust by practice"
    params = np.asarray(result.params)
    link = "logit" if family == "binomial" else "log"
    method = f"practice-level {family} GLM with group-by-period terms ({cov_note})"
    inf = np.asarray(np.inf)

    def estimate(contrast: list[float], what: str) -> TrendEstimate:
        c = np.asarray(contrast)
        return _estimate(
            np.asarray(c @ params), np.asarray(np.sqrt(c @ cov @ c)), inf, level, link, f"{method}: {what}"
        )

    return GroupTrend(
        group=estimate([0.0, 1.0, 0.0, 1.0], "group trend"),
        others=estimate([0.0, 1.0, 0.0, 0.0], "trend of all other practices"),
        difference=estimate([0.0, 0.0, 0.0, 1.0], "group minus others"),
    )
