"""What a scheme is scored on: practice values, membership spells, groups and practice facts, as frames.

:func:`inputs_from_store` reads them from a store (computing the scheme's indicators for every practice
and period); :class:`SchemeInputs` can also be built directly from frames (spec tests, notebooks,
benchmarks and the calibration study do), so the scoring and forecast never touch the store themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.evaluate.schemes.model import Scheme
from gpscale.store.db import Store

PRACTICE_COLUMNS = ["practice_code", "period", "patients", "open_date", "close_date"]


@dataclass(frozen=True)
class SchemeInputs:
    """Frames a scheme is scored on.

    ``practice_values``: indicator_id, practice_code, period, period_type, numerator, denominator (and
    effective_n for survey indicators, definition_version when known) -- the output of
    :func:`gpscale.indicators.compute.compute_indicators`. ``spells``: group_id, practice_code,
    start_date, end_date. ``groups``: group_id, name, kind. ``practices``: practice_code, period
    (financial year), patients (registered list, may be null), open_date and close_date (may be null;
    a member not open in the period does not count towards its network then).
    """

    practice_values: pd.DataFrame
    spells: pd.DataFrame
    groups: pd.DataFrame
    practices: pd.DataFrame
    definitions: Mapping[str, Any]
    data_version: str = ""

    def values_of(self, indicator_id: str) -> pd.DataFrame:
        """Financial-year practice rows of one indicator."""
        pv = self.practice_values
        return pv[(pv["indicator_id"] == indicator_id) & (pv["period_type"] == "fy")]


def inputs_from_store(store: Store, scheme: Scheme, definitions_dir: Path | None = None) -> SchemeInputs:
    """Compute the scheme's indicators and read membership, groups, list sizes and opening dates."""
    from gpscale.evaluate.profiles import list_sizes
    from gpscale.groups.membership import spells
    from gpscale.groups.registry import group_records
    from gpscale.indicators.compute import compute_indicators
    from gpscale.indicators.library import load_definitions
    from gpscale.store.db import data_version

    definitions = load_definitions(definitions_dir)
    ids = sorted({e.indicator for e in scheme.indicators})
    pv = compute_indicators(store, ids, definitions_dir=definitions_dir)
    fys = sorted({p for p in pv["period"].unique() if str(p).startswith("FY")})
    sizes = list_sizes(store, fys).rename("patients").reset_index()
    opened = store.df("SELECT practice_code, open_date, close_date FROM practice")
    grid = opened.merge(pd.DataFrame({"period": fys}), how="cross")
    practices = grid.merge(sizes, on=["practice_code", "period"], how="left")
    groups = group_records(store)[["group_id", "name", "kind"]]
    return SchemeInputs(practice_values=pv, spells=spells(store), groups=groups,
                        practices=practices[PRACTICE_COLUMNS], definitions={i: definitions[i] for i in ids},
                        data_version=data_version(store))
