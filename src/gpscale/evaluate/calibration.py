"""The placebo harness: how often are random groups of practices flagged, by each analysis that flags?

A random group of practices has, by construction, no group effect; an analysis that flags it "better" or
"worse" than England does so by chance (or because the method is wrong). Drawing many such *placebo
groups* from the user's own data and running the same analyses the real groups get measures every flag's
false-positive rate, each way, per indicator and confidence level: a 95% comparison should flag about
2.5% of placebo groups each way, 5% in all.

**Drawing placebo groups** (:func:`draw_placebo_groups`, seeded and reproducible):

* their number, and their size: a fixed number of practices (``practices``), or, with
  ``size_from_groups``, the sizes of the store's real groups: each placebo group copies a real group
  chosen at random and replaces each of its members by a random practice of the same list-size decile, so
  that the number of practices *and* of patients match (list sizes from
  :func:`gpscale.evaluate.profiles.practice_context`; practices without a list size form their own band);
* optionally within one region (``region``): the region of the real group copied, or a region chosen with
  probability proportional to its practices;
* *cross-sectionally* for analyses of one period at a time (scorecard comparisons): drawn afresh in each
  period from the practices with data in it, because a group's membership is defined per period and a
  fixed draw would over-represent practices that survive (closing practices differ);
* *longitudinally* for analyses over time (trends): one fixed set of practices per group, drawn from the
  practices with data in the latest financial year, followed through every period.

**Analyses** are plug-ins (:class:`FlagAnalysis`): a name, whether it needs longitudinal groups, and a
function from :class:`PlaceboData` to rows of :data:`FLAG_COLUMNS` (one per group x indicator x period x
confidence, with the direction flagged: +1 higher, -1 lower, 0 neither, and whether it was compared).
Each runs the product's own analysis on the placebo groups and reads its published output. :data:`ANALYSES`:

* ``scorecard``: the scorecard (:func:`gpscale.evaluate.scorecard.scorecard`), both comparisons: the
  evaluative one and the descriptive one (rows named by ``comparison_type``);
* ``funnels``: every group in England's funnel (:func:`gpscale.evaluate.funnels.group_funnels`), outside
  the adjusted limits (evaluative: the evaluative reference range, as the scorecard's) and the PHE
  limits (descriptive);
* ``size``: is bigger better? The size analysis's slope (:func:`gpscale.evaluate.size.size_slopes`) on
  sets of placebo groups: a size slope whose interval excludes zero is a flag;
* ``trends``: each group's whole-period trend relative to England (:mod:`gpscale.evaluate.trends`).

Event studies plug in the same way (docs/methods/placebo-calibration.md, "Adding an analysis").
:func:`gpscale.evaluate.run.evaluate` runs the harness with every evaluation (sizes copied from the real
groups, England's references shared with the scorecard) and the table goes into the results bundle.

**The table** (:data:`CALIBRATION_COLUMNS`, :func:`calibration_table`): per analysis, comparison, indicator,
period (and every period pooled, ``period = "all"``) and confidence level: placebo groups compared, flagged
higher and lower (better and worse by the indicator's polarity), and the rates with Wilson intervals
(:func:`gpscale.stats.intervals.wilson_interval`) beside the nominal ones, and a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.comparisons import prefix, reading
from gpscale.domain.vocabulary import ComparisonLabel, ComparisonType, Polarity, RelativeTrend
from gpscale.evaluate import pooling
from gpscale.evaluate.characteristics import relative_performance
from gpscale.evaluate.common import definition_versions
from gpscale.evaluate.evaluative import EnglandReferences
from gpscale.evaluate.funnels import NOT_APPLICABLE, group_funnels
from gpscale.evaluate.profiles import group_profiles
from gpscale.evaluate.scorecard import scorecard
from gpscale.evaluate.size import size_data, size_slopes
from gpscale.evaluate.trends import group_trends
from gpscale.periods import fy_of_month
from gpscale.stats.intervals import wilson_interval
from gpscale.store.db import Store, data_version

PLACEBO_PREFIX = "PLACEBO-"
PLACEBO_VIEW = "placebo groups"
ALL_PERIODS = "all"
#: List-size bands for matching patients (deciles).
SIZE_BANDS = 10

FLAG_COLUMNS = ["analysis", "comparison_type", "method", "entity_id", "indicator_id", "period", "period_type",
                "confidence", "direction", "compared"]

CALIBRATION_COLUMNS = [
    "analysis", "comparison_type", "method", "indicator_id", "polarity", "higher_is", "period", "period_type",
    "n_periods", "confidence", "placebo_groups", "compared", "not_compared", "flagged", "higher", "lower",
    "better", "worse", "flagged_rate", "flagged_rate_lower", "flagged_rate_upper", "higher_rate",
    "higher_rate_lower", "higher_rate_upper", "lower_rate", "lower_rate_lower", "lower_rate_upper",
    "expected_rate", "expected_each_way", "verdict", "design", "seed", "membership_view", "definition_version",
    "data_version",
]


class Verdict(StrEnum):
    """How a flag's placebo rate compares with its nominal rate ``alpha = 1 - confidence``.

    The tolerance is this project's acceptance rule for flags (issue 14: at 95%, between 3.5% and 6.5% of
    random groups flagged in all and at most 4% either way), scaled with ``alpha``: in all between 0.7 and
    1.3 alpha, each way at most 0.8 alpha. A rate fails only when its 95% Wilson interval lies wholly
    outside the tolerance, so a small harness is not condemned by chance.
    """

    NOMINAL = "near nominal"
    TOO_MANY = "flags too often"
    TOO_FEW = "flags too rarely"
    LOPSIDED = "flags one way too often"
    UNKNOWN = "no placebo comparisons"


#: Tolerance of :class:`Verdict`, as multiples of alpha: total rate (low, high), and the most either way.
TOLERANCE_TOTAL = (0.7, 1.3)
TOLERANCE_EACH_WAY = 0.8


@dataclass(frozen=True)
class PlaceboDesign:
    """How placebo groups are drawn (see the module notes)."""

    groups: int = 400
    practices: int = 6
    size_from_groups: bool = False
    region: bool = False
    seed: int = 1

    def describe(self, templates_used: bool) -> str:
        """One line saying how the groups were drawn (written on every row)."""
        if templates_used:
            size = ("sizes copied from the store's groups: each member replaced by a random practice of the same "
                    "list-size decile")
        else:
            size = f"{self.practices} practices each, drawn uniformly"
        where = ", within one region" if self.region else ""
        return f"{self.groups} random groups, {size}{where}; seed {self.seed}"


@dataclass(frozen=True)
class PlaceboData:
    """What an analysis needs to run on placebo groups.

    ``references`` are England's evaluative references (:class:`EnglandReferences`) when the caller has
    built them already (an evaluation shares the real groups' ones: they depend on England's practices
    only); ``context`` gives list sizes and regions (:func:`gpscale.evaluate.profiles.practice_context`),
    needed by the size analysis. :meth:`pooled` pools the placebo groups once for every analysis.
    """

    practice_values: pd.DataFrame
    members: pd.DataFrame
    definitions: Mapping[str, Any]
    confidences: tuple[float, ...]
    data_version: str = ""
    references: EnglandReferences | None = None
    context: pd.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def england_references(self) -> EnglandReferences:
        """England's evaluative references: ``references`` when given, else built once over the practice values."""
        if self.references is not None:
            return self.references
        if "references" not in self._cache:
            self._cache["references"] = EnglandReferences(self.practice_values)
        return self._cache["references"]

    def pooled(self) -> pd.DataFrame:
        """England and every placebo group pooled per indicator and period (computed once)."""
        if "pooled" not in self._cache:
            self._cache["pooled"] = pooling.pooled_table(self.practice_values, self.members,
                                                         pooling.score_indicators(self.definitions))
        return self._cache["pooled"]


@dataclass(frozen=True)
class FlagAnalysis:
    """An analysis that flags groups: ``run`` returns :data:`FLAG_COLUMNS` rows for the placebo groups."""

    name: str
    run: Callable[[PlaceboData], pd.DataFrame]
    longitudinal: bool = False
    description: str = field(default="", compare=False)


# ------------------------------------------------------------------------------------------------- drawing


def _fy(period: str) -> str:
    return period if period.startswith("FY") else fy_of_month(period)


class _Attributes:
    """List-size band and region of every practice in each financial year, looked up by code.

    Bands are deciles (0-9) of the list size among all practices with one in that year (England's
    distribution), -1 where unknown; a year absent from ``context`` uses each practice's latest values.
    """

    def __init__(self, context: pd.DataFrame | None) -> None:
        self._by_fy: dict[str, tuple[pd.Index, np.ndarray, np.ndarray]] = {}
        self._context = context if context is not None else pd.DataFrame()

    def _table(self, fy: str) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        if fy not in self._by_fy:
            c = self._context
            if c.empty:
                rows = pd.DataFrame(columns=["practice_code", "patients", "region"])
            else:
                rows = c[c["period"] == fy]
                if rows.empty:
                    rows = c.sort_values("period").drop_duplicates("practice_code", keep="last")
                rows = rows.drop_duplicates("practice_code")
            codes = np.asarray(rows["practice_code"].astype(str).to_numpy(), dtype=str)
            patients = pd.to_numeric(rows["patients"], errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(patients) & (patients > 0)
            band = np.full(len(rows), -1, dtype=np.int64)
            if known.any():
                # rank by list size, equal sizes by practice code: the bands must not depend on the order the
                # rows come in (the store gives them in an order that varies with DuckDB's threads; issue 12r)
                by_size = np.lexsort((codes[known], patients[known]))
                rank = np.empty(by_size.size, dtype=np.int64)
                rank[by_size] = np.arange(by_size.size)
                band[known] = rank * SIZE_BANDS // int(known.sum())
            region = rows["region"].astype(object).where(rows["region"].notna(), "").astype(str).to_numpy()
            self._by_fy[fy] = (pd.Index(codes), band, region)
        return self._by_fy[fy]

    def of(self, codes: np.ndarray, period: str) -> tuple[np.ndarray, np.ndarray]:
        """(band, region) of each code in ``period``'s financial year."""
        index, band, region = self._table(_fy(period))
        at = index.get_indexer(codes) if len(index) else np.full(len(codes), -1)
        found = at >= 0
        return (np.where(found, band[np.maximum(at, 0)] if band.size else -1, -1),
                np.where(found, region[np.maximum(at, 0)] if region.size else "", "").astype(str))


@dataclass(frozen=True)
class _Template:
    """A real group's shape: its members' list-size bands and its region."""

    bands: np.ndarray
    region: str | None


def _templates(real_members: pd.DataFrame | None, attrs: _Attributes) -> list[_Template]:
    """The shapes of the real groups in the latest financial year they have members in."""
    if real_members is None or real_members.empty:
        return []
    periods = real_members["period"].astype(str)
    fy = periods.str.startswith("FY")
    latest = str(max(periods[fy])) if fy.any() else str(max(periods))
    rm = real_members[periods == latest].sort_values(["group_id", "practice_code"])
    band, region = attrs.of(rm["practice_code"].astype(str).to_numpy(), latest)
    rm = rm.assign(band=band, region=region)
    out = []
    for _gid, g in rm.groupby("group_id", sort=True):
        regions = g["region"][g["region"] != ""]
        out.append(_Template(g["band"].to_numpy(), str(regions.mode().iloc[0]) if not regions.empty else None))
    return out


def _draw(rng: np.random.Generator, bands: np.ndarray, regions: np.ndarray, design: PlaceboDesign,
          templates: Sequence[_Template]) -> tuple[np.ndarray, np.ndarray]:
    """Placebo groups drawn from a pool of practices: (group index, pool index) of every member.

    Vectorised: every member slot asks for a cell (a list-size band and a region, either possibly "any");
    slots are filled cell by cell, then slots repeating a practice already in their group are drawn again
    (from the wider cell "any band, same region", then "anywhere", if their own cell runs out).
    """
    n_groups, n_pool = design.groups, bands.size
    if n_pool == 0 or n_groups == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    region_names, region_counts = np.unique(regions, return_counts=True)
    if templates:
        chosen_t = rng.integers(len(templates), size=n_groups)
        sizes = np.array([templates[i].bands.size for i in chosen_t])
        slot_band = np.concatenate([templates[i].bands for i in chosen_t]).astype(np.int64)
        group_region = np.array([templates[i].region or "" for i in chosen_t], dtype=object)
    else:
        sizes = np.full(n_groups, min(design.practices, n_pool))
        slot_band = np.full(int(sizes.sum()), -1, dtype=np.int64)
        group_region = (rng.choice(region_names, size=n_groups, p=region_counts / region_counts.sum())
                        if design.region else np.full(n_groups, "", dtype=object))
    if not design.region:
        group_region = np.full(n_groups, "", dtype=object)
    slot_group = np.repeat(np.arange(n_groups), sizes)
    slot_region = group_region[slot_group].astype(str)
    cells: dict[tuple[int, str], np.ndarray] = {}

    def cell(band: int, region: str) -> np.ndarray:
        if (band, region) not in cells:
            ok = np.ones(n_pool, dtype=bool)
            if band >= 0:
                ok &= bands == band
            if region:
                ok &= regions == region
            cells[(band, region)] = np.flatnonzero(ok)
        return cells[(band, region)]

    picks = np.full(slot_group.size, -1, dtype=np.int64)

    def fill(slots: np.ndarray, widen: int) -> None:
        band = slot_band[slots] if widen < 1 else np.full(slots.size, -1, dtype=np.int64)
        region = slot_region[slots] if widen < 2 else np.full(slots.size, "")
        for b, r in sorted(set(zip(band.tolist(), region.tolist(), strict=True))):
            at = slots[(band == b) & (region == r)]
            cand = cell(b, r)
            for wider in ((-1, r), (-1, "")):
                if cand.size == 0:
                    cand = cell(*wider)
            picks[at] = cand[rng.integers(cand.size, size=at.size)]

    fill(np.arange(slot_group.size), 0)
    for attempt in range(60):
        key = slot_group * n_pool + picks
        order = np.argsort(key, kind="stable")
        repeat = np.zeros(key.size, dtype=bool)
        repeat[order[1:]] = key[order[1:]] == key[order[:-1]]
        dup = np.flatnonzero(repeat)
        if dup.size == 0:
            break
        fill(dup, 0 if attempt < 20 else (1 if attempt < 40 else 2))
    return slot_group, picks


def _group_ids(n: int) -> np.ndarray:
    return np.array([f"{PLACEBO_PREFIX}{i + 1:05d}" for i in range(n)], dtype=object)


def draw_placebo_groups(
    practice_values: pd.DataFrame,
    design: PlaceboDesign,
    *,
    context: pd.DataFrame | None = None,
    real_members: pd.DataFrame | None = None,
    longitudinal: bool = False,
) -> pd.DataFrame:
    """Members (group_id, practice_code, period) of ``design.groups`` placebo groups (see the module notes).

    ``practice_values`` decide which practices have data in each period; ``context`` gives list sizes and
    regions (:func:`gpscale.evaluate.profiles.practice_context`); ``real_members`` (the store's groups under
    a membership view) give the sizes to copy when ``design.size_from_groups``. The same design and data
    always give the same groups.
    """
    cols = ["group_id", "practice_code", "period"]
    rng = np.random.default_rng(design.seed)
    use = pooling.usable(practice_values)[["practice_code", "period"]].drop_duplicates()
    by_period = {str(k): np.sort(v.astype(str).to_numpy())
                 for k, v in use.groupby(use["period"].astype(str), sort=True)["practice_code"]}
    periods = sorted(by_period)
    if not periods:
        return pd.DataFrame(columns=cols)
    attrs = _Attributes(context)
    templates = _templates(real_members, attrs) if design.size_from_groups else []
    ids = _group_ids(design.groups)

    def pool(period: str) -> np.ndarray:
        return by_period[period]

    if longitudinal:
        fys = [p for p in periods if p.startswith("FY")] or periods
        codes = pool(max(fys))
        group, pick = _draw(rng, *attrs.of(codes, max(fys)), design, templates)
        base = pd.DataFrame({"group_id": ids[group], "practice_code": codes[pick]})
        return base.merge(pd.DataFrame({"period": periods}), how="cross")[cols]
    frames = []
    for period in periods:
        codes = pool(period)
        group, pick = _draw(rng, *attrs.of(codes, period), design, templates)
        frames.append(pd.DataFrame({"group_id": ids[group], "practice_code": codes[pick], "period": period}))
    return pd.concat(frames, ignore_index=True)[cols]


def templates_used(design: PlaceboDesign, real_members: pd.DataFrame | None) -> bool:
    """Whether the design copies real groups' sizes (asked for, and there are groups to copy)."""
    return bool(design.size_from_groups and real_members is not None and not real_members.empty)


# ------------------------------------------------------------------------------------------------ analyses


Vocabulary = type[ComparisonLabel] | type[RelativeTrend]


def _directions(labels: pd.Series, polarity: pd.Series,
                vocabulary: Vocabulary = ComparisonLabel) -> tuple[np.ndarray, np.ndarray]:
    """(direction, compared) from each row's label under its polarity: +1 significantly higher (or a steeper
    rise than England's), -1 lower, 0 neither; ``compared`` is False where no comparison was made."""
    lab = labels.astype(str).to_numpy()
    pol = polarity.astype(str).to_numpy()
    direction = np.zeros(len(lab), dtype=np.int8)
    for p in Polarity:
        up, down = vocabulary.directions(p)
        direction[(pol == p) & (lab == up)] = 1
        direction[(pol == p) & (lab == down)] = -1
    similar = ComparisonLabel.SIMILAR if vocabulary is ComparisonLabel else RelativeTrend.SIMILAR
    compared = (direction != 0) | (lab == similar)
    return direction, compared


def _polarities(definitions: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(Polarity(d.polarity)) for k, d in definitions.items()}


def _flags(frame: pd.DataFrame, analysis: str, comparison: pd.Series | str, method: pd.Series | str,
           period: pd.Series, labels: pd.Series, definitions: Mapping[str, Any],
           vocabulary: Vocabulary = ComparisonLabel) -> pd.DataFrame:
    pol = frame["indicator_id"].map(_polarities(definitions))
    direction, compared = _directions(labels, pol, vocabulary)
    return pd.DataFrame({
        "analysis": analysis, "comparison_type": comparison, "method": method,
        "entity_id": frame["entity_id"].to_numpy(), "indicator_id": frame["indicator_id"].to_numpy(),
        "period": period.to_numpy(), "period_type": frame["period_type"].to_numpy(),
        "confidence": frame["confidence"].to_numpy(float), "direction": direction, "compared": compared,
    })[FLAG_COLUMNS]


def scorecard_flags(data: PlaceboData) -> pd.DataFrame:
    """Each placebo group's scorecard comparisons with England, both of them, as the scorecard publishes them.

    The scorecard function itself is run on the placebo groups (:func:`gpscale.evaluate.scorecard.scorecard`,
    sharing England's references when given) and both readings of its rows are taken: the evaluative
    comparison (plain columns) and the descriptive one (``descriptive_`` columns). It runs one indicator at a
    time and keeps only the flags: a whole scorecard of 400 placebo groups x 195 periods x 16 indicators
    holds ~2 GiB of columns the flags do not read, whatever the number of practices.
    """
    pooled, references = data.pooled(), data.england_references()
    out = []
    for ind_id, definition in data.definitions.items():
        card = scorecard(data.practice_values, data.members, {ind_id: definition}, PLACEBO_VIEW, data.data_version,
                         data.confidences, pooled=pooled, references=references)
        card = card[card["entity_type"] == "group"]
        for kind in ComparisonType:
            g = reading(card, kind)
            out.append(_flags(g, "scorecard", g["comparison_type"], g["method"], g["period"], g["comparison"],
                              data.definitions))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=FLAG_COLUMNS)


def funnel_flags(data: PlaceboData) -> pd.DataFrame:
    """Each placebo group in England's funnel (financial years): outside the adjusted limits (comparison_type
    evaluative: the evaluative reference range of random groups of its size) and outside the PHE limits
    (descriptive: patient-level sampling only), as :func:`gpscale.evaluate.funnels.group_funnels` places it."""
    placed = group_funnels(data.pooled(), data.definitions, PLACEBO_VIEW, data.data_version,
                           references=data.england_references(), members=data.members)
    frames = []
    for kind, pre, method_col in ((ComparisonType.EVALUATIVE, "od_", "od_method"),
                                  (ComparisonType.DESCRIPTIVE, "", "method")):
        for conf in data.confidences:
            column = f"{pre}comparison_{'95' if conf == 0.95 else '998'}"
            if column not in placed or conf not in (0.95, 0.998):
                continue
            g = placed.assign(entity_id=placed["group_id"], confidence=conf)
            labels = g[column].where(g[column] != NOT_APPLICABLE, str(ComparisonLabel.NOT_COMPARED))
            frames.append(_flags(g, "funnels", kind.value, g[method_col], g["period"], labels, data.definitions))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLAG_COLUMNS)


#: Placebo groups per set for the size analysis (one test per set, indicator and year).
SIZE_SET = 100


def size_flags(data: PlaceboData) -> pd.DataFrame:
    """Is bigger better, among placebo groups? The size analysis's linear slope
    (:func:`gpscale.evaluate.size.size_slopes`, the value and interval :func:`gpscale.evaluate.size.size_analysis`
    reports) on sets of :data:`SIZE_SET` placebo groups: a slope per doubling of registered patients whose
    interval excludes 0 is a flag ("higher": larger groups have higher values). Needs ``data.context``.

    Profiles and relative performance are computed once for every placebo group and the sets fitted from
    one table; the curve, bands and conclusion the size analysis adds are not needed for a flag."""
    if data.context is None or data.context.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    fy = data.members[data.members["period"].astype(str).str.startswith("FY")]
    if fy.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    profiles = group_profiles(fy, data.context, None, PLACEBO_VIEW, data.data_version)
    rows = size_data(relative_performance(data.pooled(), data.definitions), profiles)
    ids = np.array(sorted(set(profiles["group_id"].astype(str))), dtype=object)
    n_sets = max(1, len(ids) // SIZE_SET)
    # placebo group i (in sorted order) belongs to set i mod n_sets
    which = pd.Series(np.arange(len(ids)) % n_sets, index=ids)
    rows = rows.assign(_set=which.reindex(rows["group_id"].astype(str).to_numpy()).to_numpy())
    eff = size_slopes(rows[rows["_set"].notna()].astype({"_set": np.int64}), ["_set", "indicator_id", "period"])
    if eff.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    ok = np.isfinite(eff["lower"].to_numpy(float)) & np.isfinite(eff["upper"].to_numpy(float))
    direction = np.where(ok & (eff["lower"] > 0), 1, np.where(ok & (eff["upper"] < 0), -1, 0))
    return pd.DataFrame({
        "analysis": "size", "comparison_type": ComparisonType.EVALUATIVE.value, "method": eff["method"],
        "entity_id": [f"{PLACEBO_PREFIX}SET-{k + 1:03d}" for k in eff["_set"]], "indicator_id": eff["indicator_id"],
        "period": eff["period"], "period_type": "fy", "confidence": eff["confidence"].astype(float),
        "direction": direction.astype(np.int8), "compared": ok,
    })[FLAG_COLUMNS]


TREND_METHOD = ("whole-period trend relative to England: practice-level weighted least squares on the link scale "
                "with practice fixed effects, within data-break segments, residual variance moderated across groups, "
                "plus the spread of practices' own slopes")


def trend_flags(data: PlaceboData) -> pd.DataFrame:
    """Each placebo group's whole-period trend relative to England's (:mod:`gpscale.evaluate.trends`)."""
    versions = definition_versions(data.practice_values, data.definitions)
    tr = group_trends(data.practice_values, data.members, data.definitions, PLACEBO_VIEW, data.data_version,
                      versions, data.confidences)
    g = tr[(tr["entity_type"] == "group") & (tr["statistic"] == "trend_vs_england") & tr["whole_period"]]
    g = g.assign(period_type="fy")
    span = g["segment_first"].astype(str) + " to " + g["segment_last"].astype(str)
    return _flags(g, "trends", ComparisonType.EVALUATIVE.value, TREND_METHOD, span, g["classification"],
                  data.definitions, RelativeTrend)


#: The analyses the harness runs by default, by name (each reads the real analysis's own output).
ANALYSES: dict[str, FlagAnalysis] = {
    "scorecard": FlagAnalysis("scorecard", scorecard_flags,
                              description="the scorecard's comparisons with England, evaluative and descriptive"),
    "funnels": FlagAnalysis("funnels", funnel_flags,
                            description="groups in England's funnel, evaluative reference and PHE limits"),
    "size": FlagAnalysis("size", size_flags, description="is bigger better? the size slope among placebo groups"),
    "trends": FlagAnalysis("trends", trend_flags, longitudinal=True, description="trend relative to England"),
}


# --------------------------------------------------------------------------------------------------- table


def _verdict(flagged: np.ndarray, higher: np.ndarray, lower: np.ndarray, n: np.ndarray,
             alpha: np.ndarray) -> np.ndarray:
    """:class:`Verdict` per row from the Wilson 95% intervals of the total and one-way rates."""
    f_lo, f_hi = wilson_interval(flagged, n, 0.95)
    h_lo = wilson_interval(higher, n, 0.95)[0]
    l_lo = wilson_interval(lower, n, 0.95)[0]
    out = np.full(n.shape, Verdict.NOMINAL.value, dtype=object)
    with np.errstate(invalid="ignore"):
        out[(h_lo > TOLERANCE_EACH_WAY * alpha) | (l_lo > TOLERANCE_EACH_WAY * alpha)] = Verdict.LOPSIDED.value
        out[f_hi < TOLERANCE_TOTAL[0] * alpha] = Verdict.TOO_FEW.value
        out[f_lo > TOLERANCE_TOTAL[1] * alpha] = Verdict.TOO_MANY.value
    out[~(n > 0)] = Verdict.UNKNOWN.value
    return out


def calibration_table(
    flags: pd.DataFrame,
    definitions: Mapping[str, Any],
    *,
    design_text: str,
    seed: int,
    versions: Mapping[str, str] | None = None,
    data_version: str = "",
) -> pd.DataFrame:
    """Rates at which placebo groups are flagged, per analysis x comparison x indicator x period x confidence.

    Every period is a row, and every period pooled per period type is a row with ``period = "all"``.
    """
    if flags.empty:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    versions = versions or {}
    f = flags.assign(
        _c=flags["compared"].astype(bool),
        _h=(flags["compared"].astype(bool) & (flags["direction"] > 0)),
        _l=(flags["compared"].astype(bool) & (flags["direction"] < 0)),
    )
    keys = ["analysis", "comparison_type", "indicator_id", "period_type", "confidence"]
    agg = {"method": ("method", "first"), "placebo_groups": ("entity_id", "nunique"), "compared": ("_c", "sum"),
           "rows": ("_c", "size"), "higher": ("_h", "sum"), "lower": ("_l", "sum"), "n_periods": ("period", "nunique")}
    per = f.groupby([*keys, "period"], as_index=False, observed=True, sort=True).agg(**agg)
    pooled = f.groupby(keys, as_index=False, observed=True, sort=True).agg(**agg).assign(period=ALL_PERIODS)
    t = pd.concat([per, pooled], ignore_index=True)
    pol = t["indicator_id"].map(_polarities(definitions)).fillna(str(Polarity.NO_JUDGEMENT))
    t["polarity"] = pol
    up = {str(p): str(ComparisonLabel.directions(p)[0]) for p in Polarity}
    t["higher_is"] = pol.map(up)
    n = t["compared"].to_numpy(float)
    hi_n, lo_n = t["higher"].to_numpy(float), t["lower"].to_numpy(float)
    t["not_compared"] = t["rows"] - t["compared"]
    t["flagged"] = t["higher"] + t["lower"]
    judged = pol != Polarity.NO_JUDGEMENT
    high_good = pol == Polarity.HIGH_IS_GOOD
    t["better"] = np.where(judged, np.where(high_good, hi_n, lo_n), np.nan)
    t["worse"] = np.where(judged, np.where(high_good, lo_n, hi_n), np.nan)
    for name, k in (("flagged", hi_n + lo_n), ("higher", hi_n), ("lower", lo_n)):
        with np.errstate(invalid="ignore", divide="ignore"):
            t[f"{name}_rate"] = np.where(n > 0, k / n, np.nan)
        lo, hi = wilson_interval(k, n, 0.95)
        t[f"{name}_rate_lower"], t[f"{name}_rate_upper"] = lo, hi
    conf = t["confidence"].to_numpy(float)
    t["expected_rate"] = np.round(1.0 - conf, 12)
    t["expected_each_way"] = np.round((1.0 - conf) / 2.0, 12)
    t["verdict"] = _verdict(hi_n + lo_n, hi_n, lo_n, n, 1.0 - conf)
    t["design"] = design_text
    t["seed"] = seed
    t["membership_view"] = PLACEBO_VIEW
    t["definition_version"] = t["indicator_id"].map(lambda k: versions.get(k, ""))
    t["data_version"] = data_version
    for c in ("compared", "not_compared", "flagged", "higher", "lower", "placebo_groups", "n_periods"):
        t[c] = t[c].astype(np.int64)
    return t[CALIBRATION_COLUMNS].sort_values(["analysis", "comparison_type", "indicator_id", "period_type",
                                              "confidence", "period"], ignore_index=True)


def with_placebo_rates(card: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """The scorecard with each group row's placebo rates: how often the harness flagged random groups by the
    row's comparisons (``placebo_flagged_rate``, evaluative; ``descriptive_placebo_flagged_rate``).

    The rate is the ``scorecard`` analysis's, every period of the row's period type pooled (``period =
    "all"``), for the row's indicator and confidence level, so a row can be read beside how often the same
    comparison flags groups with no effect. England's rows, and every row when there is no table, keep NaN.
    """
    out = card.copy()
    if table is None or table.empty or card.empty:
        return out
    pooled = table[(table["analysis"] == "scorecard") & (table["period"] == ALL_PERIODS)]
    keys = ["indicator_id", "period_type", "confidence"]
    at = pd.MultiIndex.from_frame(card[keys].astype({"indicator_id": str, "period_type": str, "confidence": float}))
    group = (card["entity_type"] == "group").to_numpy()
    for kind in ComparisonType:
        rows = pooled[pooled["comparison_type"] == kind.value]
        rate = rows.assign(confidence=rows["confidence"].astype(float)).set_index(keys)["flagged_rate"]
        out[f"{prefix(kind)}placebo_flagged_rate"] = np.where(group, rate.reindex(at).to_numpy(float), np.nan)
    return out


@dataclass(frozen=True)
class Calibration:
    """The harness's results: the table, the flag rows it summarises and the placebo members used."""

    table: pd.DataFrame
    flags: pd.DataFrame
    members: dict[bool, pd.DataFrame]
    design: PlaceboDesign


def calibrate_frames(
    practice_values: pd.DataFrame,
    definitions: Mapping[str, Any],
    design: PlaceboDesign = PlaceboDesign(),
    *,
    context: pd.DataFrame | None = None,
    real_members: pd.DataFrame | None = None,
    analyses: Iterable[FlagAnalysis | str] = tuple(ANALYSES),
    confidences: Iterable[float] = (0.95, 0.998),
    data_version: str = "",
    references: EnglandReferences | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Draw placebo groups, run every analysis on them, and tabulate how often each flags (see module notes).

    ``analyses`` are :class:`FlagAnalysis` plug-ins or names from :data:`ANALYSES`; ``references`` England's
    evaluative references when already built over the same practice values (an evaluation passes its own).
    """
    say = progress or (lambda _msg: None)
    chosen = [ANALYSES[a] if isinstance(a, str) else a for a in analyses]
    with_data = set(practice_values.loc[practice_values["numerator"].notna(), "indicator_id"])
    definitions = {k: d for k, d in definitions.items() if k in with_data}
    pv = practice_values[practice_values["indicator_id"].isin(set(definitions))]
    confidences = tuple(confidences)
    refs = references if references is not None else EnglandReferences(pv)
    members: dict[bool, pd.DataFrame] = {}
    shared: dict[bool, PlaceboData] = {}
    flags = []
    for analysis in chosen:
        kind = analysis.longitudinal
        if kind not in members:
            members[kind] = draw_placebo_groups(pv, design, context=context, real_members=real_members,
                                                longitudinal=kind)
            shared[kind] = PlaceboData(pv, members[kind], definitions, confidences, data_version, refs, context)
        say(f"calibration: {analysis.name} on {design.groups} placebo groups")
        flags.append(analysis.run(shared[kind]))
    flag_rows = pd.concat(flags, ignore_index=True) if flags else pd.DataFrame(columns=FLAG_COLUMNS)
    table = calibration_table(flag_rows, definitions, design_text=design.describe(templates_used(design, real_members)),
                              seed=design.seed, versions=definition_versions(pv, definitions),
                              data_version=data_version)
    return Calibration(table, flag_rows, members, design)


def calibrate(
    store: Store,
    design: PlaceboDesign = PlaceboDesign(),
    *,
    indicator_ids: list[str] | None = None,
    analyses: Iterable[FlagAnalysis | str] = tuple(ANALYSES),
    confidences: Iterable[float] = (0.95, 0.998),
    view: str = "as-was",
    definitions_dir: Path | None = None,
    engine: str = "duckdb",
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """:func:`calibrate_frames` on a store: every indicator with data (or ``indicator_ids``), every period.

    The store's groups (under ``view``) are read only to copy their sizes (``design.size_from_groups``);
    list sizes and regions come from :func:`gpscale.evaluate.profiles.practice_context`.
    """
    from gpscale.evaluate.inputs import practice_values
    from gpscale.evaluate.profiles import practice_context
    from gpscale.groups.membership import MembershipView, members_by_period, spells
    say = progress or (lambda _msg: None)
    definitions, pv = practice_values(store, indicator_ids, definitions_dir, engine, say)
    periods = sorted(pv["period"].unique().tolist()) if not pv.empty else []
    context = practice_context(store, periods)
    real = None
    if design.size_from_groups:
        say("reading the store's groups to copy their sizes")
        real = members_by_period(spells(store), [p for p in periods if p.startswith("FY")] or periods,
                                 MembershipView.parse(view))
        if real.empty:
            raise ValueError("--size-from-groups: the store has no groups with members; ingest a group registry "
                             "or ePCN file, or give the size with --practices")
    names = [a if isinstance(a, str) else a.name for a in analyses]
    say(f"drawing {design.groups} placebo groups and running {', '.join(names)}")
    return calibrate_frames(pv, definitions, design, context=context, real_members=real, analyses=analyses,
                            confidences=confidences, data_version=data_version(store))
