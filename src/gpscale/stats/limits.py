"""Control limits around a target value at each unit's denominator (the lines of a funnel plot).

These are the limits PHE funnel plots draw (Fingertips technical guidance; PHEindicatormethods
``calculate_funnel_limits``), evaluated at any denominator rather than on a 100-point plotting grid:

* proportions: the PHE "sigma adjustment" limits, the proportions whose Wilson score interval just
  reaches the target. A unit is outside them exactly when its Wilson interval excludes the target.
* counts, rates and ratios: exact Poisson limits on the observed count when the expected count is
  ``target * denominator``, expressed as a continuous count by inverting the regularised incomplete gamma
  function in its shape parameter. These are the curves the PHE ratio and rate funnels trace through
  their grid of observed events.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from gpscale.stats._common import FloatArray, as_float_array, check_confidence, z_value

__all__ = ["poisson_control_limits", "proportion_control_limits"]

_MAX_STEPS = 100
IntArray = NDArray[np.intp]


def proportion_control_limits(
    denominator: ArrayLike, target: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """PHE funnel limits (as proportions, clipped to [0, 1]) around ``target`` at each ``denominator``.

    Vectorised form of PHEindicatormethods' ``sigma_adjustment`` with ``p = 0.5 + confidence / 2``
    (0.975 for 95%, 0.999 for 99.8%). A zero or negative denominator or a target outside [0, 1] gives NaN.
    """
    z = z_value(confidence)
    q = z * z
    n, a = np.broadcast_arrays(as_float_array(denominator), as_float_array(target))
    valid = (n > 0) & (a >= 0) & (a <= 1)
    n_safe = np.where(valid, n, 1.0)
    a_safe = np.where(valid, a, 0.0)
    first = a_safe * (n_safe / q + 1.0)
    last = 1.0 / q + 1.0 / n_safe
    inside = first**2 - last * a_safe * (n_safe * (a_safe * (n_safe / q + 2.0) - 1.0) + q * (a_safe - 1.0))
    half_width = np.sqrt(np.maximum(inside, 0.0))
    lower = np.clip((first - half_width) / last / n_safe, 0.0, 1.0)
    upper = np.clip((first + half_width) / last / n_safe, 0.0, 1.0)
    # a target of 0 or 1 gives limits of exactly 0 or 1 analytically; force them past rounding
    lower = np.where(a_safe == 0, 0.0, lower)
    upper = np.where(a_safe == 1, 1.0, upper)
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def _illinois(f: Callable[[FloatArray, IntArray], FloatArray], lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Vectorised Illinois (modified regula falsi) root of ``f(x, index)``, increasing in x, in [lo, hi].

    ``f`` receives the trial points and the flat indices they belong to (so it can pick its parameters).
    Requires ``f(lo) <= 0 <= f(hi)``; converges superlinearly, never leaves the bracket, and iterates
    only on the elements still moving by more than 1e-10 (relative).
    """
    lo, hi = lo.ravel().copy(), hi.ravel().copy()
    index = np.arange(lo.size)
    f_lo, f_hi = f(lo, index), f(hi, index)
    result = 0.5 * (lo + hi)
    previous = np.full(lo.size, np.inf)
    last = np.zeros(lo.size, dtype=np.int8)
    for _ in range(_MAX_STEPS):
        denom = f_hi - f_lo
        with np.errstate(invalid="ignore", divide="ignore"):
            secant = (lo * f_hi - hi * f_lo) / denom
        x = np.where((denom > 0) & (secant > lo) & (secant < hi), secant, 0.5 * (lo + hi))
        result[index] = x
        fx = f(x, index)
        right = fx < 0  # root lies to the right of x
        lo, f_lo = np.where(right, x, lo), np.where(right, fx, f_lo)
        hi, f_hi = np.where(right, hi, x), np.where(right, f_hi, fx)
        # Illinois step: when the same end moves twice running, halve the stale end's value
        f_hi = np.where(right & (last == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~right & (last == -1), 0.5 * f_lo, f_lo)
        last = np.where(right, 1, -1).astype(np.int8)
        tolerance = 1e-10 * (1.0 + np.abs(x))
        keep = (fx != 0) & (hi - lo > tolerance) & (np.abs(x - previous) > tolerance)
        if not keep.any():
            break
        index, last, previous = index[keep], last[keep], x[keep]
        lo, hi, f_lo, f_hi = lo[keep], hi[keep], f_lo[keep], f_hi[keep]
    return result


def poisson_control_limits(expected: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson control limits on an observed count whose expected value is ``expected``.

    Returns continuous counts (lower, upper): the lower limit L solves ``P(X <= L) = a/2`` and the upper
    limit U solves ``P(X >= U) = a/2`` for X ~ Poisson(expected), with the Poisson distribution
    function continued to non-integer counts through the regularised incomplete gamma function
    (``P(X <= k) = Q(k + 1, mu)``, ``P(X >= k) = P(k, mu)``). So an observed count O lies above U exactly
    when the one-sided exact test gives ``P(X >= O) < a/2``, and below L exactly when ``P(X <= O) < a/2``.
    The PHE ratio funnel's grid of (expected, observed) points lies on these curves. Divide by
    ``expected`` for limits on the ratio O/E. The lower limit is 0 when even zero events are not
    surprising; a non-positive or NaN expected count gives NaN.
    """
    z = z_value(confidence)
    tail = (1.0 - check_confidence(confidence)) / 2.0
    mu = as_float_array(expected)
    valid = np.isfinite(mu) & (mu > 0)
    mu_safe = np.where(valid, mu, 1.0)

    flat_mu = mu_safe.ravel()
    root = np.sqrt(flat_mu)
    wide = (z + 3.0) * root + 10.0
    every = np.arange(flat_mu.size)

    def below(count: FloatArray, index: IntArray) -> FloatArray:
        return special.gammaincc(count + 1.0, flat_mu[index]) - tail

    def above(count: FloatArray, index: IntArray) -> FloatArray:
        return tail - special.gammainc(count, flat_mu[index])

    # Cornish-Fisher guesses are within 1 of the roots; fall back to a wide bracket where they are not
    guess = flat_mu - z * root + (z * z - 1.0) / 6.0 - 0.5
    lo, hi = np.maximum(guess - 1.0, 0.0), guess + 1.0
    bad = ~((below(lo, every) < 0) & (below(hi, every) >= 0))
    lo = np.where(bad, np.maximum(flat_mu - wide, 0.0), lo)
    lo = np.where(below(lo, every) < 0, lo, 0.0)
    hi = np.where(bad, flat_mu + 1.0, hi)
    zero_is_low = below(np.zeros_like(flat_mu), every) < 0
    lower = np.zeros_like(flat_mu)
    chosen = every[zero_is_low]
    lower[zero_is_low] = _illinois(lambda c, i: below(c, chosen[i]), lo[zero_is_low], hi[zero_is_low])

    guess = flat_mu + z * root + (z * z + 2.0) / 6.0
    lo, hi = np.maximum(guess - 1.0, 1e-12), guess + 1.0
    bad = ~((above(lo, every) < 0) & (above(hi, every) >= 0))
    lo = np.where(bad, flat_mu, lo)
    hi = np.where(bad, flat_mu + wide, hi)
    upper = _illinois(above, lo, hi)
    shape = mu_safe.shape
    return np.where(valid, lower.reshape(shape), np.nan), np.where(valid, upper.reshape(shape), np.nan)
