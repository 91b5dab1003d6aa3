"""Did scaling up change quality? Event studies per event kind and per receiving group, per indicator.

For each event kind (joining a PCN, a federation, a super-partnership, a multi-site provider, a network;
mergers) and each receiving group, and each indicator with financial-year values, the estimator of
:mod:`gpscale.stats.event_study` (Callaway & Sant'Anna group-time effects, doubly robust, not-yet-treated
and never-treated comparators) gives the change relative to comparators year by year from ``leads``
years before the event to ``lags`` after, and its mean over the years after (the *aggregate effect*).

**Outcome.** Practice x financial-year values: pooled numerator over denominator (QOF: points over the
year's maximum), on the indicator's link scale (log odds for shares, log for rates and standardised
ratios, :mod:`gpscale.evaluate.common`), with half an event added to numerator and to non-events
(empirical logit / log) so that a practice with 0% or 100% in a year keeps a finite value. An estimate is
therefore a log odds ratio or log rate ratio; ``change_in_units`` translates the aggregate into the
indicator's units at the treated practices' pre-event mean. A merger's successor practice is followed
with its predecessors pooled in before the merger (the same patients before and after).

**Weights.** Each practice counts in proportion to its denominator in the base year (its eligible
patients, items, expected events; the effective sample size for survey indicators), as pooled group
values do; QOF scores (a constant maximum) weigh practices equally.

**Matching.** Comparators are weighted (propensity score) and adjusted (outcome regression) on values
at the base year: the indicator's own pre-event level, list size (log), the share of patients aged 65 and
over (age structure), IMD score, rurality, contract type (GMS / PMS / APMS) and region. Missing values of
a characteristic are filled with its mean. Cells never span a data break of the indicator.

**Clustering.** Per event kind, intervals come from the multiplier bootstrap clustered at the receiving
group (every practice that is, or later becomes, a member of a group is clustered with it; a practice
that never has such an event is its own cluster) when at least ``min_cluster_groups`` groups received
events; with fewer, at the practice, and the conclusion says the interval speaks for those groups only.
Per receiving group, clustering is at the practice (the estimate is that group's effect on its members).

**When the data cannot tell** (``status``): no events; too few events with a year of data before them;
*simultaneous* events (a cohort holding at least ``simultaneous_share`` of the practices with data that
year, as PCN formation in July 2019: no practice was left to compare with, so no estimate is made); no
comparators; no comparable years (data breaks). An estimated study whose joint pre-trend test rejects at
5% is reported with its estimates but concluded "cannot tell": treated practices were already moving
apart from comparators before the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from gpscale.domain.vocabulary import Link, Polarity, ValueType
from gpscale.evaluate.common import PROVENANCE, segments
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict
from gpscale.stats.event_study import (
    EventPanel,
    EventStudy,
    EventStudySpec,
    Inference,
    bootstrap,
    group_time_effects,
)

EVENT_STUDY_COLUMNS = [
    "entity_type", "entity_id", "entity_name", "event_kind", "indicator_id", "event_time", "estimate", "lower",
    "upper", "se", "confidence", "scale", "reference", "n_treated", "n_comparators", "n_cohorts", "n_clusters",
    "cluster", "method", "comparator", *PROVENANCE,
]

EVENT_SUMMARY_COLUMNS = [
    "entity_type", "entity_id", "entity_name", "event_kind", "indicator_id", "domain", "status", "verdict",
    "estimate", "lower", "upper", "se", "confidence", "scale", "pre_event_value", "change_in_units", "unit",
    "years_after", "pretrend_stat", "pretrend_df", "pretrend_p", "n_events", "n_treated", "n_comparators",
    "n_cohorts", "n_groups", "n_clusters", "cluster", "first_event_fy", "last_event_fy", "method", "comparator",
    "conclusion", *PROVENANCE,
]

#: The covariates matched on besides the outcome's own pre-event level (see module notes).
COVARIATES = ("log_list_size", "share_65_plus", "imd_score", "rural", "pms", "apms")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EventStudyOptions:
    """Choices of the event-study analysis (defaults documented in docs/methods/event-study.md)."""

    spec: EventStudySpec = field(default_factory=EventStudySpec)
    confidence: float = 0.95
    n_boot: int = 999
    min_events: int = 5
    simultaneous_share: float = 0.8
    min_cluster_groups: int = 10
    pretrend_alpha: float = 0.05
    per_group: bool = True
    seed: int = 20250415


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


def _method(study: EventStudy, opts: EventStudyOptions) -> str:
    how = " and ".join(study.methods) if study.methods else "doubly robust"
    return (f"Callaway & Sant'Anna group-time effects ({how} 2x2 cells), universal base year, "
            f"anticipation {opts.spec.anticipation} year(s), multiplier bootstrap ({opts.n_boot} draws)")


def _scale(d: Any) -> str:
    return "log odds ratio" if ValueType(d.value_type).link is Link.LOGIT else "log rate ratio"


def _estimate_rows(study: EventStudy, inf: Inference, base: dict[str, object], cluster: str,
                   method: str) -> pd.DataFrame:
    k = len(study.event_times)
    ref = pd.DataFrame([{**{c: base.get(c) for c in EVENT_STUDY_COLUMNS}, "event_time": study.reference,
                         "estimate": 0.0, "lower": 0.0, "upper": 0.0, "se": 0.0, "reference": True}])
    rows = pd.DataFrame({c: [base.get(c)] * k for c in EVENT_STUDY_COLUMNS})
    rows["event_time"] = study.event_times
    rows["estimate"] = study.estimates[:k]
    rows["lower"] = inf.lower[:k]
    rows["upper"] = inf.upper[:k]
    rows["se"] = inf.se[:k]
    rows["reference"] = False
    rows["n_treated"] = study.n_treated[:k]
    rows["n_comparators"] = study.n_comparators[:k]
    rows["n_cohorts"] = study.n_cohorts[:k]
    out = pd.concat([rows, ref], ignore_index=True).sort_values("event_time", ignore_index=True)
    out["n_clusters"] = inf.n_clusters
    out["cluster"] = cluster
    out["method"] = method
    return out[EVENT_STUDY_COLUMNS]


def _pre_value(panel: EventPanel, study: EventStudy, d: Any) -> float:
    """The treated practices' weighted mean value (indicator units) in their base years."""
    ys, ws = [], []
    for i in np.flatnonzero(study.treated_units):
        b = panel.cohort[i] + study.reference
        if 0 <= b < panel.y.shape[1] and np.isfinite(panel.y[i, b]):
            ys.append(panel.y[i, b])
            ws.append(panel.weight[i, b])
    if not ys:
        return float("nan")
    m = float(np.average(ys, weights=ws))
    link = ValueType(d.value_type).link
    return float((expit(m) if link is Link.LOGIT else np.exp(m)) * d.multiplier)


def _in_units(pre_value: float, estimate: float, d: Any) -> float:
    """The aggregate effect in the indicator's units at the pre-event value."""
    if not np.isfinite(pre_value) or not np.isfinite(estimate):
        return float("nan")
    p = pre_value / d.multiplier
    if ValueType(d.value_type).link is Link.LOGIT:
        p = min(max(p, 1e-9), 1 - 1e-9)
        after = expit(np.log(p / (1 - p)) + estimate)
    else:
        after = p * np.exp(estimate)
    return float((after - p) * d.multiplier)


def _verdict(row: dict[str, object], d: Any, opts: EventStudyOptions) -> Verdict:
    p = row["pretrend_p"]
    if isinstance(p, float) and np.isfinite(p) and p < opts.pretrend_alpha:
        return Verdict.CANNOT_TELL
    lo, hi = float(row["lower"]), float(row["upper"])  # type: ignore[arg-type]
    if lo <= 0 <= hi:
        return Verdict.NO_CHANGE
    up = lo > 0
    pol = Polarity(d.polarity)
    if pol is Polarity.NO_JUDGEMENT:
        return Verdict.HIGHER if up else Verdict.LOWER
    return Verdict.IMPROVED if up == (pol is Polarity.HIGH_IS_GOOD) else Verdict.WORSENED


def _fmt(x: float, unit: str) -> str:
    return f"{x:+.2f} {unit}".strip()


def _conclusion(verdict: Verdict, kind: EventKind, d: Any, row: dict[str, object], inf: Inference,
                simultaneous: list[str], opts: EventStudyOptions) -> str:
    who = (f"{row['n_treated']} practices ({row['n_groups']} receiving group{'s' if row['n_groups'] != 1 else ''}"
           f", events {row['first_event_fy']} to {row['last_event_fy']})")
    pct = f"{opts.confidence * 100:g}%"
    est, lo, hi = (float(row[k]) for k in ("estimate", "lower", "upper"))  # type: ignore[arg-type]
    ratio = "odds" if row["scale"] == "log odds ratio" else "rate"
    size = (f"{d.title}: {ratio} ratio {np.exp(est):.3f} ({pct} CI {np.exp(lo):.3f} to {np.exp(hi):.3f}), "
            f"about {_fmt(float(row['change_in_units']), d.unit)} at the pre-event level, "  # type: ignore[arg-type]
            f"averaged over the {row['years_after']} years from the event")
    notes = []
    if simultaneous:
        notes.append(f"events in {', '.join(simultaneous)} left out: nearly every practice had them at once, so "
                     "there was no practice to compare with")
    if row["cluster"] == "practice" and row["entity_type"] == "event_kind":
        notes.append(f"only {row['n_groups']} receiving group(s): the interval describes these groups' practices, "
                     "not groups of this kind in general")
    p_pre = row["pretrend_p"]
    if not (isinstance(p_pre, float) and np.isfinite(p_pre)):
        notes.append("the years before the event could not be tested for diverging trends (none comparable)")
    tail = ("; " + "; ".join(notes)) if notes else ""
    if verdict is Verdict.CANNOT_TELL:
        return (f"Cannot tell whether {kind.label} changed {d.title}: before the event, the {who} were already "
                f"moving apart from comparators (pre-trend test p = {float(row['pretrend_p']):.3f}), so the "  # type: ignore[arg-type]
                f"change after it cannot be attributed to the event{tail}.")
    if verdict is Verdict.NO_CHANGE:
        return (f"No change detected after {kind.label} for {who}: {size}; the interval includes no change"
                f"{tail}.")
    return f"After {kind.label}, {d.title} {verdict.value} relative to comparators for {who}: {size}{tail}."


def _cannot_say(status: StudyStatus, kind: EventKind, d: Any, row: dict[str, object], simultaneous: list[str],
                n_with_base: int, opts: EventStudyOptions) -> str:
    if status is StudyStatus.NO_EVENTS:
        return f"No practice with {d.title} data had an event of {kind.label}."
    if status is StudyStatus.SIMULTANEOUS:
        return (f"Cannot estimate the effect of {kind.label} on {d.title}: nearly every practice had this event "
                f"at the same time ({', '.join(simultaneous)}), so there are no not-yet-treated practices to "
                "compare with, and the few never-treated practices are not comparable.")
    if status is StudyStatus.TOO_FEW_EVENTS:
        return (f"Too few events to tell: {n_with_base} practice(s) had {kind.label} with {d.title} data for "
                f"the year before (at least {opts.min_events} are needed).")
    if status is StudyStatus.NO_COMPARATORS:
        return (f"Cannot estimate the effect of {kind.label} on {d.title}: too few comparable practices that had "
                f"not (yet) had the event (at least {opts.spec.min_comparators} are needed each year).")
    return (f"Cannot estimate the effect of {kind.label} on {d.title}: no year after the event could be compared "
            f"with the year before it with at least {opts.spec.min_treated} practices of one cohort and "
            f"{opts.spec.min_comparators} comparators (a data break of the indicator lies between them, cohorts "
            "are too thin, or the data stop).")
