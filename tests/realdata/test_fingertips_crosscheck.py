"""Real data: gpscale's own intervals and England comparisons reproduce the ones Fingertips publishes.

The oracle is the published file itself: OHID computed each row's 95% and 99.8% limits and its "Compared
to England" label with its own software (Wilson score limits for proportions; Poisson limits, exact below
10 events and Byar's approximation from 10, for crude rates: the Fingertips technical guide and
PHEindicatormethods ``phe_proportion`` / ``phe_rate``). gpscale recomputes them from the published
``Count`` and ``Denominator`` with the functions its scorecard uses
(:func:`gpscale.evaluate.scorecard.compare_with_england`), and every row that differs must be explained by a
named reason. The summary (agreement and mismatches by reason) is printed (``pytest -s`` or ``-rA``) and
is quoted in docs/real-data.md.

Reasons a published row may differ, each checked rather than assumed:

* ``count rounded to 5``: hospital counts (indicator 93930) are published rounded to the nearest 5 while
  the limits were computed on the true count. The row is explained when some whole count within 2 of the
  published one gives exactly the published limits; that recovered count must then give the published
  label too.
* ``suppressed``: the row has a value note and no count (disclosure control); gpscale has nothing to
  compute and calls it "not compared", as Fingertips does.
* ``no published limits``: rows a third party appended by hand (91547, 2023/24: no indicator id, no limits,
  no label) are outside the check and only counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import pytest

from gpscale.domain.vocabulary import Polarity, ValueType
from gpscale.evaluate.scorecard import compare_with_england
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata

EXTRACTS = require_shared("real", "fingertips_practice_extracts")

ENGLAND = "E92000001"
COMPARED = "Compared to England value or percentiles"
LIMITS = {0.95: ("Lower CI 95.0 limit", "Upper CI 95.0 limit"), 0.998: ("Lower CI 99.8 limit", "Upper CI 99.8 limit")}
#: Published limits carry 8 significant figures or more; this is agreement to the last printed digit.
RTOL = 1e-6
#: Hospital counts are rounded to the nearest 5, so the true count is within 2 of the published one.
ROUNDING_REACH = 2

R_ROUNDED = "count rounded to 5; limits computed on the true count (recovered within 2)"
R_SUPPRESSED = "suppressed for disclosure control (value note, no count): not compared on both sides"
R_NO_LIMITS = "no published limits or label (rows appended without an indicator id): outside the check"
R_UNEXPLAINED = "UNEXPLAINED"


@dataclass(frozen=True)
class Case:
    """One published indicator, area type and period, with how gpscale defines it."""

    file: str
    area_type: str
    period: str
    value_type: ValueType
    multiplier: float
    polarity: Polarity


@dataclass
class Outcome:
    """What the cross-check found for one case: rows, agreements and mismatches by reason."""

    rows: int = 0
    limits_checked: dict[float, int] = field(default_factory=dict)
    limits_agree: dict[float, int] = field(default_factory=dict)  # on the published count, as is
    labels_checked: int = 0
    labels_agree: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    label_reasons: Counter[str] = field(default_factory=Counter)

    def line(self, case: Case) -> str:
        lim = ", ".join(
            f"{c * 100:g}% limits {self.limits_agree[c]}/{n} ({100 * self.limits_agree[c] / n:.2f}%)"
            for c, n in self.limits_checked.items()
        )
        why = "; ".join(f"{k}: {n}" for k, n in sorted(self.reasons.items())) or "none"
        lab = "; ".join(f"{k}: {n}" for k, n in sorted(self.label_reasons.items())) or "none"
        return (
            f"{case.file} {case.area_type} {case.period}: {self.rows} rows; {lim}; labels {self.labels_agree}/"
            f"{self.labels_checked}; limit mismatches by reason: {why}; label mismatches by reason: {lab}"
        )


SMOKING = Case("heec_smok_qof_prev_91547.csv", "GPs", "2022/23", ValueType.PROPORTION, 100.0, Polarity.LOW_IS_GOOD)
AE_GP = Case("heec_ed_under5_93930.csv", "GPs", "2021/22", ValueType.RATE, 1000.0, Polarity.LOW_IS_GOOD)
AE_PCN = Case("heec_ed_under5_93930.csv", "PCNs (v. 27/10/23)", "2021/22", ValueType.RATE, 1000.0, Polarity.LOW_IS_GOOD)


def _read(file: str) -> pd.DataFrame:
    return pd.read_csv(EXTRACTS / file, dtype=str, encoding="utf-8-sig")


def _england_value(frame: pd.DataFrame, period: str) -> float:
    """England's own row (persons, no category) for the period: the benchmark Fingertips compared with."""
    eng = frame[
        (frame["Area Code"] == ENGLAND)
        & (frame["Area Type"] == "England")
        & (frame["Time period"] == period)
        & (frame["Sex"] == "Persons")
        & frame["Category Type"].isna()
        & frame["Parent Code"].isna()
    ]
    assert len(eng) == 1, f"expected one England row for {period}, found {len(eng)}"
    return float(eng["Value"].iloc[0])


def _gpscale(counts: np.ndarray, den: np.ndarray, case: Case, confidence: float, england: float) -> tuple:
    pooled = pd.DataFrame({"numerator": counts, "denominator": den})
    _v, lo, hi, _m, cmp = compare_with_england(
        pooled, case.value_type, case.multiplier, case.polarity, confidence, np.full(len(pooled), england)
    )
    return lo, hi, np.char.lower(cmp.labels.astype(str))


def _matches(lo: np.ndarray, hi: np.ndarray, pub_lo: np.ndarray, pub_hi: np.ndarray) -> np.ndarray:
    return np.isclose(lo, pub_lo, rtol=RTOL, atol=0) & np.isclose(hi, pub_hi, rtol=RTOL, atol=0)


@cache
def cross_check(case: Case) -> Outcome:
    """Recompute one case's limits and labels with gpscale and explain every difference from Fingertips."""
    frame = _read(case.file)
    england = _england_value(frame, case.period)
    rows = frame[(frame["Area Type"] == case.area_type) & (frame["Time period"] == case.period)]
    out = Outcome(rows=len(rows))
    count = pd.to_numeric(rows["Count"]).to_numpy(float)
    den = pd.to_numeric(rows["Denominator"]).to_numpy(float)
    suppressed = rows["Value note"].notna().to_numpy() & np.isnan(count)
    pub_label = rows[COMPARED].str.lower().to_numpy()
    true_count = count.copy()  # the count that reproduces the published limits (the published one if it does)
    unexplained = np.zeros(len(rows), dtype=bool)
    for confidence, (lc, uc) in LIMITS.items():
        pub_lo = pd.to_numeric(rows[lc]).to_numpy(float)
        pub_hi = pd.to_numeric(rows[uc]).to_numpy(float)
        published = ~np.isnan(pub_lo)
        if not published.any():
            continue  # this indicator publishes no limits at this level (93930 has no 99.8% limits)
        lo, hi, _ = _gpscale(count, den, case, confidence, england)
        agree = published & _matches(lo, hi, pub_lo, pub_hi)
        out.limits_checked[confidence] = int(published.sum())
        out.limits_agree[confidence] = int(agree.sum())
        left = published & ~agree
        recovered = np.full(len(rows), np.nan)
        for shift in (s for s in range(-ROUNDING_REACH, ROUNDING_REACH + 1) if s):
            lo_s, hi_s, _ = _gpscale(count + shift, den, case, confidence, england)
            hit = left & np.isnan(recovered) & _matches(lo_s, hi_s, pub_lo, pub_hi)
            recovered[hit] = count[hit] + shift
        rounded = left & ~np.isnan(recovered) & (count % 5 == 0)
        true_count[rounded] = recovered[rounded]
        out.reasons[R_ROUNDED] += int(rounded.sum())
        unexplained |= left & ~rounded
        if confidence == 0.95:  # a row without limits must be a suppressed one (counted once)
            out.reasons[R_SUPPRESSED] += int((~published & suppressed).sum())
            unexplained |= ~published & ~suppressed
    # labels at 95%, the level Fingertips compares at, from the count that reproduced the limits
    _lo, _hi, label = _gpscale(true_count, den, case, 0.95, england)
    _lo, _hi, label_as_published = _gpscale(count, den, case, 0.95, england)
    out.labels_checked = len(rows)
    out.labels_agree = int((label_as_published == pub_label).sum())
    differs = label_as_published != pub_label
    out.label_reasons[R_ROUNDED] += int((differs & (label == pub_label) & (true_count != count)).sum())
    out.label_reasons[R_UNEXPLAINED] += int((label != pub_label).sum())
    out.reasons[R_UNEXPLAINED] += int(unexplained.sum())
    print(out.line(case))
    return out


@pytest.mark.parametrize("case", [SMOKING, AE_GP, AE_PCN], ids=["91547-practice", "93930-practice", "93930-pcn"])
def test_published_limits_and_labels_are_reproduced(case: Case) -> None:
    out = cross_check(case)
    assert out.limits_checked, "no published limits found: the extract is not the one PROVENANCE.md describes"
    assert out.reasons[R_UNEXPLAINED] == 0, out.line(case)
    assert out.label_reasons[R_UNEXPLAINED] == 0, out.line(case)
    for confidence, checked in out.limits_checked.items():
        explained = out.limits_agree[confidence] + (out.reasons[R_ROUNDED] if confidence == 0.95 else 0)
        assert explained / checked >= 0.999, out.line(case)


def test_smoking_prevalence_agrees_as_published_at_both_levels() -> None:
    """91547 publishes exact counts: agreement must hold on the published numbers themselves, ≥ 99.9%."""
    out = cross_check(SMOKING)
    assert out.rows == 6378  # PROVENANCE.md: 6,378 practices with limits in 2022/23
    assert set(out.limits_checked) == {0.95, 0.998}
    for confidence, checked in out.limits_checked.items():
        assert out.limits_agree[confidence] / checked >= 0.999, out.line(SMOKING)
    assert out.labels_agree / out.labels_checked >= 0.999


def test_rounded_hospital_counts_explain_every_difference() -> None:
    """93930: counts are published rounded to 5; each differing row is recovered by a count within 2."""
    for case in (AE_GP, AE_PCN):
        out = cross_check(case)
        assert out.reasons[R_ROUNDED] > 0  # the rounding is real: a check that never sees it proves nothing
        assert out.limits_agree[0.95] + out.reasons[R_ROUNDED] == out.limits_checked[0.95], out.line(case)
    assert cross_check(AE_GP).reasons[R_SUPPRESSED] == 1  # A82620, denominator 21 (PROVENANCE.md)


def test_rows_appended_without_indicator_id_are_outside_the_check() -> None:
    """The 2023/24 smoking rows carry no limits or label; they are counted, not compared."""
    frame = _read(SMOKING.file)
    appended = frame[frame["Indicator ID"].isna()]
    assert len(appended) == 6267
    assert appended[[*LIMITS[0.95], COMPARED]].isna().all().all()
    print(f"{SMOKING.file}: {R_NO_LIMITS}: {len(appended)}")
