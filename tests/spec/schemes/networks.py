"""Small hand-worked networks for the scheme spec tests, written as little data tables.

Two networks in FY2021/22 (as-was membership, all spells open since July 2019):

* N1: practices A, B, C (3,000, 4,000 and 5,000 registered patients);
* N2: practices D, E (6,000 and 4,000 patients), and F (2,000 patients, no data for any indicator).

Indicator ``pp`` is a proportion (x100, high is good); ``rr`` a rate per 1,000 (low is good). Each test
writes its scheme as YAML and works its expected values by hand in comments.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import special

from gpscale.evaluate.schemes import SchemeInputs, parse_scheme_text

NOW, BEFORE = "FY2021/22", "FY2020/21"

#: indicator, practice, period, numerator, denominator
VALUES = [
    ("pp", "A", NOW, 45, 50), ("pp", "B", NOW, 70, 100), ("pp", "C", NOW, 160, 200),
    ("pp", "D", NOW, 60, 100), ("pp", "E", NOW, 80, 100),
    ("pp", "A", BEFORE, 40, 50), ("pp", "B", BEFORE, 70, 100), ("pp", "C", BEFORE, 150, 200),
    ("pp", "D", BEFORE, 62, 100), ("pp", "E", BEFORE, 79, 100),
    ("rr", "A", NOW, 30, 3000), ("rr", "B", NOW, 20, 2000), ("rr", "C", NOW, 90, 5000),
    ("rr", "D", NOW, 36, 6000), ("rr", "E", NOW, 52, 4000),
]

#: network, practice
MEMBERS = [("N1", "A"), ("N1", "B"), ("N1", "C"), ("N2", "D"), ("N2", "E"), ("N2", "F")]

#: practice, registered patients, opening date
PRACTICES = [("A", 3000, "1990-04-01"), ("B", 4000, "1990-04-01"), ("C", 5000, "2021-01-01"),
             ("D", 6000, "1990-04-01"), ("E", 4000, "1990-04-01"), ("F", 2000, "1990-04-01")]

DEFINITIONS = {
    "pp": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100, unit="%", version=1),
    "rr": SimpleNamespace(value_type="rate", polarity="low_is_good", multiplier=1000, unit="per 1,000",
                          version=1),
}


def make_inputs(values=VALUES, members=MEMBERS, practices=PRACTICES) -> SchemeInputs:
    pv = pd.DataFrame(values, columns=["indicator_id", "practice_code", "period", "numerator", "denominator"])
    pv["period_type"] = "fy"
    spells = pd.DataFrame(members, columns=["group_id", "practice_code"])
    spells["start_date"] = pd.Timestamp("2019-07-01")
    spells["end_date"] = pd.NaT
    groups = pd.DataFrame({"group_id": ["N1", "N2"], "name": ["North", "South"], "kind": ["pcn", "pcn"]})
    prac = pd.DataFrame(practices, columns=["practice_code", "patients", "open_date"])
    prac["open_date"] = pd.to_datetime(prac["open_date"])
    prac["close_date"] = pd.NaT
    prac = pd.concat([prac.assign(period=NOW), prac.assign(period=BEFORE)], ignore_index=True)
    return SchemeInputs(pv, spells, groups, prac, DEFINITIONS, "spec")


def scheme(body: str, period: str = NOW):
    """A scheme from the YAML of its indicators and money (the header is the same in every test)."""
    return parse_scheme_text(f"id: spec\ntitle: spec scheme\nperiod: {period}\n{body}", "spec.yaml")


def history_inputs(seed: int = 7, networks: int = 30, members: int = 4) -> SchemeInputs:
    """Networks of practices with six years of a proportion, drawn around a common trend."""
    rng = np.random.default_rng(seed)
    rows, spells = [], []
    for g in range(networks):
        level = rng.normal(1.0, 0.3)
        for m in range(members):
            code = f"P{g:03d}{m}"
            spells.append((f"N{g:02d}", code))
            eff = level + rng.normal(0, 0.2)
            for year in range(2016, 2022):
                n = int(rng.integers(300, 900))
                p = special.expit(eff + 0.05 * (year - 2016) + rng.normal(0, 0.05))
                rows.append(("pp", code, f"FY{year}/{(year + 1) % 100:02d}", rng.binomial(n, p), n))
    pv = pd.DataFrame(rows, columns=["indicator_id", "practice_code", "period", "numerator", "denominator"])
    pv["period_type"] = "fy"
    sp = pd.DataFrame(spells, columns=["group_id", "practice_code"]).assign(
        start_date=pd.Timestamp("2015-04-01"), end_date=pd.NaT)
    groups = pd.DataFrame({"group_id": sp["group_id"].unique(), "name": "net", "kind": "pcn"})
    prac = pd.DataFrame({"practice_code": sp["practice_code"], "patients": 5000, "open_date": pd.NaT,
                         "close_date": pd.NaT}).merge(pd.DataFrame({"period": pv["period"].unique()}), how="cross")
    defs = {"pp": SimpleNamespace(value_type="proportion", polarity="high_is_good", multiplier=100, unit="%",
                                  version=1, data_breaks=[])}
    return SchemeInputs(pv, sp, groups, prac, defs, "unit")
