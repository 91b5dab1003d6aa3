"""NHS England "Making Data Count" XmR (individuals and moving range) statistical process control.

Limits are ``mean +/- 2.66 * mean moving range`` (2.66 = 3 / d2 with d2 = 1.128 for ranges of two), the
"two sigma" lines ``mean +/- (2/3) * 2.66 * mean moving range``. With screening on (the Making Data Count
default) moving ranges of 3.267 times the mean moving range or more (3.267 = D4, the upper limit of a
moving-range chart) are dropped and the mean moving range recalculated, so one outlier does not widen
the limits. Special-cause rules, each named on the points it flags:

* ``beyond limits``: a point above the upper or below the lower process limit;
* ``run of 7``: seven or more consecutive points on the same side of the mean (a point on the mean
  breaks a run);
* ``trend of 7``: seven or more consecutive points each higher (or each lower) than the one before;
* ``two of three beyond two sigma``: two of three consecutive points between the two-sigma line and the
  process limit on the same side, all three on that side of the mean.

Rule logic follows the NHS-R community implementation (NHSRplotthedots, ``ptd_spc``) of NHS England /
NHS Improvement, *Making Data Count* (2017, 2019). Special causes are "improvement" or "concern" by the
indicator's polarity (``no_judgement`` gives "neither (high)" / "neither (low)"). Target assurance uses
the last segment's limits. ``rebase_at`` starts new segments (with their own mean and limits) at the
given point indices; ``baseline_points`` fixes each segment's limits on its first points. Fewer than 12
points in a segment produces a warning on the result, as Making Data Count advises.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gpscale.stats._common import FloatArray, as_float_array, check_polarity

__all__ = [
    "LIMIT_FACTOR",
    "MIN_POINTS",
    "SCREEN_FACTOR",
    "XmRChart",
    "xmr_chart",
]

LIMIT_FACTOR: Final = 2.66
SCREEN_FACTOR: Final = 3.267
MIN_POINTS: Final = 12
RUN_LENGTH: Final = 7

RULE_BEYOND: Final = "beyond limits"
RULE_RUN: Final = "run of 7"
RULE_TREND: Final = "trend of 7"
RULE_TWO_OF_THREE: Final = "two of three beyond two sigma"


@dataclass(frozen=True)
class XmRChart:
    """An XmR chart: per-point centre line and limits, flags, the rules that fired and a verdict.

    ``rules[i]`` lists the rule names that flagged point i ("" for none); ``variation[i]`` is
    "common cause", "special cause improvement", "special cause concern", or "special cause neither
    (high/low)". ``assurance`` is "consistently passes target", "consistently fails target",
    "hit and miss target" or None (no target, or no judgement). ``segment[i]`` numbers the rebased
    segments from 0.
    """

    values: FloatArray
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray
    lower_two_sigma: FloatArray
    upper_two_sigma: FloatArray
    mean_moving_range: FloatArray
    moving_range: FloatArray
    segment: NDArray[np.int64]
    special_cause: NDArray[np.bool_]
    rules: tuple[str, ...]
    variation: tuple[str, ...]
    assurance: str | None
    warnings: tuple[str, ...]


def _runs_flag(state: NDArray[np.int64], length: int) -> NDArray[np.bool_]:
    """Flag every member of a run of ``length`` or more equal, non-zero consecutive states."""
    flags = np.zeros(state.size, dtype=bool)
    start = 0
    for i in range(1, state.size + 1):
        if i == state.size or state[i] != state[start]:
            if state[start] != 0 and i - start >= length:
                flags[start:i] = True
            start = i
    return flags


def _segment_chart(y: FloatArray, screen: bool, baseline_points: int | None) -> tuple[float, float, FloatArray]:
    """Mean, mean moving range and moving ranges for one segment (limits from its baseline points)."""
    base = y if baseline_points is None else y[:baseline_points]
    base = base[np.isfinite(base)]
    mean = float(np.mean(base)) if base.size else float("nan")
    mr_base = np.abs(np.diff(base))
    amr = float(np.mean(mr_base)) if mr_base.size else float("nan")
    if screen and mr_base.size:
        kept = mr_base[mr_base < SCREEN_FACTOR * amr]
        amr = float(np.mean(kept)) if kept.size else amr
    moving_range = np.concatenate([[np.nan], np.abs(np.diff(y))])
    return mean, amr, moving_range


def xmr_chart(
    values: ArrayLike,
    *,
    polarity: str = "high_is_good",
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    baseline_points: int | None = None,
    screen_moving_ranges: bool = True,
) -> XmRChart:
    """Build a Making Data Count XmR chart for one series of values in time order.

    ``rebase_at`` holds indices where a new segment begins (e.g. after a known change in process);
    ``baseline_points`` fixes each segment's mean and limits on its first that many points.
    Missing values are not allowed within a series (the charts assume no gaps) and raise ``ValueError``.
    """
    pol = check_polarity(polarity)
    y = as_float_array(values).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError("XmR charts need a complete series: remove or impute missing values first")
    count = y.size
    cuts = sorted({int(i) for i in rebase_at if 0 < int(i) < count})
    bounds = [0, *cuts, count]

    mean = np.empty(count)
    amr = np.empty(count)
    moving_range = np.empty(count)
    segment = np.empty(count, dtype=np.int64)
    beyond = np.zeros(count, dtype=bool)
    run = np.zeros(count, dtype=bool)
    trend = np.zeros(count, dtype=bool)
    two_of_three = np.zeros(count, dtype=bool)
    warnings: list[str] = []
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        seg = y[a:b]
        m, r, mr = _segment_chart(seg, screen_moving_ranges, baseline_points)
        mean[a:b], amr[a:b], moving_range[a:b], segment[a:b] = m, r, mr, k
        if seg.size < MIN_POINTS:
            warnings.append(
                f"segment {k} (points {a + 1}-{b}) has {seg.size} points; Making Data Count advises at "
                f"least {MIN_POINTS} before limits are relied on"
            )
        upl, lpl = m + LIMIT_FACTOR * r, m - LIMIT_FACTOR * r
        near_hi, near_lo = m + 2.0 / 3.0 * LIMIT_FACTOR * r, m - 2.0 / 3.0 * LIMIT_FACTOR * r
        outside = (seg > upl) | (seg < lpl)
        side = np.sign(seg - m).astype(np.int64)
        beyond[a:b] = outside
        run[a:b] = _runs_flag(side, RUN_LENGTH)
        steps = np.sign(np.diff(seg)).astype(np.int64)
        step_runs = _runs_flag(steps, RUN_LENGTH - 1)
        # a run of 6 equal steps covers 7 points: the step i joins points i and i + 1
        trend_seg = np.zeros(seg.size, dtype=bool)
        trend_seg[:-1] |= step_runs
        trend_seg[1:] |= step_runs
        trend[a:b] = trend_seg
        close = ~outside & ((seg > near_hi) | (seg < near_lo))
        flags = np.zeros(seg.size, dtype=bool)
        for i in range(seg.size - 2):
            window = slice(i, i + 3)
            if close[window].sum() >= 2 and abs(side[window].sum()) == 3:
                flags[window] |= close[window]
        two_of_three[a:b] = flags

    upper = mean + LIMIT_FACTOR * amr
    lower = mean - LIMIT_FACTOR * amr
    special = beyond | run | trend | two_of_three
    rule_names = []
    for i in range(count):
        fired = [
            name
            for name, hit in (
                (RULE_BEYOND, beyond[i]),
                (RULE_RUN, run[i]),
                (RULE_TREND, trend[i]),
                (RULE_TWO_OF_THREE, two_of_three[i]),
            )
            if hit
        ]
        rule_names.append("; ".join(fired))

    variation = []
    for i in range(count):
        if not special[i]:
            variation.append("common cause")
            continue
        # the side of the mean decides (as NHSRplotthedots does); a trend point on the mean takes the trend's
        high = bool(y[i] > mean[i]) if y[i] != mean[i] else _trend_is_up(y, segment, i)
        if pol == "no_judgement":
            variation.append(f"special cause neither ({'high' if high else 'low'})")
        elif high == (pol == "high_is_good"):
            variation.append("special cause improvement")
        else:
            variation.append("special cause concern")

    assurance = None
    if target is not None and pol != "no_judgement":
        last_lower, last_upper = lower[-1], upper[-1]
        higher_is_better = pol == "high_is_good"
        if target > last_upper:
            assurance = "consistently fails target" if higher_is_better else "consistently passes target"
        elif target < last_lower:
            assurance = "consistently passes target" if higher_is_better else "consistently fails target"
        else:
            assurance = "hit and miss target"

    return XmRChart(
        values=y,
        mean=mean,
        lower=lower,
        upper=upper,
        lower_two_sigma=mean - 2.0 / 3.0 * LIMIT_FACTOR * amr,
        upper_two_sigma=mean + 2.0 / 3.0 * LIMIT_FACTOR * amr,
        mean_moving_range=amr,
        moving_range=moving_range,
        segment=segment,
        special_cause=special,
        rules=tuple(rule_names),
        variation=tuple(variation),
        assurance=assurance,
        warnings=tuple(warnings),
    )


def _trend_is_up(y: FloatArray, segment: NDArray[np.int64], i: int) -> bool:
    """Direction of the trend a point belongs to: compare with a neighbour in the same segment."""
    if i + 1 < y.size and segment[i + 1] == segment[i] and y[i + 1] != y[i]:
        return bool(y[i + 1] > y[i])
    return bool(y[i] > y[i - 1])
