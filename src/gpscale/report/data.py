"""What reports and the dashboard read: a disclosed results bundle, queried in place, and nothing else.

:class:`ResultsData` wraps a :class:`gpscale.bundle.Bundle` (the only input it accepts) and answers the
questions the pages ask: one group's scorecard rows, one indicator's group funnel, a practice's values.
Large tables are queried per request (DuckDB over the bundle's Parquet files); small ones (indicator
definitions, the group registry, practice names, England's rows, the spells as a practice page shows them) are
read once. Nothing here computes a statistic or decides what to hide: every number, and every hidden cell, is the
bundle's. A table the bundle does not have is ``None`` and the pages say "not computed".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gpscale.bundle import MANIFEST, Bundle, BundleError, open_bundle, require_bundle
from gpscale.domain.regions import ENGLAND_ID

_T = TypeVar("_T")
#: Groups whose scorecard rows are kept between the queries of one page (each a few thousand rows).
GROUP_ROWS_KEPT = 16


def side_bundles(results: Path, folder: str, kind: str) -> list[Bundle]:
    """Disclosed bundles of ``kind`` ("survey", "scheme") in ``folder/*`` inside or beside ``results``.

    One per ``<kind>_id`` (the first found, inside before beside); a folder that is not a bundle of that
    kind this version can show is skipped (its CSV files and reports are still on disk).
    """
    found: list[Bundle] = []
    for root in (results / folder, results.parent / folder):
        for manifest in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
            try:
                b = open_bundle(manifest.parent)
            except BundleError:
                continue
            key = b.manifest.get(f"{kind}_id")
            if b.manifest.get("kind") == kind and all(key != x.manifest.get(f"{kind}_id") for x in found):
                found.append(b)
    return found


@dataclass(frozen=True)
class Indicator:
    """What the pages need to know about one indicator (from the bundle's definitions table)."""

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
    def polarity_text(self) -> str:
        return {"high_is_good": "higher is better", "low_is_good": "lower is better"}.get(
            self.polarity, "no judgement (neither higher nor lower is better)"
        )

    @staticmethod
    def from_row(r: dict[str, Any]) -> Indicator:
        def split(v: Any) -> tuple[str, ...]:
            return tuple(x for x in str(v or "").split(",") if x)

        return Indicator(
            id=str(r["indicator_id"]), title=str(r["title"]), unit=str(r["unit"]), domain=str(r["domain"]),
            polarity=str(r["polarity"]), value_type=str(r["value_type"]), multiplier=float(r["multiplier"]),
            description=str(r.get("description") or ""), why_it_matters=str(r.get("why_it_matters") or ""),
            period_types=split(r.get("period_types")) or ("fy",), breaks=split(r.get("data_breaks")),
            version=int(r.get("version") or 1),
        )

    @staticmethod
    def unknown(indicator_id: str) -> Indicator:
        return Indicator(indicator_id, indicator_id, "", "other", "no_judgement", "proportion", 1.0)


class ResultsData:
    """A disclosed results bundle as the pages see it (safe to share across threads)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = require_bundle(bundle, "the reports and the dashboard")
        disclosure = bundle.disclosure
        self.threshold = int(disclosure.get("threshold", 5))
        rules = disclosure.get("rules", {})
        self.count_rule = str(rules.get("counts", ""))
        self.survey_rule = str(rules.get("surveys", ""))
        self.data_version = bundle.data_version
        self.view = bundle.view
        if not bundle.has("scorecard"):
            raise ValueError(f"{bundle.folder} has no scorecard table; run gpscale evaluate --out {bundle.folder}")
        england = bundle.table("scorecard", "entity_id = ?", [ENGLAND_ID], order="indicator_id, period, confidence")
        self.england: pd.DataFrame = england if england is not None else pd.DataFrame()
        self.indicators = self._indicators()
        self._rows: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()
        self._once: dict[str, Any] = {}

    # ------------------------------------------------------------------ small tables, read once

    def once(self, key: str, make: Callable[[], _T]) -> _T:
        """``make()``'s result, made once per bundle (for content every request shows alike, e.g. England's
        charts); the bundle never changes while it is open."""
        with self._lock:
            if key in self._once:
                return self._once[key]
        value = make()
        with self._lock:
            self._once.setdefault(key, value)
        return value

    def _indicators(self) -> dict[str, Indicator]:
        present = [str(i) for i in self.england["indicator_id"].unique()]
        defs = self.bundle.table("definitions")
        rows = {str(r["indicator_id"]): r for r in defs.to_dict("records")} if defs is not None else {}
        ordered = [i for i in rows if i in present] + sorted(set(present) - set(rows))
        return {i: Indicator.from_row(rows[i]) if i in rows else Indicator.unknown(i) for i in ordered}

    @cached_property
    def groups(self) -> pd.DataFrame:
        g = self.bundle.table("groups")
        cols = ["group_id", "name", "kind", "legal_form", "founded", "parent"]
        if g is None:
            g = pd.DataFrame(columns=cols)
        g = g.assign(group_id=g["group_id"].astype(str), name=g["name"].fillna(g["group_id"]).astype(str))
        return g.sort_values(["name", "group_id"]).reset_index(drop=True)

    @cached_property
    def practices(self) -> pd.DataFrame:
        p = self.bundle.table("practices")
        if p is None:
            return pd.DataFrame(columns=["practice_code", "name"])
        return p.assign(practice_code=p["practice_code"].astype(str)).sort_values("practice_code").reset_index(
            drop=True)

    @cached_property
    def group_names(self) -> dict[str, str]:
        return dict(zip(self.groups["group_id"], self.groups["name"], strict=True))

    def group_name(self, group_id: str) -> str:
        return self.group_names.get(group_id, group_id)

    @cached_property
    def group_ids(self) -> frozenset[str]:
        return frozenset(self.groups["group_id"])

    @cached_property
    def named_groups(self) -> list[dict[str, Any]]:
        """Groups other than PCNs (registry groups: federations, super-partnerships...)."""
        g = self.groups[self.groups["kind"].astype(str) != "pcn"]
        return [{"group_id": r["group_id"], "name": str(r["name"]), "kind": str(r["kind"])}
                for r in g.to_dict("records")]

    @cached_property
    def practice_names(self) -> dict[str, str]:
        return dict(zip(self.practices["practice_code"], self.practices["name"].astype(str), strict=True))

    @cached_property
    def practice_codes(self) -> frozenset[str]:
        return frozenset(self.practices["practice_code"])

    @cached_property
    def fy_periods(self) -> dict[str, list[str]]:
        """Financial-year periods with data, per indicator, in order."""
        fy = self.england[self.england["period_type"] == "fy"]
        return {str(k): sorted(v["period"].astype(str).unique().tolist()) for k, v in fy.groupby("indicator_id")}

    @cached_property
    def periods(self) -> dict[str, list[str]]:
        """Every period with data, per indicator (financial years first, then months)."""
        out: dict[str, list[str]] = {}
        for k, v in self.england.groupby("indicator_id"):
            fy = sorted(v.loc[v["period_type"] == "fy", "period"].astype(str).unique().tolist())
            mo = sorted(v.loc[v["period_type"] == "month", "period"].astype(str).unique().tolist())
            out[str(k)] = fy + mo
        return out

    @cached_property
    def england_index(self) -> dict[tuple[str, str, float], dict[str, Any]]:
        """England's rows by (indicator, period, confidence)."""
        return {(str(r["indicator_id"]), str(r["period"]), float(r["confidence"])): r for r in row_dicts(self.england)}

    def england_value(self, indicator_id: str, period: str | None, conf: float = 0.95) -> float | None:
        row = self.england_index.get((indicator_id, str(period), conf))
        v = None if row is None else row.get("value")
        return None if v is None or not np.isfinite(v) else float(v)

    def latest_fy(self, indicator_id: str) -> str | None:
        p = self.fy_periods.get(indicator_id) or []
        return p[-1] if p else None

    # ------------------------------------------------------------------ per-request queries

    def table(self, name: str, where: str = "", params: list[Any] | None = None,
              order: str = "", columns: Sequence[str] = ()) -> pd.DataFrame | None:
        """A bundle table (optionally filtered, optionally only some columns), or None when the bundle does not have
        it ("not computed")."""
        return self.bundle.table(name, where, params or [], columns=columns, order=order)

    def group_rows(self, group_id: str) -> pd.DataFrame:
        """The group's scorecard rows (every indicator, period and confidence level).

        A page asks for them several times (rug, spine, trends, summary); the last few groups' rows are
        kept (:data:`GROUP_ROWS_KEPT`, a few MB) so one page reads the table once."""
        with self._lock:
            hit = self._rows.get(group_id)
            if hit is not None:
                self._rows.move_to_end(group_id)
                return hit
        out = self.table("scorecard", "entity_id = ?", [group_id], order="indicator_id, period")
        rows = out if out is not None else self.england.iloc[0:0]
        with self._lock:
            self._rows[group_id] = rows
            while len(self._rows) > GROUP_ROWS_KEPT:
                self._rows.popitem(last=False)
        return rows

    def group_members(self, group_id: str) -> pd.DataFrame:
        """The group's membership spells (as the evaluation used them) with practice names and attributes, current
        members first, then by name (ties in the spells' order); dates as ``YYYY-MM-DD`` text.

        Shaped in Arrow (:meth:`group_members_arrow`), then one conversion; the same steps in pandas take four times
        as long on Arrow-backed text columns."""
        return self.group_members_arrow(group_id).to_pandas(use_threads=False)

    def group_members_arrow(self, group_id: str) -> pa.Table:
        """:meth:`group_members` as an Arrow table (a left join to the registry in the spells' order, as a pandas
        left merge gives it); a group without spells has no rows of five typeless columns."""
        spells = self.bundle.arrow("spells", "group_id = ?", [group_id])
        if spells is None or spells.num_rows == 0:
            return pa.table({c: pa.array([], pa.null()) for c in ("practice_code", "name", "start_date", "end_date",
                                                                   "current")})
        registry, rows = self._registry
        m = _left_join(spells, registry, "practice_code", rows)
        columns = {f.name: m[f.name] for f in m.schema}
        columns["name"] = _text(m["name"])
        for c in ("start_date", "end_date"):
            columns[c] = _text(pc.strftime(m[c].cast(pa.timestamp("us")), "%Y-%m-%d"))
        columns["current"] = pc.is_null(m["end_date"])
        out = pa.table(columns)
        order = pc.sort_indices(out, [("current", "descending"), ("name", "ascending")])  # a stable sort
        return out.take(order)

    @cached_property
    def _registry(self) -> tuple[pa.Table, dict[Any, list[int]]]:
        """:attr:`practices` as an Arrow table (joined to membership spells without pandas) and each code's rows."""
        table = pa.Table.from_pandas(self.practices, preserve_index=False)
        return table, positions(table["practice_code"].to_pylist())

    def practice_info(self, code: str) -> dict[str, Any] | None:
        """The practice's registry row as ``{column: value}`` (its first row when codes repeat), None when unknown."""
        at, columns = self._practice_lookup
        i = at.get(code)
        return None if i is None else {k: v[i] for k, v in columns.items()}

    @cached_property
    def _practice_lookup(self) -> tuple[dict[str, int], dict[str, list[Any]]]:
        """Each code's first row in :attr:`practices`, and the columns as lists (values as ``tolist()`` gives them):
        made once, so a practice page does not filter and box a row of the 8,000-row frame."""
        p = self.practices
        return {c: rows[0] for c, rows in self._registry[1].items()}, {str(k): p[k].tolist() for k in p.columns}

    def prepare(self) -> None:
        """Make the registry's and England's indexes now (see :func:`gpscale.report.sections.prepare`)."""
        self.bundle.prepare()
        for name, attribute in vars(ResultsData).items():  # every index kept per bundle
            if isinstance(attribute, cached_property):
                getattr(self, name)

    def practice_groups(self, code: str) -> pd.DataFrame:
        """The groups a practice belongs or belonged to (spells the evaluation used), in the spells table's order."""
        shown, at = self._practice_spells
        return shown.take(at.get(code, [])).reset_index(drop=True)

    @cached_property
    def _practice_spells(self) -> tuple[pd.DataFrame, dict[str, list[int]]]:
        """Every spell as a practice page shows it (group name, dates as text) and each practice's rows in it, made
        once: the table is sorted by group, so a lookup by practice would read and format all of it on every page."""
        s = self.table("spells", columns=["practice_code", "group_id", "start_date", "end_date"])
        if s is None:
            s = pd.DataFrame(columns=["practice_code", "group_id", "start_date", "end_date"])
        s = s.assign(name=s["group_id"].map(self.group_names).fillna(s["group_id"]))
        out = s[["group_id", "name", "start_date", "end_date"]].copy()
        for c in ("start_date", "end_date"):
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d").fillna("")
        return out.reset_index(drop=True), positions(s["practice_code"].tolist())

    def practice_rows(self, code: str, columns: Sequence[str] = ()) -> pd.DataFrame:
        """The practice's disclosed values (every indicator and period; only ``columns`` when given), sorted by
        indicator and period."""
        out = self.table("practice_values", "practice_code = ?", [code], order="indicator_id, period", columns=columns)
        return out if out is not None else pd.DataFrame()

    @cached_property
    def _survey_bundles(self) -> list[Bundle]:
        """Survey result bundles (``gpscale survey report --out``) in ``surveys/*`` beside or inside the results."""
        return side_bundles(self.bundle.folder, "surveys", "survey")

    @property
    def has_surveys(self) -> bool:
        """Whether any survey bundle is present (checked once; the tables are read only by the surveys page)."""
        return bool(self._survey_bundles)

    def surveys(self) -> list[tuple[str, dict[str, pd.DataFrame]]]:
        """Survey tables by survey, as their (disclosed) bundles hold them; the summary table is left out."""
        out = []
        for b in self._survey_bundles:
            sid = str(b.manifest["survey_id"])
            tables = {n[len(sid) + 1:]: b.table(n) for n in b.names if n != f"{sid}_suppression"}
            out.append((sid, {k: v for k, v in tables.items() if v is not None}))
        return out

    def search(self, q: str, limit: int = 25) -> dict[str, list[dict[str, str]]]:
        """Groups and practices whose name or code contains ``q`` (case-insensitive, literal match)."""
        needle = q.strip().lower()
        if not needle:
            return {"groups": [], "practices": []}
        return {"groups": _find(self._group_keys, needle, limit),
                "practices": _find(self._practice_keys, needle, limit)}

    @cached_property
    def _group_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self.groups
        return (g["group_id"].to_numpy(str), g["name"].to_numpy(str),
                (g["group_id"] + " " + g["name"]).str.lower().to_numpy(str))

    @cached_property
    def _practice_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.practices
        names = p["name"].fillna("").astype(str)
        post = p["postcode"].fillna("").astype(str) if "postcode" in p else ""
        return (p["practice_code"].to_numpy(str), names.to_numpy(str),
                (p["practice_code"] + " " + names + " " + post).str.lower().to_numpy(str))


def row_dicts(frame: pd.DataFrame, each: Callable[[Any], Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, as ``frame.to_dict("records")`` gives them, but built from each column's ``tolist()`` (4× faster
    than ``to_dict`` on Arrow-backed string columns, which box every value one at a time); ``each``, when given, is
    applied to every value."""
    cols = [str(c) for c in frame.columns]
    column = column_list(frame)
    lists = (column(i) for i in range(len(cols)))
    if each is not None:
        lists = ([each(v) for v in col] for col in lists)
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*lists, strict=True)] if len(frame) else []


def column_list(frame: pd.DataFrame) -> Callable[[int], list[Any]]:
    """A function giving column ``i`` of ``frame`` as a list (``tolist()``): taken by name where the names are unique
    text (a third of the time of a lookup by position), else by position."""
    names = list(frame.columns)
    if len(set(names)) == len(names) and all(type(c) is str for c in names):
        return lambda i: frame[names[i]].tolist()
    return lambda i: frame.iloc[:, i].tolist()


def positions(keys: Sequence[Any]) -> dict[Any, list[int]]:
    """Each key's positions in ``keys``, in order (a lookup from a key to its rows)."""
    out: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return out


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text with missing values empty (a column of nothing but gaps, typeless in Parquet, as text)."""
    column = column.cast(pa.large_string()) if pa.types.is_null(column.type) else column
    return pc.fill_null(column, pa.scalar("", column.type))


def _left_join(left: pa.Table, right: pa.Table, key: str, rows: dict[Any, list[int]]) -> pa.Table:
    """``left`` with ``right``'s other columns by ``key``, as a pandas left merge: every left row in order, once per
    matching right row in right's order (``rows``: :func:`positions` of right's keys), with gaps where right lacks
    it."""
    at_left: list[int] = []
    at_right: list[int | None] = []
    for i, k in enumerate(left[key].to_pylist()):
        for j in rows.get(k, (None,)):
            at_left.append(i)
            at_right.append(j)
    taken = left.take(pa.array(at_left, pa.int64()))
    found = right.drop_columns([key]).take(pa.array(at_right, pa.int64()))
    return pa.Table.from_arrays([*taken.columns, *found.columns], names=[*taken.column_names, *found.column_names])


def _find(keys: tuple[np.ndarray, np.ndarray, np.ndarray], needle: str, limit: int) -> list[dict[str, str]]:
    ids, names, text = keys
    if not len(text):
        return []
    hit = np.flatnonzero(np.char.find(text, needle) >= 0)
    exact = [i for i in hit if ids[i].lower() == needle]
    order = exact + [i for i in hit if i not in exact]
    return [{"id": str(ids[i]), "name": str(names[i])} for i in order[:limit]]


def definitions_summary(indicators: dict[str, Indicator]) -> list[dict[str, Any]]:
    return [
        {"id": i.id, "title": i.title, "domain": i.domain, "unit": i.unit, "polarity": i.polarity,
         "value_type": i.value_type, "period_types": list(i.period_types)}
        for i in indicators.values()
    ]
