"""The evaluation end to end on a small synthetic England: Python API, tables, files and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.bundle import open_bundle, write_bundle
from gpscale.cli import app
from gpscale.evaluate.bundle import bundle_meta, make_bundle
from gpscale.evaluate.profiles import practice_context
from gpscale.evaluate.run import ANALYSES, evaluate
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from tests.synthetic_england import small_england, store_in_another_order

runner = CliRunner()
INDICATORS = ["qof_total", "gpps_overall_good", "rx_broad_spectrum"]

#: Columns every analysis table carries so that a number never travels without its provenance.
PROVENANCE = {"membership_view", "definition_version", "data_version"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    synth = small_england()
    path = tmp_path_factory.mktemp("run") / "store.duckdb"
    with open_store(path) as st:
        ingest(st, [synth.out / "nhs", synth.out / "groups"])
    return path


@pytest.fixture(scope="module")
def ev(store_path):
    with open_store(store_path, read_only=True) as st:
        return evaluate(st, INDICATORS)


def test_every_analysis_produces_tidy_tables_with_provenance(ev):
    assert ev.analyses == ANALYSES
    for name in ("scorecard", "trends", "funnels", "dispersion", "convergence", "characteristics", "size_effect",
                 "size_curve", "size_bands", "profiles"):
        df = ev.tables[name]
        assert set(df.columns) >= PROVENANCE, name
    for name in ("scorecard", "trends", "characteristics", "size_effect"):
        df = ev.tables[name]
        assert {"value", "lower", "upper", "confidence", "method", "comparator"} <= set(df.columns), name
    assert not ev.scorecard.empty and not ev.trends.empty and not ev.funnels.empty and not ev.profiles.empty
    assert set(ev.scorecard["indicator_id"]) == set(INDICATORS)
    assert set(ev.summary["confidence"]) == {0.95, 0.998}
    # PCNs and the named registry groups are all there
    kinds = set(ev.groups["kind"])
    assert {"pcn", "federation", "super_partnership", "multi_site", "network"} <= kinds
    assert ev.members["group_id"].nunique() == ev.scorecard.loc[ev.scorecard["entity_type"] == "group",
                                                                "entity_id"].nunique()


def test_size_effect_always_states_a_conclusion(ev):
    assert ev.size_effect["conclusion"].str.len().gt(20).all()
    # 60 practices make about a dozen groups: too few to conclude anything, and it says so
    assert ev.size_effect["conclusion"].str.startswith("The data cannot support a conclusion").all()


def test_bundle_parquet_csv_excel_and_a_self_describing_manifest(ev, tmp_path):
    paths = write_bundle(make_bundle(ev), tmp_path, meta=bundle_meta(ev), excel=True)
    names = {p.name for p in paths}
    for table in ("scorecard", "summary", "trends", "funnels", "group_funnels", "profiles", "size_effect",
                  "practice_values", "definitions", "spells", "members", "practices", "spc", "disclosure_log"):
        assert f"{table}.parquet" in names and f"{table}.csv" in names, table
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["membership_view"] == "as-was"
    assert manifest["tables"]["scorecard"]["rows"] == len(ev.scorecard)
    assert manifest["tables"]["practice_values"]["counts"] == ["numerator", "denominator", "effective_n"]
    assert manifest["disclosure"]["applied"] and manifest["disclosure"]["hidden_cells_by_rule"]
    assert manifest["tables"]["members"]["rows"] == len(ev.members)  # the membership actually used
    sheets = pd.ExcelFile(tmp_path / "results.xlsx").sheet_names
    assert "contents" in sheets and "scorecard" in sheets
    back = open_bundle(tmp_path).table("trends")
    assert back is not None and len(back) == len(ev.trends)
    # nothing below the threshold is published in the practice values, the scorecard or the funnels
    b = open_bundle(tmp_path)
    for table, cols in (("practice_values", ("numerator", "denominator")), ("scorecard", ("numerator",)),
                        ("funnels", ("denominator",))):
        for c in cols:
            small = b.query(f"SELECT count(*) AS n FROM {table} t JOIN definitions d USING (indicator_id) "
                            f"WHERE d.value_type IN ('proportion', 'rate') AND {c} > 0 AND {c} < 5")
            assert int(small["n"].iloc[0]) == 0, (table, c)


def test_cohort_view_and_a_groups_file_not_yet_ingested(store_path, tmp_path):
    with open_store(store_path, read_only=True) as st:
        codes = st.df("SELECT DISTINCT practice_code FROM measure_value WHERE source LIKE 'qof%' LIMIT 3")
    reg = tmp_path / "extra.yaml"
    members = "\n".join(f"      - {{practice: {c}, start: 2010-04-01, end: null}}" for c in codes["practice_code"])
    reg.write_text(f"gpscale_group_registry: 1\ngroups:\n  - id: NEW-1\n    name: New Network\n    kind: network\n"
                   f"    members:\n{members}\n")
    with open_store(store_path, read_only=True) as st:
        ev = evaluate(st, ["qof_total"], view="cohort:2015-04-01", groups_file=reg, analyses=["scorecard"])
    g = ev.scorecard[ev.scorecard["entity_id"] == "NEW-1"]
    assert not g.empty and set(g["membership_view"]) == {"cohort:2015-04-01"}
    assert ev.trends.empty and ev.size_effect.empty  # analyses not asked for are empty
    bad = tmp_path / "bad.yaml"
    bad.write_text(reg.read_text().replace("kind: network", "kind: club"))
    with open_store(store_path, read_only=True) as st, pytest.raises(ValueError, match="unknown-group-kind"):
        evaluate(st, ["qof_total"], groups_file=bad, analyses=["scorecard"])


def test_evaluate_cli(store_path, tmp_path):
    out = tmp_path / "res"
    r = runner.invoke(app, ["evaluate", "--store", str(store_path), "--out", str(out), "--indicator", "qof_total",
                            "--analysis", "scorecard", "--analysis", "size", "--excel"])
    assert r.exit_code == 0, r.output
    assert (out / "scorecard.parquet").exists() and (out / "results.xlsx").exists()
    assert (out / "manifest.json").exists() and open_bundle(out).has("disclosure_log")
    assert "Is bigger better?" in r.output and "scorecard:" in r.output
    r = runner.invoke(app, ["evaluate", "--store", str(store_path), "--out", str(out), "--analysis", "magic"])
    assert r.exit_code == 2 and "unknown analysis magic" in r.output
    r = runner.invoke(app, ["evaluate", "--store", str(tmp_path / "none.duckdb"), "--out", str(out)])
    assert r.exit_code == 2 and "no store" in r.output


def test_membership_edge_cases_flow_through_every_analysis():
    """A practice moving mid-year, a merger, a closure and a group whose members all leave, end to end."""
    from types import SimpleNamespace

    import numpy as np

    from gpscale.evaluate.run import evaluate_frames

    rng = np.random.default_rng(9)
    years = [f"FY{y}/{(y + 1) % 100:02d}" for y in range(2014, 2021)]
    rows = []
    for i in range(30):
        closes = 4 if i == 3 else 99  # A80003 closes (merges into A80000) after FY2017/18
        for t, fy in enumerate(years):
            if t > closes:
                continue
            rows.append((f"A8{i:04d}", fy, float(rng.binomial(4000, 0.3)), 4000.0))
    pv = pd.DataFrame(rows, columns=["practice_code", "period", "numerator", "denominator"]).assign(
        indicator_id="p", period_type="fy", value=lambda d: d["numerator"] / d["denominator"], definition_version=1)
    ts = pd.Timestamp
    spells = pd.DataFrame([
        ("G1", "A80000", ts("2014-04-01"), pd.NaT),
        ("G1", "A80001", ts("2014-04-01"), ts("2017-12-31")),  # moves to G2 mid-year
        ("G2", "A80001", ts("2018-01-01"), pd.NaT),
        ("G1", "A80003", ts("2014-04-01"), ts("2019-03-31")),  # merged into A80000
        ("G2", "A80004", ts("2014-04-01"), pd.NaT),
        ("G2", "A80005", ts("2014-04-01"), pd.NaT),
        ("GONE", "A80006", ts("2014-04-01"), ts("2016-03-31")),  # every member leaves in 2016
        ("GONE", "A80007", ts("2014-04-01"), ts("2016-03-31")),
        ("GONE", "A80008", ts("2014-04-01"), ts("2016-03-31")),
    ], columns=["group_id", "practice_code", "start_date", "end_date"])
    d = SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100.0, data_breaks=[], version=1)
    ev = evaluate_frames(pv, spells, {"p": d}, data_version="t", analyses=["scorecard", "trends", "variation"])
    card = ev.scorecard[(ev.scorecard["entity_type"] == "group") & (ev.scorecard["confidence"] == 0.95)]
    periods = card.groupby("entity_id")["period"].apply(set)
    assert periods["GONE"] == {"FY2014/15", "FY2015/16"}
    assert periods["G1"] == set(years)
    # the mover counts towards G1 in 2017/18 (member on 1 October 2017) and G2 from 2018/19
    n = card.set_index(["entity_id", "period"])["n_practices"]
    assert n[("G1", "FY2017/18")] == 3 and n[("G2", "FY2018/19")] == 3 and n[("G1", "FY2019/20")] == 1
    tr = ev.trends[(ev.trends["statistic"] == "trend_vs_england") & (ev.trends["confidence"] == 0.95)]
    assert tr.set_index("entity_id").loc["GONE", "classification"] == "Cannot be calculated"
    assert tr.set_index("entity_id").loc["G1", "classification"] != "Cannot be calculated"
    assert set(ev.funnels["group_id"]) == {"G1", "G2", "GONE"}


@pytest.fixture(scope="module")
def shuffled_path(store_path, tmp_path_factory):
    return store_in_another_order(store_path, tmp_path_factory.mktemp("shuffled") / "store.duckdb")


@pytest.mark.slow
def test_the_evaluation_does_not_depend_on_the_order_rows_are_stored_in(ev, shuffled_path):
    # issue 12r: at national size DuckDB returns a query's rows in an order that varies with its threads (the
    # practice view's rows, hence the placebo draws, moved between two demo runs); every table rewritten in
    # another row order, and DuckDB on another number of threads, must give the same evaluation to the bit
    with open_store(shuffled_path, read_only=True) as st:
        st.con.execute("SET threads = 3")
        again = evaluate(st, INDICATORS)
    before, after = _every_frame(ev), _every_frame(again)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, check_exact=True, obj=name)


def test_the_practice_context_comes_in_one_order_whatever_the_store_order(store_path, shuffled_path):
    periods = ["FY2019/20", "FY2020/21"]
    with open_store(store_path, read_only=True) as st:
        first = practice_context(st, periods)
    with open_store(shuffled_path, read_only=True) as st:
        again = practice_context(st, periods)
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    assert first["practice_code"].is_monotonic_increasing


def _every_frame(ev):
    return {**ev.tables, "practice_values": ev.practice_values, "members": ev.members, "spells": ev.spells,
            "practices": ev.practices}
