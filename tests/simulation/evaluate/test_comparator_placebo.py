"""Placebo calibration of the comparison with a region (issue 15): random groups of one region's practices,
compared with the rest of their region, are flagged at about the nominal rate; compared with England they
are not (regions differ), which shows the test can fail."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from gpscale.evaluate.comparator import Comparator, assign
from gpscale.evaluate.scorecard import scorecard

REGION_SHIFTS = {"Y56": -0.5, "Y60": 0.0, "Y63": 0.6}  # logit-scale region levels
PER_REGION = 250
YEARS = ("FY2020/21", "FY2021/22", "FY2022/23")
DEFS = {"ind": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0,
                               data_breaks=[], version="1")}


def world(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, ctx = [], []
    for r, shift in REGION_SHIFTS.items():
        for i in range(PER_REGION):
            code = f"{r}{i:04d}"
            level = -0.3 + shift + rng.normal(0, 0.3)
            n = int(rng.integers(100, 1000))
            for fy in YEARS:
                p = 1 / (1 + np.exp(-(level + rng.normal(0, 0.1))))
                rows.append({"indicator_id": "ind", "practice_code": code, "period": fy, "period_type": "fy",
                             "numerator": float(rng.binomial(n, p)), "denominator": float(n),
                             "definition_version": "1"})
                ctx.append({"practice_code": code, "period": fy, "patients": float(n * 10), "region": r,
                            "icb": "Q" + r})
    return pd.DataFrame(rows), pd.DataFrame(ctx)


def placebo_members(rng: np.random.Generator, n_groups: int) -> pd.DataFrame:
    out = []
    regions = list(REGION_SHIFTS)
    for g in range(n_groups):
        r = regions[g % len(regions)]
        k = int(rng.integers(3, 11))
        for i in rng.choice(PER_REGION, size=k, replace=False):
            out.extend({"group_id": f"G{g:04d}", "practice_code": f"{r}{i:04d}", "period": fy} for fy in YEARS)
    return pd.DataFrame(out)


def flag_rate(card: pd.DataFrame, column: str = "comparison") -> float:
    g = card[(card["entity_type"] == "group") & (card["confidence"] == 0.95)]
    return float(g[column].isin(["better", "worse"]).mean())


def test_random_groups_of_a_region_are_flagged_at_the_nominal_rate_against_their_region():
    rng = np.random.default_rng(20261205)
    pv, ctx = world(rng)
    members = placebo_members(rng, 450)
    a = assign(Comparator.parse("region"), members, ctx)
    card = scorecard(pv, members, DEFS, "as-was", "v", (0.95,), comparator=a)
    groups = card[card["entity_type"] == "group"]
    assert len(groups) == 450 * len(YEARS)
    assert groups["comparator"].str.endswith(" region").all()
    region = flag_rate(card)
    # 1,350 comparisons at 5% nominal (binomial SE 0.6 points); on this world the evaluative comparison is
    # somewhat conservative whatever the comparator: the same method with one region standing for England
    # flags 2.4% of these groups. Against their region the groups must be flagged as that is.
    assert 0.02 <= region <= 0.075, region
    same = [r for r in REGION_SHIFTS]
    alone = []
    for r in same:
        sub, mem = pv[pv["practice_code"].str.startswith(r)], members[members["practice_code"].str.startswith(r)]
        g = scorecard(sub, mem, DEFS, "as-was", "v", (0.95,))
        alone.append(g[(g["entity_type"] == "group") & (g["confidence"] == 0.95)])
    as_england = flag_rate(pd.concat(alone))
    assert abs(region - as_england) <= 0.015, (region, as_england)
    worse = (groups["comparison"] == "worse").mean()
    assert 0.2 * region <= worse <= 0.8 * region  # both sides flagged
    # the same groups against England: regions differ, so they are flagged far more often
    england = flag_rate(scorecard(pv, members, DEFS, "as-was", "v", (0.95,)))
    assert england > 0.3, england
