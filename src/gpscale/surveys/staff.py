"""Analyses of the staff survey of large-scale general practice organisations.

Tables:

* ``respondents``: respondents by role, group and site (the shape of the survey).
* ``items_by_role``: each Likert item's share positive (e.g. satisfied or very satisfied) and mean score
  by role, with intervals; ``likert_by_role``: the full distribution (diverging bars).
* ``domains``: domain scores (the mean of a respondent's items in the domain, when they answered at
  least ``min_items``, default half) by role, by group, by group and role, and by site within group:
  mean score with a t interval and share positive (domain score above the scale midpoint) with a Wilson
  interval.
* ``role_comparisons``: each role against all other staff, for every item and domain share positive:
  Newcombe difference interval, z test, and Benjamini-Hochberg q-values across the whole table.
* ``engagement``: engagement with the respondent's own practice versus the wider organisation, by role
  and by group: both domain means and the paired difference (within respondent) with a t interval.

Roles are those of the codebook (GP partner, salaried GP, nurse, receptionist, administrator, manager,
other in the standard codebook). Every breakdown shares one suppression plan per statistic across all the
levels it is published at, so a hidden group-by-role cell cannot be recovered from the group total and
the other roles, nor from the role total and the other groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpscale.disclosure import SURVEY_MIN_RESPONDENTS, TOTAL, SuppressionPlan, survey_rule
from gpscale.surveys import estimates
from gpscale.surveys.analyses import ResultTable, base_frame, likert_items, means, option_sums, shares
from gpscale.surveys.cells import Breakdown, add_labels, category_order, cell_sums, plan, sort_cells
from gpscale.surveys.codebook import Likert, StaffAnalysis
from gpscale.surveys.responses import SurveyData


def _analysis(data: SurveyData) -> StaffAnalysis:
    a = data.codebook.analysis
    if not isinstance(a, StaffAnalysis):
        raise ValueError("the codebook's analysis section is not kind: staff")
    return a


def staff_breakdown(a: StaffAnalysis) -> Breakdown:
    """Overall, by role, and where given by group, group and role, and site within group."""
    dims = tuple(d for d in (a.group, a.site, a.role) if d)
    groupings: list[tuple[str, ...]] = [(), (a.role,)]
    if a.group:
        groupings += [(a.group,), (a.group, a.role)]
    if a.group and a.site:
        groupings.append((a.group, a.site))
    return Breakdown(dims, tuple(groupings))


def _orders(data: SurveyData, a: StaffAnalysis, dims: tuple[str, ...]) -> dict[str, dict[str, int]]:
    orders: dict[str, dict[str, int]] = {}
    for d in dims:
        if d == a.role:
            orders[d] = category_order([o.code for o in data.codebook.categories(a.role)])
        else:
            orders[d] = category_order(sorted(data.frame[d].dropna().astype(str).unique()))
    return orders


def analyse_staff(data: SurveyData, confidence: float = 0.95) -> list[ResultTable]:
    """All staff-survey tables for ``data`` (its codebook must have a staff analysis)."""
    a = _analysis(data)
    tables = [respondents(data, a)]
    items = _items(data)
    if items:
        tables.extend(items_by_role(data, a, items, confidence))
    if data.codebook.domains:
        dom = domains(data, a, confidence)
        tables.append(dom)
        tables.append(role_comparisons(data, a, items, confidence))
        if a.engagement_practice and a.engagement_organisation:
            tables.append(engagement(data, a, confidence))
    return tables


def _items(data: SurveyData) -> list[str]:
    in_domains = [i for d in data.codebook.domains for i in d.items]
    others = [q.id for q in data.codebook.questions if isinstance(q, Likert) and q.id not in in_domains]
    return list(dict.fromkeys([*in_domains, *others]))


def respondents(data: SurveyData, a: StaffAnalysis) -> ResultTable:
    breakdown = staff_breakdown(a)
    df = base_frame(data, pd.Series(True, index=data.frame.index), breakdown.dims)
    table = cell_sums(df, breakdown, [])
    p = plan(df, breakdown)
    table = p.apply(table, [])
    table["method"] = "count of respondents"
    table["confidence"] = np.nan
    table["suppression_rule"] = p.rule
    table = add_labels(table, data.codebook, list(breakdown.dims))
    table = sort_cells(table, _orders(data, a, breakdown.dims))
    return ResultTable(
        name="respondents",
        title="Respondents by role, group and site",
        frame=table,
        description="Number of staff responding.",
        method="count",
        rule=p.rule,
        plans=(p,),
    )


def items_by_role(data: SurveyData, a: StaffAnalysis, items: list[str], confidence: float) -> list[ResultTable]:
    breakdown = Breakdown.by(a.role)
    summary, dist, plans = likert_items(data, items, breakdown, confidence)
    orders = _orders(data, a, (a.role,))
    summary = sort_cells(add_labels(summary, data.codebook, [a.role]), orders, [])
    item_order = {q: i for i, q in enumerate(items)}
    summary = summary.sort_values(["question"], key=lambda s: s.map(item_order), kind="stable")
    dist = add_labels(dist, data.codebook, [a.role])
    method = summary["method"].iloc[0] if len(summary) else ""
    return [
        ResultTable(
            name="items_by_role",
            title="Satisfaction and engagement items by role",
            frame=summary,
            description="Share answering positively (the scale's top points) and mean score (points coded "
            "1 upwards) on each item, by role.",
            method=method,
            confidence=confidence,
            rule=survey_rule(),
            plans=tuple(plans),
        ),
        ResultTable(
            name="likert_by_role",
            title="Distribution of answers by role",
            frame=dist,
            description="Share giving each answer, by role (the data behind the diverging bar charts).",
            method=estimates.proportion_method(data.weighted),
            confidence=confidence,
            rule=survey_rule(),
            plans=tuple(plans),
        ),
    ]


def domain_scores(data: SurveyData) -> pd.DataFrame:
    """Per respondent, each domain's score (mean of answered items) or NaN below the items needed."""
    out = pd.DataFrame(index=data.frame.index)
    for d in data.codebook.domains:
        scale = data.codebook.scale_of(data.codebook.question(d.items[0]))
        sub = {p.code for p in scale.substantive}
        vals = pd.DataFrame({i: data.frame[i].where(data.frame[i].isin(sub)).astype("Float64") for i in d.items})
        count = vals.notna().sum(axis=1)
        score = vals.mean(axis=1, skipna=True).astype(float)
        out[d.id] = score.where(count >= d.needed)
    return out


def _domain_table(
    data: SurveyData, scores: pd.Series, midpoint: float, breakdown: Breakdown, confidence: float
) -> tuple[pd.DataFrame, SuppressionPlan]:
    mask = scores.notna()
    df = base_frame(data, mask, breakdown.dims)
    y = scores[mask.to_numpy()].to_numpy(dtype=float)
    mean_t, p = means(df, y, breakdown, data.weighted, confidence)
    pos, _ = shares(df, {"positive": (y > midpoint).astype(float)}, breakdown, data.weighted, confidence)
    keys = [*breakdown.dims, "level"]
    table = mean_t[[*keys, "n", "mean", "lower", "upper", "n_eff", "suppressed", "suppression"]].rename(
        columns={"mean": "mean_score", "lower": "mean_lower", "upper": "mean_upper"}
    )
    table = table.merge(
        pos[[*keys, "n_selected", "share", "lower", "upper"]].rename(
            columns={
                "n_selected": "n_positive",
                "share": "share_positive",
                "lower": "share_lower",
                "upper": "share_upper",
            }
        ),
        on=keys,
        how="left",
        validate="1:1",
    )
    return table, p


def domains(data: SurveyData, a: StaffAnalysis, confidence: float) -> ResultTable:
    breakdown = staff_breakdown(a)
    scores = domain_scores(data)
    parts, plans = [], []
    for d in data.codebook.domains:
        scale = data.codebook.scale_of(data.codebook.question(d.items[0]))
        table, p = _domain_table(data, scores[d.id], scale.midpoint, breakdown, confidence)
        plans.append(p)
        table.insert(0, "domain", d.id)
        table.insert(1, "domain_label", d.label)
        table["positive_means"] = f"domain score above the scale midpoint ({scale.midpoint:g})"
        parts.append(table)
    frame = pd.concat(parts, ignore_index=True)
    frame = add_labels(frame, data.codebook, list(breakdown.dims))
    frame = sort_cells(
        frame,
        {
            "level": {lvl: i for i, lvl in enumerate([TOTAL, *["+".join(g) for g in breakdown.groupings if g]])},
            **_orders(data, a, breakdown.dims),
        },
    )
    frame = frame.sort_values(
        "domain", key=lambda s: s.map({d.id: i for i, d in enumerate(data.codebook.domains)}), kind="stable"
    ).reset_index(drop=True)
    frame["method"] = (
        f"mean: {estimates.mean_method(data.weighted)}; share positive: {estimates.proportion_method(data.weighted)}"
    )
    frame["confidence"] = confidence
    frame["suppression_rule"] = survey_rule()
    return ResultTable(
        name="domains",
        title="Domain scores by role, group and site",
        frame=frame,
        description="Mean domain score (1 = most negative point) and share of staff whose domain score is "
        "above the scale midpoint, overall, by role and, where given, by group, group and role, and site.",
        method=f"mean: {estimates.mean_method(data.weighted)}; share positive: "
        f"{estimates.proportion_method(data.weighted)}",
        confidence=confidence,
        rule=survey_rule(),
        plans=tuple(plans),
    )


def role_comparisons(data: SurveyData, a: StaffAnalysis, items: list[str], confidence: float) -> ResultTable:
    """Each role against all other respondents on every item and domain (share positive).

    Only roles visible in the by-role table are compared, and only against a rest of at least the
    threshold; the rest is the total minus the role, which the by-role table already shows.
    """
    scores = domain_scores(data)
    variables: list[tuple[str, str, str, pd.Series]] = []
    for dom in data.codebook.domains:
        scale = data.codebook.scale_of(data.codebook.question(dom.items[0]))
        s = scores[dom.id]
        variables.append(("domain", dom.id, dom.label, (s > scale.midpoint).astype(float).where(s.notna())))
    for qid in items:
        q = data.codebook.question(qid)
        scale = data.codebook.scale_of(q)
        v = data.frame[qid]
        sub = v.isin([p.code for p in scale.substantive]).fillna(False)
        variables.append(("item", qid, q.label, v.isin(scale.positive).fillna(False).astype(float).where(sub)))
    breakdown = Breakdown.by(a.role)
    roles = [o.code for o in data.codebook.categories(a.role)]
    parts = []
    for kind, vid, label, y in variables:
        mask = y.notna()
        df = base_frame(data, mask, breakdown.dims)
        sums = option_sums(df, {"positive": y[mask].to_numpy(dtype=float)}, breakdown)
        status = plan(df, breakdown).cells.set_index(a.role)["suppressed"]
        total = sums[sums["level"] == TOTAL]
        rows = sums[(sums["level"] == a.role) & ~sums[a.role].map(status).fillna(True).astype(bool)]
        if total.empty or rows.empty:
            continue
        rest = {c: total[c].iloc[0] - rows[c].to_numpy(dtype=float) for c in ("n", "sw", "sw2", "wy0", "k0")}
        keep = rest["n"] >= SURVEY_MIN_RESPONDENTS
        if not keep.any():
            continue
        rows = rows[keep]
        rest = {c: v[keep] for c, v in rest.items()}
        p1, n1, l1, u1 = estimates.proportion(
            rows["sw"].to_numpy(), rows["sw2"].to_numpy(), rows["wy0"].to_numpy(), confidence
        )
        p2, n2, l2, u2 = estimates.proportion(rest["sw"], rest["sw2"], rest["wy0"], confidence)
        diff, lo, hi = estimates.newcombe_difference(p1, l1, u1, p2, l2, u2)
        parts.append(
            pd.DataFrame(
                {
                    "variable_type": kind,
                    "variable": vid,
                    "variable_label": label,
                    a.role: rows[a.role].to_numpy(),
                    "n": rows["n"].to_numpy(dtype=np.int64),
                    "share_positive": p1,
                    "n_rest": rest["n"].astype(np.int64),
                    "share_rest": p2,
                    "difference": diff,
                    "lower": lo,
                    "upper": hi,
                    "p_value": estimates.two_proportion_p(p1, n1, p2, n2),
                }
            )
        )
    cols = [
        "variable_type",
        "variable",
        "variable_label",
        a.role,
        "n",
        "share_positive",
        "n_rest",
        "share_rest",
        "difference",
        "lower",
        "upper",
        "p_value",
    ]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    frame["q_value"] = estimates.benjamini_hochberg(frame["p_value"].to_numpy(dtype=float))
    frame["significant"] = frame["q_value"] < (1 - confidence)
    frame["direction"] = np.where(
        ~frame["significant"], "similar", np.where(frame["difference"] > 0, "more positive", "less positive")
    )
    frame = add_labels(frame, data.codebook, [a.role])
    frame = sort_cells(frame, {a.role: category_order(roles)})
    frame = frame.sort_values(["variable_type", "variable"], kind="stable").reset_index(drop=True)
    frame["method"] = f"{estimates.DIFFERENCE_METHOD}; {estimates.TEST_METHOD}"
    frame["confidence"] = confidence
    frame["suppression_rule"] = survey_rule() + "; roles hidden in the by-role table are not compared"
    return ResultTable(
        name="role_comparisons",
        title="Each role compared with all other staff",
        frame=frame,
        description="Difference in share positive between each role and all other respondents, with "
        "q-values controlling the false discovery rate across every comparison in the table.",
        method=f"{estimates.DIFFERENCE_METHOD}; {estimates.TEST_METHOD}",
        confidence=confidence,
        rule=survey_rule(),
    )


def engagement(data: SurveyData, a: StaffAnalysis, confidence: float) -> ResultTable:
    """Engagement with the own practice versus the wider organisation, paired within respondent."""
    assert a.engagement_practice and a.engagement_organisation
    scores = domain_scores(data)
    prac, org = scores[a.engagement_practice], scores[a.engagement_organisation]
    dims = tuple(d for d in (a.group, a.role) if d)
    groupings: list[tuple[str, ...]] = [(), (a.role,)] + ([(a.group,)] if a.group else [])
    breakdown = Breakdown(dims, tuple(groupings))
    mask = prac.notna() & org.notna()
    df = base_frame(data, mask, dims)
    scale = data.codebook.scale_of(data.codebook.question(data.codebook.domain(a.engagement_practice).items[0]))
    keys = [*dims, "level"]
    parts = {}
    for name, y in (
        ("practice", prac[mask].to_numpy(dtype=float)),
        ("organisation", org[mask].to_numpy(dtype=float)),
        ("difference", (prac - org)[mask].to_numpy(dtype=float)),
    ):
        t, p = means(df, y, breakdown, data.weighted, confidence)
        parts[name] = t.rename(columns={"mean": f"{name}_mean", "lower": f"{name}_lower", "upper": f"{name}_upper"})
    pos, _ = shares(
        df,
        {
            "practice": (prac[mask].to_numpy(dtype=float) > scale.midpoint).astype(float),
            "organisation": (org[mask].to_numpy(dtype=float) > scale.midpoint).astype(float),
        },
        breakdown,
        data.weighted,
        confidence,
    )
    frame = parts["practice"][
        [*keys, "n", "practice_mean", "practice_lower", "practice_upper", "suppressed", "suppression"]
    ]
    for name in ("organisation", "difference"):
        frame = frame.merge(
            parts[name][[*keys, f"{name}_mean", f"{name}_lower", f"{name}_upper"]], on=keys, validate="1:1"
        )
    for opt in ("practice", "organisation"):
        sel = pos[pos["option"] == opt][[*keys, "share"]].rename(columns={"share": f"{opt}_share_positive"})
        frame = frame.merge(sel, on=keys, validate="1:1")
    frame = add_labels(frame, data.codebook, list(dims))
    frame = sort_cells(
        frame,
        {
            "level": {lvl: i for i, lvl in enumerate([TOTAL, *["+".join(g) for g in groupings if g]])},
            **_orders(data, a, dims),
        },
    )
    method = (
        f"paired difference (practice minus organisation): {estimates.mean_method(data.weighted)}; "
        f"share positive: {estimates.proportion_method(data.weighted)}"
    )
    frame["method"] = method
    frame["confidence"] = confidence
    frame["suppression_rule"] = survey_rule()
    return ResultTable(
        name="engagement",
        title="Engagement with own practice and with the wider organisation",
        frame=frame,
        description="Mean engagement score with the respondent's own practice and with the wider "
        "organisation, and the within-respondent difference (positive: more engaged with the practice).",
        method=method,
        confidence=confidence,
        rule=survey_rule(),
        plans=(p,),
    )
