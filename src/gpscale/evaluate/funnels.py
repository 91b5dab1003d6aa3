"""Funnel plots: member practices and groups in England's funnel, and the limit lines the charts draw.

* :func:`national_funnels` / :func:`member_funnels`: every practice's position in England's funnel for
  the year, from :func:`gpscale.stats.funnels.funnel`, with the PHE limits (Wilson-score limits for
  proportions, exact Poisson limits for rates and ratios, around England's value at the practice's
  denominator) and with Spiegelhalter's additive random-effects overdispersion adjustment, whose
  between-practice variance ``tau^2`` is estimated once per indicator and year from *all* practices in
  England (a within-group estimate from five or ten practices would be meaningless). Survey-weighted
  proportions use the practice's Kish effective sample size. QOF scores are not counts of events, so the
  PHE limits (which would treat points as binomial trials) are "not applicable".
* :func:`group_funnels`: every group's pooled value in England's funnel: the PHE limits as for
  practices (descriptive), and as the adjusted limits the evaluative comparison's reference range
  (:mod:`gpscale.evaluate.evaluative`): where random groups of England's practices of the group's
  effective size fall, with the shape of the mean of that many practice values. The scorecard places every
  group in the same reference, so a group's funnel position and its scorecard cell agree. Spiegelhalter's
  symmetric normal limits with ``tau^2`` estimated from the groups leaned one way wherever practice values
  are skewed: on the real QOF files they called 0-1.3% of random groups better and 5.2-6.5% worse
  (docs/methods/placebo-calibration.md, "Funnels").
* :func:`funnel_curves`: the 95% and 99.8% limit lines over a grid of unit sizes for each indicator,
  year, kind of unit and kind of limits, so charts draw lines computed here rather than in a report. A
  group funnel's adjusted lines are the reference range of a group of typical practices of each size
  (:func:`_reference_curve`).

Every placed unit also gets its comparison label at 95% and 99.8% (:func:`position_label`): the
position read with the indicator's polarity.

With a comparator other than England (``--comparator region|icb|peers:K``, issue 15;
:class:`gpscale.evaluate.comparator.References`) each group, and each member practice of a group, is
placed around **its group's comparator value** instead (:func:`_place_against`; docs/methods/peers.md):
the PHE limits at the unit's own size around that value; the adjusted limits with member practices'
``tau^2`` from England's practices (as above) and groups' ``tau^2`` from every group's deviation from its
own comparator. Every row names its comparator; no limit lines are drawn for them (each group has its own
centre), so :func:`funnel_curves` covers England's funnels only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import FunnelPosition, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.common import PROVENANCE, enum_value, stacked
from gpscale.evaluate.comparator import References
from gpscale.evaluate.evaluative import EnglandReferences, Placement, place, placements_for_pooled
from gpscale.stats.funnels import _position_labels, _z_thresholds, funnel, spiegelhalter_overdispersion
from gpscale.stats.intervals import z_value
from gpscale.stats.limits import poisson_control_limits_at, proportion_control_limits

NOT_APPLICABLE = str(FunnelPosition.NOT_APPLICABLE)
MIN_UNITS = 3
CURVE_POINTS = 60

_PLACED = ["value", "denominator", "target", "lower_95", "upper_95", "lower_998", "upper_998", "position",
           "comparison_95", "comparison_998", "od_lower_95", "od_upper_95", "od_lower_998", "od_upper_998",
           "od_position", "od_comparison_95", "od_comparison_998", "tau2", "method", "od_method"]
FUNNEL_COLUMNS = ["group_id", "practice_code", "indicator_id", "period", "period_type", *_PLACED, "comparator",
                  *PROVENANCE]
GROUP_FUNNEL_COLUMNS = ["group_id", "indicator_id", "period", "period_type", "numerator", *_PLACED, "comparator",
                        *PROVENANCE]
CURVE_GRID_COLUMNS = ["indicator_id", "period", "units", "limits", "x", "lower_95", "upper_95", "lower_998",
                      "upper_998", "target", "method"]


def position_label(position: np.ndarray, polarity: str, confidence: float) -> np.ndarray:
    """Comparison labels (better / worse, or higher / lower without polarity; similar; not compared)."""
    pos = np.asarray(position).astype(str)
    high = np.char.startswith(pos, "High")
    outside = high | np.char.startswith(pos, "Low")
    if confidence == 0.998:
        outside &= ~np.char.endswith(pos, "(0.025)")
    if polarity == "no_judgement":
        side = np.where(high, "higher", "lower")
    else:
        side = np.where(high == (polarity == "high_is_good"), "better", "worse")
    placed = ~np.isin(pos, ["not compared", NOT_APPLICABLE])
    return np.where(outside, side, np.where(placed, "similar", "not compared"))


#: Funnel statistic per value type (others are proportions).
_STATISTIC = {"rate": "rate", "standardised_ratio": "ratio"}


def _funnel_inputs(rows: pd.DataFrame, value_type: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, n, funnel statistic) for a value type; survey shares are placed on Kish's effective sample size."""
    x = rows["numerator"].to_numpy(float)
    n = rows["denominator"].to_numpy(float)
    if value_type == "weighted_proportion":
        n_eff = rows["effective_n"].to_numpy(float) if "effective_n" in rows else n
        n_eff = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return x / n * n_eff, n_eff, "proportion"
    return x, n, _STATISTIC.get(value_type, "proportion")


def _place(rows: pd.DataFrame, definition: Any, target: float,
           adjusted: dict[float, Placement] | None = None) -> dict[str, Any]:
    """PHE and adjusted funnel placement of ``rows`` (numerator, denominator[, effective_n]) around ``target``.

    Returned as columns (arrays, or scalars for every row), stacked into one table by the caller
    (:func:`gpscale.evaluate.common.stacked`; issue 17: a data frame per year cost more than the placement).

    The adjusted limits are Spiegelhalter's (practices) or, given ``adjusted`` (groups: the evaluative
    placements of the same rows at 95% and 99.8%), the evaluative reference ranges (:func:`_reference_columns`).
    """
    vt, mult, pol = enum_value(definition.value_type), float(definition.multiplier), enum_value(definition.polarity)
    x, n, stat = _funnel_inputs(rows, vt)
    phe = funnel(x, n, stat, target=target, multiplier=mult)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = rows["numerator"].to_numpy(float) / rows["denominator"].to_numpy(float) * mult
    columns: dict[str, Any] = {
        "value": value, "denominator": n, "target": target * mult,
        "lower_95": phe.lower_95, "upper_95": phe.upper_95, "lower_998": phe.lower_998, "upper_998": phe.upper_998,
        "position": phe.position, "method": phe.method,
    }
    if adjusted is None:
        od = funnel(x, n, stat, target=target, multiplier=mult, overdispersion=True)  # type: ignore[arg-type]
        columns.update(od_lower_95=od.lower_95, od_upper_95=od.upper_95, od_lower_998=od.lower_998,
                       od_upper_998=od.upper_998, od_position=od.position,
                       tau2=od.overdispersion.tau2 if od.overdispersion else np.nan, od_method=od.method)
    else:
        columns.update(_reference_columns(adjusted, mult))
    return _labelled(columns, vt, pol)


def _labelled(columns: dict[str, Any], value_type: str, polarity: str) -> dict[str, Any]:
    """``columns`` (a placement) with the PHE limits blanked for QOF scores, which are not counts of events, and
    every position read as a comparison label at 95% and 99.8% (the last step of both placements)."""
    if value_type == "score":
        columns.update(dict.fromkeys(["lower_95", "upper_95", "lower_998", "upper_998"], np.nan))
        columns["position"] = NOT_APPLICABLE
        columns["method"] = "PHE limits not applicable: QOF points are not counts of events"
    for pre in ("", "od_"):
        for conf, k in ((0.95, "95"), (0.998, "998")):
            columns[f"{pre}comparison_{k}"] = position_label(np.asarray(columns[f"{pre}position"]), polarity, conf)
    return columns


def _place_against(rows: pd.DataFrame, definition: Any, targets: np.ndarray, tau2: float | None) -> dict[str, Any]:
    """PHE and adjusted placement of ``rows``, each around its own comparator value ``targets`` (natural scale).

    The same limits as :func:`_place` (PHE at the unit's size; ``target +/- z sqrt(s^2 + tau^2)``), evaluated
    per unit, as columns (as :func:`_place`). ``tau2`` None: estimated (the consistent winsorised estimator
    :func:`_place` uses) from the units' deviations from their own targets, ``(value - target) / s``. A unit
    without a target is not compared.
    """
    vt, mult, pol = enum_value(definition.value_type), float(definition.multiplier), enum_value(definition.polarity)
    x, n, stat = _funnel_inputs(rows, vt)
    t = np.asarray(targets, float)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & np.isfinite(t)
    n_ok, t_ok = np.where(ok, n, 1.0), np.where(ok, t, 0.5)
    y = np.where(ok, x / n_ok, np.nan)
    s = np.sqrt(t_ok * (1 - t_ok) / n_ok if stat == "proportion" else t_ok / n_ok)
    if tau2 is None:
        tau2 = spiegelhalter_overdispersion(y[ok] - t_ok[ok], 0.0, s[ok]).tau2 if ok.any() else 0.0
    phe = [np.where(ok, v, np.nan) for v in _curve(stat, t_ok, n_ok, None)]
    od = [np.where(ok, v, np.nan) for v in _curve(stat, t_ok, n_ok, tau2)]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (y - t) / np.sqrt(s**2 + tau2)
        value = rows["numerator"].to_numpy(float) / rows["denominator"].to_numpy(float) * mult
    thresholds = [np.full(len(z), q) for q in _z_thresholds()]
    limits = "Wilson score" if stat == "proportion" else "exact Poisson"
    columns = {
        "value": value, "denominator": n, "target": t * mult,
        **{c: v * mult for c, v in zip(("lower_95", "upper_95", "lower_998", "upper_998"), phe, strict=True)},
        "position": np.where(ok, _position_labels(y, *phe), str(FunnelPosition.NOT_COMPARED)),
        **{f"od_{c}": v * mult for c, v in zip(("lower_95", "upper_95", "lower_998", "upper_998"), od, strict=True)},
        "od_position": np.where(ok, _position_labels(z, *thresholds), str(FunnelPosition.NOT_COMPARED)),
        "tau2": tau2,
        "method": f"PHE funnel limits ({limits}) around each unit's comparator value",
        "od_method": f"Spiegelhalter additive random-effects overdispersion adjustment around each unit's comparator "
                     f"value (consistent tau^2 estimator, z-scores winsorised at 10%, tau^2={tau2:.4g})",
    }
    return _labelled(columns, vt, pol)


#: ``od_method`` of a group funnel: the evaluative comparison's reference range.
REFERENCE_METHOD = ("evaluative reference range: where random groups of England's practices of the group's "
                    "effective size fall (centre England's value, variance tau^2/k_eff (N-k_eff)/(N-1) + phi x "
                    "patient-level sampling variance, shape the exact distribution of the mean of k_eff England "
                    "practices), as the scorecard's evaluative comparison")


def _reference_columns(placed: dict[float, Placement], mult: float) -> dict[str, Any]:
    """The adjusted columns of a group funnel from its evaluative placements at 95% and 99.8%.

    The limits are the reference ranges; the position is the funnel's wording of the placements'
    directions (outside the 99.8% range is "High (0.001)" / "Low (0.001)"); ``tau2`` is England's
    between-practice variance beyond sampling, unscaled, as the reference uses it.
    """
    p95, p998 = placed[0.95], placed[0.998]
    position = np.select(
        [p998.direction < 0, p95.direction < 0, p998.direction > 0, p95.direction > 0],
        [str(FunnelPosition.LOW_0001), str(FunnelPosition.LOW_0025), str(FunnelPosition.HIGH_0001),
         str(FunnelPosition.HIGH_0025)], default=str(FunnelPosition.NOT_SIGNIFICANT))
    return {"od_lower_95": p95.reference_lower * mult, "od_upper_95": p95.reference_upper * mult,
            "od_lower_998": p998.reference_lower * mult, "od_upper_998": p998.reference_upper * mult,
            "od_position": np.where(p95.compared, position, str(FunnelPosition.NOT_COMPARED)),
            "tau2": p95.between_practice_sd**2, "od_method": REFERENCE_METHOD}


def _target(rows: pd.DataFrame, value_type: str) -> float:
    x, n, stat = _funnel_inputs(rows, value_type)
    if stat == "ratio":
        return float(np.nansum(x) / np.nansum(n))
    return float(rows["numerator"].sum() / rows["denominator"].sum())


def _keyed(placed: dict[str, Any], unit: str, ids: pd.Series, indicator_id: str, period: str) -> dict[str, Any]:
    """Placement columns with their key columns in front (unit, indicator, financial year)."""
    return {unit: ids.to_numpy(), "indicator_id": indicator_id, "period": period, "period_type": "fy", **placed}


def national_funnels(practice_values: pd.DataFrame, definitions: Mapping[str, Any]) -> pd.DataFrame:
    """Every practice's funnel position (PHE and overdispersion-adjusted) per indicator and financial year."""
    pv = pooling.usable(practice_values)
    pv = pv[pv["period_type"] == "fy"]
    out = []
    for ind_id, d in definitions.items():
        rows_i = pv[pv["indicator_id"] == ind_id]
        for period, rows in rows_i.groupby("period", sort=True):
            if len(rows) < MIN_UNITS:
                continue
            placed = _place(rows, d, _target(rows, enum_value(d.value_type)))
            out.append(_keyed(placed, "practice_code", rows["practice_code"], ind_id, period))
    if not out:
        return pd.DataFrame(columns=["practice_code", "indicator_id", "period", "period_type", *_PLACED])
    return stacked(out)


def _provenance(frame: pd.DataFrame, view_label: str, data_version: str,
                versions: Mapping[str, str] | None) -> pd.DataFrame:
    if "comparator" not in frame:
        frame["comparator"] = pooling.ENGLAND_NAME
    frame["membership_view"] = view_label
    frame["definition_version"] = frame["indicator_id"].map(versions or {}).astype(object).fillna("")
    frame["data_version"] = data_version
    return frame


def _comparator_of(rows: pd.DataFrame, references: References) -> tuple[np.ndarray, np.ndarray]:
    """(target on the natural scale, comparator name) of each row's group, indicator and year."""
    ref = references.values.assign(_target=lambda r: r["numerator"] / r["denominator"])
    keys = ["group_id", "indicator_id", "period"]
    j = rows[keys].merge(ref[[*keys, "_target", "comparator"]].drop_duplicates(keys), on=keys, how="left")
    return j["_target"].to_numpy(float), j["comparator"].fillna(references.missing).to_numpy(object)


def member_funnels(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    national: pd.DataFrame | None = None,
    references: References | None = None,
) -> pd.DataFrame:
    """Member practices' positions in England's funnel, per group, indicator and financial year.

    With ``references`` (a comparator other than England) each member is placed around its group's
    comparator value instead, with England's between-practice ``tau^2`` for the adjusted limits.
    """
    nat = national_funnels(practice_values, definitions) if national is None else national
    out = nat.merge(members, on=["practice_code", "period"], how="inner")
    if references is not None:
        out = _members_against(practice_values, out, definitions, references)
    out = _provenance(out, view_label, data_version, versions)
    return out[FUNNEL_COLUMNS].sort_values(["group_id", "indicator_id", "period", "practice_code"]).reset_index(
        drop=True)


def _members_against(practice_values: pd.DataFrame, placed: pd.DataFrame, definitions: Mapping[str, Any],
                     references: References) -> pd.DataFrame:
    """England's member placements ``placed`` re-placed around each group's comparator, England's ``tau^2`` kept."""
    pv = pooling.usable(practice_values)
    keys = ["practice_code", "indicator_id", "period"]
    rows = placed[["group_id", *keys, "tau2"]].merge(pv[pv["period_type"] == "fy"].drop_duplicates(keys), on=keys)
    out = []
    for (ind_id, period), r in rows.groupby(["indicator_id", "period"], sort=True):
        target, name = _comparator_of(r, references)
        p = _keyed(_place_against(r, definitions[str(ind_id)], target, float(r["tau2"].iloc[0])), "group_id",
                   r["group_id"], str(ind_id), str(period))
        out.append({**p, "practice_code": r["practice_code"].to_numpy(), "comparator": name})
    return stacked(out) if out else placed.iloc[:0].assign(comparator=pd.Series(dtype=object))


def group_funnels(
    pooled: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    *,
    references: EnglandReferences,
    members: pd.DataFrame,
    comparator: References | None = None,
) -> pd.DataFrame:
    """Every group's pooled value in England's funnel per indicator and financial year (``pooled``: see
    :func:`gpscale.evaluate.pooling.pooled_table`, built from ``members``); the adjusted limits are the
    evaluative reference ranges from ``references`` (England's, over the same practice values).

    With ``comparator`` (a comparator other than England) each group is placed around its own comparator's
    value instead, ``tau^2`` estimated from every group's deviation from its own comparator
    (docs/methods/peers.md).
    """
    fy = pooled[(pooled["period_type"] == "fy") & (pooled["denominator"] > 0) & pooled["numerator"].notna()]
    index = references.members(members[members["period"].astype(str).str.startswith("FY")])
    out = []
    for ind_id, d in definitions.items():
        rows_i = fy[fy["indicator_id"] == ind_id]
        if rows_i.empty:
            continue
        vt = enum_value(d.value_type)
        placed_i = {} if comparator is not None else placements_for_pooled(rows_i, references, index, ind_id, vt,
                                                                            (0.95, 0.998))
        at = pd.Series(np.arange(len(rows_i)), index=rows_i.index)
        for period, rows in rows_i.groupby("period", sort=True):
            eng = rows[rows["entity_type"] == "england"]
            grp = rows[rows["entity_type"] == "group"]
            if eng.empty or len(grp) < MIN_UNITS:
                continue
            if comparator is None:
                sel = at[grp.index].to_numpy()
                adjusted = {c: _subset(p, sel) for c, p in placed_i.items()}
                placed = _keyed(_place(grp, d, _target(eng, vt), adjusted), "group_id", grp["entity_id"], ind_id,
                                period)
            else:
                keyed = grp.assign(group_id=grp["entity_id"])
                target, name = _comparator_of(keyed, comparator)
                placed = {**_keyed(_place_against(keyed, d, target, None), "group_id", grp["entity_id"], ind_id,
                                   period), "comparator": name}
            out.append({**placed, "numerator": grp["numerator"].to_numpy(float)})
    if not out:
        return pd.DataFrame(columns=GROUP_FUNNEL_COLUMNS)
    frame = _provenance(stacked(out), view_label, data_version, versions)
    return frame[GROUP_FUNNEL_COLUMNS].sort_values(["indicator_id", "period", "group_id"]).reset_index(drop=True)


def _subset(placement: Placement, rows: np.ndarray) -> Placement:
    """The placement of some of the rows it was computed for."""
    return Placement(*(np.asarray(getattr(placement, f.name))[rows] for f in fields(Placement)))


def _curve(stat: str, centre: float | np.ndarray, grid: np.ndarray, tau2: float | None) -> list[np.ndarray]:
    """Lower/upper 95% and 99.8% limits over ``grid`` (PHE when ``tau2`` is None), on the natural scale
    (``centre`` one value, or one per grid point)."""
    if tau2 is not None:
        var = centre * (1 - centre) / grid if stat == "proportion" else centre / grid
        sd = np.sqrt(var + tau2)
        lims = [centre + sign * z_value(level) * sd for level in (0.95, 0.998) for sign in (-1.0, 1.0)]
        return [np.clip(v, 0.0, 1.0) if stat == "proportion" else np.maximum(v, 0.0) for v in lims]
    if stat == "proportion":
        return [*proportion_control_limits(grid, centre, 0.95), *proportion_control_limits(grid, centre, 0.998)]
    (lo95, hi95), (lo998, hi998) = poisson_control_limits_at(centre * grid, (0.95, 0.998))
    return [v / grid for v in (lo95, hi95, lo998, hi998)]


def _reference_curve(references: EnglandReferences, indicator_id: str, value_type: str, period: str,
                     grid: np.ndarray) -> list[np.ndarray]:
    """Lower/upper 95% and 99.8% evaluative reference ranges (unscaled) of groups of ``grid`` sizes.

    A group's range depends on its effective number of practices as well as its size; the line is drawn
    for groups of typical England practices: with ``W`` the group's denominator, ``Σ w^2 = W w̄`` where
    ``w̄ = Σ n_i^2 / Σ n_i`` over England's practices (the expected ``Σ w^2 / Σ w`` of a random group), so
    ``k_eff = W / w̄``; survey shares' grid is Kish's effective size, converted with England's ratio of
    effective to actual denominators. Exact for QOF scores (every practice has the same maximum points).
    """
    vt = ValueType(value_type)
    arrays = references.arrays
    rows = arrays.rows(indicator_id)
    rows = rows[arrays.period[rows] == pd.Index(arrays.periods).get_indexer([period])[0]]
    n = arrays.denominator[rows]
    if not n.size:
        return [np.full(grid.size, np.nan)] * 4
    centre = float(arrays.numerator[rows].sum() / n.sum())
    size = n
    if vt is ValueType.WEIGHTED_PROPORTION:
        neff = arrays.effective_n[rows]
        size = np.where(np.isfinite(neff) & (neff > 0), neff, n)
    den = grid * (n.sum() / size.sum())
    sums = pd.DataFrame({"entity_id": "curve", "period": period, "period_type": "fy", "numerator": centre * den,
                         "denominator": den, "sum_w2": np.minimum(den * float((n * n).sum() / n.sum()), den**2),
                         "effective_n": grid if vt is ValueType.WEIGHTED_PROPORTION else np.nan,
                         "n_practices": 0})
    placed = place(sums, references.for_groups(indicator_id, vt, sums), vt, (0.95, 0.998))
    return [placed[0.95].reference_lower, placed[0.95].reference_upper, placed[0.998].reference_lower,
            placed[0.998].reference_upper]


def funnel_curves(placed: pd.DataFrame, units: str, definitions: Mapping[str, Any],
                  references: EnglandReferences | None = None) -> pd.DataFrame:
    """Limit lines for every indicator and year of a placement table (``funnels`` or ``group_funnels``).

    The grid spans the units' sizes (denominators, effective sizes for surveys) from 0.8 times the
    smallest to 1.2 times the largest, log-spaced; ``units`` names the kind of unit ("practices", "groups").
    Rows placed against another comparator have no lines: each group has its own centre (module notes).
    With ``references`` (group funnels) the adjusted lines are the evaluative reference ranges
    (:func:`_reference_curve`), otherwise Spiegelhalter's limits with the table's ``tau2``.
    """
    if "comparator" in placed:
        placed = placed[placed["comparator"] == pooling.ENGLAND_NAME]
    out = []
    first = placed.drop_duplicates(["indicator_id", "period", *(["practice_code"] if "practice_code" in placed
                                                                 else ["group_id"])])
    for (ind_id, period), rows in first.groupby(["indicator_id", "period"], sort=True):
        d = definitions.get(str(ind_id))
        n = rows["denominator"].to_numpy(float)
        n = n[np.isfinite(n) & (n > 0)]
        if d is None or not n.size:
            continue
        vt, mult = enum_value(d.value_type), float(d.multiplier)
        stat = _STATISTIC.get(vt, "proportion")
        centre = float(rows["target"].iloc[0]) / mult
        tau2 = float(rows["tau2"].iloc[0]) if pd.notna(rows["tau2"].iloc[0]) else 0.0
        grid = np.geomspace(max(n.min() * 0.8, 1e-6), n.max() * 1.2, CURVE_POINTS)
        kinds: list[tuple[str, float | None, str]] = [("adjusted", tau2, str(rows["od_method"].iloc[0]))]
        if vt != "score":
            kinds.append(("phe", None, str(rows["method"].iloc[0])))
        for limits, t2, method in kinds:
            if limits == "adjusted" and references is not None:
                lo95, hi95, lo998, hi998 = _reference_curve(references, str(ind_id), vt, str(period), grid)
            else:
                lo95, hi95, lo998, hi998 = _curve(stat, centre, grid, t2)
            out.append({"indicator_id": ind_id, "period": period, "units": units, "limits": limits, "x": grid,
                        "lower_95": lo95 * mult, "upper_95": hi95 * mult, "lower_998": lo998 * mult,
                        "upper_998": hi998 * mult, "target": centre * mult, "method": method})
    if not out:
        return pd.DataFrame(columns=CURVE_GRID_COLUMNS)
    return stacked(out)[CURVE_GRID_COLUMNS]
