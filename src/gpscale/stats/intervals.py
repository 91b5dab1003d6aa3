"""Confidence intervals as Fingertips / PHEindicatormethods compute them, vectorised over numpy arrays.

Every function takes array-likes, broadcasts them, and returns float arrays. Zero events are ordinary:
they give a lower limit of 0 and never raise. Impossible inputs (a zero or negative denominator, a
numerator above its denominator, a negative count, NaN) give NaN limits rather than an exception, so one
bad row never stops a national run. An invalid ``confidence`` (outside (0, 1)) is a programming error
and raises ``ValueError``.

Methods and references
----------------------
* Proportions: Wilson score interval (Wilson 1927; Newcombe & Altman in *Statistics with Confidence*,
  2000), the Fingertips standard.
* Counts, rates and indirectly standardised ratios: exact Poisson limits from the chi-squared (gamma)
  distribution below 10 events (Armitage & Berry 2002) and Byar's approximation from 10 events (Breslow &
  Day 1987, vol. II), as in the Fingertips technical guidance and PHEindicatormethods. Rates and ratios
  divide the limits on the count by the denominator or the expected count (:func:`rate_interval`; the
  expected count of a ratio is treated as fixed, as Fingertips does).
* Survey-weighted proportions: Wilson interval on Kish's (1965) effective sample size
  ``(sum w)^2 / sum w^2``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from gpscale.stats._common import FloatArray, as_float_array, check_confidence, z_value

#: Below this many events Poisson limits are exact; from it, Byar's approximation (Fingertips rule).
BYAR_THRESHOLD = 10
_UNIQUE_THRESHOLD = 4096

__all__ = [
    "BYAR_THRESHOLD",
    "byar_interval",
    "exact_poisson_interval",
    "poisson_interval",
    "rate_interval",
    "weighted_proportion_interval",
    "wilson_interval",
]


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion ``numerator / denominator``; returns (lower, upper) in [0, 1].

    Why Wilson: unlike the normal ("Wald") interval it never leaves [0, 1], behaves at 0 and at 100%, and
    its coverage is close to nominal even for small denominators, which is why Fingertips uses it.
    Formula (Newcombe & Altman 2000): ``(2x + z^2 +/- z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``.

    A zero denominator, a numerator outside [0, denominator] or a NaN input gives NaN limits. Numerators
    need not be whole numbers (weighted counts are allowed).
    """
    z = z_value(confidence)
    z2 = z * z
    x, n = np.broadcast_arrays(as_float_array(numerator), as_float_array(denominator))
    with np.errstate(divide="ignore", invalid="ignore"):
        # in-place arithmetic: this runs on millions of rows
        spread = np.divide(x, n, out=np.empty(x.shape))
        np.subtract(1.0, spread, out=spread)
        spread *= 4.0 * x
        spread += z2
        np.maximum(spread, 0.0, out=spread)
        np.sqrt(spread, out=spread)
        spread *= z
        centre = np.multiply(2.0, x, out=np.empty(x.shape))
        centre += z2
        scale = np.add(n, z2, out=np.empty(x.shape))
        scale *= 2.0
        lower = np.subtract(centre, spread, out=np.empty(x.shape))
        lower /= scale
        upper = np.add(centre, spread, out=centre)
        upper /= scale
    np.clip(lower, 0.0, 1.0, out=lower)
    np.clip(upper, 0.0, 1.0, out=upper)
    # x = 0 gives lower 0 and x = n gives upper 1 analytically; force them past rounding
    lower[x == 0] = 0.0
    upper[x == n] = 1.0
    invalid = ~((n > 0) & (x >= 0) & (x <= n))  # also catches NaN
    lower[invalid] = np.nan
    upper[invalid] = np.nan
    return lower, upper


def exact_poisson_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood) Poisson limits on a count: ``chi2(a/2, 2x)/2`` and ``chi2(1 - a/2, 2x + 2)/2``.

    Computed through the gamma quantile function, which is the same distribution and accepts
    non-integer counts. Zero events give a lower limit of exactly 0. These limits are conservative by
    construction (coverage at least the nominal level for every true mean).
    """
    alpha = 1.0 - check_confidence(confidence)
    x = as_float_array(count)
    valid = np.isfinite(x) & (x >= 0)
    x_safe = np.where(valid, x, 0.0)
    if x_safe.size > _UNIQUE_THRESHOLD:
        # counts repeat a lot; the gamma quantile is costly, so evaluate it once per distinct count
        distinct, inverse = np.unique(x_safe, return_inverse=True)
        lo_d, hi_d = _exact_limits(distinct, alpha)
        lower, upper = lo_d[inverse].reshape(x.shape), hi_d[inverse].reshape(x.shape)
    else:
        lower, upper = _exact_limits(x_safe, alpha)
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def _exact_limits(x: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Gamma-quantile limits for non-negative counts ``x`` (lower 0 at zero events)."""
    lower = np.where(x > 0, special.gammaincinv(np.maximum(x, 1e-300), alpha / 2.0), 0.0)
    upper = special.gammaincinv(x + 1.0, 1.0 - alpha / 2.0)
    return lower, upper


def byar_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Byar's approximation to the exact Poisson limits on a count (Breslow & Day 1987, p. 69).

    ``lower = x (1 - 1/(9x) - z/(3 sqrt x))^3`` and ``upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``.
    Accurate from about 10 events; used alone only when a caller asks for it explicitly. Zero events
    give a lower limit of 0 (the formula is undefined there).
    """
    z = z_value(confidence)
    x = as_float_array(count)
    valid = np.isfinite(x) & (x >= 0)
    x_safe = np.where(valid & (x > 0), x, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # tiny counts: the cube goes to -inf, limit 0
        lower = x_safe * (1.0 - 1.0 / (9.0 * x_safe) - z / (3.0 * np.sqrt(x_safe))) ** 3
    lower = np.where(valid & (x > 0), np.maximum(np.nan_to_num(lower, nan=0.0), 0.0), 0.0)
    x1 = np.where(valid, x, 0.0) + 1.0
    upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def poisson_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Limits on a Poisson count the Fingertips way: exact below 10 events, Byar's approximation from 10.

    Returns (lower, upper) on the count scale; divide by a denominator for a rate or by the expected count
    for a standardised ratio (see :func:`rate_interval`). Zero events give a
    lower limit of 0; negative or NaN counts give NaN.
    """
    x = as_float_array(count)
    lower, upper = byar_interval(x, confidence)
    small = x < BYAR_THRESHOLD  # NaN counts are not small: byar_interval already gave them NaN
    if small.any():
        # the gamma quantile is costly: evaluate it only where it is used
        lower[small], upper[small] = exact_poisson_interval(x[small], confidence)
    return lower, upper


def rate_interval(
    count: ArrayLike, denominator: ArrayLike, confidence: float = 0.95, multiplier: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Limits on a crude rate ``multiplier * count / denominator`` from :func:`poisson_interval`.

    A zero, negative or NaN denominator gives NaN limits.
    """
    lo, hi = poisson_interval(count, confidence)
    n = as_float_array(denominator)
    n_safe = np.where(n > 0, n, np.nan)
    return multiplier * lo / n_safe, multiplier * hi / n_safe


def weighted_proportion_interval(
    proportion: ArrayLike, effective_n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson interval for a survey-weighted proportion on its Kish effective sample size.

    ``proportion`` is the weighted proportion in [0, 1] and ``effective_n`` the Kish effective sample
    size ``(sum w)^2 / sum w^2``. This is the GP Patient Survey convention of treating
    the weighted estimate as if it came from a simple random sample of the effective size.
    """
    p, n_eff = np.broadcast_arrays(as_float_array(proportion), as_float_array(effective_n))
    return wilson_interval(p * n_eff, n_eff, confidence)
