"""Event studies with staggered adoption: Callaway & Sant'Anna (2021) group-time effects, aggregated.

Units (practices) are observed over periods (financial years); each has a *cohort*, the first period in
which it is treated (its event), or none. For every cohort g and period t the group-time effect
ATT(g, t) compares the change ``y_t - y_base`` of cohort g with the same change among comparators, by
the doubly robust 2x2 estimator of :mod:`gpscale.stats.drdid`, where

* ``base = g - 1 - anticipation`` (a *universal* base period: every estimate, before and after the
  event, is relative to the last period before the event, so event time -1 is zero by construction and
  the pre-period estimates show how treated and comparators moved apart *before* the event);
* comparators are the units not yet treated by ``max(t, base)`` (plus anticipation) and those never
  treated (``Comparison.NOT_YET_TREATED``, the default), or only the never treated; a unit whose
  ``excluded_from`` period (e.g. its own event of another kind) is at or before ``max(t, base)`` (plus
  anticipation) is no comparator either, so comparators are not-yet-treated by *any* event;
* covariates are measured at the base period (unit characteristics, and optionally the outcome's
  level there), so matching is on pre-event values only;
* a cell is left out when t and base lie in different data-break segments, or when it has fewer than
  ``min_treated`` treated units or ``min_comparators`` comparators.

Never is a cohort compared with an already-treated one, which is what makes the estimator unbiased when
adoption is staggered and effects differ between cohorts or grow over time (the two-way fixed-effects
regression is not: it uses early-treated units as comparators for later ones).

Event-time effects ``ATT(e) = sum_g p_g ATT(g, g + e) / sum_g p_g`` weight cohorts by their (weighted)
size ``p_g``, and the post-event aggregate is the mean of ATT(e) over e = 0..lags that could be
estimated with at least ``min_treated_aggregate`` treated units (a thinner year's interval is too narrow).
Every estimate carries an influence function over all units (including the estimation
effect of the cohort weights), so that a multiplier bootstrap clustered at any level (Mammen weights
per cluster; Callaway & Sant'Anna section 4) gives standard errors, pointwise intervals and a joint
Wald test that every pre-event effect (e <= -2) is zero. The bootstrap variance is scaled by C/(C-1)
(C clusters), and when fewer than ``LARGE_CLUSTERS`` clusters contain treated units (G of them),
intervals use Student's t with G - 1 degrees of freedom and the Wald test Hotelling's T-squared
distribution (F with k and G - k degrees of freedom for k leads; not testable when G <= k): with few
treated clusters the clustered covariance is itself uncertain (the usual small-cluster corrections).

Speed: the covariates of a cohort's base year are taken once, transposed, for all its cells
(:func:`gpscale.stats.drdid.dr_did_t`), each cell's influence function is kept on its own units only,
and the bootstrap is one product of a 0/1 draw matrix with the clusters' influence sums per study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from scipy import stats as st

from gpscale.stats.drdid import CellEstimate, dr_did_t

#: Clusters at or above which normal critical values are used without correction.
LARGE_CLUSTERS = 50


class Comparison(StrEnum):
    """Which units serve as comparators for a cohort."""

    NOT_YET_TREATED = "not-yet-treated and never-treated"
    NEVER_TREATED = "never-treated"


@dataclass(frozen=True)
class EventPanel:
    """A unit x period panel for an event study.

    ``y``: [n, T] outcome (NaN where missing); ``weight``: [n, T] unit weights (e.g. the denominator;
    NaN where missing); ``cohort``: [n] index of the first treated period, -1 if never treated (may lie
    beyond the last period: treated later than the data reach, so a comparator throughout);
    ``covariates``: [n, T, k] unit characteristics by period (finite where used); ``segment``: [T] data-
    break segment of each period (-1: a period not to be used); ``periods``: labels of the T periods;
    ``excluded_from``: [n] the first period from which a unit may no longer serve as a comparator (an
    event of its own that is not the one studied; a negative value: never a comparator), or None.
    """

    y: np.ndarray
    weight: np.ndarray
    cohort: np.ndarray
    covariates: np.ndarray
    segment: np.ndarray
    periods: tuple[str, ...]
    excluded_from: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class EventStudySpec:
    """Choices of an event study (see the module notes)."""

    leads: int = 5
    lags: int = 5
    anticipation: int = 0
    comparison: Comparison = Comparison.NOT_YET_TREATED
    match_level: bool = True
    ridge: float = 1.0
    min_treated: int = 2
    min_comparators: int = 20
    #: event times with fewer distinct treated units are shown but left out of the post-event aggregate:
    #: a cell's influence function centres its treated units on their own mean, so with k of them its
    #: variance is understated by about (k - 1) / k (half with two), and one such year in an equally
    #: weighted mean made "changed" three to four times too common (the merger false positive, issue 15)
    min_treated_aggregate: int = 5


@dataclass(frozen=True)
class Cell:
    """One group-time effect."""

    cohort: int
    period: int
    event_time: int
    att: float
    n_treated: int
    n_comparators: int
    method: str


@dataclass
class EventStudy:
    """Point estimates with their influence functions (one column per estimate)."""

    event_times: np.ndarray  # [K-1] event times with an estimate
    estimates: np.ndarray  # [K] event-time effects, then the post-event aggregate (NaN if none)
    influence: np.ndarray  # [n, K]
    n_treated: np.ndarray  # [K] treated units contributing (distinct)
    n_comparators: np.ndarray  # [K] comparator units contributing (distinct)
    n_cohorts: np.ndarray  # [K]
    cells: list[Cell] = field(default_factory=list)
    reference: int = -1
    methods: tuple[str, ...] = ()
    tested_leads: tuple[int, ...] = ()
    #: event time -> (cohorts, their aggregation weights), so a known truth can be aggregated alike
    cohort_weights: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: units that are treated in at least one cell
    treated_units: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: the post-event times averaged into the aggregate (``lags`` and ``min_treated_aggregate`` of the spec)
    aggregated: tuple[int, ...] = ()


@dataclass(frozen=True)
class Inference:
    """Bootstrap standard errors, intervals and the pre-trend test for an :class:`EventStudy`."""

    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    confidence: float
    n_clusters: int
    n_treated_clusters: int
    pretrend_stat: float
    pretrend_df: int
    pretrend_p: float
    critical: float


def group_time_effects(panel: EventPanel, spec: EventStudySpec, treated_mask: np.ndarray | None = None) -> EventStudy:
    """ATT(g, t) for every cohort and period allowed by ``spec``, aggregated to event time.

    ``treated_mask`` restricts which units count as treated (e.g. the members of one receiving group);
    units treated at the same time but outside the mask are neither treated nor comparators.
    """
    n, n_t = panel.y.shape
    cohort = np.asarray(panel.cohort, dtype=int)
    mask = np.ones(n, dtype=bool) if treated_mask is None else np.asarray(treated_mask, dtype=bool)
    w_unit = _unit_weights(panel)
    finite_y = np.isfinite(panel.y)
    positive_w = np.isfinite(panel.weight) & (panel.weight > 0)
    excluded = None if panel.excluded_from is None else np.asarray(panel.excluded_from, dtype=int)
    cells: list[Cell] = []
    psi_cells: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    users: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    ref = -1 - spec.anticipation
    for g in sorted(set(cohort[(cohort >= 0) & mask & (cohort < n_t)].tolist())):
        base = g - 1 - spec.anticipation
        if base < 0 or panel.segment[base] < 0:
            continue
        x_base = panel.covariates[:, base, :]
        ok_base = finite_y[:, base] & positive_w[:, base] & np.all(np.isfinite(x_base), axis=1)
        is_g = cohort == g
        treated_g = ok_base & is_g & mask
        if treated_g.sum() < spec.min_treated:
            continue
        # the base year's covariates (and the outcome's level there), transposed once for all the cohort's cells
        cov_t = np.ascontiguousarray(x_base.T)
        if spec.match_level:
            cov_t = np.vstack([cov_t, np.where(finite_y[:, base], panel.y[:, base], 0.0)])
        for t in range(max(0, g - spec.leads), min(n_t, g + spec.lags + 1)):
            if t == base or panel.segment[t] != panel.segment[base]:
                continue
            cell = _cell(panel, spec, cohort, excluded, ok_base & finite_y[:, t], treated_g, is_g, cov_t, base, t)
            if cell is None:
                continue
            est, idx, is_t = cell
            cells.append(Cell(g, t, t - g, est.att, est.n_treated, est.n_comparators, est.method))
            psi_cells[(g, t)] = (idx, est.influence * n / idx.size)
            users[(g, t)] = (idx[is_t], idx[~is_t])
    return _aggregate(panel, spec, cohort, mask, w_unit, cells, psi_cells, users, ref)


def _unit_weights(panel: EventPanel) -> np.ndarray:
    """One weight per unit (its mean weight over observed periods), normalised to mean 1."""
    w = np.where(np.isfinite(panel.weight), panel.weight, np.nan)
    with np.errstate(invalid="ignore"):
        u = np.nanmean(np.where(np.isfinite(w), w, np.nan), axis=1) if w.size else np.ones(panel.n)
    u = np.where(np.isfinite(u) & (u > 0), u, 0.0)
    return u / u.mean() if u.sum() > 0 else np.ones(panel.n)


def _cell(
    panel: EventPanel, spec: EventStudySpec, cohort: np.ndarray, excluded: np.ndarray | None, ok: np.ndarray,
    treated_g: np.ndarray, is_g: np.ndarray, cov_t: np.ndarray, base: int, t: int,
) -> tuple[CellEstimate, np.ndarray, np.ndarray] | None:
    """One 2x2 cell: cohort g's change from ``base`` to ``t`` against comparators (``ok``: usable units)."""
    treated = ok & treated_g
    horizon = max(t, base) + spec.anticipation
    if spec.comparison is Comparison.NEVER_TREATED:
        ctrl = ok & (cohort < 0)
    else:
        ctrl = ok & ((cohort < 0) | (cohort > horizon)) & ~is_g
    if excluded is not None:
        ctrl &= excluded > horizon
    if treated.sum() < spec.min_treated or ctrl.sum() < spec.min_comparators:
        return None
    idx = np.flatnonzero(treated | ctrl)
    is_t = treated[idx]
    try:
        est = dr_did_t(panel.y[idx, t] - panel.y[idx, base], is_t.astype(float), cov_t[:, idx],
                       panel.weight[idx, base], ridge=spec.ridge)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.isfinite(est.att) or not np.all(np.isfinite(est.influence)):
        return None
    return est, idx, is_t


def _aggregate(
    panel: EventPanel, spec: EventStudySpec, cohort: np.ndarray, mask: np.ndarray, w_unit: np.ndarray,
    cells: list[Cell], psi_cells: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
    users: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], ref: int,
) -> EventStudy:
    n = panel.n
    times = sorted({c.event_time for c in cells})
    est, psis, n_tr, n_co, n_coh = [], [], [], [], []
    used: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for e in times:
        here = [c for c in cells if c.event_time == e]
        gs = np.array([c.cohort for c in here])
        att = np.array([c.att for c in here])
        # cohort sizes p_g (weighted) and their influence functions
        member = (cohort[:, None] == gs[None, :]) & mask[:, None]
        pg_if = w_unit[:, None] * member
        pg = pg_if.mean(axis=0)
        pg_if = pg_if - pg
        total = pg.sum()
        wts = pg / total
        wif = pg_if / total - np.outer(pg_if.sum(axis=1), pg) / total**2
        psi = wif @ att
        for c, wt in zip(here, wts, strict=True):
            idx, values = psi_cells[(c.cohort, c.period)]
            psi[idx] += values * wt
        est.append(float(wts @ att))
        used[e] = (gs, wts)
        psis.append(psi)
        tr = np.unique(np.concatenate([users[(c.cohort, c.period)][0] for c in here]))
        co = np.unique(np.concatenate([users[(c.cohort, c.period)][1] for c in here]))
        n_tr.append(tr.size)
        n_co.append(co.size)
        n_coh.append(len(here))
    post = [k for k, e in enumerate(times) if 0 <= e <= spec.lags and n_tr[k] >= spec.min_treated_aggregate]
    if post:
        est.append(float(np.mean([est[k] for k in post])))
        psis.append(np.mean(np.column_stack([psis[k] for k in post]), axis=1))
        n_tr.append(max(n_tr[k] for k in post))
        n_co.append(max(n_co[k] for k in post))
        n_coh.append(max(n_coh[k] for k in post))
    else:
        est.append(np.nan)
        psis.append(np.zeros(n))
        n_tr.append(0)
        n_co.append(0)
        n_coh.append(0)
    tested = tuple(e for e in times if e < ref)
    treated_units = np.zeros(n, dtype=bool)
    for tr_idx, _ in users.values():
        treated_units[tr_idx] = True
    return EventStudy(
        event_times=np.array(times, dtype=int), estimates=np.array(est), influence=np.column_stack(psis),
        n_treated=np.array(n_tr), n_comparators=np.array(n_co), n_cohorts=np.array(n_coh), cells=cells,
        reference=ref, methods=tuple(sorted({c.method for c in cells})), tested_leads=tested, cohort_weights=used,
        treated_units=treated_units, aggregated=tuple(times[k] for k in post),
    )


def mammen_weights(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Mammen's two-point multiplier weights (mean 0, variance 1, third moment 1)."""
    s5 = np.sqrt(5.0)
    lo, hi = (1 - s5) / 2, (1 + s5) / 2
    p_lo = (s5 + 1) / (2 * s5)
    return np.where(rng.random(size) < p_lo, lo, hi)


def _mammen_draws(rng: np.random.Generator, n_boot: int, sums: np.ndarray) -> np.ndarray:
    """``mammen_weights(rng, (n_boot, C)) @ sums`` as one product with a 0/1 matrix (the same draws, no
    [n_boot, C] matrix of weights built): W = hi + (lo - hi) * [U < p_lo]."""
    s5 = np.sqrt(5.0)
    lo, hi = (1 - s5) / 2, (1 + s5) / 2
    u = rng.random((n_boot, sums.shape[0]))
    np.less(u, (s5 + 1) / (2 * s5), out=u, casting="unsafe")
    return np.asarray(hi * sums.sum(axis=0) + (lo - hi) * (u @ sums))


def bootstrap(
    study: EventStudy, cluster: np.ndarray, *, n_boot: int = 999, confidence: float = 0.95, seed: int = 0,
) -> Inference:
    """Clustered multiplier bootstrap: SEs, intervals and the pre-trend Wald test (see module notes)."""
    psi = study.influence
    n, k = psi.shape
    codes, inverse = np.unique(np.asarray(cluster), return_inverse=True)
    # clusters that contribute to any estimate
    sums = np.zeros((codes.size, k))
    np.add.at(sums, inverse, psi)
    active = np.any(sums != 0, axis=1)
    sums = sums[active]
    c = int(sums.shape[0])
    draws = _mammen_draws(np.random.default_rng(seed), n_boot, sums) / n if c else np.zeros((n_boot, k))
    treated_clusters = np.unique(inverse[study.treated_units]).size if study.treated_units.size == n else c
    small = treated_clusters < LARGE_CLUSTERS
    scale = np.sqrt(c / (c - 1)) if c > 1 else 1.0
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    se = scale * (q75 - q25) / (st.norm.ppf(0.75) - st.norm.ppf(0.25))
    df = max(treated_clusters - 1, 1)
    crit = float(st.t.ppf(0.5 + confidence / 2, df) if small else st.norm.ppf(0.5 + confidence / 2))
    est = study.estimates
    se = np.where(np.isfinite(est), se, np.nan)
    stat, dfree, p = np.nan, 0, np.nan
    lead_cols = [i for i, e in enumerate(study.event_times) if e in study.tested_leads]
    if lead_cols and c > 1:
        cov = np.atleast_2d(np.cov(draws[:, lead_cols], rowvar=False)) * scale**2
        theta = est[lead_cols]
        try:
            stat = float(theta @ np.linalg.solve(cov, theta))
        except np.linalg.LinAlgError:
            stat = float(theta @ np.linalg.pinv(cov) @ theta)
        dfree = len(lead_cols)
        if not small:
            p = float(st.chi2.sf(stat, dfree))
        elif treated_clusters > dfree:  # Hotelling's T-squared: the covariance is estimated from few clusters
            g = treated_clusters
            p = float(st.f.sf(stat * (g - dfree) / (dfree * (g - 1)), dfree, g - dfree))
    return Inference(se=se, lower=est - crit * se, upper=est + crit * se, confidence=confidence, n_clusters=c,
                     n_treated_clusters=int(treated_clusters), pretrend_stat=stat, pretrend_df=dfree, pretrend_p=p,
                     critical=crit)
