"""Analyses of the GP practice and commissioner collaboration survey (the study's national surveys).

The codebook's ``analysis`` section (:class:`~gpscale.surveys.codebook.CollaborationAnalysis`) says which
question carries each concept, so any survey with these concepts can be analysed. Tables:

* ``share_collaborating``: share of practice respondents in a collaboration, in a formal one, in an
  informal one, and the share of collaborations that are formal; weighted where weights are given.
* ``forms``: organisational form of the collaborations; ``population_by_form``: population covered and
  number of member practices by form; ``same_commissioner``: all members under one commissioner, by form.
* ``reasons``: reasons for forming, ranked by share citing.
* ``achievements_by_band`` and ``table1``: achievements by maturity band (months since forming); the
  Table 1 layout lists, for each band, each achievement cited by at least ``min_share`` (default a
  quarter) of the collaborations in that band, with its n. The rule is applied exactly (``cited / n >=
  min_share`` in rational arithmetic, so 3 of 12 meets a quarter). These two tables count collaborations
  unweighted, as the study did: weights describe practices, the table describes collaborations.
* ``support_needed`` and ``support_difference``: support needed by respondent type (practice vs
  commissioner) and the difference between them.
* ``likert``: distributions of any Likert questions (for diverging bars), by maturity band.

Each practice respondent answers for its own collaboration, so a collaboration with several responding
member practices counts once per respondent; the study's survey had the same property.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from gpscale.disclosure import TOTAL, SuppressionPlan, survey_rule
from gpscale.surveys import estimates
from gpscale.surveys.analyses import ResultTable, base_frame, likert_distribution, means, shares
from gpscale.surveys.cells import Breakdown, add_labels, category_order, sort_cells
from gpscale.surveys.codebook import CollaborationAnalysis, Likert, MultipleChoice
from gpscale.surveys.responses import WEIGHT, SurveyData, option_column

MEASURES = {
    "in_collaboration": "Practices in a collaboration",
    "in_formal_collaboration": "Practices in a formal collaboration",
    "in_informal_collaboration": "Practices in an informal collaboration",
    "formal_among_collaborating": "Collaborations that are formal",
}


def meets_share(cited: int, n: int, min_share: float) -> bool:
    """``cited / n >= min_share`` exactly (``min_share`` read as the decimal it is written as)."""
    if n <= 0:
        return False
    return Fraction(cited, n) >= Fraction(str(min_share))


def analyse_collaboration(
    data: SurveyData, confidence: float = 0.95, min_share: float | None = None
) -> list[ResultTable]:
    """All collaboration-survey tables for ``data`` (its codebook must have a collaboration analysis)."""
    a = data.codebook.analysis
    if not isinstance(a, CollaborationAnalysis):
        raise ValueError("the codebook's analysis section is not kind: collaboration")
    share_rule = a.min_share if min_share is None else min_share
    tables = [share_collaborating(data, a, confidence)]
    if a.form:
        tables.append(forms(data, a, confidence))
        if a.population_covered or a.practices_in_collaboration:
            tables.append(population_by_form(data, a, confidence))
    if a.same_commissioner:
        tables.append(same_commissioner(data, a, confidence))
    if a.reasons:
        tables.append(reasons(data, a, confidence))
    if a.achievements and a.maturity_band:
        full = achievements_by_band(data, a, confidence, share_rule)
        tables.append(full)
        tables.append(table1(full, share_rule))
    if a.support_needed:
        tables.extend(support_needed(data, a, confidence))
    likert = likert_tables(data, a, confidence)
    if likert is not None:
        tables.append(likert)
    return tables


def _collaborating(data: SurveyData, a: CollaborationAnalysis) -> pd.Series:
    f = data.frame
    return (f[a.respondent_type] == a.practice_code).fillna(False) & (
        f[a.collaborating] == a.collaborating_code
    ).fillna(False)


def share_collaborating(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable:
    f = data.frame
    practice = (f[a.respondent_type] == a.practice_code).fillna(False)
    answered = practice & f[a.collaborating].notna()
    collab = (f[a.collaborating] == a.collaborating_code).fillna(False)
    parts, plans = [], []

    def add(measure: str, mask: pd.Series, y: pd.Series) -> None:
        df = base_frame(data, mask, ())
        ind = {measure: y[mask.to_numpy()].to_numpy(dtype=float)}
        table, plan = shares(df, ind, Breakdown.overall(), data.weighted, confidence, option_name="measure")
        parts.append(table)
        plans.append(plan)

    add("in_collaboration", answered, collab.astype(float))
    if a.formality:
        form_known = answered & (~collab | f[a.formality].notna())
        formal = collab & (f[a.formality] == a.formal_code).fillna(False)
        informal = collab & f[a.formality].notna() & (f[a.formality] != a.formal_code).fillna(False)
        add("in_formal_collaboration", form_known, formal.astype(float))
        add("in_informal_collaboration", form_known, informal.astype(float))
        among = answered & collab & f[a.formality].notna()
        add("formal_among_collaborating", among, formal.astype(float))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(1, "measure_label", frame["measure"].map(MEASURES))
    frame = frame.drop(columns=["level"])
    return ResultTable(
        name="share_collaborating",
        title="Practices in a collaboration",
        frame=frame,
        description="Share of responding practices in a collaboration with other practices, formal or "
        "informal" + (", weighted by the survey weights." if data.weighted else "."),
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=tuple(plans),
    )


def forms(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable:
    assert a.form
    mask = _collaborating(data, a) & data.frame[a.form].notna()
    df = base_frame(data, mask, ())
    opts = data.codebook.categories(a.form)
    col = df[a.form].astype(str).to_numpy()
    table, plan = shares(
        df,
        {o.code: (col == o.code).astype(float) for o in opts},
        Breakdown.overall(),
        data.weighted,
        confidence,
        option_name="form",
    )
    table = table.drop(columns=["level"])
    table.insert(1, "form_label", table["form"].map({o.code: o.display for o in opts}))
    return ResultTable(
        name="forms",
        title="Organisational form of collaborations",
        frame=table,
        description="Share of collaborating practices by the form of their collaboration.",
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=(plan,),
    )


def population_by_form(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable:
    assert a.form
    breakdown = Breakdown.by(a.form)
    parts, plans = [], []
    for measure, qid in (
        ("population_covered", a.population_covered),
        ("practices_in_collaboration", a.practices_in_collaboration),
    ):
        if not qid:
            continue
        mask = _collaborating(data, a) & data.frame[qid].notna()
        df = base_frame(data, mask, breakdown.dims)
        y = df[qid].to_numpy(dtype=float)
        table, plan = means(df, y, breakdown, data.weighted, confidence)
        plans.append(plan)
        quartiles = {TOTAL: _quartiles(y)}
        for code, values in pd.Series(y).groupby(df[a.form].to_numpy()):
            quartiles[str(code)] = _quartiles(values.to_numpy())
        empty = _quartiles(np.zeros(0))
        table[["q1", "median", "q3"]] = np.array([quartiles.get(str(v), empty) for v in table[a.form]]).reshape(
            len(table), 3
        )
        hidden = table["suppressed"].to_numpy(dtype=bool)
        table.loc[hidden, ["q1", "median", "q3"]] = np.nan
        table.insert(0, "measure", measure)
        parts.append(table)
    frame = pd.concat(parts, ignore_index=True)
    frame["method"] = frame["method"] + "; quartiles: sample quantiles (unweighted)"
    frame = add_labels(frame, data.codebook, [a.form])
    frame = sort_cells(frame, {a.form: category_order([o.code for o in data.codebook.categories(a.form)])}, ["measure"])
    return ResultTable(
        name="population_by_form",
        title="Population covered and member practices, by form",
        frame=frame,
        description="Registered population covered by the collaboration and number of member practices, "
        "as reported by collaborating practices: mean with interval, median and quartiles.",
        method=frame["method"].iloc[0] if len(frame) else "",
        confidence=confidence,
        rule=survey_rule(),
        plans=tuple(plans),
    )


def _quartiles(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.quantile(values, [0.25, 0.5, 0.75])] if values.size else [np.nan] * 3


def same_commissioner(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable:
    assert a.same_commissioner
    dims = [a.form] if a.form else []
    breakdown = Breakdown.by(a.form) if a.form else Breakdown.overall()
    mask = _collaborating(data, a) & data.frame[a.same_commissioner].notna()
    df = base_frame(data, mask, dims)
    y = (df[a.same_commissioner] == a.same_commissioner_code).to_numpy(dtype=float)
    table, plan = shares(df, {"same_commissioner": y}, breakdown, data.weighted, confidence, option_name="measure")
    if a.form:
        table = add_labels(table, data.codebook, [a.form])
        table = sort_cells(table, {a.form: category_order([o.code for o in data.codebook.categories(a.form)])})
    return ResultTable(
        name="same_commissioner",
        title="Member practices all under the same commissioner",
        frame=table,
        description="Share of collaborating practices whose collaboration's members all share one "
        "commissioner, overall and by form.",
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=(plan,),
    )


def _options_share(
    data: SurveyData, qid: str, mask: pd.Series, breakdown: Breakdown, confidence: float, weighted: bool = True
) -> tuple[pd.DataFrame, SuppressionPlan]:
    q = data.codebook.question(qid)
    assert isinstance(q, MultipleChoice)
    full = mask & data.answered(qid)
    df = base_frame(data, full, breakdown.dims)
    if not weighted:
        df[WEIGHT] = 1.0
    ind = {o.code: df[option_column(qid, o.code)].astype(float).to_numpy() for o in q.options}
    table, plan = shares(df, ind, breakdown, data.weighted and weighted, confidence, option_name="option")
    table.insert(
        table.columns.get_loc("option") + 1, "option_label", table["option"].map({o.code: o.display for o in q.options})
    )
    return table, plan


def reasons(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable:
    assert a.reasons
    table, plan = _options_share(data, a.reasons, _collaborating(data, a), Breakdown.overall(), confidence)
    table = table.drop(columns=["level"]).rename(columns={"option": "reason", "option_label": "reason_label"})
    order = {o.code: i for i, o in enumerate(data.codebook.question(a.reasons).options)}
    table["_o"] = table["reason"].map(order)
    table = table.sort_values(["share", "_o"], ascending=[False, True], na_position="last").drop(columns="_o")
    table.insert(0, "rank", np.where(table["suppressed"], np.nan, np.arange(1, len(table) + 1)))
    table["rank"] = table["rank"].astype("Int64")
    return ResultTable(
        name="reasons",
        title="Reasons for forming a collaboration, ranked",
        frame=table.reset_index(drop=True),
        description="Share of collaborating practices citing each reason (more than one could be chosen).",
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=(plan,),
    )


def achievements_by_band(
    data: SurveyData, a: CollaborationAnalysis, confidence: float, min_share: float
) -> ResultTable:
    assert a.achievements and a.maturity_band
    band = a.maturity_band
    mask = _collaborating(data, a) & data.frame[band].notna()
    table, plan = _options_share(data, a.achievements, mask, Breakdown.by(band), confidence, weighted=False)
    table = table.rename(columns={"option": "achievement", "option_label": "achievement_label"})
    meets = [
        pd.NA if hidden else meets_share(int(k), int(n), min_share)
        for hidden, k, n in zip(table["suppressed"], table["n_selected"].fillna(0), table["n"].fillna(0), strict=True)
    ]
    table["meets_min_share"] = pd.array(meets, dtype="boolean")
    table["min_share"] = min_share
    table = add_labels(table, data.codebook, [band])
    bands = [o.code for o in data.codebook.categories(band)]
    table = sort_cells(table, {band: category_order(bands)})
    table = table.rename(columns={band: "band", f"{band}_label": "band_label"})
    return ResultTable(
        name="achievements_by_band",
        title="Achievements by months since forming (all achievements)",
        frame=table,
        description=f"Share of collaborations in each maturity band citing each achievement; "
        f"meets_min_share marks those cited by at least {min_share:.0%} of the band (unweighted counts of "
        "collaborating practice respondents).",
        method=estimates.PROPORTION_METHOD + " (unweighted)",
        confidence=confidence,
        rule=survey_rule(),
        plans=(plan,),
    )


def table1(full: ResultTable, min_share: float) -> ResultTable:
    """The study's Table 1 layout: per band, achievements cited by at least ``min_share``, most cited first."""
    t = full.frame
    rows = []
    for band_code, part in t[t["band"] != TOTAL].groupby("band", sort=False):
        hidden = bool(part["suppressed"].iloc[0])
        base = {
            "band": band_code,
            "band_label": part["band_label"].iloc[0],
            "band_n": pd.NA if hidden else int(part["n"].iloc[0]),
        }
        if hidden:
            rows.append(
                {
                    **base,
                    "rank": pd.NA,
                    "achievement": pd.NA,
                    "achievement_label": pd.NA,
                    "n": pd.NA,
                    "share": np.nan,
                    "lower": np.nan,
                    "upper": np.nan,
                    "suppressed": True,
                    "suppression": part["suppression"].iloc[0],
                }
            )
            continue
        listed = part[part["meets_min_share"].fillna(False).astype(bool)]
        listed = listed.sort_values(["n_selected", "achievement"], ascending=[False, True], kind="stable")
        for rank, r in enumerate(listed.itertuples(index=False), start=1):
            rows.append(
                {
                    **base,
                    "rank": rank,
                    "achievement": r.achievement,
                    "achievement_label": r.achievement_label,
                    "n": int(r.n_selected),
                    "share": r.share,
                    "lower": r.lower,
                    "upper": r.upper,
                    "suppressed": False,
                    "suppression": "",
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "band",
            "band_label",
            "band_n",
            "rank",
            "achievement",
            "achievement_label",
            "n",
            "share",
            "lower",
            "upper",
            "suppressed",
            "suppression",
        ],
    )
    for c in ("band_n", "rank", "n"):
        frame[c] = frame[c].astype("Int64")
    frame["min_share"] = min_share
    frame["method"] = full.method
    frame["confidence"] = full.confidence
    frame["suppression_rule"] = full.rule
    return ResultTable(
        name="table1",
        title=f"Table 1: achievements cited by at least {min_share:.0%} of collaborations, by months since forming",
        frame=frame,
        description="For each maturity band, every achievement cited by at least "
        f"{min_share:.0%} of the collaborations in that band, most cited first, with the number citing it "
        "(n) and the band's number of collaborations.",
        method=full.method,
        confidence=full.confidence,
        rule=full.rule,
        plans=full.plans,
    )


def support_needed(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> list[ResultTable]:
    assert a.support_needed
    rt = a.respondent_type
    mask = data.frame[rt].notna()
    table, plan = _options_share(data, a.support_needed, mask, Breakdown.by(rt), confidence)
    table = add_labels(table, data.codebook, [rt])
    table = sort_cells(table, {rt: category_order([o.code for o in data.codebook.categories(rt)])})
    main = ResultTable(
        name="support_needed",
        title="Support needed, by respondent type",
        frame=table,
        description="Share of respondents citing each kind of support their collaboration needs (practices) "
        "or collaborations in their area need (commissioners).",
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=(plan,),
    )
    p = table[table[rt] == a.practice_code].set_index("option")
    c = table[table[rt] == a.commissioner_code].set_index("option")
    diff = pd.DataFrame({"option": p.index, "option_label": p["option_label"].to_numpy()})
    pp, cc = p.reindex(diff["option"]), c.reindex(diff["option"])
    d, lo, hi = estimates.newcombe_difference(
        pp["share"].to_numpy(dtype=float),
        pp["lower"].to_numpy(dtype=float),
        pp["upper"].to_numpy(dtype=float),
        cc["share"].to_numpy(dtype=float),
        cc["lower"].to_numpy(dtype=float),
        cc["upper"].to_numpy(dtype=float),
    )
    pv = estimates.two_proportion_p(
        pp["share"].to_numpy(dtype=float),
        pp["n_eff"].to_numpy(dtype=float),
        cc["share"].to_numpy(dtype=float),
        cc["n_eff"].to_numpy(dtype=float),
    )
    diff["practice_share"] = pp["share"].to_numpy(dtype=float)
    diff["commissioner_share"] = cc["share"].to_numpy(dtype=float)
    diff["difference"] = d
    diff["lower"] = lo
    diff["upper"] = hi
    diff["p_value"] = pv
    diff["q_value"] = estimates.benjamini_hochberg(pv)
    diff["significant"] = pd.array(
        [pd.NA if np.isnan(q) else bool(q < 1 - confidence) for q in diff["q_value"]], dtype="boolean"
    )
    diff["suppressed"] = pp["suppressed"].fillna(True).to_numpy(dtype=bool) | cc["suppressed"].fillna(True).to_numpy(
        dtype=bool
    )
    diff["method"] = f"{estimates.DIFFERENCE_METHOD}; {estimates.TEST_METHOD}"
    diff["confidence"] = confidence
    diff["suppression_rule"] = survey_rule()
    return [
        main,
        ResultTable(
            name="support_difference",
            title="Support needed: practices minus commissioners",
            frame=diff,
            description="Difference in the share citing each kind of support (practice minus commissioner), "
            "with q-values controlling the false discovery rate over the options.",
            method=diff["method"].iloc[0] if len(diff) else "",
            confidence=confidence,
            rule=survey_rule(),
            plans=(plan,),
        ),
    ]


def likert_tables(data: SurveyData, a: CollaborationAnalysis, confidence: float) -> ResultTable | None:
    items = [q.id for q in data.codebook.questions if isinstance(q, Likert)]
    if not items:
        return None
    breakdown = Breakdown.by(a.maturity_band) if a.maturity_band else Breakdown.overall()
    parts, plans = [], []
    for qid in items:
        mask = data.frame[a.maturity_band].notna() if a.maturity_band else None
        table, plan = likert_distribution(data, qid, breakdown, confidence, mask=mask)
        parts.append(table)
        plans.append(plan)
    frame = pd.concat(parts, ignore_index=True)
    if a.maturity_band:
        frame = add_labels(frame, data.codebook, [a.maturity_band])
    return ResultTable(
        name="likert",
        title="Views of the collaboration (Likert items)",
        frame=frame,
        description="Distribution of answers on each scale item, overall and by months since forming.",
        method=estimates.proportion_method(data.weighted),
        confidence=confidence,
        rule=survey_rule(),
        plans=tuple(plans),
    )
