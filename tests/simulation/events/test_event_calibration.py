"""Calibration of the event-study estimator on simulated panels with known event effects.

Over 200 replicates (fixed seeds; see ``calibration.py`` for the design): the 95% interval for the
aggregate effect (mean effect over the six years from the event) covers the truth 93-97% of the time;
with no injected effect gpscale declares "changed" (interval excludes zero, pre-trend test passes) at
most 5% of the time; and a static two-way fixed-effects regression on the same panels is biased (its
mean error is many Monte Carlo standard errors from zero and a large share of the truth) where gpscale's
estimator is not. ``make bench`` runs a larger version and writes the figures to bench-results/.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.simulation.events.calibration import replicate

REPLICATES = 200
EFFECT = 0.04


@pytest.fixture(scope="module")
def with_effect():
    return [replicate(1000 + r, EFFECT) for r in range(REPLICATES)]


@pytest.fixture(scope="module")
def null():
    return [replicate(5000 + r, 0.0) for r in range(REPLICATES)]


def test_intervals_for_the_aggregate_effect_cover_the_truth_93_to_97_percent(with_effect):
    coverage = np.mean([r.covered for r in with_effect])
    assert 0.93 <= coverage <= 0.97, coverage


def test_with_no_injected_effect_changed_is_declared_at_most_5_percent(null):
    rate = np.mean([r.changed for r in null])
    assert rate <= 0.05, rate
    # and the null intervals still cover zero at about the nominal rate
    assert 0.93 <= np.mean([r.covered for r in null]) <= 0.975


def test_two_way_fixed_effects_is_biased_where_gpscale_is_not(with_effect):
    ours = np.array([r.estimate - r.truth for r in with_effect])
    twfe = np.array([r.twfe - r.twfe_truth for r in with_effect])
    truth = np.mean([r.twfe_truth for r in with_effect])
    mc_ours = ours.std(ddof=1) / np.sqrt(ours.size)
    mc_twfe = twfe.std(ddof=1) / np.sqrt(twfe.size)
    assert abs(ours.mean()) < 3 * mc_ours, (ours.mean(), mc_ours)
    assert abs(twfe.mean()) > 8 * mc_twfe and abs(twfe.mean()) > 0.2 * truth, (twfe.mean(), mc_twfe, truth)
