"""Membership views: which practices count towards a group in each period.

Three views, and every result names the one it used:

* ``as-was``: a practice counts towards a group for a period if it was a member on the period's
  reference date (the middle of the period: 1 October of a financial year, the 15th of a month). A
  practice that moves mid-period therefore counts once, towards the group it belonged to mid-period.
* ``cohort:YYYY-MM-DD``: the members on that date count in every period (so history before joining
  and after leaving is included; merged and closed practices keep their earlier data).
* ``ever``: every practice that was ever a member counts in every period.

Membership spells come from the store's ``membership`` table (where several files publish the same
spell, as successive ePCN snapshots do, the most recently ingested version of each (group, practice,
start) is used) and, for PCNs, from the PCN columns of other publications where the ePCN workbooks are
silent (:mod:`gpscale.groups.published`: placeholders such as QOF's "U" are no group; adjacent spells of
one practice in one group from different sources are one spell; source conflicts are decided by a
documented rule and counted). A practice that merges into another or closes keeps its
spells up to its end date, so its history stays with the group under every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from gpscale.periods import PeriodType, parse_period
from gpscale.store.db import Store

if TYPE_CHECKING:
    from gpscale.groups.published import MembershipReport


@dataclass(frozen=True)
class MembershipView:
    """A parsed ``--view`` value."""

    kind: str  # as-was | cohort | ever
    cohort_date: date | None = None

    @property
    def label(self) -> str:
        return f"cohort:{self.cohort_date.isoformat()}" if self.cohort_date else self.kind

    @staticmethod
    def parse(text: str) -> MembershipView:
        if text in ("as-was", "ever"):
            return MembershipView(text)
        if text.startswith("cohort:"):
            try:
                return MembershipView("cohort", date.fromisoformat(text.split(":", 1)[1]))
            except ValueError as exc:
                raise ValueError(f"view {text!r}: the cohort date must be YYYY-MM-DD") from exc
        raise ValueError(f"view {text!r} is not as-was, cohort:YYYY-MM-DD or ever")


def reference_date(period: str) -> date:
    """The date membership is read on for a period (its middle)."""
    p = parse_period(period)
    if p.type is PeriodType.FINANCIAL_YEAR:
        return date(p.start.year, 10, 1)
    return date(p.start.year, p.start.month, 15)


def recorded_spells(store: Store) -> pd.DataFrame:
    """Spells in the store's ``membership`` table, one per (group, practice, start), latest ingest winning;
    ``source`` is the format of the file that published it (``ods_epcn``, ``group_registry``)."""
    return store.df(
        """
        SELECT group_id, practice_code, start_date, end_date, source FROM (
            SELECT m.*, l.format AS source, row_number() OVER (
                PARTITION BY m.group_id, m.practice_code, m.start_date ORDER BY m.ingest_id DESC) AS rn
            FROM membership m JOIN ingest_log l USING (ingest_id))
        WHERE rn = 1
        """
    )


def membership_report(store: Store) -> MembershipReport:
    """Every group's spells as :func:`spells` gives them, with the conflicts decided and spells merged."""
    from gpscale.groups import published as pub

    rec = _as_datetimes(recorded_spells(store))
    return pub.membership_report(store, rec, store.df("SELECT group_id, kind FROM practice_group"))


def spells(store: Store, published: bool = True) -> pd.DataFrame:
    """Membership spells for every group: the ``membership`` table plus PCN spells from published columns.

    With ``published`` (the default) PCN spells follow :mod:`gpscale.groups.published`: placeholders are no
    group, one PCN at a time per practice, the PCN columns of QOF, payments and registrations-map files fill
    the dates the ePCN workbooks leave uncovered, and adjacent or overlapping spells of the same group and
    practice are one spell. Columns: group_id, practice_code, start_date, end_date, source.
    """
    if not published:
        return _as_datetimes(recorded_spells(store))
    return _as_datetimes(membership_report(store).spells)


def _as_datetimes(df: pd.DataFrame) -> pd.DataFrame:
    """Spell dates as pandas datetimes (DuckDB gives timestamps, derived spells give dates)."""
    out = df.copy()
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(pd.Series([None if x is None or (not isinstance(x, str) and pd.isna(x)) else x
                                           for x in out[c]], dtype=object))
    return out.sort_values(["group_id", "practice_code", "start_date"], na_position="first").reset_index(drop=True)


def members_by_period(spell_df: pd.DataFrame, periods: list[str], view: MembershipView) -> pd.DataFrame:
    """(group_id, practice_code, period) rows under ``view`` for the given periods."""
    cols = ["group_id", "practice_code", "period"]
    if spell_df.empty or not periods:
        return pd.DataFrame(columns=cols)
    s = spell_df.copy()
    s["start_date"] = pd.to_datetime(s["start_date"])
    s["end_date"] = pd.to_datetime(s["end_date"])
    per = pd.DataFrame({"period": periods})
    if view.kind == "ever":
        pairs = s[["group_id", "practice_code"]].drop_duplicates()
        return pairs.merge(per, how="cross")[cols]
    if view.kind == "cohort":
        ref = pd.Timestamp(view.cohort_date)
        live = s[(s["start_date"].isna() | (s["start_date"] <= ref)) & (s["end_date"].isna() | (s["end_date"] >= ref))]
        pairs = live[["group_id", "practice_code"]].drop_duplicates()
        return pairs.merge(per, how="cross")[cols]
    per["ref"] = pd.to_datetime([reference_date(p) for p in periods])
    joined = s.merge(per, how="cross")
    live = joined[
        (joined["start_date"].isna() | (joined["start_date"] <= joined["ref"]))
        & (joined["end_date"].isna() | (joined["end_date"] >= joined["ref"]))
    ]
    return live[cols].drop_duplicates().reset_index(drop=True)
