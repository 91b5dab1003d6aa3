"""Oracle: the PHEindicatormethods (R, UKHSA) funnel-plot fixtures in ../shared/data/oracles/phe_funnels/.

The fixtures come from the R package's own tests (``tests/testthat/testFunnels.R``):

* proportions: ``calculate_funnel_limits(numerator, denominator, statistic = "proportion",
  multiplier = 100)`` gives the 100-row table (old column names ``Lower2s0025limit`` ...) and
  ``assign_funnel_significance`` the ``significance`` column of the inputs.
* ratios: ``calculate_funnel_limits(obs, expected, statistic = "ratio", ratio_type = "count" | "isr")``.
  The expected counts only set the axis range (their min and max); the grid runs over observed events.
  The outputs hold both ratio types side by side: ``*_count`` columns are ``O/E - 1`` and ``*_isr``
  columns ``100 * O/E`` (the R test renames them to ``*_limit``). The ``multiplier`` argument is not
  used for ratios. ``significance`` comes from ``assign_funnel_significance(obs, expected, "ratio")``,
  which uses Byar's interval from 10 events and exact limits below.

Limits must agree to the fixtures' rounding; significance labels exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpscale.stats import funnel_significance, funnel_table
from gpscale.stats.limits import poisson_control_limits


def _shared_data() -> Path:
    env = os.environ.get("GPSCALE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


FIXTURES = _shared_data() / "oracles" / "phe_funnels"
pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"PHE funnel fixtures not found at {FIXTURES} (set GPSCALE_SHARED_DATA to ../shared/data)",
)

# PHE's bisection (utils poisson_funnel) halves dv from 0.5 until dv <= 1e-7 on v = E / (E + O + 1):
# the last step is 2**-24, so v is within 2**-23 of the root and E = (O + 1) v / (1 - v) within
# (O + 1) 2**-23 / (1 - v)**2 of the exact gamma quantile we compute.
_V_TOLERANCE = 2.0**-23


def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(FIXTURES / name, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _bisection_tolerance(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    v = expected / (expected + observed + 1.0)
    return (observed + 1.0) * _V_TOLERANCE / (1.0 - v) ** 2 + 1e-9 * expected


def test_proportion_funnel_table_matches_fixture() -> None:
    inputs = _read("testdata_funnel_prop_inputs.csv")
    expected = _read("testdata_funnel_prop_outputs.csv")
    table = funnel_table(inputs["numerator"], inputs["denominator"], "proportion", multiplier=100)
    np.testing.assert_array_equal(table["Population"].to_numpy(), expected["Population"].to_numpy())
    pairs = {
        "lower_2s_limit": "Lower2s0025limit",
        "upper_2s_limit": "Upper2s0025limit",
        "lower_3s_limit": "Lower3s0001limit",
        "upper_3s_limit": "Upper3s0001limit",
        "baseline": "Baseline",
    }
    for ours, theirs in pairs.items():
        # the fixture is printed to 6 decimal places
        np.testing.assert_allclose(table[ours], expected[theirs], rtol=0, atol=5.1e-7, err_msg=ours)


def test_proportion_significance_matches_fixture_exactly() -> None:
    inputs = _read("testdata_funnel_prop_inputs.csv")
    labels = funnel_significance(inputs["numerator"], inputs["denominator"], "proportion")
    mismatches = inputs.loc[labels != inputs["significance"].to_numpy(), "Area"].tolist()
    assert mismatches == []
    assert set(labels) == set(inputs["significance"])


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_funnel_table_matches_fixture(ratio_type: str) -> None:
    inputs = _read("testdata_funnel_ratio_inputs.csv")
    expected = _read("testdata_funnel_ratio_outputs.csv")
    table = funnel_table(inputs["obs"], inputs["expected"], "ratio", ratio_type=ratio_type)
    observed = expected["Observed_events"].to_numpy(dtype=float)
    np.testing.assert_array_equal(table["Observed_events"].to_numpy(), observed)
    assert (table["statistic"] == f"ratio ({ratio_type})").all()
    for tag in ("lower_2s", "upper_2s", "lower_3s", "upper_3s"):
        ours_e = table[f"{tag}_exp_events"].to_numpy()
        theirs_e = expected[f"{tag}_exp_events"].to_numpy()
        tol = _bisection_tolerance(observed, theirs_e)
        assert np.all(np.abs(ours_e - theirs_e) <= tol), tag
        # the limit is O / E transformed; its error follows from E's
        ratio_tol = observed * tol / theirs_e**2
        scale = 1.0 if ratio_type == "count" else 100.0
        np.testing.assert_array_less(
            np.abs(table[f"{tag}_limit"] - expected[f"{tag}_{ratio_type}"]), scale * ratio_tol + 1e-9
        )


def test_ratio_table_points_lie_on_per_unit_poisson_limits() -> None:
    """The per-unit limits of :func:`poisson_control_limits` pass through the R grid points."""
    expected = _read("testdata_funnel_ratio_outputs.csv")
    observed = expected["Observed_events"].to_numpy(dtype=float)
    for tag, level in (("2s", 0.95), ("3s", 0.998)):
        lower, _ = poisson_control_limits(expected[f"lower_{tag}_exp_events"], level)
        _, upper = poisson_control_limits(expected[f"upper_{tag}_exp_events"], level)
        np.testing.assert_allclose(lower, observed, rtol=1e-4)
        np.testing.assert_allclose(upper, observed, rtol=1e-4)


def test_ratio_significance_matches_fixture_exactly() -> None:
    inputs = _read("testdata_funnel_ratio_inputs.csv")
    labels = funnel_significance(inputs["obs"], inputs["expected"], "ratio")
    np.testing.assert_array_equal(labels, inputs["significance"].to_numpy())
    # the fixtures include a zero count, which must not raise
    assert (inputs["obs"] == 0).any()
