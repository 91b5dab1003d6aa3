"""Results tables keep their value types through Parquet: a truth-value column with cells the disclosure gate
blanked must read back as truth values, not as the text "False" (which every reader would take as true)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from gpscale.export import write_parquet


def test_a_truth_value_column_with_hidden_cells_reads_back_as_truth_values(tmp_path):
    frame = pd.DataFrame({"practice_code": ["A1", "A2", "A3"], "decisive": [True, False, None],
                          "when": [pd.Timestamp("2024-01-01").date(), None, "text"]})
    path = write_parquet(frame, tmp_path / "t.parquet")
    schema = pq.read_schema(path)
    assert str(schema.field("decisive").type) == "bool"
    back = pd.read_parquet(path)
    assert back["decisive"].tolist()[:2] == [True, False] and pd.isna(back["decisive"].iloc[2])
    assert back.loc[back["decisive"].fillna(False).astype(bool), "practice_code"].tolist() == ["A1"]
    when = back["when"].tolist()  # mixed objects still as text
    assert when[0] == "2024-01-01" and pd.isna(when[1]) and when[2] == "text"
