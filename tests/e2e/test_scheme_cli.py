"""End to end from the command line: the example schemes in docs/ on a small synthetic England store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from tests.synthetic_england import small_england

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemes"
EXAMPLES = ("network_standards", "iif_thresholds")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    synth = small_england()
    path = tmp_path_factory.mktemp("scheme-cli") / "store.duckdb"
    r = runner.invoke(app, ["ingest", "--store", str(path), str(synth.out / "nhs"), str(synth.out / "groups")])
    assert r.exit_code == 0, r.output
    return path


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_scheme_validates_scores_forecasts_and_designs(store, tmp_path, name):
    scheme = DOCS / f"{name}.yaml"
    r = runner.invoke(app, ["scheme", "validate", str(scheme)])
    assert r.exit_code == 0 and "valid scheme" in r.output, r.output
    r = runner.invoke(app, ["scheme", "score", str(scheme), "--store", str(store), "--out", str(tmp_path / "s"),
                            "--excel", "--period", "FY2022/23"])
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(tmp_path / "s" / "scheme_scores.csv")
    assert set(scores["period"]) == {"FY2022/23"} and scores["status"].eq("scored").mean() > 0.9
    totals = pd.read_csv(tmp_path / "s" / "scheme_totals.csv")
    # a network's total is the sum of its published target rows, and withheld when one of them is hidden
    shown = totals[~totals["suppressed"]]
    assert shown["payment_pence"].sum() == scores[scores["group_id"].isin(shown["group_id"])]["payment_pence"].sum()
    assert (tmp_path / "s" / "results.xlsx").exists() and (tmp_path / "s" / "scheme_contributions.csv").exists()
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["kind"] == "scheme" and manifest["disclosure"]["applied"]
    r = runner.invoke(app, ["scheme", "forecast", str(scheme), "--store", str(store), "--out", str(tmp_path / "f"),
                            "--period", "FY2023/24", "--draws", "1000"])
    assert r.exit_code == 0, r.output
    fc = pd.read_csv(tmp_path / "f" / "scheme_forecast.csv")
    assert set(fc["period"]) == {"FY2024/25"} and fc["status"].eq("forecast").any()
    assert json.loads((tmp_path / "f" / "manifest.json").read_text())["forecast_period"] == "FY2024/25"
    r = runner.invoke(app, ["scheme", "design", str(scheme), "--store", str(store), "--out", str(tmp_path / "d"),
                            "--period", "FY2023/24", "--draws", "500"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "d" / "scheme_design_sweep.csv")) >= 4


def test_bad_scheme_and_missing_store_fail_cleanly(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad_one\ntitle: Bad\nperiod: FY2022/23\nindicators:\n  - indicator: qof_total\n"
                   "    target: {type: network_standard, standard: 101}\n    reward: {amount: 1}\n")
    r = runner.invoke(app, ["scheme", "score", str(bad), "--store", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    flat = "".join(r.output.split())  # the console wraps long lines wherever the temporary path ends
    assert "bad.yaml:6:indicators[0].target.standard:101isoutsidetherangeofqof_total" in flat
    r = runner.invoke(app, ["scheme", "score", str(DOCS / "iif_thresholds.yaml"), "--store",
                            str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "nostoreat" in "".join(r.output.split())
    r = runner.invoke(app, ["scheme", "score", str(DOCS / "iif_thresholds.yaml"), "--period", "FY2023"])
    assert r.exit_code == 2 and "--periodFY2023" in "".join(r.output.split())
