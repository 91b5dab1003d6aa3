"""Responses validation: each rule fires with the right file, row, column and message; parsing is typed."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gpscale.surveys.codebook import Codebook
from gpscale.surveys.errors import RULES, SurveyIssue, SurveyValidationError
from gpscale.surveys.responses import RESPONDENT, WEIGHT, load_responses, load_survey

CODEBOOK: dict[str, Any] = {
    "id": "t",
    "title": "Test survey",
    "id_column": "id",
    "weight_column": "w",
    "scales": {
        "sat": {
            "points": [{"code": c, "label": str(c)} for c in (1, 2, 3, 4, 5, 9)],
            "negative": [1, 2],
            "positive": [4, 5],
            "not_applicable": [9],
        }
    },
    "questions": [
        {
            "id": "type",
            "type": "single_choice",
            "required": True,
            "options": [{"code": "practice"}, {"code": "commissioner"}],
        },
        {
            "id": "collab",
            "type": "single_choice",
            "required": True,
            "asked_if": {"question": "type", "in": ["practice"]},
            "options": [{"code": "yes"}, {"code": "no"}],
        },
        {"id": "sat", "type": "likert", "scale": "sat"},
        {"id": "pop", "type": "numeric", "minimum": 1000, "maximum": 100000, "integer": True},
        {"id": "months", "type": "months_since", "asked_if": {"question": "collab", "in": ["yes"]}},
        {"id": "formed", "type": "date"},
        {"id": "done", "type": "date", "format": "%d/%m/%Y"},
        {
            "id": "reasons",
            "type": "multiple_choice",
            "format": "delimited",
            "options": [{"code": "money"}, {"code": "quality"}],
        },
        {
            "id": "gains",
            "type": "multiple_choice",
            "format": "columns",
            "options": [{"code": "peer"}, {"code": "hours"}],
        },
        {"id": "note", "type": "text"},
    ],
    "derived": [
        {
            "id": "band",
            "type": "band",
            "source": "months",
            "bands": [{"code": "0-12", "min": 0}, {"code": "13+", "min": 13}],
        },
        {"id": "age", "type": "months_since_date", "source": "formed", "reference_date": "2016-01-31"},
        {"id": "age2", "type": "months_since_date", "source": "formed", "reference_question": "done"},
    ],
}

HEADER = "id, w, type, collab, sat, pop, months, formed, done, reasons, gains_peer, gains_hours, note"
GOOD = """
    id, w,   type,         collab, sat, pop,   months, formed,     done,       reasons,       gains_peer, gains_hours
    R1, 1.5, practice,     yes,    4,   20000, 5,      2015-03-15, 14/01/2016, money;quality, 1,          0
    R2, 0.5, practice,     no,     9,   ,      ,       ,           ,           money,         0,          0
    R3, 1,   commissioner, ,       1,   ,      ,       ,           ,           ,              ,
"""


def write(tmp_path: Path, responses: str, codebook: dict[str, Any] | None = None) -> tuple[Path, Path]:
    cb = tmp_path / "cb.yaml"
    cb.write_text(yaml.safe_dump(codebook or CODEBOOK, sort_keys=False), encoding="utf-8")
    rs = tmp_path / "responses.csv"
    rs.write_text(textwrap.dedent(responses).strip() + "\n", encoding="utf-8")
    return cb, rs


def issues(tmp_path: Path, responses: str, codebook: dict[str, Any] | None = None) -> list[SurveyIssue]:
    with pytest.raises(SurveyValidationError) as info:
        load_survey(*write(tmp_path, responses, codebook))
    return info.value.issues


def only(found: list[SurveyIssue], rule: str) -> list[tuple[int | None, str | None]]:
    return [(i.row, i.column) for i in found if i.rule == rule]


def test_good_file_is_typed(tmp_path):
    data = load_survey(*write(tmp_path, GOOD))
    f = data.frame
    assert data.n_respondents == 3 and data.weighted
    # the optional free-text column is absent: a warning, not an error
    assert [(i.rule, i.column, i.severity) for i in data.warnings] == [("missing_column", "note", "warning")]
    assert f[RESPONDENT].tolist() == ["R1", "R2", "R3"]
    assert f[WEIGHT].tolist() == [1.5, 0.5, 1.0]
    assert f["type"].tolist() == ["practice", "practice", "commissioner"]
    assert f["sat"].tolist() == [4, 9, 1]
    assert f["pop"].iloc[0] == 20000 and np.isnan(f["pop"].iloc[1])
    # multiple choice: delimited and one-column-per-option give the same booleans; blank = unanswered
    assert f["reasons:money"].tolist() == [True, True, pd.NA]
    assert f["reasons:quality"].tolist() == [True, False, pd.NA]
    assert f["gains:peer"].tolist() == [True, False, pd.NA]
    assert data.answered("gains").tolist() == [True, True, False]
    # derived: maturity band, and months between dates (whole months, not rounded up)
    assert f["band"].tolist() == ["0-12", pd.NA, pd.NA]
    assert f["age"].iloc[0] == 10  # 15 Mar 2015 to 31 Jan 2016
    assert f["age2"].iloc[0] == 9  # to 14 Jan 2016: the 15th not yet reached
    assert f["formed"].iloc[0] == np.datetime64(dt.date(2015, 3, 15))


def test_every_rule_is_documented():
    assert {"answer_not_in_codebook", "missing_column", "duplicate_respondent_id"} <= set(RULES)


def test_answers_outside_the_codebook(tmp_path):
    found = issues(
        tmp_path,
        """
        id, w, type,     collab, sat, pop, months, formed, done, reasons,     gains_peer, gains_hours, note
        R1, 1, practise, yes,    6,   ,    ,       ,       ,     money;wealth, 2,          0,
    """,
    )
    assert set(only(found, "answer_not_in_codebook")) == {(2, "type"), (2, "sat"), (2, "reasons"), (2, "gains_peer")}
    msg = next(i.message for i in found if i.column == "type")
    assert "'practise'" in msg and "commissioner, practice" in msg


def test_missing_required_columns_and_optional_ones(tmp_path):
    found = issues(
        tmp_path,
        """
        id, type, sat
        R1, practice, 4
    """,
    )
    errors = [(i.column, i.severity) for i in found if i.rule == "missing_column"]
    assert ("w", "error") in errors  # the declared weight column
    assert ("collab", "error") in errors  # required question
    assert ("note", "warning") in errors  # optional: warned, treated as unanswered
    assert all(i.row is None for i in found if i.rule == "missing_column")


def test_missing_id_column(tmp_path):
    found = issues(tmp_path, "respondent, w, type\nR1, 1, practice\n")
    assert ("missing_column", "id") in [(i.rule, i.column) for i in found]


def test_duplicate_and_blank_respondent_ids(tmp_path):
    found = issues(
        tmp_path,
        f"""
        {HEADER}
        R1, 1, commissioner, , , , , , , , , ,
        R2, 1, commissioner, , , , , , , , , ,
        R1, 1, commissioner, , , , , , , , , ,
          , 1, commissioner, , , , , , , , , ,
    """,
    )
    assert only(found, "duplicate_respondent_id") == [(4, "id")]
    assert "already used in row 2" in next(i.message for i in found if i.rule == "duplicate_respondent_id")
    assert only(found, "missing_respondent_id") == [(5, "id")]


def test_numbers_dates_and_weights(tmp_path):
    found = issues(
        tmp_path,
        f"""
        {HEADER}
        R1, 0,   practice, yes, , 500,     3.5, 2015-02-30, 2016-01-14, , , ,
        R2, abc, practice, yes, , 1000.5,  -1,  ,           ,           , , ,
        R3, 1,   practice, yes, , lots,    ,    ,           ,           , , ,
    """,
    )
    assert only(found, "invalid_weight") == [(2, "w"), (3, "w")]
    assert only(found, "out_of_range") == [(2, "pop"), (3, "months")]
    assert only(found, "not_a_whole_number") == [(2, "months"), (3, "pop")]
    assert only(found, "not_a_number") == [(4, "pop")]
    assert only(found, "invalid_date") == [(2, "formed"), (2, "done")]


def test_routing(tmp_path):
    found = issues(
        tmp_path,
        f"""
        {HEADER}
        R1, 1, practice,     ,    , , ,  , , , , ,
        R2, 1, commissioner, yes, , , ,  , , , , ,
        R3, 1, practice,     no,  , , 4, , , , , ,
    """,
    )
    assert only(found, "required_answer_missing") == [(2, "collab")]
    assert only(found, "answered_but_not_asked") == [(3, "collab"), (4, "months")]


def test_file_level_problems(tmp_path):
    assert issues(tmp_path, "")[0].rule == "empty_file"
    dup = issues(tmp_path, "id, w, id\nR1, 1, R1\n")
    assert ("duplicate_column", 1, "id") in [(i.rule, i.row, i.column) for i in dup]
    ragged = issues(tmp_path, f"{HEADER}\nR1, 1, commissioner, , , , , , , , , , , extra\n")
    assert only(ragged, "malformed_row") == [(2, None)]
    with pytest.raises(SurveyValidationError) as info:
        load_survey(write(tmp_path, GOOD)[0], tmp_path / "missing.csv")
    assert info.value.issues[0].rule == "file_not_found"


def test_unknown_columns_warn_and_bom_is_ignored(tmp_path):
    cb, rs = write(tmp_path, GOOD.replace("gains_hours\n", "gains_hours, note, extra\n", 1))
    rs.write_bytes(b"\xef\xbb\xbf" + rs.read_bytes())
    data = load_survey(cb, rs)
    assert [(i.rule, i.severity) for i in data.warnings] == [("unknown_column", "warning")]
    assert "extra" in data.warnings[0].message


def test_issue_text_names_file_row_column_rule(tmp_path):
    found = issues(tmp_path, f"{HEADER}\nR1, 1, practise, , , , , , , , , ,\n")
    text = str(next(i for i in found if i.rule == "answer_not_in_codebook"))
    assert text.startswith(str(tmp_path / "responses.csv"))
    assert "row 2, column 'type': [answer_not_in_codebook]" in text
    exc = SurveyValidationError(found)
    assert "survey validation error" in str(exc)


def test_error_list_is_capped(tmp_path):
    rows = "\n".join(f"R{i}, 1, practise, , , , , , , , , ," for i in range(1200))
    found = issues(tmp_path, f"{HEADER}\n{rows}\n")
    assert sum(i.rule == "answer_not_in_codebook" for i in found) == 1000
    assert found[-1].rule == "too_many_errors"


def test_load_responses_accepts_a_codebook_object(tmp_path):
    cb_path, rs = write(tmp_path, GOOD)
    cb = Codebook.model_validate(yaml.safe_load(cb_path.read_text()))
    assert load_responses(cb, rs).n_respondents == 3


def test_band_below_the_first_band(tmp_path):
    doc = yaml.safe_load(yaml.safe_dump(CODEBOOK))
    doc["derived"][0]["bands"][0]["min"] = 1
    found = issues(tmp_path, f"{HEADER}\nR1, 1, practice, yes, , , 0, , , , , ,\n", doc)
    assert only(found, "outside_bands") == [(2, "months")]
