"""Truth recovery: on synthetic England, injected group effects are found and absent ones are not.

The generator (:mod:`gpscale.synth`) injects, for a few named groups and 5% of PCNs, an effect on one
indicator's latent scale that grows with each year of membership (``truth/effects.csv``); every other
(group, indicator) pair has none. An effect that grows with membership is a *trend relative to England*,
so the classification tested is the trend analysis's whole-period ``trend_vs_england`` at 95% (the
slope within data-break segments, pooled over the segments with membership): pairs with an effect
should be "Improving" or "Worsening relative to England" in the true direction (the truth file's
``expected_classification``) in most replicates, pairs without one "Similar to England's trend" about 95%
of the time.

Each replicate is a synthetic England of ``PRACTICES`` practices with its own seed, built by the
generator's own world model and file writers, loaded through the loaders and evaluated from the store,
as a user would. The writers are called exactly as :func:`gpscale.synth.generate` calls them and in the
same order, leaving out the QOF prevalence and payments files, which no indicator in this test reads
(and the surveys), to keep the run to about two minutes. Effects on indicators that had no data in a
replicate are listed in the report, not scored. A last replicate draws practice values straight from
the world model (no files) at a larger size, covering all sixteen indicators. The report (rates with
Wilson intervals, every effect pair, null rates by indicator and seed) is written to
``evaluate_calibration.json`` and ``.md`` in ``figures_dir`` (``bench-results/`` under ``make bench``).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gpscale.domain.vocabulary import RelativeTrend
from gpscale.evaluate.run import evaluate
from gpscale.stats.intervals import wilson_interval
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from gpscale.synth import layouts
from gpscale.synth.generate import expected_classification, write_group_registry, write_truth
from gpscale.synth.world import build_world

SEEDS = (101, 202)
PRACTICES = 800
WRITERS = (layouts.write_epraccur, layouts.write_epcn, layouts.write_qof, layouts.write_gpps,
           layouts.write_registrations, layouts.write_hospital, layouts.write_prescribing)
FRAMES_SEED = 5
FRAMES_PRACTICES = 3000
CONFIDENCE = 0.95
SIMILAR = RelativeTrend.SIMILAR
NOT_CALCULATED = RelativeTrend.CANNOT_BE_CALCULATED


def _replicate(seed: int) -> tuple[pd.DataFrame, list[str], float]:
    """Classifications of every (group, indicator) in one synthetic England, joined to the truth."""
    t0 = time.perf_counter()
    world = build_world(seed, PRACTICES)
    out = Path(tempfile.mkdtemp(prefix=f"gpscale-calib-{seed}-"))
    for sub in ("nhs", "groups", "truth"):
        (out / sub).mkdir()
    for writer in WRITERS:
        writer(world, out / "nhs")
    write_group_registry(world, out / "groups" / "registry.yaml")
    write_truth(world, out / "truth")
    truth = pd.read_csv(out / "truth" / "effects.csv")
    with open_store(":memory:") as st:
        ingest(st, [out / "nhs", out / "groups"])
        ev = evaluate(st, analyses=["trends"])
    tr = ev.trends
    rel = tr[(tr["statistic"] == "trend_vs_england") & (tr["entity_type"] == "group") & tr["whole_period"]
             & (tr["confidence"] == CONFIDENCE)]
    rel = rel.merge(truth[["group_id", "indicator_id", "expected_classification", "effect_per_year"]],
                    left_on=["entity_id", "indicator_id"], right_on=["group_id", "indicator_id"], how="left")
    rel["seed"] = seed
    rel["has_effect"] = rel["expected_classification"].notna()
    rel["recovered"] = rel["classification"] == rel["expected_classification"]
    # effects on indicators this replicate could not evaluate (no data written) are listed, not scored
    unevaluated = sorted(set(truth["indicator_id"]) - set(ev.definitions))
    return rel, unevaluated, time.perf_counter() - t0


def _frames_replicate(seed: int, practices: int) -> pd.DataFrame:
    """The same classification on practice values drawn straight from the world model (no files).

    Covers all 16 indicators, including the hospital ratios whose files the loaders and indicators
    must agree on, at a larger size (see tests/bench/bench_evaluate.py: synthetic_frames).
    """
    from gpscale.evaluate.run import evaluate_frames
    from gpscale.indicators.library import load_definitions
    from gpscale.synth.generate import LATENT_INDICATORS
    from tests.bench.bench_evaluate import synthetic_frames

    data = synthetic_frames(seed, practices)
    truth = [(e.group_id, ind, str(expected_classification(str(e.latent), float(e.effect_per_year))))
             for e in data["world"].effects.itertuples() for ind in LATENT_INDICATORS[str(e.latent)]]
    ev = evaluate_frames(data["practice_values"], data["spells"], load_definitions(), analyses=["trends"])
    tr = ev.trends
    rel = tr[(tr["statistic"] == "trend_vs_england") & (tr["entity_type"] == "group") & tr["whole_period"]
             & (tr["confidence"] == CONFIDENCE)]
    t = pd.DataFrame(truth, columns=["group_id", "indicator_id", "expected_classification"])
    rel = rel.merge(t, left_on=["entity_id", "indicator_id"], right_on=["group_id", "indicator_id"], how="left")
    rel["has_effect"] = rel["expected_classification"].notna()
    rel["recovered"] = rel["classification"] == rel["expected_classification"]
    return rel[rel["classification"] != NOT_CALCULATED]


def _rate(k: int, n: int) -> dict[str, float]:
    lo, hi = wilson_interval(k, n, 0.95) if n else (np.nan, np.nan)
    return {"k": int(k), "n": int(n), "rate": k / n if n else float("nan"), "lower_95": float(lo),
            "upper_95": float(hi)}


@pytest.fixture(scope="module")
def calibration(figures_dir: Path) -> dict[str, Any]:
    rows, skipped, seconds = [], {}, {}
    for seed in SEEDS:
        rel, unevaluated, secs = _replicate(seed)
        rows.append(rel)
        skipped[seed] = unevaluated
        seconds[seed] = round(secs, 1)
    allrel = pd.concat(rows, ignore_index=True)
    effects = allrel[allrel["has_effect"]]
    null = allrel[~allrel["has_effect"]]
    null_calc = null[null["classification"] != NOT_CALCULATED]
    eff_calc = effects[effects["classification"] != NOT_CALCULATED]
    report = {
        "what": ("whole-period trend_vs_england (slopes within data-break segments, pooled) at 95%, as-was "
                 "membership; "
                 f"{len(SEEDS)} synthetic Englands of {PRACTICES} practices (seeds {', '.join(map(str, SEEDS))})"),
        "indicators_evaluated": sorted(set(allrel["indicator_id"])),
        "effects_on_indicators_not_evaluated": {str(k): v for k, v in skipped.items()},
        "effect_pairs_recovered": _rate(int(eff_calc["recovered"].sum()), len(eff_calc)),
        "effect_pairs_not_calculated": int((effects["classification"] == NOT_CALCULATED).sum()),
        "null_pairs_similar": _rate(int((null_calc["classification"] == SIMILAR).sum()), len(null_calc)),
        "null_pairs_improving": _rate(int((null_calc["classification"] == RelativeTrend.IMPROVING).sum()),
                                      len(null_calc)),
        "null_pairs_worsening": _rate(int((null_calc["classification"] == RelativeTrend.WORSENING).sum()),
                                      len(null_calc)),
        "null_similar_by_indicator": {
            ind: _rate(int((g["classification"] == SIMILAR).sum()), len(g))
            for ind, g in null_calc.groupby("indicator_id")
        },
        "null_similar_by_seed": {
            str(s): _rate(int((g["classification"] == SIMILAR).sum()), len(g)) for s, g in null_calc.groupby("seed")
        },
        "effect_pairs": [
            {"seed": int(r.seed), "group": r.entity_id, "indicator": r.indicator_id,
             "effect_per_year": float(r.effect_per_year), "truth": r.expected_classification,
             "classification": r.classification,
             "segment": f"{r.segment_first}-{r.segment_last}", "years": int(r.n_periods),
             "estimate": float(r.value), "lower": float(r.lower), "upper": float(r.upper)}
            for r in effects.sort_values(["seed", "entity_id", "indicator_id"]).itertuples()
        ],
        "seconds_per_replicate": seconds,
    }
    t0 = time.perf_counter()
    frames = _frames_replicate(FRAMES_SEED, FRAMES_PRACTICES)
    f_null, f_eff = frames[~frames["has_effect"]], frames[frames["has_effect"]]
    report["world_model_frames"] = {
        "what": (f"the same classification on practice values drawn from the world model without files, "
                 f"{FRAMES_PRACTICES} practices, seed {FRAMES_SEED}, all 16 indicators"),
        "effect_pairs_recovered": _rate(int(f_eff["recovered"].sum()), len(f_eff)),
        "null_pairs_similar": _rate(int((f_null["classification"] == SIMILAR).sum()), len(f_null)),
        "null_similar_by_indicator": {
            ind: _rate(int((g["classification"] == SIMILAR).sum()), len(g))
            for ind, g in f_null.groupby("indicator_id")
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    _write_report(report, figures_dir)
    return {"report": report, "effects": eff_calc, "null": null_calc, "figures": figures_dir}


def _write_report(report: dict[str, Any], out: Path) -> None:
    (out / "evaluate_calibration.json").write_text(json.dumps(report, indent=1, default=float) + "\n")

    def pct(r: dict[str, float]) -> str:
        ci = f"95% CI {100 * r['lower_95']:.1f}-{100 * r['upper_95']:.1f}%"
        return f"{100 * r['rate']:.1f}% ({r['k']}/{r['n']}; {ci})"

    lines = [
        "# Evaluation calibration on synthetic England (truth recovery)",
        "",
        f"Classification: {report['what']}.",
        "",
        "| measure | result |",
        "|---|---|",
        "| groups with an injected effect classified in the true direction | "
        f"{pct(report['effect_pairs_recovered'])} |",
        f"| groups without an effect classified '{SIMILAR}' (nominal 95%) | "
        f"{pct(report['null_pairs_similar'])} |",
        f"| ... classified improving / worsening | {pct(report['null_pairs_improving'])} / "
        f"{pct(report['null_pairs_worsening'])} |",
        "",
        "Null 'similar' rate by indicator:",
        "",
        "| indicator | similar |",
        "|---|---|",
        *[f"| {k} | {pct(v)} |" for k, v in report["null_similar_by_indicator"].items()],
        "",
        "Every injected effect:",
        "",
        "| seed | group | indicator | effect/yr | truth | classification | segment | estimate (95% CI) |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {e['seed']} | {e['group']} | {e['indicator']} | {e['effect_per_year']:+.2f} | {e['truth']} | "
          f"{e['classification']} | {e['segment']} | {e['estimate']:+.3f} ({e['lower']:+.3f} to {e['upper']:+.3f}) |"
          for e in report["effect_pairs"]],
        "",
        f"Effects on indicators not evaluated (no data in that replicate): "
        f"{json.dumps(report['effects_on_indicators_not_evaluated'])}",
        "",
        f"## World-model frames: {report['world_model_frames']['what']}",
        "",
        "| measure | result |",
        "|---|---|",
        f"| effects classified in the true direction | {pct(report['world_model_frames']['effect_pairs_recovered'])} |",
        f"| no effect, 'similar' (nominal 95%) | {pct(report['world_model_frames']['null_pairs_similar'])} |",
        *[f"| ... {k} | {pct(v)} |" for k, v in report["world_model_frames"]["null_similar_by_indicator"].items()],
        "",
    ]
    (out / "evaluate_calibration.md").write_text("\n".join(lines))


@pytest.mark.slow
def test_groups_with_an_injected_effect_are_classified_in_its_direction_in_most_replicates(calibration):
    r = calibration["report"]["effect_pairs_recovered"]
    assert r["n"] >= 8, "too few injected effects were evaluated to say anything"
    assert r["rate"] >= 0.7, calibration["report"]["effect_pairs"]


@pytest.mark.slow
def test_groups_without_an_effect_are_similar_at_about_the_nominal_rate(calibration):
    r = calibration["report"]
    similar = r["null_pairs_similar"]
    assert similar["n"] >= 1000
    assert 0.92 <= similar["rate"] <= 0.985, similar
    # false calls are not lopsided
    imp, wor = r["null_pairs_improving"]["rate"], r["null_pairs_worsening"]["rate"]
    assert abs(imp - wor) < 0.03
    for ind, v in r["null_similar_by_indicator"].items():
        if v["n"] >= 100:  # indicators that end before PCNs have only the few named groups
            assert v["rate"] >= 0.88, (ind, v)


@pytest.mark.slow
def test_all_sixteen_indicators_calibrate_on_world_model_frames(calibration):
    r = calibration["report"]["world_model_frames"]
    # qof_organisational ends in 2012/13, before any group without an effect has three years of it
    assert len(r["null_similar_by_indicator"]) >= 15
    assert r["effect_pairs_recovered"]["n"] >= 20 and r["effect_pairs_recovered"]["rate"] >= 0.8
    assert 0.93 <= r["null_pairs_similar"]["rate"] <= 0.975
    for ind, v in r["null_similar_by_indicator"].items():
        if v["n"] >= 100:
            assert v["rate"] >= 0.9, (ind, v)


@pytest.mark.slow
def test_the_calibration_report_is_written(calibration):
    out = calibration["figures"]
    md = (out / "evaluate_calibration.md").read_text()
    assert "true direction" in md and "nominal 95%" in md
    assert json.loads((out / "evaluate_calibration.json").read_text())["null_pairs_similar"]["n"] > 0
