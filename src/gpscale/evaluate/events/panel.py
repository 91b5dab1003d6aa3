"""Practice x financial-year panels for the event studies, built once per indicator and shared by every kind.

* :class:`Outcomes`: one indicator's outcome and weight matrices (units = practices with a value, in code
  order; periods = financial years with data, in order), its data-break segments, built with index
  arrays rather than pandas filtering (see :mod:`gpscale.evaluate.events.study` for the outcome scale).
* :class:`ContextGrid`: practice characteristics for matching as dense arrays over every practice and
  year in the context table, read once per analysis; :meth:`ContextGrid.covariates` cuts the [n, T, k]
  block of one panel's units and years.
* :class:`KindEvents` / :func:`cohorts`: each practice's first event of a kind, mapped onto a panel's
  units and years (cohort index, receiving group).
* :func:`simultaneous`: cohorts that hold nearly every practice with data that year (PCN formation);
* :func:`comparator_exclusions`: the first year from which a practice may no longer be a comparator for
  a kind because it had an event of another kind (not part of a simultaneous wave such as PCN formation).

A merger's successor is followed as published: its own values before and after the merger. Pooling the
predecessor's values into it before the merger (as the first version did) puts an average of two
practices before the event and one practice after it, and on the link scale the share of two pooled
practices is not the mean of their log odds (Jensen's inequality). See docs/methods/event-study.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import Link, ValueType
from gpscale.evaluate.common import segments

#: Cohort codes besides a year index: never treated, and treated before the data begin.
NEVER = -1
BEFORE_DATA = -2
#: Added to the number of years for a cohort treated after the data end (a comparator throughout).
AFTER_DATA = 100
#: ``excluded_from`` of a practice with no other event: later than any year.
NOT_EXCLUDED = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Outcomes:
    """One indicator's panel: [n, T] outcome on the link scale and weights; segment of each year."""

    units: np.ndarray  # [n] practice codes, sorted
    periods: tuple[str, ...]
    y: np.ndarray
    weight: np.ndarray
    segment: np.ndarray


def outcomes(codes: np.ndarray, periods: np.ndarray, num: np.ndarray, den: np.ndarray, weight: np.ndarray,
             d: Any) -> Outcomes:
    """The panel of one indicator's financial-year rows (arrays of equal length; see the study's notes).

    Rows with a missing numerator or denominator, or a denominator of zero or less, are left out;
    duplicate practice-years are summed.
    """
    keep = np.isfinite(num) & np.isfinite(den) & (den > 0)
    codes, periods, num, den, weight = codes[keep], periods[keep], num[keep], den[keep], weight[keep]
    units, ui = np.unique(codes.astype(str), return_inverse=True)
    pers, ti = np.unique(periods.astype(str), return_inverse=True)
    n, t = units.size, pers.size
    flat = ui * t + ti
    if np.unique(flat).size != flat.size:  # duplicate practice-years: summed
        sums = np.zeros((3, n * t))
        for k, a in enumerate((num, den, weight)):
            np.add.at(sums[k], flat, a)
        present = np.zeros(n * t, dtype=bool)
        present[flat] = True
        flat = np.flatnonzero(present)
        num, den, weight = sums[0, flat], sums[1, flat], sums[2, flat]
        ui, ti = flat // t, flat % t
    link = ValueType(d.value_type).link
    with np.errstate(divide="ignore", invalid="ignore"):
        y_obs = np.log((num + 0.5) / (den - num + 0.5)) if link is Link.LOGIT else np.log((num + 0.5) / den)
    y = np.full((n, t), np.nan)
    w = np.full((n, t), np.nan)
    y[ui, ti] = np.where(np.isfinite(y_obs), y_obs, np.nan)
    w[ui, ti] = weight
    period_list = pers.tolist()
    seg = np.full(t, -1)
    for k, run in enumerate(segments(period_list, list(getattr(d, "data_breaks", [])))):
        for p in run:
            seg[period_list.index(p)] = k
    return Outcomes(units.astype(object), tuple(period_list), y, w, seg)


class ContextGrid:
    """Matching characteristics of every practice and year of a context table, as dense arrays.

    Columns (:data:`gpscale.evaluate.events.study.COVARIATES`): log list size, share aged 65+, IMD score,
    rural, PMS and APMS contracts, then one indicator per region but the first among the practices and
    years of a panel. A characteristic missing for a practice-year is filled with the mean over that
    panel's practice-years.
    """

    def __init__(self, context: pd.DataFrame | None) -> None:
        self.empty = context is None or context.empty
        if context is None or context.empty:
            return
        c = context
        self.codes = pd.Index(pd.unique(c["practice_code"].astype(str)))
        self.periods = pd.Index(pd.unique(c["period"].astype(str)))
        ui = self.codes.get_indexer(c["practice_code"].astype(str))
        ti = self.periods.get_indexer(c["period"].astype(str))
        contract = c["contract_type"].astype("string").str.upper()
        cols = [
            np.log(pd.to_numeric(c["patients"], errors="coerce").where(lambda s: s > 0)).to_numpy(float),
            pd.to_numeric(c["share_65_plus"], errors="coerce").to_numpy(float) if "share_65_plus" in c
            else np.full(len(c), np.nan),
            pd.to_numeric(c["imd_score"], errors="coerce").to_numpy(float),
            c["rurality"].astype("string").str.lower().str.startswith("rural").astype(float).to_numpy(),
            (contract == "PMS").astype(float).to_numpy(),
            contract.isin(["APMS", "ADS"]).astype(float).to_numpy(),
        ]
        self.values = np.full((self.codes.size, self.periods.size, len(cols)), np.nan)
        self.present = np.zeros((self.codes.size, self.periods.size), dtype=bool)
        for k, a in enumerate(cols):
            self.values[ui, ti, k] = a
        self.present[ui, ti] = True
        names = c["region"].astype("string") if "region" in c else pd.Series(pd.NA, index=c.index, dtype="string")
        self.region_names = sorted(str(r) for r in names.dropna().unique())
        self.region = np.full((self.codes.size, self.periods.size), -1)
        self.region[ui, ti] = pd.Index(self.region_names).get_indexer(names.fillna(""))

    def covariates(self, units: np.ndarray, periods: tuple[str, ...]) -> np.ndarray:
        """[n, T, k] characteristics of ``units`` over ``periods`` (class notes), missing values filled."""
        n, t = units.size, len(periods)
        if self.empty:
            return np.zeros((n, t, 0))
        ui = self.codes.get_indexer(units.astype(str))
        ti = self.periods.get_indexer(list(periods))
        has = (ui >= 0)[:, None] & (ti >= 0)[None, :]
        grid_u, grid_t = np.meshgrid(np.maximum(ui, 0), np.maximum(ti, 0), indexing="ij")
        here = has & self.present[grid_u, grid_t]
        base = np.where(here[:, :, None], self.values[grid_u, grid_t], np.nan)
        region = np.where(here, self.region[grid_u, grid_t], -1)
        present_regions = np.unique(region[here & (region >= 0)])
        dummies = [np.where(here, (region == r).astype(float), np.nan) for r in present_regions[1:]]
        out = np.concatenate([base, *(d[:, :, None] for d in dummies)], axis=2) if dummies else base
        for k in range(out.shape[2]):
            col = out[:, :, k]
            fin = np.isfinite(col)
            out[:, :, k] = np.where(fin, col, np.mean(col[fin]) if fin.any() else 0.0)
        return out


@dataclass(frozen=True)
class KindEvents:
    """Each practice's first event of one kind: practice code, financial year and receiving group."""

    codes: np.ndarray
    fys: np.ndarray
    groups: np.ndarray

    @staticmethod
    def of(kev: pd.DataFrame) -> KindEvents:
        first = kev.sort_values("event_date", kind="stable").drop_duplicates("practice_code")
        return KindEvents(first["practice_code"].astype(str).to_numpy(), first["event_fy"].astype(str).to_numpy(),
                          first["group_id"].to_numpy(dtype=object))


def cohorts(out: Outcomes, events: KindEvents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit of a panel, for one kind of event: its cohort (the year index of its event; :data:`NEVER`;
    :data:`BEFORE_DATA`, also for an event in a year without data; or beyond the last year), its receiving
    group, and the index of the first year with data on or after its event (-1 before the data begin,
    :data:`NOT_EXCLUDED` after they end or never)."""
    n, t = out.units.size, len(out.periods)
    cohort = np.full(n, NEVER)
    at = np.full(n, NOT_EXCLUDED, dtype=np.int64)
    group = np.full(n, None, dtype=object)
    pos = pd.Index(out.units.astype(str)).get_indexer(events.codes)
    hit = pos >= 0
    pos, fys, gids = pos[hit], events.fys[hit], events.groups[hit]
    group[pos] = gids
    year = pd.Index(out.periods).get_indexer(fys)
    last = out.periods[-1] if out.periods else ""
    cohort[pos] = np.where(year >= 0, year, np.where(fys > last, t + AFTER_DATA, BEFORE_DATA))
    nxt = np.searchsorted(np.array(out.periods, dtype=object), fys)
    at[pos] = np.where(nxt >= t, NOT_EXCLUDED, np.where((nxt == 0) & (year != 0), -1, nxt))
    return cohort, group, at


def simultaneous(cohort: np.ndarray, has: np.ndarray, share: float) -> np.ndarray:
    """Cohorts (year indexes) holding at least ``share`` of the units with data that year (``has``: [n, T])."""
    t = has.shape[1]
    valid = (cohort >= 0) & (cohort < t)
    out = []
    for g in np.unique(cohort[valid]):
        if np.sum((cohort == g) & has[:, g]) >= share * max(int(has[:, g].sum()), 1):
            out.append(int(g))
    return np.array(out, dtype=int)


def comparator_exclusions(kind: str, first_year_of: Mapping[str, np.ndarray], has: np.ndarray,
                          share: float) -> np.ndarray:
    """Per unit, the first year it may no longer be a comparator for ``kind``: the first year with data on or
    after its event of another kind (-1: before the data begin), unless that event was part of a
    simultaneous wave of its kind (``share`` of the practices with data that year had it, as PCN formation:
    it touches treated practices and comparators alike). ``first_year_of``: kind -> the third array of
    :func:`cohorts`."""
    out = np.full(has.shape[0], NOT_EXCLUDED, dtype=np.int64)
    for other, at in first_year_of.items():
        if other == kind:
            continue
        wave = simultaneous(at, has, share)
        out = np.where(~np.isin(at, wave), np.minimum(out, at), out)
    return out
