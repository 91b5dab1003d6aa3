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
(see docs/adr/0010-event-study-estimator.md). It works on the covariates *transposed* (one row per
covariate, [k, n]): every product is then either a matrix-vector product or a k x k Gram matrix with
the long dimension inside, and the influence functions' correction terms are formed as vectors
(``a * (x @ (M @ m))``) rather than as n x k matrices (a tall n x k by k x k product runs tens of times
slower under a multi-threaded BLAS on a busy machine). Two deliberate extensions, both off in the oracle test:
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


def _logit_fit(d: np.ndarray, xt: np.ndarray, w: np.ndarray, ridge: float) -> np.ndarray | None:
    """Weighted (optionally ridge-penalised) logistic regression by Newton steps; None if it fails.

    ``xt``: the design transposed ([k, n], the intercept first)."""
    k = xt.shape[0]
    pen = np.full(k, ridge)
    pen[0] = 0.0  # the intercept is never penalised
    beta = np.zeros(k)
    mean_d = np.average(d, weights=w)
    beta[0] = np.log(max(mean_d, 1e-6) / max(1 - mean_d, 1e-6))
    for _ in range(100):
        p = expit(beta @ xt)
        grad = xt @ (w * (d - p)) - pen * beta
        info = (xt * (w * p * (1 - p))) @ xt.T + np.diag(pen)
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
    cov_t = None if covariates is None else np.ascontiguousarray(
        np.asarray(covariates, dtype=float).reshape(dy.size, -1).T)
    return dr_did_t(dy, np.asarray(treated, dtype=float), cov_t, weights, ridge=ridge, trim_level=trim_level)


def dr_did_t(
    dy: np.ndarray,
    d: np.ndarray,
    covariates_t: np.ndarray | None,
    weights: np.ndarray | None = None,
    *,
    ridge: float = 0.0,
    trim_level: float = TRIM_LEVEL,
) -> CellEstimate:
    """:func:`dr_did` with the covariates transposed (``covariates_t``: [k, n]), as the event study holds them."""
    n = dy.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    xt = _design_t(covariates_t, n)
    n_t = int(d.sum())
    n_c = n - n_t
    if n_t == 0 or n_c == 0:
        raise ValueError("a cell needs treated units and comparators")
    beta_ps = _logit_fit(d, xt, w, ridge)
    ctrl = d == 0
    beta_or = _wls(dy[ctrl], xt[:, ctrl], w[ctrl])
    resid = dy - beta_or @ xt
    # asymptotic linear representation of the outcome regression (weighted OLS on comparators):
    # alr_ols = (w_ols * resid) x xpx_inv, used only through alr_ols @ m = (w_ols * resid) * (x @ (xpx_inv @ m))
    w_ols = w * (1 - d)
    xpx_inv = np.linalg.pinv((xt * w_ols) @ xt.T / n)
    a_ols = w_ols * resid
    w_treat = w * d
    mean_wt = np.mean(w_treat)
    eta_treat = np.mean(w_treat * resid) / mean_wt
    if beta_ps is None:  # outcome regression estimator (Heckman, Ichimura & Todd 1997)
        m1 = xt @ w_treat / n
        inf_treat = (w_treat * resid - w_treat * eta_treat - a_ols * ((xpx_inv @ m1) @ xt)) / mean_wt
        return CellEstimate(float(eta_treat), inf_treat, "outcome regression", n_t, n_c)
    ps = np.minimum(expit(beta_ps @ xt), _PS_CAP)
    keep = np.where(ctrl, ps < trim_level, True)
    w_treat = keep * w_treat
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    mean_wc = np.mean(w_cont)
    if mean_wc <= 0:
        raise ValueError("no comparator weight left after trimming")
    mean_wt = np.mean(w_treat)
    eta_treat = np.mean(w_treat * resid) / mean_wt
    eta_cont = np.mean(w_cont * resid) / mean_wc
    # asymptotic linear representation of the logistic fit, used only through alr_ps @ m
    pen = np.full(xt.shape[0], ridge)
    pen[0] = 0.0
    hess = np.linalg.pinv((xt * (w * ps * (1 - ps))) @ xt.T + np.diag(pen)) * n
    a_ps = w * (d - ps)
    m1 = xt @ w_treat / n
    m2 = xt @ (w_cont * (resid - eta_cont)) / n
    m3 = xt @ w_cont / n
    inf_treat = (w_treat * resid - w_treat * eta_treat - a_ols * ((xpx_inv @ m1) @ xt)) / mean_wt
    inf_control = (w_cont * resid - w_cont * eta_cont + a_ps * ((hess @ m2) @ xt)
                   - a_ols * ((xpx_inv @ m3) @ xt)) / mean_wc
    return CellEstimate(float(eta_treat - eta_cont), inf_treat - inf_control, "doubly robust", n_t, n_c)


def _wls(y: np.ndarray, xt: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations (k is small), pseudo-inverse if singular."""
    xtw = xt * w
    return np.asarray(np.linalg.pinv(xtw @ xt.T) @ (xtw @ y))


def _design_t(covariates_t: np.ndarray | None, n: int) -> np.ndarray:
    """Intercept plus standardised covariates that vary, transposed ([k, n]; constant rows carry no information)."""
    if covariates_t is None or covariates_t.shape[0] == 0:
        return np.ones((1, n))
    c = np.asarray(covariates_t, dtype=float)
    mean = c.mean(axis=1)
    centred = c - mean[:, None]
    sd = np.sqrt(np.einsum("ij,ij->i", centred, centred) / n)
    vary = sd > 1e-12
    if not vary.any():
        return np.ones((1, n))
    out = np.empty((1 + int(vary.sum()), n))
    out[0] = 1.0
    np.divide(centred[vary], sd[vary, None], out=out[1:])
    return out
