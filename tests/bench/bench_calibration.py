"""Benchmark: how often random groups of practices are flagged, before and after issue 14, real and synthetic.

Placebo groups (:mod:`gpscale.evaluate.calibration`) have no group effect by construction, so a 95%
comparison should flag about 2.5% of them each way. This runs the harness at full size and writes the
before / after tables:

* **Real QOF** (``../shared/data/real``: every year of the practice achievement files, with the ePCN
  workbooks, QOF geography mappings, the ODS register and NHS payments for PCN membership, regions and
  list sizes), loaded into a temporary store through the loaders. Three designs: 4,000 groups of six
  practices per year (the issue's own set-up), 4,000 groups copying the sizes of real PCNs (practices and
  list-size deciles), and the same within one region.
* **Synthetic England at full size** (6,500 practices, the world model's frames as in
  ``bench_evaluate.py``, 16 indicators, 15 financial years and 180 months), 1,000 groups copying the
  sizes of its PCNs and named groups.

Analyses, all on the same placebo groups:

* ``before``: what the scorecard did before issue 14, the descriptive comparison (patient-level Wilson /
  Poisson / Kish intervals, unchanged) and, for QOF scores, the Student-t interval of member scores
  (re-created here as the baseline; the product no longer has it);
* ``evaluative``: the chosen method (random groups of England's practices of the same effective size,
  exact shape by FFT convolution);
* two candidates measured against it, sharing its centre and variance but not its shape: ``normal``
  (the closed-form random-effects reference, symmetric) and ``link-normal`` (normal on the logit / log
  scale, which skews it);
* ``scorecard``: the scorecard as it is now (descriptive rows, evaluative rows for scores);
* ``trends``: whole-period trends relative to England (fixed groups followed over time);
* ``funnels before`` (issue 14c: Spiegelhalter's symmetric overdispersion-adjusted limits with ``tau^2``
  from the groups, re-created as the baseline) and ``funnels`` (the group funnel as it is now: the
  evaluative reference range);
* ``size``: is bigger better? The size slope on sets of 100 placebo groups.

It also times the evaluative comparison of every real group of synthetic England (about 1,270 groups x 16
indicators x 195 periods) against the scorecard on the same groups, in the same run.
Results: ``bench-results/calibration_real_qof.{json,md}`` and ``calibration_synthetic.{json,md}``.
Run: ``python -m tests.bench.run calibration``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from gpscale.domain.vocabulary import ComparisonLabel
from gpscale.evaluate import pooling
from gpscale.evaluate.calibration import (
    FLAG_COLUMNS,
    FlagAnalysis,
    PlaceboData,
    PlaceboDesign,
    _flags,
    calibrate,
    calibrate_frames,
    scorecard_flags,
)
from gpscale.evaluate.common import enum_value, stacked
from gpscale.evaluate.evaluative import ComparisonType, evaluative_comparison, evaluative_placements, method_text
from gpscale.evaluate.funnels import _place, _target
from gpscale.evaluate.scorecard import scorecard
from gpscale.groups.membership import MembershipView, members_by_period
from gpscale.indicators.library import load_definitions
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from tests.bench.bench_evaluate import synthetic_frames
from tests.bench.harness import RESULTS_DIR, peak_rss_mib, record

REAL_GROUPS = 4000
SYNTH_GROUPS = 1000
SYNTH_PRACTICES = 6500
SEED = 14
T_METHOD = "Student-t interval of the maximum-weighted mean of member practice scores (before issue 14)"


def _real() -> Path:
    env = os.environ.get("GPSCALE_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return base / "real"


# ------------------------------------------------------------------------------------ analyses measured


def _rows(analysis: str, comparison: str, method: str, sums: pd.DataFrame, indicator: str, conf: float,
          direction: np.ndarray, compared: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "analysis": analysis, "comparison_type": comparison, "method": method, "entity_id": sums["entity_id"],
        "indicator_id": indicator, "period": sums["period"], "period_type": sums["period_type"],
        "confidence": conf, "direction": direction.astype(np.int8), "compared": compared,
    })[FLAG_COLUMNS]


def _link(p: np.ndarray, value_type: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if value_type in ("rate", "standardised_ratio"):
            return np.log(p)
        return np.log(p / (1.0 - p))


def evaluative_and_candidates(data: PlaceboData) -> pd.DataFrame:
    """The chosen evaluative comparison and the two symmetric candidates, from one set of placements."""
    out = []
    for ind, sums, placed in evaluative_placements(data.practice_values, data.members, data.definitions,
                                                   data.confidences):
        vt = enum_value(data.definitions[ind].value_type)
        for conf, pl in placed.items():
            z = stats.norm.ppf(0.5 + conf / 2.0)
            ok = pl.compared
            out.append(_rows("evaluative", ComparisonType.EVALUATIVE.value, method_text(conf), sums, ind, conf,
                             pl.direction, ok))
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (pl.value - pl.centre) / pl.sd
                derivative = pl.centre if vt in ("rate", "standardised_ratio") else pl.centre * (1 - pl.centre)
                t_link = (_link(pl.value, vt) - _link(pl.centre, vt)) / (pl.sd / derivative)
            for name, stat in (("candidate: normal", t), ("candidate: link-normal", t_link)):
                ok_c = ok & np.isfinite(stat)
                direction = np.where(ok_c & (stat > z), 1, np.where(ok_c & (stat < -z), -1, 0))
                out.append(_rows(name, ComparisonType.EVALUATIVE.value, name, sums, ind, conf, direction, ok_c))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=FLAG_COLUMNS)


def before_flags(data: PlaceboData) -> pd.DataFrame:
    """Before issue 14: the descriptive scorecard and, for QOF scores, the t interval on member scores."""
    scores = {k for k, d in data.definitions.items() if enum_value(d.value_type) == "score"}
    others = {k: d for k, d in data.definitions.items() if k not in scores}
    parts = []
    if others:
        parts.append(scorecard_flags(PlaceboData(data.practice_values, data.members, others, data.confidences,
                                                 data.data_version)))
    use = pooling.usable(data.practice_values)
    rows = use[use["indicator_id"].isin(scores)].merge(data.members, on=["practice_code", "period"])
    if not rows.empty:
        keys = ["group_id", "indicator_id", "period", "period_type"]
        se = pooling.score_standard_errors(rows, keys)
        sums = rows.groupby(keys, as_index=False, observed=True)[["numerator", "denominator"]].sum()
        sums = sums.merge(se, on=keys)
        england = use.groupby(["indicator_id", "period"], observed=True)[["numerator", "denominator"]].sum()
        centre = (england["numerator"] / england["denominator"]).rename("centre").reset_index()
        sums = sums.merge(centre, on=["indicator_id", "period"]).rename(columns={"group_id": "entity_id"})
        mean = (sums["numerator"] / sums["denominator"]).to_numpy()
        k = sums["score_k"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (mean - sums["centre"].to_numpy()) / sums["score_se"].to_numpy()
        for conf in data.confidences:
            crit = stats.t.ppf(0.5 + conf / 2.0, np.where(k > 1, k - 1, np.nan))
            ok = np.isfinite(crit) & np.isfinite(t)
            direction = np.where(ok & (t > crit), 1, np.where(ok & (t < -crit), -1, 0))
            for ind in scores:
                m = (sums["indicator_id"] == ind).to_numpy()
                parts.append(_rows("scorecard", ComparisonType.DESCRIPTIVE.value, T_METHOD, sums[m], ind, conf,
                                   direction[m], ok[m]))
    flags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FLAG_COLUMNS)
    return flags.assign(analysis="before")


def funnels_before(data: PlaceboData) -> pd.DataFrame:
    """Before issue 14c: groups outside Spiegelhalter's overdispersion-adjusted funnel limits (symmetric,
    normal, ``tau^2`` from the groups themselves), the placement member practices still get, applied to
    the placebo groups as the group funnel did."""
    pooled = data.pooled()
    fy = pooled[(pooled["period_type"] == "fy") & (pooled["denominator"] > 0) & pooled["numerator"].notna()]
    out = []
    for ind, d in data.definitions.items():
        for period, rows in fy[fy["indicator_id"] == ind].groupby("period", sort=True):
            eng, grp = rows[rows["entity_type"] == "england"], rows[rows["entity_type"] == "group"]
            if eng.empty or len(grp) < 3:
                continue
            placed = stacked([_place(grp, d, _target(eng, enum_value(d.value_type)))])
            g = grp.assign(period=period, confidence=0.0)
            for conf, k in ((0.95, "95"), (0.998, "998")):
                labels = placed[f"od_comparison_{k}"].where(placed[f"od_comparison_{k}"] != "not compared",
                                                            str(ComparisonLabel.NOT_COMPARED))
                out.append(_flags(g.assign(confidence=conf), "funnels before", ComparisonType.EVALUATIVE.value,
                                  placed["od_method"], g["period"], pd.Series(labels.to_numpy()), data.definitions))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=FLAG_COLUMNS)


ANALYSES = [
    FlagAnalysis("before", before_flags),
    FlagAnalysis("evaluative and candidates", evaluative_and_candidates),
    "scorecard",
    "trends",
    FlagAnalysis("funnels before", funnels_before),
    "funnels",
    "size",
]


# ----------------------------------------------------------------------------------------------- reports


def _pct(rate: float, lo: float, hi: float) -> str:
    return f"{100 * rate:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"


def _summary(table: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    cols = ["analysis", "comparison_type", "method", *keys, "confidence", "compared", "flagged_rate",
            "flagged_rate_lower", "flagged_rate_upper", "higher_rate", "higher_rate_lower", "higher_rate_upper",
            "lower_rate", "lower_rate_lower", "lower_rate_upper", "higher_is", "verdict"]
    return table[cols].to_dict(orient="records")


def _markdown_rows(t: pd.DataFrame, key: str) -> list[str]:
    """One line per key: flagged better and worse at 95% for before, evaluative and the candidates."""
    t95 = t[t["confidence"] == 0.95]
    order = ["before", "evaluative", "candidate: normal", "candidate: link-normal", "trends", "funnels before",
             "funnels", "size"]
    lines = ["| " + key + " | " + " | ".join(f"{a}: better / worse" for a in order) + " |",
             "|---|" + "---|" * len(order)]
    for value, g in t95.groupby(key, sort=True):
        cells = []
        for a in order:
            # the evaluative rows of an analysis with both comparisons (funnels), else its only ones
            r = g[(g["analysis"] == a) & (g["compared"] > 0)].sort_values("comparison_type", ascending=False)
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            better, worse = ("higher", "lower") if r["higher_is"] != "worse" else ("lower", "higher")
            cells.append(f"{100 * r[f'{better}_rate']:.1f}% / {100 * r[f'{worse}_rate']:.1f}%")
        lines.append(f"| {value} | " + " | ".join(cells) + " |")
    return lines


def _evaluative_detail(t: pd.DataFrame, key: str) -> list[str]:
    t95 = t[(t["confidence"] == 0.95) & (t["analysis"] == "evaluative")]
    lines = [f"| {key} | comparisons | flagged (95% CI) | higher | lower | verdict |", "|---|---|---|---|---|---|"]
    for r in t95.sort_values(key).itertuples():
        lines.append(f"| {getattr(r, key)} | {r.compared:,} | "
                     f"{_pct(r.flagged_rate, r.flagged_rate_lower, r.flagged_rate_upper)} | "
                     f"{_pct(r.higher_rate, r.higher_rate_lower, r.higher_rate_upper)} | "
                     f"{_pct(r.lower_rate, r.lower_rate_lower, r.lower_rate_upper)} | {r.verdict} |")
    return lines


# ----------------------------------------------------------------------------------------------- real QOF


def _real_files(real: Path) -> list[Path]:
    return [
        *sorted((real / "qof_practice_overall_achievement").glob("QOF_*.csv")),
        *sorted((real / "ods_epcn").glob("ePCN_*.xlsx")),
        *sorted((real / "qof_organisation_reference").glob("MAPPING_NHS_GEOGRAPHIES_*.csv")),
        *sorted((real / "ods_epraccur").glob("epraccur_*.csv")),
        *sorted((real / "nhs_payments_to_general_practice").glob("*.csv")),
    ]


def bench_calibration_real_qof() -> None:
    real = _real()
    if not (real / "qof_practice_overall_achievement").is_dir():
        print(f"[bench] real QOF files not found under {real}: skipped")
        return
    designs = {
        "groups of 6": PlaceboDesign(groups=REAL_GROUPS, practices=6, seed=SEED),
        "PCN sizes": PlaceboDesign(groups=REAL_GROUPS, size_from_groups=True, seed=SEED),
        "PCN sizes, one region": PlaceboDesign(groups=REAL_GROUPS, size_from_groups=True, region=True, seed=SEED),
    }
    tables, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-calibration-") as tmp, \
            open_store(Path(tmp) / "store.duckdb") as st:
        ingest(st, _real_files(real))
        for name, design in designs.items():
            t0 = time.perf_counter()
            analyses = ANALYSES if name == "groups of 6" else [*ANALYSES[:2], *ANALYSES[4:]]
            tables[name] = calibrate(st, design, indicator_ids=["qof_total"], analyses=analyses).table
            seconds[name] = round(time.perf_counter() - t0, 1)
    metrics: dict[str, Any] = {"groups_per_year": REAL_GROUPS, "seconds": seconds, "designs": {}}
    lines = ["# Placebo calibration on the real QOF files (total achievement, every year)", "",
             f"{REAL_GROUPS:,} random groups per year and design, seed {SEED}; nominal 2.5% each way at 95%. "
             "Rates at 95%, better / worse.", ""]
    for name, t in tables.items():
        years = t[t["period"] != "all"]
        metrics["designs"][name] = {"design": str(t["design"].iloc[0]), "rows": _summary(years, ["period"])}
        lines += [f"## {name}", "", f"_{t['design'].iloc[0]}_", "", *_markdown_rows(years, "period"), "",
                  "Evaluative comparison in detail:", "", *_evaluative_detail(years, "period"), ""]
    path = record("calibration_real_qof", metrics, notes=f"generated {date.today().isoformat()}")
    (RESULTS_DIR / "calibration_real_qof.md").write_text("\n".join(lines) + "\n")
    print(path.read_text()[:2000])


# -------------------------------------------------------------------------------------------- synthetic


def _real_groups(data: dict[str, Any], periods: Iterable[str]) -> pd.DataFrame:
    return members_by_period(data["spells"], sorted(periods), MembershipView.parse("as-was"))


def bench_calibration_synthetic() -> None:
    t0 = time.perf_counter()
    data = synthetic_frames(SEED, SYNTH_PRACTICES)
    pv = data["practice_values"]
    definitions = load_definitions()
    periods = sorted(pv["period"].unique())
    real = _real_groups(data, periods)
    t_frames = time.perf_counter() - t0

    # speed: the evaluative comparison of every real group against the scorecard, same run and groups
    t1 = time.perf_counter()
    ev = evaluative_comparison(pv, real, definitions, "as-was", "bench")
    t_evaluative = time.perf_counter() - t1
    t2 = time.perf_counter()
    card = scorecard(pv, real, definitions, "as-was", "bench")
    t_scorecard = time.perf_counter() - t2
    real_flags = {
        "evaluative": float((ev[ev["confidence"] == 0.95]["comparison"].isin(["better", "worse", "higher",
                                                                                "lower"])).mean()),
        "descriptive": float((card[(card["entity_type"] == "group") & (card["confidence"] == 0.95)]
                              ["descriptive_comparison"].isin(["better", "worse", "higher", "lower"])).mean()),
    }
    del ev, card

    t3 = time.perf_counter()
    design = PlaceboDesign(groups=SYNTH_GROUPS, size_from_groups=True, seed=SEED)
    fy_real = real[real["period"].astype(str).str.startswith("FY")]
    cal = calibrate_frames(pv, definitions, design, context=data["context"], real_members=fy_real,
                           analyses=ANALYSES, data_version="bench")
    t_harness = time.perf_counter() - t3
    pooled = cal.table[cal.table["period"] == "all"].copy()
    pooled["indicator"] = pooled["indicator_id"] + np.where(pooled["period_type"] == "month", " (months)", "")
    metrics = {
        "practices": SYNTH_PRACTICES, "real_groups": int(real["group_id"].nunique()),
        "periods": len(periods), "indicators": int(pv["indicator_id"].nunique()),
        "placebo_groups": SYNTH_GROUPS, "design": design.describe(True),
        "seconds": {"frames": round(t_frames, 1), "evaluative_all_real_groups": round(t_evaluative, 1),
                    "scorecard_all_real_groups": round(t_scorecard, 1),
                    "evaluative_over_scorecard": round(t_evaluative / t_scorecard, 2),
                    "harness_all_analyses": round(t_harness, 1)},
        "real_groups_flagged_at_95": real_flags,
        "peak_rss_mib": round(peak_rss_mib(), 0),
        "rows": _summary(pooled, ["indicator_id", "period_type"]),
    }
    path = record("calibration_synthetic", metrics, notes=f"world-model frames, seed {SEED}; "
                                                           f"generated {date.today().isoformat()}")
    lines = ["# Placebo calibration on synthetic England (every indicator)", "",
             f"{SYNTH_PRACTICES:,} practices (world-model frames, seed {SEED}), {SYNTH_GROUPS:,} placebo groups "
             f"per period: _{design.describe(True)}_. Every period pooled (financial years; months separately). "
             "Rates at 95%, better / worse (higher / lower for outpatient first attendances).", "",
             *_markdown_rows(pooled, "indicator"), "", "Evaluative comparison in detail:", "",
             *_evaluative_detail(pooled, "indicator"), "",
             f"Speed, every real group ({metrics['real_groups']:,}) x {metrics['indicators']} indicators x "
             f"{len(periods)} periods, same run: evaluative {t_evaluative:.1f} s, scorecard {t_scorecard:.1f} s. "
             f"Real groups flagged at 95%: evaluative {100 * real_flags['evaluative']:.1f}%, descriptive "
             f"{100 * real_flags['descriptive']:.1f}%.", ""]
    (RESULTS_DIR / "calibration_synthetic.md").write_text("\n".join(lines))
    print(path.read_text()[:2000])
