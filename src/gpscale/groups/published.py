"""PCN membership from published data: the ePCN workbook first, the PCN columns of other files where it is silent.

Where PCN membership comes from, in order of authority:

1. **ePCN core partners** (ODS ``ePCN.xlsx``; loaded into ``membership`` by :mod:`gpscale.sources.ods`):
   dated relationships with join and leave dates.
2. **PCN columns of other publications**, loaded into ``practice_attribute`` (attribute ``pcn_code``):
   QOF achievement and ``MAPPING_NHS_GEOGRAPHIES`` (per financial year), NHS Payments to General Practice
   (per financial year) and ``gp-reg-pat-prac-map`` (per extract month). Each row says "in this period the
   practice was in this PCN". These become spells (:func:`attribute_pcn_spells`) and are used only for
   the dates the ePCN workbooks do not cover for that practice (:func:`fill_from_attributes`).

Turning period observations into spells: observations of one practice are ordered by period start
(financial years and months together, by date); consecutive observations naming the same PCN are one
spell, from the first observation's first day to the last one's last day (a gap between two
observations of the same PCN is bridged: nothing says the practice left). When the PCN changes between
two observations, the earlier spell ends the day before the later observation's period starts. Where
several sources name different PCNs for the same period, the monthly extract wins over the yearly files
(it is dated more precisely), then the most recently ingested file.

Successive ePCN snapshots can disagree: before 2022 a snapshot listed only current relationships, so a
practice that moved appears open-ended in two PCNs across two snapshots. A practice belongs to one PCN at
a time (:func:`one_pcn_at_a_time`): an open or later-ending PCN spell is cut the day before the
practice's next PCN spell starts.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from gpscale.periods import PeriodType, parse_period
from gpscale.store.db import Store

SPELL_COLUMNS = ["group_id", "practice_code", "start_date", "end_date", "source"]
PCN_ATTRIBUTE = "pcn_code"
SOURCE_ATTRIBUTES = "published PCN columns"


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=SPELL_COLUMNS)


def pcn_observations(store: Store) -> pd.DataFrame:
    """(practice_code, pcn_code, period, period_type, start, end) rows from ``practice_attribute``.

    One row per practice and period: where sources disagree on a period, the most recently ingested file wins.
    """
    df = store.df(
        """
        SELECT practice_code, period, period_type, value AS pcn_code FROM (
            SELECT *, row_number() OVER (PARTITION BY practice_code, period ORDER BY ingest_id DESC) AS rn
            FROM practice_attribute WHERE attribute = ? AND value IS NOT NULL AND trim(value) <> '')
        WHERE rn = 1
        """,
        [PCN_ATTRIBUTE],
    )
    if df.empty:
        return pd.DataFrame(columns=["practice_code", "pcn_code", "period", "period_type", "start", "end"])
    df["pcn_code"] = df["pcn_code"].astype(str).str.strip().str.upper()
    bounds = {p: parse_period(p) for p in df["period"].unique()}
    df["start"] = [bounds[p].start for p in df["period"]]
    df["end"] = [bounds[p].end for p in df["period"]]
    return df


def spells_from_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """Runs of observations naming the same PCN, per practice, as spells (see the module notes)."""
    if obs.empty:
        return _empty()
    o = obs.copy()
    # a month observation is more precise than the financial year containing it: drop a year observation
    # that a month inside it contradicts
    months = o[o["period_type"] == str(PeriodType.MONTH)]
    if not months.empty:
        fy = o[o["period_type"] == str(PeriodType.FINANCIAL_YEAR)].reset_index()
        pairs = fy.merge(months[["practice_code", "pcn_code", "start"]], on="practice_code", suffixes=("", "_m"))
        inside = (pairs["start_m"] >= pairs["start"]) & (pairs["start_m"] <= pairs["end"])
        bad = pairs.loc[inside & (pairs["pcn_code_m"] != pairs["pcn_code"]), "index"].unique()
        o = o.drop(index=bad)
    o = o.sort_values(["practice_code", "start", "end"])
    rows: list[dict[str, object]] = []
    for code, g in o.groupby("practice_code", sort=False):
        current: dict[str, object] | None = None
        for r in g.itertuples(index=False):
            if current is not None and r.pcn_code == current["group_id"]:
                current["end_date"] = max(current["end_date"], r.end)
                continue
            if current is not None:
                current["end_date"] = r.start - timedelta(days=1)
                rows.append(current)
            current = {"group_id": r.pcn_code, "practice_code": code, "start_date": r.start, "end_date": r.end}
        if current is not None:
            rows.append(current)
    out = pd.DataFrame(rows)
    out["source"] = SOURCE_ATTRIBUTES
    return out[SPELL_COLUMNS]


def one_pcn_at_a_time(spells: pd.DataFrame, pcn_ids: set[str]) -> pd.DataFrame:
    """Cut each PCN spell the day before the same practice's next PCN spell starts."""
    if spells.empty:
        return spells
    is_pcn = spells["group_id"].isin(pcn_ids)
    pcn = spells[is_pcn].copy()
    if pcn.empty:
        return spells
    pcn["_s"] = pd.to_datetime(pcn["start_date"])
    pcn = pcn.sort_values(["practice_code", "_s", "group_id"])
    nxt = pcn.groupby("practice_code")["_s"].shift(-1)
    nxt_group = pcn.groupby("practice_code")["group_id"].shift(-1)
    end = pd.to_datetime(pcn["end_date"])
    cut = nxt.notna() & (nxt_group != pcn["group_id"]) & (end.isna() | (end >= nxt))
    new_end = (nxt - pd.Timedelta(days=1)).where(cut, end)
    pcn["end_date"] = [None if pd.isna(x) else x.date() for x in new_end]
    # a spell cut to before its own start (two PCNs starting the same day) is dropped
    keep = pcn["end_date"].isna() | (pd.to_datetime(pcn["end_date"]) >= pcn["_s"])
    pcn = pcn[keep].drop(columns="_s")
    return pd.concat([spells[~is_pcn], pcn], ignore_index=True)


def _subtract(spell_start: date, spell_end: date, covered: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Parts of [spell_start, spell_end] not inside any of the ``covered`` intervals (inclusive dates)."""
    parts = [(spell_start, spell_end)]
    for c_start, c_end in covered:
        nxt: list[tuple[date, date]] = []
        for s, e in parts:
            if c_end < s or c_start > e:
                nxt.append((s, e))
                continue
            if c_start > s:
                nxt.append((s, c_start - timedelta(days=1)))
            if c_end < e:
                nxt.append((c_end + timedelta(days=1), e))
        parts = nxt
    return parts


def fill_from_attributes(membership: pd.DataFrame, derived: pd.DataFrame, pcn_ids: set[str]) -> pd.DataFrame:
    """Derived PCN spells for the dates a practice has no PCN spell in ``membership``."""
    if derived.empty:
        return _empty()
    m = membership[membership["group_id"].isin(pcn_ids)]
    far = date(9999, 12, 31)
    covered: dict[str, list[tuple[date, date]]] = {}
    for r in m.itertuples(index=False):
        s = _as_date(r.start_date) or date(1900, 1, 1)
        e = _as_date(r.end_date) or far
        covered.setdefault(str(r.practice_code), []).append((s, e))
    rows = []
    for r in derived.itertuples(index=False):
        d_start, d_end = _as_date(r.start_date), _as_date(r.end_date)
        assert d_start is not None and d_end is not None
        for a, b in _subtract(d_start, d_end, covered.get(str(r.practice_code), [])):
            rows.append({"group_id": r.group_id, "practice_code": r.practice_code, "start_date": a, "end_date": b,
                         "source": SOURCE_ATTRIBUTES})
    return pd.DataFrame(rows, columns=SPELL_COLUMNS)


def _as_date(x: object) -> date | None:
    if x is None or (not isinstance(x, date) and pd.isna(x)):
        return None
    if isinstance(x, pd.Timestamp):
        return x.date()
    if isinstance(x, date):
        return x
    return pd.Timestamp(str(x)).date()


def published_pcn_groups(store: Store) -> pd.DataFrame:
    """PCNs named in the published PCN columns (code and latest name), kind ``pcn``."""
    return store.df(
        """
        SELECT upper(trim(c.value)) AS group_id,
               arg_max(n.value, c.ingest_id) AS name
        FROM practice_attribute c
        LEFT JOIN practice_attribute n
          ON n.attribute = 'pcn_name' AND n.practice_code = c.practice_code AND n.period = c.period
             AND n.ingest_id = c.ingest_id
        WHERE c.attribute = ? AND c.value IS NOT NULL AND trim(c.value) <> ''
        GROUP BY 1
        """,
        [PCN_ATTRIBUTE],
    )
