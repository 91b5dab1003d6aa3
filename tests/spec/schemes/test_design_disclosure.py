"""The design aid in a scheme bundle gives nothing away about a network the disclosure gate hides.

Network N2's members D and E have counts under 5, so the gate hides N2's rows (its value, payment and
totals). The design aid summarises every network (total and percentiles of payments, share meeting each
target, a histogram, a sweep whose default step is the networks' spread), and each of those, less the
published network N1, would give N2's figures back. Two checks:

* non-interference: changing N2's hidden counts (and so its value and payment) changes none of the design
  aid's published tables or charts, so nothing in them can be a function of the hidden network's values;
* the direct attack: N2's true payment is not among the design figures, nor the total less N1's
  published payment, and the sweep's step does not give N2's achievement from N1's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gpscale.disclosure import SUPPRESSED_COLUMN
from gpscale.evaluate.schemes import design
from gpscale.evaluate.schemes.bundle import scheme_bundle
from tests.spec.schemes.networks import NOW, VALUES, make_inputs, scheme

DESIGN_TABLES = ("scheme_design_distribution", "scheme_design_targets", "scheme_design_sweep")

# N1 = A + B + C: 275 / 350 = 78.57% of pp, £1,000.00 + 10 points x 38.57 / 40 = £964.29 (published)
DRAFT = """
point_value: {amount: "100.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 70}
    reward: {amount: "1000.00"}
  - indicator: pp
    id: pp_thresholds
    target: {type: thresholds, lower: 40, upper: 80}
    reward: {points: 10}
"""


def _small_n2(d_numerator: int):
    """The hand-worked networks with N2's pp counts small: D ``d_numerator`` of 2, E 1 of 2."""
    small = {"D": ("pp", "D", NOW, d_numerator, 2), "E": ("pp", "E", NOW, 1, 2)}
    values = [small[v[1]] if v[0] == "pp" and v[2] == NOW and v[1] in small else v for v in VALUES]
    inputs = make_inputs(values=values)
    aid = design(scheme(DRAFT), inputs, draws=500)
    return aid, scheme_bundle(aid.score, inputs, aid.forecast, aid)


@pytest.fixture(scope="module")
def pair():
    # N2 = 3 / 4 = 75%: standard met, 35/40 of the points; then 2 / 4 = 50%: not met, 10/40 of the points
    return _small_n2(2), _small_n2(1)


def test_a_network_is_hidden_and_left_out_of_the_design_aid(pair):
    (_aid, b), _ = pair
    hidden = set()
    for t in ("scheme_scores", "scheme_contributions", "scheme_totals"):
        f = b.tables[t]
        hidden |= set(f.loc[f[SUPPRESSED_COLUMN].astype(bool), "group_id"])
    assert hidden == {"N2"}
    assert b.tables["scheme_totals"].set_index("group_id")["payment_pence"].isna().to_dict() == {"N1": False,
                                                                                               "N2": True}
    for name in DESIGN_TABLES:
        assert (b.tables[name]["n_networks_left_out"] == 1).all(), name
    dist = b.tables["scheme_design_distribution"].set_index("basis")
    assert dist.loc["scored", "n_networks"] == 1
    assert dist.loc["scored", "total_pence"] == 100_000 + 96_429  # N1 alone


def test_the_hidden_count_changes_nothing_the_design_aid_publishes(pair):
    (aid_a, b_a), (aid_b, b_b) = pair
    # the hidden network's own result does change with A's count ...
    n2 = [a.score.totals.set_index("group_id").loc["N2", "payment_pence"] for a in (aid_a, aid_b)]
    assert n2 == [187_500, 25_000]
    # ... but no published design table or chart does
    for name in DESIGN_TABLES:
        pd.testing.assert_frame_equal(b_a.tables[name], b_b.tables[name], obj=name)
    hidden = {"N2"}
    for c_a, c_b in zip(aid_a.without(hidden).charts, aid_b.without(hidden).charts, strict=True):
        pd.testing.assert_frame_equal(c_a.data, c_b.data, obj=c_a.id)


def test_the_hidden_payment_is_not_a_design_figure_nor_the_total_less_the_published(pair):
    (aid, b), _ = pair
    n2 = aid.score.totals.set_index("group_id").loc["N2", "payment_pence"]
    n1 = b.tables["scheme_totals"].set_index("group_id").loc["N1", "payment_pence"]
    dist = b.tables["scheme_design_distribution"]
    scored = dist[dist["basis"] == "scored"].iloc[0]
    figures = {int(v) for k, v in scored.items() if str(k).endswith("_pence") and pd.notna(v)}
    assert n2 not in figures and n2 != int(scored["total_pence"]) - n1
    # the default sweep step is a quarter of the spread of the networks' achievement: over N1 alone there is
    # no spread, so the grid is the scheme's own target and says nothing about N2's achievement
    assert b.tables["scheme_design_sweep"]["shift"].eq(0).all()
