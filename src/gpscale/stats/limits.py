"""Control limits around a target value at each unit's denominator (the lines of a funnel plot).

These are the limits PHE funnel plots draw (Fingertips technical guidance; PHEindicatormethods
``calculate_funnel_limits``), evaluated at any denominator rather than on a 100-point plotting grid:

* proportions: the PHE "sigma adjustment" limits, ``target +/- z sqrt(target (1 - target) / n)``, the
  proportions whose Wilson score interval just reaches the target. A unit is outside them exactly when
  its Wilson interval excludes the target.
* counts, rates and ratios: exact Poisson limits on the observed count when the expected count is
  ``target * denominator``, expressed as a continuous count by inverting the regularised incomplete gamma
  function in its shape parameter. These are the curves the PHE ratio and rate funnels trace through
  their grid of observed events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from gpscale.stats._common import FloatArray, as_float_array, check_confidence, z_value

__all__ = ["poisson_control_limits", "poisson_control_limits_at", "proportion_control_limits"]

_MAX_STEPS = 100
_RELATIVE_TOLERANCE = 1e-9
IntArray = NDArray[np.intp]


def proportion_control_limits(
    denominator: ArrayLike, target: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """PHE funnel limits (as proportions, clipped to [0, 1]) around ``target`` at each ``denominator``.

    PHEindicatormethods' ``sigma_adjustment`` (with ``p = 0.5 + confidence / 2``: 0.975 for 95%, 0.999
    for 99.8%) solves a quadratic whose roots are exactly ``target +/- z sqrt(target (1 - target) / n)``:
    the proportions whose Wilson score interval just reaches the target. That closed form is computed
    here because it is free of the quadratic's cancellation near targets of 0 and 1; the PHE fixtures
    (tests/oracle) confirm the two agree. A non-positive denominator or a target outside [0, 1] gives NaN.
    """
    z = z_value(confidence)
    n, a = np.broadcast_arrays(as_float_array(denominator), as_float_array(target))
    valid = (n > 0) & (a >= 0) & (a <= 1)
    n_safe = np.where(valid, n, 1.0)
    a_safe = np.where(valid, a, 0.0)
    half_width = z * np.sqrt(a_safe) * np.sqrt((1.0 - a_safe) / n_safe)  # no underflow for tiny targets
    lower = np.clip(a_safe - half_width, 0.0, 1.0)
    upper = np.clip(a_safe + half_width, 0.0, 1.0)
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def _illinois(
    f: Callable[[FloatArray, IntArray], FloatArray],
    lo: FloatArray,
    hi: FloatArray,
    f_lo: FloatArray,
    f_hi: FloatArray,
) -> FloatArray:
    """Vectorised Illinois (modified regula falsi) root of ``f(x, index)``, increasing in x, in [lo, hi].

    ``f`` receives the trial points and the flat indices they belong to (so it can pick its parameters);
    ``f_lo`` and ``f_hi`` are its values at the bracket ends. Requires ``f(lo) <= 0 <= f(hi)``;
    converges superlinearly, never leaves the bracket, and iterates only on the elements still moving
    by more than 1e-9 (relative).
    """
    lo, hi, f_lo, f_hi = lo.ravel().copy(), hi.ravel().copy(), f_lo.ravel().copy(), f_hi.ravel().copy()
    index = np.arange(lo.size)
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
        tolerance = _RELATIVE_TOLERANCE * (1.0 + np.abs(x))
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
    ((lower, upper),) = poisson_control_limits_at(expected, (confidence,))
    return lower, upper


def poisson_control_limits_at(expected: ArrayLike, levels: Sequence[float]) -> list[tuple[FloatArray, FloatArray]]:
    """:func:`poisson_control_limits` at several levels at once: one (lower, upper) pair per level.

    All the root-finding problems (two per level per unit) are solved together, which is what makes
    per-unit exact Poisson funnels cheap.
    """
    mu = as_float_array(expected)
    valid = np.isfinite(mu) & (mu > 0)
    flat = np.where(valid, mu, 1.0).ravel()
    size, count = flat.size, len(levels)
    z_level = np.repeat([z_value(level) for level in levels], size)
    tail_level = np.repeat([(1.0 - check_confidence(level)) / 2.0 for level in levels], size)
    # problems: every level's lower limits, then every level's upper limits
    mu_all = np.tile(flat, 2 * count)
    z_all = np.tile(z_level, 2)
    tail_all = np.tile(tail_level, 2)
    is_upper = np.repeat([False, True], count * size)

    def excess(counts: FloatArray, index: IntArray) -> FloatArray:
        """Increasing in the count; zero at the limit: Q(c + 1, mu) - a/2 below, a/2 - P(c, mu) above."""
        up = is_upper[index]
        out = np.empty_like(counts)
        out[up] = tail_all[index[up]] - special.gammainc(counts[up], mu_all[index[up]])
        down = ~up
        out[~up] = special.gammaincc(counts[down] + 1.0, mu_all[index[down]]) - tail_all[index[down]]
        return out

    every = np.arange(mu_all.size)
    root = np.sqrt(mu_all)
    wide = (z_all + 3.0) * root + 10.0
    # Cornish-Fisher guesses are within 1 of the roots; fall back to a wide bracket where they are not
    guess = np.where(
        is_upper,
        mu_all + z_all * root + (z_all**2 + 2.0) / 6.0,
        mu_all - z_all * root + (z_all**2 - 1.0) / 6.0 - 0.5,
    )
    lo = np.maximum(guess - 1.0, np.where(is_upper, 1e-12, 0.0))
    hi = guess + 1.0
    f_lo, f_hi = excess(lo, every), excess(hi, every)
    bad = ~((f_lo < 0) & (f_hi >= 0))
    if bad.any():
        lo[bad] = np.where(is_upper[bad], mu_all[bad], np.maximum(mu_all[bad] - wide[bad], 0.0))
        hi[bad] = np.where(is_upper[bad], mu_all[bad] + wide[bad], mu_all[bad] + 1.0)
        f_lo[bad], f_hi[bad] = excess(lo[bad], every[bad]), excess(hi[bad], every[bad])
        not_below = bad & (f_lo >= 0)
        lo[not_below] = 0.0
        f_lo[not_below] = excess(lo[not_below], every[not_below])
    # a lower limit of 0 when even zero events are not surprising: P(X = 0) = exp(-mu) >= a/2
    solve = is_upper | (np.exp(-mu_all) < tail_all)
    chosen = every[solve]
    roots = np.zeros(mu_all.size)
    roots[solve] = _illinois(lambda c, i: excess(c, chosen[i]), lo[solve], hi[solve], f_lo[solve], f_hi[solve])
    by_level = roots.reshape(2, count, size)
    return [
        (
            np.where(valid, by_level[0, k].reshape(mu.shape), np.nan),
            np.where(valid, by_level[1, k].reshape(mu.shape), np.nan),
        )
        for k in range(count)
    ]
