"""The ibis path (on DuckDB) and the plain pandas reference agree on generated stores (hypothesis).

Stores are small but awkward: practices opening and closing mid-way, data for practices missing from the
practice table, duplicate rows, nulls (suppressed cells, missing weighted counts), zero denominators,
stale registrations, incomplete financial years, excluded BNF codes.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gpscale.indicators.compute import compute_indicators
from gpscale.periods import months_of_fy
from gpscale.store.db import open_store
from tests.fixtures.indicator_store import HOSPITAL_MEASURES, insert
from tests.fixtures.reference_indicators import reference_indicators

# Few examples by default to keep the suite fast (each example compiles and runs several ibis queries);
# GPSCALE_HYPOTHESIS_EXAMPLES=200 for a thorough run. No shrinking: a failure is reported as generated
# (shrinking a whole store takes minutes).
EXAMPLES = int(os.environ.get("GPSCALE_HYPOTHESIS_EXAMPLES", "8"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True, phases=[Phase.explicit, Phase.reuse, Phase.generate])

PRACTICES = ["A", "B", "C", "D"]
MONTHS = [*months_of_fy(2018), "2019-04", "2019-05"]  # one complete FY and two months of the next
FYS = ["FY2012/13", "FY2013/14", "FY2016/17", "FY2017/18"]
BNF = ["0501013K0AAAJAJ", "0501013B0AAABAB", "0501021L0AAAAAA", "0501120L0AAAAAA", "0501090K0AAAAAA",
       "0501100C0AAAAAA", "0501040H0AAAAAA", "0401010Z0AAAAAA", "0401010ADAAAAAA", "1001010J0AAAEAE",
       "1001010P0AAADAD", "1001010C0AAAAAA"]
BANDS = ["0_4", "5_9", "10_14", "30_34", "70_74", "75_79", "95+"]

maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
count = st.integers(0, 30).map(float)


@st.composite
def practice_rows(draw):
    rows = []
    for code in draw(st.lists(st.sampled_from(PRACTICES), unique=True, max_size=4)):
        rows.append({
            "practice_code": code,
            "open_date": draw(st.sampled_from([None, "2013-01-01", "2018-09-15"])),
            "close_date": draw(st.sampled_from([None, "2018-06-30", "2019-01-01"])),
        })
    return rows


def compare(store, ids):
    got = compute_indicators(store, ids)
    want = reference_indicators(store, ids)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want), (len(got), len(want))
    keys = ["indicator_id", "period_type", "period", "practice_code"]
    assert got[keys].equals(want[keys])
    for c in ("numerator", "denominator", "value", "effective_n"):
        a, b = got[c].to_numpy(), want[c].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-9), c
    assert (got.definition_version == want.definition_version).all()


@SETTINGS
@given(
    practices=practice_rows(),
    rx=st.lists(st.fixed_dictionaries({
        "practice_code": st.sampled_from([*PRACTICES, "E"]), "period": st.sampled_from(MONTHS),
        "bnf_code": st.sampled_from(BNF), "items": count, "adq_usage": maybe(count),
    }), max_size=40),
    pop=st.lists(st.fixed_dictionaries({
        "practice_code": st.sampled_from(PRACTICES), "period": st.sampled_from(["2017-04", "2018-04", "2019-02"]),
        "period_type": st.just("month"), "sex": st.sampled_from(["male", "female"]),
        "age_band": st.sampled_from(BANDS), "patients": maybe(st.integers(0, 500)),
    }), max_size=20),
)
def test_prescribing_indicators_agree(practices, rx, pop):
    with open_store(":memory:") as store:
        insert(store, "practice_record", practices)
        insert(store, "prescribing", rx)
        insert(store, "practice_population", pop)
        compare(store, ["rx_antibacterial_items", "rx_broad_spectrum", "rx_hypnotics_adq", "rx_nsaid_not_first_line"])


@SETTINGS
@given(
    practices=practice_rows(),
    ha=st.lists(st.fixed_dictionaries({
        "practice_code": st.sampled_from([*PRACTICES, "E"]), "period": st.sampled_from(FYS[:2]),
        "period_type": st.just("fy"), "measure": st.sampled_from(HOSPITAL_MEASURES),
        "sex": st.sampled_from(["male", "female"]), "age_band": st.sampled_from(["0_4", "40_44", "85+"]),
        "events": maybe(count), "population": maybe(st.integers(0, 400).map(float)),
    }), max_size=40),
)
def test_hospital_indicators_agree(practices, ha):
    with open_store(":memory:") as store:
        insert(store, "practice_record", practices)
        insert(store, "hospital_activity", ha)
        compare(store, ["hosp_emergency_admissions", "hosp_acsc_chronic", "hosp_ae_attendances",
                        "hosp_outpatient_first"])


@SETTINGS
@given(
    practices=practice_rows(),
    qof=st.lists(st.fixed_dictionaries({
        "source": st.just("qof"), "measure_id": st.sampled_from(["total", "clinical", "organisational"]),
        "practice_code": st.sampled_from([*PRACTICES, "E"]), "period": st.sampled_from(FYS),
        "period_type": st.just("fy"), "points": maybe(st.integers(0, 900).map(float)),
        "max_points": maybe(st.sampled_from([0.0, 100.0, 559.0])),
    }), max_size=20),
    gpps=st.lists(st.fixed_dictionaries({
        "source": st.just("gpps"), "measure_id": st.sampled_from(["Q3_12", "Q9_12", "Q28_12", "Q60_12", "Q74_12"]),
        "practice_code": st.sampled_from([*PRACTICES, "E"]), "period": st.sampled_from(FYS),
        "period_type": st.just("fy"), "weighted_numerator": maybe(count), "weighted_denominator": maybe(count),
        "denominator": maybe(count), "value": maybe(st.integers(0, 100).map(float)),
    }), max_size=20),
)
def test_qof_and_survey_indicators_agree(practices, qof, gpps):
    with open_store(":memory:") as store:
        insert(store, "practice_record", practices)
        insert(store, "measure_value", pd.DataFrame(qof + gpps))
        compare(store, ["qof_total", "qof_clinical", "qof_organisational", "gpps_overall_good",
                        "gpps_recommend", "gpps_phone_easy", "gpps_opening_hours", "gpps_continuity"])
