"""Funnel plots the PHE way, plus Spiegelhalter's additive random-effects overdispersion adjustment.

:func:`funnel` evaluates the PHE limits (PHEindicatormethods' ``calculate_funnel_limits``, R, UKHSA) at
every unit's own denominator, with the unit's position as ``assign_funnel_significance`` words it
("High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant":
:class:`gpscale.domain.vocabulary.FunnelPosition`; the oracle tests hold both to the R package's fixtures),
and optionally Spiegelhalter's (2005) overdispersion adjustment: z-scores winsorised at 10%/90%, the
  overdispersion factor phi, the additive random-effects variance tau^2 and limits
  ``target +/- z sqrt(s_i^2 + tau^2)``. tau^2 comes either from Spiegelhalter's published moment
  estimator or (default) from a bias-corrected winsorised estimator that keeps the adjusted funnel's
  false-flag rate at the nominal 5% under a pure random effect, which the published one does not when
  overdispersion is strong (see :func:`spiegelhalter_overdispersion` and the simulation tests).

References: Spiegelhalter DJ (2005) "Funnel plots for comparing institutional performance", *Statistics
in Medicine* 24:1185-1202; Spiegelhalter DJ (2005) "Handling over-dispersion of performance
indicators", *Quality and Safety in Health Care* 14:347-351; Fingertips technical guidance (PHE/OHID);
PHEindicatormethods ``Funnels.R``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from gpscale.domain.vocabulary import FunnelPosition
from gpscale.stats._common import FloatArray, as_float_array, z_value
from gpscale.stats.limits import poisson_control_limits_at, proportion_control_limits

__all__ = ["Funnel", "Overdispersion", "funnel", "spiegelhalter_overdispersion"]

FunnelStatistic = Literal["proportion", "ratio", "rate"]
OverdispersionEstimator = Literal["spiegelhalter", "consistent"]
_TAU2_BISECTION_STEPS = 60


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's overdispersion estimates for one funnel.

    ``z`` are the unadjusted z-scores ``(y - target) / s``, ``z_winsorised`` the same after winsorising,
    ``phi`` the overdispersion factor (mean squared winsorised z), ``chi2_p`` the p-value of ``I * phi``
    against chi-squared on ``I - 1`` degrees of freedom (small means overdispersed), ``tau2`` the
    additive between-unit variance (0 when there is no evidence of overdispersion), ``z_adjusted``
    the z-scores on ``sqrt(s^2 + tau^2)`` and ``estimator`` the tau^2 estimator used.
    """

    z: FloatArray
    z_winsorised: FloatArray
    phi: float
    chi2_p: float
    tau2: float
    z_adjusted: FloatArray
    winsor_fraction: float
    estimator: str


@dataclass(frozen=True)
class Funnel:
    """Funnel limits at each unit's own denominator and each unit's position.

    ``value`` is the unit's statistic on the plotting scale (proportion, ratio O/E, or rate per unit of
    denominator, each times ``multiplier``); ``target`` the centre line on the same scale; the four limit
    arrays are at 95% and 99.8%. ``position`` uses the PHE labels. When ``overdispersion`` is not None the
    limits and positions are the random-effects adjusted ones.
    """

    statistic: str
    target: float
    multiplier: float
    value: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray
    lower_998: FloatArray
    upper_998: FloatArray
    position: NDArray[np.str_]
    method: str
    overdispersion: Overdispersion | None


def _position_labels(
    value: FloatArray,
    lower_95: FloatArray,
    upper_95: FloatArray,
    lower_998: FloatArray,
    upper_998: FloatArray,
) -> NDArray[np.str_]:
    """PHE position labels in the R package's order of precedence (low before high, 99.8% first)."""
    with np.errstate(invalid="ignore"):
        return np.select(
            [value < lower_998, value < lower_95, value > upper_998, value > upper_95],
            [str(FunnelPosition.LOW_0001), str(FunnelPosition.LOW_0025), str(FunnelPosition.HIGH_0001),
             str(FunnelPosition.HIGH_0025)],
            default=str(FunnelPosition.NOT_SIGNIFICANT),
        ).astype(np.str_)


def _winsorised_second_moment(z: FloatArray, fraction: float) -> float:
    """Mean square of ``z`` after pulling values beyond the ``fraction`` quantiles in to them."""
    lo_q, hi_q = np.quantile(z, [fraction, 1.0 - fraction])
    return float(np.mean(np.clip(z, lo_q, hi_q) ** 2))


def _normal_winsor_factor(fraction: float) -> float:
    """E[Z_w^2] for a standard normal winsorised at ``fraction`` each side (0.679 at 10%)."""
    q = float(stats.norm.ppf(1.0 - fraction))
    return (1.0 - 2.0 * fraction) - 2.0 * q * float(stats.norm.pdf(q)) + 2.0 * fraction * q * q


def spiegelhalter_overdispersion(
    value: ArrayLike,
    target: float,
    standard_error: ArrayLike,
    winsor_fraction: float = 0.1,
    estimator: OverdispersionEstimator = "consistent",
) -> Overdispersion:
    """Overdispersion factor and additive random-effects variance for units with null SEs ``standard_error``.

    ``estimator="spiegelhalter"`` is the published method (Spiegelhalter 2005; as NHS England uses it): the z-scores
    ``(value - target) / s`` are winsorised at ``winsor_fraction`` and ``1 - winsor_fraction`` (pulled in
    to those quantiles, so genuine outliers do not inflate the estimate), ``phi`` is the mean squared
    winsorised z, and if ``I phi > I - 1`` the random-effects variance is the moment estimate
    ``tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1 / s^2``, otherwise 0.
    Winsorising shrinks ``phi`` (by a factor of 0.68 at 10% for normal z-scores, and more when units'
    sizes vary widely, because the random effect then gives the large units heavy-tailed z-scores), so
    with strong overdispersion this under-estimates ``tau^2`` and the adjusted funnel still flags too
    many units (measured in ``tests/simulation``).

    ``estimator="consistent"`` (the default) keeps the robustness but removes that bias: ``tau^2`` is the value at
    which the z-scores on the random-effects scale, ``(value - target) / sqrt(s^2 + tau^2)``, winsorised
    as above, have the mean square a standard normal has after the same winsorising (a winsorised
    Paule-Mandel estimator). ``winsor_fraction=0`` with either estimator gives the un-winsorised
    DerSimonian-Laird moment estimator. ``phi`` and ``chi2_p`` always describe the raw winsorised
    z-scores (``chi2_p``: ``I phi`` against chi-squared on ``I - 1`` df; small means overdispersed).
    Units with a missing value or a non-positive SE are ignored and get NaN z-scores.
    """
    if not 0.0 <= winsor_fraction < 0.5:
        raise ValueError(f"winsor_fraction must be in [0, 0.5), got {winsor_fraction!r}")
    y = as_float_array(value)
    s = as_float_array(standard_error)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y - target) / np.where(s > 0, s, np.nan)
    ok = np.isfinite(z)
    count = int(ok.sum())
    z_w = np.full_like(z, np.nan)
    if count < 2:
        return Overdispersion(z, z_w, float("nan"), float("nan"), 0.0, z.copy(), winsor_fraction, estimator)
    lo_q, hi_q = np.quantile(z[ok], [winsor_fraction, 1.0 - winsor_fraction])
    z_w[ok] = np.clip(z[ok], lo_q, hi_q)
    phi = float(np.mean(z_w[ok] ** 2))
    chi2_p = float(stats.chi2.sf(count * phi, count - 1))
    s_ok, dev = s[ok], y[ok] - target
    if estimator == "spiegelhalter":
        w = 1.0 / s_ok**2
        excess = count * phi - (count - 1)
        tau2 = float(excess / (w.sum() - (w**2).sum() / w.sum())) if excess > 0 else 0.0
    elif estimator == "consistent":
        reference = _normal_winsor_factor(winsor_fraction) * (count - 1) / count

        def excess_at(t2: float) -> float:
            return _winsorised_second_moment(dev / np.sqrt(s_ok**2 + t2), winsor_fraction) - reference

        tau2 = 0.0
        if excess_at(0.0) > 0:
            lo, hi = 0.0, float(np.var(dev)) + float(np.max(s_ok)) ** 2
            while excess_at(hi) > 0:
                hi *= 4.0
            for _ in range(_TAU2_BISECTION_STEPS):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if excess_at(mid) > 0 else (lo, mid)
            tau2 = 0.5 * (lo + hi)
    else:
        raise ValueError(f"estimator must be 'spiegelhalter' or 'consistent', got {estimator!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        z_adj = (y - target) / np.sqrt(np.where(s > 0, s, np.nan) ** 2 + tau2)
    return Overdispersion(z, z_w, phi, chi2_p, tau2, z_adj, winsor_fraction, estimator)


def funnel(
    numerator: ArrayLike,
    denominator: ArrayLike,
    statistic: FunnelStatistic = "proportion",
    *,
    target: float | None = None,
    multiplier: float = 1.0,
    overdispersion: bool = False,
    winsor_fraction: float = 0.1,
    estimator: OverdispersionEstimator = "consistent",
) -> Funnel:
    """Funnel limits at each unit's denominator, positions, and optional overdispersion adjustment.

    Without adjustment the limits are the PHE ones: Wilson-score limits for proportions
    (:func:`~gpscale.stats.limits.proportion_control_limits`) and exact Poisson limits on O/E or the
    rate (:func:`~gpscale.stats.limits.poisson_control_limits`). ``target`` defaults to the pooled
    value (``sum x / sum n``; 1 for ratios). With ``overdispersion=True`` the limits are Spiegelhalter's
    additive random-effects limits ``target +/- z sqrt(s^2 + tau^2)`` on the natural scale, with
    ``s^2 = target (1 - target) / n`` for proportions and ``target / n`` for ratios and rates, and
    positions from the adjusted z-scores; ``estimator`` chooses the published Spiegelhalter moment
    estimator of tau^2 or the bias-corrected "consistent" one (see :func:`spiegelhalter_overdispersion`).
    Units that cannot be placed (missing values, zero denominator) get the position "not compared".
    All values and limits are multiplied by ``multiplier``.
    """
    x = as_float_array(numerator)
    n = as_float_array(denominator)
    valid = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
    n_safe = np.where(valid, n, np.nan)
    if statistic == "proportion":
        centre = float(np.sum(x[valid]) / np.sum(n[valid])) if target is None else float(target)
        variance = centre * (1.0 - centre) / n_safe
    elif statistic in ("ratio", "rate"):
        default = 1.0 if statistic == "ratio" else float(np.sum(x[valid]) / np.sum(n[valid]))
        centre = default if target is None else float(target)
        variance = centre / n_safe
    else:
        raise ValueError(f"statistic must be 'proportion', 'ratio' or 'rate', got {statistic!r}")
    value = x / n_safe

    od: Overdispersion | None = None
    if overdispersion:
        od = spiegelhalter_overdispersion(value, centre, np.sqrt(variance), winsor_fraction, estimator)
        sd = np.sqrt(variance + od.tau2)
        limits = [centre + sign * z_value(level) * sd for level in (0.95, 0.998) for sign in (-1.0, 1.0)]
        if statistic == "proportion":
            limits = [np.clip(lim, 0.0, 1.0) for lim in limits]
        else:
            limits = [np.maximum(lim, 0.0) for lim in limits]
        method = (
            f"Spiegelhalter additive random-effects overdispersion adjustment ({estimator} tau^2 estimator, "
            f"z-scores winsorised at {winsor_fraction:.0%}, tau^2={od.tau2:.4g})"
        )
    elif statistic == "proportion":
        limits = [
            *proportion_control_limits(n_safe, centre, 0.95),
            *proportion_control_limits(n_safe, centre, 0.998),
        ]
        method = "PHE funnel limits (Wilson score)"
    else:
        (lo95, hi95), (lo998, hi998) = poisson_control_limits_at(centre * n_safe, (0.95, 0.998))
        limits = [lim / n_safe for lim in (lo95, hi95, lo998, hi998)]
        method = "PHE funnel limits (exact Poisson)"
    lo95, hi95, lo998, hi998 = limits
    if od is not None:
        position = _position_labels(od.z_adjusted, *(np.full_like(od.z_adjusted, q) for q in _z_thresholds()))
    else:
        position = _position_labels(value, lo95, hi95, lo998, hi998)
    position = np.where(valid, position, str(FunnelPosition.NOT_COMPARED)).astype(np.str_)
    return Funnel(
        statistic=statistic,
        target=centre * multiplier,
        multiplier=multiplier,
        value=value * multiplier,
        lower_95=lo95 * multiplier,
        upper_95=hi95 * multiplier,
        lower_998=lo998 * multiplier,
        upper_998=hi998 * multiplier,
        position=position,
        method=method,
        overdispersion=od,
    )


def _z_thresholds() -> tuple[float, float, float, float]:
    """Lower and upper z thresholds at 95% and 99.8%, in :func:`_position_labels` argument order."""
    z95, z998 = z_value(0.95), z_value(0.998)
    return -z95, z95, -z998, z998
