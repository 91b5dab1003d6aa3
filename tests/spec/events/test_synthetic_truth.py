"""The event effects synthetic England injects, and the truth table it writes (truth/event_effects.csv).

Properties, checked on the world model itself: no effect before an event except the anticipation year of
the multi-site archetype; a ramp after it; later joiners of a named group get 1.5 times the founders'
effect; the truth table agrees with the latent shifts actually added to the world.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.synth.events import (
    ANTICIPATION_SHARE,
    LATER_JOINER_FACTOR,
    event_truth,
    shift_at,
)
from gpscale.synth.world import FYS, NAMED_GROUPS, build_world


@pytest.fixture(scope="module")
def world():
    return build_world(23, 1500)


@pytest.fixture(scope="module")
def truth(world):
    return event_truth(world.event_shifts, world.membership, world.list_size, world.practices, FYS)


def test_shift_is_zero_before_the_event_and_ramps_after():
    e = np.array([-3.0, -1.5, -0.5, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(shift_at(0.1, e), [0, 0, 0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(shift_at(0.1, e, anticipation_years=1), [0, 0, 0.1 * ANTICIPATION_SHARE, 0.1, 0.2, 0.3])


def test_truth_has_nothing_before_events_except_the_multi_site_anticipation_year(truth):
    pre = truth[truth["event_time"] < 0]
    assert (pre.loc[pre["kind"] != "multi_site", "effect"] == 0).all()
    ms = pre[pre["kind"] == "multi_site"]
    assert (ms.loc[ms["event_time"] < -1, "effect"] == 0).all()
    assert (ms.loc[ms["event_time"] == -1, "effect"] != 0).any()
    post = truth[(truth["event_time"] >= 0) & (truth["kind"] != "pcn")]
    # effects grow with time since the event (cohort means, while practices stay members)
    first = post.groupby(["group_id", "latent", "cohort_fy"])["effect"].apply(lambda s: abs(s.iloc[0]) <= s.abs().max())
    assert first.all()


def test_later_joiners_get_a_larger_effect_than_the_founding_wave(world, truth):
    named = {g.group_id: g for g in NAMED_GROUPS if g.effects}
    t0 = truth[(truth["group_id"].isin(named)) & (truth["event_time"] == 0)]
    seen = 0
    for (gid, latent), part in t0.groupby(["group_id", "latent"]):
        spec = named[gid]
        founding_fy = spec.founded.year if spec.founded.month >= 4 else spec.founded.year - 1
        size = spec.effects[latent]
        for r in part.itertuples():
            factor = 1.0 if r.cohort_fy == founding_fy else LATER_JOINER_FACTOR
            # at event time 0 a practice that joined on 1 April has a year's worth (half a year in, plus half);
            # joining later in the year gives less, never more
            assert abs(r.effect) <= abs(size) * factor * 1.002
            seen += factor > 1
    assert seen > 0


def test_truth_matches_the_shifts_added_to_the_world(world, truth):
    shifts = world.event_shifts
    assert not shifts.empty and set(shifts["latent"]) <= set(world.latent)
    row = truth[(truth["event_time"] == 2) & (truth["n_practices"] > 0)].iloc[0]
    members = world.membership[world.membership["group_id"] == row.group_id]
    first = members.sort_values("start_date").drop_duplicates("practice_code")
    codes = [c for c, s in zip(first["practice_code"], first["start_date"], strict=True)
             if (s.year if s.month >= 4 else s.year - 1) == row.cohort_fy]
    got = shifts[(shifts["group_id"] == row.group_id) & (shifts["latent"] == row.latent)
                 & (shifts["fy"] == row.cohort_fy + 2) & shifts["practice_code"].isin(codes)]
    index = dict(zip(world.practices["practice_code"], range(len(world.practices)), strict=True))
    k = list(FYS).index(row.cohort_fy + 2)
    open_codes = [c for c in codes if world.list_size[index[c], k] > 0]
    mean = got.set_index("practice_code")["shift"].reindex(open_codes).fillna(0.0).mean()
    assert row.effect == pytest.approx(mean, abs=1e-6)
    assert isinstance(truth, pd.DataFrame) and row.n_practices == len(open_codes)
