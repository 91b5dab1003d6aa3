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

The evaluation draws its funnels with :func:`gpscale.stats.funnels.funnel` (limits at each unit's own
denominator, and each unit's position), so that is what is held to the fixtures: its limits evaluated
at the R table's grid, and its positions. Limits must agree to the fixtures' rounding; positions exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.stats import funnel
from tests.shared_data import require_shared

FIXTURES = require_shared("oracles", "phe_funnels")

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


def test_proportion_limits_match_fixture() -> None:
    """:func:`funnel`'s limits at the fixture's grid of denominators equal the R package's plotting table."""
    inputs = _read("testdata_funnel_prop_inputs.csv")
    expected = _read("testdata_funnel_prop_outputs.csv")
    target = inputs["numerator"].sum() / inputs["denominator"].sum()
    population = expected["Population"].to_numpy(dtype=float)
    ours = funnel(np.zeros_like(population), population, "proportion", target=target, multiplier=100)
    pairs = {
        "Lower2s0025limit": ours.lower_95,
        "Upper2s0025limit": ours.upper_95,
        "Lower3s0001limit": ours.lower_998,
        "Upper3s0001limit": ours.upper_998,
    }
    for theirs, got in pairs.items():
        # the fixture is printed to 6 decimal places
        np.testing.assert_allclose(got, expected[theirs], rtol=0, atol=5.1e-7, err_msg=theirs)
    np.testing.assert_allclose(ours.target, expected["Baseline"], rtol=0, atol=5.1e-7)


def test_proportion_positions_match_fixture_exactly() -> None:
    inputs = _read("testdata_funnel_prop_inputs.csv")
    labels = funnel(inputs["numerator"], inputs["denominator"], "proportion").position
    mismatches = inputs.loc[labels != inputs["significance"].to_numpy(), "Area"].tolist()
    assert mismatches == []
    assert set(labels) == set(inputs["significance"])


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits_match_fixture(ratio_type: str) -> None:
    """At the expected counts where the R table puts each observed count on a limit, :func:`funnel`'s limit
    is that count over the expected count (``O/E - 1`` for ``count``, ``100 O/E`` for ``isr``)."""
    expected = _read("testdata_funnel_ratio_outputs.csv")
    observed = expected["Observed_events"].to_numpy(dtype=float)
    scale, shift = (1.0, -1.0) if ratio_type == "count" else (100.0, 0.0)
    for tag, side in (("lower_2s", "lower_95"), ("upper_2s", "upper_95"), ("lower_3s", "lower_998"),
                      ("upper_3s", "upper_998")):
        at = expected[f"{tag}_exp_events"].to_numpy(dtype=float)
        ours = getattr(funnel(np.zeros_like(at), at, "ratio", target=1.0, multiplier=scale), side) + shift
        # the R package finds E by bisection to 2**-23 on E / (E + O + 1); O / E moves with E's error
        ratio_tol = scale * observed * _bisection_tolerance(observed, at) / at**2
        np.testing.assert_array_less(np.abs(ours - expected[f"{tag}_{ratio_type}"]), ratio_tol + 1e-6 * scale, tag)


def test_ratio_positions_match_fixture_exactly() -> None:
    inputs = _read("testdata_funnel_ratio_inputs.csv")
    labels = funnel(inputs["obs"], inputs["expected"], "ratio", target=1.0).position
    np.testing.assert_array_equal(labels, inputs["significance"].to_numpy())
    # the fixtures include a zero count, which must not raise
    assert (inputs["obs"] == 0).any()
