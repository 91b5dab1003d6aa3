"""The report builder: what it writes, and that every table states method, confidence and rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import gpscale.surveys as surveys
from gpscale.surveys.errors import SurveyValidationError
from gpscale.surveys.report import build_survey_report
from gpscale.surveys.synth import write_synthetic_surveys

PRACTICES = [f"C{83000 + i}" for i in range(250)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    write_synthetic_surveys(src, 11, PRACTICES, ["01A", "02B"], {"EAST": PRACTICES[:5], "WEST": PRACTICES[5:9]})
    out = tmp_path_factory.mktemp("out")
    return {
        name: build_survey_report(src / f"{name}_codebook.yaml", src / f"{name}_responses.csv", out)
        for name in ("collaboration", "staff")
    }


@pytest.mark.parametrize("name", ["collaboration", "staff"])
def test_every_table_states_method_confidence_and_rule(reports, name):
    report = reports[name]
    for table_name, table in report.tables.items():
        assert table.method and table.rule, table_name
        if table_name == "suppression":
            continue
        assert {"method", "confidence", "suppression_rule"} <= set(table.frame.columns), table_name
        assert table.frame["suppression_rule"].str.contains("fewer than 10 respondents").all(), table_name


@pytest.mark.parametrize("name", ["collaboration", "staff"])
def test_files_and_html(reports, name):
    report = reports[name]
    names = {p.name for p in report.files}
    for table_name in report.tables:
        assert f"{name}_{table_name}.csv" in names and f"{name}_{table_name}.parquet" in names
    assert report.html_path is not None and report.html_path.name == f"{name}_report.html"
    assert report.html_section.lstrip().startswith(f'<section class="gpscale-survey" id="survey-{name}">')
    assert "Confidence level: 95%" in report.html_section
    summary = report.table("suppression")
    assert (summary["subtraction_audit"] == "passed").all()
    # respondent-level data never leave the analysis: no file has a respondent id column
    for path in report.files:
        if path.suffix == ".csv":
            assert "respondent_id" not in pd.read_csv(path, nrows=0).columns


def test_staff_satisfaction_by_role_chart_is_in_the_page(reports):
    html = reports["staff"].html_path.read_text(encoding="utf-8")
    assert "Satisfaction and engagement by role" in html
    assert "All staff: satisfaction items" in html and "All staff: agreement items" in html


def test_other_confidence_levels(reports, tmp_path):
    base = reports["collaboration"]
    src = base.data_source.replace("_responses.csv", "_codebook.yaml")
    narrow = build_survey_report(src, base.data_source, tmp_path, confidence=0.8)
    wide = base.table("share_collaborating").set_index("measure")
    near = narrow.table("share_collaborating").set_index("measure")
    assert (near["upper"] - near["lower"] < wide["upper"] - wide["lower"]).all()
    assert (near["confidence"] == 0.8).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        build_survey_report(src, base.data_source, tmp_path, confidence=95)


def test_generic_codebook_gets_question_summaries(tmp_path):
    cb = {
        "id": "pulse",
        "title": "Pulse survey",
        "id_column": "id",
        "questions": [
            {"id": "team", "type": "single_choice", "options": [{"code": "a"}, {"code": "b"}]},
            {"id": "hours", "type": "numeric", "minimum": 0},
        ],
    }
    (tmp_path / "cb.yaml").write_text(yaml.safe_dump(cb))
    rows = "\n".join(f"R{i}, {'a' if i % 3 else 'b'}, {30 + i}" for i in range(15))
    (tmp_path / "r.csv").write_text("id, team, hours\n" + rows + "\n")
    report = build_survey_report(tmp_path / "cb.yaml", tmp_path / "r.csv", tmp_path / "out")
    assert report.kind == "generic"
    q = report.table("questions")
    team_b = q[(q["question"] == "team") & (q["option"] == "b")].iloc[0]
    assert (team_b["n"], team_b["n_selected"], team_b["value"]) == (15, 5, pytest.approx(5 / 15))
    median = q[(q["question"] == "hours") & (q["statistic"] == "median")].iloc[0]
    assert median["value"] == 37


def test_degenerate_surveys_still_report(reports, tmp_path):
    # no practice collaborates: the collaboration-only tables are empty, not errors
    src = reports["collaboration"].data_source
    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    practice = frame["respondent_type"] == "practice"
    for col in frame.columns:
        if col not in {"respondent_id", "respondent_type", "org_code", "date_completed", "weight", "support_needed"}:
            frame.loc[practice, col] = ""
    frame.loc[practice, "collaborating"] = "no"
    frame.to_csv(tmp_path / "none.csv", index=False)
    report = build_survey_report(src.replace("_responses.csv", "_codebook.yaml"), tmp_path / "none.csv", tmp_path)
    assert report.table("share_collaborating").set_index("measure").loc["in_collaboration", "share"] == 0.0
    assert report.table("table1").empty
    # a staff survey of three people: everything hidden, nothing fails
    staff_src = reports["staff"].data_source
    lines = Path(staff_src).read_text(encoding="utf-8").splitlines()[:4]
    (tmp_path / "three.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tiny = build_survey_report(staff_src.replace("_responses.csv", "_codebook.yaml"), tmp_path / "three.csv", tmp_path)
    assert tiny.table("domains")["suppressed"].all()
    assert tiny.table("role_comparisons").empty


def test_invalid_input_writes_nothing(tmp_path):
    (tmp_path / "cb.yaml").write_text("id: x\ntitle: X\nquestions: [{id: q, type: numeric}]\n")
    (tmp_path / "r.csv").write_text("respondent_id, q\nR1, many\n")
    with pytest.raises(SurveyValidationError):
        build_survey_report(tmp_path / "cb.yaml", tmp_path / "r.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_package_exports_load_on_demand():
    assert surveys.build_survey_report is build_survey_report
    assert set(surveys.__all__) >= {"load_survey", "write_synthetic_surveys", "analyse_staff"}
    with pytest.raises(AttributeError):
        _ = surveys.nothing_here
