"""The group registry: every group the store knows, whichever file it came from, with its spells.

Groups come from registry files a user writes (:mod:`gpscale.sources.registry_file`), from ePCN workbooks
(PCNs with their core partners) and from the PCN columns of QOF, payments and registrations-map files
(:mod:`gpscale.groups.published`). :func:`group_table` lists them with their attributes, where they came
from, and how many practices they have had.
"""

from __future__ import annotations

import pandas as pd

from gpscale.groups.membership import spells as membership_spells
from gpscale.store.db import Store

GROUP_COLUMNS = ["group_id", "name", "kind", "legal_form", "founded", "contracts", "parent", "source"]


def group_records(store: Store) -> pd.DataFrame:
    """Groups with their latest attributes: ``practice_group`` plus PCNs named only in published columns."""
    from gpscale.groups.published import published_pcn_groups

    g = store.df(
        """
        SELECT pg.group_id, pg.name, pg.kind, pg.legal_form, pg.founded, pg.contracts, pg.parent,
               string_agg(DISTINCT l.format, ', ' ORDER BY l.format) AS source
        FROM practice_group pg
        JOIN group_record r USING (group_id)
        JOIN ingest_log l USING (ingest_id)
        GROUP BY ALL
        """
    )
    pub = published_pcn_groups(store)
    extra = pub[~pub["group_id"].isin(g["group_id"])].copy()
    if not extra.empty:
        extra["name"] = extra["name"].fillna(extra["group_id"])
        extra["kind"] = "pcn"
        extra["source"] = "published PCN columns"
        g = pd.concat([g, extra], ignore_index=True)
    for c in GROUP_COLUMNS:
        if c not in g:
            g[c] = None
    return g[GROUP_COLUMNS].sort_values(["kind", "group_id"]).reset_index(drop=True)


def group_table(store: Store, spell_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`group_records` with, per group, spells, practices ever, first start and last end."""
    g = group_records(store)
    s = membership_spells(store) if spell_df is None else spell_df
    if s.empty:
        stats = pd.DataFrame(columns=["group_id", "spells", "practices_ever", "first_start", "last_end", "open_spells"])
    else:
        s = s.assign(_open=s["end_date"].isna())
        stats = s.groupby("group_id", as_index=False).agg(
            spells=("practice_code", "size"),
            practices_ever=("practice_code", "nunique"),
            first_start=("start_date", "min"),
            last_end=("end_date", "max"),
            open_spells=("_open", "sum"),
        )
        stats.loc[stats["open_spells"] > 0, "last_end"] = None
    out = g.merge(stats, on="group_id", how="left")
    out["spells"] = out["spells"].fillna(0).astype(int)
    out["practices_ever"] = out["practices_ever"].fillna(0).astype(int)
    out["open_spells"] = out["open_spells"].fillna(0).astype(int)
    return out
