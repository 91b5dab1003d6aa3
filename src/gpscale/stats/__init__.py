"""Statistics core: Fingertips-standard intervals, comparisons, funnels, trends, variation and SPC.

Vectorised functions (numpy arrays in, arrays out) that match the methods English public-health
reporting already uses (Fingertips technical guidance, PHEindicatormethods); every result states its
confidence level and method. Only what the evaluation uses is here. See ``docs/methods/statistics.md``.

Modules: :mod:`~gpscale.stats.intervals` (Wilson, Poisson exact/Byar, rates and ratios, survey-weighted
proportions), :mod:`~gpscale.stats.means` (list-weighted means of practice scores),
:mod:`~gpscale.stats.compare` (better / similar / worse), :mod:`~gpscale.stats.limits` and
:mod:`~gpscale.stats.funnels` (PHE funnels, Spiegelhalter overdispersion), :mod:`~gpscale.stats.trends`,
:mod:`~gpscale.stats.variation`, :mod:`~gpscale.stats.multiplicity` and :mod:`~gpscale.stats.spc`.
"""

from gpscale.stats._common import CONFIDENCE_95, CONFIDENCE_998, STANDARD_LEVELS, z_value
from gpscale.stats.compare import Comparison, compare_interval
from gpscale.stats.funnels import Funnel, Overdispersion, funnel, spiegelhalter_overdispersion
from gpscale.stats.intervals import (
    byar_interval,
    exact_poisson_interval,
    poisson_interval,
    rate_interval,
    weighted_proportion_interval,
    wilson_interval,
)
from gpscale.stats.limits import poisson_control_limits, poisson_control_limits_at, proportion_control_limits
from gpscale.stats.means import GroupMeans, grouped_mean_interval
from gpscale.stats.multiplicity import benjamini_hochberg
from gpscale.stats.spc import XmRChart, xmr_chart
from gpscale.stats.trends import TrendEstimate, TrendTest, chi2_trend, wls_trend
from gpscale.stats.variation import (
    DispersionTrend,
    coefficient_of_variation,
    dispersion_trend,
    interquartile_range,
    systematic_component_of_variation,
)

__all__ = [
    "CONFIDENCE_95",
    "CONFIDENCE_998",
    "STANDARD_LEVELS",
    "Comparison",
    "DispersionTrend",
    "Funnel",
    "GroupMeans",
    "Overdispersion",
    "TrendEstimate",
    "TrendTest",
    "XmRChart",
    "benjamini_hochberg",
    "byar_interval",
    "chi2_trend",
    "coefficient_of_variation",
    "compare_interval",
    "dispersion_trend",
    "exact_poisson_interval",
    "funnel",
    "grouped_mean_interval",
    "interquartile_range",
    "poisson_control_limits",
    "poisson_control_limits_at",
    "poisson_interval",
    "proportion_control_limits",
    "rate_interval",
    "spiegelhalter_overdispersion",
    "systematic_component_of_variation",
    "weighted_proportion_interval",
    "wilson_interval",
    "wls_trend",
    "xmr_chart",
    "z_value",
]
