"""A small synthetic England shared by tests (generated once per test process, cached on disk)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from gpscale.synth import SynthResult, generate

SMALL_SEED = 11
SMALL_PRACTICES = 60


@functools.cache
def small_england() -> SynthResult:
    """Synthetic England with ~60 practices (all layouts, 15 years); read-only for tests."""
    out = Path(tempfile.mkdtemp(prefix="gpscale-synth-"))
    return generate(out, seed=SMALL_SEED, practices=SMALL_PRACTICES)
