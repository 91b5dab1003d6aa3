"""The words of the event studies: the method line, the scale, the verdict and each plain-words conclusion.

Every sentence a report or the dashboard shows about an event study is written here, once, from the
numbers of :mod:`gpscale.evaluate.events.study`, and stored in the ``event_summary`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gpscale.domain.vocabulary import Link, Polarity, ValueType
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict
from gpscale.stats.event_study import EventStudy, Inference

if TYPE_CHECKING:
    from gpscale.evaluate.events.study import EventStudyOptions


def method_text(study: EventStudy, opts: EventStudyOptions) -> str:
    """The method line of an estimated study (estimator, cells, base year, anticipation, bootstrap)."""
    how = " and ".join(study.methods) if study.methods else "doubly robust"
    return (f"Callaway & Sant'Anna group-time effects ({how} 2x2 cells), universal base year, "
            f"anticipation {opts.spec.anticipation} year(s), multiplier bootstrap ({opts.n_boot} draws)")


def scale_name(d: Any) -> str:
    """The scale estimates are on: log odds ratio for shares, log rate ratio for rates and ratios."""
    return "log odds ratio" if ValueType(d.value_type).link is Link.LOGIT else "log rate ratio"


def verdict_of(row: dict[str, object], d: Any, opts: EventStudyOptions) -> Verdict:
    """Cannot tell when pre-trends reject; else no change when the interval holds zero; else the direction."""
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


def conclusion(verdict: Verdict, kind: EventKind, d: Any, row: dict[str, object], inf: Inference,
                simultaneous: list[str], opts: EventStudyOptions) -> str:
    """The plain-words conclusion of an estimated study."""
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


def cannot_say(status: StudyStatus, kind: EventKind, d: Any, row: dict[str, object], simultaneous: list[str],
                n_with_base: int, opts: EventStudyOptions) -> str:
    """Why a study could not be estimated, in plain words."""
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
