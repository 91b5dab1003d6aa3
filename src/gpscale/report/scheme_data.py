"""Scheme results as the dashboard and the board pack read them: disclosed scheme bundles, queried in place.

A scheme bundle (``gpscale scheme score|forecast|design --out DIR``) is found in ``schemes/*`` inside or
beside the evaluation's results folder (as survey bundles are). Every figure here is read from it as the
disclosure gate left it (hidden cells are nulls with a reason); this module selects and orders rows and
computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.bundle import Bundle
from gpscale.report.data import side_bundles

#: What "mostly chance" means on every page and in the board pack.
CHANCE_NOTE = ("Mostly chance: the target lies inside the interval of the network's achievement (scored year) or of "
               "its forecast (next year), so whether it is met is within what chance alone produces.")


def scheme_bundles(results: Path) -> list[Bundle]:
    """Scheme bundles in ``schemes/*`` inside or beside ``results`` (one per scheme id, the first found)."""
    return side_bundles(results, "schemes", "scheme")


def pounds(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """``frame`` with each ``<x>_pence`` column also shown as ``<x>_gbp`` text (nulls stay nulls)."""
    out = frame.copy()
    for c in cols:
        if c in out:
            out[c.removesuffix("_pence") + "_gbp"] = [None if pd.isna(v) else f"£{int(v) / 100:,.2f}" for v in out[c]]
    return out


def chance_flags(frame: pd.DataFrame, col: str, to: str = "chance") -> pd.DataFrame:
    """``frame`` with ``to`` reading "mostly chance" where the flag ``col`` is true (null where hidden)."""
    out = frame.copy()
    if col in out:
        out[to] = [None if pd.isna(v) else ("mostly chance" if bool(v) else "") for v in out[col]]
    return out


def _empty(frame: pd.DataFrame | None) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame()


@dataclass(frozen=True)
class SchemeResults:
    """One scheme's disclosed tables (see the module notes)."""

    bundle: Bundle

    def meta(self, key: str, default: Any = "") -> Any:
        return self.bundle.manifest.get(key, default)

    @property
    def scheme_id(self) -> str:
        return str(self.meta("scheme_id"))

    @property
    def title(self) -> str:
        return str(self.meta("scheme_title"))

    @property
    def period(self) -> str:
        return str(self.meta("period"))

    @property
    def forecast_period(self) -> str | None:
        fp = self.meta("forecast_period", None)
        return str(fp) if fp else None

    def has(self, name: str) -> bool:
        return self.bundle.has(name)

    def targets(self) -> pd.DataFrame:
        """One row per target (id, indicator, type, the target in words), in the scheme's order."""
        return _empty(self.bundle.query(
            "SELECT target_id, any_value(indicator_id) AS indicator_id, any_value(target_type) AS target_type, "
            "any_value(target) AS target, min(rowid) AS o FROM (SELECT *, row_number() OVER () AS rowid "
            "FROM scheme_scores) GROUP BY target_id ORDER BY o"))

    def networks(self) -> pd.DataFrame:
        """Per network: totals, with the forecast's expected payment when the bundle has it."""
        tot = _empty(self.bundle.table("scheme_totals", order="group_name, group_id"))
        if self.has("scheme_forecast_totals") and not tot.empty:
            ft = _empty(self.bundle.table("scheme_forecast_totals", columns=(
                "group_id", "expected_payment_pence", "payment_lower_pence", "payment_upper_pence")))
            tot = tot.merge(ft.rename(columns={"payment_lower_pence": "expected_lower_pence",
                                               "payment_upper_pence": "expected_upper_pence"}),
                            on="group_id", how="left")
        return tot

    def network(self, group_id: str) -> dict[str, Any] | None:
        row = self.bundle.table("scheme_totals", "group_id = ?", [group_id])
        return None if row is None or row.empty else row.iloc[0].to_dict()

    def scores(self, group_id: str | None = None, target_id: str | None = None) -> pd.DataFrame:
        where, params = [], []
        for col, v in (("group_id", group_id), ("target_id", target_id)):
            if v is not None:
                where.append(f"{col} = ?")
                params.append(v)
        return _empty(self.bundle.table("scheme_scores", " AND ".join(where), params, order="group_name, target_id"))

    def contributions(self, group_id: str) -> pd.DataFrame:
        return _empty(self.bundle.table("scheme_contributions", "group_id = ?", [group_id],
                                        order="target_id, practice_code"))

    def forecast(self, group_id: str | None = None) -> pd.DataFrame:
        if not self.has("scheme_forecast"):
            return pd.DataFrame()
        return _empty(self.bundle.table("scheme_forecast", "group_id = ?" if group_id else "",
                                        [group_id] if group_id else [], order="group_name, target_id"))

    def table(self, name: str) -> pd.DataFrame | None:
        return self.bundle.table(name)
