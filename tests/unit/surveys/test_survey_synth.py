"""Synthetic surveys: deterministic, the right size and shape, valid against their codebooks, realistic."""

from __future__ import annotations

import pandas as pd
import pytest

from gpscale.surveys.collaboration import analyse_collaboration
from gpscale.surveys.responses import load_survey
from gpscale.surveys.synth import write_synthetic_surveys

PRACTICES = [f"A{81000 + i}" for i in range(1400)]
COMMISSIONERS = [f"0{i:02d}X" for i in range(130)]
GROUPS = {"PCN1": PRACTICES[:5], "FED2": PRACTICES[5:12], "SP3": PRACTICES[12:16]}


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    paths = write_synthetic_surveys(out, 7, PRACTICES, COMMISSIONERS, GROUPS)
    return out, paths


def test_files_written(surveys):
    out, paths = surveys
    assert [p.name for p in paths] == [
        "collaboration_codebook.yaml",
        "collaboration_responses.csv",
        "staff_codebook.yaml",
        "staff_responses.csv",
    ]
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)


def test_same_seed_gives_byte_identical_files(surveys, tmp_path):
    _, first = surveys
    again = write_synthetic_surveys(tmp_path / "again", 7, PRACTICES, COMMISSIONERS, GROUPS)
    for a, b in zip(first, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_different_seed_differs(surveys, tmp_path):
    _, first = surveys
    other = write_synthetic_surveys(tmp_path / "other", 8, PRACTICES, COMMISSIONERS, GROUPS)
    assert first[1].read_bytes() != other[1].read_bytes()
    assert first[3].read_bytes() != other[3].read_bytes()
    assert first[0].read_bytes() == other[0].read_bytes()  # the codebook does not depend on the seed


def test_collaboration_survey_shape_and_realism(surveys):
    out, _ = surveys
    data = load_survey(out / "collaboration_codebook.yaml", out / "collaboration_responses.csv")
    f = data.frame
    assert (f["respondent_type"] == "practice").sum() == 1000
    assert (f["respondent_type"] == "commissioner").sum() == 100
    assert f["org_code"][f["respondent_type"] == "practice"].is_unique
    tables = {t.name: t.frame for t in analyse_collaboration(data)}
    share = tables["share_collaborating"].set_index("measure").loc["in_collaboration", "share"]
    assert share == pytest.approx(0.73, abs=0.04)
    bands = f["maturity_band"].value_counts(normalize=True)
    assert set(bands.index) == {"0-12", "13-24", "25+"} and bands.min() > 0.2
    full = tables["achievements_by_band"]
    new_services = full[full["achievement"] == "new_services"].set_index("band")["share"]
    assert new_services["0-12"] < new_services["13-24"] < new_services["25+"]
    support = tables["support_needed"]
    funding = support[support["option"] == "funding"].set_index("respondent_type")["share"]
    assert funding["practice"] > funding["commissioner"] + 0.1


def test_fewer_codes_give_fewer_respondents(tmp_path):
    write_synthetic_surveys(tmp_path, 1, PRACTICES[:120], COMMISSIONERS[:30], {"G": PRACTICES[:3]})
    data = load_survey(tmp_path / "collaboration_codebook.yaml", tmp_path / "collaboration_responses.csv")
    counts = data.frame["respondent_type"].value_counts()
    assert counts["practice"] == 120
    # fewer commissioners than 100: several respondents per commissioner, still about 100 in all
    assert counts["commissioner"] == 100
    assert data.frame.loc[data.frame["respondent_type"] == "commissioner", "org_code"].nunique() == 30


def test_staff_survey_covers_the_named_groups(surveys):
    out, _ = surveys
    data = load_survey(out / "staff_codebook.yaml", out / "staff_responses.csv")
    f = data.frame
    assert set(f["group"]) == set(GROUPS)
    for group, members in GROUPS.items():
        assert set(f.loc[f["group"] == group, "site"]) <= set(members)
    assert set(f["role"]) == {"gp_partner", "salaried_gp", "nurse", "receptionist", "administrator", "manager", "other"}
    satisfied = (f["sat_overall"] >= 4).groupby(f["role"]).mean()
    assert satisfied["manager"] > satisfied["receptionist"]
    workload = f.groupby("role")["sat_workload"].mean()
    assert workload["gp_partner"] < workload["nurse"]
    practice = f[["eng_practice_valued", "eng_practice_voice"]].where(lambda x: x < 9).mean(axis=1).mean()
    org = f[["eng_org_valued", "eng_org_voice"]].where(lambda x: x < 9).mean(axis=1).mean()
    assert practice > org
    assert isinstance(f, pd.DataFrame)
