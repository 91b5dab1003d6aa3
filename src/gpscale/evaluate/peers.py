"""Similar groups ("peers"): each group's k nearest groups on deprivation, rurality, age structure and size.

Like Fingertips' similar-practice groups and CIPFA's nearest neighbours, a group is compared with the
groups most like it in the characteristics that drive indicator values regardless of quality. The
distance (docs/methods/peers.md):

* features: ``imd_score`` (list-weighted IMD), ``pct_rural`` (share of patients in rural practices),
  ``pct_65_plus`` (share of patients aged 65 and over) and ``patients`` (list size, on the log scale,
  since a group twice the size is as different from one half the size);
* each feature is standardised across the groups considered (minus the mean, divided by the standard
  deviation; a feature with no spread is left out), so that each counts equally;
* distance = Euclidean distance between standardised feature vectors; a group with a missing feature is
  compared on the features both groups have, the sum of squares scaled up by (features / features
  shared), and is not a peer of anyone when they share fewer than two;
* ties in distance are broken by group id, so the choice is reproducible.

:func:`nearest_peers` returns one row per (group, peer) with the rank and distance (:data:`PEER_COLUMNS`).
Wiring peers in as a scorecard comparator (``--comparator peers:K``) is a later step (issue 15, item 4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PEER_FEATURES: tuple[str, ...] = ("imd_score", "pct_rural", "pct_65_plus", "patients")
#: Features compared on the log scale.
LOG_FEATURES = frozenset({"patients"})
PEER_COLUMNS = ["group_id", "peer_id", "rank", "distance", "features", "k"]


def standardised_features(groups: pd.DataFrame, features: Sequence[str] = PEER_FEATURES) -> pd.DataFrame:
    """Group id -> standardised features (z-scores across the groups; log of list size first)."""
    out = pd.DataFrame(index=groups["group_id"].astype(str).to_numpy())
    for f in features:
        if f not in groups:
            continue
        x = pd.to_numeric(groups[f], errors="coerce").to_numpy(float)
        if f in LOG_FEATURES:
            x = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
        sd = np.nanstd(x) if np.isfinite(x).sum() > 1 else 0.0
        if not sd > 0:
            continue
        out[f] = (x - np.nanmean(x)) / sd
    return out


def nearest_peers(groups: pd.DataFrame, k: int, features: Sequence[str] = PEER_FEATURES) -> pd.DataFrame:
    """Each group's ``k`` nearest other groups (see module notes); one row per (group, peer)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    z = standardised_features(groups, features)
    if z.empty or z.shape[1] == 0:
        return pd.DataFrame(columns=PEER_COLUMNS)
    a = z.to_numpy(float)
    ok = np.isfinite(a)
    diff = np.where(ok[:, None, :] & ok[None, :, :], a[:, None, :] - a[None, :, :], 0.0)
    shared = (ok[:, None, :] & ok[None, :, :]).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt((diff**2).sum(axis=2) * a.shape[1] / shared)
    dist[shared < min(2, a.shape[1])] = np.inf
    np.fill_diagonal(dist, np.inf)
    ids = z.index.to_numpy()
    order_ids = np.argsort(ids)
    rows = []
    used = ", ".join(z.columns)
    for i, gid in enumerate(ids):
        # sort by distance, then by group id
        cand = [j for j in order_ids if np.isfinite(dist[i, j])]
        cand.sort(key=lambda j: (dist[i, j], ids[j]))
        for r, j in enumerate(cand[:k], start=1):
            rows.append({"group_id": gid, "peer_id": ids[j], "rank": r, "distance": float(dist[i, j]),
                         "features": used, "k": k})
    return pd.DataFrame(rows, columns=PEER_COLUMNS)
