"""Benchmark (issue 17): how evaluation cost grows with England's size, and pooling against one DuckDB query.

For 1,000, 3,000, 6,500 and 13,000 synthetic practices (:func:`tests.bench.bench_evaluate.synthetic_frames`:
the world model's practices, groups, spells and injected effects, 16 indicators over 15 financial years
and 180 months), each size in a fresh process so that its peak memory is its own:

* the whole evaluation (:func:`gpscale.evaluate.run.evaluate_frames`, every analysis, as-was view):
  wall seconds and peak resident memory;
* the membership view plus pooling as gpscale does it (:func:`gpscale.groups.membership.members_by_period`
  then :func:`gpscale.evaluate.pooling.pooled_table`) against the baseline, in the same process: the same
  as-was interval join of spells on each period's reference date and the group-by of pooled numerators,
  denominators and practice counts, written as one DuckDB query over the same frames.

Each size also records the wall and CPU seconds of every stage of the evaluation (from its progress
messages; the event studies' per-indicator messages folded into the events stage) and the load average
before and after, since the machine is shared (at load 6 on 2 cores a process gets a fifth of a core, so
wall seconds follow the load and CPU seconds far less). The growth exponent is the least-squares slope of
log(cost) on log(practices) (1 = linear), fitted to CPU seconds, wall seconds, peak memory, the frames'
memory and each stage's CPU seconds; beside it a fixed-plus-linear fit (cost = a + b × practices), since a
fixed cost (the placebo calibration's, the Python start) makes the log-log slope read below 1 at small sizes.
``GPSCALE_BENCH_SCALING_SIZES`` (e.g. ``1000,3000``) chooses the sizes; the results file is rewritten after
each size, so a run stopped early keeps the sizes it finished.
Results: ``bench-results/scaling.json``. Run: ``python -m tests.bench.run scaling``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench.harness import peak_rss_mib, record

SIZES = tuple(int(n) for n in os.environ.get("GPSCALE_BENCH_SCALING_SIZES", "1000,3000,6500,13000").split(","))

BASELINE_SQL = """
WITH per AS (SELECT * FROM periods),
mem AS (
    SELECT DISTINCT s.group_id, s.practice_code, per.period
    FROM spells s JOIN per
      ON (s.start_date IS NULL OR s.start_date <= per.ref) AND (s.end_date IS NULL OR s.end_date >= per.ref)),
use AS (SELECT * FROM pv WHERE numerator IS NOT NULL AND denominator > 0)
SELECT 'england' AS entity_type, 'E92000001' AS entity_id, indicator_id, period, period_type,
       sum(numerator) AS numerator, sum(denominator) AS denominator, count(DISTINCT practice_code) AS n_practices
FROM use GROUP BY ALL
UNION ALL
SELECT 'group', m.group_id, u.indicator_id, u.period, u.period_type,
       sum(u.numerator), sum(u.denominator), count(DISTINCT u.practice_code)
FROM use u JOIN mem m USING (practice_code, period) GROUP BY ALL
"""


def one_size(practices: int) -> dict[str, Any]:
    """Measure one size in this process (called in a child process by :func:`bench_scaling`)."""
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from gpscale.evaluate import pooling
    from gpscale.evaluate.common import enum_value
    from gpscale.evaluate.inputs import contiguous
    from gpscale.evaluate.run import evaluate_frames
    from gpscale.groups.membership import MembershipView, members_by_period, reference_date
    from gpscale.indicators.library import load_definitions
    from tests.bench.bench_evaluate import synthetic_frames

    data = synthetic_frames(practices=practices)
    pv = contiguous(data["practice_values"])
    spells = data["spells"]
    definitions = load_definitions()
    frames_mib = peak_rss_mib()
    periods = sorted(pv["period"].unique().tolist())
    score_ids = {k for k, d in definitions.items() if enum_value(d.value_type) == "score"}

    t0 = time.perf_counter()
    members = members_by_period(spells, periods, MembershipView.parse("as-was"))
    t_view = time.perf_counter() - t0
    pooled = pooling.pooled_table(pv, members, score_ids)
    t_pool = time.perf_counter() - t0 - t_view

    con = duckdb.connect()
    t1 = time.perf_counter()
    con.register("pv", pa.Table.from_pandas(
        pv[["indicator_id", "practice_code", "period", "period_type", "numerator", "denominator"]],
        preserve_index=False))
    con.register("spells", spells[["group_id", "practice_code", "start_date", "end_date"]])
    con.register("periods", pd.DataFrame({"period": periods,
                                          "ref": pd.to_datetime([reference_date(p) for p in periods])}))
    base = con.execute(BASELINE_SQL).df()
    t_base = time.perf_counter() - t1
    con.close()
    if len(base) != len(pooled):
        raise AssertionError(f"baseline has {len(base)} pooled rows, gpscale {len(pooled)}")

    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}
    mark: list[Any] = [time.perf_counter(), time.process_time(), "membership view"]

    def stage(msg: str) -> None:
        if msg.startswith("event studies:"):
            return
        now, cpu = time.perf_counter(), time.process_time()
        stages[mark[2]] = round(stages.get(mark[2], 0.0) + now - mark[0], 2)
        stages_cpu[mark[2]] = round(stages_cpu.get(mark[2], 0.0) + cpu - mark[1], 2)
        # "pooling 294 groups x ...", "calibration: trends on 400 placebo groups", "trends: groups and ..."
        name = msg.split(" on ")[0] if msg.startswith("calibration") else msg.split(":")[0]
        mark[:] = [now, cpu, "pooling" if name.startswith("pooling") else name]

    load_before = os.getloadavg()[0]
    cpu0 = mark[1] = time.process_time()
    t2 = mark[0] = time.perf_counter()
    ev = evaluate_frames(pv, spells, definitions, view="as-was", data_version="bench", context=data["context"],
                         groups=data["groups"], progress=stage)
    stage("end")
    t_eval = time.perf_counter() - t2
    cpu_eval = time.process_time() - cpu0
    return {
        "practices": practices,
        "practices_ever": int(pv["practice_code"].nunique()),
        "groups": int(ev.members["group_id"].nunique()),
        "practice_value_rows": len(pv),
        "evaluate_seconds": round(t_eval, 2),
        # on a shared machine the process's CPU seconds move far less with the load than its wall seconds
        "evaluate_cpu_seconds": round(cpu_eval, 2),
        "view_seconds": round(t_view, 3),
        "pooling_seconds": round(t_pool, 3),
        "duckdb_baseline_seconds": round(t_base, 3),
        "view_pooling_over_duckdb": round((t_view + t_pool) / t_base, 2),
        "frames_peak_mib": round(frames_mib, 0),
        "peak_rss_mib": round(peak_rss_mib(), 0),
        "stage_seconds": stages,
        "stage_cpu_seconds": stages_cpu,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def growth_exponent(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of log(value) on log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def fixed_plus_linear(sizes: list[float], values: list[float]) -> dict[str, float]:
    """Least-squares ``value = fixed + per_1000 × size / 1,000``: the cost any run pays and the cost per
    thousand practices."""
    per, fixed = np.polyfit(np.asarray(sizes, float) / 1000, values, 1)
    return {"fixed": round(float(fixed), 1), "per_1000_practices": round(float(per), 1)}


def bench_scaling(sizes: tuple[int, ...] = SIZES) -> None:
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-m", "tests.bench.bench_scaling", str(n)], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[2], check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
        path = _record(rows)
    print(path.read_text())


def _record(rows: list[dict[str, Any]]) -> Path:
    """Write the sizes measured so far, with the growth exponents once there are two."""
    ns = [r["practices"] for r in rows]
    if len(rows) < 2:
        return record("scaling", {"sizes": rows}, notes="partial: one size")
    cpu = [r["evaluate_cpu_seconds"] for r in rows]
    mem = [r["peak_rss_mib"] for r in rows]
    stages = [s for s in rows[-1]["stage_cpu_seconds"] if all(r["stage_cpu_seconds"].get(s, 0) > 0 for r in rows)]
    metrics = {
        "sizes": rows,
        "time_exponent": round(growth_exponent(ns, [r["evaluate_seconds"] for r in rows]), 2),
        "cpu_time_exponent": round(growth_exponent(ns, cpu), 2),
        "memory_exponent": round(growth_exponent(ns, mem), 2),
        "frames_memory_exponent": round(growth_exponent(ns, [r["frames_peak_mib"] for r in rows]), 2),
        "pooling_time_exponent": round(growth_exponent(ns, [r["view_seconds"] + r["pooling_seconds"]
                                                            for r in rows]), 2),
        "stage_cpu_exponents": {s: round(growth_exponent(ns, [r["stage_cpu_seconds"][s] for r in rows]), 2)
                                for s in stages},
        "cpu_seconds_fit": fixed_plus_linear(ns, cpu),
        "peak_mib_fit": fixed_plus_linear(ns, mem),
    }
    return record("scaling", metrics, notes=(
        "evaluate_frames (all analyses, as-was) on synthetic_frames(seed 1) at each size, one process per size; "
        "peak_rss_mib includes building the frames (frames_peak_mib); view+pooling vs one DuckDB query in the "
        "same process"))


if __name__ == "__main__":
    print(json.dumps(one_size(int(sys.argv[1]))))
