"""The results bundle: every table any output shows, through the disclosure gate, written once.

:func:`make_bundle` turns an :class:`~gpscale.evaluate.run.Evaluation` into the raw tables of the
registry (:mod:`gpscale.evaluate.registry`), passes them through :func:`gpscale.disclosure.disclose`,
computes the tables derived from disclosed ones (:mod:`gpscale.evaluate.derived`) and returns a
:class:`~gpscale.disclosure.Disclosed`; :func:`gpscale.bundle.write_bundle` writes it (one Parquet file
per table, the disclosure log, ``manifest.json``, optional CSV and Excel) with :func:`bundle_meta` in the
manifest. Reports and the dashboard open the folder with :func:`gpscale.bundle.open_bundle`. Layout:
docs/bundle.md.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gpscale.bundle import write_bundle
from gpscale.disclosure import Disclosed, disclose
from gpscale.disclosure.gate import extend
from gpscale.evaluate import derived
from gpscale.evaluate.common import enum_value
from gpscale.evaluate.registry import (
    DEFINITION_COLUMNS,
    DERIVED,
    GROUP_COLUMNS,
    MEMBER_COLUMNS,
    PRACTICE_COLUMNS,
    PRACTICE_VALUE_COLUMNS,
    REGISTRY,
    SPELL_COLUMNS,
)
from gpscale.evaluate.run import Evaluation
from gpscale.evaluate.scorecard import CONFIDENCES


def _definitions(ev: Evaluation) -> pd.DataFrame:
    rows = [{
        "indicator_id": k, "title": d.title, "unit": d.unit, "domain": d.domain, "polarity": enum_value(d.polarity),
        "value_type": enum_value(d.value_type), "multiplier": float(d.multiplier),
        "description": " ".join(str(d.description).split()), "why_it_matters": " ".join(str(d.why_it_matters).split()),
        "period_types": ",".join(enum_value(p) for p in d.period_types),
        "data_breaks": ",".join(str(b) for b in d.data_breaks), "version": int(d.version),
    } for k, d in ev.definitions.items()]
    return pd.DataFrame(rows, columns=DEFINITION_COLUMNS)


def _fit(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` (missing ones null), for registry tables filled from other sources."""
    if frame is None:
        return pd.DataFrame(columns=columns)
    out = frame.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = None
    return out[columns]


#: The analysis that produces each table (a table of an analysis not run is left out: "not computed").
ANALYSIS_OF = {
    "scorecard": "scorecard", "trends": "trends", "funnels": "variation", "group_funnels": "variation",
    "funnel_curves": "variation", "dispersion": "variation", "convergence": "variation",
    "characteristics": "characteristics", "size_effect": "size", "size_curve": "size", "size_bands": "size",
    "events": "events", "event_study": "events", "event_summary": "events",
    "event_domain": "events",
}


def raw_tables(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """The registry's tables from an evaluation, before the gate (never written as they are)."""
    tables: dict[str, pd.DataFrame] = {
        name: frame for name, frame in ev.tables.items()
        if name in REGISTRY and name not in DERIVED and ANALYSIS_OF.get(name, ev.analyses[0]) in ev.analyses
    }
    tables["practice_values"] = _fit(ev.practice_values, PRACTICE_VALUE_COLUMNS)
    tables["definitions"] = _definitions(ev)
    tables["groups"] = _fit(ev.groups, GROUP_COLUMNS)
    tables["practices"] = _fit(ev.practices, PRACTICE_COLUMNS)
    tables["spells"] = _fit(ev.spells, SPELL_COLUMNS)
    tables["members"] = _fit(ev.members, MEMBER_COLUMNS)
    return tables


def make_bundle(ev: Evaluation) -> Disclosed:
    """Gate the evaluation's tables and add the tables derived from disclosed ones."""
    value_types = {k: enum_value(d.value_type) for k, d in ev.definitions.items()}
    gated = disclose(raw_tables(ev), REGISTRY, value_types=value_types, members=ev.members)
    extra: dict[str, pd.DataFrame] = {"disclosure_log": gated.log}
    card = gated.tables.get("scorecard")
    if card is not None:  # the summaries derive from the disclosed scorecard
        confidences = tuple(c for c in CONFIDENCES if (card["confidence"] == c).any())
        calibration = gated.tables.get("calibration")  # issue 14: placebo rates beside each comparison
        extra |= {
            "summary": derived.summary(card, confidences, calibration),
            "indicator_summary": derived.indicator_summary(card, calibration),
            "group_distribution": derived.group_distribution(card),
            "spc": derived.spc(card, ev.definitions),
        }
    return extend(gated, extra)


def bundle_meta(ev: Evaluation) -> dict[str, Any]:
    """What the manifest says about an evaluation: membership view, versions, analyses, indicators."""
    return {
        "membership_view": ev.view.label,
        "data_version": ev.data_version,
        "analyses": list(ev.analyses),
        "indicators": list(ev.definitions),
        "definition_versions": {k: int(d.version) for k, d in ev.definitions.items()},
        "groups_from": sorted({str(s) for s in ev.spells.get("source", pd.Series(dtype=str)).dropna().unique()}),
        "calibration": ev.calibration,  # issue 14: how the placebo groups were drawn (seed, number), or None
    }


__all__ = ["bundle_meta", "make_bundle", "raw_tables", "write_bundle"]
