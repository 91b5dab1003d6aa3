"""Similar groups: the k nearest groups on standardised deprivation, rurality, age structure and size.

A small table of groups whose neighbours can be worked out by hand: two clear clusters (deprived urban
small groups; affluent rural large groups) and a group with a missing feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.peers import PEER_COLUMNS, nearest_peers, standardised_features

GROUPS = pd.DataFrame({
    "group_id": ["U1", "U2", "U3", "R1", "R2", "R3"],
    "imd_score": [40.0, 38.0, 41.0, 10.0, 12.0, 11.0],
    "pct_rural": [0.0, 5.0, 0.0, 80.0, 70.0, 75.0],
    "pct_65_plus": [10.0, 11.0, 9.0, 25.0, 24.0, np.nan],
    "patients": [30_000, 32_000, 29_000, 60_000, 58_000, 61_000],
})


def test_each_group_gets_its_k_nearest_from_its_own_cluster_in_distance_order():
    peers = nearest_peers(GROUPS, k=2)
    assert list(peers.columns) == PEER_COLUMNS
    got = {g: p.sort_values("rank")["peer_id"].tolist() for g, p in peers.groupby("group_id")}
    assert set(got["U1"]) == {"U2", "U3"} and set(got["R1"]) == {"R2", "R3"}
    # U1 (40, 0, 10, 30k) is closer to U3 (41, 0, 9, 29k) than to U2 (38, 5, 11, 32k)
    assert got["U1"] == ["U3", "U2"]
    assert (peers.groupby("group_id")["distance"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_distance_is_euclidean_on_z_scores_with_log_list_size():
    z = standardised_features(GROUPS)
    x = np.log(GROUPS["patients"].to_numpy(float))
    np.testing.assert_allclose(z["patients"].to_numpy(), (x - x.mean()) / x.std())
    peers = nearest_peers(GROUPS, k=5)
    d = peers[(peers["group_id"] == "U1") & (peers["peer_id"] == "U2")]["distance"].iloc[0]
    want = np.sqrt(((z.loc["U1"] - z.loc["U2"]) ** 2).sum())
    assert d == pytest.approx(want)
    # a missing feature: compared on the shared ones, scaled to all four
    d3 = peers[(peers["group_id"] == "R1") & (peers["peer_id"] == "R3")]["distance"].iloc[0]
    shared = ["imd_score", "pct_rural", "patients"]
    assert d3 == pytest.approx(np.sqrt(((z.loc["R1", shared] - z.loc["R3", shared]) ** 2).sum() * 4 / 3))


def test_k_larger_than_the_groups_gives_every_other_group_and_k_below_one_is_refused():
    peers = nearest_peers(GROUPS, k=10)
    assert peers.groupby("group_id").size().eq(5).all()
    assert not (peers["group_id"] == peers["peer_id"]).any()
    with pytest.raises(ValueError):
        nearest_peers(GROUPS, k=0)


def test_ties_are_broken_by_group_id():
    g = pd.DataFrame({"group_id": ["B", "A", "C"], "imd_score": [1.0, 1.0, 0.0], "pct_rural": [1.0, 1.0, 0.0]})
    assert nearest_peers(g, k=2)[lambda p: p["group_id"] == "C"]["peer_id"].tolist() == ["A", "B"]
