"""Groups in England's funnel: the adjusted limits are the evaluative reference, nominal even when skewed.

A funnel of groups answers the evaluative question (is this group unusual for a set of England's
practices of its size?), so its adjusted limits must flag random groups of practices about 2.5% of the
time each way. Practice scores here are left-skewed like QOF achievement (most near the maximum, a long
tail below): Spiegelhalter's symmetric limits around England's value flagged random groups of such
practices "worse" several times more often than "better"; the oracle is the simulation's known truth
(no group has an effect), not a formula. The funnel must also agree with the scorecard's evaluative
cell for every group, and its limit lines must pass through the groups' own limits where every practice
has the same denominator (QOF maximum points).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.evaluative import EnglandReferences, evaluative_comparison
from gpscale.evaluate.funnels import funnel_curves, group_funnels
from gpscale.evaluate.pooling import pooled_table, score_indicators
from gpscale.evaluate.scorecard import scorecard

FY = "FY2019/20"
PRACTICES = 2000
GROUPS = 4000
SCORE = SimpleNamespace(value_type="score", polarity="high_is_good", multiplier=100.0, data_breaks=[], version=1)


@pytest.fixture(scope="module")
def world() -> dict:
    rng = np.random.default_rng(1414)
    shortfall = rng.gamma(0.6, 0.05, PRACTICES)  # left-skewed scores: 1 - Gamma, clipped at 40%
    score = np.clip(1.0 - shortfall, 0.4, 1.0)
    codes = np.array([f"P{i:05d}" for i in range(PRACTICES)])
    pv = pd.DataFrame({"practice_code": codes, "period": FY, "numerator": np.round(559.0 * score, 2),
                       "denominator": 559.0, "indicator_id": "q", "period_type": "fy", "definition_version": 1})
    pv["value"] = pv["numerator"] / pv["denominator"]
    members = pd.DataFrame([(f"G{g:05d}", code, FY) for g in range(GROUPS)
                            for code in rng.choice(codes, size=int(rng.integers(3, 9)), replace=False)],
                           columns=["group_id", "practice_code", "period"])
    defs = {"q": SCORE}
    refs = EnglandReferences(pv)
    pooled = pooled_table(pv, members, score_indicators(defs))
    placed = group_funnels(pooled, defs, "as-was", "v", references=refs, members=members)
    return {"pv": pv, "members": members, "defs": defs, "refs": refs, "placed": placed}


def test_random_groups_of_skewed_practices_fall_outside_the_adjusted_limits_at_the_nominal_rate(world):
    placed = world["placed"]
    assert len(placed) == GROUPS
    better = float((placed["od_comparison_95"] == "better").mean())
    worse = float((placed["od_comparison_95"] == "worse").mean())
    assert 0.035 <= better + worse <= 0.065, f"better {better:.2%}, worse {worse:.2%}"
    assert min(better, worse) >= 0.015 and max(better, worse) <= 0.035, f"better {better:.2%}, worse {worse:.2%}"
    assert float(placed["od_comparison_998"].isin(["better", "worse"]).mean()) <= 0.006


def test_the_funnel_agrees_with_the_scorecards_evaluative_comparison(world):
    args = (world["pv"], world["members"], world["defs"], "as-was", "v", (0.95, 0.998))
    card = scorecard(*args, references=world["refs"])
    card = card[card["entity_type"] == "group"]
    ranges = evaluative_comparison(*args, references=world["refs"])
    placed = world["placed"].set_index("group_id")
    for conf, k in ((0.95, "95"), (0.998, "998")):
        c = card[card["confidence"] == conf].set_index("entity_id").reindex(placed.index)
        r = ranges[ranges["confidence"] == conf].set_index("entity_id").reindex(placed.index)
        assert (placed[f"od_comparison_{k}"] == c["comparison"]).all(), conf
        assert np.allclose(placed[f"od_lower_{k}"], r["reference_lower"])
        assert np.allclose(placed[f"od_upper_{k}"], r["reference_upper"])


def test_the_adjusted_lines_pass_through_the_groups_own_limits(world):
    placed = world["placed"]
    curves = funnel_curves(placed, "groups", world["defs"], world["refs"])
    adjusted = curves[curves["limits"] == "adjusted"]
    assert len(adjusted) > 0 and (curves["limits"] == "phe").sum() == 0  # scores have no PHE limits
    x = np.log(adjusted["x"].to_numpy())
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        line = np.interp(np.log(placed["denominator"].to_numpy()), x, adjusted[col].to_numpy())
        assert np.allclose(line, placed[f"od_{col}"].to_numpy(), atol=0.15), col  # percentage points
    # the funnel narrows with size: the lines approach England's value
    width = adjusted["upper_95"] - adjusted["lower_95"]
    assert width.iloc[-1] < width.iloc[0] / 1.8
