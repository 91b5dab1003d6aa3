"""The tests that measure statistical behaviour, run by ``make bench`` so their figures land in bench-results/.

The simulations (coverage, false-flag rates, truth recovery on synthetic England) and the real-data PCN
evaluation are ordinary tests: ``make test`` runs them and they write their figures to a temporary folder.
Here they run again with ``GPSCALE_BENCH_RESULTS`` pointing at ``bench-results/``, so that the figures
quoted in BENCHMARKS.md are refreshed by ``make bench`` and by nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.bench.harness import RESULTS_DIR
from tests.conftest import BENCH_RESULTS_ENV

MEASURING_TESTS = (
    "tests/simulation/test_sim_coverage.py",
    "tests/simulation/evaluate/test_truth_recovery.py",
    "tests/realdata/evaluate/test_real_qof_pcn.py",
)


def bench_measuring_tests() -> None:
    """Run the measuring tests with their figures going to bench-results/."""
    RESULTS_DIR.mkdir(exist_ok=True)
    env = {**os.environ, BENCH_RESULTS_ENV: str(RESULTS_DIR)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *MEASURING_TESTS]
    subprocess.run(cmd, env=env, cwd=RESULTS_DIR.parent, check=True)
