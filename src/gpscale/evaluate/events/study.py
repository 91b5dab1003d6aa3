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
as published, before and after the merger (its predecessors' values are not pooled in: see
:mod:`gpscale.evaluate.events.panel`).

**Weights.** Each practice counts in proportion to its denominator in the base year (its eligible
patients, items, expected events; the effective sample size for survey indicators), as pooled group
values do; QOF scores (a constant maximum) weigh practices equally.

**Matching.** Comparators are weighted (propensity score) and adjusted (outcome regression) on values
at the base year: the indicator's own pre-event level, list size (log), the share of patients aged 65 and
over (age structure), IMD score, rurality, contract type (GMS / PMS / APMS) and region. Missing values of
a characteristic are filled with its mean. Cells never span a data break of the indicator.

**Comparators** are practices not yet treated by the event studied and never treated by it, *and* with
no event of another kind up to the later of the two years compared (a practice that joined a federation
is no comparator for super-partnerships from that year on: its own effect would be counted against
them), except events of a simultaneous wave (PCN formation), which touch treated and comparators alike.

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

**Speed.** Each indicator's outcome panel and each kind's cohorts are built once with index arrays; which
studies can be estimated is decided for every receiving group at once (counts by group); a receiving
group that holds every event of its kind gets the kind's study, estimated once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from gpscale.domain.vocabulary import Link, ValueType
from gpscale.evaluate.common import PROVENANCE
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict
from gpscale.evaluate.events.panel import (
    BEFORE_DATA,
    ContextGrid,
    KindEvents,
    Outcomes,
    cohorts,
    comparator_exclusions,
    outcomes,
    simultaneous,
)
from gpscale.evaluate.events.wording import cannot_say, conclusion, method_text, scale_name, verdict_of
from gpscale.stats.event_study import EventPanel, EventStudy, EventStudySpec, Inference, bootstrap, group_time_effects

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
    #: comparators exclude practices after an event of another kind (module notes); off only to compare
    #: with the first version's estimates
    exclude_other_events: bool = True
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
    kinds = [k for k in EventKind if not ev.empty and (ev["kind"] == str(k)).any()]
    by_kind = {k: ev[ev["kind"] == str(k)] for k in kinds}
    kind_events = {k: KindEvents.of(kev) for k, kev in by_kind.items()}
    grid = ContextGrid(context)
    rows: list[pd.DataFrame] = []
    summaries: list[dict[str, object]] = []
    for ind_id, cols in _by_indicator(practice_values, definitions):
        d = definitions[ind_id]
        say(f"event studies: {ind_id}")
        out = outcomes(*cols, d)
        cov = grid.covariates(out.units, out.periods)
        label = {"membership_view": view_label, "definition_version": versions.get(ind_id, str(d.version)),
                 "data_version": data_version}
        per_kind = {k: cohorts(out, kind_events[k]) for k in kinds}
        has = np.isfinite(out.y)
        first_year = {str(k): v[2] for k, v in per_kind.items()}
        for kind in kinds:
            cohort, unit_group, _ = per_kind[kind]
            excluded = (comparator_exclusions(str(kind), first_year, has, opts.simultaneous_share)
                        if opts.exclude_other_events else None)
            k_rows, k_summaries = _kind_studies(out, cov, cohort, unit_group, excluded, by_kind[kind], kind, d,
                                                opts, label)
            rows.extend(k_rows)
            summaries.extend(k_summaries)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=EVENT_STUDY_COLUMNS)
    summary_df = pd.DataFrame(summaries, columns=EVENT_SUMMARY_COLUMNS) if summaries else pd.DataFrame(
        columns=EVENT_SUMMARY_COLUMNS)
    return table[EVENT_STUDY_COLUMNS], summary_df


_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _by_indicator(practice_values: pd.DataFrame, definitions: Mapping[str, Any]) -> Iterator[tuple[str, _Columns]]:
    """(indicator, (codes, periods, numerators, denominators, weights)) for each defined indicator with
    financial-year rows, in definition order: one pass over the table, then index arrays per indicator.
    The weight is the effective sample size where a survey gives one, else the denominator."""
    pv = practice_values
    period = pv["period"].astype(str).to_numpy()
    fy = np.char.startswith(period.astype(str), "FY") if len(pv) else np.zeros(0, dtype=bool)
    ind = pv["indicator_id"].astype(str).to_numpy()[fy]
    codes = pv["practice_code"].astype(str).to_numpy()[fy]
    period = period[fy]
    num = pv["numerator"].to_numpy(dtype=float, na_value=np.nan)[fy]
    den = pv["denominator"].to_numpy(dtype=float, na_value=np.nan)[fy]
    n_eff = pv["effective_n"].to_numpy(dtype=float, na_value=np.nan)[fy] if "effective_n" in pv \
        else np.full(num.size, np.nan)
    weight = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, den)
    order = np.argsort(ind, kind="stable")
    ids, starts = np.unique(ind[order], return_index=True)
    bounds = dict(zip(ids.tolist(), zip(starts, [*starts[1:], order.size], strict=True), strict=True))
    for ind_id in definitions:
        if ind_id not in bounds:
            continue
        lo, hi = bounds[ind_id]
        take = order[lo:hi]
        yield ind_id, (codes[take], period[take], num[take], den[take], weight[take])


@dataclass(frozen=True)
class _Scope:
    """What one study (an event kind, or one receiving group) covers, before any estimate."""

    n_events: int
    n_groups: int
    n_with_base: int
    simultaneous: list[str]
    any_kept: bool
    event_fys: tuple[str | None, str | None]


def _kind_studies(
    out: Outcomes, cov: np.ndarray, cohort: np.ndarray, unit_group: np.ndarray, excluded: np.ndarray | None,
    kev: pd.DataFrame, kind: EventKind, d: Any, opts: EventStudyOptions, label: dict[str, str],
) -> tuple[list[pd.DataFrame], list[dict[str, object]]]:
    """The kind's study and, unless mergers, one per receiving group (screened for every group at once)."""
    n, t = out.y.shape
    y = out.y
    if (cohort == BEFORE_DATA).any():  # treated before the data begin: neither treated nor comparator
        y = y.copy()
        y[cohort == BEFORE_DATA] = np.nan
    panel = EventPanel(y, out.weight, cohort, cov, out.segment, out.periods, excluded)
    lag = 1 + opts.spec.anticipation
    b = cohort - lag
    ok_b = (b >= 0) & (cohort < t)
    has_base = np.zeros(n, dtype=bool)
    has_base[ok_b] = np.isfinite(y[np.flatnonzero(ok_b), b[ok_b]])
    simul = simultaneous(cohort, np.isfinite(y), opts.simultaneous_share)
    valid = (cohort >= 0) & (cohort < t)
    kept = valid & ~np.isin(cohort, simul)
    # receiving groups in the order they first appear among the events; unit -> group code (-1: none)
    gids = kev.drop_duplicates("group_id")[["group_id", "group_name"]]
    code_of = {str(g): k for k, g in enumerate(gids["group_id"])}
    ucode = np.array([code_of.get(str(g), -1) if g is not None else -1 for g in unit_group], dtype=int)
    scopes = _scopes(out.periods, cohort, ucode, len(gids), valid, kept, has_base, simul)
    entities: list[tuple[str, str, str, _Scope]] = [
        ("event_kind", str(kind), kind.label, _scope_of(out.periods, cohort, unit_group, valid, kept, has_base, simul))]
    if opts.per_group and kind is not EventKind.MERGER:
        entities += [("group", str(gid), str(name) if isinstance(name, str) else str(gid), scopes[k])
                     for k, (gid, name) in enumerate(gids.itertuples(index=False))]
    rows: list[pd.DataFrame] = []
    summaries: list[dict[str, object]] = []
    done: dict[tuple[bytes, bool], tuple[EventStudy, Inference]] = {}
    for k, (etype, eid, ename, scope) in enumerate(entities):
        mask = None if etype == "event_kind" else ucode == (k - 1)
        est_rows, summary = _one_study(panel, out.units, unit_group, mask, kind, scope, simul, d, opts,
                                       (etype, eid, ename), label, done)
        if est_rows is not None:
            rows.append(est_rows)
        summaries.append(summary)
    return rows, summaries


def _scopes(periods: tuple[str, ...], cohort: np.ndarray, ucode: np.ndarray, n_groups: int, valid: np.ndarray,
            kept: np.ndarray, has_base: np.ndarray, simul: np.ndarray) -> list[_Scope]:
    """:class:`_Scope` of every receiving group at once (counts by group code)."""
    sel = valid & (ucode >= 0)
    g = ucode[sel]
    n_events = np.bincount(g, minlength=n_groups)
    n_kept = np.bincount(ucode[kept & (ucode >= 0)], minlength=n_groups)
    n_base = np.bincount(ucode[kept & has_base & (ucode >= 0)], minlength=n_groups)
    first = np.full(n_groups, np.iinfo(np.int64).max)
    last = np.full(n_groups, -1)
    np.minimum.at(first, g, cohort[sel])
    np.maximum.at(last, g, cohort[sel])
    sim_of: dict[int, list[str]] = {}
    in_simul = sel & np.isin(cohort, simul)
    for gc, c in sorted(set(zip(ucode[in_simul].tolist(), cohort[in_simul].tolist(), strict=True))):
        sim_of.setdefault(gc, []).append(periods[c])
    return [_Scope(int(n_events[k]), int(n_events[k] > 0), int(n_base[k]), sim_of.get(k, []), bool(n_kept[k]),
                   (periods[first[k]], periods[last[k]]) if n_events[k] else (None, None))
            for k in range(n_groups)]


def _scope_of(periods: tuple[str, ...], cohort: np.ndarray, unit_group: np.ndarray, valid: np.ndarray,
              kept: np.ndarray, has_base: np.ndarray, simul: np.ndarray) -> _Scope:
    """:class:`_Scope` of the study of a whole event kind."""
    fys = sorted({periods[c] for c in cohort[valid]})
    return _Scope(int(valid.sum()), len({g for g in unit_group[valid] if g is not None}),
                  int((kept & has_base).sum()), [periods[g] for g in simul if np.any(valid & (cohort == g))],
                  bool(kept.any()), (fys[0], fys[-1]) if fys else (None, None))


def _one_study(
    panel: EventPanel, units: np.ndarray, unit_group: np.ndarray, mask: np.ndarray | None, kind: EventKind,
    scope: _Scope, simul: np.ndarray, d: Any, opts: EventStudyOptions,
    entity: tuple[str, str, str], label: dict[str, str], done: dict[tuple[bytes, bool], tuple[EventStudy, Inference]],
) -> tuple[pd.DataFrame | None, dict[str, object]]:
    """One event study (an event kind or one receiving group) of one indicator, as rows and a summary."""
    etype, eid, ename = entity
    base = {
        **{c: None for c in EVENT_SUMMARY_COLUMNS},
        "entity_type": etype, "entity_id": eid, "entity_name": ename, "event_kind": str(kind),
        "indicator_id": d.id, "domain": d.domain, "confidence": opts.confidence, "scale": scale_name(d),
        "unit": d.unit, "n_events": scope.n_events, "n_groups": scope.n_groups,
        "first_event_fy": scope.event_fys[0], "last_event_fy": scope.event_fys[1],
        "comparator": str(opts.spec.comparison), **label,
    }
    status: StudyStatus | None = None
    if not scope.n_events:
        status = StudyStatus.NO_EVENTS
    elif scope.simultaneous and not scope.any_kept:
        status = StudyStatus.SIMULTANEOUS
    elif scope.n_with_base < opts.min_events:
        status = StudyStatus.TOO_FEW_EVENTS
    if status is not None:
        base.update(status=str(status), verdict=str(Verdict.CANNOT_TELL),
                    conclusion=cannot_say(status, kind, d, base, scope.simultaneous, scope.n_with_base, opts))
        return None, base
    t = panel.y.shape[1]
    keep = (panel.cohort >= 0) & (panel.cohort < t) & ~np.isin(panel.cohort, simul)
    if mask is not None:
        keep &= mask
    by_group = etype == "event_kind" and scope.n_groups >= opts.min_cluster_groups and kind is not EventKind.MERGER
    key = (np.packbits(keep).tobytes(), by_group)
    hit = done.get(key)  # a receiving group holding every event of its kind: the kind's study, estimated once
    study = hit[0] if hit is not None else group_time_effects(panel, opts.spec, treated_mask=keep)
    post = [k for k, e in enumerate(study.event_times) if e in study.aggregated]
    if not post:
        status = StudyStatus.NO_COMPARATORS if not study.cells else StudyStatus.NO_COMPARABLE_YEARS
        base.update(status=str(status), verdict=str(Verdict.CANNOT_TELL),
                    conclusion=cannot_say(status, kind, d, base, scope.simultaneous, scope.n_with_base, opts))
        return None, base
    cluster_label = "receiving group" if by_group else "practice"
    if hit is not None:
        inf = hit[1]
    else:
        cluster = np.array([str(g) if by_group and g is not None else f"practice:{u}"
                            for g, u in zip(unit_group, units, strict=True)], dtype=object)
        inf = bootstrap(study, cluster, n_boot=opts.n_boot, confidence=opts.confidence, seed=opts.seed)
        done[key] = (study, inf)
    method = method_text(study, opts)
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
    verdict = verdict_of(base, d, opts)
    base.update(verdict=str(verdict), conclusion=conclusion(verdict, kind, d, base, inf, scope.simultaneous, opts))
    return table, base


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
