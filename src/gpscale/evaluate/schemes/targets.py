"""The payment rules: how much of a target's reward an achievement earns.

One function, :func:`fraction_earned`, serves both the exact scoring (numpy arrays of
:class:`~fractions.Fraction`, so a payment is right to the penny) and the forecast (float arrays of simulated
achievements, millions at a time), so the rule is written once:

=================  ==============================================  ==========================================
target             achievement (in the indicator's units)          fraction of the reward earned
=================  ==============================================  ==========================================
network_standard   the network's pooled value                      1 if at least as good as the standard,
                                                                   else 0 (equal counts as met)
improvement        the pooled value's change on the baseline,      1 if the improvement is at least ``by``,
                   signed so that better is positive               else 0
practice_share     the share (0-1) of counted members whose own    1 if the share is at least ``share``,
                   value is at least as good as the standard       else 0
thresholds         the network's pooled value                      (achievement - lower) / (upper - lower),
                                                                   clipped to 0..1 (linear between them)
=================  ==============================================  ==========================================

"At least as good" follows the indicator's polarity (:func:`sign_of`). A target is *met* when the whole
reward is earned (fraction 1); for thresholds that means reaching the upper threshold.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from gpscale.evaluate.schemes.model import Improvement, NetworkStandard, PracticeShare, Thresholds

AnyTarget = NetworkStandard | Improvement | PracticeShare | Thresholds


def sign_of(polarity: Any) -> int:
    """+1 when higher values are better, -1 when lower are; an indicator without a polarity raises."""
    p = str(getattr(polarity, "value", polarity))
    if p == "high_is_good":
        return 1
    if p == "low_is_good":
        return -1
    raise ValueError(f"polarity {p!r} has no direction; a scheme cannot reward it")


def _num(value: Decimal, exact: bool) -> Any:
    return Fraction(value) if exact else float(value)


def fraction_earned(target: AnyTarget, achievement: Any, sign: int) -> np.ndarray:
    """Fraction (0..1) of the reward earned by each achievement (see the module table).

    ``achievement`` is an array of Fractions (object dtype: exact, for scoring) or of floats (for simulated
    draws; NaN earns nothing). The result has the same kind of elements.
    """
    a = np.asarray(achievement)
    exact = a.dtype == object
    zero: Any = Fraction(0) if exact else 0.0
    one: Any = Fraction(1) if exact else 1.0
    if isinstance(target, Thresholds):
        lo, hi = _num(target.lower, exact), _num(target.upper, exact)
        f = np.minimum(np.maximum((a - lo) / (hi - lo), zero), one)
        return f if exact else np.nan_to_num(f, nan=0.0)
    if isinstance(target, NetworkStandard):
        met = sign * (a - _num(target.standard, exact)) >= zero
    elif isinstance(target, Improvement):
        met = a >= _num(target.by, exact)
    else:
        met = a >= _num(target.share, exact)
    return np.where(met, one, zero)


def practice_meets(standard: Decimal, values: Any, sign: int) -> np.ndarray:
    """Whether each practice value is at least as good as ``standard`` (the practice_share test)."""
    a = np.asarray(values)
    exact = a.dtype == object
    return np.asarray(sign * (a - _num(standard, exact)) >= (Fraction(0) if exact else 0.0), dtype=bool)


def level_to_reach(target: AnyTarget) -> Decimal | None:
    """The value a member practice must reach for "if this practice reached the standard".

    The standard itself (network_standard, practice_share), the upper threshold (thresholds); None for an
    improvement target, where each practice's level is its own baseline plus ``by``.
    """
    if isinstance(target, NetworkStandard | PracticeShare):
        return target.standard
    if isinstance(target, Thresholds):
        return target.upper
    return None


def decision_points(target: AnyTarget) -> tuple[float, ...]:
    """The achievement levels where the payment jumps or starts and stops changing.

    The standard, ``by`` or required share of a met/not-met target; both thresholds of a thresholds target
    (between them the payment moves smoothly with achievement; at them it starts or stops).
    """
    if isinstance(target, Thresholds):
        return float(target.lower), float(target.upper)
    if isinstance(target, NetworkStandard):
        return (float(target.standard),)
    if isinstance(target, Improvement):
        return (float(target.by),)
    return (float(target.share),)


def chance_decides(target: AnyTarget, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Whether a decision point lies inside each achievement interval: within chance, the payment differs."""
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    out = np.zeros(lo.shape, dtype=bool)
    for point in decision_points(target):
        out |= (lo <= point) & (hi >= point)
    return out


def describe(target: AnyTarget, unit: str, baseline_period: str | None) -> str:
    """The target in words, for tables (``>= 96 % of points available``)."""
    if isinstance(target, NetworkStandard):
        return f"network value at least as good as {target.standard} {unit}"
    if isinstance(target, Improvement):
        return f"improve by at least {target.by} {unit} on {baseline_period}"
    if isinstance(target, PracticeShare):
        return f"at least {target.share * 100:g}% of member practices at least as good as {target.standard} {unit}"
    return f"paid linearly from {target.lower} (nothing) to {target.upper} (all) {unit}"
