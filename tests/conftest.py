"""Fixtures shared by every kind of test.

* ``figures_dir``: where tests that measure something (simulations, real-data calibrations) write the
  figures they measured. ``make bench`` sets ``GPSCALE_BENCH_RESULTS`` to ``bench-results/`` and runs
  those tests (tests/bench/bench_measuring_tests.py); otherwise the figures go to a temporary folder, so
  ``make test`` writes nothing inside the repository.
* ``shared_data``: the shared real-data folder (:mod:`tests.shared_data`), skipping when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared_data import require_shared

#: Set by ``make bench`` to the folder the measuring tests write their figures to.
BENCH_RESULTS_ENV = "GPSCALE_BENCH_RESULTS"


@pytest.fixture(scope="session")
def figures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$GPSCALE_BENCH_RESULTS`` under ``make bench``, else a temporary folder."""
    env = os.environ.get(BENCH_RESULTS_ENV)
    if env:
        path = Path(env)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("figures")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests using it skip, with the reason, where it is absent."""
    return require_shared()
