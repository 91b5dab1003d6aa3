"""The evaluation's input rechunking (issue 17): same frame, one Arrow chunk per column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpscale.evaluate.inputs import contiguous


def _pieces() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    parts = [pd.DataFrame({"practice_code": [f"A{i:05d}" for i in rng.integers(0, 50, 20)],
                           "period": f"FY20{k:02d}/{k + 1:02d}", "numerator": rng.poisson(5, 20).astype(float)})
             for k in range(10, 22)]
    parts[3].loc[2, "practice_code"] = None  # a missing string keeps its NaN
    return pd.concat(parts, ignore_index=True)


def test_contiguous_keeps_values_and_dtypes_in_one_chunk() -> None:
    df = _pieces()
    if getattr(df["period"].array, "_pa_array", None) is None:
        df = df.astype({"practice_code": "string[pyarrow]", "period": "string[pyarrow]"})
    assert df["period"].array._pa_array.num_chunks > 1  # the case being fixed
    out = contiguous(df)
    pd.testing.assert_frame_equal(out, df, check_exact=True)
    for c in ("practice_code", "period"):
        assert out[c].array._pa_array.num_chunks == 1


def test_contiguous_leaves_numpy_frames_alone() -> None:
    df = pd.DataFrame({"a": np.arange(5.0), "b": list("abcde")}).astype({"b": object})
    assert contiguous(df) is df
