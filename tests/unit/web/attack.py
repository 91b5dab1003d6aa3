"""The subtraction attacker: every count published for an indicator and period, from every output, then solve.

Written independently of :mod:`gpscale.disclosure`: it knows only what a reader can download (the bundle's
Parquet and CSV files, the Excel workbook, the dashboard's CSV downloads and JSON API) and what every
published number means (a practice's count, or a sum of practices' counts: a group's members under the
membership view, or every practice for England). A hidden count is recovered when its coefficient vector
lies in the span of the published ones (``numpy.linalg.matrix_rank`` does not grow when it is added).
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ENGLAND = "E92000001"
COUNTS = ("numerator", "denominator", "effective_n")


@dataclass
class Published:
    """Every count published per (indicator, period, count column): unit -> value ("P:<code>" / "G:<id>")."""

    cells: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    sources: dict[tuple[str, str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    #: (indicator, period, unit) -> (value, half its rounding step): the most precise value published
    values: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)

    def add(self, where: str, unit: str, indicator: str, period: str, column: str, value: Any) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return
        self.cells[(indicator, period, column)][unit] = float(value)
        self.sources[(indicator, period, column, unit)].add(where)

    def add_frame(self, where: str, frame: pd.DataFrame, unit_col: str, kind: str,
                  indicator: str | None = None, period: str | None = None) -> None:
        """Counts of a table: ``kind`` "P" (practice rows) or "G" (group / England rows)."""
        if frame is None or frame.empty or unit_col not in frame.columns:
            return
        for r in frame.to_dict("records"):
            ind = str(r.get("indicator_id", indicator))
            per = str(r.get("period", period))
            unit = f"{kind}:{r[unit_col]}"
            for c in COUNTS:
                if c in r:
                    self.add(where, unit, ind, per, c, _num(r[c]))


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def csv_frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"practice_code": str, "group_id": str, "entity_id": str,
                                                 "period": str})


def recoverable(published: Published, members: pd.DataFrame, practices_with_data: dict[tuple[str, str], list[str]],
                hidden: Iterable[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """Hidden cells (unit, indicator, period, column) whose count follows from the published ones.

    ``members``: group_id, practice_code, period (the membership the evaluation used);
    ``practices_with_data``: (indicator, period) -> practices pooled into England.
    """
    by_key: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for unit, ind, per, col in hidden:
        by_key[(ind, per, col)].append(unit)
    found = []
    mem = members.astype(str)
    for (ind, per, col), units in by_key.items():
        codes = practices_with_data.get((ind, per), [])
        index = {c: i for i, c in enumerate(codes)}

        def vector(unit: str, ind: str = ind, per: str = per, codes: list[str] = codes,
                   index: dict[str, int] = index) -> np.ndarray | None:
            v = np.zeros(len(codes))
            kind, uid = unit.split(":", 1)
            if kind == "P":
                if uid not in index:
                    return None
                v[index[uid]] = 1.0
            elif uid == ENGLAND:
                v[:] = 1.0
            else:
                for p in mem.loc[(mem["group_id"] == uid) & (mem["period"] == per), "practice_code"]:
                    if p in index:
                        v[index[p]] = 1.0
            return v

        rows = [vector(u) for u in published.cells.get((ind, per, col), {})]
        base = np.array([r for r in rows if r is not None]) if rows else np.zeros((0, len(codes)))
        rank = np.linalg.matrix_rank(base) if len(base) else 0
        for u in units:
            v = vector(u)
            if v is None or not v.any():
                continue
            if np.linalg.matrix_rank(np.vstack([base, v])) == rank:
                found.append((u, ind, per, col))
    return found


Cell = tuple[str, str, str, str]


def truth_of(ev: Any) -> tuple[dict[Cell, float], dict[tuple[str, str], list[str]]]:
    """An evaluation's own counts (what the attacker wants) and the practices pooled per indicator-period.

    ``ev`` is the raw :class:`gpscale.evaluate.run.Evaluation` (the analyst's Python API, never published).
    """
    truth: dict[Cell, float] = {}
    pv = ev.practice_values
    usable = pv[pv["numerator"].notna() & (pv["denominator"] > 0)]
    for r in usable.to_dict("records"):
        for c in COUNTS:
            if pd.notna(r[c]):
                truth[(f"P:{r['practice_code']}", r["indicator_id"], r["period"], c)] = float(r[c])
    eff = usable.merge(ev.members, on=["practice_code", "period"]).groupby(["group_id", "indicator_id", "period"])
    for (g, i, p), v in eff["effective_n"].sum(min_count=1).dropna().items():
        truth[(f"G:{g}", i, p, "effective_n")] = float(v)
    card = ev.scorecard.drop_duplicates(["entity_id", "indicator_id", "period"])
    for r in card.to_dict("records"):
        for c in ("numerator", "denominator"):
            truth[(f"G:{r['entity_id']}", r["indicator_id"], r["period"], c)] = float(r[c])
    pooled = {k: sorted(v["practice_code"]) for k, v in usable.groupby(["indicator_id", "period"])}
    return truth, pooled


def hidden_cells(bundle: Any, members: pd.DataFrame, group: str) -> list[Cell]:
    """Counts the gate hid for ``group`` and its members (every counted indicator and period) in ``bundle``."""
    counted = bundle.query("SELECT indicator_id FROM definitions WHERE value_type <> 'score'")["indicator_id"].tolist()
    mine = members[members["group_id"] == group]
    out = []
    pv = bundle.table("practice_values", "suppressed")
    for r in pv.merge(mine, on=["practice_code", "period"]).to_dict("records"):
        if r["indicator_id"] in counted:
            out += [(f"P:{r['practice_code']}", r["indicator_id"], r["period"], c)
                    for c in ("numerator", "denominator")]
    card = bundle.table("scorecard", "suppressed AND entity_id = ?", [group])
    for r in card.drop_duplicates(["indicator_id", "period"]).to_dict("records"):
        if r["indicator_id"] in counted:
            out += [(f"G:{group}", r["indicator_id"], r["period"], c) for c in ("numerator", "denominator")]
    return out
