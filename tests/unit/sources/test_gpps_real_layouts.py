"""GP Patient Survey practice files in the real layouts, year by year, load to the same canonical measures.

No real GPPS file is available; the fixtures follow what ``../shared/data/README.md`` records of the real
files: shares as proportions 0-1 (``Q28_12pct`` = 0.836), ``-97`` (any negative) for a suppressed cell,
bases in ``QNbase`` columns, ``Practice_Code`` or ``Practice_code``, CCG columns to 2021 and ICS columns from
2022, 7 title lines before the header in 2010-2011, the published file names of each year, and from 2024
``ad_practicecode`` with question stems (``<stem>_<k>.pct``, ``<stem>.pcteval``, ``<stem>.counteval``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.gpps_questions import QUESTIONS, SurveyMeasure, break_in, codes_for
from gpscale.sources.registry import detect
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from gpscale.synth.layouts import GPPS_PREAMBLE, gpps_file_name

PRACTICES = ("A81001", "A81002", "B82007")
#: The true combined positive share of each canonical measure at each practice (the same every year, so
#: every layout must give the same canonical values).
TRUTH = {
    SurveyMeasure.OVERALL_EXPERIENCE: (0.836, 0.712, 0.905),
    SurveyMeasure.CONTACT_EXPERIENCE: (0.611, 0.498, 0.733),
    SurveyMeasure.PHONE_EASY: (0.702, 0.455, 0.815),
    SurveyMeasure.PREFERRED_GP: (0.391, 0.284, 0.512),
}
BASES = (112, 97, 130)
SUPPRESSED = (1, SurveyMeasure.PREFERRED_GP)  # practice index and measure published as -97


def _code(year: int, measure: SurveyMeasure) -> str:
    return next(a.code for a in QUESTIONS[measure] if a.first <= year <= a.last)


def _numbered(year: int, d: Path, name: str | None = None) -> Path:
    practice_col = "Practice_code" if 2014 <= year <= 2017 else "Practice_Code"
    area = "ICS" if year >= 2022 else "CCG"
    header = [practice_col, "Practice_Name", f"{area}_Code", f"{area}_Name", "distributed", "received", "resprate"]
    rows: list[list[object]] = [[c, f"PRACTICE {c}", "00L", f"NHS {area}", 400, 150, 0.375] for c in PRACTICES]
    for m, shares in TRUTH.items():
        q = _code(max(year, 2012), m).split("_")[0]  # 2010-2011: outside the map, numbered as 2012
        header += [f"{q}base", f"{q}_1pct", f"{q}_2pct", f"{q}_12pct"]
        for i, row in enumerate(rows):
            if (i, m) == SUPPRESSED:
                row += [BASES[i], -97, -97, -97]
            else:
                row += [BASES[i], round(shares[i] * 0.4, 4), round(shares[i] * 0.6, 4), shares[i]]
    path = d / (name or gpps_file_name(year))
    with path.open("w", newline="", encoding="utf-8") as fh:
        if year <= 2011:
            fh.write("\n".join(GPPS_PREAMBLE) + "\n")
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def _redesigned(year: int, d: Path) -> Path:
    header = ["ad_practicecode", "ad_practicename", "ad_icscode", "ad_icsname", "distributed", "received", "resprate"]
    rows: list[list[object]] = [[c, f"PRACTICE {c}", "QHM", "NHS ICB", 400, 150, 0.375] for c in PRACTICES]
    for m, shares in TRUTH.items():
        stem = _code(year, m)
        header += [f"{stem}_1.pct", f"{stem}_2.pct", f"{stem}.pcteval", f"{stem}.counteval"]
        for i, row in enumerate(rows):
            if (i, m) == SUPPRESSED:
                row += [-97, -97, -97, BASES[i]]
            else:
                row += [round(shares[i] * 0.4, 4), round(shares[i] * 0.6, 4), shares[i], BASES[i]]
    path = d / f"GPPS_{year}_Practice_data_(weighted)_(csv)_PUBLIC.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def write_year(year: int, d: Path) -> Path:
    return _redesigned(year, d) if year >= 2024 else _numbered(year, d)


@pytest.fixture()
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def _canonical(store, fy: str) -> dict[tuple[str, str], tuple]:
    rows = store.con.execute(
        "SELECT measure_id, practice_code, value, denominator FROM measure_value "
        "WHERE source = 'gpps' AND period = ? AND measure_id IN (SELECT unnest(?))",
        [fy, [m.value for m in SurveyMeasure]],
    ).fetchall()
    return {(m, p): (val, den) for m, p, val, den in rows}


@pytest.mark.parametrize("year", [2012, 2014, 2017, 2023, 2024])
def test_every_layout_loads_to_the_same_canonical_measures(tmp_path: Path, store, year: int) -> None:
    path = write_year(year, tmp_path)
    assert detect(path)[1].format == "gpps_practice"
    report = ingest(store, [path])
    out = report.files[0]
    fy = f"FY{year - 1}/{year % 100:02d}"
    assert out.status == "loaded" and out.rows_rejected == 0
    assert out.periods == (fy,)
    # 0-1 proportions stored as percentages; -97 a counted null; every layout gives the same values
    got = _canonical(store, fy)
    for m, shares in TRUTH.items():
        for i, code in enumerate(PRACTICES):
            value, base = got[(m.value, code)]
            assert base == BASES[i]
            if (i, m) == SUPPRESSED:
                assert value is None
            else:
                assert value == pytest.approx(100 * shares[i])
    assert out.nulls_suppressed == 3  # the three share columns of the suppressed question
    assert "canonical measures: " + ", ".join(sorted(m.value for m in SurveyMeasure)) in out.message


def test_title_lines_before_the_header_2010(tmp_path: Path, store) -> None:
    """2010-2011 files have title lines first; the survey's weighting changed after them, so they carry
    no canonical measure (not comparable), only the columns as published."""
    path = write_year(2010, tmp_path)
    assert detect(path)[1].variant == "numbered+preamble"
    out = ingest(store, [path]).files[0]
    assert out.status == "loaded" and out.rows_rejected == 0
    assert _canonical(store, "FY2009/10") == {}
    value = store.con.execute(
        "SELECT value FROM measure_value WHERE measure_id = 'Q28_12' AND practice_code = 'A81001'"
    ).fetchone()
    assert value == (pytest.approx(83.6),)
    assert "canonical measures: none" in out.message


def test_the_2024_redesign_is_a_data_break_said_at_ingest(tmp_path: Path, store) -> None:
    out = ingest(store, [write_year(2024, tmp_path)]).files[0]
    brk = break_in(2024)
    assert brk is not None and brk.period == "FY2023/24"
    assert "DATA BREAK from FY2023/24" in out.message
    assert "DATA BREAK" not in ingest(store, [write_year(2023, tmp_path)]).files[0].message
    # the stems are stored as published too (overallexp, overallexp_1), beside the canonical measure
    ids = {r[0] for r in store.con.execute("SELECT DISTINCT measure_id FROM measure_value").fetchall()}
    assert {"overallexp", "overallexp_1", "Q28_12", "overall_experience"} <= ids


def test_question_map_covers_every_year_2012_2024_once() -> None:
    for year in range(2012, 2026):
        assert set(codes_for(year).values()) == set(SurveyMeasure), year
    assert codes_for(2023)["Q28_12"] is SurveyMeasure.OVERALL_EXPERIENCE
    assert codes_for(2024)["overallexp"] is SurveyMeasure.OVERALL_EXPERIENCE


def test_winter_publication_of_the_twice_yearly_years_is_refused(tmp_path: Path, store) -> None:
    winter = _numbered(2014, tmp_path, name="January 2014 Practice level data weighted.csv")
    with pytest.raises(SourceError) as err:
        ingest(store, [winter])
    assert err.value.rule == v.PERIOD_INCONSISTENT
    assert "summer" in str(err.value)
    summer = _numbered(2014, tmp_path)  # July 2014: the year's pooled waves
    assert ingest(store, [summer]).files[0].status == "loaded"


def test_percent_layout_is_still_read_as_percentages(tmp_path: Path, store) -> None:
    """Shares above 1 mean the file publishes percentages (older generated files): stored as they are."""
    path = _numbered(2019, tmp_path)
    text = path.read_text(encoding="utf-8").replace(",0.836\r\n", ",83.6\r\n")
    path.write_text(text.replace("0.836", "83.6"), encoding="utf-8")
    ingest(store, [path])
    got = _canonical(store, "FY2018/19")
    assert got[("overall_experience", "A81001")][0] == pytest.approx(83.6)
