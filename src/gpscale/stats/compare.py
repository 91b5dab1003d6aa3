"""Comparison of units with a benchmark (England or a chosen comparator): better / similar / worse.

Two rules, both as Fingertips and PHE funnel plots use them, and the rule used is recorded on the result:

* ``method="interval"`` (the overlapping-interval rule): the unit's confidence interval is compared with
  the benchmark value; it differs when the interval lies wholly above or wholly below it. When the
  benchmark's own interval is supplied the two intervals must not overlap (a stricter, conservative
  rule, used when the comparator is itself an estimate, such as another group).
* ``method="control_limits"``: the unit's value is compared with control limits drawn around the
  benchmark at the unit's denominator (funnel-plot limits). For proportions these are the PHE Wilson-score
  limits (equivalent to asking whether the unit's Wilson interval contains the benchmark); for rates and
  ratios they are exact Poisson limits for the expected count ``benchmark * denominator``, which differ
  from the interval rule because the Poisson interval is Byar's approximation from 10 events.
* ``method="exact"``: exact one-sided binomial (proportions) or Poisson (rates, ratios) tests at
  ``(1 - confidence) / 2`` each side. Unlike the Wilson rules, whose false "better" rate under no
  difference swings around the nominal rate with the denominator (up to 7.5% instead of 2.5% for 20
  patients and a 5% benchmark), these never exceed it; use them for small denominators.

Labels are polarity-aware: with ``high_is_good`` a significantly higher value is "better", with
``low_is_good`` it is "worse", and with ``no_judgement`` it is "higher" (or "lower"). A unit whose data do
not allow a comparison (missing or invalid values, zero denominator, missing benchmark) is "not compared".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from gpscale.stats._common import as_float_array, check_confidence, check_polarity
from gpscale.stats.intervals import poisson_interval, wilson_interval
from gpscale.stats.limits import proportion_control_limits

__all__ = [
    "BETTER",
    "HIGHER",
    "LOWER",
    "NOT_COMPARED",
    "SIMILAR",
    "WORSE",
    "Comparison",
    "compare_interval",
    "compare_to_benchmark",
    "direction_labels",
]

BETTER: Final = "better"
SIMILAR: Final = "similar"
WORSE: Final = "worse"
HIGHER: Final = "higher"
LOWER: Final = "lower"
NOT_COMPARED: Final = "not compared"

Statistic = Literal["proportion", "rate", "ratio"]
Method = Literal["interval", "control_limits", "exact"]


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
    pol = check_polarity(polarity)
    d = np.asarray(direction)
    ok = np.asarray(compared, dtype=bool)
    if pol == "high_is_good":
        up, down = BETTER, WORSE
    elif pol == "low_is_good":
        up, down = WORSE, BETTER
    else:
        up, down = HIGHER, LOWER
    labels = np.select([~ok, d > 0, d < 0], [NOT_COMPARED, up, down], default=SIMILAR)
    return labels.astype(np.str_)


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


def compare_to_benchmark(
    numerator: ArrayLike,
    denominator: ArrayLike,
    benchmark: ArrayLike,
    *,
    statistic: Statistic = "proportion",
    polarity: str = "high_is_good",
    confidence: float = 0.95,
    method: Method = "interval",
    multiplier: float = 1.0,
    benchmark_lower: ArrayLike | None = None,
    benchmark_upper: ArrayLike | None = None,
) -> Comparison:
    """Compare ``multiplier * numerator / denominator`` with ``benchmark`` (on the same scale).

    ``statistic`` is "proportion" (Wilson), "rate" (Poisson: exact below 10 events, Byar from 10) or
    "ratio" (observed over expected, same Poisson limits; ``denominator`` is the expected count and
    ``benchmark`` typically 1, or 100 with ``multiplier=100``). ``method`` is "interval" (the unit's CI
    against the benchmark value, or against the benchmark's CI if ``benchmark_lower`` and
    ``benchmark_upper`` are given), "control_limits" (limits around the benchmark at the unit's
    denominator) or "exact" (exact binomial or Poisson tests; see the module notes). Zero events are
    compared like any other count; zero denominators are "not compared".
    """
    level = check_confidence(confidence)
    pol = check_polarity(polarity)
    x, n, bench = np.broadcast_arrays(as_float_array(numerator), as_float_array(denominator), as_float_array(benchmark))
    pct = f"{level * 100:g}%"
    if statistic not in ("proportion", "rate", "ratio"):
        raise ValueError(f"statistic must be 'proportion', 'rate' or 'ratio', got {statistic!r}")
    if method == "interval":
        if statistic == "proportion":
            lo, hi = wilson_interval(x, n, level)
            name = f"Wilson score {pct} CI"
        else:
            lo, hi = poisson_interval(x, level)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lo, hi = lo / np.where(n > 0, n, np.nan), hi / np.where(n > 0, n, np.nan)
            name = f"Poisson (exact below 10 events, Byar from 10) {pct} CI"
        return compare_interval(
            lo * multiplier,
            hi * multiplier,
            bench,
            polarity=pol,
            confidence=level,
            benchmark_lower=benchmark_lower,
            benchmark_upper=benchmark_upper,
            interval_name=name,
        )
    if method not in ("control_limits", "exact"):
        raise ValueError(f"method must be 'interval', 'control_limits' or 'exact', got {method!r}")
    if benchmark_lower is not None or benchmark_upper is not None:
        raise ValueError("control limits and exact tests use a benchmark value; do not pass its interval")
    target = bench / multiplier
    valid = np.isfinite(x) & np.isfinite(n) & np.isfinite(target) & (n > 0) & (x >= 0)
    tail = (1.0 - level) / 2.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if statistic == "proportion" and method == "control_limits":
            c_lo, c_hi = proportion_control_limits(n, target, level)
            valid &= (x <= n) & np.isfinite(c_lo) & np.isfinite(c_hi)
            higher, lower = x / n > c_hi, x / n < c_lo
            name = f"PHE funnel control limits (Wilson score) around benchmark, {pct}"
        elif statistic == "proportion":
            # exact binomial tails through the regularised incomplete beta function
            valid &= (x <= n) & (target >= 0) & (target <= 1)
            x_safe, n_safe = np.where(valid, x, 0.0), np.where(valid, n, 1.0)
            p0 = np.where(valid, target, 0.5)
            p_high = np.where(x_safe > 0, special.betainc(np.maximum(x_safe, 1e-300), n_safe - x_safe + 1, p0), 1)
            p_low = np.where(x_safe < n_safe, special.betainc(n_safe - x_safe, x_safe + 1, 1.0 - p0), 1.0)
            higher, lower = p_high < tail, p_low < tail
            name = f"exact binomial test against benchmark, {pct} (one-sided {tail:g} each side)"
        else:
            # exact one-sided Poisson tests against mu = benchmark * denominator: the same as comparing
            # the count with poisson_control_limits(mu), without solving for the limits
            mu = target * n
            valid &= mu > 0
            mu_safe = np.where(valid, mu, 1.0)
            x_safe = np.where(valid, x, 0.0)
            higher = np.where(x_safe > 0, special.gammainc(np.maximum(x_safe, 1e-300), mu_safe), 1.0) < tail
            lower = special.gammaincc(x_safe + 1.0, mu_safe) < tail
            name = f"exact Poisson control limits around benchmark, {pct}"
    return _result(higher, lower, valid, name, level, pol)
