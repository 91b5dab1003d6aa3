"""The forecast's calibration study on synthetic England (shared by the simulation test and ``make bench``).

A synthetic England is drawn from the generator's world model (:func:`tests.bench.bench_evaluate.
synthetic_frames`: the same practices, list sizes, latent quality, PCNs and membership the file writers
use, with sampling of every count), so its future is unknown to the forecast only by chance. For each
origin year ``t`` a scheme is built with several targets per indicator, spread so that the predicted
probabilities cover 0 to 1:

* the network's pooled value at least as good as England's value in year ``t`` (a fixed standard), and
  than England's value moved half a between-network standard deviation either way;
* no worse than the network's own value in year ``t`` (an improvement target with ``by: 0``);
* thresholds from England's value to one between-network standard deviation better (met = full payment);
* at least half of the members at least as good as England's value (a practice-share target).

The scheme is forecast from the data up to ``t`` (:func:`gpscale.evaluate.schemes.forecast_scheme` sees
nothing later) and scored on year ``t + 1`` (:func:`gpscale.evaluate.schemes.score_scheme`); every
(network, target) with a forecast and an outcome is one prediction. The reliability table groups
predictions into deciles of the predicted probability (equal numbers of predictions, as in the
Hosmer-Lemeshow table) and compares the mean prediction with the observed frequency of meeting the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from gpscale.evaluate.schemes import Scheme, SchemeInputs, forecast_scheme, score_scheme
from gpscale.indicators.library import load_definitions
from gpscale.periods import fy_label
from gpscale.stats.intervals import wilson_interval
from tests.bench.bench_evaluate import synthetic_frames

#: Indicators of every value type (proportion, rate, ratio, survey proportion, score).
INDICATORS = ("rx_broad_spectrum", "rx_antibacterial_items", "hosp_emergency_admissions", "gpps_overall_good",
              "gpps_continuity", "qof_total")


@dataclass(frozen=True)
class Study:
    """The predictions (one row per network x target x origin) and the reliability tables."""

    predictions: pd.DataFrame
    deciles: pd.DataFrame
    bins: pd.DataFrame
    settings: dict[str, Any]


def world_inputs(seed: int, practices: int) -> SchemeInputs:
    """Scheme inputs for a synthetic England built from the world model."""
    data = synthetic_frames(seed, practices)
    pv = data["practice_values"]
    pv = pv[pv["indicator_id"].isin(INDICATORS) & (pv["period_type"] == "fy")].reset_index(drop=True)
    world = data["world"]
    ctx = data["context"][["practice_code", "period", "patients"]]
    dates = world.practices[["practice_code", "open_date", "close_date"]]
    defs = load_definitions()
    return SchemeInputs(practice_values=pv, spells=data["spells"], groups=data["groups"],
                        practices=ctx.merge(dates, on="practice_code", how="left"),
                        definitions={k: defs[k] for k in INDICATORS}, data_version=f"synthetic seed {seed}")


def _scheme(inputs: SchemeInputs, origin: int, view: str, draws: int, seed: int) -> Scheme | None:
    """The study's scheme for one origin year (targets placed around England's value that year)."""
    period = fy_label(origin)
    entries: list[dict[str, Any]] = []
    for ind in INDICATORS:
        d = inputs.definitions[ind]
        rows = inputs.values_of(ind)
        rows = rows[rows["period"] == period]
        if rows.empty:
            continue
        mult = float(d.multiplier)
        england = mult * rows["numerator"].sum() / rows["denominator"].sum()
        sign = 1 if str(d.polarity) == "high_is_good" else -1
        spread = _network_spread(inputs, ind, period, mult)
        top = mult if str(d.value_type) in ("proportion", "weighted_proportion", "score") else None

        def q(x: float, top: float | None = top) -> str:
            x = max(0.0, x if top is None else min(top, x))
            return str(Decimal(repr(round(float(x), 4))))

        reward = {"amount": "100.00"}
        entries += [
            {"id": f"{ind}_std", "indicator": ind, "target": {"type": "network_standard", "standard": q(england)},
             "reward": reward},
            {"id": f"{ind}_std_hi", "indicator": ind,
             "target": {"type": "network_standard", "standard": q(england + sign * 0.5 * spread)}, "reward": reward},
            {"id": f"{ind}_std_lo", "indicator": ind,
             "target": {"type": "network_standard", "standard": q(england - sign * 0.5 * spread)}, "reward": reward},
            {"id": f"{ind}_hold", "indicator": ind, "target": {"type": "improvement", "by": "0"}, "reward": reward},
            {"id": f"{ind}_thr", "indicator": ind,
             "target": {"type": "thresholds", "lower": q(england), "upper": q(england + sign * spread)},
             "reward": reward},
            {"id": f"{ind}_share", "indicator": ind,
             "target": {"type": "practice_share", "standard": q(england), "share": "0.5"}, "reward": reward},
        ]
    if not entries:
        return None
    return Scheme.model_validate({
        "id": "calibration", "title": "forecast calibration study", "period": period, "membership": view,
        "networks": {"kinds": ["pcn"]}, "forecast": {"draws": draws, "seed": seed}, "indicators": entries})


def _network_spread(inputs: SchemeInputs, ind: str, period: str, mult: float) -> float:
    """Between-network standard deviation of pooled values (PCN spells, any membership)."""
    rows = inputs.values_of(ind)
    rows = rows[rows["period"] == period]
    m = inputs.spells[["group_id", "practice_code"]].drop_duplicates("practice_code")
    g = rows.merge(m, on="practice_code").groupby("group_id")[["numerator", "denominator"]].sum()
    return float((mult * g["numerator"] / g["denominator"]).std())


def run_study(seed: int, practices: int, origins: dict[str, list[int]], draws: int = 2000) -> Study:
    """Forecast from each origin, score the next year, and tabulate calibration (see the module notes)."""
    inputs = world_inputs(seed, practices)
    preds = []
    for view, years in origins.items():
        for origin in years:
            scheme = _scheme(inputs, origin, view, draws, seed + origin)
            if scheme is None:
                continue
            fc = forecast_scheme(scheme, inputs).forecasts
            fc = fc[fc["status"] == "forecast"][["group_id", "target_id", "indicator_id", "target_type", "p_met"]]
            outcome = score_scheme(scheme, inputs, period=fy_label(origin + 1), contributions=False).scores
            outcome = outcome[outcome["status"] == "scored"][["group_id", "target_id", "met"]]
            preds.append(fc.merge(outcome, on=["group_id", "target_id"], how="inner").assign(
                origin=fy_label(origin), view=view))
    p = pd.concat(preds, ignore_index=True)
    return Study(p, reliability(p, deciles=True), reliability(p, deciles=False),
                 {"seed": seed, "practices": practices, "origins": origins, "draws": draws,
                  "indicators": list(INDICATORS)})


def reliability(pred: pd.DataFrame, deciles: bool = True) -> pd.DataFrame:
    """Mean prediction against observed frequency, by decile of prediction (or by tenth of 0-1)."""
    p = pred["p_met"].to_numpy(float)
    y = pred["met"].to_numpy(bool)
    if deciles:
        order = np.argsort(p, kind="stable")
        group = np.empty(len(p), int)
        group[order] = np.arange(len(p)) * 10 // len(p)
    else:
        group = np.minimum((p * 10).astype(int), 9)
    rows = []
    for g in range(10):
        m = group == g
        n = int(m.sum())
        if n == 0:
            continue
        k = int(y[m].sum())
        lo, hi = wilson_interval(np.array([k]), np.array([n]), 0.95)
        rows.append({"group": g + 1, "p_from": float(p[m].min()), "p_to": float(p[m].max()), "n": n,
                     "mean_predicted": float(p[m].mean()), "observed": k / n,
                     "observed_lower": float(lo[0]), "observed_upper": float(hi[0]),
                     "difference": k / n - float(p[m].mean())})
    return pd.DataFrame(rows)


def markdown(study: Study) -> str:
    """The reliability tables as Markdown (for the test report, BENCHMARKS.md and docs/schemes.md)."""
    s = study.settings
    p = study.predictions
    lines = [f"Synthetic England, seed {s['seed']}, {s['practices']} practices; {len(p):,} predictions "
             f"({p['group_id'].nunique()} PCNs, {p['target_id'].nunique()} targets over {len(s['indicators'])} "
             f"indicators, origins {', '.join(f'{v}: {min(y)}-{max(y)}' for v, y in s['origins'].items())}); "
             f"{s['draws']:,} draws per forecast.", "",
             "| decile | predicted range | n | mean predicted | observed (95% CI) | observed - predicted |",
             "|---|---|---|---|---|---|"]
    for r in study.deciles.itertuples():
        lines.append(f"| {r.group} | {r.p_from:.3f}-{r.p_to:.3f} | {r.n:,} | {r.mean_predicted:.3f} | "
                     f"{r.observed:.3f} ({r.observed_lower:.3f}-{r.observed_upper:.3f}) | {r.difference:+.3f} |")
    by_type = p.groupby("target_type").apply(
        lambda d: pd.Series({"n": len(d), "mean_predicted": d["p_met"].mean(), "observed": d["met"].mean()}),
        include_groups=False)
    lines += ["", "By target type:", "", "| target type | n | mean predicted | observed |", "|---|---|---|---|"]
    for t, r in by_type.iterrows():
        lines.append(f"| {t} | {int(r['n']):,} | {r['mean_predicted']:.3f} | {r['observed']:.3f} |")
    return "\n".join(lines) + "\n"
