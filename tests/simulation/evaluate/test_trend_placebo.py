"""Placebo groups for trends relative to England: practices with their own slopes, random groups, known truth.

Each simulated practice's share follows ``logit p = level + (0.03 + u) t`` plus year-to-year noise, with
``u ~ N(0, slope_sd^2)``: practices improve at different rates, but no group of them has an effect of its
own. Random groups of 3 to 10 practices should then be "Improving" or "Worsening relative to England"
at about the nominal rate (at 95%: 3.5-6.5% in all, at most 4% either way). Before the trend analysis
allowed for the spread of practices' own slopes, slope SD 0.02 flagged 23% of such groups. Groups whose
members share a true extra trend must still be found (power), so the test can fail both ways.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.trends import _segment_frame, group_trends, slope_variance

FYS = [f"FY{y}/{(y + 1) % 100:02d}" for y in range(2016, 2022)]
DEFS = {"p": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0, data_breaks=[],
                             version=1)}
PRACTICES = 1500
GROUPS = 2000


def world(rng: np.random.Generator, slope_sd: float, extra: np.ndarray | None = None) -> pd.DataFrame:
    """Practice x financial-year counts; ``extra`` adds a trend per practice (logits a year)."""
    extra = np.zeros(PRACTICES) if extra is None else extra
    level = rng.normal(-0.5, 0.4, PRACTICES)
    slope = 0.03 + rng.normal(0.0, slope_sd, PRACTICES) + extra
    den = rng.integers(500, 5000, PRACTICES)
    t = np.arange(len(FYS))
    eta = level[:, None] + slope[:, None] * t[None, :] + rng.normal(0.0, 0.03, (PRACTICES, len(FYS)))
    num = rng.binomial(den[:, None], 1.0 / (1.0 + np.exp(-eta)))
    pv = pd.DataFrame({"practice_code": np.repeat(codes(), len(FYS)), "period": np.tile(FYS, PRACTICES),
                       "numerator": num.ravel().astype(float), "denominator": np.repeat(den, len(FYS)).astype(float)})
    return pv.assign(indicator_id="p", period_type="fy", value=pv["numerator"] / pv["denominator"],
                     definition_version=1)


def codes() -> np.ndarray:
    return np.array([f"A{i:05d}" for i in range(PRACTICES)])


def random_groups(rng: np.random.Generator, pool: np.ndarray, n: int) -> pd.DataFrame:
    rows = [(f"G{g:04d}", code, fy) for g in range(n)
            for code in rng.choice(pool, size=int(rng.integers(3, 11)), replace=False) for fy in FYS]
    return pd.DataFrame(rows, columns=["group_id", "practice_code", "period"])


def relative(pv: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    tr = group_trends(pv, members, DEFS, "as-was", "v", confidences=(0.95,))
    return tr.loc[(tr["statistic"] == "trend_vs_england") & (tr["entity_type"] == "group"), "classification"]


@pytest.mark.parametrize("slope_sd", [0.01, 0.02, 0.04])
def test_random_groups_of_practices_with_their_own_slopes_are_flagged_at_the_nominal_rate(slope_sd):
    rng = np.random.default_rng(1405)
    pv = world(rng, slope_sd)
    labels = relative(pv, random_groups(rng, codes(), GROUPS))
    assert len(labels) == GROUPS
    better = float((labels == "Improving relative to England").mean())
    worse = float((labels == "Worsening relative to England").mean())
    assert 0.035 <= better + worse <= 0.065, f"slope SD {slope_sd}: better {better:.2%}, worse {worse:.2%}"
    assert max(better, worse) <= 0.04, f"slope SD {slope_sd}: better {better:.2%}, worse {worse:.2%}"


def test_the_spread_of_practices_own_slopes_is_recovered():
    # the moment estimate against the simulated slope SD (variance 0.02^2 = 4e-4), and 0 without a spread
    for sd in (0.0, 0.02):
        frame = _segment_frame(world(np.random.default_rng(7), sd), FYS, DEFS["p"].value_type, 0)
        assert slope_variance(frame) == pytest.approx(sd**2, abs=6e-5)


def test_groups_with_a_true_extra_trend_are_still_found():
    # 40 groups of 6 practices improve 0.04 logits a year faster than the rest; England includes them
    rng = np.random.default_rng(2405)
    extra = np.zeros(PRACTICES)
    extra[:240] = 0.04
    pv = world(rng, 0.02, extra)
    members = pd.DataFrame([(f"T{g:02d}", code, fy) for g in range(40) for code in codes()[6 * g:6 * g + 6]
                            for fy in FYS], columns=["group_id", "practice_code", "period"])
    labels = relative(pv, members)
    assert (labels == "Improving relative to England").mean() >= 0.9
