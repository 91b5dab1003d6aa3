"""The bundle's SPC table (``derived.spc``) against charts drawn series by series from the definitions.

``spc`` reads every series as a run of one sorted frame by position (issue 17); the reference here picks each
series' rows by its keys, keeps the last ``months``, drops everything up to its last hidden month and charts
it with :func:`gpscale.stats.spc.xmr_chart`, so a series cut at the wrong row, mixed with its neighbour or
charted in the wrong order shows up as a mismatch, whatever the order of the scorecard's rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.derived import SPC_COLUMNS, spc
from gpscale.indicators.library import load_definitions
from gpscale.stats.spc import xmr_chart

DEFINITIONS = load_definitions()
IND = ["rx_antibacterial_items", "rx_broad_spectrum"]


def _card(seed: int) -> pd.DataFrame:
    """Monthly 95% scorecard rows of England and three groups, some months hidden, plus rows spc ignores."""
    rng = np.random.default_rng(seed)
    months = [f"{y}-{m:02d}" for y in (2021, 2022, 2023, 2024) for m in range(1, 13)]
    rows = []
    for entity, kind in (("E92000001", "england"), ("G1", "group"), ("G2", "group"), ("G3", "group")):
        for ind in IND:
            n = int(rng.integers(1, len(months)))  # some series shorter than the window, one maybe of 1 month
            for period in months[-n:]:
                value = float(rng.normal(10, 2)) if rng.random() > 0.04 else np.nan
                for conf in (0.95, 0.998):
                    rows.append({"entity_type": kind, "entity_id": entity, "indicator_id": ind, "period": period,
                                 "period_type": "month", "confidence": conf, "value": value,
                                 "membership_view": "as-was", "definition_version": 1, "data_version": "t"})
        rows.append({"entity_type": kind, "entity_id": entity, "indicator_id": IND[0], "period": "FY2023/24",
                     "period_type": "fy", "confidence": 0.95, "value": 1.0, "membership_view": "as-was",
                     "definition_version": 1, "data_version": "t"})
    return pd.DataFrame(rows)


def _reference(card: pd.DataFrame, months: int) -> dict[tuple[str, str], tuple[list[str], np.ndarray]]:
    out = {}
    m = card[(card["period_type"] == "month") & (card["confidence"] == 0.95)]
    for entity in sorted(m["entity_id"].unique()):
        for ind in IND:
            rows = m[(m["entity_id"] == entity) & (m["indicator_id"] == ind)].sort_values("period").tail(months)
            values = rows["value"].to_numpy(float)
            hidden = np.flatnonzero(np.isnan(values))
            start = hidden[-1] + 1 if hidden.size else 0
            if len(rows) - start >= 2:
                out[(entity, ind)] = (rows["period"].tolist()[start:], values[start:])
    return out


@pytest.mark.parametrize(("seed", "months"), [(1, 36), (2, 36), (3, 5), (4, 2)])
def test_spc_charts_each_series_after_its_last_hidden_month(seed: int, months: int) -> None:
    card = _card(seed)
    got = spc(card, DEFINITIONS, months)
    assert list(got.columns) == SPC_COLUMNS
    expected = _reference(card, months)
    assert sorted(set(zip(got["entity_id"], got["indicator_id"], strict=True))) == sorted(expected)
    for (entity, ind), (periods, values) in expected.items():
        rows = got[(got["entity_id"] == entity) & (got["indicator_id"] == ind)]
        chart = xmr_chart(values, polarity=str(DEFINITIONS[ind].polarity.value))
        assert rows["period"].tolist() == periods
        np.testing.assert_array_equal(rows["value"].to_numpy(), values)
        np.testing.assert_array_equal(rows["mean"].to_numpy(), chart.mean)
        np.testing.assert_array_equal(rows["upper_limit"].to_numpy(), chart.upper)
        assert rows["rules"].tolist() == list(chart.rules)
        assert rows["variation"].tolist() == list(chart.variation)
        assert (rows["method"].str.contains("segment 0") == bool(chart.warnings)).all()


@pytest.mark.parametrize("seed", [5, 6])
def test_spc_is_the_same_whatever_the_order_of_the_scorecard_rows(seed: int) -> None:
    card = _card(seed)
    shuffled = card.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(spc(shuffled, DEFINITIONS), spc(card, DEFINITIONS), check_exact=True)


def test_spc_of_no_monthly_rows_is_an_empty_table() -> None:
    card = _card(7)
    assert spc(card[card["period_type"] == "fy"], DEFINITIONS).columns.tolist() == SPC_COLUMNS
    assert spc(card[card["period_type"] == "fy"], DEFINITIONS).empty
