"""Pooling practice values into group and England values.

A group's value is pooled numerators over pooled denominators (never an average of percentages): for
a proportion, events over eligible; for a rate, events over the (weighted) population; for a
standardised ratio, observed over expected; for a QOF score, points over maximum points. England is
the pool of every practice with data in the period.
"""

from __future__ import annotations

import pandas as pd

ENGLAND_ID = "E92000001"
ENGLAND_NAME = "England"

KEYS = ["indicator_id", "period", "period_type"]


def usable(practice_values: pd.DataFrame) -> pd.DataFrame:
    """Practice rows that can be pooled: numerator and a positive denominator present."""
    pv = practice_values
    ok = pv["numerator"].notna() & pv["denominator"].notna() & (pv["denominator"] > 0)
    return pv[ok]


def _sum(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    agg = {"numerator": ("numerator", "sum"), "denominator": ("denominator", "sum"),
           "n_practices": ("practice_code", "nunique")}
    if "effective_n" in df.columns:
        agg["effective_n"] = ("effective_n", "sum")
    return df.groupby(by, as_index=False, observed=True).agg(**agg)


def england(practice_values: pd.DataFrame) -> pd.DataFrame:
    """England's pooled numerator and denominator per indicator and period."""
    out = _sum(usable(practice_values), KEYS)
    out.insert(0, "entity_id", ENGLAND_ID)
    return out


def groups(practice_values: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Each group's pooled numerator and denominator per indicator and period (members as given)."""
    joined = usable(practice_values).merge(members, on=["practice_code", "period"], how="inner")
    return _sum(joined, ["group_id", *KEYS]).rename(columns={"group_id": "entity_id"})


def member_rows(practice_values: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Practice rows tagged with their group (for score intervals and member funnels)."""
    return usable(practice_values).merge(members, on=["practice_code", "period"], how="inner")
