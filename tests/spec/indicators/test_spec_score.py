"""Score: QOF points / points available × 100.

``qof_total`` divides by the year's published maximum (1,000 to 2012/13, 900 in 2013/14, 559 from 2014/15,
635 from 2021/22), not by the practice's own "points available"; the domain scores divide by the maximum
the source gives. The organisational domain ends in 2012/13.
"""

from __future__ import annotations

import math

import pytest

from gpscale.indicators.library import load_definitions
from tests.fixtures.indicator_store import insert_table

from .conftest import run

QOF = """
    source | measure_id     | practice_code | period    | period_type | points | max_points
    qof    | total          | A             | FY2012/13 | fy          | 950    | 1000
    qof    | total          | A             | FY2013/14 | fy          | 810    | 900
    qof    | total          | A             | FY2014/15 | fy          | 500    | 540
    qof    | total          | B             | FY2014/15 | fy          | null   | 559
    qof    | total          | A             | FY2021/22 | fy          | 600    | 635
    qof    | clinical       | A             | FY2014/15 | fy          | 400    | 435
    qof    | organisational | A             | FY2012/13 | fy          | 150    | 167.5
    qof    | organisational | A             | FY2013/14 | fy          | 100    | 100
"""


def test_total_is_a_share_of_the_years_maximum(store):
    insert_table(store, "measure_value", QOF)
    got = run(store, "qof_total")
    assert got.loc[("A", "FY2012/13"), "value"] == 95
    assert got.loc[("A", "FY2013/14"), "value"] == 90
    # A had only 540 points available (no patients on some registers), but the year's maximum is 559
    assert got.loc[("A", "FY2014/15"), "denominator"] == 559
    assert got.loc[("A", "FY2014/15"), "value"] == pytest.approx(500 / 559 * 100, rel=1e-12)
    assert math.isnan(got.loc[("B", "FY2014/15"), "value"])  # points not published
    assert got.loc[("A", "FY2021/22"), "value"] == pytest.approx(600 / 635 * 100, rel=1e-12)


def test_domains(store):
    insert_table(store, "measure_value", QOF)
    clinical = run(store, "qof_clinical")
    assert clinical.loc[("A", "FY2014/15"), "value"] == pytest.approx(400 / 435 * 100, rel=1e-12)
    organisational = run(store, "qof_organisational")
    # the domain ended in 2012/13: a later row in the source does not create a period
    assert list(organisational.index) == [("A", "FY2012/13")]
    assert organisational.loc[("A", "FY2012/13"), "value"] == pytest.approx(150 / 167.5 * 100, rel=1e-12)


def test_breaks_are_declared():
    defs = load_definitions()
    assert {"FY2013/14", "FY2014/15", "FY2021/22"} <= set(defs["qof_total"].data_breaks)
    assert defs["gpps_overall_good"].data_breaks[0] == "FY2011/12"
