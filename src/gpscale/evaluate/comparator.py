"""Comparators: what a group is compared with — England, its region, its ICB, or its nearest peer groups.

``--comparator england|region|icb|peers:K`` (:meth:`Comparator.parse`) chooses, for every group and period,
a **comparator population** of practices and its **reference value** (docs/methods/peers.md):

* ``england`` (default): every practice with data in the period, the group's own included: the national
  value every NHS publication quotes (a group is a small part of England and barely moves it).
* ``region`` / ``icb``: the practices of the group's NHS England region / integrated care board (STP before
  2022) in the period's financial year, **the group's own members excluded**. A group spanning several
  areas belongs to the one holding **the majority of its registered patients** (list sizes of the year;
  ties go to the area with more member practices, then the lower code).
* ``peers:K``: the practices of the group's ``K`` nearest peer groups (:func:`gpscale.evaluate.peers.
  nearest_peers` on list-weighted deprivation, rurality, share aged 65+ and list size, chosen afresh each
  financial year among all groups evaluated), each practice once, the group's own members excluded (peer
  groups may share practices with it).

Monthly periods use their financial year's areas and peers (a period whose year has no practice context uses
the latest year before it that has, else the earliest).
The reference value is pooled exactly as England's is (:mod:`gpscale.evaluate.pooling`: Σ numerators /
Σ denominators of the practices with data): the pooled sums of the area (or of the peers' practices) less
those of the group's own members in it. :attr:`Assignment.units` gives each comparator unit's practices
(an area, or the peer population of one group), which the evaluative comparison uses as its practice
distribution.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.regions import region_name
from gpscale.domain.vocabulary import ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.evaluative import (
    EnglandReference,
    MemberIndex,
    Placement,
    PracticeArrays,
    england_reference,
    place,
)
from gpscale.evaluate.peers import nearest_peers
from gpscale.periods import fy_of_month
from gpscale.stats.reference import EXACT_SIZES


class ComparatorKind(StrEnum):
    """What a group is compared with (see the module notes)."""

    ENGLAND = "england"
    REGION = "region"
    ICB = "icb"
    PEERS = "peers"


#: The practice context column holding each area kind's code.
_AREA_COLUMN = {ComparatorKind.REGION: "region", ComparatorKind.ICB: "icb"}
_SPEC = re.compile(r"^\s*(england|region|icb|peers)\s*(?::\s*(\S*))?\s*$", re.IGNORECASE)
CHOICES = "england | region | icb | peers:K (K a whole number from 1)"


@dataclass(frozen=True)
class Comparator:
    """A comparator choice: its kind and, for peers, how many nearest groups."""

    kind: ComparatorKind = ComparatorKind.ENGLAND
    k: int | None = None

    def __post_init__(self) -> None:
        if (self.kind is ComparatorKind.PEERS) != (self.k is not None):
            raise ValueError("the number of peers K goes with the peers comparator only")
        if self.k is not None and self.k < 1:
            raise ValueError(f"peers:{self.k}: K must be a whole number from 1")

    @classmethod
    def parse(cls, text: str) -> Comparator:
        """``england``, ``region``, ``icb`` or ``peers:K``; anything else is refused naming the choices."""
        m = _SPEC.match(text or "")
        if not m:
            raise ValueError(f"unknown comparator {text!r}; choose from {CHOICES}")
        kind, arg = ComparatorKind(m.group(1).lower()), m.group(2)
        if kind is ComparatorKind.PEERS:
            if not arg or not arg.isdigit() or int(arg) < 1:
                raise ValueError(f"comparator {text!r}: peers needs a number of groups, e.g. peers:5 "
                                 f"(K a whole number from 1)")
            return cls(kind, int(arg))
        if m.group(2) is not None:
            raise ValueError(f"comparator {text!r}: only peers takes a number ({CHOICES})")
        return cls(kind)

    def __str__(self) -> str:
        return f"peers:{self.k}" if self.kind is ComparatorKind.PEERS else self.kind.value

    @property
    def is_england(self) -> bool:
        """Whether this is the default national comparator (no comparator population of its own)."""
        return self.kind is ComparatorKind.ENGLAND


LABEL_COLUMNS = ["group_id", "period", "comparator", "comparator_id"]
UNIT_COLUMNS = ["unit_id", "period", "practice_code"]
REFERENCE_COLUMNS = ["group_id", "indicator_id", "period", "period_type", "numerator", "denominator",
                     "n_practices", "comparator", "comparator_id", "comparator_value"]


@dataclass(frozen=True)
class Assignment:
    """Each group's comparator in each period.

    ``labels``: group_id, period, comparator (the name every output row carries, e.g. "North East and
    Yorkshire region", "5 nearest peer groups") and comparator_id (area code, or the peer group ids).
    ``groups``: group_id, period, unit_id — the comparator unit of each group (an area code; for peers the
    group's own id). ``units``: unit_id, period, practice_code — every practice of each unit, the group's
    own members *not yet* excluded (:func:`reference_values` subtracts them). ``peers``: the chosen
    neighbours (:data:`gpscale.evaluate.peers.PEER_COLUMNS` and ``period``), empty unless peers.
    """

    comparator: Comparator
    labels: pd.DataFrame
    groups: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["group_id", "period", "unit_id"]))
    units: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNIT_COLUMNS))
    peers: pd.DataFrame = field(default_factory=pd.DataFrame)


def _context_years(periods: list[str], years: list[str]) -> dict[str, str]:
    """Period -> the financial year whose context it uses: its own, else the latest before, else the earliest."""
    ordered = sorted(years)
    out = {}
    for p in periods if ordered else []:
        fy = p if p.startswith("FY") else fy_of_month(p)
        if fy not in ordered:
            earlier = [y for y in ordered if y < fy]
            fy = earlier[-1] if earlier else ordered[0]
        out[p] = fy
    return out


def _with_years(members: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    m = members[["group_id", "practice_code", "period"]].drop_duplicates()
    fy = _context_years(sorted(m["period"].astype(str).unique().tolist()), years)
    return m.assign(_fy=m["period"].astype(str).map(fy)).dropna(subset=["_fy"])


def group_areas(members: pd.DataFrame, context: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per group and period: the area (``column`` of the practice context) holding most of its patients.

    Weights are the members' list sizes in the period's financial year (unknown sizes count 0); ties go to
    the area with more member practices, then to the lower code. Members with no area are ignored.
    """
    ctx = context[["practice_code", "period", "patients", column]].rename(columns={"period": "_fy", column: "area"})
    years = sorted(ctx["_fy"].astype(str).unique().tolist())
    j = _with_years(members, years).merge(ctx, on=["practice_code", "_fy"], how="inner")
    j = j[j["area"].notna() & (j["area"].astype(str).str.strip() != "")]
    if j.empty:
        return pd.DataFrame(columns=["group_id", "period", "area"])
    j = j.assign(area=j["area"].astype(str).str.strip(), _w=pd.to_numeric(j["patients"], errors="coerce").fillna(0.0))
    by = j.groupby(["group_id", "period", "area"], as_index=False).agg(_w=("_w", "sum"),
                                                                        _n=("practice_code", "nunique"))
    by = by.sort_values(["group_id", "period", "_w", "_n", "area"], ascending=[True, True, False, False, True])
    return by.drop_duplicates(["group_id", "period"])[["group_id", "period", "area"]].reset_index(drop=True)


def peer_features(members: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Per group and financial year: list-weighted IMD score, % rural, % aged 65+ and list size.

    The first three and list size come from the group profile (:func:`gpscale.evaluate.profiles.
    group_profiles`); the share aged 65+ from the context's ``share_65_plus`` when present
    (:func:`gpscale.evaluate.events.age_structure`), list-weighted like the others.
    """
    from gpscale.evaluate.profiles import group_profiles

    prof = group_profiles(members, context, None, "", "")
    out = prof[["group_id", "period", "imd_score", "pct_rural", "patients"]]
    if "share_65_plus" in context:
        fy = members[members["period"].astype(str).str.startswith("FY")]
        j = fy.merge(context[["practice_code", "period", "patients", "share_65_plus"]],
                     on=["practice_code", "period"], how="inner")
        w = pd.to_numeric(j["patients"], errors="coerce")
        ok = w.notna() & j["share_65_plus"].notna()
        j = j.assign(_w=w.where(ok, 0.0), _wx=(w * j["share_65_plus"].astype(float)).where(ok, 0.0))
        s = j.groupby(["group_id", "period"], as_index=False)[["_w", "_wx"]].sum()
        s["pct_65_plus"] = np.where(s["_w"] > 0, 100 * s["_wx"] / s["_w"].where(s["_w"] > 0), np.nan)
        out = out.merge(s[["group_id", "period", "pct_65_plus"]], on=["group_id", "period"], how="left")
    return out


def assign(
    comparator: Comparator,
    members: pd.DataFrame,
    context: pd.DataFrame | None,
    area_names: Mapping[str, str] | None = None,
) -> Assignment:
    """Each group's comparator in each period of ``members`` (group_id, practice_code, period).

    ``context``: :func:`gpscale.evaluate.profiles.practice_context` rows (list sizes, region, ICB, IMD,
    rurality; ``share_65_plus`` for peers), needed by every comparator but England. ``area_names``: code
    -> name for ICBs (regions are named from :mod:`gpscale.domain.regions`).
    """
    keys = members[["group_id", "period"]].drop_duplicates().reset_index(drop=True)
    if comparator.is_england:
        return Assignment(comparator, keys.assign(comparator=pooling.ENGLAND_NAME, comparator_id=pooling.ENGLAND_ID))
    if context is None or context.empty:
        raise ValueError(f"comparator {comparator}: needs the practices' context (areas, list sizes), none given")
    if comparator.kind in _AREA_COLUMN:
        return _area_assignment(comparator, members, context, area_names or {})
    return _peer_assignment(comparator, members, context)


def _area_label(kind: ComparatorKind, code: str, names: Mapping[str, str]) -> str:
    if kind is ComparatorKind.REGION:
        return f"{region_name(code)} region"
    return names.get(code) or f"ICB {code}"


def _area_assignment(comparator: Comparator, members: pd.DataFrame, context: pd.DataFrame,
                     names: Mapping[str, str]) -> Assignment:
    column = _AREA_COLUMN[comparator.kind]
    areas = group_areas(members, context, column)
    labels = areas.assign(comparator=[_area_label(comparator.kind, a, names) for a in areas["area"]],
                          comparator_id=areas["area"])[LABEL_COLUMNS]
    ctx = context[["practice_code", "period", column]].rename(columns={"period": "_fy", column: "unit_id"})
    ctx = ctx[ctx["unit_id"].notna()].assign(unit_id=lambda c: c["unit_id"].astype(str).str.strip())
    periods = areas[["period"]].drop_duplicates()
    fy = _context_years(periods["period"].astype(str).tolist(), sorted(ctx["_fy"].astype(str).unique().tolist()))
    periods = periods.assign(_fy=periods["period"].astype(str).map(fy))
    used = areas[["period", "area"]].drop_duplicates().rename(columns={"area": "unit_id"})
    units = periods.merge(ctx, on="_fy").merge(used, on=["period", "unit_id"])[UNIT_COLUMNS]
    return Assignment(comparator, labels, areas.rename(columns={"area": "unit_id"}),
                      units.drop_duplicates().reset_index(drop=True))


def _peer_assignment(comparator: Comparator, members: pd.DataFrame, context: pd.DataFrame) -> Assignment:
    k = int(comparator.k or 0)
    feats = peer_features(members, context)
    chosen = []
    for fy, f in feats.groupby("period", sort=True):
        p = nearest_peers(f.drop(columns="period"), k)
        if not p.empty:
            chosen.append(p.assign(period=fy))
    peers = pd.concat(chosen, ignore_index=True) if chosen else pd.DataFrame(columns=["group_id", "peer_id", "period"])
    m = members[["group_id", "practice_code", "period"]].drop_duplicates()
    years = sorted(peers["period"].astype(str).unique().tolist())
    fy = _context_years(sorted(m["period"].astype(str).unique().tolist()), years)
    keys = m[["group_id", "period"]].drop_duplicates()
    keys = keys.assign(_fy=keys["period"].astype(str).map(fy)).dropna(subset=["_fy"])
    chosen_by_year = peers[["group_id", "peer_id", "period"]].rename(columns={"period": "_fy"})
    link = keys.merge(chosen_by_year, on=["group_id", "_fy"])
    units = link.merge(m.rename(columns={"group_id": "peer_id"}), on=["peer_id", "period"])
    units = units.rename(columns={"group_id": "unit_id"})[UNIT_COLUMNS].drop_duplicates().reset_index(drop=True)
    ids = link.sort_values("peer_id").groupby(["group_id", "period"], as_index=False)["peer_id"].agg(list)
    labels = ids.assign(comparator=[f"{len(p)} nearest peer group{'s' if len(p) != 1 else ''}" for p in ids["peer_id"]],
                        comparator_id=[", ".join(map(str, p)) for p in ids["peer_id"]])[LABEL_COLUMNS]
    groups = labels[["group_id", "period"]].assign(unit_id=labels["group_id"])
    return Assignment(comparator, labels, groups, units, peers)


def _sums(practice_values: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Pooled group sums (pooling's own rule), keyed group_id, indicator, period."""
    pooled = pooling.pooled_table(practice_values, members, set())
    g = pooled[pooled["entity_type"] == "group"].rename(columns={"entity_id": "group_id"})
    return g[["group_id", *pooling.KEYS, "numerator", "denominator", "n_practices"]]


def excluded_members(assignment: Assignment, members: pd.DataFrame) -> pd.DataFrame:
    """The group's own members that are in its comparator unit (group_id, practice_code, period)."""
    m = members[["group_id", "practice_code", "period"]].drop_duplicates()
    j = m.merge(assignment.groups, on=["group_id", "period"]).merge(assignment.units, on=["unit_id", "period",
                                                                                          "practice_code"])
    return j[["group_id", "practice_code", "period"]]


def reference_values(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    assignment: Assignment,
    definitions: Mapping[str, Any],
) -> pd.DataFrame:
    """Per group, indicator and period: the comparator's pooled sums and value (:data:`REFERENCE_COLUMNS`).

    England: the national pool. Otherwise: the unit's pooled sums less those of the group's own members
    in it; no reference (no row) where nothing is left.
    """
    mult = {k: float(d.multiplier) for k, d in definitions.items()}
    if assignment.comparator.is_england:
        eng = pooling.england(practice_values).drop(columns="entity_id")
        out = assignment.labels.merge(eng, on="period")
    else:
        unit = _sums(practice_values, assignment.units.rename(columns={"unit_id": "group_id"}))
        unit = unit.rename(columns={"group_id": "unit_id"})
        own = _sums(practice_values, excluded_members(assignment, members))
        out = assignment.groups.merge(unit, on=["unit_id", "period"]).drop(columns="unit_id")
        out = out.merge(own, on=["group_id", *pooling.KEYS], how="left", suffixes=("", "_own"))
        for c in ("numerator", "denominator", "n_practices"):
            out[c] = out[c] - out[f"{c}_own"].fillna(0)
        out = out[(out["n_practices"] > 0) & (out["denominator"] > 0)]
        out = out.merge(assignment.labels, on=["group_id", "period"])
    out = out[out["indicator_id"].isin(set(mult))]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = out["indicator_id"].map(mult).to_numpy(float) * out["numerator"] / out["denominator"]
    out = out.assign(comparator_value=value, n_practices=out["n_practices"].astype(int))
    return out[REFERENCE_COLUMNS].sort_values(["group_id", "indicator_id", "period"], ignore_index=True)


@dataclass(frozen=True)
class References:
    """Every group's comparator value per indicator and financial year (:data:`REFERENCE_COLUMNS`), as the
    funnels place groups and their members against it; :attr:`missing` names a group that has none."""

    comparator: Comparator
    values: pd.DataFrame

    @property
    def missing(self) -> str:
        """The comparator name of a group with no reference value, e.g. "no region comparator"."""
        return f"no {self.comparator} comparator"


def yearly_references(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    assignment: Assignment,
    definitions: Mapping[str, Any],
) -> References:
    """:func:`reference_values` for the financial years only (the funnels' periods)."""
    fy = practice_values[practice_values["period_type"] == "fy"]
    return References(assignment.comparator, reference_values(fy, members, assignment, definitions))


#: The rule named in ``comparison_method`` of an evaluative row against a comparator other than England.
COMPARATOR_RULE = ("value vs reference range of random groups of the comparator's practices of its size (the "
                   "group's own excluded)")


def comparator_placements(
    arrays: PracticeArrays,
    group_index: MemberIndex,
    members: pd.DataFrame,
    assignment: Assignment,
    indicator_id: str,
    value_type: str,
    confidences: Iterable[float],
) -> tuple[pd.DataFrame, dict[float, Placement]]:
    """Every group of one indicator placed among random groups of its comparator's practices.

    The evaluative comparison (:func:`gpscale.evaluate.evaluative.place`) with the comparator unit's
    practices as the practice distribution (between-practice variance, dispersion and shape), centred on
    the comparator's value without the group's own members, as a two-sample difference. Returns the groups'
    sums (:data:`gpscale.evaluate.evaluative.SUM_COLUMNS`, ``entity_id`` the group) and the placements.
    """
    vt = ValueType(value_type)
    rows = arrays.rows(indicator_id)
    sums = group_index.sums(rows).astype({"entity_id": str, "period": str})
    unit_m = assignment.units.rename(columns={"unit_id": "group_id"})
    unit = MemberIndex(unit_m, arrays).sums(rows).astype({"entity_id": str, "period": str})
    own = MemberIndex(excluded_members(assignment, members), arrays).sums(rows).astype({"entity_id": str,
                                                                                          "period": str})
    link = assignment.groups.astype({"group_id": str, "period": str, "unit_id": str})
    s = sums.merge(link.rename(columns={"group_id": "entity_id"}), on=["entity_id", "period"], how="left")
    fields = ["numerator", "denominator", "sum_w2", "n_practices"]
    u = s[["unit_id", "period"]].merge(unit.rename(columns={"entity_id": "unit_id"})[["unit_id", "period", *fields]],
                                       on=["unit_id", "period"], how="left")
    o = s[["entity_id", "period"]].merge(own[["entity_id", "period", *fields]], on=["entity_id", "period"],
                                         how="left").fillna({f: 0.0 for f in fields})
    r = {f: u[f].to_numpy(float) - o[f].to_numpy(float) for f in fields}
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (r["n_practices"] > 0) & (r["denominator"] > 0)
        rest = pd.DataFrame({"centre": np.where(ok, r["numerator"] / r["denominator"], np.nan),
                             "k": r["denominator"] ** 2 / r["sum_w2"], "size": r["denominator"]})
    s["_key"] = s["unit_id"].fillna("") + "|" + s["period"]
    refs = _unit_references(arrays, rows, unit_m, s, vt)
    return sums, place(s, refs, vt, confidences, key="_key", rest=rest)


def _unit_references(arrays: PracticeArrays, rows: np.ndarray, units: pd.DataFrame, sums: pd.DataFrame,
                     vt: ValueType) -> dict[str, EnglandReference | None]:
    """The reference of each comparator unit and period in ``sums`` (``_key``), from the unit's practices."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k_eff = sums["denominator"].to_numpy(float) ** 2 / sums["sum_w2"].to_numpy(float)
    largest = pd.Series(np.where(np.isfinite(k_eff), k_eff, 1.0), index=sums["_key"].to_numpy()).groupby(
        level=0).max().to_dict()
    prac = pd.DataFrame({"practice_code": np.asarray(arrays.practices, dtype=object)[arrays.practice[rows]],
                         "period": np.asarray(arrays.periods, dtype=object)[arrays.period[rows]], "_row": rows})
    j = prac.merge(units.rename(columns={"group_id": "unit_id"}).astype(str), on=["practice_code", "period"])
    j["_key"] = j["unit_id"] + "|" + j["period"]
    j = j[j["_key"].isin(set(largest))]
    out: dict[str, EnglandReference | None] = {}
    for k, g in j.groupby("_key", sort=False):
        idx = g["_row"].to_numpy()
        x, n, neff = arrays.numerator[idx], arrays.denominator[idx], arrays.effective_n[idx]
        size = np.where(np.isfinite(neff) & (neff > 0), neff, n) if vt is ValueType.WEIGHTED_PROPORTION else n
        need = float(next((e for e in EXACT_SIZES if e >= largest[str(k)]), EXACT_SIZES[-1]))
        out[str(k)] = england_reference(x, n, size, vt, need)
    return out


def on_rows(placed: Mapping[float, Placement], sums: pd.DataFrame, entity_id: np.ndarray, period: np.ndarray,
            use: np.ndarray) -> dict[float, Placement]:
    """``placed`` (rows of ``sums``) re-aligned to the rows ``(entity_id, period)`` where ``use`` is true.

    Rows where ``use`` is false, or with no placement, are not compared (NaN, direction 0). The value of a
    row with no placement is NaN too: callers keep their own values.
    """
    index = pd.MultiIndex.from_arrays([sums["entity_id"].astype(str), sums["period"].astype(str)])
    pos = index.get_indexer(pd.MultiIndex.from_arrays([np.asarray(entity_id, str), np.asarray(period, str)]))
    take = use & (pos >= 0)
    at = np.where(take, pos, 0)
    out = {}
    for conf, pl in placed.items():
        kw: dict[str, np.ndarray] = {}
        for f in fields(pl):
            arr = np.asarray(getattr(pl, f.name))
            if f.name == "compared":
                kw[f.name] = take & arr[at].astype(bool) if arr.size else np.zeros(len(pos), bool)
            elif f.name == "direction":
                kw[f.name] = np.where(take, arr[at], 0).astype(np.int8) if arr.size else np.zeros(len(pos), np.int8)
            else:
                kw[f.name] = np.where(take, arr[at], np.nan) if arr.size else np.full(len(pos), np.nan)
        out[conf] = Placement(**kw)
    return out
