"""Characteristics: is a group's performance relative to England associated with what kind of group it is?

For each indicator and financial year with enough groups, the outcome is each group's value relative to
England on the link scale (:func:`relative_performance`: the log odds ratio for shares, the log rate
ratio for rates and ratios), with its within-group variance from the scorecard's uncertainty. It is
related to the group's characteristics from its profile in the same year by a precision-weighted
random-effects meta-regression (:mod:`gpscale.evaluate.metareg`):

===================  ==================================================  =========================
term                 characteristic                                      per
===================  ==================================================  =========================
log2_patients        registered patients (size)                          doubling
log2_practices       member practices (size)                             doubling
n_commissioners      commissioners (CCGs / sub-ICB locations) spanned    one more
n_postcode_areas     postcode areas spanned (geographic spread)          one more
kind:K               kind of group, against the most common kind         (category)
imd_score            list-weighted IMD score (deprivation)               10 points
pct_rural            patients in rural practices                         10 percentage points
pct_apms / pct_pms   patients in APMS / PMS practices (contract mix;     10 percentage points
                     against GMS)
===================  ==================================================  =========================

Each characteristic is fitted alone ("univariable") and all together ("multivariable", complete cases,
only when there are at least ten groups per term). Characteristics that do not vary across the groups
(or are missing for more than a fifth of them) are left out. A positive estimate means higher values
than England's (after polarity, see ``direction``); ``per_unit_natural`` gives it in the indicator's own
units at England's level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import ComparisonLabel, Polarity, ValueType
from gpscale.evaluate.common import PROVENANCE, link_derivative, link_variance, to_link
from gpscale.evaluate.metareg import meta_regression

MIN_GROUPS = 10
GROUPS_PER_TERM = 10
#: ``direction`` of a term whose interval includes zero (otherwise better/worse, or higher/lower).
NO_CLEAR_ASSOCIATION = "no clear association"

CHARACTERISTIC_COLUMNS = [
    "indicator_id", "period", "model", "term", "per", "value", "lower", "upper", "confidence", "p_value",
    "per_unit_natural", "direction", "n_groups", "tau2", "scale", "comparator", "method", *PROVENANCE,
]

_TERMS: dict[str, tuple[str, str]] = {
    "log2_patients": ("registered patients", "doubling"),
    "log2_practices": ("member practices", "doubling"),
    "n_commissioners": ("commissioners spanned", "one more"),
    "n_postcode_areas": ("postcode areas spanned", "one more"),
    "imd_score": ("list-weighted IMD score", "10 points"),
    "pct_rural": ("patients in rural practices", "10 percentage points"),
    "pct_apms": ("patients in APMS practices", "10 percentage points"),
    "pct_pms": ("patients in PMS practices", "10 percentage points"),
}
_SCALE = {"imd_score": 10.0, "pct_rural": 10.0, "pct_apms": 10.0, "pct_pms": 10.0}


def relative_performance(pooled: pd.DataFrame, definitions: Mapping[str, Any]) -> pd.DataFrame:
    """Per group, indicator and financial year: link(group) - link(England), its variance, and the values."""
    fy = pooled[pooled["period_type"] == "fy"]
    out = []
    for ind_id, d in definitions.items():
        rows = fy[fy["indicator_id"] == ind_id]
        if rows.empty:
            continue
        vt = ValueType(d.value_type)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = (rows["numerator"] / rows["denominator"]).to_numpy(float)
        y = to_link(p, vt.link)
        v = link_variance(rows, vt)
        r = rows[["entity_type", "entity_id", "indicator_id", "period", "n_practices"]].assign(
            p=p, y=y, v=v, link=str(vt.link), multiplier=float(d.multiplier), polarity=str(Polarity(d.polarity)))
        eng = r[r["entity_type"] == "england"][["period", "p", "y"]].rename(columns={"p": "p_england", "y": "y_e"})
        g = r[r["entity_type"] == "group"].merge(eng, on="period", how="inner")
        g["relative"] = g["y"] - g["y_e"]
        out.append(g.drop(columns=["y_e"]))
    if not out:
        return pd.DataFrame(columns=["entity_id", "indicator_id", "period", "relative", "v"])
    return pd.concat(out, ignore_index=True).rename(columns={"entity_id": "group_id"}).drop(columns="entity_type")


def covariates(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per group and year, the characteristics in model units (see the module table)."""
    c = profiles[["group_id", "period", "kind"]].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        c["log2_patients"] = np.log2(profiles["patients"].astype(float).where(profiles["patients"] > 0))
        c["log2_practices"] = np.log2(profiles["n_practices"].astype(float).where(profiles["n_practices"] > 0))
    c["n_commissioners"] = profiles["n_commissioners"].astype(float)
    c["n_postcode_areas"] = profiles["n_postcode_areas"].astype(float)
    for col, s in _SCALE.items():
        c[col] = profiles[col].astype(float) / s
    return c


def _usable_terms(data: pd.DataFrame, terms: Iterable[str]) -> list[str]:
    out = []
    for t in terms:
        col = data[t]
        if col.isna().mean() > 0.2 or col.nunique(dropna=True) < 2:
            continue
        out.append(t)
    return out


def characteristics(
    relative: pd.DataFrame,
    profiles: pd.DataFrame,
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Meta-regressions of relative performance on each characteristic (and all together)."""
    versions = versions or {}
    if relative.empty or profiles.empty:
        return pd.DataFrame(columns=CHARACTERISTIC_COLUMNS)
    cov = covariates(profiles)
    data = relative.merge(cov, on=["group_id", "period"], how="inner")
    rows: list[dict[str, Any]] = []
    for (ind_id, period), d in data.groupby(["indicator_id", "period"], sort=True):
        d = d[np.isfinite(d["relative"]) & np.isfinite(d["v"]) & (d["v"] > 0)]
        if len(d) < MIN_GROUPS:
            continue
        link, mult, pol = d["link"].iloc[0], float(d["multiplier"].iloc[0]), d["polarity"].iloc[0]
        p_eng = float(d["p_england"].iloc[0])
        deriv = float(link_derivative(p_eng, link)) * mult
        kinds = d["kind"].fillna("unknown")
        kind_counts = kinds.value_counts()
        ref_kind = str(kind_counts.index[0])
        kind_terms = [k for k, n in kind_counts.items() if k != ref_kind and n >= 2]
        for k in kind_terms:
            d = d.assign(**{f"kind:{k}": (kinds == k).astype(float)})
        numeric = _usable_terms(d, _TERMS)
        models: list[tuple[str, list[str]]] = [("univariable", [t]) for t in numeric]
        if kind_terms:
            models.append(("univariable", [f"kind:{k}" for k in kind_terms]))
        all_terms = numeric + [f"kind:{k}" for k in kind_terms]
        if all_terms and len(d.dropna(subset=all_terms)) >= GROUPS_PER_TERM * len(all_terms):
            models.append(("multivariable", all_terms))
        for model, terms in models:
            dd = d.dropna(subset=terms)
            x = np.column_stack([np.ones(len(dd)), dd[terms].to_numpy(float)])
            fit = meta_regression(dd["relative"].to_numpy(float), dd["v"].to_numpy(float), x)
            if fit is None:
                continue
            lo, hi = fit.interval(confidence)
            pvals = fit.p_values()
            for j, term in enumerate(terms, start=1):
                est = float(fit.params[j])
                sig = lo[j] > 0 or hi[j] < 0
                direction = str(ComparisonLabel.of(1 if est > 0 else -1, pol)) if sig else NO_CLEAR_ASSOCIATION
                if term in _TERMS:
                    what, unit = _TERMS[term]
                    per = f"{what}: per {unit}"
                else:
                    per = f"kind: {term.split(':', 1)[-1]} rather than {ref_kind}"
                rows.append({
                    "indicator_id": ind_id, "period": period, "model": model, "term": term, "per": per,
                    "value": est, "lower": float(lo[j]), "upper": float(hi[j]), "confidence": confidence,
                    "p_value": float(pvals[j]), "per_unit_natural": est * deriv, "direction": direction,
                    "n_groups": fit.k, "tau2": fit.tau2, "scale": link,
                    "comparator": "England (outcome: group relative to England)", "method": fit.method,
                    "membership_view": view_label, "definition_version": versions.get(str(ind_id), ""),
                    "data_version": data_version,
                })
    if not rows:
        return pd.DataFrame(columns=CHARACTERISTIC_COLUMNS)
    return pd.DataFrame(rows)[CHARACTERISTIC_COLUMNS]
