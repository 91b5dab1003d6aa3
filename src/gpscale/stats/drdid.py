"""Doubly robust difference-in-differences for one 2x2 comparison (Sant'Anna & Zhao 2020, panel data).

One *cell* of an event study compares, for treated units and comparators, the change of an outcome
from a base period to a later (or earlier) period: ``dy = y_t - y_base``. The doubly robust estimate
of the average effect on the treated (ATT) weights comparators by the odds of their propensity score
(inverse probability weighting) *and* subtracts an outcome regression of ``dy`` on covariates fitted on
comparators, so it is consistent when either model is right:

    ATT = sum_T w (dy - m(X)) / sum_T w  -  sum_C w p/(1-p) (dy - m(X)) / sum_C w p/(1-p)

with unit weights ``w``, propensity ``p(X)`` (logistic) and outcome model ``m(X)`` (weighted least
squares on comparators). :func:`dr_did` also returns each unit's influence function (the estimate's
asymptotically linear representation, including the estimation effect of both nuisance models), which
is what the clustered multiplier bootstrap of :mod:`gpscale.stats.event_study` resamples.

The formulas follow ``DRDID::drdid_panel`` (R) and its MIT-licensed Python port ``drdid``, which the
oracle tests use to check every number. The kernel is written here in numpy (not by calling that
port) because an event study needs thousands of cells per run and the port fits each with statsmodels
(see docs/adr/0010-event-study-estimator.md). Two deliberate extensions, both off in the oracle test:
an optional ridge penalty on the propensity coefficients (keeps the fit finite when few treated units
make the logistic model separate; covariates are standardised first), and a fallback to the outcome
regression estimator when the propensity model cannot be fitted at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

#: Comparators whose propensity is at or above this are left out (as DRDID's default trimming).
TRIM_LEVEL = 0.995
_PS_CAP = 1 - 1e-6


@dataclass(frozen=True)
class CellEstimate:
    """ATT of one 2x2 cell and each unit's influence function (same order as the inputs)."""

    att: float
    influence: np.ndarray
    method: str  # "doubly robust" | "outcome regression"
    n_treated: int
    n_comparators: int


def _logit_fit(d: np.ndarray, x: np.ndarray, w: np.ndarray, ridge: float) -> np.ndarray | None:
    """Weighted (optionally ridge-penalised) logistic regression by Newton steps; None if it fails."""
    k = x.shape[1]
    pen = np.full(k, ridge)
    pen[0] = 0.0  # the intercept is never penalised
    beta = np.zeros(k)
    beta[0] = np.log(max(np.average(d, weights=w), 1e-6) / max(1 - np.average(d, weights=w), 1e-6))
    for _ in range(100):
        p = expit(x @ beta)
        grad = x.T @ (w * (d - p)) - pen * beta
        info = x.T @ ((w * p * (1 - p))[:, None] * x) + np.diag(pen)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 50:
            return None
        if np.max(np.abs(step)) < 1e-10:
            return beta
    return beta if np.all(np.isfinite(beta)) else None


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations (k is small), pseudo-inverse if singular."""
    xtw = (x * w[:, None]).T
    return np.asarray(np.linalg.pinv(xtw @ x) @ (xtw @ y))


def dr_did(
    dy: np.ndarray,
    treated: np.ndarray,
    covariates: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    ridge: float = 0.0,
    trim_level: float = TRIM_LEVEL,
) -> CellEstimate:
    """Doubly robust DiD ATT for panel data (see module notes).

    ``dy``: outcome change per unit; ``treated``: 0/1; ``covariates``: [n, k] *without* an intercept
    (one is added; columns with no variation are dropped); ``weights``: unit weights (default 1).
    The influence function is scaled so that ``att - ATT ~ mean(influence)`` over these n units.
    """
    dy = np.asarray(dy, dtype=float)
    d = np.asarray(treated, dtype=float)
    n = dy.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    x = _design(covariates, n)
    n_t, n_c = int(d.sum()), int(n - d.sum())
    if n_t == 0 or n_c == 0:
        raise ValueError("a cell needs treated units and comparators")
    beta_ps = _logit_fit(d, x, w, ridge)
    ctrl = d == 0
    beta_or = _wls(dy[ctrl], x[ctrl], w[ctrl])
    out = x @ beta_or
    resid = dy - out
    # asymptotic linear representation of the outcome regression (weighted OLS on comparators)
    w_ols = w * (1 - d)
    xpx = (w_ols[:, None] * x).T @ x / n
    xpx_inv = np.linalg.pinv(xpx)
    alr_ols = (w_ols * resid)[:, None] * x @ xpx_inv
    w_treat = w * d
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    m1 = np.mean(w_treat[:, None] * x, axis=0)
    inf_treat = (w_treat * resid - w_treat * eta_treat - alr_ols @ m1) / np.mean(w_treat)
    if beta_ps is None:  # outcome regression estimator (Heckman, Ichimura & Todd 1997)
        return CellEstimate(float(eta_treat), inf_treat, "outcome regression", n_t, n_c)
    ps = np.minimum(expit(x @ beta_ps), _PS_CAP)
    keep = np.where(ctrl, ps < trim_level, True)
    w_treat = keep * w_treat
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    if np.mean(w_cont) <= 0:
        raise ValueError("no comparator weight left after trimming")
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * resid) / np.mean(w_cont)
    # asymptotic linear representation of the logistic fit
    pen = np.full(x.shape[1], ridge)
    pen[0] = 0.0
    info = x.T @ ((w * ps * (1 - ps))[:, None] * x) + np.diag(pen)
    hess = np.linalg.pinv(info) * n
    alr_ps = (w * (d - ps))[:, None] * x @ hess
    m1 = np.mean(w_treat[:, None] * x, axis=0)
    inf_treat = (w_treat * resid - w_treat * eta_treat - alr_ols @ m1) / np.mean(w_treat)
    m2 = np.mean((w_cont * (resid - eta_cont))[:, None] * x, axis=0)
    m3 = np.mean(w_cont[:, None] * x, axis=0)
    inf_control = (w_cont * resid - w_cont * eta_cont + alr_ps @ m2 - alr_ols @ m3) / np.mean(w_cont)
    return CellEstimate(float(eta_treat - eta_cont), inf_treat - inf_control, "doubly robust", n_t, n_c)


def _design(covariates: np.ndarray | None, n: int) -> np.ndarray:
    """Intercept plus standardised covariates that vary (constant columns carry no information)."""
    if covariates is None:
        return np.ones((n, 1))
    c = np.asarray(covariates, dtype=float).reshape(n, -1)
    sd = c.std(axis=0)
    c = c[:, sd > 1e-12]
    if c.shape[1] == 0:
        return np.ones((n, 1))
    c = (c - c.mean(axis=0)) / c.std(axis=0)
    return np.column_stack([np.ones(n), c])
