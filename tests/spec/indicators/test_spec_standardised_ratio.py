"""Standardised ratio: observed events / expected events × 100 (indirect age-sex standardisation).

Expected events apply England's rate for each sex and age band, in the same financial year, to the
practice's population in that band. "England" is every practice in the store; a suppressed (null) cell
is left out of England's rates, and out of the practice's observed and expected alike.

Indicator: ``hosp_emergency_admissions`` (the other three hospital indicators differ only in the measure).
"""

from __future__ import annotations

import math

import pytest

from gpscale.indicators.compute import compute_indicators
from tests.fixtures.indicator_store import insert_table

from .conftest import run

ACTIVITY = """
    practice_code | period    | period_type | measure              | sex  | age_band | events | population
    A             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 0_4      | 10     | 1000
    A             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 85+      | 20     | 100
    B             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 0_4      | 15     | 500
    B             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 85+      | 30     | 300
    # another measure does not affect this indicator
    B             | FY2019/20 | fy          | AE_ATTENDANCES       | male | 0_4      | 99     | 500
"""


def test_indirectly_standardised_ratio(store):
    insert_table(store, "hospital_activity", ACTIVITY)
    got = run(store, "hosp_emergency_admissions")
    # England: 0-4 rate (10+15)/(1000+500) = 1/60; 85+ rate (20+30)/(100+300) = 0.125
    e_a = 1000 / 60 + 100 * 0.125  # 29.1667
    e_b = 500 / 60 + 300 * 0.125  # 45.8333
    assert got.loc[("A", "FY2019/20"), "numerator"] == 30
    assert got.loc[("A", "FY2019/20"), "denominator"] == pytest.approx(e_a, rel=1e-12)
    assert got.loc[("A", "FY2019/20"), "value"] == pytest.approx(30 / e_a * 100, rel=1e-12)  # 102.86
    assert got.loc[("B", "FY2019/20"), "value"] == pytest.approx(45 / e_b * 100, rel=1e-12)  # 98.18
    # over all of England, observed = expected
    assert got.numerator.sum() == pytest.approx(got.denominator.sum(), rel=1e-12)


def test_suppressed_cells_are_left_out(store, tmp_path):
    insert_table(store, "hospital_activity", ACTIVITY + """
    C             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 0_4      | null   | 200
    C             | FY2019/20 | fy          | EMERGENCY_ADMISSIONS | male | 85+      | 10     | 100
    """)
    got = run(store, "hosp_emergency_admissions")
    # 85+ rate now (20+30+10)/(100+300+100) = 0.12; C's 0-4 cell is unknown, so C is 10 / (100 × 0.12)
    assert got.loc[("C", "FY2019/20"), "denominator"] == pytest.approx(12.0, rel=1e-12)
    assert got.loc[("C", "FY2019/20"), "value"] == pytest.approx(10 / 12 * 100, rel=1e-12)
    # a user definition can make any suppressed cell null the whole result instead
    d = (__import__("gpscale.indicators.library", fromlist=["x"]).default_definitions_dir()
         / "hosp_emergency_admissions.yaml").read_text()
    (tmp_path / "hosp_emergency_admissions.yaml").write_text(
        d.replace("suppressed_cells: exclude", "suppressed_cells: null_result"))
    strict = compute_indicators(store, ["hosp_emergency_admissions"], definitions_dir=tmp_path)
    c = strict[strict.practice_code == "C"].iloc[0]
    assert math.isnan(c.numerator) and math.isnan(c.value)
