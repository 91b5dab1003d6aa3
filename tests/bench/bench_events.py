"""Benchmark: calibration of the event-study estimator (issue 15), the full version of the simulation test.

``REPLICATES`` panels with an injected effect and as many without (tests/simulation/events/calibration.py
describes the design) give the coverage of the 95% interval for the aggregate effect, the rate at which
"changed" is declared with no effect, the pre-trend test's rejection rate under the null, and the bias
of gpscale's estimator and of a static two-way fixed-effects regression (the baseline, fitted on the same
panels in the same run), each with its Monte Carlo standard error or Wilson interval. A second scenario
adds anticipation (the effect starts a year early, at half a year's worth): the pre-trend test's
rejection rate there is its power to reveal it. Time per replicate is recorded too.
Results: ``bench-results/event_calibration.json``.

Run: ``python -m tests.bench.run events`` (or ``make bench``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gpscale.stats.event_study import EventStudySpec
from gpscale.stats.intervals import wilson_interval
from tests.bench.harness import record
from tests.simulation.events import calibration as cal

REPLICATES = 500
EFFECT = 0.04


def _rate(flags: list[bool]) -> dict[str, float]:
    k, n = int(sum(flags)), len(flags)
    lo, hi = wilson_interval(k, n, 0.95)
    return {"k": k, "n": n, "rate": k / n, "wilson_95_lower": float(lo), "wilson_95_upper": float(hi)}


def _bias(errors: list[float]) -> dict[str, float]:
    a = np.array(errors)
    return {"mean_error": float(a.mean()), "mc_se": float(a.std(ddof=1) / np.sqrt(a.size)),
            "rmse": float(np.sqrt((a**2).mean()))}


def bench_event_calibration() -> None:
    t0 = time.perf_counter()
    eff = [cal.replicate(1000 + r, EFFECT) for r in range(REPLICATES)]
    t_eff = time.perf_counter() - t0
    null = [cal.replicate(5000 + r, 0.0) for r in range(REPLICATES)]
    ant_default = [cal.replicate(9000 + r, EFFECT, anticipation=1) for r in range(REPLICATES // 5)]
    metrics: dict[str, Any] = {
        "replicates": REPLICATES,
        "design": "400 practices, 24 local receiving groups joining in staggered years, 12 years; selection on "
                  "rurality and deprivation, rural practices trending 0.03/yr faster; group-year shocks sd 0.03; "
                  f"ramp {EFFECT}/yr x (years since + 0.5), cohort sizes 1.5x to 0.5x",
        "coverage_95_with_effect": _rate([r.covered for r in eff]),
        "coverage_95_null": _rate([r.covered for r in null]),
        "changed_declared_null": _rate([r.changed for r in null]),
        "changed_declared_with_effect": _rate([r.changed for r in eff]),
        "pretrend_rejects_null": _rate([r.pretrend_p < cal.PRETREND_ALPHA for r in null]),
        "bias_gpscale_with_effect": _bias([r.estimate - r.truth for r in eff]),
        "bias_twfe_with_effect": _bias([r.twfe - r.twfe_truth for r in eff]),
        "mean_truth_aggregate": float(np.mean([r.truth for r in eff])),
        "mean_truth_twfe_estimand": float(np.mean([r.twfe_truth for r in eff])),
        "anticipation_pretrend_rejects": _rate([r.pretrend_p < cal.PRETREND_ALPHA for r in ant_default]),
        "seconds_per_replicate": round(t_eff / REPLICATES, 3),
    }
    path = record("event_calibration", metrics, notes="tests/simulation/events/calibration.py design; fixed seeds")
    print(path.read_text())


def bench_event_anticipation() -> None:
    """Effects that start a year early (half a year's worth): the default estimator (base year g-1, already
    affected) against ``anticipation=1`` (base year g-2), on the same panels."""
    n = REPLICATES // 5
    default = [cal.replicate(9000 + r, EFFECT, anticipation=1) for r in range(n)]
    aware = [cal.replicate(9000 + r, EFFECT, spec=EventStudySpec(anticipation=1), anticipation=1)
             for r in range(n)]
    metrics = {
        "replicates": n,
        "default_coverage_95": _rate([r.covered for r in default]),
        "default_bias": _bias([r.estimate - r.truth for r in default]),
        "default_pretrend_rejects": _rate([r.pretrend_p < cal.PRETREND_ALPHA for r in default]),
        "anticipation_1_coverage_95": _rate([r.covered for r in aware]),
        "anticipation_1_bias": _bias([r.estimate - r.truth for r in aware]),
    }
    path = record("event_anticipation", metrics, notes="calibration design with anticipation of one year")
    print(path.read_text())


def bench_event_speed() -> None:
    """The event studies of ``gpscale evaluate --analysis events`` on synthetic England (default options), the
    current code against the first version (tests/bench/legacy_events.py, the baseline) in the same run."""
    import tempfile
    from pathlib import Path

    from gpscale.evaluate.events import event_studies, scale_up_events
    from tests.bench import legacy_events
    from tests.spec.events.test_speedup_identical import event_inputs

    inp = event_inputs(Path(tempfile.mkdtemp()))
    events = scale_up_events(inp["spell_df"], inp["groups"], inp["kw"].get("successions"))
    kw = {k: v for k, v in inp["kw"].items() if k != "successions"}
    timing: dict[str, list[float]] = {"current": [], "first_version": []}
    for _ in range(3):
        for name, run in (("current", event_studies), ("first_version", legacy_events.event_studies)):
            t0 = time.perf_counter()
            run(inp["pv"], events, inp["definitions"], inp["context"], **kw)
            timing[name].append(time.perf_counter() - t0)
    metrics = {k: {"min_seconds": round(min(v), 3), "median_seconds": round(float(np.median(v)), 3)}
               for k, v in timing.items()}
    metrics["speedup_median"] = round(metrics["first_version"]["median_seconds"]
                                      / metrics["current"]["median_seconds"], 2)
    path = record("event_speed", metrics, notes="small synthetic England; 3 alternating runs each")
    print(path.read_text())


if __name__ == "__main__":
    bench_event_speed()
    bench_event_calibration()
    bench_event_anticipation()
