"""Fingertips ``all_data`` CSV in every variant the real extracts show, built from their documented facts.

The layouts follow ``../shared/data/real/fingertips_practice_extracts/PROVENANCE.md`` (never a copy of the
files): 27 columns, with column 23 either "Column not used" or the comparison with the parent area type
("Compared to PCNs (v. 27/10/23) value or percentiles"); a 26-column variant without that column; area
type ``GP`` (older extracts) or ``GPs``; a practice row suppressed for disclosure control (A82620,
denominator 21: no value, limits or count, a value note, "Not compared"); rows appended without an
indicator id (only name, area, period, value, count and denominator); and rates whose count exceeds the
denominator (A&E attendances aged 0-4 per 1,000). Practice codes are real-looking; numbers are invented.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gpscale.indicators.compute import compute_indicators
from gpscale.sources import validate as v
from gpscale.sources.registry import detect
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest

HEAD = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
    "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
    "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Column not used", "Time period Sortable", "New data",
    "Compared to goal", "Time period range",
]  # fmt: skip
PARENT_COMPARISON = "Compared to PCNs (v. 27/10/23) value or percentiles"
AE = ("93930", "A&E attendances (0 to 4 years)")
SUPPRESSED_NOTE = "Value suppressed for disclosure control reasons"
#: practice, count, denominator (counts above denominators: a rate per 1,000, as 93930 publishes)
PRACTICE_ROWS = (("A81001", 215, 214), ("A81002", 575, 655), ("B82007", 250, 316), ("C85003", 920, 779))


def _row(
    area: str, area_type: str, count: int | None, den: int, *, note: str = "", parent: str = "", ind: tuple = AE
) -> dict:
    value = "" if count is None else f"{(1000 if ind == AE else 100) * count / den:.5f}"
    return {
        "Indicator ID": ind[0], "Indicator Name": ind[1], "Parent Code": parent, "Parent Name": "",
        "Area Code": area, "Area Name": f"Area {area}", "Area Type": area_type, "Sex": "Persons", "Age": "0-4 yrs",
        "Time period": "2021/22", "Value": value, "Count": "" if count is None else str(count),
        "Denominator": str(den), "Value note": note,
        "Compared to England value or percentiles": "Not compared" if count is None else "Similar",
        "Time period Sortable": "20210000", "Time period range": "1y",
    }  # fmt: skip


def write_extract(
    d: Path,
    *,
    area_type: str = "GPs",
    column_23: str | None = "Column not used",
    suppressed: bool = False,
    appended: int = 0,
    appended_name: str = AE[1],
    name: str = "fingertips_93930.csv",
    indicator: tuple[str, str] = AE,
    practice_rows: tuple[tuple[str, int, int], ...] = PRACTICE_ROWS,
) -> Path:
    """An extract (93930 unless told): England, a PCN and practice rows, in the variant asked for."""
    header = list(HEAD)
    if column_23 is None:
        header.remove("Column not used")  # the 26-column variant
    else:
        header[header.index("Column not used")] = column_23
    rows = [_row("E92000001", "England", 1302555, 1565772, ind=indicator)]
    rows.append(_row("U00070", "PCNs (v. 27/10/23)", 1025, 1897, parent="E92000001", ind=indicator))
    rows += [_row(c, area_type, k, n, parent="U00070", ind=indicator) for c, k, n in practice_rows]
    if suppressed:
        rows.append(_row("A82620", area_type, None, 21, note=SUPPRESSED_NOTE, parent="U00070", ind=indicator))
    for i in range(appended):  # appended by hand: no id, sex, age, limits or comparison
        extra = _row(f"Y0{2600 + i}", area_type, 100 + i, 150, parent="U00070", ind=indicator)
        extra.update(
            {"Indicator ID": "", "Indicator Name": appended_name, "Sex": "", "Age": "", "Time period": "2022/23"}
        )
        extra.update({"Compared to England value or percentiles": "", "Time period Sortable": ""})
        rows.append(extra)
    path = d / name
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\r\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture()
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def _practice_rows(store) -> list[tuple]:
    return store.con.execute(
        "SELECT measure_id, practice_code, period, value, numerator, denominator FROM measure_value "
        "WHERE source = 'fingertips' ORDER BY practice_code, period"
    ).fetchall()


@pytest.mark.parametrize(
    ("area_type", "column_23"),
    [
        ("GPs", "Column not used"),
        ("GP", "Column not used"),
        ("GPs", PARENT_COMPARISON),
        ("GP", PARENT_COMPARISON),
        ("GPs", None),
        ("GP", None),
    ],
    ids=["27-gps", "27-gp", "27-parent-gps", "27-parent-gp", "26-gps", "26-gp"],
)
def test_every_variant_loads_the_same_practice_rows(tmp_path: Path, store, area_type: str, column_23) -> None:
    path = write_extract(tmp_path, area_type=area_type, column_23=column_23)
    assert detect(path)[1].format == "fingertips"
    out = ingest(store, [path]).files[0]
    assert out.status == "loaded"
    assert out.rows_rejected == 0
    rows = _practice_rows(store)
    # practice rows only (England and the PCN are skipped), each count kept although above its denominator
    assert [(r[1], r[4], r[5]) for r in rows] == [(c, float(k), float(n)) for c, k, n in PRACTICE_ROWS]
    assert {(r[0], r[2]) for r in rows} == {("93930", "FY2021/22")}
    assert rows[0][3] == pytest.approx(1004.67290)
    assert "PCNs (v. 27/10/23) 1" in out.message and "England 1" in out.message


def test_suppressed_row_is_a_counted_null_never_a_zero(tmp_path: Path, store) -> None:
    out = ingest(store, [write_extract(tmp_path, suppressed=True)]).files[0]
    assert out.nulls_suppressed == 1
    row = store.con.execute(
        "SELECT value, numerator, denominator FROM measure_value WHERE practice_code = 'A82620'"
    ).fetchone()
    assert row == (None, None, 21.0)


def test_rows_without_an_indicator_id_take_the_id_their_name_carries(tmp_path: Path, store) -> None:
    out = ingest(store, [write_extract(tmp_path, appended=3)]).files[0]
    assert out.rows_rejected == 0
    assert "3 rows without an Indicator ID" in out.message
    ids = store.con.execute(
        "SELECT DISTINCT measure_id FROM measure_value WHERE period = 'FY2022/23' AND source = 'fingertips'"
    ).fetchall()
    assert ids == [("93930",)]
    assert store.con.execute("SELECT count(*) FROM measure_value WHERE measure_id = ''").fetchone() == (0,)


def test_a_row_without_an_id_whose_name_is_unknown_is_quarantined(tmp_path: Path, store) -> None:
    report = ingest(store, [write_extract(tmp_path, appended=1, appended_name="Another indicator")])
    out = report.files[0]
    assert out.rows_rejected == 1
    [(_path, reject)] = report.rejects
    assert reject.rule == v.INVALID_VALUE
    assert "Another indicator" in reject.detail and "Indicator ID" in reject.detail
    assert store.con.execute("SELECT count(*) FROM measure_value WHERE measure_id = ''").fetchone() == (0,)


SMOKING = ("91547", "Smoking prevalence in adults (15+) - current smokers (QOF)")
SMOKING_ROWS = (("A81001", 378, 2088), ("A81002", 864, 3315), ("B82007", 120, 1500))

#: The documented example of a user indicator built from Fingertips counts (docs/real-data.md).
USER_DEFINITION = Path(__file__).resolve().parents[3] / "docs" / "examples" / "fingertips_smoking.yaml"


def test_user_indicator_from_a_fingertips_numerator_and_denominator(tmp_path: Path, store) -> None:
    data = tmp_path / "data"
    data.mkdir()
    extract = write_extract(
        data, suppressed=True, indicator=SMOKING, practice_rows=SMOKING_ROWS, name="fingertips_91547.csv"
    )
    ingest(store, [extract])
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "fingertips_smoking.yaml").write_text(USER_DEFINITION.read_text(encoding="utf-8"), encoding="utf-8")
    values = compute_indicators(store, ["fingertips_smoking"], definitions_dir=defs)
    got = values[values["numerator"].notna()].set_index("practice_code")
    assert sorted(got.index) == sorted(c for c, _k, _n in SMOKING_ROWS)  # the suppressed row: no value, no zero
    for code, count, den in SMOKING_ROWS:
        assert (got.loc[code, "numerator"], got.loc[code, "denominator"]) == (count, den)
        assert got.loc[code, "period"] == "FY2021/22"
