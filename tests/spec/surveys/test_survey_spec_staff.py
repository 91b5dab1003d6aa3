"""Spec: the staff-survey analyses and anonymity, on small hand-made response sets.

Satisfaction items use a five-point scale (4 and 5 count as satisfied); engagement items an agreement
scale with 9 = "don't know", which is left out of the base. A domain score is the mean of a respondent's
items; it is positive when above the scale midpoint (3), so a score of exactly 3 is not positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gpscale.disclosure import TOTAL, recover_by_subtraction
from gpscale.stats.intervals import wilson_interval
from gpscale.surveys.report import build_survey_report
from gpscale.surveys.responses import load_survey
from gpscale.surveys.staff import analyse_staff

ROLES = [
    ("gp_partner", "GP partner"),
    ("salaried_gp", "Salaried GP"),
    ("nurse", "Nurse"),
    ("receptionist", "Receptionist"),
    ("administrator", "Administrator"),
    ("manager", "Manager"),
    ("other", "Other"),
]


def staff_codebook(with_group: bool) -> dict[str, Any]:
    points = ["Very dissatisfied", "Dissatisfied", "Neither", "Satisfied", "Very satisfied"]
    agree = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]
    questions: list[dict[str, Any]] = []
    if with_group:
        questions += [
            {"id": "group", "type": "text", "required": True},
            {"id": "site", "type": "text", "required": True},
        ]
    questions += [
        {
            "id": "role",
            "type": "single_choice",
            "required": True,
            "options": [{"code": c, "label": lab} for c, lab in ROLES],
        },
        {"id": "sat_overall", "type": "likert", "scale": "satisfaction", "text": "Overall satisfaction"},
        {"id": "sat_pay", "type": "likert", "scale": "satisfaction", "text": "Pay"},
        {"id": "eng_practice", "type": "likert", "scale": "agreement", "text": "Valued by my practice"},
        {"id": "eng_org", "type": "likert", "scale": "agreement", "text": "Valued by the organisation"},
    ]
    analysis: dict[str, Any] = {
        "kind": "staff",
        "role": "role",
        "engagement_practice": "eng_p",
        "engagement_organisation": "eng_o",
    }
    if with_group:
        analysis |= {"group": "group", "site": "site"}
    return {
        "id": "staff",
        "title": "Staff survey (spec)",
        "id_column": "id",
        "scales": {
            "satisfaction": {
                "points": [{"code": i + 1, "label": p} for i, p in enumerate(points)],
                "negative": [1, 2],
                "positive": [4, 5],
            },
            "agreement": {
                "points": [
                    *({"code": i + 1, "label": p} for i, p in enumerate(agree)),
                    {"code": 9, "label": "Don't know"},
                ],
                "negative": [1, 2],
                "positive": [4, 5],
                "not_applicable": [9],
            },
        },
        "questions": questions,
        "domains": [
            {"id": "job", "label": "Job satisfaction", "items": ["sat_overall", "sat_pay"]},
            {"id": "eng_p", "label": "Engagement: practice", "items": ["eng_practice"]},
            {"id": "eng_o", "label": "Engagement: organisation", "items": ["eng_org"]},
        ],
        "analysis": analysis,
    }


BY_ROLE = [
    # role,        sat_overall, sat_pay, eng_practice, eng_org, staff
    ("gp_partner", "4", "2", "5", "4", 6),
    ("gp_partner", "2", "2", "4", "2", 4),
    ("nurse", "5", "4", "4", "3", 8),
    ("nurse", "3", "4", "4", "9", 2),  # don't know about the wider organisation
    ("receptionist", "2", "1", "3", "2", 10),
]


@pytest.fixture(scope="module")
def by_role(write_survey, expand):
    csv = expand(
        ["role", "sat_overall", "sat_pay", "eng_practice", "eng_org"], [(n, list(values)) for *values, n in BY_ROLE]
    )
    cb, rs = write_survey(staff_codebook(with_group=False), csv)
    data = load_survey(cb, rs)
    return data, {t.name: t.frame for t in analyse_staff(data)}


def row(frame: pd.DataFrame, **match: str) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in match.items():
        mask &= (frame[k].astype(str) == v).to_numpy()
    assert mask.sum() == 1, f"expected one row for {match}, got {mask.sum()}"
    return frame[mask].iloc[0]


def test_item_share_satisfied_and_mean_by_role(by_role):
    _, t = by_role
    items = t["items_by_role"]
    gp = row(items, question="sat_overall", role="gp_partner")
    assert (gp["n"], gp["n_positive"]) == (10, 6)
    assert gp["share_positive"] == pytest.approx(0.6)
    assert (gp["share_lower"], gp["share_upper"]) == pytest.approx([v[0] for v in wilson_interval([6], [10])])
    assert gp["mean_score"] == pytest.approx((6 * 4 + 4 * 2) / 10)
    sample = np.array([4] * 6 + [2] * 4, dtype=float)
    half = stats.t.ppf(0.975, 9) * sample.std(ddof=1) / np.sqrt(10)
    assert (gp["mean_lower"], gp["mean_upper"]) == pytest.approx((3.2 - half, 3.2 + half))
    assert row(items, question="sat_overall", role="nurse")["share_positive"] == pytest.approx(0.8)
    assert row(items, question="sat_overall", role="receptionist")["share_positive"] == 0.0
    assert row(items, question="sat_overall", role=TOTAL)["share_positive"] == pytest.approx(14 / 30)
    # roles nobody answered as are not cells at all
    assert set(items["role"]) == {TOTAL, "gp_partner", "nurse", "receptionist"}


def test_likert_distribution_for_diverging_bars(by_role):
    _, t = by_role
    dist = t["likert_by_role"]
    nurse = dist[(dist["question"] == "sat_overall") & (dist["role"] == "nurse")].set_index("point")
    assert nurse["share"].to_dict() == pytest.approx({1: 0.0, 2: 0.0, 3: 0.2, 4: 0.0, 5: 0.8})
    assert nurse["side"].to_dict() == {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}
    # "don't know" (9) is valid but outside the base: the nurse base for eng_org is 8, so hidden
    org = dist[(dist["question"] == "eng_org") & (dist["role"] == "nurse")]
    assert set(org["point"]) == {1, 2, 3, 4, 5}
    assert org["suppressed"].all() and org["suppression"].eq("primary").all()


def test_domain_scores_by_role(by_role):
    _, t = by_role
    dom = t["domains"]
    # gp partners: (4+2)/2 = 3.0 (at the midpoint: not positive) and (2+2)/2 = 2
    gp = row(dom, domain="job", level="role", role="gp_partner")
    assert gp["mean_score"] == pytest.approx((6 * 3.0 + 4 * 2.0) / 10)
    assert gp["share_positive"] == 0.0
    nurse = row(dom, domain="job", level="role", role="nurse")
    assert nurse["mean_score"] == pytest.approx((8 * 4.5 + 2 * 3.5) / 10)
    assert nurse["share_positive"] == 1.0


def test_engagement_practice_versus_organisation_is_paired(by_role):
    _, t = by_role
    eng = t["engagement"]
    everyone = row(eng, level=TOTAL)
    # base: respondents answering both (the 2 nurses who don't know are left out): 28
    diffs = np.array([1.0] * 6 + [2.0] * 4 + [1.0] * 8 + [1.0] * 10)
    assert everyone["n"] == 28
    assert everyone["difference_mean"] == pytest.approx(diffs.mean())
    half = stats.t.ppf(0.975, 27) * diffs.std(ddof=1) / np.sqrt(28)
    assert (everyone["difference_lower"], everyone["difference_upper"]) == pytest.approx(
        (diffs.mean() - half, diffs.mean() + half)
    )
    # nurses (8 in the base) are hidden; hiding only them would let All minus the others reveal them,
    # so the smaller of the other roles (a tie at 10: the first in order) is hidden as well
    status = eng.set_index("role")["suppression"].to_dict()
    assert status == {TOTAL: "", "gp_partner": "complementary", "nurse": "primary", "receptionist": ""}
    assert recover_by_subtraction(eng, ["role"], "n").empty


def test_role_compared_with_all_other_staff(by_role):
    _, t = by_role
    comp = t["role_comparisons"]
    gp = row(comp, variable="sat_overall", role="gp_partner")
    # GP partners 6/10 satisfied, everyone else 8/20
    (lo1,), (hi1,) = wilson_interval([6], [10])
    (lo2,), (hi2,) = wilson_interval([8], [20])
    d = 0.6 - 0.4
    assert (gp["n"], gp["n_rest"], gp["share_rest"]) == (10, 20, pytest.approx(0.4))
    assert gp["difference"] == pytest.approx(d)
    assert gp["lower"] == pytest.approx(d - np.sqrt((0.6 - lo1) ** 2 + (hi2 - 0.4) ** 2))
    assert gp["upper"] == pytest.approx(d + np.sqrt((hi1 - 0.6) ** 2 + (0.4 - lo2) ** 2))
    assert comp["q_value"].notna().all()
    rec = row(comp, variable="sat_overall", role="receptionist")
    assert rec["direction"] == "less positive"


# --------------------------------------------------------------------------- anonymity across filters

BY_GROUP = [
    # group, site, role,        sat_overall, sat_pay, eng_practice, eng_org, staff
    ("G1", "S1", "gp_partner", "4", "4", "5", "4", 6),
    ("G1", "S2", "gp_partner", "5", "2", "4", "3", 6),
    ("G1", "S1", "nurse", "2", "2", "4", "2", 6),
    ("G1", "S2", "nurse", "4", "3", "4", "4", 6),
    ("G2", "S3", "gp_partner", "4", "4", "4", "4", 4),
    ("G2", "S3", "receptionist", "3", "1", "4", "2", 12),
    ("G2", "S4", "receptionist", "2", "2", "2", "2", 4),
    ("G2", "S4", "manager", "5", "5", "5", "5", 3),
]


@pytest.fixture(scope="module")
def by_group(write_survey, expand):
    csv = expand(
        ["group", "site", "role", "sat_overall", "sat_pay", "eng_practice", "eng_org"],
        [(n, list(values)) for *values, n in BY_GROUP],
    )
    return write_survey(staff_codebook(with_group=True), csv)


def test_no_filter_combination_reveals_a_hidden_cell(by_group, linear_attack):
    cb, rs = by_group
    data = load_survey(cb, rs)
    dom = {t.name: t.frame for t in analyse_staff(data)}["domains"]
    job = dom[dom["domain"] == "job"]
    dims = ["group", "site", "role"]
    # every cell with fewer than 10 respondents is hidden, at every level it is published
    n_true = data.frame.groupby(["group", "role"]).size()
    for (g, r), n in n_true.items():
        cell = row(job, group=g, site=TOTAL, role=r)
        if n < 10:
            assert cell["suppressed"] and cell["suppression"] == "primary", (g, r, n)
        else:  # visible, unless hidden to protect another cell
            assert cell["suppressed"] == (cell["suppression"] == "complementary"), (g, r, n)
    assert row(job, group=TOTAL, site=TOTAL, role="manager")["suppression"] == "primary"  # 3 managers
    assert row(job, group="G2", site="S4", role=TOTAL)["suppression"] == "primary"  # 7 at site S4
    assert row(job, group="G2", site=TOTAL, role="gp_partner")["suppression"] == "primary"  # 4 GPs in G2
    # the naive attack (a total minus its visible parts, along any one filter) recovers nothing ...
    for column in ("n", "n_positive"):
        assert recover_by_subtraction(job, dims, column).empty
    # ... nor does any combination of published cells (sums and differences across all filters)
    finest = data.frame[dims].astype(str)
    for column in ("n", "n_positive"):
        assert linear_attack(job, dims, column, finest).empty
    # what a naive table would have shown: managers = All - GP partners - nurses - receptionists
    visible_roles = job[(job["level"] == "role") & ~job["suppressed"]]
    assert row(job, group=TOTAL, site=TOTAL, role=TOTAL)["n"] - visible_roles["n"].sum() != 3


def test_hidden_cells_stay_hidden_in_tables_charts_and_downloads(by_group, tmp_path, monkeypatch):
    from gpscale.charts import svg

    drawn: list[dict[str, Any]] = []
    real_bars = svg.bars

    def capture(rows, items, title, *args, **kwargs):
        drawn.append({"title": title, "rows": list(rows), "tips": [b.tip for b in items]})
        return real_bars(rows, items, title, *args, **kwargs)

    monkeypatch.setattr(svg, "bars", capture)
    cb, rs = by_group
    report = build_survey_report(cb, rs, tmp_path / "out")
    values = {
        "n",
        "n_selected",
        "n_positive",
        "share",
        "lower",
        "upper",
        "share_positive",
        "share_lower",
        "share_upper",
        "mean_score",
        "mean_lower",
        "mean_upper",
        "mean",
        "n_eff",
        "practice_mean",
        "organisation_mean",
        "difference_mean",
        "difference_lower",
        "difference_upper",
        "practice_share_positive",
        "organisation_share_positive",
        "value",
        "q1",
        "median",
        "q3",
    }
    # tables: hidden rows carry no numbers
    n_hidden = 0
    for name, table in report.tables.items():
        if "suppressed" not in table.frame.columns or name == "suppression":
            continue
        hidden = table.frame[table.frame["suppressed"].astype(bool)]
        n_hidden += len(hidden)
        assert hidden[[c for c in hidden.columns if c in values]].isna().all().all(), name
    assert n_hidden > 0
    # downloads: the CSV and Parquet files carry the same nulls
    downloaded = pd.read_csv(tmp_path / "out" / "staff_domains.csv")
    managers = downloaded[(downloaded["level"] == "role") & (downloaded["role"] == "manager")]
    assert len(managers) == 3
    assert managers["suppressed"].all() and managers[["n", "mean_score", "share_positive"]].isna().all().all()
    parquet = pd.read_parquet(tmp_path / "out" / "staff_domains.parquet")
    assert parquet["n"].isna().sum() == downloaded["n"].isna().sum() > 0
    # charts: nothing hidden is drawn; the by-role satisfaction chart leaves out the managers (3 respondents)
    assert drawn, "the report has charts"
    by_role = [s for s in drawn if "by role" in s["title"].lower()]
    assert by_role
    assert all("Manager" not in s["rows"] and not any(t.startswith("Manager") for t in s["tips"]) for s in by_role)
    assert "Hidden cells:" in report.html_path.read_text(encoding="utf-8")


def test_group_and_site_breakdowns(by_group):
    cb, rs = by_group
    dom = {t.name: t.frame for t in analyse_staff(load_survey(cb, rs))}["domains"]
    job = dom[dom["domain"] == "job"]
    # G1: GP partners at S1 score 4 and at S2 3.5 (positive), nurses at S1 2 (not), at S2 3.5 (positive)
    g1 = row(job, group="G1", site=TOTAL, role=TOTAL)
    assert (g1["n"], g1["n_positive"]) == (24, 18)
    assert row(job, group="G1", site="S1", role=TOTAL)["share_positive"] == pytest.approx(6 / 12)
    assert row(job, group="G1", site="S2", role=TOTAL)["share_positive"] == 1.0
    assert row(job, group="G1", site="S2", role=TOTAL)["mean_score"] == pytest.approx(3.5)


def test_respondent_counts_follow_the_same_rule(by_group):
    cb, rs = by_group
    t = {x.name: x.frame for x in analyse_staff(load_survey(cb, rs))}
    counts = t["respondents"]
    assert row(counts, group=TOTAL, site=TOTAL, role=TOTAL)["n"] == 47
    assert row(counts, group="G1", site="S1", role=TOTAL)["n"] == 12
    assert recover_by_subtraction(counts, ["group", "site", "role"], "n").empty
