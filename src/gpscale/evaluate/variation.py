"""Variation between member practices: dispersion over time, and whether it narrows.

Two tables, on financial years (monthly indicators by their financial-year roll-ups); the member
practices' funnel positions they use are :mod:`gpscale.evaluate.funnels`:

* :func:`dispersion`: per group (and England) and year, the spread of member practices' values: the
  interquartile range, the coefficient of variation weighted by denominator, and for counts the
  systematic component of variation around the group's own pooled value (McPherson et al. 1982), plus
  how many members lie outside the adjusted 95% and 99.8% funnel limits.
* :func:`convergence`: per group (and England), indicator and data-break segment, whether the
  denominator-weighted coefficient of variation narrows over the years:
  :func:`gpscale.stats.variation.dispersion_trend`, a least-squares slope of the measure with a
  bootstrap over practices. Needs three or more years and three or more practices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import FunnelPosition, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.common import PROVENANCE, fy_year, segments, stacked
from gpscale.stats.variation import (
    coefficient_of_variation,
    dispersion_trend,
    dispersion_trends,
    draws_at_once,
    systematic_component_of_variation,
)

MIN_UNITS = 3
MIN_PERIODS = 3
#: Bootstrap resamples for England's convergence test: with thousands of practices the bootstrap
#: distribution of the slope is close to normal and narrow, and each resample costs thousands of times a
#: group's, so fewer resamples are used (the row's method says how many).
ENGLAND_BOOT = 99

DISPERSION_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "period", "period_type", "n_practices", "statistic", "value",
    "method", *PROVENANCE,
]

CONVERGENCE_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "segment_first", "segment_last", "n_periods", "n_practices",
    "statistic", "value", "lower", "upper", "confidence", "p_value", "direction", "first_value", "last_value",
    "method", *PROVENANCE,
]


def _units(period: np.ndarray, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Member rows slotted into (period, unit) cells by integer codes: (order, cell, slot, cell starts).

    ``order`` sorts the rows by cell, stably, so each cell keeps its rows in their input order (the order
    their values are summed in); ``cell`` numbers each sorted row's cell and ``slot`` is its position there.
    """
    p_codes, _p = pd.factorize(period)
    u_codes, u_ids = pd.factorize(unit)
    pair = p_codes.astype(np.int64) * max(len(u_ids), 1) + u_codes
    order = np.argsort(pair, kind="stable")
    first = np.concatenate([[True], pair[order][1:] != pair[order][:-1]]) if len(order) else np.array([], bool)
    starts = np.flatnonzero(first)
    cell = np.cumsum(first) - 1
    return order, cell, np.arange(len(order)) - starts[cell], starts


def _iqr_rows(value: np.ndarray, count: np.ndarray) -> np.ndarray:
    """:func:`gpscale.stats.variation.interquartile_range` of each row of a NaN-padded array.

    Rows are sorted so their values come first, and rows with the same number of values are taken
    together, NaN-free, through ``np.percentile`` with the same (linear) interpolation: numpy's NaN-aware
    percentile works row by row and is two orders of magnitude slower on national data. A test checks
    the two agree.
    """
    out = np.full(len(value), np.nan)
    ordered = np.sort(value, axis=1)  # NaNs sort last
    for c in np.unique(count):
        if c == 0:
            continue
        rows = count == c
        q1, q3 = np.percentile(ordered[rows, :c], [25.0, 75.0], axis=1)
        out[rows] = q3 - q1
    return out


def _spread_rows(x: np.ndarray, n: np.ndarray, value_type: ValueType, mult: float) -> dict[str, np.ndarray]:
    """Member count, IQR, weighted CV and (counts) SCV of each row of NaN-padded numerators and denominators."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = x / n * mult
        pooled = np.nansum(x, axis=1) / np.nansum(n, axis=1)
    count = np.isfinite(value).sum(axis=1)
    few = count < MIN_UNITS
    with np.errstate(invalid="ignore", divide="ignore"):
        res = {"n_practices": count, "iqr": np.where(few, np.nan, _iqr_rows(value, count)),
               "cv": np.where(few, np.nan, coefficient_of_variation(value, n, axis=1))}
    if value_type.counts_events:
        expected = n * pooled[:, None]
        binomial = value_type is ValueType.PROPORTION
        with np.errstate(invalid="ignore", divide="ignore"):
            scv = systematic_component_of_variation(x, expected, axis=1, kind="binomial" if binomial else "poisson",
                                                    proportion=pooled[:, None] if binomial else None)
        res["scv"] = np.where(few, np.nan, scv)
    return res


def _spread(rows: pd.DataFrame, unit: np.ndarray, value_type: ValueType, mult: float) -> dict[str, np.ndarray]:
    """IQR, weighted CV and (counts) SCV of member values per period and ``unit``, as long columns.

    Each (period, unit) cell is a row of members' values, NaN-padded to the largest cell of its period:
    sums over a row depend on its padded width (numpy sums in blocks of eight), so the width is the one each
    period had when periods were taken one at a time, and the cells of all periods with one width are
    computed together (issue 17: integer codes instead of a group-by on strings per period).
    """
    period = rows["period"].to_numpy()
    order, cell, slot, starts = _units(period, unit)
    size = np.diff(np.concatenate([starts, [len(order)]]))
    cell_period = pd.factorize(period[order][starts])[0]
    width = np.zeros(cell_period.max() + 1 if len(starts) else 0, dtype=np.int64)
    np.maximum.at(width, cell_period, size)
    cell_width = width[cell_period]
    x_all, n_all = rows["numerator"].to_numpy(float)[order], rows["denominator"].to_numpy(float)[order]
    stats: dict[str, np.ndarray] = {}
    for w in np.unique(cell_width):
        cells = np.flatnonzero(cell_width == w)
        local = np.full(len(starts), -1)
        local[cells] = np.arange(len(cells))
        mine = local[cell] >= 0
        x, n = np.full((len(cells), w), np.nan), np.full((len(cells), w), np.nan)
        x[local[cell[mine]], slot[mine]] = x_all[mine]
        n[local[cell[mine]], slot[mine]] = n_all[mine]
        for name, v in _spread_rows(x, n, value_type, mult).items():
            stats.setdefault(name, np.empty(len(starts), dtype=v.dtype))[cells] = v
    count = stats.pop("n_practices", np.zeros(0, dtype=np.int64))
    names = list(stats)
    k = len(names)
    return {"entity_id": np.tile(unit[order][starts], k), "period": np.tile(period[order][starts], k),
            "n_practices": np.tile(count, k), "statistic": np.repeat(np.array(names, dtype=object), len(starts)),
            "value": np.concatenate([stats[s] for s in names]) if names else np.zeros(0)}


_DISPERSION_METHODS = {
    "iqr": "interquartile range of member practices' values (indicator units)",
    "cv": "coefficient of variation of member practices' values, weighted by denominator",
    "scv": "systematic component of variation around the group's pooled value (McPherson et al. 1982)",
    "outside_95": "member practices outside England's overdispersion-adjusted 95% funnel limits",
    "outside_998": "member practices outside England's overdispersion-adjusted 99.8% funnel limits",
}


def dispersion(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    funnels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Spread of member practices per group (and all practices for England), indicator and year."""
    pv = pooling.usable(practice_values)
    pv = pv[pv["period_type"] == "fy"]
    versions = versions or {}
    parts: list[dict[str, Any]] = []
    for ind_id, d in definitions.items():
        vt, mult = ValueType(d.value_type), float(d.multiplier)
        rows = pv[pv["indicator_id"] == ind_id]
        if rows.empty:
            continue
        grp = rows.merge(members, on=["practice_code", "period"], how="inner")
        parts.append({**_spread(grp, grp["group_id"].to_numpy(), vt, mult), "entity_type": "group",
                      "indicator_id": ind_id})
        parts.append({**_spread(rows, np.full(len(rows), pooling.ENGLAND_ID, dtype=object), vt, mult),
                      "entity_type": "england", "indicator_id": ind_id})
    out = [stacked(parts)] if any(len(p["value"]) for p in parts) else []
    if funnels is not None and not funnels.empty:
        f = funnels.assign(
            outside_95=funnels["od_position"].isin([str(p) for p in FunnelPosition if p.outside_95]),
            outside_998=funnels["od_position"].isin([str(p) for p in FunnelPosition if p.outside_998]),
        )
        cnt = f.groupby(["group_id", "indicator_id", "period"], as_index=False).agg(
            n_practices=("practice_code", "nunique"), outside_95=("outside_95", "sum"),
            outside_998=("outside_998", "sum"))
        long = cnt.melt(id_vars=["group_id", "indicator_id", "period", "n_practices"],
                        value_vars=["outside_95", "outside_998"], var_name="statistic", value_name="value")
        out.append(long.rename(columns={"group_id": "entity_id"}).assign(entity_type="group"))
    if not out:
        return pd.DataFrame(columns=DISPERSION_COLUMNS)
    res = pd.concat(out, ignore_index=True)
    res["period_type"] = "fy"
    res["method"] = res["statistic"].map(_DISPERSION_METHODS)
    res["membership_view"] = np.where(res["entity_type"] == "group", view_label, "all practices")
    res["definition_version"] = res["indicator_id"].map(versions).astype(object).fillna("")
    res["data_version"] = data_version
    return res[DISPERSION_COLUMNS].sort_values(["indicator_id", "entity_type", "entity_id", "period", "statistic"],
                                               ignore_index=True)


def convergence(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    n_boot: int = 499,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Is variation between member practices narrowing? One row per entity, indicator and segment.

    The measure is the denominator-weighted coefficient of variation of member practices' values in
    each year (:func:`gpscale.stats.variation.dispersion_trend`, percentile bootstrap over practices with
    ``n_boot`` resamples); the per-year SCV and IQR are in :func:`dispersion`.
    """
    pv = pooling.usable(practice_values)
    pv = pv[pv["period_type"] == "fy"]
    versions = versions or {}
    # every (entity, indicator, segment) with enough data, then one bootstrap per shape (units x years)
    units: list[tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, list[str], int]] = []
    for ind_id, d in definitions.items():
        rows = pv[pv["indicator_id"] == ind_id]
        if rows.empty:
            continue
        grp = rows.merge(members, on=["practice_code", "period"], how="inner")
        for seg in segments(sorted(rows["period"].unique()), list(getattr(d, "data_breaks", []) or [])):
            if len(seg) < MIN_PERIODS:
                continue
            times = np.array([fy_year(p) for p in seg], dtype=float)
            e_rows = rows[rows["period"].isin(seg)].assign(group_id=pooling.ENGLAND_ID)
            for etype, frame in (("england", e_rows), ("group", grp[grp["period"].isin(seg)])):
                boots = n_boot if etype == "group" else ENGLAND_BOOT
                for eid, x, n in _unit_matrices(frame, seg):
                    kept = _kept_years(x, n, times)
                    if kept is not None:
                        key = {"entity_type": etype, "entity_id": eid, "indicator_id": ind_id}
                        units.append((key, *kept, seg, boots))
    rows_out = [{**_row(res, seg, len(v)), **key}
                for (key, v, _n, _t, seg, _b), res in zip(units, _trends(units, confidence, seed), strict=True)]
    if not rows_out:
        return pd.DataFrame(columns=CONVERGENCE_COLUMNS)
    res = pd.DataFrame(rows_out)
    res["membership_view"] = np.where(res["entity_type"] == "group", view_label, "all practices")
    res["definition_version"] = res["indicator_id"].map(versions).astype(object).fillna("")
    res["data_version"] = data_version
    return res[CONVERGENCE_COLUMNS]


def _unit_matrices(frame: pd.DataFrame, seg: list[str]) -> Any:
    """Yield (group_id, numerators, denominators) as practices x years arrays, one group at a time."""
    if frame.empty:
        return
    f = frame.sort_values(["group_id", "practice_code"], kind="stable")
    g_codes, g_ids = pd.factorize(f["group_id"], sort=False)
    p_codes = pd.factorize(f["practice_code"], sort=False)[0].astype(np.int64)
    pair = pd.factorize(g_codes.astype(np.int64) * (int(p_codes.max()) + 1) + p_codes, sort=False)[0]  # integer pairs
    t_index = pd.Index(seg).get_indexer(f["period"])
    x_all = np.full((pair.max() + 1, len(seg)), np.nan)
    n_all = np.full((pair.max() + 1, len(seg)), np.nan)
    x_all[pair, t_index] = f["numerator"].to_numpy(float)
    n_all[pair, t_index] = f["denominator"].to_numpy(float)
    pair_group = np.empty(pair.max() + 1, dtype=np.int64)
    pair_group[pair] = g_codes
    bounds = np.flatnonzero(np.diff(pair_group)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(pair_group)]])
    for a, b in zip(starts, ends, strict=True):
        yield str(g_ids[pair_group[a]]), x_all[a:b], n_all[a:b]


def _kept_years(x: np.ndarray, n: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Member values, weights and times of the years with MIN_UNITS practices, or None if too few years."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = x / n
    per_year = np.isfinite(value).sum(axis=0)
    keep = per_year >= MIN_UNITS
    # each year used needs at least MIN_UNITS practices with values for its dispersion to mean anything
    if keep.sum() < MIN_PERIODS or len(x) < MIN_UNITS:
        return None
    return value[:, keep], np.nan_to_num(n[:, keep]), times[keep]


def _trends(units: list[Any], confidence: float, seed: int) -> list[Any]:
    """:func:`dispersion_trend` of the weighted CV for each unit set, sets of one shape taken together."""
    out: list[Any] = [None] * len(units)
    batches: dict[tuple[Any, ...], list[int]] = {}
    for i, (_key, v, _n, t, _seg, boots) in enumerate(units):
        batches.setdefault((v.shape, tuple(t), boots), []).append(i)
    for (shape, t, boots), idx in batches.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            if draws_at_once(shape[0], shape[1], boots):
                res = dispersion_trends(np.stack([units[i][1] for i in idx]), np.stack([units[i][2] for i in idx]),
                                        times=np.array(t), confidence=confidence, n_boot=boots, seed=seed)
            else:
                res = [dispersion_trend(units[i][1], measure="cv", times=np.array(t), weights=units[i][2],
                                        confidence=confidence, n_boot=boots, seed=seed) for i in idx]
        for i, r in zip(idx, res, strict=True):
            out[i] = r
    return out


def _row(res: Any, seg: list[str], n_practices: int) -> dict[str, Any]:
    finite = res.by_period[np.isfinite(res.by_period)]
    return {
        "segment_first": seg[0], "segment_last": seg[-1], "n_periods": len(res.times), "n_practices": n_practices,
        "statistic": "cv slope per year", "value": res.slope, "lower": res.lower, "upper": res.upper,
        "confidence": res.confidence, "p_value": res.p_value, "direction": res.direction,
        "first_value": float(finite[0]) if finite.size else np.nan,
        "last_value": float(finite[-1]) if finite.size else np.nan, "method": res.method,
    }
