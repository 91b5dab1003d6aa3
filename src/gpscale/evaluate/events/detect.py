"""A practice's scale-up events: when it joined which group, or absorbed a practice that closed into it.

Sources, each event naming its practice, date, kind and receiving group:

* **Membership spells** (:func:`gpscale.groups.membership.spells`: registry files, ePCN workbooks and the
  PCN columns of other publications). The first spell of a practice in a group is the event of joining
  it; its kind follows the group's kind (:data:`~gpscale.evaluate.events.kinds.JOIN_EVENT`). A practice
  that leaves and rejoins the same group, or moves from one PCN to another, has no new event: moving
  between groups of the same kind is not scaling up. A spell with no start date cannot be dated and
  gives no event (counted in :func:`undated_spells`).
* **Successions** (ODS successor organisations, :mod:`gpscale.sources.ods_successor`): a practice that
  closed into a successor is a *merger* event of the successor, dated on the succession's legal date
  (or, where the file leaves it blank, the day after the predecessor's close date in the practice
  register). The receiving "group" is the successor practice itself, and the predecessor is named. The
  practice register (epraccur) records close dates but not successors, so mergers need the successor
  file; a closure without a successor is not a scale-up event.

The event's *financial year* is the year containing its date: the first (possibly partial) year after the
event in an event study. ``first_of_kind`` marks the event the event study uses (a practice's first event
of each kind: the estimator treats adoption as permanent).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from gpscale.evaluate.events.kinds import JOIN_EVENT, EventKind, EventSource
from gpscale.periods import fy_of
from gpscale.store.db import Store

EVENT_COLUMNS = [
    "practice_code", "event_date", "event_fy", "kind", "group_id", "group_kind", "group_name", "predecessor",
    "source", "first_of_kind",
]


def events_from_spells(spell_df: pd.DataFrame, groups: pd.DataFrame | None) -> pd.DataFrame:
    """Joining events: each practice's first dated spell in each group (see module notes)."""
    if spell_df.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    s = spell_df.dropna(subset=["start_date"]).copy()
    s["start_date"] = pd.to_datetime(s["start_date"])
    first = s.sort_values("start_date").drop_duplicates(["group_id", "practice_code"])
    info = _group_info(groups)
    out = first.merge(info, on="group_id", how="left")
    out["group_kind"] = out["group_kind"].fillna("custom")
    out["kind"] = [str(JOIN_EVENT.get(str(k), EventKind.JOINED_OTHER_GROUP)) for k in out["group_kind"]]
    out = out.rename(columns={"start_date": "event_date"})
    out["predecessor"] = None
    out["source"] = str(EventSource.MEMBERSHIP)
    return _finish(out)


def undated_spells(spell_df: pd.DataFrame) -> int:
    """Spells without a start date (no event can be dated from them)."""
    return int(spell_df["start_date"].isna().sum()) if not spell_df.empty else 0


def events_from_successions(successions: pd.DataFrame) -> pd.DataFrame:
    """Merger events of successor practices (``successions``: predecessor, successor, effective_date, source)."""
    if successions.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    s = successions.dropna(subset=["effective_date"])
    out = pd.DataFrame({
        "practice_code": s["successor"].to_numpy(),
        "event_date": pd.to_datetime(s["effective_date"]).to_numpy(),
        "kind": str(EventKind.MERGER),
        "group_id": s["successor"].to_numpy(),
        "group_kind": "practice",
        "group_name": None,
        "predecessor": s["predecessor"].to_numpy(),
        "source": s["source"].to_numpy(),
    })
    return _finish(out)


def scale_up_events(
    spell_df: pd.DataFrame, groups: pd.DataFrame | None, successions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every event from spells and successions, with the financial year and ``first_of_kind`` flag."""
    parts = [events_from_spells(spell_df, groups)]
    if successions is not None and not successions.empty:
        parts.append(events_from_successions(successions))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    ev = pd.concat(parts, ignore_index=True).sort_values(["practice_code", "kind", "event_date", "group_id"])
    ev["first_of_kind"] = ~ev.duplicated(["practice_code", "kind"])
    return ev[EVENT_COLUMNS].reset_index(drop=True)


def store_successions(store: Store) -> pd.DataFrame:
    """Successions between practices from the store (ODS successor file), dated (see module notes)."""
    links = store.df(
        """
        SELECT entity_code, any_value(period) AS period,
               arg_max(value, ingest_id) FILTER (WHERE attribute = 'predecessor') AS predecessor,
               arg_max(value, ingest_id) FILTER (WHERE attribute = 'successor') AS successor
        FROM reference_value WHERE entity_type = 'ods_succession' GROUP BY entity_code
        """
    )
    cols = ["predecessor", "successor", "effective_date", "source"]
    if links.empty:
        return pd.DataFrame(columns=cols)
    closed = store.df("SELECT practice_code AS predecessor, close_date FROM practice WHERE close_date IS NOT NULL")
    links = links.merge(closed, on="predecessor", how="left")
    dated = pd.to_datetime(links["period"], errors="coerce")
    fallback = pd.to_datetime(links["close_date"]) + timedelta(days=1)
    links["effective_date"] = dated.where(dated.notna(), fallback)
    links["source"] = [str(EventSource.SUCCESSION) if pd.notna(d) else str(EventSource.CLOSE_DATE) for d in dated]
    return links[cols].sort_values(["successor", "predecessor"], ignore_index=True)


def _group_info(groups: pd.DataFrame | None) -> pd.DataFrame:
    if groups is None or groups.empty:
        return pd.DataFrame(columns=["group_id", "group_kind", "group_name"])
    g = groups.drop_duplicates("group_id")
    return pd.DataFrame({"group_id": g["group_id"], "group_kind": g["kind"], "group_name": g.get("name")})


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out = out.copy()
    out["event_date"] = pd.to_datetime(out["event_date"])
    out["event_fy"] = [fy_of(d.date()) for d in out["event_date"]]
    out["first_of_kind"] = True
    return out[EVENT_COLUMNS]
