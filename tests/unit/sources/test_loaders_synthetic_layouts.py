"""Every layout synthetic England writes is detected and loaded into the canonical tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.sources.registry import detect
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.fixtures import layouts as L


@pytest.fixture()
def store():
    s = open_store(":memory:")
    yield s
    s.close()


@pytest.mark.parametrize(
    ("writer", "fmt"),
    [
        (lambda d: L.write_epraccur(d), "ods_epraccur"),
        (lambda d: L.write_epcn(d), "ods_epcn"),
        (lambda d: L.write_epcn(d, title_rows=2, details_sheet="PCN Details"), "ods_epcn"),
        (lambda d: L.write_qof_achievement(d, 2019), "qof_achievement"),
        (lambda d: L.write_qof_achievement(d, 2010), "qof_achievement"),
        (lambda d: L.write_qof_achievement(d, 2013), "qof_achievement"),
        (lambda d: L.write_qof_achievement(d, 2018, "2018"), "qof_achievement"),
        (lambda d: L.write_qof_achievement(d, 2021, "2021"), "qof_achievement"),
        (lambda d: L.write_qof_achievement(d, 2022, "2022"), "qof_achievement"),
        (lambda d: L.write_prevalence(d, 2017), "qof_prevalence"),
        (lambda d: L.write_prevalence(d, 2020), "qof_prevalence"),
        (lambda d: L.write_gpps(d, 2019), "gpps_practice"),
        (lambda d: L.write_epd(d, 2019, 9), "prescribing"),
        (lambda d: L.write_quin_age(d, 2019, 4), "gp_reg_patients"),
        (lambda d: L.write_quin_age(d, 2017, 9, layout="2017"), "gp_reg_patients"),
        (lambda d: L.write_payments(d, 2019), "nhs_payments"),
        (lambda d: L.write_payments(d, 2017, excel_dates=True), "nhs_payments"),
        (lambda d: L.write_hospital(d, 2019), "hospital_activity"),
    ],
)
def test_layout_is_detected_and_loads(tmp_path: Path, store, writer, fmt: str) -> None:
    path = writer(tmp_path)
    _f, det = detect(path)
    assert det.format == fmt
    rep = ingest(store, [path])
    out = rep.files[0]
    assert out.status == "loaded"
    assert out.rows_rejected == 0
    assert out.rows_loaded > 0


def test_qof_achievement_values(tmp_path: Path, store) -> None:
    for fy, mx in ((2010, 1000), (2013, 900), (2016, 559), (2019, 559), (2021, 635)):
        p = L.write_qof_achievement(tmp_path, fy)
        ingest(store, [p])
        row = store.con.execute(
            "SELECT DISTINCT max_points FROM measure_value WHERE measure_id = 'total' AND period = ?",
            [f"FY{fy}/{(fy + 1) % 100:02d}"],
        ).fetchall()
        assert row == [(float(mx),)]
    pop = store.df("SELECT * FROM practice_population WHERE period = 'FY2019/20'")
    assert set(pop["sex"]) == {"all"} and set(pop["age_band"]) == {"all"}
    assert len(pop) == len(L.PRACTICES)
    pcn = store.df("SELECT * FROM practice_attribute WHERE attribute = 'pcn_code' AND period = 'FY2019/20'")
    assert set(pcn["value"]) == {c for c, _ in L.PCNS}


def test_prevalence_measures_and_list_types(tmp_path: Path, store) -> None:
    ingest(store, [L.write_prevalence(tmp_path, 2019)])
    mv = store.df("SELECT * FROM measure_value")
    assert set(mv["measure_id"]) == {"prevalence:AF", "prevalence:AST", "prevalence:DM", "prevalence:HYP"}
    assert (mv["numerator"] <= mv["denominator"]).all()
    bands = set(store.df("SELECT age_band FROM practice_population")["age_band"])
    assert bands == {"all", "17+"}


def test_gpps_measures(tmp_path: Path, store) -> None:
    rep = ingest(store, [L.write_gpps(tmp_path, 2019)])
    assert rep.files[0].periods == ("FY2018/19",)
    mv = store.df("SELECT * FROM measure_value WHERE source = 'gpps'")
    assert {"Q28_12", "Q3_12", "Q9_12", "Q60_12", "Q74_12", "response"} <= set(mv["measure_id"])
    # the suppressed practice (second row) has null values, counted, never zero
    sup = mv[(mv["practice_code"] == L.PRACTICES[1]) & (mv["measure_id"] == "Q28_12")]
    assert sup["value"].isna().all()
    assert rep.files[0].nulls_suppressed == sum(len(a) for a in L.GPPS_QUESTIONS.values())


def test_epd_rows_and_period(tmp_path: Path, store) -> None:
    rep = ingest(store, [L.write_epd(tmp_path, 2019, 9)])
    assert rep.files[0].periods == ("2019-09",)
    df = store.df("SELECT * FROM prescribing")
    assert len(df) == len(L.PRACTICES) * 8
    assert set(df["period"]) == {"2019-09"}
    assert df["adq_usage"].notna().all()


def test_quin_age_population(tmp_path: Path, store) -> None:
    ingest(store, [L.write_quin_age(tmp_path, 2019, 4)])
    pop = store.df("SELECT * FROM practice_population")
    assert set(pop["period"]) == {"2019-04"}
    tot = pop[pop["sex"] == "all"].set_index("practice_code")["patients"]
    parts = pop[pop["sex"] != "all"].groupby("practice_code")["patients"].sum()
    assert (tot.sort_index() == parts.sort_index()).all()


def test_payments_records(tmp_path: Path, store) -> None:
    ingest(store, [L.write_payments(tmp_path, 2017, excel_dates=True)])
    rec = store.df("SELECT * FROM practice_record")
    assert str(rec["open_date"].iloc[0])[:10] == "1999-04-01"  # Excel serial 36251
    assert set(rec["contract_type"]) == {"GMS", "PMS", "APMS"}
    assert rec["dispensing"].sum() == 1
    attrs = set(store.df("SELECT DISTINCT attribute FROM practice_attribute")["attribute"])
    assert {"registered_patients", "weighted_patients", "total_qof_payments", "pcn_code"} <= attrs


def test_hospital_suppressed_events_are_null(tmp_path: Path, store) -> None:
    path = L.write_hospital(tmp_path, 2019)
    rep = ingest(store, [path])
    ha = store.df("SELECT * FROM hospital_activity")
    assert set(ha["measure"]) == {m.lower() for m in L.HOSPITAL_MEASURES}
    suppressed_cells = sum(line.split(",").count("*") for line in path.read_text().splitlines())
    assert rep.files[0].nulls_suppressed == int(ha["events"].isna().sum()) == suppressed_cells > 0
    # the file hides counts of 1 and 2, so none is visible; zeros are published as zeros
    assert not ha["events"].isin([1, 2]).any()


def test_epcn_membership_with_dates(tmp_path: Path, store) -> None:
    ingest(store, [L.write_epcn(tmp_path)])
    groups = store.df("SELECT * FROM group_record")
    assert set(groups["group_id"]) == {c for c, _ in L.PCNS}
    assert set(groups["kind"]) == {"pcn"}
    mem = store.df("SELECT * FROM membership ORDER BY practice_code, start_date")
    moved = mem[mem["practice_code"] == L.PRACTICES[0]]
    assert len(moved) == 2 and moved["end_date"].notna().sum() == 1


def test_epraccur_records(tmp_path: Path, store) -> None:
    ingest(store, [L.write_epraccur(tmp_path)])
    rec = store.df("SELECT * FROM practice_record ORDER BY practice_code")
    assert len(rec) == len(L.PRACTICES)
    assert set(rec["status"]) == {"active", "closed"}
    assert set(rec["setting"]) == {"4"}


def test_all_layouts_in_one_ingest(tmp_path: Path, store) -> None:
    paths = L.write_all_synthetic_layouts(tmp_path)
    rep = ingest(store, [tmp_path])
    assert len(rep.files) == len(paths)
    assert all(f.rows_rejected == 0 for f in rep.files)
    summary = store.summary()
    assert {r["table"] for r in summary} >= {"measure_value", "prescribing", "hospital_activity", "membership"}
