"""Comparators exclude practices that had an event of another kind (issue 15).

A simulated world where federations change nothing, while many other practices join super-partnerships
that raise the indicator sharply. Counting those practices as "not yet treated" comparators for the
federations would subtract their rise from the federations' estimate (a spurious fall); excluded from
the year of their own event, the federations' estimate is close to its truth, zero.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy.special import expit

from gpscale.evaluate.events import EventStudyOptions, event_tables
from gpscale.indicators.library import load_definitions
from gpscale.periods import fy_label

SP_STEP = 0.6  # log odds added to super-partnership members from their event on


def _world(seed: int = 8, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = [f"B{82000 + i}" for i in range(n)]
    level = rng.normal(-0.85, 0.2, n)
    fed, sp = codes[:80], codes[80:280]
    spells = pd.DataFrame(
        [(f"FED{k % 16}", c, date(2013 + k % 5, 4, 1), None) for k, c in enumerate(fed)]
        + [(f"SP{k % 20}", c, date(2012 + k % 3, 4, 1), None) for k, c in enumerate(sp)],
        columns=["group_id", "practice_code", "start_date", "end_date"])
    sp_from = {c: 2012 + k % 3 for k, c in enumerate(sp)}
    rows = []
    for fy in range(2009, 2023):
        shift = np.array([SP_STEP if fy >= sp_from.get(c, 9999) else 0.0 for c in codes])
        den = rng.integers(300, 500, n)
        num = rng.binomial(den, expit(level + 0.02 * (fy - 2009) + shift + rng.normal(0, 0.03, n)))
        rows.append(pd.DataFrame({"indicator_id": "rx_broad_spectrum", "practice_code": codes, "period": fy_label(fy),
                                  "period_type": "fy", "numerator": num.astype(float), "denominator": den.astype(float),
                                  "value": num / den, "definition_version": 1}))
    groups = pd.DataFrame({"group_id": [*(f"FED{k}" for k in range(16)), *(f"SP{k}" for k in range(20))],
                           "name": "g", "kind": ["federation"] * 16 + ["super_partnership"] * 20})
    return pd.concat(rows, ignore_index=True), spells, groups


def _federations(exclude: bool) -> pd.Series:
    pv, spells, groups = _world()
    defs = {"rx_broad_spectrum": load_definitions()["rx_broad_spectrum"]}
    out = event_tables(pv, spells, groups, defs, None,
                       options=EventStudyOptions(n_boot=299, per_group=False, exclude_other_events=exclude))
    s = out["event_summary"]
    return s[(s["entity_type"] == "event_kind") & (s["event_kind"] == "joined_federation")].iloc[0]


def test_practices_with_another_event_are_no_comparators_so_a_null_event_is_not_biased():
    fair = _federations(exclude=True)
    assert fair["status"] == "estimated"
    assert fair["lower"] <= 0 <= fair["upper"] and abs(fair["estimate"]) < 0.05
    assert fair["verdict"] == "no change detected"


def test_counting_them_as_comparators_would_report_a_spurious_fall():
    biased = _federations(exclude=False)
    # the super-partnership members rise by SP_STEP while "not yet treated" by federations
    assert biased["upper"] < 0 and biased["estimate"] < -0.1
