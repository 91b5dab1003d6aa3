"""Placebo rates beside both comparisons wherever a group's comparison is served: the bundle's scorecard rows,
the group's scorecard download and the JSON API (issue 14). Each row's rate is looked up in the bundle's own
calibration table (the scorecard analysis, every period of the row's period type pooled), which the
evaluation computed once; the outputs only carry it."""

from __future__ import annotations

import functools
import io

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from gpscale.bundle import Bundle, open_bundle
from gpscale.evaluate.calibration import with_placebo_rates
from gpscale.web.app import create_app
from tests.unit.web.world import FEDERATION, world


@functools.cache
def _bundle() -> Bundle:
    return open_bundle(world().results)


def _expected(rows: pd.DataFrame, kind: str) -> np.ndarray:
    cal = _bundle().table("calibration")
    cal = cal[(cal["analysis"] == "scorecard") & (cal["period"] == "all") & (cal["comparison_type"] == kind)]
    rate = {(r.indicator_id, r.period_type, float(r.confidence)): r.flagged_rate for r in cal.itertuples()}
    return np.array([rate.get((r.indicator_id, r.period_type, float(r.confidence)), np.nan)
                     for r in rows.itertuples()], dtype=float)


def test_every_group_row_of_the_bundle_carries_both_comparisons_placebo_rates():
    card = _bundle().table("scorecard")
    groups = card[card["entity_type"] == "group"]
    for kind, column in (("evaluative", "placebo_flagged_rate"), ("descriptive", "descriptive_placebo_flagged_rate")):
        want = _expected(groups, kind)
        assert np.isfinite(want).any(), kind
        np.testing.assert_allclose(groups[column].to_numpy(float), want, equal_nan=True)
    # the descriptive comparison flags random groups far more often than the evaluative one on this world
    assert groups["descriptive_placebo_flagged_rate"].mean() > groups["placebo_flagged_rate"].mean()
    assert card.loc[card["entity_type"] == "england", "placebo_flagged_rate"].isna().all()


def test_hidden_rows_hide_both_comparisons():
    card = _bundle().table("scorecard")
    hidden = card[card["suppressed"].astype(bool)]
    assert len(hidden) > 0, "the fixture should hide some scorecard rows"
    for col in ("lower", "upper", "comparison", "p_value", "descriptive_lower", "descriptive_upper",
                "descriptive_comparison", "descriptive_p_value"):
        assert hidden[col].isna().all(), col


def test_the_group_download_and_the_api_serve_the_rates_beside_each_comparison():
    client = TestClient(create_app(_bundle(), cache_pages=False))
    csv = pd.read_csv(io.StringIO(client.get(f"/download/groups/{FEDERATION}/scorecard.csv?conf=0.95").text))
    assert set(csv["comparison_type"]) == {"evaluative"}
    np.testing.assert_allclose(csv["placebo_flagged_rate"], _expected(csv.assign(period_type="fy"), "evaluative"))
    np.testing.assert_allclose(csv["descriptive_placebo_flagged_rate"],
                               _expected(csv.assign(period_type="fy"), "descriptive"))
    assert {"descriptive_comparison", "descriptive_lower", "descriptive_upper"} <= set(csv.columns)
    api = pd.DataFrame(client.get(f"/api/v1/groups/{FEDERATION}/results?conf=0.95").json())
    assert (api["comparison_type"] == "evaluative").all() and api["descriptive_comparison"].notna().all()
    np.testing.assert_allclose(api["placebo_flagged_rate"].astype(float),
                               _expected(api.assign(period_type="fy"), "evaluative"))
    np.testing.assert_allclose(api["descriptive_placebo_flagged_rate"].astype(float),
                               _expected(api.assign(period_type="fy"), "descriptive"))
    hidden = api[api["suppressed"]]
    assert (hidden["descriptive_comparison"] == "suppressed").all()


def test_without_a_calibration_table_the_rates_are_missing_not_zero():
    card = _bundle().table("scorecard")
    bare = with_placebo_rates(card.assign(placebo_flagged_rate=np.nan), None)
    assert bare["placebo_flagged_rate"].isna().all()
