"""``gpscale evaluate --analysis events`` on a small synthetic England: the three event tables, written."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.evaluate.events import EVENT_COLUMNS, EVENT_DOMAIN_COLUMNS, EVENT_STUDY_COLUMNS, EVENT_SUMMARY_COLUMNS
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from tests.synthetic_england import small_england

runner = CliRunner()


def test_evaluate_analysis_events_writes_the_event_tables(tmp_path):
    synth = small_england()
    store = tmp_path / "store.duckdb"
    with open_store(store) as st:
        ingest(st, [synth.out / "nhs", synth.out / "groups"])
    out = tmp_path / "results"
    r = runner.invoke(app, ["evaluate", "--store", str(store), "--out", str(out), "--analysis", "events",
                            "--indicator", "rx_broad_spectrum", "--indicator", "qof_total"])
    assert r.exit_code == 0, r.output
    assert "Did scaling up change quality?" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["analyses"] == ["events"]
    events = pd.read_parquet(out / "events.parquet")
    summary = pd.read_parquet(out / "event_summary.parquet")
    assert list(events.columns) == EVENT_COLUMNS
    assert list(summary.columns) == EVENT_SUMMARY_COLUMNS
    assert [c["name"] for c in manifest["tables"]["event_study"]["columns"]] == EVENT_STUDY_COLUMNS
    # the four named groups and the PCNs get a study each (here: saying why it cannot tell), and mergers
    # come from the synthetic ODS successor file
    assert {"SP-ALDER", "MS-BEACON", "FED-CASTLE", "NET-DALES"} <= set(summary["entity_id"])
    assert "merger" in set(events["kind"]) and "joined_pcn" in set(events["kind"])
    pcn = summary[(summary["entity_type"] == "event_kind") & (summary["event_kind"] == "joined_pcn")]
    assert set(pcn["status"]) <= {"simultaneous events: no comparators", "no events"}
    assert summary["conclusion"].str.len().gt(20).all()
    # every event kind states each indicator domain it has studies for: an interval or why it cannot say
    dom = pd.read_parquet(out / "event_domain.parquet")
    assert list(dom.columns) == EVENT_DOMAIN_COLUMNS
    kinds = dom[dom["entity_type"] == "event_kind"]
    assert set(zip(kinds["event_kind"], kinds["domain"], strict=True)) == {
        (k, d) for k, d in zip(summary["event_kind"], summary["domain"], strict=True)}
    stated = kinds["lower"].notna() | kinds["conclusion"].str.startswith("Cannot say")
    assert stated.all()


def test_unknown_analysis_is_refused_with_the_list_including_events(tmp_path):
    store = tmp_path / "s.duckdb"
    with open_store(store):
        pass
    r = runner.invoke(app, ["evaluate", "--store", str(store), "--analysis", "nonsense"])
    assert r.exit_code == 2 and "events" in r.output
