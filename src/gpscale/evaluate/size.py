"""Is bigger better? Performance against group size across all groups, with a flexible fit and honest limits.

For each indicator and financial year, across every group with data (all PCNs plus any registry groups),
the outcome is the group's value relative to England on the link scale with its within-group variance
(:func:`gpscale.evaluate.characteristics.relative_performance`), and size is ``log2`` of registered
patients. Three fits, all random-effects meta-regressions (:mod:`gpscale.evaluate.metareg`):

* **linear**: the change in relative performance per doubling of registered patients, with its interval;
* **flexible**: a restricted cubic spline in log2 patients (four knots, three with fewer than 40
  groups), whose fitted curve and pointwise interval are reported on a grid of sizes (``size_curve``),
  both on the link scale and as the indicator's value implied at England's level; the F-test of the
  non-linear terms says whether the curve departs from a straight line;
* **bands**: groups counted in size bands (``size_bands``), with the precision-weighted mean relative
  performance of each band, so thin parts of the size range are visible.

``conclusion`` states what the data support, in words: an association (direction by polarity, size per
doubling in the indicator's units at England's level); or no evidence of one, with the largest effect per
doubling the interval still allows (effects beyond it are ruled out, smaller ones are not); or that the
data cannot support a conclusion (fewer than 20 groups, a size range narrower than a factor of 1.5
between the 5th and 95th percentiles, or the interval so wide it allows effects over 5% of England's
value per doubling). Bands with fewer than 10 groups are named as too thin to say anything about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import ComparisonLabel
from gpscale.evaluate.common import PROVENANCE, from_link, link_derivative, to_link
from gpscale.evaluate.metareg import MetaFit, meta_regression, rcs_basis, rcs_knots

MIN_GROUPS = 20
MIN_BAND = 10
MIN_RANGE = 1.5
#: An interval allowing effects per doubling beyond this share of England's value is "inconclusive".
INCONCLUSIVE_SHARE = 0.05
#: Size bands (registered patients).
BANDS = (0, 20_000, 30_000, 40_000, 50_000, 75_000, 100_000, 250_000, np.inf)

EFFECT_COLUMNS = [
    "indicator_id", "period", "n_groups", "kinds", "patients_p5", "patients_median", "patients_p95",
    "statistic", "value", "lower", "upper", "confidence", "p_value", "per_doubling_natural",
    "natural_lower", "natural_upper", "natural_unit", "nonlinearity_p", "tau2", "scale", "england_value",
    "thin_bands", "conclusion", "comparator", "method", *PROVENANCE,
]
CURVE_COLUMNS = [
    "indicator_id", "period", "patients", "fit", "lower", "upper", "confidence", "value", "value_lower",
    "value_upper", "england_value", "scale", "method", *PROVENANCE,
]
BAND_COLUMNS = [
    "indicator_id", "period", "band", "n_groups", "mean_relative", "lower", "upper", "confidence", "enough_groups",
    *PROVENANCE,
]


def _band_label(lo: float, hi: float) -> str:
    if np.isinf(hi):
        return f"{lo / 1000:g}k+"
    return f"{lo / 1000:g}k-{hi / 1000:g}k"


def size_analysis(
    relative: pd.DataFrame,
    profiles: pd.DataFrame,
    view_label: str,
    data_version: str,
    versions: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    grid_points: int = 25,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(size_effect, size_curve, size_bands) tables; see the module notes."""
    versions = versions or {}
    empty = (pd.DataFrame(columns=EFFECT_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS),
             pd.DataFrame(columns=BAND_COLUMNS))
    if relative.empty or profiles.empty:
        return empty
    data = size_data(relative, profiles)
    effects: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    bands: list[pd.DataFrame] = []
    for (ind_id, period), d in data.groupby(["indicator_id", "period"], sort=True):
        prov = {"membership_view": view_label, "definition_version": versions.get(str(ind_id), ""),
                "data_version": data_version}
        row, curve, band = _one(str(ind_id), str(period), d, confidence, grid_points, prov)
        effects.append(row)
        if curve is not None:
            curves.append(curve)
        bands.append(band)
    if not effects:
        return empty
    return (pd.DataFrame(effects)[EFFECT_COLUMNS],
            pd.concat(curves, ignore_index=True)[CURVE_COLUMNS] if curves else empty[1],
            pd.concat(bands, ignore_index=True)[BAND_COLUMNS])


def size_data(relative: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """The rows every size fit uses: groups' relative performance with a usable variance and their size."""
    prof = profiles[["group_id", "period", "patients", "kind"]]
    data = relative.merge(prof, on=["group_id", "period"], how="inner")
    return data[np.isfinite(data["relative"]) & np.isfinite(data["v"]) & (data["v"] > 0) & (data["patients"] > 0)]


def linear_fit(d: pd.DataFrame) -> MetaFit | None:
    """The linear size model of one indicator and year (relative performance on log2 patients), or None
    with fewer than :data:`MIN_GROUPS` groups or when it cannot be fitted."""
    k = len(d)
    if k < MIN_GROUPS:
        return None
    x = np.column_stack([np.ones(k), np.log2(d["patients"].to_numpy(float))])
    return meta_regression(d["relative"].to_numpy(float), d["v"].to_numpy(float), x)


#: Columns of :func:`size_slopes` after its keys.
SLOPE_COLUMNS = ["value", "lower", "upper", "confidence", "method"]


def size_slopes(data: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """The linear size slope alone, per ``by`` cell of :func:`size_data` rows (``by`` ends with indicator and
    period): what :func:`size_analysis` reports as the effect's value and interval, without its curve, bands
    and conclusion, for callers that fit many sets of groups (the placebo harness). ``method`` is empty
    where no slope was fitted."""
    rows = []
    for key, d in data.groupby(by, sort=True, observed=True):
        fit = linear_fit(d)
        value = lo = hi = np.nan
        method = ""
        if fit is not None:
            lower, upper = fit.interval(confidence)
            value, lo, hi = float(fit.params[1]), float(lower[1]), float(upper[1])
            method = f"linear in log2 patients: {fit.method}"
        rows.append((*key, value, lo, hi, confidence, method))
    return pd.DataFrame(rows, columns=[*by, *SLOPE_COLUMNS])


def _bands(d: pd.DataFrame, ind_id: str, period: str, confidence: float, prov: dict[str, str]) -> pd.DataFrame:
    from scipy import stats as st

    cut = pd.cut(d["patients"], bins=list(BANDS), right=False)
    rows = []
    for interval, b in d.groupby(cut, observed=False):
        lo, hi = float(interval.left), float(interval.right)
        n = len(b)
        if n == 0:
            continue
        w = 1.0 / b["v"].to_numpy(float)
        mean = float(np.sum(w * b["relative"]) / np.sum(w)) if n else np.nan
        # interval of the band's mean allowing for between-group spread (t on n - 1 df)
        if n > 1:
            resid = b["relative"].to_numpy(float) - mean
            se = float(np.sqrt(max(np.sum(w * resid**2) / (n - 1), 1.0) / np.sum(w)))
            crit = float(st.t.ppf(0.5 + confidence / 2, n - 1))
            lower, upper = mean - crit * se, mean + crit * se
        else:
            lower = upper = np.nan
        rows.append({"indicator_id": ind_id, "period": period, "band": _band_label(lo, hi), "n_groups": n,
                     "mean_relative": mean, "lower": lower, "upper": upper, "confidence": confidence,
                     "enough_groups": n >= MIN_BAND, **prov})
    return pd.DataFrame(rows, columns=BAND_COLUMNS)


def _one(
    ind_id: str, period: str, d: pd.DataFrame, confidence: float, grid_points: int, prov: dict[str, str]
) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame]:
    link, mult, pol = d["link"].iloc[0], float(d["multiplier"].iloc[0]), d["polarity"].iloc[0]
    p_eng = float(d["p_england"].iloc[0])
    deriv = float(link_derivative(p_eng, link)) * mult
    unit = "per doubling of registered patients, in the indicator's units at England's level"
    size = d["patients"].to_numpy(float)
    x = np.log2(size)
    y = d["relative"].to_numpy(float)
    v = d["v"].to_numpy(float)
    k = len(d)
    p5, med, p95 = (float(q) for q in np.quantile(size, [0.05, 0.5, 0.95]))
    band = _bands(d, ind_id, period, confidence, prov)
    thin = band.loc[~band["enough_groups"], "band"].tolist()
    row: dict[str, Any] = {
        "indicator_id": ind_id, "period": period, "n_groups": k,
        "kinds": ", ".join(f"{kk} {n}" for kk, n in d["kind"].fillna("unknown").value_counts().items()),
        "patients_p5": p5, "patients_median": med, "patients_p95": p95,
        "statistic": "change in relative performance per doubling of registered patients",
        "value": np.nan, "lower": np.nan, "upper": np.nan, "confidence": confidence, "p_value": np.nan,
        "per_doubling_natural": np.nan, "natural_lower": np.nan, "natural_upper": np.nan, "natural_unit": unit,
        "nonlinearity_p": np.nan, "tau2": np.nan, "scale": link, "england_value": p_eng * mult,
        "thin_bands": ", ".join(thin), "conclusion": "", "comparator": "England",
        "method": "", **prov,
    }
    if k < MIN_GROUPS:
        row["conclusion"] = (f"The data cannot support a conclusion: only {k} groups had data "
                             f"(at least {MIN_GROUPS} are needed).")
        return row, None, band
    fit = linear_fit(d)
    if fit is None:
        row["conclusion"] = "The data cannot support a conclusion: the size model could not be fitted."
        return row, None, band
    lo, hi = fit.interval(confidence)
    slope, s_lo, s_hi = float(fit.params[1]), float(lo[1]), float(hi[1])
    row.update({"value": slope, "lower": s_lo, "upper": s_hi, "p_value": float(fit.p_values()[1]),
                "per_doubling_natural": slope * deriv, "natural_lower": s_lo * deriv,
                "natural_upper": s_hi * deriv, "tau2": fit.tau2, "method": f"linear in log2 patients: {fit.method}"})
    # flexible fit: restricted cubic spline in log2 patients
    n_knots = 4 if k >= 40 else 3
    knots = rcs_knots(x, n_knots)
    curve = None
    if len(knots) >= 3:
        basis = rcs_basis(x, knots)
        flex = meta_regression(y, v, np.column_stack([np.ones(k), basis]))
        if flex is not None:
            row["nonlinearity_p"] = flex.wald_p(list(range(2, basis.shape[1] + 1)))
            grid = np.linspace(np.log2(p5), np.log2(p95), grid_points)
            gx = np.column_stack([np.ones(grid_points), rcs_basis(grid, knots)])
            f, f_lo, f_hi = flex.predict(gx, confidence)
            y_e = float(to_link(np.asarray(p_eng), link))
            curve = pd.DataFrame({
                "indicator_id": ind_id, "period": period, "patients": 2.0**grid, "fit": f, "lower": f_lo,
                "upper": f_hi, "confidence": confidence, "value": from_link(y_e + f, link) * mult,
                "value_lower": from_link(y_e + f_lo, link) * mult,
                "value_upper": from_link(y_e + f_hi, link) * mult, "england_value": p_eng * mult,
                "scale": link,
                "method": (f"restricted cubic spline in log2 patients, {len(knots)} knots at Harrell's quantiles: "
                           f"{flex.method}"),
                **prov,
            })
    row["conclusion"] = _conclusion(row, pol, p_eng * mult, thin, p5, p95)
    return row, curve, band


def _conclusion(row: dict[str, Any], pol: str, england: float, thin: list[str], p5: float, p95: float) -> str:
    lo, hi = row["natural_lower"], row["natural_upper"]
    pct = f"{row['confidence'] * 100:g}%"
    parts = []
    if p95 / p5 < MIN_RANGE:
        parts.append(f"The data cannot support a conclusion: group sizes are too similar (5th-95th percentile "
                     f"{p5:,.0f}-{p95:,.0f} patients).")
    elif row["lower"] > 0 or row["upper"] < 0:
        what = ComparisonLabel.of(1 if row["lower"] > 0 else -1, pol)
        parts.append(f"Larger groups performed {what}: {row['per_doubling_natural']:+.3g} per doubling of "
                     f"registered patients ({pct} CI {lo:+.3g} to {hi:+.3g}, indicator units at England's level "
                     f"{england:.3g}).")
    else:
        bound = max(abs(lo), abs(hi))
        if bound > INCONCLUSIVE_SHARE * abs(england):
            parts.append(f"The data cannot support a conclusion: the {pct} CI for the change per doubling of "
                         f"registered patients, {lo:+.3g} to {hi:+.3g}, includes effects larger than "
                         f"{INCONCLUSIVE_SHARE:.0%} of England's value ({england:.3g}).")
        else:
            parts.append(f"No evidence that size is associated with performance: the {pct} CI for the change "
                         f"per doubling of registered patients is {lo:+.3g} to {hi:+.3g} (England {england:.3g}); "
                         f"effects larger than {bound:.3g} per doubling are ruled out, smaller ones are not.")
    nl = row["nonlinearity_p"]
    if np.isfinite(nl) and nl < 0.05:
        parts.append(f"The relation is not a straight line (non-linearity p={nl:.2g}): see the fitted curve.")
    if thin:
        parts.append(f"Too few groups (under {MIN_BAND}) to say anything about sizes {', '.join(thin)}.")
    return " ".join(parts)
