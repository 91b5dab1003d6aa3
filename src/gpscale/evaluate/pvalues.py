"""Two-sided p-values for "is this group different from England?", consistent with the scorecard intervals.

The scorecard calls a group better or worse when its interval excludes England's value. The p-value
here is the test that interval inverts: the smallest ``alpha`` at which the ``1 - alpha`` interval would
exclude England's value. So ``p < 0.05`` exactly when the 95% interval excludes it and ``p < 0.002``
exactly when the 99.8% interval does, and the false-discovery-rate adjustment (Benjamini-Hochberg, in
:mod:`gpscale.stats.multiplicity`) works on the same evidence the labels use.

* Proportions (Wilson score interval): the score test ``z = (p - p0) / sqrt(p0 (1 - p0) / n)``; the Wilson
  interval is by construction the set of ``p0`` this test does not reject (Wilson 1927). Survey-weighted
  proportions use Kish's effective sample size for ``n``.
* Rates and standardised ratios (Poisson limits on the pooled count, exact below 10 events, Byar's
  approximation from 10): below 10 events, twice the smaller exact one-sided Poisson tail at the
  expected count ``mu0`` (England's rate times the denominator; the Garwood interval excludes ``mu0``
  exactly when that tail is below ``alpha / 2``); from 10 events, the normal deviate at which Byar's limit
  reaches ``mu0``: ``z = 3 sqrt(x) (1 - 1/(9x) - (mu0/x)^(1/3))`` above and
  ``z = 3 sqrt(x+1) ((mu0/(x+1))^(1/3) - 1 + 1/(9(x+1)))`` below (Breslow & Day 1987, vol. II, p. 69).

QOF scores have no patient-level interval; their p-value is the evaluative comparison's own
(:mod:`gpscale.evaluate.evaluative`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from gpscale.domain.vocabulary import ValueType
from gpscale.stats.intervals import BYAR_THRESHOLD


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def score_test_p(numerator: ArrayLike, n: ArrayLike, p0: ArrayLike) -> np.ndarray:
    """Wilson score-test p-value of ``numerator / n`` against ``p0`` (two-sided)."""
    x, nn, p = np.broadcast_arrays(_f(numerator), _f(n), _f(p0))
    ok = (nn > 0) & (p > 0) & (p < 1) & np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x / nn - p) / np.sqrt(p * (1 - p) / nn)
    return np.where(ok, 2.0 * stats.norm.sf(np.abs(z)), np.nan)


def poisson_p(count: ArrayLike, expected: ArrayLike) -> np.ndarray:
    """p-value inverting the Fingertips Poisson interval (exact below 10 events, Byar from 10)."""
    x, mu = np.broadcast_arrays(_f(count), _f(expected))
    ok = np.isfinite(x) & (x >= 0) & np.isfinite(mu) & (mu > 0)
    xs = np.where(ok, x, 1.0)
    ms = np.where(ok, mu, 1.0)
    # exact: P(X >= x | mu) = P(x, mu) (regularised lower gamma), P(X <= x | mu) = Q(x + 1, mu)
    upper_tail = np.where(xs > 0, special.gammainc(np.maximum(xs, 1e-300), ms), 1.0)
    lower_tail = special.gammaincc(xs + 1.0, ms)
    exact = np.minimum(1.0, 2.0 * np.minimum(upper_tail, lower_tail))
    with np.errstate(invalid="ignore", divide="ignore"):
        z_up = 3.0 * np.sqrt(xs) * (1.0 - 1.0 / (9.0 * xs) - np.cbrt(ms / xs))
        z_down = 3.0 * np.sqrt(xs + 1.0) * (np.cbrt(ms / (xs + 1.0)) - 1.0 + 1.0 / (9.0 * (xs + 1.0)))
    byar = np.minimum(1.0, 2.0 * stats.norm.sf(np.maximum(z_up, z_down)))
    return np.where(ok, np.where(xs < BYAR_THRESHOLD, exact, byar), np.nan)


def comparison_p_values(
    pooled: pd.DataFrame, value_type: ValueType, benchmark: ArrayLike, multiplier: float
) -> np.ndarray:
    """p-value per pooled row against ``benchmark`` (England's value on the indicator's scale)."""
    vt = ValueType(value_type)
    num = pooled["numerator"].to_numpy(float)
    den = pooled["denominator"].to_numpy(float)
    p0 = _f(benchmark) / multiplier
    if vt is ValueType.PROPORTION:
        return score_test_p(num, den, p0)
    if vt is ValueType.WEIGHTED_PROPORTION:
        n_eff = pooled["effective_n"].to_numpy(float) if "effective_n" in pooled else den
        n_eff = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, den)
        return score_test_p(num / den * n_eff, n_eff, p0)
    if vt in (ValueType.RATE, ValueType.STANDARDISED_RATIO):
        return poisson_p(num, p0 * den)
    raise ValueError(f"{vt} rows are compared by the evaluative reference (evaluate/evaluative.py), not here")
