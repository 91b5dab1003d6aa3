"""Group profiles: the study's organisation table, for every group and financial year.

Per group and year (under the membership view): member practices, registered patients, commissioners
(CCGs / sub-ICB locations), ICBs (STPs before 2022) and regions spanned, geographic spread (distinct
postcode areas and districts, since the store holds no coordinates), deprivation (the list-weighted mean
IMD score of member practices), rurality (share of patients in rural practices), contract-type mix (share
of patients in GMS, PMS and APMS practices) and dispensing practices.

Practice facts come from :func:`practice_context`: the year's own value where a publication gives it
by year (payments: contract type, rurality, dispensing; QOF and geographies: commissioner, STP/ICB,
region), otherwise the latest value in the ``practice`` view. List sizes: the year's QOF list size
(``practice_population``, all ages), otherwise the mean of the year's monthly registrations totals,
otherwise the payments file's registered patients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpscale.evaluate.common import PROVENANCE
from gpscale.store.db import Store

CONTEXT_COLUMNS = ["practice_code", "period", "patients", "commissioner", "icb", "region", "postcode",
                   "contract_type", "rurality", "dispensing", "imd_score"]

#: practice_attribute names giving each context column by year.
_ATTRIBUTES = {
    "commissioner_code": "commissioner",
    "stp_code": "icb",
    "region_code": "region",
    "contract_type": "contract_type",
    "rurality": "rurality",
    "dispensing": "dispensing",
}

PROFILE_COLUMNS = [
    "group_id", "name", "kind", "period", "n_practices", "patients", "n_commissioners", "n_icbs", "n_regions",
    "n_postcode_areas", "n_postcode_districts", "imd_score", "pct_rural", "pct_gms", "pct_pms", "pct_apms",
    "pct_dispensing", "patients_known", *PROVENANCE,
]


def practice_context(store: Store, periods: list[str]) -> pd.DataFrame:
    """One row per practice and financial year in ``periods``: list size and attributes (see module notes)."""
    fys = sorted({p for p in periods if p.startswith("FY")})
    base = store.df(
        "SELECT practice_code, postcode, commissioner, icb, region, contract_type, rurality, "
        "CAST(dispensing AS VARCHAR) AS dispensing, imd_score FROM practice ORDER BY practice_code"
    )  # ordered: the view's own order varies with DuckDB's threads at national size (issue 12r)
    if base.empty or not fys:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)
    grid = base[["practice_code"]].merge(pd.DataFrame({"period": fys}), how="cross")
    attrs = store.df(
        f"""
        SELECT practice_code, period, attribute, arg_max(value, ingest_id) AS value
        FROM practice_attribute
        WHERE period_type = 'fy' AND attribute IN ({", ".join("'" + a + "'" for a in _ATTRIBUTES)})
        GROUP BY ALL
        """
    )
    if not attrs.empty:
        wide = attrs.pivot_table(index=["practice_code", "period"], columns="attribute", values="value",
                                 aggfunc="first").rename(columns=_ATTRIBUTES).reset_index()
        wide.columns.name = None
        grid = grid.merge(wide, on=["practice_code", "period"], how="left")
    grid = grid.merge(base, on="practice_code", how="left", suffixes=("", "_latest"))
    for col in _ATTRIBUTES.values():
        latest = f"{col}_latest" if f"{col}_latest" in grid else col
        if col in grid and latest != col:
            grid[col] = grid[col].where(grid[col].notna(), grid[latest])
        elif col not in grid:
            grid[col] = grid[latest]
    grid["patients"] = list_sizes(store, fys).reindex(
        pd.MultiIndex.from_frame(grid[["practice_code", "period"]])).to_numpy()
    grid["dispensing"] = grid["dispensing"].astype(str).str.lower().isin(["true", "1", "yes", "y", "d"])
    return grid[CONTEXT_COLUMNS]


def list_sizes(store: Store, fys: list[str]) -> pd.Series:
    """Registered patients per (practice_code, period) for financial years (see module notes)."""
    fy_rows = store.df(
        """
        SELECT practice_code, period, arg_max(patients, ingest_id) AS patients FROM practice_population
        WHERE period_type = 'fy' AND sex = 'all' AND age_band = 'all' AND patients IS NOT NULL GROUP BY ALL
        """
    )
    month = store.df(
        """
        SELECT practice_code, period, arg_max(patients, ingest_id) AS patients FROM practice_population
        WHERE period_type = 'month' AND sex = 'all' AND age_band = 'all' AND patients IS NOT NULL GROUP BY ALL
        """
    )
    from gpscale.periods import fy_of_month

    parts = [fy_rows.assign(_rank=0)]
    if not month.empty:
        fy_of = {m: fy_of_month(m) for m in month["period"].unique()}
        month["period"] = month["period"].map(fy_of)
        parts.append(month.groupby(["practice_code", "period"], as_index=False)["patients"].mean().assign(_rank=1))
    paid = store.df(
        """
        SELECT practice_code, period, arg_max(value, ingest_id) AS patients FROM practice_attribute
        WHERE period_type = 'fy' AND attribute = 'registered_patients' GROUP BY ALL
        """
    )
    if not paid.empty:
        paid["patients"] = pd.to_numeric(paid["patients"], errors="coerce")
        parts.append(paid.dropna(subset=["patients"]).assign(_rank=2))
    allp = pd.concat(parts, ignore_index=True)
    allp = allp[allp["period"].isin(fys)].sort_values("_rank").drop_duplicates(["practice_code", "period"])
    return allp.set_index(["practice_code", "period"])["patients"].astype(float)


def postcode_area(postcode: pd.Series) -> pd.Series:
    """The letters before the first digit of a postcode (``MK41 9JE`` -> ``MK``)."""
    return postcode.astype("string").str.upper().str.extract(r"^\s*([A-Z]{1,2})\d", expand=False)


def postcode_district(postcode: pd.Series) -> pd.Series:
    """The outward code of a postcode (``MK41 9JE`` -> ``MK41``)."""
    s = postcode.astype("string").str.upper().str.strip()
    return s.str.extract(r"^([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}$", expand=False)


def group_profiles(
    members: pd.DataFrame,
    context: pd.DataFrame,
    groups: pd.DataFrame | None,
    view_label: str,
    data_version: str,
) -> pd.DataFrame:
    """Per group and financial year: the organisation table (see module notes)."""
    m = members[members["period"].astype(str).str.startswith("FY")]
    if m.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    c = context.copy()
    c["postcode_area"] = postcode_area(c["postcode"])
    c["postcode_district"] = postcode_district(c["postcode"])
    j = m.merge(c, on=["practice_code", "period"], how="left")
    w = j["patients"].astype(float)
    known = w.notna()
    wk = w.fillna(0.0)
    contract = j["contract_type"].astype("string").str.upper()
    rural = j["rurality"].astype("string").str.lower()
    j = j.assign(
        _w=wk,
        _known=known.astype(int),
        _imd_w=np.where(j["imd_score"].notna() & known, wk, 0.0),
        _imd_wx=np.where(j["imd_score"].notna() & known, wk * j["imd_score"].astype(float).fillna(0.0), 0.0),
        _rur_w=np.where(rural.notna() & known, wk, 0.0),
        _rur_x=np.where(rural.str.startswith("rural").fillna(False) & known, wk, 0.0),
        _con_w=np.where(contract.notna() & known, wk, 0.0),
        _gms=np.where((contract == "GMS").fillna(False) & known, wk, 0.0),
        _pms=np.where((contract == "PMS").fillna(False) & known, wk, 0.0),
        _apms=np.where(contract.isin(["APMS", "ADS"]).fillna(False) & known, wk, 0.0),
        _disp=np.where(j["dispensing"].fillna(False).astype(bool) & known, wk, 0.0),
    )
    g = j.groupby(["group_id", "period"], as_index=False).agg(
        n_practices=("practice_code", "nunique"), patients=("_w", "sum"), patients_known=("_known", "sum"),
        n_commissioners=("commissioner", "nunique"), n_icbs=("icb", "nunique"), n_regions=("region", "nunique"),
        n_postcode_areas=("postcode_area", "nunique"), n_postcode_districts=("postcode_district", "nunique"),
        imd_w=("_imd_w", "sum"), imd_wx=("_imd_wx", "sum"), rur_w=("_rur_w", "sum"), rur_x=("_rur_x", "sum"),
        con_w=("_con_w", "sum"), gms=("_gms", "sum"), pms=("_pms", "sum"), apms=("_apms", "sum"),
        disp=("_disp", "sum"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        g["imd_score"] = np.where(g["imd_w"] > 0, g["imd_wx"] / g["imd_w"], np.nan)
        g["pct_rural"] = np.where(g["rur_w"] > 0, 100 * g["rur_x"] / g["rur_w"], np.nan)
        for col in ("gms", "pms", "apms"):
            g[f"pct_{col}"] = np.where(g["con_w"] > 0, 100 * g[col] / g["con_w"], np.nan)
        g["pct_dispensing"] = np.where(g["patients"] > 0, 100 * g["disp"] / g["patients"], np.nan)
    g["patients"] = np.where(g["patients_known"] > 0, g["patients"], np.nan)
    if groups is not None and not groups.empty:
        g = g.merge(groups[["group_id", "name", "kind"]], on="group_id", how="left")
    else:
        g["name"] = None
        g["kind"] = None
    g["membership_view"] = view_label
    g["definition_version"] = ""
    g["data_version"] = data_version
    return g[PROFILE_COLUMNS].sort_values(["group_id", "period"], ignore_index=True)
