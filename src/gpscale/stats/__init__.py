"""Statistics core: Fingertips-standard intervals, comparisons, funnels, trends, variation and SPC.

Vectorised functions (numpy arrays in, arrays out) that match the methods English public-health
reporting already uses (Fingertips technical guidance, PHEindicatormethods), plus data-frame helpers that
label every row with its statistic, confidence level and method. See ``docs/methods/statistics.md``.

Modules: :mod:`~gpscale.stats.intervals` (Wilson, Poisson exact/Byar, rates, ratios, Dobson DSR, Kish),
:mod:`~gpscale.stats.means` (means and list-weighted means), :mod:`~gpscale.stats.compare` (better /
similar / worse), :mod:`~gpscale.stats.limits` and :mod:`~gpscale.stats.funnels` (PHE funnels,
Spiegelhalter overdispersion), :mod:`~gpscale.stats.trends`, :mod:`~gpscale.stats.variation`,
:mod:`~gpscale.stats.multiplicity`, :mod:`~gpscale.stats.spc` and :mod:`~gpscale.stats.frames`.
"""

from gpscale.stats._common import CONFIDENCE_95, CONFIDENCE_998, POLARITIES, STANDARD_LEVELS, z_value
from gpscale.stats.compare import Comparison, compare_interval, compare_to_benchmark
from gpscale.stats.frames import comparisons_frame, funnel_frame, intervals_frame, label_rows
from gpscale.stats.funnels import (
    Funnel,
    Overdispersion,
    funnel,
    funnel_significance,
    funnel_table,
    spiegelhalter_overdispersion,
)
from gpscale.stats.intervals import (
    byar_interval,
    dobson_interval,
    dsr_interval,
    exact_poisson_interval,
    kish_effective_sample_size,
    poisson_interval,
    rate_interval,
    ratio_interval,
    weighted_proportion_interval,
    wilson_interval,
)
from gpscale.stats.limits import poisson_control_limits, poisson_control_limits_at, proportion_control_limits
from gpscale.stats.means import GroupMeans, grouped_mean_interval, mean_interval
from gpscale.stats.multiplicity import benjamini_hochberg
from gpscale.stats.spc import XmRChart, xmr_chart
from gpscale.stats.trends import (
    GroupTrend,
    TrendEstimate,
    TrendTest,
    chi2_trend,
    glm_trend,
    group_trend_glm,
    trend_difference,
    wls_trend,
)
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
    "POLARITIES",
    "STANDARD_LEVELS",
    "Comparison",
    "DispersionTrend",
    "Funnel",
    "GroupMeans",
    "GroupTrend",
    "Overdispersion",
    "TrendEstimate",
    "TrendTest",
    "XmRChart",
    "benjamini_hochberg",
    "byar_interval",
    "chi2_trend",
    "coefficient_of_variation",
    "compare_interval",
    "compare_to_benchmark",
    "comparisons_frame",
    "dispersion_trend",
    "dobson_interval",
    "dsr_interval",
    "exact_poisson_interval",
    "funnel",
    "funnel_frame",
    "funnel_significance",
    "funnel_table",
    "glm_trend",
    "group_trend_glm",
    "grouped_mean_interval",
    "interquartile_range",
    "intervals_frame",
    "kish_effective_sample_size",
    "label_rows",
    "mean_interval",
    "poisson_control_limits",
    "poisson_control_limits_at",
    "poisson_interval",
    "proportion_control_limits",
    "rate_interval",
    "ratio_interval",
    "spiegelhalter_overdispersion",
    "systematic_component_of_variation",
    "trend_difference",
    "weighted_proportion_interval",
    "wilson_interval",
    "wls_trend",
    "xmr_chart",
    "z_value",
]
