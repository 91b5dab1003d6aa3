"""Running the evaluation: indicators -> membership -> the five analyses, as tidy tables.

:func:`evaluate` works on a store: it computes every indicator with data for every practice and period,
reads every group's membership (registry files, ePCN workbooks, the PCN columns of other publications,
plus an optional registry file not yet ingested), applies the membership view and runs the analyses.
:func:`evaluate_frames` does the same from data frames (practice values, spells and practice context),
for notebooks and benchmarks. The tables returned are raw (small counts included) for an analyst's own
use; anything written to disk or shown goes through the disclosure gate as a results bundle
(:mod:`gpscale.evaluate.bundle`).

Analyses (``analyses=`` selects; each table is empty when its analysis was not run):

=================  =====================================================================================
scorecard          ``scorecard`` (every group and England x indicator x period, 95% and 99.8%, p- and
                   q-values) and ``summary`` (per group: indicators better / worse, with FDR control)
trends             ``trends`` (group, England and group-minus-England trends per data-break segment)
variation          ``funnels`` (member practices in England's funnel, PHE and overdispersion-adjusted),
                   ``group_funnels`` (every group in England's funnel), ``funnel_curves`` (limit lines),
                   ``dispersion`` (IQR, CV, SCV per group and year), ``convergence`` (narrowing?)
characteristics    ``characteristics`` (meta-regression of relative performance on group characteristics)
size               ``size_effect``, ``size_curve``, ``size_bands`` (is bigger better?)
events             ``events``, ``event_study``, ``event_summary`` (did scaling up change quality? event
                   studies per event kind and receiving group: :mod:`gpscale.evaluate.events`)
=================  =====================================================================================

``profiles`` (the organisation table), ``groups`` (the registry), ``practices`` (names and attributes)
and the membership spells and per-period members used are always produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.evaluate import pooling
from gpscale.evaluate.calibration import PlaceboDesign, calibrate_frames, with_placebo_rates
from gpscale.evaluate.characteristics import CHARACTERISTIC_COLUMNS, characteristics, relative_performance
from gpscale.evaluate.common import definition_versions, enum_value
from gpscale.evaluate.comparator import Comparator, ComparatorKind, assign, yearly_references
from gpscale.evaluate.evaluative import EnglandReferences
from gpscale.evaluate.funnels import (
    CURVE_GRID_COLUMNS,
    FUNNEL_COLUMNS,
    GROUP_FUNNEL_COLUMNS,
    funnel_curves,
    group_funnels,
    member_funnels,
    national_funnels,
)
from gpscale.evaluate.inputs import contiguous, practice_values
from gpscale.evaluate.profiles import PROFILE_COLUMNS, group_profiles, practice_context
from gpscale.evaluate.scorecard import CONFIDENCES, RESULT_COLUMNS, comparison_counts, scorecard
from gpscale.evaluate.size import BAND_COLUMNS, CURVE_COLUMNS, EFFECT_COLUMNS, size_analysis
from gpscale.evaluate.trends import TREND_COLUMNS, group_trends
from gpscale.evaluate.variation import CONVERGENCE_COLUMNS, DISPERSION_COLUMNS, convergence, dispersion
from gpscale.groups.membership import MembershipView, members_by_period, spells
from gpscale.store.db import Store, data_version

ANALYSES: tuple[str, ...] = ("scorecard", "trends", "variation", "characteristics", "size", "events")

Progress = Callable[[str], None]

#: The calibration every evaluation runs by default (docs/methods/placebo-calibration.md): placebo groups
#: per period (sizes copied from the real groups), seeded.
CALIBRATION = PlaceboDesign(groups=400, seed=14)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class Evaluation:
    """Results of one evaluation, and what produced them. Every table is a pandas data frame."""

    scorecard: pd.DataFrame
    practice_values: pd.DataFrame
    members: pd.DataFrame
    definitions: dict[str, Any]
    view: MembershipView
    data_version: str
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    funnels: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_funnels: pd.DataFrame = field(default_factory=pd.DataFrame)
    funnel_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    dispersion: pd.DataFrame = field(default_factory=pd.DataFrame)
    convergence: pd.DataFrame = field(default_factory=pd.DataFrame)
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    characteristics: pd.DataFrame = field(default_factory=pd.DataFrame)
    size_effect: pd.DataFrame = field(default_factory=pd.DataFrame)
    size_curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    size_bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    spells: pd.DataFrame = field(default_factory=pd.DataFrame)
    practices: pd.DataFrame = field(default_factory=pd.DataFrame)
    analyses: tuple[str, ...] = ANALYSES
    #: tables of analyses outside the five above, by name (events: issue 15; calibration: issue 14)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: how the placebo groups of the calibration were drawn (groups, seed, design, analyses, seconds), or None
    calibration: dict[str, Any] | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (practice values and members excluded)."""
        return {
            "scorecard": self.scorecard, "summary": self.summary, "trends": self.trends, "funnels": self.funnels,
            "group_funnels": self.group_funnels, "funnel_curves": self.funnel_curves, "dispersion": self.dispersion,
            "convergence": self.convergence, "profiles": self.profiles,
            "characteristics": self.characteristics, "size_effect": self.size_effect,
            "size_curve": self.size_curve, "size_bands": self.size_bands, "groups": self.groups, **self.extra,
        }


def evaluate(
    store: Store,
    indicator_ids: list[str] | None = None,
    view: str = "as-was",
    definitions_dir: Path | None = None,
    engine: str = "duckdb",
    *,
    groups_file: Path | None = None,
    analyses: Iterable[str] = ANALYSES,
    confidences: Iterable[float] = CONFIDENCES,
    n_boot: int = 499,
    progress: Progress | None = None,
    calibration: PlaceboDesign | None = CALIBRATION,
    comparator: str = "england",
) -> Evaluation:
    """Compute indicators for every practice and period and run the analyses for every group in the store.

    ``groups_file`` adds the groups of a registry file (YAML or CSV) that has not been ingested (a group
    with the id of a stored one replaces it); it is validated by the registry rules first. ``comparator``:
    england | region | icb | peers:K (:mod:`gpscale.evaluate.comparator`).
    """
    from gpscale.groups.registry import group_records

    say = progress or (lambda _msg: None)
    MembershipView.parse(view)
    chosen = Comparator.parse(comparator)
    definitions, pv = practice_values(store, indicator_ids, definitions_dir, engine, say)
    say("reading groups and membership")
    spell_df = spells(store)
    groups = group_records(store)
    if groups_file is not None:
        extra_groups, extra_spells = read_groups_file(store, groups_file)
        spell_df = pd.concat([spell_df[~spell_df["group_id"].isin(extra_groups["group_id"])], extra_spells],
                             ignore_index=True)
        groups = pd.concat([groups[~groups["group_id"].isin(extra_groups["group_id"])], extra_groups],
                           ignore_index=True)
    periods = sorted(pv["period"].unique().tolist()) if not pv.empty else []
    context = practice_context(store, periods)
    practices = store.df("SELECT practice_code, name, postcode, status, commissioner, icb, contract_type, rurality, "
                         "open_date, close_date FROM practice ORDER BY practice_code")
    successions = None
    if "events" in set(analyses) or chosen.kind is ComparatorKind.PEERS:  # issue 15: age structure for matching
        from gpscale.evaluate.events import age_structure, store_successions

        successions = store_successions(store) if "events" in set(analyses) else None
        context = context.merge(age_structure(store, periods), on=["practice_code", "period"], how="left")
    return evaluate_frames(pv, spell_df, definitions, view=view, data_version=data_version(store),
                           context=context, groups=groups, analyses=analyses, confidences=confidences,
                           n_boot=n_boot, progress=say, practices=practices, successions=successions,
                           calibration=calibration, comparator=str(chosen), area_names=icb_names(store))


def icb_names(store: Store) -> dict[str, str]:
    """ICB (STP) code -> name, from the NHS-geographies mapping's columns (latest ingest; issue 15)."""
    names = store.df(
        """
        SELECT c.value AS code, arg_max(n.value, n.ingest_id) AS name
        FROM practice_attribute c JOIN practice_attribute n
          ON c.practice_code = n.practice_code AND c.period = n.period AND n.attribute = 'stp_name'
        WHERE c.attribute = 'stp_code' AND c.value IS NOT NULL AND n.value IS NOT NULL GROUP BY ALL
        """
    )
    return {str(r.code).strip(): str(r.name).strip() for r in names.itertuples()}


def read_groups_file(store: Store, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Groups and spells of a registry file, validated (errors raise ValueError naming the rule)."""
    from gpscale.sources.base import SourceError
    from gpscale.sources.registry_file import read_registry, registry_problems

    try:
        groups, spell_list = read_registry(Path(path))
    except SourceError as exc:
        raise ValueError(str(exc)) from exc
    known = {r[0] for r in store.con.execute("SELECT group_id FROM group_record").fetchall()}
    errors = [p for p in registry_problems(groups, spell_list, known) if p.level == "error"]
    if errors:
        raise ValueError(f"{Path(path).name}: " + "; ".join(str(e) for e in errors[:5]))
    g = pd.DataFrame(groups).drop(columns=["as_of"], errors="ignore").assign(source=f"registry file {Path(path).name}")
    s = pd.DataFrame([{"group_id": x.group_id, "practice_code": x.practice_code, "start_date": x.start_date,
                       "end_date": x.end_date, "source": f"registry file {Path(path).name}"} for x in spell_list])
    for c in ("start_date", "end_date"):
        s[c] = pd.to_datetime(s[c])
    return g, s


def evaluate_frames(
    practice_values: pd.DataFrame,
    spell_df: pd.DataFrame,
    definitions: Mapping[str, Any],
    *,
    view: str = "as-was",
    data_version: str = "",
    context: pd.DataFrame | None = None,
    groups: pd.DataFrame | None = None,
    analyses: Iterable[str] = ANALYSES,
    confidences: Iterable[float] = CONFIDENCES,
    n_boot: int = 499,
    progress: Progress | None = None,
    practices: pd.DataFrame | None = None,
    successions: pd.DataFrame | None = None,
    calibration: PlaceboDesign | None = CALIBRATION,
    comparator: str = "england",
    area_names: Mapping[str, str] | None = None,
) -> Evaluation:
    """Run the analyses on data frames (see :func:`evaluate`).

    ``comparator`` (england | region | icb | peers:K) is what the scorecard, trends and funnels compare each group
    with (:mod:`gpscale.evaluate.comparator`; needs ``context``), ``area_names`` names ICBs by code.

    ``practice_values``: indicator_id, practice_code, period, period_type, numerator, denominator,
    value, definition_version (and effective_n for survey indicators). ``spell_df``: group_id,
    practice_code, start_date, end_date. ``context``: :func:`gpscale.evaluate.profiles.practice_context`
    rows (needed for profiles, characteristics and the size analysis). ``groups``: group_id, name, kind.
    ``practices``: practice_code, name and attributes (shown by reports and the dashboard).
    ``successions``: :func:`gpscale.evaluate.events.store_successions` rows (merger events).
    ``calibration``: how to draw the placebo groups of the calibration harness (its number of groups and
    seed; the sizes are copied from the real groups when there are any), or None for no calibration.
    """
    say = progress or (lambda _msg: None)
    wanted = tuple(a for a in ANALYSES if a in set(analyses))
    unknown = set(analyses) - set(ANALYSES)
    if unknown:
        raise ValueError(f"unknown analysis {', '.join(sorted(unknown))}; choose from {', '.join(ANALYSES)}")
    mv = MembershipView.parse(view)
    chosen = Comparator.parse(comparator)
    pv = contiguous(practice_values)  # issue 17: one Arrow chunk per column, not thousands
    # unique() first: a Python set of millions of Arrow strings took 1.8 CPU-s at 3,000 practices, this 0.03
    with_data = set(pv.loc[pv["numerator"].notna(), "indicator_id"].unique()) if not pv.empty else set()
    definitions = {k: d for k, d in definitions.items() if k in with_data}
    pv = pv[pv["indicator_id"].isin(set(definitions))]
    periods = sorted(pv["period"].unique().tolist()) if not pv.empty else []
    members = members_by_period(spell_df, periods, mv)
    versions = definition_versions(pv, definitions)
    label = mv.label
    score_ids = {k for k, d in definitions.items() if enum_value(d.value_type) == "score"}
    say(f"pooling {members['group_id'].nunique()} groups x {len(definitions)} indicators x {len(periods)} periods")
    pooled = pooling.pooled_table(pv, members, score_ids)
    references = EnglandReferences(pv)  # England's evaluative references: the scorecard's and the calibration's
    out: dict[str, pd.DataFrame] = {}
    assignment = None
    if not chosen.is_england and {"scorecard", "trends", "variation"} & set(wanted):
        say(f"comparator: {chosen}")
        assignment = assign(chosen, members, context, area_names)
    if "scorecard" in wanted:
        say("scorecard: every group against England at 95% and 99.8%, evaluative and descriptive")
        out["scorecard"] = scorecard(pv, members, definitions, label, data_version, confidences, pooled=pooled,
                                     references=references, comparator=assignment)
        conf_levels = tuple(confidences)
        out["summary"] = pd.concat([comparison_counts(out["scorecard"], confidence=c) for c in conf_levels],
                                   ignore_index=True)
    if "trends" in wanted:
        say("trends: groups and England, between data breaks")
        out["trends"] = group_trends(pv, members, definitions, label, data_version, versions, confidences,
                                     pooled=pooled, comparator=assignment)
    if "variation" in wanted:
        say("variation between member practices: funnels, dispersion, convergence")
        refs = None if assignment is None else yearly_references(pv, members, assignment, definitions)
        nat = national_funnels(pv, definitions)  # member practices in England's funnel (the dispersion's counts)
        england_members = member_funnels(pv, members, definitions, label, data_version, versions, nat)
        out["funnels"] = england_members if refs is None else member_funnels(
            pv, members, definitions, label, data_version, versions, nat, references=refs)
        out["group_funnels"] = group_funnels(pooled, definitions, label, data_version, versions,
                                             references=references, members=members, comparator=refs)
        out["funnel_curves"] = pd.concat([funnel_curves(out["funnels"], "practices", definitions),
                                          funnel_curves(out["group_funnels"], "groups", definitions, references)],
                                         ignore_index=True)
        out["dispersion"] = dispersion(pv, members, definitions, label, data_version, versions, england_members)
        out["convergence"] = convergence(pv, members, definitions, label, data_version, versions, n_boot=n_boot)
    fy_members = members[members["period"].astype(str).str.startswith("FY")]
    if context is not None and not context.empty:
        say("group profiles")
        out["profiles"] = group_profiles(fy_members, context, groups, label, data_version)
    else:
        out["profiles"] = _empty(PROFILE_COLUMNS)
    if {"characteristics", "size"} & set(wanted):
        relative = relative_performance(pooled, definitions)
        if "characteristics" in wanted:
            say("characteristics: meta-regression of relative performance")
            out["characteristics"] = characteristics(relative, out["profiles"], label, data_version, versions)
        if "size" in wanted:
            say("is bigger better? performance against group size")
            eff, curve, bands = size_analysis(relative, out["profiles"], label, data_version, versions)
            out["size_effect"], out["size_curve"], out["size_bands"] = eff, curve, bands
    group_table = groups if groups is not None else pd.DataFrame(columns=["group_id", "name", "kind"])
    extra: dict[str, pd.DataFrame] = {}
    if "events" in wanted:  # issue 15: event studies (gpscale.evaluate.events)
        from gpscale.evaluate.events import event_tables

        say("events: did scaling up change quality? (event studies)")
        extra = event_tables(pv, spell_df, groups, definitions, context, successions=successions,
                             view_label=label, data_version=data_version, versions=versions, progress=say)
    calibrated = None
    if calibration is not None:  # issue 14: how often would random groups of practices be flagged?
        calibrated = _calibrate(pv, definitions, calibration, wanted, context, fy_members, confidences,
                                data_version, references, say)
        if calibrated is not None:
            extra = {**extra, "calibration": calibrated[0]}
    return Evaluation(
        calibration=calibrated[1] if calibrated is not None else None,
        scorecard=with_placebo_rates(out.get("scorecard", _empty(RESULT_COLUMNS)),
                                     calibrated[0] if calibrated is not None else None),
        practice_values=pv,
        members=members,
        definitions=dict(definitions),
        view=mv,
        data_version=data_version,
        summary=out.get("summary", pd.DataFrame()),
        trends=out.get("trends", _empty(TREND_COLUMNS)),
        funnels=out.get("funnels", _empty(FUNNEL_COLUMNS)),
        group_funnels=out.get("group_funnels", _empty(GROUP_FUNNEL_COLUMNS)),
        funnel_curves=out.get("funnel_curves", _empty(CURVE_GRID_COLUMNS)),
        dispersion=out.get("dispersion", _empty(DISPERSION_COLUMNS)),
        convergence=out.get("convergence", _empty(CONVERGENCE_COLUMNS)),
        profiles=out["profiles"],
        characteristics=out.get("characteristics", _empty(CHARACTERISTIC_COLUMNS)),
        size_effect=out.get("size_effect", _empty(EFFECT_COLUMNS)),
        size_curve=out.get("size_curve", _empty(CURVE_COLUMNS)),
        size_bands=out.get("size_bands", _empty(BAND_COLUMNS)),
        groups=group_table,
        spells=spell_df,
        practices=practices if practices is not None else pd.DataFrame(columns=["practice_code", "name"]),
        analyses=wanted,
        extra=extra,
    )


#: The calibration harness's analysis for each analysis of the evaluation it guards.
CALIBRATED = {"scorecard": "scorecard", "variation": "funnels", "size": "size", "trends": "trends"}


def _calibrate(pv: pd.DataFrame, definitions: Mapping[str, Any], design: PlaceboDesign, wanted: tuple[str, ...],
               context: pd.DataFrame | None, fy_members: pd.DataFrame, confidences: Iterable[float],
               data_version: str, references: EnglandReferences,
               say: Progress) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The calibration table and its manifest entry: placebo groups through every analysis run that flags."""
    names = [CALIBRATED[a] for a in wanted if a in CALIBRATED]
    if context is None or context.empty:
        names = [n for n in names if n != "size"]
    if not names or pv.empty:
        return None
    design = replace(design, size_from_groups=not fy_members.empty)
    t0 = time.perf_counter()
    cal = calibrate_frames(pv, definitions, design, context=context, real_members=fy_members, analyses=names,
                           confidences=confidences, data_version=data_version, references=references,
                           progress=say)
    meta = {"groups": design.groups, "seed": design.seed, "design": str(cal.table["design"].iloc[0])
            if len(cal.table) else design.describe(design.size_from_groups), "analyses": names,
            "seconds": round(time.perf_counter() - t0, 1)}
    return cal.table, meta
