"""The event-study implementation before issue 15's speed work, kept only as the baseline of the benchmark
and the oracle of the before/after test (tests/spec/events/test_speedup_identical.py).

A verbatim copy of ``event_studies`` (with ``_panel``, ``_covariates``, ``_simultaneous``, ``_one_study``),
``group_time_effects`` (``_cell``, ``_aggregate``, ``_unit_weights``), ``bootstrap`` (``mammen_weights``)
and ``dr_did`` (``_logit_fit``, ``_wls``, ``_design``) at commit 69ec8fb; the text helpers and data classes
it shares with the current code are imported. It pools a merger's predecessors into the successor and
does not exclude comparators with events of other kinds, as the code then did. Not part of the package.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st
from scipy.special import expit

from gpscale.domain.vocabulary import Link, ValueType
from gpscale.evaluate.common import segments
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict
from gpscale.evaluate.events.study import (
    EVENT_STUDY_COLUMNS,
    EVENT_SUMMARY_COLUMNS,
    EventStudyOptions,
    Progress,
    _estimate_rows,
    _in_units,
    _pre_value,
)
from gpscale.evaluate.events.wording import (
    cannot_say as _cannot_say,
    conclusion as _conclusion,
    method_text as _method,
    scale_name as _scale,
    verdict_of as _verdict,
)
from gpscale.stats.drdid import TRIM_LEVEL, _PS_CAP, CellEstimate
from gpscale.stats.event_study import (
    LARGE_CLUSTERS,
    Cell,
    Comparison,
    EventPanel,
    EventStudy,
    EventStudySpec,
    Inference,
    _unit_weights,
)


def _logit_fit(d: np.ndarray, x: np.ndarray, w: np.ndarray, ridge: float) -> np.ndarray | None:
    """Weighted (optionally ridge-penalised) logistic regression by Newton steps; None if it fails."""
    k = x.shape[1]
    pen = np.full(k, ridge)
    pen[0] = 0.0  # the intercept is never penalised
    beta = np.zeros(k)
    beta[0] = np.log(max(np.average(d, weights=w), 1e-6) / max(1 - np.average(d, weights=w), 1e-6))
    for _ in range(100):
        p = expit(x @ beta)
        grad = x.T @ (w * (d - p)) - pen * beta
        info = x.T @ ((w * p * (1 - p))[:, None] * x) + np.diag(pen)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 50:
            return None
        if np.max(np.abs(step)) < 1e-10:
            return beta
    return beta if np.all(np.isfinite(beta)) else None


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations (k is small), pseudo-inverse if singular."""
    xtw = (x * w[:, None]).T
    return np.asarray(np.linalg.pinv(xtw @ x) @ (xtw @ y))


def dr_did(
    dy: np.ndarray,
    treated: np.ndarray,
    covariates: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    ridge: float = 0.0,
    trim_level: float = TRIM_LEVEL,
) -> CellEstimate:
    """Doubly robust DiD ATT for panel data (see module notes).

    ``dy``: outcome change per unit; ``treated``: 0/1; ``covariates``: [n, k] *without* an intercept
    (one is added; columns with no variation are dropped); ``weights``: unit weights (default 1).
    The influence function is scaled so that ``att - ATT ~ mean(influence)`` over these n units.
    """
    dy = np.asarray(dy, dtype=float)
    d = np.asarray(treated, dtype=float)
    n = dy.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    x = _design(covariates, n)
    n_t, n_c = int(d.sum()), int(n - d.sum())
    if n_t == 0 or n_c == 0:
        raise ValueError("a cell needs treated units and comparators")
    beta_ps = _logit_fit(d, x, w, ridge)
    ctrl = d == 0
    beta_or = _wls(dy[ctrl], x[ctrl], w[ctrl])
    out = x @ beta_or
    resid = dy - out
    # asymptotic linear representation of the outcome regression (weighted OLS on comparators)
    w_ols = w * (1 - d)
    xpx = (w_ols[:, None] * x).T @ x / n
    xpx_inv = np.linalg.pinv(xpx)
    alr_ols = (w_ols * resid)[:, None] * x @ xpx_inv
    w_treat = w * d
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    m1 = np.mean(w_treat[:, None] * x, axis=0)
    inf_treat = (w_treat * resid - w_treat * eta_treat - alr_ols @ m1) / np.mean(w_treat)
    if beta_ps is None:  # outcome regression estimator (Heckman, Ichimura & Todd 1997)
        return CellEstimate(float(eta_treat), inf_treat, "outcome regression", n_t, n_c)
    ps = np.minimum(expit(x @ beta_ps), _PS_CAP)
    keep = np.where(ctrl, ps < trim_level, True)
    w_treat = keep * w_treat
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    if np.mean(w_cont) <= 0:
        raise ValueError("no comparator weight left after trimming")
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * resid) / np.mean(w_cont)
    # asymptotic linear representation of the logistic fit
    pen = np.full(x.shape[1], ridge)
    pen[0] = 0.0
    info = x.T @ ((w * ps * (1 - ps))[:, None] * x) + np.diag(pen)
    hess = np.linalg.pinv(info) * n
    alr_ps = (w * (d - ps))[:, None] * x @ hess
    m1 = np.mean(w_treat[:, None] * x, axis=0)
    inf_treat = (w_treat * resid - w_treat * eta_treat - alr_ols @ m1) / np.mean(w_treat)
    m2 = np.mean((w_cont * (resid - eta_cont))[:, None] * x, axis=0)
    m3 = np.mean(w_cont[:, None] * x, axis=0)
    inf_control = (w_cont * resid - w_cont * eta_cont + alr_ps @ m2 - alr_ols @ m3) / np.mean(w_cont)
    return CellEstimate(float(eta_treat - eta_cont), inf_treat - inf_control, "doubly robust", n_t, n_c)


def _design(covariates: np.ndarray | None, n: int) -> np.ndarray:
    """Intercept plus standardised covariates that vary (constant columns carry no information)."""
    if covariates is None:
        return np.ones((n, 1))
    c = np.asarray(covariates, dtype=float).reshape(n, -1)
    sd = c.std(axis=0)
    c = c[:, sd > 1e-12]
    if c.shape[1] == 0:
        return np.ones((n, 1))
    c = (c - c.mean(axis=0)) / c.std(axis=0)
    return np.column_stack([np.ones(n), c])


def group_time_effects(panel: EventPanel, spec: EventStudySpec, treated_mask: np.ndarray | None = None) -> EventStudy:
    """ATT(g, t) for every cohort and period allowed by ``spec``, aggregated to event time.

    ``treated_mask`` restricts which units count as treated (e.g. the members of one receiving group);
    units treated at the same time but outside the mask are neither treated nor comparators.
    """
    n, n_t = panel.y.shape
    cohort = np.asarray(panel.cohort, dtype=int)
    mask = np.ones(n, dtype=bool) if treated_mask is None else np.asarray(treated_mask, dtype=bool)
    w_unit = _unit_weights(panel)
    cells: list[Cell] = []
    psi_cells: dict[tuple[int, int], np.ndarray] = {}
    users: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    ref = -1 - spec.anticipation
    for g in sorted(set(cohort[(cohort >= 0) & mask & (cohort < n_t)].tolist())):
        base = g - 1 - spec.anticipation
        if base < 0 or panel.segment[base] < 0:
            continue
        for t in range(max(0, g - spec.leads), min(n_t, g + spec.lags + 1)):
            if t == base or panel.segment[t] != panel.segment[base]:
                continue
            cell = _cell(panel, spec, cohort, mask, g, base, t, n)
            if cell is None:
                continue
            est, idx, is_t = cell
            e = t - g
            cells.append(Cell(g, t, e, est.att, est.n_treated, est.n_comparators, est.method))
            psi = np.zeros(n)
            psi[idx] = est.influence * n / idx.size
            psi_cells[(g, t)] = psi
            users[(g, t)] = (idx[is_t], idx[~is_t])
    return _aggregate(panel, spec, cohort, mask, w_unit, cells, psi_cells, users, ref)


def _cell(
    panel: EventPanel, spec: EventStudySpec, cohort: np.ndarray, mask: np.ndarray, g: int, base: int, t: int,
    n: int,
) -> tuple[CellEstimate, np.ndarray, np.ndarray] | None:
    y, x = panel.y, panel.covariates
    ok = np.isfinite(y[:, t]) & np.isfinite(y[:, base]) & np.all(np.isfinite(x[:, base, :]), axis=1)
    ok &= np.isfinite(panel.weight[:, base]) & (panel.weight[:, base] > 0)
    treated = ok & (cohort == g) & mask
    horizon = max(t, base) + spec.anticipation
    if spec.comparison is Comparison.NEVER_TREATED:
        ctrl = ok & (cohort < 0)
    else:
        ctrl = ok & ((cohort < 0) | (cohort > horizon)) & (cohort != g)
    if treated.sum() < spec.min_treated or ctrl.sum() < spec.min_comparators:
        return None
    idx = np.flatnonzero(treated | ctrl)
    is_t = treated[idx]
    cov = x[idx, base, :]
    if spec.match_level:
        cov = np.column_stack([cov, y[idx, base]])
    try:
        est = dr_did(y[idx, t] - y[idx, base], is_t.astype(float), cov, panel.weight[idx, base], ridge=spec.ridge)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.isfinite(est.att) or not np.all(np.isfinite(est.influence)):
        return None
    return est, idx, is_t


def _aggregate(
    panel: EventPanel, spec: EventStudySpec, cohort: np.ndarray, mask: np.ndarray, w_unit: np.ndarray,
    cells: list[Cell], psi_cells: dict[tuple[int, int], np.ndarray],
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
        psi = np.column_stack([psi_cells[(c.cohort, c.period)] for c in here]) @ wts + wif @ att
        est.append(float(wts @ att))
        used[e] = (gs, wts)
        psis.append(psi)
        tr = np.unique(np.concatenate([users[(c.cohort, c.period)][0] for c in here]))
        co = np.unique(np.concatenate([users[(c.cohort, c.period)][1] for c in here]))
        n_tr.append(tr.size)
        n_co.append(co.size)
        n_coh.append(len(here))
    post = [k for k, e in enumerate(times) if 0 <= e <= spec.lags]
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
        treated_units=treated_units,
    )


def mammen_weights(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Mammen's two-point multiplier weights (mean 0, variance 1, third moment 1)."""
    s5 = np.sqrt(5.0)
    lo, hi = (1 - s5) / 2, (1 + s5) / 2
    p_lo = (s5 + 1) / (2 * s5)
    return np.where(rng.random(size) < p_lo, lo, hi)


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
    rng = np.random.default_rng(seed)
    draws = mammen_weights(rng, (n_boot, c)) @ sums / n if c else np.zeros((n_boot, k))
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


def event_studies(
    practice_values: pd.DataFrame,
    events: pd.DataFrame,
    definitions: Mapping[str, Any],
    context: pd.DataFrame | None,
    *,
    view_label: str = "as-was",
    data_version: str = "",
    versions: Mapping[str, str] | None = None,
    options: EventStudyOptions | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Event-time estimates and per-study summaries for every event kind, receiving group and indicator.

    ``practice_values``: indicator values by practice and period (financial-year rows are used);
    ``events``: :func:`gpscale.evaluate.events.detect.scale_up_events`; ``context``: practice x year
    characteristics (:func:`gpscale.evaluate.profiles.practice_context` columns, plus ``share_65_plus``
    where known).
    """
    opts = options or EventStudyOptions()
    say = progress or (lambda _m: None)
    versions = dict(versions or {})
    ev = events[events["first_of_kind"].astype(bool)] if not events.empty else events
    fy = practice_values[practice_values["period"].astype(str).str.startswith("FY")]
    keep_cols = [c for c in ("indicator_id", "practice_code", "period", "numerator", "denominator", "effective_n")
                 if c in fy]
    # plain numpy-backed columns: every later selection is then a cheap numpy take
    fy = pd.DataFrame({c: fy[c].to_numpy(dtype=object if c in ("indicator_id", "practice_code", "period")
                                         else float) for c in keep_cols})
    rows: list[pd.DataFrame] = []
    summaries: list[dict[str, object]] = []
    kinds = [k for k in EventKind if not ev.empty and (ev["kind"] == str(k)).any()]
    for ind_id, d in definitions.items():
        vals = fy[fy["indicator_id"] == ind_id]
        if vals.empty:
            continue
        say(f"event studies: {ind_id}")
        cov_cache: dict[tuple[str, ...], np.ndarray] = {}
        for kind in kinds:
            kev = ev[ev["kind"] == str(kind)]
            panel, units, unit_group = _panel(vals, kev, d, context, kind, cov_cache)
            lag = 1 + opts.spec.anticipation
            rows_i = np.arange(panel.n)
            b = panel.cohort - lag
            ok_b = (b >= 0) & (panel.cohort < panel.y.shape[1])
            has_base = np.zeros(panel.n, dtype=bool)
            has_base[ok_b] = np.isfinite(panel.y[rows_i[ok_b], b[ok_b]])
            prep = (_simultaneous(panel, opts.simultaneous_share), has_base)
            label = {"membership_view": view_label, "definition_version": versions.get(ind_id, str(d.version)),
                     "data_version": data_version}
            entities: list[tuple[str, str, str, np.ndarray | None]] = [("event_kind", str(kind), kind.label, None)]
            if opts.per_group and kind is not EventKind.MERGER:
                codes, inverse = np.unique(np.array([str(g) for g in unit_group]), return_inverse=True)
                where = {c: k for k, c in enumerate(codes)}
                for gid, name in kev.drop_duplicates("group_id")[["group_id", "group_name"]].itertuples(index=False):
                    k = where.get(str(gid), -1)
                    entities.append(("group", str(gid), str(name) if isinstance(name, str) else str(gid),
                                     inverse == k))
            for etype, eid, ename, mask in entities:
                est_rows, summary = _one_study(panel, units, unit_group, mask, kind, prep, d, opts,
                                               (etype, eid, ename), label)
                if est_rows is not None:
                    rows.append(est_rows)
                summaries.append(summary)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=EVENT_STUDY_COLUMNS)
    summary_df = pd.DataFrame(summaries, columns=EVENT_SUMMARY_COLUMNS) if summaries else pd.DataFrame(
        columns=EVENT_SUMMARY_COLUMNS)
    return table[EVENT_STUDY_COLUMNS], summary_df


def _panel(
    vals: pd.DataFrame, kev: pd.DataFrame, d: Any, context: pd.DataFrame | None, kind: EventKind,
    cov_cache: dict[tuple[str, ...], np.ndarray],
) -> tuple[EventPanel, np.ndarray, np.ndarray]:
    """Practice x year panel of one indicator for one event kind (see module notes)."""
    v = vals[["practice_code", "period", "numerator", "denominator"]].copy()
    n_eff = vals["effective_n"] if "effective_n" in vals else pd.Series(np.nan, index=vals.index)
    v["weight"] = np.where(np.isfinite(n_eff.to_numpy(float)) & (n_eff.to_numpy(float) > 0),
                           n_eff.to_numpy(float), v["denominator"].to_numpy(float))
    if kind is EventKind.MERGER and not kev.empty:
        # a successor is followed with its predecessors pooled in (same patients before and after)
        to_succ = dict(zip(kev["predecessor"], kev["practice_code"], strict=False))
        v["practice_code"] = v["practice_code"].map(lambda c: to_succ.get(c, c))
    v = v.dropna(subset=["numerator", "denominator"])
    v = v[v["denominator"] > 0]
    v = v.groupby(["practice_code", "period"], as_index=False)[["numerator", "denominator", "weight"]].sum()
    periods = sorted(v["period"].unique().tolist())
    units = np.array(sorted(v["practice_code"].unique().tolist()), dtype=object)
    ui = pd.Index(units).get_indexer(v["practice_code"])
    ti = pd.Index(periods).get_indexer(v["period"])
    n, t = units.size, len(periods)
    link = ValueType(d.value_type).link
    num, den = v["numerator"].to_numpy(float), v["denominator"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y_obs = np.log((num + 0.5) / (den - num + 0.5)) if link is Link.LOGIT else np.log((num + 0.5) / den)
    y = np.full((n, t), np.nan)
    w = np.full((n, t), np.nan)
    y[ui, ti] = np.where(np.isfinite(y_obs), y_obs, np.nan)
    w[ui, ti] = v["weight"].to_numpy(float)
    seg = np.full(t, -1)
    for k, run in enumerate(segments(periods, list(getattr(d, "data_breaks", [])))):
        for p in run:
            seg[periods.index(p)] = k
    cohort = np.full(n, -1)
    group = np.array([None] * n, dtype=object)
    if not kev.empty:
        first = kev.sort_values("event_date").drop_duplicates("practice_code")
        fy_idx = {p: i for i, p in enumerate(periods)}
        pos = pd.Index(units).get_indexer(first["practice_code"])
        for p_i, efy, gid in zip(pos, first["event_fy"], first["group_id"], strict=True):
            if p_i < 0:
                continue
            group[p_i] = gid
            if efy in fy_idx:
                cohort[p_i] = fy_idx[efy]
            elif periods and efy > periods[-1]:
                cohort[p_i] = t + 100  # treated after the data end: a comparator throughout
            else:
                cohort[p_i] = -2  # treated before the data begin: neither treated nor comparator
    drop = cohort == -2
    y[drop] = np.nan
    key = (*units.tolist(), "|", *periods)
    if key not in cov_cache:  # the same practices and years for every joining kind: computed once
        cov_cache[key] = _covariates(units, periods, context)
    cov = cov_cache[key]
    return EventPanel(y, w, cohort, cov, seg, tuple(periods)), units, group


def _covariates(units: np.ndarray, periods: list[str], context: pd.DataFrame | None) -> np.ndarray:
    """[n, T, k] characteristics (module notes), missing values filled with the column's mean."""
    n, t = units.size, len(periods)
    regions: list[str] = []
    if context is None or context.empty:
        return np.zeros((n, t, 0))
    c = context[context["period"].isin(periods) & context["practice_code"].isin(units)].copy()
    regions = sorted(str(r) for r in c["region"].dropna().unique())[1:] if "region" in c else []
    cols: dict[str, np.ndarray] = {
        "log_list_size": np.log(pd.to_numeric(c["patients"], errors="coerce").where(lambda s: s > 0)).to_numpy(),
        "share_65_plus": pd.to_numeric(c.get("share_65_plus", pd.Series(np.nan, index=c.index)),
                                       errors="coerce").to_numpy(),
        "imd_score": pd.to_numeric(c["imd_score"], errors="coerce").to_numpy(),
        "rural": c["rurality"].astype("string").str.lower().str.startswith("rural").astype(float).to_numpy(),
        "pms": (c["contract_type"].astype("string").str.upper() == "PMS").astype(float).to_numpy(),
        "apms": c["contract_type"].astype("string").str.upper().isin(["APMS", "ADS"]).astype(float).to_numpy(),
    }
    for r in regions:
        cols[f"region_{r}"] = (c["region"].astype(str) == r).astype(float).to_numpy()
    ui = pd.Index(units).get_indexer(c["practice_code"])
    ti = pd.Index(periods).get_indexer(c["period"])
    out = np.full((n, t, len(cols)), np.nan)
    for k, arr in enumerate(cols.values()):
        a = np.asarray(arr, dtype=float)
        out[ui, ti, k] = a
    for k in range(out.shape[2]):
        col = out[:, :, k]
        mean = np.nanmean(col) if np.isfinite(col).any() else 0.0
        out[:, :, k] = np.where(np.isfinite(col), col, mean)
    return out


def _simultaneous(panel: EventPanel, share: float) -> np.ndarray:
    """Cohorts (period indexes) holding at least ``share`` of the practices with data that year."""
    t = panel.y.shape[1]
    valid = (panel.cohort >= 0) & (panel.cohort < t)
    has = np.isfinite(panel.y)
    out = []
    for g in np.unique(panel.cohort[valid]):
        if np.sum((panel.cohort == g) & has[:, g]) >= share * max(int(has[:, g].sum()), 1):
            out.append(int(g))
    return np.array(out, dtype=int)


def _one_study(
    panel: EventPanel, units: np.ndarray, unit_group: np.ndarray, mask: np.ndarray | None, kind: EventKind,
    prep: tuple[np.ndarray, np.ndarray], d: Any, opts: EventStudyOptions, entity: tuple[str, str, str],
    label: dict[str, str],
) -> tuple[pd.DataFrame | None, dict[str, object]]:
    """One event study (an event kind or one receiving group) of one indicator, as rows and a summary."""
    etype, eid, ename = entity
    n, t = panel.y.shape
    simultaneous_idx, has_base = prep
    in_scope = (panel.cohort >= 0) & (panel.cohort < t) & (np.ones(n, bool) if mask is None else mask)
    groups_here = {g for g in unit_group[in_scope] if g is not None}
    simultaneous = [panel.periods[g] for g in simultaneous_idx if np.any(in_scope & (panel.cohort == g))]
    keep = in_scope & ~np.isin(panel.cohort, simultaneous_idx)
    base_ok = has_base & keep
    event_fys = sorted({panel.periods[c] for c in panel.cohort[in_scope]})
    base = {
        **{c: None for c in EVENT_SUMMARY_COLUMNS},
        "entity_type": etype, "entity_id": eid, "entity_name": ename, "event_kind": str(kind),
        "indicator_id": d.id, "domain": d.domain, "confidence": opts.confidence, "scale": _scale(d),
        "unit": d.unit, "n_events": int(in_scope.sum()), "n_groups": len(groups_here),
        "first_event_fy": event_fys[0] if event_fys else None, "last_event_fy": event_fys[-1] if event_fys else None,
        "comparator": str(opts.spec.comparison), **label,
    }
    status: StudyStatus | None = None
    if not in_scope.any():
        status = StudyStatus.NO_EVENTS
    elif simultaneous and not keep.any():
        status = StudyStatus.SIMULTANEOUS
    elif base_ok.sum() < opts.min_events:
        status = StudyStatus.TOO_FEW_EVENTS
    if status is not None:
        base.update(status=str(status), verdict=str(Verdict.CANNOT_TELL),
                    conclusion=_cannot_say(status, kind, d, base, simultaneous, int(base_ok.sum()), opts))
        return None, base
    study = group_time_effects(panel, opts.spec, treated_mask=keep)
    post = [k for k, e in enumerate(study.event_times) if 0 <= e <= opts.spec.lags]
    if not post:
        status = StudyStatus.NO_COMPARATORS if not study.cells else StudyStatus.NO_COMPARABLE_YEARS
        base.update(status=str(status), verdict=str(Verdict.CANNOT_TELL),
                    conclusion=_cannot_say(status, kind, d, base, simultaneous, int(base_ok.sum()), opts))
        return None, base
    by_group = etype == "event_kind" and len(groups_here) >= opts.min_cluster_groups and kind is not EventKind.MERGER
    cluster_label = "receiving group" if by_group else "practice"
    cluster = np.array([str(g) if by_group and g is not None else f"practice:{u}"
                        for g, u in zip(unit_group, units, strict=True)], dtype=object)
    inf = bootstrap(study, cluster, n_boot=opts.n_boot, confidence=opts.confidence, seed=opts.seed)
    method = _method(study, opts)
    table = _estimate_rows(study, inf, base, cluster_label, method)
    agg = len(study.estimates) - 1
    pre_value = _pre_value(panel, study, d)
    change = _in_units(pre_value, study.estimates[agg], d)
    base.update(
        status=str(StudyStatus.ESTIMATED), estimate=study.estimates[agg], lower=inf.lower[agg],
        upper=inf.upper[agg], se=inf.se[agg], pre_event_value=pre_value, change_in_units=change,
        years_after=len(post), pretrend_stat=inf.pretrend_stat, pretrend_df=inf.pretrend_df,
        pretrend_p=inf.pretrend_p, n_treated=int(study.n_treated[agg]), n_comparators=int(study.n_comparators[agg]),
        n_cohorts=int(study.n_cohorts[agg]), n_clusters=inf.n_clusters, cluster=cluster_label, method=method,
    )
    verdict = _verdict(base, d, opts)
    base.update(verdict=str(verdict), conclusion=_conclusion(verdict, kind, d, base, inf, simultaneous, opts))
    return table, base
