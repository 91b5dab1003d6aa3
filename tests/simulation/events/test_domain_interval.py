"""The domain interval (mean of the indicators' interval bounds) covers the domain's true mean effect at least
95% of the time whatever the correlation between the indicators' estimates (simulated with known truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.events import EVENT_SUMMARY_COLUMNS
from gpscale.evaluate.events.domains import domain_effects
from gpscale.indicators.library import load_definitions

DEFS = load_definitions()
SAT = [k for k, d in DEFS.items() if d.domain == "satisfaction"]  # all higher-is-better


@pytest.mark.parametrize("rho", [0.0, 0.6, 1.0])
def test_domain_interval_covers_the_true_mean_effect(rho: float):
    rng = np.random.default_rng(7)
    k, reps = len(SAT), 2000
    truth = np.linspace(-0.1, 0.2, k)
    se = np.linspace(0.02, 0.06, k)
    corr = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    draws = truth + rng.multivariate_normal(np.zeros(k), corr, size=reps) * se
    rows = [
        {**{c: None for c in EVENT_SUMMARY_COLUMNS}, "entity_type": "event_kind", "entity_id": f"r{r}",
         "entity_name": "x", "event_kind": "joined_federation", "indicator_id": ind, "domain": "satisfaction",
         "status": "estimated", "verdict": "no change detected", "estimate": draws[r, j],
         "lower": draws[r, j] - 1.96 * se[j], "upper": draws[r, j] + 1.96 * se[j], "confidence": 0.95}
        for r in range(reps) for j, ind in enumerate(SAT)
    ]
    out = domain_effects(pd.DataFrame(rows, columns=EVENT_SUMMARY_COLUMNS), DEFS)
    assert len(out) == reps
    covered = ((out["lower"] <= truth.mean()) & (truth.mean() <= out["upper"])).mean()
    # perfectly correlated: exact (0.95 +/- 3 binomial SEs); less correlated: conservative, never below
    assert covered >= 0.935
    if rho == 1.0:
        assert covered <= 0.965
