"""Random-effects meta-regression (precision-weighted least squares) and restricted cubic splines.

Each group contributes an estimate ``y`` (its value relative to England on the link scale) with a known
within-group variance ``v`` (the scorecard's uncertainty). Groups also differ for reasons no covariate
captures, so the model is ``y = X b + u + e`` with ``u ~ N(0, tau^2)`` between groups and ``e ~ N(0, v)``:

* ``tau^2`` by the method of moments for meta-regression (the DerSimonian-Laird estimator generalised to
  covariates, as in metafor's ``method="DL"``): ``(Q_E - (k - p)) / (tr W - tr[(X'WX)^-1 X'W^2 X])``,
  floored at 0, with ``W = diag(1/v)`` and ``Q_E`` the weighted residual sum of squares of the fixed-effect
  fit (Raudenbush 2009, in *The Handbook of Research Synthesis and Meta-Analysis*, chapter 16);
* coefficients by weighted least squares with weights ``1 / (v + tau^2)`` (statsmodels ``WLS``), with the
  Knapp-Hartung variance (the residual mean square times the model-based variance; t on ``k - p``
  degrees of freedom) not allowed below the model-based variance (the "modified" Knapp-Hartung rule, so
  intervals are never narrower than the random-effects model implies): Knapp G, Hartung J (2003)
  *Statistics in Medicine* 22:2693-2710; Jackson D et al. (2017) *Statistics in Medicine* 36:3923-3934.

:func:`rcs_basis` is Harrell's restricted (natural) cubic spline: linear beyond the outer knots, with
knots at fixed quantiles (Harrell FE (2015) *Regression Modeling Strategies*, 2nd ed., section 2.4.5).
gpscale.stats has neither, so they live here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as st

#: Knot quantiles for 3, 4 and 5 knots (Harrell 2015, table 2.3).
RCS_QUANTILES = {3: (0.10, 0.50, 0.90), 4: (0.05, 0.35, 0.65, 0.95), 5: (0.05, 0.275, 0.5, 0.725, 0.95)}


@dataclass(frozen=True)
class MetaFit:
    """A random-effects meta-regression: coefficients, their covariance, tau^2 and degrees of freedom."""

    params: np.ndarray
    cov: np.ndarray
    tau2: float
    df: float
    k: int
    scale: float
    method: str

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def interval(self, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        crit = st.t.ppf(0.5 + confidence / 2, self.df)
        return self.params - crit * self.se, self.params + crit * self.se

    def p_values(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * st.t.sf(np.abs(self.params / self.se), self.df)

    def predict(self, x: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fitted mean at rows ``x`` with pointwise intervals."""
        fit = x @ self.params
        se = np.sqrt(np.einsum("ij,jk,ik->i", x, self.cov, x))
        crit = st.t.ppf(0.5 + confidence / 2, self.df)
        return fit, fit - crit * se, fit + crit * se

    def wald_p(self, index: list[int]) -> float:
        """F-test that the coefficients at ``index`` are all zero."""
        b = self.params[index]
        c = self.cov[np.ix_(index, index)]
        try:
            stat = float(b @ np.linalg.solve(c, b)) / len(index)
        except np.linalg.LinAlgError:
            return float("nan")
        return float(st.f.sf(stat, len(index), self.df))


def dl_tau2(y: np.ndarray, v: np.ndarray, x: np.ndarray) -> float:
    """Method-of-moments (DerSimonian-Laird) between-group variance for meta-regression."""
    w = 1.0 / v
    xtwx = x.T @ (w[:, None] * x)
    try:
        inv = np.linalg.inv(xtwx)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(xtwx)
    beta = inv @ (x.T @ (w * y))
    q = float(np.sum(w * (y - x @ beta) ** 2))
    k, p = x.shape
    denom = float(np.sum(w) - np.trace(inv @ (x.T @ ((w**2)[:, None] * x))))
    if denom <= 0:
        return 0.0
    return max(0.0, (q - (k - p)) / denom)


def meta_regression(y: np.ndarray, v: np.ndarray, x: np.ndarray) -> MetaFit | None:
    """Fit the random-effects meta-regression (see module notes); None when it cannot be fitted."""
    import statsmodels.api as sm

    ok = np.isfinite(y) & np.isfinite(v) & (v > 0) & np.all(np.isfinite(x), axis=1)
    y, v, x = y[ok], v[ok], x[ok]
    k, p = x.shape
    if k <= p + 1 or np.linalg.matrix_rank(x) < p:
        return None
    tau2 = dl_tau2(y, v, x)
    res = sm.WLS(y, x, weights=1.0 / (v + tau2)).fit()
    scale = float(res.scale)
    cov = np.asarray(res.cov_params()) * max(1.0, scale) / scale if scale > 0 else np.asarray(res.cov_params())
    return MetaFit(
        params=np.asarray(res.params), cov=cov, tau2=tau2, df=float(k - p), k=k, scale=scale,
        method=("random-effects meta-regression: DerSimonian-Laird tau^2, weighted least squares with weights "
                "1/(v + tau^2) (statsmodels WLS), modified Knapp-Hartung variance, t on k - p df"),
    )


def rcs_knots(x: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Knots at Harrell's quantiles of ``x`` (fewer when values repeat)."""
    knots = np.unique(np.quantile(x[np.isfinite(x)], RCS_QUANTILES[n_knots]))
    return knots


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline basis (without intercept): x and ``len(knots) - 2`` non-linear terms."""
    x = np.asarray(x, dtype=float)
    cols = [x]
    t = knots
    k = len(t)
    if k < 3:
        return x[:, None]
    scale = (t[-1] - t[0]) ** 2

    def pos3(z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, 0.0) ** 3

    for j in range(k - 2):
        term = (pos3(x - t[j]) - pos3(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                + pos3(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        cols.append(term / scale)
    return np.column_stack(cols)
