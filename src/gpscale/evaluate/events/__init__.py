"""Did scaling up change quality? Scale-up events and event studies with matched comparators.

Python API:

* :func:`scale_up_events` (from membership spells, group kinds and ODS successions) and
  :func:`store_successions` (successions in a store);
* :func:`event_tables` runs everything on data frames and returns the three result tables:
  ``events`` (:data:`EVENT_COLUMNS`), ``event_study`` (one row per entity x indicator x event time,
  :data:`EVENT_STUDY_COLUMNS`: chart-ready, the reference year -1 included as zero) and
  ``event_summary`` (one row per entity x indicator: aggregate effect, pre-trend test, status, verdict and
  a plain-words conclusion, :data:`EVENT_SUMMARY_COLUMNS`) and ``event_domain`` (one row per entity x
  indicator domain: the domain's indicators averaged, :mod:`gpscale.evaluate.events.domains`);
* :func:`age_structure` reads each practice's share of patients aged 65+ from a store, for matching.

``gpscale evaluate --analysis events`` runs it on a store. Methods: docs/methods/event-study.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gpscale.evaluate.events.detect import EVENT_COLUMNS, scale_up_events, store_successions, undated_spells
from gpscale.evaluate.events.domains import EVENT_DOMAIN_COLUMNS, domain_effects
from gpscale.evaluate.events.kinds import EventKind, StudyStatus, Verdict
from gpscale.evaluate.events.study import (
    EVENT_STUDY_COLUMNS,
    EVENT_SUMMARY_COLUMNS,
    EventStudyOptions,
    Progress,
    event_studies,
)
from gpscale.store.db import Store

__all__ = [
    "EVENT_COLUMNS", "EVENT_DOMAIN_COLUMNS", "EVENT_STUDY_COLUMNS", "EVENT_SUMMARY_COLUMNS", "EventKind",
    "EventStudyOptions", "StudyStatus", "Verdict", "age_structure", "event_studies", "event_tables", "scale_up_events",
    "store_successions", "undated_spells",
]

#: Quinary bands counted as "65 and over".
_OLD_BANDS = ("65_69", "70_74", "75_79", "80_84", "85_89", "90_94", "95+")


def event_tables(
    practice_values: pd.DataFrame,
    spell_df: pd.DataFrame,
    groups: pd.DataFrame | None,
    definitions: Mapping[str, Any],
    context: pd.DataFrame | None,
    *,
    successions: pd.DataFrame | None = None,
    view_label: str = "as-was",
    data_version: str = "",
    versions: Mapping[str, str] | None = None,
    options: EventStudyOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """The ``events``, ``event_study``, ``event_summary`` and ``event_domain`` tables (see module notes)."""
    events = scale_up_events(spell_df, groups, successions)
    study, summary = event_studies(practice_values, events, definitions, context, view_label=view_label,
                                   data_version=data_version, versions=versions, options=options,
                                   progress=progress)
    return {"events": events, "event_study": study, "event_summary": summary,
            "event_domain": domain_effects(summary, definitions)}


def age_structure(store: Store, fys: list[str]) -> pd.DataFrame:
    """Share of registered patients aged 65+ per practice and financial year (quinary-band counts)."""
    cols = ["practice_code", "period", "share_65_plus"]
    wanted = [p for p in fys if p.startswith("FY")]
    if not wanted:
        return pd.DataFrame(columns=cols)
    from gpscale.periods import fy_of_month

    df = store.df(
        f"""
        SELECT practice_code, period, period_type,
               sum(patients) FILTER (WHERE age_band IN ({", ".join("'" + b + "'" for b in _OLD_BANDS)})) AS old,
               sum(patients) AS total
        FROM practice_population WHERE sex IN ('male', 'female') AND age_band <> 'all' AND patients IS NOT NULL
        GROUP BY ALL
        """
    )
    if df.empty:
        return pd.DataFrame(columns=cols)
    month = df["period_type"] == "month"
    df.loc[month, "period"] = [fy_of_month(m) for m in df.loc[month, "period"]]
    g = df.groupby(["practice_code", "period"], as_index=False)[["old", "total"]].sum()
    g = g[g["period"].isin(wanted) & (g["total"] > 0)]
    g["share_65_plus"] = g["old"] / g["total"]
    return g[cols].reset_index(drop=True)
