"""The ``event_domain`` table: each event kind x indicator domain states an estimate with its interval, or why
it cannot say, from the indicators' ``event_summary`` rows (hand-computed values)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gpscale.evaluate.events import EVENT_SUMMARY_COLUMNS
from gpscale.evaluate.events.domains import EVENT_DOMAIN_COLUMNS, domain_effects
from gpscale.indicators.library import load_definitions

DEFS = load_definitions()


def _row(kind: str, ind: str, status: str = "estimated", est: float = 0.0, lo: float = 0.0, hi: float = 0.0,
         verdict: str = "no change detected", p: float = 0.5, entity: str = "event_kind") -> dict[str, object]:
    r: dict[str, object] = {c: None for c in EVENT_SUMMARY_COLUMNS}
    r.update(entity_type=entity, entity_id=kind, entity_name=kind, event_kind=kind, indicator_id=ind,
             domain=DEFS[ind].domain, status=status, verdict=verdict, estimate=est, lower=lo, upper=hi,
             confidence=0.95, pretrend_p=p, membership_view="as-was", data_version="v1")
    return r


def test_every_kind_and_domain_states_an_interval_or_why_it_cannot_say():
    rows = [
        # federations, prescribing (lower is better): two estimates, averaged after turning the sign
        _row("joined_federation", "rx_broad_spectrum", est=-0.2, lo=-0.3, hi=-0.1, verdict="improved"),
        _row("joined_federation", "rx_antibacterial_items", est=0.1, lo=-0.1, hi=0.3),
        # a failing pre-trend is left out of the mean
        _row("joined_federation", "rx_hypnotics_adq", est=1.0, lo=0.8, hi=1.2, verdict="cannot tell", p=0.01),
        # satisfaction (higher is better): one estimate
        _row("joined_federation", "gpps_recommend", est=-0.05, lo=-0.09, hi=-0.01, verdict="worsened"),
        # hospital: only an indicator without a judgement -> cannot say
        _row("joined_federation", "hosp_outpatient_first", est=0.3, lo=0.1, hi=0.5, verdict="higher"),
        # PCNs: simultaneous
        *[_row("joined_pcn", i, status="simultaneous events: no comparators", est=math.nan, lo=math.nan,
               hi=math.nan, verdict="cannot tell") for i in ("rx_broad_spectrum", "gpps_recommend")],
    ]
    out = domain_effects(pd.DataFrame(rows, columns=EVENT_SUMMARY_COLUMNS), DEFS)
    assert list(out.columns) == EVENT_DOMAIN_COLUMNS
    got = {(r["event_kind"], r["domain"]): r for r in out.to_dict("records")}
    assert set(got) == {("joined_federation", "prescribing"), ("joined_federation", "satisfaction"),
                        ("joined_federation", "hospital"), ("joined_pcn", "prescribing"),
                        ("joined_pcn", "satisfaction")}
    rx = got[("joined_federation", "prescribing")]
    # oriented: broad spectrum (+0.2, 0.1..0.3), antibacterials (-0.1, -0.3..0.1); means 0.05, -0.1..0.2
    assert (rx["estimate"], rx["lower"], rx["upper"]) == pytest.approx((0.05, -0.1, 0.2))
    assert rx["verdict"] == "no change detected" and rx["n_averaged"] == 2 and rx["n_indicators"] == 3
    assert "failing pre-trend" in rx["left_out"] and "CI 0.905 to 1.221" in rx["conclusion"]
    sat = got[("joined_federation", "satisfaction")]
    assert (sat["estimate"], sat["lower"], sat["upper"]) == pytest.approx((-0.05, -0.09, -0.01))
    assert sat["verdict"] == "worsened" and "worsened" in sat["conclusion"]
    hosp = got[("joined_federation", "hospital")]
    assert hosp["status"] == "cannot say" and math.isnan(hosp["estimate"]) and "no judgement" in hosp["conclusion"]
    for dom in ("prescribing", "satisfaction"):
        pcn = got[("joined_pcn", dom)]
        assert pcn["verdict"] == "cannot tell" and "simultaneous events" in pcn["conclusion"]
    # domains in the order the definitions introduce them, so every report lists them alike
    order = list(dict.fromkeys(d.domain for d in DEFS.values()))
    fed = [d for d in out.loc[out["event_kind"] == "joined_federation", "domain"]]
    assert fed == sorted(fed, key=order.index)


def test_a_domain_improving_on_every_indicator_says_improved():
    rows = [_row("merger", i, est=0.2, lo=0.1, hi=0.3, verdict="improved") for i in ("qof_total", "qof_clinical")]
    out = domain_effects(pd.DataFrame(rows, columns=EVENT_SUMMARY_COLUMNS), DEFS)
    assert out["verdict"].tolist() == ["improved"] and out["estimate"].iloc[0] == pytest.approx(0.2)
    assert domain_effects(pd.DataFrame(columns=EVENT_SUMMARY_COLUMNS), DEFS).empty
