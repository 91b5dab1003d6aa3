"""Codebook validation: every malformed codebook fails with the file, where, and the rule broken."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpscale.surveys.codebook import BandDerived, Codebook, Likert, MultipleChoice, load_codebook
from gpscale.surveys.errors import SurveyValidationError
from gpscale.surveys.synth import standard_codebook

MINIMAL: dict[str, Any] = {
    "id": "mini",
    "title": "Minimal survey",
    "scales": {
        "agree": {
            "points": [{"code": 1, "label": "No"}, {"code": 2, "label": "Meh"}, {"code": 3, "label": "Yes"}],
            "negative": [1],
            "positive": [3],
        }
    },
    "questions": [
        {"id": "role", "type": "single_choice", "required": True, "options": [{"code": "gp"}, {"code": "nurse"}]},
        {"id": "happy", "type": "likert", "scale": "agree"},
        {"id": "months", "type": "months_since"},
    ],
}


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def errors_of(tmp_path: Path, doc: Any) -> list[str]:
    with pytest.raises(SurveyValidationError) as info:
        load_codebook(write(tmp_path, doc))
    return [f"{i.rule}|{i.column or ''}|{i.message}" for i in info.value.issues]


def changed(**edits: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    doc.update(edits)
    return doc


@pytest.mark.parametrize("name", ["collaboration", "staff"])
def test_standard_codebooks_are_valid(tmp_path, name):
    cb = load_codebook(write(tmp_path, standard_codebook(name)))
    assert cb.id == name
    assert cb.analysis.kind == name


def test_minimal_codebook_loads(tmp_path):
    cb = load_codebook(write(tmp_path, MINIMAL))
    assert isinstance(cb, Codebook)
    happy = cb.question("happy")
    assert isinstance(happy, Likert)
    assert cb.scale_of(happy).neutral == [2]
    assert cb.scale_of(happy).midpoint == 2.0
    assert cb.expected_columns()["role"] == ("role", True)
    assert cb.expected_columns()["months"] == ("months", False)


def test_missing_file(tmp_path):
    with pytest.raises(SurveyValidationError) as info:
        load_codebook(tmp_path / "nope.yaml")
    assert info.value.issues[0].rule == "file_not_found"


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(SurveyValidationError) as info:
        load_codebook(write(tmp_path, "id: x\ntitle: [unclosed\nquestions: []\n"))
    issue = info.value.issues[0]
    assert issue.rule == "yaml_syntax"
    assert issue.row is not None and issue.row_kind == "line"
    assert "line" in str(issue)


def test_not_a_mapping(tmp_path):
    assert errors_of(tmp_path, "- just\n- a list\n")[0].startswith("codebook_schema")


def test_unquoted_yes_is_explained(tmp_path):
    text = yaml.safe_dump(MINIMAL, sort_keys=False).replace("code: gp", "code: yes")
    (msg,) = errors_of(tmp_path, text)
    assert "quote" in msg and "questions[0]" in msg


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"title": None}, "title"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"id": "has space"}, "pattern"),
        ({"questions": []}, "at least 1"),
        ({"questions": [{"id": "q", "type": "telepathy"}]}, "does not match any of the expected tags"),
        ({"questions": [{"id": "q", "type": "likert", "scale": "nope"}]}, "scale 'nope' is not defined"),
        (
            {"questions": [{"id": "q", "type": "single_choice", "options": [{"code": "a"}, {"code": "a"}]}]},
            "option codes repeat",
        ),
        (
            {
                "questions": [
                    {"id": "q", "type": "single_choice", "options": [{"code": "a"}]},
                    {"id": "q", "type": "numeric"},
                ]
            },
            "used more than once",
        ),
        ({"questions": [{"id": "q", "type": "numeric", "minimum": 5, "maximum": 1}]}, "minimum above maximum"),
        (
            {"questions": [{"id": "a", "type": "numeric"}, {"id": "b", "type": "numeric", "column": "a"}]},
            "same responses column",
        ),
    ],
)
def test_schema_errors(tmp_path, edit, expected):
    messages = errors_of(tmp_path, changed(**edit))
    assert any(expected in m for m in messages), messages
    assert all(m.startswith("codebook_schema") for m in messages)


def test_routing_must_refer_to_a_single_choice_question_and_its_codes(tmp_path):
    doc = changed()
    doc["questions"].append({"id": "why", "type": "numeric", "asked_if": {"question": "months", "in": ["1"]}})
    assert any("must refer to a single_choice" in m for m in errors_of(tmp_path, doc))
    doc["questions"][-1]["asked_if"] = {"question": "role", "in": ["pharmacist"]}
    assert any("['pharmacist'] are not options of role" in m for m in errors_of(tmp_path, doc))
    doc["questions"][-1]["asked_if"] = {"question": "ghost", "in": ["x"]}
    assert any("'ghost' is not a question" in m for m in errors_of(tmp_path, doc))


def test_scale_errors(tmp_path):
    doc = changed()
    doc["scales"]["agree"]["positive"] = [3, 4]
    assert any("not scale points: [4]" in m for m in errors_of(tmp_path, doc))
    doc["scales"]["agree"]["positive"] = [1]
    assert any("must not share codes" in m for m in errors_of(tmp_path, doc))


def test_derived_band_errors(tmp_path):
    doc = changed(
        derived=[
            {
                "id": "band",
                "type": "band",
                "source": "months",
                "bands": [{"code": "a", "min": 10}, {"code": "b", "min": 5}],
            }
        ]
    )
    assert any("strictly increasing" in m for m in errors_of(tmp_path, doc))
    doc = changed(derived=[{"id": "band", "type": "band", "source": "role", "bands": [{"code": "a", "min": 0}]}])
    assert any("must be numeric or months" in m for m in errors_of(tmp_path, doc))
    doc = changed(derived=[{"id": "m", "type": "months_since_date", "source": "months"}])
    assert any("exactly one of reference_date" in m for m in errors_of(tmp_path, doc))


def test_domain_items_must_be_likert_on_one_scale(tmp_path):
    doc = changed(domains=[{"id": "d", "label": "D", "items": ["happy", "months"]}])
    assert any("is not a Likert question" in m for m in errors_of(tmp_path, doc))


def test_analysis_references_are_checked(tmp_path):
    doc = changed(analysis={"kind": "staff", "role": "months"})
    assert any("analysis.role: 'months' must be a single_choice question" in m for m in errors_of(tmp_path, doc))
    doc = changed(analysis={"kind": "staff", "role": "role", "site": "role"})
    assert any("needs analysis.group" in m for m in errors_of(tmp_path, doc))
    doc = changed(
        analysis={
            "kind": "collaboration",
            "respondent_type": "role",
            "collaborating": "role",
            "practice_code": "gp",
            "commissioner_code": "nurse",
            "collaborating_code": "maybe",
        }
    )
    assert any("'maybe' is not an option of role" in m for m in errors_of(tmp_path, doc))
    doc = changed(
        analysis={
            "kind": "collaboration",
            "respondent_type": "role",
            "collaborating": "role",
            "practice_code": "gp",
            "commissioner_code": "nurse",
            "collaborating_code": "gp",
            "min_share": 1.5,
        }
    )
    assert any("min_share" in m for m in errors_of(tmp_path, doc))


def test_loc_is_readable(tmp_path):
    doc = changed()
    doc["questions"][1] = {"id": "happy", "type": "likert"}
    (msg,) = errors_of(tmp_path, doc)
    assert "questions[1] (id: happy).scale" in msg


def test_multiple_choice_column_names_and_bands(tmp_path):
    doc = changed()
    doc["questions"].append(
        {
            "id": "help",
            "type": "multiple_choice",
            "format": "columns",
            "options": [{"code": "money"}, {"code": "time", "column": "Q9_time"}],
        }
    )
    doc["derived"] = [
        {
            "id": "band",
            "type": "band",
            "source": "months",
            "bands": [{"code": "new", "min": 0}, {"code": "old", "label": "Old", "min": 13}],
        }
    ]
    cb = load_codebook(write(tmp_path, doc))
    help_q = cb.question("help")
    assert isinstance(help_q, MultipleChoice)
    assert [help_q.option_column(o) for o in help_q.options] == ["help_money", "Q9_time"]
    band = cb.question("band")
    assert isinstance(band, BandDerived)
    assert [o.display for o in cb.categories("band")] == ["new", "Old"]
