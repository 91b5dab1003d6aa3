"""Header matching by meaning, period naming, suppression and the shared validation rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from gpscale.sources import validate as v
from gpscale.sources.common import read_text_csv
from gpscale.sources.headers import col, match, norm, words
from gpscale.sources.period_policy import fy_from_text, month_from_text
from gpscale.sources.qof import ACHIEVEMENT_COLS, header_max_points


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufeffPractice code", "practice code"),
        ("Partner\r\nOrganisation\r\nCode", "partner organisation code"),
        ("QOF points total/559 available (per cent)", "qof points total 559 available per cent"),
        ("Q28_12pct", "q28 12pct"),
        (None, ""),
    ],
)
def test_norm(raw, expected) -> None:
    assert norm(raw) == expected


def test_words_drop_footnote_digits_and_merge_synonyms() -> None:
    assert words("Average number of registered patients1") == ("average", "number", "of", "registered", "patients")
    assert words("Partner Organisation Code") == ("partner", "org", "code")
    assert words("Achievement score (max. 559)")[:3] == ("achievement", "score", "maximum")


def test_fewest_extra_words_wins() -> None:
    headers = ["CCG ODS code (practice parent)", "PCN ODS code", "Practice code", "Practice name"]
    found, missing = match(headers, [col("p", "practice code", none_of=("ccg",)), col("n", "practice name")])
    assert not missing and found["p"] == "Practice code" and found["n"] == "Practice name"


@pytest.mark.parametrize(
    "headers",
    [
        [
            "Practice code",
            "All ages",
            "Achievement score (max. 559)",
            "QOF points total/559 available (per cent)",
            "Max. QOF points available (total points for indicators where register exists)",
        ],
        [
            "Practice code",
            "List size",
            "Achievement score (559 max)",
            "QOF points total / 635 available (%)",
            "Total points for indicators where register exists. (Max QOF points available)",
        ],
        [
            "PRACTICE_CODE",
            "LIST_SIZE",
            "ACHIEVEMENT_SCORE_MAX_559",
            "QOF_POINTS_TOTAL_559_AVAILABLE_PCT",
            "MAX_QOF_POINTS_AVAILABLE",
        ],
    ],
)
def test_qof_achievement_header_variants_resolve(headers) -> None:
    _, missing = match(headers, ACHIEVEMENT_COLS)
    assert not missing


def test_qof_maximum_points_read_from_headers() -> None:
    assert header_max_points("Achievement score (max. 1000)") == 1000
    assert header_max_points("Achievement score (635 max)") == 635


@pytest.mark.parametrize(
    ("name", "fy"),
    [
        ("QOF_2019-20.csv", "FY2019/20"),
        ("PREVALENCE_1920.csv", "FY2019/20"),
        ("PREVALENCE_2021_v2.csv", "FY2020/21"),
        ("nhspaymentsgp-17-18-csv.csv", "FY2017/18"),
        ("MAPPING_NHS_GEOGRAPHIES_2122_from_parquet.csv", "FY2021/22"),
        ("qof-1415-prac-asthma.xlsx", "FY2014/15"),
        ("PREVALENCE.csv", None),
    ],
)
def test_financial_year_from_file_name(name, fy) -> None:
    assert fy_from_text(name) == fy


def test_month_from_text() -> None:
    assert month_from_text("EPD_201909.csv") == "2019-09"
    assert month_from_text("epraccur_2018-08.csv") == "2018-08"
    assert month_from_text("nothing.csv") is None


def test_suppressed_cells_are_null_and_counted_never_zero() -> None:
    df = pd.DataFrame({"n": ["12", "*", "-", "", "..", "x", "1,234", "n/a"]})
    check = v.Checker(Path("f.csv"), len(df))
    out = v.counts(df, "n", check)
    assert out.tolist()[0] == 12 and out.tolist()[6] == 1234
    assert out.isna().sum() == 6 and check.nulls == 6 and not check.rejects


def test_non_numeric_and_negative_counts() -> None:
    df = pd.DataFrame({"n": ["3", "three", "-1", "inf"]})
    check = v.Checker(Path("f.csv"), len(df))
    v.counts(df, "n", check, "REGISTER")
    got = sorted((r.row_number, r.rule) for r in check.rejects)
    assert got == [(2, v.NON_NUMERIC_COUNT), (3, v.NEGATIVE_COUNT), (4, v.NON_NUMERIC_COUNT)]
    first = next(r for r in check.rejects if r.row_number == 2)
    assert "'REGISTER'" in first.detail and "'three'" in first.detail


def test_ods_codes() -> None:
    s = pd.Series(["A81001", " y02625 ", "81001A", "ALD200", ""])
    check = v.Checker(Path("f.csv"), len(s))
    out = v.ods_codes(s, check)
    assert out.tolist()[:2] == ["A81001", "Y02625"]
    assert [r.row_number for r in check.rejects] == [3, 4, 5]
    check2 = v.Checker(Path("f.csv"), len(s))
    v.ods_codes(s, check2, allow_crown=True)
    assert [r.row_number for r in check2.rejects] == [3, 5]


def test_dates_and_excel_serials() -> None:
    s = pd.Series(["20190401", "36251", "", "20191345", "18000101", "01/04/1999"])
    check = v.Checker(Path("f.csv"), len(s))
    out = v.parse_dates(s, check, "open date", ("%Y%m%d", "%d/%m/%Y"), excel_serial=True)
    assert out.tolist()[:3] == [date(2019, 4, 1), date(1999, 4, 1), None]
    assert out.tolist()[5] == date(1999, 4, 1)
    assert [(r.row_number, r.rule) for r in check.rejects] == [(4, v.IMPOSSIBLE_DATE), (5, v.IMPOSSIBLE_DATE)]


def test_duplicate_keys_name_the_rows() -> None:
    df = pd.DataFrame({"p": ["A81001", "A81002", "A81001"]})
    with pytest.raises(v.SourceError) as ei:
        v.duplicates(df, ["p"], Path("f.csv"), "practice")
    assert ei.value.rule == v.DUPLICATE_KEY and ei.value.where == "rows 1, 3"


def test_too_many_rejects_reject_the_file() -> None:
    check = v.Checker(Path("f.csv"), 100)
    check.flag(pd.Series([True] * 30 + [False] * 70), v.NEGATIVE_COUNT, "bad")
    with pytest.raises(v.SourceError) as ei:
        check.finish()
    assert ei.value.rule == v.TOO_MANY_REJECTS


def test_read_text_csv_quoted_newlines_and_short_rows(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text('"A\nB",C\n1,2\n3\n')
    t = read_text_csv(p)
    assert t.headers == ["A\nB", "C"]
    assert t.wrong_width == [(1, 1)]
    q = tmp_path / "y.csv"
    q.write_text("A,B\n1,2\n3\n")
    assert read_text_csv(q).wrong_width == [(1, 1)]
