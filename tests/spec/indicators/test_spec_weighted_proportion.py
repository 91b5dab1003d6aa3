"""Weighted proportion: weighted respondents giving the answers / weighted base × 100 (GP Patient Survey).

Where a file gives only the published weighted % and the unweighted base, the weighted count is that %
of the base. ``effective_n`` is the unweighted base (the practice files publish no Kish n). The question
code used depends on the survey year (``codes_by_period``); a question no longer asked has no periods.
"""

from __future__ import annotations

import math

import pytest

from tests.fixtures.indicator_store import insert_table, practices

from .conftest import run

SURVEY = (
    "source | measure_id | practice_code | period | period_type | weighted_numerator | weighted_denominator"
    " | denominator | value"
) + """
    gpps   | Q28_12     | A             | FY2019/20 | fy          | 80.5   | 100.6  | 98   | 80.02
    gpps   | Q28_12     | B             | FY2019/20 | fy          | null   | null   | 120  | 75
    gpps   | Q3_12      | C             | FY2019/20 | fy          | 50     | 100    | 100  | 50
    gpps   | Q60_12     | A             | FY2016/17 | fy          | 70     | 100    | 100  | 70
    gpps   | Q60_12     | A             | FY2017/18 | fy          | 71     | 100    | 100  | 71
"""


def test_overall_experience(store):
    practices(store, "ABC")
    insert_table(store, "measure_value", SURVEY)
    got = run(store, "gpps_overall_good")
    a, b, c = (got.loc[(p, "FY2019/20")] for p in "ABC")
    assert (a.numerator, a.denominator, a.effective_n) == (80.5, 100.6, 98)
    assert a.value == pytest.approx(80.5 / 100.6 * 100, rel=1e-12)
    # B published only the %: 75 % of its 120 respondents
    assert (b.numerator, b.denominator, b.effective_n, b.value) == (90, 120, 120, 75)
    # C (open, in the practice table) has no answers to this question: its row is there, with nulls
    assert math.isnan(c.value) and math.isnan(c.effective_n)


def test_question_dropped_after_its_last_year(store):
    insert_table(store, "measure_value", SURVEY)
    got = run(store, "gpps_recommend")
    # asked to 2016/17 only: FY2017/18 and FY2019/20 are not periods of this indicator at all
    assert sorted({p for _, p in got.index}) == ["FY2016/17"]
    assert got.loc[("A", "FY2016/17"), "value"] == 70
