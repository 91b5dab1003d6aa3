"""Means and list-weighted means of practice scores (e.g. QOF achievement) per group, with intervals.

A group's QOF score is summarised as the mean of its member practices' scores, weighted by list size
when the question is "what does the average patient get". The interval treats the member practices as
a sample of the group's possible practices:

* ``method="t"``: Student-t interval on ``k - 1`` degrees of freedom. Unweighted, ``mean +/- t s / sqrt(k)``
  (as PHEindicatormethods ``phe_mean``). Weighted, the linearisation (ratio-estimator) variance
  ``k / (k - 1) * sum(w^2 (x - m)^2) / (sum w)^2`` (Cochran 1977, *Sampling Techniques*, section 6.4),
  which reduces to ``s^2 / k`` for equal weights.
* ``method="bootstrap"``: percentile bootstrap resampling practices within the group (Efron &
  Tibshirani 1993), with a seeded generator so that results are reproducible.

For a group's pooled QOF score (total points over total maximum points) use the counts directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from gpscale.stats._common import FloatArray, as_float_array, check_confidence

__all__ = ["GroupMeans", "grouped_mean_interval"]


@dataclass(frozen=True)
class GroupMeans:
    """Per-group (weighted) means with intervals; ``groups`` are the sorted unique group keys.

    ``count`` is the number of member units with a value, ``effective_n`` Kish's effective number of
    units under the weights (equal to ``count`` when unweighted).
    """

    groups: NDArray[np.generic]
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray
    count: NDArray[np.int64]
    effective_n: FloatArray
    confidence: float
    method: str


def grouped_mean_interval(
    values: ArrayLike,
    groups: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    method: Literal["t", "bootstrap"] = "t",
    n_boot: int = 2000,
    seed: int = 0,
) -> GroupMeans:
    """Mean (or weighted mean) of ``values`` in each group, with a t or bootstrap interval.

    Units with a missing value or (if weighted) a missing or non-positive weight are left out. A group
    with one unit has NaN limits (no spread to estimate).
    """
    level = check_confidence(confidence)
    x = as_float_array(values).ravel()
    keys = np.asarray(groups).ravel()
    w = np.ones_like(x) if weights is None else as_float_array(weights).ravel()
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    unique, inverse = np.unique(keys[ok], return_inverse=True)
    x, w = x[ok], w[ok]
    m = unique.size
    count = np.bincount(inverse, minlength=m)
    sw = np.bincount(inverse, weights=w, minlength=m)
    mean = np.bincount(inverse, weights=w * x, minlength=m) / sw
    sw2 = np.bincount(inverse, weights=w * w, minlength=m)
    effective_n = sw * sw / sw2
    label = "list-weighted mean" if weights is not None else "mean"
    if method == "t":
        dev2 = np.bincount(inverse, weights=(w * (x - mean[inverse])) ** 2, minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = count / (count - 1.0) * dev2 / sw**2
            half = stats.t.ppf(0.5 + level / 2.0, count - 1.0) * np.sqrt(var)
        half = np.where(count > 1, half, np.nan)
        lower, upper = mean - half, mean + half
        desc = f"{label} of units, Student-t interval on k-1 df"
    elif method == "bootstrap":
        rng = np.random.default_rng(seed)
        lower = np.full(m, np.nan)
        upper = np.full(m, np.nan)
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(count)])
        alpha = 1.0 - level
        for j in range(m):
            members = order[starts[j] : starts[j + 1]]
            if members.size < 2:
                continue
            idx = rng.integers(0, members.size, size=(n_boot, members.size))
            xs, ws = x[members][idx], w[members][idx]
            boot = (xs * ws).sum(axis=1) / ws.sum(axis=1)
            lower[j], upper[j] = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
        desc = f"{label} of units, percentile bootstrap over units ({n_boot} resamples, seed {seed})"
    else:
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    return GroupMeans(unique, mean, lower, upper, count, effective_n, level, desc)
