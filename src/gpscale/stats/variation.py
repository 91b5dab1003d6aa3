"""Variation between units (e.g. member practices of a group), and whether it changes over time.

* Interquartile range and coefficient of variation: simple, robust summaries of spread.
* Systematic component of variation (SCV; McPherson K, Wennberg JE, Hovind OB, Clifford P (1982) "Small-
  area variations in the use of common surgical procedures", *NEJM* 307:1310-1314): the between-unit
  variance of O/E left after removing the Poisson (or binomial) noise expected from the unit's size,
  ``SCV = mean((O - E)^2 / E^2 - v/E)`` with ``v = 1`` (Poisson) or ``1 - p`` (binomial). It does not grow
  just because units are small, unlike the raw CV. McPherson reports it times 100; this module does not.
* :func:`dispersion_trend`: is spread narrowing (convergence) or widening? The chosen measure is computed
  per period, a least-squares slope fitted over periods, and its confidence interval and p-value come
  from a bootstrap that resamples whole units (each unit keeps its own series), so correlation within a
  unit over time is respected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from gpscale.domain.vocabulary import DispersionChange
from gpscale.stats._common import FloatArray, as_float_array, check_confidence

__all__ = [
    "DispersionTrend",
    "coefficient_of_variation",
    "dispersion_trend",
    "dispersion_trends",
    "draws_at_once",
    "interquartile_range",
    "systematic_component_of_variation",
]

Measure = Literal["cv", "iqr", "sd", "scv"]


@dataclass(frozen=True)
class DispersionTrend:
    """Slope of a dispersion measure over time, with a bootstrap interval.

    ``by_period`` is the measure in each period; ``slope`` its least-squares change per unit of time;
    ``lower``/``upper`` the percentile bootstrap interval; ``p_value`` the two-sided bootstrap p-value
    for no change; ``direction`` a :class:`~gpscale.domain.vocabulary.DispersionChange` ("narrowing",
    "widening" or "no clear change") at ``confidence``.
    """

    measure: str
    times: FloatArray
    by_period: FloatArray
    slope: float
    lower: float
    upper: float
    p_value: float
    direction: str
    confidence: float
    n_boot: int
    method: str


def interquartile_range(values: ArrayLike, axis: int = 0) -> FloatArray:
    """Interquartile range (75th minus 25th percentile, linear interpolation) along ``axis``, NaN-aware."""
    x = as_float_array(values)
    q1, q3 = np.nanpercentile(x, [25.0, 75.0], axis=axis)
    return np.asarray(q3 - q1, dtype=np.float64)


def coefficient_of_variation(values: ArrayLike, weights: ArrayLike | None = None, axis: int = 0) -> FloatArray:
    """Coefficient of variation, standard deviation over mean, along ``axis`` (NaN-aware).

    Unweighted: sample SD (``ddof=1``) over the mean. Weighted (e.g. by list size): the weighted SD
    ``sqrt(sum w (x - m)^2 / sum w)`` over the weighted mean ``m``. A zero mean gives NaN.
    """
    x = as_float_array(values)
    if weights is None:
        mean = np.nanmean(x, axis=axis)
        sd = np.nanstd(x, axis=axis, ddof=1)
    else:
        w = np.broadcast_to(as_float_array(weights), x.shape)
        w = np.where(np.isfinite(x), w, 0.0)
        x0 = np.where(np.isfinite(x), x, 0.0)
        total = w.sum(axis=axis)
        mean = (w * x0).sum(axis=axis) / total
        dev = x0 - np.expand_dims(mean, axis)
        sd = np.sqrt((w * dev**2).sum(axis=axis) / total)
    return np.asarray(np.where(mean != 0, sd / np.where(mean != 0, mean, 1.0), np.nan), dtype=np.float64)


def systematic_component_of_variation(
    observed: ArrayLike,
    expected: ArrayLike,
    axis: int = 0,
    kind: Literal["poisson", "binomial"] = "poisson",
    proportion: ArrayLike | None = None,
) -> FloatArray:
    """McPherson's systematic component of variation along ``axis`` (units), NaN-aware.

    ``observed`` and ``expected`` are counts per unit (for a proportion indicator, ``expected`` is the
    unit's denominator times the pooled proportion). ``kind="binomial"`` uses the binomial noise term
    ``(1 - p)/E`` with ``proportion`` the pooled proportion (per period, broadcastable). Units with
    ``expected <= 0`` are ignored. SCV can be slightly negative when there is no systematic variation.
    """
    o = as_float_array(observed)
    e = as_float_array(expected)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    e_safe = np.where(ok, e, 1.0)
    if kind == "poisson":
        noise = 1.0 / e_safe
    elif kind == "binomial":
        if proportion is None:
            raise ValueError("kind='binomial' needs the pooled proportion")
        noise = (1.0 - as_float_array(proportion)) / e_safe
    else:
        raise ValueError(f"kind must be 'poisson' or 'binomial', got {kind!r}")
    term = np.where(ok, (o - e_safe) ** 2 / e_safe**2 - noise, np.nan)
    return np.asarray(np.nanmean(term, axis=axis), dtype=np.float64)


def _measure_fn(measure: Measure) -> Callable[..., FloatArray]:
    """Function computing ``measure`` over units (axis -2) of arrays shaped (..., units, periods)."""
    if measure == "cv":
        return lambda x, w: coefficient_of_variation(x, w, axis=-2)
    if measure == "sd":
        return lambda x, w: np.asarray(np.nanstd(x, axis=-2, ddof=1), dtype=np.float64)
    if measure == "iqr":
        return lambda x, w: interquartile_range(x, axis=-2)
    raise ValueError(f"measure must be 'cv', 'iqr', 'sd' or 'scv', got {measure!r}")


def _slopes(times: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares slopes of ``y`` (..., periods) on ``times``, skipping NaN periods."""
    ok = np.isfinite(y)
    t = np.where(ok, times, 0.0)
    k = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_bar = t.sum(axis=-1) / k
        y_bar = np.where(ok, y, 0.0).sum(axis=-1) / k
        dt = np.where(ok, times - t_bar[..., None], 0.0)
        dy = np.where(ok, y - y_bar[..., None], 0.0)
        return np.asarray((dt * dy).sum(axis=-1) / (dt**2).sum(axis=-1), dtype=np.float64)


def dispersion_trend(
    values: ArrayLike,
    *,
    measure: Measure = "cv",
    times: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    expected: ArrayLike | None = None,
    confidence: float = 0.95,
    n_boot: int = 999,
    seed: int = 0,
) -> DispersionTrend:
    """Test whether between-unit dispersion changes over time (convergence if it narrows).

    ``values`` has shape (units, periods): one row per unit, one column per period, NaN where a unit is
    absent. ``measure`` is "cv" (optionally weighted by ``weights`` of the same shape, e.g. list sizes),
    "sd", "iqr", or "scv" (then ``values`` are observed counts and ``expected`` the expected counts).
    ``times`` defaults to 0, 1, 2, ... The bootstrap resamples units with replacement ``n_boot`` times
    with a seeded generator, so results are reproducible.
    """
    level = check_confidence(confidence)
    x = as_float_array(values)
    if x.ndim != 2:
        raise ValueError("values must be 2-D: units by periods")
    n_units, n_periods = x.shape
    t = np.arange(n_periods, dtype=np.float64) if times is None else as_float_array(times)
    w = None if weights is None else np.broadcast_to(as_float_array(weights), x.shape)
    if measure == "scv":
        if expected is None:
            raise ValueError("measure='scv' needs expected counts")
        e = np.broadcast_to(as_float_array(expected), x.shape)

        def stat(idx: np.ndarray | slice) -> FloatArray:
            return systematic_component_of_variation(x[idx], e[idx], axis=-2)
    else:
        fn = _measure_fn(measure)

        def stat(idx: np.ndarray | slice) -> FloatArray:
            return fn(x[idx], None if w is None else w[idx])

    by_period = stat(slice(None))
    slope = float(_slopes(t, by_period))
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    block = max(1, 2_000_000 // max(1, n_units * n_periods))
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        idx = rng.integers(0, n_units, size=(size, n_units))
        boot[start : start + size] = _slopes(t, stat(idx))
    return _summarise(measure, t, by_period, slope, boot, level, n_boot)


def draws_at_once(n_units: int, n_periods: int, n_boot: int) -> bool:
    """Whether :func:`dispersion_trend` draws all its resamples in one call (its memory block holds them)."""
    return max(1, 2_000_000 // max(1, n_units * n_periods)) >= n_boot


def dispersion_trends(
    values: ArrayLike,
    weights: ArrayLike,
    *,
    times: ArrayLike,
    confidence: float = 0.95,
    n_boot: int = 999,
    seed: int = 0,
) -> list[DispersionTrend]:
    """:func:`dispersion_trend` of the weighted CV for many sets of units of the same shape at once.

    ``values`` and ``weights`` are (sets, units, periods). Every set is resampled with the one draw
    matrix that :func:`dispersion_trend` would draw for it with the same ``seed`` (it depends only on the
    number of units), applied to all sets together, so each result is identical to calling
    :func:`dispersion_trend` set by set (a test checks), in a few vectorised steps instead of one call per
    set: the convergence test of every group of one size is one computation (issue 17). Shapes whose
    resamples :func:`dispersion_trend` would draw in several blocks (thousands of units) are refused.
    """
    level = check_confidence(confidence)
    x = as_float_array(values)
    w = np.broadcast_to(as_float_array(weights), x.shape)
    if x.ndim != 3:
        raise ValueError("values must be 3-D: sets by units by periods")
    n_sets, n_units, n_periods = x.shape
    if not draws_at_once(n_units, n_periods, n_boot):
        raise ValueError(f"{n_units} units x {n_periods} periods: use dispersion_trend, set by set")
    t = as_float_array(times)
    by_period = coefficient_of_variation(x, w, axis=-2)
    slopes = _slopes(t, by_period)
    idx = np.random.default_rng(seed).integers(0, n_units, size=(n_boot, n_units))
    boot = np.empty((n_sets, n_boot))
    step = max(1, 2_000_000 // max(1, n_boot * n_units * n_periods))
    for a in range(0, n_sets, step):
        b = min(n_sets, a + step)
        boot[a:b] = _slopes(t, coefficient_of_variation(x[a:b][:, idx], w[a:b][:, idx], axis=-2))
    return [_summarise("cv", t, by_period[k], float(slopes[k]), boot[k], level, n_boot) for k in range(n_sets)]


def _summarise(measure: str, t: FloatArray, by_period: FloatArray, slope: float, boot: FloatArray, level: float,
               n_boot: int) -> DispersionTrend:
    """Percentile interval, two-sided p-value and direction from the bootstrap slopes."""
    alpha = 1.0 - level
    boot = boot[np.isfinite(boot)]
    lower, upper = (float(v) for v in np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0]))
    tail = min(float(np.mean(boot <= 0.0)), float(np.mean(boot >= 0.0)))
    p_value = min(1.0, 2.0 * tail)
    direction = str(DispersionChange.NARROWING if upper < 0 else DispersionChange.WIDENING if lower > 0
                    else DispersionChange.NO_CLEAR_CHANGE)
    return DispersionTrend(
        measure=measure,
        times=t,
        by_period=by_period,
        slope=slope,
        lower=lower,
        upper=upper,
        p_value=p_value,
        direction=direction,
        confidence=level,
        n_boot=n_boot,
        method=f"least-squares slope of {measure} over periods; percentile bootstrap over units ({n_boot})",
    )
