"""End to end from the command line: synth → ingest → store summary → evaluate → demo report."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from tests.synthetic_england import small_england

runner = CliRunner()


def test_ingest_summary_and_evaluate_from_the_cli(tmp_path):
    synth = small_england()
    store = tmp_path / "store.duckdb"
    r = runner.invoke(app, ["ingest", "--store", str(store), str(synth.out / "nhs"), str(synth.out / "groups")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["store", "summary", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    sources = {x["source"] for x in rows}
    assert {"ods_epraccur", "ods_epcn", "qof_achievement", "gpps_practice", "prescribing", "gp_reg_patients",
            "nhs_payments", "hospital_activity", "group_registry", "qof_domains"} <= sources
    qof = [x for x in rows if x["table"] == "measure_value" and x["file"] == "QOF_2019-20.csv"]
    assert qof and qof[0]["period"] == "FY2019/20" and qof[0]["practices"] > 40
    # ingesting the same file again changes nothing: the store summary is identical
    r = runner.invoke(app, ["ingest", "--store", str(store), str(synth.out / "nhs" / "QOF_2019-20.csv")])
    assert r.exit_code == 0 and "unchanged" in r.output
    r = runner.invoke(app, ["store", "summary", "--store", str(store), "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == rows
    out = tmp_path / "results"
    r = runner.invoke(app, ["evaluate", "--store", str(store), "--out", str(out), "--indicator", "qof_total",
                            "--indicator", "rx_broad_spectrum"])
    assert r.exit_code == 0, r.output
    card = pd.read_parquet(out / "scorecard.parquet")
    assert set(card["indicator_id"]) == {"qof_total", "rx_broad_spectrum"}
    assert set(card["confidence"]) == {0.95, 0.998}
    assert card["method"].str.len().min() > 5 and set(card["membership_view"]) == {"as-was", "all practices"}
    # England's QOF total for 2019/20, straight from the file the synthetic generator wrote: pooled points over
    # the practices' pooled maxima (every practice has the year's maximum in that file)
    raw = pd.read_csv(synth.out / "nhs" / "QOF_2019-20.csv", encoding="utf-8-sig")
    points = [c for c in raw.columns if c.startswith("Achievement score")]
    available = [c for c in raw.columns if c.startswith("Total points for indicators")]
    eng = card[(card["entity_type"] == "england") & (card["indicator_id"] == "qof_total")
               & (card["period"] == "FY2019/20") & (card["confidence"] == 0.95)]
    assert len(eng) == 1 and len(points) == len(available) == 1
    assert eng["value"].iloc[0] == pytest.approx(100 * raw[points[0]].sum() / raw[available[0]].sum(), rel=1e-9)


def test_unknown_file_fails_cleanly_and_leaves_the_store_unchanged(tmp_path):
    synth = small_england()
    store = tmp_path / "store.duckdb"
    bad = tmp_path / "mystery.csv"
    bad.write_text("foo,bar\n1,2\n")
    r = runner.invoke(app, ["ingest", "--store", str(store), str(synth.out / "nhs" / "epraccur.csv"), str(bad)])
    assert r.exit_code != 0
    assert "mystery.csv" in r.output and "unknown-format" in r.output and "nearest match" in r.output
    r = runner.invoke(app, ["store", "summary", "--store", str(store), "--json"])
    assert json.loads(r.output) == []


def test_demo_writes_reports_bundle_and_summary(tmp_path):
    r = runner.invoke(app, ["demo", "--out", str(tmp_path), "--practices", "30", "--seed", "4", "--excel"])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "report.html").exists()  # the national report is the overview
    html = (tmp_path / "reports" / "national.html").read_text()
    assert html.count("<svg") >= 3 and "How to read this report" in html
    pack = (tmp_path / "reports" / "FED-CASTLE.html").read_text()
    assert pack.index("Summary: ") < pack.index("Scorecard against England")
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained: no external resources
    # results as Parquet, the workbook asked for, and no CSV copies unless asked for (--csv)
    assert (tmp_path / "results" / "results.xlsx").is_file() and not list((tmp_path / "results").glob("*.csv"))
    card = pd.read_parquet(tmp_path / "results" / "scorecard.parquet")
    assert {"qof_total", "rx_broad_spectrum", "rx_antibacterial_items"} <= set(card["indicator_id"])
    assert "Named groups, latest year" in r.output
    _assert_example_schemes_ran(tmp_path)


def _assert_example_schemes_ran(out):
    """The demo scored, forecast and designed both example schemes and wrote disclosed bundles."""
    found = {}
    for manifest in sorted((out / "results" / "schemes").glob("*/manifest.json")):
        meta = json.loads(manifest.read_text())
        found[meta["scheme_id"]] = (manifest.parent, meta)
    assert set(found) == {"network_standards", "iif_thresholds"}
    for folder, meta in found.values():
        assert meta["kind"] == "scheme" and meta["forecast_period"] is not None
        assert meta["period"] < meta["forecast_period"]
        scores = pd.read_parquet(folder / "scheme_scores.parquet")
        assert len(scores) and (scores["period"] == meta["period"]).all()
        assert {"suppressed", "suppression"} <= set(scores.columns)
        hidden = scores["suppressed"].astype(bool)
        assert scores.loc[hidden, ["numerator", "denominator", "value", "payment_pence"]].isna().all().all()
        nets = set()
        for name in ("scheme_scores", "scheme_contributions", "scheme_forecast"):
            t = pd.read_parquet(folder / f"{name}.parquet")
            nets |= set(t.loc[t["suppressed"].astype(bool), "group_id"])
        for name in ("scheme_design_distribution", "scheme_design_targets", "scheme_design_sweep"):
            t = pd.read_parquet(folder / f"{name}.parquet")
            assert len(t) and (t["n_networks_left_out"] == len(nets)).all(), name
        assert (folder / "disclosure_log.parquet").exists()
    # a named group's board pack has a section for each scheme that scores it
    pack = (out / "reports" / "FED-CASTLE.html").read_text()
    assert "Incentive scheme: " in pack
