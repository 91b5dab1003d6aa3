"""The evaluative comparison: is the group different from what a random set of England's practices would show?

Two comparisons of a group with England, never confused (every row names its :class:`ComparisonType`):

* **descriptive** (:mod:`gpscale.evaluate.scorecard`, what Fingertips publishes): is the group's rate
  different from England's, given the sampling of its patients? With tens of thousands of patients the
  interval is tiny, so almost every group of practices differs from England, because practices differ
  from each other. True of the group's rate; no evidence that the organisation does anything differently.
* **evaluative** (this module): is the group different from what a set of England's practices drawn at
  random, of the same size, would show? It accounts for the variation between practices and answers the
  question a board acts on. Random groups of practices (placebo groups, :mod:`gpscale.evaluate.calibration`)
  are flagged at about the nominal rate, each way, by construction of the reference; the harness measures it.

**Reference for a group of a given size.** For one indicator and period, England's practices give the
pooled value ``c`` (Σ numerators / Σ denominators) and the practice values ``y_i = x_i / n_i``. A group's
pooled value is the weighted mean ``Y = Σ w_j y_j / W`` of its members' values with weights ``w_j`` (their
denominators; ``W = Σ w_j``). If the members were England practices drawn at random,

* its centre would be England's value ``c``;
* its variance would be ``V = tau^2 / k_eff x (N - k_eff) / (N - 1) + phi s^2``, where
  ``k_eff = W^2 / Σ w_j^2`` is Kish's effective number of practices, ``N`` England's number of practices
  (a set of practices is drawn without replacement), ``tau^2`` England's between-practice variance beyond
  sampling, ``s^2`` the patient-level sampling variance of the group's pooled value at England's value (the
  descriptive comparison's own variance: ``c(1-c)/W`` for proportions, ``c(1-c)/n_eff`` for
  survey-weighted ones, ``c/W`` for rates and standardised ratios, 0 for QOF scores, which are points, not
  samples of patients) and ``phi`` its dispersion (1 for counts of independent events; prescribing's ADQ
  doses, or items clustered in patients, vary more);
* its shape would be that of the mean of ``k_eff`` draws from England's practice distribution: the exact
  distribution of that mean (FFT convolution of the empirical distribution, :mod:`gpscale.stats.reference`),
  which keeps the skewness of practice values (QOF achievement is strongly left-skewed: the mean of six
  scores is usually above England's mean and sometimes far below it, so a symmetric interval flags
  "better" far too often and "worse" almost never).

``tau^2`` and ``phi`` are method-of-moments estimates over England's practices: the intercept and slope of
the weighted least-squares line of ``(y_i - c)^2`` on ``s_i^2`` (the null sampling variance of practice
``i`` at ``c``), weighted by the denominators and floored at 0 (:func:`variance_components`); moments, not
robust estimates, because a random group's spread includes the practices in the tails. The group is "higher"
when ``P(Y* >= Y) < (1 - confidence) / 2`` under that reference and "lower" when ``P(Y* <= Y)`` is;
polarity turns that into better / worse. The two-sided p-value is ``2 min(P(Y* <= Y), P(Y* >= Y))``, so
``p < 1 - confidence`` exactly when the label is not "similar".

Each row gives the reference range (``reference_lower``, ``reference_upper``: where random groups of this
size fall, a funnel) and the equivalent interval around the group's value (``lower``, ``upper``, the
reference reflected about the value: it excludes England's value exactly when the value is outside the
reference range). "not compared" where England has fewer than :data:`MIN_PRACTICES` practices with data,
the group has no member with data, or the reference has no spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import ComparisonType, Link, Polarity, ValueType
from gpscale.evaluate import pooling
from gpscale.evaluate.common import definition_versions
from gpscale.stats.compare import direction_labels
from gpscale.stats.reference import EXACT_SIZES, MeanReference, mean_reference

#: England needs at least this many practices with data for a reference distribution.
MIN_PRACTICES = 20

CONFIDENCES = (0.95, 0.998)


#: The rule named in ``comparison_method`` of every evaluative row.
EVALUATIVE_RULE = "value vs reference range of random groups of England's practices of its size"

#: The scorecard's columns as its default (evaluative) reading has them (:data:`RESULT_COLUMNS` of
#: :mod:`gpscale.evaluate.scorecard` without the ``descriptive_`` ones, same order), then the reference:
#: Kish's effective number of practices, the range random groups of that size fall in, England's
#: between-practice standard deviation beyond sampling (indicator units) and the dispersion of
#: patient-level sampling (``phi``).
EVALUATIVE_COLUMNS = [
    "entity_type", "entity_id", "indicator_id", "period", "period_type", "value", "lower", "upper",
    "confidence", "method", "numerator", "denominator", "n_practices", "comparator", "comparator_value",
    "comparison_type", "comparison", "comparison_method", "p_value", "q_value", "comparison_fdr", "fdr_family",
    "placebo_flagged_rate", "membership_view", "definition_version", "data_version",
    "effective_practices", "reference_lower", "reference_upper", "between_practice_sd", "sampling_dispersion",
]


@dataclass(frozen=True)
class EnglandReference:
    """England's practice distribution for one indicator and period, as the evaluative comparison uses it.

    ``centre`` is England's pooled value (unscaled), ``tau2`` the between-practice variance beyond
    sampling, ``dispersion`` the factor on the patient-level sampling variance (1 for Poisson or binomial
    counts; more when the numerator is not a count of independent events), ``shape`` the distribution of
    the standardised mean of ``m`` practices, ``practices`` how many practices it was built from.
    """

    centre: float
    tau2: float
    dispersion: float
    shape: MeanReference
    practices: int


def _sampling_variance(centre: float | np.ndarray, n: np.ndarray, value_type: ValueType) -> np.ndarray:
    """Null (patient-level) sampling variance of a value with denominator or effective size ``n`` at ``centre``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if value_type.link is Link.LOG:
            return centre / n
        if value_type is ValueType.SCORE:
            return np.zeros_like(n, dtype=float)
        return centre * (1.0 - centre) / n


def _sampling_size(rows: pd.DataFrame, value_type: ValueType) -> np.ndarray:
    """The size behind the sampling variance: Kish's effective n for survey proportions, else the denominator."""
    den = rows["denominator"].to_numpy(float)
    if value_type is ValueType.WEIGHTED_PROPORTION and "effective_n" in rows:
        n_eff = rows["effective_n"].to_numpy(float)
        return np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, den)
    return den


def variance_components(squares: np.ndarray, sampling: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """``(tau^2, phi)`` such that a practice's squared deviation averages ``tau^2 + phi s_i^2``.

    Weighted least squares (weights: the denominators) of the squared deviations from England's value on
    the null sampling variances: the intercept is the between-practice variance, the slope the
    dispersion of sampling (1 for Poisson or binomial counts; prescribing's ADQ doses or items clustered
    in patients give more). Both are floored at 0, the other refitted alone; where the sampling variance
    does not vary (or is 0, as for QOF points) it cannot be separated and ``phi`` is 1.
    """
    d2, s2, w = (np.asarray(a, float) for a in (squares, sampling, weights))
    sw = w.sum()
    spread = np.sqrt(np.sum(w * (s2 - np.sum(w * s2) / sw) ** 2) / sw)
    if not spread > 1e-9 * max(float(np.max(np.abs(s2))), 1e-300):
        return max(0.0, float(np.sum(w * (d2 - s2)) / sw)), 1.0
    x = np.column_stack([np.ones_like(s2), s2])
    tau2, phi = np.linalg.solve((x * w[:, None]).T @ x, (x * w[:, None]).T @ d2)
    if phi < 0:
        return max(0.0, float(np.sum(w * d2) / sw)), 0.0
    if tau2 < 0:
        return 0.0, float(np.sum(w * s2 * d2) / np.sum(w * s2 * s2))
    return float(tau2), float(phi)


def england_reference(numerator: np.ndarray, denominator: np.ndarray, sampling_size: np.ndarray, value_type: str,
                      max_size: float = 1.0) -> EnglandReference | None:
    """The reference for one indicator and period from England's practices (None if too few of them).

    Arrays are per practice with data: numerator, denominator and the size behind the sampling variance
    (:func:`_sampling_size`). ``max_size`` is the largest effective group size that will be compared:
    distributions are computed exactly up to the first size on the grid at or above it (beyond, towards
    the normal limit).
    """
    vt = ValueType(value_type)
    x, n = np.asarray(numerator, float), np.asarray(denominator, float)
    if x.size < MIN_PRACTICES:
        return None
    y = x / n
    centre = float(x.sum() / n.sum())
    s2 = _sampling_variance(centre, np.asarray(sampling_size, float), vt)
    tau2, dispersion = variance_components((y - centre) ** 2, s2, n)
    upto = next((s for s in EXACT_SIZES if s >= max_size), EXACT_SIZES[-1])
    shape = mean_reference(y, sizes=tuple(s for s in EXACT_SIZES if s <= upto))
    return EnglandReference(centre, tau2, dispersion, shape, int(x.size))


SUM_COLUMNS = ["entity_id", "period", "period_type", "numerator", "denominator", "sum_w2", "effective_n",
               "n_practices"]


class PracticeArrays:
    """Usable practice values (several indicators) as integer-coded arrays: strings are factorised once.

    National tables hold millions of rows; selecting an indicator or matching members by string keys would
    cost far more than the statistics, so rows are grouped by indicator once and keyed by
    ``practice code x period`` integers.
    """

    def __init__(self, practice_values: pd.DataFrame) -> None:
        use = pooling.usable(practice_values)
        ind, self.indicators = pd.factorize(use["indicator_id"].astype(str))
        self.practice, self.practices = pd.factorize(use["practice_code"].astype(str))
        self.period, self.periods = pd.factorize(use["period"].astype(str))
        _, first = np.unique(self.period, return_index=True)
        self.period_types = use["period_type"].astype(str).to_numpy()[first]
        self.numerator = use["numerator"].to_numpy(float)
        self.denominator = use["denominator"].to_numpy(float)
        self.effective_n = use["effective_n"].to_numpy(float) if "effective_n" in use else np.full(len(use), np.nan)
        order = np.argsort(ind, kind="stable")
        chunks = np.split(order, np.flatnonzero(np.diff(ind[order])) + 1) if len(order) else []
        self._rows = {str(self.indicators[ind[c[0]]]): c for c in chunks}

    def rows(self, indicator_id: str) -> np.ndarray:
        """Row positions of one indicator (empty when it has no usable rows)."""
        return self._rows.get(indicator_id, np.array([], dtype=np.int64))

    def key(self, rows: np.ndarray) -> np.ndarray:
        """``practice x period`` integer keys of rows."""
        return self.practice[rows].astype(np.int64) * max(len(self.periods), 1) + self.period[rows]

    def sums(self, rows: np.ndarray, unit: np.ndarray, n_units: int, unit_ids: pd.Categorical,
             unit_period: np.ndarray) -> pd.DataFrame:
        """:data:`SUM_COLUMNS` of practice ``rows`` summed into units (``unit`` codes per row)."""
        n = self.denominator[rows]
        neff = self.effective_n[rows]
        count = np.bincount(unit, minlength=n_units)
        has_neff = np.bincount(unit, weights=np.isfinite(neff), minlength=n_units) > 0
        periods = pd.Index(np.asarray(self.periods, dtype=object))
        types = pd.Categorical(self.period_types)
        out = pd.DataFrame({
            "entity_id": unit_ids,
            "period": pd.Categorical.from_codes(unit_period, periods),
            "period_type": pd.Categorical.from_codes(types.codes[unit_period], types.categories),
            "numerator": np.bincount(unit, weights=self.numerator[rows], minlength=n_units),
            "denominator": np.bincount(unit, weights=n, minlength=n_units),
            "sum_w2": np.bincount(unit, weights=n * n, minlength=n_units),
            "effective_n": np.where(has_neff, np.bincount(unit, weights=np.nan_to_num(neff), minlength=n_units),
                                    np.nan),
            "n_practices": count,
        })
        return out[count > 0].reset_index(drop=True)

    def england(self, rows: np.ndarray) -> pd.DataFrame:
        """England as one group of every practice with data, per period: :data:`SUM_COLUMNS`."""
        n_periods = len(self.periods)
        ids = pd.Categorical.from_codes(np.zeros(n_periods, dtype=np.int64), [pooling.ENGLAND_ID])
        return self.sums(rows, self.period[rows], n_periods, ids, np.arange(n_periods))


class MemberIndex:
    """Group members per period, matched once against :class:`PracticeArrays` codes.

    ``members`` are (group_id, practice_code, period) rows. :meth:`sums` gives, per group and period of
    one indicator, the pooled numerator and denominator, Σ denominator², Σ effective n (survey indicators)
    and the member practices with data; group ids and periods are categoricals.
    """

    def __init__(self, members: pd.DataFrame, arrays: PracticeArrays) -> None:
        m = members[["group_id", "practice_code", "period"]].drop_duplicates()
        prac = pd.Index(np.asarray(arrays.practices, dtype=object)).get_indexer(m["practice_code"].astype(str))
        per = pd.Index(np.asarray(arrays.periods, dtype=object)).get_indexer(m["period"].astype(str))
        ok = (prac >= 0) & (per >= 0)
        g_codes, g_uniques = pd.factorize(m["group_id"].astype(str).to_numpy()[ok])
        n_periods = max(len(arrays.periods), 1)
        self._unit, units = pd.factorize(g_codes.astype(np.int64) * n_periods + per[ok])
        unit_group, self._unit_period = np.divmod(np.asarray(units, dtype=np.int64), n_periods)
        self._ids = pd.Categorical.from_codes(unit_group, pd.Index(np.asarray(g_uniques, dtype=object)))
        self._key = prac[ok].astype(np.int64) * n_periods + per[ok]
        self._arrays = arrays

    def sums(self, rows: np.ndarray) -> pd.DataFrame:
        """Per group and period with data: :data:`SUM_COLUMNS` of one indicator's practice ``rows``."""
        index = pd.Index(self._arrays.key(rows))
        if not index.is_unique:
            raise ValueError("practice values repeat a practice and period within one indicator")
        pos = index.get_indexer(self._key)
        ok = pos >= 0
        return self._arrays.sums(rows[pos[ok]], self._unit[ok], len(self._ids), self._ids, self._unit_period)


@dataclass(frozen=True)
class Placement:
    """Where each group falls among random groups of its size, at one confidence level (unscaled values).

    ``sd`` is the standard deviation of random groups' values at the group's size (the square root of the
    variance in the module notes); ``centre`` England's value; ``direction`` +1 above the reference
    range, -1 below, 0 within.
    """

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    reference_lower: np.ndarray
    reference_upper: np.ndarray
    p_value: np.ndarray
    direction: np.ndarray
    compared: np.ndarray
    effective_practices: np.ndarray
    between_practice_sd: np.ndarray
    sampling_dispersion: np.ndarray
    centre: np.ndarray
    sd: np.ndarray


def place(sums: pd.DataFrame, refs: Mapping[str, EnglandReference | None], value_type: str,
          confidences: Iterable[float], key: str = "period", rest: pd.DataFrame | None = None,
          ) -> dict[float, Placement]:
    """Place groups (rows of :func:`group_sums` with a ``period``) among random groups of their size.

    Returns one :class:`Placement` per confidence level (the position is computed once). ``refs`` are keyed
    by the ``key`` column. ``rest`` (issue 15: a comparator other than England), aligned with ``sums``,
    gives each group's comparator population without the group's own members: ``centre`` (its pooled
    value), ``k`` (its Kish effective number of practices) and ``size`` (its sampling size). The group is
    then compared with that population's value, a two-sample difference: variance
    ``tau^2 (1/k_eff + 1/k) + phi (s^2(group) + s^2(rest))`` and no finite-population correction, since
    the group is not part of what it is compared with; ``tau^2``, ``phi`` and the shape come from the
    reference (built on the comparator unit's practices).
    """
    vt = ValueType(value_type)
    num = sums["numerator"].to_numpy(float)
    den = sums["denominator"].to_numpy(float)
    n_rows = len(sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num / den
        k_eff = den**2 / sums["sum_w2"].to_numpy(float)
    centre, tau2, phi, sd, f_low = (np.full(n_rows, np.nan) for _ in range(5))
    size = _sampling_size(sums, vt)
    codes, labels = pd.factorize(sums[key].astype(str))
    r_centre = rest["centre"].to_numpy(float) if rest is not None else None
    order = np.argsort(codes, kind="stable")
    chunks = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if n_rows else []
    used: list[tuple[np.ndarray, EnglandReference]] = []
    for idx in chunks:
        ref = refs.get(str(labels[codes[idx[0]]]))
        if ref is None:
            continue
        used.append((idx, ref))
        tau2[idx], phi[idx] = ref.tau2, ref.dispersion
        with np.errstate(divide="ignore", invalid="ignore"):
            if rest is None or r_centre is None:
                centre[idx] = ref.centre
                # a set of practices is drawn without replacement: finite-population correction (N - k) / (N - 1)
                fpc = np.clip((ref.practices - k_eff[idx]) / (ref.practices - 1.0), 0.0, 1.0)
                sampling = ref.dispersion * _sampling_variance(ref.centre, size[idx], vt)
                between = ref.tau2 / k_eff[idx] * fpc
            else:
                c = r_centre[idx]
                centre[idx] = c
                sampling = ref.dispersion * (_sampling_variance(c, size[idx], vt)
                                             + _sampling_variance(c, rest["size"].to_numpy(float)[idx], vt))
                between = ref.tau2 * (1.0 / k_eff[idx] + 1.0 / rest["k"].to_numpy(float)[idx])
            sd[idx] = np.sqrt(between + sampling)
            f_low[idx] = ref.shape.distribution((value[idx] - centre[idx]) / sd[idx], k_eff[idx])
    compared = np.isfinite(value) & np.isfinite(f_low) & (sd > 0) & (k_eff >= 1.0)
    f_high = 1.0 - f_low
    with np.errstate(invalid="ignore"):
        p = np.where(compared, np.minimum(1.0, 2.0 * np.minimum(f_low, f_high)), np.nan)
    # no spread at all (England against itself, for a score): a zero-width interval, nothing to compare
    point = np.isfinite(value) & (sd == 0)
    out = {}
    for conf in confidences:
        tail = (1.0 - conf) / 2.0
        q_lo, q_hi = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
        for idx, ref in used:
            q_lo[idx] = centre[idx] + sd[idx] * ref.shape.quantile(tail, k_eff[idx])
            q_hi[idx] = centre[idx] + sd[idx] * ref.shape.quantile(1.0 - tail, k_eff[idx])
        with np.errstate(invalid="ignore"):
            direction = np.where(compared & (f_high < tail), 1, np.where(compared & (f_low < tail), -1, 0))
        lo = np.where(compared, value - (q_hi - centre), np.where(point, value, np.nan))
        hi = np.where(compared, value + (centre - q_lo), np.where(point, value, np.nan))
        if vt.link is Link.LOG:
            lo = np.maximum(lo, 0.0)
        else:
            lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        out[conf] = Placement(value, lo, hi, np.where(compared, q_lo, np.nan), np.where(compared, q_hi, np.nan),
                              p, direction.astype(np.int8), compared, k_eff, np.sqrt(tau2), phi, centre, sd)
    return out


def method_text(confidence: float) -> str:
    """The method named on every evaluative row."""
    return (f"{confidence * 100:g}% reference range of random groups of England's practices of the same effective "
            "size k_eff: centre England's value, variance tau^2/k_eff (N-k_eff)/(N-1) + phi x patient-level "
            "sampling variance, shape the exact distribution of the mean of k_eff England practices (FFT "
            "convolution)")


class EnglandReferences:
    """England's reference per indicator and period, built once and shared by every set of groups placed.

    Building a reference (variance components and the exact shapes by FFT) costs far more than placing
    groups in it, and it depends only on England's practices: the scorecard of the real groups and the
    placebo groups of the calibration harness (:mod:`gpscale.evaluate.calibration`) use the same ones.
    A reference is built up to the largest effective group size asked for so far in its period, and
    rebuilt only when a larger size is asked for later.
    """

    def __init__(self, practice_values: pd.DataFrame | PracticeArrays) -> None:
        self.arrays = practice_values if isinstance(practice_values, PracticeArrays) else PracticeArrays(
            practice_values)
        self._built: dict[tuple[str, str], tuple[float, EnglandReference | None]] = {}

    def members(self, members: pd.DataFrame) -> MemberIndex:
        """The groups' members matched against England's practice arrays."""
        return MemberIndex(members, self.arrays)

    def for_groups(self, indicator_id: str, value_type: str, sums: pd.DataFrame) -> dict[str, EnglandReference | None]:
        """The references of every period in which ``sums`` (:data:`SUM_COLUMNS` rows) has groups."""
        vt = ValueType(value_type)
        with np.errstate(divide="ignore", invalid="ignore"):
            k_eff = sums["denominator"].to_numpy(float) ** 2 / sums["sum_w2"].to_numpy(float)
        k_eff = np.where(np.isfinite(k_eff), k_eff, 1.0)
        largest = pd.Series(k_eff, index=sums["period"].astype(str).to_numpy()).groupby(level=0).max().to_dict()
        rows = self.arrays.rows(indicator_id)
        codes = self.arrays.period[rows]
        order = np.argsort(codes, kind="stable")
        x, n, neff = self.arrays.numerator[rows], self.arrays.denominator[rows], self.arrays.effective_n[rows]
        size = np.where(np.isfinite(neff) & (neff > 0), neff, n) if vt is ValueType.WEIGHTED_PROPORTION else n
        out: dict[str, EnglandReference | None] = {}
        for idx in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if len(order) else []:
            period = str(self.arrays.periods[codes[idx[0]]])
            if period not in largest:
                continue
            need = _exact_upto(float(largest[period]))
            have = self._built.get((indicator_id, period))
            if have is None or have[0] < need:
                have = (need, england_reference(x[idx], n[idx], size[idx], vt, need))
                self._built[(indicator_id, period)] = have
            out[period] = have[1]
        return out


def _exact_upto(size: float) -> float:
    """The largest size computed exactly for groups of effective size up to ``size``."""
    return float(next((s for s in EXACT_SIZES if s >= size), EXACT_SIZES[-1]))


def placements_for_pooled(
    pooled_rows: pd.DataFrame,
    references: EnglandReferences,
    index: MemberIndex,
    indicator_id: str,
    value_type: str,
    confidences: Iterable[float],
) -> dict[float, Placement]:
    """Placements of pooled rows of one indicator (England and groups, as the scorecard holds them).

    ``index`` holds the members of the groups in ``pooled_rows`` (:meth:`EnglandReferences.members`).
    England's own row is placed as a group of all its practices (no between-practice variance left, only
    the patient-level sampling: for a score, a zero-width interval).
    """
    keys = ["entity_id", "period"]
    arrays = references.arrays
    rows = arrays.rows(indicator_id)
    grp = index.sums(rows)
    w2 = pd.concat([arrays.england(rows), grp], ignore_index=True)[[*keys, "sum_w2"]].astype({k: str for k in keys})
    sums = pooled_rows.drop(columns=["sum_w2"], errors="ignore").astype({k: str for k in keys}).merge(
        w2, on=keys, how="left")
    return place(sums, references.for_groups(indicator_id, value_type, grp), value_type, confidences)


def evaluative_placements(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    confidences: Iterable[float] = CONFIDENCES,
    references: EnglandReferences | None = None,
) -> Iterator[tuple[str, pd.DataFrame, dict[float, Placement]]]:
    """Per indicator with group data: its id, the groups' sums (:data:`SUM_COLUMNS`) and their placements.

    The arrays behind :func:`evaluative_comparison`, for callers that need only the flags.
    """
    confidences = tuple(confidences)
    refs = references if references is not None else EnglandReferences(practice_values)
    index = refs.members(members)
    for ind_id, d in definitions.items():
        rows = refs.arrays.rows(ind_id)
        sums = index.sums(rows)
        if rows.size == 0 or sums.empty:
            continue
        vt = ValueType(d.value_type)
        yield ind_id, sums, place(sums, refs.for_groups(ind_id, vt, sums), vt, confidences)


def evaluative_comparison(
    practice_values: pd.DataFrame,
    members: pd.DataFrame,
    definitions: Mapping[str, Any],
    view_label: str,
    data_version: str,
    confidences: Iterable[float] = CONFIDENCES,
    references: EnglandReferences | None = None,
) -> pd.DataFrame:
    """Every group x indicator x period placed among random groups of England's practices of its size.

    ``practice_values`` and ``members`` as for :func:`gpscale.evaluate.scorecard.scorecard`; returns
    :data:`EVALUATIVE_COLUMNS` rows (group rows only; England is the comparator).
    """
    from gpscale.evaluate.scorecard import add_fdr  # the scorecard itself uses this module for scores

    versions = definition_versions(practice_values, definitions)
    out = []
    for ind_id, sums, placed in evaluative_placements(practice_values, members, definitions, confidences,
                                                      references):
        d = definitions[ind_id]
        pol, mult = Polarity(d.polarity), float(d.multiplier)
        for conf, pl in placed.items():
            out.append(pd.DataFrame({
                "entity_type": "group", "entity_id": sums["entity_id"].astype(str).to_numpy(),
                "indicator_id": ind_id, "period": sums["period"].astype(str).to_numpy(),
                "period_type": sums["period_type"].astype(str).to_numpy(),
                "value": pl.value * mult, "lower": pl.lower * mult, "upper": pl.upper * mult, "confidence": conf,
                "comparison_type": ComparisonType.EVALUATIVE.value, "method": method_text(conf),
                "numerator": sums["numerator"].to_numpy(), "denominator": sums["denominator"].to_numpy(),
                "n_practices": sums["n_practices"].to_numpy(), "effective_practices": pl.effective_practices,
                "comparator": pooling.ENGLAND_NAME, "comparator_value": pl.centre * mult,
                "reference_lower": pl.reference_lower * mult, "reference_upper": pl.reference_upper * mult,
                "between_practice_sd": pl.between_practice_sd * mult,
                "sampling_dispersion": pl.sampling_dispersion,
                "comparison": direction_labels(pl.direction, pl.compared, pol),
                "comparison_method": EVALUATIVE_RULE,
                "p_value": pl.p_value, "_direction": pl.direction, "_polarity": pol,
                "placebo_flagged_rate": np.nan,  # filled from the calibration table where there is one
                "membership_view": view_label, "definition_version": versions.get(ind_id, ""),
                "data_version": data_version,
            }))
    if not out:
        return pd.DataFrame(columns=EVALUATIVE_COLUMNS)
    return add_fdr(pd.concat(out, ignore_index=True))[EVALUATIVE_COLUMNS]
