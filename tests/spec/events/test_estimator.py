"""The event-study estimator against independent values.

* The doubly robust 2x2 kernel against ``drdid`` (MIT-licensed Python port of R's DRDID, test-only):
  the ATT and every unit's influence function, with covariates and weights.
* Group-time effects on a tiny noise-free panel against 2x2 differences in means computed by hand (no
  covariates: the doubly robust estimator is then the plain difference in differences), including which
  cohorts serve as not-yet-treated comparators.
* Aggregation: with effects that depend only on event time, every event-time estimate equals the true
  effect whatever the cohort mix, and the pre-event estimates are zero.
* The multiplier bootstrap's standard error agrees with the analytic clustered standard error.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpscale.stats.drdid import dr_did
from gpscale.stats.event_study import (
    Comparison,
    EventPanel,
    EventStudySpec,
    bootstrap,
    group_time_effects,
)

drdid = pytest.importorskip("drdid.drdid", reason="the drdid oracle is a test dependency (pip install drdid)")


def _cell_data(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    d = (rng.random(n) < 1 / (1 + np.exp(-(x[:, 0] - 0.7)))).astype(float)
    y0 = x @ [1.0, 0.5, -0.2] + rng.normal(size=n)
    y1 = y0 + 0.3 * x[:, 1] + 0.4 * d + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    return y1, y0, d, x, w


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_doubly_robust_cell_matches_the_drdid_oracle(seed):
    y1, y0, d, x, w = _cell_data(seed)
    att, inf = drdid.drdid_panel(y1, y0, d, np.column_stack([np.ones(len(d)), x]), w)
    got = dr_did(y1 - y0, d, x, w, ridge=0.0)
    assert got.method == "doubly robust"
    assert got.att == pytest.approx(att, abs=1e-10)
    np.testing.assert_allclose(got.influence, inf, atol=1e-9)


def test_without_covariates_a_cell_is_the_difference_in_weighted_means():
    dy = np.array([3.0, 5.0, 1.0, 2.0, 0.0])
    d = np.array([1, 1, 0, 0, 0], dtype=float)
    w = np.array([1.0, 3.0, 2.0, 1.0, 1.0])
    got = dr_did(dy, d, None, w)
    # treated: (3*1 + 5*3)/4 = 4.5; comparators: (1*2 + 2*1 + 0*1)/4 = 1.0
    assert got.att == pytest.approx(3.5)


def _tiny_panel():
    """Six units over five years: cohorts 2 (units 0, 1), 3 (units 2, 3), never (4, 5); no noise."""
    y = np.array([
        [1.0, 2.0, 3.0, 6.0, 7.0],
        [2.0, 3.0, 5.0, 6.0, 9.0],
        [0.0, 1.0, 1.5, 4.0, 4.0],
        [1.0, 1.0, 2.5, 5.0, 6.0],
        [0.0, 1.0, 2.0, 2.0, 3.0],
        [1.0, 1.0, 1.0, 3.0, 3.0],
    ])
    cohort = np.array([2, 2, 3, 3, -1, -1])
    panel = EventPanel(y=y, weight=np.ones_like(y), cohort=cohort, covariates=np.zeros((6, 5, 0)),
                       segment=np.zeros(5, dtype=int), periods=tuple(f"Y{k}" for k in range(5)))
    return panel


def test_group_time_effects_are_the_hand_computed_two_by_two_differences():
    spec = EventStudySpec(leads=2, lags=2, match_level=False, min_treated=1, min_comparators=1, ridge=0.0)
    study = group_time_effects(_tiny_panel(), spec)
    cells = {(c.cohort, c.period): c.att for c in study.cells}
    # cohort 2, base year 1. Year 2: comparators not yet treated by year 2 = cohort 3 and never.
    #   treated change (3-2, 5-3) mean 1.5; comparators (1.5-1, 2.5-1, 2-1, 1-1) mean 0.75 -> 0.75
    assert cells[(2, 2)] == pytest.approx(0.75)
    # year 3: cohort 3 is treated by then, so only never-treated: treated (4, 3) -> 3.5; never (1, 2) -> 1.5
    assert cells[(2, 3)] == pytest.approx(2.0)
    # year 4: treated (5, 6) -> 5.5; never (2, 2) -> 2 -> 3.5
    assert cells[(2, 4)] == pytest.approx(3.5)
    # year 0 (before): treated (1-2, 2-3) -> -1; comparators (0-1, 1-1, 0-1, 1-1) -> -0.5 -> -0.5
    assert cells[(2, 0)] == pytest.approx(-0.5)
    # cohort 3, base year 2, year 3: treated (4-1.5, 5-2.5) -> 2.5; never (2-2, 3-1) -> 1 -> 1.5
    assert cells[(3, 3)] == pytest.approx(1.5)
    # the reference year is never estimated
    assert (2, 1) not in cells and (3, 2) not in cells


def test_never_treated_comparison_drops_the_later_cohort_as_comparator():
    spec = EventStudySpec(leads=0, lags=0, match_level=False, min_treated=1, min_comparators=1,
                          comparison=Comparison.NEVER_TREATED)
    study = group_time_effects(_tiny_panel(), spec)
    cells = {(c.cohort, c.period): c.att for c in study.cells}
    # cohort 2, year 2 against never-treated only: treated 1.5; never (2-1, 1-1) -> 0.5 -> 1.0
    assert cells[(2, 2)] == pytest.approx(1.0)


def test_event_time_effects_recover_effects_that_depend_on_event_time_only():
    rng = np.random.default_rng(7)
    n, t = 300, 10
    cohort = rng.choice([3, 5, 7, -1], size=n)
    alpha = rng.normal(0, 1, n)
    trend = 0.1 * np.arange(t)
    tau = {0: 0.2, 1: 0.5, 2: 0.9, 3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0}
    e = np.arange(t)[None, :] - cohort[:, None]
    effect = np.vectorize(lambda k: tau.get(int(k), 0.0))(e) * (cohort[:, None] >= 0)
    y = alpha[:, None] + trend[None, :] + effect
    panel = EventPanel(y=y, weight=np.ones_like(y), cohort=cohort, covariates=rng.normal(size=(n, t, 2)),
                       segment=np.zeros(t, dtype=int), periods=tuple(map(str, range(t))))
    study = group_time_effects(panel, EventStudySpec(leads=3, lags=2))
    for k, ev in enumerate(study.event_times):
        want = tau.get(int(ev), 0.0) if ev >= 0 else 0.0
        assert study.estimates[k] == pytest.approx(want, abs=1e-8), ev
    assert study.estimates[-1] == pytest.approx(np.mean([0.2, 0.5, 0.9]), abs=1e-8)


def test_bootstrap_standard_error_matches_the_analytic_clustered_one():
    rng = np.random.default_rng(3)
    n, t = 600, 8
    cohort = rng.choice([3, 4, 5, -1], size=n)
    y = rng.normal(0, 1, n)[:, None] + rng.normal(0, 0.5, (n, t)) + 0.3 * (np.arange(t)[None, :] >= cohort[:, None])
    panel = EventPanel(y=y, weight=np.ones_like(y), cohort=cohort, covariates=rng.normal(size=(n, t, 1)),
                       segment=np.zeros(t, dtype=int), periods=tuple(map(str, range(t))))
    study = group_time_effects(panel, EventStudySpec(leads=2, lags=2))
    cluster = np.arange(n)  # every unit its own cluster: the analytic SE is sqrt(sum psi^2) / n
    inf = bootstrap(study, cluster, n_boot=4000, seed=1)
    analytic = np.sqrt((study.influence**2).sum(axis=0)) / n * np.sqrt(n / (n - 1))
    np.testing.assert_allclose(inf.se, analytic, rtol=0.06)
    assert inf.n_clusters == n and inf.n_treated_clusters > 50
    assert np.isfinite(inf.pretrend_p) and inf.pretrend_df == 1
