"""A scheme's results as a disclosed bundle: every table through the disclosure gate, written once.

:func:`scheme_bundle` gates a scored scheme (and its forecast and design aid, when given) and returns a
:class:`~gpscale.disclosure.Disclosed` that :func:`gpscale.bundle.write_bundle` writes; the dashboard's
scheme pages and the board pack's scheme section render from it (``gpscale scheme score --out DIR``).

**Which cells the gate decides.** A network's figure for a target is a sum of its counted members'
counts, so the gate sees it as a group total (``scheme_cells``, the family's source, with the members
each cell sums over): the network cell ``G|T`` (its counted members in the period), for an improvement
target the baseline cell ``G|T|baseline``, and for every counted member ``P`` the "network without it"
cells ``G|T|-P`` (and ``G|T|baseline|-P``), because a member's contribution row publishes what the
network would achieve without it -- the network total less the member's counts. With the members'
own counts (``practice_values``) these are one system of sums; the gate's equation rule and
linear-algebra audit (:mod:`gpscale.disclosure.pooled`) then ensure no hidden count is a sum or
difference of published ones (a member's suppressed count cannot be had as the network total less the
other members', nor as the network less "the network without it").

A row shows its values only when every cell it rests on is published: a score row its network (and
baseline) cell; a contribution row the member's own cell, the network's and the "without it" cells
(``TableSpec.also``); a forecast row its network cell in the year it was made from. A network's totals
(and forecast totals) are sums of its target rows, so they are withheld when any of them is hidden.
The design aid is recomputed without every network that has a hidden row (score, contribution or
forecast; :meth:`~gpscale.evaluate.schemes.design.SchemeDesign.without`): its sums, percentiles, shares,
histogram and sweep over all networks would otherwise give a hidden network's figures back, less the
published ones (``n_networks_left_out`` says how many networks each figure leaves out).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gpscale.disclosure import Disclosed, disclose
from gpscale.disclosure.gate import extend
from gpscale.disclosure.rules import REASON_COLUMN, SUPPRESSED_COLUMN
from gpscale.evaluate.common import enum_value
from gpscale.evaluate.schemes.design import DESIGN_COLUMNS, SWEEP_COLUMNS, TARGET_SHARE_COLUMNS, SchemeDesign
from gpscale.evaluate.schemes.forecast import FORECAST_COLUMNS, FORECAST_TOTAL_COLUMNS, SchemeForecast
from gpscale.evaluate.schemes.inputs import SchemeInputs
from gpscale.evaluate.schemes.money import ROUNDING
from gpscale.evaluate.schemes.scoring import (
    CONTRIBUTION_COLUMNS,
    SCORE_COLUMNS,
    TOTAL_COLUMNS,
    SchemeScore,
    baseline_period,
    entry_rows,
    network_members,
)

#: Cell kinds of ``scheme_cells``.
NETWORK, WITHOUT, BASELINE, BASELINE_WITHOUT = "network", "network without member", "baseline", \
    "baseline without member"
#: Why a derived row's sums are withheld.
WITHHELD = "a target row of this network is hidden"


_FLAGS = [SUPPRESSED_COLUMN, REASON_COLUMN]
SCHEME_CELL_COLUMNS = ["entity_type", "entity_id", "cell_kind", "group_id", "target_id", "practice_code",
                       "indicator_id", "period", "period_type", "numerator", "denominator"]
SCHEME_SCORE_COLUMNS = [*SCORE_COLUMNS, "cell_id", "baseline_cell_id"]
SCHEME_CONTRIBUTION_COLUMNS = [*CONTRIBUTION_COLUMNS, "baseline_period", "cell_id", "without_cell_id",
                               "baseline_cell_id", "baseline_without_cell_id"]
SCHEME_FORECAST_COLUMNS = [*FORECAST_COLUMNS, "cell_id"]
#: Tables derived from disclosed rows carry the gate's flag columns themselves.
SCHEME_TOTAL_COLUMNS = [*TOTAL_COLUMNS, *_FLAGS]
SCHEME_FORECAST_TOTAL_COLUMNS = [*FORECAST_TOTAL_COLUMNS, *_FLAGS]
SCHEME_DESIGN_COLUMNS = [*DESIGN_COLUMNS, *_FLAGS]
SCHEME_TARGET_SHARE_COLUMNS = [*TARGET_SHARE_COLUMNS, *_FLAGS]
SCHEME_SWEEP_COLUMNS = [*SWEEP_COLUMNS, *_FLAGS]


def cell_id(group_id: Any, target_id: str, baseline: bool = False, without: Any = None) -> str:
    """The gate's id of a network cell: ``G|T``, ``G|T|baseline``, ``G|T|-P``, ``G|T|baseline|-P``."""
    return f"{group_id}|{target_id}" + ("|baseline" if baseline else "") + (f"|-{without}" if without else "")


def _cells(score: SchemeScore, inputs: SchemeInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every cell a scheme table publishes (counts) and the members each sums over."""
    scheme, period = score.scheme, score.period
    members = network_members(scheme, inputs, period)
    cells: list[pd.DataFrame] = []
    sums: list[pd.DataFrame] = []
    for entry in scheme.indicators:
        e = entry_rows(scheme, inputs, members, entry, period)
        rows = e.rows[e.rows["counted"]]
        base = baseline_period(entry, period)
        kinds = [(False, period, "numerator", "denominator")]
        if base is not None:
            kinds.append((True, base, "base_numerator", "base_denominator"))
        networks = score.scores.loc[score.scores["target_id"] == entry.target_id, "group_id"]
        by = dict(tuple(rows.groupby("group_id", sort=False)))
        for is_base, when, num, den in kinds:
            for gid in networks:  # every scored network has a cell, one with no counted member too
                g = by.get(gid, rows.iloc[:0])
                n, d = float(g[num].sum()), float(g[den].sum())
                codes = g["practice_code"].astype(str).tolist()
                ids = [cell_id(gid, entry.target_id, is_base)] + [cell_id(gid, entry.target_id, is_base, c)
                                                                  for c in codes]
                cells.append(pd.DataFrame({
                    "entity_type": "group", "entity_id": ids,
                    "cell_kind": [BASELINE if is_base else NETWORK] + [BASELINE_WITHOUT if is_base else WITHOUT]
                    * len(codes),
                    "group_id": gid, "target_id": entry.target_id, "practice_code": [None, *codes],
                    "indicator_id": entry.indicator, "period": when, "period_type": "fy",
                    "numerator": np.r_[n, n - g[num].to_numpy(float)],
                    "denominator": np.r_[d, d - g[den].to_numpy(float)]}))
                sums.append(pd.DataFrame({"group_id": ids[0], "practice_code": codes, "period": when}))
                for c, i in zip(codes, ids[1:], strict=True):
                    sums.append(pd.DataFrame({"group_id": i, "practice_code": [x for x in codes if x != c],
                                              "period": when}))
    out = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=SCHEME_CELL_COLUMNS)
    by = pd.concat(sums, ignore_index=True) if sums else pd.DataFrame(columns=["group_id", "practice_code", "period"])
    return out[SCHEME_CELL_COLUMNS], by


def _practice_values(score: SchemeScore, inputs: SchemeInputs) -> pd.DataFrame:
    """Members' own values of the scheme's indicators in the period and the baseline years."""
    from gpscale.evaluate.registry import PRACTICE_VALUE_COLUMNS

    scheme = score.scheme
    periods = {score.period} | {b for e in scheme.indicators if (b := baseline_period(e, score.period))}
    codes = set(network_members(scheme, inputs, score.period)["practice_code"].astype(str))
    pv = inputs.practice_values
    pv = pv[pv["indicator_id"].isin({e.indicator for e in scheme.indicators}) & (pv["period_type"] == "fy")
            & pv["period"].isin(periods) & pv["practice_code"].astype(str).isin(codes)].copy()
    if "value" not in pv:
        mult = pv["indicator_id"].map({k: float(d.multiplier) for k, d in inputs.definitions.items()})
        pv["value"] = pv["numerator"] / pv["denominator"] * mult
    for c in PRACTICE_VALUE_COLUMNS:
        if c not in pv:
            pv[c] = None
    return pv[PRACTICE_VALUE_COLUMNS].reset_index(drop=True)


def _with_ids(score: SchemeScore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and contributions with the ids of the cells each row rests on."""
    base = {e.target_id: baseline_period(e, score.period) is not None for e in score.scheme.indicators}
    sc = score.scores.copy()
    sc["cell_id"] = [cell_id(g, t) for g, t in zip(sc["group_id"], sc["target_id"], strict=True)]
    sc["baseline_cell_id"] = [cell_id(g, t, True) if base[t] else None
                              for g, t in zip(sc["group_id"], sc["target_id"], strict=True)]
    co = score.contributions.copy()
    co["baseline_period"] = co["target_id"].map(
        {e.target_id: baseline_period(e, score.period) for e in score.scheme.indicators})
    counted = (co["status"] == "counted").to_numpy()
    trio = list(zip(co["group_id"], co["target_id"], co["practice_code"], counted, strict=True))
    co["cell_id"] = [cell_id(g, t) if c else None for g, t, _p, c in trio]
    co["without_cell_id"] = [cell_id(g, t, False, p) if c else None for g, t, p, c in trio]
    co["baseline_cell_id"] = [cell_id(g, t, True) if c and base[t] else None for g, t, _p, c in trio]
    co["baseline_without_cell_id"] = [cell_id(g, t, True, p) if c and base[t] else None for g, t, p, c in trio]
    return sc, co


def _withhold(frame: pd.DataFrame, hidden: pd.Series, columns: list[str], reason: str) -> pd.DataFrame:
    """``frame`` with ``columns`` null where ``hidden``, and the suppressed / suppression columns."""
    out = frame.copy()
    mask = hidden.to_numpy(bool)
    for c in columns:
        col = out[c]
        if pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("boolean")
        elif pd.api.types.is_integer_dtype(col.dtype):
            col = col.astype("Int64")
        out[c] = col.mask(mask)
    out[SUPPRESSED_COLUMN] = mask
    out[REASON_COLUMN] = np.where(mask, reason, "")
    return out


def _hidden_networks(*tables: pd.DataFrame) -> set[str]:
    """Networks with a hidden row in any of ``tables``."""
    return {str(g) for t in tables for g in t.loc[t[SUPPRESSED_COLUMN].astype(bool), "group_id"]}


def scheme_bundle(score: SchemeScore, inputs: SchemeInputs, forecast: SchemeForecast | None = None,
                  aid: SchemeDesign | None = None) -> Disclosed:
    """Gate a scheme's tables (see the module notes) and add the sums derived from disclosed rows."""
    from gpscale.evaluate.registry import REGISTRY

    cells, sums = _cells(score, inputs)
    scores, contributions = _with_ids(score)
    raw: dict[str, pd.DataFrame] = {"practice_values": _practice_values(score, inputs), "scheme_cells": cells,
                                    "scheme_scores": scores, "scheme_contributions": contributions}
    if forecast is not None:
        if forecast.origin != score.period:
            raise ValueError(f"the forecast was made from {forecast.origin}, the scores are of {score.period}")
        fc = forecast.forecasts.copy()
        fc["cell_id"] = [cell_id(g, t) for g, t in zip(fc["group_id"], fc["target_id"], strict=True)]
        raw["scheme_forecast"] = fc
    value_types = {k: enum_value(d.value_type) for k, d in inputs.definitions.items()}
    gated = disclose(raw, REGISTRY, value_types=value_types, members=sums)
    hidden = _hidden_networks(gated.tables["scheme_scores"])
    totals = score.totals
    extra = {"disclosure_log": gated.log, "scheme_totals": _withhold(
        totals, totals["group_id"].astype(str).isin(hidden),
        ["targets_met", "points", "payment_pence", "payment_gbp", "share_of_available"], WITHHELD)}
    if forecast is not None:
        ft = forecast.totals
        gone = _hidden_networks(gated.tables["scheme_forecast"])
        extra["scheme_forecast_totals"] = _withhold(
            ft, ft["group_id"].astype(str).isin(gone),
            ["expected_targets_met", "expected_payment_pence", "payment_lower_pence", "payment_upper_pence"],
            WITHHELD)
    if aid is not None:
        kept = aid.without(_hidden_networks(*(gated.tables[t] for t in (
            "scheme_scores", "scheme_contributions", "scheme_forecast") if t in gated.tables)))
        for name, frame in (("scheme_design_distribution", kept.distribution),
                            ("scheme_design_targets", kept.targets), ("scheme_design_sweep", kept.sweep)):
            extra[name] = frame.assign(**{SUPPRESSED_COLUMN: False, REASON_COLUMN: ""})
    return extend(gated, extra)


def scheme_meta(score: SchemeScore, inputs: SchemeInputs, forecast: SchemeForecast | None = None) -> dict[str, Any]:
    """What the manifest says about a scheme bundle (the dashboard and board pack find it by ``kind``)."""
    s = score.scheme
    return {"kind": "scheme", "scheme_id": s.id, "scheme_version": s.version, "scheme_title": s.title,
            "period": score.period, "membership_view": s.view.label, "data_version": inputs.data_version,
            "rounding": ROUNDING, "confidence": s.confidence,
            "forecast_period": forecast.period if forecast is not None else None,
            "indicators": sorted({e.indicator for e in s.indicators})}
