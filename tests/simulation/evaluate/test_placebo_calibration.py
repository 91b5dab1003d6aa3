"""Placebo groups: the evaluative comparison and the group funnel flag random groups at the nominal rate.

A group of practices drawn at random has no group effect, so a comparison at 95% should call about 2.5%
of them better and 2.5% worse than England. The acceptance rule (issue 14): between 3.5% and 6.5% in all
and at most 4% either way, for every indicator of synthetic England and every year of the real QOF files.
The placebo rate is the outside check here: nothing below re-computes the reference distribution.

* Synthetic England: written in the published layouts by the generator (:func:`gpscale.synth.generate`,
  300 practices), loaded through the loaders into a temporary store, as a user would; placebo groups copy
  the sizes (practices and patients) of the store's groups, drawn afresh in each period; every indicator,
  financial years and months pooled separately.
* Real QOF (``../shared/data/real/qof_practice_overall_achievement``, every year): the issue's own set-up,
  groups of six practices; QOF scores are strongly left-skewed, which is what broke the old t interval
  (and made the groups' funnel, with Spiegelhalter's symmetric limits, call 5-7% of them worse and almost
  none better).

Both the scorecard's evaluative comparison and the group funnel's adjusted limits (financial years) are
checked; the funnel places groups in the same reference, so its rates must be nominal too.

The full-size version (more groups, full-size synthetic England, sizes from real PCNs, the "before"
table and the candidate methods) is ``tests/bench/bench_calibration.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from gpscale.evaluate.calibration import PlaceboDesign, calibrate
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from gpscale.synth import generate

SYNTH_PRACTICES = 300
SYNTH_GROUPS = 500
REAL_GROUPS = 3000


def _real() -> Path:
    env = os.environ.get("GPSCALE_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"
    return base / "real" / "qof_practice_overall_achievement"


def _assert_nominal(table: pd.DataFrame, where: str) -> None:
    rows = table[table["confidence"] == 0.95]
    assert not rows.empty, where
    for r in rows.itertuples():
        label = f"{where}: {r.indicator_id} {r.period} ({r.period_type}), {r.compared} comparisons"
        assert r.compared >= 700, label
        assert 0.035 <= r.flagged_rate <= 0.065, f"{label}: flagged {r.flagged_rate:.2%}"
        assert max(r.higher_rate, r.lower_rate) <= 0.04, (
            f"{label}: higher {r.higher_rate:.2%}, lower {r.lower_rate:.2%}")
    strict = table[table["confidence"] == 0.998]
    assert (strict["flagged_rate"] <= 0.006).all(), strict[["indicator_id", "period", "flagged_rate"]]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> pd.DataFrame:
    synth = generate(tmp_path_factory.mktemp("placebo-synth"), seed=23, practices=SYNTH_PRACTICES)
    with open_store(":memory:") as st:
        ingest(st, [synth.out / "nhs", synth.out / "groups"])
        cal = calibrate(st, PlaceboDesign(groups=SYNTH_GROUPS, size_from_groups=True, seed=14),
                        analyses=["scorecard", "funnels"])
    return cal.table[cal.table["comparison_type"] == "evaluative"]


def test_every_synthetic_indicator_flags_random_groups_at_the_nominal_rate(synthetic):
    pooled = synthetic[(synthetic["period"] == "all") & (synthetic["analysis"] == "scorecard")]
    assert pooled["indicator_id"].nunique() == 16
    assert set(pooled["period_type"]) == {"fy", "month"}
    _assert_nominal(pooled, "synthetic England")
    assert "sizes copied from the store's groups" in pooled["design"].iloc[0]


def test_every_synthetic_indicator_places_random_groups_in_the_funnel_at_the_nominal_rate(synthetic):
    funnels = synthetic[(synthetic["period"] == "all") & (synthetic["analysis"] == "funnels")]
    assert funnels["indicator_id"].nunique() == 16
    assert set(funnels["period_type"]) == {"fy"}
    _assert_nominal(funnels, "synthetic England, group funnel")


@pytest.mark.realdata
def test_every_real_qof_year_flags_random_groups_of_six_at_the_nominal_rate(tmp_path):
    folder = _real()
    files = sorted(folder.glob("QOF_*.csv")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"real QOF files not found in {folder} (set GPSCALE_SHARED_DATA)")
    with open_store(tmp_path / "qof.duckdb") as st:
        ingest(st, files)
        cal = calibrate(st, PlaceboDesign(groups=REAL_GROUPS, practices=6, seed=14), indicator_ids=["qof_total"],
                        analyses=["scorecard", "funnels"])
    t = cal.table
    years = t[(t["period"] != "all") & (t["comparison_type"] == "evaluative")]
    for analysis in ("scorecard", "funnels"):
        rows = years[years["analysis"] == analysis]
        assert len(rows[rows["confidence"] == 0.95]) == len(files), analysis
        _assert_nominal(rows, f"real QOF {analysis}")
    # a QOF score has no descriptive comparison (no more Student-t interval on member scores)
    descriptive = t[(t["period"] != "all") & (t["comparison_type"] == "descriptive")]
    assert (descriptive["compared"] == 0).all()
