"""Spec: the collaboration-survey analyses, on small hand-made response sets.

Each test states its data as a table and the numbers a reader can check by hand. Shares are unweighted
Wilson intervals unless the codebook declares a weight column; with weights the share is the weighted
share and the interval is Wilson on Kish's effective sample size ``(sum w)^2 / sum w^2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gpscale.disclosure import TOTAL, recover_by_subtraction
from gpscale.surveys.collaboration import analyse_collaboration, meets_share
from gpscale.surveys.estimates import newcombe_difference
from gpscale.surveys.responses import load_survey

Z95 = 1.959963984540054


def wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval, written out here so the spec does not lean on the code under test."""
    centre = 2 * x + z * z
    spread = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    return (centre - spread) / (2 * (n + z * z)), (centre + spread) / (2 * (n + z * z))


QUESTIONS: dict[str, dict[str, Any]] = {
    "type": {
        "type": "single_choice",
        "required": True,
        "options": [{"code": "practice", "label": "GP practice"}, {"code": "commissioner"}],
    },
    "collab": {
        "type": "single_choice",
        "asked_if": {"question": "type", "in": ["practice"]},
        "options": [{"code": "yes"}, {"code": "no"}],
    },
    "formality": {
        "type": "single_choice",
        "asked_if": {"question": "collab", "in": ["yes"]},
        "options": [{"code": "formal"}, {"code": "informal"}],
    },
    "form": {
        "type": "single_choice",
        "asked_if": {"question": "collab", "in": ["yes"]},
        "options": [
            {"code": "federation", "label": "Federation"},
            {"code": "network", "label": "Network"},
            {"code": "other", "label": "Other"},
        ],
    },
    "same_ccg": {
        "type": "single_choice",
        "asked_if": {"question": "collab", "in": ["yes"]},
        "options": [{"code": "yes"}, {"code": "no"}],
    },
    "months": {"type": "months_since", "asked_if": {"question": "collab", "in": ["yes"]}},
    "reasons": {
        "type": "multiple_choice",
        "asked_if": {"question": "collab", "in": ["yes"]},
        "options": [{"code": "sustainability"}, {"code": "quality"}, {"code": "contracts"}],
    },
    "achievements": {
        "type": "multiple_choice",
        "asked_if": {"question": "collab", "in": ["yes"]},
        "options": [
            {"code": "peer_support", "label": "Peer support"},
            {"code": "back_office", "label": "Back office"},
            {"code": "new_services", "label": "New services"},
            {"code": "nothing_yet", "label": "Nothing yet"},
        ],
    },
    "support": {"type": "multiple_choice", "options": [{"code": "funding"}, {"code": "management"}]},
}
ANALYSIS_FIELD = {
    "formality": "formality",
    "form": "form",
    "same_ccg": "same_commissioner",
    "reasons": "reasons",
    "achievements": "achievements",
    "support": "support_needed",
}


def codebook(*qids: str, weighted: bool = False, min_share: float = 0.25) -> dict[str, Any]:
    """A collaboration codebook with the questions ``type``, ``collab`` and ``qids``."""
    ids = ["type", "collab", *qids]
    cb: dict[str, Any] = {
        "id": "collab",
        "title": "Collaboration survey (spec)",
        "id_column": "id",
        "questions": [{"id": q, **QUESTIONS[q]} for q in ids],
        "analysis": {
            "kind": "collaboration",
            "respondent_type": "type",
            "collaborating": "collab",
            "min_share": min_share,
            **{ANALYSIS_FIELD[q]: q for q in qids if q in ANALYSIS_FIELD},
        },
    }
    if "months" in qids:
        cb["derived"] = [
            {
                "id": "band",
                "type": "band",
                "source": "months",
                "bands": [
                    {"code": "0-12", "label": "0–12 months", "min": 0},
                    {"code": "13-24", "label": "13–24 months", "min": 13},
                    {"code": "25+", "label": "25+ months", "min": 25},
                ],
            }
        ]
        cb["analysis"]["maturity_band"] = "band"
    if weighted:
        cb["weight_column"] = "weight"
    return cb


def tables(cb_path, rs_path, **kw) -> dict[str, pd.DataFrame]:
    return {t.name: t.frame for t in analyse_collaboration(load_survey(cb_path, rs_path), **kw)}


def row(frame: pd.DataFrame, **match: str) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in match.items():
        mask &= (frame[k].astype(str) == v).to_numpy()
    assert mask.sum() == 1, f"expected one row for {match}, got {mask.sum()}"
    return frame[mask].iloc[0]


# --------------------------------------------------------------------------- share collaborating


def test_share_collaborating_formal_and_informal(write_survey):
    # 12 practices: 9 collaborate (6 formally, 3 informally), 3 do not; commissioners are not asked
    cb, rs = write_survey(
        codebook("formality"),
        """
        id,  type,         collab, formality
        P01, practice,     yes,    formal
        P02, practice,     yes,    formal
        P03, practice,     yes,    formal
        P04, practice,     yes,    formal
        P05, practice,     yes,    formal
        P06, practice,     yes,    formal
        P07, practice,     yes,    informal
        P08, practice,     yes,    informal
        P09, practice,     yes,    informal
        P10, practice,     no,
        P11, practice,     no,
        P12, practice,     no,
        C01, commissioner, ,
        C02, commissioner, ,
    """,
    )
    share = tables(cb, rs)["share_collaborating"].set_index("measure")

    any_ = share.loc["in_collaboration"]
    assert (any_["n"], any_["n_selected"]) == (12, 9)
    assert any_["share"] == pytest.approx(9 / 12)
    assert (any_["lower"], any_["upper"]) == pytest.approx(wilson(9, 12))
    assert any_["method"] == "Wilson score interval"
    assert any_["confidence"] == 0.95

    assert share.loc["in_formal_collaboration", "share"] == pytest.approx(6 / 12)
    assert share.loc["in_informal_collaboration", "share"] == pytest.approx(3 / 12)
    # "formal among collaborating" has 9 respondents in its base: fewer than 10, so hidden
    formal_among = share.loc["formal_among_collaborating"]
    assert formal_among["suppressed"]
    assert formal_among["suppression"] == "primary"
    assert pd.isna(formal_among["n"]) and pd.isna(formal_among["share"]) and pd.isna(formal_among["n_selected"])
    assert "fewer than 10 respondents" in formal_among["suppression_rule"]


def test_weighted_share_uses_kish_effective_sample_size(write_survey):
    # weights: the 4 collaborating practices of weight 2 represent twice as many practices
    cb, rs = write_survey(
        codebook(weighted=True),
        """
        id,  type,         collab, weight
        P01, practice,     yes,    2
        P02, practice,     yes,    2
        P03, practice,     yes,    2
        P04, practice,     yes,    2
        P05, practice,     yes,    1
        P06, practice,     no,     1
        P07, practice,     no,     1
        P08, practice,     no,     1
        P09, practice,     no,     1
        P10, practice,     no,     1
        C01, commissioner, ,       5
    """,
    )
    r = row(tables(cb, rs)["share_collaborating"], measure="in_collaboration")
    # sum w = 14, sum w*y = 9, sum w^2 = 22: share 9/14 (unweighted it would be 5/10)
    n_eff = 14**2 / 22
    assert r["n"] == 10 and r["n_selected"] == 5
    assert r["share"] == pytest.approx(9 / 14)
    assert r["n_eff"] == pytest.approx(n_eff)
    assert (r["lower"], r["upper"]) == pytest.approx(wilson(9 / 14 * n_eff, n_eff))
    assert "Kish effective sample size" in r["method"]


def test_equal_weights_give_the_unweighted_answer(write_survey):
    rows = "\n".join(f"P{i:02d}, practice, {'yes' if i <= 7 else 'no'}, 3.5" for i in range(1, 13))
    cb, rs = write_survey(codebook(weighted=True), "id, type, collab, weight\n" + rows)
    r = row(tables(cb, rs)["share_collaborating"], measure="in_collaboration")
    assert r["n_eff"] == pytest.approx(12)
    assert (r["share"], r["lower"], r["upper"]) == pytest.approx((7 / 12, *wilson(7, 12)))


# --------------------------------------------------------------------------- Table 1


ACHIEVEMENT_ROWS = [
    # months, achievements cited,           collaborations
    ("6", "peer_support", 3),
    ("6", "back_office", 2),
    ("6", "nothing_yet", 7),  # 0-12 months: 12 collaborations
    ("18", "peer_support", 3),
    ("18", "back_office", 4),
    ("18", "nothing_yet", 6),  # 13-24 months: 13 collaborations
    ("30", "peer_support;back_office", 5),
    ("30", "back_office", 5),
    ("30", "new_services", 4),
    ("30", "nothing_yet", 6),  # 25+ months: 20 collaborations
]


def achievements_csv(expand, rows=ACHIEVEMENT_ROWS) -> str:
    return expand(
        ["type", "collab", "months", "achievements"],
        [(n, ["practice", "yes", months, cited]) for months, cited, n in rows],
    )


def table1_listing(t1: pd.DataFrame) -> dict[str, list[tuple[str, int]]]:
    return {
        band: [(r.achievement, int(r.n)) for r in part.itertuples() if not r.suppressed]
        for band, part in t1.groupby("band", sort=False)
    }


def test_table1_lists_achievements_cited_by_at_least_a_quarter(write_survey, expand):
    cb, rs = write_survey(codebook("months", "achievements"), achievements_csv(expand))
    t = tables(cb, rs)
    t1 = t["table1"]
    # exactly 25% (3 of 12, 5 of 20) is listed; 3 of 13 (23%) and 4 of 20 (20%) are not
    assert table1_listing(t1) == {
        "0-12": [("nothing_yet", 7), ("peer_support", 3)],
        "13-24": [("nothing_yet", 6), ("back_office", 4)],
        "25+": [("back_office", 10), ("nothing_yet", 6), ("peer_support", 5)],
    }
    assert t1.groupby("band")["band_n"].first().to_dict() == {"0-12": 12, "13-24": 13, "25+": 20}
    assert row(t1, band="25+", achievement="peer_support")["share"] == 0.25
    full = t["achievements_by_band"]
    boundary = row(full, band="0-12", achievement="peer_support")
    assert (boundary["n_selected"], boundary["n"], bool(boundary["meets_min_share"])) == (3, 12, True)
    below = row(full, band="13-24", achievement="peer_support")
    assert (below["n_selected"], below["n"], bool(below["meets_min_share"])) == (3, 13, False)
    # the unweighted Wilson interval goes with each listed share
    assert row(t1, band="0-12", achievement="peer_support")[["lower", "upper"]].tolist() == pytest.approx(wilson(3, 12))


def test_table1_share_is_configurable(write_survey, expand):
    cb, rs = write_survey(codebook("months", "achievements", min_share=0.3), achievements_csv(expand))
    t1 = tables(cb, rs)["table1"]
    # at 30%: 4 of 13 (30.8%) stays, 3 of 12 and 5 of 20 (25%) drop out
    assert table1_listing(t1) == {
        "0-12": [("nothing_yet", 7)],
        "13-24": [("nothing_yet", 6), ("back_office", 4)],
        "25+": [("back_office", 10), ("nothing_yet", 6)],
    }
    # the argument overrides the codebook
    t1_half = tables(cb, rs, min_share=0.5)["table1"]
    assert table1_listing(t1_half)["25+"] == [("back_office", 10)]


@pytest.mark.parametrize(
    ("cited", "n", "share", "listed"),
    [
        (3, 12, 0.25, True),
        (2, 8, 0.25, True),
        (3, 13, 0.25, False),
        (1, 3, 0.3333, True),
        (1, 3, 0.33334, False),
        (0, 10, 0.25, False),
        (5, 5, 1.0, True),
    ],
)
def test_share_rule_is_exact_at_the_boundary(cited, n, share, listed):
    assert meets_share(cited, n, share) is listed


def test_small_band_hidden_and_not_recoverable_from_the_total(write_survey, expand):
    # 0-12 months now has 8 collaborations (fewer than 10). The achievements table also publishes
    # "All" bands, so All minus the other two bands would give it away: the smallest other band
    # (13-24, n = 13) is hidden too.
    rows = [("6", "peer_support", 3), ("6", "nothing_yet", 5), *ACHIEVEMENT_ROWS[3:]]
    cb, rs = write_survey(codebook("months", "achievements"), achievements_csv(expand, rows))
    t = tables(cb, rs)
    full = t["achievements_by_band"]
    status = full.groupby("band")[["suppressed", "suppression"]].first()
    assert status.to_dict("index") == {
        TOTAL: {"suppressed": False, "suppression": ""},
        "0-12": {"suppressed": True, "suppression": "primary"},
        "13-24": {"suppressed": True, "suppression": "complementary"},
        "25+": {"suppressed": False, "suppression": ""},
    }
    hidden = full[full["suppressed"]]
    assert hidden[["n", "n_selected", "share", "lower", "upper", "n_eff"]].isna().all().all()
    # the subtraction attack: All minus every visible band leaves 0-12 and 13-24 together (21), never 8
    n = full.groupby("band")["n"].first()
    assert n[TOTAL] - n["25+"] == 8 + 13
    assert recover_by_subtraction(full.drop_duplicates("band"), ["band"], "n").empty
    for _achievement, part in full.groupby("achievement"):
        assert recover_by_subtraction(part, ["band"], "n_selected").empty
    t1 = t["table1"]
    assert t1.loc[t1["suppressed"], "band"].tolist() == ["0-12", "13-24"]
    assert t1.loc[t1["suppressed"], ["band_n", "n", "achievement"]].isna().all().all()


# --------------------------------------------------------------------------- forms, reasons, support


def test_forms_same_commissioner_and_reasons_ranked(write_survey, expand):
    csv = expand(
        ["type", "collab", "form", "same_ccg", "reasons"],
        [
            (6, ["practice", "yes", "federation", "yes", "sustainability;contracts"]),
            (4, ["practice", "yes", "federation", "no", "sustainability"]),
            (5, ["practice", "yes", "network", "yes", "quality;sustainability"]),
            (5, ["practice", "yes", "network", "yes", "contracts"]),
            (3, ["practice", "no", "", "", ""]),
        ],
    )
    cb, rs = write_survey(codebook("form", "same_ccg", "reasons"), csv)
    t = tables(cb, rs)
    forms = t["forms"].set_index("form")
    assert forms.loc["federation", "share"] == pytest.approx(10 / 20)
    assert forms.loc["network", "share"] == pytest.approx(10 / 20)
    assert forms.loc["other", "n_selected"] == 0
    same = t["same_commissioner"]
    assert row(same, form=TOTAL)["share"] == pytest.approx(16 / 20)
    assert row(same, form="federation")["share"] == pytest.approx(6 / 10)
    assert row(same, form="network")["share"] == pytest.approx(1.0)
    reasons = t["reasons"]
    # sustainability 15 of 20, contracts 11, quality 5
    assert reasons[["rank", "reason", "n_selected"]].values.tolist() == [
        [1, "sustainability", 15],
        [2, "contracts", 11],
        [3, "quality", 5],
    ]


def test_support_needed_by_respondent_type_with_difference(write_survey, expand):
    csv = expand(
        ["type", "collab", "support"],
        [
            (8, ["practice", "no", "funding"]),
            (4, ["practice", "no", "funding;management"]),
            (3, ["commissioner", "", "funding;management"]),
            (7, ["commissioner", "", "management"]),
        ],
    )
    cb, rs = write_survey(codebook("support"), csv)
    t = tables(cb, rs)
    support = t["support_needed"]
    prac = row(support, type="practice", option="funding")
    comm = row(support, type="commissioner", option="funding")
    assert (prac["n"], prac["n_selected"], comm["n"], comm["n_selected"]) == (12, 12, 10, 3)
    assert row(support, type=TOTAL, option="management")["share"] == pytest.approx(14 / 22)
    diff = t["support_difference"].set_index("option").loc["funding"]
    expected = newcombe_difference(
        np.array([1.0]), *map(np.array, wilson(12, 12)), np.array([0.3]), *map(np.array, wilson(3, 10))
    )
    assert (diff["difference"], diff["lower"], diff["upper"]) == pytest.approx([e[0] for e in expected])
    assert bool(diff["significant"])


def test_few_commissioners_hides_both_types_not_just_one(write_survey, expand):
    # 4 commissioners: hidden. With only two respondent types and a published total, showing the
    # practices would reveal the commissioners as total minus practices, so practices are hidden too.
    csv = expand(
        ["type", "collab", "support"],
        [
            (12, ["practice", "no", "funding"]),
            (4, ["commissioner", "", "management"]),
        ],
    )
    cb, rs = write_survey(codebook("support"), csv)
    t = tables(cb, rs)
    status = t["support_needed"].groupby("type")["suppression"].first().to_dict()
    assert status == {TOTAL: "", "commissioner": "primary", "practice": "complementary"}
    assert t["support_difference"]["suppressed"].all()
    assert t["support_difference"]["difference"].isna().all()


def test_newcombe_difference_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 vs 48/80 -> 0.0524 to 0.3339
    d, lo, hi = newcombe_difference(
        np.array([56 / 70]), *map(np.array, wilson(56, 70)), np.array([48 / 80]), *map(np.array, wilson(48, 80))
    )
    assert d[0] == pytest.approx(0.2)
    assert (lo[0], hi[0]) == pytest.approx((0.0524, 0.3339), abs=5e-5)
