"""PCN membership from published data: the ePCN workbook first, the PCN columns of other files where it is silent.

Where PCN membership comes from, in order of authority (the rule that decides when sources disagree):

1. **ePCN core partners** (ODS ``ePCN.xlsx``; loaded into ``membership`` by :mod:`gpscale.sources.ods`):
   dated relationships with join and leave dates. Where they cover a date, they decide.
2. **PCN columns of other publications**, loaded into ``practice_attribute`` (attribute ``pcn_code``):
   ``gp-reg-pat-prac-map`` (per extract month), QOF's ``MAPPING_NHS_GEOGRAPHIES`` and achievement tables,
   and NHS Payments to General Practice (per financial year). Each row says "in this period the practice
   was in this PCN". These become spells (:func:`spells_from_observations`) used only for the dates the
   ePCN workbooks do not cover for that practice (:func:`fill_from_attributes`).

**Placeholders are not groups** (:mod:`gpscale.domain.groups`): QOF's ``U`` "Unallocated", the map's ``U``,
Payments' "Unknown or no PCN" say the practice was in no PCN in that period. Such an observation ends the
practice's previous spell and starts none.

Disagreements, each counted (:func:`membership_report`, shown after ``gpscale ingest``):

* **same period, several published files** (``same-period``): a real PCN code beats a placeholder (the
  placeholder says the publisher did not know); between two PCN codes the more precisely dated source wins
  (the monthly registrations map, then QOF's year-end mapping and achievement table, then Payments), then
  the most recently ingested file;
* **a month contradicting its financial year** (``month-over-year``): the month wins (it is dated more
  precisely): the year observation is dropped;
* **published columns against the ePCN** (``epcn-over-published``): on the reference date of a period (its
  middle, as the as-was view reads membership) the ePCN says one PCN and a published column another (or
  none): the ePCN wins.

Turning period observations into spells: observations of one practice are ordered by period start
(financial years and months together, by date); consecutive observations naming the same PCN are one
spell, from the first observation's first day to the last one's last day (a gap between two observations
of the same PCN is bridged: nothing says the practice left). When the PCN changes between two
observations, the earlier spell ends the day before the later observation's period starts.

Successive ePCN snapshots can disagree: before 2022 a snapshot listed only current relationships, so a
practice that moved appears open-ended in two PCNs across two snapshots. A practice belongs to one PCN at
a time (:func:`one_pcn_at_a_time`): an open or later-ending PCN spell is cut the day before the
practice's next PCN spell starts.

Finally adjacent or overlapping spells of the same practice and group, from any sources, are one
continuous membership (:func:`coalesce`): one spell, its sources listed (``ods_epcn; qof_achievement``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from gpscale.domain.groups import is_pcn_code
from gpscale.periods import PeriodType, parse_period
from gpscale.store.db import Store

SPELL_COLUMNS = ["group_id", "practice_code", "start_date", "end_date", "source"]
PCN_ATTRIBUTE = "pcn_code"
#: The source recorded for spells derived from published PCN columns whose files are not known.
SOURCE_ATTRIBUTES = "published PCN columns"
CONFLICT_COLUMNS = ["practice_code", "period", "rule", "kept", "overruled", "kept_source", "overruled_source"]
OBSERVATION_COLUMNS = ["practice_code", "pcn_code", "period", "period_type", "start", "end", "source"]

#: Which published source wins a same-period disagreement between two PCN codes (lower first).
SOURCE_PRIORITY = {"gp_reg_map": 0, "qof_geographies": 1, "qof_achievement": 1, "nhs_payments": 2}

#: Conflict rules (see the module notes).
SAME_PERIOD = "same-period"
MONTH_OVER_YEAR = "month-over-year"
EPCN_OVER_PUBLISHED = "epcn-over-published"


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=SPELL_COLUMNS)


def _no_conflicts() -> pd.DataFrame:
    return pd.DataFrame(columns=CONFLICT_COLUMNS)


@dataclass
class Observations:
    """One PCN observation per practice and period (``pcn_code`` None: a placeholder, no PCN), and the
    same-period disagreements resolved on the way."""

    rows: pd.DataFrame
    conflicts: pd.DataFrame = field(default_factory=_no_conflicts)
    placeholders: int = 0  # published rows naming a placeholder instead of a PCN


def read_observations(store: Store) -> Observations:
    """Every published PCN column value with its period, file format and name, one per practice and period."""
    raw = store.df(
        """
        SELECT c.practice_code, c.period, c.period_type, upper(trim(c.value)) AS pcn_code, n.value AS pcn_name,
               l.format AS source, c.ingest_id
        FROM practice_attribute c
        JOIN ingest_log l ON l.ingest_id = c.ingest_id
        LEFT JOIN practice_attribute n
          ON n.attribute = 'pcn_name' AND n.practice_code = c.practice_code AND n.period = c.period
             AND n.ingest_id = c.ingest_id
        WHERE c.attribute = ? AND c.value IS NOT NULL AND trim(c.value) <> ''
        """,
        [PCN_ATTRIBUTE],
    )
    return resolve_observations(raw)


def resolve_observations(raw: pd.DataFrame) -> Observations:
    """One observation per practice and period from raw published rows (columns practice_code, period,
    period_type, pcn_code, pcn_name, source, ingest_id): placeholders become None, disagreements are decided
    by the same-period rule and recorded."""
    if raw.empty:
        return Observations(pd.DataFrame(columns=OBSERVATION_COLUMNS))
    o = raw.copy()
    real = [is_pcn_code(c, n) for c, n in zip(o["pcn_code"], o["pcn_name"], strict=True)]
    o["pcn_code"] = o["pcn_code"].where(real, None)
    placeholders = int((~pd.Series(real, index=o.index)).sum())
    o["_real"] = [0 if r else 1 for r in real]
    o["_priority"] = o["source"].map(SOURCE_PRIORITY).fillna(len(SOURCE_PRIORITY)).astype(int)
    o = o.sort_values(["practice_code", "period", "_real", "_priority", "ingest_id"],
                      ascending=[True, True, True, True, False])
    first = o.drop_duplicates(["practice_code", "period"], keep="first")
    # a disagreement: another row of the same practice and period naming something else
    other = o.merge(first[["practice_code", "period", "pcn_code", "source"]], on=["practice_code", "period"],
                    suffixes=("", "_kept"))
    differ = other[other["pcn_code"].fillna("") != other["pcn_code_kept"].fillna("")]
    differ = differ.drop_duplicates(["practice_code", "period"])
    conflicts = pd.DataFrame({
        "practice_code": differ["practice_code"], "period": differ["period"], "rule": SAME_PERIOD,
        "kept": differ["pcn_code_kept"], "overruled": differ["pcn_code"],
        "kept_source": differ["source_kept"], "overruled_source": differ["source"],
    })[CONFLICT_COLUMNS]
    obs = first[["practice_code", "pcn_code", "period", "period_type", "source"]].copy()
    bounds = {p: parse_period(p) for p in obs["period"].unique()}
    obs["start"] = [bounds[p].start for p in obs["period"]]
    obs["end"] = [bounds[p].end for p in obs["period"]]
    return Observations(obs[OBSERVATION_COLUMNS].reset_index(drop=True), conflicts.reset_index(drop=True),
                        placeholders)


def pcn_observations(store: Store) -> pd.DataFrame:
    """(practice_code, pcn_code, period, period_type, start, end, source) rows: one per practice and period."""
    return read_observations(store).rows


def month_over_year(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the year observations a month inside them contradicts; return (kept, conflicts)."""
    months = obs[obs["period_type"] == str(PeriodType.MONTH)]
    if months.empty:
        return obs, _no_conflicts()
    fy = obs[obs["period_type"] == str(PeriodType.FINANCIAL_YEAR)].reset_index()
    pairs = fy.merge(months[["practice_code", "pcn_code", "start", "period", "source"]], on="practice_code",
                     suffixes=("", "_m"))
    inside = (pairs["start_m"] >= pairs["start"]) & (pairs["start_m"] <= pairs["end"])
    bad = pairs[inside & (pairs["pcn_code_m"].fillna("") != pairs["pcn_code"].fillna(""))]
    first = bad.drop_duplicates("index")
    conflicts = pd.DataFrame({
        "practice_code": first["practice_code"], "period": first["period"], "rule": MONTH_OVER_YEAR,
        "kept": first["pcn_code_m"], "overruled": first["pcn_code"], "kept_source": first["source_m"],
        "overruled_source": first["source"],
    })[CONFLICT_COLUMNS]
    return obs.drop(index=bad["index"].unique()), conflicts.reset_index(drop=True)


def spells_from_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """Runs of observations naming the same PCN, per practice, as spells (see the module notes).

    An observation without a PCN (a placeholder) ends the practice's current spell and starts none.
    """
    if obs.empty:
        return _empty()
    o, _conflicts = month_over_year(obs if "source" in obs else obs.assign(source=SOURCE_ATTRIBUTES))
    o = o.sort_values(["practice_code", "start", "end"])
    rows: list[dict[str, object]] = []
    for code, g in o.groupby("practice_code", sort=False):
        current: dict[str, object] | None = None
        for r in g.itertuples(index=False):
            pcn = r.pcn_code if isinstance(r.pcn_code, str) else None
            if current is not None and pcn == current["group_id"]:
                current["end_date"] = max(current["end_date"], r.end)
                current["_sources"].add(r.source)  # type: ignore[attr-defined]
                continue
            if current is not None:
                current["end_date"] = r.start - timedelta(days=1)
                rows.append(current)
                current = None
            if pcn is not None:
                current = {"group_id": pcn, "practice_code": code, "start_date": r.start, "end_date": r.end,
                           "_sources": {r.source}}
        if current is not None:
            rows.append(current)
    if not rows:
        return _empty()
    out = pd.DataFrame(rows)
    out["source"] = ["; ".join(sorted(str(s) for s in srcs)) for srcs in out.pop("_sources")]
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


_FAR = date(9999, 12, 31)


def _coverage(membership: pd.DataFrame, pcn_ids: set[str]) -> dict[str, list[tuple[date, date, str]]]:
    """Per practice, the (start, end, group) intervals of its PCN spells in ``membership``."""
    m = membership[membership["group_id"].isin(pcn_ids)]
    covered: dict[str, list[tuple[date, date, str]]] = {}
    for r in m.itertuples(index=False):
        s = _as_date(r.start_date) or date(1900, 1, 1)
        e = _as_date(r.end_date) or _FAR
        covered.setdefault(str(r.practice_code), []).append((s, e, str(r.group_id)))
    return covered


def fill_from_attributes(membership: pd.DataFrame, derived: pd.DataFrame, pcn_ids: set[str]) -> pd.DataFrame:
    """Derived PCN spells for the dates a practice has no PCN spell in ``membership``."""
    if derived.empty:
        return _empty()
    covered = _coverage(membership, pcn_ids)
    rows = []
    for r in derived.itertuples(index=False):
        d_start, d_end = _as_date(r.start_date), _as_date(r.end_date)
        assert d_start is not None and d_end is not None
        spans = [(s, e) for s, e, _g in covered.get(str(r.practice_code), [])]
        source = getattr(r, "source", SOURCE_ATTRIBUTES)
        for a, b in _subtract(d_start, d_end, spans):
            rows.append({"group_id": r.group_id, "practice_code": r.practice_code, "start_date": a, "end_date": b,
                         "source": source})
    return pd.DataFrame(rows, columns=SPELL_COLUMNS)


def epcn_conflicts(membership: pd.DataFrame, obs: pd.DataFrame, pcn_ids: set[str]) -> pd.DataFrame:
    """Published observations that the ePCN (``membership``) contradicts on the period's reference date."""
    from gpscale.groups.membership import reference_date

    covered = _coverage(membership, pcn_ids)
    rows = []
    for r in obs.itertuples(index=False):
        spans = covered.get(str(r.practice_code))
        if not spans:
            continue
        ref = reference_date(str(r.period))
        says = sorted({g for s, e, g in spans if s <= ref <= e})
        pcn = r.pcn_code if isinstance(r.pcn_code, str) else None
        if says and pcn not in says:
            rows.append({"practice_code": r.practice_code, "period": r.period, "rule": EPCN_OVER_PUBLISHED,
                         "kept": says[0], "overruled": pcn, "kept_source": "ods_epcn", "overruled_source": r.source})
    return pd.DataFrame(rows, columns=CONFLICT_COLUMNS)


def coalesce(spells: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Merge adjacent or overlapping spells of the same group and practice into one (sources joined).

    Returns the spells and how many were merged away. An open end (null) stays open.
    """
    if spells.empty:
        return spells, 0
    s = spells.copy()
    s["cstart"] = pd.to_datetime(s["start_date"])
    s["cend"] = pd.to_datetime(s["end_date"])
    s = s.sort_values(["group_id", "practice_code", "cstart"], na_position="first")
    out: list[dict[str, object]] = []
    merged = 0
    for (group, code), g in s.groupby(["group_id", "practice_code"], sort=False):
        cur: dict[str, object] | None = None
        for r in g.itertuples(index=False):
            start, end = r.cstart, r.cend
            sources = {p.strip() for p in str(r.source).split(";") if p.strip()}
            if cur is not None:
                cur_end = cur["cend"]
                touches = pd.isna(cur_end) or pd.isna(start) or start <= cur_end + pd.Timedelta(days=1)
                if touches:
                    merged += 1
                    if pd.isna(cur_end) or pd.isna(end):
                        cur["cend"] = pd.NaT
                    else:
                        cur["cend"] = max(cur_end, end)
                    cur["_sources"] |= sources  # type: ignore[operator]
                    continue
                out.append(cur)
            cur = {"group_id": group, "practice_code": code, "cstart": start, "cend": end, "_sources": sources}
        if cur is not None:
            out.append(cur)
    res = pd.DataFrame(out)
    res["start_date"] = [None if pd.isna(x) else x.date() for x in res.pop("cstart")]
    res["end_date"] = [None if pd.isna(x) else x.date() for x in res.pop("cend")]
    res["source"] = ["; ".join(sorted(x)) for x in res.pop("_sources")]
    return res[SPELL_COLUMNS], merged


def _as_date(x: object) -> date | None:
    if x is None or (not isinstance(x, date) and pd.isna(x)):
        return None
    if isinstance(x, pd.Timestamp):
        return x.date()
    if isinstance(x, date):
        return x
    return pd.Timestamp(str(x)).date()


@dataclass
class MembershipReport:
    """Membership as the evaluation reads it, and what deciding it took."""

    spells: pd.DataFrame
    conflicts: pd.DataFrame
    placeholders: int  # published PCN column values that are placeholders (no group)
    coalesced: int  # spells merged into an adjacent or overlapping spell of the same group and practice

    def summary(self) -> str:
        """One line for the ingest summary: spells, placeholders, merged spells, conflicts by rule."""
        by_rule = self.conflicts.groupby("rule")["practice_code"].size().to_dict() if len(self.conflicts) else {}
        rules = ", ".join(f"{n:,} {rule}" for rule, n in sorted(by_rule.items())) or "none"
        pcn = self.spells[self.spells["group_id"].map(is_pcn_code)] if len(self.spells) else self.spells
        return (
            f"PCN membership: {pcn['group_id'].nunique() if len(pcn) else 0:,} PCNs, {len(pcn):,} spells of "
            f"{pcn['practice_code'].nunique() if len(pcn) else 0:,} practices; {self.placeholders:,} placeholder "
            f"PCN values read as 'no PCN'; {self.coalesced:,} adjacent or overlapping spells merged; source "
            f"conflicts decided: {rules} (rules: docs/real-data.md#pcn-membership)"
        )


def membership_report(store: Store, recorded: pd.DataFrame, group_kinds: pd.DataFrame) -> MembershipReport:
    """PCN spells from the ePCN (``recorded``, the membership table) and published columns, decided and merged.

    ``group_kinds`` (group_id, kind) names the PCNs of the store's registries and ePCN workbooks.
    """
    pcn_ids = set(group_kinds.loc[group_kinds["kind"] == "pcn", "group_id"])
    observed = read_observations(store)
    obs, month_conflicts = month_over_year(observed.rows)
    derived_all = spells_from_observations(obs)
    pcn_ids |= set(derived_all["group_id"])
    rec = one_pcn_at_a_time(recorded, pcn_ids)
    conflicts = [c for c in (observed.conflicts, month_conflicts, epcn_conflicts(rec, obs, pcn_ids)) if len(c)]
    derived = fill_from_attributes(rec, derived_all, pcn_ids)
    both = pd.concat([rec, derived], ignore_index=True) if not derived.empty else rec
    merged, n = coalesce(both)
    return MembershipReport(
        merged,
        pd.concat(conflicts, ignore_index=True) if conflicts else _no_conflicts(),
        observed.placeholders,
        n,
    )


def published_pcn_groups(store: Store) -> pd.DataFrame:
    """PCNs named in the published PCN columns (code and latest name), kind ``pcn``; placeholders are not."""
    g = store.df(
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
    if g.empty:
        return g
    return g[[is_pcn_code(c, n) for c, n in zip(g["group_id"], g["name"], strict=True)]].reset_index(drop=True)
