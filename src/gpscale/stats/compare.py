"""Comparison of units with a benchmark (England or a chosen comparator): better / similar / worse.

The overlapping-interval rule, as Fingertips uses it: the unit's confidence interval (of any statistic:
Wilson for proportions, Poisson for rates and ratios, t for means) is compared with the benchmark value;
the unit differs when the interval lies wholly above or wholly below it. When the benchmark's own
interval is supplied the two intervals must not overlap (a stricter, conservative rule, for a comparator
that is itself an estimate, such as another group). The rule used is recorded on the result.

Labels are polarity-aware (:class:`gpscale.domain.vocabulary.ComparisonLabel`): with ``high_is_good`` a
significantly higher value is "better", with ``low_is_good`` it is "worse", and with ``no_judgement`` it
is "higher" (or "lower"). A unit whose data do not allow a comparison (missing or invalid values, missing
benchmark) is "not compared". Funnel-plot positions (control limits around the benchmark) are in
:mod:`gpscale.stats.funnels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gpscale.domain.vocabulary import ComparisonLabel, by_direction
from gpscale.stats._common import as_float_array, check_confidence, check_polarity

__all__ = ["Comparison", "compare_interval", "direction_labels"]


@dataclass(frozen=True)
class Comparison:
    """Result of comparing units with a benchmark.

    ``labels`` holds "better"/"similar"/"worse" (or "higher"/"similar"/"lower" for ``no_judgement``)
    and "not compared"; ``direction`` is +1 significantly higher, -1 significantly lower, 0 otherwise;
    ``compared`` is False where no comparison was possible. ``method`` names the rule and interval used.
    """

    labels: NDArray[np.str_]
    direction: NDArray[np.int8]
    compared: NDArray[np.bool_]
    method: str
    confidence: float
    polarity: str


def direction_labels(direction: ArrayLike, compared: ArrayLike, polarity: str) -> NDArray[np.str_]:
    """Map significance directions (+1 higher, -1 lower, 0 neither) to labels under ``polarity``."""
    up, down = ComparisonLabel.directions(check_polarity(polarity))
    return by_direction(direction, compared, up, down, ComparisonLabel.SIMILAR, ComparisonLabel.NOT_COMPARED)


def _result(
    higher: NDArray[np.bool_],
    lower: NDArray[np.bool_],
    compared: NDArray[np.bool_],
    method: str,
    confidence: float,
    polarity: str,
) -> Comparison:
    direction = np.where(compared & higher, 1, np.where(compared & lower, -1, 0)).astype(np.int8)
    return Comparison(
        labels=direction_labels(direction, compared, polarity),
        direction=direction,
        compared=compared,
        method=method,
        confidence=confidence,
        polarity=polarity,
    )


def compare_interval(
    lower: ArrayLike,
    upper: ArrayLike,
    benchmark: ArrayLike,
    *,
    polarity: str = "high_is_good",
    confidence: float = 0.95,
    benchmark_lower: ArrayLike | None = None,
    benchmark_upper: ArrayLike | None = None,
    interval_name: str = "confidence interval",
) -> Comparison:
    """Overlapping-interval rule on precomputed intervals (any statistic: DSRs, means, survey scores).

    Significantly higher when ``lower > benchmark`` (or ``lower > benchmark_upper`` when the benchmark's
    interval is given), significantly lower when ``upper < benchmark`` (or ``< benchmark_lower``).
    ``confidence`` is the level the intervals were computed at and is only recorded; ``interval_name``
    (e.g. "Dobson 95% CI") goes into the recorded method.
    """
    level = check_confidence(confidence)
    pol = check_polarity(polarity)
    lo, hi, bench = np.broadcast_arrays(as_float_array(lower), as_float_array(upper), as_float_array(benchmark))
    if (benchmark_lower is None) != (benchmark_upper is None):
        raise ValueError("give both benchmark_lower and benchmark_upper, or neither")
    if benchmark_lower is None or benchmark_upper is None:
        b_lo = b_hi = bench
        method = f"{interval_name} vs benchmark value"
    else:
        b_lo = np.broadcast_to(as_float_array(benchmark_lower), lo.shape)
        b_hi = np.broadcast_to(as_float_array(benchmark_upper), lo.shape)
        method = f"{interval_name} vs benchmark {interval_name} (non-overlap)"
    compared = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(b_lo) & np.isfinite(b_hi)
    with np.errstate(invalid="ignore"):
        is_higher = lo > b_hi
        is_lower = hi < b_lo
    return _result(is_higher, is_lower, compared, method, level, pol)
