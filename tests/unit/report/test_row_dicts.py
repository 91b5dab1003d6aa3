"""``row_dicts`` (the pages' fast replacement for ``DataFrame.to_dict("records")``) gives the same dicts, value types
included, for every column type a bundle table has: Arrow-backed text with gaps, floats with NaN, integers, truth
values, timestamps with NaT, and an empty frame."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gpscale.report.sections import _clean, records, row_dicts


def _frame() -> pd.DataFrame:
    table = pa.table({
        "code": pa.array(["A1", None, "C3"], pa.large_string()),
        "value": pa.array([1.5, None, float("nan")], pa.float64()),
        "n": pa.array([1, 2, 3], pa.int64()),
        "suppressed": pa.array([True, False, True]),
        "start": pa.array([pd.Timestamp("2020-04-01"), None, pd.Timestamp("2021-01-31")], pa.timestamp("us")),
    })
    return table.to_pandas()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and (a == b or (a is b))


def test_row_dicts_match_to_dict_records_value_for_value() -> None:
    frame = _frame()
    want, got = frame.to_dict("records"), row_dicts(frame)
    assert len(got) == len(want) == 3
    for w, g in zip(want, got, strict=True):
        assert list(g) == list(w)
        assert all(_same(w[k], g[k]) for k in w), (w, g)


def test_a_filtered_frame_and_an_empty_frame() -> None:
    frame = _frame()
    part = frame[frame["n"] > 1]
    assert [r["n"] for r in row_dicts(part)] == [2, 3]
    assert row_dicts(frame.iloc[0:0]) == []


def test_records_are_json_ready() -> None:
    rec = records(_frame())
    assert rec[1]["value"] is None and rec[2]["value"] is None and rec[0]["value"] == 1.5
    assert rec[0]["suppressed"] is True and isinstance(rec[0]["n"], int)


def _previous_clean(v: Any) -> Any:
    """``_clean`` before its fast path for plain values (the oracle)."""
    if isinstance(v, float | np.floating):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def test_clean_and_records_are_what_they_were() -> None:
    class Text(str):
        pass

    values = ["a", "", Text("t"), True, False, 0, -3, 2**70, 1.5, -0.0, float("nan"), float("inf"), -float("inf"),
              np.float64(2.5), np.float64("nan"), np.float32(1.25), np.int64(7), np.bool_(True), None, pd.NA, pd.NaT,
              pd.Timestamp("2020-01-01"), b"x"]
    for v in values:
        want, got = _previous_clean(v), _clean(v)
        assert _same(want, got) or (want is None and got is None), (v, want, got)
    frame = _frame()
    want_rows = [{c: _previous_clean(v) for c, v in r.items()} for r in row_dicts(frame)]
    for w, g in zip(want_rows, records(frame), strict=True):
        assert list(g) == list(w) and all(_same(w[k], g[k]) or (w[k] is None and g[k] is None) for k in w)
