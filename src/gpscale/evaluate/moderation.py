"""Empirical-Bayes moderation of residual variances across groups (Smyth 2004), for trends on few points.

A group's trend between two data breaks often rests on three to five yearly values, so its own residual
variance has one to three degrees of freedom: a t interval on that is honest but very wide. Hundreds of
groups are fitted on the same indicator and years, and their residual variances (each relative to its
own sampling variance) share a distribution. Following Smyth (2004) each group's variance ``s2`` on
``d`` degrees of freedom is shrunk towards a common prior ``s0^2`` with ``d0`` prior degrees of freedom
estimated from all groups (the scaled inverse chi-squared prior, fitted by the method of moments on
``log s2``)::

    s2_post = (d0 s0^2 + d s2) / (d0 + d),   t on d0 + d degrees of freedom.

When the groups' variances vary no more than sampling alone would make them, ``d0`` is infinite and
every group uses the common variance; when they vary a lot, ``d0`` is small and each group mostly keeps
its own. Either way the moderated t statistic follows a t distribution on ``d0 + d`` degrees of freedom
under the null hypothesis, if the prior holds, which the calibration test on synthetic England checks.

Reference: Smyth GK (2004) "Linear models and empirical Bayes methods for assessing differential
expression in microarray experiments", *Statistical Applications in Genetics and Molecular Biology*
3(1):3 (the ``fitFDist`` / ``squeezeVar`` method of the limma package). gpscale.stats has no variance
moderation, so it lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: Fewer groups than this and no prior is estimated (each group keeps its own variance).
MIN_GROUPS = 5
#: Prior degrees of freedom treated as infinite above this.
DF_INFINITE = 1e6


@dataclass(frozen=True)
class Moderated:
    """Posterior variances and their degrees of freedom, with the fitted prior."""

    variance: np.ndarray
    df: np.ndarray
    prior_variance: float
    prior_df: float


def trigamma_inverse(x: float) -> float:
    """Solve ``trigamma(y) = x`` for y > 0 (Newton's method as in limma's ``trigammaInverse``)."""
    if x > 1e7:
        return 1.0 / np.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        dif = tri * (1.0 - tri / x) / float(special.polygamma(2, y))
        y += dif
        if -dif / y < 1e-8:
            break
    return y


def fit_prior(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior (s0^2, d0) from variances ``s2`` on ``df`` degrees of freedom (finite, positive entries)."""
    ok = np.isfinite(s2) & (s2 > 0) & np.isfinite(df) & (df > 0)
    s, d = s2[ok], df[ok]
    if s.size < MIN_GROUPS:
        return float("nan"), 0.0
    z = np.log(s)
    e = z - special.digamma(d / 2) + np.log(d / 2)
    e_mean = float(np.mean(e))
    e_var = float(np.sum((e - e_mean) ** 2) / (s.size - 1) - np.mean(special.polygamma(1, d / 2)))
    if e_var > 0:
        d0 = 2.0 * trigamma_inverse(e_var)
        s0 = float(np.exp(e_mean + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        d0 = np.inf
        s0 = float(np.exp(e_mean))
    return s0, float(min(d0, DF_INFINITE))


def squeeze(s2: np.ndarray, df: np.ndarray) -> Moderated:
    """Moderated variances: shrink each ``s2`` towards the prior fitted across all of them."""
    s2 = np.asarray(s2, dtype=float)
    df = np.asarray(df, dtype=float)
    s0, d0 = fit_prior(s2, df)
    if not np.isfinite(s0) or d0 == 0:
        return Moderated(s2.copy(), df.copy(), s0, 0.0)
    with np.errstate(invalid="ignore"):
        own = np.where(np.isfinite(s2) & (df > 0), s2, 0.0)
        d_own = np.where(np.isfinite(s2) & (df > 0), df, 0.0)
        post = (d0 * s0 + d_own * own) / (d0 + d_own)
    return Moderated(post, d0 + d_own, s0, d0)
