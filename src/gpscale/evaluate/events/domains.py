"""Did scaling up change quality on a whole indicator domain? Per study and domain, from the indicators' studies.

The ``event_domain`` table has one row per entity (an event kind or a receiving group), event kind and
indicator domain (the ``domain`` of each indicator definition: the one place domains are defined). It
is read off the ``event_summary`` rows of the domain's indicators, so every number here comes from their
studies:

* **Oriented**: each indicator's aggregate effect (log odds ratio or log rate ratio) is signed so that
  positive means *better* (an indicator where lower is better has its estimate and interval negated).
  Indicators without a judgement (neither higher nor lower is better) have no direction to average and
  are left out, as are studies not estimated and studies whose pre-trend test rejects ("cannot tell").
* **Estimate**: the mean of the kept indicators' oriented effects (equal weights: the domain's average
  proportional change, on the log-ratio scale).
* **Interval**: the mean of the kept indicators' interval bounds. The indicators' estimates share their
  practices and are correlated in unknown ways, and the standard deviation of a mean is at most the mean
  of the standard deviations whatever the correlation, so this interval covers at least the nominal
  rate (it is exact when the indicators are perfectly correlated, wider than needed otherwise).
  ``tests/simulation/events/test_domain_interval.py`` checks the coverage with known truth.
* **When it cannot say**: no indicator of the domain was estimated with parallel pre-trends; the
  conclusion names each indicator's reason (too few events, simultaneous events, failing pre-trend...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import Polarity
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict

EVENT_DOMAIN_COLUMNS = [
    "entity_type", "entity_id", "entity_name", "event_kind", "event_label", "domain", "status", "verdict",
    "estimate", "lower", "upper", "confidence", "scale", "n_indicators", "n_averaged", "averaged", "left_out",
    "conclusion", "membership_view", "data_version",
]

#: The scale of the domain's estimate: a mean of log odds ratios and log rate ratios, signed so > 0 is better.
DOMAIN_SCALE = "mean log ratio (positive = better)"

_ENTITY = ["entity_type", "entity_id", "entity_name", "event_kind"]


def domain_effects(summary: pd.DataFrame, definitions: Mapping[str, Any]) -> pd.DataFrame:
    """One row per entity, event kind and domain of the ``event_summary`` rows (see module notes), the
    domains in the order the definitions introduce them."""
    if summary.empty:
        return pd.DataFrame(columns=EVENT_DOMAIN_COLUMNS)
    order = list(dict.fromkeys(str(d.domain) for d in definitions.values()))
    parts: dict[tuple[object, ...], list[dict[str, Any]]] = {}
    for r in summary.to_dict("records"):
        parts.setdefault((*(r[c] for c in _ENTITY), str(r["domain"])), []).append(r)
    keys = sorted(parts, key=lambda k: order.index(str(k[-1])) if k[-1] in order else len(order))
    return pd.DataFrame([_domain_row(parts[k], definitions) for k in keys], columns=EVENT_DOMAIN_COLUMNS)


def _oriented(r: Mapping[str, Any], pol: Polarity) -> tuple[float, float, float]:
    est, lo, hi = float(r["estimate"]), float(r["lower"]), float(r["upper"])
    return (est, lo, hi) if pol is Polarity.HIGH_IS_GOOD else (-est, -hi, -lo)


def _domain_row(frame: list[dict[str, Any]], definitions: Mapping[str, Any]) -> dict[str, object]:
    first = frame[0]
    kind = EventKind(str(first["event_kind"]))
    domain = str(first["domain"])
    kept: list[tuple[str, tuple[float, float, float]]] = []
    left_out: list[str] = []
    for r in frame:
        d = definitions[str(r["indicator_id"])]
        pol = Polarity(d.polarity)
        if str(r["status"]) != str(StudyStatus.ESTIMATED):
            left_out.append(f"{d.title}: {r['status']}")
        elif str(r["verdict"]) == str(Verdict.CANNOT_TELL):
            left_out.append(f"{d.title}: failing pre-trend test (p = {float(r['pretrend_p']):.3f})")
        elif pol is Polarity.NO_JUDGEMENT:
            left_out.append(f"{d.title}: no judgement (neither higher nor lower is better)")
        else:
            kept.append((str(d.title), _oriented(r, pol)))
    row: dict[str, object] = {
        **{c: first[c] for c in _ENTITY}, "event_label": kind.label, "domain": domain,
        "confidence": first["confidence"], "scale": DOMAIN_SCALE, "n_indicators": len(frame), "n_averaged": len(kept),
        "averaged": "; ".join(t for t, _ in kept), "left_out": "; ".join(left_out),
        "membership_view": first.get("membership_view"), "data_version": first.get("data_version"),
    }
    if not kept:
        row.update(status="cannot say", verdict=str(Verdict.CANNOT_TELL), estimate=np.nan, lower=np.nan,
                   upper=np.nan, conclusion=_cannot_say(kind, domain, left_out))
        return row
    est, lo, hi = (float(np.mean([v[k] for _, v in kept])) for k in range(3))
    verdict = Verdict.NO_CHANGE if lo <= 0 <= hi else Verdict.IMPROVED if lo > 0 else Verdict.WORSENED
    row.update(status=str(StudyStatus.ESTIMATED), verdict=str(verdict), estimate=est, lower=lo, upper=hi,
               conclusion=_conclusion(verdict, kind, domain, est, lo, hi, float(first["confidence"]),
                                      [t for t, _ in kept], left_out))
    return row


def _cannot_say(kind: EventKind, domain: str, left_out: list[str]) -> str:
    return (f"Cannot say whether {kind.label} changed the {domain} indicators: no indicator's study gives an "
            f"answer to average ({'; '.join(left_out)}).")


def _conclusion(verdict: Verdict, kind: EventKind, domain: str, est: float, lo: float, hi: float, conf: float,
                averaged: list[str], left_out: list[str]) -> str:
    ratio = (f"average ratio {np.exp(est):.3f} ({conf * 100:g}% CI {np.exp(lo):.3f} to {np.exp(hi):.3f}; "
             f"above 1 is better) over {len(averaged)} indicator{'s' if len(averaged) != 1 else ''} "
             f"({'; '.join(averaged)})")
    tail = f"; left out: {'; '.join(left_out)}" if left_out else ""
    if verdict is Verdict.NO_CHANGE:
        return f"No change detected on the {domain} indicators after {kind.label}: {ratio}{tail}."
    return f"After {kind.label}, the {domain} indicators {verdict.value} relative to comparators: {ratio}{tail}."
