"""Multiplicity control for scorecards: Benjamini-Hochberg false discovery rate.

A scorecard of 15 indicators by hundreds of groups makes thousands of comparisons; at 95% about one in
forty "significantly better" (and as many "worse") labels would appear by chance alone. Where many
comparisons are summarised (counts of "worse" indicators, league tables), control the false discovery
rate and say so: Benjamini Y, Hochberg Y (1995) "Controlling the false discovery rate: a practical and
powerful approach to multiple testing", *JRSS B* 57:289-300.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gpscale.stats._common import FloatArray, as_float_array

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: ArrayLike, alpha: float = 0.05) -> tuple[NDArray[np.bool_], FloatArray]:
    """Benjamini-Hochberg step-up procedure; returns (rejected, q_values) in the input's shape.

    ``q_values`` are the BH-adjusted p-values (``min over j >= i of p_(j) m / j``, capped at 1), so a
    hypothesis is rejected at FDR ``alpha`` exactly when its q-value is at most ``alpha``. NaN p-values are
    left out of the family (``m`` counts only the finite ones) and get NaN q-values and are not rejected.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    p = as_float_array(p_values)
    flat = p.ravel()
    finite = np.isfinite(flat)
    q = np.full(flat.shape, np.nan)
    values = flat[finite]
    m = values.size
    if m:
        order = np.argsort(values, kind="stable")
        ranked = values[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
        q_finite = np.empty(m)
        q_finite[order] = np.minimum(adjusted, 1.0)
        q[finite] = q_finite
    with np.errstate(invalid="ignore"):
        rejected = q <= alpha
    return rejected.reshape(p.shape), q.reshape(p.shape)
