"""Unit tests of gpscale.disclosure: thresholds, primary and complementary suppression, the audit."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpscale import disclosure
from gpscale.disclosure import (
    COUNT_THRESHOLD,
    SURVEY_MIN_RESPONDENTS,
    TOTAL,
    attack,
    plan_suppression,
    recover_by_subtraction,
    rules,
    suppress_small_counts,
)
from gpscale.disclosure.pooled import decide_pooled
from gpscale.disclosure.vocabulary import HideRule


def test_thresholds_are_named_constants():
    assert COUNT_THRESHOLD == 5
    assert SURVEY_MIN_RESPONDENTS == 10
    assert "fewer than 10 respondents" in disclosure.survey_rule()
    assert "1 to 4" in disclosure.count_rule()


def test_suppress_small_counts_nulls_counts_one_to_four():
    frame = pd.DataFrame({"practice": list("ABCDE"), "events": [0, 1, 4, 5, 12], "rate": [0.0, 0.1, 0.4, 0.5, 1.2]})
    out = suppress_small_counts(frame, ["events"], ["rate"])
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    assert out["events"].isna().tolist() == [False, True, True, False, False]
    assert out["rate"].isna().tolist() == [False, True, True, False, False]
    assert out["suppression"].tolist() == ["", "primary", "primary", "", ""]
    # nulls, never zeros; the input is untouched
    assert frame["events"].tolist() == [0, 1, 4, 5, 12]
    zero = suppress_small_counts(frame, ["events"], suppress_zero=True)
    assert zero["suppressed"].tolist() == [True, True, True, False, False]


def one_dimension(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"role": list(counts), "n": list(counts.values())})


def status(plan: disclosure.SuppressionPlan) -> dict[tuple[str, ...], str]:
    return {tuple(r[list(plan.dims)]): r["suppression"] for _, r in plan.cells.iterrows()}


def test_one_small_part_hides_the_next_smallest_too():
    plan = plan_suppression(
        one_dimension({"gp": 40, "nurse": 4, "admin": 15, "manager": 12}), ["role"], [(), ("role",)]
    )
    assert status(plan) == {
        (TOTAL,): "",
        ("admin",): "",
        ("gp",): "",
        ("manager",): "complementary",
        ("nurse",): "primary",
    }
    assert plan.n_primary == 1 and plan.n_complementary == 1
    assert plan.audit.ran and plan.audit.revealed == 0


def test_two_small_parts_together_under_the_threshold_hide_a_third():
    # nurse + manager = 7 would be known as total minus the rest: a group of 7 revealed
    plan = plan_suppression(one_dimension({"gp": 40, "nurse": 4, "manager": 3, "admin": 15}), ["role"], [(), ("role",)])
    assert status(plan)[("admin",)] == "complementary"
    assert status(plan)[("gp",)] == ""


def test_no_total_published_means_no_complementary_suppression():
    plan = plan_suppression(one_dimension({"gp": 40, "nurse": 4}), ["role"], [("role",)])
    assert status(plan) == {("gp",): "", ("nurse",): "primary"}


def test_small_total_is_hidden_with_all_its_parts():
    plan = plan_suppression(one_dimension({"gp": 3, "nurse": 4}), ["role"], [(), ("role",)])
    assert set(status(plan).values()) == {"primary"}


def test_two_way_table_with_margins():
    base = pd.DataFrame({"site": list("AAABBB"), "role": ["gp", "nurse", "admin"] * 2, "n": [12, 4, 20, 15, 11, 30]})
    plan = plan_suppression(base, ["site", "role"], [(), ("role",), ("site",), ("site", "role")])
    hidden = {k for k, v in status(plan).items() if v}
    # nurse at A is primary; its row needs a partner (gp at A, 12 is the smallest), then each
    # column needs a second hidden cell (gp at B, nurse at B)
    assert hidden == {("A", "nurse"), ("A", "gp"), ("B", "gp"), ("B", "nurse")}
    assert attack(plan).empty
    published = plan.apply(plan.cells.drop(columns=["suppressed", "suppression"]), [])
    assert recover_by_subtraction(published, ["site", "role"], "n").empty


def test_nested_sites_within_groups_and_single_site_groups():
    # group H has one site, so "group H" and "site H1" are the same people: both must share a status
    base = pd.DataFrame(
        {
            "group": ["G", "G", "G", "H", "H"],
            "site": ["G1", "G2", "G3", "H1", "H1"],
            "role": ["gp", "gp", "nurse", "gp", "nurse"],
            "n": [20, 6, 15, 5, 3],
        }
    )
    plan = plan_suppression(
        base, ["group", "site", "role"], [(), ("role",), ("group",), ("group", "role"), ("group", "site")]
    )
    s = status(plan)
    assert s[("H", TOTAL, TOTAL)] == "primary" and s[("H", "H1", TOTAL)] == "primary"
    assert s[("G", "G2", TOTAL)] == "primary"
    assert s[("G", "G3", TOTAL)] == "complementary"  # the smallest other site of G
    assert attack(plan).empty


def test_apply_nulls_hidden_rows_and_refuses_unplanned_cells():
    plan = plan_suppression(one_dimension({"gp": 40, "nurse": 4, "admin": 15}), ["role"], [(), ("role",)])
    table = pd.DataFrame(
        {
            "role": [TOTAL, "gp", "nurse", "admin", "nurse"],
            "n": [59, 40, 4, 15, 4],
            "share": [0.5, 0.6, 0.25, 0.4, 0.75],
            "option": ["a", "a", "a", "a", "b"],
        }
    )
    out = plan.apply(table, ["share"])
    assert out.loc[out["role"] == "nurse", ["n", "share"]].isna().all().all()
    assert out.loc[out["role"] == "gp", "share"].item() == 0.6
    assert out["option"].tolist() == ["a", "a", "a", "a", "b"]
    with pytest.raises(ValueError, match="not covered"):
        plan.apply(pd.DataFrame({"role": ["pharmacist"], "n": [3]}), [])


def test_attack_finds_what_primary_suppression_alone_leaves_open():
    plan = plan_suppression(one_dimension({"gp": 40, "nurse": 4, "admin": 15}), ["role"], [(), ("role",)])
    cells = plan.cells.copy()
    cells["suppressed"] = cells["suppression"] == "primary"  # undo the complementary suppression
    naive = dataclasses.replace(plan, cells=cells)
    assert attack(naive)["role"].tolist() == ["nurse"]
    table = naive.apply(cells.drop(columns=["suppressed", "suppression"]), [])
    recovered = recover_by_subtraction(table, ["role"], "n")
    assert recovered.to_dict("records") == [{"role": "nurse", "n": 4.0}]


def test_attack_sees_through_a_chain_of_equations():
    # 4x4 table with margins. Two hidden rectangles joined by one hidden "bridge" cell (r2, c3): every row
    # and column has at least two hidden cells, so no single equation gives anything away, yet
    # rows r1 + r2 minus columns c1 + c2 isolate the bridge. The one-equation-at-a-time rule misses this;
    # the audit in plan_suppression (and attack) does not.
    rows, cols = ["r1", "r2", "r3", "r4"], ["c1", "c2", "c3", "c4"]
    base = pd.DataFrame([{"r": r, "c": c, "n": 30} for r in rows for c in cols])
    plan = plan_suppression(base, ["r", "c"], [(), ("r",), ("c",), ("r", "c")])
    hide = {
        ("r1", "c1"),
        ("r1", "c2"),
        ("r2", "c1"),
        ("r2", "c2"),
        ("r3", "c3"),
        ("r3", "c4"),
        ("r4", "c3"),
        ("r4", "c4"),
        ("r2", "c3"),
    }
    cells = plan.cells.copy()
    cells["suppressed"] = [(a, b) in hide for a, b in zip(cells["r"], cells["c"], strict=True)]
    revealed = attack(dataclasses.replace(plan, cells=cells))
    assert revealed[["r", "c"]].values.tolist() == [["r2", "c3"]]
    equations = rules._equations([(), ("r",), ("c",), ("r", "c")], list(plan.membership))
    hidden = cells["suppressed"].to_numpy().copy()
    before = hidden.copy()
    rules._enforce_equations(
        equations, hidden, cells["n"].to_numpy(dtype=float), np.zeros(len(cells), dtype=int), SURVEY_MIN_RESPONDENTS
    )
    assert (hidden == before).all()  # the per-equation rule is satisfied, so only the audit catches it


def test_audit_repairs_what_the_equations_miss():
    # the same 4x4 layout with small cells that force hidden rectangles: whatever the pattern, the
    # finished plan survives the attack
    counts = {("r1", "c1"): 4, ("r2", "c2"): 3, ("r3", "c3"): 5, ("r4", "c4"): 2, ("r2", "c3"): 6}
    base = pd.DataFrame(
        [
            {"r": r, "c": c, "n": counts.get((r, c), 30)}
            for r in ["r1", "r2", "r3", "r4"]
            for c in ["c1", "c2", "c3", "c4"]
        ]
    )
    plan = plan_suppression(base, ["r", "c"], [(), ("r",), ("c",), ("r", "c")])
    assert plan.audit.ran and plan.audit.revealed == 0
    assert attack(plan).empty


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="margin label"):
        plan_suppression(one_dimension({TOTAL: 3, "gp": 20}), ["role"], [(), ("role",)])
    with pytest.raises(ValueError, match="not in"):
        plan_suppression(one_dimension({"gp": 20}), ["role"], [("site",)])
    with pytest.raises(ValueError, match="negative"):
        plan_suppression(one_dimension({"gp": -1}), ["role"], [("role",)])


def test_count_threshold_plan_for_indicator_tables():
    base = pd.DataFrame({"practice": ["A", "B", "C"], "n": [3, 40, 7]})
    plan = plan_suppression(base, ["practice"], [(), ("practice",)], threshold=COUNT_THRESHOLD)
    assert status(plan) == {(TOTAL,): "", ("A",): "primary", ("B",): "", ("C",): "complementary"}
    assert "1 to 4" in plan.rule


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=30), min_size=6, max_size=6),
    layout=st.sampled_from(["2x3", "nested"]),
)
def test_property_no_hidden_cell_is_recoverable(counts, layout):
    if layout == "2x3":
        keys = list(itertools.product(["a", "b"], ["x", "y", "z"]))
        base = pd.DataFrame({"d1": [k[0] for k in keys], "d2": [k[1] for k in keys], "n": counts})
        groupings = [(), ("d1",), ("d2",), ("d1", "d2")]
    else:  # sites nested in groups, crossed with a role; the finest level is not published
        keys = [
            ("g1", "s1", "x"),
            ("g1", "s2", "x"),
            ("g1", "s2", "y"),
            ("g2", "s3", "x"),
            ("g2", "s3", "y"),
            ("g2", "s4", "y"),
        ]
        base = pd.DataFrame(
            {"d1": [k[0] for k in keys], "site": [k[1] for k in keys], "d2": [k[2] for k in keys], "n": counts}
        )
        groupings = [(), ("d2",), ("d1",), ("d1", "d2"), ("d1", "site")]
    dims = ["d1", "d2"] if layout == "2x3" else ["d1", "site", "d2"]
    plan = plan_suppression(base, dims, groupings)
    cells = plan.cells
    # every small cell is hidden
    small = (cells["n"] > 0) & (cells["n"] < SURVEY_MIN_RESPONDENTS)
    assert cells.loc[small, "suppressed"].all()
    # no hidden cell is a linear combination of visible ones, checked by rank, independently
    finest = base[base["n"] > 0][dims].astype(str).reset_index(drop=True)
    if finest.empty:  # nobody at all: no cells to publish
        assert cells.empty
        return

    def vec(r: pd.Series) -> np.ndarray:
        m = np.ones(len(finest), dtype=bool)
        for d in dims:
            if r[d] != TOTAL:
                m &= (finest[d] == r[d]).to_numpy()
        return m.astype(float)

    visible = np.array([vec(r) for _, r in cells[~cells["suppressed"]].iterrows()]).reshape(-1, len(finest))
    rank = np.linalg.matrix_rank(visible) if len(visible) else 0
    for _, r in cells[cells["suppressed"]].iterrows():
        assert np.linalg.matrix_rank(np.vstack([visible, vec(r)])) > rank


# --------------------------------------------------------------------------- pooled indicator counts


# ------------------------------------------------------------------------------------------------ pooled counts


def _world(counts: dict[str, float], groups: dict[str, list[str]], denominators: dict[str, float] | None = None,
           value_type: str = "proportion") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Practice rows, entity rows (each group's and England's sums) and members for one indicator-year."""
    den = denominators or {p: 100.0 for p in counts}
    practice = pd.DataFrame({"indicator_id": "x", "practice_code": list(counts), "period": "FY2020/21",
                             "period_type": "fy", "numerator": list(counts.values()),
                             "denominator": [den[p] for p in counts]})
    rows = [("england", "E92000001", sum(counts.values()), sum(den.values()))]
    rows += [("group", g, sum(counts[p] for p in m), sum(den[p] for p in m)) for g, m in groups.items()]
    entity = pd.DataFrame([{"entity_type": t, "entity_id": i, "indicator_id": "x", "period": "FY2020/21",
                            "period_type": "fy", "numerator": n, "denominator": d} for t, i, n, d in rows])
    members = pd.DataFrame([(g, p, "FY2020/21") for g, m in groups.items() for p in m],
                           columns=["group_id", "practice_code", "period"])
    return practice, entity, members


def _recoverable(practice: pd.DataFrame, entity: pd.DataFrame, groups: dict[str, list[str]],
                 hidden_p: np.ndarray, hidden_e: np.ndarray) -> list[str]:
    """The attacker, written independently of the gate: every published number is a sum of practice
    counts; a hidden practice count (or hidden total) is recoverable when its coefficient vector lies in
    the span of the published ones (rank does not grow when it is added)."""
    codes = list(practice["practice_code"])
    vec = {"E92000001": np.ones(len(codes))}
    vec.update({g: np.array([1.0 if c in m else 0.0 for c in codes]) for g, m in groups.items()})
    published = [np.eye(len(codes))[i] for i in range(len(codes)) if not hidden_p[i]]
    published += [vec[e] for e, h in zip(entity["entity_id"], hidden_e, strict=True) if not h]
    base = np.array(published) if published else np.zeros((0, len(codes)))
    rank = np.linalg.matrix_rank(base) if len(base) else 0
    out = []
    targets = [(codes[i], np.eye(len(codes))[i]) for i in range(len(codes)) if hidden_p[i]]
    targets += [(e, vec[e]) for e, h in zip(entity["entity_id"], hidden_e, strict=True) if h]
    for name, v in targets:
        if np.linalg.matrix_rank(np.vstack([base, v])) == rank:
            out.append(name)
    return out


def test_pooled_a_lone_small_member_takes_a_partner_with_it():
    groups = {"G": ["a", "b", "c", "d"]}
    p, e, m = _world({"a": 3, "b": 20, "c": 15, "d": 30}, groups)
    res = decide_pooled(p, e, m, {"x": "proportion"})
    assert res.practice_hidden[0] and res.practice_hidden.sum() >= 2
    assert res.practice_rule[0] == HideRule.COUNT
    assert not _recoverable(p, e, groups, res.practice_hidden, res.entity_hidden)


def test_pooled_overlapping_groups_are_attacked_together():
    # a federation across two PCNs: F - (PCN hidden parts) would give a hidden count away
    groups = {"P1": ["a", "b", "c"], "P2": ["d", "e", "f"], "F": ["a", "d"]}
    p, e, m = _world({"a": 2, "b": 30, "c": 40, "d": 25, "e": 3, "f": 50}, groups)
    res = decide_pooled(p, e, m, {"x": "proportion"})
    assert not _recoverable(p, e, groups, res.practice_hidden, res.entity_hidden)
    assert res.audited_blocks == 1 and not res.unaudited_blocks


def test_pooled_small_denominators_and_weighted_survey_counts_are_primary():
    groups = {"G": ["a", "b", "c"]}
    p, e, m = _world({"a": 0, "b": 20, "c": 15}, groups, {"a": 4, "b": 100, "c": 90})
    res = decide_pooled(p, e, m, {"x": "proportion"})
    assert res.practice_rule[0] == HideRule.DENOMINATOR  # a denominator of 4 with a numerator of 0
    p, e, m = _world({"a": 4.844, "b": 20.5, "c": 15.2}, groups, {"a": 14.0, "b": 100.0, "c": 90.0})
    res = decide_pooled(p, e, m, {"x": "weighted_proportion"})
    assert res.practice_rule[0] == HideRule.WEIGHTED  # 4.844 of 14 in a member funnel
    assert not _recoverable(p, e, groups, res.practice_hidden, res.entity_hidden)


def test_pooled_scores_carry_no_counts():
    groups = {"G": ["a", "b"]}
    p, e, m = _world({"a": 2, "b": 3}, groups, {"a": 559, "b": 559})
    res = decide_pooled(p, e, m, {"x": "score"})
    assert not res.practice_hidden.any() and not res.entity_hidden.any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=25), min_size=7, max_size=7),
       st.sampled_from(["nested", "overlap", "solo"]))
def test_property_no_pooled_count_is_recoverable(counts, layout):
    codes = list("abcdefg")
    groups = {
        "nested": {"P1": list("abc"), "P2": list("defg"), "F": list("abcdefg")},
        "overlap": {"P1": list("abc"), "P2": list("defg"), "F": list("adg"), "S": list("be")},
        "solo": {"P1": list("abcd"), "P2": list("efg"), "ONE": ["c"]},
    }[layout]
    p, e, m = _world(dict(zip(codes, counts, strict=True)), groups)
    res = decide_pooled(p, e, m, {"x": "proportion"})
    c = np.array(counts)
    assert res.practice_hidden[(c > 0) & (c < COUNT_THRESHOLD)].all()
    assert not _recoverable(p, e, groups, res.practice_hidden, res.entity_hidden)


def _blocks(counts: list[int], layout: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[list[pd.DataFrame]],
                                                    np.ndarray, np.ndarray]:
    """Four audit blocks (two indicators x two years) of the pooled world, rows of different blocks interleaved
    (each block's own order kept); returns the frames, each block's own frames and the block of each row."""
    codes = list("abcdefg")
    groups = {"P1": list("abc"), "P2": list("defg"), "F": list("adg"), "S": list("be")}
    if layout == "solo":
        groups = {"P1": list("abcd"), "P2": list("efg"), "ONE": ["c"]}
    parts = []
    for k, (ind, year) in enumerate(itertools.product(["x", "y"], ["FY2019/20", "FY2020/21"])):
        shifted = [(c * (k + 1) + k) % 26 for c in counts]  # each block its own counts
        p, e, m = _world(dict(zip(codes, shifted, strict=True)), groups)
        parts.append([f.assign(period=year, **({"indicator_id": ind} if "indicator_id" in f else {}))
                      for f in (p, e, m)])
    rng = np.random.default_rng(sum(counts))
    order_p = rng.permutation(np.repeat(np.arange(4), len(codes)))  # which block each practice row comes from
    order_e = rng.permutation(np.repeat(np.arange(4), len(parts[0][1])))
    practice = pd.concat([parts[b][0].iloc[[(order_p[:i] == b).sum()]] for i, b in enumerate(order_p)],
                         ignore_index=True)
    entity = pd.concat([parts[b][1].iloc[[(order_e[:i] == b).sum()]] for i, b in enumerate(order_e)],
                       ignore_index=True)
    members = pd.concat([m for _, _, m in parts], ignore_index=True)
    return practice, entity, members, parts, order_p, order_e


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=25), min_size=7, max_size=7), st.sampled_from(["overlap", "solo"]))
def test_property_blocks_interleaved_are_decided_as_each_alone(counts, layout):
    # the audit and the equations group rows by block once: rows of other blocks between a block's rows
    # change nothing, and each block gets what it gets when decided on its own
    practice, entity, members, alone, order_p, order_e = _blocks(counts, layout)
    res = decide_pooled(practice, entity, members, {"x": "proportion", "y": "proportion"})
    for b, (p, e, m) in enumerate(alone):
        own = decide_pooled(p, e, m, {"x": "proportion", "y": "proportion"})
        assert res.practice_hidden[order_p == b].tolist() == own.practice_hidden.tolist()
        assert res.practice_rule[order_p == b].tolist() == own.practice_rule.tolist()
        assert res.entity_hidden[order_e == b].tolist() == own.entity_hidden.tolist()
        assert res.entity_rule[order_e == b].tolist() == own.entity_rule.tolist()


def test_family_rows_take_each_cells_first_decision_in_any_row_order():
    from gpscale.disclosure.gate import TableSpec, _family_rows
    from gpscale.disclosure.vocabulary import CellFamily

    decision = pd.DataFrame({"unit_id": ["A", "A", "B", "A", "B"], "indicator_id": ["x", "x", "x", "y", "x"],
                             "period": ["2020", "2021", "2020", "2020", "2020"],
                             "hidden": [True, False, False, True, True], "rule": ["count", "", "", "denominator", "x"]})
    spec = TableSpec("t", "", ("practice_code", "indicator_id", "period", "n"), ("practice_code",),
                     CellFamily.PRACTICE, "practice_code", counts=("n",))
    frame = pd.DataFrame({"practice_code": ["A", "B", "A", "C", "C", "A", None],
                          "indicator_id": ["x", "x", "y", "x", "x", "x", "x"],
                          "period": [2020, 2020, 2020, 2020, 2020, 2021, 2020],  # as text, "2020" is "2020"
                          "n": [3.0, 10.0, 4.0, 7.0, np.nan, 20.0, 1.0]})
    hide, why = _family_rows(frame, spec, decision)
    # B's first decision (visible) holds; C carries a count for a cell the source lacks (unplanned), unless
    # it carries nothing; a row without a unit has no cell either
    assert hide.tolist() == [True, False, True, True, False, False, True]
    assert why.tolist() == ["count", "", "denominator", HideRule.UNPLANNED.value, "", "", HideRule.UNPLANNED.value]
    order = np.random.default_rng(0).permutation(len(frame))
    hide2, why2 = _family_rows(frame.iloc[order], spec, decision)
    assert hide2.tolist() == hide[order].tolist() and why2.tolist() == why[order].tolist()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=25), min_size=7, max_size=7), st.sampled_from(["overlap", "solo"]),
       st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4))
def test_property_enforcing_the_changed_equations_is_enforcing_them_all(counts, layout, extra):
    # after the equations settle, rows the audit hides can only unsettle their own equations: looking at
    # those alone ends where looking at every equation does
    from gpscale.disclosure.pooled import _enforce, _equations, _System

    practice, entity, members, *_ = _blocks(counts, layout)
    vt_p, vt_e = (f["indicator_id"].map({"x": "proportion", "y": "proportion"}) for f in (practice, entity))
    system = _System(*_equations(practice, entity, members, vt_p, vt_e))
    vectors = [np.concatenate([f[c].to_numpy(float) for f in (practice, entity)]) for c in ("numerator", "denominator")]
    hidden = (vectors[0] > 0) & (vectors[0] < COUNT_THRESHOLD)
    assert _enforce(hidden, vectors, system, COUNT_THRESHOLD)
    rows = np.array([r % hidden.size for r in extra])
    hidden[rows] = True
    only_changed, everything = hidden.copy(), hidden.copy()
    assert _enforce(only_changed, vectors, system, COUNT_THRESHOLD, rows)
    assert _enforce(everything, vectors, system, COUNT_THRESHOLD)
    assert only_changed.tolist() == everything.tolist()
