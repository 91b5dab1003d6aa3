"""What every evaluation of a store starts from: the chosen indicator definitions and every practice's values.

:func:`gpscale.evaluate.run.evaluate` and :func:`gpscale.evaluate.calibration.calibrate` both begin here, so
an unknown indicator id is refused with the same message and the practice values are computed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from gpscale.store.db import Store


def practice_values(
    store: Store,
    indicator_ids: list[str] | None,
    definitions_dir: Path | None,
    engine: str,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The definitions to evaluate (every installed one, or ``indicator_ids``; unknown ids refused) and the
    practice x period values computed from the store for them."""
    from gpscale.indicators.compute import compute_indicators
    from gpscale.indicators.library import load_definitions

    definitions = load_definitions(definitions_dir)
    if indicator_ids:
        unknown = sorted(set(indicator_ids) - set(definitions))
        if unknown:
            raise ValueError(f"unknown indicator(s): {', '.join(unknown)}")
        definitions = {k: definitions[k] for k in indicator_ids}
    say(f"computing {len(definitions)} indicators for every practice and period")
    pv = compute_indicators(store, list(definitions), engine=engine, definitions_dir=definitions_dir)
    return definitions, pv


def contiguous(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every Arrow-backed column in one contiguous chunk (same dtypes and values).

    A frame concatenated from many pieces (one per indicator and period) keeps each string column as an
    Arrow array of thousands of chunks, and every filter, merge and group-by then pays for gathering rows
    across them (three times slower on national data); the evaluation rechunks once at the start.
    """
    out = {}
    for name in frame.columns:
        values = frame[name].array
        chunked = getattr(values, "_pa_array", None)  # pandas' Arrow-backed arrays (str, string[pyarrow])
        if chunked is not None and chunked.num_chunks > 1:
            out[name] = pd.Series(pd.array(chunked.combine_chunks(), dtype=frame[name].dtype), index=frame.index,
                                  name=name)
    return frame.assign(**out) if out else frame
