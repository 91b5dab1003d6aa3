"""The trends' fixed-effects sums (``trends._within``) against a per-unit reference written with plain loops.

``_within`` computes every group's sums in a handful of pandas group-bys; the reference here fits each unit's
practices one by one from the definitions (weighted means within practice, sums of weighted cross-products),
so a lost row, a mislabelled or mis-sorted index, or a wrong sum shows up as a mismatch. It is the oracle a
faster (numpy) ``_within`` would have to meet (issue 17).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.trends import _within


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in rng.permutation(12):
        for p in range(int(rng.integers(1, 5))):
            years = rng.choice(np.arange(2010, 2020), size=int(rng.integers(1, 7)), replace=False)
            for t in years:
                rows.append((f"G{g:02d}", f"P{g:02d}{p}|0", float(t), rng.normal(), rng.uniform(0.5, 2.0)))
    df = pd.DataFrame(rows, columns=["group_id", "unit", "t", "y", "w"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _reference(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for g in sorted(set(df["group_id"])):
        d = df[df["group_id"] == g]
        tot = dict.fromkeys(["sxx", "sxy", "syy", "sxx2", "rss_own", "df_own"], 0.0)
        for p in set(d["unit"]):
            r = d[d["unit"] == p]
            t, y, w = (r[c].to_numpy() for c in ("t", "y", "w"))
            tb, yb = np.sum(w * t) / np.sum(w), np.sum(w * y) / np.sum(w)
            sxx, sxy, syy = np.sum(w * (t - tb) ** 2), np.sum(w * (t - tb) * (y - yb)), np.sum(w * (y - yb) ** 2)
            tot["sxx"] += sxx
            tot["sxy"] += sxy
            tot["syy"] += syy
            tot["sxx2"] += sxx**2
            tot["rss_own"] += max(syy - sxy**2 / sxx, 0.0) if sxx > 0 else syy
            tot["df_own"] += max(len(r) - (2 if sxx > 0 else 1), 0)
        n, m = len(d), d["unit"].nunique()
        slope = tot["sxy"] / tot["sxx"] if tot["sxx"] > 0 else np.nan
        dfree = n - m - 1
        s2 = max(tot["syy"] - slope * tot["sxy"], 0.0) / dfree if dfree > 0 else np.nan
        out[g] = {**tot, "n": n, "k": d["t"].nunique(), "m": m, "slope": slope, "df": dfree, "s2": s2}
    return pd.DataFrame.from_dict(out, orient="index")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_within_sums_match_a_unit_by_unit_reference(seed: int) -> None:
    df = _frame(seed)
    got = _within(df, ["group_id", "unit"])
    ref = _reference(df)
    assert list(got.index) == list(ref.index)
    assert got.index.name == "group_id"
    for col in ref.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=col)


def test_within_keeps_every_key_level_labelled_and_sorted() -> None:
    df = _frame(4)
    df["area"] = np.where(df["group_id"] < "G06", "north", "south")
    got = _within(df, ["area", "group_id", "unit"])
    assert got.index.names == ["area", "group_id"]
    assert list(got.index) == sorted(set(zip(df["area"], df["group_id"], strict=True)))
    ref = _reference(df)
    np.testing.assert_allclose(got["sxy"].to_numpy(), ref["sxy"].to_numpy(), rtol=1e-9, atol=1e-12)
