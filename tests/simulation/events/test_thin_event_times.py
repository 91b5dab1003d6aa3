"""The merger false positive (issue 15): a year after the event with very few treated practices.

On the demo, the merger study of QOF had its last year after the event estimated from two successor
practices (QOF's data breaks cut most cohorts short). A cell's influence function centres its treated
units on their own mean, so with two of them its bootstrap variance is about half the truth; that year's
estimate entered the equally weighted post-event mean, and the aggregate said "changed" (+0.12 log odds,
interval 0.03 to 0.22) where the synthetic world injects no merger effect. Simulated here with known
truth (no effect at all): event times with fewer than ``min_treated_aggregate`` treated practices are
left out of the aggregate, and "changed" is then declared at about the nominal 5%.
"""

from __future__ import annotations

import numpy as np

from gpscale.stats.event_study import EventPanel, EventStudySpec, bootstrap, group_time_effects
from gpscale.stats.intervals import wilson_interval

REPLICATES = 200


def _changed(seed: int, min_treated_aggregate: int) -> bool:
    """One null panel (no effect anywhere): 2 practices treated early (the only ones 3 years after the
    event), 45 treated later; does the aggregate's 95% interval exclude zero?"""
    rng = np.random.default_rng(seed)
    n, t = 300, 8
    cohort = np.full(n, -1)
    cohort[:2] = 4
    for k, g in enumerate((5, 6, 7)):
        cohort[2 + 15 * k: 17 + 15 * k] = g
    y = rng.normal(0, 0.3, n)[:, None] + 0.05 * np.arange(t)[None, :] + rng.normal(0, 0.1, (n, t))
    panel = EventPanel(y, np.ones((n, t)), cohort, np.zeros((n, t, 0)), np.zeros(t, dtype=int),
                       tuple(str(p) for p in range(t)))
    study = group_time_effects(panel, EventStudySpec(min_comparators=20, min_treated_aggregate=min_treated_aggregate))
    assert 3 in study.event_times.tolist()  # the thin year is estimated and shown either way
    inf = bootstrap(study, np.array([f"p{i}" for i in range(n)]), n_boot=199, seed=seed)
    return not (inf.lower[-1] <= 0 <= inf.upper[-1])


def test_thin_years_left_out_of_the_aggregate_keep_false_changes_at_the_nominal_rate():
    k = sum(_changed(s, EventStudySpec().min_treated_aggregate) for s in range(REPLICATES))
    lo, _hi = wilson_interval(k, REPLICATES, 0.95)
    assert lo <= 0.05 and k / REPLICATES <= 0.08, k


def test_averaging_in_a_two_practice_year_declares_change_far_too_often():
    k = sum(_changed(s, 1) for s in range(REPLICATES))
    lo, _hi = wilson_interval(k, REPLICATES, 0.95)
    assert lo > 0.1, k
