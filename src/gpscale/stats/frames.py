"""Data-frame helpers: every output row says which statistic, confidence level and method it holds.

Numbers from this package are quoted in board papers; a row of numbers without its method is a future
argument. These helpers take a pandas data frame with count columns and return a long frame (one row per
input row per confidence level) with ``statistic``, ``confidence`` and ``method`` columns, so the labels
travel with the numbers into storage and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from gpscale.stats._common import STANDARD_LEVELS, check_confidence
from gpscale.stats.compare import Method, Statistic, compare_to_benchmark
from gpscale.stats.funnels import Funnel
from gpscale.stats.intervals import poisson_interval, rate_interval, wilson_interval

__all__ = ["comparisons_frame", "funnel_frame", "intervals_frame", "label_rows"]

IntervalStatistic = Literal["proportion", "rate", "ratio", "count"]

_METHODS = {
    "proportion": "Wilson score interval",
    "rate": "Poisson interval (exact below 10 events, Byar from 10)",
    "ratio": "Poisson interval on observed (exact below 10 events, Byar from 10) over expected",
    "count": "Poisson interval (exact below 10 events, Byar from 10)",
}


def label_rows(frame: pd.DataFrame, statistic: str, confidence: float, method: str) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``statistic``, ``confidence`` and ``method`` columns set."""
    out = frame.copy()
    out["statistic"] = statistic
    out["confidence"] = check_confidence(confidence)
    out["method"] = method
    return out


def intervals_frame(
    frame: pd.DataFrame,
    numerator: str,
    denominator: str | None = None,
    *,
    statistic: IntervalStatistic = "proportion",
    levels: Sequence[float] = STANDARD_LEVELS,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """Value and interval for every row of ``frame`` at every level in ``levels`` (long format).

    Adds ``value``, ``lower``, ``upper`` (times ``multiplier``), ``statistic``, ``confidence`` and
    ``method``. ``statistic="count"`` needs no denominator; the others do (for "ratio" the denominator
    column holds the expected count).
    """
    x = frame[numerator].to_numpy(dtype=np.float64)
    if statistic == "count":
        n = np.ones_like(x)
    elif denominator is None:
        raise ValueError(f"statistic={statistic!r} needs a denominator column")
    else:
        n = frame[denominator].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = x / np.where(n > 0, n, np.nan) * multiplier
    parts = []
    for level in levels:
        if statistic == "proportion":
            lo, hi = wilson_interval(x, n, level)
            lo, hi = lo * multiplier, hi * multiplier
        elif statistic == "count":
            lo, hi = poisson_interval(x, level)
        elif statistic in ("rate", "ratio"):
            lo, hi = rate_interval(x, n, level, multiplier)
        else:
            raise ValueError(f"statistic must be one of {sorted(_METHODS)}, got {statistic!r}")
        part = frame.copy()
        part["value"], part["lower"], part["upper"] = value, lo, hi
        parts.append(label_rows(part, statistic, level, _METHODS[statistic]))
    return pd.concat(parts, ignore_index=True)


def comparisons_frame(
    frame: pd.DataFrame,
    numerator: str,
    denominator: str,
    benchmark: float | str,
    *,
    statistic: Statistic = "proportion",
    polarity: str = "high_is_good",
    levels: Sequence[float] = STANDARD_LEVELS,
    method: Method = "interval",
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """Comparison label for every row at every level (long format), with the rule recorded.

    ``benchmark`` is a number or the name of a column (e.g. England's value per period), on the same
    scale as ``multiplier * numerator / denominator``. Adds ``comparison``, ``polarity``, ``statistic``,
    ``confidence`` and ``method``.
    """
    bench = frame[benchmark].to_numpy(dtype=np.float64) if isinstance(benchmark, str) else benchmark
    parts = []
    for level in levels:
        result = compare_to_benchmark(
            frame[numerator].to_numpy(dtype=np.float64),
            frame[denominator].to_numpy(dtype=np.float64),
            bench,
            statistic=statistic,
            polarity=polarity,
            confidence=level,
            method=method,
            multiplier=multiplier,
        )
        part = frame.copy()
        part["comparison"] = result.labels
        part["polarity"] = result.polarity
        parts.append(label_rows(part, statistic, level, result.method))
    return pd.concat(parts, ignore_index=True)


def funnel_frame(result: Funnel, keys: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per unit per level from a :class:`~gpscale.stats.funnels.Funnel`, with labels.

    ``keys`` (same length as the units) supplies identifying columns. Columns: ``value``, ``target``,
    ``lower``, ``upper``, ``position`` (the unit's PHE position, from both levels), and the labels.
    """
    base = pd.DataFrame(index=range(result.value.size)) if keys is None else keys.reset_index(drop=True)
    parts = []
    for level, lo, hi in (
        (0.95, result.lower_95, result.upper_95),
        (0.998, result.lower_998, result.upper_998),
    ):
        part = base.copy()
        part["value"], part["target"], part["lower"], part["upper"] = result.value, result.target, lo, hi
        part["position"] = result.position
        parts.append(label_rows(part, f"{result.statistic} funnel", level, result.method))
    return pd.concat(parts, ignore_index=True)
