"""Scoring a scheme: every network's achievement, points and payment per target, and each member's part.

For each network (every group the scheme covers, PCNs and registry groups alike) and each target:

1. **Members** are the practices the scheme's membership view puts in the network for the period
   (:func:`gpscale.groups.membership.members_by_period`), less practices not open in the period.
2. **Exceptions** leave members out (:class:`~gpscale.evaluate.schemes.model.ExceptionRules`): a list
   below ``min_list_size``, opening within ``new_practice_months`` of the period's start, no usable value
   (``missing_data: exclude``), or for an improvement target no value in the baseline year. With
   ``missing_data: fail`` a member without data makes the network miss that target instead.
3. **Achievement** is computed from the counted members' pooled counts, never an average of practice
   percentages (:mod:`gpscale.evaluate.pooling`'s rule): Σ numerator / Σ denominator x the indicator's
   multiplier; for an improvement target the change on the same practices' pooled baseline value, signed
   so that better is positive; for a practice-share target the share of counted members whose own value
   is at least as good as the standard. It is computed exactly in decimals for the payment.
4. **Interval** (at the scheme's ``confidence``): the network's pooled value has the scorecard's interval
   for its value type (:func:`gpscale.evaluate.scorecard.intervals`: Wilson, Poisson, Kish-Wilson, or the
   t interval of member practices' scores). An improvement's interval is that interval less the baseline
   (the baseline is an observed, fixed reference like a standard). A practice share's interval runs from
   the share of members whose own interval lies wholly on the good side of the standard to the share whose
   interval reaches it. ``target_in_interval`` says the target lies inside the interval: whether the
   network met it is then within chance.
5. **Points and payment** by :mod:`gpscale.evaluate.schemes.targets` and :mod:`gpscale.evaluate.schemes.money`
   (exact decimals, rounded once to the penny).
6. **Member contributions**: for every counted member, what the network would achieve, and earn, without
   that practice (its counts removed; the value available held fixed), and if that practice reached the
   standard (its value raised to the standard, the upper threshold, or its own baseline plus the required
   improvement, if it was worse; for a practice share, counted as meeting). ``decisive`` marks members
   whose removal or improvement would change whether the network meets the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.common import fy_year
from gpscale.evaluate.schemes.inputs import SchemeInputs
from gpscale.evaluate.schemes.model import (
    ExclusionReason,
    Improvement,
    MissingData,
    PracticeShare,
    Scheme,
    SchemeIndicator,
    TargetType,
)
from gpscale.evaluate.schemes.money import ROUNDING, exact, reference_patients, to_pence, value_available
from gpscale.evaluate.schemes.targets import (
    chance_decides,
    describe,
    fraction_earned,
    level_to_reach,
    practice_meets,
    sign_of,
)
from gpscale.evaluate.scorecard import intervals
from gpscale.groups.membership import members_by_period
from gpscale.periods import fy_label, parse_period

SCORE_COLUMNS = [
    "scheme_id", "scheme_version", "group_id", "group_name", "group_kind", "target_id", "indicator_id",
    "target_type", "period", "status", "target", "standard", "lower_threshold", "upper_threshold",
    "improvement_by", "required_share", "value", "value_lower", "value_upper", "baseline_period",
    "baseline_value", "achievement", "achievement_lower", "achievement_upper", "confidence", "interval_method",
    "target_in_interval", "numerator", "denominator", "n_members", "n_counted", "n_excluded", "excluded",
    "met", "fraction_earned", "points_available", "points", "payment_available_pence", "payment_pence",
    "payment_gbp", "rounding", "membership_view", "definition_version", "data_version",
]

TOTAL_COLUMNS = [
    "scheme_id", "scheme_version", "group_id", "group_name", "group_kind", "period", "n_members", "patients",
    "targets", "targets_met", "points_available", "points", "payment_available_pence", "payment_pence",
    "payment_gbp", "share_of_available", "status", "rounding", "membership_view", "data_version",
]

CONTRIBUTION_COLUMNS = [
    "scheme_id", "scheme_version", "group_id", "target_id", "indicator_id", "target_type", "period",
    "practice_code", "status", "numerator", "denominator", "practice_value", "practice_meets",
    "network_achievement", "network_met", "network_payment_pence", "achievement_without", "met_without",
    "payment_without_pence", "payment_change_without_pence", "achievement_at_standard", "met_at_standard",
    "payment_at_standard_pence", "payment_change_at_standard_pence", "decisive", "membership_view",
    "definition_version", "data_version",
]

COUNTED = "counted"
STATUS_SCORED = "scored"


@dataclass(frozen=True)
class SchemeScore:
    """A scheme scored for one period: per network x target, per network, and per member practice."""

    scheme: Scheme
    period: str
    scores: pd.DataFrame
    totals: pd.DataFrame
    contributions: pd.DataFrame


def previous_fy(period: str) -> str:
    return fy_label(fy_year(period) - 1)


def baseline_period(entry: SchemeIndicator, period: str) -> str | None:
    """The baseline year of an improvement target scored in ``period`` (None for other targets)."""
    t = entry.target
    if not isinstance(t, Improvement):
        return None
    return previous_fy(period) if t.baseline == "previous_year" else t.baseline


def network_members(scheme: Scheme, inputs: SchemeInputs, period: str) -> pd.DataFrame:
    """Members of every network the scheme covers in ``period``, with list size, dates and exception reason.

    Columns: group_id, group_name, group_kind, practice_code, period, patients, open_date, reason (an
    :class:`ExclusionReason` value -- not open, small list, new practice -- or None). A member with neither
    a list size nor any value in the period (a practice that had closed, where the store has no closing
    date) is taken as not open: it counts neither for achievement nor for money, and never fails a network.
    """
    m = members_by_period(inputs.spells, [period], scheme.view)
    groups = inputs.groups.rename(columns={"name": "group_name", "kind": "group_kind"})
    m = m.merge(groups[["group_id", "group_name", "group_kind"]], on="group_id", how="left")
    sel = scheme.networks
    if sel.kinds is not None:
        m = m[m["group_kind"].isin(sel.kinds)]
    if sel.ids is not None:
        m = m[m["group_id"].isin(sel.ids)]
    facts = inputs.practices[inputs.practices["period"] == period].drop(columns="period")
    m = m.merge(facts, on="practice_code", how="left")
    p = parse_period(period)
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
    opened = pd.to_datetime(m["open_date"]) if "open_date" in m else pd.Series(pd.NaT, index=m.index)
    closed = pd.to_datetime(m["close_date"]) if "close_date" in m else pd.Series(pd.NaT, index=m.index)
    open_in_period = ~((opened > end) | (closed < start))
    m = m[open_in_period.to_numpy()].copy()
    reason = pd.Series(None, index=m.index, dtype=object)
    pv = inputs.practice_values
    active = set(pv.loc[(pv["period"] == period) & pv["numerator"].notna(), "practice_code"])
    quiet = (pd.to_numeric(m["patients"], errors="coerce").isna() & ~m["practice_code"].isin(active)).to_numpy()
    reason[quiet] = ExclusionReason.NOT_OPEN.value
    rules = scheme.exceptions
    if rules.min_list_size is not None:
        small = (pd.to_numeric(m["patients"], errors="coerce") < rules.min_list_size).fillna(False).to_numpy()
        reason[small & reason.isna().to_numpy()] = ExclusionReason.SMALL_LIST.value
    if rules.new_practice_months is not None:
        cutoff = start - pd.DateOffset(months=rules.new_practice_months)
        new = (pd.to_datetime(m["open_date"]) > cutoff).fillna(False).to_numpy()
        reason[new & reason.isna().to_numpy()] = ExclusionReason.NEW_PRACTICE.value
    m["reason"] = reason
    return m.sort_values(["group_id", "practice_code"]).reset_index(drop=True)


def _practice_rows(inputs: SchemeInputs, indicator_id: str, period: str) -> pd.DataFrame:
    """Usable practice values of one indicator in one period (numerator, denominator, effective_n)."""
    v = pooling.usable(inputs.values_of(indicator_id))
    v = v[v["period"] == period]
    cols = ["practice_code", "numerator", "denominator"] + (["effective_n"] if "effective_n" in v else [])
    return v[cols]


def _definition_version(inputs: SchemeInputs, indicator_id: str) -> str:
    pv = inputs.practice_values
    if "definition_version" in pv:
        got = pv.loc[pv["indicator_id"] == indicator_id, "definition_version"]
        if len(got):
            return str(got.iloc[0])
    return str(getattr(inputs.definitions[indicator_id], "version", ""))


@dataclass
class _Entry:
    """One target's member rows and the facts that do not vary between networks."""

    entry: SchemeIndicator
    vt: ValueType
    mult: Fraction
    sign: int
    base_period: str | None
    rows: pd.DataFrame  # members with values, reason, counted flag and exact counts


def entry_rows(scheme: Scheme, inputs: SchemeInputs, members: pd.DataFrame, entry: SchemeIndicator,
               period: str) -> _Entry:
    """Member rows for one target: values in the period (and baseline year), exception reason, counted."""
    d = inputs.definitions[entry.indicator]
    rows = members.merge(_practice_rows(inputs, entry.indicator, period), on="practice_code", how="left")
    reason = rows["reason"].copy()
    reason[reason.isna() & rows["numerator"].isna()] = ExclusionReason.NO_DATA.value
    base = baseline_period(entry, period)
    if base is not None:
        b = _practice_rows(inputs, entry.indicator, base)[["practice_code", "numerator", "denominator"]]
        rows = rows.merge(b.rename(columns={"numerator": "base_numerator", "denominator": "base_denominator"}),
                          on="practice_code", how="left")
        reason[reason.isna() & rows["base_numerator"].isna()] = ExclusionReason.NO_BASELINE.value
    rows["reason"] = reason
    rows["counted"] = reason.isna()
    rows["num_d"] = [exact(x) if ok else Fraction(0) for x, ok in zip(rows["numerator"], rows["counted"], strict=True)]
    rows["den_d"] = [exact(x) if ok else Fraction(0) for x, ok in zip(rows["denominator"], rows["counted"],
                                                                    strict=True)]
    if base is not None:
        rows["bnum_d"] = [exact(x) if ok else Fraction(0) for x, ok in zip(rows["base_numerator"], rows["counted"],
                                                                         strict=True)]
        rows["bden_d"] = [exact(x) if ok else Fraction(0) for x, ok in zip(rows["base_denominator"], rows["counted"],
                                                                         strict=True)]
    return _Entry(entry, ValueType(d.value_type), exact(d.multiplier), sign_of(d.polarity), base, rows)


def _obj(values: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _ratio(num: np.ndarray, den: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Elementwise exact num / den where ``ok`` (None elsewhere)."""
    return _obj([n / d if good else None for n, d, good in zip(num, den, ok, strict=True)])


def _achievement(e: _Entry, num: np.ndarray, den: np.ndarray, bnum: np.ndarray | None, bden: np.ndarray | None,
                 k: np.ndarray | None, n: np.ndarray) -> np.ndarray:
    """Exact achievement per network from pooled exact sums (None where nothing is counted)."""
    ok = n > 0
    if e.entry.target.type is TargetType.PRACTICE_SHARE:
        assert k is not None
        return _ratio(_obj([Fraction(int(x)) for x in k]), _obj([Fraction(int(x)) for x in n]), ok)
    value = _ratio(num, den, ok)
    if e.entry.target.type is TargetType.IMPROVEMENT:
        assert bnum is not None and bden is not None
        base = _ratio(bnum, bden, ok)
        return _obj([e.sign * e.mult * (v - b) if v is not None else None for v, b in zip(value, base, strict=True)])
    return _obj([e.mult * v if v is not None else None for v in value])


def _earn(e: _Entry, achievement: np.ndarray, available: np.ndarray, fail: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fraction earned, points, payment in pence) per network; payment None where the value is unknown."""
    valid = np.array([a is not None for a in achievement], dtype=bool) & ~fail
    fraction = _obj([Fraction(0)] * len(achievement))
    if valid.any():
        fraction[valid] = fraction_earned(e.entry.target, _obj(achievement[valid]), e.sign)
    pts = exact(e.entry.reward.points) if e.entry.reward.points is not None else None
    points = _obj([f * pts if pts is not None else None for f in fraction])
    pay = _obj([to_pence(f * v) if v is not None else None for f, v in zip(fraction, available, strict=True)])
    return fraction, points, pay


def _float(values: np.ndarray) -> np.ndarray:
    return np.array([float(v) if v is not None else np.nan for v in values], dtype=float)


def _pence_col(values: np.ndarray) -> pd.Series:
    return pd.Series([int(v) if v is not None else None for v in values], dtype="Int64")


def score_scheme(scheme: Scheme, inputs: SchemeInputs, period: str | None = None,
                 contributions: bool = True) -> SchemeScore:
    """Score every network on every target of ``scheme`` in ``period`` (default the scheme's period).

    ``contributions=False`` skips the member-contribution table (the design aid's sweep does not need it).
    """
    period = period or scheme.period
    members = network_members(scheme, inputs, period)
    networks = members.drop_duplicates("group_id")[["group_id", "group_name", "group_kind"]].reset_index(drop=True)
    patients = network_patients(members, networks)
    reference = reference_patients(scheme, list(patients))
    view = scheme.view.label
    scores: list[pd.DataFrame] = []
    parts: list[pd.DataFrame] = []
    for entry in scheme.indicators:
        e = entry_rows(scheme, inputs, members, entry, period)
        available = _obj([value_available(scheme, entry, p, reference) for p in patients])
        sc, co = _score_entry(scheme, inputs, e, networks, available, period, contributions)
        scores.append(sc)
        parts.append(co)
    score_df = pd.concat(scores, ignore_index=True) if scores else pd.DataFrame(columns=SCORE_COLUMNS)
    score_df["membership_view"] = view
    score_df["data_version"] = inputs.data_version
    contrib = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CONTRIBUTION_COLUMNS)
    contrib["membership_view"] = view
    contrib["data_version"] = inputs.data_version
    totals = _totals(scheme, score_df, networks, patients, members, period, view, inputs.data_version)
    return SchemeScore(scheme, period, score_df[SCORE_COLUMNS], totals[TOTAL_COLUMNS],
                       contrib[CONTRIBUTION_COLUMNS])


def network_patients(members: pd.DataFrame, networks: pd.DataFrame) -> list[Fraction | None]:
    """Registered patients of each network's members (None when any member's list size is unknown).

    Members taken as not open in the period (no list size and no data) are left out.
    """
    out: list[Fraction | None] = []
    open_members = members[members["reason"] != ExclusionReason.NOT_OPEN.value]
    by = dict(tuple(open_members.groupby("group_id", sort=False)["patients"]))
    for gid in networks["group_id"]:
        p = pd.to_numeric(by.get(gid, pd.Series(dtype=float)), errors="coerce")
        out.append(None if p.isna().any() else sum((exact(x) for x in p), Fraction(0)))
    return out


def _score_entry(scheme: Scheme, inputs: SchemeInputs, e: _Entry, networks: pd.DataFrame, available: np.ndarray,
                 period: str, with_contributions: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    entry, rows = e.entry, e.rows
    t = entry.target
    gids = networks["group_id"].to_numpy()
    pos = {g: i for i, g in enumerate(gids)}
    gi = rows["group_id"].map(pos).to_numpy()
    counted = rows["counted"].to_numpy()
    nn = len(gids)

    def dsum(col: str) -> np.ndarray:
        out = _obj([Fraction(0)] * nn)
        for g, x, c in zip(gi, rows[col], counted, strict=True):
            if c:
                out[g] += x
        return out

    num, den = dsum("num_d"), dsum("den_d")
    bnum = dsum("bnum_d") if e.base_period else None
    bden = dsum("bden_d") if e.base_period else None
    n = np.bincount(gi[counted], minlength=nn)
    n_members = np.bincount(gi, minlength=nn)
    missing = rows["reason"].isin([ExclusionReason.NO_DATA.value, ExclusionReason.NO_BASELINE.value]).to_numpy()
    fail = np.zeros(nn, bool)
    if scheme.exceptions.missing_data is MissingData.FAIL:
        fail = np.bincount(gi[missing], minlength=nn) > 0

    # practice values (exact) and, for practice shares, whether each practice meets the standard
    pv = _obj([e.mult * a / b if c else None for a, b, c in zip(rows["num_d"], rows["den_d"], counted, strict=True)])
    meets = np.zeros(len(rows), bool)
    if isinstance(t, PracticeShare):
        meets[counted] = practice_meets(t.standard, _obj(pv[counted]), e.sign)
    k = np.bincount(gi[counted & meets], minlength=nn) if isinstance(t, PracticeShare) else None

    ach = _achievement(e, num, den, bnum, bden, k, n)
    frac, points, pay = _earn(e, ach, available, fail)

    # intervals (floats) of the pooled value, and of the achievement
    conf = scheme.confidence
    crow = rows[counted]
    pooled = crow.groupby("group_id", sort=False).agg(numerator=("numerator", "sum"),
                                                       denominator=("denominator", "sum"))
    if "effective_n" in crow:
        pooled["effective_n"] = crow.groupby("group_id", sort=False)["effective_n"].sum(min_count=1)
    pooled = pooled.reindex(gids)
    value, vlo, vhi, method = intervals(pooled.reset_index(drop=True), e.vt, float(e.mult), conf)
    base_value = np.full(nn, np.nan)
    alo, ahi = vlo.copy(), vhi.copy()
    if isinstance(t, Improvement):
        assert bnum is not None and bden is not None
        base_value = _float(_obj([float(e.mult) * float(a / b) if c > 0 else None
                                  for a, b, c in zip(bnum, bden, n, strict=True)]))
        lo_i, hi_i = e.sign * (vlo - base_value), e.sign * (vhi - base_value)
        alo, ahi = np.minimum(lo_i, hi_i), np.maximum(lo_i, hi_i)
        method = f"{method}, less the baseline value (a fixed reference)"
    elif isinstance(t, PracticeShare):
        alo, ahi, method = _share_range(e, crow, gi[counted], nn, conf)
    achievement = _float(ach)
    in_interval = chance_decides(t, alo, ahi)

    reasons = rows[~rows["counted"]].groupby("group_id")["reason"].agg(_reason_text)
    excluded_text = np.array([reasons.get(g, "") for g in networks["group_id"]], dtype=object)
    status = np.where(fail, "not met: member practice(s) without data (missing_data: fail)",
                      np.where(n == 0, "not scored: no counted member practice has data", STATUS_SCORED))
    unknown_money = np.array([v is None for v in available], dtype=bool)
    status = np.where(unknown_money & (status == STATUS_SCORED),
                      "payment not computed: a member's list size is unknown", status)
    d = inputs.definitions[entry.indicator]
    pts_avail = float(entry.reward.points) if entry.reward.points is not None else np.nan
    score = pd.DataFrame({
        "scheme_id": scheme.id, "scheme_version": scheme.version, "group_id": gids,
        "group_name": networks["group_name"].to_numpy(), "group_kind": networks["group_kind"].to_numpy(),
        "target_id": entry.target_id, "indicator_id": entry.indicator, "target_type": t.type.value,
        "period": period, "status": status, "target": describe(t, d.unit, e.base_period),
        "standard": float(getattr(t, "standard", np.nan)), "lower_threshold": float(getattr(t, "lower", np.nan)),
        "upper_threshold": float(getattr(t, "upper", np.nan)), "improvement_by": float(getattr(t, "by", np.nan)),
        "required_share": float(getattr(t, "share", np.nan)),
        "value": value, "value_lower": vlo, "value_upper": vhi, "baseline_period": e.base_period,
        "baseline_value": base_value, "achievement": achievement, "achievement_lower": alo,
        "achievement_upper": ahi, "confidence": conf, "interval_method": method,
        "target_in_interval": in_interval,
        "numerator": pooled["numerator"].to_numpy(), "denominator": pooled["denominator"].to_numpy(),
        "n_members": n_members, "n_counted": n, "n_excluded": n_members - n, "excluded": excluded_text,
        "met": np.array([f == 1 for f in frac], dtype=bool), "fraction_earned": _float(frac),
        "points_available": pts_avail, "points": _float(points),
        "payment_available_pence": _pence_col(_obj([to_pence(v) if v is not None else None for v in available])),
        "payment_pence": _pence_col(pay), "rounding": ROUNDING,
        "definition_version": _definition_version(inputs, entry.indicator),
    })
    score["payment_gbp"] = score["payment_pence"].astype("Float64") / 100
    if not with_contributions:
        return score, pd.DataFrame(columns=CONTRIBUTION_COLUMNS)
    contrib = _contributions(scheme, inputs, e, networks, gi, counted, num, den, bnum, bden, k, n, meets, pv, ach,
                             frac, pay, available, fail, period)
    return score, contrib


def _reason_text(reasons: pd.Series) -> str:
    """``list size below the minimum (1); no data (2)``: counts by reason, in the rules' order."""
    counts = reasons.value_counts()
    return "; ".join(f"{r.value} ({counts[r.value]})" for r in ExclusionReason if r.value in counts)


def _share_range(e: _Entry, crow: pd.DataFrame, gi: np.ndarray, nn: int, conf: float
                 ) -> tuple[np.ndarray, np.ndarray, str]:
    """Range of the share of members meeting the standard consistent with each member's own interval."""
    t = e.entry.target
    assert isinstance(t, PracticeShare)
    _v, lo, hi, method = intervals(crow.reset_index(drop=True), e.vt, float(e.mult), conf)
    value = float(e.mult) * crow["numerator"].to_numpy(float) / crow["denominator"].to_numpy(float)
    lo = np.where(np.isfinite(lo), lo, value)
    hi = np.where(np.isfinite(hi), hi, value)
    worst, best = (lo, hi) if e.sign > 0 else (hi, lo)
    sure = practice_meets(t.standard, worst, e.sign)
    possible = practice_meets(t.standard, best, e.sign)
    n = np.bincount(gi, minlength=nn).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.bincount(gi[sure], minlength=nn) / n
        high = np.bincount(gi[possible], minlength=nn) / n
    return low, high, f"share of members whose own {method} lies wholly on, or reaches, the good side of the standard"


def _contributions(scheme: Scheme, inputs: SchemeInputs, e: _Entry, networks: pd.DataFrame, gi: np.ndarray,
                   counted: np.ndarray, num: np.ndarray, den: np.ndarray, bnum: np.ndarray | None,
                   bden: np.ndarray | None, k: np.ndarray | None, n: np.ndarray, meets: np.ndarray, pv: np.ndarray,
                   ach: np.ndarray, frac: np.ndarray, pay: np.ndarray, available: np.ndarray, fail: np.ndarray,
                   period: str) -> pd.DataFrame:
    """Each member's row: the network without it, and with it at the standard (see the module notes)."""
    rows = e.rows
    t = e.entry.target
    idx = np.flatnonzero(counted)
    g = gi[idx]
    xn, xd = _obj(rows["num_d"].to_numpy()[idx]), _obj(rows["den_d"].to_numpy()[idx])
    # without the practice
    n_wo = n[g] - 1
    k_wo = k[g] - meets[idx] if k is not None else None
    ach_wo = _achievement(e, num[g] - xn, den[g] - xd,
                          bnum[g] - _obj(rows["bnum_d"].to_numpy()[idx]) if bnum is not None else None,
                          bden[g] - _obj(rows["bden_d"].to_numpy()[idx]) if bden is not None else None,
                          k_wo, n_wo)
    f_wo, _p, pay_wo = _earn(e, ach_wo, available[g], fail[g])
    # with the practice at the standard (its numerator raised to the level, if it was worse)
    level = level_to_reach(t)
    own = pv[idx]
    if isinstance(t, Improvement):
        assert bnum is not None
        bn, bd = _obj(rows["bnum_d"].to_numpy()[idx]), _obj(rows["bden_d"].to_numpy()[idx])
        reach = _obj([e.mult * a / b + e.sign * exact(t.by) for a, b in zip(bn, bd, strict=True)])
    else:
        assert level is not None
        reach = _obj([exact(level)] * len(idx))
    better = _obj([lv if e.sign * (lv - v) > 0 else v for lv, v in zip(reach, own, strict=True)])
    xn_at = _obj([v * b / e.mult for v, b in zip(better, xd, strict=True)])
    k_at = (k[g] - meets[idx] + 1) if k is not None else None
    ach_at = _achievement(e, num[g] - xn + xn_at, den[g], bnum[g] if bnum is not None else None,
                          bden[g] if bden is not None else None, k_at, n[g])
    f_at, _p2, pay_at = _earn(e, ach_at, available[g], fail[g])
    practice_ok = _obj([e.sign * (v - lv) >= 0 for v, lv in zip(own, reach, strict=True)])
    met_now = np.array([f == 1 for f in frac], dtype=bool)[g]
    met_wo = np.array([f == 1 for f in f_wo], dtype=bool)
    met_at = np.array([f == 1 for f in f_at], dtype=bool)

    def diff(a: np.ndarray, b: np.ndarray) -> pd.Series:
        return _pence_col(_obj([x - y if x is not None and y is not None else None for x, y in zip(a, b, strict=True)]))

    counted_rows = pd.DataFrame({
        "group_id": rows["group_id"].to_numpy()[idx], "practice_code": rows["practice_code"].to_numpy()[idx],
        "status": COUNTED, "numerator": rows["numerator"].to_numpy()[idx],
        "denominator": rows["denominator"].to_numpy()[idx], "practice_value": _float(own),
        "practice_meets": practice_ok.astype(bool), "network_achievement": _float(ach[g]), "network_met": met_now,
        "network_payment_pence": _pence_col(pay[g]), "achievement_without": _float(ach_wo), "met_without": met_wo,
        "payment_without_pence": _pence_col(pay_wo), "payment_change_without_pence": diff(pay_wo, pay[g]),
        "achievement_at_standard": _float(ach_at), "met_at_standard": met_at,
        "payment_at_standard_pence": _pence_col(pay_at), "payment_change_at_standard_pence": diff(pay_at, pay[g]),
        "decisive": (met_wo != met_now) | (met_at != met_now),
    })
    left_out = rows[~rows["counted"]]
    excluded_rows = pd.DataFrame({
        "group_id": left_out["group_id"].to_numpy(), "practice_code": left_out["practice_code"].to_numpy(),
        "status": "excluded: " + left_out["reason"].astype(str).to_numpy(),
        "numerator": left_out["numerator"].to_numpy(), "denominator": left_out["denominator"].to_numpy(),
    })
    out = pd.concat([counted_rows, excluded_rows], ignore_index=True) if len(excluded_rows) else counted_rows
    for col in ("network_payment_pence", "payment_without_pence", "payment_change_without_pence",
                "payment_at_standard_pence", "payment_change_at_standard_pence"):
        out[col] = out[col].astype("Int64")
    out.insert(0, "scheme_id", scheme.id)
    out.insert(1, "scheme_version", scheme.version)
    out["target_id"] = e.entry.target_id
    out["indicator_id"] = e.entry.indicator
    out["target_type"] = t.type.value
    out["period"] = period
    out["definition_version"] = _definition_version(inputs, e.entry.indicator)
    for c in CONTRIBUTION_COLUMNS:
        if c not in out:
            out[c] = None
    return out.sort_values(["group_id", "practice_code"], ignore_index=True)


def target_summary(score: SchemeScore) -> pd.DataFrame:
    """Per target: networks scored, share meeting it, share with the target inside the interval, money paid."""
    rows = []
    for e in score.scheme.indicators:
        se = score.scores[score.scores["target_id"] == e.target_id]
        ok = se[se["status"] == STATUS_SCORED]
        rows.append({
            "target_id": e.target_id, "indicator_id": e.indicator, "target_type": e.target.type.value,
            "target": se["target"].iloc[0] if len(se) else "", "period": score.period, "n_networks": len(ok),
            "share_met": float(ok["met"].mean()) if len(ok) else None,
            "share_target_in_interval": float(ok["target_in_interval"].mean()) if len(ok) else None,
            "payment_pence": int(se["payment_pence"].sum()),
        })
    return pd.DataFrame(rows)


def _totals(scheme: Scheme, scores: pd.DataFrame, networks: pd.DataFrame, patients: list[Fraction | None],
            members: pd.DataFrame, period: str, view: str, data_version: str) -> pd.DataFrame:
    """Per network: targets met, points, and payment (the sum of its rounded target payments)."""
    g = scores.groupby("group_id", sort=False)
    pay_known = g["payment_pence"].apply(lambda s: s.notna().all())
    out = pd.DataFrame({
        "group_id": networks["group_id"], "group_name": networks["group_name"], "group_kind": networks["group_kind"],
        "patients": [float(p) if p is not None else np.nan for p in patients],
    })
    agg = pd.DataFrame({
        "targets": g.size(), "targets_met": g["met"].sum(),
        "points_available": g["points_available"].sum(min_count=1), "points": g["points"].sum(min_count=1),
        "payment_available_pence": g["payment_available_pence"].sum(min_count=1),
        "payment_pence": g["payment_pence"].sum(min_count=1),
    })
    out = out.merge(agg, left_on="group_id", right_index=True, how="left")
    out = out.merge(members.groupby("group_id").size().rename("n_members"), left_on="group_id", right_index=True,
                    how="left")
    known = out["group_id"].map(pay_known).fillna(False).to_numpy(bool)
    out["payment_pence"] = out["payment_pence"].astype("Int64").where(known)
    avail_known = out["group_id"].map(g["payment_available_pence"].apply(lambda s: s.notna().all())).fillna(False)
    out["payment_available_pence"] = out["payment_available_pence"].astype("Int64").where(avail_known.to_numpy(bool))
    out["payment_gbp"] = out["payment_pence"].astype("Float64") / 100
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_of_available"] = (out["payment_pence"].astype("Float64")
                                     / out["payment_available_pence"].astype("Float64"))
    out["status"] = np.where(known, STATUS_SCORED, "payment not computed for some targets (see the target rows)")
    out.insert(0, "scheme_id", scheme.id)
    out.insert(1, "scheme_version", scheme.version)
    out["period"] = period
    out["rounding"] = ROUNDING
    out["membership_view"] = view
    out["data_version"] = data_version
    return out.reset_index(drop=True)
