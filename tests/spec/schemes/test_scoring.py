"""Scheme scoring spec: achievement, thresholds, points, payment and member contributions, to the penny.

The networks are the little tables of :mod:`tests.spec.schemes.networks`; every expected value below is
worked by hand in the comments (pooled counts, never averages of percentages), not by calling the code.

    N1 now:    A 45/50 (90%)   B 70/100 (70%)   C 160/200 (80%)    pooled 275/350 = 78.5714% (11/14)
    N1 before: A 40/50         B 70/100         C 150/200          pooled 260/350 = 74.2857%
    N2 now:    D 60/100 (60%)  E 80/100 (80%)   F no data          pooled 140/200 = 70%
    N2 before: D 62/100        E 79/100                            pooled 141/200 = 70.5%
    rr (per 1,000, low is good) now: A 30/3000 (10)  B 20/2000 (10)  C 90/5000 (18)  -> N1 140/10000 = 14.0
                                     D 36/6000 (6)   E 52/4000 (13)                  -> N2  88/10000 =  8.8
    patients: N1 3,000 + 4,000 + 5,000 = 12,000;  N2 6,000 + 4,000 + 2,000 (F counts for money) = 12,000
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gpscale.evaluate.schemes import score_scheme
from tests.spec.schemes.networks import make_inputs, scheme


def rows(result, frame="scores"):
    return getattr(result, frame).set_index("group_id")


def member(result, group, practice, target=None):
    c = result.contributions
    c = c[(c["group_id"] == group) & (c["practice_code"] == practice)]
    if target:
        c = c[c["target_id"] == target]
    assert len(c) == 1
    return c.iloc[0]


def wilson(x, n, z=1.959963984540054):
    """Wilson score limits (Newcombe & Altman 2000), written out independently of gpscale.stats."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


STANDARD_79 = """
contract: {per_network: "10000.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 79}
    reward: {contract_share: 0.5}
"""


def test_network_standard_pools_counts_never_averages_percentages():
    r = score_scheme(scheme(STANDARD_79), make_inputs())
    n1 = rows(r).loc["N1"]
    # pooled 275/350 = 78.5714%: below 79, so not met, although the mean of A, B, C's percentages is 80%
    assert n1["achievement"] == pytest.approx(100 * 275 / 350)
    assert n1["numerator"] == 275 and n1["denominator"] == 350
    assert not n1["met"] and n1["payment_pence"] == 0
    # value available: 0.5 x £10,000 = £5,000.00
    assert n1["payment_available_pence"] == 500_000
    # Wilson 95% interval of 275/350: 73.97% to 82.55%, which contains 79: chance could decide it
    lo, hi = wilson(275, 350)
    assert (n1["value_lower"], n1["value_upper"]) == pytest.approx((100 * lo, 100 * hi))
    assert n1["target_in_interval"]
    # N2 is scored on D and E (F has no data and is left out): 140/200 = 70%
    n2 = rows(r).loc["N2"]
    assert n2["achievement"] == pytest.approx(70.0)
    assert (n2["n_members"], n2["n_counted"], n2["n_excluded"]) == (3, 2, 1)
    assert n2["excluded"] == "no data (1)"


def test_network_standard_member_contributions():
    r = score_scheme(scheme(STANDARD_79), make_inputs())
    # without A: 230/300 = 76.67% (still not met); without B: 205/250 = 82% (met, +£5,000.00);
    # without C: 115/150 = 76.67% (not met)
    a, b, c = (member(r, "N1", p) for p in "ABC")
    assert a["achievement_without"] == pytest.approx(100 * 230 / 300) and not a["met_without"]
    assert b["achievement_without"] == pytest.approx(82.0) and b["met_without"]
    assert b["payment_without_pence"] == 500_000 and b["payment_change_without_pence"] == 500_000
    assert c["achievement_without"] == pytest.approx(100 * 115 / 150) and c["payment_change_without_pence"] == 0
    # at the standard: A (90%) and C (80%) already meet 79, nothing changes; B raised to 79/100 gives
    # (45 + 79 + 160) / 350 = 284/350 = 81.14%: met, +£5,000.00
    assert a["achievement_at_standard"] == pytest.approx(100 * 275 / 350) and a["payment_change_at_standard_pence"] == 0
    assert b["achievement_at_standard"] == pytest.approx(100 * 284 / 350)
    assert b["met_at_standard"] and b["payment_change_at_standard_pence"] == 500_000
    assert (a["practice_meets"], b["practice_meets"], c["practice_meets"]) == (True, False, True)
    # only B decides the outcome
    assert (a["decisive"], b["decisive"], c["decisive"]) == (False, True, False)
    f = member(r, "N2", "F")
    assert f["status"] == "excluded: no data" and pd.isna(f["achievement_without"])


def test_equal_to_the_standard_counts_as_met_and_contract_per_patient():
    s = scheme("""
contract: {per_patient: "1.37"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 70}
    reward: {contract_share: 0.25}
""")
    r = rows(score_scheme(s, make_inputs()))
    # N2 is exactly 70% (140/200): met. Value: 0.25 x £1.37 x 12,000 patients = £4,110.00
    assert r.loc["N2", "met"] and r.loc["N2", "payment_pence"] == 411_000
    assert r.loc["N1", "met"] and r.loc["N1", "payment_pence"] == 411_000


IIF = """
point_value: {amount: "198.00", list_size_reference: 10000}
indicators:
  - indicator: pp
    target: {type: thresholds, lower: 60, upper: 90}
    reward: {points: 20}
"""


def test_thresholds_points_and_list_size_adjusted_payment():
    r = score_scheme(scheme(IIF), make_inputs())
    n1, n2 = rows(r).loc["N1"], rows(r).loc["N2"]
    # value available: 20 points x £198.00 x 12,000 / 10,000 = £4,752.00 for each network
    assert n1["payment_available_pence"] == n2["payment_available_pence"] == 475_200
    # N1: 78.5714% -> (1100/14 - 60) / 30 = (130/7) / 30 = 13/21 of the reward
    assert n1["fraction_earned"] == pytest.approx(13 / 21)
    assert n1["points"] == pytest.approx(20 * 13 / 21)  # 12.38 points
    # £4,752 x 13/21 = £2,941.714... -> £2,941.71
    assert n1["payment_pence"] == 294_171
    assert not n1["met"]  # met means the upper threshold (full payment)
    # N2: 70% -> 10/30 = 1/3; £4,752 / 3 = £1,584.00 exactly
    assert n2["points"] == pytest.approx(20 / 3) and n2["payment_pence"] == 158_400
    # a thresholds target turns at 60 and 90: N1's interval (74.0-82.5) contains neither, so chance moves
    # its payment but cannot stop it or make it whole
    assert not n1["target_in_interval"]


def test_thresholds_contributions_to_the_penny():
    r = score_scheme(scheme(IIF), make_inputs())
    b = member(r, "N1", "B")
    # without B: 205/250 = 82% -> (82 - 60) / 30 = 11/15; £4,752 x 11/15 = £3,484.80 (+£543.09)
    assert b["payment_without_pence"] == 348_480 and b["payment_change_without_pence"] == 348_480 - 294_171
    # B at the upper threshold 90%: (45 + 90 + 160) / 350 = 295/350 = 84.2857% -> (84.2857 - 60) / 30 =
    # (170/7) / 30 = 17/21; £4,752 x 17/21 = £3,846.857... -> £3,846.86
    assert b["achievement_at_standard"] == pytest.approx(100 * 295 / 350)
    assert b["payment_at_standard_pence"] == 384_686
    a = member(r, "N1", "A")
    # A (90%) is at the upper threshold already: no change; without A: 230/300 = 76.67% -> 5/9 of £4,752 = £2,640
    assert a["payment_change_at_standard_pence"] == 0 and a["payment_without_pence"] == 264_000


def test_payment_rounds_half_a_penny_up():
    s = scheme("""
indicators:
  - indicator: pp
    target: {type: thresholds, lower: 60, upper: 80}
    reward: {amount: "10.01"}
""")
    r = rows(score_scheme(s, make_inputs()))
    # N2 70% is half way: 0.5 x £10.01 = £5.005 -> £5.01 (half up; binary floating point would give 5.00)
    assert r.loc["N2", "payment_pence"] == 501
    # N1 78.5714%: (18.5714 / 20) = 13/14; £10.01 x 13/14 = £9.295 exactly -> £9.30
    assert r.loc["N1", "payment_pence"] == 930


def test_low_is_good_thresholds_run_from_the_higher_lower_threshold():
    s = scheme("""
indicators:
  - indicator: rr
    target: {type: thresholds, lower: 16, upper: 8}
    reward: {amount: "1000.00"}
""")
    r = score_scheme(s, make_inputs())
    t = rows(r)
    # N1 14.0 per 1,000: (14 - 16) / (8 - 16) = 0.25 -> £250.00; N2 8.8: (8.8 - 16) / -8 = 0.9 -> £900.00
    assert t.loc["N1", "achievement"] == pytest.approx(14.0) and t.loc["N1", "payment_pence"] == 25_000
    assert t.loc["N2", "payment_pence"] == 90_000
    # A at the upper threshold (8 per 1,000: 24 events): (24 + 20 + 90) / 10000 = 13.4 -> 0.325 -> £325 (+£75)
    assert member(r, "N1", "A")["payment_change_at_standard_pence"] == 7_500
    # without A: 110/7000 = 15.714 per 1,000 -> (16 - 15.714) / 8 = 1/28 -> £35.714... -> £35.71 (-£214.29)
    assert member(r, "N1", "A")["payment_change_without_pence"] == 3_571 - 25_000
    # without C (18 per 1,000, the worst): 50/5000 = 10 -> 0.75 -> £750 (+£500)
    assert member(r, "N1", "C")["payment_change_without_pence"] == 50_000


def test_practice_share():
    s = scheme("""
indicators:
  - indicator: pp
    target: {type: practice_share, standard: 75, share: 0.6}
    reward: {amount: "2000.00"}
""")
    r = score_scheme(s, make_inputs())
    t = rows(r)
    # N1: A 90 and C 80 meet 75, B 70 does not: 2/3 >= 0.6, met; N2: E only of D, E: 1/2 < 0.6
    assert t.loc["N1", "achievement"] == pytest.approx(2 / 3) and t.loc["N1", "payment_pence"] == 200_000
    assert t.loc["N2", "achievement"] == pytest.approx(0.5) and t.loc["N2", "payment_pence"] == 0
    # interval: A's Wilson interval 78.6-95.7% lies above 75 (sure); B's 60.4-78.1% and C's 73.9-85.0%
    # reach it (possible): 1/3 to 3/3
    assert (t.loc["N1", "achievement_lower"], t.loc["N1", "achievement_upper"]) == pytest.approx((1 / 3, 1.0))
    # without A or C: 1/2, not met (-£2,000); without B: 2/2, met; B at 75: 3/3
    assert member(r, "N1", "A")["payment_change_without_pence"] == -200_000
    assert member(r, "N1", "B")["payment_change_without_pence"] == 0
    assert member(r, "N1", "B")["achievement_at_standard"] == pytest.approx(1.0)
    assert [member(r, "N1", p)["decisive"] for p in "ABC"] == [True, False, True]
    # N2: D at 75 makes 2/2 (+£2,000); without D, E alone meets: 1/1 (+£2,000)
    d = member(r, "N2", "D")
    assert d["payment_change_at_standard_pence"] == 200_000 and d["payment_change_without_pence"] == 200_000


def test_improvement_on_the_same_practices_baseline():
    s = scheme("""
indicators:
  - indicator: pp
    target: {type: improvement, by: 2}
    reward: {amount: "500.50"}
""")
    r = score_scheme(s, make_inputs())
    t = rows(r)
    # N1: 78.5714 - 74.2857 = +4.2857 points >= 2: £500.50; N2: 70 - 70.5 = -0.5: nothing
    assert t.loc["N1", "baseline_period"] == "FY2020/21"
    assert t.loc["N1", "baseline_value"] == pytest.approx(100 * 260 / 350)
    assert t.loc["N1", "achievement"] == pytest.approx(100 * (275 - 260) / 350)
    assert t.loc["N1", "payment_pence"] == 50_050 and t.loc["N2", "payment_pence"] == 0
    # its interval is the current value's, less the (fixed) baseline
    lo, hi = wilson(275, 350)
    assert t.loc["N1", "achievement_lower"] == pytest.approx(100 * lo - 100 * 260 / 350)
    assert t.loc["N1", "achievement_upper"] == pytest.approx(100 * hi - 100 * 260 / 350)
    # N2: D at its own baseline + 2 (64/100): (64 + 80) / 200 = 72 vs 70.5: +1.5, still short
    d = member(r, "N2", "D")
    assert d["achievement_at_standard"] == pytest.approx(1.5) and not d["met_at_standard"]
    # without D: E alone 80 vs 79: +1; without E: D alone 60 vs 62: -2
    assert d["achievement_without"] == pytest.approx(1.0)
    assert member(r, "N2", "E")["achievement_without"] == pytest.approx(-2.0)


def test_exceptions_small_list_and_new_practice():
    s = scheme("""
exceptions: {min_list_size: 3500, new_practice_months: 12}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 75}
    reward: {amount: "100.00"}
""")
    r = score_scheme(s, make_inputs())
    n1 = rows(r).loc["N1"]
    # A has 3,000 patients (< 3,500); C opened 1 January 2021, within 12 months of 1 April 2021: B alone, 70%
    assert n1["achievement"] == pytest.approx(70.0) and n1["n_counted"] == 1
    assert n1["excluded"] == "list size below the minimum (1); opened too recently (1)"
    assert member(r, "N1", "C")["status"] == "excluded: opened too recently"
    # N2: F (2,000 patients) is a small list before it is a practice without data
    assert member(r, "N2", "F")["status"] == "excluded: list size below the minimum"


def test_missing_data_fail_makes_the_network_miss_every_target():
    s = scheme("""
exceptions: {missing_data: fail}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 60}
    reward: {amount: "100.00"}
""")
    t = rows(score_scheme(s, make_inputs()))
    # N2's 70% would meet 60, but F has no data
    assert t.loc["N2", "achievement"] == pytest.approx(70.0)
    assert not t.loc["N2", "met"] and t.loc["N2", "payment_pence"] == 0
    assert t.loc["N2", "status"].startswith("not met: member practice(s) without data")
    assert t.loc["N1", "met"] and t.loc["N1", "payment_pence"] == 10_000


def test_network_totals_are_sums_of_rounded_target_payments():
    s = scheme("""
point_value: {amount: "198.00", list_size_reference: 10000}
indicators:
  - indicator: pp
    target: {type: thresholds, lower: 60, upper: 90}
    reward: {points: 20}
  - indicator: pp
    id: pp_share
    target: {type: practice_share, standard: 75, share: 0.6}
    reward: {amount: "2000.00"}
""")
    tot = rows(score_scheme(s, make_inputs()), "totals")
    # N1: £2,941.71 + £2,000.00 = £4,941.71; N2: £1,584.00 + £0
    assert tot.loc["N1", "payment_pence"] == 494_171 and tot.loc["N1", "payment_gbp"] == pytest.approx(4941.71)
    assert tot.loc["N2", "payment_pence"] == 158_400
    assert tot.loc["N1", "payment_available_pence"] == 475_200 + 200_000
    assert tot.loc["N1", "targets_met"] == 1 and tot.loc["N1", "points"] == pytest.approx(20 * 13 / 21)


def test_unknown_list_size_leaves_the_payment_null_not_zero():
    practices = [("A", None, "1990-04-01"), ("B", 4000, "1990-04-01"), ("C", 5000, "1990-04-01"),
                 ("D", 6000, "1990-04-01"), ("E", 4000, "1990-04-01"), ("F", 2000, "1990-04-01")]
    s = scheme("""
contract: {per_patient: "1.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 70}
    reward: {contract_share: 1}
""")
    r = score_scheme(s, make_inputs(practices=practices))
    t = rows(r)
    assert pd.isna(t.loc["N1", "payment_pence"]) and t.loc["N1", "met"]
    assert t.loc["N1", "status"] == "payment not computed: a member's list size is unknown"
    assert t.loc["N2", "payment_pence"] == 1_200_000  # 12,000 patients x £1.00
    assert pd.isna(rows(r, "totals").loc["N1", "payment_pence"])


def test_a_member_with_no_list_size_and_no_data_is_taken_as_not_open():
    # G is in N1's spells but has neither a list size nor any value in FY2021/22 (it had closed, and the store
    # has no closing date): it is not a member that year, so it neither fails N1 under missing_data: fail nor
    # makes N1's money unknown
    from tests.spec.schemes.networks import MEMBERS, PRACTICES

    s = scheme("""
exceptions: {missing_data: fail}
contract: {per_patient: "1.00"}
indicators:
  - indicator: pp
    target: {type: network_standard, standard: 75}
    reward: {contract_share: 1}
""")
    r = score_scheme(s, make_inputs(members=[*MEMBERS, ("N1", "G")], practices=[*PRACTICES, ("G", None, None)]))
    n1 = rows(r).loc["N1"]
    assert n1["met"] and n1["payment_pence"] == 1_200_000  # 12,000 patients x £1.00
    assert n1["excluded"] == "no list size and no data in the period (taken as not open) (1)"
    assert member(r, "N1", "G")["status"] == "excluded: no list size and no data in the period (taken as not open)"
