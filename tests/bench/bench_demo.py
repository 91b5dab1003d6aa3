"""Benchmark (issue 17): the demo's wall time, peak memory and disk, against the demo as it was, same run.

Each variant runs :func:`gpscale.pipeline.run_demo` in a fresh process (so its peak memory is its own) on the
same synthetic England, generated once beforehand (the set-up ``make demo`` reuses is not timed):

* **now**: the defaults (results as Parquet only; the disclosure audit's SVDs on one BLAS thread);
* **baseline**, the demo as it was: a CSV copy of every results table, and the audit on every BLAS thread
  (``pooled.audit.__wrapped__``, the function without :func:`gpscale.blas.one_blas_thread`).

``GPSCALE_BENCH_DEMO_BASELINE`` (a git revision, e.g. the commit before a change) makes the baseline that
revision's demo with its own defaults instead, run from a temporary checkout of it (``git worktree``).
Both bundles are checked identical table by table. ``GPSCALE_BENCH_DEMO_PRACTICES`` sets the size (default
300). Results: ``bench-results/demo.json``. Run: ``python -m tests.bench.run demo``.

``bench_demo_audit_svd``: one SVD of an audit-shaped matrix (equations of ±1 over hidden cells) at three
sizes, on the default BLAS threads against one thread, same run (``bench-results/demo_audit_svd.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tests.bench.harness import peak_rss_mib, record

PRACTICES = int(os.environ.get("GPSCALE_BENCH_DEMO_PRACTICES", "300"))
BASELINE_REVISION = os.environ.get("GPSCALE_BENCH_DEMO_BASELINE")
REPO = Path(__file__).resolve().parents[2]
SEED = 1


def _folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def one_run(out: Path, variant: str) -> dict[str, Any]:
    """Run the demo into ``out`` (its synthetic files already there) as ``variant`` (in a child process)."""
    from gpscale.disclosure import pooled
    from gpscale.pipeline import run_demo

    if variant == "baseline":
        pooled.audit = pooled.audit.__wrapped__  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    run_demo(out, seed=SEED, practices=PRACTICES, csv=variant == "baseline")
    return {"variant": variant, "wall_seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mib": round(peak_rss_mib(), 0), "results_mib": round(_folder_mib(out / "results"), 1),
            "disk_mib": round(_folder_mib(out), 1)}


def _same_bundles(a: Path, b: Path) -> bool:
    for path in sorted(a.glob("*.parquet")):
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(b / path.name), check_exact=True)
        except AssertionError:
            return False
    return True


def _child(out: Path, variant: str, checkout: Path) -> dict[str, Any]:
    """Run one variant in a fresh process; the baseline from a checkout of :data:`BASELINE_REVISION` if set."""
    cwd, env, label = REPO, dict(os.environ), variant
    if variant == "baseline" and BASELINE_REVISION:
        subprocess.run(["git", "worktree", "add", "--detach", str(checkout), BASELINE_REVISION], cwd=REPO,
                       check=True, capture_output=True)
        cwd, variant = checkout, "now"  # that revision's own defaults
        env["PYTHONPATH"] = str(checkout / "src")
        label = f"baseline {BASELINE_REVISION}"
    done = subprocess.run([sys.executable, "-m", "tests.bench.bench_demo", str(out), variant], capture_output=True,
                          text=True, cwd=cwd, env=env, check=True)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "variant": label}


def bench_demo() -> None:
    from gpscale.synth import generate

    root = Path(tempfile.mkdtemp(prefix="gpscale-bench-demo-"))
    try:
        t0 = time.perf_counter()
        generate(root / "synth", seed=SEED, practices=PRACTICES)
        setup = time.perf_counter() - t0
        rows = []
        for variant in ("baseline", "now"):
            out = root / variant
            shutil.copytree(root / "synth", out / "synth")
            rows.append(_child(out, variant, root / "baseline-checkout"))
            print(rows[-1], flush=True)
        base, now = rows
        metrics = {
            "practices": PRACTICES, "synthetic_setup_seconds": round(setup, 1),
            "synthetic_mib": round(_folder_mib(root / "synth"), 1), "runs": rows,
            "wall_ratio": round(now["wall_seconds"] / base["wall_seconds"], 2),
            "results_ratio": round(now["results_mib"] / base["results_mib"], 3),
            "identical_bundles": _same_bundles(root / "baseline" / "results", root / "now" / "results"),
            "load_average": round(os.getloadavg()[0], 1),
            "baseline_revision": BASELINE_REVISION,
        }
    finally:
        if (root / "baseline-checkout").exists():
            subprocess.run(["git", "worktree", "remove", "--force", str(root / "baseline-checkout")], cwd=REPO,
                           check=False)
        shutil.rmtree(root, ignore_errors=True)
    path = record("demo", metrics, notes=(
        f"run_demo(seed {SEED}, {PRACTICES} practices) after set-up, each variant in a fresh process: now against "
        + (f"revision {BASELINE_REVISION}'s demo with its defaults" if BASELINE_REVISION else
           "the demo as it was (CSV copies, audit on every BLAS thread)")))
    print(path.read_text())


def bench_demo_audit_svd() -> None:
    import numpy as np

    from gpscale.blas import one_blas_thread
    from tests.bench.harness import timeit

    rng = np.random.default_rng(0)
    rows = []
    for m, n in ((60, 80), (300, 400), (900, 1000)):
        a = np.zeros((m, n))
        cols = rng.integers(0, n, size=(m, 6))
        a[np.arange(m)[:, None], cols] = -1.0
        a[np.arange(m), cols[:, 0]] = 1.0

        def svd(a: np.ndarray = a) -> None:
            np.linalg.svd(a, full_matrices=False)

        default = timeit(svd, repeat=5)["median_s"]
        with one_blas_thread():
            one = timeit(svd, repeat=5)["median_s"]
        rows.append({"shape": [m, n], "default_threads_s": round(default, 4), "one_thread_s": round(one, 4),
                     "speed_up": round(default / one, 1)})
        print(rows[-1], flush=True)
    record("demo_audit_svd", {"sizes": rows, "load_average": round(os.getloadavg()[0], 1)},
           notes="median of 5 SVDs (full_matrices=False) per shape and setting")


if __name__ == "__main__":
    print(json.dumps(one_run(Path(sys.argv[1]), sys.argv[2])))
