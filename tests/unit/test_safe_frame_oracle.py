"""``safe_frame`` looks for formula cells with one Arrow kernel per text column and rewrites only the columns that
have one: every frame must come out exactly as the previous rule (pandas ``str.match`` on every text column, each
column written back) made it: same values, same dtypes, same CSV, for text of every kind a table can hold."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from gpscale.export import _FORMULA, csv_text, neutralise, safe_frame


def _previous(frame: pd.DataFrame) -> pd.DataFrame:
    """The rule as it was before the Arrow check (the oracle)."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for c in out.columns:
        col = out[c]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
                or isinstance(col.dtype, pd.CategoricalDtype)):
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [neutralise(str(v)) if isinstance(v, str) else v for v in col.cat.categories]
            if len(set(cats)) == len(cats):
                out[c] = col.cat.rename_categories(cats)
                continue
            col = col.astype(object)
        risky = col.astype("string").str.match(_FORMULA).fillna(False).astype(bool)
        out[c] = col.where(~risky, "'" + col.astype("string")) if risky.any() else col
    return out


TEXT = ["plain", "=SUM(A1)", None, "-3", "+x", "@me", "\tcell", "\rcell", "\0cell", "a=b", "", "é=", "-"]
SAFE = ["plain", "a=b", None, "", "x-1", "é"]
MIXED = [1, -1.5, "=x", None, pd.Timestamp("2020-01-01"), np.nan, "ok", True, -2]


def _frames() -> list[pd.DataFrame]:
    n = len(TEXT)
    frames = [
        pd.DataFrame({"t": TEXT, "v": np.linspace(-1, 1, n), "=col": range(n)}),
        pd.DataFrame({"t": pd.Series(TEXT, dtype="str"), "s": pd.Series(TEXT, dtype="string"),
                      "o": pd.Series(TEXT, dtype=object)}),
        pd.DataFrame({"t": pd.Series(SAFE, dtype="str"), "s": pd.Series(SAFE, dtype="string"),
                      "o": pd.Series(SAFE, dtype=object), "b": [True, False, True, False, True, None]}),
        pd.DataFrame({"m": pd.Series(MIXED, dtype=object)}),
        pd.DataFrame({"c": pd.Categorical(["=a", "b", "=a"]), "d": pd.Categorical(["x", "y", "x"])}),
        # neutralised categories would collide ("=a" and "'=a"): the column falls back to objects
        pd.DataFrame({"c": pd.Categorical(["=a", "'=a", "b"]), "u": pd.Categorical(["b", "b", "b"],
                                                                                   categories=["b", "=z", "'=z"])}),
        pd.DataFrame({"t": pd.Series([], dtype="str"), "o": pd.Series([], dtype=object)}),
        pd.DataFrame({"t": pd.concat([pd.Series(["a", "b"], dtype="string[pyarrow]"),
                                      pd.Series(["=c"], dtype="string[pyarrow]")], ignore_index=True)}),
    ]
    return frames


@pytest.mark.parametrize("frame", _frames())
def test_safe_frame_matches_the_previous_rule(frame):
    got, want = safe_frame(frame), _previous(frame)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    buf = io.StringIO()
    want.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    assert csv_text(frame) == buf.getvalue()


def test_safe_frame_leaves_the_input_alone():
    frame = pd.DataFrame({"t": pd.Series(TEXT, dtype="str")})
    before = frame.copy()
    safe_frame(frame)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
