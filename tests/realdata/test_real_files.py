"""Every real published file in ../shared/data/real ingests, and per-file facts from PROVENANCE.md hold.

Skipped (with the reason) where the shared data folder is absent, so a clone elsewhere still passes.
Set GPSCALE_SHARED_DATA to the ``shared/data`` folder to point elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.ingest import expand_paths, ingest
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata


REAL = require_shared("real")

#: Files that state their period nowhere (content or name), with the period a user states for them with
#: ``gpscale ingest --period`` (see docs/formats/qof.md): the 2013/14 prevalencebyprac layout.
UNDATED = {"prevalencebyprac_fixture.csv": "FY2013/14"}

#: Rows quarantined in real publications, each explained: (file, row, rule, what the publication shows).
EXPECTED_REJECTS = {
    ("QOF_2021-22.csv", 3337, v.NUMERATOR_ABOVE_DENOMINATOR),  # D82088 UEA: 594.44 points of 591 available
    ("PREVALENCE_1819_v2.csv", 144263, v.NUMERATOR_ABOVE_DENOMINATOR),  # Y05750 LD register 141 > list 136
    ("PREVALENCE_2021_v2.csv", 137710, v.NUMERATOR_ABOVE_DENOMINATOR),  # Y05750 LD register 137 > list 132
    ("PREVALENCE_1920.csv", 140924, v.NUMERATOR_ABOVE_DENOMINATOR),  # Y05750 LD register 139 > list 136
    # Y03051 in 2019/20: list sizes of 106-138 against registers of 125-442 (AST, DEP, DM, HYP, OB)
    *(("PREVALENCE_1920.csv", r, v.NUMERATOR_ABOVE_DENOMINATOR) for r in (139631, 139638, 139639, 139642, 139645)),
    # asthma workbook 2014/15: AST003 numerator above denominator as published (Excel rows)
    ("qof-1415-prac-asthma.xlsx", 7180, v.NUMERATOR_ABOVE_DENOMINATOR),
    ("qof-1415-prac-asthma.xlsx", 7514, v.NUMERATOR_ABOVE_DENOMINATOR),
    # EPD 2026-01 excerpt: the UNIDENTIFIED = Y row carries the non-practice code 02X998
    ("epd_snomed_202601_excerpt_franjfernandez2.csv", 4, v.INVALID_ODS_CODE),
    # House of Commons Library list sizes: the 11 practices it "filled from 2018/19" carry estimated,
    # fractional list sizes (E87037: 7323.608761 aged 16+), which are not counts of patients
    *(("qof1920_practice_list_by_age_group_hocl.csv", r, v.NON_WHOLE_COUNT)
      for r in (2236, 2728, 2774, 3111, 3178, 3337, 5636, 5960, 6002, 6492, 6717)),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every real file in the store: the dated ones in one ingest, each undated one with its --period."""
    tmp = tmp_path_factory.mktemp("real")
    files = [p for p in expand_paths([REAL]) if p.name not in UNDATED]
    store = open_store(tmp / "real.duckdb")
    report = ingest(store, files)
    for p in expand_paths([REAL]):
        if p.name in UNDATED:
            more = ingest(store, [p], period=UNDATED[p.name])
            report.files += more.files
            report.rejects += more.rejects
    yield store, report
    store.close()


def outcome(report, name: str):
    return next(f for f in report.files if f.path.name == name)


def q(store, sql: str, params=None):
    return store.con.execute(sql, params or []).fetchall()


def one(store, sql: str, params=None):
    return q(store, sql, params)[0][0]


def test_every_real_data_file_loads(loaded) -> None:
    _store, report = loaded
    names = {f.path.name for f in report.files}
    expected = {p.name for p in expand_paths([REAL])}
    assert names == expected
    assert all(f.status == "loaded" and f.rows_loaded > 0 for f in report.files)


def test_only_explained_rejects(loaded) -> None:
    _, report = loaded
    got = {(p.name, r.row_number, r.rule) for p, r in report.rejects}
    assert got == EXPECTED_REJECTS


def test_undated_prevalencebyprac_needs_its_year_stated(tmp_path: Path) -> None:
    store = open_store(":memory:")
    src = REAL / "prescribing_openprescribing_fixtures" / "prevalencebyprac_fixture.csv"
    with pytest.raises(SourceError) as ei:
        ingest(store, [src])
    assert ei.value.rule == v.PERIOD_UNKNOWN and "prevalencebyprac_fixture.csv" in str(ei.value)
    assert "--period FY2019/20 prevalencebyprac_fixture.csv" in str(ei.value)  # says how to state it


def test_undated_prevalencebyprac_loads_with_the_period_stated(loaded) -> None:
    store, report = loaded
    f = outcome(report, "prevalencebyprac_fixture.csv")
    assert f.status == "loaded" and f.periods == ("FY2013/14",)
    pub = one(store, "SELECT publication FROM ingest_log WHERE file_name = 'prevalencebyprac_fixture.csv'")
    assert pub == "qof_prevalence:FY2013/14"


def test_stated_period_never_overrides_a_files_own(tmp_path: Path) -> None:
    store = open_store(":memory:")
    with pytest.raises(SourceError) as ei:
        ingest(store, [REAL / "qof_prevalence" / "PREVALENCE_1920.csv"], period="FY2013/14")
    assert ei.value.rule == v.PERIOD_INCONSISTENT and "FY2019/20" in str(ei.value)


def test_qof_2019_20_three_files_share_practices_and_list_sizes(loaded) -> None:
    store, _ = loaded
    sets = {}
    for fmt in ("qof_achievement", "qof_prevalence", "qof_geographies"):
        sets[fmt] = {
            r[0]
            for r in q(
                store,
                """SELECT DISTINCT practice_code FROM (
                     SELECT practice_code, ingest_id FROM practice_record UNION ALL
                     SELECT practice_code, ingest_id FROM measure_value WHERE period = 'FY2019/20')
                   JOIN ingest_log USING (ingest_id) WHERE format = ? AND 'FY2019/20' = ANY(periods)""",
                [fmt],
            )
        }
    assert len(sets["qof_achievement"]) == 6720
    assert sets["qof_achievement"] == sets["qof_prevalence"] == sets["qof_geographies"]
    lists = q(
        store,
        """SELECT l.format, p.practice_code, p.patients FROM practice_population p JOIN ingest_log l USING (ingest_id)
           WHERE p.period = 'FY2019/20' AND p.age_band = 'all' AND l.format IN ('qof_achievement', 'qof_prevalence')""",
    )
    by = {}
    for fmt, code, n in lists:
        by.setdefault(fmt, {})[code] = n
    assert by["qof_achievement"] == by["qof_prevalence"]
    total = sum(by["qof_achievement"].values())
    assert total == 60_407_685  # "60.4 million"


def test_qof_2017_18_prevalence_and_achievement_share_7100_practices(loaded) -> None:
    store, _ = loaded
    codes = [
        {r[0] for r in q(store, f"SELECT DISTINCT practice_code FROM measure_value WHERE period = 'FY2017/18' AND {w}")}
        for w in ("measure_id = 'total'", "measure_id LIKE 'prevalence:%'")
    ]
    assert len(codes[0]) == 7100 and codes[0] == codes[1]


@pytest.mark.parametrize(
    ("fy", "practices", "list_m", "hyp_m"),
    [
        ("FY2016/17", 7392, 58.0, 8.03),
        ("FY2017/18", 7100, 58.4, 8.14),
        ("FY2018/19", 6873, 59.4, 8.29),
        ("FY2019/20", 6720, 60.4, 8.51),
        ("FY2020/21", 6571, 60.7, 8.46),
    ],
)
def test_prevalence_national_totals(loaded, fy, practices, list_m, hyp_m) -> None:
    store, _ = loaded
    n, lst = q(
        store,
        """SELECT count(DISTINCT practice_code), sum(patients) FROM practice_population p
           JOIN ingest_log l USING (ingest_id) WHERE l.format = 'qof_prevalence' AND period = ? AND age_band = 'all'""",
        [fy],
    )[0]
    assert n == practices
    assert round(lst / 1e6, 1) == list_m
    hyp = one(
        store, "SELECT sum(numerator) FROM measure_value WHERE measure_id = 'prevalence:HYP' AND period = ?", [fy]
    )
    assert round(hyp / 1e6, 2) == hyp_m


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("QOF_2017-18.csv", 7100),
        ("QOF_2018-19.csv", 6873),
        ("QOF_2019-20.csv", 6720),
        ("QOF_2021-22.csv", 6470),
        ("PREVALENCE_1617.csv", 155232),
        ("PREVALENCE_1718.csv", 149100),
        ("PREVALENCE_1819_v2.csv", 144333),
        ("PREVALENCE_1920.csv", 141120),
        ("PREVALENCE_2021_v2.csv", 137991),
        ("epraccur_2018-08.csv", 13809),
        ("epraccur_2019-12.csv", 14357),
        ("epraccur_2022-02.csv", 14963),
        ("epraccur_2023-02.csv", 15536),
        ("nhspaymentsgp-17-18-csv.csv", 7543),
        ("nhspaymentsgp-18-19-csv.csv", 7279),
        ("nhspaymentsgp-19-20-prac-csv.csv", 7001),
        ("nhspaymentsgp-20-21-prac-csv.csv", 6808),
        ("nhspaymentsgp-21-22-prac-csv-v2.csv", 6758),
        ("ORGANISATION_REFERENCE_1617.csv", 7392),
        ("ORGANISATION_REFERENCE_1718.csv", 7100),
        ("ORGANISATION_REFERENCE_1819_v2.csv", 6873),
        ("ORGANISATION_REFERENCE_1920.csv", 6720),
        ("ORGANISATION_REFERENCE_2021.csv", 6571),
        ("MAPPING_NHS_GEOGRAPHIES_1920.csv", 6720),
        ("MAPPING_NHS_GEOGRAPHIES_2021.csv", 6571),
        ("MAPPING_NHS_GEOGRAPHIES_2122_from_parquet.csv", 6470),
        ("MAPPING_NHS_GEOGRAPHIES_2223_from_parquet.csv", 6378),
        ("gp-reg-pat-prac-map_2020-09.csv", 6708),
        ("gp-reg-pat-prac-map_2022-01.csv", 6527),
        ("gp-reg-pat-prac-all_2021-01.csv", 6658),
        ("epd_201709.csv", 10027),
        ("epd_201710.csv", 10223),
        ("EPD_201601_sample.csv", 11),
        ("hscic_prescribing_sample_201410.csv", 51),
        ("gp-reg-pat-prac-quin-age_201709.csv", 172),
        ("gp-reg-pat-prac-quin-age_201710.csv", 172),
        ("fingertips_93553_IMD2019_practice.csv", 6547),
        ("practice_imd_blackwellrd.csv", 6437),
        ("pcn_imd_blackwellrd.csv", 1265),
        ("qof1920_practice_list_by_age_group_hocl.csv", 6730),
        ("qof-1415-prac-asthma.xlsx", 7779),
        ("LSOA11_CCG20_LAD20_lookup.csv", 32844),
        ("LSOA_2011_to_LSOA_2021_Lookup_E_W.csv", 35796),
        ("lsoa_geog_lookup_imd2019_deciles_hocl.csv", 34753),
        ("File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx", 32844),
        ("PRACTICE_VALIDATION_OUTCOMES_2021.csv", 209),
        ("MAPPING_PCAS_EXCL_TO_INDICATOR_2021_v2.csv", 362),
        ("INDICATOR_MAPPINGS_1819_v2.csv", 77),
        ("MAPPING_INDICATORS_1920_from_parquet.csv", 68),
        ("MAPPING_INDICATORS_2324_from_parquet.csv", 76),
    ],
)
def test_rows_in_match_provenance(loaded, name: str, rows: int) -> None:
    _, report = loaded
    assert outcome(report, name).rows_in == rows


@pytest.mark.parametrize(
    ("name", "pcns", "partner_rows", "practices"),
    [
        ("ePCN_2019-12.xlsx", 1250, 6757, 6757),
        ("ePCN_2022-02-16.xlsx", 1303, 7232, 6798),
        ("ePCN_2022-05-11.xlsx", 1318, 7359, 6803),
    ],
)
def test_epcn_counts(loaded, name, pcns, partner_rows, practices) -> None:
    store, _ = loaded
    g = one(store, "SELECT count(*) FROM group_record JOIN ingest_log USING (ingest_id) WHERE file_name = ?", [name])
    m, p = q(
        store,
        "SELECT count(*), count(DISTINCT practice_code) FROM membership JOIN ingest_log USING (ingest_id) "
        "WHERE file_name = ?",
        [name],
    )[0]
    assert (g, m, p) == (pcns, partner_rows, practices)


def test_epcn_2022_keeps_ended_relationships(loaded) -> None:
    store, _ = loaded
    ended = one(
        store,
        "SELECT count(*) FROM membership JOIN ingest_log USING (ingest_id) "
        "WHERE file_name = 'ePCN_2022-02-16.xlsx' AND end_date IS NOT NULL",
    )
    assert ended >= 7232 - 6798


@pytest.mark.parametrize(
    ("name", "active_gp"),
    [
        ("epraccur_2018-08.csv", 7159),
        ("epraccur_2019-12.csv", 6830),
        ("epraccur_2022-02.csv", 6965),
        ("epraccur_2023-02.csv", 6859),
    ],
)
def test_epraccur_active_gp_practices(loaded, name, active_gp) -> None:
    store, _ = loaded
    n = one(
        store,
        "SELECT count(*) FROM practice_record JOIN ingest_log USING (ingest_id) "
        "WHERE file_name = ? AND practice_record.status = 'active' AND setting = '4'",
        [name],
    )
    assert n == active_gp


def test_registered_patients_january_2021(loaded) -> None:
    store, _ = loaded
    total = one(store, "SELECT sum(patients) FROM practice_population WHERE period = '2021-01' AND sex = 'all'")
    assert round(total / 1e6, 1) == 60.6


def test_payments_open_dates_excel_serial_and_text_agree(loaded) -> None:
    store, _ = loaded
    rows = q(
        store,
        """SELECT l.file_name, r.open_date FROM practice_record r JOIN ingest_log l USING (ingest_id)
           WHERE r.practice_code = 'A81001' AND l.format = 'nhs_payments' ORDER BY 1""",
    )
    dates = {str(d) for _, d in rows}
    # 2017/18 holds Excel serial 36251 (1999-04-01); from 2021/22 the practice's original 1974 date is shown
    assert "1999-04-01" in dates


def test_fingertips_imd_score(loaded) -> None:
    store, _ = loaded
    v93553 = one(store, "SELECT value FROM measure_value WHERE source = 'fingertips' AND practice_code = 'A81001'")
    assert round(v93553, 2) == 32.36
    n = one(store, "SELECT count(DISTINCT practice_code) FROM measure_value WHERE source = 'fingertips' "
                   "AND measure_id = '93553'")
    assert n == 6545


def test_star_pu_weights_match_the_shipped_copy(loaded) -> None:
    store, _ = loaded
    from gpscale.indicators import weights as wt

    stored = store.df("SELECT scheme, vintage, sex, age_band, weight FROM prescribing_weight")
    merged = stored.merge(wt.shipped_weights(), on=["scheme", "vintage", "sex", "age_band"])
    assert len(merged) == len(wt.shipped_weights())
    assert (merged["weight_x"] - merged["weight_y"]).abs().max() < 1e-12


def test_prevalencebyprac_2013_14_list_sizes_match_the_asthma_workbook(loaded) -> None:
    store, _ = loaded
    rows = q(
        store,
        """SELECT a.practice_code, a.patients, b.patients FROM practice_population a
           JOIN ingest_log la ON a.ingest_id = la.ingest_id AND la.file_name = 'prevalencebyprac_fixture.csv'
           JOIN practice_population b ON b.practice_code = a.practice_code AND b.period = 'FY2013/14'
           JOIN ingest_log lb ON b.ingest_id = lb.ingest_id AND lb.file_name = 'qof-1415-prac-asthma.xlsx'""",
    )
    assert rows and all(x == y for _, x, y in rows)


def test_store_summary_lists_every_file(loaded) -> None:
    store, report = loaded
    summary = store.summary()
    files = {r["file"] for r in summary}
    assert files == {f.path.name for f in report.files}
    qof = [r for r in summary if r["file"] == "QOF_2019-20.csv" and r["table"] == "measure_value"]
    assert qof and qof[0]["period"] == "FY2019/20" and qof[0]["practices"] == 6720


def test_reingesting_real_files_changes_nothing(loaded) -> None:
    store, _ = loaded
    before = one(store, "SELECT count(*) FROM measure_value")
    rep = ingest(store, [REAL / "qof_prevalence"])
    assert {f.status for f in rep.files} == {"unchanged"}
    assert one(store, "SELECT count(*) FROM measure_value") == before
