"""Hostile inputs built from the real files (tests/realdata/hostile.py): each a clear error or a correct load.

Each case starts from a copy of a store already holding real files and ends in a clear error (rule, file,
place named; store content unchanged) or a correct load (data checked, bad rows quarantined and named). The
module prints the tally at the end (run with ``-s`` to see it): tried, clear errors, correct loads, silent
wrong data, vague errors, refused good inputs, tracebacks. Silent wrong data and tracebacks must be zero.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata

require_shared("real")  # skips, with the reason, before the cases below are built from the real files

from tests.realdata import hostile as H  # noqa: E402

RESULTS: dict[str, H.Result] = {}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A store holding real files (prevalence, epraccur, EPD, QOF, ePCN, registrations, map, Fingertips) and
    two group registries written from real practice codes."""
    from gpscale.store.db import open_store
    from gpscale.store.ingest import ingest

    d = tmp_path_factory.mktemp("hostile-baseline")
    p = d / "baseline.duckdb"
    with open_store(p) as st:
        ingest(st, [*H.BASELINE, *H.baseline_registries(d)])
    H.load_references()
    return p


@pytest.fixture(scope="module", autouse=True)
def tally():
    yield
    if not RESULTS:
        return
    counts = Counter(r.outcome for r in RESULTS.values())
    lines = [f"hostile inputs: {len(RESULTS)} tried"] + [f"  {k}: {counts.get(k, 0)}" for k in (
        H.Outcome.CLEAR_ERROR, H.Outcome.CORRECT_LOAD, H.Outcome.SILENT_WRONG, H.Outcome.VAGUE_ERROR,
        H.Outcome.REFUSED_GOOD, H.Outcome.TRACEBACK)]
    print("\n" + "\n".join(lines))


@pytest.mark.parametrize("case", H.CASES, ids=[c.id for c in H.CASES])
def test_hostile_input(case: H.Case, baseline: Path, tmp_path: Path) -> None:
    result = H.run_case(case, baseline, tmp_path)
    RESULTS[case.id] = result
    want = H.Outcome.CORRECT_LOAD if isinstance(case.expect, H.Load) else H.Outcome.CLEAR_ERROR
    assert result.outcome == want, f"{case.what}: {result.outcome}: {result.detail}"
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("case", H.CLI_CASES, ids=[c.id for c in H.CLI_CASES])
def test_hostile_store(case: H.CliCase, tmp_path: Path) -> None:
    result = H.run_cli_case(case, tmp_path)
    RESULTS[case.id] = result
    assert result.outcome == H.Outcome.CLEAR_ERROR, f"{case.what}: {result.outcome}: {result.detail}"


def test_the_suite_is_at_least_as_large_as_the_audit() -> None:
    assert len(H.CASES) + len(H.CLI_CASES) >= 76
    assert len({c.id for c in H.CASES} | {c.id for c in H.CLI_CASES}) == len(H.CASES) + len(H.CLI_CASES)
