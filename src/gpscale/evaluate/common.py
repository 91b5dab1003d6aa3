"""Shared pieces of the evaluation: link scales, data-break segments, and the columns every table carries.

**Link scale.** Comparisons of trends and of groups with each other are made on the scale on which
indicators behave additively: logit for shares (proportions, survey-weighted proportions, QOF scores) and
log for rates and standardised ratios. On that scale a group's value relative to England is a log odds
ratio or a log rate ratio, and a trend is a change in log odds or log rate per year. Results are also
translated back to the indicator's own units where that helps reading.

**Variance on the link scale** (delta method), consistent with each value type's interval in the
scorecard: proportion ``1 / (n p (1 - p))``; survey-weighted proportion the same on Kish's effective
sample size; rate and standardised ratio ``1 / events``; QOF score ``se^2 / (p (1 - p))^2`` with ``se``
the standard error of the maximum-weighted mean of member practices' scores (the scorecard's t interval).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import Link, ValueType
from gpscale.periods import PeriodType, fy_of_month, parse_period

#: Columns that say what produced a result; every analysis table ends with them.
PROVENANCE = ["membership_view", "definition_version", "data_version"]


def stacked(parts: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One table from pieces given as columns (arrays of one length per piece, or scalars repeated over it).

    Every piece has the same columns (the first piece's order). Building each piece as a data frame and
    concatenating them cost more than the statistics in the per-year loops of the variation stage (issue 17).
    """
    parts = list(parts)
    lengths = [next(len(v) for v in p.values() if np.ndim(v)) for p in parts]
    return pd.DataFrame({c: np.concatenate([np.broadcast_to(np.asarray(p[c]), (k,)) for p, k in
                                            zip(parts, lengths, strict=True)]) for c in parts[0]})


def enum_value(v: Any) -> str:
    """The plain string of an enum member (or the value itself)."""
    return str(getattr(v, "value", v))


def to_link(p: np.ndarray | pd.Series, link: Link) -> np.ndarray:
    """Transform unscaled values (a share in (0, 1), or a positive rate) to the link scale; NaN outside."""
    x = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if link == Link.LOGIT:
            out = np.log(x / (1.0 - x))
            return np.where((x > 0) & (x < 1), out, np.nan)
        out = np.log(x)
        return np.where(x > 0, out, np.nan)


def from_link(y: np.ndarray, link: Link) -> np.ndarray:
    """Back from the link scale to an unscaled value: the inverse of :func:`to_link`."""
    x = np.asarray(y, dtype=float)
    return 1.0 / (1.0 + np.exp(-x)) if link == Link.LOGIT else np.exp(x)


def link_derivative(p: np.ndarray | float, link: Link) -> np.ndarray:
    """d(value)/d(link) at unscaled value ``p``: ``p (1 - p)`` for logit, ``p`` for log."""
    x = np.asarray(p, dtype=float)
    return x * (1.0 - x) if link == Link.LOGIT else x


def link_variance(pooled: pd.DataFrame, value_type: ValueType) -> np.ndarray:
    """Delta-method variance of the link of each pooled row's value (see the module notes).

    ``pooled`` has numerator, denominator and, where relevant, effective_n (survey) and score_se (QOF).
    """
    vt = ValueType(value_type)
    num = pooled["numerator"].to_numpy(float)
    den = pooled["denominator"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = num / den
        if vt.link is Link.LOG:
            v = 1.0 / num
        elif vt is ValueType.SCORE:
            se = pooled["score_se"].to_numpy(float) if "score_se" in pooled else np.full(len(p), np.nan)
            v = se**2 / (p * (1.0 - p)) ** 2
        else:
            n = den
            if vt is ValueType.WEIGHTED_PROPORTION and "effective_n" in pooled:
                n_eff = pooled["effective_n"].to_numpy(float)
                n = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, den)
            v = 1.0 / (n * p * (1.0 - p))
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


@functools.lru_cache(maxsize=4096)
def fy_year(period: str) -> int:
    """Start year of a financial-year label (``FY2019/20`` -> 2019)."""
    return parse_period(period).start.year


def fy_years(periods: pd.Series) -> np.ndarray:
    """:func:`fy_year` of every label in a column (computed once per distinct label)."""
    codes, uniques = pd.factorize(periods.astype(str))
    return np.array([fy_year(u) for u in uniques], dtype=float)[codes]


def fy_breaks(breaks: list[str]) -> tuple[set[str], set[str]]:
    """Financial years at which a new segment starts, and financial years to leave out (mixed).

    A financial-year break starts a new segment there. A month break in April starts a segment at that
    financial year; a month break later in a year makes that year a mixture of the old and new
    definitions, so the year is left out and the next one starts a segment.
    """
    starts: set[str] = set()
    mixed: set[str] = set()
    for b in breaks:
        p = parse_period(b)
        if p.type is PeriodType.FINANCIAL_YEAR:
            starts.add(b)
            continue
        fy = fy_of_month(b)
        if p.start.month == 4:
            starts.add(fy)
        else:
            mixed.add(fy)
            starts.add(f"FY{fy_year(fy) + 1}/{(fy_year(fy) + 2) % 100:02d}")
    return starts, mixed


def segments(periods: list[str], breaks: list[str]) -> list[list[str]]:
    """Financial years split into runs that never cross a data break (sorted; mixed years dropped)."""
    starts, mixed = fy_breaks(breaks)
    out: list[list[str]] = []
    current: list[str] = []
    for p in sorted(set(periods), key=fy_year):
        if p in mixed:
            if current:
                out.append(current)
            current = []
            continue
        if p in starts and current:
            out.append(current)
            current = []
        current.append(p)
    if current:
        out.append(current)
    return out


def definition_versions(practice_values: pd.DataFrame, definitions: Mapping[str, Any]) -> dict[str, str]:
    """Indicator id -> definition version (from the computed values, else the definition)."""
    out = {k: str(getattr(d, "version", "")) for k, d in definitions.items()}
    if "definition_version" in practice_values and not practice_values.empty:
        got = practice_values.groupby("indicator_id", observed=True)["definition_version"].first()
        out.update({k: str(v) for k, v in got.items()})
    return out
