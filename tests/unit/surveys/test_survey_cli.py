"""The ``survey`` command line: validate and report, with clear errors and no tracebacks."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from gpscale.surveys.cli import survey_app
from gpscale.surveys.synth import write_synthetic_surveys

runner = CliRunner()
PRACTICES = [f"B{82000 + i}" for i in range(300)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    write_synthetic_surveys(
        out, 3, PRACTICES, [f"0{i}Y" for i in range(20)], {"NORTH": PRACTICES[:6], "SOUTH": PRACTICES[6:11]}
    )
    return out


def invoke(*args: str):
    result = runner.invoke(survey_app, [str(a) for a in args], terminal_width=160)
    assert "Traceback" not in result.output
    return result


def test_validate_good_files(synthetic):
    result = invoke("validate", synthetic / "staff_codebook.yaml", synthetic / "staff_responses.csv")
    assert result.exit_code == 0, result.output
    assert "Valid." in result.output
    assert "respondents" in result.output


def test_validate_reports_file_row_column_rule(synthetic, tmp_path):
    bad = tmp_path / "bad.csv"
    lines = (synthetic / "staff_responses.csv").read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("role")] = "locum"
    second = lines[2].split(",")
    second[0] = first[0]  # a duplicate respondent id
    bad.write_text("\n".join([lines[0], ",".join(first), ",".join(second), *lines[3:]]) + "\n")
    result = invoke("validate", synthetic / "staff_codebook.yaml", bad)
    assert result.exit_code == 1
    out = result.output
    assert "answer_not_in_codebook" in out and "'locum'" in out and "row 2" in out
    assert "duplicate_respondent_id" in out and "row 3" in out
    assert "Nothing was written" in out


def test_missing_files_are_clear(synthetic, tmp_path):
    result = invoke("validate", tmp_path / "nope.yaml", synthetic / "staff_responses.csv")
    assert result.exit_code == 1
    assert "file_not_found" in result.output
    result = invoke("report", synthetic / "staff_codebook.yaml", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert not (tmp_path / "o").exists()


def test_report_collaboration_prints_table1(synthetic, tmp_path):
    out = tmp_path / "report"
    result = invoke(
        "report", synthetic / "collaboration_codebook.yaml", synthetic / "collaboration_responses.csv", "--out", out
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Practices in a collaboration" in text
    assert "Table 1: achievements cited by at least 25% of collaborations" in text
    assert "0–12 months (n =" in text and "25+ months (n =" in text
    assert "subtraction audit: passed" in text
    for name in ("table1", "achievements_by_band", "share_collaborating", "support_needed", "suppression"):
        assert (out / f"collaboration_{name}.csv").exists()
        assert (out / f"collaboration_{name}.parquet").exists()
    html = (out / "collaboration_report.html").read_text(encoding="utf-8")
    # self-contained: inline SVG charts, no scripts, no external resources
    assert html.count("<svg") >= 4
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    t1 = pd.read_csv(out / "collaboration_table1.csv")
    assert {
        "band",
        "band_n",
        "rank",
        "achievement",
        "n",
        "share",
        "lower",
        "upper",
        "method",
        "confidence",
        "suppression_rule",
    } <= set(t1.columns)


def test_report_min_share_option(synthetic, tmp_path):
    result = invoke(
        "report",
        synthetic / "collaboration_codebook.yaml",
        synthetic / "collaboration_responses.csv",
        "--out",
        tmp_path,
        "--min-share",
        "0.4",
    )
    assert result.exit_code == 0
    assert "at least 40% of collaborations" in result.output
    assert (pd.read_csv(tmp_path / "collaboration_table1.csv")["share"].dropna() >= 0.4).all()


def test_report_staff_prints_by_role_satisfaction(synthetic, tmp_path):
    result = invoke("report", synthetic / "staff_codebook.yaml", synthetic / "staff_responses.csv", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "Share positive by role" in result.output
    assert "GP partner" in result.output and "Receptionist" in result.output
    assert "hidden" in result.output  # small group-by-role cells exist in a two-group survey
    assert (tmp_path / "staff_report.html").exists()


def test_bad_options(synthetic, tmp_path):
    result = invoke(
        "report",
        synthetic / "staff_codebook.yaml",
        synthetic / "staff_responses.csv",
        "--out",
        tmp_path,
        "--confidence",
        "95",
    )
    assert result.exit_code == 2
    assert "between 0 and 1" in result.output
