"""The distribution of the mean of ``m`` randomly chosen units, for any ``m``: a placebo reference.

Question answered: if a group were ``m`` units (practices) drawn at random from a population (England's
practices), where would its mean fall? For large ``m`` the answer is normal, but the practice values of
English indicators are often far from normal (QOF achievement: skewness about -4.5 and excess kurtosis
about 30), and groups are small (a primary care network has 3 to 10 practices), so a normal reference
misplaces both tails: the mean of six left-skewed scores usually sits *above* the population mean (its
median is above it) and occasionally far below it.

:func:`mean_reference` computes the exact distribution of the mean of ``m`` independent draws from the
units' empirical distribution (the bootstrap distribution of a mean, without Monte Carlo error): the
standardised values are placed on a fine grid (each value split between its two neighbouring grid points,
which keeps the mean exact, and each grid atom's mass spread evenly over its cell) and the ``m``-fold
convolution is the inverse FFT of the grid's discrete Fourier transform raised to the power ``m``. This is
done for ``m`` on a grid of sizes (:data:`EXACT_SIZES`: every size up to 10, then sparser up to 128) and kept
as quantile functions; the normal distribution is the limit as ``m`` grows. For other sizes the quantiles
are interpolated linearly in ``1 / sqrt(m)``, the scale on which they change smoothly (the Edgeworth
expansion: the leading departure from normality is the skewness divided by ``sqrt(m)``), and the
distribution function is the exact inverse of the interpolated quantile function, so a value beyond the
``q`` quantile always has a tail probability beyond ``q``.

Everything is on the *standardised* scale, ``t = sqrt(m) (mean - mu) / sigma``: a caller supplies the
centre and the spread (for a weighted mean of practices, the variance of its sampling distribution) and
uses this for the shape. Sizes need not be whole numbers: a weighted mean of ``k`` units counts as Kish's
effective number ``(sum w)^2 / sum w^2`` of equally weighted ones.

References: Davison AC & Hinkley DV (1997) *Bootstrap Methods and their Application*, section 9.5 (exact
bootstrap distributions of a mean); Hall P (1992) *The Bootstrap and Edgeworth Expansion*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike
from scipy import fft as sfft
from scipy import special

from gpscale.stats._common import FloatArray, as_float_array

__all__ = ["EXACT_SIZES", "GRID_POINTS", "PROBABILITIES", "MeanReference", "mean_reference"]

#: Sizes at which the distribution of the mean is computed exactly (by FFT); others are interpolated.
EXACT_SIZES: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128)
#: Grid points across the range of the standardised values (a quarter as many for sizes above
#: :data:`COARSE_FROM`, whose distributions are smooth).
GRID_POINTS: Final = 512
COARSE_FROM: Final = 16
#: Probabilities at which quantile functions are stored: normal scores from -7.5 to 7.5 in steps of 0.01,
#: so the tails (down to p = 3e-14) are resolved as finely as the centre.
PROBABILITIES: Final = special.ndtr(np.linspace(-7.5, 7.5, 1501))


@dataclass(frozen=True)
class MeanReference:
    """Distribution of the standardised mean of ``m`` draws from one empirical distribution, any ``m``.

    ``table[j]`` holds the quantiles of ``t = sqrt(m) (mean - mu) / sigma`` at size ``sizes[j]`` and
    probabilities :data:`PROBABILITIES`; the last size is infinite (the normal limit). ``skewness`` and
    ``excess_kurtosis`` are those of one draw; ``units`` is how many values it was built from.
    """

    sizes: FloatArray
    table: FloatArray
    skewness: float
    excess_kurtosis: float
    units: int

    def _bracket(self, m: FloatArray) -> tuple[np.ndarray, np.ndarray, FloatArray]:
        """Rows of ``table`` around each size and the interpolation weight (in ``1/sqrt(m)``) of the second."""
        inv = np.concatenate([self.sizes[:-1] ** -0.5, [0.0]])  # decreasing: 1 at m = 1, 0 at infinity
        x = np.clip(m, 1.0, None) ** -0.5
        j = np.clip(np.searchsorted(-inv, -x, side="right") - 1, 0, len(inv) - 2)
        frac = (inv[j] - x) / (inv[j] - inv[j + 1])
        return j, j + 1, np.clip(frac, 0.0, 1.0)

    def quantile(self, q: float, m: ArrayLike) -> FloatArray:
        """The standardised ``q`` quantile (``0 < q < 1``) at sizes ``m`` (vectorised; NaN where m < 1)."""
        mm = as_float_array(m)
        flat = mm.ravel()
        ok = np.isfinite(flat) & (flat >= 1.0)
        a, b, f = self._bracket(np.where(ok, flat, 1.0))
        at_q = np.array([np.interp(q, PROBABILITIES, row) for row in self.table])
        out = (1.0 - f) * at_q[a] + f * at_q[b]
        return np.where(ok, out, np.nan).reshape(mm.shape)

    def distribution(self, t: ArrayLike, m: ArrayLike) -> FloatArray:
        """P(T <= t) for the standardised mean ``t`` of ``m`` draws (vectorised; NaN where m < 1 or t is NaN)."""
        tt, mm = np.broadcast_arrays(as_float_array(t), as_float_array(m))
        shape = tt.shape
        tt, mm = tt.ravel(), mm.ravel()
        ok = np.isfinite(tt) & np.isfinite(mm) & (mm >= 1.0)
        a, b, f = self._bracket(np.where(ok, mm, 1.0))
        last = PROBABILITIES.size - 1

        def q_at(i: np.ndarray) -> FloatArray:
            return (1.0 - f) * self.table[a, i] + f * self.table[b, i]

        # bisection on the probability grid for the last node whose quantile is at or below t
        lo = np.zeros(tt.size, dtype=np.int64)
        hi = np.full(tt.size, last, dtype=np.int64)
        for _ in range(int(np.ceil(np.log2(PROBABILITIES.size))) + 1):
            mid = (lo + hi + 1) // 2
            below = q_at(mid) <= tt
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid - 1)
        nxt = np.minimum(lo + 1, last)
        q_lo, q_hi = q_at(lo), q_at(nxt)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(q_hi > q_lo, (tt - q_lo) / (q_hi - q_lo), 0.0)
        p = PROBABILITIES[lo] + np.clip(w, 0.0, 1.0) * (PROBABILITIES[nxt] - PROBABILITIES[lo])
        p = np.where(tt < q_at(np.zeros_like(lo)), 0.0, p)
        return np.where(ok, p, np.nan).reshape(shape)


def _grid_masses(z: FloatArray, p: FloatArray, lo: float, hi: float, points: int) -> tuple[FloatArray, float]:
    """Probabilities ``p`` of values ``z`` on ``points`` equally spaced points from ``lo`` to ``hi``, and the step.

    Each value is split between its two neighbouring points in proportion to its distance from them, which
    keeps the mean exact.
    """
    h = (hi - lo) / (points - 1)
    pos = (z - lo) / h
    left = np.clip(np.floor(pos).astype(np.int64), 0, points - 2)
    frac = pos - left
    base = np.bincount(left, weights=p * (1.0 - frac), minlength=points).astype(np.float64)
    base += np.bincount(left + 1, weights=p * frac, minlength=points)
    return base, h


def mean_reference(
    values: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    sizes: tuple[int, ...] = EXACT_SIZES,
    grid_points: int = GRID_POINTS,
) -> MeanReference:
    """The reference distribution of the mean of ``m`` draws from ``values`` (see the module notes).

    ``weights`` are the draw probabilities of the values (default equal: every unit equally likely to be
    drawn); they are *not* the weights of a weighted mean (a weighted mean enters through its effective
    size). NaN values are left out. ``sizes`` (increasing whole numbers from 1) are computed exactly. With
    fewer than two distinct values the distribution is degenerate and every quantile is 0.
    """
    x = as_float_array(values).ravel()
    p = np.ones_like(x) if weights is None else as_float_array(weights).ravel()
    ok = np.isfinite(x) & np.isfinite(p) & (p > 0)
    x, p = x[ok], p[ok] / p[ok].sum()
    mean = float(np.sum(p * x))
    sd = float(np.sqrt(np.sum(p * (x - mean) ** 2)))
    sizes_arr = np.asarray([*sizes, np.inf], dtype=float)
    if x.size < 2 or not sd > 0:
        return MeanReference(sizes_arr, np.zeros((sizes_arr.size, PROBABILITIES.size)), 0.0, 0.0, int(x.size))
    z = (x - mean) / sd
    skew = float(np.sum(p * z**3))
    exkurt = float(np.sum(p * z**4) - 3.0)
    lo, hi = float(z.min()), float(z.max())
    grids = {points: _grid_masses(z, p, lo, hi, points) for points in {grid_points, max(grid_points // 4, 64)}}
    rows = []
    for m in sizes:
        # large sums are smooth: a coarser grid of single draws is enough and keeps the transforms short
        points = grid_points if m <= COARSE_FROM else max(grid_points // 4, 64)
        base, h = grids[points]
        length = m * (points - 1) + 1
        n_fft = int(sfft.next_fast_len(length, real=True))
        pmf = np.clip(sfft.irfft(sfft.rfft(base, n_fft) ** m, n_fft)[:length], 0.0, None)
        # atom j of the sum sits at m*lo + j*h; its mass is spread evenly over [atom - h/2, atom + h/2]
        cdf = np.concatenate([[0.0], np.cumsum(pmf)])
        cdf /= cdf[-1]
        edges = (m * lo + (np.arange(length + 1) - 0.5) * h) / np.sqrt(m)  # standardised: sum / sqrt(m)
        # cells without mass add no quantiles, but both edges of every cell with mass stay, so that a gap
        # between values is a jump of the quantile function (each value keeps its mid-rank)
        rising = np.diff(cdf) > 0
        keep = np.concatenate([[False], rising]) | np.concatenate([rising, [False]])
        rows.append(np.interp(PROBABILITIES, cdf[keep], edges[keep]))
    rows.append(special.ndtri(PROBABILITIES))
    return MeanReference(sizes_arr, np.vstack(rows), skew, exkurt, int(x.size))
