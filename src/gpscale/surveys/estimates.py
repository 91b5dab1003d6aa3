"""Survey estimates from per-cell sums: weighted proportions and means with intervals, and comparisons.

Every estimate is computed from sums over the respondents of a cell (``n``, ``sum w``, ``sum w^2``,
``sum w y``, ``sum w y^2``), so one vectorised pass serves every breakdown. With respondent weights the
precision is that of Kish's effective sample size ``n_eff = (sum w)^2 / sum w^2`` (Kish, *Survey
Sampling*, 1965, section 11.7): the design effect of unequal weighting. Without weights ``n_eff = n`` and
everything reduces to the textbook unweighted methods.

* Proportions: Wilson score interval on ``n_eff`` (:func:`gpscale.stats.intervals.weighted_proportion_interval`).
* Means (Likert scores, domain scores, paired differences): Student t interval with ``n_eff - 1`` degrees
  of freedom and the weighted variance scaled by ``n_eff / (n_eff - 1)``.
* Difference of two independent proportions: Newcombe's hybrid score interval (method 10 of Newcombe,
  "Interval estimation for the difference between independent proportions", *Statistics in Medicine*
  1998;17:873-890), built from the two Wilson intervals, so it inherits the effective sample sizes.
* Two-proportion test: pooled z test on the effective sample sizes; Benjamini-Hochberg (1995) q-values
  control the false discovery rate where many comparisons are reported together.

Wilson and Benjamini-Hochberg come from :mod:`gpscale.stats`. The sum-based weighted t interval and the
Newcombe interval live here for now (the breakdown engine needs estimates from per-cell sums); they are
candidates to move to :mod:`gpscale.stats`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy import stats as sps

from gpscale.stats.intervals import weighted_proportion_interval
from gpscale.stats.multiplicity import benjamini_hochberg as stats_benjamini_hochberg

PROPORTION_METHOD: Final = "Wilson score interval"
WEIGHTED_PROPORTION_METHOD: Final = "Wilson score interval on Kish effective sample size (weighted)"
MEAN_METHOD: Final = "Student t interval"
WEIGHTED_MEAN_METHOD: Final = "Student t interval on Kish effective sample size (weighted)"
DIFFERENCE_METHOD: Final = "Newcombe hybrid score interval (method 10)"
TEST_METHOD: Final = "two-proportion z test on effective sample sizes, Benjamini-Hochberg q-values"


def proportion_method(weighted: bool) -> str:
    return WEIGHTED_PROPORTION_METHOD if weighted else PROPORTION_METHOD


def mean_method(weighted: bool) -> str:
    return WEIGHTED_MEAN_METHOD if weighted else MEAN_METHOD


def effective_n(sum_w: np.ndarray, sum_w2: np.ndarray) -> np.ndarray:
    """Kish's effective sample size from per-cell sums; NaN where the cell is empty."""
    sw = np.asarray(sum_w, dtype=float)
    sw2 = np.asarray(sum_w2, dtype=float)
    return np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1.0), np.nan)


def proportion(
    sum_w: np.ndarray, sum_w2: np.ndarray, sum_wy: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted proportion, its Kish effective n and Wilson limits: ``(share, n_eff, lower, upper)``."""
    sw = np.asarray(sum_w, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(np.asarray(sum_wy, dtype=float) / sw, 0.0, 1.0)
    n_eff = effective_n(sw, sum_w2)
    lower, upper = weighted_proportion_interval(share, n_eff, confidence)
    return share, n_eff, lower, upper


def mean(
    sum_w: np.ndarray, sum_w2: np.ndarray, sum_wy: np.ndarray, sum_wy2: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean, Kish effective n and t limits: ``(mean, n_eff, lower, upper)``; no limits below 2."""
    sw = np.asarray(sum_w, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.asarray(sum_wy, dtype=float) / sw
        n_eff = effective_n(sw, sum_w2)
        raw_var = np.maximum(np.asarray(sum_wy2, dtype=float) / sw - m * m, 0.0)
        var = raw_var * n_eff / (n_eff - 1.0)
        se = np.sqrt(var / n_eff)
        ok = n_eff > 1.0 + 1e-9
        t = sps.t.ppf(0.5 + confidence / 2.0, np.where(ok, n_eff - 1.0, 1.0))
    half = np.where(ok, t * se, np.nan)
    return m, n_eff, m - half, m + half


def newcombe_difference(
    p1: np.ndarray, l1: np.ndarray, u1: np.ndarray, p2: np.ndarray, l2: np.ndarray, u2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference ``p1 - p2`` with Newcombe's hybrid score limits from each proportion's own interval."""
    d = np.asarray(p1, dtype=float) - np.asarray(p2, dtype=float)
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


def two_proportion_p(p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided p-value of the pooled z test of ``p1 = p2`` with (effective) sizes ``n1``, ``n2``."""
    p1, n1, p2, n2 = (np.asarray(a, dtype=float) for a in (p1, n1, p2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    p = 2.0 * sps.norm.sf(np.abs(z))
    return np.where(np.isfinite(p1) & np.isfinite(p2) & (n1 > 0) & (n2 > 0), p, np.nan)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) q-values (:func:`gpscale.stats.multiplicity.benjamini_hochberg`).

    NaN p-values stay NaN and are not counted in the family.
    """
    _rejected, q = stats_benjamini_hochberg(np.asarray(p_values, dtype=float))
    return np.asarray(q, dtype=float)
