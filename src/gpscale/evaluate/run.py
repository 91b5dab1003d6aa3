"""Running the evaluation on a store: indicators → membership → scorecard, as tidy tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.evaluate.scorecard import scorecard
from gpscale.groups.membership import MembershipView, members_by_period, spells
from gpscale.store.db import Store, data_version


@dataclass(frozen=True)
class Evaluation:
    """Results of one evaluation, and what produced them."""

    scorecard: pd.DataFrame
    practice_values: pd.DataFrame
    members: pd.DataFrame
    definitions: dict[str, Any]
    view: MembershipView
    data_version: str


def evaluate(
    store: Store,
    indicator_ids: list[str] | None = None,
    view: str = "as-was",
    definitions_dir: Path | None = None,
    engine: str = "duckdb",
) -> Evaluation:
    """Compute indicators for every practice and period, pool them by group and compare with England."""
    from gpscale.indicators.compute import compute_indicators
    from gpscale.indicators.library import load_definitions

    mv = MembershipView.parse(view)
    definitions = load_definitions(definitions_dir)
    if indicator_ids:
        unknown = sorted(set(indicator_ids) - set(definitions))
        if unknown:
            raise ValueError(f"unknown indicator(s): {', '.join(unknown)}")
        definitions = {k: definitions[k] for k in indicator_ids}
    pv = compute_indicators(store, list(definitions), engine=engine, definitions_dir=definitions_dir)
    with_data = set(pv.loc[pv["numerator"].notna(), "indicator_id"])
    definitions = {k: d for k, d in definitions.items() if k in with_data}
    periods = sorted(pv["period"].unique().tolist())
    members = members_by_period(spells(store), periods, mv)
    version = data_version(store)
    card = scorecard(pv, members, definitions, mv.label, version)
    return Evaluation(card, pv, members, definitions, mv, version)


def write_tables(ev: Evaluation, out: Path) -> list[Path]:
    """Write the scorecard and practice values as Parquet and CSV into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in (("scorecard", ev.scorecard), ("practice_values", ev.practice_values)):
        for suffix in ("parquet", "csv"):
            p = out / f"{name}.{suffix}"
            if suffix == "parquet":
                df.to_parquet(p, index=False)
            else:
                df.to_csv(p, index=False)
            paths.append(p)
    return paths
