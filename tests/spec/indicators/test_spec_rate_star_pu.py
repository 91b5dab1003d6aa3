"""Rate: prescribing per 1,000 STAR-PU, where the STAR-PU is the registered list weighted by age and sex.

Indicator: ``rx_antibacterial_items`` (BNF 5.1 items, excluding antituberculosis 5.1.9 and antileprotic
5.1.10 drugs, per 1,000 oral antibacterial item-based STAR-PU, 2013 weights). Quinary registration bands
are summed into the published STAR-PU bands (0-4, 5-14, 15-24 ... 65-74, 75+). Each month uses the latest
list at or before it, up to 11 months old. The weights quoted are the HSCIC STAR-PU(13) and (09) cells.
"""

from __future__ import annotations

import math

import pytest

from gpscale.indicators.compute import ComputeError, compute_indicators
from tests.fixtures.indicator_store import insert_table

from .conftest import run

# HSCIC "Oral antibacterials (BNF 5.1 sub-set) ITEM based STAR PU"
W13 = {"male 0-4": 0.8377155655095184, "female 75+": 1.2658322296629296, "male 25-34": 0.2409056506545999}
W09 = {"male 0-4": 0.8269342753988898, "female 75+": 1.090633164885711, "male 25-34": 0.25955565574591727}

LIST = """
    practice_code | period  | period_type | sex    | age_band | patients
    A             | 2019-04 | month       | male   | 0_4      | 100
    A             | 2019-04 | month       | female | 80_84    | 30
    A             | 2019-04 | month       | female | 95+      | 20
    A             | 2019-04 | month       | male   | 30_34    | 200
    A             | 2019-04 | month       | all    | all      | 350
"""


def star_pu(w: dict[str, float]) -> float:
    # female 80-84 and 95+ both fall in the 75+ band; the 'all' row is not used
    return 100 * w["male 0-4"] + (30 + 20) * w["female 75+"] + 200 * w["male 25-34"]


def test_items_per_1000_star_pu(store):
    insert_table(store, "practice_population", LIST)
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items
        A             | 2019-04 | 0501013B0AAABAB | 10
        A             | 2019-04 | 0501130R0AAAAAA | 5
        # rifampicin (antituberculosis, 5.1.9) is not counted
        A             | 2019-04 | 0501090K0AAAAAA | 3
        A             | 2019-05 | 0501013B0AAABAB | 7
        A             | 2020-03 | 0501013B0AAABAB | 4
        A             | 2020-04 | 0501013B0AAABAB | 4
    """)
    got = run(store, "rx_antibacterial_items", "month")
    sp = star_pu(W13)  # = 195.2443 STAR-PU
    assert got.loc[("A", "2019-04"), "denominator"] == pytest.approx(sp, rel=1e-12)
    assert got.loc[("A", "2019-04"), "value"] == pytest.approx(15 / sp * 1000, rel=1e-12)  # 76.83
    assert got.loc[("A", "2019-05"), "value"] == pytest.approx(7 / sp * 1000, rel=1e-12)
    # March 2020 still uses the April 2019 list (11 months old); April 2020 has no list: null
    assert got.loc[("A", "2020-03"), "value"] == pytest.approx(4 / sp * 1000, rel=1e-12)
    assert got.loc[("A", "2020-04"), "numerator"] == 4
    assert math.isnan(got.loc[("A", "2020-04"), "denominator"])
    assert math.isnan(got.loc[("A", "2020-04"), "value"])


def test_vintage_is_a_parameter(store):
    insert_table(store, "practice_population", LIST)
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items
        A             | 2019-04 | 0501013B0AAABAB | 15
    """)
    got = run(store, "rx_antibacterial_items", "month", star_pu_vintage="2009")
    assert got.loc[("A", "2019-04"), "value"] == pytest.approx(15 / star_pu(W09) * 1000, rel=1e-12)
    df = compute_indicators(store, ["rx_antibacterial_items"], star_pu_vintage="2009")
    assert df.attrs["parameters"]["rx_antibacterial_items"]["weights"] == "oral_antibacterials_item 2009 (shipped)"


def test_store_weights_take_precedence(store):
    insert_table(store, "practice_population", LIST)
    insert_table(store, "prescribing", "practice_code | period | bnf_code | items\nA | 2019-04 | 0501013B0AAABAB | 10")
    bands = ["0_4", "5_14", "15_24", "25_34", "35_44", "45_54", "55_64", "65_74", "75+"]
    insert_table(store, "prescribing_weight", "scheme | vintage | sex | age_band | weight\n" + "\n".join(
        f"oral_antibacterials_item | 2013 | {sex} | {b} | 1" for sex in ("male", "female") for b in bands))
    got = run(store, "rx_antibacterial_items", "month")
    assert got.loc[("A", "2019-04"), "denominator"] == 350  # all weights 1: the plain list


def test_adq_per_adq_star_pu_and_missing_vintage(store):
    insert_table(store, "practice_population", LIST)
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items | adq_usage
        A             | 2019-04 | 0401010Z0AAAAAA | 2     | 56
        A             | 2019-04 | 0401020K0AAAHAH | 1     | 14
        # melatonin has no ADQ and is excluded
        A             | 2019-04 | 0401010ADAAAAAA | 1     | 30
    """)
    got = run(store, "rx_hypnotics_adq", "month")
    # HSCIC "Hypnotics (BNF 4.1.1 sub-set) ADQ based STAR PU" (2013): male 0-4, female 75+, male 25-34
    sp = 100 * 0.0009773897178601682 + 50 * 11.883994902141612 + 200 * 0.6310006851967705
    assert got.loc[("A", "2019-04"), "value"] == pytest.approx(70 / sp, rel=1e-12)
    with pytest.raises(ComputeError, match="no STAR-PU weights for scheme 'hypnotics_adq' vintage '2009'"):
        compute_indicators(store, ["rx_hypnotics_adq"], star_pu_vintage="2009")


def test_financial_year_rate_is_per_star_pu_year(store):
    insert_table(store, "practice_population", LIST)
    months = ["2019-04", "2019-05", "2019-06", "2019-07", "2019-08", "2019-09",
              "2019-10", "2019-11", "2019-12", "2020-01", "2020-02", "2020-03"]
    insert_table(store, "prescribing", "practice_code | period | bnf_code | items\n"
                 + "\n".join(f"A | {m} | 0501013B0AAABAB | 10" for m in months))
    got = run(store, "rx_antibacterial_items", "fy")
    # 120 items in the year over 12 months × STAR-PU / 12 = one STAR-PU-year
    sp = star_pu(W13)
    assert got.loc[("A", "FY2019/20"), "denominator"] == pytest.approx(sp, rel=1e-12)
    assert got.loc[("A", "FY2019/20"), "value"] == pytest.approx(120 / sp * 1000, rel=1e-12)


def test_unknown_age_band_is_refused(store):
    insert_table(store, "practice_population", """
        practice_code | period  | period_type | sex  | age_band | patients
        A             | 2019-04 | month       | male | 0-4      | 100
    """)
    with pytest.raises(ComputeError, match="age bands the STAR-PU mapping does not know: 0-4"):
        compute_indicators(store, ["rx_antibacterial_items"])


def test_latest_list_with_an_unknown_cell_gives_no_rate(store):
    insert_table(store, "practice_population", LIST + """
    A             | 2019-06 | month       | male   | 0_4      | 100
    A             | 2019-06 | month       | female | 80_84    | null
    """)
    insert_table(store, "prescribing", """
        practice_code | period  | bnf_code        | items
        A             | 2019-05 | 0501013B0AAABAB | 10
        A             | 2019-07 | 0501013B0AAABAB | 10
    """)
    got = run(store, "rx_antibacterial_items", "month")
    assert got.loc[("A", "2019-05"), "value"] == pytest.approx(10 / star_pu(W13) * 1000, rel=1e-12)
    # July's latest list (June) has a suppressed cell: the rate is unknown, not taken from April's list
    assert math.isnan(got.loc[("A", "2019-07"), "denominator"])
