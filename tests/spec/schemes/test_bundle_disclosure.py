"""A scheme bundle through the disclosure gate: a member's suppressed counts cannot be worked out.

The attacker here is independent of the gate's own audit: it writes every count the bundle publishes
(members' own counts, network totals, "network without this member" totals, in any table) as a linear
equation in the members' unknown counts, and asks, by least squares on that system, whether a hidden
count is determined by the published ones. Values and money are checked separately: a row whose counts
are hidden shows no value that rests on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpscale.disclosure import REASON_COLUMN, SUPPRESSED_COLUMN
from gpscale.evaluate.registry import REGISTRY
from gpscale.evaluate.schemes import score_scheme
from gpscale.evaluate.schemes.bundle import WITHHELD, scheme_bundle
from tests.spec.schemes.networks import BEFORE, NOW, VALUES, make_inputs, scheme

TWO_TARGETS = """
contract: {per_network: "10000.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 79}
    reward: {contract_share: "0.5"}
  - indicator: pp
    id: pp_up
    target: {type: improvement, by: 2}
    reward: {amount: "500.50"}
"""


def _small_a() -> list[tuple]:
    """The hand-worked networks with practice A's numerator now 3 of 50 (a count under 5)."""
    return [("pp", "A", NOW, 3, 50) if (v[0], v[1], v[2]) == ("pp", "A", NOW) else v for v in VALUES]


def _published_equations(tables: dict[str, pd.DataFrame], col: str, unknowns: list[tuple[str, str]]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Each published count in ``col`` as a row over the members' unknown counts (practice, period)."""
    index = {u: i for i, u in enumerate(unknowns)}
    rows, values = [], []
    pv = tables["practice_values"]
    for r in pv[pv["indicator_id"] == "pp"].itertuples():
        if pd.notna(getattr(r, col)):
            v = np.zeros(len(unknowns))
            v[index[(r.practice_code, r.period)]] = 1
            rows.append(v)
            values.append(getattr(r, col))
    co = tables["scheme_contributions"]
    for r in co[co["indicator_id"] == "pp"].itertuples():
        if pd.notna(getattr(r, col)):
            v = np.zeros(len(unknowns))
            v[index[(r.practice_code, r.period)]] = 1
            rows.append(v)
            values.append(getattr(r, col))
    cells = tables["scheme_cells"]
    members = {g: sorted({p for p, _ in unknowns if p in m}) for g, m in
               {"N1": "ABC", "N2": "DE"}.items()}
    for r in cells.itertuples():
        if pd.isna(getattr(r, col)):
            continue
        v = np.zeros(len(unknowns))
        for p in members[r.group_id]:
            if p != r.practice_code:
                v[index[(p, r.period)]] = 1
        rows.append(v)
        values.append(getattr(r, col))
    sc = tables["scheme_scores"]
    for r in sc.itertuples():  # a score row repeats its network cell's counts
        if pd.notna(getattr(r, col)):
            v = np.zeros(len(unknowns))
            for p in members[r.group_id]:
                v[index[(p, r.period)]] = 1
            rows.append(v)
            values.append(getattr(r, col))
    return np.array(rows), np.array(values, dtype=float)


def _determined(a: np.ndarray, k: int) -> bool:
    """True when unknown ``k`` is fixed by the equations ``a x = b`` (its unit vector is in a's row space)."""
    e = np.zeros(a.shape[1])
    e[k] = 1
    coef, *_ = np.linalg.lstsq(a.T, e, rcond=None)
    return bool(np.allclose(a.T @ coef, e, atol=1e-9))


@pytest.fixture(scope="module")
def bundle():
    inputs = make_inputs(values=_small_a())
    return scheme_bundle(score_scheme(scheme(TWO_TARGETS), inputs), inputs)


def test_the_small_count_is_hidden_everywhere_it_appears(bundle):
    t = bundle.tables
    a = t["practice_values"].query("practice_code == 'A' and period == @NOW")
    assert a[SUPPRESSED_COLUMN].all() and a["numerator"].isna().all() and a["value"].isna().all()
    ca = t["scheme_contributions"].query("practice_code == 'A'")
    assert ca[SUPPRESSED_COLUMN].all() and ca["numerator"].isna().all() and ca["practice_value"].isna().all()


@pytest.mark.parametrize("col", ["numerator", "denominator"])
def test_no_hidden_count_is_a_sum_or_difference_of_published_ones(bundle, col):
    t = bundle.tables
    unknowns = [(p, per) for per in (NOW, BEFORE) for p in "ABCDE"]
    a, _b = _published_equations(t, col, unknowns)
    hidden = t["practice_values"][t["practice_values"][SUPPRESSED_COLUMN]]
    assert not hidden.empty
    for r in hidden.itertuples():
        assert not _determined(a, unknowns.index((r.practice_code, r.period))), (r.practice_code, r.period)
    # the naive attacks in particular: network less the other members, network less "without A"
    cells = t["scheme_cells"].set_index("entity_id")
    n1, wo = cells.loc["N1|pp", col], cells.loc["N1|pp|-A", col]
    others = t["practice_values"].query("period == @NOW and practice_code in ['B', 'C']")[col]
    assert pd.isna(n1) or pd.isna(wo)
    assert pd.isna(n1) or others.isna().any()


def test_a_hidden_row_shows_no_value_resting_on_it(bundle):
    for name, frame in bundle.tables.items():
        spec = REGISTRY[name]
        if not spec.gated or SUPPRESSED_COLUMN not in frame:
            continue
        hid = frame[frame[SUPPRESSED_COLUMN].astype(bool)]
        for c in (*spec.counts, *spec.protect):
            if c in hid:
                assert hid[c].isna().all(), (name, c)
        assert (hid[REASON_COLUMN] != "").all()
    # a network with a hidden target row has its totals withheld (they would give the hidden payment back)
    sc, tot = bundle.tables["scheme_scores"], bundle.tables["scheme_totals"].set_index("group_id")
    for gid in sc.loc[sc[SUPPRESSED_COLUMN], "group_id"]:
        assert tot.loc[gid, SUPPRESSED_COLUMN] and tot.loc[gid, REASON_COLUMN] == WITHHELD
        assert pd.isna(tot.loc[gid, "payment_pence"])


def test_nothing_small_means_nothing_hidden():
    inputs = make_inputs()
    b = scheme_bundle(score_scheme(scheme(TWO_TARGETS), inputs), inputs)
    assert b.log.empty
    assert not b.tables["scheme_scores"][SUPPRESSED_COLUMN].any()
    assert b.tables["scheme_totals"]["payment_pence"].notna().all()
