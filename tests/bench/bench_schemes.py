"""Benchmarks of network incentive schemes: the forecast's full calibration study, and national-size timing.

* ``bench_schemes_calibration``: the calibration study of ``tests/simulation/schemes`` at a larger size (more
  practices, every origin year from 2011), written to ``bench-results/schemes_calibration.json`` and ``.md``
  (the reliability table quoted in docs/schemes.md and BENCHMARKS.md).
* ``bench_schemes_national``: scoring (with member contributions), forecasting and the design aid of the
  example network-standards scheme over every PCN of a national-size synthetic England (built from the
  world model, as ``bench_evaluate`` does), against the baseline of pooling the same indicators for every
  group with :func:`gpscale.evaluate.pooling.pooled_table` in the same run.

Run: ``python -m tests.bench.run schemes`` (or ``make bench``).
"""

from __future__ import annotations

import time
from pathlib import Path

from gpscale.evaluate import pooling
from gpscale.evaluate.schemes import design, forecast_scheme, load_scheme, score_scheme
from gpscale.groups.membership import MembershipView, members_by_period
from tests.bench.harness import RESULTS_DIR, peak_rss_mib, record, timeit
from tests.simulation.schemes.calibration import markdown, run_study, world_inputs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemes"
CAL_SEED, CAL_PRACTICES = 3, 2000
CAL_ORIGINS = {"as-was": [2019, 2020, 2021, 2022], "cohort:2019-10-01": list(range(2011, 2019))}


def bench_schemes_calibration() -> None:
    t0 = time.perf_counter()
    study = run_study(CAL_SEED, CAL_PRACTICES, CAL_ORIGINS, draws=2000)
    seconds = time.perf_counter() - t0
    table = markdown(study)
    (RESULTS_DIR / "schemes_calibration.md").write_text("# Scheme forecast calibration (full study)\n\n" + table)
    d = study.deciles
    record("schemes_calibration", {
        "predictions": len(study.predictions), "networks": int(study.predictions["group_id"].nunique()),
        "max_abs_difference": float(d["difference"].abs().max()), "deciles": d.to_dict("records"),
        "seconds": round(seconds, 1), "settings": study.settings,
    }, notes="forecast from each origin year with data up to it, scored on the next year; deciles of predicted "
             "probability (equal counts); the test asserts |observed - predicted| <= 0.05 in each")
    print(table)


def bench_schemes_national() -> None:
    inputs = world_inputs(1, 6500)
    scheme = load_scheme(DOCS / "network_standards.yaml").model_copy(update={"period": "FY2022/23"})
    pv = inputs.practice_values
    members = members_by_period(inputs.spells, ["FY2022/23"], MembershipView.parse("as-was"))
    ids = {e.indicator for e in scheme.indicators}
    year = pv[(pv["period"] == "FY2022/23") & pv["indicator_id"].isin(ids)]
    baseline = timeit(lambda: pooling.pooled_table(year, members, {"qof_total"}), repeat=3)
    score_t = timeit(lambda: score_scheme(scheme, inputs), repeat=1)
    forecast_t = timeit(lambda: forecast_scheme(scheme, inputs), repeat=1)
    design_t = timeit(lambda: design(scheme, inputs, draws=2000), repeat=1)
    scored = score_scheme(scheme, inputs)
    metrics = {
        "networks": len(scored.totals), "targets": len(scheme.indicators),
        "member_rows": len(scored.contributions), "baseline_pooled_table_s": baseline["min_s"],
        "score_with_contributions_s": score_t["min_s"], "forecast_10000_draws_s": forecast_t["min_s"],
        "design_2000_draws_s": design_t["min_s"],
        "score_vs_baseline": round(score_t["min_s"] / baseline["min_s"], 1),
        "peak_rss_mib": round(peak_rss_mib(), 0),
    }
    path = record("schemes_national", metrics, notes=(
        "network_standards example (its four indicators) for every group of a 6,500-practice "
        "synthetic England, FY2022/23, as-was; baseline: pooling the same indicators for every group"))
    print(path.read_text())


if __name__ == "__main__":
    bench_schemes_calibration()
    bench_schemes_national()
