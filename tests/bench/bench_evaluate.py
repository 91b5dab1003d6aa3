"""Benchmark: the full evaluation of every group x 16 indicators x every period on synthetic England.

Generating synthetic England's files at national size and loading them (180 monthly prescribing files)
takes far longer than the evaluation itself, so this benchmark builds the practice-values frame directly
from the synthetic world model (:func:`gpscale.synth.world.build_world`: the same practices, list sizes,
latent quality, groups, membership spells and injected effects the file writers use), at full size:
about 8,000 practices ever open, ~1,300 groups (PCNs plus the named groups), 16 indicators over 15
financial years and, for the four prescribing indicators, 180 months. It then times
:func:`gpscale.evaluate.run.evaluate_frames` with every analysis, and records wall time and peak memory
to ``bench-results/evaluate.json``. The store-to-frames step (compute_indicators) is benchmarked by the
indicators' own benchmark.

Run: ``python -m tests.bench.run evaluate`` (or ``make bench``).
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpscale.bundle import write_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle
from gpscale.evaluate.run import evaluate_frames
from gpscale.indicators.library import load_definitions
from gpscale.periods import fy_label, months_of_fy
from gpscale.synth.world import FYS, NAMED_GROUPS, build_world
from tests.bench.harness import peak_rss_mib, record

SEED = 1
PRACTICES = 6500

#: Synthetic indicator -> (world latent key, kind, England-ish denominator per patient).
_SPEC: dict[str, tuple[str, str, float]] = {
    "rx_antibacterial_items": ("rx_antibacterial_items", "rate_month", 1.0),
    "rx_broad_spectrum": ("rx_broad_spectrum", "proportion_month", 0.05),
    "rx_hypnotics_adq": ("rx_hypnotics_adq", "rate_month", 1.0),
    "rx_nsaid_not_first_line": ("rx_nsaid_not_first_line", "proportion_month", 0.02),
    "hosp_emergency_admissions": ("hosp_emergency_admissions", "ratio", 0.1),
    "hosp_acsc_chronic": ("hosp_acsc_chronic", "ratio", 0.015),
    "hosp_ae_attendances": ("hosp_ae_attendances", "ratio", 0.3),
    "hosp_outpatient_first": ("hosp_outpatient_first", "ratio", 0.2),
    "qof_total": ("qof", "score", 0.0),
    "qof_clinical": ("qof", "score", 0.0),
    "qof_organisational": ("qof", "score", 0.0),
    "gpps_overall_good": ("gpps_overall_good", "survey", 0.0),
    "gpps_recommend": ("gpps_recommend", "survey", 0.0),
    "gpps_phone_easy": ("gpps_phone_easy", "survey", 0.0),
    "gpps_opening_hours": ("gpps_opening_hours", "survey", 0.0),
    "gpps_continuity": ("gpps_continuity", "survey", 0.0),
}


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def synthetic_frames(seed: int = SEED, practices: int = PRACTICES) -> dict[str, Any]:
    """Practice values, spells, practice context and groups for a synthetic England of ``practices``."""
    world = build_world(seed, practices)
    rng = np.random.default_rng(seed + 1000)
    codes = world.practices["practice_code"].to_numpy()
    lists = world.list_size.astype(float)  # [practice, fy]
    is_open = lists > 0
    frames = []
    for ind_id, (latent_key, kind, rate) in _SPEC.items():
        eta = world.latent[latent_key]
        for t, fy in enumerate(FYS):
            idx = np.flatnonzero(is_open[:, t])
            if ind_id == "qof_organisational" and fy > 2012:
                continue
            if ind_id in ("gpps_recommend", "gpps_opening_hours") and fy > 2016:
                continue
            n_list = lists[idx, t]
            e = eta[idx, t]
            if kind == "score":
                mx = 1000.0 if fy < 2013 else (900.0 if fy == 2013 else (559.0 if fy < 2021 else 635.0))
                num = np.round(mx * _expit(e + rng.normal(0, 0.05, idx.size)), 2)
                den = np.full(idx.size, mx)
                frames.append(_frame(ind_id, codes[idx], fy_label(fy), "fy", num, den, None))
            elif kind == "survey":
                n_eff = rng.integers(40, 160, idx.size).astype(float)
                num = rng.binomial(n_eff.astype(int), _expit(e)).astype(float)
                frames.append(_frame(ind_id, codes[idx], fy_label(fy), "fy", num, n_eff, n_eff))
            elif kind == "ratio":
                expected = n_list * rate
                num = rng.poisson(expected * np.exp(e)).astype(float)
                frames.append(_frame(ind_id, codes[idx], fy_label(fy), "fy", num, expected, None))
            else:  # monthly prescribing with a financial-year roll-up
                months = months_of_fy(fy)
                nums, dens = np.zeros(idx.size), np.zeros(idx.size)
                for m in months:
                    if kind == "rate_month":
                        den = n_list / 12.0
                        num = rng.poisson(den * np.exp(e)).astype(float)
                    else:
                        den = rng.poisson(n_list * rate / 12.0 * 20).astype(float)
                        num = rng.binomial(den.astype(int), _expit(e)).astype(float)
                    nums += num
                    dens += den
                    frames.append(_frame(ind_id, codes[idx], m, "month", num, den, None))
                frames.append(_frame(ind_id, codes[idx], fy_label(fy), "fy", nums, dens, None))
    pv = pd.concat(frames, ignore_index=True)
    spells = world.membership.rename(columns={}).copy()
    for c in ("start_date", "end_date"):
        spells[c] = pd.to_datetime(pd.Series([None if x is None or pd.isna(x) else x for x in spells[c]],
                                             dtype=object))
    spells["source"] = "synthetic world"
    p = world.practices
    context = pd.DataFrame({
        "practice_code": np.repeat(codes, len(FYS)),
        "period": np.tile([fy_label(y) for y in FYS], len(codes)),
        "patients": lists.ravel(),
    })
    context = context[context["patients"] > 0].merge(
        p[["practice_code", "commissioner", "icb", "region", "postcode", "contract_type", "rurality", "dispensing",
           "imd_score"]], on="practice_code", how="left")
    groups = world.groups[["group_id", "name", "kind"]].copy()
    return {"practice_values": pv, "spells": spells, "context": context, "groups": groups, "world": world}


def _frame(ind: str, codes: np.ndarray, period: str, ptype: str, num: np.ndarray, den: np.ndarray,
           n_eff: np.ndarray | None) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        value = num / den
    return pd.DataFrame({
        "indicator_id": ind, "practice_code": codes, "period": period, "period_type": ptype,
        "numerator": num, "denominator": den, "value": value,
        "effective_n": n_eff if n_eff is not None else np.nan, "definition_version": 1,
    })


def bench_evaluate_full() -> None:
    t0 = time.perf_counter()
    data = synthetic_frames()
    t_frames = time.perf_counter() - t0
    pv = data["practice_values"]
    definitions = load_definitions()
    timings: dict[str, float] = {}
    last = [time.perf_counter()]
    stage = ["membership view"]

    def progress(msg: str) -> None:
        now = time.perf_counter()
        timings[stage[0]] = now - last[0]
        last[0], stage[0] = now, msg.split(":")[0]

    t1 = time.perf_counter()
    ev = evaluate_frames(pv, data["spells"], definitions, view="as-was", data_version="bench",
                         context=data["context"], groups=data["groups"], progress=progress)
    t_eval = time.perf_counter() - t1
    progress("end")
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-evaluate-") as tmp:
        t2 = time.perf_counter()
        bundle = make_bundle(ev)
        t_gate = time.perf_counter() - t2
        paths = write_bundle(bundle, Path(tmp), meta=bundle_meta(ev))
        t_write = time.perf_counter() - t2 - t_gate
        written_mib = sum(p.stat().st_size for p in paths) / 2**20
    groups = ev.members["group_id"].nunique()
    metrics = {
        "practices_ever": int(pv["practice_code"].nunique()),
        "groups": int(groups),
        "named_groups": len(NAMED_GROUPS),
        "indicators": len(ev.definitions),
        "periods": int(pv["period"].nunique()),
        "practice_value_rows": len(pv),
        "member_rows": len(ev.members),
        "rows": {k: len(v) for k, v in ev.tables.items()},
        "frames_seconds": round(t_frames, 1),
        "evaluate_seconds": round(t_eval, 1),
        "stage_seconds": {k: round(v, 1) for k, v in timings.items()},
        "gate_seconds": round(t_gate, 1),
        "write_seconds": round(t_write, 1),
        "written_mib_parquet_and_csv": round(written_mib, 0),
        "peak_rss_mib": round(peak_rss_mib(), 0),
    }
    path = record("evaluate", metrics, notes=(
        "evaluate_frames on a synthetic England built from the world model (frames, not files: see module "
        f"docstring), seed {SEED}, {PRACTICES} practices open at the end; all analyses, as-was view; "
        f"generated {date.today().isoformat()}"))
    print(path.read_text())


if __name__ == "__main__":
    bench_evaluate_full()
