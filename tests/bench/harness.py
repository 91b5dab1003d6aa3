"""Minimal benchmark harness shared by every benchmark module.

Benchmarks are plain functions named ``bench_*`` in ``tests/bench/bench_*.py``; ``make bench`` runs
them through :mod:`tests.bench.run`. Each benchmark times the project's code against a baseline in the
same run and records ratios, because absolute times on shared 2-core machines are noisy.
Results go to ``bench-results/<name>.json``; BENCHMARKS.md summarises them.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench-results"


def timeit(fn: Callable[[], Any], repeat: int = 3) -> dict[str, float]:
    """Run ``fn`` ``repeat`` times; return min and median wall seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"min_s": min(times), "median_s": statistics.median(times), "repeat": repeat}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record(name: str, metrics: dict[str, Any], notes: str = "") -> Path:
    """Write one benchmark's metrics to ``bench-results/<name>.json`` and return the path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{name}.json"
    payload = {
        "name": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "metrics": metrics,
        "notes": notes,
    }
    out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return out


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
