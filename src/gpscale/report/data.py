"""Results tables, indicator definitions and store facts, loaded once for reports and the dashboard.

Everything shown by :mod:`gpscale.report` and :mod:`gpscale.web` comes through :class:`ResultsData`:

* the results folder written by ``gpscale evaluate`` (tables read by name, Parquet first then CSV; a
  table that is absent is reported as "not computed" by the pages, never an error);
* the indicator library (titles, units, polarity, value type, data breaks);
* optionally the store, for names, practice details and membership spells (read once, then closed);
* disclosure control, applied once on load (:mod:`gpscale.disclosure`): practice counts below the
  threshold are hidden together with whatever cells could reveal them by subtraction from a group's,
  England's or a financial year's total, and group rows whose pooled count is below the threshold; the
  same cells are hidden on every page, chart, tooltip and download.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from gpscale.disclosure import (
    COUNT_THRESHOLD,
    SURVEY_MIN_RESPONDENTS,
    count_rule,
    protect_pooled_counts,
    survey_rule,
)

#: Tables the pages read, by name, as ``gpscale evaluate --out`` writes them (see gpscale.evaluate.run).
#: Any of them may be absent (an older or partial evaluation): the pages then say "not computed".
KNOWN_TABLES = (
    "scorecard",
    "practice_values",
    "summary",
    "trends",
    "funnels",
    "dispersion",
    "convergence",
    "profiles",
    "characteristics",
    "size_effect",
    "size_curve",
    "size_bands",
    "groups",
)
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ENGLAND_ID = "E92000001"
#: Indicator-periods of practice values kept in memory as data frames (each about 7,000 rows).
PERIOD_CACHE_SIZE = 96

#: Value types whose numerator counts events or people: small numerators are suppressed.
COUNT_VALUE_TYPES = frozenset({"proportion", "rate", "standardised_ratio"})
#: Value types from surveys: values resting on fewer than SURVEY_MIN_RESPONDENTS respondents are hidden.
SURVEY_VALUE_TYPES = frozenset({"weighted_proportion"})


def _enum(v: Any) -> str:
    return str(getattr(v, "value", v))


@dataclass(frozen=True)
class Indicator:
    """What the pages need to know about one indicator (from its definition)."""

    id: str
    title: str
    unit: str
    domain: str
    polarity: str
    value_type: str
    multiplier: float
    description: str = ""
    why_it_matters: str = ""
    period_types: tuple[str, ...] = ("fy",)
    breaks: tuple[str, ...] = ()
    version: int = 1

    @property
    def is_monthly(self) -> bool:
        return "month" in self.period_types

    @property
    def funnel_statistic(self) -> str:
        return {"rate": "rate", "standardised_ratio": "ratio"}.get(self.value_type, "proportion")

    @property
    def polarity_text(self) -> str:
        return {"high_is_good": "higher is better", "low_is_good": "lower is better"}.get(
            self.polarity, "no judgement (neither higher nor lower is better)"
        )

    @staticmethod
    def from_definition(d: Any) -> Indicator:
        return Indicator(
            id=d.id,
            title=d.title,
            unit=d.unit,
            domain=d.domain,
            polarity=_enum(d.polarity),
            value_type=_enum(d.value_type),
            multiplier=float(d.multiplier),
            description=" ".join(str(d.description).split()),
            why_it_matters=" ".join(str(d.why_it_matters).split()),
            period_types=tuple(d.period_types),
            breaks=tuple(d.data_breaks),
            version=int(d.version),
        )

    @staticmethod
    def unknown(indicator_id: str) -> Indicator:
        return Indicator(indicator_id, indicator_id, "", "other", "no_judgement", "proportion", 1.0)


def read_table(folder: Path, name: str) -> pd.DataFrame | None:
    """A results table by name (``name.parquet`` or ``name.csv``), or None when it was not computed."""
    if not TABLE_NAME.match(name):
        raise ValueError(f"not a table name: {name!r}")
    for suffix in ("parquet", "csv"):
        path = folder / f"{name}.{suffix}"
        if path.is_file():
            return pd.read_parquet(path) if suffix == "parquet" else pd.read_csv(path, low_memory=False)
    return None


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns of large tables as categories: far less memory, and row selection many times faster."""
    if len(frame) < 10_000:
        return frame
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) or out[c].dtype == object:
            out[c] = out[c].astype("category")
    return out


def _sql_list(values: frozenset[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


@dataclass
class SurveyTables:
    """One survey's published (already suppressed) tables, found in the results folder."""

    survey_id: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class ResultsData:
    """The results folder (and optionally the store), loaded and suppressed once, safe to share across threads."""

    def __init__(
        self,
        results: Path,
        store: Path | None = None,
        definitions_dir: Path | None = None,
        threshold: int = COUNT_THRESHOLD,
        load_practice_values: bool = True,
    ) -> None:
        self.folder = Path(results)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no results folder at {self.folder}; run gpscale evaluate --out first")
        self.threshold = threshold
        card = read_table(self.folder, "scorecard")
        if card is None:
            raise FileNotFoundError(f"{self.folder} has no scorecard table; run gpscale evaluate --out {self.folder}")
        self.tables: dict[str, pd.DataFrame] = {}
        for name in KNOWN_TABLES[2:]:
            t = read_table(self.folder, name)
            if t is not None:
                self.tables[name] = _compact(t)
        self.indicators = self._load_indicators(card, definitions_dir)
        self.data_version = str(card["data_version"].iloc[0]) if len(card) else ""
        views = card.loc[card["entity_type"] == "group", "membership_view"].dropna().unique().tolist()
        self.view = str(views[0]) if views else "as-was"
        self.groups, self.practices, self.spells = self._load_store(store, card)
        self.members = self._members(card)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._period_cache: OrderedDict[tuple[str, str], pd.DataFrame] = OrderedDict()
        self.pv_con: duckdb.DuckDBPyConnection | None = None
        self.pv_hidden = 0
        self.pv_complementary = 0
        hidden_groups: set[tuple[str, str, str]] = set()
        if load_practice_values:
            hidden_groups = self._load_practice_values()
        self.card = self._suppress_card(card, hidden_groups)
        self.by_entity: dict[str, pd.DataFrame] = {
            str(k): v for k, v in self.card.groupby("entity_id", sort=False, observed=True)
        }
        self.england = self.by_entity.get(ENGLAND_ID, self.card.iloc[0:0])
        self.surveys = self._find_surveys()

    # ------------------------------------------------------------------ loading

    @staticmethod
    def _load_indicators(card: pd.DataFrame, definitions_dir: Path | None) -> dict[str, Indicator]:
        from gpscale.indicators.library import load_definitions

        try:
            defs = load_definitions(definitions_dir)
        except Exception:  # a broken user definitions folder must not take the dashboard down
            defs = {}
        present = set(card["indicator_id"].unique())
        out = {i: Indicator.from_definition(d) for i, d in defs.items() if i in present}
        for i in sorted(present - set(out)):
            out[i] = Indicator.unknown(i)
        return out

    def _load_store(
        self, store: Path | None, card: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        group_cols = ["group_id", "name", "kind", "legal_form", "founded", "parent"]
        spell_cols = ["group_id", "practice_code", "start_date", "end_date"]
        groups = pd.DataFrame(columns=group_cols)
        practices = pd.DataFrame(columns=["practice_code", "name"])
        spells = pd.DataFrame(columns=spell_cols)
        if store is not None:
            from gpscale.store import open_store

            with open_store(store, read_only=True) as st:
                groups = st.df("SELECT group_id, name, kind, legal_form, founded, parent FROM practice_group")
                practices = st.df("SELECT * FROM practice")
                spells = self._spells(st)
        for name in ("groups", "profiles"):
            table = self.tables.get(name)
            if groups.empty and table is not None and {"group_id", "name"} <= set(table.columns):
                keep = [c for c in group_cols if c in table.columns]
                groups = table[keep].drop_duplicates("group_id")
        ids = card.loc[card["entity_type"] == "group", "entity_id"].unique()
        missing = sorted(set(map(str, ids)) - set(groups["group_id"].astype(str)))
        if missing:
            groups = pd.concat([groups, pd.DataFrame({"group_id": missing, "name": missing, "kind": "group"})])
        groups = groups.assign(group_id=groups["group_id"].astype(str), name=groups["name"].fillna(groups["group_id"]))
        groups = groups.sort_values(["name", "group_id"]).reset_index(drop=True)
        practices = practices.assign(practice_code=practices["practice_code"].astype(str))
        return groups, practices.sort_values("practice_code").reset_index(drop=True), spells

    @staticmethod
    def _spells(st: Any) -> pd.DataFrame:
        from gpscale.groups.membership import recorded_spells, spells

        try:
            out = spells(st)
        except Exception:  # the published-PCN inference is optional; the recorded spells always exist
            out = recorded_spells(st)
        return out[["group_id", "practice_code", "start_date", "end_date"]].reset_index(drop=True)

    def _members(self, card: pd.DataFrame) -> pd.DataFrame:
        """(group_id, practice_code, period) under the results' membership view, for every period."""
        cols = ["group_id", "practice_code", "period"]
        if self.spells.empty:
            return pd.DataFrame(columns=cols)
        from gpscale.groups.membership import MembershipView, members_by_period

        try:
            view = MembershipView.parse(self.view)
        except ValueError:
            view = MembershipView.parse("as-was")
        periods = sorted(card["period"].astype(str).unique().tolist())
        return members_by_period(self.spells, periods, view)[cols].reset_index(drop=True)

    def _load_practice_values(self) -> set[tuple[str, str, str]]:
        """Load practice values into an in-memory DuckDB table, hiding small counts and their revealers.

        Equations (see :func:`gpscale.disclosure.protect_pooled_counts`): each group's pooled count per
        indicator and period is the sum of its members' (membership view of the results), England's is
        the sum of every practice's, and a practice's financial year is the sum of its months. Returns the
        (group, indicator, period) totals that must be hidden as well.
        """
        path = self.folder / "practice_values.parquet"
        source = "read_parquet(?)"
        if not path.is_file():
            path = self.folder / "practice_values.csv"
            source = "read_csv_auto(?)"
            if not path.is_file():
                return set()
        con = duckdb.connect(":memory:")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        cols = set(con.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).df()["column_name"])
        eff = "effective_n" if "effective_n" in cols else "NULL::DOUBLE AS effective_n"
        vt = pd.DataFrame({"indicator_id": list(self.indicators),
                           "value_type": [i.value_type for i in self.indicators.values()]})
        con.register("vt_frame", vt)
        con.execute(
            f"""CREATE TABLE raw AS
            SELECT (row_number() OVER () - 1)::BIGINT AS rid, p.indicator_id, p.practice_code::VARCHAR AS practice_code,
                   p.period::VARCHAR AS period, p.period_type, p.numerator::DOUBLE AS numerator,
                   p.denominator::DOUBLE AS denominator, p.value::DOUBLE AS value, {eff},
                   coalesce(v.value_type IN ({_sql_list(COUNT_VALUE_TYPES)}), false)
                     AND p.numerator IS NOT NULL AND p.denominator > 0 AS counted,
                   coalesce(v.value_type IN ({_sql_list(SURVEY_VALUE_TYPES)}), false) AS surveyed
            FROM {source} p LEFT JOIN vt_frame v USING (indicator_id)""",
            [str(path)],
        )
        con.unregister("vt_frame")
        n_rows = int(con.execute("SELECT count(*) FROM raw").fetchone()[0])  # type: ignore[index]
        counts = np.zeros(n_rows)
        cnt = con.execute("SELECT rid, numerator FROM raw WHERE counted").fetchnumpy()
        counts[cnt["rid"]] = cnt["numerator"]
        parts_eq: list[np.ndarray] = []
        parts_row: list[np.ndarray] = []
        totals: list[np.ndarray] = []
        offset = 0
        n_group_eq = 0
        if not self.members.empty:
            con.register("members_frame", self.members)
            con.execute(
                """CREATE TABLE geq AS
                SELECT (dense_rank() OVER (ORDER BY m.group_id, r.indicator_id, r.period) - 1)::BIGINT AS eq,
                       r.rid, m.group_id, r.indicator_id, r.period
                FROM raw r JOIN members_frame m ON m.practice_code = r.practice_code AND m.period = r.period
                WHERE r.counted"""
            )
            con.unregister("members_frame")
            g = con.execute("SELECT eq, rid FROM geq").fetchnumpy()
            n_group_eq = int(g["eq"].max()) + 1 if len(g["eq"]) else 0
            parts_eq.append(g["eq"].astype(np.int64))
            parts_row.append(g["rid"].astype(np.int64))
            totals.append(np.full(n_group_eq, -1, dtype=np.int64))
            offset = n_group_eq
        e = con.execute(
            """SELECT (dense_rank() OVER (ORDER BY indicator_id, period) - 1)::BIGINT AS eq, rid
            FROM raw WHERE counted"""
        ).fetchnumpy()
        if len(e["eq"]):
            n_e = int(e["eq"].max()) + 1
            parts_eq.append(e["eq"].astype(np.int64) + offset)
            parts_row.append(e["rid"].astype(np.int64))
            totals.append(np.full(n_e, -1, dtype=np.int64))
            offset += n_e
        f = con.execute(
            """WITH m AS (
                SELECT rid, indicator_id, practice_code,
                       'FY' || (year - CASE WHEN month < 4 THEN 1 ELSE 0 END)::VARCHAR || '/'
                       || lpad(((year + CASE WHEN month < 4 THEN 0 ELSE 1 END) % 100)::VARCHAR, 2, '0') AS fy
                FROM (SELECT rid, indicator_id, practice_code, CAST(substr(period, 1, 4) AS INTEGER) AS year,
                             CAST(substr(period, 6, 2) AS INTEGER) AS month
                      FROM raw WHERE counted AND period_type = 'month'))
            SELECT f.rid AS total, m.rid AS part FROM m JOIN raw f
              ON f.indicator_id = m.indicator_id AND f.practice_code = m.practice_code AND f.period = m.fy
              AND f.counted ORDER BY f.rid"""
        ).fetchnumpy()
        if len(f["part"]):
            uniq, codes = np.unique(f["total"].astype(np.int64), return_inverse=True)
            parts_eq.append(codes.astype(np.int64) + offset)
            parts_row.append(f["part"].astype(np.int64))
            totals.append(uniq)
            offset += len(uniq)
        hidden = np.zeros(n_rows, dtype=bool)
        reason = np.full(n_rows, "", dtype=object)
        hidden_groups: set[tuple[str, str, str]] = set()
        if parts_eq:
            hidden, reason_arr, total_hidden = protect_pooled_counts(
                counts, np.concatenate(parts_eq), np.concatenate(parts_row), np.concatenate(totals), self.threshold
            )
            reason = reason_arr.astype(object)
            flagged = np.flatnonzero(total_hidden[:n_group_eq])
            if flagged.size:
                con.register("flag_frame", pd.DataFrame({"eq": flagged.astype(np.int64)}))
                rows = con.execute(
                    "SELECT DISTINCT group_id, indicator_id, period FROM geq JOIN flag_frame USING (eq)"
                ).fetchall()
                hidden_groups = {(str(a), str(b), str(c)) for a, b, c in rows}
                con.unregister("flag_frame")
        surveyed = con.execute(
            f"SELECT rid FROM raw WHERE surveyed AND coalesce(effective_n, denominator) < {SURVEY_MIN_RESPONDENTS}"
        ).fetchnumpy()["rid"]
        hidden[surveyed] = True
        reason[surveyed] = "survey"
        mask = np.flatnonzero(hidden)
        con.register(
            "hide_frame",
            pd.DataFrame({"rid": mask.astype(np.int64), "why": reason[mask].astype(str)}),
        )
        con.execute(
            """CREATE TABLE pv AS
            SELECT r.indicator_id, r.practice_code, r.period, r.period_type,
                   CASE WHEN h.rid IS NULL THEN r.numerator END AS numerator,
                   CASE WHEN h.rid IS NULL THEN r.denominator END AS denominator,
                   CASE WHEN h.rid IS NULL THEN r.value END AS value,
                   CASE WHEN h.rid IS NULL THEN r.effective_n END AS effective_n,
                   h.rid IS NOT NULL AS suppressed, coalesce(h.why, '') AS suppression
            FROM raw r LEFT JOIN hide_frame h USING (rid)
            ORDER BY r.indicator_id, r.period, r.practice_code"""
        )
        con.unregister("hide_frame")
        con.execute("DROP TABLE raw")
        con.execute("DROP TABLE IF EXISTS geq")
        con.execute("CREATE INDEX pv_practice ON pv (practice_code)")
        # requests look up a few thousand rows each: one thread per query keeps concurrent requests from
        # fighting over the cores (loading above used them all)
        con.execute("SET threads = 1")
        self.pv_con = con
        self.pv_hidden = int(hidden.sum())
        self.pv_complementary = int((reason == "complementary").sum())
        return hidden_groups

    def _suppress_card(self, card: pd.DataFrame, hidden_groups: set[tuple[str, str, str]]) -> pd.DataFrame:
        vt = card["indicator_id"].map({k: v.value_type for k, v in self.indicators.items()}).fillna("")
        num = card["numerator"].to_numpy(float)
        small = vt.isin(COUNT_VALUE_TYPES).to_numpy() & (num > 0) & (num < self.threshold)
        if hidden_groups:
            key = list(zip(card["entity_id"].astype(str), card["indicator_id"].astype(str), card["period"].astype(str),
                           strict=True))
            small |= np.array([k in hidden_groups for k in key], dtype=bool)
        out = card.copy()
        for col in ("numerator", "denominator", "value", "lower", "upper"):
            out[col] = out[col].astype(float).mask(small)
        out["comparison"] = out["comparison"].mask(small, "suppressed")
        out["suppressed"] = small
        for col in ("entity_type", "indicator_id", "period_type", "method", "membership_view", "comparator",
                    "comparison", "comparison_method", "data_version"):
            out[col] = out[col].astype("category")
        out["entity_id"] = out["entity_id"].astype(str).astype(object)
        out["period"] = out["period"].astype(str).astype(object)
        return out

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor for this thread on the practice values (DuckDB cursors are not shared)."""
        if self.pv_con is None:
            raise LookupError("practice values were not loaded")
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self.pv_con.cursor()
            self._local.cur = cur
        yield cur

    def _find_surveys(self) -> list[SurveyTables]:
        found: dict[str, SurveyTables] = {}
        roots = [self.folder, self.folder / "surveys", self.folder.parent / "surveys"]
        folders = [f for r in roots if r.is_dir() for f in (r, *sorted(p for p in r.iterdir() if p.is_dir()))]
        for folder in folders:
            for marker in sorted(folder.glob("*_suppression.parquet")) + sorted(folder.glob("*_suppression.csv")):
                sid = marker.name.rsplit("_suppression.", 1)[0]
                if sid in found or not TABLE_NAME.match(sid):
                    continue
                st = SurveyTables(sid)
                for path in sorted(folder.glob(f"{sid}_*.parquet")) or sorted(folder.glob(f"{sid}_*.csv")):
                    name = path.stem[len(sid) + 1:]
                    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
                    st.tables[name] = _recheck_survey(frame)
                found[sid] = st
        return list(found.values())

    # ------------------------------------------------------------------ lookups

    @property
    def count_rule(self) -> str:
        return count_rule(self.threshold)

    @property
    def survey_rule(self) -> str:
        return survey_rule()

    def group_name(self, group_id: str) -> str:
        return self.group_names.get(group_id, group_id)

    @cached_property
    def group_names(self) -> dict[str, str]:
        return dict(zip(self.groups["group_id"], self.groups["name"].astype(str), strict=True))

    @cached_property
    def named_groups(self) -> list[dict[str, Any]]:
        """Groups other than PCNs (registry groups: federations, super-partnerships...)."""
        g = self.groups[self.groups["kind"].astype(str) != "pcn"]
        return [{"group_id": r["group_id"], "name": str(r["name"]), "kind": str(r["kind"])}
                for r in g.to_dict("records")]

    @cached_property
    def practice_names(self) -> dict[str, str]:
        if self.practices.empty:
            return {}
        return dict(zip(self.practices["practice_code"], self.practices["name"].astype(str), strict=True))

    @cached_property
    def group_ids(self) -> frozenset[str]:
        return frozenset(self.groups["group_id"])

    @cached_property
    def practice_codes(self) -> frozenset[str]:
        codes = set(self.practices["practice_code"]) if not self.practices.empty else set()
        return frozenset(codes)

    @cached_property
    def fy_periods(self) -> dict[str, list[str]]:
        """Financial-year periods with data, per indicator, in order."""
        e = self.england
        fy = e[e["period_type"] == "fy"]
        return {str(k): sorted(v["period"].unique().tolist()) for k, v in fy.groupby("indicator_id", observed=True)}

    @cached_property
    def periods(self) -> dict[str, list[str]]:
        """Every period with data, per indicator (financial years first, then months)."""
        e = self.england
        out: dict[str, list[str]] = {}
        for k, v in e.groupby("indicator_id", observed=True):
            fy = sorted(v.loc[v["period_type"] == "fy", "period"].unique().tolist())
            mo = sorted(v.loc[v["period_type"] == "month", "period"].unique().tolist())
            out[str(k)] = fy + mo
        return out

    @cached_property
    def england_index(self) -> dict[tuple[str, str, float], dict[str, Any]]:
        """England's rows by (indicator, period, confidence)."""
        e = self.england
        cols = list(e.columns)
        return {
            (str(r[cols.index("indicator_id")]), str(r[cols.index("period")]), float(r[cols.index("confidence")])):
                dict(zip(cols, r, strict=True))
            for r in e.itertuples(index=False, name=None)
        }

    @cached_property
    def _group_positions(self) -> dict[tuple[str, str, float], np.ndarray]:
        is_group = (self.card["entity_type"] == "group").to_numpy()
        where = np.flatnonzero(is_group)
        sub = self.card.iloc[where]
        groups = sub.groupby(["indicator_id", "period", "confidence"], observed=True, sort=False).indices
        return {(str(i), str(p), float(c)): where[idx] for (i, p, c), idx in groups.items()}

    @cached_property
    def _funnel_positions(self) -> dict[tuple[str, str, str], np.ndarray]:
        f = self.tables.get("funnels")
        if f is None or f.empty or not {"group_id", "indicator_id", "period"} <= set(f.columns):
            return {}
        idx = f.groupby(["group_id", "indicator_id", "period"], sort=False).indices
        return {(str(g), str(i), str(p)): v for (g, i, p), v in idx.items()}

    def engine_funnel(self, group_id: str, indicator_id: str, period: str) -> pd.DataFrame | None:
        """The evaluation engine's member-funnel rows for one group, indicator and year (unsuppressed), if any."""
        pos = self._funnel_positions.get((group_id, indicator_id, period))
        if pos is None:
            return None
        return self.tables["funnels"].iloc[pos]

    def groups_at(self, indicator_id: str, period: str, conf: float) -> pd.DataFrame:
        """Every group's scorecard row for one indicator, period and confidence level."""
        pos = self._group_positions.get((indicator_id, period, conf))
        return self.card.iloc[pos] if pos is not None else self.card.iloc[0:0]

    def england_value(self, indicator_id: str, period: str | None, conf: float = 0.95) -> float | None:
        row = self.england_index.get((indicator_id, str(period), conf))
        v = None if row is None else row.get("value")
        return None if v is None or not np.isfinite(v) else float(v)

    def latest_fy(self, indicator_id: str) -> str | None:
        p = self.fy_periods.get(indicator_id) or []
        return p[-1] if p else None

    def group_rows(self, group_id: str) -> pd.DataFrame:
        return self.by_entity.get(group_id, self.card.iloc[0:0])

    def members_at(self, group_id: str, period: str) -> list[str]:
        m = self.members_by_group.get(group_id)
        if m is None:
            return []
        return sorted(m.loc[m["period"] == period, "practice_code"].unique().tolist())

    @cached_property
    def members_by_group(self) -> dict[str, pd.DataFrame]:
        return {str(k): v for k, v in self.members.groupby("group_id", sort=False)}

    @cached_property
    def spells_by_group(self) -> dict[str, pd.DataFrame]:
        return {str(k): v for k, v in self.spells.groupby("group_id", sort=False)}

    @cached_property
    def members_table_by_group(self) -> dict[str, pd.DataFrame]:
        """Each group's membership spells with practice names and attributes, current members first."""
        m = self.spells.copy()
        m["name"] = m["practice_code"].map(self.practice_names).fillna("")
        m["current"] = m["end_date"].isna()
        if not self.practices.empty:
            cols = [c for c in ("practice_code", "postcode", "commissioner", "icb", "contract_type", "rurality",
                                "status") if c in self.practices.columns]
            m = m.merge(self.practices[cols], on="practice_code", how="left")
        for c in ("start_date", "end_date"):
            m[c] = pd.to_datetime(m[c]).dt.strftime("%Y-%m-%d").fillna("")
        m = m.sort_values(["group_id", "current", "name"], ascending=[True, False, True])
        groups = m.groupby("group_id", sort=False)
        return {str(k): v.drop(columns=["group_id"]).reset_index(drop=True) for k, v in groups}

    @cached_property
    def spells_by_practice(self) -> dict[str, pd.DataFrame]:
        return {str(k): v for k, v in self.spells.groupby("practice_code", sort=False)}

    def period_frame(self, indicator_id: str, period: str) -> pd.DataFrame:
        """Every practice's (suppressed) row for one indicator and period, indexed by practice code (LRU-cached)."""
        key = (indicator_id, period)
        with self._lock:
            hit = self._period_cache.get(key)
            if hit is not None:
                self._period_cache.move_to_end(key)
                return hit
        with self.cursor() as cur:
            df = cur.execute("SELECT * FROM pv WHERE indicator_id = ? AND period = ?", [indicator_id, period]).df()
        df.index = pd.Index(df["practice_code"].to_numpy(), name=None)
        with self._lock:
            self._period_cache[key] = df
            while len(self._period_cache) > PERIOD_CACHE_SIZE:
                self._period_cache.popitem(last=False)
        return df

    def practice_values(self, indicator_id: str, period: str, codes: list[str] | None = None) -> pd.DataFrame:
        """Practice rows (suppressed) for one indicator and period, optionally only ``codes``."""
        df = self.period_frame(indicator_id, period)
        if codes is not None:
            df = df[df.index.isin(codes)]
        return df.reset_index(drop=True)

    def practice_rows(self, code: str) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute("SELECT * FROM pv WHERE practice_code = ?", [code]).df()

    def table(self, name: str) -> pd.DataFrame | None:
        """An evaluation table other than the scorecard, or None when it was not computed."""
        return self.tables.get(name)

    def search(self, q: str, limit: int = 25) -> dict[str, list[dict[str, str]]]:
        """Groups and practices whose name or code contains ``q`` (case-insensitive, literal match)."""
        needle = q.strip().lower()
        if not needle:
            return {"groups": [], "practices": []}
        return {"groups": self._search_groups(needle, limit), "practices": self._search_practices(needle, limit)}

    @cached_property
    def _group_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self.groups
        return (g["group_id"].to_numpy(str), g["name"].astype(str).to_numpy(str),
                (g["group_id"] + " " + g["name"].astype(str)).str.lower().to_numpy(str))

    @cached_property
    def _practice_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.practices
        if p.empty:
            e = np.array([], dtype=str)
            return e, e, e
        names = p["name"].astype(str)
        return (p["practice_code"].to_numpy(str), names.to_numpy(str),
                (p["practice_code"] + " " + names + " " + p.get("postcode", "").astype(str)).str.lower().to_numpy(str))

    def _search_groups(self, needle: str, limit: int) -> list[dict[str, str]]:
        ids, names, keys = self._group_keys
        hit = np.flatnonzero(np.char.find(keys, needle) >= 0)
        exact = [i for i in hit if ids[i].lower() == needle]
        order = exact + [i for i in hit if i not in exact]
        return [{"id": str(ids[i]), "name": str(names[i])} for i in order[:limit]]

    def _search_practices(self, needle: str, limit: int) -> list[dict[str, str]]:
        codes, names, keys = self._practice_keys
        if not len(keys):
            return []
        hit = np.flatnonzero(np.char.find(keys, needle) >= 0)
        exact = [i for i in hit if codes[i].lower() == needle]
        order = exact + [i for i in hit if i not in exact]
        return [{"id": str(codes[i]), "name": str(names[i])} for i in order[:limit]]


def _recheck_survey(frame: pd.DataFrame) -> pd.DataFrame:
    """Survey tables arrive suppressed; hide any row whose base ``n`` is still under the survey threshold."""
    if "n" not in frame.columns:
        return frame
    n = pd.to_numeric(frame["n"], errors="coerce")
    small = (n > 0) & (n < SURVEY_MIN_RESPONDENTS)
    if not small.any():
        return frame
    out = frame.copy()
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and c != "suppressed"]
    for c in numeric:
        out[c] = out[c].astype(float).mask(small)
    out["suppressed"] = out.get("suppressed", False) | small
    return out


def definitions_summary(indicators: Mapping[str, Indicator]) -> list[dict[str, Any]]:
    return [
        {"id": i.id, "title": i.title, "domain": i.domain, "unit": i.unit, "polarity": i.polarity,
         "value_type": i.value_type, "period_types": list(i.period_types)}
        for i in indicators.values()
    ]
