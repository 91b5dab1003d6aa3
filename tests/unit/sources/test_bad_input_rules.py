"""Each bad-input rule gives a clear error (whole file) or a named quarantine (row), naming file, row and rule.

See docs/adr/0002-reject-vs-quarantine.md for which rule does which.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.registry import detect
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.fixtures import layouts as L


@pytest.fixture()
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def rewrite(path: Path, edit) -> Path:
    """Apply ``edit(rows)`` to a CSV's rows (header first) and write it back."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def set_cell(rows: list[list[str]], row: int, header: str, value: str) -> list[list[str]]:
    rows[row][rows[0].index(header)] = value
    return rows


def table_counts(store) -> dict[str, int]:
    return {
        t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("measure_value", "practice_population", "practice_record", "ingest_log", "rejects")
    }


def test_unknown_format_lists_formats_tried_and_nearest(tmp_path: Path) -> None:
    p = tmp_path / "mystery.csv"
    p.write_text("PRACTICE_CODE,GROUPING,REGISTER_SIZE,LIST_KIND\nA81001,AF,10,TOTAL\n")
    with pytest.raises(SourceError) as ei:
        detect(p)
    msg = str(ei.value)
    assert ei.value.rule == v.UNKNOWN_FORMAT
    assert "mystery.csv" in msg and "tried" in msg and "qof_prevalence" in msg
    assert "nearest match: qof_prevalence" in msg


def test_known_layout_with_a_missing_column_names_the_column(tmp_path: Path) -> None:
    p = tmp_path / "PREVALENCE_1920.csv"
    p.write_text("PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE\nA81001,AF,10,TOTAL\n")
    with pytest.raises(SourceError) as ei:
        detect(p)
    assert ei.value.rule == v.MISSING_COLUMNS
    assert "qof_prevalence" in str(ei.value) and "list_size" in str(ei.value)


def test_missing_required_column_rejects_whole_file(tmp_path: Path, store) -> None:
    p = L.write_qof_achievement(tmp_path, 2019)
    # drop the achievement score column: still looks like QOF (sniff needs it), so rename list size instead
    rewrite(p, lambda rows: [[c for i, c in enumerate(r) if i != rows[0].index("List size")] for r in rows])
    before = table_counts(store)
    with pytest.raises(SourceError) as ei:
        ingest(store, [p])
    assert ei.value.rule in (v.MISSING_COLUMNS, v.UNKNOWN_FORMAT)
    assert "QOF_2019-20.csv" in str(ei.value)
    assert table_counts(store) == before


def test_missing_column_after_detection_names_column(tmp_path: Path, store) -> None:
    p = L.write_gpps(tmp_path, 2019)
    rewrite(p, lambda rows: [[c for i, c in enumerate(r) if i != 0] for r in rows])  # drop Practice_Code
    with pytest.raises(SourceError) as ei:
        ingest(store, [p])
    assert ei.value.rule in (v.MISSING_COLUMNS, v.UNKNOWN_FORMAT)


def test_non_numeric_count_is_quarantined_with_row_and_rule(tmp_path: Path, store) -> None:
    p = rewrite(L.write_prevalence(tmp_path, 2019), lambda rows: set_cell(rows, 3, "REGISTER", "lots"))
    rep = ingest(store, [p])
    assert rep.files[0].rows_rejected == 1
    (path, r) = rep.rejects[0]
    assert path.name == "PREVALENCE_1920.csv"
    assert r.rule == v.NON_NUMERIC_COUNT and r.row_number == 3 and "'lots'" in r.detail
    stored = store.df("SELECT * FROM rejects")
    assert list(stored["rule"]) == [v.NON_NUMERIC_COUNT]


def test_negative_count_is_quarantined(tmp_path: Path, store) -> None:
    p = rewrite(L.write_quin_age(tmp_path, 2019, 4), lambda rows: set_cell(rows, 5, "NUMBER_OF_PATIENTS", "-3"))
    rep = ingest(store, [p])
    assert [r.rule for _, r in rep.rejects] == [v.NEGATIVE_COUNT]
    assert rep.rejects[0][1].row_number == 5


def test_numerator_above_denominator_is_quarantined(tmp_path: Path, store) -> None:
    def edit(rows):
        return set_cell(rows, 2, "REGISTER", str(int(rows[2][rows[0].index("PATIENT_LIST_SIZE")]) + 1))

    rep = ingest(store, [rewrite(L.write_prevalence(tmp_path, 2018), edit)])
    assert [(r.row_number, r.rule) for _, r in rep.rejects] == [(2, v.NUMERATOR_ABOVE_DENOMINATOR)]
    assert "register above list size" in rep.rejects[0][1].detail


def test_qof_points_above_year_maximum_is_quarantined(tmp_path: Path, store) -> None:
    p = rewrite(
        L.write_qof_achievement(tmp_path, 2019), lambda rows: set_cell(rows, 1, "Achievement score (559 max)", "600")
    )
    rep = ingest(store, [p])
    assert [r.rule for _, r in rep.rejects] == [v.NUMERATOR_ABOVE_DENOMINATOR]


def test_duplicate_practice_period_key_rejects_whole_file(tmp_path: Path, store) -> None:
    p = rewrite(L.write_qof_achievement(tmp_path, 2019), lambda rows: [*rows, rows[1]])
    before = table_counts(store)
    with pytest.raises(SourceError) as ei:
        ingest(store, [p])
    e = ei.value
    assert e.rule == v.DUPLICATE_KEY
    assert e.where == f"lines 2, {len(L.PRACTICES) + 2}"  # the header is line 1
    assert "QOF_2019-20.csv" in str(e) and L.PRACTICES[0] in str(e)
    assert table_counts(store) == before


def test_invalid_ods_code_is_quarantined(tmp_path: Path, store) -> None:
    p = rewrite(L.write_payments(tmp_path, 2019), lambda rows: set_cell(rows, 2, "Practice Code", "81001A"))
    rep = ingest(store, [p])
    assert [(r.row_number, r.rule) for _, r in rep.rejects] == [(2, v.INVALID_ODS_CODE)]
    assert "'81001A'" in rep.rejects[0][1].detail


def test_impossible_date_is_quarantined(tmp_path: Path, store) -> None:
    def edit(rows):
        rows[2][10] = "20191345"  # open date, month 13
        return rows

    p = L.write_epraccur(tmp_path)
    with p.open(newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with p.open("w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    rep = ingest(store, [p])
    assert [(r.row_number, r.rule) for _, r in rep.rejects] == [(3, v.IMPOSSIBLE_DATE)]


def test_membership_ending_before_it_starts_is_impossible_date(tmp_path: Path, store) -> None:
    from openpyxl import load_workbook

    p = L.write_epcn(tmp_path)
    wb = load_workbook(p)
    ws = wb["PCN Core Partner Details"]
    ws.cell(row=3, column=10, value="20180101")  # ends before the 2019 start
    wb.save(p)
    rep = ingest(store, [p])
    (_path, r) = rep.rejects[0]
    assert r.rule == v.IMPOSSIBLE_DATE
    assert r.row_number == 3 and "sheet 'PCN Core Partner Details' row 3" in r.detail


def test_epd_bad_rows_are_quarantined_with_line_numbers(tmp_path: Path, store) -> None:
    p = L.write_epd(tmp_path, 2019, 9)

    def edit(rows):
        rows = set_cell(rows, 4, "ITEMS", "many")
        rows = set_cell(rows, 6, "PRACTICE_CODE", "XX")
        rows = set_cell(rows, 9, "ITEMS", "-2")
        return rows

    rep = ingest(store, [rewrite(p, edit)])
    got = sorted((r.rule, r.row_number) for _, r in rep.rejects)
    # line numbers for parse failures count the header line; data row numbers for the others
    assert (v.NON_NUMERIC_COUNT, 5) in got
    assert {g[0] for g in got} == {v.NON_NUMERIC_COUNT, v.INVALID_ODS_CODE, v.NEGATIVE_COUNT}
    assert store.con.execute("SELECT count(*) FROM prescribing").fetchone()[0] == len(L.PRACTICES) * 8 - 3


def test_too_many_bad_rows_reject_the_file(tmp_path: Path, store) -> None:
    p = L.write_hospital(tmp_path, 2019)
    rewrite(p, lambda rows: [rows[0]] + [[*r[:5], "n/a?", r[6]] for r in rows[1:]])
    with pytest.raises(SourceError) as ei:
        ingest(store, [p])
    assert ei.value.rule == v.TOO_MANY_REJECTS
    assert "hospital_activity_2019-20.csv" in str(ei.value)


def test_year_missing_from_file_name_is_a_clear_error(tmp_path: Path, store) -> None:
    p = L.write_prevalence(tmp_path, 2019)
    q = p.rename(tmp_path / "PREVALENCE.csv")
    with pytest.raises(SourceError) as ei:
        ingest(store, [q])
    assert ei.value.rule == v.PERIOD_UNKNOWN and "PREVALENCE_1920.csv" in str(ei.value)


def test_header_maximum_inconsistent_with_year(tmp_path: Path, store) -> None:
    p = L.write_qof_achievement(tmp_path, 2021)
    q = p.rename(tmp_path / "QOF_2019-20.csv")  # 635-point header named as 2019/20 (559)
    with pytest.raises(SourceError) as ei:
        ingest(store, [q])
    assert ei.value.rule == v.PERIOD_INCONSISTENT


def test_truncated_last_line_is_quarantined(tmp_path: Path, store) -> None:
    p = L.write_prevalence(tmp_path, 2019)
    data = p.read_bytes().rstrip(b"\r\n")
    p.write_bytes(data[: data.rfind(b",")])  # cut the last field
    rep = ingest(store, [p])
    assert [r.rule for _, r in rep.rejects] == [v.WRONG_FIELD_COUNT]


def test_error_in_second_file_leaves_store_unchanged(tmp_path: Path, store) -> None:
    good = L.write_prevalence(tmp_path / "a", 2019)
    bad = rewrite(L.write_qof_achievement(tmp_path / "b", 2019), lambda rows: [*rows, rows[1]])
    before = table_counts(store)
    with pytest.raises(SourceError):
        ingest(store, [good, bad])
    assert table_counts(store) == before
