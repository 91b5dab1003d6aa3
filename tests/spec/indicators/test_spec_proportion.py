"""Proportion: Σ numerator items / Σ denominator items × 100, on the practice × month grid.

Indicator: ``rx_broad_spectrum`` (co-amoxiclav 0501013K0, cephalosporins 0501021, quinolones 050112 over
the KTT9 selected antibacterials). The tables below are the whole input; expected values are worked by
hand in the comments.
"""

from __future__ import annotations

import math

from tests.fixtures.indicator_store import insert_table, parse_table

from .conftest import run


def test_broad_spectrum_by_month(store):
    insert_table(store, "practice_record", """
        practice_code | open_date  | close_date
        A             | null       | null
        B             | null       | null
        C             | null       | 2019-05-20
    """)
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items
        # A, April: co-amoxiclav 3 + cefalexin 2 + ciprofloxacin 1 = 6 broad of 3+9+2+1 = 15 selected
        A             | 2019-04 | 0501013K0AAAJAJ | 3
        A             | 2019-04 | 0501013B0AAABAB | 9
        A             | 2019-04 | 0501021L0AAAAAA | 2
        A             | 2019-04 | 0501120L0AAAAAA | 1
        # gentamicin (aminoglycoside 050104) and meropenem (carbapenem 0501022) are in neither
        A             | 2019-04 | 0501040H0AAAAAA | 5
        A             | 2019-04 | 0501022B0AAAAAA | 4
        A             | 2019-05 | 0501013B0AAABAB | 5
        # B prescribed only ibuprofen in April: it reported, so its counts are 0 and 0 (value undefined)
        B             | 2019-04 | 1001010J0AAAEAE | 4
        # D is not in the practice table, but its data are never dropped
        D             | 2019-05 | 0501013K0AAAJAJ | 2
    """)
    got = run(store, "rx_broad_spectrum", "month")
    expected = parse_table("""
        practice_code | period  | numerator | denominator | value
        A             | 2019-04 | 6         | 15          | 40
        B             | 2019-04 | 0         | 0           | null
        C             | 2019-04 | null      | null        | null
        A             | 2019-05 | 0         | 5           | 0
        B             | 2019-05 | null      | null        | null
        C             | 2019-05 | null      | null        | null
        D             | 2019-05 | 2         | 2           | 100
    """).set_index(["practice_code", "period"])
    assert sorted(got.index) == sorted(expected.index)  # C closed 20 May: still on the May grid
    for key, row in expected.iterrows():
        for col in ("numerator", "denominator", "value"):
            want, have = row[col], got.loc[key, col]
            assert (math.isnan(want) and math.isnan(have)) or have == want, (key, col, have, want)


def test_nsaids_other_than_ibuprofen_and_naproxen(store):
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items
        A             | 2019-04 | 1001010J0AAAEAE | 6
        A             | 2019-04 | 1001010P0AAADAD | 2
        A             | 2019-04 | 1001010C0AAAAAA | 1
        A             | 2019-04 | 1001010AJAAAAAA | 1
    """)
    got = run(store, "rx_nsaid_not_first_line", "month")
    # diclofenac 1 + etoricoxib 1 = 2 of 10 NSAID items
    assert got.loc[("A", "2019-04")].tolist()[:3] == [2.0, 10.0, 20.0]


def test_months_roll_up_to_complete_financial_years(store):
    months = ["2019-04", "2019-05", "2019-06", "2019-07", "2019-08", "2019-09",
              "2019-10", "2019-11", "2019-12", "2020-01", "2020-02", "2020-03", "2020-04"]
    rows = []
    for m in months:
        if m != "2019-08":  # A has no prescribing at all in August: that month is left out, not zero
            rows += [f"A | {m} | 0501013K0AAAJAJ | 1", f"A | {m} | 0501013B0AAABAB | 3"]
    rows.append("B | 2019-04 | 0501013B0AAABAB | 4")
    rows.append("C | 2019-08 | 0501013B0AAABAB | 3")  # so the source covers August
    insert_table(store, "prescribing", "practice_code | period | bnf_code | items\n" + "\n".join(rows))
    got = run(store, "rx_broad_spectrum", "fy")
    # FY2019/20 is complete (all twelve months are in the source); FY2020/21 has only April: no rows
    assert list(got.index) == [("A", "FY2019/20"), ("B", "FY2019/20"), ("C", "FY2019/20")]
    # A: 11 months × (1 of 4) = 11 of 44 = 25 %; B: its one month, 0 of 4
    assert got.loc[("A", "FY2019/20")].tolist()[:3] == [11.0, 44.0, 25.0]
    assert got.loc[("B", "FY2019/20")].tolist()[:3] == [0.0, 4.0, 0.0]
